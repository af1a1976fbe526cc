import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { imageEnv, imageNodeArgs } from '../bench/churn';

/**
 * What hashes, lists, sets and sorted sets really cost the process (RSS, in a
 * fresh process: fixtures/types-memory-probe.js) against what the keyspace
 * accounts for them: many small aggregates (20k keys of 10 elements) and one
 * large one (300k elements), 12-byte elements. Lists, sets and sorted sets
 * live on the V8 heap, a hash's fields in Buffers (types.ts ByteTable), so
 * their accounted size is a conservative estimate: what they hold times what
 * V8 commits for its heap (types.ts HEAP_FACTOR). "Held" is the V8 heap plus
 * the ArrayBuffers outside it. Measured with the image's environment: RSS
 * 0.38-0.85x the accounted size (lower with the image's V8 flags than
 * without), held 0.35-0.6x.
 *
 * "Not wildly over" is checked against the heap, not RSS: the RSS gained can
 * be little more than the heap when the new objects land on pages the warm-up
 * had already made resident (list (small) once measured 72 bytes of RSS per
 * element against 64 of heap and 184 accounted), while the heap used is the
 * same in every run to within 3 %.
 */
const PROBE = join(__dirname, 'fixtures', 'types-memory-probe.js');
const hasBuild = existsSync(join(__dirname, '..', 'lib', 'keyspace', 'types.js'));
const maybe = hasBuild ? test : test.skip;
if (!hasBuild) console.warn('skipping aggregate memory tests: lib/ is missing; run npx projen compile first');

jest.setTimeout(120_000);

const CASES = ['hash', 'list', 'set', 'zset'].flatMap((type) => ['small', 'big'].map((shape) => [type, shape] as const));

maybe.each(CASES)('%s (%s): RSS stays within the accounted bytes, and the accounting is not wildly over', (type, shape) => {
  const r = JSON.parse(execFileSync('node', [...imageNodeArgs(), '--expose-gc', PROBE, type, shape], { env: { ...process.env, ...imageEnv() }, encoding: 'utf8', timeout: 100_000 }));
  expect(r.perElementHeap).toBeLessThan(r.perElementAccounted);
  // The budget must never undercount what the process gains (it keeps the pod from being OOM-killed).
  expect(r.perElementRss).toBeLessThanOrEqual(r.perElementAccounted * 1.05);
  // Measured 1.9-2.9x the heap; past 3.2x the budget would evict far too early.
  expect(r.perElementAccounted).toBeLessThan(r.perElementHeap * 3.2);
});

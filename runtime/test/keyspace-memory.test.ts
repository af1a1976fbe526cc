/* eslint-disable @typescript-eslint/no-floating-promises */ // a memory-only keyspace applies writes synchronously
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { entryBytes, Keyspace } from '../src/keyspace/keyspace';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

/** Resident set size of this process, from the kernel (what a cgroup limit sees). */
function rss(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m![1]) * 1024;
}

/** The V8 heap and off-heap ArrayBuffers the process holds, after a full collection. */
function heap(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const keyBuf = Buffer.from('key:000000000000', 'latin1');

/**
 * The 16-byte key of entry i (`key:` and 12 digits), written digit by digit
 * into one reused buffer: no string or garbage per key, so the test's own
 * allocations do not grow the heap (and RSS) while the keyspace is measured.
 */
function key(i: number): Buffer {
  for (let p = 15, n = i; p >= 4; p--, n = Math.floor(n / 10)) keyBuf[p] = 48 + (n % 10);
  return keyBuf;
}

/** RSS after a full collection, so what the test itself left on the heap does not count. */
function settledRss(): number {
  gc();
  return rss();
}

test('the accounted size is the real cost: RSS per entry within the accounted bytes (16-byte keys, 100-byte values)', () => {
  const N = 300_000;
  const v = Buffer.alloc(100, 'x');
  const heapBefore = heap();
  const rssBefore = settledRss();
  const ks = new Keyspace();
  for (let i = 0; i < N; i++) {
    const k = key(i);
    ks.setBytes(k, 0, 16, v, 0, 100);
  }
  const heapPerEntry = (heap() - heapBefore) / N;
  const rssPerEntry = (settledRss() - rssBefore) / N;
  expect(ks.size).toBe(N);
  expect(ks.usedBytes).toBe(N * entryBytes(16, 100));
  // Nothing per entry is on the V8 heap any more (the slabs and columns are
  // resizable ArrayBuffers, which process.memoryUsage() does not count as
  // heap): what the process really gained, its RSS, is the check. The
  // accounted size must never undercount it (the byte budget is what keeps
  // the pod from being OOM-killed), and must not overcount by much (B: the
  // budget holds as many entries as Redis's maxmemory does). The 5% covers
  // what the process itself does meanwhile (JIT code, heap pages); the old
  // bound allowed the heap alone 20% over the accounted size.
  expect(heapPerEntry).toBeLessThan(8);
  expect(rssPerEntry).toBeLessThanOrEqual(entryBytes(16, 100) * 1.05);
  expect(rssPerEntry).toBeGreaterThan(entryBytes(16, 100) * 0.7);
  // Give the memory back now, not at some later collection that would land in the next test's measurement.
  ks.flush();
});

test('replaced and deleted values give their memory back at once, without a garbage collection', () => {
  const N = 200_000;
  const ks = new Keyspace();
  const small = Buffer.alloc(100, 's');
  const large = Buffer.alloc(1000, 'l');
  for (let i = 0; i < N; i++) ks.setBytes(key(i), 0, 16, small, 0, small.length);
  const rssSmall = settledRss();
  for (let i = 0; i < N; i++) ks.setBytes(key(i), 0, 16, large, 0, large.length);
  const rssLarge = settledRss();
  expect(rssLarge - rssSmall).toBeGreaterThan(N * 800);
  // Back to small values: the 1000-byte class empties and its pages go back to the OS.
  for (let i = 0; i < N; i++) ks.setBytes(key(i), 0, 16, small, 0, small.length);
  expect(settledRss()).toBeLessThan(rssLarge - N * 700);
  expect(ks.usedBytes).toBe(N * entryBytes(16, 100));
  expect(ks.delete(Array.from({ length: N }, (_, i) => key(i).latin1Slice(0, 16)))).toBe(N);
  expect(ks.size).toBe(0);
  expect(ks.usedBytes).toBe(0);
});

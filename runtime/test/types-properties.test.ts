/**
 * What cannot be compared with redis-server byte for byte, tested by its
 * properties through ioredis: the cursors of HSCAN / SSCAN / ZSCAN on large
 * values that change between steps, and the random-member commands
 * (ZRANDMEMBER, HRANDFIELD, SRANDMEMBER, SPOP).
 */
import Redis from 'ioredis';
import { startTestServer } from './helpers';
import { RawClient } from './resp-raw';
import { StateCache } from '../src/server';

let s: StateCache;
let c: Redis;

beforeAll(async () => {
  s = await startTestServer();
  c = new Redis({ port: s.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
});
afterAll(async () => {
  c.disconnect();
  await s.close();
});
beforeEach(async () => {
  await c.flushall();
});

type Kind = 'hash' | 'set' | 'zset';
const N = 5000;

async function fill(kind: Kind, key: string, names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 1000) {
    const part = names.slice(i, i + 1000);
    if (kind === 'hash') await c.hset(key, ...part.flatMap((m) => [m, `v-${m}`]));
    else if (kind === 'set') await c.sadd(key, ...part);
    else await c.zadd(key, ...part.flatMap((m, j) => [String(i + j), m]));
  }
}

/** Scans `key` to the end with COUNT `count`, calling `between` after each step; the members each step returned. */
async function scanAll(kind: Kind, key: string, count: number, between: (step: number) => Promise<void>): Promise<string[][]> {
  const cmd = kind === 'hash' ? 'hscan' : kind === 'set' ? 'sscan' : 'zscan';
  const steps: string[][] = [];
  let cursor = '0';
  do {
    const [next, items] = await c.call(cmd, key, cursor, 'COUNT', String(count)) as [string, string[]];
    const stride = kind === 'set' ? 1 : 2;
    const members: string[] = [];
    for (let i = 0; i < items.length; i += stride) members.push(items[i]);
    steps.push(members);
    cursor = next;
    await between(steps.length);
    if (steps.length > 10 * N) throw new Error('the scan does not end');
  } while (cursor !== '0');
  return steps;
}

for (const kind of ['hash', 'set', 'zset'] as const) {
  test(`${kind}: a scan returns every member present for the whole scan, while members are added, removed and changed between steps`, async () => {
    const stable = Array.from({ length: N }, (_, i) => `stable:${i}`);
    const volatile = Array.from({ length: N / 2 }, (_, i) => `volatile:${i}`);
    await fill(kind, 'k', [...stable, ...volatile]);
    const seen = new Set<string>();
    let added = 0;
    const steps = await scanAll(kind, 'k', 50, async (step) => {
      // Remove some of the volatile members, add new ones, change stable ones (a new value, a new score: a new rank).
      const gone = volatile.slice((step - 1) * 20, step * 20);
      const fresh = Array.from({ length: 20 }, () => `added:${added++}`);
      const touched = stable[(step * 37) % N];
      if (kind === 'hash') {
        if (gone.length > 0) await c.hdel('k', ...gone);
        await c.hset('k', ...fresh.flatMap((m) => [m, 'x']), touched, `changed-${step}`);
      } else if (kind === 'set') {
        if (gone.length > 0) await c.srem('k', ...gone);
        await c.sadd('k', ...fresh);
      } else {
        if (gone.length > 0) await c.zrem('k', ...gone);
        await c.zadd('k', ...fresh.flatMap((m) => ['-1', m]), String(-step), touched);
      }
    });
    for (const st of steps) for (const m of st) seen.add(m);
    const missing = stable.filter((m) => !seen.has(m));
    expect(missing).toEqual([]);
    // COUNT is honoured approximately: steps of about 50 (a hash shared by several members is never split).
    const sizes = steps.slice(0, -1).map((st) => st.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(55);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(50);
    expect(steps.length).toBeGreaterThan(N / 50);
    // A member present throughout is returned once (the cursor never revisits a hash).
    const all = steps.flat().filter((m) => m.startsWith('stable:'));
    expect(all.length).toBe(N);
  }, 60_000);
}

test('scan replies: MATCH filters after the step picks, values and scores come with their members, small values in one reply', async () => {
  await fill('hash', 'h', Array.from({ length: 1000 }, (_, i) => `f${i}`));
  await fill('zset', 'z', Array.from({ length: 1000 }, (_, i) => `m${i}`));
  const matched: string[] = [];
  let cursor = '0';
  let emptySteps = 0;
  do {
    const [next, items] = await c.hscan('h', cursor, 'MATCH', 'f1?', 'COUNT', 20);
    if (items.length === 0) emptySteps++;
    for (let i = 0; i < items.length; i += 2) {
      expect(items[i + 1]).toBe(`v-${items[i]}`);
      matched.push(items[i]);
    }
    cursor = next;
  } while (cursor !== '0');
  expect(matched.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `f1${i}`).sort());
  expect(emptySteps).toBeGreaterThan(0);
  const [, zitems] = await c.zscan('z', '0', 'COUNT', 5);
  for (let i = 0; i < zitems.length; i += 2) expect(zitems[i + 1]).toBe(zitems[i].slice(1));
  // 128 elements or fewer: everything at once with cursor 0, whatever the cursor and COUNT (as Redis's listpack).
  await fill('set', 'small', Array.from({ length: 128 }, (_, i) => `s${i}`));
  const [next, members] = await c.sscan('small', '12345', 'COUNT', 1);
  expect(next).toBe('0');
  expect(members.length).toBe(128);
  // A cursor past every hash ends the scan.
  expect(await c.hscan('h', String(2 ** 32), 'COUNT', 10)).toEqual(['0', []]);
});

test('ZRANDMEMBER: counts, distinct members for a positive count, repeats allowed for a negative one, WITHSCORES pairs', async () => {
  await c.zadd('z', 1, 'a', 2.5, 'b', 3, 'c', 4, 'd', 5, 'e');
  const scores: Record<string, string> = { a: '1', b: '2.5', c: '3', d: '4', e: '5' };
  expect(Object.keys(scores)).toContain(await c.zrandmember('z'));
  const three = await c.zrandmember('z', 3);
  expect(three.length).toBe(3);
  expect(new Set(three).size).toBe(3);
  for (const m of three) expect(scores[m]).toBeDefined();
  const all = await c.zrandmember('z', 10);
  expect([...all].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  const many = await c.zrandmember('z', -50);
  expect(many.length).toBe(50);
  expect(new Set(many).size).toBeLessThanOrEqual(5);
  for (const m of many) expect(scores[m]).toBeDefined();
  const ws = await c.zrandmember('z', -7, 'WITHSCORES');
  expect(ws.length).toBe(14);
  for (let i = 0; i < ws.length; i += 2) expect(ws[i + 1]).toBe(scores[ws[i]]);
  // RESP3: [member, score] pairs with double scores.
  const raw = await RawClient.open(s.respPort);
  try {
    const [, reply] = await raw.run([['hello', '3'], ['zrandmember', 'z', '2', 'withscores']]);
    expect(reply).toMatch(/^\*2\r\n\*2\r\n\$1\r\n[a-e]\r\n,[0-9.]+\r\n\*2\r\n\$1\r\n[a-e]\r\n,[0-9.]+\r\n$/);
  } finally {
    raw.close();
  }
});

test('HRANDFIELD, SRANDMEMBER, SPOP with counts: sizes, distinctness, membership', async () => {
  const fields = Array.from({ length: 20 }, (_, i) => `f${i}`);
  await c.hset('h', ...fields.flatMap((f) => [f, `v${f}`]));
  await c.sadd('s', ...fields);
  const hf = await c.hrandfield('h', 8) as string[];
  expect(hf.length).toBe(8);
  expect(new Set(hf).size).toBe(8);
  const hv = await c.hrandfield('h', -30, 'WITHVALUES') as string[];
  expect(hv.length).toBe(60);
  for (let i = 0; i < hv.length; i += 2) expect(hv[i + 1]).toBe(`v${hv[i]}`);
  const sr = await c.srandmember('s', 25);
  expect([...sr].sort()).toEqual([...fields].sort());
  const srNeg = await c.srandmember('s', -40);
  expect(srNeg.length).toBe(40);
  for (const m of srNeg) expect(fields).toContain(m);
  const popped = await c.spop('s', 15);
  expect(popped.length).toBe(15);
  expect(new Set(popped).size).toBe(15);
  expect(await c.scard('s')).toBe(5);
  const rest = await c.spop('s', 10);
  expect([...popped, ...rest].sort()).toEqual([...fields].sort());
  expect(await c.exists('s')).toBe(0);
});

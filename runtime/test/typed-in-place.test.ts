/**
 * The in-place path of HSET / HMSET, LPUSH / RPUSH, LPOP / RPOP and ZADD on
 * a key that exists (memory only: Keyspace.liveTypedBytes / changedLive):
 * what the general path does after a change must happen here too. WATCH
 * sees the change, CLIENT TRACKING names the key, the memory accounting
 * follows the value (MEMORY USAGE, eviction of other keys), a list popped
 * empty is deleted, and a command that changes nothing is no change.
 */
import Redis from 'ioredis';
import { sleep, startTestServer } from './helpers';
import { StateCache } from '../src/server';

let s: StateCache;
let a: Redis;
let b: Redis;

beforeAll(async () => {
  s = await startTestServer();
  a = new Redis({ port: s.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  b = new Redis({ port: s.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
});
afterAll(async () => {
  a.disconnect();
  b.disconnect();
  await s.close();
});
beforeEach(async () => {
  await a.flushall();
  await a.hset('h', 'f', '1');
  await a.rpush('l', 'x', 'y');
  await a.zadd('z', 1, 'm');
});

const CHANGES: Array<[string, string[]]> = [
  ['HSET', ['hset', 'h', 'f', '2']],
  ['HMSET', ['hmset', 'h', 'g', '3']],
  ['LPUSH', ['lpush', 'l', 'w']],
  ['RPUSH', ['rpush', 'l', 'z']],
  ['LPOP', ['lpop', 'l']],
  ['RPOP', ['rpop', 'l']],
  ['ZADD', ['zadd', 'z', '2', 'm']],
];

test.each(CHANGES)('%s on an existing key fails a WATCH of it', async (_name, cmd) => {
  await a.watch(cmd[1]);
  await b.call(cmd[0], ...cmd.slice(1));
  expect(await a.multi().ping().exec()).toBeNull();
});

test.each([
  ['HSET of the value the field has', ['hset', 'h', 'f', '1'], ['hget', 'h', 'f'], '1'],
  ['ZADD of the score the member has', ['zadd', 'z', '1', 'm'], ['zscore', 'z', 'm'], '1'],
])('%s still runs (Redis counts it as a write), and a WATCH of another key holds', async (_name, cmd, read, value) => {
  await a.watch('other');
  await b.call(cmd[0], ...cmd.slice(1));
  expect(await b.call(read[0], ...read.slice(1))).toBe(value);
  expect(await a.multi().ping().exec()).toEqual([[null, 'PONG']]);
});

test.each(CHANGES)('%s on an existing key is named to a client tracking it (REDIRECT to a subscriber)', async (_name, cmd) => {
  const sub = new Redis({ port: s.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  const t = new Redis({ port: s.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  try {
    const invalidated: string[] = [];
    sub.on('message', (_ch: string, msg: string | string[]) => invalidated.push(...(Array.isArray(msg) ? msg : [msg])));
    const id = await sub.client('ID');
    await sub.subscribe('__redis__:invalidate');
    await t.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(id));
    // A read makes the key tracked.
    const reads: Record<string, string[]> = { h: ['hgetall', 'h'], l: ['lrange', 'l', '0', '-1'], z: ['zrange', 'z', '0', '-1'] };
    const read = reads[cmd[1]];
    await t.call(read[0], ...read.slice(1));
    await b.call(cmd[0], ...cmd.slice(1));
    for (let i = 0; i < 100 && invalidated.length === 0; i++) await sleep(10);
    expect(invalidated).toEqual([cmd[1]]);
  } finally {
    sub.disconnect();
    t.disconnect();
  }
});

test('LPOP and RPOP of the last element delete the list', async () => {
  expect(await a.lpop('l')).toBe('x');
  expect(await a.rpop('l')).toBe('y');
  expect(await a.exists('l')).toBe(0);
  expect(await a.type('l')).toBe('none');
  expect(await a.lpop('l')).toBeNull();
});

test('the accounted size follows the value: MEMORY USAGE grows with HSET, RPUSH and ZADD on the existing key', async () => {
  for (const [key, grow] of [
    ['h', async (i: number) => a.hset('h', `field:${i}`, 'v'.repeat(200))],
    ['l', async () => a.rpush('l', 'e'.repeat(200))],
    ['z', async (i: number) => a.zadd('z', i, `member:${i}:${'m'.repeat(100)}`)],
  ] as const) {
    const before = Number(await a.call('MEMORY', 'USAGE', key));
    for (let i = 0; i < 500; i++) await grow(i);
    const after = Number(await a.call('MEMORY', 'USAGE', key));
    expect([key, after > before + 500 * 100]).toEqual([key, true]);
  }
});

test('HSET of a long value on an existing hash turns it to Redis\'s hashtable encoding', async () => {
  expect(await a.object('ENCODING', 'h')).toBe('listpack');
  await a.hset('h', 'long', 'x'.repeat(65));
  expect(await a.object('ENCODING', 'h')).toBe('hashtable');
  expect(await a.hget('h', 'long')).toBe('x'.repeat(65));
});

test('over the memory budget, growing an existing hash evicts other keys, as a new value would', async () => {
  const small = await startTestServer({ memory: { maxBytes: 16 * 1024 * 1024 } });
  const c = new Redis({ port: small.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  try {
    for (let i = 0; i < 8000; i++) await c.set(`k:${i}`, 'v'.repeat(1000));
    const keysBefore = await c.dbsize();
    await c.hset('big', 'f0', 'x');
    for (let i = 1; i < 6000; i++) await c.hset('big', `f${i}`, 'x'.repeat(1000));
    expect(await c.hlen('big')).toBe(6000);
    expect(await c.dbsize()).toBeLessThan(keysBefore);
  } finally {
    c.disconnect();
    await small.close();
  }
});

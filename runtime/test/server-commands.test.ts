import Redis from 'ioredis';
import { startTestServer, sleep } from './helpers';
import { EntryChange, PersistenceHooks } from '../src/keyspace/hooks';
import { StateCache } from '../src/server';

/* SETNX, GETSET, TIME, RENAME(NX), COPY, TOUCH, OBJECT, MEMORY USAGE, (P)EXPIRETIME, CONFIG SET, INFO. */

const batches: string[][] = [];
const hooks: PersistenceHooks = {
  beforeChange: (changes: readonly EntryChange[]) => {
    batches.push(changes.map((c) => `${c.kind}:${c.key.toString()}`));
    return undefined;
  },
  afterChange: () => undefined,
  load: () => undefined,
  passivate: () => undefined,
  flush: async () => undefined,
  ready: () => true,
};

let s: StateCache;
let r: Redis;
beforeAll(async () => {
  s = await startTestServer({ memory: { maxBytes: 64 * 1024 * 1024 } }, hooks);
  r = new Redis({ port: s.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
});
afterAll(async () => {
  if (r.status !== 'end') r.disconnect();
  await s.close();
});
beforeEach(async () => {
  await r.flushall();
  batches.length = 0;
});

test('SETNX and GETSET', async () => {
  expect(await r.setnx('k', 'a')).toBe(1);
  expect(await r.setnx('k', 'b')).toBe(0);
  expect(await r.getset('k', 'c')).toBe('a');
  expect(await r.getset('new', 'x')).toBeNull();
  expect(await r.mget('k', 'new')).toEqual(['c', 'x']);
});

test('TIME is the wall clock with microseconds', async () => {
  const [sec, us] = await r.time();
  expect(Math.abs(Number(sec) * 1000 + Number(us) / 1000 - Date.now())).toBeLessThan(2000);
  expect(Number(us)).toBeLessThan(1_000_000);
});

test('RENAME and RENAMENX keep the TTL and reach persistence as one batch', async () => {
  await r.set('a', 'v', 'EX', 100);
  batches.length = 0;
  expect(await r.rename('a', 'b')).toBe('OK');
  expect(batches).toEqual([['set:b', 'delete:a']]);
  expect(await r.get('b')).toBe('v');
  expect(await r.ttl('b')).toBeGreaterThan(90);
  expect(await r.exists('a')).toBe(0);
  await expect(r.rename('nope', 'x')).rejects.toThrow('ERR no such key');
  await expect(r.renamenx('nope', 'x')).rejects.toThrow('ERR no such key');
  expect(await r.rename('b', 'b')).toBe('OK');
  await r.set('c', '1');
  expect(await r.renamenx('b', 'c')).toBe(0);
  expect(await r.renamenx('b', 'd')).toBe(1);
  expect(await r.mget('c', 'd')).toEqual(['1', 'v']);
});

test('COPY with and without REPLACE', async () => {
  await r.set('src', 'v', 'PX', 100_000);
  await r.set('dst', 'old');
  expect(await r.copy('src', 'dst')).toBe(0);
  expect(await r.copy('src', 'dst', 'REPLACE')).toBe(1);
  expect(await r.get('dst')).toBe('v');
  expect(await r.pttl('dst')).toBeGreaterThan(90_000);
  expect(await r.copy('missing', 'x')).toBe(0);
  await expect(r.copy('src', 'src')).rejects.toThrow('ERR source and destination objects are the same');
  await expect(r.call('copy', 'src', 'x', 'DB', '1')).rejects.toThrow('ERR COPY to another database is not supported by state-cache');
  await expect(r.call('copy', 'src', 'x', 'DB', '16')).rejects.toThrow('ERR DB index is out of range');
  await expect(r.call('copy', 'src', 'x', 'BOGUS')).rejects.toThrow('ERR syntax error');
});

test('TOUCH, OBJECT, MEMORY USAGE, EXPIRETIME and PEXPIRETIME', async () => {
  await r.set('n', '12345');
  await r.set('e', 'short');
  await r.set('raw', 'x'.repeat(100));
  expect(await r.touch('n', 'e', 'missing')).toBe(3 - 1);
  expect(await r.object('ENCODING', 'n')).toBe('int');
  expect(await r.object('ENCODING', 'e')).toBe('embstr');
  expect(await r.object('ENCODING', 'raw')).toBe('raw');
  expect(await r.object('ENCODING', 'missing')).toBeNull();
  await sleep(1100);
  expect(await r.object('IDLETIME', 'n')).toBeGreaterThanOrEqual(1);
  await expect(r.object('FREQ', 'n')).rejects.toThrow(/^ERR An LFU maxmemory policy is not selected/);
  await expect(r.call('object', 'bogus', 'n')).rejects.toThrow('ERR unknown subcommand \'bogus\'. Try OBJECT HELP.');
  expect(await r.call('memory', 'usage', 'raw')).toBeGreaterThan(100);
  expect(await r.call('memory', 'usage', 'missing')).toBeNull();
  expect(await r.call('expiretime', 'n')).toBe(-1);
  expect(await r.call('expiretime', 'missing')).toBe(-2);
  await r.pexpireat('n', 4102444800123);
  expect(await r.call('pexpiretime', 'n')).toBe(4102444800123);
  expect(await r.call('expiretime', 'n')).toBe(4102444800);
});

test('CONFIG SET takes the runtime-safe parameters and refuses the rest clearly', async () => {
  expect(await r.config('SET', 'maxmemory-policy', 'allkeys-lfu')).toBe('OK');
  expect(await r.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lfu']);
  await r.set('f', '1');
  expect(typeof await r.object('FREQ', 'f')).toBe('number');
  await expect(r.object('IDLETIME', 'f')).rejects.toThrow(/^ERR An LFU maxmemory policy is selected/);
  expect(await r.config('SET', 'maxmemory-policy', 'noeviction')).toBe('OK');
  await expect(r.config('SET', 'maxmemory-policy', 'volatile-lru')).rejects.toThrow(
    'ERR CONFIG SET failed (possibly related to argument \'maxmemory-policy\') - state-cache supports noeviction, allkeys-lru and allkeys-lfu, not \'volatile-lru\'');
  expect(await r.call('config', 'set', 'maxmemory-samples', '10', 'maxmemory', '32mb')).toBe('OK');
  expect(await r.config('GET', 'maxmemory*')).toEqual(['maxmemory', String(32 * 1024 * 1024), 'maxmemory-policy', 'noeviction', 'maxmemory-samples', '10']);
  await expect(r.config('SET', 'maxmemory', '1gb')).rejects.toThrow(/^ERR CONFIG SET failed \(possibly related to argument 'maxmemory'\) - state-cache's budget is bounded/);
  await expect(r.config('SET', 'maxmemory-samples', '0')).rejects.toThrow('argument must be between 1 and 64 inclusive');
  await expect(r.config('SET', 'port', '1')).rejects.toThrow('ERR CONFIG SET failed (possibly related to argument \'port\') - can\'t set immutable config');
  await expect(r.config('SET', 'no-such-thing', '1')).rejects.toThrow('ERR Unknown option or number of arguments for CONFIG SET - \'no-such-thing\'');
  // All or nothing: a bad pair refuses the whole command.
  await expect(r.call('config', 'set', 'maxmemory-samples', '7', 'port', '1')).rejects.toThrow(/immutable/);
  expect(await r.config('GET', 'maxmemory-samples')).toEqual(['maxmemory-samples', '10']);
  await r.call('config', 'set', 'maxmemory', '64mb', 'maxmemory-policy', 'allkeys-lru', 'maxmemory-samples', '5');
});

test('INFO reports the Redis version implemented and state_cache_version', async () => {
  const info = await r.info('server');
  expect(info).toMatch(/\r\nredis_version:7\.0\.0\r\n/);
  expect(info).toMatch(/\r\nstate_cache_version:\d+\.\d+\.\d+/);
});

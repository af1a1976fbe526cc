/**
 * The data types through the stock Node clients, unchanged: ioredis and
 * node-redis (RESP2 and RESP3) over hashes, lists, sets and sorted sets; the
 * memory budget and eviction over aggregates; cluster-mode routing of the
 * new commands (MOVED, CROSSSLOT); the REST view of an aggregate.
 */
import Redis from 'ioredis';
import { createClient } from 'redis';
import { startTestServer } from './helpers';
import { keySlot } from '../src/cluster/slots';
import { StateCache } from '../src/server';

describe('ioredis over the families', () => {
  let server: StateCache;
  let r: Redis;
  beforeAll(async () => {
    server = await startTestServer();
    r = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  });
  afterAll(async () => {
    if (r.status !== 'end') r.disconnect();
    await server.close();
  });

  test('hashes', async () => {
    expect(await r.hset('user:1', 'name', 'Ada', 'born', '1815')).toBe(2);
    expect(await r.hmset('user:1', { lang: 'en' })).toBe('OK');
    expect(await r.hgetall('user:1')).toEqual({ name: 'Ada', born: '1815', lang: 'en' });
    expect(await r.hmget('user:1', 'name', 'none')).toEqual(['Ada', null]);
    expect(await r.hincrby('user:1', 'born', 1)).toBe(1816);
    expect(await r.hincrbyfloat('user:1', 'score', '2.5')).toBe('2.5');
    expect(await r.hkeys('user:1')).toEqual(['name', 'born', 'lang', 'score']);
    expect(await r.hvals('user:1')).toEqual(['Ada', '1816', 'en', '2.5']);
    expect(await r.hlen('user:1')).toBe(4);
    expect(await r.hexists('user:1', 'lang')).toBe(1);
    expect(await r.hsetnx('user:1', 'lang', 'fr')).toBe(0);
    expect(await r.hdel('user:1', 'lang', 'nope')).toBe(1);
    expect(await r.hscan('user:1', 0, 'MATCH', 'b*')).toEqual(['0', ['born', '1816']]);
    expect(['name', 'born', 'score']).toContain(await r.hrandfield('user:1'));
    expect((await r.hrandfield('user:1', -5)) as string[]).toHaveLength(5);
    await expect(r.lpush('user:1', 'x')).rejects.toThrow('WRONGTYPE Operation against a key holding the wrong kind of value');
  });

  test('lists', async () => {
    expect(await r.rpush('jobs', 'a', 'b', 'c')).toBe(3);
    expect(await r.lpush('jobs', 'z')).toBe(4);
    expect(await r.lrange('jobs', 0, -1)).toEqual(['z', 'a', 'b', 'c']);
    expect(await r.lpos('jobs', 'b')).toBe(2);
    expect(await r.lmove('jobs', 'done', 'RIGHT', 'LEFT')).toBe('c');
    expect(await r.lset('jobs', 0, 'Z')).toBe('OK');
    expect(await r.lrem('jobs', 0, 'a')).toBe(1);
    expect(await r.ltrim('jobs', 0, 0)).toBe('OK');
    expect(await r.lrange('jobs', 0, -1)).toEqual(['Z']);
    expect(await r.rpop('jobs')).toBe('Z');
    expect(await r.exists('jobs')).toBe(0);
    expect(await r.llen('done')).toBe(1);
  });

  test('sets', async () => {
    expect(await r.sadd('tags', 'a', 'b', 'c')).toBe(3);
    expect(await r.sadd('other', 'b', 'c', 'd')).toBe(3);
    expect((await r.sinter('tags', 'other')).sort()).toEqual(['b', 'c']);
    expect((await r.sunion('tags', 'other')).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(await r.sdiff('tags', 'other')).toEqual(['a']);
    expect(await r.sunionstore('all', 'tags', 'other')).toBe(4);
    expect(await r.smismember('all', 'a', 'x')).toEqual([1, 0]);
    expect(await r.scard('all')).toBe(4);
    const popped = await r.spop('all', 2);
    expect(popped).toHaveLength(2);
    expect(await r.scard('all')).toBe(2);
    expect(await r.srem('tags', 'a')).toBe(1);
    expect((await r.sscan('tags', 0))[1].sort()).toEqual(['b', 'c']);
  });

  test('sorted sets', async () => {
    expect(await r.zadd('board', 10, 'ann', 20, 'bob', 15, 'cy')).toBe(3);
    expect(await r.zadd('board', 'GT', 'CH', 5, 'ann', 30, 'bob')).toBe(1);
    expect(await r.zincrby('board', 1.5, 'cy')).toBe('16.5');
    expect(await r.zrange('board', 0, -1, 'WITHSCORES')).toEqual(['ann', '10', 'cy', '16.5', 'bob', '30']);
    expect(await r.zrange('board', '+inf', 11, 'BYSCORE', 'REV', 'LIMIT', 0, 1)).toEqual(['bob']);
    expect(await r.zrangebyscore('board', '(10', 20)).toEqual(['cy']);
    expect(await r.zrank('board', 'bob')).toBe(2);
    expect(await r.zrevrank('board', 'bob')).toBe(0);
    expect(await r.zcount('board', 0, 20)).toBe(2);
    expect(await r.zmscore('board', 'ann', 'nope')).toEqual(['10', null]);
    expect(await r.zpopmin('board')).toEqual(['ann', '10']);
    expect(await r.zpopmax('board', 5)).toEqual(['bob', '30', 'cy', '16.5']);
    expect(await r.zadd('gone', 1, 'a', 2, 'b', 3, 'c')).toBe(3);
    expect(await r.zremrangebyscore('gone', '-inf', 1)).toBe(1);
    expect(await r.zremrangebyrank('gone', 0, 0)).toBe(1);
    expect(await r.zscan('gone', 0)).toEqual(['0', ['c', '3']]);
    expect(await r.type('gone')).toBe('zset');
  });

  test('SCAN TYPE filters by type; EXPIRE and TTL work on aggregates', async () => {
    await r.hset('scan:h', 'f', 'v');
    await r.set('scan:s', 'v');
    const [, keys] = await r.scan(0, 'MATCH', 'scan:*', 'COUNT', 1000, 'TYPE', 'hash');
    expect(keys).toEqual(['scan:h']);
    expect(await r.expire('scan:h', 100)).toBe(1);
    expect(await r.ttl('scan:h')).toBeGreaterThan(90);
    await r.hset('scan:h', 'g', 'w');
    expect(await r.ttl('scan:h')).toBeGreaterThan(90); // changing an aggregate keeps its TTL, as in Redis
    expect(await r.pexpire('scan:h', 1)).toBe(1);
    await new Promise((res) => setTimeout(res, 20));
    expect(await r.exists('scan:h')).toBe(0);
    expect(await r.set('scan:h', 'now a string')).toBe('OK');
    await r.rpush('scan:l', 'x');
    expect(await r.set('scan:l', 'replaced')).toBe('OK'); // SET overwrites any type
    expect(await r.get('scan:l')).toBe('replaced');
  });
});

describe.each([2, 3] as const)('node-redis over RESP%i', (RESP) => {
  let server: StateCache;
  let c: ReturnType<typeof createClient>;
  beforeAll(async () => {
    server = await startTestServer();
    c = createClient({ socket: { port: server.respPort, host: '127.0.0.1', reconnectStrategy: false }, RESP });
    await c.connect();
  });
  afterAll(async () => {
    c.destroy();
    await server.close();
  });

  test('hashes, lists, sets and sorted sets with the reply shapes node-redis expects', async () => {
    expect(await c.hSet('h', { a: '1', b: '2' })).toBe(2);
    expect({ ...(await c.hGetAll('h')) }).toEqual({ a: '1', b: '2' });
    expect(await c.hIncrBy('h', 'a', 2)).toBe(3);
    expect(await c.rPush('l', ['x', 'y'])).toBe(2);
    expect(await c.lRange('l', 0, -1)).toEqual(['x', 'y']);
    expect(await c.blPop('l', 1)).toEqual({ key: 'l', element: 'x' });
    expect(await c.sAdd('s', ['a', 'b'])).toBe(2);
    expect([...(await c.sMembers('s'))].sort()).toEqual(['a', 'b']);
    expect(await c.sIsMember('s', 'a')).toBe(1);
    expect(await c.zAdd('z', [{ score: 2, value: 'b' }, { score: 1, value: 'a' }])).toBe(2);
    expect(await c.zRangeWithScores('z', 0, -1)).toEqual([{ value: 'a', score: 1 }, { value: 'b', score: 2 }]);
    expect(await c.zScore('z', 'b')).toBe(2);
    expect(await c.zPopMin('z')).toEqual({ value: 'a', score: 1 });
    expect(await c.bzPopMin('z', 1)).toEqual({ key: 'z', value: 'b', score: 2 });
    expect(await c.bzPopMin('z', 0.1)).toBeNull();
    expect(await c.type('h')).toBe('hash');
  });
});

describe('the memory budget and eviction over aggregates', () => {
  test('lru: aggregates are evicted whole to stay within maxBytes; usedBytes follows their growth', async () => {
    const server = await startTestServer({ memory: { maxBytes: 256 * 1024, eviction: 'lru' } });
    const r = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    try {
      const before = server.ks.usedBytes;
      await r.rpush('grow', ...Array.from({ length: 100 }, (_, i) => `element-${i}`));
      const after100 = server.ks.usedBytes - before;
      await r.rpush('grow', ...Array.from({ length: 100 }, (_, i) => `element-${i}`));
      const after200 = server.ks.usedBytes - before;
      expect(after200 - after100).toBeGreaterThan(100 * 30);
      for (let i = 0; i < 200; i++) await r.hset(`h${i}`, 'payload', 'x'.repeat(1000), 'i', String(i));
      expect(server.ks.usedBytes).toBeLessThanOrEqual(256 * 1024);
      expect(server.ks.stats.evictions).toBeGreaterThan(0);
      expect(await r.hget('h199', 'i')).toBe('199');
      await r.lpop('grow', 200);
    } finally {
      r.disconnect();
      await server.close();
    }
  });

  test('noeviction: a write that would grow past the budget gets Redis\'s OOM error; pops still work', async () => {
    const server = await startTestServer({ memory: { maxBytes: 64 * 1024, eviction: 'noeviction' } });
    const r = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    try {
      let refused: Error | undefined;
      for (let i = 0; i < 2000 && refused === undefined; i++) {
        try {
          await r.sadd('big', `member-${i}-${'y'.repeat(50)}`);
        } catch (e) {
          refused = e as Error;
        }
      }
      expect(refused?.message).toBe('OOM command not allowed when used memory > \'maxmemory\'.');
      expect(server.stats.oomErrors).toBeGreaterThan(0);
      const n = await r.scard('big');
      expect(await r.spop('big')).toMatch(/^member-/);
      expect(await r.scard('big')).toBe(n - 1);
    } finally {
      r.disconnect();
      await server.close();
    }
  });
});

describe('cluster mode: the new commands are routed like the rest', () => {
  let server: StateCache;
  let r: Redis;
  // Ordinal 1 of 3 owns slots 5461-10922.
  const owned = (k: string) => { const s = keySlot(Buffer.from(k)); return s >= 5461 && s <= 10922; };
  const mine = ['c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].find(owned)!;
  const other = ['a', 'b', 'foo', 'bar'].find((k) => !owned(k))!;
  beforeAll(async () => {
    server = await startTestServer({ cluster: { enabled: true, replicas: 3, statefulSetName: 'cache', podNameEnv: 'POD_NAME' } }, undefined, { POD_NAME: 'cache-1' });
    r = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  });
  afterAll(async () => {
    r.disconnect();
    await server.close();
  });

  test('own slots are served, others are MOVED, multi-key commands across slots are CROSSSLOT', async () => {
    expect(await r.hset(mine, 'f', 'v')).toBe(1);
    await expect(r.hset(other, 'f', 'v')).rejects.toThrow(/^MOVED \d+ cache-0\.state-cache:6379$|^MOVED \d+ cache-2\.state-cache:6379$/);
    await expect(r.sinterstore(mine, mine, other)).rejects.toThrow('CROSSSLOT Keys in request don\'t hash to the same slot');
    await expect(r.blpop(mine, other, 1)).rejects.toThrow('CROSSSLOT Keys in request don\'t hash to the same slot');
    await r.rpush(`{${mine}}src`, 'x');
    expect(await r.lmove(`{${mine}}src`, `{${mine}}dst`, 'LEFT', 'LEFT')).toBe('x');
    expect(await r.blpop(`{${mine}}dst`, `{${mine}}other`, 1)).toEqual([`{${mine}}dst`, 'x']);
  });
});

describe('the REST view of an aggregate', () => {
  test('GET answers 409 wrong_type naming the type; DELETE removes it; PUT replaces it with a string', async () => {
    const server = await startTestServer({ http: { port: 0 } });
    const r = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    try {
      await r.hset('rest:h', 'f', 'v');
      const base = `http://127.0.0.1:${server.httpPort}/v1/keys`;
      const got = await fetch(`${base}/rest:h`);
      expect(got.status).toBe(409);
      expect(got.headers.get('x-value-type')).toBe('hash');
      expect(got.headers.get('etag')).toMatch(/^"/);
      expect(await got.json()).toEqual({ error: 'wrong_type', message: 'key holds a hash: the REST API reads string values only, use the hash commands over RESP' });
      expect((await fetch(`${base}/rest:h`, { method: 'PUT', body: 'now a string' })).status).toBe(204);
      expect(await r.type('rest:h')).toBe('string');
      await r.zadd('rest:z', 1, 'a');
      expect((await fetch(`${base}/rest:z`, { method: 'DELETE' })).status).toBe(204);
      expect(await r.exists('rest:z')).toBe(0);
    } finally {
      r.disconnect();
      await server.close();
    }
  });
});

describe('the commands bullmq uses', () => {
  /**
   * Every command bullmq 6.2.0 sends: redis.call()s in its Lua scripts
   * (src/commands/*.lua) and its client calls (src/classes), data-type ones
   * and its event stream's (XADD, XTRIM, XREAD). bullmq itself runs against
   * state-cache in test/libraries/bullmq.test.ts.
   */
  const COMMANDS = ['HSET', 'HMSET', 'HGET', 'HMGET', 'HGETALL', 'HDEL', 'HINCRBY', 'HLEN', 'HEXISTS', 'LPUSH', 'RPUSH', 'LPOP', 'RPOP',
    'LLEN', 'LRANGE', 'LREM', 'LTRIM', 'LPOS', 'LINDEX', 'LSET', 'RPOPLPUSH', 'SADD', 'SREM', 'SCARD', 'SMEMBERS', 'SISMEMBER', 'ZADD',
    'ZREM', 'ZSCORE', 'ZRANGE', 'ZCARD', 'ZRANGEBYSCORE', 'ZREVRANGE', 'ZREVRANGEBYSCORE', 'ZREMRANGEBYSCORE', 'ZREMRANGEBYRANK',
    'ZPOPMIN', 'ZCOUNT', 'BZPOPMIN', 'TYPE', 'EXISTS', 'DEL', 'GET', 'SET', 'INCR', 'PTTL', 'PEXPIRE', 'PERSIST', 'SCAN', 'INFO', 'MULTI',
    'XADD', 'XTRIM', 'XREAD'];

  test('every command bullmq calls exists', async () => {
    const server = await startTestServer();
    const r = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    try {
      const info = (await r.call('COMMAND', 'INFO', ...COMMANDS)) as unknown[];
      expect(COMMANDS.filter((_, i) => info[i] === null)).toEqual([]);
    } finally {
      r.disconnect();
      await server.close();
    }
  });
});

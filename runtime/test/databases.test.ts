import Redis from 'ioredis';
import { createClient } from 'redis';
import { startTestServer } from './helpers';
import { StateCache } from '../src/server';

/* SELECT: databases 0-15 on one keyspace, each key prefixed by its database (src/protocol/databases.ts). */

let s: StateCache;
let r: Redis;
beforeAll(async () => {
  s = await startTestServer();
  r = new Redis({ port: s.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
});
afterAll(async () => {
  if (r.status !== 'end') r.disconnect();
  await s.close();
});

test('node-redis with redis://host/1 connects and works in database 1, apart from database 0', async () => {
  await r.flushall();
  await r.set('shared-name', 'db0');
  const c = createClient({ url: `redis://127.0.0.1:${s.respPort}/1` });
  c.on('error', () => undefined);
  await c.connect();
  try {
    expect(await c.get('shared-name')).toBeNull();
    await c.set('shared-name', 'db1');
    await c.set('only-in-1', 'x', { EX: 100 });
    expect(await c.get('shared-name')).toBe('db1');
    expect((await c.keys('*')).sort()).toEqual(['only-in-1', 'shared-name']);
    expect(await c.dbSize()).toBe(2);
    expect(await c.exists('only-in-1')).toBe(1);
    expect(await c.randomKey()).toMatch(/^(only-in-1|shared-name)$/);
    const scanned: string[] = [];
    for await (const keys of c.scanIterator({ MATCH: 'only*' })) scanned.push(...keys);
    expect(scanned).toEqual(['only-in-1']);
    expect(await c.eval('return redis.call("GET", KEYS[1])', { keys: ['shared-name'] })).toBe('db1');
  } finally {
    c.destroy();
  }
  expect(await r.get('shared-name')).toBe('db0');
  expect(await r.keys('*')).toEqual(['shared-name']);
  expect(await r.dbsize()).toBe(1);
  // FLUSHDB empties the selected database only.
  const one = new Redis({ port: s.respPort, host: '127.0.0.1', db: 1 });
  expect(await one.flushdb()).toBe('OK');
  expect(await one.dbsize()).toBe(0);
  one.disconnect();
  expect(await r.get('shared-name')).toBe('db0');
});

test('SELECT checks its index; RESET returns to database 0', async () => {
  await expect(r.select(16)).rejects.toThrow('ERR DB index is out of range');
  await expect(r.select(-1)).rejects.toThrow('ERR DB index is out of range');
  await expect(r.call('select', 'x')).rejects.toThrow('ERR value is not an integer or out of range');
  const c = new Redis({ port: s.respPort, host: '127.0.0.1' });
  await c.select(15);
  await c.set('k', 'fifteen');
  expect(await c.call('client', 'info')).toMatch(/ db=15 /);
  expect(await c.call('reset')).toBe('RESET');
  expect(await c.get('k')).toBeNull();
  c.disconnect();
});

test('replies that name a key name it as the client does in database 3 (BLPOP, BZPOPMIN, LMPOP, ZMPOP), woken or not', async () => {
  const a = new Redis({ port: s.respPort, host: '127.0.0.1', db: 3 });
  const b = new Redis({ port: s.respPort, host: '127.0.0.1', db: 3 });
  try {
    await b.rpush('ready', 'x');
    expect(await a.blpop('ready', 1)).toEqual(['ready', 'x']);
    const woken = a.brpop('later', 5);
    await new Promise((res) => setTimeout(res, 100));
    await b.rpush('later', 'y');
    expect(await woken).toEqual(['later', 'y']);
    await b.zadd('z', 1, 'm');
    expect(await a.bzpopmin('z', 1)).toEqual(['z', 'm', '1']);
    await b.rpush('l', 'v');
    expect(await a.call('lmpop', 1, 'l', 'LEFT')).toEqual(['l', ['v']]);
    await b.zadd('z2', 2, 'n');
    expect(await a.call('zmpop', 1, 'z2', 'MIN')).toEqual(['z2', [['n', '2']]]);
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

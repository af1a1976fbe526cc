import Redis from 'ioredis';
import { startTestServer } from './helpers';
import { LoadedEntry, PersistenceHooks } from '../src/keyspace/hooks';
import { StateCache } from '../src/server';

/*
 * Which commands load a missing key from the stores before they run. A blind
 * write (it does not need the old value) must not: in write-behind it is then
 * taken at memory speed, also while a store is down. Hooks that record every
 * load stand in for persistence; each load finds nothing.
 */

const loads: string[] = [];
const hooks: PersistenceHooks = {
  beforeChange: () => undefined,
  afterChange: () => undefined,
  load: (key) => {
    loads.push(key.toString());
    return Promise.resolve(undefined as LoadedEntry | undefined);
  },
  passivate: () => undefined,
  flush: async () => undefined,
  ready: () => true,
};

let s: StateCache;
let r: Redis;
beforeAll(async () => {
  s = await startTestServer({}, hooks);
  r = new Redis({ port: s.respPort, host: '127.0.0.1', lazyConnect: true });
  await r.connect();
});
afterAll(async () => {
  r.disconnect();
  await s.close();
});
beforeEach(() => { loads.length = 0; });

test.each([
  ['SET', ['set', 'a', 'v']],
  ['SET with EX', ['set', 'a', 'v', 'EX', '100']],
  ['SETEX', ['setex', 'a', '100', 'v']],
  ['PSETEX', ['psetex', 'a', '100000', 'v']],
  ['MSET', ['mset', 'a', '1', 'b', '2']],
])('%s is a blind write: nothing is loaded', async (_name, args) => {
  expect(await r.call(args[0], ...args.slice(1))).toBe('OK');
  expect(loads).toEqual([]);
});

test.each([
  ['SET NX', ['set', 'n1', 'v', 'NX'], ['n1']],
  ['SET XX', ['set', 'n2', 'v', 'XX'], ['n2']],
  ['SET GET', ['set', 'n3', 'v', 'GET'], ['n3']],
  ['SET KEEPTTL', ['set', 'n4', 'v', 'KEEPTTL'], ['n4']],
  ['GET', ['get', 'n5'], ['n5']],
  ['INCR', ['incr', 'n6'], ['n6']],
  ['APPEND', ['append', 'n7', 'x'], ['n7']],
  ['DEL', ['del', 'n8', 'n9'], ['n8', 'n9']],
  ['MSETNX', ['msetnx', 'n10', '1'], ['n10']],
])('%s needs the old value: the missing key is loaded first', async (_name, args, keys) => {
  await r.call(args[0], ...args.slice(1));
  expect(loads).toEqual(keys);
});

test('SETEX and PSETEX set the expiry, and refuse a bad one as Redis does', async () => {
  await r.setex('ex', 100, 'v');
  expect(await r.ttl('ex')).toBe(100);
  await r.psetex('px', 5000, 'v');
  expect(await r.pttl('px')).toBeGreaterThan(4000);
  await expect(r.setex('ex', 0, 'v')).rejects.toThrow("ERR invalid expire time in 'setex' command");
  await expect(r.psetex('px', -1, 'v')).rejects.toThrow("ERR invalid expire time in 'psetex' command");
  await expect(r.call('setex', 'ex', 'x', 'v')).rejects.toThrow('ERR value is not an integer or out of range');
});

test('HTTP PUT without preconditions is blind; with If-Match or If-None-Match it loads first', async () => {
  const url = `http://127.0.0.1:${s.httpPort}/v1/keys/`;
  expect((await fetch(url + 'put1', { method: 'PUT', body: 'v' })).status).toBe(201);
  expect(loads).toEqual([]);
  expect((await fetch(url + 'put2', { method: 'PUT', body: 'v', headers: { 'If-None-Match': '*' } })).status).toBe(201);
  expect(loads).toEqual(['put2']);
});

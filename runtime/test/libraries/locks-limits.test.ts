import Redis from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import Redlock from 'redlock';
import { StateCache } from '../../src/server';
import { startTestServer } from '../helpers';

/*
 * Libraries that need scripting, unchanged, against a state-cache started
 * here: redlock (EVALSHA, EVAL after NOSCRIPT) and rate-limiter-flexible's
 * atomic RateLimiterRedis (EVAL of an INCRBY + PEXPIRE script).
 */

let s: StateCache;
let r: Redis;
beforeAll(async () => {
  s = await startTestServer();
  r = new Redis({ port: s.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
});
afterAll(async () => {
  if (r.status !== 'end') r.disconnect();
  await s.close();
});

test('redlock: acquire, exclude a second holder, extend, release', async () => {
  await r.call('script', 'flush'); // so redlock's EVALSHA gets NOSCRIPT and falls back to EVAL
  const redlock = new Redlock([r], { retryCount: 0 });
  const lock = await redlock.acquire(['lock:a'], 5000);
  expect(await r.get('lock:a')).toBe(lock.value);
  await expect(redlock.acquire(['lock:a'], 5000)).rejects.toThrow(/The operation was unable to achieve a quorum/);
  const extended = await lock.extend(10000);
  expect(await r.pttl('lock:a')).toBeGreaterThan(5000);
  await extended.release();
  expect(await r.exists('lock:a')).toBe(0);
  // using(): the routine runs under the lock and it is gone afterwards.
  const seen = await redlock.using(['lock:b'], 2000, async () => r.exists('lock:b'));
  expect(seen).toBe(1);
  expect(await r.exists('lock:b')).toBe(0);
});

test('rate-limiter-flexible RateLimiterRedis: atomic counting, blocking past the limit, reset', async () => {
  const limiter = new RateLimiterRedis({ storeClient: r, keyPrefix: 'rl', points: 5, duration: 10, useRedisPackage: false });
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => limiter.consume('user-1')));
  expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(5);
  const rejected = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
  expect(rejected).toHaveLength(3);
  expect(rejected[0].reason.remainingPoints).toBe(0);
  expect(rejected[0].reason.msBeforeNext).toBeGreaterThan(0);
  expect(await r.get('rl:user-1')).toBe('8');
  expect(await r.ttl('rl:user-1')).toBeGreaterThan(0);
  const res = await limiter.get('user-1');
  expect(res?.consumedPoints).toBe(8);
  await limiter.delete('user-1');
  expect((await limiter.consume('user-1')).remainingPoints).toBe(4);
});

/**
 * Blocking pops over real ioredis connections: woken by pushes from other
 * clients, first come first served, timeouts honoured, other clients never
 * held up, nothing lost when a blocked client goes away, and no CPU spent
 * while clients wait.
 */
import Redis from 'ioredis';
import { sleep, startTestServer } from './helpers';
import { StateCache } from '../src/server';

let server: StateCache;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  for (const c of clients) if (c.status !== 'end') c.disconnect();
  await server.close();
});

function client(): Redis {
  const c = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(c);
  return c;
}

test('BLPOP waits for a push from another client and answers [key, element]; others are served meanwhile', async () => {
  const a = client();
  const b = client();
  const popped = a.blpop('bq1', 'bq2', 5);
  await sleep(100);
  expect(await b.ping()).toBe('PONG');
  expect(await b.rpush('bq2', 'x', 'y')).toBe(2);
  // The element, not the null of the 5 s timeout: the push woke it.
  expect(await popped).toEqual(['bq2', 'x']);
  expect(await b.lrange('bq2', 0, -1)).toEqual(['y']);
});

test('a blocked client holds back its own pipelined commands, not other clients', async () => {
  const a = client();
  const b = client();
  const pipeline = a.pipeline().brpop('bp', 5).get('after').exec();
  await sleep(50);
  await b.set('after', 'set-after-block');
  await b.lpush('bp', 'v');
  const results = await pipeline;
  expect(results).toEqual([[null, ['bp', 'v']], [null, 'set-after-block']]);
});

test('timeouts are honoured (fractional seconds); 0 waits until served', async () => {
  const a = client();
  const t0 = Date.now();
  expect(await a.blpop('never', 0.3)).toBeNull();
  const waited = Date.now() - t0;
  expect(waited).toBeGreaterThanOrEqual(280);
  expect(waited).toBeLessThan(3000);
  expect(await a.bzpopmin('never-z', 0.1)).toBeNull();
  expect(await a.blmove('never', 'dst', 'LEFT', 'RIGHT', 0.1)).toBeNull();
  const forever = a.brpop('later', 0);
  await sleep(400);
  await client().rpush('later', 'finally');
  expect(await forever).toEqual(['later', 'finally']);
});

test('waiters on a key are served first come, first served, one element each', async () => {
  const [a, b, c] = [client(), client(), client()];
  const first = a.blpop('fifo', 5);
  await sleep(30);
  const second = b.blpop('fifo', 5);
  await sleep(30);
  await c.rpush('fifo', 'one');
  expect(await first).toEqual(['fifo', 'one']);
  expect(await c.llen('fifo')).toBe(0);
  await c.rpush('fifo', 'two', 'three');
  expect(await second).toEqual(['fifo', 'two']);
  expect(await c.lrange('fifo', 0, -1)).toEqual(['three']);
});

test('a client that disconnects while blocked takes nothing', async () => {
  const a = client();
  const b = client();
  void a.blpop('gone', 0).catch(() => undefined);
  await sleep(50);
  expect((await b.info('clients')).match(/blocked_clients:(\d+)/)![1]).toBe('1');
  a.disconnect();
  await sleep(50);
  expect((await b.info('clients')).match(/blocked_clients:(\d+)/)![1]).toBe('0');
  await b.rpush('gone', 'kept');
  expect(await b.lrange('gone', 0, -1)).toEqual(['kept']);
});

test('BLMOVE and BRPOPLPUSH move what arrives; BZPOPMIN / BZPOPMAX wake on ZADD with [key, member, score]', async () => {
  const [a, b, c] = [client(), client(), client()];
  const moved = a.blmove('src', 'dst', 'RIGHT', 'LEFT', 5);
  const zmin = b.bzpopmin('zq', 5);
  await sleep(50);
  await c.rpush('src', 'a', 'b');
  await c.zadd('zq', 3, 'three', 1, 'one');
  expect(await moved).toBe('b');
  expect(await c.lrange('dst', 0, -1)).toEqual(['b']);
  expect(await zmin).toEqual(['zq', 'one', '1']);
  const zmax = b.bzpopmax('zq2', 'zq', 5);
  expect(await zmax).toEqual(['zq', 'three', '3']);
  const chained = a.brpoplpush('chain', 'src', 5);
  await sleep(30);
  await c.lpush('chain', 'c');
  expect(await chained).toBe('c');
  expect(await c.lrange('src', 0, -1)).toEqual(['c', 'a']);
});

test('a push inside MULTI wakes waiters after EXEC; a blocking pop inside MULTI does not block', async () => {
  const [a, b] = [client(), client()];
  const waiting = a.blpop('txq', 5);
  await sleep(30);
  const r = await b.multi().rpush('txq', '1').blpop('empty-q', 0).exec();
  expect(r).toEqual([[null, 1], [null, null]]);
  expect(await waiting).toEqual(['txq', '1']);
});

test('blocked clients cost no CPU: 200 clients waiting', async () => {
  const watcher = client();
  const waiting = Array.from({ length: 200 }, (_, i) => client().blpop(`idle${i}`, 0));
  // Measure only once all 200 are blocked: connecting them costs CPU, waiting must not.
  const blocked = async () => Number((await watcher.info('clients')).match(/blocked_clients:(\d+)/)![1]);
  for (let t0 = Date.now(); (await blocked()) < 200 && Date.now() - t0 < 10_000;) await sleep(50);
  expect(await blocked()).toBe(200);
  const before = process.cpuUsage();
  const t0 = Date.now();
  await sleep(500);
  const cpu = process.cpuUsage(before);
  const wall = Date.now() - t0;
  // A poll loop would burn the whole wall time; an idle event loop spends a few ms.
  expect((cpu.user + cpu.system) / 1000).toBeLessThan(wall * 0.2);
  expect(await blocked()).toBe(200);
  const release = watcher.pipeline();
  for (let i = 0; i < 200; i++) release.rpush(`idle${i}`, `v${i}`);
  await release.exec();
  expect(await Promise.all(waiting)).toEqual(Array.from({ length: 200 }, (_, i) => [`idle${i}`, `v${i}`]));
}, 30_000);

test('bad timeouts get Redis\'s errors', async () => {
  const a = client();
  await expect(a.blpop('k', -1)).rejects.toThrow('ERR timeout is negative');
  await expect(a.call('blpop', 'k', 'abc')).rejects.toThrow('ERR timeout is not a float or out of range');
  await expect(a.call('bzpopmin', 'k', 'inf')).rejects.toThrow('ERR timeout is not a float or out of range');
});

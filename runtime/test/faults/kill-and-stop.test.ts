import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort, RunningCache, sleep, startCache, tempDir } from './harness';
import { TestStateCache } from '../stores/servers';

/**
 * Faults with the real server: kill -9 with the journal while the store is
 * down, and SIGTERM under load. The store is a remote store on a second
 * state-cache process, memory only like a redis-server without persistence:
 * a restarted store is empty.
 */
let t: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];
const peers: TestStateCache[] = [];
beforeEach(() => { t = tempDir('faults-'); });
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const p of peers.splice(0)) await p.close();
  t.cleanup();
});

function config(storePort: number, journal: boolean): object {
  return {
    server: { port: 0 },
    http: { port: 0 },
    // The remote store writes unversioned here (the versioned path has its own tests in stores/remote-store.test.ts).
    stores: { chain: [{ store: { type: 'remote', name: 'peer', nodes: [{ host: '127.0.0.1', port: storePort }], versioning: 'none', commandTimeoutMs: 300, connectTimeoutMs: 300 } }] },
    persistence: {
      mode: 'write-behind',
      journal: { enabled: journal, dir: join(t.dir, 'journal') },
      writeBehind: { deadLetterPath: join(t.dir, 'dead-letter.jsonl'), flushIntervalMs: 20, retry: { attempts: 1000, baseDelayMs: 20, maxDelayMs: 200 } },
      shutdown: { flushDeadlineMs: 10_000 },
    },
  };
}

async function start(storePort: number, journal: boolean, name: string): Promise<RunningCache> {
  const cache = await startCache(t.dir, config(storePort, journal), name);
  children.push(cache.child);
  return cache;
}

async function storePeer(port: number): Promise<TestStateCache> {
  const r = await TestStateCache.start({}, port);
  peers.push(r);
  return r;
}

test('kill -9 while the store is down: every acknowledged write is back after the restart and reaches the store', async () => {
  const storePort = await freePort();
  const store = await storePeer(storePort);
  const cache = await start(storePort, true, 'first');
  const client = new Redis({ port: cache.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true });
  await client.connect();
  // The keys exist first (in memory and the store), so later writes need no load from the store.
  for (let w = 0; w < 16; w++) for (let i = 0; i < 50; i++) await client.set(`k${w}-${i}`, 'initial');
  await store.stop('SIGKILL'); // store outage: nothing can be flushed, everything waits in the journal
  const acked = new Map<string, string>();
  await Promise.all(Array.from({ length: 16 }, async (_, w) => {
    for (let i = 0; i < 150; i++) {
      const key = `k${w}-${i % 50}`;
      const value = `v${w}-${i}`;
      expect(await client.set(key, value)).toBe('OK');
      acked.set(key, value);
    }
  }));
  cache.child.kill('SIGKILL');
  expect(await cache.exited).toBe('SIGKILL');
  client.disconnect();

  const storeAgain = await storePeer(storePort);
  const second = await start(storePort, true, 'second');
  expect(second.logs.join('\n')).toMatch(/"replayed":(2[4-9]\d\d|3[0-2]\d\d)/); // 2400 writes + up to 800 initial ones not flushed yet
  const c2 = new Redis({ port: second.respPort, host: '127.0.0.1', lazyConnect: true });
  await c2.connect();
  for (const [key, value] of acked) expect(await c2.get(key)).toBe(value);
  c2.disconnect();
  // The replayed writes reach the store: a raw client sees every key.
  const raw = new Redis({ port: storePort, host: '127.0.0.1', lazyConnect: true });
  await raw.connect();
  for (let i = 0; i < 100 && (await raw.dbsize()) < acked.size; i++) await sleep(50);
  expect(await raw.dbsize()).toBe(acked.size);
  raw.disconnect();
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  await storeAgain.stop();
}, 120_000);

test('SIGTERM under load: every acknowledged write is in the store after a clean exit', async () => {
  const storePort = await freePort();
  const store = await storePeer(storePort);
  const cache = await start(storePort, false, 'first');
  const client = new Redis({ port: cache.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
  await client.connect();
  client.on('error', () => undefined);
  const acked = new Map<string, string>();
  let stop = false;
  const writers = Array.from({ length: 16 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const key = `k${w}-${i % 200}`;
      const value = `v${w}-${i}`;
      try {
        if ((await client.set(key, value)) === 'OK') acked.set(key, value);
      } catch {
        return; // the server is going away
      }
    }
  });
  await sleep(500);
  // A busy machine may need longer for a load worth the test (20 s at most).
  for (const patience = Date.now() + 20_000; acked.size <= 150 && Date.now() < patience;) await sleep(20);
  cache.child.kill('SIGTERM');
  const how = await cache.exited;
  if (how !== 0) throw new Error(`exit ${how}:\n${cache.logs.slice(-15).join('\n')}`);
  stop = true;
  await Promise.all(writers);
  client.disconnect();
  expect(acked.size).toBeGreaterThan(100);
  expect(cache.logs.join('\n')).not.toMatch(/not flushed/);

  // A fresh cache loads each key on miss from the store: it must be the last acknowledged value.
  const second = await start(storePort, false, 'second');
  const c2 = new Redis({ port: second.respPort, host: '127.0.0.1', lazyConnect: true });
  await c2.connect();
  const wrong: string[] = [];
  for (const [key, value] of acked) if ((await c2.get(key)) !== value) wrong.push(key);
  expect(wrong).toEqual([]);
  c2.disconnect();
  second.child.kill('SIGTERM');
  await second.exited;
  await store.stop();
}, 120_000);

import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { startCache, tempDir } from './harness';

/** Passivation with the real server: memory holds 100 entries, 1 000 are written, every one reads back. */
let t: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];
beforeEach(() => { t = tempDir('faults-passivation-'); });
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  t.cleanup();
});

test.each(['write-behind', 'write-through'])('%s: evicted entries are loaded back from the file store, none lost', async (mode) => {
  const cache = await startCache(t.dir, {
    server: { port: 0 },
    http: { port: 0 },
    memory: { maxEntries: 100 },
    stores: { chain: [{ store: { type: 'file', name: 'disk', directory: join(t.dir, 'level') } }] },
    persistence: {
      mode,
      passivation: { enabled: true },
      journal: { enabled: mode === 'write-behind', dir: join(t.dir, 'journal') },
      writeBehind: { deadLetterPath: join(t.dir, 'dead-letter.jsonl'), flushIntervalMs: 50 },
    },
  });
  children.push(cache.child);
  const client = new Redis({ port: cache.respPort, host: '127.0.0.1', lazyConnect: true });
  await client.connect();
  await Promise.all(Array.from({ length: 1000 }, (_, i) => client.set(`k${i}`, `v${i}`)));
  expect(await client.dbsize()).toBeLessThanOrEqual(100);
  const wrong: number[] = [];
  for (let i = 0; i < 1000; i++) if ((await client.get(`k${i}`)) !== `v${i}`) wrong.push(i);
  expect(wrong).toEqual([]);
  client.disconnect();
  cache.child.kill('SIGTERM');
  expect(await cache.exited).toBe(0);
}, 120_000);

import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { RunningCache, sleep, startCache, tempDir } from './harness';
import { TestPostgres } from '../stores/servers';

/**
 * A PostgreSQL outage under the real server: write-behind keeps acknowledging
 * (memory) and catches the store up when it returns; write-through refuses
 * writes with STOREUNAVAILABLE and keeps the old values.
 */
jest.setTimeout(180_000);

let pg: TestPostgres;
let t: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];
beforeAll(async () => { pg = await TestPostgres.start(); });
afterAll(async () => { await pg?.close(); });
beforeEach(() => { t = tempDir('faults-pg-'); });
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  t.cleanup();
});

function config(mode: 'write-behind' | 'write-through', table: string): object {
  return {
    server: { port: 0 },
    http: { port: 0 },
    stores: {
      chain: [{
        store: {
          type: 'postgres',
          name: 'pg',
          host: '127.0.0.1',
          port: pg.port,
          database: 'postgres',
          user: pg.user,
          password: { env: 'PG_PASSWORD' },
          tls: { mode: 'disable' },
          table,
          connectTimeoutMs: 500,
          statementTimeoutMs: 2000,
        },
      }],
    },
    persistence: {
      mode,
      writeBehind: { deadLetterPath: join(t.dir, 'dead-letter.jsonl'), flushIntervalMs: 20, retry: { attempts: 1000, baseDelayMs: 50, maxDelayMs: 500 } },
    },
  };
}

async function start(mode: 'write-behind' | 'write-through', table: string, name: string): Promise<RunningCache> {
  const cache = await startCache(t.dir, config(mode, table), name, { PG_PASSWORD: pg.password });
  children.push(cache.child);
  return cache;
}

async function metric(cache: RunningCache, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${cache.httpPort}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : NaN;
}

async function readyz(cache: RunningCache): Promise<number> {
  return (await fetch(`http://127.0.0.1:${cache.httpPort}/readyz`)).status;
}

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('write-behind: writes are acknowledged through the outage and reach PostgreSQL once it is back', async () => {
  const cache = await start('write-behind', 'wb_entries', 'wb');
  const client = new Redis({ port: cache.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  for (let i = 0; i < 200; i++) await client.set(`k${i}`, 'before');
  const pending = /state_cache_persistence_pending_writes\{store="pg"\} (\d+)/;
  await until(async () => (await metric(cache, pending)) === 0, 20_000, 'initial flush');

  await pg.stop();
  for (let i = 0; i < 200; i++) expect(await client.set(`k${i}`, `during-${i}`)).toBe('OK');
  expect(await client.get('k7')).toBe('during-7');
  await until(async () => (await readyz(cache)) === 503, 10_000, '/readyz to report the outage');
  expect(await metric(cache, pending)).toBe(200);
  expect(await metric(cache, /state_cache_persistence_store_errors_total\{store="pg",kind="unavailable"\} (\d+)/)).toBeGreaterThan(0);

  await pg.restart();
  await until(async () => (await metric(cache, pending)) === 0, 60_000, 'catch-up after the outage');
  await until(async () => (await readyz(cache)) === 200, 10_000, '/readyz back');
  client.disconnect();
  cache.child.kill('SIGTERM');
  expect(await cache.exited).toBe(0);

  // A fresh instance loads every key on miss from PostgreSQL.
  const second = await start('write-behind', 'wb_entries', 'wb-second');
  const c2 = new Redis({ port: second.respPort, host: '127.0.0.1', lazyConnect: true });
  await c2.connect();
  const wrong: string[] = [];
  for (let i = 0; i < 200; i++) if ((await c2.get(`k${i}`)) !== `during-${i}`) wrong.push(`k${i}`);
  expect(wrong).toEqual([]);
  c2.disconnect();
  second.child.kill('SIGTERM');
  await second.exited;
});

test('write-through: during the outage writes fail with STOREUNAVAILABLE and the old values stay', async () => {
  const cache = await start('write-through', 'wt_entries', 'wt');
  const client = new Redis({ port: cache.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  expect(await client.set('k', 'before')).toBe('OK');
  await pg.stop();
  try {
    await expect(client.set('k', 'during')).rejects.toThrow(/^STOREUNAVAILABLE store pg unavailable/);
    expect(await client.get('k')).toBe('before');
  } finally {
    await pg.restart();
  }
  await until(async () => {
    try { return (await client.set('k', 'after')) === 'OK'; } catch { return false; }
  }, 30_000, 'writes to succeed again');
  expect(await client.get('k')).toBe('after');
  client.disconnect();
  cache.child.kill('SIGTERM');
  expect(await cache.exited).toBe(0);
});

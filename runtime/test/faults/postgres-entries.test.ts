import { ChildProcess, execFile } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { MAIN, RunningCache, sleep, tempDir, startCache } from './harness';
import { metric, PENDING, pgClient, pgStore, PgCacheOptions, startPgCache, stopCache, tableContents, until } from './postgres';
import { TestPostgres } from '../stores/servers';

/**
 * Single entries against a real PostgreSQL: a value the table refuses goes to
 * the dead-letter file while the others land; an older batch never overwrites
 * a newer value; passivation with the store down loses nothing and keeps
 * memory within its bound.
 */
jest.setTimeout(180_000);

let pg: TestPostgres;
let t: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];
const clients: Redis[] = [];
beforeAll(async () => { pg = await TestPostgres.start(); });
afterAll(async () => { await pg?.close(); });
beforeEach(() => { t = tempDir('faults-pg-entries-'); });
afterEach(async () => {
  for (const c of clients.splice(0)) if (c.status !== 'end') c.disconnect();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  t.cleanup();
});

async function connect(cache: RunningCache): Promise<Redis> {
  const client = new Redis({ port: cache.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(client);
  await client.connect();
  return client;
}

async function start(o: Omit<PgCacheOptions, 'dir'>, name: string): Promise<{ cache: RunningCache; client: Redis }> {
  const cache = await startPgCache(pg, { dir: t.dir, ...o }, name);
  children.push(cache.child);
  return { cache, client: await connect(cache) };
}

async function sql(text: string): Promise<void> {
  const c = await pgClient(pg);
  try { await c.query(text); } finally { await c.end(); }
}

test('poison entry: a value the table refuses goes to the dead-letter file with an ERROR log and the metric; the others land; dead-letter replay applies it once its cause is fixed and skips stale letters', async () => {
  // The table exists before state-cache starts; the postgres store accepts it (right columns) with its CHECK.
  await sql('CREATE TABLE poison_entries (key bytea PRIMARY KEY, value bytea NOT NULL CHECK (octet_length(value) <= 100), version bigint NOT NULL, expires_at timestamptz NULL)');
  const { cache, client } = await start({ table: 'poison_entries', writeBehind: { batchSize: 20 } }, 'poison');
  const poison = 'p'.repeat(200);
  await Promise.all(Array.from({ length: 100 }, (_, i) => client.set(`k${i}`, i === 50 ? poison : `v${i}`)));
  await until(async () => (await metric(cache, PENDING)) === 0, 30_000, 'the queue to drain');

  const deadLetter = join(t.dir, 'dead-letter-poison_entries.jsonl');
  const lines = readFileSync(deadLetter, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ store: 'pg', op: 'set', key: Buffer.from('k50').toString('base64'), value: Buffer.from(poison).toString('base64'), expiresAt: 0 });
  expect(lines[0].error).toMatch(/violates check constraint "poison_entries_value_check"/);
  expect(lines[0].version).toBeGreaterThan(0);
  expect(Number.isNaN(Date.parse(lines[0].time))).toBe(false);
  const errorLog = cache.logs.map((l) => { try { return JSON.parse(l); } catch { return {}; } })
    .find((l) => l.level === 50 && /written to the dead-letter file/.test(l.msg));
  expect(errorLog).toMatchObject({ store: 'pg', entries: 1, file: deadLetter, keys: [Buffer.from('k50').toString('base64')] });
  expect(await metric(cache, /state_cache_persistence_dead_lettered_total\{store="pg"\} (\d+)/)).toBe(1);
  expect(await client.get('k50')).toBe(poison); // memory still has it

  const stored = await tableContents(pg, 'poison_entries');
  expect(stored.has('k50')).toBe(false);
  const wrong = Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 50 && stored.get(`k${i}`) !== `v${i}`);
  expect(wrong).toEqual([]);
  expect(stored.size).toBe(99);
  expect(await stopCache(cache)).toBe(0);

  // Replay: an older letter of a key PostgreSQL has newer is stale; the poison entry fails until its cause is fixed.
  const older = { time: new Date().toISOString(), store: 'pg', op: 'set', key: Buffer.from('k1').toString('base64'), value: Buffer.from('older').toString('base64'), version: 1, expiresAt: 0, attempts: 1, error: 'x' };
  appendFileSync(deadLetter, JSON.stringify(older) + '\n');
  // The server's config, with the patience of an operator's run rather than the fault tests' short timeouts.
  const config = JSON.parse(readFileSync(join(t.dir, 'poison.json'), 'utf8'));
  config.stores.chain[0].store = { ...config.stores.chain[0].store, connectTimeoutMs: 30_000, statementTimeoutMs: 30_000 };
  writeFileSync(join(t.dir, 'replay.json'), JSON.stringify(config));
  const replay = (...args: string[]) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    execFile(process.execPath, [MAIN, 'dead-letter', 'replay', '--config', join(t.dir, 'replay.json'), ...args], { env: { ...process.env, PG_PASSWORD: pg.password } },
      (error, stdout, stderr) => resolve({ code: error ? (error as { code?: number }).code ?? 1 : 0, out: stdout, err: stderr }));
  });
  expect(await replay('--dry-run')).toMatchObject({ code: 0, out: `${deadLetter}: 2 entries: 1 would apply, 1 stale (a newer version is stored), 0 failed; the file is left in place\n` });
  const refused = await replay();
  expect(refused.code).toBe(1);
  expect(refused.out).toMatch(/^line 1: set of key "k50" version \d+ to store pg failed: .*violates check constraint "poison_entries_value_check"/);
  expect(refused.out).toContain(`${deadLetter}: 2 entries: 0 applied, 1 stale (a newer version is stored), 1 failed; the file is left in place\n`);
  expect(existsSync(deadLetter)).toBe(true);
  await sql('ALTER TABLE poison_entries DROP CONSTRAINT poison_entries_value_check');
  const fixed = await replay();
  expect(fixed.out).toMatch(new RegExp(`^${deadLetter.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 2 entries: 1 applied, 1 stale \\(a newer version is stored\\), 0 failed; every entry accounted for, the file moved to .*\\.replayed-`));
  expect(fixed).toMatchObject({ code: 0 }); // on failure, shows what the replay said (err: its logs)
  expect(existsSync(deadLetter)).toBe(false);
  const after = await tableContents(pg, 'poison_entries');
  expect(after.get('k50')).toBe(poison);
  expect(after.get('k1')).toBe('v1');
});

test('versions: a slow batch of an older write cannot overwrite a newer value in a shared PostgreSQL table', async () => {
  // slow: write-behind that flushes 3 s after a write; fast: write-through on the same table.
  const slow = await start({ table: 'shared_entries', writeBehind: { flushIntervalMs: 3000, batchSize: 1000 } }, 'slow');
  const fast = await start({ table: 'shared_entries', mode: 'write-through' }, 'fast');
  expect(await slow.client.set('k', 'older')).toBe('OK');
  expect(await slow.client.set('only-slow', 'from-slow')).toBe('OK');
  await sleep(20);
  expect(await fast.client.set('k', 'newer')).toBe('OK'); // in PostgreSQL before the slow batch
  expect((await tableContents(pg, 'shared_entries')).get('k')).toBe('newer');
  expect(await metric(slow.cache, PENDING)).toBe(2); // the older batch is still to come

  await until(async () => (await metric(slow.cache, PENDING)) === 0, 30_000, 'the slow batch');
  expect(await metric(slow.cache, /state_cache_persistence_flush_batches_total\{store="pg",outcome="ok"\} (\d+)/)).toBeGreaterThanOrEqual(1);
  const stored = await tableContents(pg, 'shared_entries');
  expect(stored.get('only-slow')).toBe('from-slow'); // the slow batch did run
  expect(stored.get('k')).toBe('newer'); // and did not overwrite the newer value
  for (const s of [slow, fast]) expect(await stopCache(s.cache)).toBe(0);
});

test('passivation with the store down: writes that need room fail with OOM, memory stays within its bound, nothing is lost', async () => {
  const maxBytes = 40_000;
  const cache = await startCache(t.dir, {
    server: { port: 0 },
    http: { port: 0 },
    memory: { maxBytes, eviction: 'lru' },
    stores: { chain: [{ store: { type: 'custom', name: 'pg', module: join(__dirname, 'support', 'private-postgres.js'), options: pgStore(pg, 'passivated_entries') } }] },
    persistence: {
      mode: 'write-behind',
      passivation: { enabled: true },
      writeBehind: { deadLetterPath: join(t.dir, 'dead-letter.jsonl'), flushIntervalMs: 20, retry: { attempts: 1000, baseDelayMs: 50, maxDelayMs: 500 } },
    },
  }, 'passivation', { PG_PASSWORD: pg.password });
  children.push(cache.child);
  const client = await connect(cache);
  const small = (i: number) => `before-${i}`;
  const big = (i: number) => `during-${i}-${'x'.repeat(1000)}`;
  for (let i = 0; i < 100; i++) expect(await client.set(`k${i}`, small(i))).toBe('OK');
  await until(async () => (await metric(cache, PENDING)) === 0, 30_000, 'the seed writes to reach PostgreSQL');
  const bytesBound = await metric(cache, /^state_cache_max_bytes (\d+)/m);
  expect(bytesBound).toBe(maxBytes);

  await pg.stop();
  const acked = new Map<number, string>();
  const refused: string[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      try {
        expect(await client.set(`k${i}`, big(i))).toBe('OK');
        acked.set(i, big(i));
      } catch (err) {
        refused.push((err as Error).message);
      }
      expect(await metric(cache, /^state_cache_bytes (\d+)/m)).toBeLessThanOrEqual(maxBytes);
    }
    // Some writes fit (evicting entries PostgreSQL already has), then every entry left is one the store still owes: OOM.
    expect(acked.size).toBeGreaterThan(5);
    expect(refused.length).toBeGreaterThan(0);
    for (const m of refused) expect(m).toMatch(/^(OOM command not allowed|STOREUNAVAILABLE)/);
    expect(refused.some((m) => m.startsWith('OOM command not allowed'))).toBe(true);
  } finally {
    await pg.restart();
  }
  await until(async () => (await metric(cache, PENDING)) === 0, 60_000, 'the queue to drain after the outage');
  const wrong: number[] = [];
  for (let i = 0; i < 100; i++) if ((await client.get(`k${i}`)) !== (acked.get(i) ?? small(i))) wrong.push(i);
  expect(wrong).toEqual([]);
  expect(await stopCache(cache)).toBe(0);
  const stored = await tableContents(pg, 'passivated_entries');
  const wrongInStore = Array.from({ length: 100 }, (_, i) => i).filter((i) => stored.get(`k${i}`) !== (acked.get(i) ?? small(i)));
  expect(wrongInStore).toEqual([]);
  expect(existsSync(join(t.dir, 'dead-letter.jsonl'))).toBe(false);
});

import { ChildProcess } from 'node:child_process';
import Redis from 'ioredis';
import { RunningCache, sleep, tempDir } from './harness';
import { metric, PENDING, PgCacheOptions, startPgCache, stopCache, tableContents, until } from './postgres';
import { TestPostgres } from '../stores/servers';

/**
 * A 30 s PostgreSQL outage under write load, against the real server:
 * write-behind keeps acknowledging while its queue has room and catches
 * PostgreSQL up when it returns; a full queue either makes writes wait
 * (`block`) or refuses them with QUEUEFULL (`reject`), never drops one.
 * write-through refuses writes with STOREUNAVAILABLE and keeps the old values.
 */
jest.setTimeout(240_000);

const OUTAGE_MS = 30_000;
const KEYS = 200;

let pg: TestPostgres;
let t: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];
const clients: Redis[] = [];
beforeAll(async () => { pg = await TestPostgres.start(); });
afterAll(async () => { await pg?.close(); });
beforeEach(() => { t = tempDir('faults-pg-'); });
afterEach(async () => {
  for (const c of clients.splice(0)) if (c.status !== 'end') c.disconnect();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  t.cleanup();
});

async function start(o: Omit<PgCacheOptions, 'dir'>, name: string): Promise<{ cache: RunningCache; client: Redis }> {
  const cache = await startPgCache(pg, { dir: t.dir, ...o }, name);
  children.push(cache.child);
  const client = new Redis({ port: cache.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(client);
  await client.connect();
  return { cache, client };
}

const readyz = async (cache: RunningCache): Promise<number> => (await fetch(`http://127.0.0.1:${cache.httpPort}/readyz`)).status;

/** The keys exist first (in memory and PostgreSQL), so writes during the outage need no load from the store. */
async function seed(cache: RunningCache, client: Redis): Promise<void> {
  for (let i = 0; i < KEYS; i++) {
    await client.set(`k${i}`, 'before');
    // Below the smallest queue bound (50): a slow flush (a loaded machine) must not refuse a seed write.
    if (i % 40 === 39) await until(async () => (await metric(cache, PENDING)) === 0, 30_000, 'the seed writes to reach PostgreSQL');
  }
  await until(async () => (await metric(cache, PENDING)) === 0, 30_000, 'the seed writes to reach PostgreSQL');
}

const settle = <T>(p: Promise<T>) => p.then((value) => ({ ok: true as const, value }), (error: Error) => ({ ok: false as const, error }));

test('30 s outage under load: no acknowledged write lost, the queues drain, a full queue blocks or refuses with QUEUEFULL', async () => {
  const small = { batchSize: 10, maxPendingEntries: 50 };
  const open = await start({ table: 'outage_open' }, 'open');
  const reject = await start({ table: 'outage_reject', writeBehind: { ...small, whenFull: 'reject' } }, 'reject');
  const block = await start({ table: 'outage_block', writeBehind: { ...small, whenFull: 'block', blockTimeoutMs: 120_000 } }, 'block');
  const timeout = await start({ table: 'outage_timeout', writeBehind: { ...small, whenFull: 'block', blockTimeoutMs: 1000 } }, 'timeout');
  for (const s of [open, reject, block, timeout]) await seed(s.cache, s.client);

  await pg.stop();
  const outageStart = Date.now();

  // Unbounded enough: 4 writers keep writing their own keys for the whole outage; every write is acknowledged.
  const acked = new Map<string, string>();
  const errors: string[] = [];
  const load = Promise.all(Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; Date.now() - outageStart < OUTAGE_MS - 2000; i++) {
      const key = `k${w * 50 + (i % 50)}`;
      const value = `during-${w}-${i}`;
      try {
        expect(await open.client.set(key, value)).toBe('OK');
        acked.set(key, value);
      } catch (err) {
        errors.push((err as Error).message);
        return;
      }
      if (i % 20 === 19) await sleep(5); // leave CPU to the other servers of the test
    }
  }));

  // reject: once 50 keys wait, further keys are refused at once with QUEUEFULL and keep their old value.
  const rejectReplies: Array<{ key: string; ok: boolean; message?: string }> = [];
  for (let i = 0; i < KEYS; i++) {
    const r = await settle(reject.client.set(`k${i}`, `during-${i}`));
    rejectReplies.push({ key: `k${i}`, ok: r.ok, message: r.ok ? undefined : r.error.message });
  }
  const accepted = rejectReplies.filter((r) => r.ok);
  const refused = rejectReplies.filter((r) => !r.ok);
  expect(accepted.length).toBeGreaterThan(0);
  expect(accepted.length).toBeLessThanOrEqual(50);
  expect(refused.length).toBe(KEYS - accepted.length);
  expect(new Set(refused.map((r) => r.message))).toEqual(new Set([
    'QUEUEFULL write-behind queue full (50 entries / 67108864 bytes): the stores are behind; retry later',
  ]));
  for (const r of refused) expect(await reject.client.get(r.key)).toBe('before');
  expect(await metric(reject.cache, /state_cache_persistence_queue_full_total\{policy="reject"\} (\d+)/)).toBe(refused.length);

  // block with a short timeout: the write waits, then fails with the timeout's own QUEUEFULL text.
  const timeoutReplies = await Promise.all(Array.from({ length: 60 }, (_, i) => settle(timeout.client.set(`k${i}`, `during-${i}`))));
  const timedOut = timeoutReplies.filter((r) => !r.ok);
  expect(timedOut.length).toBeGreaterThanOrEqual(10);
  for (const r of timedOut) {
    expect(r.ok ? '' : r.error.message).toBe('QUEUEFULL write-behind queue full (50 entries / 67108864 bytes): no room within 1000 ms; the stores are behind, retry later');
  }
  const timeoutAcked = timeoutReplies.flatMap((r, i) => (r.ok ? [`k${i}`] : []));

  // block with a long timeout: writes past the bound wait (backpressure) for the whole outage.
  const blocked = Array.from({ length: 100 }, (_, i) => settle(block.client.set(`k${i}`, `during-${i}`)));
  let answered = 0;
  for (const p of blocked) void p.then(() => { answered++; });

  await until(async () => (await readyz(open.cache)) === 503, 10_000, '/readyz to report the outage');
  expect(await metric(open.cache, /state_cache_persistence_store_errors_total\{store="pg",kind="unavailable"\} (\d+)/)).toBeGreaterThan(0);
  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStart)));
  expect(answered).toBeLessThanOrEqual(50); // the rest are still waiting for room
  expect(await metric(block.cache, PENDING)).toBe(50);
  await load;
  expect(errors).toEqual([]);
  expect(acked.size).toBe(KEYS);
  expect(await metric(open.cache, PENDING)).toBe(KEYS);

  await pg.restart();
  const blockedReplies = await Promise.all(blocked);
  expect(blockedReplies.filter((r) => !r.ok)).toEqual([]);
  for (const [name, s] of Object.entries({ open, reject, block, timeout })) {
    await until(async () => (await metric(s.cache, PENDING)) === 0, 60_000, `the ${name} cache to catch up after the outage`);
  }
  await until(async () => (await readyz(open.cache)) === 200, 10_000, '/readyz back');
  for (const s of [open, reject, block, timeout]) expect(await stopCache(s.cache)).toBe(0);

  // PostgreSQL has every acknowledged write, and the old value of every refused one.
  const expectTable = async (table: string, want: (key: string) => string) => {
    const stored = await tableContents(pg, table);
    const wrong = Array.from({ length: KEYS }, (_, i) => `k${i}`).filter((k) => stored.get(k) !== want(k));
    expect({ table, wrong }).toEqual({ table, wrong: [] });
  };
  await expectTable('outage_open', (k) => acked.get(k)!);
  const acceptedKeys = new Set(accepted.map((r) => r.key));
  await expectTable('outage_reject', (k) => (acceptedKeys.has(k) ? `during-${k.slice(1)}` : 'before'));
  await expectTable('outage_block', (k) => (Number(k.slice(1)) < 100 ? `during-${k.slice(1)}` : 'before'));
  const timeoutKeys = new Set(timeoutAcked);
  await expectTable('outage_timeout', (k) => (timeoutKeys.has(k) ? `during-${k.slice(1)}` : 'before'));
});

test('write-through: during the outage writes fail with STOREUNAVAILABLE and the old values stay', async () => {
  const { cache, client } = await start({ table: 'wt_entries', mode: 'write-through' }, 'wt');
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
  expect(await stopCache(cache)).toBe(0);
  expect((await tableContents(pg, 'wt_entries')).get('k')).toBe('after');
});

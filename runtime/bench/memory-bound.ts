/**
 * The memory bound under churn (issue 11): for each byte budget, redis-server
 * with `maxmemory` and state-cache with `memory.maxBytes` each take writes
 * until at least 5x the budget has been written over a key space 10x what
 * fits, so both evict all the time; then peak RSS (VmHWM) against the
 * container limit the constructs derive for that budget, and the keys each
 * holds. One run with 100-byte values per budget (redis-benchmark, as in the
 * issue), and one with log-uniform 10 B - 64 KiB values (Node's churn driver).
 */
import { spawn } from 'node:child_process';
import { churn, cpuSeconds, derivedLimit, logUniform, procStatusBytes } from './churn';
import { BenchContext, fmtInt, fmtMiB, fmtRatio, table } from './report';
import { BenchServer, RedisServer, StateCacheServer } from './servers';

/** Redis's used_memory per 100-byte entry with a 16-byte key, to size the key space (10x what fits). */
const REDIS_ENTRY_BYTES = 200;

interface Run {
  readonly server: string;
  readonly budget: number;
  readonly values: string;
  readonly sets: number;
  readonly written: number;
  readonly seconds: number;
  readonly peak: number;
  readonly rss: number;
  readonly used: number;
  readonly keys: number;
  readonly cpuPerSet: number;
}

function redisBenchmark(port: number, requests: number, keySpace: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-t', 'set', '-n', String(requests), '-c', '50', '-P', '16', '-d', '100', '-r', String(keySpace), '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-benchmark exit ${code}: ${err}`))));
  });
}

async function measure(server: BenchServer, budget: number, mixed: boolean, log: (line: string) => void): Promise<Run> {
  await server.start();
  try {
    const cpu0 = cpuSeconds(server.pid);
    const started = Date.now();
    let sets: number;
    let written: number;
    if (mixed) {
      const r = await churn({
        port: server.port,
        clients: 50,
        pipeline: 16,
        keySpace: Math.ceil((10 * budget) / 4096),
        valueBytes: logUniform(10, 64 * 1024),
        bytes: 5 * budget,
        deadline: Date.now() + 15 * 60_000,
      });
      if (r.errors > 0) throw new Error(`${server.name}: ${r.errors} SETs failed: ${r.firstError}`);
      sets = r.sets;
      written = r.bytes;
    } else {
      // 116 bytes of key and value per SET: at least 5x the budget written.
      sets = Math.ceil((5 * budget) / 116);
      await redisBenchmark(server.port, sets, Math.ceil((10 * budget) / REDIS_ENTRY_BYTES));
      written = sets * 116;
    }
    const seconds = (Date.now() - started) / 1000;
    const cpu = cpuSeconds(server.pid) - cpu0;
    const used = Number((await server.info('memory')).get('used_memory'));
    const client = server.client();
    const keys = await client.dbsize();
    client.disconnect();
    const run: Run = {
      server: server.name,
      budget,
      values: mixed ? '10 B - 64 KiB' : '100 B',
      sets,
      written,
      seconds,
      peak: procStatusBytes(server.pid, 'VmHWM'),
      rss: procStatusBytes(server.pid, 'VmRSS'),
      used,
      keys,
      cpuPerSet: cpu / sets,
    };
    log(`memory-bound: ${run.server} ${fmtMiB(budget)} ${run.values}: ${fmtInt(sets)} SETs in ${seconds.toFixed(0)} s, peak RSS ${fmtMiB(run.peak)} (limit ${fmtMiB(derivedLimit(budget))}), ${fmtInt(keys)} keys, used_memory ${fmtMiB(used)}`);
    return run;
  } finally {
    await server.stop();
  }
}

export async function memoryBoundSection(ctx: BenchContext): Promise<string> {
  const runs: Run[] = [];
  const plan: Array<[number, boolean]> = [
    ...ctx.options.budgets.map((b): [number, boolean] => [b, false]),
    ...ctx.options.mixedBudgets.map((b): [number, boolean] => [b, true]),
  ];
  // BENCH_MEMORY_BOUND_SERVERS=state-cache skips redis-server (to repeat a long state-cache run only).
  const only = process.env.BENCH_MEMORY_BOUND_SERVERS;
  for (const [budget, mixed] of plan) {
    for (const server of [await RedisServer.create(budget), await StateCacheServer.create(ctx.options.main, budget)]) {
      if (only !== undefined && !only.split(',').includes(server.name)) continue;
      runs.push(await measure(server, budget, mixed, ctx.log));
    }
  }
  const rows: string[][] = [];
  for (const [budget, mixed] of plan) {
    const values = mixed ? '10 B - 64 KiB' : '100 B';
    const [redis, cache] = [runs.find((r) => r.server === 'redis' && r.budget === budget && r.values === values), runs.find((r) => r.server === 'state-cache' && r.budget === budget && r.values === values)];
    const limit = derivedLimit(budget);
    const target = cache && ctx.target({ section: 'memory-bound', name: `peak RSS / derived limit, ${fmtMiB(budget)}, ${values}`, ratio: cache.peak / limit, limit: 1, better: 'lower' });
    for (const r of [redis, cache]) {
      if (r === undefined) continue;
      rows.push([
        fmtMiB(budget), values, r.server, `${fmtInt(r.sets)} (${fmtMiB(r.written)})`, `${r.seconds.toFixed(0)} s`,
        fmtMiB(r.peak), fmtMiB(r.rss), r === cache && target ? `${fmtMiB(limit)} ${target.pass ? 'PASS' : 'MISS'}` : fmtMiB(limit),
        fmtMiB(r.used), fmtInt(r.keys), r === cache && redis ? fmtRatio(cache.keys / redis.keys) : '', `${(r.cpuPerSet * 1e6).toFixed(2)} µs`,
      ]);
    }
  }
  return [
    '## Memory bound under write churn',
    '',
    'Each server in turn gets SETs from 50 clients with 16-command pipelines until at least 5× the budget was written, over a key space 10× what fits, so it evicts all the time: 100-byte values with `redis-benchmark -t set -c 50 -P 16 -d 100 -r KEYS`, and log-uniform 10 B – 64 KiB values with the Node churn driver (`runtime/bench/churn.ts`). redis-server runs with `maxmemory BUDGET` and `allkeys-lru`; state-cache with `memory.maxBytes: BUDGET`, `eviction: lru` and the image\'s environment (`NODE_OPTIONS`, `MALLOC_ARENA_MAX`). Peak RSS is `VmHWM` from `/proc/PID/status` over the server\'s life; the limit is the container memory limit the constructs derive for the budget (1.25 × budget + 128 MiB); CPU per SET is the server\'s user + system time over the SETs sent.',
    '',
    table(['budget', 'values', 'server', 'SETs (written)', 'time', 'peak RSS', 'RSS at end', 'derived limit', 'used_memory', 'keys held', 'keys / Redis', 'server CPU per SET'], rows),
  ].join('\n');
}

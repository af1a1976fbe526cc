/**
 * npm run bench:cache -- [--rounds N] [--requests N] [--keys N] [--quick] [--sections a,b] [--out FILE]
 *
 * Compares state-cache with redis-server on this machine, in the same run, and
 * writes docs/benchmarks.md: machine and load at the top, then one part per
 * section, then PASS/MISS per target. Both servers listen on free loopback
 * ports and are stopped at the end (also on failure or Ctrl-C).
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { memorySection } from './memory';
import { memoryBoundSection } from './memory-bound';
import { coherenceSection, preloadSection, writeBehindSection, writeThroughSection } from './persistence';
import { BenchContext, BenchOptions, describeTarget, fmtRatio, passMiss, recordedThroughput, Section, table, TargetResult } from './report';
import { scriptsPubsubSection } from './scripts-pubsub';
import { ensureRuntimeBuilt, killAll, MAIN_JS, redisVersion, REPO_ROOT, requireRedisTools } from './servers';
import { throughputSection } from './throughput';
import { tlsSection } from './tls';
import { typesSection } from './types';

/** Every section, in report order. Add a section here. */
const SECTIONS: Record<string, Section> = {
  'throughput': throughputSection,
  'tls': tlsSection,
  'types': typesSection,
  'memory': memorySection,
  'memory-bound': memoryBoundSection,
  'write-behind': writeBehindSection,
  'write-through': writeThroughSection,
  'preload': preloadSection,
  'coherence': coherenceSection,
  'scripts-pubsub': scriptsPubsubSection,
};

const USAGE = `usage: npm run bench:cache -- [options]
  --rounds N        alternating throughput rounds (default 3, at least 1)
  --requests N      requests per unpipelined run (default 100000; pipelined runs use 5x)
  --keys N          keys loaded for the memory section (default 1000000)
  --quick           the regression check (under 2 minutes): the throughput section only, 1 round,
                    20000 requests; prints the ratios, writes no report (unless --out is given) and
                    fails when a throughput ratio is below 0.8x the one recorded in docs/benchmarks.md
  --info            report a regression but exit 0 (CI: the machine is shared and noisy)
  --sections LIST   comma-separated, from: ${Object.keys(SECTIONS).join(', ')} (default all)
  --budgets LIST    MiB budgets of the memory-bound section's 100-byte runs (default 64,384,1024; --quick 64)
  --mixed LIST      MiB budgets of its 10 B - 64 KiB runs (default 64; --quick none; 'none' for none)
  --out FILE        where the report goes (default docs/benchmarks.md)
  --main FILE       the state-cache entry point (default runtime/lib/main.js, compiled first when missing)
  --note TEXT       a line for the report header (what was measured, what else ran)`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number of at least 1, got '${value}'`);
  return n;
}

class UsageError extends Error {}

/** A comma-separated list of MiB budgets, in bytes ('none' for an empty list). */
function mibList(name: string, value: string | undefined, fallback: number[]): number[] {
  const mib = value === undefined ? fallback : value === 'none' ? [] : value.split(',').map((v) => positiveInt(name, v.trim(), 0));
  return mib.map((m) => m * 1024 * 1024);
}

interface Parsed {
  options: BenchOptions;
  sections: string[];
  /** Where the report goes; undefined: nowhere (--quick). */
  out: string | undefined;
  note?: string;
  /** Compare throughput ratios with the recorded ones (--quick). */
  check: boolean;
  info: boolean;
}

function parseOptions(argv: string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        rounds: { type: 'string' },
        requests: { type: 'string' },
        keys: { type: 'string' },
        budgets: { type: 'string' },
        mixed: { type: 'string' },
        quick: { type: 'boolean', default: false },
        info: { type: 'boolean', default: false },
        sections: { type: 'string' },
        out: { type: 'string' },
        main: { type: 'string' },
        note: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick === true;
  const requests = positiveInt('requests', values.requests, quick ? 20_000 : 100_000);
  const options: BenchOptions = {
    rounds: positiveInt('rounds', values.rounds, quick ? 1 : 3),
    requests,
    pipelinedRequests: requests * 5,
    keys: positiveInt('keys', values.keys, quick ? 100_000 : 1_000_000),
    valueBytes: 100,
    clients: 50,
    pipeline: 16,
    keyspace: 100_000,
    budgets: mibList('budgets', values.budgets, quick ? [64] : [64, 384, 1024]),
    mixedBudgets: mibList('mixed', values.mixed, quick ? [] : [64]),
    streamIo: !quick,
    persisted: !quick,
    main: values.main === undefined ? MAIN_JS : resolve(values.main),
  };
  const sections = values.sections === undefined ? (quick ? ['throughput'] : Object.keys(SECTIONS)) : values.sections.split(',').map((s) => s.trim());
  const unknown = sections.filter((s) => !(s in SECTIONS));
  if (unknown.length > 0 || sections.length === 0) {
    throw new UsageError(`unknown section '${unknown.join(', ')}': choose from ${Object.keys(SECTIONS).join(', ')}`);
  }
  const out = values.out === undefined ? (quick ? undefined : RECORDED) : (isAbsolute(values.out) ? values.out : join(process.cwd(), values.out));
  return { options, sections, out, note: values.note, check: quick, info: values.info === true };
}

function cpuModel(): string {
  const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return match?.[1] ?? cpus()[0]?.model ?? 'unknown';
}

function gitCommit(): string {
  try {
    const git = (args: string) => execSync(`git ${args}`, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status --porcelain --untracked-files=no -- runtime/src runtime/package-lock.json') !== '';
    return `${git('rev-parse --short HEAD')}${dirty ? ' (runtime/src with uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** The report with the recorded figures (and the default output). */
const RECORDED = join(REPO_ROOT, 'docs', 'benchmarks.md');
/** A throughput ratio below this share of the recorded one is a regression. */
const REGRESSION = 0.8;

/** Lines comparing the measured throughput ratios with the recorded ones; `failed` when one is below REGRESSION of it. */
function regressionCheck(results: readonly TargetResult[]): { lines: string[]; failed: boolean } {
  const recorded = existsSync(RECORDED) ? recordedThroughput(readFileSync(RECORDED, 'utf8')) : new Map<string, number>();
  const lines: string[] = [];
  let failed = false;
  for (const r of results) {
    if (r.section !== 'throughput' || !r.name.endsWith(' throughput')) continue;
    const was = recorded.get(r.name);
    if (was === undefined) {
      lines.push(`NO RECORD ${r.name} ${fmtRatio(r.ratio)}: docs/benchmarks.md records no ratio for it`);
      continue;
    }
    const low = r.ratio < REGRESSION * was;
    failed ||= low;
    lines.push(`${low ? 'REGRESSION' : 'OK'} ${r.name} ${fmtRatio(r.ratio)} (recorded ${fmtRatio(was)}, floor ${fmtRatio(REGRESSION * was)})`);
  }
  return { lines, failed };
}

const fmtLoad = (load: number[]) => load.map((l) => l.toFixed(2)).join(' / ');

async function main(): Promise<void> {
  const { options, sections, out, note, check, info } = parseOptions(process.argv.slice(2));
  const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} [bench] ${line}`);
  requireRedisTools();
  if (options.main === MAIN_JS) ensureRuntimeBuilt(log);
  else if (!existsSync(options.main)) throw new UsageError(`--main ${options.main} does not exist`);

  const results: TargetResult[] = [];
  const ctx: BenchContext = {
    options,
    log,
    target(target) {
      const pass = target.better === 'higher' ? target.ratio >= target.limit : target.ratio <= target.limit;
      const result = { ...target, pass };
      results.push(result);
      return result;
    },
  };

  const startedAt = new Date();
  const loadBefore = loadavg();
  const parts: string[] = [];
  for (const name of sections) {
    log(`section ${name}`);
    parts.push(await SECTIONS[name](ctx));
  }
  const loadAfter = loadavg();
  const seconds = (Date.now() - startedAt.getTime()) / 1000;

  const header = [
    '# state-cache benchmarks',
    '',
    'state-cache against redis-server on the same machine, in the same run, alternating; the ratio (state-cache / Redis) is what to compare across machines, not the absolute figures. Regenerate with `npm run bench:cache` (options: `npm run bench:cache -- --help`).',
    '',
    `- date: ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}, commit ${gitCommit()}, ${seconds.toFixed(0)} s`,
    `- machine: ${availableParallelism()} CPUs (nproc), ${cpuModel()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; client and servers share the CPUs`,
    `- versions: node ${process.versions.node}, redis-server ${redisVersion()}; state-cache runs as \`node ${relative(REPO_ROOT, options.main)} serve --config FILE\``,
    `- load average (1 / 5 / 15 min): ${fmtLoad(loadBefore)} before, ${fmtLoad(loadAfter)} after (anything else running on the machine competes with both servers alike)`,
    ...(note ? [`- note: ${note}`] : []),
    `- parameters: ${options.rounds} round(s), ${options.requests} requests unpipelined / ${options.pipelinedRequests} pipelined (-P ${options.pipeline}), ${options.clients} clients, ${options.valueBytes}-byte values, ${options.keys} keys for memory; sections: ${sections.join(', ')}`,
    '',
    '## Targets',
    '',
    table(['section', 'target', 'state-cache / Redis', 'goal', 'result'],
      results.map((r) => [r.section, r.name, fmtRatio(r.ratio), describeTarget(r), passMiss(r)])),
  ];
  if (out !== undefined) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${[header.join('\n'), ...parts].join('\n\n')}\n`);
  }

  log(`load average (1 / 5 / 15 min): ${fmtLoad(loadBefore)} before, ${fmtLoad(loadAfter)} after`);
  for (const r of results) console.log(`${passMiss(r)} ${r.section}: ${r.name} ${fmtRatio(r.ratio)} (goal ${describeTarget(r)})`);
  if (out !== undefined) log(`wrote ${relative(process.cwd(), out) || out} in ${seconds.toFixed(0)} s`);
  else log(`done in ${seconds.toFixed(0)} s (no report written: --quick; add --out FILE for one)`);
  if (check) {
    const { lines, failed } = regressionCheck(results);
    for (const line of lines) console.log(line);
    if (failed) {
      console.log(`throughput below ${REGRESSION}x of the recorded figures${info ? ' (--info: reported, not failed)' : ''}`);
      if (!info) process.exitCode = 1;
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.once('exit', killAll);

main().catch((error: unknown) => {
  killAll();
  if (error instanceof UsageError) console.error(`${error.message}\n${USAGE}`);
  else console.error(`bench:cache failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

import { spawn } from 'node:child_process';

/** One row of `redis-benchmark --csv`. */
export interface BenchmarkRow {
  readonly test: string;
  readonly rps: number;
  readonly avgMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface BenchmarkRun {
  readonly port: number;
  readonly tests: string;
  readonly clients: number;
  readonly requests: number;
  readonly dataSize: number;
  readonly keyspace: number;
  readonly pipeline: number;
  /** A command to run instead of `tests` (e.g. HGET myhash element:__rand_int__); its row is named after it. */
  readonly command?: readonly string[];
}

/** The command line, also printed in the report so anyone can rerun it. */
export function benchmarkArgs(run: BenchmarkRun): string[] {
  return [
    '-h', '127.0.0.1', '-p', String(run.port),
    ...(run.command === undefined ? ['-t', run.tests] : []), '-c', String(run.clients), '-n', String(run.requests),
    '-d', String(run.dataSize), '-r', String(run.keyspace), '-P', String(run.pipeline),
    // CSV only: the progress display alone costs the client enough CPU to skew what it measures.
    '--csv',
    ...(run.command ?? []),
  ];
}

/** Parses redis-benchmark's CSV: a header line, then one quoted row per test. */
export function parseCsv(text: string): BenchmarkRow[] {
  const lines = text.split(/\r?\n/).filter((line) => line.startsWith('"'));
  if (lines.length < 2) throw new Error(`redis-benchmark printed no CSV rows:\n${text}`);
  const cells = (line: string) => line.split(',').map((cell) => cell.replace(/^"|"$/g, ''));
  const header = cells(lines[0]);
  const column = (name: string) => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`redis-benchmark CSV has no '${name}' column: ${lines[0]}`);
    return index;
  };
  const [test, rps, avg, p50, p99, max] = ['test', 'rps', 'avg_latency_ms', 'p50_latency_ms', 'p99_latency_ms', 'max_latency_ms'].map(column);
  return lines.slice(1).map((line) => {
    const row = cells(line);
    const number = (index: number) => {
      const value = Number(row[index]);
      if (!Number.isFinite(value)) throw new Error(`redis-benchmark CSV has a non-number '${row[index]}' in: ${line}`);
      return value;
    };
    return { test: row[test], rps: number(rps), avgMs: number(avg), p50Ms: number(p50), p99Ms: number(p99), maxMs: number(max) };
  });
}

/** What redis-benchmark prints when it cannot reach the server; it then retries forever, spinning. */
const UNREACHABLE = /Could not connect to Redis|Connection refused|Server closed the connection/;

/** Runs redis-benchmark once; fails on a non-zero exit, an unreachable server, a timeout or missing rows. */
export function runBenchmark(run: BenchmarkRun, timeoutMs = 300_000): Promise<BenchmarkRow[]> {
  return new Promise((resolve, reject) => {
    const args = benchmarkArgs(run);
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let problem: string | undefined;
    const abort = (reason: string) => {
      problem ??= reason;
      child.kill('SIGKILL');
    };
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // Complete lines only, so the error shows the whole message.
      if (UNREACHABLE.test(stderr.slice(0, stderr.lastIndexOf('\n') + 1))) abort('cannot reach the server');
    });
    const timer = setTimeout(() => abort(`did not finish within ${timeoutMs / 1000} s`), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const output = `${stderr}${stdout}`.trim();
      if (problem !== undefined) {
        reject(new Error(`redis-benchmark ${args.join(' ')} ${problem}:\n${output}`));
        return;
      }
      if (code !== 0) {
        reject(new Error(`redis-benchmark ${args.join(' ')} failed (exit ${code}, signal ${signal}):\n${output}`));
        return;
      }
      try {
        const rows = parseCsv(stdout);
        const expected = run.command === undefined ? run.tests.split(',').map((t) => t.toUpperCase()) : [run.command[0].toUpperCase()];
        const missing = expected.filter((t) => !rows.some((row) => row.test.toUpperCase().startsWith(t)));
        if (missing.length > 0) throw new Error(`redis-benchmark gave no result for ${missing.join(', ')}:\n${output}`);
        resolve(rows);
      } catch (error) {
        reject(error);
      }
    });
  });
}

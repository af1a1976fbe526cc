/** What every benchmark section gets and gives back. */

export interface BenchOptions {
  /** Rounds of the alternating throughput runs. */
  readonly rounds: number;
  /** Requests per unpipelined redis-benchmark run. */
  readonly requests: number;
  /** Requests per pipelined run (more: each one is cheaper). */
  readonly pipelinedRequests: number;
  /** Keys loaded for the memory measurement. */
  readonly keys: number;
  /** Value size in bytes, for throughput and memory alike. */
  readonly valueBytes: number;
  /** Concurrent benchmark clients. */
  readonly clients: number;
  /** Commands per pipeline in the pipelined runs. */
  readonly pipeline: number;
  /** Byte budgets (bytes) of the memory-bound section's 100-byte runs. */
  readonly budgets: readonly number[];
  /** Byte budgets (bytes) of its mixed-size (10 B - 64 KiB) runs. */
  readonly mixedBudgets: readonly number[];
  /** Distinct keys the throughput runs touch (redis-benchmark -r). */
  readonly keyspace: number;
  /** Also measure state-cache with `server.socketIo: stream` (the public net.Socket path) in the throughput section. */
  readonly streamIo: boolean;
  /** Also measure state-cache with write-behind and with write-through to PostgreSQL in the throughput section (issue 11 item 6). */
  readonly persisted: boolean;
  /** The state-cache entry point run as `node MAIN serve --config FILE`. */
  readonly main: string;
}

/** A goal state-cache has against Redis, measured in the same run. */
export interface Target {
  readonly section: string;
  readonly name: string;
  readonly ratio: number;
  /** The ratio must be at least (higher is better) or at most (lower is better) this. */
  readonly limit: number;
  readonly better: 'higher' | 'lower';
}

export interface TargetResult extends Target {
  readonly pass: boolean;
}

export interface BenchContext {
  readonly options: BenchOptions;
  log(line: string): void;
  /** Records a target and returns whether it passed. */
  target(target: Target): TargetResult;
}

/**
 * A section of docs/benchmarks.md: runs its measurements and returns its
 * markdown (starting with a `##` heading). More sections (write-behind to
 * PostgreSQL, write-through group commit, preload) are more such functions.
 */
export type Section = (ctx: BenchContext) => Promise<string>;

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
export const fmtMs = (n: number) => n.toFixed(3);
export const fmtRatio = (n: number) => `${n.toFixed(2)}×`;
export const fmtMiB = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** Microseconds with two decimals (CPU per request). */
export const fmtUs = (n: number): string => n.toFixed(2);

export function passMiss(result: TargetResult): string {
  return result.pass ? 'PASS' : 'MISS';
}

export function describeTarget(target: Target): string {
  return `${target.better === 'higher' ? '≥' : '≤'} ${target.limit}×`;
}

/** A markdown table from a header row and data rows. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The recorded throughput ratios: the Targets table's `| throughput | SET unpipelined throughput | 0.73× |` rows. */
export function recordedThroughput(markdown: string): Map<string, number> {
  const recorded = new Map<string, number>();
  for (const match of markdown.matchAll(/^\| throughput \| ((?:SET|GET) (?:unpipelined|pipelined) throughput) \| ([0-9.]+)× \|/gm)) {
    recorded.set(match[1], Number(match[2]));
  }
  return recorded;
}

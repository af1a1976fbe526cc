import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

/*
 * The library's monitoring objects (alerts, dashboard) take every metric name
 * from src/_state-cache-metrics.ts. Required by path, not imported: it lies
 * outside the runtime's rootDir (jest compiles it all the same).
 */
interface MetricNames {
  readonly STATE_CACHE_METRICS: Readonly<Record<string, string>>;
  readonly PROMETHEUS_METRICS: Readonly<Record<string, string>>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { STATE_CACHE_METRICS, PROMETHEUS_METRICS }: MetricNames = require(join(__dirname, '..', '..', 'src', '_state-cache-metrics'));

/*
 * Every metric name the cdk8s-state alerts and Grafana dashboard use exists
 * in a running state-cache's /metrics: the real CLI (`node lib/main.js
 * serve`), write-behind with a journal to a file store it preloads from, so
 * the persistence metrics are there too, after traffic that makes the
 * labelled series appear (flushes, a hit, a miss, an OOM refusal).
 */
const MAIN = join(__dirname, '..', 'lib', 'main.js');
const maybe = existsSync(MAIN) ? test : test.skip;
if (!existsSync(MAIN)) console.warn(`skipping the monitoring metrics test: ${MAIN} is missing; run npx projen compile first`);

/** Sample names and the `# TYPE` families of a Prometheus text exposition. */
function parseExposition(text: string): { samples: Map<string, string[]>; families: Map<string, string> } {
  const samples = new Map<string, string[]>();
  const families = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1], type[2]);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (sample) samples.set(sample[1], [...(samples.get(sample[1]) ?? []), `${sample[2] ?? ''} ${sample[3]}`]);
  }
  return { samples, families };
}

/** How a name is exported: as series, or as a declared family that has no series yet (a labelled counter nothing has counted). */
function exportedAs(name: string, e: ReturnType<typeof parseExposition>): 'series' | 'family' | undefined {
  if (e.samples.has(name)) return 'series';
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (histogram && e.families.get(histogram[1]) === 'histogram') return 'family';
  const type = e.families.get(name);
  return type === 'counter' || type === 'gauge' ? 'family' : undefined;
}

let dir: string;
let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

maybe('every metric name the alerts and the dashboard use is in /metrics', async () => {
  dir = mkdtempSync(join(tmpdir(), 'state-cache-monitoring-'));
  const config = {
    server: { port: 0 },
    http: { port: 0 },
    // Small and noeviction, so that a few writes are refused with OOM.
    memory: { maxBytes: 64 * 1024, eviction: 'noeviction' },
    stores: { chain: [{ store: { type: 'file', name: 'disk', directory: join(dir, 'level') }, preload: true }] },
    persistence: {
      mode: 'write-behind',
      journal: { enabled: true, dir: join(dir, 'journal') },
      writeBehind: { deadLetterPath: join(dir, 'dead-letter.jsonl'), flushIntervalMs: 20, maxPendingEntries: 5000 },
      preload: { enabled: true },
    },
  };
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const proc = spawn('node', [MAIN, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let logs = '';
  proc.stderr!.on('data', (d) => (logs += d));
  const ports = await new Promise<{ resp: number; http: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`state-cache did not start:\n${logs}`)), 30_000);
    proc.stdout!.on('data', (d) => {
      logs += d;
      const line = logs.split('\n').find((l) => l.includes('state-cache listening'));
      if (!line) return;
      clearTimeout(timer);
      const j = JSON.parse(line);
      resolve({ resp: Number(j.resp.split(':').pop()), http: Number(j.http.split(':').pop()) });
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`state-cache exited (${code}) before listening:\n${logs}`)); });
  });

  const redis = new Redis({ port: ports.resp, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  try {
    for (let i = 0; i < 20; i++) expect(await redis.set(`k${i}`, `v${i}`)).toBe('OK');
    expect(await redis.get('k1')).toBe('v1');
    expect(await redis.get('missing')).toBeNull();
    // Fill memory until a write is refused with the OOM error.
    let refused = '';
    for (let i = 0; i < 100 && refused === ''; i++) {
      await redis.set(`big${i}`, 'x'.repeat(4096)).catch((e: Error) => { refused = e.message; });
    }
    expect(refused).toMatch(/^OOM command not allowed/);
    // Wait until the stores have everything, so the flush histograms have series.
    let e = parseExposition('');
    for (let i = 0; i < 100; i++) {
      e = parseExposition(await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text());
      const pending = e.samples.get(STATE_CACHE_METRICS.pendingWrites) ?? [];
      if (e.samples.has(STATE_CACHE_METRICS.flushDurationBucket) && pending.every((s) => s.endsWith(' 0'))) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    const missing = Object.values(STATE_CACHE_METRICS).filter((name) => exportedAs(name, e) === undefined);
    expect(missing).toEqual([]);
    // Only labelled counters that nothing has counted yet may lack series.
    const withoutSeries = Object.values(STATE_CACHE_METRICS).filter((name) => exportedAs(name, e) === 'family').sort();
    expect(withoutSeries).toEqual([STATE_CACHE_METRICS.queueFull, STATE_CACHE_METRICS.storeErrors].sort());
    // Prometheus records these per target; state-cache must not export them itself.
    for (const name of Object.values(PROMETHEUS_METRICS)) expect(exportedAs(name, e)).toBeUndefined();

    // The series the alerts compare.
    const M = STATE_CACHE_METRICS;
    expect(e.samples.get(M.ready)).toEqual([' 1']);
    expect(Number(e.samples.get(M.oomErrors)![0].trim())).toBeGreaterThanOrEqual(1);
    expect(e.samples.get(M.storeUp)).toEqual(['{store="disk"} 1']);
    expect(e.samples.get(M.pendingWritesLimit)).toEqual(['{store="disk"} 5000']);
    expect(e.samples.get(M.pendingBytesLimit)![0]).toMatch(/^\{store="disk"\} [1-9]\d*$/);
    expect(e.samples.get(M.pendingBytes)).toEqual(['{store="disk"} 0']);
    // Counted from 0, so that an alert on its increase sees the first dead letter.
    expect(e.samples.get(M.deadLettered)).toEqual(['{store="disk"} 0']);
    expect(Number(e.samples.get(M.maxBytes)![0].trim())).toBe(64 * 1024);
  } finally {
    redis.disconnect();
    proc.kill('SIGTERM');
  }
}, 60_000);

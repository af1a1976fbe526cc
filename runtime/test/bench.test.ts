import { spawn } from 'node:child_process';
import { needs } from './tools';
import { keyOf, valueOf } from '../bench/memory';
import { runBenchmark, parseCsv } from '../bench/redis-benchmark';
import { median, recordedThroughput, table } from '../bench/report';
import { freePort, RedisServer } from '../bench/servers';

const benchmark = needs('redis-benchmark');
const redisAndBenchmark = needs('redis-server', 'redis-benchmark');
const redisServer = needs('redis-server');

// A header and two rows as redis-benchmark 7.0 prints them with --csv.
const CSV = [
  '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"',
  '"SET","44130.62","0.672","0.168","0.583","1.263","1.799","14.239"',
  '"GET","47169.81","0.565","0.128","0.535","0.775","1.311","4.647"',
].join('\n');

describe('redis-benchmark CSV', () => {
  test('reads rps and latencies by column name', () => {
    expect(parseCsv(CSV)).toEqual([
      { test: 'SET', rps: 44130.62, avgMs: 0.672, p50Ms: 0.583, p99Ms: 1.799, maxMs: 14.239 },
      { test: 'GET', rps: 47169.81, avgMs: 0.565, p50Ms: 0.535, p99Ms: 1.311, maxMs: 4.647 },
    ]);
  });

  test('ignores lines that are not CSV (warnings, blank lines)', () => {
    const rows = parseCsv(`WARNING: Could not fetch server CONFIG\n\n${CSV}\n`);
    expect(rows.map((r) => r.test)).toEqual(['SET', 'GET']);
  });

  test('no rows is an error that shows the output', () => {
    expect(() => parseCsv('Could not connect to Redis')).toThrow('redis-benchmark printed no CSV rows:\nCould not connect to Redis');
  });

  test('a missing column is an error naming it', () => {
    const csv = CSV.replace('"p99_latency_ms",', '').split('\n').slice(0, 2).join('\n');
    expect(() => parseCsv(csv)).toThrow("redis-benchmark CSV has no 'p99_latency_ms' column");
  });

  test('a non-number is an error naming the cell', () => {
    const csv = CSV.replace('"44130.62"', '"fast"');
    expect(() => parseCsv(csv)).toThrow("redis-benchmark CSV has a non-number 'fast' in: \"SET\",\"fast\"");
  });
});

describe('report helpers', () => {
  test('median of odd and even counts, unsorted input', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow('median of no values');
  });

  test('the recorded throughput ratios are read from the Targets table of docs/benchmarks.md', () => {
    const md = [
      '| section | target | state-cache / Redis | goal | result |',
      '| --- | --- | --- | --- | --- |',
      '| throughput | SET unpipelined throughput | 0.73× | ≥ 0.95× | MISS |',
      '| throughput | SET unpipelined p99 latency | 3.46× | ≤ 1.5× | MISS |',
      '| throughput | GET pipelined throughput | 0.38× | ≥ 0.75× | MISS |',
      '| memory | RSS per key | 0.82× | ≤ 1.5× | PASS |',
    ].join('\n');
    expect([...recordedThroughput(md)]).toEqual([['SET unpipelined throughput', 0.73], ['GET pipelined throughput', 0.38]]);
  });

  test('markdown table', () => {
    expect(table(['a', 'b'], [['1', '2']])).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |');
  });

  test('memory keys and values are distinct and of the requested size', () => {
    expect(keyOf(42)).toBe('key:000000000042');
    expect(valueOf(42, 100)).toHaveLength(100);
    expect(valueOf(42, 100).equals(valueOf(43, 100))).toBe(false);
  });
});

describe('redis-benchmark against a real redis-server', () => {
  redisAndBenchmark.test('runBenchmark returns one row per test with plausible figures', async () => {
    const port = await freePort();
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      // Wait for the port to accept connections.
      for (let i = 0; i < 50; i++) {
        try {
          await runBenchmark({ port, tests: 'ping_mbulk', clients: 1, requests: 1000, dataSize: 3, keyspace: 1, pipeline: 1 });
          break;
        } catch (error) {
          if (!String(error).includes('cannot reach the server')) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const rows = await runBenchmark({ port, tests: 'set,get', clients: 5, requests: 2000, dataSize: 100, keyspace: 100, pipeline: 1 });
      expect(rows.map((r) => r.test)).toEqual(['SET', 'GET']);
      for (const row of rows) {
        expect(row.rps).toBeGreaterThan(0);
        expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms);
      }
    } finally {
      server.kill('SIGTERM');
    }
  });

  benchmark.test('a port nobody listens on fails at once instead of spinning', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(runBenchmark({ port, tests: 'set', clients: 1, requests: 10, dataSize: 3, keyspace: 1, pipeline: 1 }))
      .rejects.toThrow(`redis-benchmark -h 127.0.0.1 -p ${port} -t set -c 1 -n 10 -d 3 -r 1 -P 1 --csv cannot reach the server:\nCould not connect to Redis at 127.0.0.1:${port}: Connection refused`);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('bench servers', () => {
  redisServer.test('redis-server starts on a free port, reports RSS and used_memory, and stops', async () => {
    const redis = await RedisServer.create();
    await redis.start();
    let pid = 0;
    try {
      pid = redis.pid;
      expect(redis.rssBytes()).toBeGreaterThan(1024 * 1024);
      const memory = await redis.info('memory');
      expect(Number(memory.get('used_memory'))).toBeGreaterThan(0);
    } finally {
      await redis.stop();
    }
    expect(() => process.kill(pid, 0)).toThrow('ESRCH');
    expect(() => redis.pid).toThrow('redis is not running');
  });
});

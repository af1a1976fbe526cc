import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { tempFile } from './helpers';
import { churn, derivedLimit, imageEnv, imageNodeArgs, procStatusBytes } from '../bench/churn';
import { entryBytes } from '../src/keyspace/keyspace';

/**
 * Issue 11 (A): under sustained write churn at a full byte budget, the
 * process's peak RSS stays within the container memory limit the constructs
 * derive for that budget (1.25 x budget + 128 MiB, src/_cache-pod.ts). The
 * server runs as the image runs it (`node lib/main.js serve`); 50 clients
 * send pipelined SETs of 1000-byte values over a key space 10x what fits
 * (1000 bytes, not 100: the budget fills and turns over several times within
 * the time even on a busy machine; the benchmark covers 100-byte values).
 * bench:cache -- --sections memory-bound measures the same at larger budgets
 * against redis-server.
 */
const MAIN = join(__dirname, '..', 'lib', 'main.js');
const MIB = 1024 * 1024;
const BUDGET = 64 * MIB;
const VALUE_BYTES = 1000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function serve(config: object): Promise<ChildProcess> {
  const file = tempFile('config.json', JSON.stringify(config));
  // With the image's node options and environment (runtime/Dockerfile: CMD, NODE_OPTIONS, allocator settings), as the image runs it.
  const env = { ...process.env, ...imageEnv() };
  const child = spawn('node', [...imageNodeArgs(), MAIN, 'serve', '--config', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 15000);
    child.stdout!.on('data', () => {
      if (out.includes('state-cache listening')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`serve exited: ${out}`));
    });
  });
}

jest.setTimeout(90_000);

test('peak RSS stays within the derived container limit under SET churn at a full 64 MiB budget', async () => {
  const port = await freePort();
  const child = await serve({ server: { port }, http: { enabled: false }, log: { level: 'info' }, memory: { maxBytes: BUDGET, eviction: 'lru' } });
  const redis = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    const fits = Math.floor(BUDGET / entryBytes(16, VALUE_BYTES));
    const result = await churn({
      port,
      clients: 50,
      pipeline: 16,
      keySpace: fits * 10,
      valueBytes: VALUE_BYTES,
      bytes: 5 * BUDGET,
      deadline: Date.now() + 45_000,
    });
    await redis.connect();
    const info = await redis.info();
    const used = Number(/used_memory:(\d+)/.exec(info)![1]);
    const evicted = Number(/evicted_keys:(\d+)/.exec(info)![1]);
    const keys = await redis.dbsize();
    const peak = procStatusBytes(child.pid!, 'VmHWM');
    const limit = derivedLimit(BUDGET);
    // What was measured, for the log of a failing (or slow) run.
    console.log(`churn: ${result.sets} SETs (${(result.bytes / MIB).toFixed(0)} MiB) in ${result.seconds.toFixed(1)} s; `
      + `${keys} keys, ${evicted} evicted, used_memory ${(used / MIB).toFixed(1)} MiB, peak RSS ${(peak / MIB).toFixed(1)} MiB, limit ${limit / MIB} MiB`);
    expect(result.errors).toBe(0);
    // The churn must have filled the budget and gone on evicting (5x the budget on a quiet machine;
    // 1.7x in 40 s was seen at a load average of 20 on 2 CPUs).
    expect(result.bytes).toBeGreaterThan(1.25 * BUDGET);
    expect(evicted).toBeGreaterThan(fits / 4);
    expect(used).toBeLessThanOrEqual(BUDGET);
    expect(keys).toBeGreaterThan(fits * 0.95);
    expect(peak).toBeLessThanOrEqual(limit);
  } finally {
    redis.disconnect();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
});

import { BenchContext, describeTarget, fmtInt, fmtMiB, fmtRatio, passMiss, table } from './report';
import { BenchServer, RedisServer, StateCacheServer } from './servers';

const BATCH = 5_000;
const IN_FLIGHT = 4;
const SAMPLE = 200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Issue 11: memory per key (1M keys, 100-byte values, RSS) at most 1.3x Redis's. */
const MEMORY_TARGET = 1.3;

/** The key and value loaded for index i: distinct values, so nothing can be shared between entries. */
export function keyOf(i: number): string {
  return `key:${String(i).padStart(12, '0')}`;
}
export function valueOf(i: number, bytes: number): Buffer {
  const value = Buffer.alloc(bytes, 'v');
  value.write(String(i), 0, 'latin1');
  return value;
}

interface MemoryFigures {
  readonly name: string;
  readonly rssEmpty: number;
  readonly rssLoaded: number;
  readonly usedEmpty?: number;
  readonly usedLoaded?: number;
  readonly loadSeconds: number;
  readonly keysCounted: string;
}

async function usedMemory(server: BenchServer): Promise<number | undefined> {
  const value = (await server.info('memory')).get('used_memory');
  return value === undefined ? undefined : Number(value);
}

/** Loads `keys` entries with pipelined SETs, checks they are all there, and reads memory before and after. */
async function measure(server: BenchServer, ctx: BenchContext): Promise<MemoryFigures> {
  const { keys, valueBytes } = ctx.options;
  await server.start();
  try {
    await sleep(500);
    const rssEmpty = server.rssBytes();
    const usedEmpty = await usedMemory(server);
    const client = server.client();
    try {
      const started = process.hrtime.bigint();
      // A few batches in flight, so the client builds the next batch while the server works.
      let next = 0;
      const loader = async () => {
        while (next < keys) {
          const first = next;
          const last = Math.min(first + BATCH, keys);
          next = last;
          const pipeline = client.pipeline();
          for (let i = first; i < last; i++) pipeline.set(keyOf(i), valueOf(i, valueBytes));
          const results = (await pipeline.exec()) ?? [];
          const failed = results.find(([error]) => error !== null);
          if (failed) throw new Error(`${server.name}: SET failed while loading keys ${first}..${last - 1}: ${failed[0]!.message}`);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, loader));
      const loadSeconds = Number(process.hrtime.bigint() - started) / 1e9;

      // Every key must be there with its own value, or the per-key figure means nothing.
      let keysCounted: string;
      try {
        const count = await client.dbsize();
        if (count !== keys) throw new Error(`${server.name}: DBSIZE is ${count} after loading ${keys} keys`);
        keysCounted = `DBSIZE ${fmtInt(count)}`;
      } catch (error) {
        if (/unknown command/i.test(String(error))) keysCounted = 'DBSIZE not supported; sampled GETs only';
        else throw error;
      }
      for (let s = 0; s < SAMPLE; s++) {
        const i = Math.floor(Math.random() * keys);
        const got = await client.getBuffer(keyOf(i));
        if (!got || !got.equals(valueOf(i, valueBytes))) throw new Error(`${server.name}: GET ${keyOf(i)} does not return the value loaded`);
      }

      await sleep(2000);
      return {
        name: server.name,
        rssEmpty,
        rssLoaded: server.rssBytes(),
        usedEmpty,
        usedLoaded: await usedMemory(server),
        loadSeconds,
        keysCounted,
      };
    } finally {
      client.disconnect();
    }
  } finally {
    await server.stop();
  }
}

/**
 * Memory per key: a fresh redis-server and a fresh state-cache each get the
 * same keys; per key = (loaded - empty) / keys, for RSS (what a pod's memory
 * limit sees) and for the server's own accounting (INFO memory used_memory).
 */
export async function memorySection(ctx: BenchContext): Promise<string> {
  const { keys, valueBytes } = ctx.options;
  const figures: MemoryFigures[] = [];
  for (const server of [await RedisServer.create(), await StateCacheServer.create(ctx.options.main)]) {
    ctx.log(`memory: loading ${fmtInt(keys)} keys of ${valueBytes} bytes into ${server.name}`);
    const result = await measure(server, ctx);
    ctx.log(`memory: ${server.name} RSS ${fmtMiB(result.rssEmpty)} -> ${fmtMiB(result.rssLoaded)} (${fmtInt((result.rssLoaded - result.rssEmpty) / keys)} B/key), loaded in ${result.loadSeconds.toFixed(1)} s`);
    figures.push(result);
  }
  const [redis, cache] = figures;
  const perKey = (loaded: number, empty: number) => (loaded - empty) / keys;
  const rssRatio = perKey(cache.rssLoaded, cache.rssEmpty) / perKey(redis.rssLoaded, redis.rssEmpty);
  const used = (f: MemoryFigures) => (f.usedEmpty !== undefined && f.usedLoaded !== undefined ? perKey(f.usedLoaded, f.usedEmpty) : undefined);
  const usedRatio = used(cache) !== undefined && used(redis) !== undefined ? used(cache)! / used(redis)! : undefined;
  const target = ctx.target({ section: 'memory', name: 'RSS per key', ratio: rssRatio, limit: MEMORY_TARGET, better: 'lower' });

  const rows = figures.map((f) => [
    f.name,
    fmtMiB(f.rssEmpty), fmtMiB(f.rssLoaded), `${fmtInt(perKey(f.rssLoaded, f.rssEmpty))} B`,
    f.usedEmpty === undefined ? 'n/a' : fmtMiB(f.usedEmpty),
    f.usedLoaded === undefined ? 'n/a' : fmtMiB(f.usedLoaded),
    used(f) === undefined ? 'n/a (no used_memory in INFO memory)' : `${fmtInt(used(f)!)} B`,
    `${f.loadSeconds.toFixed(1)} s`, f.keysCounted,
  ]);
  return [
    '## Memory per key',
    '',
    `${fmtInt(keys)} keys (\`key:\` + 12 digits) with distinct ${valueBytes}-byte values, loaded with pipelined SETs (ioredis, ${fmtInt(BATCH)} per batch, ${IN_FLIGHT} batches in flight) into a fresh server each; read 2 s after the load. Per key = (loaded - empty) / keys.`,
    '',
    table(['server', 'RSS empty', 'RSS loaded', 'RSS per key', 'used_memory empty', 'used_memory loaded', 'used_memory per key', 'load time', 'check'], rows),
    '',
    `RSS per key, state-cache / Redis: **${fmtRatio(rssRatio)}** (target ${describeTarget(target)}: ${passMiss(target)}).`,
    `Own accounting per key (INFO memory used_memory), state-cache / Redis: ${usedRatio === undefined ? 'n/a' : fmtRatio(usedRatio)} (informational: the two servers count different things).`,
  ].join('\n');
}

import Redis from 'ioredis';
import { BenchmarkRow, runBenchmark } from './redis-benchmark';
import { BenchContext, fmtInt, fmtMs, fmtRatio, median, passMiss, table } from './report';
import { BenchServer, RedisServer, StateCacheServer } from './servers';
import { RPS_TARGET } from './throughput';

type Side = 'redis' | 'state-cache';
const SUBSCRIBERS = 50;
const SCRIPT = 'return redis.call("INCR", KEYS[1])';

/**
 * EVALSHA of a small script (INCR of a random key) and PUBLISH of a 100-byte
 * message to 50 subscribers, against redis-server and state-cache in
 * alternation, unpipelined, medians over the rounds. The 50 subscribers are
 * ioredis clients in this process (the same for both servers). PUBLISH has
 * SET/GET's unpipelined target; a script's ratio is reported only (issue 15).
 */
export async function scriptsPubsubSection(ctx: BenchContext): Promise<string> {
  const { options } = ctx;
  const redis = await RedisServer.create();
  const cache = await StateCacheServer.create(options.main);
  const servers: Record<Side, BenchServer> = { 'redis': redis, 'state-cache': cache };
  const rows: Record<Side, Record<'evalsha' | 'publish', BenchmarkRow[]>> = {
    'redis': { evalsha: [], publish: [] },
    'state-cache': { evalsha: [], publish: [] },
  };
  const clients: Redis[] = [];
  let received = 0;
  try {
    await redis.start();
    await cache.start();
    const sha: Record<Side, string> = { 'redis': '', 'state-cache': '' };
    for (const side of ['redis', 'state-cache'] as const) {
      const admin = new Redis({ port: servers[side].port, host: '127.0.0.1' });
      clients.push(admin);
      sha[side] = await admin.script('LOAD', SCRIPT) as string;
      for (let i = 0; i < SUBSCRIBERS; i++) {
        const sub = new Redis({ port: servers[side].port, host: '127.0.0.1' });
        clients.push(sub);
        sub.on('message', () => { received++; });
        await sub.subscribe('bench');
      }
    }
    const run = (side: Side, what: 'evalsha' | 'publish') => ({
      port: servers[side].port,
      tests: what === 'evalsha' ? 'EVALSHA' : `PUBLISH to ${SUBSCRIBERS}`,
      clients: options.clients,
      requests: what === 'evalsha' ? options.requests : Math.max(1000, Math.floor(options.requests / 10)),
      dataSize: options.valueBytes,
      keyspace: options.keyspace,
      pipeline: 1,
      command: what === 'evalsha' ? ['evalsha', sha[side], '1', 'key:__rand_int__'] : ['publish', 'bench', 'x'.repeat(100)],
    });
    for (let round = 1; round <= options.rounds; round++) {
      const order: Side[] = round % 2 === 1 ? ['redis', 'state-cache'] : ['state-cache', 'redis'];
      for (const what of ['evalsha', 'publish'] as const) {
        for (const side of order) {
          const [row] = await runBenchmark(run(side, what));
          rows[side][what].push(row);
          ctx.log(`round ${round}/${options.rounds} ${what} ${side}: ${fmtInt(row.rps)}/s p99 ${fmtMs(row.p99Ms)} ms`);
        }
      }
    }
  } finally {
    for (const c of clients) if (c.status !== 'end') c.disconnect();
    await cache.stop();
    await redis.stop();
  }
  const summary = (['evalsha', 'publish'] as const).map((what) => {
    const r = rows.redis[what];
    const c = rows['state-cache'][what];
    const med = (list: BenchmarkRow[], key: 'rps' | 'p99Ms') => median(list.map((row) => row[key]));
    const ratio = med(c, 'rps') / med(r, 'rps');
    // Issue 15: PUBLISH has SET/GET's unpipelined target; a script's ratio is reported only.
    const verdict = what === 'publish'
      ? ` ${passMiss(ctx.target({ section: 'scripts-pubsub', name: `PUBLISH to ${SUBSCRIBERS} subscribers throughput`, ratio, limit: RPS_TARGET.unpipelined, better: 'higher' }))}`
      : '';
    return [
      what === 'evalsha' ? 'EVALSHA (INCR script)' : `PUBLISH to ${SUBSCRIBERS} subscribers`,
      fmtInt(med(r, 'rps')), fmtInt(med(c, 'rps')), `${fmtRatio(ratio)}${verdict}`,
      fmtMs(med(r, 'p99Ms')), fmtMs(med(c, 'p99Ms')),
    ];
  });
  return [
    '## Scripts and Pub/Sub',
    '',
    `${options.rounds} rounds, unpipelined, ${options.clients} clients, the order flipping every round; medians. EVALSHA runs \`${SCRIPT}\` on a random key;`,
    `PUBLISH sends a 100-byte message that ${SUBSCRIBERS} subscribers (ioredis, in the benchmark process) receive (${fmtInt(received)} messages received in all).`,
    '',
    table(['command', 'Redis ops/s', 'state-cache ops/s', 'ratio', 'Redis p99', 'state-cache p99'], summary),
  ].join('\n');
}

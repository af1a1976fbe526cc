import { cpuSeconds } from './churn';
import { BenchmarkRow, benchmarkArgs, runBenchmark } from './redis-benchmark';
import { BenchContext, fmtInt, fmtRatio, median, passMiss, table } from './report';
import { BenchServer, BenchTls, RedisServer, StateCacheServer } from './servers';
import { makeCa, makeCert } from '../test/certs';

type Side = 'redis' | 'state-cache';
type Wire = 'plaintext' | 'tls';
type Mode = 'unpipelined' | 'pipelined';
const TESTS = ['SET', 'GET'] as const;
const MODES: readonly Mode[] = ['unpipelined', 'pipelined'];
/** The ratio to Redis over TLS may differ from the plaintext ratio by this share at most. */
const TLS_TOLERANCE = 0.1;

/**
 * Throughput over TLS: redis-server with `--port 0 --tls-port` and
 * state-cache with `server.plaintext: false, server.tlsPort` (the same
 * certificate, made with openssl), and both in plaintext, all four running at
 * once; redis-benchmark (`--tls --cacert` for the TLS pair) against each in
 * turn, the order flipping every round. The target: state-cache's ratio to
 * Redis over TLS is its plaintext ratio within 10 %.
 */
export async function tlsSection(ctx: BenchContext): Promise<string> {
  const { options } = ctx;
  const ca = makeCa('bench CA');
  const leaf = makeCert(ca, 'bench', { dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const tls: BenchTls = { certFile: leaf.certFile, keyFile: leaf.keyFile, caFile: ca.certFile, ca: ca.cert };
  const servers: Record<Wire, Record<Side, BenchServer>> = {
    plaintext: { 'redis': await RedisServer.create(), 'state-cache': await StateCacheServer.create(options.main) },
    tls: { 'redis': await RedisServer.create(0, tls), 'state-cache': await StateCacheServer.create(options.main, 0, tls) },
  };
  /** Server CPU (user + system) per operation, µs, one entry per run: steadier than ops/s on a busy machine. */
  const cpu: Record<Wire, Record<Side, Record<Mode, number[]>>> = {
    plaintext: { 'redis': { unpipelined: [], pipelined: [] }, 'state-cache': { unpipelined: [], pipelined: [] } },
    tls: { 'redis': { unpipelined: [], pipelined: [] }, 'state-cache': { unpipelined: [], pipelined: [] } },
  };
  const rows: Record<Wire, Record<Side, Record<Mode, BenchmarkRow[][]>>> = {
    plaintext: { 'redis': { unpipelined: [], pipelined: [] }, 'state-cache': { unpipelined: [], pipelined: [] } },
    tls: { 'redis': { unpipelined: [], pipelined: [] }, 'state-cache': { unpipelined: [], pipelined: [] } },
  };
  const run = (wire: Wire, port: number, mode: Mode) => ({
    port,
    tests: 'set,get',
    clients: options.clients,
    requests: mode === 'pipelined' ? options.pipelinedRequests : options.requests,
    dataSize: options.valueBytes,
    keyspace: options.keyspace,
    pipeline: mode === 'pipelined' ? options.pipeline : 1,
    tlsCaFile: wire === 'tls' ? ca.certFile : undefined,
  });
  const all = [servers.plaintext.redis, servers.plaintext['state-cache'], servers.tls.redis, servers.tls['state-cache']];
  try {
    for (const s of all) await s.start();
    for (let round = 1; round <= options.rounds; round++) {
      const order: Side[] = round % 2 === 1 ? ['redis', 'state-cache'] : ['state-cache', 'redis'];
      for (const mode of MODES) {
        for (const wire of ['plaintext', 'tls'] as const) {
          for (const side of order) {
            const server = servers[wire][side];
            const before = cpuSeconds(server.pid);
            const spec = run(wire, server.port, mode);
            const result = await runBenchmark(spec);
            // set,get: two tests of `requests` each.
            cpu[wire][side][mode].push(((cpuSeconds(server.pid) - before) * 1e6) / (2 * spec.requests));
            rows[wire][side][mode].push(result);
            ctx.log(`tls round ${round}/${options.rounds} ${mode} ${wire} ${side}: ${result.map((r) => `${r.test} ${fmtInt(r.rps)}/s`).join(', ')}`);
          }
        }
      }
    }
  } finally {
    for (const s of all) await s.stop();
  }

  const med = (wire: Wire, side: Side, mode: Mode, test: string) => median(rows[wire][side][mode].map((result) => {
    const row = result.find((r) => r.test.toUpperCase() === test);
    if (!row) throw new Error(`no ${test} row for ${wire} ${side} ${mode}`);
    return row.rps;
  }));
  const summary: string[][] = [];
  for (const mode of MODES) {
    for (const test of TESTS) {
      const plainRatio = med('plaintext', 'state-cache', mode, test) / med('plaintext', 'redis', mode, test);
      const tlsRatio = med('tls', 'state-cache', mode, test) / med('tls', 'redis', mode, test);
      const relative = tlsRatio / plainRatio;
      const lower = ctx.target({ section: 'tls', name: `${test} ${mode} ratio over TLS / plaintext ratio`, ratio: relative, limit: 1 - TLS_TOLERANCE, better: 'higher' });
      summary.push([
        test, mode,
        fmtInt(med('plaintext', 'redis', mode, test)), fmtInt(med('plaintext', 'state-cache', mode, test)), fmtRatio(plainRatio),
        fmtInt(med('tls', 'redis', mode, test)), fmtInt(med('tls', 'state-cache', mode, test)), fmtRatio(tlsRatio),
        `${fmtRatio(relative)} ${passMiss(lower)}`,
      ]);
    }
  }
  const cpuRows: string[][] = [];
  for (const mode of MODES) {
    const m = (wire: Wire, side: Side) => median(cpu[wire][side][mode]);
    const plainRatio = m('plaintext', 'state-cache') / m('plaintext', 'redis');
    const tlsRatio = m('tls', 'state-cache') / m('tls', 'redis');
    cpuRows.push([
      mode, m('plaintext', 'redis').toFixed(1), m('plaintext', 'state-cache').toFixed(1), fmtRatio(plainRatio),
      m('tls', 'redis').toFixed(1), m('tls', 'state-cache').toFixed(1), fmtRatio(tlsRatio), fmtRatio(tlsRatio / plainRatio),
    ]);
  }
  const example = (mode: Mode) => `redis-benchmark ${benchmarkArgs(run('tls', 0, mode)).join(' ').replace('-p 0', '-p PORT').replace(ca.certFile, 'CA.crt')}`;
  return [
    '## Throughput over TLS',
    '',
    `${options.rounds} rounds; redis-server (\`--port 0 --tls-port\`) and state-cache (\`server.plaintext: false, server.tlsPort\`) with the same P-256 certificate, and both in plaintext, all running at once; redis-benchmark against each in turn (the order flips every round). Medians over the rounds.`,
    '',
    '```',
    example('unpipelined'),
    example('pipelined'),
    '```',
    '',
    table(['test', 'mode', 'Redis plain', 'state-cache plain', 'plain ratio', 'Redis TLS', 'state-cache TLS', 'TLS ratio', 'TLS ratio / plain ratio'], summary),
    '',
    'Server CPU (user + system, from /proc/<pid>/stat) per operation in µs, SET and GET together, medians over the rounds; lower is better, and it moves much less with the load on the machine than ops/s do:',
    '',
    table(['mode', 'Redis plain', 'state-cache plain', 'plain ratio', 'Redis TLS', 'state-cache TLS', 'TLS ratio', 'TLS ratio / plain ratio'], cpuRows),
    '',
    `Target: state-cache's ratio to Redis over TLS is at least ${1 - TLS_TOLERANCE}× its plaintext ratio (the same ratio within ${TLS_TOLERANCE * 100} %); above 1× state-cache loses less to TLS than Redis does.`,
  ].join('\n');
}

/**
 * TLS and the key API, run as the pods would run (test/run-as-pod/pod.ts; the
 * deviations from a real pod are listed in test/run-as-pod.test.ts). Here
 * also: the HTTP bind of the first test stays 0.0.0.0, as in the pod, so a
 * peer on this host's non-loopback address stands in for another pod.
 *
 * - A CachedApp without a password: /v1/keys refuses a non-loopback peer
 *   while /readyz and /metrics answer it.
 * - A TLS-only ExternalCacheCluster of three with a near cache writing
 *   behind to it: the certificate is what cert-manager would issue for the
 *   Certificate's DNS names, plus 127.0.0.1 (the pods run on loopback here).
 * - examples/cross-region.ts: the sidecar writes behind, over TLS with a
 *   password and verify-full, to a real redis-server serving only TLS
 *   (`--port 0 --tls-port`) with a certificate made here with openssl for
 *   the example's server name.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, Testing } from 'cdk8s';
import { cachedApp, chart, secret } from './cache-fixtures';
import { findCacheContainers, freePort, Manifest, RunningPod, SecretFixtures, startPod, stopPod, synthesisedConfig, waitReady } from './run-as-pod/pod';
import CrossRegionExample from '../examples/cross-region';
import { makeCa, makeCert } from '../runtime/test/certs';
import { needs } from '../runtime/test/tools';
import { CachePassword, CacheStore, CacheTls, ExternalCacheCluster, WriteMode } from '../src';

const runtimeRequire = createRequire(join(__dirname, '..', 'runtime', 'package.json'));
const Redis = runtimeRequire('ioredis');

const dirs: string[] = [];
const pods: RunningPod[] = [];

afterAll(async () => {
  await Promise.all(pods.splice(0).map((p) => stopPod(p)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 30_000);

function podRoot(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `cdk8s-state-pod-${name}-`));
  dirs.push(d);
  return d;
}

/** QUIT where connected: disconnect() on an open connection leaves ioredis' stream-destroy timer behind. */
async function close(client: { status: string; quit(): Promise<unknown>; disconnect(): void }): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else if (client.status !== 'end') client.disconnect();
}

function byKind(manifests: Manifest[], kind: string): any[] {
  return manifests.filter((m) => m.kind === kind);
}

function podAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

const address = podAddress();
(address === undefined ? test.skip : test)('a CachedApp without a password: /v1/keys refuses a non-loopback peer, /readyz and /metrics answer it', async () => {
  const c = chart('web');
  cachedApp(c);
  const manifests = Testing.synth(c) as Manifest[];
  const [cache] = findCacheContainers(manifests);
  expect(synthesisedConfig(manifests, cache).http.bind).toBe('0.0.0.0');
  const pod = await startPod({
    manifests,
    cache,
    podName: 'web-0',
    root: podRoot('web'),
    secrets: {},
    hosts: {},
    respPort: await freePort(),
    httpPort: await freePort(),
    httpBind: '0.0.0.0',
  });
  pods.push(pod);
  await waitReady(pod);
  const remote = `http://${address}:${pod.httpPort}`;
  const refused = await fetch(`${remote}/v1/keys/session:1`);
  expect(refused.status).toBe(403);
  expect((await refused.json()).error).toBe('loopback_only');
  expect((await fetch(`${remote}/v1/keys/session:1`, { method: 'PUT', body: 'stolen' })).status).toBe(403);
  expect((await fetch(`${remote}/readyz`)).status).toBe(200);
  const metrics = await fetch(`${remote}/metrics`);
  expect(metrics.status).toBe(200);
  expect(await metrics.text()).toContain('state_cache_');
  // The app in the pod (loopback) has the key API.
  expect((await fetch(`http://127.0.0.1:${pod.httpPort}/v1/keys/session:1`, { method: 'PUT', body: 'mine' })).status).toBe(201);
  expect(await stopPod(pod)).toBe(0);
  pods.splice(pods.indexOf(pod), 1);
}, 60_000);

needs('redis-server', 'openssl').describe('examples/cross-region.ts', () => {
  const manifests = Testing.synth(new CrossRegionExample(Testing.app(), 'cross-region')) as Manifest[];
  let redis: ChildProcess | undefined;

  afterAll(async () => {
    if (redis && redis.exitCode === null) {
      const gone = new Promise((r) => redis!.once('exit', r));
      redis.kill('SIGTERM');
      await gone;
    }
  });

  test('write-behind reaches the remote cluster over TLS verify-full with a password', async () => {
    const [cache] = findCacheContainers(manifests);
    const store = synthesisedConfig(manifests, cache).stores.chain[0].store;
    expect(store.tls).toEqual({ enabled: true, caFile: '/etc/state-cache/ca/us-east/ca.crt', serverName: 'cache.us-east.example.com' });

    // The remote region's server: TLS only, a certificate for the example's server name from a CA made here.
    const ca = makeCa('us-east test CA');
    dirs.push(ca.dir);
    const cert = makeCert(ca, 'us-east', { dnsNames: ['cache.us-east.example.com'], ips: [] });
    const port = await freePort();
    const password = 'us-east-pw-91c2';
    const secrets: SecretFixtures = {
      'us-east-cache': { password },
      'us-east-cache-ca': { 'ca.crt': ca.cert },
      'checkout-cache': { password: 'checkout-cache-pw-5e10' },
    };
    const conf = join(ca.dir, 'redis.conf');
    writeFileSync(conf, `requirepass ${password}\n`);
    redis = spawn('redis-server', [conf, '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--tls-cert-file', cert.certFile, '--tls-key-file', cert.keyFile, '--tls-ca-cert-file', ca.certFile, '--tls-auth-clients', 'no'], { stdio: 'ignore' });
    const remote = new Redis({ host: '127.0.0.1', port, password, tls: { ca: ca.cert, servername: 'cache.us-east.example.com' }, lazyConnect: true });
    await until('redis-server to serve TLS', 10_000, async () => {
      await remote.connect().catch(() => undefined);
      return remote.status === 'ready' ? true : undefined;
    });

    const podName = `${cache.workload.metadata.name}-0`;
    const pod = await startPod({
      manifests,
      cache,
      podName,
      root: podRoot(podName),
      secrets,
      // The remote's host name goes to the local server; its certificate is still checked against serverName.
      hosts: { 'cache.us-east.example.com': { port } },
      respPort: await freePort(),
      httpPort: await freePort(),
    });
    pods.push(pod);
    await waitReady(pod);
    const app = new Redis({ host: '127.0.0.1', port: pod.respPort, password: secrets['checkout-cache'].password, lazyConnect: true });
    try {
      await app.connect();
      for (let i = 0; i < 10; i++) expect(await app.set(`order:${i}`, `cart-${i}`)).toBe('OK');
      // Write-behind: the remote gets the entries (with the example's key prefix) within a few flushes.
      const keys: string[] = await until('the orders to reach the remote region', 20_000, async () => {
        const k: string[] = await remote.keys('eu-west:order:*');
        return k.length === 10 ? k : undefined;
      });
      expect(keys.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `eu-west:order:${i}`).sort());
      // Every client of the remote is on TLS: the server has no plaintext port at all.
      expect(await remote.config('GET', 'port')).toEqual(['port', '0']);
      const clientList: string = await remote.client('LIST');
      expect(clientList.split('\n').filter((l) => l.trim() !== '').length).toBeGreaterThanOrEqual(2);
    } finally {
      await close(app);
      await close(remote);
    }
    expect(await stopPod(pod)).toBe(0);
    pods.splice(pods.indexOf(pod), 1);
  }, 90_000);

  test('a remote whose certificate is for another name is refused (verify-full)', async () => {
    const [cache] = findCacheContainers(manifests);
    const ca = makeCa('other-name CA');
    dirs.push(ca.dir);
    const cert = makeCert(ca, 'impostor', { dnsNames: ['cache.attacker.example.net'], ips: [] });
    const port = await freePort();
    const impostor = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--tls-cert-file', cert.certFile, '--tls-key-file', cert.keyFile, '--tls-ca-cert-file', ca.certFile, '--tls-auth-clients', 'no'], { stdio: 'ignore' });
    try {
      const podName = `${cache.workload.metadata.name}-0`;
      const pod = await startPod({
        manifests,
        cache,
        podName,
        root: podRoot(`${podName}-impostor`),
        secrets: { 'us-east-cache': { password: 'x' }, 'us-east-cache-ca': { 'ca.crt': ca.cert }, 'checkout-cache': { password: 'y' } },
        hosts: { 'cache.us-east.example.com': { port } },
        respPort: await freePort(),
        httpPort: await freePort(),
      });
      pods.push(pod);
      // The store cannot start: the log says why, and the pod never serves a write it could not persist.
      const log = await until('the TLS refusal in the log', 30_000, async () => {
        const text = pod.logs.join('');
        return /does not match certificate's altnames|Hostname\/IP does not match/.test(text) ? text : undefined;
      });
      expect(log).toMatch(/cache\.us-east\.example\.com/);
      await stopPod(pod);
      pods.splice(pods.indexOf(pod), 1);
    } finally {
      const gone = new Promise((r) => impostor.once('exit', r));
      impostor.kill('SIGTERM');
      await gone;
    }
  }, 60_000);
});

needs('openssl').describe('a TLS-only state-cache cluster with a near cache writing behind to it', () => {
  test('writes reach every shard over TLS; a stock cluster client over TLS reads them; plaintext is refused', async () => {
    const c = chart('orders');
    const cluster = new ExternalCacheCluster(c, 'cache', {
      name: 'orders-cache',
      replicas: 3,
      password: CachePassword.fromSecret(secret(c, 'orders-cache-password'), 'password'),
      tls: CacheTls.certManager({ issuer: { name: 'internal-ca', kind: 'ClusterIssuer' } }),
    });
    cachedApp(c, {
      password: CachePassword.fromSecret(secret(c, 'web-cache-password'), 'password'),
      cache: { writeMode: WriteMode.writeBehind({ flushInterval: Duration.millis(100) }), stores: [CacheStore.remote(cluster)] },
    });
    const manifests = Testing.synth(c) as Manifest[];
    const [clusterCache, sidecarCache] = findCacheContainers(manifests);
    const cert = byKind(manifests, 'Certificate')[0];

    // What cert-manager would issue for the Certificate: its DNS names, plus 127.0.0.1, where the pods run here.
    const ca = makeCa('orders CA');
    dirs.push(ca.dir);
    const leaf = makeCert(ca, 'orders-cache', { dnsNames: cert.spec.dnsNames, ips: ['127.0.0.1'] });
    const secrets: SecretFixtures = {
      'orders-cache-password': { password: 'orders-pw-3f8a' },
      'web-cache-password': { password: 'web-pw-77d1' },
      [cert.spec.secretName]: { 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': ca.cert },
    };

    const resp: number[] = [];
    const http: number[] = [];
    for (let i = 0; i < 3; i++) {
      resp.push(await freePort());
      http.push(await freePort());
    }
    const clusterPods: RunningPod[] = [];
    for (let i = 0; i < 3; i++) {
      const podName = `orders-cache-${i}`;
      // TLS only: the TLS port is the pod's RESP port, announced to cluster clients.
      const pod = await startPod({
        manifests,
        cache: clusterCache,
        podName,
        root: podRoot(podName),
        secrets,
        hosts: {},
        respPort: resp[i],
        tlsPort: resp[i],
        httpPort: http[i],
        clusterPorts: { resp, http },
      });
      pods.push(pod);
      clusterPods.push(pod);
    }
    await Promise.all(clusterPods.map((p) => waitReady(p)));
    expect(clusterPods[0].config.server).toMatchObject({ plaintext: false, tlsPort: resp[0] });

    const hosts = Object.fromEntries(resp.map((port, i) => [`orders-cache-${i}.${cluster.peerDomain}`, { port }]));
    const sidecar = await startPod({
      manifests,
      cache: sidecarCache,
      podName: 'web-0',
      root: podRoot('web'),
      secrets,
      hosts,
      respPort: await freePort(),
      httpPort: await freePort(),
    });
    pods.push(sidecar);
    await waitReady(sidecar);

    const app = new Redis({ host: '127.0.0.1', port: sidecar.respPort, password: 'web-pw-77d1', lazyConnect: true });
    const direct = new Redis.Cluster([{ host: '127.0.0.1', port: resp[0] }], {
      redisOptions: { password: 'orders-pw-3f8a', tls: { ca: ca.cert } },
    });
    try {
      await app.connect();
      const written = new Map<string, string>();
      for (let i = 0; i < 30; i++) written.set(`order:${i}`, `{"total":${i * 7}}`);
      for (const [k, v] of written) expect(await app.set(k, v)).toBe('OK');
      const got = await until('the orders to reach the TLS cluster', 30_000, async () => {
        const values = await Promise.all([...written.keys()].map(async (k) => [k, await direct.getBuffer(k)] as const));
        return values.every(([, v]) => v !== null) ? values : undefined;
      });
      // The remote store's envelope: 4 bytes magic, version, expiry, then the value.
      for (const [k, raw] of got) expect(raw!.subarray(20).toString()).toBe(written.get(k));
      // Every shard got some.
      const perShard = await Promise.all(direct.nodes('master').map((n: { dbsize(): Promise<number> }) => n.dbsize()));
      expect(perShard.filter((n: number) => n > 0).length).toBe(3);
      // No plaintext RESP: a client without TLS gets no answer, the connection is closed.
      const answer = await new Promise<string>((resolve) => {
        const sock = connect(resp[0], '127.0.0.1', () => sock.write('PING\r\n'));
        let received = '';
        sock.on('data', (d) => { received += d.toString('latin1'); });
        sock.on('error', () => undefined);
        sock.on('close', () => resolve(received));
      });
      expect(answer).not.toContain('PONG');
    } finally {
      await close(app);
      await direct.quit().catch(() => undefined);
      direct.disconnect();
    }
  }, 120_000);
});

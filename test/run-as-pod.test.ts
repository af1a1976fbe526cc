/**
 * The caching examples, run as their pods would run: each example is
 * synthesised, every state-cache container found in its manifests is started
 * as `node lib/main.js …` from its command/args (or the image's CMD, read from
 * runtime/Dockerfile) in runtime/ (the image's WORKDIR holds the same lib/),
 * with its env (secretKeyRefs from SECRETS below, fieldRefs from the pod,
 * $(VAR) expanded as the kubelet does), and its ConfigMap and Secret volumes
 * written as files. Then a Redis client writes and reads through the cache,
 * and the test checks the data reached the store behind it.
 *
 * Where this deviates from a real pod (all rewrites are in test/run-as-pod/pod.ts):
 * - Paths: every volumeMount path P becomes <temp dir of the pod>/P; strings in
 *   config.json and arguments under a mount path (/etc/state-cache/...,
 *   /var/lib/state-cache/..., /tmp) are rewritten the same way. emptyDirs and
 *   claims are empty directories; TMPDIR points at the remapped /tmp.
 * - Environment: only PATH, HOSTNAME (= the pod name, as the container runtime
 *   sets it), the image's ENV, TMPDIR and the container's env; no Service
 *   links. `node` is the test's node binary.
 * - Network: pods share the host's loopback instead of each having a network
 *   namespace, so server.port/http.port become free ports and both binds
 *   become 127.0.0.1.
 * - Hosts: the ExternalDatabase host name becomes 127.0.0.1 (an embedded
 *   PostgreSQL on a free port) and tls.serverName is set to the original name,
 *   so verify-full still checks the server certificate (made by openssl for
 *   that name, its CA given as the rds-ca-bundle Secret) against the name the
 *   pod uses. The cluster's pod DNS names `<statefulset>-<i>.<peerDomain>`
 *   become 127.0.0.1:<port of pod i>, and cluster.announceHosts,
 *   announcePorts and announceHttpPorts announce those loopback addresses.
 * - Replicas: the app workloads run one pod each (ordinal 0 of the
 *   sidecar-cache StatefulSet, one pod of the catalog Deployment); the cache
 *   cluster runs every replica, since each owns a third of the slots.
 * - Not simulated: securityContext (user, read-only root), resources, probes
 *   (the test polls /readyz itself), NetworkPolicies.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import {
  CacheContainer, findCacheContainers, freePort, Manifest, RunningPod, SecretFixtures, startPod, stopPod, synthesisedConfig, waitReady,
} from './run-as-pod/pod';
import CacheClusterExample from '../examples/cache-cluster';
import SidecarCacheExample from '../examples/sidecar-cache';
import { TestPostgres } from '../runtime/test/stores/servers';

// The Redis and PostgreSQL clients are runtime dependencies (runtime/node_modules).
const runtimeRequire = createRequire(join(__dirname, '..', 'runtime', 'package.json'));
const Redis = runtimeRequire('ioredis');
const { Client } = runtimeRequire('pg');

/** The Secrets the examples refer to, as the cluster (or an ExternalSecret) would hold them. */
const SECRETS: SecretFixtures = {
  'sessions-cache': { password: 'sessions-cache-pw-7d1e' },
  'sessions-db-credentials': { password: 'state-cache-db-pw-4b9f' },
  'rds-ca-bundle': {}, // ca.pem: the test CA, made in beforeAll
  'catalog-cache-password': { password: 'catalog-cache-pw-2c8a' },
};

function synth(chart: Chart): Manifest[] {
  return Testing.synth(chart) as Manifest[];
}

function must(cmd: string[]): void {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed (${r.status}): ${r.stderr ?? r.error}`);
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

/** The password a client needs for a pod's RESP port, from the env its config names; none without auth. */
function respPassword(pod: RunningPod): string | undefined {
  const env = pod.config.auth?.passwordEnv;
  return env ? pod.env[env] : undefined;
}

const pods: RunningPod[] = [];
const clients: { status: string; quit(): Promise<unknown>; disconnect(): void }[] = [];
const dirs: string[] = [];

/** Ends the clients and pods started so far (before the servers behind them go). */
async function stopAll(): Promise<void> {
  // QUIT where connected: disconnect() on an open connection leaves ioredis' stream-destroy timer behind.
  for (const c of clients.splice(0)) {
    if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
    else c.disconnect();
  }
  await Promise.all(pods.splice(0).map((p) => stopPod(p)));
}

afterAll(async () => {
  await stopAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 30_000);

function podRoot(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `cdk8s-state-pod-${name}-`));
  dirs.push(d);
  return d;
}

describe('examples/sidecar-cache.ts', () => {
  const manifests = synth(new SidecarCacheExample(Testing.app(), 'sidecar-cache'));
  let pg: TestPostgres | undefined;

  afterAll(async () => {
    await stopAll();
    await pg?.close();
  }, 40_000);

  test('writes through the sidecar reach PostgreSQL over TLS verify-full', async () => {
    const caches = findCacheContainers(manifests);
    expect(caches.map((c) => [c.workload.kind, c.container.name, c.container.restartPolicy])).toEqual([['StatefulSet', 'state-cache', 'Always']]);
    const cache = caches[0];
    const store = synthesisedConfig(manifests, cache).stores.chain[0].store;
    expect([store.type, store.tls.mode]).toEqual(['postgres', 'verify-full']);

    // A CA and a server certificate for the database's host name, as the managed database would have.
    const certs = podRoot('pg-tls');
    chmodSync(certs, 0o755);
    const f = (n: string) => join(certs, n);
    must(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=cdk8s-state test CA', '-keyout', f('ca.key'), '-out', f('ca.pem')]);
    must(['openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${store.host}`, '-keyout', f('server.key'), '-out', f('server.csr')]);
    writeFileSync(f('ext.cnf'), `subjectAltName=DNS:${store.host}\n`);
    must(['openssl', 'x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.crt')]);
    SECRETS['rds-ca-bundle']['ca.pem'] = readFileSync(f('ca.pem'), 'utf8');

    pg = await TestPostgres.start();
    const admin = new Client({ host: '127.0.0.1', port: pg.port, user: pg.user, password: pg.password, database: 'postgres' });
    await admin.connect();
    try {
      // TLS on, with the key owned by the user PostgreSQL runs as; the role and database the store is configured for.
      const dataDir = (await admin.query('SHOW data_directory')).rows[0].data_directory;
      const { uid, gid } = statSync(dataDir);
      for (const [file, mode] of [['server.key', 0o600], ['server.crt', 0o644]] as const) {
        chownSync(f(file), uid, gid);
        chmodSync(f(file), mode);
      }
      await admin.query(`ALTER SYSTEM SET ssl_cert_file = '${f('server.crt')}'`);
      await admin.query(`ALTER SYSTEM SET ssl_key_file = '${f('server.key')}'`);
      await admin.query('ALTER SYSTEM SET ssl = on');
      await admin.query('SELECT pg_reload_conf()');
      await admin.query(`CREATE ROLE ${store.user} LOGIN PASSWORD '${SECRETS['sessions-db-credentials'].password}'`);
      await admin.query(`CREATE DATABASE ${store.database} OWNER ${store.user}`);
    } finally {
      await admin.end();
    }

    const podName = `${cache.workload.metadata.name}-0`;
    const pod = await startPod({
      manifests,
      cache,
      podName,
      root: podRoot(podName),
      secrets: SECRETS,
      hosts: { [store.host]: { port: pg.port, tlsServerName: true } },
      respPort: await freePort(),
      httpPort: await freePort(),
    });
    pods.push(pod);
    await waitReady(pod);

    const client = new Redis({ host: '127.0.0.1', port: pod.respPort, password: respPassword(pod), maxRetriesPerRequest: 1 });
    clients.push(client);
    const written = new Map<string, string>();
    for (let i = 0; i < 20; i++) written.set(`session:${i}`, JSON.stringify({ user: i, cart: [`sku-${i}`] }));
    written.set('session:3', 'overwritten');
    for (const [k, v] of written) expect(await client.set(k, v)).toBe('OK');
    for (const [k, v] of written) expect(await client.get(k)).toBe(v);

    // Write-behind: the rows arrive within a few flush intervals.
    const rows = await until('the sessions to reach PostgreSQL', 15_000, async () => {
      const c = new Client({ host: '127.0.0.1', port: pg!.port, user: pg!.user, password: pg!.password, database: store.database });
      await c.connect();
      try {
        const res = await c.query(`SELECT key, value FROM ${store.schema}.${store.table}`);
        const got = new Map<string, string>(res.rows.map((r: { key: Buffer; value: Buffer }) => [r.key.toString(), r.value.toString()]));
        return got.size >= written.size ? got : undefined;
      } finally {
        await c.end();
      }
    });
    expect(rows).toEqual(written);

    // Every connection of the store's user is TLS.
    const c = new Client({ host: '127.0.0.1', port: pg.port, user: pg.user, password: pg.password, database: 'postgres' });
    await c.connect();
    try {
      const ssl = await c.query('SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = $1', [store.user]);
      expect(ssl.rows.length).toBeGreaterThan(0);
      expect(ssl.rows.every((r: { ssl: boolean }) => r.ssl)).toBe(true);
    } finally {
      await c.end();
    }

    // SIGTERM, as the kubelet sends it: the sidecar drains and exits 0.
    expect(await stopPod(pod)).toBe(0);
  }, 60_000);
});

describe('examples/cache-cluster.ts', () => {
  const manifests = synth(new CacheClusterExample(Testing.app(), 'cache-cluster'));

  test('writes through the near cache reach the cache cluster', async () => {
    const caches = findCacheContainers(manifests);
    expect(caches.map((c) => [c.workload.kind, c.container.restartPolicy ?? null])).toEqual([['StatefulSet', null], ['Deployment', 'Always']]);
    const [clusterCache, sidecarCache] = caches as [CacheContainer, CacheContainer];

    // One process per replica, each announced on its own loopback ports.
    const cluster = synthesisedConfig(manifests, clusterCache).cluster;
    const replicas: number = clusterCache.workload.spec.replicas;
    expect([cluster.enabled, cluster.replicas, cluster.statefulSetName]).toEqual([true, replicas, clusterCache.workload.metadata.name]);
    const resp: number[] = [];
    const http: number[] = [];
    for (let i = 0; i < replicas; i++) {
      resp.push(await freePort());
      http.push(await freePort());
    }
    const clusterPods: RunningPod[] = [];
    const roots: string[] = [];
    for (let i = 0; i < replicas; i++) {
      const podName = `${cluster.statefulSetName}-${i}`;
      roots.push(podRoot(podName));
      const pod = await startPod({
        manifests,
        cache: clusterCache,
        podName,
        root: roots[i],
        secrets: SECRETS,
        hosts: {},
        respPort: resp[i],
        httpPort: http[i],
        clusterPorts: { resp, http },
      });
      pods.push(pod);
      clusterPods.push(pod);
    }
    await Promise.all(clusterPods.map((p) => waitReady(p)));

    const hosts = Object.fromEntries(resp.map((port, i) => [`${cluster.statefulSetName}-${i}.${cluster.peerDomain}`, { port }]));
    const podName = `${sidecarCache.workload.metadata.name}-6d8f9c7b5-x7k2p`;
    const sidecar = await startPod({
      manifests,
      cache: sidecarCache,
      podName,
      root: podRoot('catalog'),
      secrets: SECRETS,
      hosts,
      respPort: await freePort(),
      httpPort: await freePort(),
    });
    pods.push(sidecar);
    await waitReady(sidecar);

    const client = new Redis({ host: '127.0.0.1', port: sidecar.respPort, password: respPassword(sidecar), maxRetriesPerRequest: 1 });
    clients.push(client);
    const written = new Map<string, string>();
    for (let i = 0; i < 30; i++) written.set(`product:${i}`, `{"sku":"sku-${i}","price":${i * 3}}`);
    for (const [k, v] of written) expect(await client.set(k, v)).toBe('OK');
    for (const [k, v] of written) expect(await client.get(k)).toBe(v);

    // Read back from the cluster itself, with a stock cluster client and the cluster's password.
    const direct = new Redis.Cluster([{ host: '127.0.0.1', port: resp[0] }], { redisOptions: { password: respPassword(clusterPods[0]) } });
    clients.push(direct);
    const MAGIC = Buffer.from([0xff, 0x53, 0x43, 0x01]); // the remote store's envelope: magic, version, expiresAt, value
    for (const [k, v] of written) {
      const raw: Buffer | null = await direct.getBuffer(k);
      expect(raw).not.toBeNull();
      expect(raw!.subarray(0, 4)).toEqual(MAGIC);
      expect(raw!.subarray(20).toString()).toBe(v);
    }

    // The keys are spread over the pods by slot, and each pod holds only its own.
    const sizes: number[] = [];
    const keysOf: string[][] = [];
    for (const p of clusterPods) {
      const one = new Redis({ host: '127.0.0.1', port: p.respPort, password: respPassword(p) });
      clients.push(one);
      sizes.push(await one.dbsize());
      keysOf.push((await one.keys('*')).sort());
    }
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(written.size);
    expect(sizes.filter((n) => n > 0).length).toBe(replicas);

    // Each cluster pod keeps its entries in the file store on its claim: a pod
    // restarted on the same claim (SIGTERM, then the same container again) preloads them.
    const restarted = clusterPods[1];
    expect(await stopPod(restarted)).toBe(0);
    const again = await startPod({
      manifests,
      cache: clusterCache,
      podName: restarted.name,
      root: roots[1],
      secrets: SECRETS,
      hosts: {},
      respPort: resp[1],
      httpPort: http[1],
      clusterPorts: { resp, http },
    });
    pods.push(again);
    await waitReady(again);
    const fresh = new Redis({ host: '127.0.0.1', port: again.respPort, password: respPassword(again) });
    clients.push(fresh);
    expect((await fresh.keys('*')).sort()).toEqual(keysOf[1]);
    for (const k of keysOf[1]) expect((await fresh.getBuffer(k))!.subarray(20).toString()).toBe(written.get(k));
  }, 60_000);
});

describe('the pod runner refuses what it cannot map', () => {
  const manifests = synth(new SidecarCacheExample(Testing.app(), 'sidecar-cache'));
  const cache = findCacheContainers(manifests)[0];

  test('a host name without a loopback mapping', async () => {
    await expect(startPod({
      manifests, cache, podName: 'sessions-0', root: podRoot('unmapped'), secrets: SECRETS, hosts: {}, respPort: 1, httpPort: 2,
    })).rejects.toThrow('config of sessions-0: host sessions.c9akciq32.eu-west-1.rds.amazonaws.com has no loopback mapping in the test');
  });

  test('a Secret key without a fixture', async () => {
    await expect(startPod({
      manifests,
      cache,
      podName: 'sessions-0',
      root: podRoot('no-secret'),
      secrets: {},
      hosts: { 'sessions.c9akciq32.eu-west-1.rds.amazonaws.com': { port: 1 } },
      respPort: 1,
      httpPort: 2,
    })).rejects.toThrow('no fixture for key "ca.pem" of Secret "rds-ca-bundle": the pod would not start (CreateContainerConfigError)');
  });
});

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { AddressInfo, createServer, Server } from 'node:net';
import { Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  CacheClusterEngine, CacheImage, CachePassword, CacheStore, Coherence, ExternalCacheCluster, IRemoteCache, OutageBehaviour, PersistentStore,
  RemoteCache, SecretStoreRef, SessionAffinity, SidecarMode, WriteMode,
} from '../src';
import { appContainer, cachedApp, chart, postgres, secret } from './cache-fixtures';
import { synthAndCheck } from './manifest-checks';

function byKind(manifests: any[], kind: string): any[] {
  return manifests.filter((m) => m.kind === kind);
}
function podSpec(manifests: any[]): any {
  const w = manifests.find((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet');
  return w.spec.template.spec;
}
function envMap(container: any): Record<string, any> {
  return Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

describe('defaults', () => {
  const c = chart('shop');
  const app = cachedApp(c);
  const manifests = synthAndCheck(c);
  const spec = podSpec(manifests);

  test('a Deployment with the cache as a native sidecar that starts before the app', () => {
    expect(byKind(manifests, 'Deployment')).toHaveLength(1);
    expect(byKind(manifests, 'StatefulSet')).toHaveLength(0);
    expect(spec.initContainers.map((x: any) => [x.name, x.restartPolicy])).toEqual([['state-cache', 'Always']]);
    expect(spec.containers.map((x: any) => x.name)).toEqual(['web']);
    expect(spec.initContainers[0].image).toBe(CacheImage.default().reference);
  });

  test('probes on the HTTP port: /readyz for startup and readiness, /healthz for liveness', () => {
    const cache = spec.initContainers[0];
    expect(cache.startupProbe.httpGet).toEqual({ path: '/readyz', port: 8080, scheme: 'HTTP' });
    expect(cache.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 8080, scheme: 'HTTP' });
    expect(cache.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 8080, scheme: 'HTTP' });
  });

  test('the secure context on both containers and the pod', () => {
    for (const x of [spec.initContainers[0], spec.containers[0]]) {
      expect(x.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        privileged: false,
        readOnlyRootFilesystem: true,
        runAsGroup: 10001,
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(x.volumeMounts.map((m: any) => m.mountPath)).toContain('/tmp');
    }
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, runAsNonRoot: true });
  });

  test('the app gets the connection to 127.0.0.1', () => {
    expect(envMap(spec.containers[0])).toEqual({ CACHE_HOST: '127.0.0.1', CACHE_PORT: '6379', REDIS_URL: 'redis://127.0.0.1:6379' });
  });

  test('the config: RESP on loopback, HTTP on the pod address for probes, no password: protected mode keeps /v1/keys on loopback', () => {
    expect(app.cacheConfig.server).toEqual({ bind: '127.0.0.1', port: 6379, protectedMode: true });
    expect(app.cacheConfig.http).toEqual({ enabled: true, bind: '0.0.0.0', port: 8080 });
    expect(app.cacheConfig.auth).toEqual({});
    const cm = byKind(manifests, 'ConfigMap')[0];
    expect(JSON.parse(cm.data['config.json'])).toEqual(app.cacheConfig);
    const mount = spec.initContainers[0].volumeMounts.find((m: any) => m.mountPath === '/etc/state-cache');
    expect(mount.readOnly).toBe(true);
    expect(spec.volumes.find((v: any) => v.name === mount.name).configMap.name).toBe(cm.metadata.name);
  });

  test('the pod template carries the sha256 of the config', () => {
    const cm = byKind(manifests, 'ConfigMap')[0];
    const sha = createHash('sha256').update(cm.data['config.json']).digest('hex');
    const deployment = byKind(manifests, 'Deployment')[0];
    expect(deployment.spec.template.metadata.annotations['cdk8s-state.dev/config-sha256']).toBe(sha);
  });

  test('grace period: 10 s drain + 10 s flush + 5 s shutdown margin + 5 s', () => {
    expect(spec.terminationGracePeriodSeconds).toBe(30);
    expect(app.cacheConfig.shutdown).toEqual({ timeoutSeconds: 15 });
    expect(app.cacheConfig.persistence.shutdown).toEqual({ flushDeadlineMs: 10000 });
  });

  test('a Service for the app port, a NetworkPolicy admitting the namespace to it and egress to DNS only', () => {
    const svc = byKind(manifests, 'Service')[0];
    expect(svc.spec.ports).toEqual([{ name: 'app', port: 3000, targetPort: 3000 }]);
    const policy = byKind(manifests, 'NetworkPolicy')[0];
    expect(policy.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(policy.spec.ingress).toEqual([{ from: [{ podSelector: {} }], ports: [{ port: 3000, protocol: 'TCP' }] }]);
    expect(policy.spec.egress).toHaveLength(1);
    expect(policy.spec.egress[0].ports).toEqual([{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }]);
  });

  test('one replica: no PDB, no spreading', () => {
    expect(byKind(manifests, 'PodDisruptionBudget')).toHaveLength(0);
    expect(spec.affinity).toBeUndefined();
  });

  test('resources: 256 MiB for the cache when no budget is given', () => {
    expect(spec.initContainers[0].resources).toEqual({
      limits: { 'cpu': '1000m', 'ephemeral-storage': '1Gi', 'memory': '256Mi' },
      requests: { 'cpu': '100m', 'ephemeral-storage': '1Gi', 'memory': '256Mi' },
    });
  });
});

test('a config change changes the checksum, an unchanged config keeps it', () => {
  const checksum = (ttl: number) => {
    const c = chart();
    cachedApp(c, { cache: { expiry: { defaultTtl: Duration.seconds(ttl) } } });
    return byKind(Testing.synth(c), 'Deployment')[0].spec.template.metadata.annotations['cdk8s-state.dev/config-sha256'];
  };
  expect(checksum(60)).toBe(checksum(60));
  expect(checksum(60)).not.toBe(checksum(61));
});

test('with a password the app gets it from the Secret, before REDIS_URL refers to it', () => {
  const c = chart();
  const app = cachedApp(c, { password: CachePassword.fromSecret(secret(c, 'web-cache'), 'token') });
  const spec = podSpec(synthAndCheck(c));
  const env: any[] = spec.containers[0].env;
  const names = env.map((e) => e.name);
  expect(env.find((e) => e.name === 'CACHE_PASSWORD').valueFrom).toEqual({ secretKeyRef: { name: 'web-cache', key: 'token' } });
  expect(env.find((e) => e.name === 'REDIS_URL').value).toBe('redis://:$(CACHE_PASSWORD)@127.0.0.1:6379');
  // The kubelet expands $(VAR) only to variables defined earlier.
  expect(names.indexOf('CACHE_PASSWORD')).toBeLessThan(names.indexOf('REDIS_URL'));
  expect(envMap(spec.initContainers[0]).STATE_CACHE_PASSWORD).toEqual({ secretKeyRef: { name: 'web-cache', key: 'token' } });
  expect(app.cacheConfig.auth).toEqual({ passwordEnv: 'STATE_CACHE_PASSWORD' });
  expect(app.cacheConfig.server.protectedMode).toBe(true);
});

test('a password from an ExternalSecret', () => {
  const c = chart('shop');
  cachedApp(c, { password: CachePassword.fromExternalSecret({ store: SecretStoreRef.clusterSecretStore('vault'), remoteKey: 'shop/web-cache' }) });
  const manifests = synthAndCheck(c);
  const es = byKind(manifests, 'ExternalSecret')[0];
  expect(es.apiVersion).toBe('external-secrets.io/v1');
  expect(es.spec.data).toEqual([{ secretKey: 'password', remoteRef: { key: 'shop/web-cache' } }]);
  expect(envMap(podSpec(manifests).containers[0]).CACHE_PASSWORD).toEqual({ secretKeyRef: { name: es.spec.target.name, key: 'password' } });
});

describe('SidecarMode.CONTAINER (clusters before 1.29)', () => {
  test('the cache is a second container whose preStop waits for the app', () => {
    const c = chart();
    cachedApp(c, { sidecarMode: SidecarMode.CONTAINER, appDrainTime: Duration.seconds(12) });
    const spec = podSpec(synthAndCheck(c));
    expect(spec.initContainers).toBeUndefined();
    expect(spec.containers.map((x: any) => x.name)).toEqual(['web', 'state-cache']);
    const cmd: string[] = spec.containers[1].lifecycle.preStop.exec.command;
    expect(cmd.slice(0, 2)).toEqual(['node', '-e']);
    expect(cmd[2]).toContain('n.connect(3000,');
    expect(cmd[2]).toContain('Date.now()+12000');
  });

  /** Runs the rendered preStop command (node -e) against a real port; resolves with how long it ran. */
  async function runPreStop(port: number, drain: Duration, whileRunning: () => void): Promise<{ ms: number; code: number | null }> {
    const c = chart();
    cachedApp(c, { sidecarMode: SidecarMode.CONTAINER, appDrainTime: drain, app: appContainer({ portNumber: port, readiness: kplus.Probe.fromTcpSocket({ port }), liveness: kplus.Probe.fromHttpGet('/healthz', { port }) }) });
    const cmd: string[] = podSpec(Testing.synth(c)).containers[1].lifecycle.preStop.exec.command;
    const started = Date.now();
    const child = spawn(process.execPath, cmd.slice(1), { stdio: 'ignore' });
    whileRunning();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { ms: Date.now() - started, code };
  }

  function listen(): Promise<Server> {
    return new Promise((resolve) => {
      const server = createServer((s) => s.destroy());
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
  }

  test('preStop returns soon after the app port closes', async () => {
    const server = await listen();
    const port = (server.address() as AddressInfo).port;
    const result = await runPreStop(port, Duration.seconds(20), () => setTimeout(() => server.close(), 1000));
    expect(result.code).toBe(0);
    expect(result.ms).toBeGreaterThanOrEqual(900);
    expect(result.ms).toBeLessThan(5000);
  });

  test('preStop gives up after the drain time when the app never closes its port', async () => {
    const server = await listen();
    const port = (server.address() as AddressInfo).port;
    try {
      const result = await runPreStop(port, Duration.seconds(2), () => {});
      expect(result.code).toBe(0);
      expect(result.ms).toBeGreaterThanOrEqual(1900);
      expect(result.ms).toBeLessThan(6000);
    } finally {
      server.close();
    }
  });
});

describe('a volume per pod makes a StatefulSet', () => {
  const c = chart('shop');
  cachedApp(c, { replicas: 3, cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.file({ size: Size.gibibytes(4), storageClassName: 'ssd' })] } });
  const manifests = synthAndCheck(c);
  const sts = byKind(manifests, 'StatefulSet')[0];

  test('with a headless Service for its pods and a Service for the app', () => {
    expect(byKind(manifests, 'Deployment')).toHaveLength(0);
    const headless = byKind(manifests, 'Service').find((s) => s.metadata.name === sts.spec.serviceName);
    expect(headless.spec.clusterIP).toBe('None');
    expect(byKind(manifests, 'Service').filter((s) => s.spec.clusterIP !== 'None')).toHaveLength(1);
  });

  test('the store on a claim template mounted into the cache only', () => {
    expect(sts.spec.volumeClaimTemplates).toEqual([{
      metadata: { name: 'store-file' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'ssd', resources: { requests: { storage: '4Gi' } } },
    }]);
    const spec = sts.spec.template.spec;
    expect(spec.initContainers[0].volumeMounts).toContainEqual({ name: 'store-file', mountPath: '/var/lib/state-cache/stores/file' });
    expect(spec.containers[0].volumeMounts.map((m: any) => m.name)).not.toContain('store-file');
  });

  test('three replicas: a PDB that allows one disruption and evicts unhealthy pods, spread over nodes and zones', () => {
    const pdb = byKind(manifests, 'PodDisruptionBudget')[0];
    expect(pdb.spec).toEqual({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: sts.spec.selector.matchLabels } });
    const terms = sts.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(terms.map((t: any) => [t.weight, t.podAffinityTerm.topologyKey])).toEqual([[100, 'kubernetes.io/hostname'], [50, 'topology.kubernetes.io/zone']]);
  });
});

test('PersistentStores are mounted into the native sidecar, and the one-replica Deployment is recreated, not rolled', () => {
  const c = chart();
  const data = new PersistentStore(c, 'data', { size: Size.gibibytes(10), metadata: { name: 'cache-data' } });
  cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.file({ store: data })] } });
  const manifests = synthAndCheck(c);
  const deployment = byKind(manifests, 'Deployment')[0];
  expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
  const spec = deployment.spec.template.spec;
  const mount = spec.initContainers[0].volumeMounts.find((m: any) => m.mountPath === '/var/lib/state-cache/stores/file');
  expect(spec.volumes.find((v: any) => v.name === mount.name).persistentVolumeClaim).toEqual({ claimName: 'cache-data', readOnly: false });
  expect(spec.containers[0].volumeMounts.map((m: any) => m.name)).not.toContain(mount.name);
});

test('the cache memory limit is derived from the byte budget with headroom', () => {
  const c = chart();
  cachedApp(c, { cache: { memory: { maxSize: Size.mebibytes(200) } } });
  const cache = podSpec(synthAndCheck(c)).initContainers[0];
  // 200 MiB × 1.25 + 128 MiB
  expect(cache.resources.limits.memory).toBe('378Mi');
  expect(cache.resources.requests.memory).toBe('378Mi');
});

test('given cache resources are kept, missing ones filled', () => {
  const c = chart();
  cachedApp(c, {
    cache: { memory: { maxSize: Size.mebibytes(400) } },
    cacheResources: { memory: { limit: Size.mebibytes(512) }, cpu: { request: kplus.Cpu.millis(250) } },
  });
  const cache = podSpec(synthAndCheck(c)).initContainers[0];
  expect(cache.resources).toEqual({
    limits: { 'ephemeral-storage': '1Gi', 'memory': '512Mi' },
    requests: { 'cpu': '250m', 'ephemeral-storage': '1Gi', 'memory': '512Mi' },
  });
});

test('grace period and runtime shutdown follow the drain time and flush deadline', () => {
  const c = chart();
  const app = cachedApp(c, { appDrainTime: Duration.seconds(20), cache: { flushDeadline: Duration.seconds(30) } });
  const spec = podSpec(synthAndCheck(c));
  expect(spec.terminationGracePeriodSeconds).toBe(60);
  expect(app.terminationGracePeriod.toSeconds()).toBe(60);
  expect(app.cacheConfig.shutdown.timeoutSeconds).toBe(35);
  expect(app.cacheConfig.persistence.shutdown.flushDeadlineMs).toBe(30000);
});

test('image override and image pull secrets', () => {
  const c = chart();
  const digest = `sha256:${'a'.repeat(64)}`;
  cachedApp(c, { image: CacheImage.fromDigest(digest, 'registry.example.com/mirror/state-cache'), imagePullSecrets: [secret(c, 'pull-a'), secret(c, 'pull-b')] });
  const spec = podSpec(synthAndCheck(c));
  expect(spec.initContainers[0].image).toBe(`registry.example.com/mirror/state-cache@${digest}`);
  expect(spec.imagePullSecrets).toEqual([{ name: 'pull-a' }, { name: 'pull-b' }]);
});

test('ingress from the peers given; egress left open when asked', () => {
  const c = chart();
  const gateway = kplus.Pods.select(c, 'Gateway', { labels: { app: 'gateway' } });
  const app = cachedApp(c, { ingressFrom: [gateway], restrictEgress: false });
  expect(app.networkPolicy.node.path).toBe('test/web/NetworkPolicy');
  const policy = byKind(synthAndCheck(c), 'NetworkPolicy')[0];
  expect(policy.spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { app: 'gateway' } } }], ports: [{ port: 3000, protocol: 'TCP' }] }]);
  expect(policy.spec.policyTypes).toEqual(['Ingress']);
  expect(policy.spec.egress).toBeUndefined();
});

test('metrics scrapers may reach the cache HTTP port', () => {
  const c = chart();
  const prometheus = kplus.Pods.select(c, 'Prometheus', { labels: { app: 'prometheus' } });
  cachedApp(c, { metricsFrom: [prometheus] });
  const policy = byKind(synthAndCheck(c), 'NetworkPolicy')[0];
  expect(policy.spec.ingress).toContainEqual({ from: [{ podSelector: { matchLabels: { app: 'prometheus' } } }], ports: [{ port: 8080, protocol: 'TCP' }] });
});

test('the app keeps its own security and resource settings', () => {
  const c = chart();
  cachedApp(c, {
    app: appContainer({
      securityContext: { user: 20000, group: 20000 },
      resources: { memory: { request: Size.mebibytes(512), limit: Size.mebibytes(1024) } },
    }),
  });
  const app = podSpec(synthAndCheck(c)).containers[0];
  expect(app.securityContext).toMatchObject({ runAsUser: 20000, runAsGroup: 20000, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  expect(app.resources.limits.memory).toBe('1024Mi');
  expect(app.resources.requests.memory).toBe('512Mi');
});

test('a CachedApp in front of a cluster: egress to its pods, and the cluster admits the app', () => {
  const c = chart('catalog');
  const cluster = new ExternalCacheCluster(c, 'cache', { replicas: 3, password: CachePassword.fromSecret(secret(c, 'pw')) });
  const app = cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.remote(cluster)] } });
  const manifests = synthAndCheck(c);
  const policies = byKind(manifests, 'NetworkPolicy');
  const appSelector = { matchLabels: app.workload.matchLabels };
  const clusterSelector = { matchLabels: cluster.statefulSet.matchLabels };
  const appPolicy = policies.find((p) => JSON.stringify(p.spec.podSelector) === JSON.stringify(appSelector));
  const clusterPolicy = policies.find((p) => JSON.stringify(p.spec.podSelector) === JSON.stringify(clusterSelector));
  expect(appPolicy.spec.egress).toContainEqual({
    to: [{ podSelector: clusterSelector, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'catalog' } } }],
    ports: [{ port: 6379, protocol: 'TCP' }],
  });
  expect(clusterPolicy.spec.ingress).toContainEqual({
    from: [{ podSelector: appSelector, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'catalog' } } }],
    ports: [{ port: 6379, protocol: 'TCP' }],
  });
  const env = envMap(podSpec([byKind(manifests, 'Deployment')[0]]).initContainers[0]);
  expect(env.STATE_CACHE_STORE_REMOTE_PASSWORD).toEqual({ secretKeyRef: { name: 'pw', key: 'password' } });
});

test('a postgres store adds egress to the database CIDRs on its port', () => {
  const c = chart('shop');
  cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.postgres(postgres(c, { egressCidrs: ['10.20.0.0/16', '2001:db8::/64'] }), { user: 'cache' })] } });
  const policy = byKind(synthAndCheck(c), 'NetworkPolicy').find((p) => p.spec.egress?.length > 1);
  expect(policy.spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ port: 5432, protocol: 'TCP' }] });
  expect(policy.spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '2001:db8::/64' } }], ports: [{ port: 5432, protocol: 'TCP' }] });
});

describe('bad input', () => {
  test.each([
    ['an app that sets the connection variables itself', () => cachedApp(chart(), { app: appContainer({ envVariables: { REDIS_URL: kplus.EnvValue.fromValue('redis://x') } }) }),
      'test/web: app container already sets REDIS_URL. CachedApp sets CACHE_HOST, CACHE_PORT, REDIS_URL (and CACHE_PASSWORD with a password): remove it from app.envVariables'],
    ['an app container named like the cache', () => cachedApp(chart(), { app: appContainer({ name: 'state-cache' }) }),
      'test/web: app container is named "state-cache". That is the cache container\'s name: give the app container another name'],
    ['an app without a port', () => cachedApp(chart(), { app: appContainer({ portNumber: undefined }) }),
      'test/web: app container "web" has no port. Give app.portNumber (or app.ports): the Service and NetworkPolicy serve it'],
    ['a grace period shorter than drain and flush', () => cachedApp(chart(), { terminationGracePeriod: Duration.seconds(24) }),
      'test/web: terminationGracePeriod 24s is shorter than the app drain time (10s) plus the cache shutdown (flushDeadline 10s + 5s). Give at least 25s (better 30s), or shorten appDrainTime or cache.flushDeadline'],
  ] as Array<[string, () => void, string]>)('%s', (_n, build, message) => {
    expect(build).toThrow(new Error(message));
  });
});

test('a remote store on an ExternalCacheCluster writes versioned: state-cache runs Lua scripts', () => {
  const c = chart('catalog');
  const cluster = new ExternalCacheCluster(c, 'cache', { replicas: 3, password: CachePassword.fromSecret(secret(c, 'pw')) });
  cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.remote(cluster)] } });
  const configs = byKind(synthAndCheck(c), 'ConfigMap').map((m) => JSON.parse(m.data['config.json']));
  const config = configs.find((cfg) => JSON.stringify(cfg.stores).includes('"type":"remote"'));
  expect(JSON.stringify(config.stores)).toContain('"versioning":"script"');

  // A server declared without scripting still refuses versioned writes.
  const c2 = chart('catalog');
  const endpoint: IRemoteCache = {
    remoteCacheEndpoint: { nodes: ['old-redis:6379'], cluster: false, supportsScripting: false, port: 6379, egressCidrs: ['192.0.2.10/32'] },
    allowClient: () => undefined,
  };
  expect(() => cachedApp(c2, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.remote(endpoint, { versioned: true })] } }))
    .toThrow('is a server without scripting, but versioned is true. Versioned writes run a Lua script, which this server cannot run. Leave versioned unset, or point the store at a server with scripting');
});

describe('coherence across replicas', () => {
  const configOf = (c: ReturnType<typeof chart>): any => {
    const cm = byKind(synthAndCheck(c), 'ConfigMap').find((m) => m.data?.['config.json']);
    return JSON.parse(cm.data['config.json']);
  };
  const pgCache = (c: ReturnType<typeof chart>) => ({ writeMode: WriteMode.writeThrough(), stores: [CacheStore.postgres(postgres(c), { user: 'cache' })] });

  test('on by default with more than one replica on a shared PostgreSQL store', () => {
    const c = chart();
    cachedApp(c, { replicas: 3, cache: pgCache(c) });
    expect(configOf(c).persistence.coherence).toEqual({ enabled: true, heartbeatMs: 1000, heartbeatTimeoutMs: 3000, maxUnvalidatedMs: 5000, onOutage: 'drop' });
  });

  test('off by default with one replica; storeNotifications turns it on with its options', () => {
    const c = chart();
    cachedApp(c, { cache: pgCache(c) });
    expect(configOf(c).persistence.coherence).toBeUndefined();
    const c2 = chart();
    cachedApp(c2, {
      cache: pgCache(c2),
      coherence: Coherence.storeNotifications({
        maxUnvalidated: Duration.seconds(2),
        onOutage: OutageBehaviour.SERVE_STALE,
        heartbeat: Duration.millis(200),
        heartbeatTimeout: Duration.millis(600),
      }),
    });
    expect(configOf(c2).persistence.coherence).toEqual({ enabled: true, heartbeatMs: 200, heartbeatTimeoutMs: 600, maxUnvalidatedMs: 2000, onOutage: 'serve-stale' });
  });

  test('on by default for replicas on a remote cache cluster (CLIENT TRACKING), on either engine', () => {
    for (const engine of [undefined, CacheClusterEngine.valkey()]) {
      const c = chart();
      const cluster = new ExternalCacheCluster(c, 'cache', { replicas: 6, password: CachePassword.fromSecret(secret(c, 'pw')), engine });
      cachedApp(c, { replicas: 2, cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.remote(cluster, { name: 'cluster' })] } });
      const configs = byKind(synthAndCheck(c), 'ConfigMap').filter((m) => m.data?.['config.json']).map((m) => JSON.parse(m.data['config.json']));
      const near = configs.find((cfg) => JSON.stringify(cfg.stores ?? {}).includes('"type":"remote"'));
      expect(near.persistence.coherence).toEqual({ enabled: true, heartbeatMs: 1000, heartbeatTimeoutMs: 3000, maxUnvalidatedMs: 5000, onOutage: 'drop' });
    }
  });

  test('PER_POD_DATA turns it off with several replicas', () => {
    const c = chart();
    cachedApp(c, { replicas: 3, cache: pgCache(c), coherence: Coherence.PER_POD_DATA });
    expect(configOf(c).persistence.coherence).toBeUndefined();
  });

  test('sessionAffinity ClientIP with its timeout on the app\'s Service', () => {
    const c = chart();
    cachedApp(c, { replicas: 3, cache: pgCache(c), sessionAffinity: SessionAffinity.clientIp(Duration.minutes(30)) });
    const svc = byKind(synthAndCheck(c), 'Service').find((s) => s.spec.ports?.[0]?.name === 'app');
    expect(svc.spec.sessionAffinity).toBe('ClientIP');
    expect(svc.spec.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 1800 } });
    const c2 = chart();
    cachedApp(c2);
    expect(byKind(synthAndCheck(c2), 'Service')[0].spec.sessionAffinity).toBeUndefined();
  });

  test.each([
    ['coherence off with replicas on a shared PostgreSQL store', (c: ReturnType<typeof chart>) => cachedApp(c, { replicas: 3, cache: pgCache(c), coherence: Coherence.NONE }),
      'test/web: replicas 3 share the store(s) "postgres" with coherence off, so a write through one pod leaves stale copies in the others\' caches. '
      + 'Remove coherence (Coherence.storeNotifications() is the default here), or give coherence: Coherence.PER_POD_DATA if each pod only reads keys it writes itself'],
    ['replicas on a remote server without CLIENT TRACKING', (c: ReturnType<typeof chart>) => {
      const old = RemoteCache.fromEndpoint({ host: 'redis5.example.com', egressCidrs: ['192.0.2.0/24'], supportsTracking: false });
      cachedApp(c, { replicas: 2, cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.remote(old, { name: 'old' })] } });
    }, 'test/web: replicas 2 share the store(s) "old" with coherence off, so a write through one pod leaves stale copies in the others\' caches. '
      + 'Store(s) "old" cannot announce changes (PostgreSQL stores and remote stores on a server with CLIENT TRACKING do): use one replica, a store that announces, or coherence: Coherence.PER_POD_DATA if each pod only reads keys it writes itself'],
    ['store notifications with a file store', (c: ReturnType<typeof chart>) => cachedApp(c, {
      cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.file({ size: Size.gibibytes(1) })] },
      coherence: Coherence.storeNotifications(),
    }), 'test/web: coherence through store notifications needs a written, shared store that announces changes (PostgreSQL, or a remote server with CLIENT TRACKING), and no store is written and shared. '
      + 'Add a CacheStore.postgres or CacheStore.remote store, or remove coherence (a file store is per pod by nature)'],
    ['a bound within the heartbeat timeout', (c: ReturnType<typeof chart>) => cachedApp(c, {
      cache: pgCache(c), coherence: Coherence.storeNotifications({ maxUnvalidated: Duration.seconds(3) }),
    }), 'test/web: coherence maxUnvalidated 3000ms does not exceed heartbeatTimeout 3000ms. A silent channel is only noticed after heartbeatTimeout: give maxUnvalidated more than that'],
    ['a heartbeat timeout within the heartbeat', (c: ReturnType<typeof chart>) => cachedApp(c, {
      cache: pgCache(c), coherence: Coherence.storeNotifications({ heartbeat: Duration.seconds(3) }),
    }), 'test/web: coherence heartbeatTimeout 3000ms does not exceed heartbeat 3000ms. Give a heartbeatTimeout of a few heartbeats (e.g. 3 × heartbeat)'],
    ['a session affinity beyond a day', (c: ReturnType<typeof chart>) => cachedApp(c, { sessionAffinity: SessionAffinity.clientIp(Duration.hours(25)) }),
      'test/web: sessionAffinity timeout 90000000ms is not a whole number of seconds from 1 to 86400. Give SessionAffinity.clientIp(Duration.hours(3)) or another whole number of seconds up to 24 hours'],
  ] as Array<[string, (c: ReturnType<typeof chart>) => void, string]>)('refused: %s', (_n, build, message) => {
    expect(() => build(chart())).toThrow(new Error(message));
  });
});

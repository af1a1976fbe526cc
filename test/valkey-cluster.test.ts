import { Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  CacheClusterEngine, CacheImage, CachePassword, CacheStore, Eviction, ExternalCacheCluster, ExternalCacheClusterProps,
  ValkeyClusterOptions, WriteMode,
} from '../src';
import { cachedApp, chart, secret } from './cache-fixtures';
import { synthAndCheck } from './manifest-checks';

function byKind(manifests: any[], kind: string): any[] {
  return manifests.filter((m) => m.kind === kind);
}

function valkey(c = chart('shop'), options: ValkeyClusterOptions = {}, props: Partial<ExternalCacheClusterProps> = {}): ExternalCacheCluster {
  return new ExternalCacheCluster(c, 'cache', {
    name: 'sessions',
    password: CachePassword.fromSecret(secret(c, 'sessions-cache'), 'pw'),
    engine: CacheClusterEngine.valkey(options),
    ...props,
  });
}

describe('a Valkey cluster with the defaults', () => {
  const c = chart('shop');
  const cl = valkey(c);
  const manifests = synthAndCheck(c);
  const sts = byKind(manifests, 'StatefulSet')[0];
  const pod = sts.spec.template.spec;
  const container = pod.containers[0];
  const conf: string = byKind(manifests, 'ConfigMap')[0].data['valkey.conf'];

  test('3 primaries with 1 replica each: 6 pods, Parallel, pinned valkey/valkey image', () => {
    expect(cl.engine.name).toBe('valkey');
    expect(sts.spec.replicas).toBe(6);
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(container.image).toBe(`valkey/valkey:${CacheClusterEngine.DEFAULT_VALKEY_VERSION}`);
    expect(CacheClusterEngine.DEFAULT_VALKEY_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(cl.seedNodes).toEqual([0, 1, 2, 3, 4, 5].map((i) => `sessions-${i}.sessions-peers.shop.svc.cluster.local:6379`));
    expect(cl.cacheConfig).toEqual({});
  });

  test('the server config: cluster mode with hostname endpoints, AOF, maxmemory half the limit', () => {
    expect(conf.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual([
      'bind * -::*',
      'dir /data',
      'cluster-enabled yes',
      'cluster-config-file /data/nodes.conf',
      'cluster-node-timeout 5000',
      'cluster-preferred-endpoint-type hostname',
      'cluster-require-full-coverage no',
      'appendonly yes',
      'appendfsync everysec',
      'save ""',
      'maxmemory 536870912',
      'maxmemory-policy allkeys-lru',
      'tcp-keepalive 60',
    ]);
    // Never in the config: a password, or a directive Redis 7.0 refuses (cluster-announce-human-nodename).
    expect(conf).not.toMatch(/requirepass|masterauth|human-nodename/);
  });

  test('the ConfigMap holds the scripts, and the pods roll when it changes', () => {
    const data = byKind(manifests, 'ConfigMap')[0].data;
    expect(Object.keys(data).sort()).toEqual(['bootstrap.sh', 'lib.sh', 'prestop.sh', 'probe.sh', 'remeet.sh', 'start.sh', 'valkey.conf']);
    expect(sts.spec.template.metadata.annotations['cdk8s-state.dev/config-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  test('per-pod arguments the kubelet expands; POD_NAME and POD_IP from the Downward API; the password from the Secret', () => {
    expect(container.command).toEqual(['sh', '/etc/valkey/start.sh']);
    expect(container.args).toEqual(['--cluster-announce-hostname', '$(POD_NAME).sessions-peers.shop.svc.cluster.local', '--cluster-announce-ip', '$(POD_IP)']);
    expect(container.env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'VALKEY_PORT', value: '6379' },
      { name: 'VALKEY_PASSWORD', valueFrom: { secretKeyRef: { name: 'sessions-cache', key: 'pw' } } },
      { name: 'VALKEY_HANDOFF_SECONDS', value: '15' },
    ]);
    expect(container.ports).toEqual([{ containerPort: 6379, name: 'resp' }, { containerPort: 16379, name: 'bus' }]);
  });

  test('readiness and liveness are different scripts; the preStop hands off; the grace period covers it', () => {
    expect(container.readinessProbe.exec.command).toEqual(['sh', '/etc/valkey/probe.sh', 'ready']);
    expect(container.livenessProbe.exec.command).toEqual(['sh', '/etc/valkey/probe.sh', 'live']);
    expect(container.startupProbe.exec.command).toEqual(['sh', '/etc/valkey/probe.sh', 'live']);
    expect(container.lifecycle.preStop.exec.command).toEqual(['sh', '/etc/valkey/prestop.sh']);
    expect(pod.terminationGracePeriodSeconds).toBe(35);
  });

  test('a claim per pod for /data, kept; config read-only; run directory in memory', () => {
    expect(sts.spec.volumeClaimTemplates.map((t: any) => [t.metadata.name, t.spec.resources.requests.storage])).toEqual([['data', '10Gi']]);
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(container.volumeMounts).toEqual([
      { mountPath: '/etc/valkey', name: 'config', readOnly: true },
      { mountPath: '/run/valkey', name: 'run' },
      { mountPath: '/tmp', name: 'tmp' },
      { mountPath: '/data', name: 'data' },
    ]);
    expect(pod.volumes.find((v: any) => v.name === 'run').emptyDir).toEqual({ medium: 'Memory', sizeLimit: '1Mi' });
  });

  test('headless peers Service with both ports, publishing not-ready pods; a client Service', () => {
    const [headless, client] = ['sessions-peers', 'sessions'].map((n) => byKind(manifests, 'Service').find((s) => s.metadata.name === n));
    expect(headless.spec).toMatchObject({
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      ports: [{ name: 'resp', port: 6379, targetPort: 6379 }, { name: 'bus', port: 16379, targetPort: 16379 }],
    });
    expect(client.spec.ports).toEqual([{ name: 'resp', port: 6379, targetPort: 6379 }]);
    expect(client.spec.selector).toEqual(sts.spec.selector.matchLabels);
  });

  test('PDB maxUnavailable 1; spread over nodes and zones', () => {
    expect(byKind(manifests, 'PodDisruptionBudget')[0].spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    const terms = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(terms.map((t: any) => t.podAffinityTerm.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
  });

  test('the bootstrap Job: named by a hash, bounded, no token, its shape in the environment', () => {
    const job = byKind(manifests, 'Job')[0];
    expect(cl.bootstrapJob).toBeDefined();
    expect(job.metadata.name).toMatch(/^sessions-bootstrap-[0-9a-f]{8}$/);
    expect(job.spec).toMatchObject({ backoffLimit: 4, activeDeadlineSeconds: 1800, ttlSecondsAfterFinished: 3600 });
    expect(job.spec.template.spec.automountServiceAccountToken).toBe(false);
    const env = Object.fromEntries(job.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toEqual({
      VALKEY_STATEFULSET: 'sessions',
      VALKEY_PEER_DOMAIN: 'sessions-peers.shop.svc.cluster.local',
      VALKEY_PODS: '6',
      VALKEY_PRIMARIES: '3',
      VALKEY_REPLICAS_PER_PRIMARY: '1',
      VALKEY_PORT: '6379',
      VALKEY_WAIT_SECONDS: '1500',
      VALKEY_PASSWORD: { secretKeyRef: { name: 'sessions-cache', key: 'pw' } },
    });
    // No RBAC at all: the Job finds pods through DNS.
    expect(manifests.filter((m) => /Role|ServiceAccount/.test(m.kind))).toEqual([]);
  });

  test('NetworkPolicies: members on both ports, the Job on the client port, DNS egress; the Job talks to members only', () => {
    const policies = byKind(manifests, 'NetworkPolicy');
    const members = policies.find((p) => p.metadata.name === 'sessions');
    const jobPods = byKind(manifests, 'Job')[0].spec.template.metadata.labels;
    expect(members.spec.ingress).toEqual([
      { from: [{ podSelector: sts.spec.selector, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } }], ports: [{ port: 6379, protocol: 'TCP' }, { port: 16379, protocol: 'TCP' }] },
      { from: [{ podSelector: { matchLabels: jobPods }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } }], ports: [{ port: 6379, protocol: 'TCP' }] },
    ]);
    expect(members.spec.egress.map((r: any) => r.ports)).toEqual([
      [{ port: 6379, protocol: 'TCP' }, { port: 16379, protocol: 'TCP' }],
      [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
    ]);
    const job = policies.find((p) => p.metadata.name === 'sessions-bootstrap');
    expect(job.spec.podSelector).toEqual({ matchLabels: jobPods });
    expect([...job.spec.policyTypes].sort()).toEqual(['Egress', 'Ingress']);
    expect(job.spec.ingress).toBeUndefined(); // deny all
    expect(job.spec.egress.map((r: any) => r.ports)).toEqual([[{ port: 6379, protocol: 'TCP' }], [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }]]);
  });
});

test('every option: shape, image by digest, memory, eviction, timing, PDB, storage, dual-channel replication', () => {
  const c = chart('shop');
  valkey(c, {
    primaries: 4,
    replicasPerPrimary: 2,
    version: '8.0.6-alpine',
    repository: 'registry.example.com/mirror/valkey',
    digest: `sha256:${'a'.repeat(64)}`,
    storageSize: Size.gibibytes(20),
    storageClassName: 'fast-ssd',
    maxMemory: Size.mebibytes(1536),
    eviction: Eviction.LFU,
    nodeTimeout: Duration.seconds(3),
    handOffTimeout: Duration.seconds(30),
    maxUnavailable: 2,
    dualChannelReplication: true,
    bootstrapDeadline: Duration.minutes(60),
  }, { cacheResources: { memory: { limit: Size.gibibytes(2) } }, terminationGracePeriod: Duration.seconds(60), imagePullSecrets: [secret(c, 'mirror')] });
  const manifests = synthAndCheck(c);
  const sts = byKind(manifests, 'StatefulSet')[0];
  const container = sts.spec.template.spec.containers[0];
  expect(sts.spec.replicas).toBe(12);
  expect(container.image).toBe(`registry.example.com/mirror/valkey:8.0.6-alpine@sha256:${'a'.repeat(64)}`);
  expect(container.resources.limits.memory).toBe('2048Mi');
  expect(sts.spec.template.spec.terminationGracePeriodSeconds).toBe(60);
  expect(sts.spec.template.spec.imagePullSecrets).toEqual([{ name: 'mirror' }]);
  expect(sts.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'fast-ssd', resources: { requests: { storage: '20Gi' } } });
  const conf: string = byKind(manifests, 'ConfigMap')[0].data['valkey.conf'];
  expect(conf).toContain('cluster-node-timeout 3000\n');
  expect(conf).toContain(`maxmemory ${1536 * 1024 * 1024}\nmaxmemory-policy allkeys-lfu\n`);
  expect(conf).toContain('dual-channel-replication-enabled yes\n');
  expect(byKind(manifests, 'PodDisruptionBudget')[0].spec.maxUnavailable).toBe(2);
  const job = byKind(manifests, 'Job')[0];
  expect(job.spec.activeDeadlineSeconds).toBe(3600);
  expect(job.spec.template.spec.imagePullSecrets).toEqual([{ name: 'mirror' }]);
  expect(job.spec.template.spec.containers[0].env.find((e: any) => e.name === 'VALKEY_PODS').value).toBe('12');
});

test('pods given as replicas instead of primaries', () => {
  const c = chart('shop');
  valkey(c, { replicasPerPrimary: 2 }, { replicas: 9 });
  expect(byKind(Testing.synth(c), 'StatefulSet')[0].spec.replicas).toBe(9);
});

test('a Redis image (7.0 or later) is accepted when nothing Valkey-only is emitted', () => {
  const c = chart('shop');
  valkey(c, { repository: 'redis', version: '7.2.5' });
  expect(byKind(synthAndCheck(c), 'StatefulSet')[0].spec.template.spec.containers[0].image).toBe('redis:7.2.5');
});

test('growing the cluster renames the Job and leaves the pod template alone (no roll)', () => {
  const synth = (primaries: number) => {
    const c = chart('shop');
    valkey(c, { primaries });
    return Testing.synth(c);
  };
  const [three, four, again] = [synth(3), synth(4), synth(3)];
  const job = (m: any[]) => byKind(m, 'Job')[0].metadata.name;
  const sts = (m: any[]) => byKind(m, 'StatefulSet')[0];
  expect(job(four)).not.toBe(job(three));
  expect(job(again)).toBe(job(three));
  expect(sts(four).spec.replicas).toBe(8);
  expect(sts(four).spec.template).toEqual(sts(three).spec.template);
});

describe('using it', () => {
  test('connect() gives the seeds, the client Service and the password, and admits the workload', () => {
    const c = chart('shop');
    const cl = valkey(c);
    const w = new kplus.Deployment(c, 'worker', { metadata: { namespace: 'shop' }, containers: [{ image: 'ghcr.io/example/worker:1.0.0' }] });
    cl.connect(w);
    const manifests = Testing.synth(c);
    const env = byKind(manifests, 'Deployment')[0].spec.template.spec.containers[0].env;
    expect(env.map((e: any) => e.name)).toEqual(['REDIS_CLUSTER_NODES', 'CACHE_HOST', 'CACHE_PORT', 'CACHE_PASSWORD', 'REDIS_URL']);
    expect(env[0].value.split(',')).toHaveLength(6);
    const members = byKind(manifests, 'NetworkPolicy').find((p) => p.metadata.name === 'sessions');
    expect(members.spec.ingress).toHaveLength(3);
    expect(members.spec.ingress[2].ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
  });

  test('a CachedApp near cache writes behind to it with versioned writes', () => {
    const c = chart('shop');
    const cl = valkey(c);
    const app = cachedApp(c, { cache: { writeMode: WriteMode.writeBehind(), stores: [CacheStore.remote(cl, { name: 'valkey' })] } });
    const manifests = synthAndCheck(c);
    const store = app.cacheConfig.stores.chain[0].store;
    expect(store).toMatchObject({ type: 'remote', name: 'valkey', mode: 'cluster', versioning: 'script', password: { env: 'STATE_CACHE_STORE_VALKEY_PASSWORD' } });
    expect(store.nodes).toHaveLength(6);
    const members = byKind(manifests, 'NetworkPolicy').find((p) => p.metadata.name === 'sessions');
    expect(members.spec.ingress).toHaveLength(3);
  });
});

describe('props of state-cache are refused with Valkey', () => {
  test.each([
    ['cache settings', { cache: { writeMode: WriteMode.writeThrough(), stores: [] } },
      'test/cache: cache settings (writeMode, stores) are state-cache\'s, but the engine is Valkey. Leave cache out: Valkey keeps its data in its own append-only file on a claim per pod (engine storageSize); size its memory with the engine\'s maxMemory and eviction'],
    ['a state-cache image', { image: CacheImage.fromTag('1.2.3') },
      'test/cache: image "ghcr.io/cdk8s-state/state-cache:1.2.3" is a state-cache image, but the engine is Valkey. Leave image out and choose the Valkey image with CacheClusterEngine.valkey({ version, repository, digest })'],
    ['monitoring', { monitoring: {} },
      'test/cache: monitoring (a ServiceMonitor, alerts and a dashboard for state-cache\'s metrics) is state-cache\'s, but the engine is Valkey, which serves no /metrics. Leave monitoring out; scrape Valkey with an exporter (e.g. redis_exporter) admitted through clients, and alert on its metrics'],
    ['metrics scrapers', 'metricsFrom',
      'test/cache: metricsFrom (1 peer(s)) admits scrapers to state-cache\'s HTTP port, which Valkey does not have. Leave metricsFrom out; scrape Valkey with an exporter admitted through clients'],
  ] as Array<[string, Partial<ExternalCacheClusterProps> | string, string]>)('%s', (_n, props, message) => {
    const c = chart('shop');
    const extra = props === 'metricsFrom' ? { metricsFrom: [kplus.Pods.select(c, 'Prometheus', { labels: { app: 'prometheus' } })] } : props as Partial<ExternalCacheClusterProps>;
    expect(() => valkey(c, {}, extra)).toThrow(new Error(message));
  });
});

describe('bad input', () => {
  test.each([
    ['fewer than 3 primaries', { primaries: 2 }, {},
      'test/cache: primaries 2 is fewer than 3. Valkey Cluster needs at least 3 primaries, so that a majority of them can vote a replica in when one fails: give primaries: 3 or more'],
    ['pods not divisible into primaries × (1 + replicas)', {}, { replicas: 7 },
      'test/cache: replicas 7 cannot be split into primaries × (1 + replicasPerPrimary 1). Give a multiple of 2 (e.g. 6 or 8), or leave replicas out and give the engine\'s primaries'],
    ['pods and primaries that disagree', { primaries: 4 }, { replicas: 6 },
      'test/cache: replicas 6 does not match primaries 4 × (1 + replicasPerPrimary 1) = 8. Give the engine\'s primaries and leave replicas out (or give the same number of pods in both)'],
    ['too few pods for 3 primaries', {}, { replicas: 4 },
      'test/cache: primaries 2 is fewer than 3. Valkey Cluster needs at least 3 primaries, so that a majority of them can vote a replica in when one fails: give primaries: 3 or more'],
    ['too many replicas per primary', { replicasPerPrimary: 6 }, {},
      'test/cache: replicasPerPrimary 6 is not a whole number from 0 to 5. Give 0 (no failover) to 5 replicas of each primary; 1 is the usual choice'],
    ['latest', { version: 'latest' }, {},
      'test/cache: Valkey version "latest" is not a pinned version. Give a full version such as "8.1.11" (never "latest" or a floating "8.1"); a digest pins it further'],
    ['a floating tag', { version: '8.1' }, {},
      'test/cache: Valkey version "8.1" is not a pinned version. Give a full version such as "8.1.11" (never "latest" or a floating "8.1"); a digest pins it further'],
    ['a Valkey version below 7.2', { version: '7.0.15' }, {},
      'test/cache: Valkey version "7.0.15" is below 7.2. Valkey starts at 7.2 (Redis 7.2.4 forked): give 8.1.11 or another 7.2+ version; for a Redis image, set repository too'],
    ['a Redis version below 7.0', { repository: 'redis', version: '6.2.14' }, {},
      'test/cache: Redis version "6.2.14" is below 7.0. Hostname endpoints (cluster-announce-hostname) need Redis 7.0 or later: give 7.0 or later, or use Valkey'],
    ['a Redis image with a Valkey-only directive', { repository: 'docker.io/library/redis', version: '7.2.5', dualChannelReplication: true }, {},
      'test/cache: dualChannelReplication needs Valkey 8.0 or later, but the image is docker.io/library/redis:7.2.5. It emits dual-channel-replication-enabled, which the server refuses at start: use valkey/valkey 8.0 or later, or leave dualChannelReplication out'],
    ['a Valkey too old for a directive', { version: '7.2.11', dualChannelReplication: true }, {},
      'test/cache: dualChannelReplication needs Valkey 8.0 or later, but the image is valkey/valkey:7.2.11. It emits dual-channel-replication-enabled, which the server refuses at start: use valkey/valkey 8.0 or later, or leave dualChannelReplication out'],
    ['a PDB that would block every rollout', { maxUnavailable: 0 }, {},
      'test/cache: maxUnavailable 0 would block every rollout and node drain (the PodDisruptionBudget would allow no pod down). Give maxUnavailable: 1 (the default): the preStop hand-off keeps every shard serving while one pod is down'],
    ['a PDB that could take a whole shard down', { maxUnavailable: 2 }, {},
      'test/cache: maxUnavailable 2 is not a whole number from 1 to 1. More than 1 pod(s) down at once could be every copy of one shard: give 1'],
    ['a bad digest', { digest: 'sha256:abc' }, {},
      'test/cache: digest "sha256:abc" is not a sha256 digest. Give "sha256:" followed by 64 lower-case hex digits'],
    ['a bad repository', { repository: 'Valkey/Valkey' }, {},
      'test/cache: repository "Valkey/Valkey" is not a valid image repository. Use lower-case host/path components, e.g. "registry.example.com/mirror/valkey"'],
    ['maxmemory too close to the limit', { maxMemory: Size.mebibytes(900) }, {},
      'test/cache: maxMemory 943718400 bytes is above 75% of the container memory limit 1073741824 bytes. An AOF rewrite forks the server and copy-on-write needs the rest: raise cacheResources.memory.limit to at least 1200Mi, or lower maxMemory'],
    ['a node timeout below a second', { nodeTimeout: Duration.millis(500) }, {},
      'test/cache: nodeTimeout 500 ms is out of range. Give 1 to 60 seconds: shorter fails over on every hiccup, longer leaves a dead primary\'s slots down that long'],
    ['a grace period shorter than the hand-off', {}, { terminationGracePeriod: Duration.seconds(10) },
      'test/cache: terminationGracePeriod 10s is shorter than the preStop hand-off (handOffTimeout 15s) + 5s. Give at least 20s, or shorten the engine\'s handOffTimeout'],
  ] as Array<[string, ValkeyClusterOptions, Partial<ExternalCacheClusterProps>, string]>)('%s', (_n, options, props, message) => {
    expect(() => valkey(chart('shop'), options, props)).toThrow(new Error(message));
  });
});

test('state-cache stays the default: CacheClusterEngine.stateCache() synthesises exactly what no engine does', () => {
  const synth = (engine?: CacheClusterEngine) => {
    const c = chart('shop');
    const cl = new ExternalCacheCluster(c, 'cache', { name: 'catalog', password: CachePassword.fromSecret(secret(c, 'pw')), engine });
    return { manifests: Testing.synth(c), cl };
  };
  const [none, explicit] = [synth(), synth(CacheClusterEngine.stateCache())];
  expect(explicit.manifests).toEqual(none.manifests);
  expect(none.cl.engine.name).toBe('state-cache');
  expect(none.cl.bootstrapJob).toBeUndefined();
  expect(none.cl.remoteCacheEndpoint.supportsScripting).toBe(true); // state-cache runs Lua scripts (issue 15)
});

describe('waiting for replicas (WAIT) from a remote store', () => {
  test('the near cache waits for one replica after each batch', () => {
    const c = chart('shop');
    const cl = valkey(c);
    const app = cachedApp(c, {
      cache: { writeMode: WriteMode.writeBehind(), stores: [CacheStore.remote(cl, { name: 'valkey', waitForReplicas: 1, replicationTimeout: Duration.millis(500) })] },
    });
    synthAndCheck(c);
    expect(app.cacheConfig.stores.chain[0].store).toMatchObject({ commandTimeoutMs: 5000, wait: { replicas: 1, timeoutMs: 500 } });
    expect(cl.remoteCacheEndpoint.replicasPerPrimary).toBe(1);
  });

  test('no wait section unless asked', () => {
    const c = chart('shop');
    const app = cachedApp(c, { cache: { writeMode: WriteMode.writeBehind(), stores: [CacheStore.remote(valkey(c))] } });
    expect(app.cacheConfig.stores.chain[0].store.wait).toBeUndefined();
  });

  test.each([
    ['more replicas than the Valkey cluster has', 'valkey', { waitForReplicas: 2 },
      'test/web: remote store "remote" waits for 2 replica(s), but the server has 1 per primary. Give waitForReplicas: 1 or less, or more replicasPerPrimary in the cluster'],
    ['replicas of a state-cache cluster', 'state-cache', { waitForReplicas: 1 },
      'test/web: remote store "remote" waits for 1 replica(s), but the server has no replicas. Leave waitForReplicas out: a state-cache cluster keeps durability in its own stores, or run the cluster on CacheClusterEngine.valkey() with replicas'],
    ['a WAIT longer than a command may take', 'valkey', { waitForReplicas: 1, replicationTimeout: Duration.seconds(5) },
      'test/web: remote store "remote" replicationTimeout 5000 ms is not shorter than commandTimeout 5000 ms. WAIT is a command: give a replicationTimeout shorter than commandTimeout'],
    ['a negative count', 'valkey', { waitForReplicas: -1 },
      'test/web: remote store "remote" waitForReplicas -1 is out of range. Use a whole number from 0 to 16'],
  ] as Array<[string, string, object, string]>)('%s', (_n, engine, options, message) => {
    const c = chart('shop');
    const cl = engine === 'valkey'
      ? valkey(c)
      : new ExternalCacheCluster(c, 'cache', { name: 'catalog', password: CachePassword.fromSecret(secret(c, 'pw')) });
    const stores = [CacheStore.remote(cl, options)];
    expect(() => cachedApp(c, { cache: { writeMode: WriteMode.writeBehind(), stores } })).toThrow(new Error(message));
  });
});

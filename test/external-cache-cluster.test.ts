import { Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { CachePassword, CacheStore, ExternalCacheCluster, ExternalCacheClusterProps, SecretStoreRef, WriteMode } from '../src';
import { appContainer, chart, secret } from './cache-fixtures';
import { synthAndCheck } from './manifest-checks';
import { SECURE_CONTAINER_CONTEXT } from './secure-workload';

function byKind(manifests: any[], kind: string): any[] {
  return manifests.filter((m) => m.kind === kind);
}

function cluster(c = chart('catalog'), props: Partial<ExternalCacheClusterProps> = {}, id = 'cache'): ExternalCacheCluster {
  return new ExternalCacheCluster(c, id, { name: 'catalog-cache', password: CachePassword.fromSecret(secret(c, 'cache-password'), 'pw'), ...props });
}

/** A workload that passes the checks on its own. */
function client(c: ReturnType<typeof chart>, id = 'client'): kplus.Deployment {
  return new kplus.Deployment(c, id, {
    replicas: 1,
    metadata: { name: id, namespace: c.namespace },
    automountServiceAccountToken: false,
    securityContext: { user: 10001, group: 10001, ensureNonRoot: true },
    containers: [{
      ...appContainer(),
      resources: {
        cpu: { request: kplus.Cpu.millis(100) },
        memory: { request: Size.mebibytes(128), limit: Size.mebibytes(128) },
        ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(1) },
      },
      securityContext: SECURE_CONTAINER_CONTEXT,
    }],
  });
}

describe('a cluster of three', () => {
  const c = chart('catalog');
  const cl = cluster(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.file({ size: Size.gibibytes(8) })] } });
  const manifests = synthAndCheck(c);
  const sts = byKind(manifests, 'StatefulSet')[0];

  test('the cluster section names the StatefulSet, its size and the peer domain', () => {
    expect(cl.cacheConfig.cluster).toEqual({
      enabled: true,
      replicas: 3,
      statefulSetName: 'catalog-cache',
      podNameEnv: 'HOSTNAME',
      peerDomain: 'catalog-cache-peers.catalog.svc.cluster.local',
      announcePort: 6379,
    });
    expect(sts.metadata.name).toBe('catalog-cache');
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
  });

  test('RESP on the pod address behind a password from the Secret', () => {
    expect(cl.cacheConfig.server).toEqual({ bind: '0.0.0.0', port: 6379, protectedMode: true });
    expect(cl.cacheConfig.auth).toEqual({ passwordEnv: 'STATE_CACHE_PASSWORD' });
    const env = sts.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'STATE_CACHE_PASSWORD', valueFrom: { secretKeyRef: { name: 'cache-password', key: 'pw' } } });
  });

  test('a headless Service publishing not-ready pods, and a client Service', () => {
    const [headless, clientService] = ['catalog-cache-peers', 'catalog-cache'].map((n) => byKind(manifests, 'Service').find((s) => s.metadata.name === n));
    expect(sts.spec.serviceName).toBe('catalog-cache-peers');
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ name: 'resp', port: 6379, targetPort: 6379 }] });
    expect(clientService.spec.clusterIP).toBeUndefined();
    expect(clientService.spec.selector).toEqual(sts.spec.selector.matchLabels);
  });

  test('seed nodes are the pods\' stable names', () => {
    expect(cl.seedNodes).toEqual([0, 1, 2].map((i) => `catalog-cache-${i}.catalog-cache-peers.catalog.svc.cluster.local:6379`));
    expect(cl.remoteCacheEndpoint.cluster).toBe(true);
  });

  test('a PDB, soft anti-affinity and zone spread', () => {
    expect(byKind(manifests, 'PodDisruptionBudget')[0].spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    const terms = sts.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(terms.map((t: any) => t.podAffinityTerm.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
  });

  test('claim templates for the file store, kept on delete and scale-down', () => {
    expect(sts.spec.volumeClaimTemplates.map((t: any) => [t.metadata.name, t.spec.resources.requests.storage])).toEqual([['store-file', '8Gi']]);
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(sts.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'store-file', mountPath: '/var/lib/state-cache/stores/file' });
  });

  test('the NetworkPolicy admits only the peers until clients are named', () => {
    const policy = byKind(manifests, 'NetworkPolicy')[0];
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].from[0].podSelector).toEqual(sts.spec.selector);
  });
});

test('clients and metrics scrapers named in props are admitted', () => {
  const c = chart('catalog');
  const web = kplus.Pods.select(c, 'Web', { labels: { app: 'web' } });
  const prometheus = kplus.Pods.select(c, 'Prometheus', { labels: { app: 'prometheus' } });
  cluster(c, { clients: [web], metricsFrom: [prometheus] });
  const policy = byKind(synthAndCheck(c), 'NetworkPolicy')[0];
  expect(policy.spec.ingress).toContainEqual({ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 6379, protocol: 'TCP' }] });
  expect(policy.spec.ingress).toContainEqual({ from: [{ podSelector: { matchLabels: { app: 'prometheus' } } }], ports: [{ port: 8080, protocol: 'TCP' }] });
});

test('the peer domain uses "default" when the chart has no namespace', () => {
  const cl = cluster(chart());
  expect(cl.peerDomain).toBe('catalog-cache-peers.default.svc.cluster.local');
});

test('a password from an ExternalSecret, never a literal', () => {
  const c = chart('catalog');
  cluster(c, { password: CachePassword.fromExternalSecret({ store: SecretStoreRef.clusterSecretStore('vault'), remoteKey: 'catalog/cache', property: 'pw', refreshInterval: Duration.minutes(15) }) });
  const manifests = synthAndCheck(c);
  const es = byKind(manifests, 'ExternalSecret')[0];
  expect(es.spec).toEqual({
    refreshInterval: '900s',
    secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
    target: { name: 'catalog-cache-password', creationPolicy: 'Owner' },
    data: [{ secretKey: 'password', remoteRef: { key: 'catalog/cache', property: 'pw' } }],
  });
  expect(byKind(manifests, 'Secret')).toHaveLength(0);
});

describe('connect()', () => {
  test('gives the containers the seeds, the client Service and the password; admits the pods; limits their egress', () => {
    const c = chart('catalog');
    const cl = cluster(c, { replicas: 2 });
    const w = client(c);
    cl.connect(w);
    const manifests = synthAndCheck(c);
    const deployment = byKind(manifests, 'Deployment')[0];
    const env = deployment.spec.template.spec.containers[0].env;
    expect(env).toEqual([
      { name: 'REDIS_CLUSTER_NODES', value: 'catalog-cache-0.catalog-cache-peers.catalog.svc.cluster.local:6379,catalog-cache-1.catalog-cache-peers.catalog.svc.cluster.local:6379' },
      { name: 'CACHE_HOST', value: 'catalog-cache.catalog.svc' },
      { name: 'CACHE_PORT', value: '6379' },
      { name: 'CACHE_PASSWORD', valueFrom: { secretKeyRef: { name: 'cache-password', key: 'pw' } } },
      { name: 'REDIS_URL', value: 'redis://:$(CACHE_PASSWORD)@catalog-cache.catalog.svc:6379' },
    ]);
    const policies = byKind(manifests, 'NetworkPolicy');
    const clusterPolicy = policies.find((p) => p.metadata.name === 'catalog-cache');
    expect(clusterPolicy.spec.ingress).toContainEqual({
      from: [{ podSelector: deployment.spec.selector, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'catalog' } } }],
      ports: [{ port: 6379, protocol: 'TCP' }],
    });
    const egress = policies.find((p) => JSON.stringify(p.spec.podSelector) === JSON.stringify(deployment.spec.selector));
    expect(egress.spec.policyTypes).toEqual(['Egress']);
    expect(egress.spec.egress[0].ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
  });

  test('with a prefix, without an egress policy', () => {
    const c = chart('catalog');
    const cl = cluster(c);
    const w = client(c);
    cl.connect(w, { envPrefix: 'SESSIONS_', egressPolicy: false });
    // The user's opt-out: the client's egress is managed elsewhere (here: not at all).
    const manifests = synthAndCheck(c, { skip: ['network-policy:Deployment/client'] });
    const names = byKind(manifests, 'Deployment')[0].spec.template.spec.containers[0].env.map((e: any) => e.name);
    expect(names).toEqual(['SESSIONS_REDIS_CLUSTER_NODES', 'SESSIONS_CACHE_HOST', 'SESSIONS_CACHE_PORT', 'SESSIONS_CACHE_PASSWORD', 'SESSIONS_REDIS_URL']);
    expect(byKind(manifests, 'NetworkPolicy')).toHaveLength(1);
  });

  test.each([
    ['a workload connected twice', (c: any, cl: ExternalCacheCluster) => { const w = client(c); cl.connect(w); cl.connect(w); },
      'test/cache: workload test/client is already connected. Call connect() once per workload'],
    ['a workload in another namespace', (c: any, cl: ExternalCacheCluster) => {
      const w = new kplus.Deployment(c, 'other', { metadata: { namespace: 'other' }, containers: [appContainer()] });
      cl.connect(w);
    }, 'test/cache: workload test/other is in namespace "other", but the cluster is in "catalog". Pods read the password Secret from their own namespace: create the ExternalCacheCluster in the namespace of the workloads that connect to it'],
    ['a bad envPrefix', (c: any, cl: ExternalCacheCluster) => cl.connect(client(c), { envPrefix: '1X' }),
      'test/cache: envPrefix "1X" is not a valid start of an environment variable name. Use letters, digits and "_", not starting with a digit, e.g. "SESSIONS_"'],
    ['a variable the container already has', (c: any, cl: ExternalCacheCluster) => {
      const w = client(c);
      w.containers[0].env.addVariable('REDIS_URL', kplus.EnvValue.fromValue('redis://other:6379'));
      cl.connect(w);
    }, 'test/cache: container "web" of test/client already has environment variable(s) REDIS_URL. Give connect() an envPrefix, e.g. "SESSIONS_", to connect several caches'],
    ['a container of another workload', (c: any, cl: ExternalCacheCluster) => cl.connect(client(c, 'a'), { containers: client(c, 'b').containers }),
      'test/cache: container "web" does not belong to workload test/a. Pass containers of that workload only'],
  ])('%s', (_n, act, message) => {
    const c = chart('catalog');
    const cl = cluster(c);
    expect(() => act(c, cl)).toThrow(new Error(message));
  });
});

describe('bad input', () => {
  test.each([
    ['zero replicas', { replicas: 0 }, 'test/cache: replicas 0 is not a whole number from 1 to 16384. Give replicas: 1 or more (each pod owns a range of the 16384 hash slots); to stop the cluster, remove it'],
    ['more replicas than hash slots', { replicas: 16385 }, 'test/cache: replicas 16385 is not a whole number from 1 to 16384. Give replicas: 1 or more (each pod owns a range of the 16384 hash slots); to stop the cluster, remove it'],
    ['a name that is not a DNS label', { name: 'Catalog' }, 'test/cache: name "Catalog" is not a DNS-1123 label. Use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit'],
    ['a name too long for pod names', { name: 'a'.repeat(41) }, `test/cache: name "${'a'.repeat(41)}" is longer than 40 characters. Pod names add an ordinal and the headless Service "-peers": use at most 40 characters`],
    ['no password', { password: undefined }, 'test/cache: no password was given. Give password: CachePassword.fromSecret(secret, key) or CachePassword.fromExternalSecret({...}); the cluster listens on pod addresses'],
    ['a grace period shorter than the shutdown', { terminationGracePeriod: Duration.seconds(10) },
      'test/cache: terminationGracePeriod 10s is shorter than the cache shutdown (flushDeadline 10s + 5s). Give at least 15s, or shorten cache.flushDeadline'],
    ['one PersistentStore for every pod', 'persistent-store',
      'test/cache: file store "file" is one PersistentStore (shared, ReadWriteMany) but replicas of the cluster is 3. One volume would be shared by every pod, and its data belongs to one process: give size instead for a claim per pod, or run one replica'],
  ] as Array<[string, Partial<ExternalCacheClusterProps> | string, string]>)('%s', (_n, props, message) => {
    const c = chart('catalog');
    expect(() => {
      if (props === 'persistent-store') {
        const { PersistentStore } = jest.requireActual('../src');
        const shared = new PersistentStore(c, 'shared', { size: Size.gibibytes(1), metadata: { name: 'shared' }, accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_MANY] });
        cluster(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.file({ store: shared })] } });
      } else {
        cluster(c, props as Partial<ExternalCacheClusterProps>);
      }
    }).toThrow(new Error(message));
  });
});

test('the cluster\'s pods have a checksum of the config', () => {
  const c = chart('catalog');
  const cl = cluster(c);
  const manifests = Testing.synth(c);
  const annotation = byKind(manifests, 'StatefulSet')[0].spec.template.metadata.annotations['cdk8s-state.dev/config-sha256'];
  expect(annotation).toMatch(/^[0-9a-f]{64}$/);
  expect(JSON.parse(byKind(manifests, 'ConfigMap')[0].data['config.json'])).toEqual(cl.cacheConfig);
});

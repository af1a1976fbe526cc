import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  CacheClusterEngine, CacheImage, CachePassword, CacheStore, CacheTls, ExternalCacheCluster, ExternalCacheClusterProps, RemoteCache, WriteMode,
} from '../src';
import { appContainer, cachedApp, chart, secret } from './cache-fixtures';
import { checkManifests, synthAndCheck } from './manifest-checks';
import { SECURE_CONTAINER_CONTEXT } from './secure-workload';

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

function byKind(manifests: any[], kind: string): any[] {
  return manifests.filter((m) => m.kind === kind);
}

function cluster(c = chart('orders'), props: Partial<ExternalCacheClusterProps> = {}): ExternalCacheCluster {
  return new ExternalCacheCluster(c, 'cache', {
    name: 'orders-cache',
    password: CachePassword.fromSecret(secret(c, 'cache-password')),
    tls: CacheTls.certManager({ issuer: { name: 'internal-ca', kind: 'ClusterIssuer' } }),
    ...props,
  });
}

describe('ExternalCacheCluster (state-cache) with a cert-manager certificate', () => {
  const c = chart('orders');
  const cl = cluster(c);
  const app = client(c);
  cl.connect(app);
  const near = cachedApp(c, { cache: { writeMode: WriteMode.writeBehind(), stores: [CacheStore.remote(cl)] } });
  const manifests = synthAndCheck(c);
  const sts = byKind(manifests, 'StatefulSet')[0];
  const container = sts.spec.template.spec.containers[0];

  test('a Certificate for the client Service and every pod name, valid against the cert-manager schema', () => {
    const [cert] = byKind(manifests, 'Certificate');
    expect(cert.apiVersion).toBe('cert-manager.io/v1');
    expect(cert.spec).toEqual({
      secretName: 'orders-cache-tls',
      issuerRef: { name: 'internal-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      dnsNames: [
        'orders-cache', 'orders-cache.orders', 'orders-cache.orders.svc', 'orders-cache.orders.svc.cluster.local',
        '*.orders-cache-peers.orders.svc', '*.orders-cache-peers.orders.svc.cluster.local',
      ],
      duration: '2160h',
      renewBefore: '720h',
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      usages: ['server auth', 'client auth', 'digital signature', 'key encipherment'],
    });
    expect(cl.certificate).toBeDefined();
  });

  test('TLS only: RESP over TLS on 6379, HTTPS, the certificate files from the Secret', () => {
    expect(cl.cacheConfig.server).toEqual({ bind: '0.0.0.0', port: 6379, plaintext: false, tlsPort: 6379, protectedMode: true });
    expect(cl.cacheConfig.http).toEqual({ enabled: true, bind: '0.0.0.0', port: 8080, tls: true });
    expect(cl.cacheConfig.tls).toEqual({ certFile: '/etc/state-cache-tls/tls.crt', keyFile: '/etc/state-cache-tls/tls.key' });
    const mount = container.volumeMounts.find((m: any) => m.mountPath === '/etc/state-cache-tls');
    expect(mount.readOnly).toBe(true);
    const volume = sts.spec.template.spec.volumes.find((v: any) => v.name === mount.name);
    expect(volume.secret.secretName).toBe('orders-cache-tls');
    expect(volume.secret.items).toEqual([{ key: 'ca.crt', path: 'ca.crt' }, { key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }]);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe].httpGet.scheme).toBe('HTTPS');
  });

  test('connect(): rediss:// and the CA, mounted without the key', () => {
    const env = Object.fromEntries(Object.entries(app.containers[0].env.variables).map(([k, v]) => [k, v.value]));
    expect(env.REDIS_URL).toBe('rediss://:$(CACHE_PASSWORD)@orders-cache.orders.svc:6379');
    expect(env.CACHE_TLS).toBe('true');
    expect(env.CACHE_CA_FILE).toBe('/var/run/cdk8s-state/cache-ca/ca.crt');
    const deployment = byKind(manifests, 'Deployment').find((d) => d.metadata.name === 'client');
    const volume = deployment.spec.template.spec.volumes.find((v: any) => v.secret?.secretName === 'orders-cache-tls');
    expect(volume.secret.items).toEqual([{ key: 'ca.crt', path: 'ca.crt' }]);
  });

  test('CacheStore.remote(cluster) connects with TLS and trusts the CA by itself', () => {
    const store = near.cacheConfig.stores.chain[0].store;
    expect(store.tls).toEqual({ enabled: true, caFile: '/etc/state-cache/ca/remote/ca.crt' });
    expect(store.nodes[0].host).toBe('orders-cache-0.orders-cache-peers.orders.svc.cluster.local');
  });
});

describe('ExternalCacheCluster on Valkey with TLS', () => {
  const c = chart('shop');
  const cl = new ExternalCacheCluster(c, 'cache', {
    name: 'carts',
    engine: CacheClusterEngine.valkey(),
    password: CachePassword.fromSecret(secret(c, 'cache-password')),
    tls: CacheTls.fromSecret(secret(c, 'carts-tls'), { caKey: 'ca.crt' }),
  });
  const manifests = synthAndCheck(c);

  test('tls-port, tls-cluster and tls-replication, no plaintext port', () => {
    const conf: string = cl.configMap.data['valkey.conf'];
    for (const line of ['port 0', 'tls-port 6379', 'tls-cluster yes', 'tls-replication yes', 'tls-auth-clients no',
      'tls-cert-file /etc/valkey-tls/tls.crt', 'tls-key-file /etc/valkey-tls/tls.key', 'tls-ca-cert-file /etc/valkey-tls/ca.crt']) {
      expect(conf.split('\n')).toContain(line);
    }
  });

  test('the scripts (probes, preStop, bootstrap Job) speak TLS with the mounted files', () => {
    const sts = byKind(manifests, 'StatefulSet')[0];
    const job = byKind(manifests, 'Job')[0];
    for (const container of [sts.spec.template.spec.containers[0], job.spec.template.spec.containers[0]]) {
      expect(container.env).toContainEqual({ name: 'VALKEY_TLS_ARGS', value: '--tls --cacert /etc/valkey-tls/ca.crt --cert /etc/valkey-tls/tls.crt --key /etc/valkey-tls/tls.key' });
      expect(container.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/etc/valkey-tls', readOnly: true }));
    }
    expect(cl.remoteCacheEndpoint.tls?.caKey).toBe('ca.crt');
  });
});

describe('CachedApp serving its cache to other pods over TLS', () => {
  const c = chart('web');
  const peers = kplus.Pods.select(c, 'Peers', { labels: { app: 'reporting' } });
  const app = cachedApp(c, {
    password: CachePassword.fromSecret(secret(c, 'web-cache-password')),
    tls: CacheTls.certManager({ issuer: { name: 'web-ca' } }),
    cacheClientsFrom: [peers],
  });
  const manifests = synthAndCheck(c);

  test('TLS RESP on 6380 of the pod address, plaintext RESP stays on loopback, HTTPS', () => {
    expect(app.cacheConfig.server).toEqual({ bind: '127.0.0.1', port: 6379, protectedMode: true, tlsPort: 6380, tlsBind: '0.0.0.0' });
    expect(app.cacheConfig.http.tls).toBe(true);
    expect(app.cacheConfig.tls).toEqual({ certFile: '/etc/state-cache-tls/tls.crt', keyFile: '/etc/state-cache-tls/tls.key' });
  });

  test('the Service has the cache-tls port and the NetworkPolicy admits the clients to it only', () => {
    const svc = byKind(manifests, 'Service')[0];
    expect(svc.spec.ports).toContainEqual({ name: 'cache-tls', port: 6380, targetPort: 6380 });
    const np = byKind(manifests, 'NetworkPolicy')[0];
    const rule = np.spec.ingress.find((r: any) => r.ports.some((p: any) => p.port === 6380));
    expect(rule.from).toEqual([{ podSelector: { matchLabels: { app: 'reporting' } } }]);
    expect(np.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 6379))).toEqual([]);
  });

  test('the Certificate names the Service', () => {
    const [cert] = byKind(manifests, 'Certificate');
    expect(cert.spec.dnsNames).toContain(`${svcName(manifests)}.web.svc.cluster.local`);
    expect(cert.spec.issuerRef).toEqual({ name: 'web-ca', kind: 'Issuer', group: 'cert-manager.io' });
  });
});

function svcName(manifests: any[]): string {
  return byKind(manifests, 'Service')[0].metadata.name;
}

test('RemoteCache.fromEndpoint takes tls: { ca, serverName } for a cluster in another region', () => {
  const c = chart('web');
  const app = cachedApp(c, {
    cache: {
      writeMode: WriteMode.writeBehind(),
      stores: [CacheStore.remote(RemoteCache.fromEndpoint({
        host: '198.51.100.20',
        port: 6380,
        egressCidrs: ['198.51.100.0/24'],
        passwordSecret: secret(c, 'eu-cache'),
        tls: { ca: secret(c, 'eu-cache-ca'), serverName: 'cache.eu-west.example.com' },
      }), { name: 'eu' })],
    },
  });
  const manifests = synthAndCheck(c);
  expect(app.cacheConfig.stores.chain[0].store.tls).toEqual({ enabled: true, caFile: '/etc/state-cache/ca/eu/ca.crt', serverName: 'cache.eu-west.example.com' });
  const np = byKind(manifests, 'NetworkPolicy')[0];
  expect(np.spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ port: 6380, protocol: 'TCP' }] });
});

test('the Certificate is checked against the cert-manager schema (the check can fail)', () => {
  const findings = checkManifests([{
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: 'x', namespace: 'n' },
    spec: { secretName: 'x', issuerRef: { name: '' }, dnsNames: ['*bad*.example.com'], duration: 5 },
  }]);
  expect(findings.map((f) => `${f.path}: ${f.message}`)).toEqual(expect.arrayContaining([
    'spec.dnsNames[0]: "*bad*.example.com" is not a DNS name (a wildcard only as the whole first label)',
    'spec.issuerRef.name: a Certificate needs spec.issuerRef.name (the Issuer or ClusterIssuer that signs it)',
  ]));
  expect(findings.some((f) => f.path.startsWith('spec.duration'))).toBe(true);
});

describe('bad input is refused at synth with the value and the fix', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['TLS with a CacheImage that predates it',
      () => cluster(chart('o'), { image: CacheImage.fromTag('0.0.9') }),
      'test/cache: tls needs state-cache 0.1.0 or later, but the image is ghcr.io/cdk8s-state/state-cache:0.0.9. Its config has no tls section and it would refuse to start: use CacheImage.default() or a tag of 0.1.0 or later, or drop tls'],
    ['a cert-manager issuer without a name',
      () => cluster(chart('o'), { tls: CacheTls.certManager({ issuer: { name: '' } }) }),
      'test/cache: tls.certManager issuer has no name (got ""). Give the issuer that signs the certificate: CacheTls.certManager({ issuer: { name: "my-ca", kind: "ClusterIssuer" } })'],
    ['rediss:// with TLS off',
      () => {
        const c = chart('o');
        cachedApp(c, { cache: { writeMode: WriteMode.writeBehind(), stores: [CacheStore.remote(RemoteCache.fromEndpoint({ host: 'rediss://cache.example.com', egressCidrs: ['192.0.2.0/24'] }))] } });
      },
      'test/web: remote store "remote" node "rediss://cache.example.com:6379" is a rediss:// (TLS) address, but TLS is off. Give RemoteCache.fromEndpoint({ host: "<name without scheme>", tls: { ca, serverName } }): TLS is the tls option, the host is only the name'],
    ['a serverName that is not a DNS name',
      () => {
        const c = chart('o');
        cachedApp(c, {
          cache: {
            writeMode: WriteMode.writeBehind(),
            stores: [CacheStore.remote(RemoteCache.fromEndpoint({ host: '192.0.2.7', egressCidrs: ['192.0.2.0/24'], tls: { serverName: 'Cache_EU.example.com' } }))],
          },
        });
      },
      'test/web: remote store "remote" tls.serverName "Cache_EU.example.com" is not a DNS name. Give the DNS name in the server\'s certificate (lower-case letters, digits, "-" and ".", no wildcard, no IP address), or leave serverName out to check the host name'],
    ['mTLS without a CA',
      () => cluster(chart('o'), { tls: CacheTls.fromSecret(secret(chart('o'), 'tls'), { mutual: true }) }),
      'test/cache: tls is mutual but no CA is given (caKey is not set). Mutual TLS verifies client certificates against a CA: give CacheTls.fromSecret(secret, { caKey: "ca.crt", mutual: true }), or drop mutual'],
    ['Valkey TLS without a CA',
      () => cluster(chart('o'), { engine: CacheClusterEngine.valkey(), tls: CacheTls.fromSecret(secret(chart('o'), 'tls')) }),
      'test/cache: tls on the Valkey engine has no CA (caKey is not set). Valkey verifies its peers (tls-replication, tls-cluster) against a CA: give CacheTls.fromSecret(secret, { caKey: "ca.crt" }) or use CacheTls.certManager({ issuer })'],
    ['a sidecar on the pod network without a password or mutual TLS',
      () => cachedApp(chart('o'), { tls: CacheTls.fromSecret(secret(chart('o'), 'tls')) }),
      'test/web: tls puts the cache on the pod network, but there is no password and the TLS is not mutual. Give password: CachePassword.fromSecret(...) (or mutual TLS), so that other pods must authenticate: without either, every key would be open to them'],
    ['monitoring that scrapes plain HTTP with tls',
      () => cluster(chart('o'), { monitoring: {} }),
      'test/cache: monitoring.scrape is on with tls, but the ServiceMonitor the constructs emit scrapes /metrics over plain HTTP, and the cluster then serves HTTPS only. Give monitoring: { scrape: false } (keep the rules and dashboard) and scrape with your own ServiceMonitor using scheme https and the CA, or drop tls'],
    ['cacheClientsFrom without tls',
      () => {
        const c = chart('o');
        cachedApp(c, { cacheClientsFrom: [kplus.Pods.all(c, 'All')] });
      },
      'test/web: cacheClientsFrom (1 peer(s)) is given, but tls is not. Other pods reach the sidecar only over TLS: give tls: CacheTls.certManager({ issuer }) or CacheTls.fromSecret(secret), or drop cacheClientsFrom'],
  ];
  test.each(cases)('%s', (_name, build, message) => {
    expect(build).toThrow(message);
  });
});

/**
 * Valid caching setups shared by the construct tests and the config contract
 * test: each builds a CachedApp and/or ExternalCacheCluster in a chart. The
 * contract test validates every config they produce against
 * runtime/config.schema.json.
 */
import { Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  CachedApp, CachedAppProps, CacheLogLevel, CachePassword, CacheStore, CacheTls, DatabaseCa, DatabaseCredentials, DatabaseEndpoint,
  DatabaseEngine, Eviction, ExternalCacheCluster, ExternalDatabase, ExternalDatabaseProps, PersistentStore, QueueFullPolicy,
  RemoteCache, SecretStoreRef, SidecarMode, StoreLinkMode, TlsMode, WriteMode,
} from '../src';

export function chart(namespace?: string): Chart {
  return new Chart(Testing.app(), 'test', { namespace });
}

/** An app container that passes the checks once CachedApp adds its defaults. */
export function appContainer(overrides: Partial<kplus.ContainerProps> = {}): kplus.ContainerProps {
  return {
    name: 'web',
    image: 'ghcr.io/example/web:1.0.0',
    portNumber: 3000,
    readiness: kplus.Probe.fromHttpGet('/ready', { port: 3000 }),
    liveness: kplus.Probe.fromHttpGet('/healthz', { port: 3000 }),
    ...overrides,
  };
}

export function secret(c: Chart, name: string): kplus.ISecret {
  return (c.node.tryFindChild(`Secret-${name}`) as kplus.ISecret | undefined) ?? kplus.Secret.fromSecretName(c, `Secret-${name}`, name);
}

/** A PostgreSQL by DNS name with verify-full and a CA Secret. */
export function postgres(c: Chart, overrides: Partial<ExternalDatabaseProps> = {}, id = 'db'): ExternalDatabase {
  return new ExternalDatabase(c, id, {
    name: 'cache-db',
    engine: DatabaseEngine.POSTGRESQL,
    endpoint: DatabaseEndpoint.fromHostName('cache.db.example.com'),
    credentials: DatabaseCredentials.fromSecret(secret(c, 'cache-db-credentials'), { passwordKey: 'pw' }),
    tlsMode: TlsMode.POSTGRES_VERIFY_FULL,
    tlsCa: DatabaseCa.fromSecret(secret(c, 'db-ca'), 'ca.pem'),
    databaseName: 'cache',
    egressCidrs: ['10.20.0.0/16'],
    ...overrides,
  });
}

export function cachedApp(c: Chart, props: Partial<CachedAppProps> = {}, id = 'web'): CachedApp {
  return new CachedApp(c, id, { app: appContainer(), ...props });
}

export interface Scenario {
  readonly name: string;
  readonly build: () => Chart;
}

/** Every valid setup, from the smallest to every option at once. */
export const SCENARIOS: Scenario[] = [
  {
    name: 'memory only, defaults',
    build: () => { const c = chart(); cachedApp(c); return c; },
  },
  {
    name: 'memory bounds, LFU, expiry, log level, max clients, password',
    build: () => {
      const c = chart('shop');
      cachedApp(c, {
        password: CachePassword.fromSecret(secret(c, 'web-cache'), 'pw'),
        cache: {
          memory: { maxEntries: 50_000, maxSize: Size.mebibytes(200), eviction: Eviction.LFU, evictionSamples: 10 },
          expiry: { defaultTtl: Duration.minutes(30), maxIdle: Duration.minutes(5) },
          logLevel: CacheLogLevel.WARN,
          maxClients: 500,
        },
      });
      return c;
    },
  },
  {
    name: 'limit fraction, no eviction, container sidecar',
    build: () => {
      const c = chart();
      cachedApp(c, { sidecarMode: SidecarMode.CONTAINER, cache: { memory: { limitFraction: 0.7, eviction: Eviction.NO_EVICTION } } });
      return c;
    },
  },
  {
    name: 'write-through to postgres, three replicas',
    build: () => {
      const c = chart('shop');
      cachedApp(c, { replicas: 3, cache: { writeMode: WriteMode.writeThrough({ maxBatchEntries: 200 }), stores: [CacheStore.postgres(postgres(c), { user: 'cache' })] } });
      return c;
    },
  },
  {
    name: 'write-behind to postgres with every option and a journal on a claim template',
    build: () => {
      const c = chart('shop');
      cachedApp(c, {
        replicas: 2,
        cache: {
          writeMode: WriteMode.writeBehind({
            batchSize: 50,
            flushInterval: Duration.millis(250),
            maxPendingEntries: 1000,
            maxPendingSize: Size.mebibytes(16),
            whenFull: QueueFullPolicy.reject(),
            retryAttempts: 5,
            retryBaseDelay: Duration.millis(50),
            retryMaxDelay: Duration.seconds(10),
          }),
          journal: { size: Size.gibibytes(1), storageClassName: 'fast-ssd', fsync: false, segmentSize: Size.mebibytes(16) },
          stores: [CacheStore.postgres(postgres(c), { user: 'cache', schema: 'caches', table: 'web', poolSize: 4, poolMin: 2, connectTimeout: Duration.seconds(2), statementTimeout: Duration.seconds(3), preparedStatements: false })],
          flushDeadline: Duration.seconds(30),
        },
      });
      return c;
    },
  },
  {
    name: 'file store on a claim template with passivation and purge, postgres read-only behind it',
    build: () => {
      const c = chart('shop');
      cachedApp(c, {
        replicas: 2,
        cache: {
          writeMode: WriteMode.writeBehind(),
          passivation: true,
          purgeOnStartup: true,
          stores: [
            CacheStore.file({ size: Size.gibibytes(5), sync: false, blockCacheSize: Size.mebibytes(16), compression: false }),
            CacheStore.postgres(postgres(c), { user: 'cache', readOnly: true, preload: true }),
          ],
          preloadTimeBudget: Duration.seconds(60),
        },
      });
      return c;
    },
  },
  {
    name: 'file store and journal on PersistentStores, one replica',
    build: () => {
      const c = chart();
      const data = new PersistentStore(c, 'data', { size: Size.gibibytes(10) });
      const journal = new PersistentStore(c, 'journal', { size: Size.gibibytes(1) });
      cachedApp(c, { cache: { writeMode: WriteMode.writeBehind(), journal: { store: journal }, stores: [CacheStore.file({ store: data })] } });
      return c;
    },
  },
  {
    name: 'chain: file required, remote endpoint best-effort, custom read-only',
    build: () => {
      const c = chart('shop');
      cachedApp(c, {
        cache: {
          writeMode: WriteMode.writeThrough(),
          stores: [
            CacheStore.file({ size: Size.gibibytes(1), name: 'local' }),
            CacheStore.remote(RemoteCache.fromEndpoint({ host: 'redis.example.com', passwordSecret: secret(c, 'redis'), egressCidrs: ['192.0.2.10/32'] }),
              { name: 'legacy-redis', mode: StoreLinkMode.BEST_EFFORT, keyPrefix: 'web:', versioned: false, commandTimeout: Duration.seconds(1) }),
            CacheStore.custom({ name: 'archive', module: '/opt/stores/archive.js', exportName: 'create', options: { bucket: 'archive' }, readOnly: true }),
          ],
        },
      });
      return c;
    },
  },
  {
    name: 'cluster of three on file stores, an app using it as remote store, a connected workload',
    build: () => {
      const c = chart('catalog');
      const cluster = new ExternalCacheCluster(c, 'cache', {
        replicas: 3,
        password: CachePassword.fromSecret(secret(c, 'cache-password')),
        cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.file({ size: Size.gibibytes(2) })] },
      });
      cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.remote(cluster)] } });
      return c;
    },
  },
  {
    name: 'cluster of one, memory only, password from an ExternalSecret',
    build: () => {
      const c = chart();
      new ExternalCacheCluster(c, 'cache', {
        replicas: 1,
        password: CachePassword.fromExternalSecret({ store: SecretStoreRef.secretStore('vault'), remoteKey: 'cache' }),
      });
      return c;
    },
  },
  {
    name: 'TLS: a cluster with a cert-manager certificate, an app writing behind to it and serving its own cache over mutual TLS',
    build: () => {
      const c = chart('orders');
      const cluster = new ExternalCacheCluster(c, 'cache', {
        replicas: 3,
        password: CachePassword.fromSecret(secret(c, 'cache-password')),
        tls: CacheTls.certManager({ issuer: { name: 'internal-ca', kind: 'ClusterIssuer' } }),
      });
      cachedApp(c, {
        password: CachePassword.fromSecret(secret(c, 'web-cache-password')),
        tls: CacheTls.fromSecret(secret(c, 'web-cache-tls'), { caKey: 'ca.crt', mutual: true }),
        cacheClientsFrom: [kplus.Pods.all(c, 'Peers')],
        cache: {
          writeMode: WriteMode.writeBehind(),
          stores: [
            CacheStore.remote(cluster),
            CacheStore.remote(RemoteCache.fromEndpoint({
              host: '203.0.113.7',
              port: 6380,
              egressCidrs: ['203.0.113.7/32'],
              passwordSecret: secret(c, 'eu-cache'),
              tls: { ca: secret(c, 'eu-cache-ca'), serverName: 'cache.eu.example.com' },
            }), { name: 'eu', mode: StoreLinkMode.BEST_EFFORT }),
          ],
        },
      });
      return c;
    },
  },
];

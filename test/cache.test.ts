import { Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  CacheImage, CachePassword, CacheStore, DatabaseEngine, ExternalCacheCluster, PersistentStore, QueueFullPolicy,
  RemoteCache, SecretStoreRef, StoreLinkMode, TlsMode, WriteMode,
} from '../src';
import { appContainer, cachedApp, chart, postgres, SCENARIOS, secret } from './cache-fixtures';
import { synthAndCheck } from './manifest-checks';

/** The state-cache config in the ConfigMap of the first cache in the output. */
function configOf(manifests: any[]): any {
  const cm = manifests.find((m) => m.kind === 'ConfigMap' && m.data?.['config.json']);
  return JSON.parse(cm.data['config.json']);
}

describe('every valid setup synthesises with zero findings', () => {
  test.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', (_n, s) => {
    synthAndCheck(s.build());
  });
});

describe('rendering', () => {
  test('memory, expiry, limits and log become their sections', () => {
    const config = configOf(Testing.synth(SCENARIOS[1].build()));
    expect(config.memory).toEqual({ maxEntries: 50000, maxBytes: 200 * 1024 * 1024, eviction: 'lfu', evictionSamples: 10 });
    expect(config.expiry).toEqual({ defaultTtlSeconds: 1800, maxIdleSeconds: 300 });
    expect(config.limits).toEqual({ maxClients: 500 });
    expect(config.log).toEqual({ level: 'warn' });
  });

  test('defaults: memory only, LRU, no stores, a 10 s flush deadline', () => {
    const config = configOf(Testing.synth(SCENARIOS[0].build()));
    expect(config.memory).toEqual({ eviction: 'lru' });
    expect(config.stores).toEqual({ chain: [] });
    expect(config.persistence).toEqual({ mode: 'none', shutdown: { flushDeadlineMs: 10000 } });
    expect(config.shutdown).toEqual({ timeoutSeconds: 15 });
  });

  test('write-behind options, journal and postgres store', () => {
    const manifests = Testing.synth(SCENARIOS[4].build());
    const config = configOf(manifests);
    expect(config.persistence).toEqual({
      mode: 'write-behind',
      writeBehind: {
        batchSize: 50,
        flushIntervalMs: 250,
        maxPendingEntries: 1000,
        maxPendingBytes: 16 * 1024 * 1024,
        whenFull: 'reject',
        retry: { attempts: 5, baseDelayMs: 50, maxDelayMs: 10000 },
        deadLetterPath: '/var/lib/state-cache/durable/dead-letter.jsonl',
      },
      journal: { enabled: true, dir: '/var/lib/state-cache/durable/journal', fsync: false, segmentBytes: 16 * 1024 * 1024 },
      shutdown: { flushDeadlineMs: 30000 },
      // Two replicas on a shared PostgreSQL store: coherent by default.
      coherence: { enabled: true, heartbeatMs: 1000, heartbeatTimeoutMs: 3000, maxUnvalidatedMs: 5000, onOutage: 'drop' },
    });
    expect(config.stores.chain).toEqual([{
      store: {
        type: 'postgres',
        name: 'postgres',
        host: 'cache.db.example.com',
        port: 5432,
        database: 'cache',
        user: 'cache',
        password: { env: 'STATE_CACHE_STORE_POSTGRES_PASSWORD' },
        schema: 'caches',
        table: 'web',
        tls: { mode: 'verify-full', caFile: '/etc/state-cache/ca/postgres/ca.crt' },
        poolSize: 4,
        poolMin: 2,
        connectTimeoutMs: 2000,
        statementTimeoutMs: 3000,
        preparedStatements: false,
      },
      mode: 'required',
      readOnly: false,
      preload: false,
    }]);
    // The password comes from the database's credentials Secret, the CA from its CA Secret.
    const sts = manifests.find((m) => m.kind === 'StatefulSet');
    const cache = sts.spec.template.spec.initContainers[0];
    expect(cache.env).toContainEqual({ name: 'STATE_CACHE_STORE_POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'cache-db-credentials', key: 'pw' } } });
    const caMount = cache.volumeMounts.find((m: any) => m.mountPath === '/etc/state-cache/ca/postgres');
    const caVolume = sts.spec.template.spec.volumes.find((v: any) => v.name === caMount.name);
    expect(caVolume.secret).toEqual({ secretName: 'db-ca', items: [{ key: 'ca.pem', path: 'ca.crt' }] });
    // The journal is on a claim per pod, kept when the StatefulSet goes.
    expect(sts.spec.volumeClaimTemplates).toEqual([{
      metadata: { name: 'journal' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '1Gi' } } },
    }]);
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(cache.volumeMounts).toContainEqual({ name: 'journal', mountPath: '/var/lib/state-cache/durable' });
    // The egress policy allows the database CIDRs on its port.
    const policy = manifests.find((m) => m.kind === 'NetworkPolicy');
    expect(policy.spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ port: 5432, protocol: 'TCP' }] });
  });

  test('chains keep their order, link modes, read-only and preload flags', () => {
    const config = configOf(Testing.synth(SCENARIOS[7].build()));
    expect(config.stores.chain.map((l: any) => [l.store.type, l.store.name, l.mode, l.readOnly, l.preload])).toEqual([
      ['file', 'local', 'required', false, false],
      ['remote', 'legacy-redis', 'bestEffort', false, false],
      ['custom', 'archive', 'required', true, false],
    ]);
    expect(config.stores.chain[1].store).toEqual({
      type: 'remote',
      name: 'legacy-redis',
      mode: 'single',
      nodes: [{ host: 'redis.example.com', port: 6379 }],
      keyPrefix: 'web:',
      versioning: 'none',
      commandTimeoutMs: 1000,
      password: { env: 'STATE_CACHE_STORE_LEGACY_REDIS_PASSWORD' },
    });
    expect(config.stores.chain[2].store).toEqual({ type: 'custom', name: 'archive', module: '/opt/stores/archive.js', export: 'create', options: { bucket: 'archive' } });
  });

  test('a remote cluster store gets cluster mode and every seed node', () => {
    const manifests = Testing.synth(SCENARIOS[8].build());
    const app = manifests.filter((m) => m.kind === 'ConfigMap').map((m) => JSON.parse(m.data['config.json'])).find((c) => !c.cluster);
    const remote = app.stores.chain[0].store;
    expect(remote.mode).toBe('cluster');
    const sts = manifests.find((m) => m.kind === 'StatefulSet').metadata.name;
    expect(remote.nodes).toEqual([0, 1, 2].map((i) => ({ host: `${sts}-${i}.${sts}-peers.catalog.svc.cluster.local`, port: 6379 })));
    expect(remote.password).toEqual({ env: 'STATE_CACHE_STORE_REMOTE_PASSWORD' });
  });
});

/** Builds one bad setup; the error must be exactly `message`. */
const BAD: Array<[string, () => void, string]> = [
  ['write-behind without a store', () => cachedApp(chart(), { cache: { writeMode: WriteMode.writeBehind() } }),
    'test/web: writeMode is write-behind but no store is configured. Add a writable store (e.g. CacheStore.postgres(db, {...}) or CacheStore.file({ size })), or use WriteMode.MEMORY_ONLY'],
  ['write-through to read-only stores only', () => { const c = chart(); cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.postgres(postgres(c), { user: 'u', readOnly: true })] } }); },
    'test/web: writeMode is write-through but every store is read-only. Add a writable store (e.g. CacheStore.postgres(db, {...}) or CacheStore.file({ size })), or use WriteMode.MEMORY_ONLY'],
  ['write-through with best-effort stores only', () => cachedApp(chart(), { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.file({ size: Size.gibibytes(1), mode: StoreLinkMode.BEST_EFFORT })] } }),
    'test/web: writeMode is write-through but every writable store ("file") is best-effort, so a write could be acknowledged that no store has. Make at least one writable store StoreLinkMode.REQUIRED'],
  ['journal without a volume', () => cachedApp(chart(), { cache: { writeMode: WriteMode.writeBehind(), journal: {}, stores: [CacheStore.file({ size: Size.gibibytes(1) })] } }),
    'test/web: journal has no volume (neither size nor store is given). Give journal.size for a claim per pod (e.g. Size.gibibytes(1)), or journal.store for a PersistentStore; a journal on the pod\'s own disk would not survive the pod'],
  ['journal without write-behind', () => cachedApp(chart(), { cache: { writeMode: WriteMode.writeThrough(), journal: { size: Size.gibibytes(1) }, stores: [CacheStore.file({ size: Size.gibibytes(1) })] } }),
    'test/web: journal is set but writeMode is write-through. The journal covers writes acknowledged before the stores have them: use WriteMode.writeBehind({...}), or drop journal'],
  ['passivation with a shared store', () => { const c = chart(); cachedApp(c, { cache: { writeMode: WriteMode.writeBehind(), passivation: true, stores: [CacheStore.postgres(postgres(c), { user: 'u' })] } }); },
    'test/web: passivation is on with shared store(s) "postgres". Another instance may change an entry while it is passivated, so the copy loaded back would be stale: use a store only this cache writes (CacheStore.file), mark the shared ones readOnly, or turn passivation off'],
  ['passivation in memory-only mode', () => cachedApp(chart(), { cache: { passivation: true } }),
    'test/web: passivation is on but writeMode is MEMORY_ONLY. Passivated entries must reach a store: use WriteMode.writeThrough() or WriteMode.writeBehind({...}), or turn passivation off'],
  ['purge on a shared store', () => { const c = chart(); cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), purgeOnStartup: true, stores: [CacheStore.postgres(postgres(c), { user: 'u' })] } }); },
    'test/web: purgeOnStartup is on with shared store(s) "postgres". Purging would delete entries other instances wrote: turn purgeOnStartup off, or mark those stores readOnly'],
  ['purge of the store preload reads', () => cachedApp(chart(), { cache: { writeMode: WriteMode.writeThrough(), purgeOnStartup: true, stores: [CacheStore.file({ size: Size.gibibytes(1), preload: true })] } }),
    'test/web: purgeOnStartup empties store "file" before preload reads it. Turn purgeOnStartup or preload off'],
  ['TTL on a store that cannot keep it', () => cachedApp(chart(), { cache: { writeMode: WriteMode.writeThrough(), expiry: { defaultTtl: Duration.hours(1) }, stores: [CacheStore.custom({ module: '/opt/s.js' })] } }),
    'test/web: expiry is set but store(s) "custom" cannot keep an entry\'s expiry, so expired entries would come back from them. Use stores that keep expiry (file, postgres, remote), mark those readOnly, or set supportsTtl: true on a custom store that does'],
  ['memory budget above the container limit', () => cachedApp(chart(), { cache: { memory: { maxSize: Size.mebibytes(240) } }, cacheResources: { memory: { limit: Size.mebibytes(256) } } }),
    'test/web: memory.maxSize 251658240 bytes is above 90% of the cache container memory limit 268435456 bytes. Raise cacheResources.memory.limit to at least 267Mi, lower memory.maxSize, or leave cacheResources out to derive the limit from the budget'],
  ['a non-PostgreSQL database as a postgres store', () => {
    const c = chart();
    const db = postgres(c, { engine: DatabaseEngine.MYSQL, tlsMode: TlsMode.MYSQL_VERIFY_IDENTITY });
    cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.postgres(db, { user: 'u' })] } });
  }, 'test/web: postgres store "postgres" is given ExternalDatabase test/db of engine "mysql". CacheStore.postgres needs a database of engine DatabaseEngine.POSTGRESQL; for a Redis-protocol server use CacheStore.remote(RemoteCache.fromEndpoint({...}))'],
  ['a PostgreSQL TLS mode state-cache does not use', () => {
    const c = chart();
    const db = postgres(c, { tlsMode: TlsMode.POSTGRES_PREFER, tlsCa: undefined });
    cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.postgres(db, { user: 'u' })] } });
  }, 'test/web: postgres store "postgres": TLS mode "prefer" of ExternalDatabase test/db is not one state-cache uses. Give the database TlsMode.POSTGRES_VERIFY_FULL, POSTGRES_VERIFY_CA, POSTGRES_REQUIRE or DISABLED (allow/prefer may silently fall back to plain TCP)'],
  ['a postgres database without databaseName', () => {
    const c = chart();
    cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.postgres(postgres(c, { databaseName: undefined }), { user: 'u' })] } });
  }, 'test/web: postgres store "postgres": ExternalDatabase test/db has no databaseName. Give the ExternalDatabase a databaseName, e.g. "cache"'],
  ['an RWO PersistentStore shared by replicas', () => {
    const c = chart();
    const data = new PersistentStore(c, 'data', { size: Size.gibibytes(1), metadata: { name: 'data' } });
    cachedApp(c, { replicas: 2, cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.file({ store: data })] } });
  }, 'test/web: file store "file" is one PersistentStore (data, ReadWriteOnce) but replicas is 2. One volume would be shared by every pod, and its data belongs to one process: give size instead for a claim per pod, or run one replica'],
  ['a journal PersistentStore shared by replicas', () => {
    const c = chart();
    const j = new PersistentStore(c, 'j', { size: Size.gibibytes(1), metadata: { name: 'journal' }, accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_MANY] });
    const stores = [CacheStore.file({ size: Size.gibibytes(1) })];
    cachedApp(c, { replicas: 3, cache: { writeMode: WriteMode.writeBehind(), journal: { store: j }, stores } });
  }, 'test/web: journal.store is one PersistentStore (journal, ReadWriteMany) but replicas is 3. One volume would be shared by every pod, and its data belongs to one process: give size instead for a claim per pod, or run one replica'],
  ['a file store without a volume', () => cachedApp(chart(), { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.file({})] } }),
    'test/web: file store "file" has no volume (neither size nor store is given). Give size for a claim per pod (e.g. Size.gibibytes(10)), or store for an existing PersistentStore'],
  ['two stores with one name', () => cachedApp(chart(), { cache: { stores: [CacheStore.file({ size: Size.gibibytes(1) }), CacheStore.file({ size: Size.gibibytes(1) })] } }),
    'test/web: two stores are named "file". Give each store its own name (option name), e.g. "file-2"; names key logs, metrics, volumes and passwords'],
  ['two preload stores', () => cachedApp(chart(), { cache: { stores: [CacheStore.file({ size: Size.gibibytes(1), name: 'a', preload: true }), CacheStore.file({ size: Size.gibibytes(1), name: 'b', preload: true })] } }),
    'test/web: stores "a" and "b" are both marked preload. Mark at most one store with preload: true'],
  ['a remote store pointing at itself', () => {
    // The settings name the cluster they configure (found by id while it is being built).
    const c = chart();
    new ExternalCacheCluster(c, 'cache', {
      password: CachePassword.fromSecret(secret(c, 'pw')),
      cache: {
        writeMode: WriteMode.writeThrough(),
        get stores() { return [CacheStore.remote(c.node.findChild('cache') as ExternalCacheCluster)]; },
      },
    });
  }, 'test/cache: remote store "remote" points at this cache itself. A cache cannot be its own store (every write would loop back): point the remote store at another cache, or use a file or postgres store'],
  ['a grace period shorter than the flush deadline', () => cachedApp(chart(), { terminationGracePeriod: Duration.seconds(20), cache: { flushDeadline: Duration.seconds(30) } }),
    'test/web: terminationGracePeriod 20s is shorter than the app drain time (10s) plus the cache shutdown (flushDeadline 30s + 5s). Give at least 45s (better 50s), or shorten appDrainTime or cache.flushDeadline'],
  ['zero replicas in a cluster', () => { const c = chart(); new ExternalCacheCluster(c, 'cache', { replicas: 0, password: CachePassword.fromSecret(secret(c, 'pw')) }); },
    'test/cache: replicas 0 is not a whole number from 1 to 16384. Give replicas: 1 or more (each pod owns a range of the 16384 hash slots); to stop the cluster, remove it'],
  ['a bad image tag', () => cachedApp(chart(), { image: CacheImage.fromTag('latest') }),
    'CacheImage: tag "latest" is not allowed. Pin a version tag such as "0.0.0" (never "latest"), or use CacheImage.fromDigest'],
  ['an app without probes', () => cachedApp(chart(), { app: appContainer({ liveness: undefined }) }),
    'test/web: app container "web" has no liveness probe. Give app.readiness and app.liveness with different checks (e.g. Probe.fromHttpGet("/ready") and Probe.fromHttpGet("/healthz")): without them the app gets traffic before it is ready, and a hung app is never restarted'],
  ['an app on the cache port', () => cachedApp(chart(), { app: appContainer({ portNumber: 6379 }) }),
    'test/web: app port 6379 is also a port of the cache sidecar (6379 RESP, 8080 HTTP). The app and the cache share the pod\'s network: give the app another port'],
  ['memory limit fraction out of range', () => cachedApp(chart(), { cache: { memory: { limitFraction: 0.95 } } }),
    'test/web: memory.limitFraction 0.95 is out of range. Use a share above 0 and at most 0.9 of the container memory limit; the rest is headroom against OOM kills'],
  ['a remote endpoint without egress CIDRs', () => cachedApp(chart(), { cache: { stores: [CacheStore.remote(RemoteCache.fromEndpoint({ host: 'redis', egressCidrs: [] }))] } }),
    'test/web: remote store "remote" has no egress CIDRs. Give egressCidrs in RemoteCache.fromEndpoint(): the cache pod\'s egress NetworkPolicy allows only its stores'],
  ['write-behind batch larger than the queue', () => cachedApp(chart(), { cache: { writeMode: WriteMode.writeBehind({ batchSize: 500, maxPendingEntries: 100 }), stores: [CacheStore.file({ size: Size.gibibytes(1) })] } }),
    'test/web: writeBehind batchSize 500 is larger than maxPendingEntries 100. A full batch could never form: lower batchSize or raise maxPendingEntries'],
  ['zero app replicas', () => cachedApp(chart(), { replicas: 0 }),
    'test/web: replicas 0 is not a whole number of at least 1. Give replicas: 1 or more (each pod has its own cache)'],
  ['a dead-letter file on the read-only root', () => cachedApp(chart(), { cache: { writeMode: WriteMode.writeBehind({ deadLetterPath: '/dead.jsonl', whenFull: QueueFullPolicy.block() }), stores: [CacheStore.file({ size: Size.gibibytes(1) })] } }),
    'test/web: writeBehind deadLetterPath "/dead.jsonl" is not under /var/lib/state-cache. The root filesystem is read-only: put the dead-letter file under /var/lib/state-cache/ (on the journal volume, /var/lib/state-cache/durable/, to keep it across pods)'],
  ['a database in another namespace', () => {
    const c = chart('shop');
    const db = postgres(c, { namespace: 'databases' });
    cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.postgres(db, { user: 'u' })] } });
  }, 'test/web: postgres store "postgres": ExternalDatabase test/db is in namespace "databases", but the cache is in "shop". Pods read the credentials and CA Secrets from their own namespace: create the ExternalDatabase in the namespace of the cache'],
  ['a remote cluster in another namespace', () => {
    const app = chart('shop');
    const other = new Chart(app.node.scope as Construct, 'other', { namespace: 'caches' });
    const cl = new ExternalCacheCluster(other, 'cache', { password: CachePassword.fromSecret(secret(other, 'pw')) });
    cachedApp(app, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.remote(cl)] } });
  }, 'test/web: remote store "remote" is in namespace "caches", but the cache is in "shop". Pods read the password Secret from their own namespace: put the cache in the namespace of the remote cache'],
  ['a written file store on a read-only PersistentStore', () => {
    const c = chart();
    const ro = new PersistentStore(c, 'ro', { size: Size.gibibytes(1), metadata: { name: 'seed' }, accessModes: [kplus.PersistentVolumeAccessMode.READ_ONLY_MANY] });
    cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.file({ store: ro })] } });
  }, 'test/web: file store "file" is on PersistentStore seed, which is ReadOnlyMany, but the store is written. Give the PersistentStore a writable access mode (e.g. ReadWriteOnce), or mark the store readOnly: true'],
  ['evictionSamples out of range', () => cachedApp(chart(), { cache: { memory: { evictionSamples: 0 } } }),
    'test/web: memory.evictionSamples 0 is out of range. Use a whole number from 1 to 64'],
  ['both a byte budget and a limit fraction', () => cachedApp(chart(), { cache: { memory: { maxSize: Size.mebibytes(100), limitFraction: 0.5 } } }),
    'test/web: memory.maxSize and memory.limitFraction are both given. Give maxSize (a fixed budget) or limitFraction (a share of the container limit), not both'],
  ['a zero byte budget', () => cachedApp(chart(), { cache: { memory: { maxSize: Size.mebibytes(0) } } }),
    'test/web: memory.maxSize 0 bytes is not a positive whole number of bytes. Give a size such as Size.mebibytes(256)'],
  ['a postgres pool keeping more connections than it opens', () => {
    const c = chart();
    cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [CacheStore.postgres(postgres(c), { user: 'u', poolSize: 4, poolMin: 5 })] } });
  }, 'test/web: postgres store "postgres" poolMin 5 is more than poolSize 4. The pool never opens more than poolSize connections: lower poolMin or raise poolSize'],
  ['a TTL below a second', () => cachedApp(chart(), { cache: { expiry: { defaultTtl: Duration.millis(1500) } } }),
    'test/web: expiry.defaultTtl 1500ms is not a whole number of seconds of at least 1. state-cache counts expiry in seconds: give a duration such as Duration.minutes(10)'],
  ['a store name that is not a DNS label', () => cachedApp(chart(), { cache: { stores: [CacheStore.file({ size: Size.gibibytes(1), name: 'My_Store' })] } }),
    'test/web: store name "My_Store" is not a DNS-1123 label. Use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit'],
  ['a journal with both size and store', () => {
    const c = chart();
    const j = new PersistentStore(c, 'j', { size: Size.gibibytes(1) });
    const journal = { size: Size.gibibytes(1), store: j };
    cachedApp(c, { cache: { writeMode: WriteMode.writeBehind(), journal, stores: [CacheStore.file({ size: Size.gibibytes(1) })] } });
  }, 'test/web: journal has both size and store. Give journal.size (a claim per pod) or journal.store (an existing PersistentStore), not both'],
  ['a retry base delay above the maximum', () => cachedApp(chart(), {
    cache: {
      writeMode: WriteMode.writeBehind({ retryBaseDelay: Duration.seconds(10), retryMaxDelay: Duration.seconds(1) }),
      stores: [CacheStore.file({ size: Size.gibibytes(1) })],
    },
  }), 'test/web: writeBehind retryBaseDelay 10000ms is longer than retryMaxDelay 1000ms. Lower retryBaseDelay or raise retryMaxDelay'],
  ['a zero flush interval', () => cachedApp(chart(), { cache: { writeMode: WriteMode.writeBehind({ flushInterval: Duration.millis(0) }), stores: [CacheStore.file({ size: Size.gibibytes(1) })] } }),
    'test/web: writeBehind flushInterval is shorter than 1ms. Give a flush interval of at least Duration.millis(1)'],
  ['a journal segment below 4 KiB', () => cachedApp(chart(), {
    cache: {
      writeMode: WriteMode.writeBehind(),
      journal: { size: Size.gibibytes(1), segmentSize: Size.kibibytes(1) },
      stores: [CacheStore.file({ size: Size.gibibytes(1) })],
    },
  }), 'test/web: journal.segmentSize 1024 bytes is below 4096. Give a segment size of at least Size.kibibytes(4)'],
  ['a preload budget without a preload store', () => cachedApp(chart(), { cache: { preloadTimeBudget: Duration.seconds(5) } }),
    'test/web: preloadTimeBudget is given but no store is marked preload. Mark one store with preload: true, or drop preloadTimeBudget'],
  ['a flush deadline below a second', () => cachedApp(chart(), { cache: { flushDeadline: Duration.millis(500) } }),
    'test/web: flushDeadline 500ms is shorter than a second. Give the flush at least Duration.seconds(1)'],
  ['a file store with both size and store', () => {
    const c = chart();
    const data = new PersistentStore(c, 'data', { size: Size.gibibytes(1) });
    cachedApp(c, { cache: { stores: [CacheStore.file({ size: Size.gibibytes(1), store: data })] } });
  }, 'test/web: file store "file" has both size and store. Give size (a claim per pod) or store (an existing PersistentStore), not both'],
  ['a postgres store without a user', () => { const c = chart(); cachedApp(c, { cache: { stores: [CacheStore.postgres(postgres(c), { user: '' })] } }); },
    'test/web: postgres store "postgres" has an empty user. Give the database user state-cache connects as, e.g. "state_cache"'],
  ['a postgres table that is not an SQL identifier', () => { const c = chart(); cachedApp(c, { cache: { stores: [CacheStore.postgres(postgres(c), { user: 'u', table: 'Cache-Entries' })] } }); },
    'test/web: postgres store "postgres" table "Cache-Entries" is not a lower-case SQL identifier. Use at most 63 lower-case letters, digits and "_", not starting with a digit'],
  ['a database without egress CIDRs', () => {
    const c = chart();
    cachedApp(c, { cache: { stores: [CacheStore.postgres(postgres(c, { egressCidrs: undefined, egressPolicy: false }), { user: 'u' })] } });
  }, 'test/web: postgres store "postgres": ExternalDatabase test/db has no egress CIDRs (egressPolicy is false). The cache pod\'s egress NetworkPolicy allows only its stores: give the ExternalDatabase its egressCidrs'],
  ['a custom store module by relative path', () => cachedApp(chart(), { cache: { stores: [CacheStore.custom({ module: './store.js' })] } }),
    'test/web: custom store "custom" module "./store.js" is not an absolute path. Give the absolute path of the module inside the image, e.g. "/opt/stores/my-store.js"'],
  ['a password ExternalSecret with a bad store name', () => cachedApp(chart(), { password: CachePassword.fromExternalSecret({ store: SecretStoreRef.secretStore('Vault!'), remoteKey: 'k' }) }),
    'test/web: secret store name "Vault!" is not a valid Kubernetes name. Use the name of an existing SecretStore or ClusterSecretStore (lower-case letters, digits, "-" and ".")'],
  ['a password ExternalSecret without a remote key', () => cachedApp(chart(), { password: CachePassword.fromExternalSecret({ store: SecretStoreRef.secretStore('vault'), remoteKey: '' }) }),
    'test/web: the ExternalSecret for the cache password has an empty remoteKey. Give the key of the password in the store, e.g. "prod/orders-cache"'],
];

describe('bad input fails at synth with the exact error', () => {
  test.each(BAD)('%s', (_name, build, message) => {
    expect(build).toThrow(new Error(message));
  });
  test('there are at least 15 of them', () => {
    expect(BAD.length).toBeGreaterThanOrEqual(15);
  });
});


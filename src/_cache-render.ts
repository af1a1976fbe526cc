import { Duration, Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { StoreSource } from './_cache-source';
import type {
  CacheSections, ChainLinkConfig, ExpiryConfig, LimitsConfig, LogConfig, MemoryConfig, PersistenceConfig, StoreConfig, StoreConfigOf, StoresConfig,
} from './_runtime-config';
import { fail, isIpAddress, validateCidr } from './_validation';
import { CacheExpiry, CacheJournal, CacheMemory, CacheSettings, WriteBehindOptions, WriteMode, WriteThroughOptions } from './cache';
import { CacheStore } from './cache-store';
import { DatabaseEngine, TlsMode } from './database-engine';
import { ExternalDatabase } from './external-database';
import { IPersistentStore } from './persistent-store';
import { IRemoteCache } from './remote-cache';

/** Where state-cache keeps files; an emptyDir unless a volume is mounted below it. */
export const DATA_DIR = '/var/lib/state-cache';
/** Where the journal volume (and then the dead-letter file) is mounted. */
export const DURABLE_DIR = `${DATA_DIR}/durable`;
/** Where store CA certificates are mounted. */
const CA_DIR = '/etc/state-cache/ca';

const STORE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const MIB = 1024 * 1024;

/** A claim template the workload needs: one volume per pod. */
export interface ClaimTemplate {
  readonly name: string;
  readonly size: Size;
  readonly storageClassName?: string;
  readonly path: string;
}

/** Where this cache runs, for the checks that depend on it. */
export interface CacheTarget {
  /** Pods that run this cache. */
  readonly replicas: number;
  /** The cache itself when it is a remote cache others use: a remote store pointing at it is refused. */
  readonly self?: IRemoteCache;
  /** Where errors say the replicas come from, e.g. "replicas" or "replicas of the cluster". */
  readonly replicasWhat: string;
  /** The namespace of the cache's pods (Secrets are read from it). */
  readonly namespace?: string;
}

/** An egress the cache pod needs: to pods, or to address ranges, on a TCP port. */
export interface CacheEgress {
  readonly peer?: kplus.INetworkPolicyPeer;
  readonly cidrs?: string[];
  readonly port: number;
}

/** What the cache's pod needs for its settings, collected by the renderers in config order. */
export interface PodNeeds {
  /** Environment variables of the cache container (passwords from Secrets). */
  readonly env: Array<[string, kplus.EnvValue]>;
  /** Pod volumes and where the cache container mounts them. */
  readonly mounts: Array<{ path: string; volume: kplus.Volume }>;
  /** Claim templates: one volume per pod. */
  readonly claimTemplates: ClaimTemplate[];
  /** PersistentStores the cache container mounts. */
  readonly persistentStores: Array<{ store: IPersistentStore; path: string }>;
  /** Egress to the stores. */
  readonly egress: CacheEgress[];
  /** Remote caches used as stores. */
  readonly remotes: IRemoteCache[];
}

/** The cache settings as config sections plus what the pod needs for them. */
export interface RenderedCache extends PodNeeds {
  /** The `memory`, `expiry`, `limits`, `log`, `stores` and `persistence` sections. */
  readonly sections: CacheSections;
  /** The keyspace byte budget, when given. */
  readonly memoryBudgetBytes?: number;
  /** How long the cache flushes on shutdown. */
  readonly flushDeadline: Duration;
}

function wholeBytes(scope: Construct, what: string, size: Size): number {
  const bytes = size.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) * 1024;
  if (!Number.isInteger(bytes) || bytes <= 0) {
    fail(scope, `${what} ${bytes} bytes is not a positive whole number of bytes`, 'Give a size such as Size.mebibytes(256)');
  }
  return bytes;
}

function millis(d: Duration): number {
  return d.toMilliseconds();
}

function intIn(scope: Construct, what: string, value: number | undefined, min: number, max: number = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(scope, `${what} ${value} is out of range`, `Use a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`);
  }
}

function show(namespace: string | undefined): string {
  return namespace === undefined ? '(none)' : `"${namespace}"`;
}

function names(stores: CacheStore[]): string {
  return stores.map((s) => `"${s.name}"`).join(', ');
}

/** The environment variable holding a store's password. */
export function storePasswordEnv(storeName: string): string {
  return `STATE_CACHE_STORE_${storeName.toUpperCase().replace(/-/g, '_')}_PASSWORD`;
}

/** The runtime's postgres TLS mode for an ExternalDatabase TLS mode, or undefined when the runtime has none. */
function pgTlsMode(mode: TlsMode): 'disable' | 'require' | 'verify-ca' | 'verify-full' | undefined {
  if (mode === TlsMode.DISABLED) return 'disable';
  if (mode === TlsMode.POSTGRES_REQUIRE) return 'require';
  if (mode === TlsMode.POSTGRES_VERIFY_CA) return 'verify-ca';
  if (mode === TlsMode.POSTGRES_VERIFY_FULL) return 'verify-full';
  return undefined;
}

/**
 * Renders typed cache settings into the state-cache config sections and the
 * pod pieces they need, refusing at synth every combination the runtime
 * would refuse at start (and the ones only Kubernetes can see, such as one
 * volume shared by replicas). One renderer per section, in config order.
 */
export function renderCache(scope: Construct, settings: CacheSettings, target: CacheTarget): RenderedCache {
  const pod: PodNeeds = { env: [], mounts: [], claimTemplates: [], persistentStores: [], egress: [], remotes: [] };
  const { memory, memoryBudgetBytes } = renderMemory(scope, settings.memory ?? {});
  const expiry = renderExpiry(scope, settings.expiry ?? {});
  const limits = renderLimits(scope, settings.maxClients);
  // The public class holds one of the runtime's level names.
  const log: LogConfig = { level: (settings.logLevel?.value ?? 'info') as LogConfig['level'] };
  const stores = renderChain(scope, settings.stores ?? [], target, pod);
  const expiryInUse = expiry.defaultTtlSeconds !== undefined || expiry.maxIdleSeconds !== undefined;
  const persistence = renderPersistence(scope, settings, target, pod, expiryInUse);
  return {
    sections: { memory, expiry, limits, log, stores, persistence },
    ...pod,
    memoryBudgetBytes,
    flushDeadline: settings.flushDeadline ?? Duration.seconds(10),
  };
}

/** `memory`: bounds and eviction; the byte budget, when given, sizes the container. */
function renderMemory(scope: Construct, mem: CacheMemory): { memory: MemoryConfig; memoryBudgetBytes?: number } {
  intIn(scope, 'memory.maxEntries', mem.maxEntries, 0);
  intIn(scope, 'memory.evictionSamples', mem.evictionSamples, 1, 64);
  if (mem.limitFraction !== undefined && !(mem.limitFraction > 0 && mem.limitFraction <= 0.9)) {
    fail(scope, `memory.limitFraction ${mem.limitFraction} is out of range`,
      'Use a share above 0 and at most 0.9 of the container memory limit; the rest is headroom against OOM kills');
  }
  if (mem.limitFraction !== undefined && mem.maxSize !== undefined) {
    fail(scope, 'memory.maxSize and memory.limitFraction are both given',
      'Give maxSize (a fixed budget) or limitFraction (a share of the container limit), not both');
  }
  const memoryBudgetBytes = mem.maxSize ? wholeBytes(scope, 'memory.maxSize', mem.maxSize) : undefined;
  // Eviction's values are the runtime's names.
  const memory: MemoryConfig = { eviction: (mem.eviction?.value ?? 'lru') as MemoryConfig['eviction'] };
  if (mem.maxEntries !== undefined) memory.maxEntries = mem.maxEntries;
  if (memoryBudgetBytes !== undefined) memory.maxBytes = memoryBudgetBytes;
  if (mem.limitFraction !== undefined) memory.limitFraction = mem.limitFraction;
  if (mem.evictionSamples !== undefined) memory.evictionSamples = mem.evictionSamples;
  return { memory, memoryBudgetBytes };
}

/** `expiry`: whole seconds, as the runtime counts them. */
function renderExpiry(scope: Construct, exp: CacheExpiry): ExpiryConfig {
  const expiry: ExpiryConfig = {};
  for (const [what, d, key] of [['expiry.defaultTtl', exp.defaultTtl, 'defaultTtlSeconds'], ['expiry.maxIdle', exp.maxIdle, 'maxIdleSeconds']] as const) {
    if (d === undefined) continue;
    const ms = d.toMilliseconds();
    if (ms % 1000 !== 0 || ms < 1000) {
      fail(scope, `${what} ${ms}ms is not a whole number of seconds of at least 1`, 'state-cache counts expiry in seconds: give a duration such as Duration.minutes(10)');
    }
    expiry[key] = ms / 1000;
  }
  return expiry;
}

/** `limits`. */
function renderLimits(scope: Construct, maxClients: number | undefined): LimitsConfig {
  intIn(scope, 'maxClients', maxClients, 1);
  return maxClients !== undefined ? { maxClients } : {};
}

/** `stores`: the chain, each store rendered by its type; names unique, at most one preload store. */
function renderChain(scope: Construct, stores: CacheStore[], target: CacheTarget, pod: PodNeeds): StoresConfig {
  const seen = new Set<string>();
  const chain: ChainLinkConfig[] = [];
  let preloadStore: CacheStore | undefined;
  stores.forEach((store, i) => {
    if (!STORE_NAME.test(store.name)) {
      fail(scope, `store name "${store.name}" is not a DNS-1123 label`, 'Use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit');
    }
    if (seen.has(store.name)) {
      fail(scope, `two stores are named "${store.name}"`,
        `Give each store its own name (option name), e.g. "${store.name}-${i + 1}"; names key logs, metrics, volumes and passwords`);
    }
    seen.add(store.name);
    if (store.preload) {
      if (preloadStore) {
        fail(scope, `stores "${preloadStore.name}" and "${store.name}" are both marked preload`, 'Mark at most one store with preload: true');
      }
      preloadStore = store;
    }
    chain.push({
      store: renderStore(scope, store, target, pod),
      // StoreLinkMode's values are the runtime's names.
      mode: store.mode.value as ChainLinkConfig['mode'],
      readOnly: store.readOnly,
      preload: store.preload,
    });
  });
  return { chain };
}

/** One store's config, by its type. A store type without a case here does not compile. */
function renderStore(scope: Construct, store: CacheStore, target: CacheTarget, pod: PodNeeds): StoreConfig {
  const src = store._source;
  switch (src.kind) {
    case 'file': return renderFileStore(scope, store, src, target, pod);
    case 'postgres': return renderPostgresStore(scope, store, src, target, pod);
    case 'remote': return renderRemoteStore(scope, store, src, target, pod);
    case 'custom': return renderCustomStore(scope, store, src);
    default: return unknownStore(src);
  }
}

function unknownStore(src: never): never {
  throw new Error(`cdk8s-state: no renderer for store kind "${(src as StoreSource).kind}"`);
}

type SourceOf<K extends StoreSource['kind']> = Extract<StoreSource, { kind: K }>;

/** A volume only one pod can use: refuse it for more than one replica. */
function checkOneVolume(scope: Construct, what: string, store: IPersistentStore, target: CacheTarget): void {
  if (target.replicas > 1) {
    fail(scope, `${what} is one PersistentStore (${store.claim.name}, ${store.accessModes.join(', ')}) but ${target.replicasWhat} is ${target.replicas}`,
      'One volume would be shared by every pod, and its data belongs to one process: give size instead for a claim per pod, or run one replica');
  }
}

/** A CA certificate from a Secret, mounted for one store; returns the file's path. */
function mountStoreCa(scope: Construct, storeName: string, secret: kplus.ISecret, key: string, pod: PodNeeds): string {
  const volume = kplus.Volume.fromSecret(scope, `StoreCa-${storeName}`, secret, {
    name: `ca-${storeName}`.slice(0, 63),
    items: { [key]: { path: 'ca.crt' } },
  });
  pod.mounts.push({ path: `${CA_DIR}/${storeName}`, volume });
  return `${CA_DIR}/${storeName}/ca.crt`;
}

function renderFileStore(scope: Construct, store: CacheStore, src: SourceOf<'file'>, target: CacheTarget, pod: PodNeeds): StoreConfigOf<'file'> {
  const f = src.options;
  const where = `store "${store.name}"`;
  const path = `${DATA_DIR}/stores/${store.name}`;
  if (f.size === undefined && f.store === undefined) {
    fail(scope, `file ${where} has no volume (neither size nor store is given)`,
      'Give size for a claim per pod (e.g. Size.gibibytes(10)), or store for an existing PersistentStore');
  }
  if (f.size !== undefined && f.store !== undefined) {
    fail(scope, `file ${where} has both size and store`, 'Give size (a claim per pod) or store (an existing PersistentStore), not both');
  }
  if (f.store) {
    checkOneVolume(scope, `file ${where}`, f.store, target);
    const modes = f.store.accessModes;
    if (!store.readOnly && modes.every((m) => m === kplus.PersistentVolumeAccessMode.READ_ONLY_MANY)) {
      fail(scope, `file ${where} is on PersistentStore ${f.store.claim.name}, which is ReadOnlyMany, but the store is written`,
        'Give the PersistentStore a writable access mode (e.g. ReadWriteOnce), or mark the store readOnly: true');
    }
    pod.persistentStores.push({ store: f.store, path });
  } else {
    pod.claimTemplates.push({ name: `store-${store.name}`.slice(0, 63), size: f.size!, storageClassName: f.storageClassName, path });
  }
  return {
    type: 'file',
    name: store.name,
    // A fresh filesystem's root holds lost+found: keep LevelDB in its own directory.
    directory: `${path}/data`,
    sync: f.sync ?? true,
    cacheSizeBytes: wholeBytes(scope, `file ${where} blockCacheSize`, f.blockCacheSize ?? Size.mebibytes(8)),
    compression: f.compression ?? true,
  };
}

function renderPostgresStore(
  scope: Construct, store: CacheStore, src: SourceOf<'postgres'>, target: CacheTarget, pod: PodNeeds,
): StoreConfigOf<'postgres'> {
  const o = src.options;
  const db = src.database;
  const c = db.connection;
  const where = `store "${store.name}"`;
  const dbNamespace = db instanceof ExternalDatabase ? db.namespace : undefined;
  if (dbNamespace !== target.namespace) {
    fail(scope, `postgres ${where}: ExternalDatabase ${db.node.path} is in namespace ${show(dbNamespace)}, but the cache is in ${show(target.namespace)}`,
      'Pods read the credentials and CA Secrets from their own namespace: create the ExternalDatabase in the namespace of the cache');
  }
  if (c.engine !== DatabaseEngine.POSTGRESQL) {
    fail(scope, `postgres ${where} is given ExternalDatabase ${db.node.path} of engine "${c.engine.name}"`,
      'CacheStore.postgres needs a database of engine DatabaseEngine.POSTGRESQL; for a Redis-protocol server use CacheStore.remote(RemoteCache.fromEndpoint({...}))');
  }
  const tlsMode = pgTlsMode(c.tlsMode);
  if (tlsMode === undefined) {
    fail(scope, `postgres ${where}: TLS mode "${c.tlsMode.name}" of ExternalDatabase ${db.node.path} is not one state-cache uses`,
      'Give the database TlsMode.POSTGRES_VERIFY_FULL, POSTGRES_VERIFY_CA, POSTGRES_REQUIRE or DISABLED (allow/prefer may silently fall back to plain TCP)');
  }
  if (c.databaseName === undefined) {
    fail(scope, `postgres ${where}: ExternalDatabase ${db.node.path} has no databaseName`, 'Give the ExternalDatabase a databaseName, e.g. "cache"');
  }
  if (!o.user) {
    fail(scope, `postgres ${where} has an empty user`, 'Give the database user state-cache connects as, e.g. "state_cache"');
  }
  for (const [what, v] of [['schema', o.schema], ['table', o.table]] as const) {
    if (v !== undefined && !SQL_IDENTIFIER.test(v)) {
      fail(scope, `postgres ${where} ${what} "${v}" is not a lower-case SQL identifier`, 'Use at most 63 lower-case letters, digits and "_", not starting with a digit');
    }
  }
  intIn(scope, `postgres ${where} poolSize`, o.poolSize, 1, 1000);
  intIn(scope, `postgres ${where} poolMin`, o.poolMin, 0, 1000);
  if (o.poolMin !== undefined && o.poolMin > (o.poolSize ?? 10)) {
    fail(scope, `postgres ${where} poolMin ${o.poolMin} is more than poolSize ${o.poolSize ?? 10}`,
      'The pool never opens more than poolSize connections: lower poolMin or raise poolSize');
  }
  if (c.egressCidrs.length === 0) {
    fail(scope, `postgres ${where}: ExternalDatabase ${db.node.path} has no egress CIDRs (egressPolicy is false)`,
      'The cache pod\'s egress NetworkPolicy allows only its stores: give the ExternalDatabase its egressCidrs');
  }
  const passwordEnv = storePasswordEnv(store.name);
  pod.env.push([passwordEnv, kplus.EnvValue.fromSecretValue({ secret: c.credentialsSecret, key: c.passwordKey })]);
  const tls: StoreConfigOf<'postgres'>['tls'] = { mode: tlsMode };
  if (c.caSecret && c.caKey) tls.caFile = mountStoreCa(scope, store.name, c.caSecret, c.caKey, pod);
  pod.egress.push({ cidrs: c.egressCidrs, port: c.port });
  return {
    type: 'postgres',
    name: store.name,
    host: c.host,
    port: c.port,
    database: c.databaseName!,
    user: o.user,
    password: { env: passwordEnv },
    schema: o.schema ?? 'public',
    table: o.table ?? 'state_cache_entries',
    tls,
    poolSize: o.poolSize ?? 10,
    ...(o.poolMin !== undefined ? { poolMin: o.poolMin } : {}),
    connectTimeoutMs: millis(o.connectTimeout ?? Duration.seconds(5)),
    statementTimeoutMs: millis(o.statementTimeout ?? Duration.seconds(10)),
    ...(o.preparedStatements === false ? { preparedStatements: false } : {}),
  };
}

function renderRemoteStore(scope: Construct, store: CacheStore, src: SourceOf<'remote'>, target: CacheTarget, pod: PodNeeds): StoreConfigOf<'remote'> {
  const where = `store "${store.name}"`;
  if (target.self !== undefined && src.remote === target.self) {
    fail(scope, `remote ${where} points at this cache itself`,
      'A cache cannot be its own store (every write would loop back): point the remote store at another cache, or use a file or postgres store');
  }
  const e = src.remote.remoteCacheEndpoint;
  const o = src.options;
  for (const n of e.nodes) {
    const scheme = /^([a-z]+):\/\//.exec(n);
    if (scheme === null) continue;
    if (scheme[1] === 'rediss' && e.tls === undefined) {
      fail(scope, `remote ${where} node "${n}" is a rediss:// (TLS) address, but TLS is off`,
        'Give RemoteCache.fromEndpoint({ host: "<name without scheme>", tls: { ca, serverName } }): TLS is the tls option, the host is only the name');
    }
    fail(scope, `remote ${where} node "${n}" has a URL scheme`, 'Give host as a bare DNS name or IP address (no "redis://"), and tls: {...} for TLS');
  }
  if (e.tls?.serverName !== undefined) {
    const sn = e.tls.serverName;
    if (isIpAddress(sn) || sn.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(sn)) {
      fail(scope, `remote ${where} tls.serverName "${sn}" is not a DNS name`,
        'Give the DNS name in the server\'s certificate (lower-case letters, digits, "-" and ".", no wildcard, no IP address), or leave serverName out to check the host name');
    }
  }
  if (e.namespace !== undefined && e.passwordSecret !== undefined && e.namespace !== target.namespace) {
    fail(scope, `remote ${where} is in namespace ${show(e.namespace)}, but the cache is in ${show(target.namespace)}`,
      'Pods read the password Secret from their own namespace: put the cache in the namespace of the remote cache');
  }
  if (e.egressPeer === undefined && (e.egressCidrs ?? []).length === 0) {
    fail(scope, `remote ${where} has no egress CIDRs`, 'Give egressCidrs in RemoteCache.fromEndpoint(): the cache pod\'s egress NetworkPolicy allows only its stores');
  }
  (e.egressCidrs ?? []).forEach((cidr, i) => validateCidr(scope, `remote ${where} egressCidrs[${i}]`, cidr));
  const scripting = e.supportsScripting ?? true;
  if (o.versioned === true && !scripting) {
    fail(scope, `remote ${where} is a server without scripting, but versioned is true`,
      'Versioned writes run a Lua script, which this server cannot run. Leave versioned unset, or point the store at a server with scripting');
  }
  const waitFor = o.waitForReplicas ?? 0;
  intIn(scope, `remote ${where} waitForReplicas`, waitFor, 0, 16);
  if (waitFor > 0 && e.replicasPerPrimary !== undefined && waitFor > e.replicasPerPrimary) {
    fail(scope, `remote ${where} waits for ${waitFor} replica(s), but the server has ${e.replicasPerPrimary === 0 ? 'no replicas' : `${e.replicasPerPrimary} per primary`}`,
      e.replicasPerPrimary === 0
        ? 'Leave waitForReplicas out: a state-cache cluster keeps durability in its own stores, or run the cluster on CacheClusterEngine.valkey() with replicas'
        : `Give waitForReplicas: ${e.replicasPerPrimary} or less, or more replicasPerPrimary in the cluster`);
  }
  const commandTimeout = o.commandTimeout ?? Duration.seconds(5);
  const replicationTimeout = o.replicationTimeout ?? Duration.seconds(1);
  if (waitFor > 0 && replicationTimeout.toMilliseconds() >= commandTimeout.toMilliseconds()) {
    fail(scope, `remote ${where} replicationTimeout ${replicationTimeout.toMilliseconds()} ms is not shorter than commandTimeout ${commandTimeout.toMilliseconds()} ms`,
      'WAIT is a command: give a replicationTimeout shorter than commandTimeout');
  }
  pod.remotes.push(src.remote);
  pod.egress.push({ peer: e.egressPeer, cidrs: e.egressCidrs, port: e.port });
  const config: StoreConfigOf<'remote'> = {
    type: 'remote',
    name: store.name,
    mode: e.cluster ? 'cluster' : 'single',
    // RemoteCacheEndpoint.nodes has at least one node (RemoteCache.fromEndpoint, ExternalCacheCluster).
    nodes: e.nodes.map((n) => {
      const i = n.lastIndexOf(':');
      return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
    }) as StoreConfigOf<'remote'>['nodes'],
    keyPrefix: o.keyPrefix ?? '',
    versioning: (o.versioned ?? scripting) ? 'script' : 'none',
    commandTimeoutMs: millis(commandTimeout),
  };
  if (waitFor > 0) config.wait = { replicas: waitFor, timeoutMs: millis(replicationTimeout) };
  if (e.tls) {
    const tls: StoreConfigOf<'remote'>['tls'] = { enabled: true };
    if (e.tls.ca) tls.caFile = mountStoreCa(scope, store.name, e.tls.ca, e.tls.caKey ?? 'ca.crt', pod);
    if (e.tls.serverName !== undefined) tls.serverName = e.tls.serverName;
    config.tls = tls;
  }
  if (e.passwordSecret) {
    const passwordEnv = storePasswordEnv(store.name);
    pod.env.push([passwordEnv, kplus.EnvValue.fromSecretValue({ secret: e.passwordSecret, key: e.passwordKey ?? 'password' })]);
    config.password = { env: passwordEnv };
  }
  return config;
}

function renderCustomStore(scope: Construct, store: CacheStore, src: SourceOf<'custom'>): StoreConfigOf<'custom'> {
  const c = src.options;
  if (!c.module.startsWith('/')) {
    fail(scope, `custom store "${store.name}" module "${c.module}" is not an absolute path`, 'Give the absolute path of the module inside the image, e.g. "/opt/stores/my-store.js"');
  }
  return {
    type: 'custom',
    name: store.name,
    module: c.module,
    export: c.exportName ?? 'createStore',
    options: c.options ?? {},
  };
}

/**
 * `persistence`: how writes reach the stores, the journal, passivation,
 * preload, purge and the flush on shutdown, each checked against the stores.
 */
function renderPersistence(scope: Construct, settings: CacheSettings, target: CacheTarget, pod: PodNeeds, expiryInUse: boolean): PersistenceConfig {
  const writeMode = settings.writeMode ?? WriteMode.MEMORY_ONLY;
  const stores = settings.stores ?? [];
  const writable = stores.filter((s) => !s.readOnly);
  checkWritable(scope, writeMode, stores, writable);
  // WriteMode's modes are the runtime's names.
  const persistence: PersistenceConfig = { mode: writeMode.mode as PersistenceConfig['mode'] };
  if (writeMode.writeThroughOptions) persistence.writeThrough = renderWriteThrough(scope, writeMode.writeThroughOptions);
  const journalDir = settings.journal ? journalVolume(scope, settings.journal, writeMode, target, pod) : undefined;
  if (writeMode.writeBehindOptions) persistence.writeBehind = renderWriteBehind(scope, writeMode.writeBehindOptions, journalDir);
  if (settings.journal) persistence.journal = renderJournal(scope, settings.journal, journalDir!);
  renderStoreUse(scope, settings, writeMode, stores, writable, expiryInUse, persistence);
  const flushDeadline = settings.flushDeadline ?? Duration.seconds(10);
  persistence.shutdown = { flushDeadlineMs: millis(flushDeadline) };
  if (millis(flushDeadline) < 1000) {
    fail(scope, `flushDeadline ${millis(flushDeadline)}ms is shorter than a second`, 'Give the flush at least Duration.seconds(1)');
  }
  return persistence;
}

/** A write mode that writes needs a writable store; write-through needs a required one. */
function checkWritable(scope: Construct, writeMode: WriteMode, stores: CacheStore[], writable: CacheStore[]): void {
  if (writeMode.mode !== 'none' && writable.length === 0) {
    fail(scope, `writeMode is ${writeMode.mode} but ${stores.length === 0 ? 'no store is configured' : 'every store is read-only'}`,
      'Add a writable store (e.g. CacheStore.postgres(db, {...}) or CacheStore.file({ size })), or use WriteMode.MEMORY_ONLY');
  }
  if (writeMode.mode === 'write-through' && !writable.some((s) => s.mode.value === 'required')) {
    fail(scope, `writeMode is write-through but every writable store (${names(writable)}) is best-effort, so a write could be acknowledged that no store has`,
      'Make at least one writable store StoreLinkMode.REQUIRED');
  }
}

function renderWriteThrough(scope: Construct, wt: WriteThroughOptions): PersistenceConfig['writeThrough'] {
  intIn(scope, 'writeThrough maxBatchEntries', wt.maxBatchEntries, 1);
  return { maxBatchEntries: wt.maxBatchEntries ?? 1000 };
}

/** The journal's volume (a claim per pod, or a PersistentStore for one pod); returns the journal directory. */
function journalVolume(scope: Construct, journal: CacheJournal, writeMode: WriteMode, target: CacheTarget, pod: PodNeeds): string {
  if (writeMode.mode !== 'write-behind') {
    fail(scope, `journal is set but writeMode is ${writeMode.mode}`,
      'The journal covers writes acknowledged before the stores have them: use WriteMode.writeBehind({...}), or drop journal');
  }
  if (journal.size === undefined && journal.store === undefined) {
    fail(scope, 'journal has no volume (neither size nor store is given)',
      'Give journal.size for a claim per pod (e.g. Size.gibibytes(1)), or journal.store for a PersistentStore; a journal on the pod\'s own disk would not survive the pod');
  }
  if (journal.size !== undefined && journal.store !== undefined) {
    fail(scope, 'journal has both size and store', 'Give journal.size (a claim per pod) or journal.store (an existing PersistentStore), not both');
  }
  if (journal.store) {
    checkOneVolume(scope, 'journal.store', journal.store, target);
    pod.persistentStores.push({ store: journal.store, path: DURABLE_DIR });
  } else {
    pod.claimTemplates.push({ name: 'journal', size: journal.size!, storageClassName: journal.storageClassName, path: DURABLE_DIR });
  }
  return `${DURABLE_DIR}/journal`;
}

function renderWriteBehind(scope: Construct, wb: WriteBehindOptions, journalDir: string | undefined): PersistenceConfig['writeBehind'] {
  intIn(scope, 'writeBehind batchSize', wb.batchSize, 1);
  intIn(scope, 'writeBehind maxPendingEntries', wb.maxPendingEntries, 1);
  intIn(scope, 'writeBehind retryAttempts', wb.retryAttempts, 1, 1000);
  const batchSize = wb.batchSize ?? 100;
  const maxPending = wb.maxPendingEntries ?? 100_000;
  if (batchSize > maxPending) {
    fail(scope, `writeBehind batchSize ${batchSize} is larger than maxPendingEntries ${maxPending}`, 'A full batch could never form: lower batchSize or raise maxPendingEntries');
  }
  const baseDelay = millis(wb.retryBaseDelay ?? Duration.millis(100));
  const maxDelay = millis(wb.retryMaxDelay ?? Duration.seconds(30));
  if (baseDelay > maxDelay) {
    fail(scope, `writeBehind retryBaseDelay ${baseDelay}ms is longer than retryMaxDelay ${maxDelay}ms`, 'Lower retryBaseDelay or raise retryMaxDelay');
  }
  const deadLetterPath = wb.deadLetterPath ?? (journalDir ? `${DURABLE_DIR}/dead-letter.jsonl` : `${DATA_DIR}/dead-letter.jsonl`);
  if (!deadLetterPath.startsWith(`${DATA_DIR}/`)) {
    fail(scope, `writeBehind deadLetterPath "${deadLetterPath}" is not under ${DATA_DIR}`,
      `The root filesystem is read-only: put the dead-letter file under ${DATA_DIR}/ (on the journal volume, ${DURABLE_DIR}/, to keep it across pods)`);
  }
  const whenFull = wb.whenFull ?? { value: 'block', timeout: Duration.seconds(5) };
  const flushIntervalMs = millis(wb.flushInterval ?? Duration.seconds(1));
  const writeBehind: PersistenceConfig['writeBehind'] = {
    batchSize,
    flushIntervalMs,
    maxPendingEntries: maxPending,
    maxPendingBytes: wholeBytes(scope, 'writeBehind maxPendingSize', wb.maxPendingSize ?? Size.mebibytes(64)),
    // QueueFullPolicy's values are the runtime's names.
    whenFull: whenFull.value as 'block' | 'reject',
    ...(whenFull.timeout ? { blockTimeoutMs: millis(whenFull.timeout) } : {}),
    retry: { attempts: wb.retryAttempts ?? 8, baseDelayMs: baseDelay, maxDelayMs: maxDelay },
    deadLetterPath,
  };
  if (flushIntervalMs < 1) {
    fail(scope, 'writeBehind flushInterval is shorter than 1ms', 'Give a flush interval of at least Duration.millis(1)');
  }
  return writeBehind;
}

function renderJournal(scope: Construct, journal: CacheJournal, dir: string): PersistenceConfig['journal'] {
  const segmentBytes = wholeBytes(scope, 'journal.segmentSize', journal.segmentSize ?? Size.mebibytes(64));
  if (segmentBytes < 4096) {
    fail(scope, `journal.segmentSize ${segmentBytes} bytes is below 4096`, 'Give a segment size of at least Size.kibibytes(4)');
  }
  return { enabled: true, dir, fsync: journal.fsync ?? true, segmentBytes };
}

/** Passivation, preload and purge, refused where the stores would lose or resurrect entries. */
function renderStoreUse(
  scope: Construct, settings: CacheSettings, writeMode: WriteMode, stores: CacheStore[], writable: CacheStore[], expiryInUse: boolean,
  persistence: PersistenceConfig,
): void {
  const shared = writable.filter((s) => s.shared);
  const preloadStore = stores.find((s) => s.preload);
  if (settings.passivation) {
    if (writeMode.mode === 'none') {
      fail(scope, 'passivation is on but writeMode is MEMORY_ONLY', 'Passivated entries must reach a store: use WriteMode.writeThrough() or WriteMode.writeBehind({...}), or turn passivation off');
    }
    if (shared.length > 0) {
      fail(scope, `passivation is on with shared store(s) ${names(shared)}`,
        'Another instance may change an entry while it is passivated, so the copy loaded back would be stale: use a store only this cache writes (CacheStore.file), mark the shared ones readOnly, or turn passivation off');
    }
    persistence.passivation = { enabled: true };
  }
  if (preloadStore) {
    persistence.preload = { enabled: true, timeBudgetMs: millis(settings.preloadTimeBudget ?? Duration.seconds(30)) };
  } else if (settings.preloadTimeBudget) {
    fail(scope, 'preloadTimeBudget is given but no store is marked preload', 'Mark one store with preload: true, or drop preloadTimeBudget');
  }
  if (settings.purgeOnStartup) {
    if (shared.length > 0) {
      fail(scope, `purgeOnStartup is on with shared store(s) ${names(shared)}`,
        'Purging would delete entries other instances wrote: turn purgeOnStartup off, or mark those stores readOnly');
    }
    if (preloadStore && !preloadStore.readOnly) {
      fail(scope, `purgeOnStartup empties store "${preloadStore.name}" before preload reads it`, 'Turn purgeOnStartup or preload off');
    }
    persistence.purgeOnStartup = true;
  }
  if (expiryInUse && writeMode.mode !== 'none') {
    const noTtl = writable.filter((s) => !s.supportsTtl);
    if (noTtl.length > 0) {
      fail(scope, `expiry is set but store(s) ${names(noTtl)} cannot keep an entry's expiry, so expired entries would come back from them`,
        'Use stores that keep expiry (file, postgres, remote), mark those readOnly, or set supportsTtl: true on a custom store that does');
    }
  }
}

/** A whole number of mebibytes at least `bytes`. */
export function mebibytesAtLeast(bytes: number): Size {
  return Size.mebibytes(Math.ceil(bytes / MIB));
}

/** The bytes of a memory Size (whole bytes). */
export function bytesOf(size: Size): number {
  return size.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) * 1024;
}

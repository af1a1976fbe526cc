import { ApiObject, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { StoreSource } from './_cache-source';
import { fail, isDnsSubdomain } from './_validation';
import { SecretStoreRef } from './database-credentials';
import { IExternalDatabase } from './external-database';
import { IPersistentStore } from './persistent-store';

/*
 * Typed cache settings, shared by CachedApp and ExternalCacheCluster. They
 * become the state-cache JSON config (the `memory`, `expiry`, `stores` and
 * `persistence` sections) plus what the pod needs for it: environment
 * variables from Secrets, volumes and claim templates. The rendering lives in
 * `_cache-render.ts`; this file is the public vocabulary.
 */

/** What the cache does when a write needs room and memory is full. */
export class Eviction {
  /** Evict the least recently used entry (the default). */
  public static readonly LRU = new Eviction('lru');
  /** Evict the least frequently used entry: better for skewed, stable hot sets. */
  public static readonly LFU = new Eviction('lfu');
  /** Evict nothing: refuse the write with Redis's OOM error. For caches that must not lose entries silently. */
  public static readonly NO_EVICTION = new Eviction('noeviction');

  private constructor(
    /** The value state-cache reads (`memory.eviction`). */
    public readonly value: string,
  ) {}
}

/** How much the cache holds in memory. */
export interface CacheMemory {
  /**
   * Most entries held in memory.
   *
   * @default - no bound by count
   */
  readonly maxEntries?: number;

  /**
   * Most bytes of keys, values and overhead held in memory. The cache
   * container's memory limit is derived from it (with headroom) unless you
   * give `cacheResources`; a budget above 90% of the container limit is refused.
   *
   * @default - `limitFraction` of the container memory limit
   */
  readonly maxSize?: Size;

  /**
   * The share of the container memory limit the keyspace may use when no
   * `maxSize` is given; the rest is headroom so the pod is not OOM-killed.
   * Above 0 and at most 0.9.
   *
   * @default 0.5
   */
  readonly limitFraction?: number;

  /**
   * What to do when memory is full.
   *
   * @default Eviction.LRU
   */
  readonly eviction?: Eviction;

  /**
   * Entries sampled per eviction (1 to 64): more is more exact and slower.
   *
   * @default 5
   */
  readonly evictionSamples?: number;
}

/** Expiration of entries. */
export interface CacheExpiry {
  /**
   * Lifespan of entries written without a TTL.
   *
   * @default - entries live until deleted or evicted
   */
  readonly defaultTtl?: Duration;

  /**
   * Entries not read or written for this long expire.
   *
   * @default - no idle expiry
   */
  readonly maxIdle?: Duration;
}

/** What a write-behind write does when the queue to the stores is full. */
export class QueueFullPolicy {
  /**
   * The write waits for room (backpressure), up to `timeout`, then fails
   * with the queue-full error.
   *
   * @param timeout how long a write may wait; default 5 seconds
   */
  public static block(timeout?: Duration): QueueFullPolicy {
    return new QueueFullPolicy('block', timeout ?? Duration.seconds(5));
  }

  /** The write fails at once with the queue-full error. */
  public static reject(): QueueFullPolicy {
    return new QueueFullPolicy('reject', undefined);
  }

  private constructor(
    /** `block` or `reject`, as state-cache reads it. */
    public readonly value: string,
    /** How long a blocked write waits; undefined for reject. */
    public readonly timeout: Duration | undefined,
  ) {}
}

/** Options of write-through persistence. */
export interface WriteThroughOptions {
  /**
   * Most entries in one group-committed store batch.
   *
   * @default 1000
   */
  readonly maxBatchEntries?: number;
}

/** Options of write-behind persistence. */
export interface WriteBehindOptions {
  /**
   * A flush starts as soon as this many keys are pending, and writes at most
   * this many per store batch.
   *
   * @default 100
   */
  readonly batchSize?: number;

  /**
   * A flush starts at the latest this long after a write.
   *
   * @default Duration.seconds(1)
   */
  readonly flushInterval?: Duration;

  /**
   * Queue bound: pending keys (after coalescing) per store.
   *
   * @default 100000
   */
  readonly maxPendingEntries?: number;

  /**
   * Queue bound: bytes of pending keys and values per store.
   *
   * @default Size.mebibytes(64)
   */
  readonly maxPendingSize?: Size;

  /**
   * What a write does when the queue is full.
   *
   * @default QueueFullPolicy.block(Duration.seconds(5))
   */
  readonly whenFull?: QueueFullPolicy;

  /**
   * Store writes tried per entry (the first included) before the entry goes
   * to the dead-letter file.
   *
   * @default 8
   */
  readonly retryAttempts?: number;

  /**
   * Backoff base delay between retries (exponential, full jitter).
   *
   * @default Duration.millis(100)
   */
  readonly retryBaseDelay?: Duration;

  /**
   * Upper bound of one backoff delay.
   *
   * @default Duration.seconds(30)
   */
  readonly retryMaxDelay?: Duration;

  /**
   * The JSON-lines file that receives entries whose retries are exhausted.
   * It must be on a writable volume under `/var/lib/state-cache`.
   *
   * @default - on the journal volume when there is one, otherwise
   * `/var/lib/state-cache/dead-letter.jsonl` on the pod's data emptyDir
   */
  readonly deadLetterPath?: string;
}

/** How writes reach the stores. */
export class WriteMode {
  /** Memory only: stores are read on a miss and for preload, never written. */
  public static readonly MEMORY_ONLY = new WriteMode('none', undefined, undefined);

  /** A write is acknowledged only after every required store has it (group-committed). */
  public static writeThrough(options: WriteThroughOptions = {}): WriteMode {
    return new WriteMode('write-through', options, undefined);
  }

  /**
   * A write is acknowledged after memory (and the journal, when enabled);
   * stores are updated in coalesced batches, retried, and dead-lettered when
   * retries are exhausted.
   */
  public static writeBehind(options: WriteBehindOptions = {}): WriteMode {
    return new WriteMode('write-behind', undefined, options);
  }

  private constructor(
    /** The mode as state-cache reads it: `none`, `write-through` or `write-behind`. */
    public readonly mode: string,
    /** Write-through options, for that mode. */
    public readonly writeThroughOptions: WriteThroughOptions | undefined,
    /** Write-behind options, for that mode. */
    public readonly writeBehindOptions: WriteBehindOptions | undefined,
  ) {}
}

/**
 * The write-behind journal: every write is appended (and fsynced) before it
 * is acknowledged, replayed at start, so a killed pod loses no acknowledged
 * write. It needs a persistent volume: a claim per pod (`size`) or a
 * PersistentStore (`store`, one replica only).
 */
export interface CacheJournal {
  /**
   * The size of a claim template: each pod gets its own claim (the workload
   * becomes a StatefulSet).
   *
   * @default - none; give `size` or `store`
   */
  readonly size?: Size;

  /**
   * The StorageClass of the claim template.
   *
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;

  /**
   * An existing PersistentStore to put the journal on; only for one replica,
   * since one volume cannot hold the journals of several pods.
   *
   * @default - none; give `size` or `store`
   */
  readonly store?: IPersistentStore;

  /**
   * fsync each group commit before acknowledging (survives node loss); off
   * survives a process crash only.
   *
   * @default true
   */
  readonly fsync?: boolean;

  /**
   * Size at which a journal segment is closed and a new one started.
   *
   * @default Size.mebibytes(64)
   */
  readonly segmentSize?: Size;
}

/** Whether a store's failure fails the operation. */
export class StoreLinkMode {
  /** A failure of this store fails the operation (the default). */
  public static readonly REQUIRED = new StoreLinkMode('required');
  /** A failure is logged and counted; the operation goes on with the other stores. */
  public static readonly BEST_EFFORT = new StoreLinkMode('bestEffort');

  private constructor(
    /** The value state-cache reads. */
    public readonly value: string,
  ) {}
}

/** How a store takes part in the chain. Every store factory takes these. */
export interface CacheStoreLinkOptions {
  /**
   * The store's name in logs, metrics and errors (a DNS-1123 label).
   *
   * @default - the store type (`file`, `postgres`, `remote`, `custom`)
   */
  readonly name?: string;

  /**
   * Whether a failure of this store fails the operation.
   *
   * @default StoreLinkMode.REQUIRED
   */
  readonly mode?: StoreLinkMode;

  /**
   * Only read from this store (misses, preload); never write to it.
   *
   * @default false
   */
  readonly readOnly?: boolean;

  /**
   * Fill memory from this store at start, before the cache reports ready.
   * At most one store preloads.
   *
   * @default false
   */
  readonly preload?: boolean;
}

/** Options of `CacheStore.file()`. */
export interface FileCacheStoreOptions extends CacheStoreLinkOptions {
  /**
   * The size of a claim template: each pod gets its own volume (the workload
   * becomes a StatefulSet).
   *
   * @default - none; give `size` or `store`
   */
  readonly size?: Size;

  /**
   * The StorageClass of the claim template.
   *
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;

  /**
   * An existing PersistentStore; only for one replica (one LevelDB directory
   * belongs to one process).
   *
   * @default - none; give `size` or `store`
   */
  readonly store?: IPersistentStore;

  /**
   * fsync every batch before it is acknowledged.
   *
   * @default true
   */
  readonly sync?: boolean;

  /**
   * LevelDB block cache size.
   *
   * @default Size.mebibytes(8)
   */
  readonly blockCacheSize?: Size;

  /**
   * Compress blocks with Snappy.
   *
   * @default true
   */
  readonly compression?: boolean;
}

/** Options of `CacheStore.postgres()`. */
export interface PostgresCacheStoreOptions extends CacheStoreLinkOptions {
  /**
   * The database user state-cache connects as. The state-cache config names
   * the user; the password comes from the ExternalDatabase's credentials Secret.
   */
  readonly user: string;

  /**
   * Schema of the table (a lower-case SQL identifier).
   *
   * @default "public"
   */
  readonly schema?: string;

  /**
   * Table of the entries (a lower-case SQL identifier); created if missing.
   *
   * @default "state_cache_entries"
   */
  readonly table?: string;

  /**
   * Most connections the pool opens, per cache pod.
   *
   * @default 10
   */
  readonly poolSize?: number;

  /**
   * Connections each cache pod opens at start and keeps open while idle, at
   * most `poolSize`. A new PostgreSQL connection costs tens to hundreds of ms,
   * which the first reads and flushes of a burst would otherwise wait for;
   * lower it where the database's `max_connections` is tight.
   *
   * @default - `poolSize` (a fixed-size pool)
   */
  readonly poolMin?: number;

  /**
   * How long to wait for a connection before the store counts as unavailable.
   *
   * @default Duration.seconds(5)
   */
  readonly connectTimeout?: Duration;

  /**
   * Server-side statement_timeout.
   *
   * @default Duration.seconds(10)
   */
  readonly statementTimeout?: Duration;
}

/** Options of `CacheStore.remote()`. */
export interface RemoteCacheStoreOptions extends CacheStoreLinkOptions {
  /**
   * Prefix of every key this store writes, so several caches can share one server.
   *
   * @default "" (no prefix)
   */
  readonly keyPrefix?: string;

  /**
   * Make writes conditional on the entry version with a Lua script. Turn off
   * only for servers without scripting (a late write may then overwrite a newer one).
   *
   * @default true
   */
  readonly versioned?: boolean;

  /**
   * How long to wait for a reply before the store counts as unavailable.
   *
   * @default Duration.seconds(5)
   */
  readonly commandTimeout?: Duration;

  /**
   * After each batch, wait until this many replicas of every primary the
   * batch went to have it (`WAIT`); fewer within `replicationTimeout` fail
   * the batch, and write-behind retries it. Without it, a primary cut off
   * from its cluster goes on acknowledging writes for about the cluster's
   * node timeout, and those writes are lost when a replica takes over. At
   * most the remote cluster's replicas per primary (a state-cache cluster has
   * none).
   *
   * @default 0 (no waiting)
   */
  readonly waitForReplicas?: number;

  /**
   * How long one `WAIT` may take; shorter than `commandTimeout`.
   *
   * @default Duration.seconds(1)
   */
  readonly replicationTimeout?: Duration;
}

/** Options of `CacheStore.custom()`. */
export interface CustomCacheStoreOptions extends CacheStoreLinkOptions {
  /** Path of the JavaScript module in the image (absolute). */
  readonly module: string;

  /**
   * The exported factory `(options, context) => CacheStore`.
   *
   * @default "createStore"
   */
  readonly exportName?: string;

  /**
   * Passed to the factory as is. Never put secrets here: it ends up in a ConfigMap.
   *
   * @default {}
   */
  readonly options?: { [key: string]: any };

  /**
   * Whether other instances write the same data (then passivation and purge
   * are refused, as the runtime would).
   *
   * @default true
   */
  readonly shared?: boolean;

  /**
   * Whether the store keeps each entry's expiry.
   *
   * @default false
   */
  readonly supportsTtl?: boolean;
}

/** TLS to a remote cache. */
export interface RemoteCacheTls {
  /**
   * A Secret holding the CA certificate to trust (in the namespace of the
   * cache that uses it).
   *
   * @default - the system CAs (a server with a public certificate)
   */
  readonly ca?: kplus.ISecret;

  /**
   * The key of the CA certificate in `ca`.
   *
   * @default "ca.crt"
   */
  readonly caKey?: string;

  /**
   * The DNS name the server's certificate is checked against, when it is not
   * the host connected to (e.g. a server reached through an IP or a tunnel).
   *
   * @default - the host name of each node
   */
  readonly serverName?: string;
}

/**
 * Where another state-cache or Redis-protocol server is. ExternalCacheCluster
 * provides one; `RemoteCache.fromEndpoint` describes any other.
 */
export interface RemoteCacheEndpoint {
  /** Seed nodes as `host:port`; one for a single server. */
  readonly nodes: string[];

  /** Whether the server speaks the Redis Cluster protocol. */
  readonly cluster: boolean;

  /**
   * Whether the server runs Lua scripts (EVAL), which versioned writes need.
   * Redis, Valkey and state-cache do.
   *
   * @default true (Redis and compatible servers)
   */
  readonly supportsScripting?: boolean;

  /**
   * The Secret holding the password.
   *
   * @default - no password
   */
  readonly passwordSecret?: kplus.ISecret;

  /**
   * The key of `passwordSecret` holding the password.
   *
   * @default "password"
   */
  readonly passwordKey?: string;

  /**
   * The pods to allow egress to (an in-cluster server).
   *
   * @default - none; then `egressCidrs`
   */
  readonly egressPeer?: kplus.INetworkPolicyPeer;

  /**
   * Address ranges to allow egress to (a server outside the cluster).
   *
   * @default - none; then `egressPeer`
   */
  readonly egressCidrs?: string[];

  /** The RESP port, for the egress rule. */
  readonly port: number;

  /**
   * Replicas of each primary, which a remote store can wait for
   * (`waitForReplicas`); 0 for a server without replicas.
   *
   * @default - not known (not checked)
   */
  readonly replicasPerPrimary?: number;

  /**
   * TLS to the server (verify-full: the certificate must chain to the CA and
   * match the host name or `serverName`).
   *
   * @default - plaintext
   */
  readonly tls?: RemoteCacheTls;

  /**
   * The namespace of the server and of `passwordSecret`; a cache in another
   * namespace could not read the Secret and is refused.
   *
   * @default - not in the cluster (no namespace check)
   */
  readonly namespace?: string;
}

/** A cache another cache can use as its remote store. */
export interface IRemoteCache {
  /** How to reach it. */
  readonly remoteCacheEndpoint: RemoteCacheEndpoint;

  /**
   * Lets the pods of `workload` reach it: a cache with its own NetworkPolicy
   * adds them to its ingress.
   */
  allowClient(workload: kplus.AbstractPod): void;
}

/** Properties of `RemoteCache.fromEndpoint()`. */
export interface RemoteCacheEndpointProps {
  /** The host name or IP address. */
  readonly host: string;

  /**
   * The RESP port.
   *
   * @default 6379
   */
  readonly port?: number;

  /**
   * Whether it speaks the Redis Cluster protocol (then `host` is a seed).
   *
   * @default false
   */
  readonly cluster?: boolean;

  /**
   * The Secret holding the password.
   *
   * @default - no password
   */
  readonly passwordSecret?: kplus.ISecret;

  /**
   * The key of `passwordSecret` holding the password.
   *
   * @default "password"
   */
  readonly passwordKey?: string;

  /** Address ranges the server is reachable at, for the egress NetworkPolicy. */
  readonly egressCidrs: string[];

  /**
   * Connect with TLS, verifying the server's certificate (verify-full). For a
   * cache cluster in another region, across networks you do not control.
   *
   * @default - plaintext
   */
  readonly tls?: RemoteCacheTls;
}

/** A Redis-protocol server described by its address. */
export class RemoteCache implements IRemoteCache {
  /** A server by host and port, outside the constructs of this app. */
  public static fromEndpoint(props: RemoteCacheEndpointProps): IRemoteCache {
    const port = props.port ?? 6379;
    return new RemoteCache({
      nodes: [`${props.host}:${port}`],
      cluster: props.cluster ?? false,
      passwordSecret: props.passwordSecret,
      passwordKey: props.passwordKey,
      egressCidrs: props.egressCidrs,
      port,
      tls: props.tls,
    });
  }

  private constructor(
    /** How to reach it. */
    public readonly remoteCacheEndpoint: RemoteCacheEndpoint,
  ) {}

  /** Nothing to do: the server is not managed by this app. */
  public allowClient(_workload: kplus.AbstractPod): void {}
}

/**
 * A cache store: where state-cache keeps entries beyond memory. Several
 * stores form a chain: read in order, written to every writable store.
 */
export class CacheStore {
  /**
   * A LevelDB directory on a volume: a claim per pod (`size`) or an existing
   * PersistentStore (`store`). Not shared: one process owns it.
   */
  public static file(options: FileCacheStoreOptions): CacheStore {
    return new CacheStore('file', options, false, true, { file: options });
  }

  /**
   * A table in an ExternalDatabase of engine PostgreSQL. Shared by every
   * instance; writes are conditional upserts by version. The password is
   * wired from the database's credentials Secret, the CA from its CA Secret.
   */
  public static postgres(database: IExternalDatabase, options: PostgresCacheStoreOptions): CacheStore {
    return new CacheStore('postgres', options, true, true, { database, postgres: options });
  }

  /**
   * Another state-cache (e.g. an ExternalCacheCluster: a near cache in the
   * pod with the cluster behind) or any Redis-protocol server. Shared.
   */
  public static remote(target: IRemoteCache, options: RemoteCacheStoreOptions = {}): CacheStore {
    return new CacheStore('remote', options, true, true, { remote: target, remoteOptions: options });
  }

  /** A JavaScript module in the image implementing the store interface. */
  public static custom(options: CustomCacheStoreOptions): CacheStore {
    return new CacheStore('custom', options, options.shared ?? true, options.supportsTtl ?? false, { custom: options });
  }

  /** The store's name in the config. */
  public readonly name: string;
  /** Whether the link fails operations when the store fails. */
  public readonly mode: StoreLinkMode;
  /** Only read, never written. */
  public readonly readOnly: boolean;
  /** Fills memory at start. */
  public readonly preload: boolean;

  /** @internal */
  public readonly _source: StoreSource;

  private constructor(
    /** `file`, `postgres`, `remote` or `custom`. */
    public readonly type: string,
    link: CacheStoreLinkOptions,
    /** Whether other instances write the same data. */
    public readonly shared: boolean,
    /** Whether the store keeps each entry's expiry. */
    public readonly supportsTtl: boolean,
    source: StoreSource,
  ) {
    this.name = link.name ?? type;
    this.mode = link.mode ?? StoreLinkMode.REQUIRED;
    this.readOnly = link.readOnly ?? false;
    this.preload = link.preload ?? false;
    this._source = source;
  }
}

/** Options of `CachePassword.fromExternalSecret()`. */
export interface ExternalSecretPasswordOptions {
  /** The store the External Secrets Operator reads the password from. */
  readonly store: SecretStoreRef;

  /** The key of the password in the store, e.g. `prod/orders-cache`. */
  readonly remoteKey: string;

  /**
   * The property of the remote secret holding the password.
   *
   * @default - the whole remote value
   */
  readonly property?: string;

  /**
   * How often the operator re-reads the store.
   *
   * @default Duration.hours(1)
   */
  readonly refreshInterval?: Duration;
}

/**
 * The password of a cache (AUTH on RESP and on the REST API). Never a
 * literal: a Secret, or an ExternalSecret that writes one.
 */
export class CachePassword {
  /** A key of an existing Secret. */
  public static fromSecret(secret: kplus.ISecret, key: string = 'password'): CachePassword {
    return new CachePassword(secret, key, undefined);
  }

  /**
   * An `external-secrets.io/v1` ExternalSecret the construct creates; the
   * operator writes the Secret (key `password`).
   */
  public static fromExternalSecret(options: ExternalSecretPasswordOptions): CachePassword {
    return new CachePassword(undefined, 'password', options);
  }

  private constructor(
    private readonly secret: kplus.ISecret | undefined,
    /** The Secret key holding the password. */
    public readonly key: string,
    private readonly external: ExternalSecretPasswordOptions | undefined,
  ) {}

  /**
   * The Secret holding the password, creating the ExternalSecret under
   * `scope` the first time.
   *
   * @internal
   */
  public _bind(scope: Construct, secretName: string, namespace: string | undefined): kplus.ISecret {
    if (this.secret) return this.secret;
    const ext = this.external!;
    if (!isDnsSubdomain(ext.store.name)) {
      fail(scope, `secret store name "${ext.store.name}" is not a valid Kubernetes name`,
        'Use the name of an existing SecretStore or ClusterSecretStore (lower-case letters, digits, "-" and ".")');
    }
    if (!ext.remoteKey) {
      fail(scope, 'the ExternalSecret for the cache password has an empty remoteKey', 'Give the key of the password in the store, e.g. "prod/orders-cache"');
    }
    const existing = scope.node.tryFindChild('PasswordExternalSecret');
    if (!existing) {
      const refresh = ext.refreshInterval ?? Duration.hours(1);
      new ApiObject(scope, 'PasswordExternalSecret', {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: secretName, namespace },
        spec: {
          refreshInterval: `${refresh.toSeconds()}s`,
          secretStoreRef: { kind: ext.store.kind, name: ext.store.name },
          target: { name: secretName, creationPolicy: 'Owner' },
          data: [{ secretKey: 'password', remoteRef: { key: ext.remoteKey, ...(ext.property ? { property: ext.property } : {}) } }],
        },
      });
    }
    return kplus.Secret.fromSecretName(scope, 'PasswordSecret', secretName);
  }
}

/** The level of the cache's JSON log lines. */
export class CacheLogLevel {
  /** Errors only. */
  public static readonly ERROR = new CacheLogLevel('error');
  /** Warnings and errors. */
  public static readonly WARN = new CacheLogLevel('warn');
  /** Start, stop, store problems (the default). */
  public static readonly INFO = new CacheLogLevel('info');
  /** Everything, for troubleshooting. */
  public static readonly DEBUG = new CacheLogLevel('debug');

  private constructor(
    /** The value state-cache reads. */
    public readonly value: string,
  ) {}
}

/**
 * Everything about the cache itself: memory, expiry, how and where entries
 * are persisted. The same settings configure a CachedApp's sidecar and an
 * ExternalCacheCluster.
 */
export interface CacheSettings {
  /**
   * Memory bounds and eviction.
   *
   * @default - half the cache container's memory limit, LRU
   */
  readonly memory?: CacheMemory;

  /**
   * Expiration of entries.
   *
   * @default - entries never expire on their own
   */
  readonly expiry?: CacheExpiry;

  /**
   * How writes reach the stores.
   *
   * @default WriteMode.MEMORY_ONLY
   */
  readonly writeMode?: WriteMode;

  /**
   * The stores, in read order (a chain): a miss loads from the first store
   * that has the key; writes go to every store not marked read-only.
   *
   * @default - none: memory only
   */
  readonly stores?: CacheStore[];

  /**
   * The write-behind journal, on a persistent volume.
   *
   * @default - no journal: a killed pod loses writes not yet in the stores
   */
  readonly journal?: CacheJournal;

  /**
   * Write evicted entries to the stores before they leave memory; a miss
   * loads them back. Needs a writable store only this cache writes.
   *
   * @default false
   */
  readonly passivation?: boolean;

  /**
   * How long preload (from the store marked `preload`) may take before the
   * cache reports ready anyway; the rest loads on miss.
   *
   * @default Duration.seconds(30)
   */
  readonly preloadTimeBudget?: Duration;

  /**
   * Empty every writable store only this cache writes at start.
   *
   * @default false
   */
  readonly purgeOnStartup?: boolean;

  /**
   * How long the cache may flush its write-behind queue on shutdown. The
   * pod's termination grace period is derived from it.
   *
   * @default Duration.seconds(10)
   */
  readonly flushDeadline?: Duration;

  /**
   * Most simultaneous client connections.
   *
   * @default 10000
   */
  readonly maxClients?: number;

  /**
   * The lowest log level written.
   *
   * @default CacheLogLevel.INFO
   */
  readonly logLevel?: CacheLogLevel;
}

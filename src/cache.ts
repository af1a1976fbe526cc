import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { addExternalSecret } from './_external-secret';
import { CacheStore } from './cache-store';
import { SecretStoreRef } from './database-credentials';
import { IPersistentStore } from './persistent-store';

/*
 * Typed cache settings, shared by CachedApp and ExternalCacheCluster. They
 * become the state-cache JSON config (the `memory`, `expiry`, `stores` and
 * `persistence` sections) plus what the pod needs for it: environment
 * variables from Secrets, volumes and claim templates. The rendering lives in
 * `_cache-render.ts`; this file is the public vocabulary, with the stores in
 * `cache-store.ts` (options in `cache-store-options.ts`) and remote caches in
 * `remote-cache.ts`.
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
    if (!scope.node.tryFindChild('PasswordExternalSecret')) {
      addExternalSecret(scope, 'PasswordExternalSecret', {
        name: secretName,
        namespace,
        source: ext,
        what: 'the cache password',
        remoteKeyFix: 'Give the key of the password in the store, e.g. "prod/orders-cache"',
        data: [{ secretKey: 'password', property: ext.property || undefined }],
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

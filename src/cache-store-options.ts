import { Duration, Size } from 'cdk8s';
import { IPersistentStore } from './persistent-store';

/*
 * The options of each CacheStore factory, one interface per store type, and
 * how a store takes part in the chain. Apart from CacheStore itself so that
 * the internal store source (`_cache-source.ts`) can name them without an
 * import cycle.
 */

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

  /**
   * Prepare each statement once per connection, so PostgreSQL does not parse
   * and plan every batch again. Turn off behind a pooler that gives each
   * transaction a different server connection without tracking prepared
   * statements (PgBouncer in transaction mode before 1.21, or without
   * `max_prepared_statements`).
   *
   * @default true
   */
  readonly preparedStatements?: boolean;
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

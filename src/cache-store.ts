import type { StoreSource } from './_cache-source';
import {
  CacheStoreLinkOptions, CustomCacheStoreOptions, FileCacheStoreOptions, PostgresCacheStoreOptions, RemoteCacheStoreOptions, StoreLinkMode,
} from './cache-store-options';
import { IExternalDatabase } from './external-database';
import { IRemoteCache } from './remote-cache';

/*
 * Adding a store type, construct side (each step fails the build or a test
 * until done): its options in `cache-store-options.ts`, a factory here, its
 * kind in the `StoreSource` union (`_cache-source.ts`), its renderer in
 * `_cache-render.ts` (the switch does not compile without it), and its
 * factory in the table of `test/cache-store-types.test.ts` (which fails for a
 * runtime store type without one).
 */

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
    return new CacheStore({ kind: 'file', options }, false, true);
  }

  /**
   * A table in an ExternalDatabase of engine PostgreSQL. Shared by every
   * instance; writes are conditional upserts by version. The password is
   * wired from the database's credentials Secret, the CA from its CA Secret.
   */
  public static postgres(database: IExternalDatabase, options: PostgresCacheStoreOptions): CacheStore {
    return new CacheStore({ kind: 'postgres', database, options }, true, true);
  }

  /**
   * Another state-cache (e.g. an ExternalCacheCluster: a near cache in the
   * pod with the cluster behind) or any Redis-protocol server. Shared.
   */
  public static remote(target: IRemoteCache, options: RemoteCacheStoreOptions = {}): CacheStore {
    return new CacheStore({ kind: 'remote', remote: target, options }, true, true);
  }

  /** A JavaScript module in the image implementing the store interface. */
  public static custom(options: CustomCacheStoreOptions): CacheStore {
    return new CacheStore({ kind: 'custom', options }, options.shared ?? true, options.supportsTtl ?? false);
  }

  /** `file`, `postgres`, `remote` or `custom`. */
  public readonly type: string;
  /** The store's name in the config. */
  public readonly name: string;
  /** Whether the link fails operations when the store fails. */
  public readonly mode: StoreLinkMode;
  /** Only read, never written. */
  public readonly readOnly: boolean;
  /** Fills memory at start. */
  public readonly preload: boolean;

  /**
   * What the store was made from, for its renderer.
   *
   * @internal
   */
  public readonly _source: StoreSource;

  private constructor(
    source: StoreSource,
    /** Whether other instances write the same data. */
    public readonly shared: boolean,
    /** Whether the store keeps each entry's expiry. */
    public readonly supportsTtl: boolean,
  ) {
    const link: CacheStoreLinkOptions = source.options;
    this.type = source.kind;
    this.name = link.name ?? source.kind;
    this.mode = link.mode ?? StoreLinkMode.REQUIRED;
    this.readOnly = link.readOnly ?? false;
    this.preload = link.preload ?? false;
    this._source = source;
  }
}

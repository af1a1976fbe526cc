import type { CustomCacheStoreOptions, FileCacheStoreOptions, IRemoteCache, PostgresCacheStoreOptions, RemoteCacheStoreOptions } from './cache';
import type { IExternalDatabase } from './external-database';

/** What a CacheStore was made from; read by the renderer. */
export interface StoreSource {
  readonly file?: FileCacheStoreOptions;
  readonly database?: IExternalDatabase;
  readonly postgres?: PostgresCacheStoreOptions;
  readonly remote?: IRemoteCache;
  readonly remoteOptions?: RemoteCacheStoreOptions;
  readonly custom?: CustomCacheStoreOptions;
}

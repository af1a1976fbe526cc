import type { CustomCacheStoreOptions, FileCacheStoreOptions, PostgresCacheStoreOptions, RemoteCacheStoreOptions } from './cache-store-options';
import type { IExternalDatabase } from './external-database';
import type { IRemoteCache } from './remote-cache';

/**
 * What a CacheStore was made from: one variant per store type, tagged with
 * the runtime's name for it. `_cache-render.ts` switches on `kind` with a
 * `never` default, so a variant without a renderer does not compile.
 */
export type StoreSource =
  | { readonly kind: 'file'; readonly options: FileCacheStoreOptions }
  | { readonly kind: 'postgres'; readonly database: IExternalDatabase; readonly options: PostgresCacheStoreOptions }
  | { readonly kind: 'remote'; readonly remote: IRemoteCache; readonly options: RemoteCacheStoreOptions }
  | { readonly kind: 'custom'; readonly options: CustomCacheStoreOptions };

import type { StateCacheConfig } from './_runtime-config.generated';

/*
 * Names for the parts of the state-cache config the constructs build, all
 * from the type generated from runtime/config.schema.json: a field the
 * runtime does not know, or a value it does not take, fails to compile.
 */

export type { StateCacheConfig };

/** The sections `renderCache` produces, each present. */
export type CacheSections = Required<Pick<StateCacheConfig, 'memory' | 'expiry' | 'limits' | 'log' | 'stores' | 'persistence'>>;
export type MemoryConfig = CacheSections['memory'];
export type ExpiryConfig = CacheSections['expiry'];
export type LimitsConfig = CacheSections['limits'];
export type LogConfig = CacheSections['log'];
export type StoresConfig = CacheSections['stores'];
export type PersistenceConfig = CacheSections['persistence'];
export type CoherenceConfig = NonNullable<PersistenceConfig['coherence']>;
export type TlsConfig = NonNullable<StateCacheConfig['tls']>;

/** One link of the store chain: a store and how the chain uses it. */
export type ChainLinkConfig = NonNullable<StoresConfig['chain']>[number];
/** One store, any type. */
export type StoreConfig = ChainLinkConfig['store'];
/** The store types the runtime knows. */
export type StoreKind = StoreConfig['type'];
/** The config of the store of type `K`. */
export type StoreConfigOf<K extends StoreKind> = Extract<StoreConfig, { type: K }>;

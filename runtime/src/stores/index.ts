/**
 * state-cache's cache stores: one interface (store.ts), one file per store,
 * chains, their config schemas, and createStores, which turns the config into
 * a started-ready chain.
 */
import { ChainLink, StoreChain } from './chain';
import type { StoreConfig, StoresConfig } from './config';
import type { StoreContext } from './context';
import { createCustomStore } from './custom';
import { createFileStore } from './file';
import { createPostgresStore } from './postgres';
import { createRemoteStore } from './remote';
import type { CacheStore } from './store';
import { StoreRequirements, validateChain } from './validate';

export * from './store';
export * from './config';
export * from './context';
export { StoreChain, ChainLink } from './chain';
export { FileStore, createFileStore } from './file';
export { PostgresStore, createPostgresStore } from './postgres';
export { RemoteStore, createRemoteStore } from './remote';
export { CustomStore, CustomStoreFactory, createCustomStore } from './custom';
export { StoreRequirements, validateChain, checkWritableDirectory } from './validate';

/** Creates one store from its config (not started). */
export async function createStore(config: StoreConfig, context: StoreContext): Promise<CacheStore> {
  switch (config.type) {
    case 'file': return createFileStore(config, context);
    case 'postgres': return createPostgresStore(config, context);
    case 'remote': return createRemoteStore(config, context);
    case 'custom': return createCustomStore(config, context);
  }
}

/**
 * Creates the chain from a parsed config (see parseStoresConfig) and rejects
 * impossible combinations with StoreConfigError. Nothing is connected yet:
 * call start() on the chain. Stores created before a failure are closed.
 */
export async function createStores(config: StoresConfig, context: StoreContext, requirements: StoreRequirements = {}): Promise<StoreChain> {
  const created: Array<{ config: StoresConfig['chain'][number]; store: CacheStore }> = [];
  try {
    for (const link of config.chain) {
      created.push({ config: link, store: await createStore(link.store, context) });
    }
    validateChain(created, requirements);
  } catch (err) {
    await Promise.allSettled(created.map((c) => c.store.close()));
    throw err;
  }
  const links: ChainLink[] = created.map(({ config: c, store }) => ({ store, mode: c.mode, readOnly: c.readOnly, preload: c.preload }));
  return new StoreChain(links, context);
}

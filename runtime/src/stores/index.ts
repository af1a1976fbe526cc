/**
 * state-cache's cache stores: one interface (store.ts), one file per store,
 * chains, their config schemas, and createStores (create.ts), which turns the
 * config into a started-ready chain. This index loads every store's client
 * library; the server imports create.ts, which loads only the stores its
 * config names.
 */
export * from './store';
export * from './config';
export * from './context';
export { StoreChain, ChainLink } from './chain';
export { FileStore, createFileStore } from './file';
export { PostgresStore, createPostgresStore } from './postgres';
export { RemoteStore, createRemoteStore } from './remote';
export { CustomStore, CustomStoreFactory, createCustomStore } from './custom';
export { StoreRequirements, validateChain, checkWritableDirectory } from './validate';
export { createStore, createStores } from './create';

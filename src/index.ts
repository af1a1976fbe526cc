// Every public module, once each (internal helpers are the `_*.ts` files).
export * from './cache';
export * from './cache-cluster-engine';
export * from './cache-image';
export * from './cache-store';
export * from './cache-store-options';
export * from './cache-tls';
export * from './cached-app';
export * from './coherence';
export * from './database-credentials';
export * from './database-engine';
export * from './external-cache-cluster';
export * from './external-database';
export * from './monitoring';
export * from './persistent-store';
export * from './remote-cache';
export * from './storage-class';
export * from './volume-source';

export * from './cache-image';
export * from './database-engine';
export * from './database-credentials';
export * from './external-database';
export * from './persistent-store';
export * from './cache';
export * from './cached-app';
export * from './external-cache-cluster';

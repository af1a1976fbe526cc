export * from './config';
export * from './server';
export * from './keyspace/hooks';
export { Keyspace, KeyspaceOptions, OutOfMemoryError, Value } from './keyspace/keyspace';

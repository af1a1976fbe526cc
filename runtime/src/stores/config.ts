import { Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { schemaProblems } from '../schema-errors';

/**
 * Config schemas of the cache stores and the chain. They are the single source
 * of the types, of the JSON Schema the constructs are checked against, and of
 * the config reference: every field has a description and, when optional, a default.
 */

const StoreName = Type.String({
  pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
  description: 'Name of the store in logs, metrics and errors: lower-case letters, digits and "-", at most 63 characters.',
});

export const SecretRefSchema = Type.Union([
  Type.Object({
    env: Type.String({ minLength: 1, description: 'Environment variable that holds the secret.' }),
  }, { additionalProperties: false }),
  Type.Object({
    file: Type.String({ minLength: 1, description: 'File that holds the secret (a mounted Secret); a trailing newline is dropped.' }),
  }, { additionalProperties: false }),
], { description: 'Where a secret comes from: an environment variable or a file. Never the secret itself.' });

export const FileStoreConfigSchema = Type.Object({
  type: Type.Literal('file', { description: 'A LevelDB database in a directory (in a pod: a PersistentVolume). One state-cache process per directory.' }),
  name: StoreName,
  directory: Type.String({ minLength: 1, description: 'Directory of the LevelDB database; created if missing. Must be writable.' }),
  sync: Type.Optional(Type.Boolean({ default: true, description: 'fsync every batch before it is acknowledged, so an acknowledged write survives a node crash. Off trades that for throughput.' })),
  cacheSizeBytes: Type.Optional(Type.Integer({ minimum: 0, default: 8 * 1024 * 1024, description: 'LevelDB block cache size in bytes.' })),
  compression: Type.Optional(Type.Boolean({ default: true, description: 'Compress blocks with Snappy.' })),
}, { additionalProperties: false, description: 'A file store: LevelDB on a local directory.' });

export const PostgresTlsSchema = Type.Object({
  mode: Type.Optional(Type.Union([
    Type.Literal('disable'), Type.Literal('require'), Type.Literal('verify-ca'), Type.Literal('verify-full'),
  ], { default: 'verify-full', description: 'disable: plain TCP; require: TLS without certificate checks; verify-ca: the certificate must chain to the CA; verify-full: and match the host name (or serverName).' })),
  caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CA to trust. Default: the system CAs.' })),
  serverName: Type.Optional(Type.String({ minLength: 1, description: 'Host name to verify the certificate against. Default: host.' })),
}, { additionalProperties: false, default: {}, description: 'TLS to the database.' });

export const PostgresStoreConfigSchema = Type.Object({
  type: Type.Literal('postgres', { description: 'A PostgreSQL table; writes are conditional upserts by version, so it can be shared.' }),
  name: StoreName,
  host: Type.String({ minLength: 1, description: 'Database host name or IP.' }),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 5432, description: 'Database port.' })),
  database: Type.String({ minLength: 1, description: 'Database name.' }),
  user: Type.String({ minLength: 1, description: 'User to connect as.' }),
  password: Type.Optional(SecretRefSchema),
  schema: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', default: 'public', description: 'Schema of the table (lower-case SQL identifier).' })),
  table: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', default: 'state_cache_entries', description: 'Table of the entries (lower-case SQL identifier); created if missing.' })),
  tls: Type.Optional(PostgresTlsSchema),
  poolSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Most connections the pool opens.' })),
  poolMin: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'Connections opened at start and kept open while idle, at most poolSize. Default: poolSize (a fixed-size pool): a new PostgreSQL connection costs tens to hundreds of ms of both sides\' CPU, which the reads and flushes of a burst would otherwise wait for.' })),
  connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, default: 5000, description: 'How long to wait for a connection before the store counts as unavailable.' })),
  statementTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, default: 10000, description: 'Server-side statement_timeout of every statement.' })),
  iterateBatchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, default: 1000, description: 'Rows per page when iterating (preload).' })),
  sweepIntervalMs: Type.Optional(Type.Integer({ minimum: 0, default: 60000, description: 'How often expired rows are deleted (they are never loaded either way); 0 turns sweeping off.' })),
  preparedStatements: Type.Optional(Type.Boolean({ default: true, description: 'Prepare each statement once per connection (named statements), so PostgreSQL does not parse and plan every batch again. Turn off behind a pooler that hands each transaction a different server connection without tracking prepared statements (PgBouncer in transaction mode before 1.21, or without max_prepared_statements).' })),
}, { additionalProperties: false, description: 'A postgres store: one table, shared by every instance that names it.' });

export const RemoteNodeSchema = Type.Object({
  host: Type.String({ minLength: 1, description: 'Host name or IP.' }),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 6379, description: 'RESP port.' })),
}, { additionalProperties: false });

export const RemoteStoreConfigSchema = Type.Object({
  type: Type.Literal('remote', { description: 'Another state-cache or any Redis-protocol server (single node or cluster).' }),
  name: StoreName,
  mode: Type.Optional(Type.Union([Type.Literal('single'), Type.Literal('cluster')], { default: 'single', description: 'single: one server; cluster: Redis Cluster protocol, nodes are seeds.' })),
  nodes: Type.Array(RemoteNodeSchema, { minItems: 1, description: 'The server, or the cluster seed nodes.' }),
  username: Type.Optional(Type.String({ minLength: 1, description: 'ACL user name. Default: none (the default user).' })),
  password: Type.Optional(SecretRefSchema),
  database: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Database number (single mode only).' })),
  tls: Type.Optional(Type.Object({
    enabled: Type.Optional(Type.Boolean({ default: false, description: 'Connect with TLS, verifying the certificate against caFile (or the system CAs) and the host name (or serverName). Off by default: a state-cache or Redis inside the cluster often serves plain RESP.' })),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CA to trust. Default: the system CAs.' })),
    serverName: Type.Optional(Type.String({ minLength: 1, description: 'Host name to verify the certificate against. Default: the node host.' })),
  }, { additionalProperties: false, default: {}, description: 'TLS to the server.' })),
  keyPrefix: Type.Optional(Type.String({ default: '', description: 'Prefix of every key this store writes, so several caches can share one server; iterate and clear touch only keys with it.' })),
  versioning: Type.Optional(Type.Union([Type.Literal('script'), Type.Literal('none')], {
    default: 'script',
    description: 'script: writes and deletes are conditional on the version through a Lua script (EVAL, as redis-server has it). none: plain SET/DEL for servers without scripting; a late write may then overwrite a newer one.',
  })),
  connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, default: 5000, description: 'How long to wait for a connection.' })),
  commandTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, default: 5000, description: 'How long to wait for a reply before the store counts as unavailable.' })),
  wait: Type.Optional(Type.Object({
    replicas: Type.Integer({ minimum: 1, maximum: 16, description: 'Replicas that must have the batch.' }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, default: 1000, description: 'How long WAIT may block; below commandTimeoutMs.' })),
  }, {
    additionalProperties: false,
    description: 'After each write or delete batch, WAIT on every primary the batch went to: the batch succeeds only when that many replicas acknowledged it, '
      + 'otherwise it fails as unavailable (and write-behind retries it). Without it, a primary cut off from its cluster goes on acknowledging writes '
      + 'for about cluster-node-timeout, and they are lost when a replica takes over. Costs a replication round trip per batch.',
  })),
}, { additionalProperties: false, description: 'A remote store: values are kept in a binary envelope with their version and expiry.' });

export const CustomStoreConfigSchema = Type.Object({
  type: Type.Literal('custom', { description: 'A JavaScript module that implements the store interface.' }),
  name: StoreName,
  module: Type.String({ minLength: 1, description: 'Path of the module (absolute, or relative to the working directory).' }),
  export: Type.Optional(Type.String({ minLength: 1, default: 'createStore', description: 'Name of the exported factory: (options, context) => CacheStore.' })),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { default: {}, description: 'Passed to the factory as is.' })),
}, { additionalProperties: false, description: 'A custom store from a module.' });

export const StoreConfigSchema = Type.Union([
  FileStoreConfigSchema, PostgresStoreConfigSchema, RemoteStoreConfigSchema, CustomStoreConfigSchema,
], { description: 'One store; "type" says which.' });

export const ChainLinkSchema = Type.Object({
  store: StoreConfigSchema,
  mode: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('bestEffort')], {
    default: 'required',
    description: 'required: a failure of this store fails the operation; bestEffort: it is logged and counted, and the operation goes on with the other stores.',
  })),
  readOnly: Type.Optional(Type.Boolean({ default: false, description: 'Only read from this store (load, preload); never write, delete or clear it.' })),
  preload: Type.Optional(Type.Boolean({ default: false, description: 'Fill memory from this store at start. At most one link preloads.' })),
}, { additionalProperties: false, description: 'One store in the chain and how it is used.' });

export const StoresConfigSchema = Type.Object({
  chain: Type.Optional(Type.Array(ChainLinkSchema, {
    default: [],
    description: 'The stores in read order: a miss is loaded from the first store that has the key; writes go to every store not marked readOnly.',
  })),
}, { additionalProperties: false, default: {}, description: 'Cache stores behind the keyspace.' });

/**
 * Fields with a default are optional in the JSON Schema (a config may leave
 * them out) but always present after parseStoresConfig: these types say so.
 */
type Defaulted<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };

type RawPostgres = Static<typeof PostgresStoreConfigSchema>;
type RawRemote = Static<typeof RemoteStoreConfigSchema>;
type RawLink = Static<typeof ChainLinkSchema>;

export type SecretRefConfig = Static<typeof SecretRefSchema>;
export type FileStoreConfig = Defaulted<Static<typeof FileStoreConfigSchema>, 'sync' | 'cacheSizeBytes' | 'compression'>;
export type PostgresStoreConfig = Defaulted<Omit<RawPostgres, 'tls'>,
'port' | 'schema' | 'table' | 'poolSize' | 'poolMin' | 'connectTimeoutMs' | 'statementTimeoutMs' | 'iterateBatchSize' | 'sweepIntervalMs' | 'preparedStatements'>
& { tls: Defaulted<Static<typeof PostgresTlsSchema>, 'mode'> };
export type RemoteStoreConfig = Defaulted<Omit<RawRemote, 'tls' | 'nodes' | 'wait'>,
'mode' | 'database' | 'keyPrefix' | 'versioning' | 'connectTimeoutMs' | 'commandTimeoutMs'>
& {
  tls: Defaulted<NonNullable<RawRemote['tls']>, 'enabled'>;
  nodes: Array<Defaulted<RawRemote['nodes'][number], 'port'>>;
  wait?: Defaulted<NonNullable<RawRemote['wait']>, 'timeoutMs'>;
};
export type CustomStoreConfig = Defaulted<Static<typeof CustomStoreConfigSchema>, 'export' | 'options'>;
export type StoreConfig = FileStoreConfig | PostgresStoreConfig | RemoteStoreConfig | CustomStoreConfig;
export type ChainLinkConfig = Defaulted<Omit<RawLink, 'store'>, 'mode' | 'readOnly' | 'preload'> & { store: StoreConfig };
export interface StoresConfig { chain: ChainLinkConfig[] }

/**
 * Applies defaults and validates; throws with every problem and its JSON path
 * (a store's problems are those of the schema its "type" selects, see
 * schemaProblems).
 */
export function parseStoresConfig(raw: unknown, path = '/stores'): StoresConfig {
  const value = Value.Default(StoresConfigSchema, Value.Clone(raw ?? {})) as StoresConfig;
  const problems = schemaProblems(StoresConfigSchema, value, path).map((p) => `${p.path}: ${p.message}`);
  if (problems.length > 0) throw new Error(`invalid stores config:\n${problems.join('\n')}`);
  return value;
}

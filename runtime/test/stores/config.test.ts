import Ajv from 'ajv';
import { parseStoresConfig, StoresConfigSchema } from '../../src/stores/config';

test('an absent stores config is an empty chain', () => {
  expect(parseStoresConfig(undefined)).toEqual({ chain: [] });
});

test('every optional field gets its documented default', () => {
  const parsed = parseStoresConfig({
    chain: [
      { store: { type: 'file', name: 'local', directory: '/data' } },
      { store: { type: 'postgres', name: 'pg', host: 'db', database: 'app', user: 'cache', password: { env: 'PGPASSWORD' } } },
      { store: { type: 'remote', name: 'redis', nodes: [{ host: 'redis' }] }, mode: 'bestEffort' },
      { store: { type: 'custom', name: 'mine', module: '/opt/store.js' }, readOnly: true, preload: true },
    ],
  });
  expect(parsed.chain).toEqual([
    { store: { type: 'file', name: 'local', directory: '/data', sync: true, cacheSizeBytes: 8388608, compression: true }, mode: 'required', readOnly: false, preload: false },
    {
      store: {
        type: 'postgres',
        name: 'pg',
        host: 'db',
        port: 5432,
        database: 'app',
        user: 'cache',
        password: { env: 'PGPASSWORD' },
        schema: 'public',
        table: 'state_cache_entries',
        tls: { mode: 'verify-full' },
        poolSize: 10,
        connectTimeoutMs: 5000,
        statementTimeoutMs: 10000,
        iterateBatchSize: 1000,
        sweepIntervalMs: 60000,
        preparedStatements: true,
      },
      mode: 'required',
      readOnly: false,
      preload: false,
    },
    {
      store: {
        type: 'remote',
        name: 'redis',
        mode: 'single',
        nodes: [{ host: 'redis', port: 6379 }],
        database: 0,
        tls: { enabled: false },
        keyPrefix: '',
        versioning: 'script',
        connectTimeoutMs: 5000,
        commandTimeoutMs: 5000,
      },
      mode: 'bestEffort',
      readOnly: false,
      preload: false,
    },
    { store: { type: 'custom', name: 'mine', module: '/opt/store.js', export: 'createStore', options: {} }, mode: 'required', readOnly: true, preload: true },
  ]);
});

test('an unknown store type names the choices', () => {
  expect(() => parseStoresConfig({ chain: [{ store: { type: 'mongo', name: 'm' } }] })).toThrow(
    'invalid stores config:\n/stores/chain/0/store/type: must be one of file, postgres, remote, custom; got "mongo"');
});

test('problems inside a store are reported with their path', () => {
  expect(() => parseStoresConfig({ chain: [{ store: { type: 'postgres', name: 'Bad_Name', host: 'db', database: 'x', user: 'u', port: 70000 } }] })).toThrow(
    'invalid stores config:\n'
    + '/stores/chain/0/store/name: Expected string to match \'^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$\'\n'
    + '/stores/chain/0/store/port: Expected integer to be less or equal to 65535');
});

test('a secret is a reference, never a value', () => {
  expect(() => parseStoresConfig({ chain: [{ store: { type: 'remote', name: 'r', nodes: [{ host: 'h' }], password: 'hunter2' } }] })).toThrow(
    'invalid stores config:\n/stores/chain/0/store/password: must be an object with env or an object with file; got a string');
});

test('link fields are checked too', () => {
  expect(() => parseStoresConfig({ chain: [{ store: { type: 'file', name: 'f', directory: '/d' }, mode: 'sometimes' }] })).toThrow(
    'invalid stores config:\n/stores/chain/0/mode: must be one of required, bestEffort; got "sometimes"');
});

test('the schema is plain JSON Schema: ajv accepts a config the constructs may emit and refuses a wrong one', () => {
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(JSON.parse(JSON.stringify(StoresConfigSchema)));
  expect(validate({ chain: [{ store: { type: 'file', name: 'local', directory: '/data' }, mode: 'required' }] })).toBe(true);
  expect(validate({ chain: [{ store: { type: 'file', name: 'local' } }] })).toBe(false);
});

test('every field of every store has a description', () => {
  const missing: string[] = [];
  const walk = (schema: Record<string, unknown>, path: string) => {
    if (schema.properties) {
      for (const [k, v] of Object.entries(schema.properties as Record<string, Record<string, unknown>>)) {
        if (typeof v.description !== 'string' && !(v.anyOf && k === 'password') && k !== 'store') missing.push(`${path}/${k}`);
        walk(v, `${path}/${k}`);
      }
    }
    for (const sub of (schema.anyOf as Array<Record<string, unknown>> | undefined) ?? []) walk(sub, path);
    if (schema.items) walk(schema.items as Record<string, unknown>, `${path}/*`);
  };
  walk(JSON.parse(JSON.stringify(StoresConfigSchema)), '');
  expect(missing).toEqual([]);
});

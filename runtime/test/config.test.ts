import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { tempFile } from './helpers';
import { ConfigError, ConfigSchema, defaultConfig, loadConfig, parseConfig, readPassword } from '../src/config';
import { renderConfigDocs, renderSchemaJson } from '../src/config-files';

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

test('defaults fill an empty config', () => {
  const c = loadConfig(tempFile('c.json', '{}'));
  expect(c.server).toEqual({ bind: '127.0.0.1', port: 6379, plaintext: true, protectedMode: true, socketIo: 'handle' });
  expect(c.tls).toEqual({ clientAuth: 'none', reloadIntervalMs: 10000 });
  expect(c.http.port).toBe(8080);
  expect(c.memory.eviction).toBe('lru');
  expect(c.limits.maxBulkBytes).toBe(512 * 1024 * 1024);
  expect(c.limits.maxClients).toBe(10000);
  expect(defaultConfig()).toEqual(c);
});

test('every problem is listed with its JSON path', () => {
  const p = problems({ server: { port: 0.5, bogus: 1 }, memory: { eviction: 'random' }, limits: { maxClients: 0 } });
  expect(p).toEqual(expect.arrayContaining([
    '/server/port: Expected integer',
    '/server/bogus: Unexpected property',
    '/limits/maxClients: Expected integer to be greater or equal to 1',
    '/memory/eviction: must be one of lru, lfu, noeviction; got "random"',
  ]));
});

test('a bad port is reported with its path', () => {
  expect(() => loadConfig(tempFile('c.json', JSON.stringify({ server: { port: 70000 } })))).toThrow('/server/port: Expected integer to be less or equal to 65535');
});

test('unreadable and non-JSON files say so', () => {
  expect(() => loadConfig('/nonexistent/state-cache.json')).toThrow('/: cannot read the file: ENOENT');
  expect(() => loadConfig(tempFile('c.json', '{ nope'))).toThrow('/: not valid JSON');
  expect(problems([])).toEqual(['/: the config must be a JSON object']);
});

test('protected mode: a network bind of RESP needs a password or an explicit opt-out; HTTP keeps /v1/keys on loopback instead', () => {
  expect(problems({ server: { bind: '0.0.0.0' } })).toEqual([
    '/server/bind: binding 0.0.0.0 without a password would expose every key; set auth.passwordEnv or auth.passwordFile, or set server.protectedMode to false',
  ]);
  expect(problems({ server: { bind: '0.0.0.0' }, auth: { passwordEnv: 'CACHE_PASSWORD' } })).toEqual([]);
  expect(problems({ server: { bind: '0.0.0.0', protectedMode: false } })).toEqual([]);
  // The key API answers loopback peers only (test/tls.test.ts), so probes may reach the pod address.
  expect(problems({ http: { bind: '::' } })).toEqual([]);
  expect(problems({ http: { bind: '0.0.0.0', enabled: false } })).toEqual([]);
});

test('password sources: env or file, never both', () => {
  expect(problems({ auth: { passwordEnv: 'A', passwordFile: '/x' } })).toEqual(['/auth: set either passwordEnv or passwordFile, not both']);
  expect(problems({ auth: { passwordEnv: 'not a name' } })[0]).toMatch(/^\/auth\/passwordEnv: /);
  const c = parseConfig({ auth: { passwordEnv: 'SC_PW' } });
  expect(readPassword(c.auth, { SC_PW: 's3cret' })).toBe('s3cret');
  expect(() => readPassword(c.auth, {})).toThrow('/auth/passwordEnv: the environment variable SC_PW is not set or empty');
  const f = parseConfig({ auth: { passwordFile: tempFile('pw', 'filepw\n') } });
  expect(readPassword(f.auth)).toBe('filepw');
  expect(() => readPassword(parseConfig({ auth: { passwordFile: tempFile('pw', '') } }).auth)).toThrow('is empty');
  expect(readPassword(defaultConfig().auth)).toBeUndefined();
});

test('output limits must be ordered', () => {
  expect(problems({ limits: { outputPauseBytes: 4096, outputMaxBytes: 2048 } })).toEqual(['/limits/outputPauseBytes: must not exceed limits.outputMaxBytes (2048)']);
});

test('config.schema.json is fresh (run `npx projen config-schema` after changing config.ts)', () => {
  expect(readFileSync(join(__dirname, '..', 'config.schema.json'), 'utf8')).toBe(renderSchemaJson());
});

test('docs/runtime-config.md is fresh and documents every field with its default', () => {
  const docs = readFileSync(join(__dirname, '..', '..', 'docs', 'runtime-config.md'), 'utf8');
  expect(docs).toBe(renderConfigDocs());
  const schema = JSON.parse(renderSchemaJson());
  for (const [name, sec] of Object.entries<{ properties: Record<string, { default?: unknown }> }>(schema.properties)) {
    for (const [field, f] of Object.entries(sec.properties)) {
      const row = docs.split('\n').find((l) => l.startsWith(`| \`${name}.${field}\` |`));
      expect(row).toBeDefined();
      if (f.default !== undefined) expect(row).toContain(`\`${JSON.stringify(f.default)}\``);
    }
  }
});

test('the committed schema validates with ajv the way the constructs use it', () => {
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync(join(__dirname, '..', 'config.schema.json'), 'utf8')));
  expect(validate({ server: { port: 7000 }, memory: { eviction: 'lfu' } })).toBe(true);
  expect(validate({ memory: { eviction: 'fifo' } })).toBe(false);
  expect(validate({ unknownSection: {} })).toBe(false);
});

describe('every union and enum names what it allows', () => {
  const pg = { type: 'postgres', name: 'pg', host: 'db', database: 'app', user: 'app' };
  const remote = { type: 'remote', name: 'r', nodes: [{ host: 'h' }] };
  const link = (store: object, extra: object = {}) => ({ stores: { chain: [{ store, ...extra }] } });

  // [where the union is in the schema, a config that gets it wrong, the problems]
  const cases: Array<[string, unknown, string[]]> = [
    ['/memory/eviction', { memory: { eviction: 'random' } }, ['/memory/eviction: must be one of lru, lfu, noeviction; got "random"']],
    ['/memory/eviction', { memory: { eviction: 7 } }, ['/memory/eviction: must be one of lru, lfu, noeviction; got 7']],
    ['/tls/clientAuth', { tls: { clientAuth: 'optional' } }, ['/tls/clientAuth: must be one of none, require; got "optional"']],
    ['/log/level', { log: { level: 'verbose' } }, ['/log/level: must be one of fatal, error, warn, info, debug, trace, silent; got "verbose"']],
    ['/persistence/mode', { persistence: { mode: 'write-around' } }, ['/persistence/mode: must be one of none, write-through, write-behind; got "write-around"']],
    ['/server/socketIo', { server: { socketIo: 'uring' } }, ['/server/socketIo: must be one of handle, stream; got "uring"']],
    ['/persistence/writeBehind/whenFull', { persistence: { writeBehind: { whenFull: 'drop' } } },
      ['/persistence/writeBehind/whenFull: must be one of block, reject; got "drop"']],
    ['/persistence/coherence/onOutage', { persistence: { coherence: { onOutage: 'shorten-ttl' } } },
      ['/persistence/coherence/onOutage: must be one of drop, serve-stale; got "shorten-ttl"']],
    ['/stores/chain/*/mode', link({ type: 'file', name: 'f', directory: '/d' }, { mode: 'sometimes' }),
      ['/stores/chain/0/mode: must be one of required, bestEffort; got "sometimes"']],
    ['/stores/chain/*/store', link({ type: 'mongo', name: 'm' }), ['/stores/chain/0/store/type: must be one of file, postgres, remote, custom; got "mongo"']],
    ['/stores/chain/*/store', link({ name: 'm' }), ['/stores/chain/0/store/type: is missing: must be one of file, postgres, remote, custom']],
    ['/stores/chain/*/store', link('file' as unknown as object),
      ['/stores/chain/0/store: must be an object whose type is one of file, postgres, remote, custom; got a string']],
    ['/stores/chain/*/store', link({ type: 'postgres', name: 'pg', host: 'db' }),
      ['/stores/chain/0/store/database: Expected required property', '/stores/chain/0/store/user: Expected required property']],
    ['/stores/chain/*/store', link({ ...pg, port: 70000 }), ['/stores/chain/0/store/port: Expected integer to be less or equal to 65535']],
    ['/stores/chain/*/store', link({ type: 'file', name: 'f', directory: '/d', host: 'db' }), ['/stores/chain/0/store/host: Unexpected property']],
    ['/stores/chain/*/store/tls/mode', link({ ...pg, tls: { mode: 'prefer' } }),
      ['/stores/chain/0/store/tls/mode: must be one of disable, require, verify-ca, verify-full; got "prefer"']],
    ['/stores/chain/*/store/password', link({ ...pg, password: 'hunter2' }),
      ['/stores/chain/0/store/password: must be an object with env or an object with file; got a string']],
    ['/stores/chain/*/store/password', link({ ...remote, password: { env: 'A', file: '/run/pw' } }),
      ['/stores/chain/0/store/password: must be an object with env or an object with file; got an object with env, file']],
    ['/stores/chain/*/store/password', link({ ...remote, password: { env: '' } }),
      ['/stores/chain/0/store/password/env: Expected string length greater or equal to 1']],
    ['/stores/chain/*/store/mode', link({ ...remote, mode: 'sentinel' }), ['/stores/chain/0/store/mode: must be one of single, cluster; got "sentinel"']],
    ['/stores/chain/*/store/versioning', link({ ...remote, versioning: 'lua' }),
      ['/stores/chain/0/store/versioning: must be one of script, none; got "lua"']],
  ];

  test.each(cases)('%s: %j', (_where, raw, expected) => {
    expect(problems(raw)).toEqual(expected);
  });

  test('a union inside the store a type selects explains itself too, and every problem is listed', () => {
    expect(problems(link({ ...remote, mode: 'x', versioning: 'lua', password: 'hunter2' }, { mode: 'sometimes' }))).toEqual([
      '/stores/chain/0/store/mode: must be one of single, cluster; got "x"',
      '/stores/chain/0/store/password: must be an object with env or an object with file; got a string',
      '/stores/chain/0/store/versioning: must be one of script, none; got "lua"',
      '/stores/chain/0/mode: must be one of required, bestEffort; got "sometimes"',
    ]);
  });

  test('the cases above cover every union in the schema', () => {
    const found = new Set<string>();
    const walk = (schema: Record<string, any>, path: string) => {
      if (schema.anyOf) {
        found.add(path);
        for (const member of schema.anyOf) walk(member, path);
      }
      for (const [k, v] of Object.entries<Record<string, any>>(schema.properties ?? {})) walk(v, `${path}/${k}`);
      if (schema.items) walk(schema.items, `${path}/*`);
    };
    walk(ConfigSchema, '');
    expect([...found].sort()).toEqual([...new Set(cases.map(([where]) => where))].sort());
  });
});

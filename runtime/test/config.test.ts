import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { tempFile } from './helpers';
import { ConfigError, defaultConfig, loadConfig, parseConfig, readPassword } from '../src/config';
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
  expect(c.server).toEqual({ bind: '127.0.0.1', port: 6379, protectedMode: true });
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
  ]));
  expect(p.some((x) => x.startsWith('/memory/eviction: '))).toBe(true);
});

test('a bad port is reported with its path', () => {
  expect(() => loadConfig(tempFile('c.json', JSON.stringify({ server: { port: 70000 } })))).toThrow('/server/port: Expected integer to be less or equal to 65535');
});

test('unreadable and non-JSON files say so', () => {
  expect(() => loadConfig('/nonexistent/state-cache.json')).toThrow('/: cannot read the file: ENOENT');
  expect(() => loadConfig(tempFile('c.json', '{ nope'))).toThrow('/: not valid JSON');
  expect(problems([])).toEqual(['/: the config must be a JSON object']);
});

test('protected mode: a network bind needs a password or an explicit opt-out', () => {
  expect(problems({ server: { bind: '0.0.0.0' } })).toEqual([
    '/server/bind: binding 0.0.0.0 without a password would expose every key; set auth.passwordEnv or auth.passwordFile, or set server.protectedMode to false',
  ]);
  expect(problems({ server: { bind: '0.0.0.0' }, auth: { passwordEnv: 'CACHE_PASSWORD' } })).toEqual([]);
  expect(problems({ server: { bind: '0.0.0.0', protectedMode: false } })).toEqual([]);
  expect(problems({ http: { bind: '::' } })).toEqual([
    '/http/bind: binding :: without a password would expose every key; set auth.passwordEnv or auth.passwordFile, or set server.protectedMode to false',
  ]);
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

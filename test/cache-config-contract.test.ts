/**
 * The one contract: every state-cache config the constructs emit (every
 * setup in cache-fixtures.ts and every example) is valid against
 * runtime/config.schema.json, the schema state-cache itself validates with,
 * and state-cache's own `check-config` (schema plus the checks across fields,
 * such as protected mode) accepts it. The latter runs the compiled runtime:
 * `npx projen compile` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Ajv from 'ajv';
import { Testing } from 'cdk8s';
import { SCENARIOS } from './cache-fixtures';

const SCHEMA_FILE = join(__dirname, '..', 'runtime', 'config.schema.json');
const STATE_CACHE = join(__dirname, '..', 'runtime', 'lib', 'main.js');
const EXAMPLES = join(__dirname, '..', 'examples');

/** Every state-cache config in a synthesised output: the config.json of each ConfigMap a cache mounts. */
function configsOf(manifests: any[]): Array<{ name: string; config: any }> {
  return manifests
    .filter((m) => m.kind === 'ConfigMap' && typeof m.data?.['config.json'] === 'string')
    .map((m) => ({ name: m.metadata.name, config: JSON.parse(m.data['config.json']) }));
}

function validator() {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
  // strict: false because the runtime's schema carries TypeBox keywords ajv does not know.
  // useDefaults: state-cache fills defaults before it validates (TypeBox Value.Default), and so does ajv here.
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true });
  return ajv.compile(schema);
}

const cases: Array<[string, () => any[]]> = [
  ...SCENARIOS.map((s): [string, () => any[]] => [`scenario: ${s.name}`, () => Testing.synth(s.build())]),
  ...readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts')).map((f): [string, () => any[]] => [`example: ${basename(f, '.ts')}`, () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ChartClass = require(join(EXAMPLES, f)).default;
    return Testing.synth(new ChartClass(Testing.app(), basename(f, '.ts')));
  }]),
];

test('the schema exists', () => {
  expect(existsSync(SCHEMA_FILE)).toBe(true);
});

/** Runs `state-cache check-config` on a config; returns its exit status and output. */
function checkConfig(config: any): { status: number | null; output: string } {
  if (!existsSync(STATE_CACHE)) throw new Error(`${STATE_CACHE} is missing: run "npx projen compile" first`);
  const dir = mkdtempSync(join(tmpdir(), 'cache-contract-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    const r = spawnSync(process.execPath, [STATE_CACHE, 'check-config', file], { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(cases)('%s', (_name, synth) => {
  test('state-cache check-config accepts every cache config', () => {
    for (const { name, config } of configsOf(synth())) {
      const { status, output } = checkConfig(config);
      if (status !== 0) throw new Error(`ConfigMap ${name}: state-cache check-config exited ${status}:\n${output}`);
      expect(output).toContain('valid');
    }
  });

  test('every cache config is valid against runtime/config.schema.json', () => {
    const validate = validator();
    const manifests = synth();
    for (const { name, config } of configsOf(manifests)) {
      const ok = validate(structuredClone(config));
      if (!ok) {
        throw new Error(`ConfigMap ${name}: ${JSON.stringify(validate.errors, null, 2)}`);
      }
    }
  });
});

test('the scenarios and examples emit cache configs at all', () => {
  const total = cases.reduce((n, [, synth]) => n + configsOf(synth()).length, 0);
  expect(total).toBeGreaterThanOrEqual(SCENARIOS.length + 2);
});

test('check-config refuses what the schema alone cannot see (the test can fail)', () => {
  // A non-loopback TLS RESP listener without a password or client certificates, in protected mode.
  const { status, output } = checkConfig({ server: { bind: '127.0.0.1', tlsPort: 6380, tlsBind: '0.0.0.0' }, tls: { certFile: '/c', keyFile: '/k' } });
  expect(status).toBe(2);
  expect(output).toContain('/server/tlsBind');
});

test('an invalid config is rejected by the same validator (the test can fail)', () => {
  const validate = validator();
  expect(validate({ persistence: { mode: 'write-sometimes' } })).toBe(false);
  expect(validate({ memory: { limitFraction: 2 } })).toBe(false);
  expect(validate({ stores: { chain: [{ store: { type: 'remote', name: 'r', nodes: [{ host: 'h' }], cluster: true } }] } })).toBe(false);
});

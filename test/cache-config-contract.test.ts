/**
 * The one contract: every state-cache config the constructs emit (every
 * setup in cache-fixtures.ts and every example) is valid against
 * runtime/config.schema.json, the schema state-cache itself validates with.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Ajv from 'ajv';
import { Testing } from 'cdk8s';
import { SCENARIOS } from './cache-fixtures';

const SCHEMA_FILE = join(__dirname, '..', 'runtime', 'config.schema.json');
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

describe.each(cases)('%s', (_name, synth) => {
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

test('an invalid config is rejected by the same validator (the test can fail)', () => {
  const validate = validator();
  expect(validate({ persistence: { mode: 'write-sometimes' } })).toBe(false);
  expect(validate({ memory: { limitFraction: 2 } })).toBe(false);
  expect(validate({ stores: { chain: [{ store: { type: 'remote', name: 'r', nodes: [{ host: 'h' }], cluster: true } }] } })).toBe(false);
});

/**
 * Every store type the runtime knows (the chain's store union in
 * runtime/config.schema.json) has a CacheStore factory, listed here, and the
 * setups the construct and contract tests share (cache-fixtures.ts) use it.
 * A new runtime store type fails here until the construct side has it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chart, Size, Testing } from 'cdk8s';
import { cachedApp, chart, postgres, SCENARIOS } from './cache-fixtures';
import { CacheStore, RemoteCache, WriteMode } from '../src';

const SCHEMA_FILE = join(__dirname, '..', 'runtime', 'config.schema.json');

/** The runtime's store types, from the `type` const of each member of the chain's store union. */
function runtimeStoreTypes(): string[] {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
  const union: any[] = schema.properties.stores.properties.chain.items.properties.store.anyOf;
  return union.map((member) => member.properties.type.const);
}

/** Store type -> a call of its CacheStore factory. */
const FACTORIES: Record<string, (c: Chart) => CacheStore> = {
  file: () => CacheStore.file({ size: Size.gibibytes(1) }),
  postgres: (c) => CacheStore.postgres(postgres(c), { user: 'cache' }),
  remote: () => CacheStore.remote(RemoteCache.fromEndpoint({ host: 'redis.example.com', egressCidrs: ['192.0.2.10/32'] })),
  custom: () => CacheStore.custom({ module: '/opt/stores/custom.js' }),
};

/** The store types in the chain of every cache config a chart emits. */
function chainTypes(c: Chart): string[] {
  return Testing.synth(c)
    .filter((m) => m.kind === 'ConfigMap' && typeof m.data?.['config.json'] === 'string')
    .flatMap((m) => (JSON.parse(m.data['config.json']).stores?.chain ?? []).map((link: any) => link.store.type));
}

test('the schema has store types', () => {
  expect(runtimeStoreTypes().length).toBeGreaterThanOrEqual(4);
});

test('every runtime store type has a CacheStore factory in the table, and the table no other', () => {
  const runtime = runtimeStoreTypes().sort();
  const missing = runtime.filter((t) => FACTORIES[t] === undefined);
  if (missing.length > 0) {
    throw new Error(`runtime store type(s) ${missing.join(', ')} have no CacheStore factory here: add one to CacheStore and to FACTORIES`);
  }
  expect(Object.keys(FACTORIES).sort()).toEqual(runtime);
});

test.each(Object.entries(FACTORIES))('CacheStore factory for "%s" renders a store of that type', (type, factory) => {
  const c = chart();
  const store = factory(c);
  expect(store.type).toBe(type);
  cachedApp(c, { cache: { writeMode: WriteMode.writeThrough(), stores: [store] } });
  expect(chainTypes(c)).toEqual([type]);
});

test('the shared setups of the construct and contract tests use every runtime store type', () => {
  const used = new Set(SCENARIOS.flatMap((s) => chainTypes(s.build())));
  expect(runtimeStoreTypes().filter((t) => !used.has(t))).toEqual([]);
});

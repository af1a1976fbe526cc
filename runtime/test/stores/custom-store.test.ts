import { join, relative } from 'node:path';
import { storeContract } from './contract';
import { b, entry, testContext } from './helpers';
import { CustomStoreConfig, parseStoresConfig } from '../../src/stores/config';
import { createCustomStore } from '../../src/stores/custom';
import { CacheStore, StoreConfigError, StoreUnavailableError } from '../../src/stores/store';

const fixtures = join(__dirname, '..', 'fixtures');

function config(extra: Record<string, unknown>): CustomStoreConfig {
  const c = parseStoresConfig({ chain: [{ store: { type: 'custom', name: 'memory', module: join(fixtures, 'memory-store.js'), ...extra } }] }).chain[0].store;
  if (c.type !== 'custom') throw new Error('not a custom config');
  return c;
}

describe('custom store contract (the example module in test/fixtures)', () => {
  let store: CacheStore;
  beforeAll(async () => {
    store = await createCustomStore(config({}), testContext().context);
    await store.start();
  });
  beforeEach(() => store.clear());
  storeContract(() => store);
});

test('the factory gets the options and the context; the store takes its name from the config', async () => {
  const { context, logs } = testContext();
  const store = await createCustomStore(config({ name: 'seeded', options: { seed: [{ key: 'a', value: 'from options', version: 4 }] } }), context);
  expect(store.name).toBe('seeded');
  await store.start();
  expect((await store.load(b('a')))?.value.toString()).toBe('from options');
  expect(logs.map((l) => l.msg)).toContain('memory store started');
});

test('a relative module path is resolved against the working directory', async () => {
  const rel = relative(process.cwd(), join(fixtures, 'memory-store.js'));
  expect(rel.startsWith('/')).toBe(false);
  const store = await createCustomStore(config({ module: rel }), testContext().context);
  expect(store.characteristics).toEqual({ shareable: false, supportsTtl: true, versioned: true, readOnly: false });
});

test('a missing module is a config error naming the path', async () => {
  const missing = join(fixtures, 'no-such-store.js');
  const err = await createCustomStore(config({ module: missing }), testContext().context).catch((e) => e);
  expect(err).toBeInstanceOf(StoreConfigError);
  expect(err.message).toBe(`store memory: custom module ${missing} not found; mount the module at that path or fix "module"`);
});

test('a module without the factory is a config error listing what it exports', async () => {
  const path = join(fixtures, 'memory-store.js');
  await expect(createCustomStore(config({ export: 'makeStore' }), testContext().context)).rejects.toThrow(
    `store memory: custom module ${path} exports no function "makeStore" (it exports: createStore); `
    + 'export function makeStore(options, context) returning the store, or set "export" to the factory\'s name');
});

test('a factory that throws is a config error carrying its message', async () => {
  const path = join(fixtures, 'throwing-factory.js');
  await expect(createCustomStore(config({ module: path, export: 'makeStore', options: { x: 1 } }), testContext().context)).rejects.toThrow(
    `store memory: makeStore() of custom module ${path} threw: option "url" is required, got {"x":1}`);
});

test('a store missing part of the interface is refused, naming the missing parts', async () => {
  const path = join(fixtures, 'incomplete-store.js');
  await expect(createCustomStore(config({ module: path }), testContext().context)).rejects.toThrow(
    `store memory: createStore() of custom module ${path} returned a store without start, loadMany, writeBatch, deleteBatch, iterate, clear, ping, close, characteristics.readOnly; it must implement the CacheStore interface`);
});

test('a plain error thrown by the module reaches the cache as StoreUnavailableError', async () => {
  const store = await createCustomStore(config({}), testContext().context);
  // Not started: the example store throws "memory store is not open".
  const err = await store.writeBatch([entry('a', 'b', 1)]).catch((e) => e);
  expect(err).toBeInstanceOf(StoreUnavailableError);
  expect(err.message).toBe('store memory unavailable: writeBatch failed: memory store is not open');
  const iterErr = await (async () => { for await (const _ of store.iterate()) { /* nothing */ } })().catch((e) => e);
  expect(iterErr.message).toBe('store memory unavailable: iterate failed: memory store is not open');
});

test('entries the module refuses come back as rejected, the others land', async () => {
  const store = await createCustomStore(config({ options: { maxValueBytes: 3 } }), testContext().context);
  await store.start();
  const res = await store.writeBatch([entry('ok', 'abc', 1), entry('big', 'abcd', 1)]);
  expect(res.rejected.map((r) => [r.key.toString(), r.error.message])).toEqual([['big', 'value of 4 bytes exceeds 3']]);
  expect((await store.load(b('ok')))?.value.toString()).toBe('abc');
});

import { entry, LevelTestStore, tempDir, TestStore } from './helpers';
import { StoreLink } from '../../src/persistence/chain';
import { preload, purgeStores } from '../../src/persistence/preload';
import { StoredEntry } from '../../src/stores/store';
import { testContext } from '../stores/helpers';

const link = (store: TestStore | LevelTestStore, preloadFrom = false): StoreLink => ({ store, required: true, preload: preloadFrom });

function sink(): { memory: Map<string, StoredEntry>; versions: number[]; insert: (e: StoredEntry) => boolean; observeVersion: (v: number) => void } {
  const memory = new Map<string, StoredEntry>();
  const versions: number[] = [];
  return { memory, versions, insert: (e) => { memory.set(e.key.toString(), e); return true; }, observeVersion: (v) => versions.push(v) };
}

test('preload fills memory from the first store marked for preload, from a real LevelDB', async () => {
  const t = tempDir('preload-');
  const other = new TestStore('other');
  other.data.set('x', entry('x', 'not me', 1));
  const level = new LevelTestStore(t.dir);
  await level.start();
  await level.writeBatch(Array.from({ length: 300 }, (_, i) => entry(`k${String(i).padStart(3, '0')}`, `v${i}`, 1000 + i)));
  const s = sink();
  const result = await preload([link(other), link(level, true)], { maxEntries: 10_000, maxBytes: 2 ** 20, timeBudgetMs: 10_000, ...s });
  expect(result).toMatchObject({ store: 'level', entries: 300, stoppedBy: 'complete' });
  expect(s.memory.size).toBe(300);
  expect(s.memory.get('k007')?.value.toString()).toBe('v7');
  expect(s.memory.has('x')).toBe(false);
  expect(Math.max(...s.versions)).toBe(1299);
  await level.close();
  t.cleanup();
});

test('preload stops at the entry bound and at the byte bound', async () => {
  const store = new TestStore();
  for (let i = 0; i < 100; i++) store.data.set(`k${i}`, entry(`k${i}`, 'x'.repeat(98), i + 1));
  const byEntries = sink();
  expect(await preload([link(store, true)], { maxEntries: 25, maxBytes: 2 ** 20, timeBudgetMs: 10_000, ...byEntries }))
    .toMatchObject({ entries: 25, stoppedBy: 'entries' });
  expect(byEntries.memory.size).toBe(25);
  const byBytes = sink();
  // k0..k9 are 2 + 98 = 100 bytes each: 1000 bytes hold exactly those 10
  const r = await preload([link(store, true)], { maxEntries: 1000, maxBytes: 1000, timeBudgetMs: 10_000, ...byBytes });
  expect(r.stoppedBy).toBe('bytes');
  expect(r.entries).toBe(10);
  expect(r.bytes).toBe(1000);
  expect(r.bytes).toBeLessThanOrEqual(1000);
});

test('preload stops when the keyspace says memory is full', async () => {
  const store = new TestStore();
  for (let i = 0; i < 10; i++) store.data.set(`k${i}`, entry(`k${i}`, 'v', i + 1));
  let room = 4;
  const r = await preload([link(store, true)], {
    maxEntries: 100, maxBytes: 2 ** 20, timeBudgetMs: 10_000, observeVersion: () => undefined, insert: () => room-- > 0,
  });
  expect(r).toMatchObject({ entries: 4, stoppedBy: 'memory' });
});

test('preload stops at the time budget, even while the store stalls', async () => {
  const store = new TestStore();
  store.loadLatencyMs = 30; // per iterated entry
  for (let i = 0; i < 100; i++) store.data.set(`k${i}`, entry(`k${i}`, 'v', i + 1));
  const s = sink();
  const started = Date.now();
  const r = await preload([link(store, true)], { maxEntries: 1000, maxBytes: 2 ** 20, timeBudgetMs: 200, ...s });
  const elapsed = Date.now() - started;
  expect(r.stoppedBy).toBe('time');
  expect(r.entries).toBeGreaterThan(0);
  expect(r.entries).toBeLessThan(100);
  expect(elapsed).toBeLessThan(400);
});

test('preload skips expired entries', async () => {
  const store = new TestStore();
  store.data.set('live', entry('live', 'v', 1));
  store.data.set('dead', entry('dead', 'v', 2, Date.now() - 1));
  const s = sink();
  await preload([link(store, true)], { maxEntries: 10, maxBytes: 1000, timeBudgetMs: 1000, ...s });
  expect([...s.memory.keys()]).toEqual(['live']);
});

test('without a preload store preload does nothing', async () => {
  const r = await preload([link(new TestStore())], { maxEntries: 10, maxBytes: 1000, timeBudgetMs: 1000, ...sink() });
  expect(r).toEqual({ store: undefined, entries: 0, bytes: 0, stoppedBy: 'disabled', ms: 0 });
});

test('a store failing during preload stops it with an ERROR log; start-up goes on and serves without it', async () => {
  const store = new TestStore();
  store.down = true;
  const { context, logs } = testContext();
  const r = await preload([link(store, true)], { maxEntries: 10, maxBytes: 1000, timeBudgetMs: 1000, ...sink(), logger: context.logger });
  expect(r).toMatchObject({ store: 'test', entries: 0, stoppedBy: 'unavailable' });
  const error = logs.find((l) => l.level === 50);
  expect(error).toMatchObject({ store: 'test', msg: 'preload: the store is unavailable; serving without the rest, which loads on miss once the store is back' });
  expect(String((error!.err as { message: string }).message)).toBe('store test unavailable: connection refused');
});

test('purge on startup empties non-shared writable stores and leaves shared and read-only ones alone', async () => {
  const own = new TestStore('own');
  const shared = new TestStore('shared', { shareable: true });
  const seed = new TestStore('seed', { readOnly: true });
  for (const s of [own, shared, seed]) s.data.set('k', entry('k', 'v', 1));
  expect(await purgeStores([link(own), link(shared), link(seed)])).toEqual(['own']);
  expect([own.data.size, shared.data.size, seed.data.size]).toEqual([0, 1, 1]);
});

test('a link marked read-only is not purged even when its store could be written', async () => {
  const store = new TestStore('seed');
  store.data.set('k', entry('k', 'v', 1));
  expect(await purgeStores([{ store, required: false, preload: true, readOnly: true }])).toEqual([]);
  expect(store.data.size).toBe(1);
});

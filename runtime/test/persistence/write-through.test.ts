import { Registry } from 'prom-client';
import { entry, TestStore } from './helpers';
import { linksFromChain, StoreLink } from '../../src/persistence/chain';
import { StoreRejectedError, StoreUnavailableError } from '../../src/persistence/errors';
import { PersistenceMetrics } from '../../src/persistence/metrics';
import { WriteThrough } from '../../src/persistence/write-through';

const link = (store: TestStore, required = true): StoreLink => ({ store, required, preload: false });

test('50 concurrent writers are group-committed into a few store batches, each acknowledged after the store has it', async () => {
  const store = new TestStore();
  store.latencyMs = 5;
  const metrics = new PersistenceMetrics(new Registry());
  const wt = new WriteThrough([link(store)], { maxBatchEntries: 1000, metrics });
  const acks: boolean[] = [];
  await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    await wt.write(entry(`k${i}`, `v${i}`, i + 1));
    // Acknowledged only once the store has it.
    acks.push(store.value(`k${i}`) === `v${i}`);
  }));
  expect(acks).toHaveLength(50);
  expect(acks.every(Boolean)).toBe(true);
  expect(store.batches.length).toBeLessThanOrEqual(2);
  expect(wt.batches).toBe(store.batches.length);
  const group = await metrics.writeThroughGroupSize.get();
  expect(group.values.find((v) => v.metricName?.endsWith('_sum'))!.value).toBe(50);
});

test('writes arriving while a batch is in flight form the next batch', async () => {
  const store = new TestStore();
  store.holdBatches = true;
  const wt = new WriteThrough([link(store)], { maxBatchEntries: 1000 });
  const first = wt.write(entry('a', '1', 1));
  await new Promise((r) => setTimeout(r, 10));
  expect(store.heldCount).toBe(1);
  const later = Array.from({ length: 20 }, (_, i) => wt.write(entry(`b${i}`, 'x', 10 + i)));
  store.holdBatches = false;
  store.releaseHeld();
  await Promise.all([first, ...later]);
  expect(store.batches.map((b) => b.keys.length)).toEqual([1, 20]);
});

test('several writers of one key: the newest version is written once and every writer gets the answer', async () => {
  const store = new TestStore();
  const wt = new WriteThrough([link(store)], { maxBatchEntries: 1000 });
  await Promise.all([wt.write(entry('k', 'v1', 1)), wt.write(entry('k', 'v3', 3)), wt.write(entry('k', 'v2', 2))]);
  expect(store.batches).toEqual([{ kind: 'write', keys: ['k'], versions: [3] }]);
  expect(store.value('k')).toBe('v3');
});

test('a required store outage fails every write of the batch with StoreUnavailableError; nothing is acknowledged', async () => {
  const store = new TestStore();
  store.down = true;
  const wt = new WriteThrough([link(store)], { maxBatchEntries: 1000 });
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => wt.write(entry(`k${i}`, 'v', i + 1))));
  expect(results.every((r) => r.status === 'rejected')).toBe(true);
  const reason = (results[0] as PromiseRejectedResult).reason;
  expect(reason).toBeInstanceOf(StoreUnavailableError);
  expect(reason.message).toBe('store test unavailable: connection refused');
  expect(store.data.size).toBe(0);
});

test('a store that throws something else is still reported as StoreUnavailableError', async () => {
  const store = new TestStore();
  store.writeBatch = async () => { throw new TypeError('socket hang up'); };
  const wt = new WriteThrough([link(store)], { maxBatchEntries: 1000 });
  const err = await wt.write(entry('k', 'v', 1)).catch((e) => e);
  expect(err).toBeInstanceOf(StoreUnavailableError);
  expect(err.message).toBe('store test unavailable: socket hang up');
});

test('a key the store refuses fails only that write, with the store error', async () => {
  const store = new TestStore();
  store.refuse.set('bad', 'permanent');
  const wt = new WriteThrough([link(store)], { maxBatchEntries: 1000 });
  const [bad, good] = await Promise.allSettled([wt.write(entry('bad', 'x', 1)), wt.write(entry('good', 'y', 2))]);
  expect(bad.status).toBe('rejected');
  expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(StoreRejectedError);
  expect((bad as PromiseRejectedResult).reason.message).toBe('store test rejected the entry: value too large');
  expect(good.status).toBe('fulfilled');
});

test('a best-effort store failing does not fail the write; a required one does', async () => {
  const required = new TestStore('db');
  const bestEffort = new TestStore('remote');
  bestEffort.down = true;
  const wt = new WriteThrough([link(required), link(bestEffort, false)], { maxBatchEntries: 1000 });
  await wt.write(entry('k', 'v', 1));
  expect(required.value('k')).toBe('v');
  required.down = true;
  bestEffort.down = false;
  await expect(wt.write(entry('k2', 'v', 2))).rejects.toThrow('store db unavailable: connection refused');
});

test('read-only stores are never written', async () => {
  const ro = new TestStore('seed', { readOnly: true });
  const rw = new TestStore('db');
  const wt = new WriteThrough([link(ro), link(rw)], { maxBatchEntries: 1000 });
  await wt.write(entry('k', 'v', 1));
  expect(ro.batches).toHaveLength(0);
  expect(rw.value('k')).toBe('v');
});

test('deletes are group-committed too', async () => {
  const store = new TestStore();
  store.data.set('a', entry('a', '1', 1));
  const wt = new WriteThrough([link(store)], { maxBatchEntries: 1000 });
  await Promise.all([wt.delete({ key: Buffer.from('a'), version: 2 }), wt.write(entry('b', '2', 3))]);
  expect(store.data.has('a')).toBe(false);
  expect(store.value('b')).toBe('2');
});

test('maxBatchEntries caps a batch', async () => {
  const store = new TestStore();
  const wt = new WriteThrough([link(store)], { maxBatchEntries: 7 });
  await Promise.all(Array.from({ length: 20 }, (_, i) => wt.write(entry(`k${i}`, 'v', i + 1))));
  expect(store.batches.map((b) => b.keys.length)).toEqual([7, 7, 6]);
});

test('links from a store chain config: mode and readOnly are honoured', async () => {
  const seed = new TestStore('seed');
  const db = new TestStore('db');
  const cache = new TestStore('cache');
  cache.down = true;
  const links = linksFromChain([
    { store: seed, mode: 'required', readOnly: true, preload: true },
    { store: db, mode: 'required', readOnly: false, preload: false },
    { store: cache, mode: 'bestEffort', readOnly: false, preload: false },
  ]);
  expect(links.map((l) => [l.store.name, l.required, l.preload, l.readOnly])).toEqual([
    ['seed', true, true, true], ['db', true, false, false], ['cache', false, false, false],
  ]);
  const wt = new WriteThrough(links, { maxBatchEntries: 10 });
  await wt.write(entry('k', 'v', 1));
  expect(seed.batches).toHaveLength(0);
  expect(db.value('k')).toBe('v');
});

import { entry, TestStore } from './helpers';
import { StoreLink } from '../../src/persistence/chain';
import { StoreUnavailableError } from '../../src/persistence/errors';
import { Loader } from '../../src/persistence/loader';

const link = (store: TestStore, required = true): StoreLink => ({ store, required, preload: false });

test('concurrent misses of one key share one store load (single-flight)', async () => {
  const store = new TestStore();
  store.loadLatencyMs = 20;
  store.data.set('hot', entry('hot', 'v', 42));
  const loader = new Loader([link(store)], { observeVersion: () => undefined });
  const results = await Promise.all(Array.from({ length: 100 }, () => loader.load(Buffer.from('hot'))));
  expect(store.loads).toBe(1);
  expect(results.every((r) => r?.value.toString() === 'v')).toBe(true);
  // Once done, the next miss loads again (no stale cache in the loader).
  await loader.load(Buffer.from('hot'));
  expect(store.loads).toBe(2);
});

test('different keys load in parallel', async () => {
  const store = new TestStore();
  store.loadLatencyMs = 50;
  const loader = new Loader([link(store)], { observeVersion: () => undefined });
  const started = Date.now();
  await Promise.all(['a', 'b', 'c', 'd'].map((k) => loader.load(Buffer.from(k))));
  expect(store.loads).toBe(4);
  expect(Date.now() - started).toBeLessThan(150);
});

test('stores are asked in chain order; the first hit wins and raises the version clock', async () => {
  const first = new TestStore('first');
  const second = new TestStore('second');
  second.data.set('k', entry('k', 'from-second', 900));
  const third = new TestStore('third');
  third.data.set('k', entry('k', 'from-third', 5));
  const seen: number[] = [];
  const loader = new Loader([link(first), link(second), link(third)], { observeVersion: (v) => seen.push(v) });
  const got = await loader.load(Buffer.from('k'));
  expect(got?.value.toString()).toBe('from-second');
  expect(seen).toEqual([900]);
  expect([first.loads, second.loads, third.loads]).toEqual([1, 1, 0]);
});

test('a miss everywhere is undefined and does not touch the clock', async () => {
  const seen: number[] = [];
  const loader = new Loader([link(new TestStore())], { observeVersion: (v) => seen.push(v) });
  expect(await loader.load(Buffer.from('none'))).toBeUndefined();
  expect(seen).toEqual([]);
});

test('an expired entry a store returns is treated as a miss', async () => {
  const store = new TestStore();
  store.data.set('old', entry('old', 'v', 1, Date.now() - 1000));
  const loader = new Loader([link(store)], { observeVersion: () => undefined });
  expect(await loader.load(Buffer.from('old'))).toBeUndefined();
});

test('a failing required store fails the load with StoreUnavailableError; a best-effort one is skipped', async () => {
  const cache = new TestStore('cache');
  cache.down = true;
  const db = new TestStore('db');
  db.data.set('k', entry('k', 'v', 3));
  const skipping = new Loader([link(cache, false), link(db)], { observeVersion: () => undefined });
  expect((await skipping.load(Buffer.from('k')))?.value.toString()).toBe('v');

  const strict = new Loader([link(cache, true), link(db)], { observeVersion: () => undefined });
  const err = await strict.load(Buffer.from('k')).catch((e) => e);
  expect(err).toBeInstanceOf(StoreUnavailableError);
  expect(err.message).toBe('store cache unavailable: connection refused');
});

test('single-flight also shares a failure, and the next load tries again', async () => {
  const store = new TestStore();
  store.down = true;
  store.loadLatencyMs = 10;
  const loader = new Loader([link(store)], { observeVersion: () => undefined });
  const results = await Promise.allSettled([loader.load(Buffer.from('k')), loader.load(Buffer.from('k'))]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  expect(store.loads).toBe(1);
  store.down = false;
  store.data.set('k', entry('k', 'v', 1));
  expect((await loader.load(Buffer.from('k')))?.value.toString()).toBe('v');
});

import { join } from 'node:path';
import { entry, sleep, tempDir, TestStore } from './helpers';
import { StoreLink } from '../../src/persistence/chain';
import { DeadLetterFile } from '../../src/persistence/dead-letter';
import { PassivationError } from '../../src/persistence/errors';
import { Passivation } from '../../src/persistence/passivation';
import { WriteBehind } from '../../src/persistence/write-behind';
import { WriteThrough } from '../../src/persistence/write-through';

const link = (store: TestStore): StoreLink => ({ store, required: true, preload: false });

let t: ReturnType<typeof tempDir>;
let wb: WriteBehind | undefined;
beforeEach(() => { t = tempDir('passivation-'); });
afterEach(async () => { await wb?.close(); t.cleanup(); });

function writeBehind(store: TestStore, attempts = 3): WriteBehind {
  wb = new WriteBehind([link(store)], {
    batchSize: 100,
    flushIntervalMs: 5,
    maxPendingEntries: 1000,
    maxPendingBytes: 2 ** 20,
    whenFull: 'reject',
    blockTimeoutMs: 10,
    retry: { attempts, baseDelayMs: 5, maxDelayMs: 10 },
    deadLetter: new DeadLetterFile(join(t.dir, 'dl.jsonl')),
  });
  return wb;
}

test('write-behind: eviction waits until the store has the entry, then may drop it', async () => {
  const store = new TestStore();
  store.holdBatches = true;
  const queue = writeBehind(store);
  const e = entry('k', 'v', 7);
  await queue.write(e);
  let evicted = false;
  const eviction = new Passivation({ writeBehind: queue }).evict([e]).then(() => { evicted = true; });
  await sleep(40);
  expect(evicted).toBe(false);
  expect(store.data.has('k')).toBe(false);
  store.holdBatches = false;
  store.releaseHeld();
  await eviction;
  expect(store.data.get('k')?.version).toBe(7);
});

test('write-behind: an entry already in the store is evicted at once', async () => {
  const store = new TestStore();
  const queue = writeBehind(store);
  await new Passivation({ writeBehind: queue }).evict([entry('loaded', 'v', 1)]);
  expect(store.batches).toHaveLength(0);
});

test('store down: eviction fails with the OOM passivation error and the entry must stay in memory', async () => {
  const store = new TestStore();
  store.down = true;
  const queue = writeBehind(store, 2);
  const e = entry('k', 'v', 1);
  await queue.write(e);
  const err = await new Passivation({ writeBehind: queue }).evict([e]).catch((x) => x);
  expect(err).toBeInstanceOf(PassivationError);
  expect(err.code).toBe('OOM');
  expect(err.message).toBe('OOM command not allowed: evicted entries could not be written to the stores (store test unavailable: connection refused); they stay in memory');
});

test('write-through: every entry in memory is already in the required stores, so eviction writes nothing', async () => {
  const store = new TestStore();
  const wt = new WriteThrough([link(store)], { maxBatchEntries: 10 });
  await wt.write(entry('k', 'v', 1));
  await new Passivation({ writeThrough: wt }).evict([entry('k', 'v', 1)]);
  expect(store.batches).toHaveLength(1);
});

test('without a persisting mode eviction cannot be made safe', async () => {
  await expect(new Passivation({}).evict([entry('k', 'v', 1)])).rejects.toThrow(
    'OOM command not allowed: evicted entries could not be written to the stores (no store to passivate to (persistence mode none)); they stay in memory');
});

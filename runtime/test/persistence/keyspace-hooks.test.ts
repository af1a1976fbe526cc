import { join } from 'node:path';
import { Registry } from 'prom-client';
import { entry, tempDir, TestStore, until } from './helpers';
import { DEFAULT_KEYSPACE_OPTIONS, Keyspace } from '../../src/keyspace/keyspace';
import { parsePersistenceConfig } from '../../src/persistence/config';
import { PassivationError } from '../../src/persistence/errors';
import { HookEntryChange, KeyspaceHooks } from '../../src/persistence/keyspace-hooks';
import { Persistence } from '../../src/persistence/persistence';
import { StoredEntry } from '../../src/stores/store';
import { OutOfMemoryError, PersistenceUnavailableError, QueueFullError } from '../../src/vocabulary';

/** The client-facing errors (errors.ts) the hooks raise, whatever failed in persistence. */
const ProtocolQueueFull = QueueFullError;
const ProtocolUnavailable = PersistenceUnavailableError;
const ProtocolOom = OutOfMemoryError;

/** Follows the keyspace's side of the hook contract: before, apply, after; apply may throw. */
class HookedMemory {
  readonly data = new Map<string, StoredEntry>();
  failNextApply = false;
  private clock = 0;
  constructor(readonly hooks: KeyspaceHooks) {}
  set(key: string, value: string): Promise<void> | undefined {
    const change: HookEntryChange = { kind: 'set', key: Buffer.from(key), value: Buffer.from(value), version: ++this.clock, expiresAt: 0 };
    const changes = [change];
    const apply = (): void => {
      if (this.failNextApply) { this.failNextApply = false; throw new Error('OOM'); }
      this.data.set(key, { key: change.key, value: change.value, version: change.version, expiresAt: 0 });
    };
    const wait = this.hooks.beforeChange(changes);
    if (wait === undefined) {
      apply();
      this.hooks.afterChange(changes);
      return undefined;
    }
    return wait.then(() => { apply(); this.hooks.afterChange(changes); });
  }
  evict(key: string): void {
    this.hooks.passivate(this.data.get(key)!);
    this.data.delete(key);
  }
}

let t: ReturnType<typeof tempDir>;
let p: Persistence | undefined;
beforeEach(() => { t = tempDir('hooks-'); });
afterEach(async () => { await p?.close(100); p = undefined; t.cleanup(); });

interface Setup {
  hooks: KeyspaceHooks;
  memory: HookedMemory;
  store: TestStore;
  p: Persistence;
}

async function setup(raw: Record<string, any>, store = new TestStore()): Promise<Setup> {
  const hooks = new KeyspaceHooks();
  const memory = new HookedMemory(hooks);
  p = await Persistence.start({
    config: parsePersistenceConfig({
      ...raw,
      writeBehind: { deadLetterPath: join(t.dir, 'dl.jsonl'), flushIntervalMs: 5, ...raw.writeBehind },
      journal: { dir: join(t.dir, 'journal'), ...raw.journal },
    }),
    links: [{ store, required: true, preload: false }],
    keyspace: {
      applyEntry: (e) => { memory.data.set(e.key.toString(), e); return true; },
      observeVersion: () => undefined,
      maxEntries: 100,
      maxBytes: 2 ** 20,
      expiryInUse: false,
    },
    registry: new Registry(),
  });
  hooks.attach(p);
  return { hooks, memory, store, p };
}

test('not ready, no loads and no waiting before persistence is attached', () => {
  const hooks = new KeyspaceHooks();
  expect(hooks.ready()).toBe(false);
  expect(hooks.load(Buffer.from('k'))).toBeUndefined();
  expect(hooks.beforeChange([{ kind: 'delete', key: Buffer.from('k'), version: 1 }])).toBeUndefined();
});

test('memoryOnly: only once attached to persistence without a mode, stores or passivation; the keyspace then skips the hooks', async () => {
  const attach = async (raw: Record<string, any>, links: Array<{ store: TestStore; required: boolean; preload: boolean }>) => {
    const hooks = new KeyspaceHooks();
    const ks = new Keyspace(DEFAULT_KEYSPACE_OPTIONS, hooks);
    expect(hooks.memoryOnly()).toBe(false);
    ks.hooksChanged();
    expect(ks.persistent).toBe(true); // not attached yet: the hooks decide
    p = await Persistence.start({
      config: parsePersistenceConfig({ ...raw, writeBehind: { deadLetterPath: join(t.dir, 'dl.jsonl') } }),
      links,
      keyspace: { applyEntry: () => true, observeVersion: () => undefined, maxEntries: 100, maxBytes: 2 ** 20, expiryInUse: false },
      registry: new Registry(),
    });
    hooks.attach(p);
    ks.hooksChanged();
    const memoryOnly = hooks.memoryOnly();
    await p.close(100);
    p = undefined;
    return { memoryOnly, persistent: ks.persistent, loadsOnMiss: ks.loadsOnMiss };
  };
  expect(await attach({}, [])).toEqual({ memoryOnly: true, persistent: false, loadsOnMiss: false });
  // A store to load misses from, a mode, or passivation: the hooks have work, the keyspace calls them.
  expect(await attach({}, [{ store: new TestStore(), required: true, preload: false }]))
    .toEqual({ memoryOnly: false, persistent: true, loadsOnMiss: true });
  expect(await attach({ mode: 'write-behind' }, [{ store: new TestStore(), required: true, preload: false }]))
    .toEqual({ memoryOnly: false, persistent: true, loadsOnMiss: true });
});

test('write-behind without journal: the hot path returns no promise; afterChange queues the write for the store', async () => {
  const { hooks, memory, store } = await setup({ mode: 'write-behind' });
  expect(hooks.ready()).toBe(true);
  expect(memory.set('a', '1')).toBeUndefined();
  expect(memory.data.get('a')?.value.toString()).toBe('1');
  await until(() => store.value('a') === '1');
});

test('write-behind with journal: the write waits for the fsynced append, then memory changes', async () => {
  const { memory, store, p: started } = await setup({ mode: 'write-behind', journal: { enabled: true } });
  store.down = true;
  const pending = memory.set('a', '1');
  expect(pending).toBeInstanceOf(Promise);
  expect(memory.data.has('a')).toBe(false);
  await pending;
  expect(memory.data.get('a')?.value.toString()).toBe('1');
  expect(started.journalStats?.records).toBe(1);
  expect(started.pending()).toEqual({ test: 1 });
});

test('queue full with policy reject: refused synchronously with the protocol error; memory unchanged', async () => {
  const store = new TestStore();
  const { memory } = await setup({ mode: 'write-behind', writeBehind: { maxPendingEntries: 1, batchSize: 1, whenFull: 'reject', retry: { attempts: 1000 } } }, store);
  store.down = true;
  expect(memory.set('a', '1')).toBeUndefined();
  expect(() => memory.set('b', '2')).toThrow(ProtocolQueueFull);
  expect(() => memory.set('b', '2')).toThrow('write-behind queue full (1 entries / 67108864 bytes): the stores are behind; retry later');
  expect(memory.data.has('b')).toBe(false);
});

test('a change memory refused gives its room back', async () => {
  const store = new TestStore();
  const { memory, p: started } = await setup({ mode: 'write-behind', writeBehind: { maxPendingEntries: 1, batchSize: 1, whenFull: 'reject', retry: { attempts: 1000 } } }, store);
  store.down = true;
  memory.failNextApply = true;
  expect(() => memory.set('a', '1')).toThrow('OOM');
  // Without the room given back, this would be refused as queue full.
  expect(memory.set('b', '2')).toBeUndefined();
  expect(started.pending()).toEqual({ test: 1 });
});

test('write-through: a store outage fails the change with the protocol error and memory stays unchanged', async () => {
  const { memory, store } = await setup({ mode: 'write-through' });
  await memory.set('a', '1');
  expect(store.value('a')).toBe('1');
  store.down = true;
  const failed = memory.set('a', '2');
  await expect(failed).rejects.toThrow(ProtocolUnavailable);
  await expect(failed).rejects.toThrow('store test unavailable: connection refused');
  expect(memory.data.get('a')?.value.toString()).toBe('1');
});

test('passivation: an entry evicted while queued is loaded back from the queue, not from the older store copy', async () => {
  const store = new TestStore();
  store.data.set('a', entry('a', 'stale', 0));
  store.holdBatches = true;
  const { hooks, memory } = await setup({ mode: 'write-behind', passivation: { enabled: true } }, store);
  expect(memory.set('a', 'fresh')).toBeUndefined();
  memory.evict('a');
  expect(memory.data.has('a')).toBe(false);
  expect((await hooks.load(Buffer.from('a')))?.value.toString()).toBe('fresh');
  store.holdBatches = false;
  store.releaseHeld();
});

test('passivation: while the store is failing a key, its eviction is refused with the OOM error', async () => {
  const store = new TestStore();
  const { memory, p: started } = await setup({ mode: 'write-behind', passivation: { enabled: true }, writeBehind: { retry: { attempts: 1000 } } }, store);
  store.down = true;
  expect(memory.set('a', '1')).toBeUndefined();
  await until(() => started.queue!.isFailing(Buffer.from('a')), 2000, 'store failing the key');
  expect(() => memory.evict('a')).toThrow(ProtocolOom);
  expect(() => memory.evict('a')).toThrow(new PassivationError('key "a" cannot be evicted: a store is failing to take it, so it stays in memory').message);
  expect(memory.data.has('a')).toBe(true);
});

test('flush(deadline) drains the queue and closes persistence', async () => {
  const { hooks, memory, store } = await setup({ mode: 'write-behind', writeBehind: { flushIntervalMs: 60_000 } });
  expect(memory.set('a', '1')).toBeUndefined();
  expect(memory.set('b', '2')).toBeUndefined();
  expect(store.data.size).toBe(0);
  await hooks.flush(Date.now() + 2000);
  expect(store.value('a')).toBe('1');
  expect(store.value('b')).toBe('2');
  expect(hooks.ready()).toBe(false);
  p = undefined;
});

test('a miss with a pending delete is a miss, even though the store still has the key', async () => {
  const store = new TestStore();
  store.data.set('a', entry('a', 'old', 0));
  store.holdBatches = true;
  const { hooks } = await setup({ mode: 'write-behind' }, store);
  expect((await hooks.load(Buffer.from('a')))?.value.toString()).toBe('old');
  const changes: HookEntryChange[] = [{ kind: 'delete', key: Buffer.from('a'), version: 6 }];
  expect(hooks.beforeChange(changes)).toBeUndefined();
  hooks.afterChange(changes);
  expect(await hooks.load(Buffer.from('a'))).toBeUndefined();
  store.holdBatches = false;
  store.releaseHeld();
});

import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { entry, LevelTestStore, persist, persistDelete, tempDir, TestStore, until } from './helpers';
import { parsePersistenceConfig } from '../../src/persistence/config';
import { PersistenceClosedError, PersistenceConfigError } from '../../src/persistence/errors';
import { KeyspaceSink, Persistence } from '../../src/persistence/persistence';
import { StoredEntry } from '../../src/stores/store';

/** A minimal keyspace: newest version wins, as the real keyspace does. */
class MapKeyspace implements KeyspaceSink {
  readonly entries = new Map<string, StoredEntry>();
  clock = 0;
  readonly maxEntries = 1000;
  readonly maxBytes = 2 ** 20;
  readonly expiryInUse = false;
  applyEntry(e: StoredEntry): boolean {
    const cur = this.entries.get(e.key.toString());
    if (!cur || cur.version < e.version) this.entries.set(e.key.toString(), e);
    return true;
  }
  observeVersion(v: number): void { this.clock = Math.max(this.clock, v); }
}

let t: ReturnType<typeof tempDir>;
beforeEach(() => { t = tempDir('persistence-'); });
afterEach(() => t.cleanup());

function config(raw: Record<string, any>) {
  return parsePersistenceConfig({
    ...raw,
    writeBehind: { deadLetterPath: join(t.dir, 'dead-letter.jsonl'), flushIntervalMs: 10, ...raw.writeBehind },
    journal: { dir: join(t.dir, 'journal'), ...raw.journal },
  });
}

test('write-behind with journal on a real LevelDB: acknowledged, flushed on close, journal emptied; restart loads on miss', async () => {
  const keyspace = new MapKeyspace();
  const level = new LevelTestStore(join(t.dir, 'level'));
  const registry = new Registry();
  const p = await Persistence.start({
    config: config({ mode: 'write-behind', journal: { enabled: true } }),
    links: [{ store: level, required: true, preload: false }],
    keyspace,
    registry,
  });
  expect(await p.ready()).toBe(true);
  await Promise.all(Array.from({ length: 100 }, (_, i) => persist(p, entry(`k${i}`, `v${i}`, i + 1))));
  await persistDelete(p, { key: Buffer.from('k0'), version: 200 });
  expect(p.journalStats!.records).toBe(101);
  expect(p.journalStats!.commits).toBeLessThan(101);
  expect(await p.close(5000)).toEqual({ remaining: 0, timedOut: false });
  expect(readdirSync(join(t.dir, 'journal'))).toEqual([]);
  await expect(persist(p, entry('late', 'v', 300))).rejects.toBeInstanceOf(PersistenceClosedError);
  expect(await p.ready()).toBe(false);
  expect(await registry.metrics()).toMatch(/state_cache_persistence_journal_fsyncs_total \d+/);

  const keyspace2 = new MapKeyspace();
  const level2 = new LevelTestStore(join(t.dir, 'level'));
  const p2 = await Persistence.start({
    config: config({ mode: 'write-behind', journal: { enabled: true } }),
    links: [{ store: level2, required: true, preload: false }],
    keyspace: keyspace2,
    registry: new Registry(),
  });
  expect(p2.startReport?.replayed).toBe(0);
  expect((await p2.load(Buffer.from('k42')))?.value.toString()).toBe('v42');
  expect(keyspace2.clock).toBe(43);
  expect(await p2.load(Buffer.from('k0'))).toBeUndefined();
  await p2.close(1000);
});

test('unflushed writes are replayed into memory and the queue at start, before ready', async () => {
  const store = new TestStore();
  store.down = true;
  const keyspace = new MapKeyspace();
  const cfg = config({ mode: 'write-behind', journal: { enabled: true }, writeBehind: { retry: { attempts: 1000, baseDelayMs: 5, maxDelayMs: 10 } } });
  const link = { store, required: true, preload: false };
  // A store that is down at start does not stop start-up: this instance serves from memory and the journal.
  const registry0 = new Registry();
  const p0 = await Persistence.start({ config: cfg, links: [link], keyspace, registry: registry0 });
  expect(p0.readyNow).toBe(true);
  expect(p0.status()).toEqual({ mode: 'write-behind', ready: true, stores: [{ name: 'test', required: true, up: false, pending: 0 }] });
  expect(await registry0.metrics()).toContain('state_cache_store_up{store="test"} 0');
  store.down = false;
  expect(await p0.ready()).toBe(true); // the health probe starts the store once it answers
  expect(p0.status().stores[0].up).toBe(true);
  expect(await registry0.metrics()).toContain('state_cache_store_up{store="test"} 1');
  await p0.close(1000);

  const p = await Persistence.start({ config: cfg, links: [link], keyspace, registry: new Registry() });
  expect(p.readyNow).toBe(true);
  store.down = true;
  expect(await p.ready()).toBe(true); // a required store that does not answer leaves readiness alone...
  expect(p.status().stores[0].up).toBe(false); // ...and shows in /status and state_cache_store_up
  await persist(p, entry('a', '1', 10));
  await persist(p, entry('a', '2', 11));
  await persist(p, entry('b', 'short-lived', 12));
  await persistDelete(p, { key: Buffer.from('b'), version: 13 });
  expect(await p.close(50)).toEqual({ remaining: 2, timedOut: true });

  store.down = false;
  store.data.set('b', entry('b', 'old', 1));
  const fresh = new MapKeyspace();
  const p2 = await Persistence.start({ config: cfg, links: [link], keyspace: fresh, registry: new Registry() });
  expect(p2.startReport?.replayed).toBe(4);
  expect(fresh.entries.get('a')?.value.toString()).toBe('2');
  expect(fresh.entries.has('b')).toBe(false);
  expect(fresh.clock).toBe(13);
  expect(p2.readyNow).toBe(true);
  expect(await p2.ready()).toBe(true);
  await until(() => p2.pending().test === 0);
  expect(store.value('a')).toBe('2');
  expect(store.data.has('b')).toBe(false);
  await p2.close(1000);
  expect(readdirSync(join(t.dir, 'journal'))).toEqual([]);
});

test('the highest stored version raises the version clock at start: a blind write outranks the store even behind a clock', async () => {
  const store = new TestStore();
  const ahead = Date.now() * 1000 + 3_600_000_000; // written by an instance whose clock ran an hour ahead
  store.data.set('k', entry('k', 'from A', ahead));
  const keyspace = new MapKeyspace();
  const p = await Persistence.start({ config: config({ mode: 'write-behind' }), links: [{ store, required: true, preload: false }], keyspace, registry: new Registry() });
  expect(keyspace.clock).toBe(ahead);
  await p.close(1000);
});

test('readiness.requireStores: not ready while a required store does not answer', async () => {
  const store = new TestStore();
  const link = { store, required: true, preload: false };
  const p = await Persistence.start({ config: config({ mode: 'write-behind', readiness: { requireStores: true } }), links: [link], keyspace: new MapKeyspace(), registry: new Registry() });
  expect(p.readyNow).toBe(true);
  store.down = true;
  expect(await p.ready()).toBe(false);
  store.down = false;
  expect(await p.ready()).toBe(true);
  await p.close(1000);
});

test('write-through on a real LevelDB: the write resolves only once the store has it', async () => {
  const level = new LevelTestStore(join(t.dir, 'level'));
  const p = await Persistence.start({
    config: config({ mode: 'write-through' }),
    links: [{ store: level, required: true, preload: false }],
    keyspace: new MapKeyspace(),
    registry: new Registry(),
  });
  await Promise.all(Array.from({ length: 50 }, (_, i) => persist(p, entry(`k${i}`, `v${i}`, i + 1))));
  for (let i = 0; i < 50; i++) expect((await level.load(Buffer.from(`k${i}`)))?.value.toString()).toBe(`v${i}`);
  await p.close(1000);
});

test('start purges, then preloads within the bound, and reports it', async () => {
  const own = new TestStore('own');
  own.data.set('x', entry('x', 'v', 1));
  const seed = new TestStore('seed', { readOnly: true, shareable: true });
  for (let i = 0; i < 20; i++) seed.data.set(`s${i}`, entry(`s${i}`, 'v', 100 + i));
  const keyspace = new MapKeyspace();
  const p = await Persistence.start({
    config: config({ mode: 'write-through', purgeOnStartup: true, preload: { enabled: true } }),
    links: [{ store: own, required: true, preload: false }, { store: seed, required: false, preload: true }],
    keyspace,
    registry: new Registry(),
  });
  expect(p.startReport).toMatchObject({ purged: ['own'], replayed: 0, preload: { store: 'seed', entries: 20, stoppedBy: 'complete' } });
  expect(own.data.size).toBe(0);
  expect(keyspace.entries.size).toBe(20);
  expect(keyspace.clock).toBe(119);
  await p.close(100);
});

test('an impossible combination is refused at start, before any store is touched', async () => {
  const store = new TestStore('pg', { shareable: true });
  store.down = true; // would fail start() if it were called
  await expect(Persistence.start({
    config: config({ mode: 'write-behind', passivation: { enabled: true } }),
    links: [{ store, required: true, preload: false }],
    keyspace: new MapKeyspace(),
    registry: new Registry(),
  })).rejects.toBeInstanceOf(PersistenceConfigError);
});

test('mode none: writes resolve without touching stores; misses still load from them', async () => {
  const store = new TestStore();
  store.data.set('k', entry('k', 'v', 5));
  const links = [{ store, required: true, preload: false }];
  const p = await Persistence.start({ config: config({}), links, keyspace: new MapKeyspace(), registry: new Registry() });
  await persist(p, entry('n', 'v', 6));
  expect(store.batches).toHaveLength(0);
  expect((await p.load(Buffer.from('k')))?.version).toBe(5);
  await p.close(10);
});

test('an unwritable journal directory or dead-letter directory is refused at start with the path and the fix', async () => {
  writeFileSync(join(t.dir, 'a-file'), '');
  const start = (raw: Record<string, any>) => Persistence.start({
    config: config(raw), links: [{ store: new TestStore(), required: true, preload: false }], keyspace: new MapKeyspace(), registry: new Registry(),
  });
  const journalDir = join(t.dir, 'a-file', 'journal');
  await expect(start({ mode: 'write-behind', journal: { enabled: true, dir: journalDir } })).rejects.toThrow(
    `journal: directory ${journalDir} is not writable (ENOTDIR); mount a writable persistent volume there or set persistence.journal.dir`);
  const deadLetter = join(t.dir, 'a-file', 'dead-letter.jsonl');
  await expect(start({ mode: 'write-behind', writeBehind: { deadLetterPath: deadLetter } })).rejects.toThrow(
    `persistence.writeBehind.deadLetterPath ${deadLetter}: its directory is not writable (EEXIST); mount a writable volume there or change the path`);
});

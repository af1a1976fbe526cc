import { Client } from 'pg';
import { Registry } from 'prom-client';
import { sleep, TestStore, until } from './helpers';
import { LoadedEntry, NO_PERSISTENCE, PersistenceHooks } from '../../src/keyspace/hooks';
import { Keyspace } from '../../src/keyspace/keyspace';
import { StoreLink } from '../../src/persistence/chain';
import { Coherence } from '../../src/persistence/coherence';
import { parsePersistenceConfig } from '../../src/persistence/config';
import { PersistenceConfigError } from '../../src/persistence/errors';
import { validatePersistence } from '../../src/persistence/validate';
import { parseStoresConfig } from '../../src/stores/config';
import { createPostgresStore, PostgresStore } from '../../src/stores/postgres';
import { announcementPayloads, MAX_PAYLOAD_BYTES, MAX_PAYLOADS_PER_BATCH, parsePayload } from '../../src/stores/postgres-notify';
import { StoredEntry } from '../../src/stores/store';
import { testContext } from '../stores/helpers';
import { TestPostgres } from '../stores/servers';

jest.setTimeout(120_000);

const b = (s: string) => Buffer.from(s, 'latin1');
const entry = (key: string, value: string, version: number): StoredEntry => ({ key: b(key), value: b(value), version, expiresAt: 0 });

describe('announcement payloads', () => {
  test('a batch is listed in payloads under the 8000-byte limit and parses back', () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ key: b(`session:${i}`), version: 1_700_000_000_000_000 + i }));
    const payloads = announcementPayloads('orig', 123, items);
    expect(payloads.length).toBeGreaterThan(1);
    expect(payloads.length).toBeLessThanOrEqual(MAX_PAYLOADS_PER_BATCH);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    const parsed = payloads.flatMap((p) => {
      const m = parsePayload(p);
      if (!m || m.heartbeat) throw new Error(`not an announcement: ${p}`);
      expect(m.origin).toBe('orig');
      expect(m.sentAt).toBe(123);
      return m.keys!.map((k) => [k.key.toString('latin1'), k.version]);
    });
    expect(parsed).toEqual(items.map((i) => [i.key.toString('latin1'), i.version]));
  });

  test('binary keys survive', () => {
    const key = Buffer.from([0, 32, 58, 255, 10]);
    const m = parsePayload(announcementPayloads('o', 1, [{ key, version: 7 }])[0]);
    expect(m && !m.heartbeat && m.keys).toEqual([{ key, version: 7 }]);
  });

  test('past the payload budget, or a key too long for one payload, the batch sends the re-validate signal', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => ({ key: b(`k${i}`), version: i + 1 }));
    expect(announcementPayloads('o', 5, many)).toEqual(['c1 o 5 *']);
    expect(announcementPayloads('o', 5, [{ key: Buffer.alloc(6000), version: 1 }])).toEqual(['c1 o 5 *']);
    const m = parsePayload('c1 o 5 *');
    expect(m && !m.heartbeat && m.keys).toBeUndefined();
  });

  test('heartbeats and unknown payloads', () => {
    expect(parsePayload('h1 me 42')).toEqual({ heartbeat: true, origin: 'me', sentAt: 42 });
    expect(parsePayload('x9 whatever 1 2')).toBeUndefined();
    expect(parsePayload('')).toBeUndefined();
  });
});

describe('keyspace: drop if newer', () => {
  test('a copy older than the announced version is dropped; an equal or newer one stays', () => {
    const ks = new Keyspace();
    ks.insertLoaded(entry('a', '1', 10));
    expect(ks.invalidate(b('a'), 10)).toBe(false);
    expect(ks.invalidate(b('a'), 9)).toBe(false);
    expect(ks.invalidate(b('a'), 11)).toBe(true);
    expect(ks.find('a')).toBe(-1);
    expect(ks.invalidate(b('missing'), 1)).toBe(false);
    expect(ks.stats.invalidations).toBe(1);
  });

  test('a load in flight when a newer version is announced does not install the older value: it loads again', async () => {
    const answers = [entry('k', 'old', 5), entry('k', 'new', 9)];
    const loads: Array<(e: LoadedEntry) => void> = [];
    const hooks: PersistenceHooks = {
      ...NO_PERSISTENCE,
      load: () => new Promise<LoadedEntry>((resolve) => loads.push(resolve)),
    };
    const ks = new Keyspace(undefined, hooks);
    const loading = ks.loadMissing('k')!;
    ks.invalidate(b('k'), 9); // another instance stored version 9 while the first load ran
    loads[0](answers[0]);
    await until(() => loads.length === 2, 1000, 'a second load');
    loads[1](answers[1]);
    await loading;
    expect(ks.value(ks.find('k'))).toBe('new');
  });

  test('a write-through write waiting on the store does not land over a newer announced version', async () => {
    let release!: () => void;
    const hooks: PersistenceHooks = { ...NO_PERSISTENCE, beforeChange: () => new Promise<void>((r) => { release = r; }) };
    const ks = new Keyspace(undefined, hooks);
    const write = ks.set('k', 'mine', 0)!;
    const mine = ks.versions.lastIssued;
    ks.invalidate(b('k'), mine + 1);
    release();
    await write;
    expect(ks.find('k')).toBe(-1); // the next read loads the newer version from the store
  });
});

describe('coherence on a real PostgreSQL', () => {
  let server: TestPostgres;
  const stores: PostgresStore[] = [];
  const coherences: Coherence[] = [];
  beforeAll(async () => { server = await TestPostgres.start(); });
  afterAll(async () => {
    for (const c of coherences) await c.close();
    for (const s of stores) await s.close().catch(() => undefined);
    await server?.close();
  });

  function pgStore(table: string): PostgresStore {
    const c = parseStoresConfig({
      chain: [{
        store: {
          type: 'postgres',
          name: 'pg',
          host: '127.0.0.1',
          port: server.port,
          database: 'postgres',
          user: 'postgres',
          password: { env: 'PG_PASSWORD' },
          tls: { mode: 'disable' },
          table,
          connectTimeoutMs: 5000,
          poolSize: 3, // the stores of every test stay open until the end: within max_connections
        },
      }],
    }).chain[0].store;
    if (c.type !== 'postgres') throw new Error('not postgres');
    const store = createPostgresStore(c, testContext({ PG_PASSWORD: server.password }).context);
    stores.push(store);
    return store;
  }

  interface CoherentOptions { queued?: (key: Buffer) => StoredEntry | undefined; config?: object; registry?: Registry }
  function coherent(store: PostgresStore, ks: Keyspace, o: CoherentOptions = {}): Coherence {
    // Generous timeouts: on a loaded machine a heartbeat can take long, and a flapping channel would drop copies.
    const config = { enabled: true, heartbeatMs: 100, heartbeatTimeoutMs: 5000, maxUnvalidatedMs: 10_000, ...o.config };
    const c = Coherence.start({
      config: parsePersistenceConfig({ coherence: config }).coherence,
      mode: 'write-through',
      links: [{ store, required: true, preload: false }],
      keyspace: ks,
      queued: o.queued ?? (() => undefined),
      registry: o.registry ?? new Registry(),
    });
    coherences.push(c);
    return c;
  }

  test('a batch written by one instance drops the older copy in the other, in the same transaction', async () => {
    const writer = pgStore('t_batch');
    const reader = pgStore('t_batch');
    await writer.start();
    await reader.start();
    await writer.writeBatch([entry('a', 'v1', 10), entry('b', 'v1', 10)]); // before coherence: announces nothing
    const ks = new Keyspace();
    ks.insertLoaded(entry('a', 'v1', 10));
    ks.insertLoaded(entry('b', 'v1', 10));
    const c = coherent(reader, ks);
    coherent(writer, new Keyspace());
    await until(() => c.up, 5000, 'the channel up');
    await writer.writeBatch([entry('a', 'v2', 20), entry('b', 'older', 5)]);
    await until(() => ks.find('a') < 0, 2000, 'a dropped');
    expect(ks.value(ks.find('b'))).toBe('v1'); // 5 is older than the cached 10
    await writer.deleteBatch([{ key: b('b'), version: 30 }]);
    await until(() => ks.find('b') < 0, 2000, 'b dropped by the delete');
  });

  test('own batches run on the listening connection while it is up, on the pool while it is down', async () => {
    const since = new Date();
    const writer = pgStore('t_carry');
    const reader = pgStore('t_carry');
    await writer.start();
    await reader.start();
    const ks = new Keyspace();
    ks.insertLoaded(entry('k', 'v1', 10));
    const r = coherent(reader, ks);
    const w = coherent(writer, new Keyspace());
    await until(() => r.up && w.up, 5000, 'both channels up');
    await writer.writeBatch([entry('k', 'v2', 20)]);
    await writer.deleteBatch([{ key: b('gone'), version: 20 }]);
    expect(writer.carriedBatches).toBe(2);
    await until(() => ks.find('k') < 0, 2000, 'k dropped');
    // Both listening connections of this test end (their last statements are LISTEN, heartbeats or carried batches; the pools' are not).
    const killed = await writer.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_start >= $1 AND (query LIKE 'LISTEN%' OR query LIKE 'SELECT pg_notify%' OR query LIKE 'WITH batch%')", [since]);
    expect(killed.rowCount).toBe(2);
    await until(() => !w.up, 5000, 'the writer\'s channel down');
    ks.insertLoaded(entry('k', 'v3', 30));
    await writer.writeBatch([entry('k', 'v4', 40)]); // on the pool: the batch is stored all the same
    expect(writer.carriedBatches).toBe(2);
    expect((await reader.load(b('k')))?.value.toString()).toBe('v4');
    await until(() => r.up && w.up, 5000, 'both channels up again');
    await writer.writeBatch([entry('k', 'v5', 50)]);
    expect(writer.carriedBatches).toBe(3);
    await until(() => ks.find('k') < 0, 2000, 'k dropped again');
  });

  test('a carried batch that waits longer than heartbeatTimeoutMs does not take the channel down, and no statement queues behind it', async () => {
    // Statements out at once per pg client: pg queues a second one, which pg 8 warns of and pg 9 drops.
    const out = new Map<Client, number>();
    let most = 0;
    const query = Client.prototype.query;
    const spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
      out.set(this, (out.get(this) ?? 0) + 1);
      most = Math.max(most, out.get(this)!);
      const settle = () => out.set(this, out.get(this)! - 1);
      const r = (query as (...a: unknown[]) => unknown).apply(this, args);
      if (r instanceof Promise) r.then(settle, settle);
      else settle();
      return r as never;
    });
    try {
      const writer = pgStore('t_busy');
      await writer.start();
      const w = coherent(writer, new Keyspace(), { config: { heartbeatMs: 50, heartbeatTimeoutMs: 300 } });
      await until(() => w.up, 5000, 'the channel up');
      const holder = await writer.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE "public"."t_busy" IN ACCESS EXCLUSIVE MODE');
        const write = writer.writeBatch([entry('k', 'v', 10)]);
        await sleep(1000); // the batch waits for the lock, and the heartbeats wait for the batch
        expect(w.up).toBe(true);
        await holder.query('COMMIT');
        await expect(write).resolves.toEqual({ rejected: [] });
      } finally {
        holder.release();
      }
      expect(writer.carriedBatches).toBe(1);
      expect(w.up).toBe(true);
      expect((await writer.load(b('k')))?.value.toString()).toBe('v');
    } finally {
      spy.mockRestore();
    }
    // Twenty heartbeats fell due while the batch waited: none was queued behind it.
    expect(most).toBe(1);
  });

  test('a failed batch announces nothing (the notification is part of its transaction)', async () => {
    const writer = pgStore('t_rollback');
    const reader = pgStore('t_rollback');
    await writer.start();
    await reader.start();
    await writer.writeBatch([entry('x', 'v1', 10)]);
    const ks = new Keyspace();
    ks.insertLoaded(entry('x', 'v1', 10));
    const c = coherent(reader, ks);
    coherent(writer, new Keyspace());
    await until(() => c.up, 5000, 'the channel up');
    // A CHECK the new value breaks makes PostgreSQL refuse the statement (SQLSTATE 23514): nothing commits, nothing is announced.
    await writer.pool.query('ALTER TABLE "public"."t_rollback" ADD CONSTRAINT short_values CHECK (octet_length(value) < 8)');
    await expect(writer.writeBatch([{ key: b('x'), value: b('v2 is too long'), version: 20, expiresAt: 0 }]))
      .resolves.toEqual({ rejected: [expect.objectContaining({ key: b('x'), error: expect.objectContaining({ message: expect.stringContaining('23514') }) })] });
    await sleep(300);
    expect(ks.value(ks.find('x'))).toBe('v1');
  });

  test('after a reconnection the cached keys are re-validated: newer or deleted rows drop the copy, equal ones stay', async () => {
    const store = pgStore('t_revalidate');
    await store.start();
    const other = pgStore('t_revalidate'); // writes behind the listener's back: no announcement
    await other.start();
    await other.writeBatch([entry('same', 'v', 10), entry('newer', 'v2', 20)]);
    const ks = new Keyspace();
    for (const k of ['same', 'newer', 'gone']) ks.insertLoaded(entry(k, 'v', 10));
    ks.insertLoaded(entry('mine', 'queued', 50));
    const c = coherent(store, ks, { queued: (key) => (key.toString() === 'mine' ? entry('mine', 'queued', 50) : undefined) });
    await until(() => c.up, 5000, 'the first validation');
    expect(['same', 'newer', 'gone', 'mine'].filter((k) => ks.find(k) >= 0)).toEqual(['same', 'mine']);
    // A reconnection later finds what changed meanwhile.
    await other.writeBatch([entry('same', 'v3', 40)]);
    c.channelDown('test', Date.now());
    expect(c.up).toBe(false);
    c.channelUp();
    await until(() => c.up, 5000, 'the re-validation');
    expect(ks.find('same')).toBe(-1);
  });

  test('onOutage drop: copies go after maxUnvalidatedMs without the channel, own unflushed writes stay', async () => {
    const store = pgStore('t_outage');
    await store.start();
    const ks = new Keyspace();
    const registry = new Registry();
    // A short bound for the outage (the channel is taken down by hand below), validation bypassed.
    const c = coherent(store, ks, { registry, config: { maxUnvalidatedMs: 300 }, queued: (key) => (key.toString() === 'mine' ? entry('mine', 'x', 1) : undefined) });
    await until(() => c.up, 5000, 'the channel up');
    ks.insertLoaded(entry('theirs', 'x', 1));
    ks.insertLoaded(entry('mine', 'x', 1));
    const downAt = Date.now();
    c.channelDown('test', downAt);
    await sleep(150);
    expect(ks.find('theirs')).toBeGreaterThanOrEqual(0); // within the bound
    await until(() => ks.find('theirs') < 0, 2000, 'the outage drop');
    // Node's timers count from the event loop's cached clock, so one may fire a millisecond before Date.now() says it is due (a run of the suite under load once measured 299).
    expect(Date.now() - downAt).toBeGreaterThanOrEqual(300 - 1);
    expect(ks.find('mine')).toBeGreaterThanOrEqual(0);
    // A copy loaded while down lives at most one more bound.
    ks.insertLoaded(entry('later', 'x', 1));
    const loadedAt = Date.now();
    await until(() => ks.find('later') < 0, 2000, 'the repeated drop');
    expect(Date.now() - loadedAt).toBeLessThanOrEqual(300 + 150);
    const text = await registry.metrics();
    expect(text).toMatch(/state_cache_coherence_keys_dropped_total\{reason="outage"\} [1-9]/);
    expect(text).toMatch(/state_cache_coherence_channel_up 0/);
    c.channelUp();
    await until(() => c.up, 5000, 'up again');
    expect(await registry.metrics()).toMatch(/state_cache_coherence_channel_up 1/);
  });
});

describe('config', () => {
  const links = (...stores: TestStore[]): StoreLink[] => stores.map((store) => ({ store, required: true, preload: false }));
  const problems = (raw: unknown, ls: StoreLink[]): string[] => {
    try {
      validatePersistence(parsePersistenceConfig(raw), ls, { expiryInUse: false });
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(PersistenceConfigError);
      return [...(err as PersistenceConfigError).problems];
    }
  };

  test('coherence needs a shared store that announces: a file store is per pod', () => {
    expect(problems({ mode: 'write-through', coherence: { enabled: true } }, links(new TestStore('file')))).toEqual([
      'persistence.coherence.enabled needs a shared store that announces changes (a postgres store, or a remote store on a server with CLIENT TRACKING); store(s) file cannot: '
      + 'add the shared postgres store, or turn coherence off if every instance has its own store (a file store is per pod)',
    ]);
  });

  test('the heartbeat and the bound must nest', () => {
    expect(problems({ mode: 'none', coherence: { enabled: true, heartbeatMs: 1000, heartbeatTimeoutMs: 1000, maxUnvalidatedMs: 900 } }, [])).toEqual([
      'persistence.coherence.enabled needs a shared store that announces changes (a postgres store, or a remote store on a server with CLIENT TRACKING); no store is configured: '
      + 'add the shared postgres store, or turn coherence off if every instance has its own store (a file store is per pod)',
      'persistence.coherence.heartbeatTimeoutMs (1000) must exceed heartbeatMs (1000): raise heartbeatTimeoutMs',
      'persistence.coherence.maxUnvalidatedMs (900) must exceed heartbeatTimeoutMs (1000), or a silent channel could not be noticed in time: raise maxUnvalidatedMs',
    ]);
  });

  test('off by default, and the defaults nest', () => {
    const c = parsePersistenceConfig({}).coherence;
    expect(c).toEqual({ enabled: false, heartbeatMs: 1000, heartbeatTimeoutMs: 3000, maxUnvalidatedMs: 5000, onOutage: 'drop' });
    expect(problems({ mode: 'write-through', coherence: { enabled: false } }, links(new TestStore('file')))).toEqual([]);
  });
});

/* eslint-disable @typescript-eslint/no-floating-promises */ // memory-only keyspaces apply writes synchronously (set() returns undefined)
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { sleep, startTestServer } from './helpers';
import { containerMemoryLimit } from '../src/cgroup';
import { globToRegExp } from '../src/keyspace/glob';
import { EntryChange, LoadedEntry, NO_PERSISTENCE, PersistenceHooks, PersistenceUnavailableError, QueueFullError } from '../src/keyspace/hooks';
import { DEFAULT_KEYSPACE_OPTIONS, entryBytes, Keyspace, KeyspaceOptions, OutOfMemoryError } from '../src/keyspace/keyspace';
import { VersionClock } from '../src/keyspace/versions';
import { defaultMaxBytes } from '../src/server';

const ks = (o: Partial<KeyspaceOptions> = {}, hooks: PersistenceHooks = NO_PERSISTENCE) => new Keyspace({ ...DEFAULT_KEYSPACE_OPTIONS, ...o }, hooks);

describe('versions', () => {
  test('grow strictly, from a microsecond clock, never below an observed one', () => {
    let now = 1_000_000;
    const clock = new VersionClock(() => now);
    expect(clock.next()).toBe(1_000_000);
    expect(clock.next()).toBe(1_000_001); // same microsecond: still grows
    clock.observe(5_000_000);
    expect(clock.next()).toBe(5_000_001);
    now = 9_000_000;
    expect(clock.next()).toBe(9_000_000);
  });

  test('every write to a key gets a greater version; versions are near the wall clock in µs', () => {
    const k = ks();
    k.set('a', '1', 0);
    const v1 = k.currentVersion('a');
    expect(Math.abs(v1 / 1000 - Date.now())).toBeLessThan(5000);
    k.set('a', '2', 0);
    expect(k.currentVersion('a')).toBeGreaterThan(v1);
    expect(k.currentVersion('absent')).toBe(0);
  });
});

describe('bounds and eviction', () => {
  test('maxEntries evicts with LRU: the recently read key survives', () => {
    const k = ks({ maxEntries: 100, evictionSamples: 64 });
    for (let i = 0; i < 100; i++) k.set(`k${i}`, 'v', 0);
    const now = Date.now();
    const spy = jest.spyOn(Date, 'now').mockReturnValue(now + 1000);
    expect(k.find('k0')).toBeGreaterThanOrEqual(0);
    for (let i = 100; i < 150; i++) k.set(`k${i}`, 'v', 0);
    spy.mockRestore();
    expect(k.size).toBe(100);
    expect(k.stats.evictions).toBe(50);
    expect(k.find('k0')).toBeGreaterThanOrEqual(0);
  });

  test('the byte budget counts keys, values and the per-entry overhead', () => {
    const per = entryBytes(3, 100);
    const k = ks({ maxBytes: per * 10 });
    for (let i = 10; i < 30; i++) k.set(`k${i}`, 'x'.repeat(100), 0);
    expect(k.size).toBe(10);
    expect(k.usedBytes).toBe(per * 10);
    expect(() => k.set('huge', 'x'.repeat(per * 10), 0)).toThrow(OutOfMemoryError);
  });

  test('LFU keeps frequently read keys', () => {
    const k = ks({ maxEntries: 50, eviction: 'lfu', evictionSamples: 20 });
    for (let i = 0; i < 50; i++) k.set(`k${i}`, 'v', 0);
    for (let r = 0; r < 200; r++) for (let i = 0; i < 5; i++) k.find(`k${i}`);
    for (let i = 50; i < 100; i++) k.set(`n${i}`, 'v', 0);
    const hot = [0, 1, 2, 3, 4].filter((i) => k.find(`k${i}`, false) >= 0).length;
    expect(hot).toBeGreaterThanOrEqual(4);
  });

  test('noeviction refuses new entries with the OOM error but lets existing ones change', () => {
    const k = ks({ maxEntries: 2, eviction: 'noeviction' });
    k.set('a', '1', 0);
    k.set('b', '1', 0);
    expect(() => k.set('c', '1', 0)).toThrow("command not allowed when used memory > 'maxmemory'.");
    k.set('a', '2', 0);
    expect(k.value(k.find('a'))).toBe('2');
  });

  test('the default budget is a fraction of the cgroup memory limit (v2, v1, none)', () => {
    const v2 = mkdtempSync(join(tmpdir(), 'cg2-'));
    writeFileSync(join(v2, 'memory.max'), '536870912\n');
    expect(containerMemoryLimit(v2)).toBe(536870912);
    expect(defaultMaxBytes(0.5, v2)).toBe(268435456);
    const unlimited = mkdtempSync(join(tmpdir(), 'cg2-'));
    writeFileSync(join(unlimited, 'memory.max'), 'max\n');
    expect(containerMemoryLimit(unlimited)).toBeUndefined();
    const v1 = mkdtempSync(join(tmpdir(), 'cg1-'));
    mkdirSync(join(v1, 'memory'));
    writeFileSync(join(v1, 'memory', 'memory.limit_in_bytes'), '1073741824\n');
    expect(containerMemoryLimit(v1)).toBe(1073741824);
    writeFileSync(join(v1, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
    expect(containerMemoryLimit(v1)).toBeUndefined();
    expect(containerMemoryLimit(join(tmpdir(), 'no-such-cgroup'))).toBeUndefined();
  });

  test('the cgroup-derived budget fits the limit the constructs would derive for it (1.25 x budget + 128 MiB)', () => {
    const MIB = 1024 * 1024;
    for (const limitMib of [160, 208, 256, 576, 1408, 4096]) {
      const root = mkdtempSync(join(tmpdir(), 'cg2-'));
      writeFileSync(join(root, 'memory.max'), String(limitMib * MIB));
      for (const fraction of [0.25, 0.5, 0.9]) {
        const budget = defaultMaxBytes(fraction, root);
        expect(budget).toBeLessThanOrEqual(limitMib * MIB * fraction);
        expect(budget * 1.25 + 128 * MIB).toBeLessThanOrEqual(limitMib * MIB);
      }
    }
    const tight = mkdtempSync(join(tmpdir(), 'cg2-'));
    writeFileSync(join(tight, 'memory.max'), String(208 * MIB));
    expect(defaultMaxBytes(0.9, tight)).toBe(64 * MIB); // the 64 MiB budget test/memory-churn.test.ts churns
  });

  test('a server sized from a fake cgroup reports that budget', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cg2-'));
    writeFileSync(join(root, 'memory.max'), String(256 * 1024 * 1024));
    const { startServer } = await import('../src/server');
    const { parseConfig } = await import('../src/config');
    const pino = (await import('pino')).default;
    const s = await startServer(parseConfig({ server: { port: 0 }, http: { enabled: false }, memory: { limitFraction: 0.25 } }), { cgroupRoot: root, log: pino({ level: 'silent' }) });
    try {
      expect(s.ks.maxBytes).toBe(64 * 1024 * 1024);
    } finally {
      await s.close();
    }
  });
});

describe('expiry', () => {
  test('lazy on access, and the sweep removes expired entries without access', () => {
    const k = ks();
    const now = Date.now();
    for (let i = 0; i < 100; i++) k.set(`t${i}`, 'v', now + 50);
    k.set('keep', 'v', 0);
    const spy = jest.spyOn(Date, 'now').mockReturnValue(now + 100);
    try {
      expect(k.find('t0')).toBe(-1);
      expect(k.sweep(1000)).toBe(99);
      expect(k.size).toBe(1);
      expect(k.stats.expirations).toBe(100);
    } finally {
      spy.mockRestore();
    }
  });

  test('sweeps do bounded work per run', () => {
    const k = ks();
    const now = Date.now();
    for (let i = 0; i < 1000; i++) k.set(`t${i}`, 'v', now + 10);
    const spy = jest.spyOn(Date, 'now').mockReturnValue(now + 100);
    try {
      expect(k.sweep(100)).toBe(100);
      expect(k.size).toBe(900);
    } finally {
      spy.mockRestore();
    }
  });

  test('default lifespan and max idle', () => {
    const k = ks({ defaultTtlMs: 1000, maxIdleMs: 200 });
    const now = Date.now();
    k.set('a', 'v', 0);
    k.set('b', 'v', 0);
    expect(k.expiresAt(k.find('a'))).toBeGreaterThanOrEqual(now + 1000);
    const spy = jest.spyOn(Date, 'now').mockReturnValue(now + 150);
    expect(k.find('a')).toBeGreaterThanOrEqual(0); // touched at +150
    spy.mockReturnValue(now + 300);
    expect(k.find('b')).toBe(-1); // idle 300 ms
    expect(k.find('a')).toBeGreaterThanOrEqual(0);
    spy.mockReturnValue(now + 1100);
    expect(k.find('a')).toBe(-1); // lifespan over
    spy.mockRestore();
    k.set('p', 'v', 0);
    k.setExpiry(k.find('p'), 0); // PERSIST
    expect(k.expiresAt(k.find('p'))).toBe(0);
  });

  test('the background sweep runs in a server', async () => {
    const s = await startTestServer({ expiry: { activeIntervalMs: 20 } });
    const r = new Redis({ port: s.respPort, host: '127.0.0.1' });
    try {
      for (let i = 0; i < 50; i++) await r.set(`e${i}`, 'v', 'PX', 30);
      await sleep(200);
      expect(s.ks.size).toBe(0);
      expect(s.ks.stats.expirations).toBe(50);
    } finally {
      r.disconnect();
      await s.close();
    }
  });
});

test('glob patterns follow Redis', () => {
  expect(globToRegExp('h?llo').test('hello')).toBe(true);
  expect(globToRegExp('h*llo').test('heeeello')).toBe(true);
  expect(globToRegExp('h[ae]llo').test('hallo')).toBe(true);
  expect(globToRegExp('h[ae]llo').test('hillo')).toBe(false);
  expect(globToRegExp('h[^e]llo').test('hallo')).toBe(true);
  expect(globToRegExp('h[^e]llo').test('hello')).toBe(false);
  expect(globToRegExp('h[a-b]llo').test('hbllo')).toBe(true);
  expect(globToRegExp('a\\*b').test('a*b')).toBe(true);
  expect(globToRegExp('a\\*b').test('axb')).toBe(false);
  expect(globToRegExp('a.b').test('axb')).toBe(false);
});

/** Persistence stand-in that records what the keyspace asks of it; behaviour is set per test. */
class RecordingHooks implements PersistenceHooks {
  changes: EntryChange[][] = [];
  after: EntryChange[][] = [];
  passivated: LoadedEntry[] = [];
  loads: string[] = [];
  before: (changes: readonly EntryChange[]) => Promise<void> | undefined = () => undefined;
  loader: (key: Buffer) => Promise<LoadedEntry | undefined> | undefined = () => undefined;
  beforeChange(changes: readonly EntryChange[]) {
    this.changes.push([...changes]);
    return this.before(changes);
  }
  afterChange(changes: readonly EntryChange[]) {
    this.after.push([...changes]);
  }
  load(key: Buffer) {
    this.loads.push(key.toString('latin1'));
    return this.loader(key);
  }
  passivate(entry: LoadedEntry) {
    this.passivated.push(entry);
  }
  async flush() {}
  ready() {
    return true;
  }
}

describe('persistence hooks', () => {
  test('write-through: the write is applied only after the store has it; a failure leaves memory unchanged', async () => {
    const h = new RecordingHooks();
    const k = ks({}, h);
    let release!: () => void;
    h.before = () => new Promise<void>((r) => (release = r));
    const p = k.set('a', 'v1', 0)!;
    expect(p).toBeInstanceOf(Promise);
    expect(k.find('a')).toBe(-1);
    expect(k.locks.has('a')).toBe(true);
    release();
    await p;
    expect(k.value(k.find('a'))).toBe('v1');
    expect(h.after).toHaveLength(1);
    const change = h.changes[0][0];
    expect(change.kind).toBe('set');
    expect(change.version).toBe(k.currentVersion('a'));
    h.before = () => Promise.reject(new PersistenceUnavailableError('store db down'));
    await expect(k.set('a', 'v2', 0)).rejects.toThrow('store db down');
    expect(k.value(k.find('a'))).toBe('v1');
    expect(h.after).toHaveLength(1);
  });

  test('write-behind: refused with QueueFullError when the queue is full, memory unchanged', () => {
    const h = new RecordingHooks();
    const k = ks({}, h);
    expect(k.set('a', 'v1', 0)).toBeUndefined();
    expect(h.after[0][0]).toMatchObject({ kind: 'set', version: k.currentVersion('a') });
    expect((h.after[0][0] as { value: Buffer }).value.toString()).toBe('v1');
    h.before = () => {
      throw new QueueFullError();
    };
    expect(() => k.set('a', 'v2', 0)).toThrow('write-behind queue is full, retry later');
    expect(k.value(k.find('a'))).toBe('v1');
    expect(() => k.delete(['a'])).toThrow(QueueFullError);
    expect(k.find('a')).toBeGreaterThanOrEqual(0);
  });

  test('deletes report the key and a fresh version', () => {
    const h = new RecordingHooks();
    const k = ks({}, h);
    k.set('a', 'v', 0);
    const v = k.currentVersion('a');
    expect(k.delete(['a', 'missing'])).toBe(1);
    const d = h.after[1][0];
    expect(d.kind).toBe('delete');
    expect(d.version).toBeGreaterThan(v);
  });

  test('load on miss is single-flight and keeps a newer in-memory write', async () => {
    const h = new RecordingHooks();
    const k = ks({}, h);
    let resolveLoad!: (e: LoadedEntry | undefined) => void;
    h.loader = () => new Promise((r) => (resolveLoad = r));
    const p1 = k.loadMissing('x');
    const p2 = k.loadMissing('x');
    expect(p1).toBe(p2);
    expect(h.loads).toEqual(['x']);
    resolveLoad({ key: Buffer.from('x'), value: Buffer.from('stored'), version: 42, expiresAt: 0 });
    await p1;
    expect(k.value(k.find('x'))).toBe('stored');
    expect(k.stats.loads).toBe(1);
    expect(k.versions.lastIssued).toBeGreaterThanOrEqual(42);
    // A version from the future is observed: later writes go above it.
    const future = Date.now() * 1000 + 10_000_000_000;
    h.loader = () => Promise.resolve({ key: Buffer.from('y'), value: Buffer.from('v'), version: future, expiresAt: 0 });
    await k.loadMissing('y');
    k.set('y', 'new', 0);
    expect(k.currentVersion('y')).toBeGreaterThan(future);
  });

  test('passivation hands the evicted entry over before it leaves memory', () => {
    const h = new RecordingHooks();
    const k = ks({ maxEntries: 1 }, h);
    k.set('a', 'va', 0);
    const va = k.currentVersion('a');
    k.set('b', 'vb', 0);
    expect(h.passivated).toHaveLength(1);
    expect(h.passivated[0].key.toString()).toBe('a');
    expect(h.passivated[0].value.toString()).toBe('va');
    expect(h.passivated[0].version).toBe(va);
    expect(k.find('a')).toBe(-1);
  });

  test('through the server: slow write-through keeps pipeline replies in order and serialises writes to a key', async () => {
    const h = new RecordingHooks();
    let delay = 0;
    h.before = () => new Promise<void>((r) => setTimeout(r, (delay = (delay + 7) % 20)));
    const s = await startTestServer({}, h);
    const r1 = new Redis({ port: s.respPort, host: '127.0.0.1' });
    const r2 = new Redis({ port: s.respPort, host: '127.0.0.1' });
    try {
      const p = r1.pipeline();
      for (let i = 0; i < 50; i++) p.incr('ctr').get('ctr').ping();
      const both = await Promise.all([p.exec(), Promise.all(Array.from({ length: 50 }, () => r2.incr('ctr')))]);
      const replies = both[0]!;
      for (let i = 0; i < 50; i++) {
        expect(replies[3 * i + 1][1]).toBe(String(replies[3 * i][1]));
        expect(replies[3 * i + 2][1]).toBe('PONG');
      }
      expect(await r1.get('ctr')).toBe('100');
      const tx = await r1.multi().set('m', '1').incr('m').exec();
      expect(tx).toEqual([[null, 'OK'], [null, 2]]);
      h.before = () => Promise.reject(new PersistenceUnavailableError('store pg unavailable: connection refused'));
      await expect(r1.set('ctr', 'x')).rejects.toThrow('STOREUNAVAILABLE store pg unavailable: connection refused');
      expect(await r1.get('ctr')).toBe('100');
      h.before = () => {
        throw new QueueFullError();
      };
      await expect(r1.set('ctr', 'x')).rejects.toThrow('QUEUEFULL write-behind queue is full, retry later');
    } finally {
      r1.disconnect();
      r2.disconnect();
      await s.close();
    }
  });

  test('through the server: GET and DEL load misses from persistence first', async () => {
    const h = new RecordingHooks();
    h.loader = (key) => key.toString() === 'stored' ? Promise.resolve({ key, value: Buffer.from('from-store'), version: 7, expiresAt: 0 }) : Promise.resolve(undefined);
    const s = await startTestServer({}, h);
    const r = new Redis({ port: s.respPort, host: '127.0.0.1' });
    try {
      expect(await r.get('stored')).toBe('from-store');
      expect(await r.get('absent')).toBeNull();
      expect(await (await fetch(`http://127.0.0.1:${s.httpPort}/v1/keys/stored`)).text()).toBe('from-store');
      expect(await r.del('stored')).toBe(1);
      expect(h.after.at(-1)![0]).toMatchObject({ kind: 'delete' });
    } finally {
      r.disconnect();
      await s.close();
    }
  });
});

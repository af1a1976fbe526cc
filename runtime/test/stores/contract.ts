import { b, collect, entry, sleep, strings } from './helpers';
import { CacheStore } from '../../src/stores/store';

/**
 * The behaviour every store with TTL owes the persistence layer, run against
 * each real store. `store()` returns a started, empty store. A versioned store
 * keeps the newest version of a key; an unversioned one (a remote store on a
 * server without scripting) keeps the last write.
 */
export function storeContract(store: () => CacheStore, options: { versioned?: boolean } = {}): void {
  if (options.versioned ?? true) versionedContract(store);
  else unversionedContract(store);

  test('roundtrip: a written entry loads back with its value, version and expiry', async () => {
    const s = store();
    const later = Date.now() + 3_600_000;
    await s.writeBatch([entry('a', 'alpha', 1), entry('b', 'beta', 2, later)]);
    expect(strings(await s.load(b('a')))).toEqual(['a', 'alpha', 1, 0]);
    expect(strings(await s.load(b('b')))).toEqual(['b', 'beta', 2, later]);
    expect(await s.load(b('missing'))).toBeUndefined();
  });

  test('binary keys and values survive unchanged', async () => {
    const s = store();
    const key = Buffer.from([0, 255, 10, 13, 0x5c, 0x27]);
    const value = Buffer.from([0, 1, 2, 254, 255, 0x5c, 0x22]);
    await s.writeBatch([{ key, value, version: 7, expiresAt: 0 }]);
    const got = await s.load(key);
    expect(got?.value.equals(value)).toBe(true);
    expect(got?.key.equals(key)).toBe(true);
    expect(got?.version).toBe(7);
  });

  test('loadMany answers in the order of the keys, undefined where absent', async () => {
    const s = store();
    await s.writeBatch([entry('k1', 'v1', 1), entry('k2', 'v2', 1), entry('k3', 'v3', 1)]);
    const got = await s.loadMany([b('k3'), b('nope'), b('k1'), b('k2')]);
    expect(got.map((e) => e?.value.toString())).toEqual(['v3', undefined, 'v1', 'v2']);
  });

  test('an expired entry is never loaded, a live one is', async () => {
    const s = store();
    const now = Date.now();
    await s.writeBatch([entry('gone', 'x', 1, now - 1000), entry('soon', 'y', 1, now + 300), entry('live', 'z', 1, now + 3_600_000)]);
    expect(await s.load(b('gone'))).toBeUndefined();
    expect((await s.load(b('soon')))?.value.toString()).toBe('y');
    await sleep(400);
    expect(await s.loadMany([b('gone'), b('soon'), b('live')]).then((r) => r.map((e) => e?.value.toString()))).toEqual([undefined, undefined, 'z']);
  });

  test('iterate yields every live entry and skips expired ones', async () => {
    const s = store();
    const now = Date.now();
    const live = Array.from({ length: 25 }, (_, i) => entry(`it-${String(i).padStart(2, '0')}`, `v${i}`, i + 1));
    await s.writeBatch([...live, entry('it-expired', 'x', 1, now - 10), entry('it-ttl', 't', 3, now + 3_600_000)]);
    const byKey = (x: unknown[] | undefined, y: unknown[] | undefined) => String(x![0]).localeCompare(String(y![0]));
    const got = (await collect(s)).map(strings).sort(byKey);
    const want = [...live.map(strings), ['it-ttl', 't', 3, now + 3_600_000]].sort(byKey);
    expect(got).toEqual(want);
  });

  test('clear removes every entry', async () => {
    const s = store();
    await s.writeBatch([entry('c1', 'x', 1), entry('c2', 'y', 1)]);
    await s.clear();
    expect(await s.loadMany([b('c1'), b('c2')])).toEqual([undefined, undefined]);
    expect(await collect(s)).toEqual([]);
    await s.writeBatch([entry('c1', 'again', 2)]);
    expect((await s.load(b('c1')))?.value.toString()).toBe('again');
  });

  test('ping succeeds on a reachable store', async () => {
    await expect(store().ping()).resolves.toBeUndefined();
  });
}

function versionedContract(store: () => CacheStore): void {
  test('an older write never overwrites a newer one', async () => {
    const s = store();
    await s.writeBatch([entry('v', 'newer', 20)]);
    await s.writeBatch([entry('v', 'older', 10)]);
    expect(strings(await s.load(b('v')))).toEqual(['v', 'newer', 20, 0]);
    await s.writeBatch([entry('v', 'newest', 30)]);
    expect(strings(await s.load(b('v')))).toEqual(['v', 'newest', 30, 0]);
  });

  test('a retried write of the same version changes nothing', async () => {
    const s = store();
    await s.writeBatch([entry('r', 'first', 5)]);
    await s.writeBatch([entry('r', 'other', 5)]);
    expect((await s.load(b('r')))?.value.toString()).toBe('first');
  });

  test('a delete removes only entries not newer than its version', async () => {
    const s = store();
    await s.writeBatch([entry('d1', 'x', 10), entry('d2', 'y', 10), entry('d3', 'z', 10)]);
    const res = await s.deleteBatch([
      { key: b('d1'), version: 5 }, // older than the stored write: stays
      { key: b('d2'), version: 10 }, // the same version: goes
      { key: b('d3'), version: 11 }, // newer: goes
      { key: b('absent'), version: 1 },
    ]);
    expect(res.rejected).toEqual([]);
    expect((await s.loadMany([b('d1'), b('d2'), b('d3')])).map((e) => e?.value.toString())).toEqual(['x', undefined, undefined]);
  });
}

function unversionedContract(store: () => CacheStore): void {
  test('the last write wins, whatever its version', async () => {
    const s = store();
    expect(s.characteristics.versioned).toBe(false);
    await s.writeBatch([entry('v', 'newer', 20)]);
    await s.writeBatch([entry('v', 'older', 10)]);
    expect(strings(await s.load(b('v')))).toEqual(['v', 'older', 10, 0]);
  });

  test('a delete removes the entry whatever its version', async () => {
    const s = store();
    await s.writeBatch([entry('d1', 'x', 10), entry('d2', 'y', 10)]);
    const res = await s.deleteBatch([{ key: b('d1'), version: 5 }, { key: b('absent'), version: 1 }]);
    expect(res.rejected).toEqual([]);
    expect((await s.loadMany([b('d1'), b('d2')])).map((e) => e?.value.toString())).toEqual([undefined, 'y']);
  });
}

/* eslint-disable @typescript-eslint/no-floating-promises */ // memory-only keyspaces apply writes synchronously
import { DEFAULT_KEYSPACE_OPTIONS, entryBytes, Keyspace, SLAB_MAX } from '../src/keyspace/keyspace';

/** A small deterministic PRNG, so a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

function valueOf(r: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

/** Log-uniform sizes from 0 to `max` bytes, so every size class is exercised. */
function sizeOf(r: () => number, max: number): number {
  return Math.floor(Math.exp(r() * Math.log(max + 1))) - 1;
}

test('slabs keep every value byte-exact through overwrites across size classes, deletes and chunk moves', () => {
  const r = rng(42);
  const ks = new Keyspace();
  const model = new Map<string, Buffer>();
  const keys = Array.from({ length: 400 }, (_, i) => Buffer.from(`k${i}\x00\xff${'x'.repeat(i % 50)}`, 'latin1'));
  for (let op = 0; op < 20_000; op++) {
    const key = keys[(r() * keys.length) | 0];
    const name = key.latin1Slice(0, key.length);
    const x = r();
    if (x < 0.6) {
      const v = valueOf(r, sizeOf(r, 20_000));
      ks.setBytes(key, 0, key.length, v, 0, v.length);
      model.set(name, v);
    } else if (x < 0.8) {
      expect(ks.delete([name])).toBe(model.delete(name) ? 1 : 0);
    } else {
      const slot = ks.findBytes(key, 0, key.length);
      const want = model.get(name);
      if (want === undefined) {
        expect(slot).toBe(-1);
      } else {
        const got = ks.valueView(slot).subarray(ks.valueStart(slot), ks.valueEnd(slot));
        expect(got.equals(want)).toBe(true);
      }
    }
  }
  expect(ks.size).toBe(model.size);
  let accounted = 0;
  for (const [name, v] of model) {
    const slot = ks.find(name);
    expect(slot).toBeGreaterThanOrEqual(0);
    expect(ks.keyAt(slot)).toBe(name);
    const got = ks.value(slot);
    expect(Buffer.isBuffer(got) ? got : Buffer.from(got, 'latin1')).toEqual(v);
    accounted += entryBytes(name.length, v.length);
  }
  expect(ks.usedBytes).toBe(accounted);
  expect(ks.allKeys().sort()).toEqual([...model.keys()].sort());
});

test('values above the slab limit live in Buffers of their own, and the budget still counts them', () => {
  const ks = new Keyspace({ ...DEFAULT_KEYSPACE_OPTIONS, maxBytes: 8 * SLAB_MAX });
  const big = Buffer.alloc(SLAB_MAX + 10, 7);
  for (let i = 0; i < 10; i++) ks.set(`big${i}`, big, 0);
  expect(ks.size).toBeLessThan(10);
  expect(ks.usedBytes).toBeLessThanOrEqual(8 * SLAB_MAX);
  const last = ks.find('big9');
  expect(Buffer.from(ks.value(last) as Buffer).equals(big)).toBe(true);
  ks.set('big9', 'small', 0);
  expect(ks.value(ks.find('big9'))).toBe('small');
  expect(ks.flush()).toBe(ks.stats.deletes);
  expect(ks.usedBytes).toBe(0);
});

test('the index finds every key after deletes in the middle of probe runs (backward shift)', () => {
  const ks = new Keyspace();
  const n = 50_000;
  for (let i = 0; i < n; i++) ks.set(`key:${i}`, `v${i}`, 0);
  for (let i = 0; i < n; i += 3) ks.delete([`key:${i}`]);
  for (let i = 0; i < n; i++) {
    const slot = ks.find(`key:${i}`, false);
    if (i % 3 === 0) expect(slot).toBe(-1);
    else expect(ks.value(slot)).toBe(`v${i}`);
  }
  expect(ks.size).toBe(n - Math.ceil(n / 3));
});

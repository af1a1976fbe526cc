/**
 * The hash's field table (src/keyspace/byte-table.ts) against a Map as the
 * model: random sets, overwrites with values of other lengths and deletes,
 * through the scanned records (up to 16 fields), the index, tombstones,
 * compaction and growth. In its ordered mode (Redis's listpack) the order is
 * the Map's: insertion order, kept across overwrites.
 */
import { prng } from './prng';
import { ByteTable } from '../src/keyspace/byte-table';
import { HashValue } from '../src/keyspace/types';

function contents(t: ByteTable): Array<[string, string]> {
  return t.records().map((r) => [t.field(r), t.value(r)]);
}

function check(t: ByteTable, model: Map<string, string>, ordered: boolean): void {
  expect(t.size).toBe(model.size);
  const got = contents(t);
  if (ordered) expect(got).toEqual([...model]);
  else expect(new Map(got)).toEqual(model);
  const wrong: string[] = [];
  for (const [f, v] of model) {
    const r = t.findString(f);
    if (r < 0 || t.value(r) !== v) wrong.push(f);
  }
  expect(wrong).toEqual([]);
}

describe.each([true, false])('ByteTable (ordered: %s)', (ordered) => {
  test.each([1, 2, 3])('random sets and deletes agree with a Map (seed %i)', (seed) => {
    const rand = prng(seed);
    const t = new ByteTable();
    t.ordered = ordered;
    const model = new Map<string, string>();
    // Few distinct fields for the small phase (scanned records), many for the large one (index, compaction).
    for (const [ops, fields] of [[300, 12], [8000, 2000], [8000, 40]] as const) {
      for (let i = 0; i < ops; i++) {
        const f = `f${Math.floor(rand() * fields)}`;
        const p = rand();
        if (p < 0.25) {
          expect(t.deleteString(f)).toBe(model.has(f) ? model.get(f)!.length : -1);
          model.delete(f);
        } else {
          // Values of 0-40 bytes, with bytes above 0x7f (binary strings).
          const v = String.fromCharCode(...Array.from({ length: Math.floor(rand() * 41) }, () => Math.floor(rand() * 256)));
          expect(t.setString(f, v)).toBe(model.has(f) ? model.get(f)!.length : -1);
          model.set(f, v);
        }
        if (i % 1999 === 0) check(t, model, ordered);
      }
      check(t, model, ordered);
    }
    for (const f of [...model.keys()]) {
      expect(t.deleteString(f)).toBe(model.get(f)!.length);
      model.delete(f);
    }
    check(t, model, ordered);
    expect(t.findString('f1')).toBe(-1);
  });
});

test('fields are looked up by their bytes: a prefix, a longer field and an empty one are other fields', () => {
  const t = new ByteTable();
  for (const f of ['abc', 'ab', 'abcd', '']) t.setString(f, `v:${f}`);
  expect(contents(t)).toEqual([['abc', 'v:abc'], ['ab', 'v:ab'], ['abcd', 'v:abcd'], ['', 'v:']]);
  const req = Buffer.from('xxabcyy');
  expect(t.value(t.find(req, 2, 5))).toBe('v:abc');
  expect(t.value(t.find(req, 2, 4))).toBe('v:ab');
  expect(t.value(t.find(req, 0, 0))).toBe('v:');
  expect(t.find(req, 2, 7)).toBe(-1);
});

test('a large table gives its memory back after most of its fields are deleted', () => {
  const t = new ByteTable();
  t.ordered = false;
  const value = 'v'.repeat(100);
  for (let i = 0; i < 10_000; i++) t.setString(`field:${i}`, value);
  const full = t.capacityBytes;
  expect(full).toBeGreaterThan(1_000_000);
  for (let i = 100; i < 10_000; i++) t.deleteString(`field:${i}`);
  expect(t.capacityBytes).toBeLessThan(full / 8);
  for (let i = 0; i < 100; i++) expect(t.value(t.findString(`field:${i}`))).toBe(value);
});

test('a clone is a table of its own, in the same order', () => {
  const t = new ByteTable();
  for (let i = 0; i < 100; i++) t.setString(`f${i}`, `v${i}`);
  for (let i = 0; i < 100; i += 3) t.deleteString(`f${i}`);
  const c = t.clone();
  expect(contents(c)).toEqual(contents(t));
  c.setString('f1', 'changed');
  c.deleteString('f2');
  expect(t.value(t.findString('f1'))).toBe('v1');
  expect(t.findString('f2')).toBeGreaterThanOrEqual(0);
});

describe('HashValue on the table', () => {
  test('keeps insertion order across overwrites until it passes the listpack thresholds, as Redis', () => {
    const h = new HashValue();
    h.set('a', '1');
    h.set('b', '2');
    h.set('c', '3');
    h.set('a', 'longer than before');
    expect(h.fields()).toEqual(['a', 'b', 'c']);
    expect(h.big).toBe(false);
    h.set('d', 'x'.repeat(65));
    expect(h.big).toBe(true);
    h.set('b', 'changed length');
    expect(new Map(h.entries())).toEqual(new Map([['a', 'longer than before'], ['b', 'changed length'], ['c', '3'], ['d', 'x'.repeat(65)]]));
  });

  test('513 fields make it big (hash-max-listpack-entries 512), an overwrite at 512 does not', () => {
    const h = new HashValue();
    for (let i = 0; i < 512; i++) h.set(`f${i}`, 'v');
    h.set('f0', 'w');
    expect(h.big).toBe(false);
    expect(h.set('f512', 'v')).toBe(true);
    expect(h.big).toBe(true);
  });

  test('setBytes and deleteBytes count changes and new fields from request bytes', () => {
    const h = new HashValue();
    const req = Buffer.from('field value other');
    expect(h.setBytes(req, 0, 5, 6, 11)).toBe(true);
    expect(h.setBytes(req, 0, 5, 12, 17)).toBe(false);
    expect(h.get('field')).toBe('other');
    expect(h.mods).toBe(2);
    expect(h.deleteBytes(req, 6, 11)).toBe(false);
    expect(h.mods).toBe(2);
    expect(h.deleteBytes(req, 0, 5)).toBe(true);
    expect(h.size).toBe(0);
  });
});

/**
 * The sorted set's blocked storage (ZSetValue) against a plain sorted array
 * as the model, through random adds, score changes, deletes and rank-range
 * deletes, across many block splits and removals.
 */
import { ZNode, ZSetValue } from '../src/keyspace/types';

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const order = (a: ZNode, b: ZNode): number => (a.s !== b.s ? (a.s < b.s ? -1 : 1) : a.m < b.m ? -1 : a.m > b.m ? 1 : 0);

function check(z: ZSetValue, model: ZNode[], random: () => number): void {
  const plain = (ns: Iterable<ZNode>) => Array.from(ns, (n) => [n.m, n.s]);
  expect(z.size).toBe(model.length);
  expect(plain(z)).toEqual(plain(model));
  for (let k = 0; k < 20 && model.length > 0; k++) {
    const i = Math.floor(random() * model.length);
    const j = i + Math.floor(random() * 400);
    expect([z.at(i).m, z.rank(model[i].m)]).toEqual([model[i].m, i]);
    expect(plain(z.slice(i, j))).toEqual(plain(model.slice(i, j)));
    const s = model[i].s;
    expect(z.scoreBound(s, false)).toBe(model.findIndex((n) => n.s >= s));
    const above = model.findIndex((n) => n.s > s);
    expect(z.scoreBound(s, true)).toBe(above < 0 ? model.length : above);
    expect(z.lowerBound(s, model[i].m)).toBe(i);
    // Where a member that is not there would go (between members of one score, or past the end).
    const probe = { m: `m${Math.floor(random() * 3000)}x`, s: Math.floor(random() * 60) - 30 };
    const at = model.findIndex((n) => order(probe, n) <= 0);
    expect(z.lowerBound(probe.s, probe.m)).toBe(at < 0 ? model.length : at);
  }
  expect(z.scoreBound(Infinity, true)).toBe(model.length);
  expect(z.scoreBound(-Infinity, false)).toBe(0);
}

test.each([1, 2, 3])('random adds, updates, deletes and range deletes match a sorted array (seed %i)', (seed) => {
  const random = rng(seed);
  const z = new ZSetValue();
  let model: ZNode[] = [];
  const put = (m: string, s: number) => {
    const isNew = !model.some((n) => n.m === m);
    const id = random() < 0.5 ? z.find(m) : z.findBytes(Buffer.from(`..${m}.`, 'latin1'), 2, 2 + m.length);
    expect(id < 0).toBe(isNew);
    if (id >= 0) expect([z.memberOf(id), z.scoreOf(id)]).toEqual([m, model.find((n) => n.m === m)!.s]);
    if (id >= 0 && random() < 0.5) z.setScore(id, s); // ZADD's path: one lookup
    else if (id < 0 && random() < 0.5) z.add(m, s);
    else expect(z.set(m, s)).toBe(isNew);
    expect(z.score(m)).toBe(s);
    model = [...model.filter((n) => n.m !== m), { m, s }].sort(order);
  };
  for (let step = 0; step < 25; step++) {
    const burst = 1 + Math.floor(random() * 400);
    const kind = random();
    for (let k = 0; k < burst; k++) {
      const m = `m${Math.floor(random() * 3000)}`;
      // Few distinct scores, so members decide the order inside a score as often as scores do.
      // Some fractional: a block's scores then hold doubles as well as small integers.
      const s = Math.floor(random() * 50) - 25 + (random() < 0.2 ? 0.5 : 0);
      if (kind < 0.6) {
        put(m, s);
      } else if (kind < 0.85) {
        expect(z.delete(m)).toBe(model.some((n) => n.m === m));
        model = model.filter((n) => n.m !== m);
      } else if (model.length > 0 && k === 0) {
        const a = Math.floor(random() * model.length);
        const b = Math.min(model.length, a + Math.floor(random() * 700));
        expect(z.deleteRange(a, b).map((n) => n.m)).toEqual(model.slice(a, b).map((n) => n.m));
        model.splice(a, b - a);
      }
    }
    check(z, model, random);
  }
  const copy = z.clone();
  check(copy, model, random);
  z.deleteRange(0, z.size);
  expect(z.size).toBe(0);
  expect([...z]).toEqual([]);
  expect(copy.size).toBe(model.length);
  expect(Array.from(copy, (n) => n.m)).toEqual(model.map((n) => n.m));
});

test('members in score order append: a set built in order, as decoding does, is whole and ranked', () => {
  const z = new ZSetValue();
  for (let i = 0; i < 10_000; i++) z.set(`k${String(i).padStart(5, '0')}`, i);
  expect(z.size).toBe(10_000);
  expect(z.at(9_999).m).toBe('k09999');
  expect(z.rank('k05000')).toBe(5_000);
  expect(z.firstWhere((m) => m >= 'k07777')).toBe(7_777);
  expect(z.slice(9_998, 10_005).map((n) => n.s)).toEqual([9_998, 9_999]);
});

test('members are found by their bytes in small (scanned) and large (indexed) sets, the empty member and high bytes included', () => {
  for (const size of [5, 5_000]) {
    const z = new ZSetValue();
    const names = ['', '\u00ff\u0080x', ...Array.from({ length: size }, (_, i) => `e${i}`)];
    names.forEach((m, i) => z.add(m, i % 7));
    for (const [i, m] of names.entries()) {
      const bytes = Buffer.from(`<${m}>`, 'latin1');
      const id = z.findBytes(bytes, 1, bytes.length - 1);
      expect([z.memberOf(id), z.scoreOf(id), z.find(m)]).toEqual([m, i % 7, id]);
    }
    expect(z.findBytes(Buffer.from('e'), 0, 1)).toBe(-1);
    expect(z.find('\u00ff\u0080')).toBe(-1);
    // A freed id is not found, even by the empty member it no longer holds.
    expect(z.delete('')).toBe(true);
    expect([z.find(''), z.findBytes(Buffer.alloc(0), 0, 0), z.score('')]).toEqual([-1, -1, undefined]);
    expect(z.size).toBe(names.length - 1);
  }
});

test('deleting most members renumbers the rest: they are all still found and ranked, and the accounted bytes come back', () => {
  const z = new ZSetValue();
  const empty = z.bytes;
  for (let i = 0; i < 10_000; i++) z.add(`m${i}`, i);
  const full = z.bytes;
  for (let i = 0; i < 10_000; i++) if (i % 10 !== 0) z.delete(`m${i}`);
  expect(z.bytes).toBeLessThan(full / 5);
  for (let i = 0; i < 10_000; i += 10) expect([z.score(`m${i}`), z.rank(`m${i}`)]).toEqual([i, i / 10]);
  for (let i = 0; i < 10_000; i += 10) z.add(`n${i}`, i + 0.5); // reuses freed ids, if any are left
  expect(z.rank('n9990')).toBe(1_999);
  z.deleteRange(0, z.size);
  expect([z.size, z.bytes, [...z]]).toEqual([0, empty, []]);
});

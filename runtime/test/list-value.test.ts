/**
 * The list's byte deque (src/keyspace/types.ts ListValue) against an array
 * as the model: pushes and pops at both ends (strings and request bytes),
 * LSET to the same and to other lengths, rebuilds, and the moves of the live
 * bytes when an end runs out of room, chunks added and dropped, elements
 * larger than a chunk: as a stack, as a queue drifting through its chunks,
 * and mixed.
 */
import { prng } from './prng';
import { ListValue, spareChunkCount } from '../src/keyspace/types';

function check(l: ListValue, model: string[]): void {
  expect(l.size).toBe(model.length);
  expect(l.toArray()).toEqual(model);
  const bytes = model.map((_, i) => l.bufferOf(i).latin1Slice(l.startOf(i), l.endOf(i)));
  expect(bytes).toEqual(model);
}

const PATTERNS = {
  // [p(push left), p(push right), p(pop left), p(pop right), p(set)] as cumulative thresholds.
  mixed: [0.3, 0.6, 0.75, 0.9, 1],
  queue: [0.5, 0.5, 0.5, 0.98, 1], // LPUSH + RPOP: the bytes drift left through the buffer
  stack: [0, 0.55, 0.55, 0.98, 1], // RPUSH + RPOP
};

test.each(Object.keys(PATTERNS))('%s: random operations agree with an array', (name) => {
  const [pl, pr, ol, or] = PATTERNS[name as keyof typeof PATTERNS];
  const rand = prng(name.length * 7919);
  const l = new ListValue();
  const model: string[] = [];
  const req = Buffer.alloc(67_100);
  for (let i = 0; i < 30_000; i++) {
    const p = rand();
    // Mostly short elements; now and then one larger than a chunk (64 KB).
    const n = rand() < 0.002 ? 65_000 + Math.floor(rand() * 2000) : Math.floor(rand() * 40);
    const v = n > 1000
      ? String.fromCharCode(Math.floor(rand() * 256)).repeat(n)
      : String.fromCharCode(...Array.from({ length: n }, () => Math.floor(rand() * 256)));
    const asBytes = rand() < 0.5;
    if (p < pl) {
      if (asBytes) {
        req.latin1Write(v, 7);
        l.pushLeftBytes(req, 7, 7 + n);
      } else {
        l.pushLeft(v);
      }
      model.unshift(v);
    } else if (p < pr) {
      if (asBytes) {
        req.latin1Write(v, 3);
        l.pushRightBytes(req, 3, 3 + n);
      } else {
        l.pushRight(v);
      }
      model.push(v);
    } else if (p < ol) {
      expect(l.popLeft()).toBe(model.shift());
    } else if (p < or) {
      expect(l.popRight()).toBe(model.pop());
    } else if (model.length > 0) {
      const at = Math.floor(rand() * model.length);
      const same = rand() < 0.5 ? 'x'.repeat(model[at].length) : v;
      l.setAt(at, same);
      model[at] = same;
    }
    if (i % 2999 === 0) check(l, model);
  }
  check(l, model);
  while (model.length > 0) expect(l.popLeft()).toBe(model.shift());
  check(l, model);
  expect(l.popLeft()).toBeUndefined();
  expect(l.popRight()).toBeUndefined();
});

test('a large list gives its memory back as it empties', () => {
  const l = new ListValue();
  const empty = l.bytes;
  for (let i = 0; i < 100_000; i++) l.pushRight(`element:${i}`);
  const full = l.bytes;
  expect(full).toBeGreaterThan(1_000_000);
  for (let i = 0; i < 99_990; i++) expect(l.popLeft()).toBe(`element:${i}`);
  expect(l.bytes).toBeLessThan(2 * 65_536 + 4096); // the ten left span at most two 64 KB chunks; the rings shrunk
  expect(l.toArray()).toEqual(Array.from({ length: 10 }, (_, i) => `element:${99_990 + i}`));
  while (l.size > 0) l.popRight();
  expect(l.bytes).toBeLessThan(empty + 2048); // the element ring stops shrinking at 64
});

test('emptied chunks are reused, by the same list or another, without mixing their bytes', () => {
  // Two queues side by side (push right, pop left), each about three 64 KB chunks long: every chunk
  // one of them empties is the next that one of them fills.
  const rand = prng(4242);
  // Spares left by the tests before are taken first, so that every reuse below is of a chunk seen here.
  const drain = new ListValue();
  while (spareChunkCount() > 0) drain.pushRight('x'.repeat(60_000));
  const lists = [new ListValue(), new ListValue()];
  const models: string[][] = [[], []];
  const req = Buffer.alloc(200);
  const seen = new Set<Buffer>();
  let reused = 0;
  for (let i = 0; i < 60_000; i++) {
    const k = rand() < 0.5 ? 0 : 1;
    const l = lists[k];
    const model = models[k];
    if (model.length < 2000 || rand() < 0.5) {
      const v = `${i}:` + String.fromCharCode(97 + (i % 26)).repeat(90 + Math.floor(rand() * 20));
      req.latin1Write(v, 5);
      const spare = spareChunkCount();
      l.pushRightBytes(req, 5, 5 + v.length);
      model.push(v);
      const b = l.bufferOf(l.size - 1);
      if (spareChunkCount() < spare) {
        // A new chunk came from the spares: one this or the other list emptied before.
        expect(seen.has(b)).toBe(true);
        reused++;
      }
      seen.add(b);
    } else {
      expect(l.popLeft()).toBe(model.shift());
    }
    if (i % 4999 === 0) models.forEach((m, j) => check(lists[j], m));
  }
  models.forEach((m, j) => check(lists[j], m));
  expect(reused).toBeGreaterThan(20); // 44 with this seed: most of the chunks the queues needed once they were three long
  expect(spareChunkCount()).toBeLessThanOrEqual(16);
});

test('replaceAll, clone and mods', () => {
  const l = new ListValue();
  l.replaceAll(['a', 'bb', '', 'ccc']);
  expect(l.toArray()).toEqual(['a', 'bb', '', 'ccc']);
  const c = l.clone();
  expect(c.mods).toBe(0);
  c.pushLeft('z');
  c.setAt(1, 'AAAA');
  expect(l.toArray()).toEqual(['a', 'bb', '', 'ccc']);
  expect(c.toArray()).toEqual(['z', 'AAAA', 'bb', '', 'ccc']);
  const before = l.mods;
  l.setAt(0, 'q');
  expect(l.mods).toBe(before + 1);
  expect(l.range(0, 1)).toEqual(['q', 'bb']);
});

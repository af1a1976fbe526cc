import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { tempDir } from './helpers';
import { decodeSegment, encodeRecord, Journal, JournalRecord, ReplayedRecord } from '../../src/persistence/journal';
import { PersistenceMetrics } from '../../src/persistence/metrics';

const rec = (key: string, value: string, version: number, kind: 'set' | 'delete' = 'set'): JournalRecord => ({
  kind, key: Buffer.from(key), value: Buffer.from(kind === 'set' ? value : ''), version, expiresAt: kind === 'set' ? 1_900_000_000_000 : 0,
});

async function replayAll(j: Journal): Promise<ReplayedRecord[]> {
  const out: ReplayedRecord[] = [];
  for await (const r of j.replay()) out.push(r);
  return out;
}

let t: ReturnType<typeof tempDir>;
beforeEach(() => { t = tempDir('journal-'); });
afterEach(() => t.cleanup());

test('a record round-trips through encode and decode, binary keys included', () => {
  const r: JournalRecord = { kind: 'set', key: Buffer.from([0, 255, 10, 13]), value: Buffer.from('v'.repeat(1000)), version: 2 ** 52 + 7, expiresAt: 123 };
  const { records, validBytes } = decodeSegment(encodeRecord(r));
  expect(validBytes).toBe(encodeRecord(r).length);
  expect(records).toEqual([r]);
});

test('concurrent appends are group-committed: far fewer fsyncs than records', async () => {
  const metrics = new PersistenceMetrics(new Registry());
  const j = await Journal.open({ dir: t.dir, segmentBytes: 64 * 1024 * 1024, fsync: true, metrics });
  await replayAll(j);
  const n = 500;
  const segments = await Promise.all(Array.from({ length: n }, (_, i) => j.append(rec(`k${i}`, `v${i}`, i + 1))));
  const s = j.stats;
  expect(s.records).toBe(n);
  // The first append commits alone; everything that arrived meanwhile shares the next commit(s).
  expect(s.commits).toBeLessThanOrEqual(5);
  expect(s.commits).toBeGreaterThanOrEqual(1);
  expect(new Set(segments)).toEqual(new Set([1]));
  expect((await metrics.journalFsyncs.get()).values[0].value).toBe(s.commits);
  // eslint-disable-next-line no-console
  console.log(`journal group commit: ${n} appends, ${s.commits} fsyncs, ${(s.commitMs / s.commits).toFixed(2)} ms per commit`);
  await j.close();
});

test('sequential appends each pay one fsync (the cost group commit saves)', async () => {
  const j = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: true });
  await replayAll(j);
  for (let i = 0; i < 20; i++) await j.append(rec(`k${i}`, 'v', i + 1));
  expect(j.stats.commits).toBe(20);
  // eslint-disable-next-line no-console
  console.log(`journal fsync cost: ${(j.stats.commitMs / 20).toFixed(2)} ms per append (write + fdatasync)`);
  await j.close();
});

test('replay returns every record in append order with its version, across segments', async () => {
  const j = await Journal.open({ dir: t.dir, segmentBytes: 4096, fsync: false });
  await replayAll(j);
  const written: JournalRecord[] = [];
  for (let i = 0; i < 200; i++) {
    const r = i % 7 === 3 ? rec(`k${i % 13}`, '', 1000 + i, 'delete') : rec(`k${i % 13}`, `value-${i}-${'x'.repeat(50)}`, 1000 + i);
    written.push(r);
    await j.append(r);
  }
  expect(j.segmentNumbers.length).toBeGreaterThan(2); // rotated by size
  await j.close();

  const again = await Journal.open({ dir: t.dir, segmentBytes: 4096, fsync: false });
  const replayed = await replayAll(again);
  expect(replayed.map(({ segment, ...r }) => r)).toEqual(written);
  const segs = replayed.map((r) => r.segment);
  expect(segs).toEqual([...segs].sort((a, b) => a - b));
  await again.close();
});

test('a torn tail after a crash is ignored and cut off; the records before it replay', async () => {
  const j = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: true });
  await replayAll(j);
  for (let i = 1; i <= 3; i++) await j.append(rec(`k${i}`, `v${i}`, i));
  await j.close();
  const [name] = readdirSync(t.dir);
  const file = join(t.dir, name);
  const good = statSync(file).size;
  // A crash in the middle of a write: half a record.
  const torn = encodeRecord(rec('k4', 'v4', 4)).subarray(0, 20);
  appendFileSync(file, torn);

  const metrics = new PersistenceMetrics(new Registry());
  const again = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: true, metrics });
  const replayed = await replayAll(again);
  expect(replayed.map((r) => r.key.toString())).toEqual(['k1', 'k2', 'k3']);
  expect(again.stats.tornTails).toBe(1);
  expect(statSync(file).size).toBe(good);
  expect((await metrics.journalTornRecords.get()).values[0].value).toBe(1);
  await again.close();
});

test('a record with a bad CRC ends the segment: it and what follows are ignored', async () => {
  const j = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: false });
  await replayAll(j);
  for (let i = 1; i <= 3; i++) await j.append(rec(`k${i}`, `v${i}`, i));
  await j.close();
  const [name] = readdirSync(t.dir);
  const file = join(t.dir, name);
  const data = readFileSync(file);
  const second = encodeRecord(rec('k1', 'v1', 1)).length;
  data[second + 12] = 255 - data[second + 12]; // flip a byte inside the second record's payload
  writeFileSync(file, data);
  const again = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: false });
  expect((await replayAll(again)).map((r) => r.key.toString())).toEqual(['k1']);
  await again.close();
});

test('a segment is deleted once every record in it is released, and not before', async () => {
  const j = await Journal.open({ dir: t.dir, segmentBytes: 4096, fsync: false });
  await replayAll(j);
  const segs: number[] = [];
  for (let i = 0; i < 100; i++) segs.push(await j.append(rec(`k${i}`, 'x'.repeat(100), i + 1)));
  const first = segs[0];
  const inFirst = segs.filter((s) => s === first).length;
  expect(inFirst).toBeGreaterThan(1);
  expect(j.segmentNumbers).toContain(first);
  for (let i = 0; i < inFirst - 1; i++) j.release(first);
  await new Promise((r) => setImmediate(r));
  expect(j.segmentNumbers).toContain(first); // one record still not in the stores
  j.release(first);
  await new Promise((r) => setTimeout(r, 20));
  expect(j.segmentNumbers).not.toContain(first);
  expect(readdirSync(t.dir)).not.toContain(`segment-${String(first).padStart(16, '0')}.journal`);
  expect(j.stats.segmentsDeleted).toBe(1);
  await j.close();
});

test('replayed segments are deleted once their records are released; unreleased ones stay for the next start', async () => {
  const j = await Journal.open({ dir: t.dir, segmentBytes: 4096, fsync: false });
  await replayAll(j);
  for (let i = 0; i < 60; i++) await j.append(rec(`k${i}`, 'x'.repeat(100), i + 1));
  await j.close();
  const before = readdirSync(t.dir).length;
  expect(before).toBeGreaterThan(1);

  const again = await Journal.open({ dir: t.dir, segmentBytes: 4096, fsync: false });
  const replayed = await replayAll(again);
  const last = replayed[replayed.length - 1].segment;
  for (const r of replayed) if (r.segment !== last) again.release(r.segment);
  await new Promise((r) => setTimeout(r, 20));
  expect(again.segmentNumbers).toEqual([last]);
  await again.close();
  expect(readdirSync(t.dir)).toEqual([`segment-${String(last).padStart(16, '0')}.journal`]);
});

test('appends after a restart go to a new segment, never after an old (possibly torn) tail', async () => {
  const j = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: false });
  await replayAll(j);
  await j.append(rec('a', '1', 1));
  await j.close();
  const again = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: false });
  const old = await replayAll(again);
  const seg = await again.append(rec('b', '2', 2));
  expect(seg).toBeGreaterThan(old[0].segment);
  await again.close();
});

test('replay may run only once, before appends', async () => {
  const j = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: false });
  await j.append(rec('a', '1', 1));
  await expect(replayAll(j)).rejects.toThrow('journal: replay() may run only once, before the first append');
  await j.close();
});

test('append after close fails with the journal error', async () => {
  const j = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: false });
  await j.close();
  await expect(j.append(rec('a', '1', 1))).rejects.toThrow('journal: closed');
});

test('journal bytes and segments are exported as gauges and follow rotation and deletion', async () => {
  const registry = new Registry();
  const metrics = new PersistenceMetrics(registry);
  const j = await Journal.open({ dir: t.dir, segmentBytes: 4096, fsync: false, metrics });
  await replayAll(j);
  const segs: number[] = [];
  for (let i = 0; i < 40; i++) segs.push(await j.append(rec(`k${i}`, 'x'.repeat(200), i + 1)));
  const onDisk = readdirSync(t.dir).reduce((n, f) => n + statSync(join(t.dir, f)).size, 0);
  expect((await metrics.journalBytes.get()).values[0].value).toBe(onDisk);
  expect((await metrics.journalSegments.get()).values[0].value).toBe(readdirSync(t.dir).length);
  for (const s of segs) j.release(s);
  await j.close();
  expect(readdirSync(t.dir)).toEqual([]);
  expect((await metrics.journalBytes.get()).values[0].value).toBe(0);
  expect((await metrics.journalSegments.get()).values[0].value).toBe(0);
});

test('a failed write rejects the appends of that group with the journal error; the next appends go to a new segment', async () => {
  const j = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: true });
  await replayAll(j);
  const first = await j.append(rec('a', '1', 1));
  // Induce a real I/O failure: the segment's file descriptor is closed under the journal.
  await (j as unknown as { active: { handle: { close(): Promise<void> } } }).active.handle.close();
  const failed = await Promise.allSettled([j.append(rec('b', '2', 2)), j.append(rec('c', '3', 3))]);
  expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  expect((failed[0] as PromiseRejectedResult).reason.message).toMatch(/^journal: append failed: /);
  const next = await j.append(rec('d', '4', 4));
  expect(next).toBeGreaterThan(first);
  await j.close();
  const again = await Journal.open({ dir: t.dir, segmentBytes: 2 ** 20, fsync: true });
  expect((await replayAll(again)).map((r) => r.key.toString())).toEqual(['a', 'd']);
  await again.close();
});

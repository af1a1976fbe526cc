import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { entry, sleep, tempDir, TestStore, until } from './helpers';
import { StoreLink } from '../../src/persistence/chain';
import { DeadLetterFile } from '../../src/persistence/dead-letter';
import { QueueFullError } from '../../src/persistence/errors';
import { Journal } from '../../src/persistence/journal';
import { PersistenceMetrics } from '../../src/persistence/metrics';
import { WriteBehind, WriteBehindOptions } from '../../src/persistence/write-behind';

let t: ReturnType<typeof tempDir>;
let current: WriteBehind | undefined;
beforeEach(() => { t = tempDir('write-behind-'); });
afterEach(async () => {
  await current?.close();
  current = undefined;
  t.cleanup();
});

const link = (store: TestStore, required = true): StoreLink => ({ store, required, preload: false });

interface Made {
  wb: WriteBehind;
  metrics: PersistenceMetrics;
  deadLetterPath: string;
}

function make(stores: TestStore[], o: Partial<WriteBehindOptions> = {}, logs?: string[]): Made {
  const metrics = new PersistenceMetrics(new Registry());
  const logger = logs ? pino({ level: 'info' }, { write: (line: string) => { logs.push(line); } }) : undefined;
  const deadLetterPath = join(t.dir, 'dead', 'dead-letter.jsonl');
  current = new WriteBehind(stores.map((s) => link(s)), {
    batchSize: 100,
    flushIntervalMs: 20,
    maxPendingEntries: 10_000,
    maxPendingBytes: 2 ** 24,
    whenFull: 'reject',
    blockTimeoutMs: 200,
    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    deadLetter: new DeadLetterFile(deadLetterPath, logger, metrics),
    metrics,
    logger,
    ...o,
  });
  return { wb: current, metrics, deadLetterPath };
}

function deadLetters(path: string): Array<Record<string, unknown>> {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

test('writes to one key coalesce: the store gets only the newest version', async () => {
  const store = new TestStore();
  const { wb } = make([store], { flushIntervalMs: 30 });
  for (let v = 1; v <= 50; v++) await wb.write(entry('k', `v${v}`, v));
  await wb.write(entry('other', 'x', 51));
  expect(wb.pendingTotal).toBe(2);
  await until(() => wb.pendingTotal === 0);
  expect(store.batches).toHaveLength(1);
  expect(store.batches[0].keys.sort()).toEqual(['k', 'other']);
  expect(store.value('k')).toBe('v50');
  expect(store.data.get('k')!.version).toBe(50);
});

test('an older version arriving after a newer one does not replace it', async () => {
  const store = new TestStore();
  const { wb } = make([store]);
  await wb.write(entry('k', 'new', 10));
  await wb.write(entry('k', 'old', 5));
  await until(() => wb.pendingTotal === 0);
  expect(store.value('k')).toBe('new');
});

test('a full batch flushes at once, without waiting for the interval', async () => {
  const store = new TestStore();
  const { wb } = make([store], { batchSize: 10, flushIntervalMs: 60_000 });
  for (let i = 0; i < 25; i++) await wb.write(entry(`k${i}`, 'v', i + 1));
  await until(() => store.batches.length >= 2, 2000, 'two full batches');
  expect(store.batches[0].keys).toHaveLength(10);
  expect(store.batches[1].keys).toHaveLength(10);
  await sleep(50);
  // The remaining 5 wait for the (one-minute) interval.
  expect(wb.pendingTotal).toBe(5);
});

test('fewer than a batch are flushed after the interval', async () => {
  const store = new TestStore();
  const { wb } = make([store], { batchSize: 1000, flushIntervalMs: 100 });
  const started = Date.now();
  await wb.write(entry('a', '1', 1));
  await sleep(40);
  expect(store.batches).toHaveLength(0);
  await until(() => store.batches.length === 1);
  expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  expect(store.value('a')).toBe('1');
});

test('deletes flow through the queue and coalesce with writes', async () => {
  const store = new TestStore();
  store.data.set('gone', entry('gone', 'old', 1));
  const { wb } = make([store]);
  await wb.write(entry('gone', 'newer', 2));
  await wb.delete({ key: Buffer.from('gone'), version: 3 });
  await until(() => wb.pendingTotal === 0);
  expect(store.data.has('gone')).toBe(false);
  expect(store.batches.map((b) => b.kind)).toEqual(['delete']);
});

test('full queue with policy reject: a distinct QueueFullError, nothing queued', async () => {
  const store = new TestStore();
  store.down = true;
  const { wb, metrics } = make([store], { maxPendingEntries: 3, whenFull: 'reject', flushIntervalMs: 60_000 });
  for (let i = 0; i < 3; i++) await wb.write(entry(`k${i}`, 'v', i + 1));
  const err = await wb.write(entry('k3', 'v', 4)).catch((e) => e);
  expect(err).toBeInstanceOf(QueueFullError);
  expect(err.message).toBe('write-behind queue full (3 entries / 16777216 bytes): the stores are behind; retry later');
  expect(wb.pendingTotal).toBe(3);
  expect((await metrics.queueFull.get()).values[0]).toMatchObject({ value: 1, labels: { policy: 'reject' } });
});

test('the bytes bound counts too', async () => {
  const store = new TestStore();
  const { wb } = make([store], { maxPendingBytes: 100, whenFull: 'reject', flushIntervalMs: 60_000 });
  await wb.write(entry('a', 'x'.repeat(60), 1));
  await expect(wb.write(entry('b', 'x'.repeat(60), 2))).rejects.toThrow('write-behind queue full (10000 entries / 100 bytes)');
  await expect(wb.write(entry('c', 'x'.repeat(200), 3))).rejects.toThrow(
    'write-behind queue full: the write (201 bytes) is larger than writeBehind.maxPendingBytes (100)');
});

test('full queue with policy block: the write waits for room and completes when the store catches up', async () => {
  const store = new TestStore();
  store.holdBatches = true;
  const { wb } = make([store], { maxPendingEntries: 2, batchSize: 2, whenFull: 'block', blockTimeoutMs: 5000 });
  await wb.write(entry('a', '1', 1));
  await wb.write(entry('b', '2', 2)); // a full batch: in flight, held by the store
  let done = false;
  const blocked = wb.write(entry('c', '3', 3)).then(() => { done = true; });
  await sleep(50);
  expect(done).toBe(false);
  await until(() => store.heldCount > 0);
  store.holdBatches = false;
  store.releaseHeld();
  await blocked;
  expect(done).toBe(true);
  await until(() => wb.pendingTotal === 0);
  expect(store.value('c')).toBe('3');
});

test('full queue with policy block: after the timeout the write fails with QueueFullError', async () => {
  const store = new TestStore();
  store.down = true;
  const { wb } = make([store], { maxPendingEntries: 1, whenFull: 'block', blockTimeoutMs: 100, retry: { attempts: 1000, baseDelayMs: 5, maxDelayMs: 10 } });
  await wb.write(entry('a', '1', 1));
  const started = Date.now();
  const err = await wb.write(entry('b', '2', 2)).catch((e) => e);
  expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  expect(err).toBeInstanceOf(QueueFullError);
  expect(err.message).toBe('write-behind queue full (1 entries / 16777216 bytes): no room within 100 ms; the stores are behind, retry later');
});

test('store outage: the entries wait in the queue, using up none of their retries, and reach the store when it is back', async () => {
  const store = new TestStore();
  store.down = true;
  const { wb, deadLetterPath } = make([store], { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 40 } });
  await wb.write(entry('k1', 'v1', 7, 1_900_000_000_000));
  await wb.delete({ key: Buffer.from('k2'), version: 8 });
  store.data.set('k2', entry('k2', 'old', 1));
  // Many more whole-batch failures than the 3 attempts an entry has.
  await until(() => store.failedBatches >= 10, 5000, 'failed batches');
  expect(wb.pendingTotal).toBe(2);
  expect(deadLetters(deadLetterPath)).toHaveLength(0);
  store.down = false;
  await until(() => wb.pendingTotal === 0, 5000, 'the queue to drain');
  expect(store.value('k1')).toBe('v1');
  expect(store.data.has('k2')).toBe(false);
  expect(deadLetters(deadLetterPath)).toHaveLength(0);
});

test('transient refusals of one key: retried, then the entry goes to the dead-letter file with an ERROR log and a metric', async () => {
  const store = new TestStore();
  store.refuse.set('k1', 'transient');
  const logs: string[] = [];
  const { wb, metrics, deadLetterPath } = make([store], { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 40 } }, logs);
  await wb.write(entry('k1', 'v1', 7, 1_900_000_000_000));
  await wb.write(entry('k3', 'v3', 9));
  await until(() => wb.pendingTotal === 0, 5000, 'dead-letter');
  const lines = deadLetters(deadLetterPath);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ store: 'test', op: 'set', key: Buffer.from('k1').toString('base64'), value: Buffer.from('v1').toString('base64'), version: 7, expiresAt: 1_900_000_000_000, attempts: 3, error: 'lock timeout' });
  expect(typeof lines[0].time).toBe('string');
  expect(store.value('k3')).toBe('v3');
  expect((await metrics.retries.get()).values[0].value).toBe(2); // 1 key x 2 retries
  expect((await metrics.deadLettered.get()).values[0]).toMatchObject({ value: 1, labels: { store: 'test' } });
  const errorLog = logs.map((l) => JSON.parse(l)).find((l) => l.level === 50);
  expect(errorLog.msg).toBe('write-behind: 1 entries did not reach store test and were written to the dead-letter file');
});

test('a store that recovers within the retries gets every entry, nothing is dead-lettered', async () => {
  const store = new TestStore();
  store.failNext = 2;
  const { wb, deadLetterPath } = make([store], { retry: { attempts: 5, baseDelayMs: 5, maxDelayMs: 20 } });
  for (let i = 0; i < 10; i++) await wb.write(entry(`k${i}`, `v${i}`, i + 1));
  await until(() => wb.pendingTotal === 0);
  expect(store.data.size).toBe(10);
  expect(deadLetters(deadLetterPath)).toHaveLength(0);
});

test('a poison key does not hold up the others: refused at once it is dead-lettered, the rest are stored', async () => {
  const store = new TestStore();
  store.refuse.set('poison', 'permanent');
  const { wb, deadLetterPath } = make([store]);
  await wb.write(entry('poison', 'x', 1));
  for (let i = 0; i < 5; i++) await wb.write(entry(`ok${i}`, 'v', i + 2));
  await until(() => wb.pendingTotal === 0);
  expect([...store.data.keys()].sort()).toEqual(['ok0', 'ok1', 'ok2', 'ok3', 'ok4']);
  const lines = deadLetters(deadLetterPath);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ key: Buffer.from('poison').toString('base64'), attempts: 1, error: 'store test rejected the entry: value too large' });
});

test('a transiently refused key is retried on its own while new writes keep flowing', async () => {
  const store = new TestStore();
  store.refuse.set('slow', 'transient');
  // Retries spread over ~0.9 s, so a loaded machine cannot use them up before the refusal is lifted.
  const { wb, deadLetterPath } = make([store], { retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 300 } });
  await wb.write(entry('slow', 'x', 1));
  // At least the first attempt (not exactly one: the retry 100 ms later may already have come).
  await until(() => store.batches.length >= 1);
  await wb.write(entry('fresh', 'y', 2));
  await until(() => store.value('fresh') === 'y', 2000, 'fresh stored while slow waits');
  expect(wb.pending()).toEqual({ test: 1 });
  store.refuse.delete('slow');
  await until(() => wb.pendingTotal === 0);
  expect(store.value('slow')).toBe('x');
  expect(deadLetters(deadLetterPath)).toHaveLength(0);
});

test('a newer version written while the older one is in flight is not lost', async () => {
  const store = new TestStore();
  store.holdBatches = true;
  const { wb } = make([store], { flushIntervalMs: 5 });
  await wb.write(entry('k', 'old', 1));
  await until(() => store.heldCount === 1, 2000, 'batch in flight');
  await wb.write(entry('k', 'new', 2));
  store.holdBatches = false;
  store.releaseHeld();
  await until(() => wb.pendingTotal === 0);
  expect(store.batches.map((b) => b.versions)).toEqual([[1], [2]]);
  expect(store.value('k')).toBe('new');
});

test('several stores: each gets every write; a failing one does not hold up the other', async () => {
  const a = new TestStore('a');
  const b = new TestStore('b');
  b.down = true;
  const { wb } = make([a, b], { retry: { attempts: 100, baseDelayMs: 5, maxDelayMs: 10 } });
  await wb.write(entry('k', 'v', 1));
  await until(() => a.value('k') === 'v');
  expect(wb.pending()).toEqual({ a: 0, b: 1 });
  b.down = false;
  await until(() => wb.pendingTotal === 0);
  expect(b.value('k')).toBe('v');
});

test('flush(deadline) drains within the deadline; what cannot be flushed is counted and logged', async () => {
  const store = new TestStore();
  const logs: string[] = [];
  const { wb } = make([store], { flushIntervalMs: 60_000, retry: { attempts: 1000, baseDelayMs: 5, maxDelayMs: 10 } }, logs);
  for (let i = 0; i < 30; i++) await wb.write(entry(`k${i}`, 'v', i + 1));
  expect(await wb.flush(1000)).toEqual({ remaining: 0, timedOut: false });
  expect(store.data.size).toBe(30);

  store.down = true;
  for (let i = 0; i < 7; i++) await wb.write(entry(`late${i}`, 'v', 100 + i));
  const started = Date.now();
  expect(await wb.flush(150)).toEqual({ remaining: 7, timedOut: true });
  expect(Date.now() - started).toBeLessThan(1000);
  const error = logs.map((l) => JSON.parse(l)).find((l) => l.level === 50);
  expect(error.msg).toBe('write-behind: 7 writes not flushed within the deadline and there is no journal: they are lost');
});

test('with a journal: write-behind releases segments once the store has their records', async () => {
  const store = new TestStore();
  const journal = await Journal.open({ dir: join(t.dir, 'journal'), segmentBytes: 4096, fsync: true });
  for await (const r of journal.replay()) throw new Error(`unexpected record ${r.key}`);
  const { wb } = make([store], { journal, flushIntervalMs: 60_000 });
  // 5 rounds of 20 concurrent writes of ~230 bytes: each round fills (and closes) a 4 KiB segment.
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => wb.write(entry(`k${round}-${i}`, 'x'.repeat(200), round * 100 + i + 1))));
  }
  expect(journal.stats.records).toBe(100);
  expect(journal.stats.commits).toBeLessThan(20);
  expect(journal.stats.segmentsDeleted).toBe(0);
  expect(journal.segmentNumbers).toHaveLength(5);
  expect(await wb.flush(2000)).toEqual({ remaining: 0, timedOut: false });
  // A segment leaves segmentNumbers at once; its file (and the count) once the unlink is done.
  await until(() => journal.segmentNumbers.length === 0 && journal.stats.segmentsDeleted >= 5, 2000, 'flushed segments deleted');
  expect(store.data.get('k4-3')?.version).toBe(404);
  expect(store.data.size).toBe(100);
  await journal.close();
  expect(readdirSync(join(t.dir, 'journal'))).toEqual([]);
});

test('with a journal: a record superseded by a newer write of its key releases its segment before any flush', async () => {
  const store = new TestStore();
  const journal = await Journal.open({ dir: join(t.dir, 'journal'), segmentBytes: 4096, fsync: false });
  for await (const r of journal.replay()) throw new Error(`unexpected record ${r.key}`);
  const { wb } = make([store], { journal, flushIntervalMs: 60_000 });
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => wb.write(entry(`k${i}`, 'x'.repeat(200), round * 100 + i + 1))));
  }
  expect(store.batches).toHaveLength(0);
  // Rounds 0 and 1 are superseded by round 2: their segments are gone, only the newest versions are kept.
  expect(journal.segmentNumbers).toEqual([3]);
  await until(() => journal.stats.segmentsDeleted === 2, 2000, 'two segments unlinked');
  expect(wb.pendingTotal).toBe(20);
  await journal.close();
});

test('with a journal: an unflushed write is replayed and reaches the store after a restart', async () => {
  const dir = join(t.dir, 'journal');
  const down = new TestStore();
  down.down = true;
  const j1 = await Journal.open({ dir, segmentBytes: 2 ** 20, fsync: true });
  for await (const r of j1.replay()) throw new Error(`unexpected record ${r.key}`);
  const first = make([down], { journal: j1, retry: { attempts: 1000, baseDelayMs: 5, maxDelayMs: 10 } });
  await first.wb.write(entry('k', 'v1', 1));
  await first.wb.write(entry('k', 'v2', 2));
  await first.wb.delete({ key: Buffer.from('d'), version: 3 });
  expect((await first.wb.flush(50)).remaining).toBe(2);
  await first.wb.close();
  await j1.close();

  const store = new TestStore();
  store.data.set('d', entry('d', 'stale', 1));
  const j2 = await Journal.open({ dir, segmentBytes: 2 ** 20, fsync: true });
  current = undefined;
  const second = make([store], { journal: j2 });
  const versions: number[] = [];
  for await (const r of j2.replay()) {
    versions.push(r.version);
    second.wb.enqueueReplayed(r, r.segment);
  }
  expect(versions).toEqual([1, 2, 3]);
  await until(() => second.wb.pendingTotal === 0);
  expect(store.value('k')).toBe('v2');
  expect(store.data.has('d')).toBe(false);
  await until(() => j2.segmentNumbers.length === 0, 2000, 'replayed segment deleted');
  await j2.close();
});

test('oldest pending age and pending writes are exported as metrics', async () => {
  const store = new TestStore();
  store.down = true;
  const registry = new Registry();
  const metrics = new PersistenceMetrics(registry);
  const wb = current = new WriteBehind([link(store)], {
    batchSize: 100,
    flushIntervalMs: 10,
    maxPendingEntries: 100,
    maxPendingBytes: 2 ** 20,
    whenFull: 'reject',
    blockTimeoutMs: 10,
    retry: { attempts: 1000, baseDelayMs: 5, maxDelayMs: 10 },
    deadLetter: new DeadLetterFile(join(t.dir, 'dl.jsonl')),
    metrics,
  });
  await wb.write(entry('a', '1', 1));
  await sleep(120);
  const text = await registry.metrics();
  expect(text).toMatch(/state_cache_persistence_pending_writes\{store="test"\} 1/);
  const age = Number(/state_cache_persistence_oldest_pending_age_seconds\{store="test"\} ([0-9.e-]+)/.exec(text)![1]);
  expect(age).toBeGreaterThanOrEqual(0.1);
  expect(text).toMatch(/state_cache_persistence_store_errors_total\{store="test",kind="unavailable"\} [1-9]/);
});

test('flush(deadline) with a key the store keeps refusing returns at the deadline with that key counted', async () => {
  const store = new TestStore();
  store.refuse.set('stuck', 'transient');
  const { wb } = make([store], { flushIntervalMs: 60_000, retry: { attempts: 1000, baseDelayMs: 50, maxDelayMs: 100 } });
  await wb.write(entry('stuck', 'x', 1));
  await wb.write(entry('fine', 'y', 2));
  const started = Date.now();
  expect(await wb.flush(300)).toEqual({ remaining: 1, timedOut: true });
  expect(Date.now() - started).toBeLessThan(2000);
  expect(store.value('fine')).toBe('y');
}, 10_000);

test('when the dead-letter file cannot be written the entries stay queued, with an ERROR log, and are not dropped', async () => {
  const store = new TestStore();
  store.refuse.set('poison', 'permanent');
  const logs: string[] = [];
  // The dead-letter path lies below a regular file: its directory cannot be created.
  writeFileSync(join(t.dir, 'not-a-dir'), '');
  const metrics = new PersistenceMetrics(new Registry());
  const logger = pino({ level: 'info' }, { write: (line: string) => { logs.push(line); } });
  const broken = current = new WriteBehind([link(store)], {
    batchSize: 100,
    flushIntervalMs: 5,
    maxPendingEntries: 100,
    maxPendingBytes: 2 ** 20,
    whenFull: 'reject',
    blockTimeoutMs: 10,
    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 50 },
    deadLetter: new DeadLetterFile(join(t.dir, 'not-a-dir', 'dead-letter.jsonl'), logger, metrics),
    metrics,
    logger,
  });
  await broken.write(entry('poison', 'x', 1));
  await until(() => logs.some((l) => l.includes('the dead-letter file cannot be written')), 2000, 'the ERROR log');
  expect(broken.pending()).toEqual({ test: 1 });
  const error = logs.map((l) => JSON.parse(l)).find((l) => l.msg.includes('dead-letter file cannot be written'));
  expect(error).toMatchObject({ level: 50, msg: 'write-behind: the dead-letter file cannot be written; the entries stay queued', entries: 1 });
  // Counted from 0 for every store (so alerts see the first increase), and still 0.
  expect((await metrics.deadLettered.get()).values).toEqual([{ labels: { store: 'test' }, value: 0 }]);
});

import { mkdir, open, readdir, readFile, stat, truncate, unlink, writeFile, FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { JournalError } from './errors';
import { PersistenceMetrics } from './metrics';

/**
 * The write-behind journal: an append-only log of writes on a volume, so a
 * write acknowledged before the stores have it survives kill -9.
 *
 * Hand-written rather than a library (LevelDB's own WAL, an embedded DB):
 * append + fsync is on the path of every acknowledged write-behind write, and
 * the only way to make it cheap is group commit — every append that arrives
 * while an fsync runs is written with the next single write() and fsync().
 *
 * On disk: segments `segment-<seq>.journal`, each a sequence of records
 *   [u32 LE payload length][u32 LE CRC32 of payload][payload]
 *   payload = [u8 kind (1 set, 2 delete)][f64 LE version][f64 LE expiresAt]
 *             [u32 LE key length][key][value]
 * A record whose length or CRC does not check out marks a torn tail (a crash
 * in the middle of a write): it and everything after it in that segment are
 * ignored and cut off. Such a record was never acknowledged.
 *
 * Segments are released by reference count: every appended or replayed record
 * holds one reference on its segment until the stores have it (`release`); a
 * segment that is no longer appended to and holds no references is deleted.
 */

export type JournalRecordKind = 'set' | 'delete';

export interface JournalRecord {
  readonly kind: JournalRecordKind;
  readonly key: Buffer;
  /** Empty for deletes. */
  readonly value: Buffer;
  readonly version: number;
  /** Absolute expiry in ms since the epoch; 0 means never. */
  readonly expiresAt: number;
}

/** A record read back at start, with the segment it holds a reference on. */
export interface ReplayedRecord extends JournalRecord {
  readonly segment: number;
}

export interface JournalOptions {
  readonly dir: string;
  readonly segmentBytes: number;
  /** fsync every group commit before acknowledging it. */
  readonly fsync: boolean;
  readonly metrics?: PersistenceMetrics;
  readonly logger?: Logger;
}

/** Counters for tests, benchmarks and logs. */
export interface JournalStats {
  /** Group commits (one write, and one fsync when enabled, each). */
  readonly commits: number;
  readonly records: number;
  readonly bytes: number;
  /** Total time spent in write + fsync, in ms. */
  readonly commitMs: number;
  readonly segmentsDeleted: number;
  readonly tornTails: number;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  size: number;
  /** Records appended or replayed from it whose stores do not all have them yet. */
  refs: number;
  /** No longer appended to (or replayed to the end). */
  sealed: boolean;
  deleted: boolean;
}

interface Waiter {
  resolve(segment: number): void;
  reject(error: Error): void;
}

const HEADER = 8;
const FIXED = 1 + 8 + 8 + 4;
const KIND_SET = 1;
const KIND_DELETE = 2;
const NAME = /^segment-(\d{16})\.journal$/;

/** Creates `dir` if missing and writes a probe file: a real write is the only honest check (root passes access(2) on a read-only file system). */
export async function probeDirectory(dir: string): Promise<string | undefined> {
  const probe = join(dir, `.state-cache-probe-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
    await unlink(probe);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function encodeRecord(record: JournalRecord): Buffer {
  const payloadLength = FIXED + record.key.length + record.value.length;
  const buf = Buffer.allocUnsafe(HEADER + payloadLength);
  buf.writeUInt32LE(payloadLength, 0);
  let o = HEADER;
  buf.writeUInt8(record.kind === 'set' ? KIND_SET : KIND_DELETE, o); o += 1;
  buf.writeDoubleLE(record.version, o); o += 8;
  buf.writeDoubleLE(record.expiresAt, o); o += 8;
  buf.writeUInt32LE(record.key.length, o); o += 4;
  record.key.copy(buf, o); o += record.key.length;
  record.value.copy(buf, o);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER)), 4);
  return buf;
}

/** Decodes the records of one segment; `validBytes` < data.length means a torn tail. */
export function decodeSegment(data: Buffer): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset + HEADER <= data.length) {
    const length = data.readUInt32LE(offset);
    if (length < FIXED || offset + HEADER + length > data.length) break;
    const payload = data.subarray(offset + HEADER, offset + HEADER + length);
    if (crc32(payload) !== data.readUInt32LE(offset + 4)) break;
    const kind = payload.readUInt8(0);
    const keyLength = payload.readUInt32LE(17);
    if ((kind !== KIND_SET && kind !== KIND_DELETE) || FIXED + keyLength > length) break;
    // Copies, so replayed entries do not pin the whole segment buffer in memory.
    records.push({
      kind: kind === KIND_SET ? 'set' : 'delete',
      version: payload.readDoubleLE(1),
      expiresAt: payload.readDoubleLE(9),
      key: Buffer.from(payload.subarray(FIXED, FIXED + keyLength)),
      value: Buffer.from(payload.subarray(FIXED + keyLength)),
    });
    offset += HEADER + length;
  }
  return { records, validBytes: offset };
}

export class Journal {
  /** Opens the journal directory (creating it) and finds the segments to replay. */
  static async open(options: JournalOptions): Promise<Journal> {
    const problem = await probeDirectory(options.dir);
    if (problem) {
      throw new JournalError(`directory ${options.dir} is not writable (${problem}); mount a writable persistent volume there or set persistence.journal.dir`);
    }
    const names = (await readdir(options.dir)).filter((n) => NAME.test(n)).sort();
    const journal = new Journal(options);
    for (const name of names) {
      const seq = Number(NAME.exec(name)![1]);
      const path = join(options.dir, name);
      const size = (await stat(path)).size;
      journal.segments.set(seq, { seq, path, size, refs: 0, sealed: false, deleted: false });
      journal.nextSeq = Math.max(journal.nextSeq, seq + 1);
    }
    journal.updateGauges();
    return journal;
  }

  private readonly segments = new Map<number, Segment>();
  private nextSeq = 1;
  private active: { segment: Segment; handle: FileHandle } | undefined;
  private buffers: Buffer[] = [];
  private waiters: Waiter[] = [];
  private committing: Promise<void> | undefined;
  private readonly deletions = new Set<Promise<void>>();
  private closed = false;
  private replayed = false;
  private stats_ = { commits: 0, records: 0, bytes: 0, commitMs: 0, segmentsDeleted: 0, tornTails: 0 };

  private constructor(private readonly options: JournalOptions) {}

  get stats(): JournalStats {
    return { ...this.stats_ };
  }

  /** Segments on disk, oldest first (for tests and operations). */
  get segmentNumbers(): number[] {
    return [...this.segments.values()].filter((s) => !s.deleted).map((s) => s.seq).sort((a, b) => a - b);
  }

  /**
   * Reads back every record of the segments found at open, oldest first, in
   * append order. Each record holds a reference on its segment: call
   * `release(record.segment)` once the stores have it. Call once, before the
   * first append.
   */
  async *replay(): AsyncGenerator<ReplayedRecord> {
    if (this.replayed) throw new JournalError('replay() may run only once, before the first append');
    this.replayed = true;
    const existing = [...this.segments.values()].sort((a, b) => a.seq - b.seq);
    for (const segment of existing) {
      const data = await readFile(segment.path);
      const { records, validBytes } = decodeSegment(data);
      if (validBytes < data.length) {
        this.stats_.tornTails++;
        this.options.metrics?.journalTornRecords.inc();
        this.options.logger?.warn({ segment: segment.path, offset: validBytes, ignoredBytes: data.length - validBytes },
          'journal: torn or corrupt tail ignored (a write interrupted by a crash, never acknowledged); cutting it off');
        await truncate(segment.path, validBytes);
        segment.size = validBytes;
        this.updateGauges();
      }
      segment.refs += records.length;
      for (const record of records) {
        this.options.metrics?.replayedRecords.inc();
        yield { ...record, segment: segment.seq };
      }
      segment.sealed = true;
      await this.maybeDelete(segment);
    }
  }

  /**
   * Appends a record; resolves with its segment once it is written (and
   * fsynced, when enabled) together with every other record that arrived
   * meanwhile. Rejects with JournalError when the disk fails.
   */
  append(record: JournalRecord): Promise<number> {
    if (this.closed) return Promise.reject(new JournalError('closed'));
    this.replayed = true;
    this.buffers.push(encodeRecord(record));
    return new Promise<number>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.committing) this.committing = this.commitLoop();
    });
  }

  /** The stores have one record of `segment`: drop its reference. */
  release(segment: number): void {
    const s = this.segments.get(segment);
    if (!s || s.refs <= 0) {
      this.options.logger?.error({ segment }, 'journal: release of a segment without references (bug)');
      return;
    }
    s.refs--;
    if (s.refs === 0) this.track(this.maybeDelete(s));
  }

  private track(deletion: Promise<void>): void {
    this.deletions.add(deletion);
    void deletion.finally(() => this.deletions.delete(deletion));
  }

  /** Waits for appends in progress, then closes the active segment. Segments with references stay for the next replay. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.committing) await this.committing;
    if (this.active) {
      const { segment, handle } = this.active;
      this.active = undefined;
      await handle.close();
      segment.sealed = true;
      await this.maybeDelete(segment);
    }
    await Promise.all([...this.deletions]);
  }

  private async commitLoop(): Promise<void> {
    // Let every append already on its way (writers woken by the previous
    // commit, however many promise hops away) join this commit: one event
    // loop turn costs microseconds, a separate fsync costs a millisecond.
    await nextTurn();
    while (this.buffers.length > 0) {
      const buffers = this.buffers;
      const waiters = this.waiters;
      this.buffers = [];
      this.waiters = [];
      const started = performance.now();
      try {
        const active = await this.activeSegment();
        const data = buffers.length === 1 ? buffers[0] : Buffer.concat(buffers);
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await active.handle.write(data, written, data.length - written, null);
          written += bytesWritten;
        }
        if (this.options.fsync) await active.handle.datasync();
        active.segment.size += data.length;
        active.segment.refs += waiters.length;
        const ms = performance.now() - started;
        this.stats_.commits++;
        this.stats_.records += waiters.length;
        this.stats_.bytes += data.length;
        this.stats_.commitMs += ms;
        this.options.metrics?.journalFsyncs.inc();
        this.options.metrics?.journalFsyncDuration.observe(ms / 1000);
        this.options.metrics?.journalGroupSize.observe(waiters.length);
        this.updateGauges();
        for (const w of waiters) w.resolve(active.segment.seq);
        if (active.segment.size >= this.options.segmentBytes) await this.sealActive();
        await nextTurn();
      } catch (err) {
        // The segment may now end in a partial record: never append after it.
        this.options.logger?.error({ err }, 'journal: append failed; the writes are not acknowledged');
        await this.sealActive().catch(() => undefined);
        const error = new JournalError(`append failed: ${(err as Error).message}`, { cause: err });
        for (const w of waiters) w.reject(error);
      }
    }
    this.committing = undefined;
  }

  private async activeSegment(): Promise<{ segment: Segment; handle: FileHandle }> {
    if (this.active) return this.active;
    const seq = this.nextSeq++;
    const path = join(this.options.dir, `segment-${String(seq).padStart(16, '0')}.journal`);
    const handle = await open(path, 'a');
    // Make the new directory entry durable too, or a crash could lose the whole file.
    if (this.options.fsync) {
      const dir = await open(this.options.dir, 'r');
      try { await dir.sync(); } finally { await dir.close(); }
    }
    const segment: Segment = { seq, path, size: 0, refs: 0, sealed: false, deleted: false };
    this.segments.set(seq, segment);
    this.active = { segment, handle };
    this.updateGauges();
    return this.active;
  }

  private async sealActive(): Promise<void> {
    const active = this.active;
    if (!active) return;
    this.active = undefined;
    active.segment.sealed = true;
    await active.handle.close();
    await this.maybeDelete(active.segment);
  }

  private async maybeDelete(segment: Segment): Promise<void> {
    if (!segment.sealed || segment.refs > 0 || segment.deleted) return;
    segment.deleted = true;
    this.segments.delete(segment.seq);
    try {
      await unlink(segment.path);
      this.stats_.segmentsDeleted++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.options.logger?.error({ err, segment: segment.path }, 'journal: could not delete a flushed segment');
      }
    }
    this.updateGauges();
  }

  private updateGauges(): void {
    const m = this.options.metrics;
    if (!m) return;
    let bytes = 0;
    let count = 0;
    for (const s of this.segments.values()) { bytes += s.size; count++; }
    m.journalBytes.set(bytes);
    m.journalSegments.set(count);
  }
}

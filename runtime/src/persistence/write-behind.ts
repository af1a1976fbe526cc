import type { Logger } from 'pino';
import { backoffDelay, BackoffOptions } from './backoff';
import { asUnavailable, keyId, StoreLink, writableLinks } from './chain';
import { DeadLetter, DeadLetterFile } from './dead-letter';
import { PersistenceClosedError, QueueFullError } from './errors';
import { Journal, JournalRecord } from './journal';
import { PersistenceMetrics } from './metrics';
import { BatchResult, CacheStore, StoredDelete, StoredEntry, StoreRejectedError } from '../stores/store';

/**
 * Write-behind: a write is acknowledged once it is in memory (and, with the
 * journal, fsynced there); one queue per writable store moves it to the store
 * in coalesced batches.
 *
 * The queue is hand-written rather than taken from a job-queue library because
 * it is on the hot path of every write and needs exactly these properties,
 * which general-purpose queues do not combine:
 * - coalescing per key, newest version wins, in O(1) (a Map keyed by the key);
 * - a key with a batch in flight keeps accepting newer versions, and the
 *   newer version is not lost when the older batch completes (a slot is only
 *   removed if its current version is the one that was flushed);
 * - per-key retries, so one key a store keeps refusing does not hold up the
 *   others, and a store-wide pause (backoff) when the whole store is down;
 * - bounded by entries and bytes with block (backpressure) or reject;
 * - journal references released exactly when every store has a record, so
 *   journal segments can be deleted.
 * Nothing leaves a queue except by reaching its store or the dead-letter file.
 */

export interface WriteBehindOptions {
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly maxPendingEntries: number;
  readonly maxPendingBytes: number;
  readonly whenFull: 'block' | 'reject';
  readonly blockTimeoutMs: number;
  readonly retry: BackoffOptions & { readonly attempts: number };
  readonly deadLetter: DeadLetterFile;
  readonly journal?: Journal;
  readonly metrics?: PersistenceMetrics;
  readonly logger?: Logger;
  /** For tests: the jitter source. */
  readonly random?: () => number;
}

/** A write or delete shared by every store queue; released to the journal once all are done with it. */
interface Op {
  readonly kind: 'set' | 'delete';
  readonly key: Buffer;
  readonly value: Buffer;
  readonly version: number;
  readonly expiresAt: number;
  readonly bytes: number;
  /** Journal segment holding this op, if journaled. */
  readonly segment: number | undefined;
  /** Store queues that still need it. */
  refs: number;
}

interface Slot {
  readonly id: string;
  /** The newest op for this key. */
  op: Op;
  /** The op a batch is writing right now, if any (may be older than `op`). */
  inFlight: Op | undefined;
  enqueuedAt: number;
  attempts: number;
  /** Not retried before this time (ms, performance clock); 0 = ready. */
  notBefore: number;
  lastError: string;
  /** Passivation waiting for this key to be stored (rare: created on first use). */
  watchers: Array<{ version: number; resolve(): void; reject(e: Error): void }> | undefined;
}

interface Blocked {
  readonly entries: number;
  readonly bytes: number;
  timer: NodeJS.Timeout;
  resolve(): void;
  reject(e: Error): void;
}

/** A write between `prepare` and `commit` / `abort`: holds room in the queues (and journal references). */
export interface PreparedWrite {
  readonly records: readonly JournalRecord[];
  /** Journal segment of each record, when journaled. */
  segments: number[] | undefined;
  readonly bytes: number;
  state: 'reserved' | 'committed' | 'aborted';
}

const EMPTY = Buffer.alloc(0);

/** How a flush ended. */
export interface FlushReport {
  /** Keys (per store, summed) still not in their store. */
  readonly remaining: number;
  readonly timedOut: boolean;
}

const now = (): number => performance.now();

class StoreQueue {
  readonly slots = new Map<string, Slot>();
  bytes = 0;
  private batchInFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private pausedUntil = 0;
  private consecutiveFailures = 0;
  draining = false;
  closed = false;
  batches = 0;

  constructor(readonly link: StoreLink, private readonly wb: WriteBehind, private readonly o: WriteBehindOptions) {
    o.metrics?.trackQueue(link.store.name, {
      pending: () => this.slots.size,
      pendingBytes: () => this.bytes,
      oldestAgeMs: () => this.oldestAgeMs(),
      maxEntries: o.maxPendingEntries,
      maxBytes: o.maxPendingBytes,
    });
  }

  get store(): CacheStore {
    return this.link.store;
  }

  oldestAgeMs(): number {
    for (const slot of this.slots.values()) return now() - slot.enqueuedAt;
    return 0;
  }

  /** Room for `entries` more keys and `bytes` more bytes. */
  hasRoom(entries: number, bytes: number): boolean {
    return this.slots.size + entries <= this.o.maxPendingEntries && this.bytes + bytes <= this.o.maxPendingBytes;
  }

  enqueue(op: Op): void {
    const id = keyId(op.key);
    const slot = this.slots.get(id);
    if (!slot) {
      this.slots.set(id, { id, op, inFlight: undefined, enqueuedAt: now(), attempts: 0, notBefore: 0, lastError: '', watchers: undefined });
      this.bytes += op.bytes;
    } else if (op.version >= slot.op.version) {
      const older = slot.op;
      slot.op = op;
      this.bytes += op.bytes - older.bytes;
      // A newer version gets fresh retries; the superseded op is done unless a batch still writes it.
      slot.attempts = 0;
      slot.notBefore = 0;
      if (slot.inFlight !== older) this.wb.done(older);
    } else {
      // Older than what is queued (e.g. replay after a newer write): nothing to store.
      this.wb.done(op);
    }
    this.schedule();
  }

  /** Resolves once this store has `version` (or newer) of the key, rejects if it went to the dead-letter file. */
  whenStored(key: Buffer, version: number): Promise<void> {
    const slot = this.slots.get(keyId(key));
    // No slot: the store has every version this queue was given.
    if (!slot || slot.op.version < version) return Promise.resolve();
    return new Promise((resolve, reject) => (slot.watchers ??= []).push({ version, resolve, reject }));
  }

  schedule(): void {
    if (this.batchInFlight || this.closed || this.slots.size === 0) return;
    const t = now();
    if (this.pausedUntil > t) return this.arm(this.pausedUntil - t);
    // Cheap bound first (this runs on every write): ready <= pending - in flight, and nothing is in flight here.
    const full = this.slots.size >= this.o.batchSize && this.readyCount(this.o.batchSize) >= this.o.batchSize;
    // Draining flushes whatever is ready, but never spins on keys that wait for their retry.
    if (full || (this.draining && this.readyCount(1) > 0)) {
      this.clearTimer();
      this.batchInFlight = this.runBatch().finally(() => {
        this.batchInFlight = undefined;
        this.schedule();
      });
      return;
    }
    // Fewer than a batch: flush at the interval, or when the earliest retry is due.
    let due = Infinity;
    for (const slot of this.slots.values()) {
      if (slot.inFlight) continue;
      const at = slot.notBefore > 0 ? slot.notBefore : slot.enqueuedAt + this.o.flushIntervalMs;
      if (at < due) due = at;
      if (slot.notBefore === 0) break; // insertion order: later ready slots are younger
    }
    if (due !== Infinity) this.arm(Math.max(0, due - t));
  }

  async idle(): Promise<void> {
    while (this.batchInFlight) await this.batchInFlight;
  }

  isFailing(id: string): boolean {
    const slot = this.slots.get(id);
    return slot !== undefined && (slot.attempts > 0 || this.consecutiveFailures > 0);
  }

  /** The store answers again (health probe): end the store-wide pause rather than wait out its backoff. */
  wake(): void {
    if (this.consecutiveFailures === 0) return;
    this.pausedUntil = 0;
    this.schedule();
  }

  /** Shutdown: every pending key is tried at once, backoffs are forgotten. */
  startDraining(): void {
    this.draining = true;
    this.pausedUntil = 0;
    for (const slot of this.slots.values()) slot.notBefore = 0;
    this.schedule();
  }

  stop(): void {
    this.closed = true;
    this.clearTimer();
  }

  private arm(ms: number): void {
    const at = now() + ms;
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.forceFlush();
    }, ms);
    this.timer.unref();
  }

  private forceFlush(): void {
    if (this.batchInFlight || this.closed || this.slots.size === 0) return;
    const t = now();
    if (this.pausedUntil > t) return this.arm(this.pausedUntil - t);
    if (this.readyCount(1) === 0) return this.schedule();
    this.batchInFlight = this.runBatch().finally(() => {
      this.batchInFlight = undefined;
      this.schedule();
    });
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /** Ready slots (not in flight, not waiting for a retry), counted up to `limit`. */
  private readyCount(limit: number): number {
    let n = 0;
    const t = now();
    for (const slot of this.slots.values()) {
      if (!slot.inFlight && slot.notBefore <= t) n++;
      if (n >= limit) break;
    }
    return n;
  }

  private async runBatch(): Promise<void> {
    const t = now();
    const batch: Array<{ slot: Slot; op: Op }> = [];
    for (const slot of this.slots.values()) {
      if (slot.inFlight || slot.notBefore > t) continue;
      slot.inFlight = slot.op;
      batch.push({ slot, op: slot.op });
      if (batch.length >= this.o.batchSize) break;
    }
    if (batch.length === 0) return;
    this.batches++;
    const name = this.store.name;
    const sets: StoredEntry[] = [];
    const dels: StoredDelete[] = [];
    for (const { op } of batch) {
      if (op.kind === 'set') sets.push({ key: op.key, value: op.value, version: op.version, expiresAt: op.expiresAt });
      else dels.push({ key: op.key, version: op.version });
    }
    const stopTimer = this.o.metrics?.flushDuration.startTimer({ store: name });
    this.o.metrics?.flushBatchSize.observe({ store: name }, batch.length);
    let rejected: Map<string, Error>;
    try {
      const results: BatchResult[] = await Promise.all([
        sets.length > 0 ? this.store.writeBatch(sets) : { rejected: [] },
        dels.length > 0 ? this.store.deleteBatch(dels) : { rejected: [] },
      ]);
      rejected = new Map();
      for (const r of results) for (const { key, error } of r.rejected) rejected.set(keyId(key), error);
      this.consecutiveFailures = 0;
    } catch (err) {
      const error = asUnavailable(name, err);
      stopTimer?.();
      this.consecutiveFailures++;
      const delay = backoffDelay(this.o.retry, this.consecutiveFailures, this.o.random);
      this.pausedUntil = now() + delay;
      this.o.metrics?.flushBatches.inc({ store: name, outcome: 'failed' });
      this.o.metrics?.storeErrors.inc({ store: name, kind: 'unavailable' });
      this.o.logger?.warn({ store: name, entries: batch.length, retryInMs: delay, failures: this.consecutiveFailures, err: error.message },
        'write-behind: store batch failed; retrying after backoff');
      await this.failed(batch.map(({ slot, op }) => ({ slot, op, error, permanent: false })), false);
      return;
    }
    stopTimer?.();
    this.o.metrics?.flushBatches.inc({ store: name, outcome: rejected.size === 0 ? 'ok' : 'partial' });
    const failures: Array<{ slot: Slot; op: Op; error: Error; permanent: boolean }> = [];
    for (const { slot, op } of batch) {
      const error = rejected.get(slot.id);
      if (error) {
        this.o.metrics?.storeErrors.inc({ store: name, kind: 'rejected' });
        failures.push({ slot, op, error, permanent: error instanceof StoreRejectedError });
      } else {
        this.succeeded(slot, op);
      }
    }
    if (failures.length > 0) await this.failed(failures, true);
  }

  private succeeded(slot: Slot, op: Op): void {
    slot.inFlight = undefined;
    this.wb.done(op);
    if (slot.watchers !== undefined) {
      const waiting = slot.watchers.filter((w) => op.version < w.version);
      for (const w of slot.watchers) if (op.version >= w.version) w.resolve();
      slot.watchers = waiting.length > 0 ? waiting : undefined;
    }
    if (slot.op === op) {
      this.slots.delete(slot.id);
      this.bytes -= op.bytes;
      this.wb.roomFreed();
    }
  }

  /**
   * Failed entries are retried with backoff. Entries the store refused one by
   * one (`perKey`) are retried per key, and go to the dead-letter file when the
   * refusal is permanent or their retries are exhausted. A whole batch failing
   * means the store is down: that is no fault of the entries, so it uses up
   * none of their retries; they wait in the queue (bounded by
   * maxPendingEntries / maxPendingBytes, past which the full policy applies)
   * behind the store-wide pause until the store answers again.
   */
  private async failed(failures: Array<{ slot: Slot; op: Op; error: Error; permanent: boolean }>, perKey: boolean): Promise<void> {
    const dead: Array<{ slot: Slot; op: Op; error: Error }> = [];
    for (const f of failures) {
      const { slot, op } = f;
      slot.inFlight = undefined;
      if (perKey) slot.attempts++;
      slot.lastError = f.error.message;
      if (slot.op !== op) {
        // A newer version arrived meanwhile: the failed op is superseded, the newer one is tried next.
        this.wb.done(op);
        slot.attempts = 0;
        slot.notBefore = 0;
        continue;
      }
      if (perKey && (f.permanent || slot.attempts >= this.o.retry.attempts)) {
        dead.push({ slot, op, error: f.error });
      } else {
        // Whoever waits for the store to have the entry (passivation) learns that it is failing; the entry stays queued.
        for (const w of slot.watchers ?? []) w.reject(f.error);
        slot.watchers = undefined;
        this.o.metrics?.retries.inc({ store: this.store.name });
        slot.notBefore = perKey ? now() + backoffDelay(this.o.retry, slot.attempts, this.o.random) : 0;
      }
    }
    if (dead.length === 0) return;
    const letters: DeadLetter[] = dead.map(({ op, slot, error }) => ({
      kind: op.kind,
      key: op.key,
      value: op.value,
      version: op.version,
      expiresAt: op.expiresAt,
      store: this.store.name,
      error: error.message,
      attempts: slot.attempts,
    }));
    try {
      await this.o.deadLetter.write(letters);
    } catch (err) {
      // Cannot record them: keep them queued and try again later rather than drop them.
      this.o.logger?.error({ err, file: this.o.deadLetter.path, entries: dead.length },
        'write-behind: the dead-letter file cannot be written; the entries stay queued');
      for (const { slot } of dead) slot.notBefore = now() + this.o.retry.maxDelayMs;
      return;
    }
    for (const { slot, op, error } of dead) {
      for (const w of slot.watchers ?? []) w.reject(error);
      slot.watchers = undefined;
      this.wb.done(op);
      if (slot.op === op) {
        this.slots.delete(slot.id);
        this.bytes -= op.bytes;
      } else {
        slot.attempts = 0;
        slot.notBefore = 0;
      }
    }
    this.wb.roomFreed();
  }

}

export class WriteBehind {
  private readonly queues: StoreQueue[];
  private blocked: Blocked[] = [];
  private closed = false;
  /** Writes admitted but not queued yet (waiting for the journal): counted against the bounds. */
  private reservedEntries = 0;
  private reservedBytes = 0;

  constructor(links: readonly StoreLink[], private readonly options: WriteBehindOptions) {
    this.queues = writableLinks(links).map((l) => new StoreQueue(l, this, options));
  }

  /** Keys waiting, per store. */
  pending(): Record<string, number> {
    return Object.fromEntries(this.queues.map((q) => [q.store.name, q.slots.size]));
  }

  /** Keys waiting, summed over the stores. */
  get pendingTotal(): number {
    return this.queues.reduce((n, q) => n + q.slots.size, 0);
  }

  /** Store batches run so far, summed over the stores. */
  get batches(): number {
    return this.queues.reduce((n, q) => n + q.batches, 0);
  }

  /** Acknowledged once queued (and journaled): rejects with QueueFullError or JournalError. */
  async write(entry: StoredEntry): Promise<void> {
    this.commit(await this.prepare([{ kind: 'set', key: entry.key, value: entry.value, version: entry.version, expiresAt: entry.expiresAt }]));
  }

  async delete(del: StoredDelete): Promise<void> {
    this.commit(await this.prepare([{ kind: 'delete', key: del.key, value: EMPTY, version: del.version, expiresAt: 0 }]));
  }

  /**
   * First phase of a write, before memory changes: takes room in the queues
   * (and appends to the journal). Returns the prepared write synchronously
   * when there is nothing to wait for (room, no journal: the hot path, no
   * promise); a promise when it waits for room (policy block) or the journal.
   * Throws QueueFullError synchronously when the queue is full and the policy
   * is reject. Follow with `commit` once memory changed, or `abort`.
   */
  prepare(records: readonly JournalRecord[]): PreparedWrite | Promise<PreparedWrite> {
    if (this.closed) throw new PersistenceClosedError();
    let bytes = 0;
    for (const r of records) bytes += r.key.length + r.value.length;
    const prepared: PreparedWrite = { records, segments: undefined, bytes, state: 'reserved' };
    if (this.blocked.length === 0 && this.hasRoom(records.length, bytes)) {
      this.reserve(records.length, bytes, 1);
      return this.options.journal ? this.journal(prepared) : prepared;
    }
    const waited = this.waitForRoom(records.length, bytes); // throws at once for policy reject
    return waited.then(() => (this.options.journal ? this.journal(prepared) : prepared));
  }

  /** Second phase: memory has the write; queue it for the stores. */
  commit(prepared: PreparedWrite): void {
    if (prepared.state !== 'reserved') return;
    prepared.state = 'committed';
    this.reserve(prepared.records.length, prepared.bytes, -1);
    prepared.records.forEach((r, i) => this.enqueue(r, prepared.segments?.[i]));
    if (this.blocked.length > 0) this.roomFreed();
  }

  /**
   * The write was not applied to memory after all: gives back its room. Its
   * journal records are released (they stay on disk until their segment goes;
   * a crash before then replays them, as if the write had been applied).
   */
  abort(prepared: PreparedWrite): void {
    if (prepared.state !== 'reserved') return;
    prepared.state = 'aborted';
    this.reserve(prepared.records.length, prepared.bytes, -1);
    for (const segment of prepared.segments ?? []) this.options.journal?.release(segment);
    this.roomFreed();
  }

  /**
   * The newest write of `key` not yet in every store: what a load must return
   * instead of the store's older copy (after an eviction). `null` for a
   * pending delete, undefined when the queues hold nothing for the key.
   */
  peek(key: Buffer): StoredEntry | null | undefined {
    // Coherence asks this for every key another instance announces: no key string while every queue is empty.
    if (this.queues.every((q) => q.slots.size === 0)) return undefined;
    let newest: Op | undefined;
    const id = keyId(key);
    for (const q of this.queues) {
      const op = q.slots.get(id)?.op;
      if (op && (!newest || op.version > newest.version)) newest = op;
    }
    if (!newest) return undefined;
    if (newest.kind === 'delete') return null;
    return { key: newest.key, value: newest.value, version: newest.version, expiresAt: newest.expiresAt };
  }

  /** True when some store is failing to take `key` (retrying, or the store is paused after an outage). */
  isFailing(key: Buffer): boolean {
    const id = keyId(key);
    return this.queues.some((q) => q.isFailing(id));
  }

  /** Queues a record replayed from the journal; never blocks (it was acknowledged before the crash). */
  enqueueReplayed(record: JournalRecord, segment: number): void {
    this.enqueue(record, segment);
  }

  /** The health probe found `store` answering again: its queue flushes now instead of after its backoff. */
  storeAnswers(store: CacheStore): void {
    for (const q of this.queues) if (q.link.store === store) q.wake();
  }

  /** Resolves once every store has `version` (or newer) of the key; for passivation. */
  async whenStored(key: Buffer, version: number): Promise<void> {
    await Promise.all(this.queues.map((q) => q.whenStored(key, version)));
  }

  /**
   * Flushes everything pending, ignoring the batch interval, for at most
   * `deadlineMs` (shutdown). Entries in retry backoff are tried again at once.
   */
  async flush(deadlineMs: number): Promise<FlushReport> {
    const deadline = now() + deadlineMs;
    for (const q of this.queues) q.startDraining();
    let timedOut = false;
    while (this.pendingTotal > 0) {
      if (now() >= deadline) { timedOut = true; break; }
      await new Promise((r) => setTimeout(r, Math.min(10, Math.max(1, deadline - now()))));
      for (const q of this.queues) q.schedule();
    }
    for (const q of this.queues) q.draining = false;
    const remaining = this.pendingTotal;
    if (remaining > 0) {
      this.options.logger?.error({ remaining: this.pending(), journal: Boolean(this.options.journal) },
        this.options.journal
          ? `write-behind: ${remaining} writes not flushed within the deadline; they stay in the journal and are replayed at the next start`
          : `write-behind: ${remaining} writes not flushed within the deadline and there is no journal: they are lost`);
    }
    return { remaining, timedOut };
  }

  /** Stops the timers and fails blocked writers; call after flush. */
  async close(): Promise<void> {
    this.closed = true;
    for (const b of this.blocked) { clearTimeout(b.timer); b.reject(new PersistenceClosedError()); }
    this.blocked = [];
    for (const q of this.queues) q.stop();
    await Promise.all(this.queues.map((q) => q.idle()));
  }

  /** A queue is done with an op: when all are, its journal record is released. */
  done(op: Op): void {
    op.refs--;
    if (op.refs === 0 && op.segment !== undefined) this.options.journal?.release(op.segment);
  }

  /** Wakes blocked writers, oldest first, while there is room. */
  roomFreed(): void {
    while (this.blocked.length > 0 && this.hasRoom(this.blocked[0].entries, this.blocked[0].bytes)) {
      const b = this.blocked.shift()!;
      clearTimeout(b.timer);
      this.reserve(b.entries, b.bytes, 1);
      b.resolve();
    }
  }

  /** Counts every admitted write as a new key (coalescing may make it none), so the bounds hold. */
  private hasRoom(entries: number, bytes: number): boolean {
    return this.queues.every((q) => q.hasRoom(this.reservedEntries + entries, this.reservedBytes + bytes));
  }

  private reserve(entries: number, bytes: number, sign: 1 | -1): void {
    this.reservedEntries += sign * entries;
    this.reservedBytes += sign * bytes;
  }

  private async journal(prepared: PreparedWrite): Promise<PreparedWrite> {
    const journal = this.options.journal!;
    const results = await Promise.allSettled(prepared.records.map((r) => journal.append(r)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // Not acknowledged: release what was appended, give the room back.
      for (const r of results) if (r.status === 'fulfilled') journal.release(r.value);
      prepared.state = 'aborted';
      this.reserve(prepared.records.length, prepared.bytes, -1);
      this.roomFreed();
      throw failed.reason;
    }
    prepared.segments = results.map((r) => (r as PromiseFulfilledResult<number>).value);
    return prepared;
  }

  private waitForRoom(entries: number, bytes: number): Promise<void> {
    const o = this.options;
    o.metrics?.queueFull.inc({ policy: o.whenFull });
    if (bytes > o.maxPendingBytes) {
      throw new QueueFullError(`write-behind queue full: the write (${bytes} bytes) is larger than writeBehind.maxPendingBytes (${o.maxPendingBytes})`);
    }
    if (entries > o.maxPendingEntries) {
      throw new QueueFullError(`write-behind queue full: the write (${entries} keys) is larger than writeBehind.maxPendingEntries (${o.maxPendingEntries})`);
    }
    const bound = `${o.maxPendingEntries} entries / ${o.maxPendingBytes} bytes`;
    if (o.whenFull === 'reject') {
      throw new QueueFullError(`write-behind queue full (${bound}): the stores are behind; retry later`);
    }
    return new Promise<void>((resolve, reject) => {
      const b: Blocked = {
        entries,
        bytes,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.blocked.splice(this.blocked.indexOf(b), 1);
          reject(new QueueFullError(`write-behind queue full (${bound}): no room within ${o.blockTimeoutMs} ms; the stores are behind, retry later`));
        }, o.blockTimeoutMs),
      };
      this.blocked.push(b);
    });
  }

  private enqueue(record: JournalRecord, segment: number | undefined): void {
    if (this.queues.length === 0) {
      if (segment !== undefined) this.options.journal?.release(segment);
      return;
    }
    const op: Op = {
      kind: record.kind,
      key: record.key,
      value: record.value,
      version: record.version,
      expiresAt: record.expiresAt,
      bytes: record.key.length + record.value.length,
      segment,
      refs: this.queues.length,
    };
    for (const q of this.queues) q.enqueue(op);
  }
}

import type { Logger } from 'pino';
import { QueueFullError } from './errors';
import { JournalRecord } from './journal';
import { Persistence } from './persistence';
import { PreparedWrite } from './write-behind';
import type { EntryChange, EntryDelete, EntryWrite } from '../keyspace/hooks';
import { StoredEntry } from '../stores/store';
import { PersistenceUnavailableError } from '../vocabulary';

/**
 * The adapter between the keyspace's persistence hooks
 * (runtime/src/keyspace/hooks.ts: beforeChange / afterChange / load /
 * passivate / flush / ready) and the persistence layer: `new KeyspaceHooks()`
 * is the keyspace's `PersistenceHooks`.
 *
 * - write-through: beforeChange returns the group commit's promise; memory
 *   changes only if every required store took the change.
 * - write-behind: beforeChange takes room in the queues (and appends to the
 *   journal: then it returns a promise that resolves after the fsync); the
 *   hot path without journal and with room returns undefined, no promise.
 *   afterChange queues the changes for the stores.
 * - load: the newest queued write first, then the stores in chain order.
 * - passivate: an evicted entry is either in the required stores already
 *   (write-through; write-behind once flushed) or owned by the write-behind
 *   queue, which serves loads until the store has it. When the store is
 *   failing that key, eviction is refused (the write that needed the room
 *   fails with the OOM error) instead of risking the entry.
 */

/** The keyspace's change types (keyspace/hooks.ts), under the names persistence has used. */
export type HookEntryWrite = EntryWrite;
export type HookEntryDelete = EntryDelete;
export type HookEntryChange = EntryChange;

const EMPTY = Buffer.alloc(0);

export class KeyspaceHooks {
  private persistence: Persistence | undefined;
  private readonly prepared = new WeakMap<readonly HookEntryChange[], PreparedWrite>();
  /** A write prepared synchronously and not yet committed: if the next hook call finds it, memory refused it. */
  private lastSync: PreparedWrite | undefined;
  /** The changes of lastSync: the hot path's pairing, without the WeakMap (whose entries cost the collector). */
  private lastSyncChanges: readonly HookEntryChange[] | undefined;

  constructor(private readonly logger?: Logger) {}

  /** Connects the started persistence layer (the keyspace exists first: persistence replays into it). */
  attach(persistence: Persistence): void {
    this.persistence = persistence;
  }

  persistsWrites(): boolean {
    const p = this.persistence;
    return p !== undefined && p.mode !== 'none';
  }

  beforeChange(changes: readonly HookEntryChange[]): Promise<void> | undefined {
    this.settleLastSync();
    const p = this.persistence;
    if (!p || p.mode === 'none') return undefined;
    if (p.mode === 'write-through') {
      return p.writeMany(changes.map(toStored)).catch((err) => { throw this.map(err); });
    }
    let prepared: PreparedWrite | Promise<PreparedWrite>;
    try {
      prepared = p.prepare(changes.map(toRecord));
    } catch (err) {
      throw this.map(err);
    }
    if (!(prepared instanceof Promise)) {
      this.lastSync = prepared;
      this.lastSyncChanges = changes;
      return undefined;
    }
    return prepared.then((ready) => {
      this.prepared.set(changes, ready);
      // Memory applies the change in the microtask after this one; if it threw, give the room back.
      setImmediate(() => p.abort(ready));
    }, (err) => { throw this.map(err); });
  }

  afterChange(changes: readonly HookEntryChange[]): void {
    let prepared: PreparedWrite | undefined;
    if (this.lastSyncChanges === changes) {
      prepared = this.lastSync;
      this.lastSync = undefined;
      this.lastSyncChanges = undefined;
    } else {
      prepared = this.prepared.get(changes);
      this.prepared.delete(changes);
    }
    if (prepared) this.persistence?.commit(prepared);
  }

  load(key: Buffer): Promise<StoredEntry | undefined> | undefined {
    const p = this.persistence;
    if (!p || !p.hasStores) return undefined;
    return p.load(key).catch((err) => { throw this.map(err); });
  }

  /** Throws PassivationError (an OutOfMemoryError to the client) when the entry cannot leave memory. */
  passivate(entry: StoredEntry): void {
    this.persistence?.passivate(entry);
  }


  async flush(deadline: number): Promise<void> {
    const p = this.persistence;
    if (!p) return;
    // The server's deadline bounds everything; persistence.shutdown.flushDeadlineMs may be shorter.
    const report = await p.close(Math.max(0, Math.min(deadline - Date.now(), p.flushDeadlineMs)));
    if (report.remaining > 0) this.logger?.error({ remaining: report.remaining }, 'shutdown: writes left unflushed');
  }

  ready(): boolean {
    return this.persistence?.readyNow ?? false;
  }

  status(): object {
    return this.persistence?.status() ?? { mode: 'starting', ready: false, stores: [] };
  }

  /** No persistence mode, no store to load from, no passivation: every hook would do nothing. */
  memoryOnly(): boolean {
    const p = this.persistence;
    return p !== undefined && p.mode === 'none' && !p.hasStores && !p.passivationEnabled;
  }

  private settleLastSync(): void {
    const last = this.lastSync;
    if (!last) return;
    this.lastSync = undefined;
    this.lastSyncChanges = undefined;
    this.persistence?.abort(last); // no-op once committed
  }

  /** A queue-full error reaches the client as it is; any other failure of persistence as STOREUNAVAILABLE. */
  private map(err: unknown): Error {
    if (err instanceof QueueFullError || err instanceof PersistenceUnavailableError) return err;
    return new PersistenceUnavailableError((err as Error).message, { cause: err });
  }
}

function toStored(c: HookEntryChange): { kind: 'set'; entry: StoredEntry } | { kind: 'delete'; del: { key: Buffer; version: number } } {
  return c.kind === 'set'
    ? { kind: 'set', entry: { key: c.key, value: c.value, version: c.version, expiresAt: c.expiresAt } }
    : { kind: 'delete', del: { key: c.key, version: c.version } };
}

function toRecord(c: HookEntryChange): JournalRecord {
  return c.kind === 'set'
    ? { kind: 'set', key: c.key, value: c.value, version: c.version, expiresAt: c.expiresAt }
    : { kind: 'delete', key: c.key, value: EMPTY, version: c.version, expiresAt: 0 };
}

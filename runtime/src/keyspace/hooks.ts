/**
 * The seam between the keyspace and persistence (runtime/src/persistence/).
 * The keyspace never knows which stores are behind it: it calls these hooks,
 * and persistence decides what write-through, write-behind, load-on-miss and
 * passivation mean.
 *
 * Contract, per hook:
 *
 * - `beforeChange(changes)` runs before memory changes, with the versions the
 *   changes will carry. Return `undefined` to let the change apply at once (the
 *   fast path: no promise per command). Return a promise to make the write wait
 *   (write-through, or write-behind with a blocking full queue): memory changes
 *   only after it resolves; if it rejects, memory is left unchanged and the
 *   client gets the error (use the error classes below so the protocol can map
 *   them). Throw synchronously to refuse (e.g. `QueueFullError`).
 *   While a change to a key waits, later writes to the same key wait behind it,
 *   so read-modify-write commands (INCR, APPEND, SET NX...) stay atomic.
 * - `afterChange(changes)` runs right after memory changed (write-behind:
 *   enqueue here; the versions are the ones now in memory). Must not throw.
 * - `load(key)` is called on a miss. Return `undefined` when there is nothing to
 *   load from (fast miss), or a promise of the entry. The keyspace makes loads
 *   single-flight per key and inserts what was loaded (keeping any newer
 *   in-memory write).
 * - `passivate(entry)` is called synchronously before an evicted entry leaves
 *   memory. It must take ownership of the entry (e.g. queue its write) so that
 *   a later `load` of the key returns it. Throw to refuse the eviction: the
 *   write that needed the room then fails with the thrown error.
 * - `flush(deadline)` is awaited on shutdown, after in-flight commands have
 *   finished; `deadline` is a ms-since-epoch time to finish by.
 * - `ready()` gates /readyz: start-up (journal replay, preload) is done, so
 *   this instance can serve. A store being down does not make it false.
 * - `status()` is what /status shows of persistence (mode, store health).
 *
 * Expired entries are not reported: stores keep `expiresAt` and never return
 * an expired entry. FLUSHDB / FLUSHALL report one delete per key.
 */
import type { Entry, EntryChange as VocabularyChange } from '../vocabulary';

/** A change's kinds are the journal's and the stores' words too: 'set' and 'delete' (vocabulary.ts). */
export type EntryChange = VocabularyChange;
export type EntryWrite = Extract<EntryChange, { kind: 'set' }>;
export type EntryDelete = Extract<EntryChange, { kind: 'delete' }>;

/** An entry handed to or loaded from persistence. */
export type LoadedEntry = Entry;

export interface PersistenceHooks {
  beforeChange(changes: readonly EntryChange[]): Promise<void> | undefined;
  afterChange(changes: readonly EntryChange[]): void;
  load(key: Buffer): Promise<LoadedEntry | undefined> | undefined;
  passivate(entry: LoadedEntry): void;
  flush(deadline: number): Promise<void>;
  ready(): boolean;
  /**
   * False when writes reach no store (no persistence attached yet, or mode
   * none): aggregates are then changed in place, with no copy and no encoding
   * per command. Absent means true.
   */
  persistsWrites?(): boolean;
  status?(): object;
  /** True when the hooks do nothing (no persistence mode, no stores): the keyspace then skips them (Keyspace.hooksChanged). */
  memoryOnly?(): boolean;
}

/** Hooks of a memory-only cache: nothing waits, nothing loads. */
export const NO_PERSISTENCE: PersistenceHooks = {
  beforeChange: () => undefined,
  afterChange: () => undefined,
  load: () => undefined,
  passivate: () => undefined,
  flush: async () => undefined,
  ready: () => true,
  status: () => ({ mode: 'none', ready: true, stores: [] }),
};

/** What the hooks raise to the keyspace's callers (errors.ts maps them to RESP and HTTP). */
export { QueueFullError, PersistenceUnavailableError } from '../vocabulary';

/**
 * The one interface every cache store implements (file, postgres, remote,
 * custom). A store never knows about the protocol or the keyspace: it moves
 * versioned entries in and out of durable storage.
 *
 * Versions: every entry carries a version that only grows for a key, also
 * across restarts (the keyspace derives versions from a microsecond clock and
 * never goes below a version it has seen). Versioned stores use it to apply
 * writes conditionally, so a late batch never overwrites a newer value.
 */
import type { Deletion, Entry } from '../vocabulary';

/** One entry as a store holds it. */
/** An entry as a store keeps it (vocabulary.ts). */
export type StoredEntry = Entry;

/** A delete, conditional on the version the keyspace had when it deleted. */
export type StoredDelete = Deletion;

/** What a store declares about itself; the persistence layer checks combinations at start. */
export interface StoreCharacteristics {
  /** Other cache instances may use the same store (so purge and passivation are unsafe). */
  readonly shareable: boolean;
  /** The store keeps expiry and never returns an expired entry. */
  readonly supportsTtl: boolean;
  /** Writes are conditional on the version (a late write never overwrites a newer one). */
  readonly versioned: boolean;
  /** The store is only read from (load, preload), never written. */
  readonly readOnly: boolean;
}

/** Keys a store refused one by one; the rest of the batch was applied. */
export interface BatchResult {
  readonly rejected: ReadonlyArray<{ readonly key: Buffer; readonly error: Error }>;
}

export interface CacheStore {
  /** The store's name in the config, used in logs and metrics. */
  readonly name: string;
  readonly characteristics: StoreCharacteristics;
  /** Connects and prepares (e.g. creates its table). Throws StoreUnavailableError. */
  start(): Promise<void>;
  /** One entry, or undefined when absent or expired. */
  load(key: Buffer): Promise<StoredEntry | undefined>;
  /** Entries in the order of `keys`; undefined where absent or expired. */
  loadMany(keys: readonly Buffer[]): Promise<Array<StoredEntry | undefined>>;
  /**
   * Writes a batch (at most one entry per key). Throws StoreUnavailableError
   * when the store cannot be reached (nothing or not all was applied: retry the
   * whole batch; conditional writes make the retry safe). Keys the store
   * refuses individually come back in `rejected`.
   */
  writeBatch(entries: readonly StoredEntry[]): Promise<BatchResult>;
  /** Deletes a batch; versioned stores delete only rows not newer than the version. */
  deleteBatch(deletes: readonly StoredDelete[]): Promise<BatchResult>;
  /** Every live (not expired) entry, for preload. */
  iterate(): AsyncIterable<StoredEntry>;
  /** Removes every entry (purge on startup). */
  clear(): Promise<void>;
  /** Cheap reachability check for readiness. Throws StoreUnavailableError. */
  ping(): Promise<void>;
  /**
   * The highest version the store holds (0 when empty), read once at start so
   * that this instance's versions exceed every stored one even if its clock is
   * behind the writer's. Optional: a store without it relies on the clock.
   */
  maxVersion?(): Promise<number>;
  /**
   * Coherence between caches sharing this store (optional): from now on every
   * committed batch is announced through the store's own engine, and the
   * listener hears the other instances' announcements. A store without it is
   * per pod or relies on expiry.
   */
  coherence?(options: CoherenceOptions, listener: CoherenceListener): CoherenceChannel;
  /** The stored versions of `keys` (undefined where absent or expired), to re-validate cached copies. */
  versionsOf?(keys: readonly Buffer[]): Promise<Array<number | undefined>>;
  close(): Promise<void>;
}

/** One announcement: the keys a committed batch changed, or (keys undefined) "re-validate everything". */
export interface Invalidation {
  /** The announcing instance (an instance ignores its own). */
  readonly origin: string;
  /** The announcer's clock at commit, ms since the epoch (for the lag metric). */
  readonly sentAt: number;
  /** Changed keys with the version now stored (a delete's version for deletes); undefined (and no `unversioned`): re-validate everything. */
  readonly keys?: ReadonlyArray<{ readonly key: Buffer; readonly version: number }>;
  /** Changed keys whose new version the channel does not carry: the listener reads it from the store (versionsOf). */
  readonly unversioned?: readonly Buffer[];
}

export interface CoherenceOptions {
  /** This instance's id, carried in its announcements. */
  readonly origin: string;
  /** How often the listening connection proves it still hears (a heartbeat through the same channel). */
  readonly heartbeatMs: number;
  /** The channel counts as down when no heartbeat came back for this long. */
  readonly heartbeatTimeoutMs: number;
}

/** What a store's coherence channel reports. */
export interface CoherenceListener {
  invalidated(invalidation: Invalidation): void;
  /** Listening (again): announcements missed meanwhile are lost, so cached copies are suspect. */
  channelUp(): void;
  /** The channel broke or went silent; `lastHeard` is when it last provably worked (ms since the epoch). */
  channelDown(reason: string, lastHeard: number): void;
}

export interface CoherenceChannel {
  readonly up: boolean;
  close(): Promise<void>;
}

/** The store cannot be reached or failed as a whole; the operation may be retried. */
export class StoreUnavailableError extends Error {
  constructor(public readonly store: string, message: string, options?: { cause?: unknown }) {
    super(`store ${store} unavailable: ${message}`, options);
    this.name = 'StoreUnavailableError';
  }
}

/** The store refused one entry (e.g. a value it cannot hold); retrying will not help. */
export class StoreRejectedError extends Error {
  constructor(public readonly store: string, message: string, options?: { cause?: unknown }) {
    super(`store ${store} rejected the entry: ${message}`, options);
    this.name = 'StoreRejectedError';
  }
}

/**
 * The store's config cannot work (a missing module, an unwritable directory,
 * an impossible combination). Raised before or at start; retrying will not help.
 */
export class StoreConfigError extends Error {
  constructor(public readonly store: string, message: string, options?: { cause?: unknown }) {
    super(`store ${store}: ${message}`, options);
    this.name = 'StoreConfigError';
  }
}

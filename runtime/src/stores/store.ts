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

/** One entry as a store holds it. */
export interface StoredEntry {
  readonly key: Buffer;
  readonly value: Buffer;
  /** Monotonic per key; a safe integer. */
  readonly version: number;
  /** Absolute expiry in ms since the epoch; 0 means never. */
  readonly expiresAt: number;
}

/** A delete, conditional on the version the keyspace had when it deleted. */
export interface StoredDelete {
  readonly key: Buffer;
  readonly version: number;
}

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

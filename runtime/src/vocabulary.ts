/**
 * The runtime's shared words, used alike by the keyspace, persistence, the
 * stores and both front ends: an entry, a change to one, and the errors a
 * client sees with how each answers on RESP and over HTTP (one class per
 * cause, one row per class in CLIENT_ERRORS). A leaf: it imports nothing, so
 * every layer can use it without glue between layers.
 */

/** One key's value as memory, the journal and the stores hold it. */
export interface Entry {
  readonly key: Buffer;
  readonly value: Buffer;
  /** Monotonic per key; a safe integer. */
  readonly version: number;
  /** Absolute expiry in ms since the epoch; 0 means never. */
  readonly expiresAt: number;
}

/** A delete, conditional on the version the keyspace had when it deleted. */
export interface Deletion {
  readonly key: Buffer;
  readonly version: number;
}

/** A change to one key, as the keyspace reports it to persistence: the kinds are the journal's and the stores' words. */
export type EntryChange = ({ readonly kind: 'set' } & Entry) | ({ readonly kind: 'delete' } & Deletion);

/** A command error with its full Redis text, code first (`ERR syntax error`). */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The operation needs another value type than the key holds. */
export class WrongTypeError extends Error {
  constructor() {
    super('WRONGTYPE Operation against a key holding the wrong kind of value');
    this.name = 'WrongTypeError';
  }
}

/** A stored value this state-cache cannot read (corrupt, or written by a newer version). */
export class ValueEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueEncodingError';
  }
}

/**
 * The write needs room and none can be made: the policy is noeviction, nothing
 * could be evicted, or an evicted entry could not be passivated to its store.
 */
export class OutOfMemoryError extends Error {
  constructor(message = 'command not allowed when used memory > \'maxmemory\'.') {
    super(message);
    this.name = 'OutOfMemoryError';
  }
}

/** The write-behind queue is full and the policy is `reject`, or `block` timed out. */
export class QueueFullError extends Error {
  public readonly code = 'QUEUEFULL';
  constructor(message = 'write-behind queue is full, retry later') {
    super(message);
    this.name = 'QueueFullError';
  }
}

/** A required store (or the journal) could not take or give the entry. */
export class PersistenceUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PersistenceUnavailableError';
  }
}

/** How one error class answers: the RESP error text, and the HTTP status with its problem code. */
interface ClientErrorRow {
  readonly type: abstract new (...args: never[]) => Error;
  readonly resp: (e: Error) => string;
  readonly status: number;
  readonly code: string;
  /** The HTTP problem's message; default: the error's own. */
  readonly detail?: (e: Error) => string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The one table; the first row whose class matches answers. */
export const CLIENT_ERRORS: readonly ClientErrorRow[] = [
  { type: CommandError, resp: (e) => e.message, status: 400, code: 'bad_request' },
  { type: WrongTypeError, resp: (e) => e.message, status: 409, code: 'wrong_type' },
  { type: ValueEncodingError, resp: (e) => `ERR ${e.message}`, status: 500, code: 'unreadable_value' },
  // Redis's own OOM text, whatever the cause: clients match on it.
  {
    type: OutOfMemoryError,
    resp: () => 'OOM command not allowed when used memory > \'maxmemory\'.',
    status: 507,
    code: 'out_of_memory',
    detail: () => 'the keyspace is full and the eviction policy is noeviction',
  },
  { type: QueueFullError, resp: (e) => `QUEUEFULL ${e.message}`, status: 429, code: 'queue_full', headers: { 'Retry-After': '1' } },
  { type: PersistenceUnavailableError, resp: (e) => `STOREUNAVAILABLE ${e.message}`, status: 503, code: 'store_unavailable' },
];

/** The table's row for `e`, or undefined for an error no client should see as such (a bug: answered as internal). */
export function clientError(e: unknown): ClientErrorRow | undefined {
  if (!(e instanceof Error)) return undefined;
  return CLIENT_ERRORS.find((row) => e instanceof row.type);
}

/**
 * Errors the persistence layer raises, one class per cause so the protocol can
 * map each to its own RESP error and HTTP status. StoreUnavailableError and
 * StoreRejectedError come from the store interface and pass through unchanged.
 */
export { StoreUnavailableError, StoreRejectedError } from '../stores/store';

/** The write-behind queue is full and the policy is `reject`, or `block` timed out: the client-facing error itself. */
export { QueueFullError } from '../vocabulary';
import { OutOfMemoryError } from '../vocabulary';

/**
 * An evicted entry could not be written to the stores, so it stays in memory
 * and the write that needed the room fails. The message starts like Redis'
 * OOM error so clients treat it the same way.
 */
export class PassivationError extends OutOfMemoryError {
  public readonly code = 'OOM';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`OOM command not allowed: ${message}`);
    if (options?.cause !== undefined) this.cause = options.cause;
    this.name = 'PassivationError';
  }
}

/** The journal could not append or fsync: the write is not acknowledged. */
export class JournalError extends Error {
  public readonly code = 'JOURNAL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`journal: ${message}`, options);
    this.name = 'JournalError';
  }
}

/** The persistence settings and the store chain cannot work together; found at start. */
export class PersistenceConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(`invalid persistence configuration:\n- ${problems.join('\n- ')}`);
    this.name = 'PersistenceConfigError';
  }
}

/** The persistence layer is shutting down (or was closed) and accepts no more writes. */
export class PersistenceClosedError extends Error {
  public readonly code = 'SHUTDOWN';
  constructor() {
    super('persistence is shutting down: write not accepted');
    this.name = 'PersistenceClosedError';
  }
}

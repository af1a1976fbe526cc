import type { Logger } from 'pino';
import { PassivationError } from './errors';
import { PersistenceMetrics } from './metrics';
import { WriteBehind } from './write-behind';
import type { WriteThrough } from './write-through';
import { StoredEntry } from '../stores/store';

/**
 * Passivation: an evicted entry is in the stores before it leaves memory, so
 * eviction never loses data (Infinispan loses the entry when that write fails,
 * ISPN #18113). `evict` resolves when the keyspace may drop the entries and
 * rejects with PassivationError when a store cannot take them: the keyspace
 * then keeps them and fails the write that needed the room with that OOM error.
 *
 * - write-behind: waits until every store queue has written the entry's
 *   version (the queue already holds it; writing it a second time directly
 *   could race an older in-flight batch on a store without versions);
 * - write-through: every entry in memory is already in the required stores
 *   (written before it was acknowledged, or loaded from them), so eviction
 *   costs no store write.
 */
export class Passivation {
  constructor(
    private readonly persister: { readonly writeThrough?: WriteThrough; readonly writeBehind?: WriteBehind },
    private readonly metrics?: PersistenceMetrics,
    private readonly logger?: Logger,
  ) {}

  /**
   * The synchronous form, for a keyspace that drops the entry right after the
   * call: allowed when the entry is in the stores or owned by the write-behind
   * queue (which serves loads of it until the stores have it); refused with
   * PassivationError while a store is failing that key.
   */
  assertEvictable(entry: StoredEntry): void {
    const { writeBehind, writeThrough } = this.persister;
    if (!writeBehind && !writeThrough) throw new PassivationError('no store to passivate to (persistence mode none); the entry stays in memory');
    if (writeBehind?.isFailing(entry.key)) {
      this.metrics?.passivated.inc({ outcome: 'refused' });
      throw new PassivationError(
        `key ${JSON.stringify(entry.key.toString('latin1').slice(0, 64))} cannot be evicted: a store is failing to take it, so it stays in memory`);
    }
    this.metrics?.passivated.inc({ outcome: 'ok' });
  }

  /** The waiting form: resolves once the stores have the entries. */
  async evict(entries: readonly StoredEntry[]): Promise<void> {
    const live = entries.filter((e) => e.expiresAt === 0 || e.expiresAt > Date.now());
    try {
      const { writeBehind, writeThrough } = this.persister;
      if (writeBehind) {
        await Promise.all(live.map((e) => writeBehind.whenStored(e.key, e.version)));
      } else if (!writeThrough) {
        throw new Error('no store to passivate to (persistence mode none)');
      }
    } catch (err) {
      this.metrics?.passivated.inc({ outcome: 'failed' }, live.length);
      this.logger?.warn({ err, entries: live.length }, 'passivation: evicted entries could not be stored; they stay in memory');
      throw new PassivationError(`evicted entries could not be written to the stores (${(err as Error).message}); they stay in memory`, { cause: err });
    }
    this.metrics?.passivated.inc({ outcome: 'ok' }, live.length);
  }
}

import type { Logger } from 'pino';
import { asUnavailable, keyId, StoreLink, writableLinks } from './chain';
import { PersistenceMetrics } from './metrics';
import { BatchResult, StoredDelete, StoredEntry } from '../stores/store';

/** A set or a delete on its way to the stores. */
export type PersistOp =
  | { readonly kind: 'set'; readonly entry: StoredEntry }
  | { readonly kind: 'delete'; readonly del: StoredDelete };

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function opKey(op: PersistOp): Buffer {
  return op.kind === 'set' ? op.entry.key : op.del.key;
}
export function opVersion(op: PersistOp): number {
  return op.kind === 'set' ? op.entry.version : op.del.version;
}

export interface WriteThroughOptions {
  /** Most keys in one store batch. */
  readonly maxBatchEntries: number;
  readonly metrics?: PersistenceMetrics;
  readonly logger?: Logger;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

interface PendingKey {
  op: PersistOp;
  waiters: Waiter[];
}

/**
 * Write-through with group commit: a write resolves only after every required
 * store has it. One batch is in flight at a time; writes that arrive meanwhile
 * form the next batch, so N concurrent clients cost about two store round trips
 * instead of N. Within a batch a key appears once (the newest version); every
 * writer of that key gets the batch's answer for it.
 *
 * A rejection means memory must stay unchanged: StoreUnavailableError when a
 * required store failed as a whole, the store's own error (StoreRejectedError)
 * when it refused that key.
 */
export class WriteThrough {
  private pending = new Map<string, PendingKey>();
  private running: Promise<void> | undefined;
  private readonly links: StoreLink[];
  private batches_ = 0;

  constructor(links: readonly StoreLink[], private readonly options: WriteThroughOptions) {
    this.links = writableLinks(links);
  }

  /** Store batches run so far (each group commit counts once). */
  get batches(): number {
    return this.batches_;
  }

  write(entry: StoredEntry): Promise<void> {
    return this.submit({ kind: 'set', entry });
  }

  delete(del: StoredDelete): Promise<void> {
    return this.submit({ kind: 'delete', del });
  }

  submit(op: PersistOp): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const id = keyId(opKey(op));
      const existing = this.pending.get(id);
      if (existing) {
        if (opVersion(op) > opVersion(existing.op)) existing.op = op;
        existing.waiters.push({ resolve, reject });
      } else {
        this.pending.set(id, { op, waiters: [{ resolve, reject }] });
      }
      if (!this.running) this.running = this.loop();
    });
  }

  /** Resolves when no batch is in flight or waiting. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    // Yield a turn so writes issued meanwhile (or by writers the previous batch woke) join this batch.
    await nextTurn();
    while (this.pending.size > 0) {
      const batch: Array<[string, PendingKey]> = [];
      for (const item of this.pending) {
        batch.push(item);
        if (batch.length >= this.options.maxBatchEntries) break;
      }
      for (const [id] of batch) this.pending.delete(id);
      await this.commit(batch.map(([, p]) => p));
      await nextTurn();
    }
    this.running = undefined;
  }

  private async commit(batch: PendingKey[]): Promise<void> {
    this.batches_++;
    const sets: StoredEntry[] = [];
    const dels: StoredDelete[] = [];
    for (const p of batch) {
      if (p.op.kind === 'set') sets.push(p.op.entry); else dels.push(p.op.del);
    }
    // key -> first error from a required store
    const failed = new Map<string, Error>();
    await Promise.all(this.links.map(async (link) => {
      const name = link.store.name;
      const calls: Array<Promise<BatchResult>> = [];
      if (sets.length > 0) calls.push(link.store.writeBatch(sets));
      if (dels.length > 0) calls.push(link.store.deleteBatch(dels));
      try {
        const results = await Promise.all(calls);
        for (const r of results) {
          for (const { key, error } of r.rejected) {
            this.options.metrics?.storeErrors.inc({ store: name, kind: 'rejected' });
            if (link.required) {
              const id = keyId(key);
              if (!failed.has(id)) failed.set(id, error);
            } else {
              this.options.logger?.warn({ store: name, key: key.toString('base64'), err: error }, 'write-through: best-effort store refused a key');
            }
          }
        }
      } catch (err) {
        const error = asUnavailable(name, err);
        this.options.metrics?.storeErrors.inc({ store: name, kind: 'unavailable' });
        if (link.required) {
          for (const p of batch) {
            const id = keyId(opKey(p.op));
            if (!failed.has(id)) failed.set(id, error);
          }
        } else {
          this.options.logger?.warn({ store: name, err: error, entries: batch.length }, 'write-through: best-effort store failed a batch');
        }
      }
    }));
    this.options.metrics?.writeThroughBatches.inc({ outcome: failed.size === 0 ? 'ok' : failed.size === batch.length ? 'failed' : 'partial' });
    let waiters = 0;
    for (const p of batch) {
      const error = failed.get(keyId(opKey(p.op)));
      waiters += p.waiters.length;
      for (const w of p.waiters) if (error) w.reject(error); else w.resolve();
    }
    this.options.metrics?.writeThroughGroupSize.observe(waiters);
  }
}

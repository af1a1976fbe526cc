import { Counter } from 'prom-client';
import type { StoreContext } from './context';
import {
  BatchResult, CacheStore, StoreCharacteristics, StoredDelete, StoredEntry, StoreUnavailableError,
} from './store';

/** One store in a chain and how the chain uses it. */
export interface ChainLink {
  readonly store: CacheStore;
  /** required: its failures fail the operation; bestEffort: they are logged and counted. */
  readonly mode: 'required' | 'bestEffort';
  /** Only read (load, preload), never written, deleted or cleared. */
  readonly readOnly: boolean;
  /** Memory is filled from this store at start. */
  readonly preload: boolean;
}

const FAILURES_METRIC = 'state_cache_store_best_effort_failures_total';

function failuresCounter(context: StoreContext): Counter<'store' | 'operation'> {
  const existing = context.metrics?.getSingleMetric(FAILURES_METRIC);
  if (existing) return existing as Counter<'store' | 'operation'>;
  return new Counter({
    name: FAILURES_METRIC,
    help: 'Operations (or entries, for rejections) that failed on a best-effort store and were skipped.',
    labelNames: ['store', 'operation'],
    registers: context.metrics ? [context.metrics] : [],
  });
}

function expired(entry: StoredEntry, now: number): boolean {
  return entry.expiresAt !== 0 && entry.expiresAt <= now;
}

/**
 * Stores in read order. Reads go through the links in order and the first hit
 * wins; writes and deletes go to every writable link at once. A required
 * link's failure is raised; a best-effort link's failure is logged (WARN) and
 * counted in `state_cache_store_best_effort_failures_total`, and the operation
 * goes on without it. The chain is itself a CacheStore, so the persistence
 * layer needs to know nothing about chains.
 */
export class StoreChain implements CacheStore {
  readonly name = 'chain';
  readonly characteristics: StoreCharacteristics;
  readonly bestEffortFailures: Counter<'store' | 'operation'>;
  private readonly writable: readonly ChainLink[];

  constructor(readonly links: readonly ChainLink[], private readonly context: StoreContext) {
    this.writable = links.filter((l) => !l.readOnly && !l.store.characteristics.readOnly);
    this.characteristics = {
      // One shared store is enough to make purge and passivation unsafe.
      shareable: links.some((l) => l.store.characteristics.shareable),
      // Any link may answer a read, so every one must keep expiry.
      supportsTtl: links.every((l) => l.store.characteristics.supportsTtl),
      versioned: this.writable.every((l) => l.store.characteristics.versioned),
      readOnly: this.writable.length === 0,
    };
    this.bestEffortFailures = failuresCounter(context);
  }

  /** The link preload reads from: the one marked preload, or none. */
  get preloadLink(): ChainLink | undefined {
    return this.links.find((l) => l.preload);
  }

  async start(): Promise<void> {
    await this.each(this.links, 'start', (s) => s.start());
  }

  async load(key: Buffer): Promise<StoredEntry | undefined> {
    return (await this.loadMany([key]))[0];
  }

  /** Each link is asked only for the keys the links before it did not have. */
  async loadMany(keys: readonly Buffer[]): Promise<Array<StoredEntry | undefined>> {
    const out: Array<StoredEntry | undefined> = keys.map(() => undefined);
    let missing = keys.map((_, i) => i);
    for (const link of this.links) {
      if (missing.length === 0) break;
      let got: Array<StoredEntry | undefined>;
      try {
        got = await link.store.loadMany(missing.map((i) => keys[i]));
      } catch (err) {
        this.failed(link, 'load', err);
        continue;
      }
      const now = Date.now();
      const still: number[] = [];
      missing.forEach((idx, j) => {
        const e = got[j];
        // Defence in depth: a store that returned an expired entry does not resurrect it.
        if (e !== undefined && !expired(e, now)) out[idx] = e;
        else still.push(idx);
      });
      missing = still;
    }
    return out;
  }

  async writeBatch(entries: readonly StoredEntry[]): Promise<BatchResult> {
    return this.batch('write', (s) => s.writeBatch(entries));
  }

  async deleteBatch(deletes: readonly StoredDelete[]): Promise<BatchResult> {
    return this.batch('delete', (s) => s.deleteBatch(deletes));
  }

  /**
   * Every writable link at once. Keys rejected by a required link come back
   * (the persistence layer dead-letters them); keys rejected by a best-effort
   * link are logged and counted.
   */
  private async batch(what: 'write' | 'delete', op: (s: CacheStore) => Promise<BatchResult>): Promise<BatchResult> {
    const results = await Promise.allSettled(this.writable.map((l) => op(l.store)));
    const rejected = new Map<string, { key: Buffer; error: Error }>();
    let failure: unknown;
    results.forEach((r, i) => {
      const link = this.writable[i];
      if (r.status === 'rejected') {
        if (link.mode === 'required') {
          if (failure === undefined) failure = r.reason;
          else this.context.logger.error({ store: link.store.name, err: (r.reason as Error).message }, `${what} failed on a required store too`);
        } else {
          this.failed(link, what, r.reason);
        }
        return;
      }
      if (r.value.rejected.length === 0) return;
      if (link.mode === 'required') {
        for (const rej of r.value.rejected) {
          const k = rej.key.toString('hex');
          if (!rejected.has(k)) rejected.set(k, rej);
        }
      } else {
        this.bestEffortFailures.inc({ store: link.store.name, operation: `${what}-rejected` }, r.value.rejected.length);
        this.context.logger.warn({ store: link.store.name, rejected: r.value.rejected.length, first: r.value.rejected[0].error.message },
          `best-effort store refused entries of a ${what} batch; they are missing from it`);
      }
    });
    if (failure !== undefined) throw failure;
    return { rejected: [...rejected.values()] };
  }

  /** Live entries of the preload link; a best-effort preload link that fails ends the iteration with a warning. */
  async *iterate(): AsyncIterable<StoredEntry> {
    const link = this.preloadLink ?? this.links[0];
    if (link === undefined) return;
    try {
      for await (const e of link.store.iterate()) {
        if (!expired(e, Date.now())) yield e;
      }
    } catch (err) {
      this.failed(link, 'iterate', err);
    }
  }

  /**
   * Empties the writable links that are not shared (purge on startup). A
   * shared store is never cleared: other instances' entries live there too.
   */
  async clear(): Promise<void> {
    const own = this.writable.filter((l) => !l.store.characteristics.shareable);
    for (const l of this.writable) {
      if (l.store.characteristics.shareable) this.context.logger.info({ store: l.store.name }, 'shared store not cleared');
    }
    await this.each(own, 'clear', (s) => s.clear());
  }

  async ping(): Promise<void> {
    await this.each(this.links, 'ping', (s) => s.ping());
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.links.map((l) => l.store.close()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.context.logger.warn({ store: this.links[i].store.name, err: (r.reason as Error).message }, 'closing the store failed');
    });
  }

  /** Runs `op` on every link at once; raises the first required failure after all have settled. */
  private async each(links: readonly ChainLink[], what: string, op: (s: CacheStore) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(links.map((l) => op(l.store)));
    let failure: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      if (links[i].mode === 'required') failure ??= r.reason;
      else this.failed(links[i], what, r.reason);
    });
    if (failure !== undefined) throw failure;
  }

  /** A failure of a link: raised when required, logged and counted when best-effort. */
  private failed(link: ChainLink, what: string, err: unknown): void {
    if (link.mode === 'required') {
      throw err instanceof Error ? err : new StoreUnavailableError(link.store.name, `${what} failed: ${String(err)}`);
    }
    this.bestEffortFailures.inc({ store: link.store.name, operation: what });
    this.context.logger.warn({ store: link.store.name, operation: what, err: (err as Error)?.message ?? String(err) },
      `best-effort store failed (${what}); going on without it`);
  }
}

import type { Logger } from 'pino';
import { asUnavailable, StoreLink, writableLinks } from './chain';
import { PersistenceMetrics } from './metrics';
import { StoredEntry } from '../stores/store';

export interface PreloadOptions {
  /** Most entries to load (the keyspace's entry bound). */
  readonly maxEntries: number;
  /** Most key + value bytes to load (the keyspace's memory bound). */
  readonly maxBytes: number;
  /** Stop after this long; the rest is loaded on miss. */
  readonly timeBudgetMs: number;
  /** Puts an entry into memory; false when the keyspace is full. */
  readonly insert: (entry: StoredEntry) => boolean;
  readonly observeVersion: (version: number) => void;
  /** Progress log interval. */
  readonly progressEveryMs?: number;
  readonly metrics?: PersistenceMetrics;
  readonly logger?: Logger;
}

/** Why preload stopped; `unavailable`: the store failed, and the cache serves without the rest (loads on miss once the store is back). */
export type PreloadStop = 'complete' | 'entries' | 'bytes' | 'memory' | 'time' | 'disabled' | 'unavailable';

export interface PreloadResult {
  readonly store: string | undefined;
  readonly entries: number;
  readonly bytes: number;
  readonly stoppedBy: PreloadStop;
  readonly ms: number;
}

/**
 * Fills memory from the first store marked for preload, up to the memory bound
 * and within a time budget, so start-up is never held hostage by a big store
 * (eager warm-up that blocks start is a known pain).
 */
export async function preload(links: readonly StoreLink[], o: PreloadOptions): Promise<PreloadResult> {
  const started = performance.now();
  const link = links.find((l) => l.preload);
  if (!link) {
    o.metrics?.preloadDone.set(1);
    return { store: undefined, entries: 0, bytes: 0, stoppedBy: 'disabled', ms: 0 };
  }
  const name = link.store.name;
  const deadline = started + o.timeBudgetMs;
  let entries = 0;
  let bytes = 0;
  let stoppedBy: PreloadStop;
  let lastLog = started;
  const iterator = link.store.iterate()[Symbol.asyncIterator]();
  // A store that stalls must not hold start-up past the budget: the loop races
  // the budget once, as a whole. (Not a race per entry against one budget
  // promise: every race leaves a reaction on it until it settles, a million
  // closures for a million entries, which once took preload from 12 s to 80 s.)
  let timedOut = false;
  let budgetTimer: NodeJS.Timeout | undefined;
  const budget = new Promise<PreloadStop>((resolve) => {
    budgetTimer = setTimeout(() => {
      timedOut = true;
      resolve('time');
    }, Math.max(0, o.timeBudgetMs));
  });
  const load = async (): Promise<PreloadStop> => {
    for (;;) {
      const r = await iterator.next();
      // After the budget, a store that wakes up again adds nothing.
      if (timedOut || performance.now() >= deadline) return 'time';
      if (r.done) return 'complete';
      const entry = r.value;
      const size = entry.key.length + entry.value.length;
      if (entries + 1 > o.maxEntries) return 'entries';
      if (bytes + size > o.maxBytes) return 'bytes';
      if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) continue;
      if (!o.insert(entry)) return 'memory';
      o.observeVersion(entry.version);
      entries++;
      bytes += size;
      if (entries % 1024 === 0) {
        o.metrics?.preloadEntries.set(entries);
        const t = performance.now();
        if (t - lastLog >= (o.progressEveryMs ?? 5000)) {
          lastLog = t;
          o.logger?.info({ store: name, entries, bytes, elapsedMs: Math.round(t - started) }, 'preload: progress');
        }
      }
    }
  };
  o.logger?.info({ store: name, timeBudgetMs: o.timeBudgetMs }, 'preload: started');
  try {
    const loading = load();
    loading.catch(() => undefined); // a store failing after the budget is not an unhandled rejection
    stoppedBy = await Promise.race([loading, budget]);
  } catch (err) {
    // A store that is down must not keep the pod from serving what memory and the journal hold.
    stoppedBy = 'unavailable';
    o.logger?.error({ store: name, entries, err: asUnavailable(name, err) }, 'preload: the store is unavailable; serving without the rest, which loads on miss once the store is back');
  } finally {
    timedOut = true;
    clearTimeout(budgetTimer);
    // Ends the store's cursor; a stalled one is not awaited.
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
  const ms = performance.now() - started;
  o.metrics?.preloadEntries.set(entries);
  o.metrics?.preloadDone.set(1);
  o.logger?.info({ store: name, entries, bytes, stoppedBy, ms: Math.round(ms) },
    stoppedBy === 'complete' ? 'preload: done' : `preload: stopped (${stoppedBy}); the rest loads on miss`);
  return { store: name, entries, bytes, stoppedBy, ms };
}

/** Purge on startup: empties every writable store that no other instance shares. */
export async function purgeStores(links: readonly StoreLink[], logger?: Logger): Promise<string[]> {
  const purged: string[] = [];
  for (const { store } of writableLinks(links)) {
    if (store.characteristics.shareable) continue;
    try {
      await store.clear();
    } catch (err) {
      throw asUnavailable(store.name, err);
    }
    purged.push(store.name);
    logger?.info({ store: store.name }, 'purge on startup: store emptied');
  }
  return purged;
}

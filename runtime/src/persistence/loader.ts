import type { Logger } from 'pino';
import { asUnavailable, keyId, StoreLink } from './chain';
import { PersistenceMetrics } from './metrics';
import { StoredEntry } from '../stores/store';

export interface LoaderOptions {
  /** Raises the keyspace's version clock; loaded versions must never be reissued. */
  readonly observeVersion: (version: number) => void;
  readonly metrics?: PersistenceMetrics;
  readonly logger?: Logger;
}

/**
 * Load on miss: asks the stores in chain order and returns the first live
 * entry. Concurrent misses of one key share one load (single-flight), so a
 * hot key that was evicted costs one store round trip, not one per client.
 *
 * A required store that fails makes the load fail with StoreUnavailableError
 * (answering "absent" could hide an entry); a best-effort store that fails is
 * skipped.
 */
export class Loader {
  private readonly inFlight = new Map<string, Promise<StoredEntry | undefined>>();
  private storeLoads_ = 0;

  constructor(private readonly links: readonly StoreLink[], private readonly options: LoaderOptions) {}

  /** Store calls made so far (for tests and logs). */
  get storeLoads(): number {
    return this.storeLoads_;
  }

  load(key: Buffer): Promise<StoredEntry | undefined> {
    const id = keyId(key);
    const running = this.inFlight.get(id);
    if (running) return running;
    const load = this.loadFromChain(key).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, load);
    return load;
  }

  private async loadFromChain(key: Buffer): Promise<StoredEntry | undefined> {
    for (const link of this.links) {
      const name = link.store.name;
      let entry: StoredEntry | undefined;
      try {
        this.storeLoads_++;
        entry = await link.store.load(key);
      } catch (err) {
        this.options.metrics?.loads.inc({ store: name, result: 'error' });
        this.options.metrics?.storeErrors.inc({ store: name, kind: 'load' });
        if (link.required) throw asUnavailable(name, err);
        this.options.logger?.warn({ store: name, err }, 'load: best-effort store failed; trying the next store');
        continue;
      }
      // Stores must not return expired entries; a store that cannot keep expiry might.
      if (entry && (entry.expiresAt === 0 || entry.expiresAt > Date.now())) {
        this.options.metrics?.loads.inc({ store: name, result: 'hit' });
        this.options.observeVersion(entry.version);
        return entry;
      }
      this.options.metrics?.loads.inc({ store: name, result: 'miss' });
    }
    return undefined;
  }
}

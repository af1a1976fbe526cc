import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { keyId, StoreLink } from './chain';
import { PersistenceConfig } from './config';
import { CacheStore, CoherenceChannel, CoherenceListener, Invalidation, StoredEntry } from '../stores/store';

/**
 * Coherence between state-cache instances that share a store, through the
 * store's own engine (no protocol of our own): every batch an instance
 * commits is announced by the store in the same transaction, and every
 * instance drops its copy of a key when the announced version is newer than
 * the one it holds, so the next read loads the stored one.
 *
 * - A batch too big to list, or a reconnection of the channel (announcements
 *   may have been missed), makes the cached keys suspect: they are
 *   re-validated against the store's versions, page by page.
 * - While the channel is down, `onOutage` decides: `drop` discards every
 *   cached copy once `maxUnvalidatedMs` has passed since the channel last
 *   worked, and again every `maxUnvalidatedMs` while it stays down, so no copy
 *   is served unvalidated for longer than that; `serve-stale` keeps serving and
 *   exports how long it has been (state_cache_coherence_unvalidated_seconds).
 * - This instance's own write-behind writes that the store does not have yet
 *   are never dropped: the queue holds them and they are the newest it knows.
 */

/** What coherence needs from the keyspace (structurally the keyspace's own methods). */
export interface CoherentKeyspace {
  /** Drops the copy of `key` when it is older than `version`; true when dropped. */
  invalidate(key: Buffer, version: number): boolean;
  /** Drops the copy of `key` whatever its version; true when there was one. */
  discard(key: Buffer): boolean;
  /** Every cached key (binary strings, one char per byte). */
  allKeys(): string[];
  /** The cached version of `key` (binary string), 0 when absent. */
  currentVersion(key: string): number;
}

export interface CoherenceStartOptions {
  readonly config: PersistenceConfig['coherence'];
  readonly mode: PersistenceConfig['mode'];
  readonly links: readonly StoreLink[];
  readonly keyspace: CoherentKeyspace;
  /** The newest write of `key` this instance still has to store (write-behind), if any. */
  readonly queued: (key: Buffer) => StoredEntry | null | undefined;
  readonly registry: Registry;
  readonly logger?: Logger;
}

/** Keys per re-validation query. */
const REVALIDATE_PAGE = 1000;

export class CoherenceMetrics {
  readonly received: Counter<'kind'>;
  readonly dropped: Counter<'reason'>;
  readonly lag: Histogram;
  readonly channelUp: Gauge;
  readonly unvalidated: Gauge;

  constructor(registry: Registry, state: () => { up: boolean; unvalidatedMs: number }) {
    const registers = [registry];
    this.received = new Counter({
      name: 'state_cache_coherence_invalidations_total',
      help: 'Announcements received from other instances: kind keys (a batch\'s keys and versions) or revalidate (a batch too big to list).',
      labelNames: ['kind'],
      registers,
    });
    this.dropped = new Counter({
      name: 'state_cache_coherence_keys_dropped_total',
      help: 'Cached copies dropped: reason newer (another instance stored a newer version), revalidate (found stale after a reconnection or a big batch), outage (the channel was down longer than maxUnvalidatedMs).',
      labelNames: ['reason'],
      registers,
    });
    this.lag = new Histogram({
      name: 'state_cache_coherence_notification_lag_seconds',
      help: 'From the announcing instance sending its batch to this instance hearing of it (both clocks: on one host exact, across hosts plus their skew).',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.channelUp = new Gauge({
      name: 'state_cache_coherence_channel_up',
      help: '1 while the notification channel is listening and the cached copies are validated, 0 while it is down or re-validating.',
      registers,
      collect() { this.set(state().up ? 1 : 0); },
    });
    this.unvalidated = new Gauge({
      name: 'state_cache_coherence_unvalidated_seconds',
      help: 'How long cached copies have gone without a working notification channel (0 while it works); with onOutage serve-stale, how stale a read may be.',
      registers,
      collect() { this.set(state().unvalidatedMs / 1000); },
    });
  }
}

export class Coherence implements CoherenceListener {
  /** Starts listening on the first shared store that can announce; the caller validated that there is one. */
  static start(options: CoherenceStartOptions): Coherence {
    const link = options.links.find((l) => l.store.characteristics.shareable && l.store.coherence !== undefined);
    if (!link) throw new Error('coherence needs a shared store that announces changes');
    const c = new Coherence(options, link.store);
    c.channel = link.store.coherence!({
      origin: c.origin,
      heartbeatMs: options.config.heartbeatMs,
      heartbeatTimeoutMs: options.config.heartbeatTimeoutMs,
    }, c);
    return c;
  }

  /** This instance's id in its announcements. */
  readonly origin = randomBytes(6).toString('base64url');
  readonly metrics: CoherenceMetrics;
  private channel: CoherenceChannel | undefined;
  /** True once the channel listens and the copies cached before were re-validated. */
  private validated = false;
  /** Since when copies go unvalidated (the channel last worked); 0 while validated. */
  private unvalidatedSince = Date.now();
  /** Bumped on every up / down, so a re-validation or timer of an older state stops. */
  private generation = 0;
  private outageTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private revalidating: Promise<void> | undefined;
  private revalidateAgain = false;
  /** Queued (write-behind) writes of ours that another instance superseded: loads skip them. */
  private readonly superseded = new Map<string, number>();
  private closed = false;
  /** Keys a channel named without versions (remote store tracking), read from the store in one call. */
  private readonly toLookUp = new Map<string, Buffer>();
  private lookingUp: Promise<void> | undefined;

  private constructor(private readonly options: CoherenceStartOptions, private readonly store: CacheStore) {
    this.metrics = new CoherenceMetrics(options.registry, () => ({
      up: this.validated,
      unvalidatedMs: this.validated ? 0 : Date.now() - this.unvalidatedSince,
    }));
    // Until the channel first listens, copies (journal replay, preload) are unvalidated too.
    this.scheduleOutage(this.generation);
  }

  get up(): boolean {
    return this.validated;
  }

  /** Whether a queued write of ours with `version` was superseded by another instance (load then asks the store). */
  supersedes(key: Buffer, version: number): boolean {
    if (this.superseded.size === 0) return false;
    const id = keyId(key);
    const floor = this.superseded.get(id);
    if (floor === undefined) return false;
    if (version >= floor) {
      this.superseded.delete(id);
      return false;
    }
    return true;
  }

  invalidated(inv: Invalidation): void {
    const m = this.metrics;
    m.lag.observe(Math.max(0, Date.now() - inv.sentAt) / 1000);
    if (inv.unversioned !== undefined) {
      m.received.inc({ kind: 'keys' });
      for (const key of inv.unversioned) this.toLookUp.set(keyId(key), key);
      if (!this.lookingUp) this.lookingUp = this.lookUp();
      return;
    }
    if (inv.keys === undefined) {
      m.received.inc({ kind: 'revalidate' });
      this.revalidate('a batch too big to list');
      return;
    }
    m.received.inc({ kind: 'keys' });
    let dropped = 0;
    const ks = this.options.keyspace;
    for (const { key, version } of inv.keys) {
      if (ks.invalidate(key, version)) dropped++;
      const q = this.options.queued(key);
      if (q && q.version < version) this.superseded.set(keyId(key), version);
    }
    if (dropped > 0) m.dropped.inc({ reason: 'newer' }, dropped);
  }

  /** Reads the stored versions of the named keys and applies drop-if-newer; absent keys drop unless ours to write. */
  private async lookUp(): Promise<void> {
    try {
      while (this.toLookUp.size > 0 && !this.closed) {
        const keys = [...this.toLookUp.values()].slice(0, REVALIDATE_PAGE);
        for (const k of keys) this.toLookUp.delete(keyId(k));
        let stored: Array<number | undefined>;
        try {
          stored = await this.store.versionsOf!(keys);
        } catch (err) {
          // Cannot tell what changed: drop the copies (never serve one known to have changed).
          this.options.logger?.warn({ err: (err as Error).message, keys: keys.length }, 'coherence: reading the changed keys\' versions failed; their copies are dropped');
          stored = keys.map(() => Number.MAX_SAFE_INTEGER);
        }
        let dropped = 0;
        const ks = this.options.keyspace;
        keys.forEach((key, i) => {
          const version = stored[i];
          if (version !== undefined) {
            if (ks.invalidate(key, version)) dropped++;
            const q = this.options.queued(key);
            if (q && q.version < version && version !== Number.MAX_SAFE_INTEGER) this.superseded.set(keyId(key), version);
          } else if (this.options.queued(key) === undefined && ks.discard(key)) {
            dropped++;
          }
        });
        if (dropped > 0) this.metrics.dropped.inc({ reason: 'newer' }, dropped);
      }
    } finally {
      this.lookingUp = undefined;
    }
  }

  channelUp(): void {
    this.generation++;
    // Copies cached before stay bounded until the re-validation has checked them.
    if (!this.validated) this.scheduleOutage(this.generation);
    this.revalidate('the notification channel (re)connected');
  }

  channelDown(reason: string, lastHeard: number): void {
    this.generation++;
    if (this.validated) {
      this.validated = false;
      this.unvalidatedSince = lastHeard;
    }
    this.options.logger?.warn({ reason, onOutage: this.options.config.onOutage, maxUnvalidatedMs: this.options.config.maxUnvalidatedMs },
      'coherence: cached copies cannot be validated until the channel is back');
    this.scheduleOutage(this.generation);
  }

  /** onOutage drop: discard the copies maxUnvalidatedMs after the channel last worked, and every maxUnvalidatedMs after. */
  private scheduleOutage(generation: number): void {
    clearTimeout(this.outageTimer);
    if (this.options.config.onOutage !== 'drop' || this.closed) return;
    const bound = this.options.config.maxUnvalidatedMs;
    const wait = Math.max(0, this.unvalidatedSince + bound - Date.now());
    const tick = (delay: number) => {
      this.outageTimer = setTimeout(() => {
        if (generation !== this.generation || this.validated || this.closed) return;
        const n = this.dropAll();
        if (n > 0) this.options.logger?.warn({ dropped: n }, 'coherence: channel down longer than maxUnvalidatedMs; cached copies dropped, reads load from the store');
        tick(bound);
      }, delay);
      this.outageTimer.unref();
    };
    // A copy loaded while down lives at most one bound: the drop repeats every bound (the first one may be early).
    tick(Math.min(wait, bound));
  }

  /** Drops every cached copy except this instance's own unflushed writes. */
  private dropAll(): number {
    const ks = this.options.keyspace;
    let n = 0;
    for (const k of ks.allKeys()) {
      const key = Buffer.from(k, 'latin1');
      if (this.options.queued(key) !== undefined) continue;
      if (ks.discard(key)) n++;
    }
    if (n > 0) this.metrics.dropped.inc({ reason: 'outage' }, n);
    return n;
  }

  /** Re-validates every cached key against the store's versions; one run at a time, again if asked meanwhile. */
  private revalidate(why: string): void {
    if (this.revalidating) {
      this.revalidateAgain = true;
      return;
    }
    const generation = this.generation;
    this.revalidating = this.revalidateAll(generation, why).then(() => {
      if (generation === this.generation && !this.closed && (this.channel?.up ?? false)) {
        if (!this.validated) this.options.logger?.info('coherence: cached copies validated, the channel is up');
        this.validated = true;
        clearTimeout(this.outageTimer);
      }
    }, (err: Error) => {
      this.options.logger?.warn({ err: err.message }, 'coherence: re-validation failed; trying again');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => { if (!this.closed) this.revalidate(why); }, 500);
      this.retryTimer.unref();
    }).finally(() => {
      this.revalidating = undefined;
      if (this.revalidateAgain && !this.closed) {
        this.revalidateAgain = false;
        this.revalidate(why);
      }
    });
  }

  private async revalidateAll(generation: number, why: string): Promise<void> {
    const ks = this.options.keyspace;
    const keys = ks.allKeys();
    const started = Date.now();
    let dropped = 0;
    for (let i = 0; i < keys.length && generation === this.generation && !this.closed; i += REVALIDATE_PAGE) {
      const page = keys.slice(i, i + REVALIDATE_PAGE).map((k) => Buffer.from(k, 'latin1'));
      const stored = await this.store.versionsOf!(page);
      for (let j = 0; j < page.length; j++) {
        const key = page[j];
        const version = stored[j];
        if (version !== undefined) {
          if (ks.invalidate(key, version)) dropped++;
        } else if (this.options.mode !== 'none' && this.options.queued(key) === undefined && ks.discard(key)) {
          // Absent from the store and not ours to write: deleted (or expired) by another instance.
          dropped++;
        }
      }
    }
    if (dropped > 0) this.metrics.dropped.inc({ reason: 'revalidate' }, dropped);
    this.options.logger?.info({ why, keys: keys.length, dropped, ms: Date.now() - started }, 'coherence: cached copies re-validated');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    clearTimeout(this.outageTimer);
    clearTimeout(this.retryTimer);
    await this.channel?.close();
    await this.revalidating?.catch(() => undefined);
  }
}

import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { keyId, StoreLink, writableLinks } from './chain';
import { Coherence, CoherentKeyspace } from './coherence';
import { PersistenceConfig } from './config';
import { DeadLetterFile } from './dead-letter';
import { PersistenceClosedError, PersistenceConfigError } from './errors';
import { Journal, JournalRecord, JournalStats, probeDirectory } from './journal';
import { Loader } from './loader';
import { PersistenceMetrics } from './metrics';
import { Passivation } from './passivation';
import { preload, PreloadResult, purgeStores } from './preload';
import { validatePersistence } from './validate';
import { FlushReport, PreparedWrite, WriteBehind } from './write-behind';
import { PersistOp, WriteThrough } from './write-through';
import { StoredDelete, StoredEntry, StoreUnavailableError } from '../stores/store';

/**
 * What the keyspace gives the persistence layer: the only way persistence
 * reaches into memory. The keyspace's own hook interface adapts to this.
 */
export interface KeyspaceSink {
  /** Preload bound in entries. */
  readonly maxEntries: number;
  /** Preload bound in key + value bytes. */
  readonly maxBytes: number;
  /** Whether entries can expire (lifespan, max idle or client TTLs). */
  readonly expiryInUse: boolean;
  /** What coherence (persistence.coherence) needs to drop stale copies; required when it is enabled. */
  readonly coherent?: CoherentKeyspace;
  /** Puts an entry into memory unless memory has a newer version; false when memory is full. */
  applyEntry(entry: StoredEntry): boolean;
  /** Raises the version clock to at least `version`. */
  observeVersion(version: number): void;
}

export interface PersistenceOptions {
  readonly config: PersistenceConfig;
  /** The store chain in read order. */
  readonly links: readonly StoreLink[];
  readonly keyspace: KeyspaceSink;
  readonly registry: Registry;
  readonly logger?: Logger;
  /** Bound for each store's ping in the health probe. */
  readonly pingTimeoutMs?: number;
  /** How often the health probe pings the stores (and starts those that were down at start); 0 turns it off. */
  readonly readinessIntervalMs?: number;
}

/** What /status shows of persistence: the mode, readiness and each store's health. */
export interface PersistenceStatus {
  readonly mode: PersistenceConfig['mode'];
  readonly ready: boolean;
  readonly stores: ReadonlyArray<{ readonly name: string; readonly required: boolean; readonly up: boolean; readonly pending?: number }>;
}

export interface StartReport {
  readonly purged: readonly string[];
  readonly replayed: number;
  readonly preload: PreloadResult | undefined;
}

/**
 * The persistence layer as the server uses it: validate, start the stores,
 * purge, replay the journal, preload, then write / delete / load / evict,
 * and flush + close on shutdown. The keyspace calls `write` or `delete` before
 * it changes memory (write-through: it changes memory only if the promise
 * resolves) and `load` on a miss.
 */
export class Persistence {
  static async start(options: PersistenceOptions): Promise<Persistence> {
    const p = new Persistence(options);
    await p.startUp();
    return p;
  }

  readonly metrics: PersistenceMetrics;
  private writeThrough: WriteThrough | undefined;
  private writeBehind: WriteBehind | undefined;
  private journal: Journal | undefined;
  private readonly loader: Loader;
  private passivation: Passivation | undefined;
  private coherence_: Coherence | undefined;
  private started = false;
  private closing = false;
  private probe: NodeJS.Timeout | undefined;
  /** Each store's health from its start or its last ping: exported as state_cache_store_up. */
  private readonly up = new Map<StoreLink, boolean>();
  /** Stores that were unavailable at start; the health probe starts them once they answer. */
  private readonly unstarted = new Set<StoreLink>();
  private report_: StartReport | undefined;

  private constructor(private readonly options: PersistenceOptions) {
    this.metrics = new PersistenceMetrics(options.registry);
    this.metrics.watchStoreHealth(() => [...this.up].map(([link, ok]) => [link.store.name, ok]));
    this.loader = new Loader(options.links, {
      observeVersion: (v) => options.keyspace.observeVersion(v),
      metrics: this.metrics,
      logger: options.logger,
    });
  }

  get startReport(): StartReport | undefined {
    return this.report_;
  }

  get journalStats(): JournalStats | undefined {
    return this.journal?.stats;
  }

  /** Write-behind keys not yet in each store. */
  pending(): Record<string, number> {
    return this.writeBehind?.pending() ?? {};
  }

  /** Resolves when the stores have the write as the mode requires; rejects with a distinct error otherwise. */
  private write(entry: StoredEntry): Promise<void> {
    if (this.closing) return Promise.reject(new PersistenceClosedError());
    if (this.writeThrough) return this.writeThrough.write(entry);
    if (this.writeBehind) return this.writeBehind.write(entry);
    return Promise.resolve();
  }

  /** Several changes as one unit (MSET, DEL k1 k2): resolves when all are stored as the mode requires. */
  async writeMany(ops: readonly PersistOp[]): Promise<void> {
    if (this.closing) throw new PersistenceClosedError();
    const wt = this.writeThrough;
    if (wt) {
      await Promise.all(ops.map((op) => wt.submit(op)));
      return;
    }
    await Promise.all(ops.map((op) => (op.kind === 'set' ? this.write(op.entry) : this.delete(op.del))));
  }

  private delete(del: StoredDelete): Promise<void> {
    if (this.closing) return Promise.reject(new PersistenceClosedError());
    if (this.writeThrough) return this.writeThrough.delete(del);
    if (this.writeBehind) return this.writeBehind.delete(del);
    return Promise.resolve();
  }

  /**
   * Load on miss, single-flight per key. A write-behind write the stores do
   * not have yet wins over their copy (the entry was evicted while queued).
   */
  load(key: Buffer): Promise<StoredEntry | undefined> {
    const queued = this.writeBehind?.peek(key);
    if (queued !== undefined && !(queued !== null && this.coherence_?.supersedes(key, queued.version))) return Promise.resolve(queued ?? undefined);
    return this.loader.load(key);
  }

  /** Coherence with the other instances on a shared store, when persistence.coherence is enabled. */
  get coherence(): Coherence | undefined {
    return this.coherence_;
  }

  /** The write-behind queues, for the keyspace adapter's two-phase writes. */
  /**
   * Write-behind's two phases around a change to memory (the keyspace hooks'
   * beforeChange / afterChange): `prepare` takes room in the queue and appends
   * to the journal, synchronously when nothing waits; `commit` queues it for
   * the stores once memory changed; `abort` gives the room back when memory
   * refused. Write-behind only.
   */
  prepare(records: readonly JournalRecord[]): PreparedWrite | Promise<PreparedWrite> {
    if (!this.writeBehind) throw new Error('prepare() is for write-behind');
    return this.writeBehind.prepare(records);
  }

  commit(prepared: PreparedWrite): void {
    this.writeBehind?.commit(prepared);
  }

  abort(prepared: PreparedWrite): void {
    this.writeBehind?.abort(prepared);
  }

  get queue(): WriteBehind | undefined {
    return this.writeBehind;
  }

  get flushDeadlineMs(): number {
    return this.options.config.shutdown.flushDeadlineMs;
  }

  get mode(): PersistenceConfig['mode'] {
    return this.options.config.mode;
  }

  /** Whether a miss can be loaded from anywhere (some store is configured). */
  get hasStores(): boolean {
    return this.options.links.length > 0;
  }

  /**
   * Whether this instance can serve: start-up (journal replay, preload within
   * its budget) is done and it is not shutting down. A store being down does
   * not change it (reads are served from memory and write-behind takes writes),
   * unless `readiness.requireStores` asks for that.
   */
  get readyNow(): boolean {
    if (!this.started || this.closing) return false;
    if (!this.options.config.readiness.requireStores) return true;
    return this.options.links.every((l) => !l.required || this.up.get(l) === true);
  }

  /** Mode, readiness and store health, for /status. */
  status(): PersistenceStatus {
    const pending = this.pending();
    return {
      mode: this.mode,
      ready: this.readyNow,
      stores: this.options.links.map((l) => ({
        name: l.store.name,
        required: l.required,
        up: this.up.get(l) === true,
        ...(pending[l.store.name] !== undefined ? { pending: pending[l.store.name] } : {}),
      })),
    };
  }

  /** Synchronous passivation check before an evicted entry leaves memory; throws PassivationError (OOM) to keep it. */
  passivate(entry: StoredEntry): void {
    this.passivation?.assertEvictable(entry);
  }

  get passivationEnabled(): boolean {
    return this.passivation !== undefined;
  }

  /**
   * The health probe: starts the stores that were down at start, pings the
   * others, and records each answer (state_cache_store_up, /status). Resolves
   * with `readyNow`.
   */
  async ready(): Promise<boolean> {
    if (this.started && !this.closing) await Promise.all(this.options.links.map((l) => this.checkStore(l)));
    return this.readyNow;
  }

  private async checkStore(link: StoreLink): Promise<void> {
    if (this.unstarted.has(link)) {
      await this.startStore(link);
      return;
    }
    const timeout = this.options.pingTimeoutMs ?? 1000;
    let timer: NodeJS.Timeout | undefined;
    let ok = true;
    try {
      await Promise.race([
        link.store.ping(),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('ping timed out')), timeout); }),
      ]);
    } catch {
      ok = false;
    } finally {
      clearTimeout(timer);
    }
    this.record(link, ok);
  }

  /** Starts a store; a store that is unavailable is recorded down and started again by the probe. */
  private async startStore(link: StoreLink): Promise<void> {
    try {
      await link.store.start();
      // Versions issued from now on exceed every stored one, whatever this instance's clock says.
      if (link.store.maxVersion) this.options.keyspace.observeVersion(await link.store.maxVersion());
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      if (!this.unstarted.has(link)) {
        this.options.logger?.error({ store: link.store.name, err },
          'store unavailable at start: serving from memory and the journal; loads from it fail until it answers, and it is started again every probe interval');
      }
      this.unstarted.add(link);
      this.record(link, false);
      return;
    }
    if (this.unstarted.delete(link)) this.options.logger?.info({ store: link.store.name }, 'store started after being unavailable');
    this.record(link, true);
  }

  private record(link: StoreLink, ok: boolean): void {
    const was = this.up.get(link);
    this.up.set(link, ok);
    if (was === undefined || was === ok || this.unstarted.has(link)) return;
    if (ok) {
      this.options.logger?.info({ store: link.store.name }, 'store answers again');
      this.writeBehind?.storeAnswers(link.store);
    } else {this.options.logger?.warn({ store: link.store.name }, 'store does not answer its health ping');}
  }

  /** Drains the write-behind queue for at most `deadlineMs`. */
  async flush(deadlineMs = this.options.config.shutdown.flushDeadlineMs): Promise<FlushReport> {
    if (!this.writeBehind) {
      await this.writeThrough?.idle();
      return { remaining: 0, timedOut: false };
    }
    return this.writeBehind.flush(deadlineMs);
  }

  /** Shutdown: refuse new writes, flush within the deadline, close the journal and the stores. */
  async close(deadlineMs = this.options.config.shutdown.flushDeadlineMs): Promise<FlushReport> {
    this.closing = true;
    clearInterval(this.probe);
    const report = await this.flush(deadlineMs);
    await this.coherence_?.close();
    await this.writeBehind?.close();
    await this.journal?.close();
    for (const { store } of this.options.links) {
      try {
        await store.close();
      } catch (err) {
        this.options.logger?.warn({ store: store.name, err }, 'store close failed');
      }
    }
    this.options.logger?.info({ remaining: report.remaining }, 'persistence closed');
    return report;
  }

  private async startUp(): Promise<void> {
    const { config, links, keyspace, logger } = this.options;
    validatePersistence(config, links, { expiryInUse: keyspace.expiryInUse });
    // A store that is down does not stop start-up: memory and the journal serve, write-behind queues.
    for (const link of links) await this.startStore(link);

    const purged = config.purgeOnStartup ? await purgeStores(links, logger) : [];

    if (config.mode === 'write-through') {
      this.writeThrough = new WriteThrough(links, { maxBatchEntries: config.writeThrough.maxBatchEntries, metrics: this.metrics, logger });
    }
    let replayed = 0;
    if (config.mode === 'write-behind') {
      const wb = config.writeBehind;
      // Found now rather than at the first dead letter, which may be weeks away.
      const problem = await probeDirectory(dirname(wb.deadLetterPath));
      if (problem) {
        throw new PersistenceConfigError([`persistence.writeBehind.deadLetterPath ${wb.deadLetterPath}: its directory is not writable (${problem}); mount a writable volume there or change the path`]);
      }
      if (config.journal.enabled) {
        this.journal = await Journal.open({ ...config.journal, metrics: this.metrics, logger });
      }
      this.writeBehind = new WriteBehind(links, {
        ...wb,
        deadLetter: new DeadLetterFile(wb.deadLetterPath, logger, this.metrics),
        journal: this.journal,
        metrics: this.metrics,
        logger,
      });
      if (this.journal) {
        // Replay before preload, so the journal's newer versions win over the stores' copies.
        // The newest record per key decides what memory gets (a delete: nothing).
        const newest = new Map<string, JournalRecord>();
        for await (const record of this.journal.replay()) {
          keyspace.observeVersion(record.version);
          const id = keyId(record.key);
          const seen = newest.get(id);
          if (!seen || seen.version <= record.version) newest.set(id, record);
          this.writeBehind.enqueueReplayed(record, record.segment);
          replayed++;
        }
        for (const record of newest.values()) if (record.kind === 'set') keyspace.applyEntry(record);
        logger?.info({ replayed, keys: newest.size, pending: this.writeBehind.pending() }, 'journal replayed');
      }
    }
    if (config.passivation.enabled) {
      this.passivation = new Passivation({ writeThrough: this.writeThrough, writeBehind: this.writeBehind }, this.metrics, logger);
    }
    let preloadResult: PreloadResult | undefined;
    if (config.preload.enabled) {
      preloadResult = await preload(links, {
        maxEntries: keyspace.maxEntries,
        maxBytes: keyspace.maxBytes,
        timeBudgetMs: config.preload.timeBudgetMs,
        insert: (e) => keyspace.applyEntry(e),
        observeVersion: (v) => keyspace.observeVersion(v),
        metrics: this.metrics,
        logger,
      });
    } else {
      this.metrics.preloadDone.set(1);
    }
    if (config.coherence.enabled) {
      if (!keyspace.coherent) throw new PersistenceConfigError(['persistence.coherence.enabled: this keyspace cannot drop stale copies (no coherent keyspace given)']);
      const wb = this.writeBehind;
      this.coherence_ = Coherence.start({
        config: config.coherence,
        mode: config.mode,
        links,
        keyspace: keyspace.coherent,
        queued: (key) => wb?.peek(key),
        registry: this.options.registry,
        logger,
      });
    }
    this.report_ = { purged, replayed, preload: preloadResult };
    this.started = true;
    await this.ready();
    const every = this.options.readinessIntervalMs ?? 2000;
    if (every > 0) {
      this.probe = setInterval(() => void this.ready(), every);
      this.probe.unref();
    }
    logger?.info({ mode: config.mode, stores: writableLinks(links).map((l) => l.store.name), ...this.report_ }, 'persistence started');
  }
}

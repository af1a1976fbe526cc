import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read from a write-behind queue at each scrape. */
export interface TrackedQueue {
  readonly maxEntries: number;
  readonly maxBytes: number;
  pending(): number;
  pendingBytes(): number;
  oldestAgeMs(): number;
}

/**
 * The persistence layer's Prometheus metrics, registered on the registry the
 * server passes in (so tests and several instances never share a global one).
 */
export class PersistenceMetrics {
  readonly pendingWrites: Gauge<'store'>;
  readonly pendingBytes: Gauge<'store'>;
  readonly pendingWritesLimit: Gauge<'store'>;
  readonly pendingBytesLimit: Gauge<'store'>;
  readonly oldestPendingAge: Gauge<'store'>;
  readonly storeUp: Gauge<'store'>;
  readonly flushBatches: Counter<'store' | 'outcome'>;
  readonly flushDuration: Histogram<'store'>;
  readonly flushBatchSize: Histogram<'store'>;
  readonly storeErrors: Counter<'store' | 'kind'>;
  readonly retries: Counter<'store'>;
  readonly deadLettered: Counter<'store'>;
  readonly queueFull: Counter<'policy'>;
  readonly writeThroughBatches: Counter<'outcome'>;
  readonly writeThroughGroupSize: Histogram;
  readonly journalBytes: Gauge;
  readonly journalSegments: Gauge;
  readonly journalFsyncs: Counter;
  readonly journalFsyncDuration: Histogram;
  readonly journalGroupSize: Histogram;
  readonly journalTornRecords: Counter;
  readonly replayedRecords: Counter;
  readonly loads: Counter<'store' | 'result'>;
  readonly passivated: Counter<'outcome'>;
  readonly preloadEntries: Gauge;
  readonly preloadDone: Gauge;

  private storeHealth: (() => Iterable<[string, boolean]>) | undefined;

  private readonly queues = new Map<string, TrackedQueue>();

  constructor(registry: Registry, prefix = 'state_cache_persistence_') {
    const registers = [registry];
    const queues = this.queues;
    const health = () => this.storeHealth?.() ?? [];
    this.storeUp = new Gauge({
      name: 'state_cache_store_up',
      help: '1 while the store answers (its start or last health ping succeeded), 0 while it is down.',
      labelNames: ['store'],
      registers,
      collect() {
        for (const [store, up] of health()) this.set({ store }, up ? 1 : 0);
      },
    });
    // Read when scraped, not updated per write: this is the write path.
    this.pendingWrites = new Gauge({
      name: `${prefix}pending_writes`,
      help: 'Write-behind keys waiting for a store, per store.',
      labelNames: ['store'],
      registers,
      collect() {
        for (const [store, queue] of queues) this.set({ store }, queue.pending());
      },
    });
    this.pendingBytes = new Gauge({
      name: `${prefix}pending_bytes`,
      help: 'Bytes of write-behind writes waiting for a store, per store.',
      labelNames: ['store'],
      registers,
      collect() {
        for (const [store, queue] of queues) this.set({ store }, queue.pendingBytes());
      },
    });
    // The bounds, so that alerts can compare the queue with them (writeBehind.maxPendingEntries / maxPendingBytes).
    this.pendingWritesLimit = new Gauge({
      name: `${prefix}pending_writes_limit`,
      help: 'Bound of the write-behind queue in keys, per store (writeBehind.maxPendingEntries).',
      labelNames: ['store'],
      registers,
      collect() {
        for (const [store, queue] of queues) this.set({ store }, queue.maxEntries);
      },
    });
    this.pendingBytesLimit = new Gauge({
      name: `${prefix}pending_bytes_limit`,
      help: 'Bound of the write-behind queue in bytes, per store (writeBehind.maxPendingBytes).',
      labelNames: ['store'],
      registers,
      collect() {
        for (const [store, queue] of queues) this.set({ store }, queue.maxBytes);
      },
    });
    this.oldestPendingAge = new Gauge({
      name: `${prefix}oldest_pending_age_seconds`,
      help: 'Age of the oldest write-behind write a store does not have yet.',
      labelNames: ['store'],
      registers,
      collect() {
        for (const [store, queue] of queues) this.set({ store }, queue.oldestAgeMs() / 1000);
      },
    });
    this.flushBatches = new Counter({ name: `${prefix}flush_batches_total`, help: 'Write-behind store batches by outcome (ok, partial, failed).', labelNames: ['store', 'outcome'], registers });
    this.flushDuration = new Histogram({
      name: `${prefix}flush_duration_seconds`,
      help: 'Duration of write-behind store batches.',
      labelNames: ['store'],
      registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.flushBatchSize = new Histogram({
      name: `${prefix}flush_batch_entries`,
      help: 'Entries per write-behind store batch.',
      labelNames: ['store'],
      registers,
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
    });
    this.storeErrors = new Counter({ name: `${prefix}store_errors_total`, help: 'Store failures by store and kind (unavailable, rejected, load).', labelNames: ['store', 'kind'], registers });
    this.retries = new Counter({ name: `${prefix}retries_total`, help: 'Entries scheduled for another store write after a failure.', labelNames: ['store'], registers });
    this.deadLettered = new Counter({ name: `${prefix}dead_lettered_total`, help: 'Entries written to the dead-letter file instead of a store.', labelNames: ['store'], registers });
    this.queueFull = new Counter({ name: `${prefix}queue_full_total`, help: 'Writes that found the write-behind queue full (blocked or rejected).', labelNames: ['policy'], registers });
    this.writeThroughBatches = new Counter({ name: `${prefix}write_through_batches_total`, help: 'Write-through group commits by outcome.', labelNames: ['outcome'], registers });
    this.writeThroughGroupSize = new Histogram({
      name: `${prefix}write_through_group_size`,
      help: 'Writes acknowledged per write-through group commit.',
      registers,
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000],
    });
    this.journalBytes = new Gauge({ name: `${prefix}journal_bytes`, help: 'Bytes in journal segments on disk.', registers });
    this.journalSegments = new Gauge({ name: `${prefix}journal_segments`, help: 'Journal segments on disk.', registers });
    this.journalFsyncs = new Counter({ name: `${prefix}journal_fsyncs_total`, help: 'Journal group commits (one write and one fsync each).', registers });
    this.journalFsyncDuration = new Histogram({
      name: `${prefix}journal_fsync_duration_seconds`,
      help: 'Duration of one journal group commit (write + fsync).',
      registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    });
    this.journalGroupSize = new Histogram({
      name: `${prefix}journal_group_size`,
      help: 'Records per journal group commit.',
      registers,
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000],
    });
    this.journalTornRecords = new Counter({ name: `${prefix}journal_torn_tails_total`, help: 'Journal segments whose tail was torn or corrupt at replay (the tail is ignored).', registers });
    this.replayedRecords = new Counter({ name: `${prefix}journal_replayed_records_total`, help: 'Journal records replayed at start.', registers });
    this.loads = new Counter({ name: `${prefix}loads_total`, help: 'Loads on miss by store and result (hit, miss, error).', labelNames: ['store', 'result'], registers });
    this.passivated = new Counter({ name: `${prefix}passivated_total`, help: 'Evicted entries written to the stores, by outcome.', labelNames: ['outcome'], registers });
    this.preloadEntries = new Gauge({ name: `${prefix}preload_entries`, help: 'Entries preloaded so far.', registers });
    this.preloadDone = new Gauge({ name: `${prefix}preload_done`, help: '1 once preload finished (or is disabled).', registers });
  }

  /**
   * Registers one store's write-behind queue, read at each scrape. Its
   * dead-letter and retry counters start at 0, so that an alert on their
   * increase also sees the first one.
   */
  trackQueue(store: string, queue: TrackedQueue): void {
    this.queues.set(store, queue);
    this.deadLettered.inc({ store }, 0);
    this.retries.inc({ store }, 0);
  }

  /** Where state_cache_store_up reads each store's health at each scrape. */
  watchStoreHealth(read: () => Iterable<[string, boolean]>): void {
    this.storeHealth = read;
  }
}

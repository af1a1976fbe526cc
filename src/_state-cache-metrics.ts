/*
 * The metric names the monitoring objects (alerts and the Grafana dashboard)
 * use, in one place. Nothing else in the library spells a metric name:
 * test/monitoring.test.ts checks that every name in the emitted expressions
 * is one of these, and runtime/test/monitoring-metrics.test.ts starts
 * state-cache and checks every one of these against its /metrics output.
 *
 * No imports: the runtime's tests import this file directly.
 */

/** Metrics state-cache exports on its HTTP port at /metrics (runtime/src/metrics.ts, runtime/src/persistence/metrics.ts). */
export const STATE_CACHE_METRICS = {
  /** counter {command} */
  commands: 'state_cache_commands_total',
  /** histogram buckets {le} */
  commandDurationBucket: 'state_cache_command_duration_seconds_bucket',
  hits: 'state_cache_keyspace_hits_total',
  misses: 'state_cache_keyspace_misses_total',
  evictions: 'state_cache_evictions_total',
  expirations: 'state_cache_expirations_total',
  /** gauge: accounted bytes in memory */
  bytes: 'state_cache_bytes',
  /** gauge: the keyspace's byte budget */
  maxBytes: 'state_cache_max_bytes',
  /** counter: writes refused with the OOM error */
  oomErrors: 'state_cache_oom_errors_total',
  /** gauge: 1 when /readyz answers 200 */
  ready: 'state_cache_ready',
  /** gauge {store} */
  pendingWrites: 'state_cache_persistence_pending_writes',
  /** gauge {store} */
  pendingWritesLimit: 'state_cache_persistence_pending_writes_limit',
  /** gauge {store} */
  pendingBytes: 'state_cache_persistence_pending_bytes',
  /** gauge {store} */
  pendingBytesLimit: 'state_cache_persistence_pending_bytes_limit',
  /** histogram buckets {store, le} */
  flushDurationBucket: 'state_cache_persistence_flush_duration_seconds_bucket',
  /** counter {store, kind} */
  storeErrors: 'state_cache_persistence_store_errors_total',
  /** counter {store} */
  deadLettered: 'state_cache_persistence_dead_lettered_total',
  /** counter {policy} */
  queueFull: 'state_cache_persistence_queue_full_total',
  /** gauge {store}: 1 while the store answers its start or health ping (every store of the chain) */
  storeUp: 'state_cache_store_up',
} as const;

/**
 * Series Prometheus itself records for every scrape target; state-cache does
 * not export them. `up` is 0 while state-cache replays its journal or
 * preloads, because it opens its listeners only afterwards.
 */
export const PROMETHEUS_METRICS = {
  up: 'up',
} as const;

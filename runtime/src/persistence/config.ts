import { Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { schemaProblems } from '../schema-errors';

/**
 * The `persistence` section of the state-cache config. Every option has a
 * description and a default, so `{}` is a valid (memory only) section. The
 * main config schema embeds `PersistenceConfigSchema`.
 */

const RetrySchema = Type.Object({
  attempts: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 8,
    description: 'Store writes tried per entry (the first try included) before the entry goes to the dead-letter file.',
  }),
  baseDelayMs: Type.Integer({
    minimum: 1,
    default: 100,
    description: 'Backoff base: retry n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))) (full jitter).',
  }),
  maxDelayMs: Type.Integer({
    minimum: 1,
    default: 30_000,
    description: 'Upper bound of one backoff delay.',
  }),
}, { default: {}, additionalProperties: false, description: 'Retries of failed store writes (write-behind).' });

const WriteThroughSchema = Type.Object({
  maxBatchEntries: Type.Integer({
    minimum: 1,
    default: 1000,
    description: 'Most entries in one group-committed store batch; writes beyond wait for the next batch.',
  }),
}, { default: {}, additionalProperties: false, description: 'Write-through: acknowledged after every required store has the write.' });

const WriteBehindSchema = Type.Object({
  batchSize: Type.Integer({
    minimum: 1,
    default: 100,
    description: 'A flush starts as soon as this many keys are pending, and writes at most this many per store batch.',
  }),
  flushIntervalMs: Type.Integer({
    minimum: 1,
    default: 1000,
    description: 'A flush starts at the latest this long after a write, even if fewer than batchSize keys are pending.',
  }),
  maxPendingEntries: Type.Integer({
    minimum: 1,
    default: 100_000,
    description: 'Queue bound: pending keys (after coalescing) per store.',
  }),
  maxPendingBytes: Type.Integer({
    minimum: 1,
    default: 64 * 1024 * 1024,
    description: 'Queue bound: bytes of pending keys and values per store.',
  }),
  whenFull: Type.Union([Type.Literal('block'), Type.Literal('reject')], {
    default: 'block',
    description: 'When the queue is full: block (the write waits for room, up to blockTimeoutMs) or reject (fails at once with a queue-full error).',
  }),
  blockTimeoutMs: Type.Integer({
    minimum: 0,
    default: 5000,
    description: 'How long a blocked write waits for room before it fails with the queue-full error.',
  }),
  retry: RetrySchema,
  deadLetterPath: Type.String({
    minLength: 1,
    default: '/var/lib/state-cache/dead-letter.jsonl',
    description: 'JSON-lines file that receives entries whose retries are exhausted or that a store refused (key and value base64).',
  }),
}, { default: {}, additionalProperties: false, description: 'Write-behind: acknowledged after memory (and the journal); stores updated in coalesced batches.' });

const JournalSchema = Type.Object({
  enabled: Type.Boolean({
    default: false,
    description: 'Append every write-behind write to a journal before acknowledging it; replayed at start. Requires mode write-behind.',
  }),
  dir: Type.String({
    minLength: 1,
    default: '/var/lib/state-cache/journal',
    description: 'Directory of the journal segments; put it on a persistent volume.',
  }),
  segmentBytes: Type.Integer({
    minimum: 4096,
    default: 64 * 1024 * 1024,
    description: 'A segment is closed and a new one started once it reaches this size; a closed segment is deleted once the stores have every record in it.',
  }),
  fsync: Type.Boolean({
    default: true,
    description: 'fsync each group commit before acknowledging (survives node loss); false survives a process crash only.',
  }),
}, { default: {}, additionalProperties: false, description: 'The write-behind journal.' });

const PassivationSchema = Type.Object({
  enabled: Type.Boolean({
    default: false,
    description: 'Write evicted entries to the stores before they leave memory; a miss loads them back. Needs a non-shared writable store.',
  }),
}, { default: {}, additionalProperties: false });

const PreloadSchema = Type.Object({
  enabled: Type.Boolean({
    default: false,
    description: 'Fill memory at start from the first store marked for preload, up to the memory bound.',
  }),
  timeBudgetMs: Type.Integer({
    minimum: 0,
    default: 30_000,
    description: 'Preload stops after this long; the rest loads on miss. Readiness waits for preload.',
  }),
}, { default: {}, additionalProperties: false });

const ShutdownSchema = Type.Object({
  flushDeadlineMs: Type.Integer({
    minimum: 0,
    default: 20_000,
    description: 'On SIGTERM the write-behind queue is flushed for at most this long; what is left is reported (and stays in the journal when enabled).',
  }),
}, { default: {}, additionalProperties: false });

const ReadinessSchema = Type.Object({
  requireStores: Type.Boolean({
    default: false,
    description: 'Also report not ready (/readyz 503) while a required store does not answer. Off by default: readiness says whether this instance can serve, and it can serve from memory (and, in write-behind, take writes) while a store is down; turning it on takes every pod out of its Service during a store outage.',
  }),
}, { default: {}, additionalProperties: false });

const CoherenceSchema = Type.Object({
  enabled: Type.Boolean({
    default: false,
    description: 'Keep this instance coherent with the others on the same shared store: every committed batch is announced through the store (PostgreSQL: pg_notify in the same transaction), and a cached copy is dropped when another instance stores a newer version. Turn it on when several replicas share a store (the constructs do).',
  }),
  heartbeatMs: Type.Integer({
    minimum: 10,
    default: 1000,
    description: 'How often the listening connection sends itself a heartbeat through the notification channel.',
  }),
  heartbeatTimeoutMs: Type.Integer({
    minimum: 20,
    default: 3000,
    description: 'The channel counts as down when no notification came back for this long (a broken connection counts at once). A batch of this instance\'s running on the listening connection holds the count: it has the store\'s own timeout.',
  }),
  maxUnvalidatedMs: Type.Integer({
    minimum: 50,
    default: 5000,
    description: 'While the channel is down, no cached copy is served longer than this after the channel last worked (onOutage drop). Must exceed heartbeatTimeoutMs.',
  }),
  onOutage: Type.Union([Type.Literal('drop'), Type.Literal('serve-stale')], {
    default: 'drop',
    description: 'drop: when maxUnvalidatedMs has passed without the channel, drop every cached copy (this instance\'s own unflushed writes stay), and again every maxUnvalidatedMs while it is down, so reads load from the store; serve-stale: keep serving and show the time since the channel last worked in state_cache_coherence_unvalidated_seconds.',
  }),
}, { default: {}, additionalProperties: false, description: 'Coherence between replicas that share a store.' });

export const PersistenceConfigSchema = Type.Object({
  mode: Type.Union([Type.Literal('none'), Type.Literal('write-through'), Type.Literal('write-behind')], {
    default: 'none',
    description: 'none: memory only (stores are still read on miss and preload); write-through: acknowledged after the stores; write-behind: acknowledged after memory and journal.',
  }),
  writeThrough: WriteThroughSchema,
  writeBehind: WriteBehindSchema,
  journal: JournalSchema,
  passivation: PassivationSchema,
  preload: PreloadSchema,
  purgeOnStartup: Type.Boolean({
    default: false,
    description: 'Empty every non-shared, writable store at start (before preload and journal replay).',
  }),
  shutdown: ShutdownSchema,
  readiness: ReadinessSchema,
  coherence: CoherenceSchema,
}, { default: {}, additionalProperties: false, description: 'How state-cache keeps entries in its stores.' });

export type PersistenceConfig = Static<typeof PersistenceConfigSchema>;

/** Fills defaults and validates; throws with every problem and its JSON path. */
export function parsePersistenceConfig(raw: unknown): PersistenceConfig {
  const withDefaults = Value.Default(PersistenceConfigSchema, structuredClone(raw ?? {}));
  const errors = schemaProblems(PersistenceConfigSchema, withDefaults).map((p) => `${p.path || '/'}: ${p.message}`);
  if (errors.length > 0) throw new Error(`persistence config: ${errors.join('; ')}`);
  return withDefaults as PersistenceConfig;
}

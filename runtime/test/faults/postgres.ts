import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { RunningCache, sleep, startCache } from './harness';
import { TestPostgres } from '../stores/servers';

/**
 * Shared pieces of the PostgreSQL fault tests and `npm run soak`: the config
 * of a state-cache in front of a real PostgreSQL, a direct client to read what
 * the table holds, and one kill -9 trial.
 */

export interface PgCacheOptions {
  readonly dir: string;
  readonly table: string;
  readonly mode?: 'write-behind' | 'write-through';
  readonly journal?: boolean;
  /** Merged into `persistence.writeBehind`. */
  readonly writeBehind?: object;
  /** Merged into `persistence`. */
  readonly persistence?: object;
  /** Merged into the top level of the config. */
  readonly extra?: object;
}

export function pgStore(pg: TestPostgres, table: string): object {
  return { ...pg.storeConfig(table), connectTimeoutMs: 500, statementTimeoutMs: 2000 };
}

export function pgCacheConfig(pg: TestPostgres, o: PgCacheOptions): object {
  return {
    server: { port: 0 },
    http: { port: 0 },
    stores: { chain: [{ store: pgStore(pg, o.table) }] },
    persistence: {
      mode: o.mode ?? 'write-behind',
      journal: { enabled: o.journal ?? false, dir: join(o.dir, `journal-${o.table}`) },
      writeBehind: {
        deadLetterPath: join(o.dir, `dead-letter-${o.table}.jsonl`),
        flushIntervalMs: 20,
        retry: { attempts: 1000, baseDelayMs: 50, maxDelayMs: 500 },
        ...o.writeBehind,
      },
      shutdown: { flushDeadlineMs: 15_000 },
      ...o.persistence,
    },
    ...o.extra,
  };
}

export function startPgCache(pg: TestPostgres, o: PgCacheOptions, name: string): Promise<RunningCache> {
  return startCache(o.dir, pgCacheConfig(pg, o), name, { PG_PASSWORD: pg.password });
}

/** A plain pg client on the test PostgreSQL, to see what state-cache stored. */
export async function pgClient(pg: TestPostgres): Promise<Client> {
  const c = new Client({ host: '127.0.0.1', port: pg.port, user: pg.user, password: pg.password, database: 'postgres' });
  await c.connect();
  return c;
}

/** Every row of `table` as key → value (utf8); an empty map when the table does not exist yet. */
export async function tableContents(pg: TestPostgres, table: string): Promise<Map<string, string>> {
  const c = await pgClient(pg);
  try {
    const exists = await c.query('SELECT to_regclass($1) AS t', [table]);
    if (exists.rows[0].t === null) return new Map();
    const res = await c.query(`SELECT key, value FROM ${table}`);
    return new Map(res.rows.map((r: { key: Buffer; value: Buffer }) => [r.key.toString(), r.value.toString()]));
  } finally {
    await c.end();
  }
}

export async function metric(cache: RunningCache, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${cache.httpPort}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : NaN;
}

export const PENDING = /state_cache_persistence_pending_writes\{store="pg"\} (\d+)/;

export async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

export async function stopCache(cache: RunningCache): Promise<number | string> {
  if (cache.child.exitCode === null && cache.child.signalCode === null) cache.child.kill('SIGTERM');
  return cache.exited;
}

/**
 * Writers that each own their keys (`w<n>-<i mod keysPerWriter>`) and write
 * them one after another, so the last acknowledged value of a key is known
 * exactly. A write sent but not answered when the server dies may or may not
 * have been applied: it is remembered as `inFlight`.
 */
export class Load {
  readonly acked = new Map<string, string>();
  readonly inFlight = new Map<string, string>();
  /** Writes acknowledged, counting overwrites. */
  writes = 0;
  private stopped = false;
  private readonly done: Promise<void>;
  private readonly clients: Redis[] = [];

  constructor(port: number, writers: number, keysPerWriter: number, prefix = 'w') {
    this.done = Promise.all(Array.from({ length: writers }, async (_, w) => {
      const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
      client.on('error', () => undefined);
      this.clients.push(client);
      await client.connect();
      for (let i = 0; !this.stopped; i++) {
        const key = `${prefix}${w}-${i % keysPerWriter}`;
        const value = `v${w}-${i}-${'x'.repeat(40)}`;
        this.inFlight.set(key, value);
        try {
          const reply = await client.set(key, value);
          if (reply !== 'OK') throw new Error(`SET ${key} answered ${reply}`);
          this.acked.set(key, value);
          this.inFlight.delete(key);
          this.writes++;
        } catch {
          return; // the server went away: this write is unacknowledged
        }
      }
    })).then(() => undefined);
  }

  get count(): number {
    return this.acked.size;
  }

  /** Stops the writers (they end at their next write, or when the server dies). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    for (const c of this.clients) if (c.status !== 'end') c.disconnect();
  }

  /** Whether `value` is what `key` may hold: its last acknowledged value, or the one in flight when the server died. */
  allowed(key: string, value: string | null | undefined): boolean {
    return value === this.acked.get(key) || (this.inFlight.has(key) && value === this.inFlight.get(key));
  }
}

export interface KillTrialResult {
  /** Keys with an acknowledged write. */
  readonly acknowledged: number;
  /** Of those, keys whose last acknowledged (or later, in-flight) value state-cache served after the restart. */
  readonly recoveredInMemory: number;
  /** Of those, keys whose value PostgreSQL held once the queue drained. */
  readonly recoveredInStore: number;
  /** Writes acknowledged before the kill (all writers together, counting overwrites). */
  readonly writesAcknowledged: number;
  readonly replayed: number;
  readonly lost: string[];
  readonly killedAfterMs: number;
}

/**
 * One kill -9 trial: state-cache with the journal in front of PostgreSQL,
 * `writers` concurrent clients, SIGKILL at a random moment, restart on the
 * same journal and table. Every acknowledged write must be served after the
 * replay, and be in PostgreSQL once the queue has drained.
 */
export interface KillTrialOptions {
  /** Concurrent clients. @default 8 */
  readonly writers?: number;
  /** Keys each client owns. @default 100 */
  readonly keysPerWriter?: number;
  /** The kill comes at a random moment in this range of milliseconds after the load starts. @default [300, 1500] */
  readonly killAfterMs?: [number, number];
  /** With the journal (the guarantee under test); false is the control that must lose writes. @default true */
  readonly journal?: boolean;
  /** The kill also waits (20 s at most) until this many keys were acknowledged, so a busy machine still tests something. @default 60 */
  readonly minAcknowledgedKeys?: number;
}

export async function killTrial(pg: TestPostgres, dir: string, table: string, opts: KillTrialOptions = {}): Promise<KillTrialResult> {
  const o: PgCacheOptions = { dir, table, journal: opts.journal ?? true };
  const [lo, hi] = opts.killAfterMs ?? [300, 1500];
  const first = await startPgCache(pg, o, `${table}-first`);
  let second: RunningCache | undefined;
  try {
    const load = new Load(first.respPort, opts.writers ?? 8, opts.keysPerWriter ?? 100);
    const killedAfterMs = Math.round(lo + Math.random() * (hi - lo));
    await sleep(killedAfterMs);
    const patience = Date.now() + 20_000;
    while (load.acked.size < (opts.minAcknowledgedKeys ?? 60) && Date.now() < patience) await sleep(20);
    first.child.kill('SIGKILL');
    const how = await first.exited;
    if (how !== 'SIGKILL') throw new Error(`state-cache ended with ${how} instead of SIGKILL:\n${first.logs.slice(-10).join('\n')}`);
    await load.stop();
    const writes = load.writes;

    second = await startPgCache(pg, o, `${table}-second`);
    const replayedLine = second.logs.find((l) => l.includes('"replayed"'));
    const replayed = !o.journal ? 0 : replayedLine ? Number(/"replayed":(\d+)/.exec(replayedLine)?.[1] ?? NaN) : NaN;
    const client = new Redis({ port: second.respPort, host: '127.0.0.1', lazyConnect: true });
    await client.connect();
    const lost = new Set<string>();
    let recoveredInMemory = 0;
    const keys = [...load.acked.keys()];
    const values = keys.length > 0 ? await client.mget(keys) : [];
    keys.forEach((key, i) => {
      if (load.allowed(key, values[i])) recoveredInMemory++;
      else lost.add(`${key}: served ${JSON.stringify(values[i])}, acknowledged ${JSON.stringify(load.acked.get(key))}`);
    });
    client.disconnect();

    await until(async () => (await metric(second!, PENDING)) === 0, 60_000, 'the replayed writes to reach PostgreSQL');
    const stored = await tableContents(pg, table);
    let recoveredInStore = 0;
    for (const key of keys) {
      if (load.allowed(key, stored.get(key))) recoveredInStore++;
      else lost.add(`${key}: PostgreSQL holds ${JSON.stringify(stored.get(key))}, acknowledged ${JSON.stringify(load.acked.get(key))}`);
    }
    return { acknowledged: keys.length, recoveredInMemory, recoveredInStore, writesAcknowledged: writes, replayed, lost: [...lost], killedAfterMs };
  } finally {
    for (const c of [first, second]) {
      if (c && c.child.exitCode === null && c.child.signalCode === null) {
        c.child.kill('SIGTERM');
        await c.exited;
      }
    }
  }
}

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { DatabaseError, Pool, PoolConfig, QueryResult } from 'pg';
import type { PostgresStoreConfig } from './config';
import type { StoreContext } from './context';
import { byteaArray, int8Array, timestamptzArray } from './postgres-binary';
import { announcementPayloads, channelOf, PostgresListener } from './postgres-notify';
import {
  BatchResult, CacheStore, CoherenceChannel, CoherenceListener, CoherenceOptions, StoreCharacteristics, StoreConfigError, StoredDelete,
  StoredEntry, StoreRejectedError, StoreUnavailableError,
} from './store';

/**
 * SQLSTATE classes that mean "this data", not "this database": data
 * exceptions (22), integrity constraints such as a CHECK (23) and program
 * limits such as a key too large for the primary key index (54). A batch that
 * fails with one of these is split to find the entries at fault.
 */
const DATA_ERROR_CLASSES = new Set(['22', '23', '54']);

function sqlState(err: unknown): string | undefined {
  return err instanceof DatabaseError ? err.code : undefined;
}

function isDataError(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && DATA_ERROR_CLASSES.has(code.slice(0, 2));
}

interface Row {
  key: Buffer;
  value: Buffer;
  version: string;
  expires_at: Date | null;
}

function toEntry(row: Row): StoredEntry {
  return {
    key: row.key,
    value: row.value,
    version: Number(row.version),
    expiresAt: row.expires_at === null ? 0 : row.expires_at.getTime(),
  };
}

/** Keeps the highest version per key: one statement may not touch a row twice. */
function lastPerKey<T extends { key: Buffer; version: number }>(items: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) {
    const k = item.key.latin1Slice(0, item.key.length); // one char per byte: distinct keys stay distinct
    const have = byKey.get(k);
    if (have === undefined || have.version < item.version) byKey.set(k, item);
  }
  return byKey.size === items.length ? [...items] : [...byKey.values()];
}

const EXPECTED_COLUMNS: Record<string, string> = {
  key: 'bytea', value: 'bytea', version: 'bigint', expires_at: 'timestamp with time zone',
};

/**
 * The postgres store: one table, shareable between every state-cache that
 * names it, because every write is a conditional upsert by version and every
 * delete is conditional too. Batches are single statements over `unnest`.
 */
export class PostgresStore implements CacheStore {
  readonly name: string;
  readonly characteristics: StoreCharacteristics = { shareable: true, supportsTtl: true, versioned: true, readOnly: false };
  /** Exposed for diagnostics and tests (e.g. counting statements). */
  readonly pool: Pool;
  private readonly table: string;
  private readonly sql: {
    upsert: string;
    delete: string;
    load: string;
    versions: string;
    firstPage: string;
    nextPage: string;
    sweep: string;
    upsertAnnounced: string;
    deleteAnnounced: string;
  };
  private tableReady?: Promise<void>;
  private sweeper?: NodeJS.Timeout;
  /** Set once coherence is on: every batch announces its keys in its own transaction. */
  private announceAs?: string;
  private listener?: PostgresListener;
  private readonly statementNames: Map<string, string>;
  /** The NOTIFY channel of this table (every instance on the table listens on it). */
  readonly channel: string;

  constructor(readonly config: PostgresStoreConfig, private readonly context: StoreContext) {
    this.name = config.name;
    // Both names are validated as lower-case identifiers, quoting is for reserved words.
    this.table = `"${config.schema}"."${config.table}"`;
    const t = this.table;
    const live = '(expires_at IS NULL OR expires_at > $NOW::timestamptz)';
    this.channel = channelOf(config.schema, config.table);
    const upsert = `INSERT INTO ${t} AS t (key, value, version, expires_at) `
      + 'SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bigint[], $4::timestamptz[]) '
      + 'ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at '
      + 'WHERE t.version < excluded.version';
    const del = `DELETE FROM ${t} AS t USING unnest($1::bytea[], $2::bigint[]) AS d(key, version) `
      + 'WHERE t.key = d.key AND t.version <= d.version';
    // One statement is one transaction: the notifications are delivered if and only if the batch commits.
    const announced = (statement: string, n: number) => `WITH batch AS (${statement}) SELECT pg_notify($${n}, p) FROM unnest($${n + 1}::text[]) AS p`;
    this.sql = {
      upsert,
      delete: del,
      upsertAnnounced: announced(upsert, 5),
      deleteAnnounced: announced(del, 3),
      load: `SELECT key, value, version, expires_at FROM ${t} WHERE key = ANY($1::bytea[]) AND ${live.replace('$NOW', '$2')}`,
      versions: `SELECT key, version FROM ${t} WHERE key = ANY($1::bytea[]) AND ${live.replace('$NOW', '$2')}`,
      firstPage: `SELECT key, value, version, expires_at FROM ${t} WHERE ${live.replace('$NOW', '$1')} ORDER BY key LIMIT $2`,
      nextPage: `SELECT key, value, version, expires_at FROM ${t} WHERE key > $3::bytea AND ${live.replace('$NOW', '$1')} ORDER BY key LIMIT $2`,
      // The outer expires_at condition is re-checked on a row rewritten meanwhile.
      sweep: `DELETE FROM ${t} WHERE expires_at <= $1::timestamptz AND key IN `
        + `(SELECT key FROM ${t} WHERE expires_at <= $1::timestamptz LIMIT 1000)`,
    };
    // Named statements: PostgreSQL parses and plans each once per connection
    // instead of once per batch (a quarter of its CPU per write-through SET).
    this.statementNames = new Map(config.preparedStatements ? Object.entries(this.sql).map(([what, text]) => [text, `state_cache_${what}`]) : []);
    this.pool = new Pool(this.poolConfig());
    // An idle connection that breaks (e.g. the server restarts) is dropped by
    // the pool; without a listener the event would end the process.
    this.pool.on('error', (err) => {
      this.context.logger.warn({ store: this.name, err: err.message }, 'postgres connection lost; the pool reconnects on next use');
    });
  }

  private poolConfig(): PoolConfig {
    const c = this.config;
    let password: PoolConfig['password'];
    if (c.password !== undefined) {
      const ref = c.password;
      this.context.readSecret(this.name, ref); // fail at start, not at first connection
      password = () => this.context.readSecret(this.name, ref); // per connection: a rotated Secret is picked up
    }
    return {
      host: c.host,
      port: c.port,
      database: c.database,
      user: c.user,
      password,
      ssl: this.tlsOptions(),
      max: c.poolSize,
      min: Math.min(c.poolMin ?? c.poolSize, c.poolSize),
      connectionTimeoutMillis: c.connectTimeoutMs,
      statement_timeout: c.statementTimeoutMs,
      // A server that stops answering does not end a statement by its own timeout.
      query_timeout: c.statementTimeoutMs + c.connectTimeoutMs,
      application_name: 'state-cache',
      keepAlive: true,
    };
  }

  private tlsOptions(): false | ConnectionOptions {
    const tls = this.config.tls;
    if (tls.mode === 'disable') return false;
    if (tls.mode === 'require') return { rejectUnauthorized: false };
    let ca: string | undefined;
    if (tls.caFile !== undefined) {
      try {
        ca = readFileSync(tls.caFile, 'utf8');
      } catch (err) {
        throw new StoreConfigError(this.name, `cannot read tls.caFile ${tls.caFile} (${(err as NodeJS.ErrnoException).code}); mount the CA certificate there or fix the path`, { cause: err });
      }
    }
    // SNI takes host names only; for an IP host the certificate is checked against the IP.
    const servername = tls.serverName ?? (isIP(this.config.host) ? undefined : this.config.host);
    const options: ConnectionOptions = { rejectUnauthorized: true, ca, servername };
    if (tls.mode === 'verify-ca') options.checkServerIdentity = () => undefined;
    return options;
  }

  async start(): Promise<void> {
    await this.ensureTable();
    await this.warmPool();
    if (this.config.sweepIntervalMs > 0) {
      this.sweeper = setInterval(() => { void this.sweep(); }, this.config.sweepIntervalMs);
      this.sweeper.unref();
    }
    this.context.logger.info({ store: this.name, table: this.table, host: this.config.host }, 'postgres store ready');
  }

  /**
   * Opens the pool's poolMin connections now, so the first reads and the
   * first write-behind batch after start do not each wait for a connection
   * (measured: with connections opened on demand, three instances' first
   * batches and loads were 100-400 ms late on a 2-core host).
   * The pool keeps them open while idle. Best effort: the table is there, so
   * a connection that cannot be opened now (a busy server, max_connections)
   * is opened on demand later, as without poolMin; it never fails the start.
   */
  private async warmPool(): Promise<void> {
    const n = Math.min(this.config.poolMin ?? this.config.poolSize, this.config.poolSize);
    const opened = await Promise.allSettled(Array.from({ length: n }, () => this.pool.connect()));
    for (const o of opened) if (o.status === 'fulfilled') o.value.release();
    const failed = opened.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed.length > 0) {
      this.context.logger.warn({ store: this.name, opened: n - failed.length, poolMin: n, err: (failed[0].reason as Error).message },
        'postgres: could not open every poolMin connection at start; the rest open on demand');
    }
  }

  /** Creates the table if missing and checks the columns of an existing one. Retried after a failure. */
  private ensureTable(): Promise<void> {
    this.tableReady ??= this.createTable().catch((err) => {
      this.tableReady = undefined;
      throw err;
    });
    return this.tableReady;
  }

  private async createTable(): Promise<void> {
    const { schema, table } = this.config;
    await this.ddl(`CREATE TABLE IF NOT EXISTS ${this.table} (key bytea PRIMARY KEY, value bytea NOT NULL, version bigint NOT NULL, expires_at timestamptz NULL)`);
    const cols = await this.run('checking the table',
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2', [schema, table]);
    const have = Object.fromEntries(cols.rows.map((r: { column_name: string; data_type: string }) => [r.column_name, r.data_type]));
    const wrong = Object.entries(EXPECTED_COLUMNS).filter(([col, type]) => have[col] !== type);
    if (wrong.length > 0) {
      throw new StoreConfigError(this.name, `table ${this.table} exists with other columns (${wrong.map(([col, type]) => `${col}: expected ${type}, found ${have[col] ?? 'none'}`).join('; ')}); `
        + 'point "table" at a new table or migrate it to: key bytea primary key, value bytea not null, version bigint not null, expires_at timestamptz null');
    }
    await this.ddl(`CREATE INDEX IF NOT EXISTS "${`${table}_expires_at`.slice(0, 63)}" ON ${this.table} (expires_at) WHERE expires_at IS NOT NULL`);
  }

  private async ddl(statement: string): Promise<void> {
    try {
      await this.query(statement, []);
    } catch (err) {
      const code = sqlState(err);
      // Another instance created it at the same moment.
      if (code === '23505' || code === '42P07') return;
      if (code === '3F000') throw new StoreConfigError(this.name, `schema "${this.config.schema}" does not exist; create it or set "schema"`, { cause: err });
      if (code === '42501') throw new StoreConfigError(this.name, `user "${this.config.user}" may not create or use table ${this.table} (42501): grant it, or create the table as documented`, { cause: err });
      throw this.mapError('cannot create the table', err);
    }
  }

  async load(key: Buffer): Promise<StoredEntry | undefined> {
    return (await this.loadMany([key]))[0];
  }

  async loadMany(keys: readonly Buffer[]): Promise<Array<StoredEntry | undefined>> {
    if (keys.length === 0) return [];
    await this.ensureTable();
    const res = await this.run('load', this.sql.load, [byteaArray(keys), new Date(Date.now())]);
    const byKey = new Map<string, StoredEntry>();
    for (const row of res.rows as Row[]) byKey.set(row.key.toString('hex'), toEntry(row));
    return keys.map((k) => byKey.get(k.toString('hex')));
  }

  async writeBatch(entries: readonly StoredEntry[]): Promise<BatchResult> {
    const rows = lastPerKey(entries);
    return this.isolating('write', rows, (part) => {
      const params: unknown[] = [
        byteaArray(part.map((e) => e.key)), byteaArray(part.map((e) => e.value)), int8Array(part.map((e) => e.version)),
        timestamptzArray(part.map((e) => e.expiresAt)),
      ];
      if (this.announceAs === undefined) return [this.sql.upsert, params];
      return [this.sql.upsertAnnounced, [...params, this.channel, announcementPayloads(this.announceAs, Date.now(), part)]];
    });
  }

  async deleteBatch(deletes: readonly StoredDelete[]): Promise<BatchResult> {
    const rows = lastPerKey(deletes);
    return this.isolating('delete', rows, (part) => {
      const params: unknown[] = [byteaArray(part.map((d) => d.key)), int8Array(part.map((d) => d.version))];
      if (this.announceAs === undefined) return [this.sql.delete, params];
      return [this.sql.deleteAnnounced, [...params, this.channel, announcementPayloads(this.announceAs, Date.now(), part)]];
    });
  }

  /**
   * Coherence through PostgreSQL itself: from now on every batch this
   * instance commits carries pg_notify in the same statement, and a dedicated
   * connection LISTENs for the other instances' batches.
   */
  coherence(options: CoherenceOptions, listener: CoherenceListener): CoherenceChannel {
    this.announceAs = options.origin;
    this.listener?.close().catch(() => undefined);
    const { max: _max, min: _min, ...client } = this.poolConfig();
    const logger = this.context.logger;
    this.listener = new PostgresListener({ ...options, channel: this.channel, client: () => client, logger, store: this.name }, listener);
    this.listener.start();
    return this.listener;
  }

  /** Batches that ran on the listening connection so far (for tests). */
  get carriedBatches(): number {
    return this.listener?.carried ?? 0;
  }

  async versionsOf(keys: readonly Buffer[]): Promise<Array<number | undefined>> {
    if (keys.length === 0) return [];
    await this.ensureTable();
    const res = await this.run('reading versions', this.sql.versions, [byteaArray(keys), new Date(Date.now())]);
    const byKey = new Map<string, number>();
    for (const row of res.rows as Array<{ key: Buffer; version: string }>) byKey.set(row.key.toString('hex'), Number(row.version));
    return keys.map((k) => byKey.get(k.toString('hex')));
  }

  /**
   * Runs a batch as one statement. When the database refuses the data, the
   * batch is split in halves until the refused entries are found, so the
   * others still land: a poison key costs about 2·log2(n) extra statements.
   */
  private async isolating<T extends { key: Buffer }>(
    what: string, items: T[], statement: (part: T[]) => [string, unknown[]],
  ): Promise<BatchResult> {
    if (items.length === 0) return { rejected: [] };
    await this.ensureTable();
    const rejected: Array<{ key: Buffer; error: Error }> = [];
    const attempt = async (part: T[]): Promise<void> => {
      const [text, params] = statement(part);
      try {
        await this.query(text, params);
      } catch (err) {
        if (!isDataError(err)) throw this.mapError(`${what} failed`, err);
        if (part.length === 1) {
          const e = err as DatabaseError;
          rejected.push({ key: part[0].key, error: new StoreRejectedError(this.name, `${e.message} (SQLSTATE ${e.code})`, { cause: err }) });
          return;
        }
        const mid = Math.floor(part.length / 2);
        await attempt(part.slice(0, mid));
        await attempt(part.slice(mid));
      }
    };
    await attempt(items);
    if (rejected.length > 0) {
      this.context.logger.warn({ store: this.name, rejected: rejected.length, of: items.length, first: rejected[0].error.message }, `postgres refused entries of a ${what} batch; the others were applied`);
    }
    return { rejected };
  }

  async *iterate(): AsyncIterable<StoredEntry> {
    await this.ensureTable();
    const now = new Date(Date.now());
    const size = this.config.iterateBatchSize;
    let last: Buffer | undefined;
    for (;;) {
      const res = last === undefined
        ? await this.run('iterate', this.sql.firstPage, [now, size])
        : await this.run('iterate', this.sql.nextPage, [now, size, last]);
      for (const row of res.rows as Row[]) yield toEntry(row);
      if (res.rows.length < size) return;
      last = (res.rows[res.rows.length - 1] as Row).key;
    }
  }

  async clear(): Promise<void> {
    await this.ensureTable();
    await this.run('clear', `TRUNCATE ${this.table}`, []);
  }

  async ping(): Promise<void> {
    await this.run('ping', 'SELECT 1', []);
  }

  async maxVersion(): Promise<number> {
    await this.ensureTable();
    const res = await this.run('reading the highest version', `SELECT coalesce(max(version), 0) AS v FROM ${this.table}`, []);
    return Number(res.rows[0].v);
  }

  /** Deletes expired rows in chunks; failures are logged and retried next interval. */
  async sweep(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const res = await this.query(this.sql.sweep, [new Date(Date.now())]);
        total += res.rowCount ?? 0;
        if ((res.rowCount ?? 0) < 1000) break;
      }
    } catch (err) {
      this.context.logger.warn({ store: this.name, err: (err as Error).message }, 'sweeping expired rows failed; they stay invisible and are retried next interval');
    }
    return total;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.listener?.close();
    await this.pool.end();
  }

  private query(text: string, params: unknown[]): Promise<QueryResult> {
    const name = this.statementNames.get(text);
    const query = name === undefined ? { text, values: params } : { name, text, values: params };
    if (text === this.sql.upsertAnnounced || text === this.sql.deleteAnnounced) {
      // On the listening connection while it is up: PostgreSQL then wakes one backend fewer per batch.
      const carried = this.listener?.carry(query);
      if (carried !== undefined) return carried;
    }
    return this.pool.query(query);
  }

  private async run(what: string, text: string, params: unknown[]): Promise<QueryResult> {
    try {
      return await this.query(text, params);
    } catch (err) {
      throw this.mapError(`${what} failed`, err);
    }
  }

  /**
   * Every failure that is not about one entry makes the store unavailable for
   * this operation (retry later), with the cause in the message.
   */
  private mapError(what: string, err: unknown): StoreUnavailableError {
    const code = sqlState(err) ?? (err as NodeJS.ErrnoException).code;
    // Node 24 appends advice about its own --use-system-ca flag; state-cache's fix is tls.caFile.
    const message = (err as Error).message.replace(/; if the root CA is installed locally, try running Node\.js with --use-system-ca$/, '');
    let hint = '';
    if (code?.startsWith('28')) hint = ': check the user and the password secret';
    else if (/does not support SSL/i.test(message)) hint = ': the server has no TLS; set tls.mode to "disable" if plain TCP is acceptable';
    else if (code !== undefined && UNTRUSTED_CERTIFICATE.has(code)) hint = ': set tls.caFile to the CA that signed the server\'s certificate';
    return new StoreUnavailableError(this.name, `${what}: ${message}${code ? ` (${code})` : ''}${hint}`, { cause: err });
  }
}

/** TLS errors that mean the server's certificate chains to no CA state-cache trusts. */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

export function createPostgresStore(config: PostgresStoreConfig, context: StoreContext): PostgresStore {
  return new PostgresStore(config, context);
}


import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo, connect, createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { storeContract } from './contract';
import { b, entry, testContext } from './helpers';
import { makeCerts, TestCerts, TestPostgres } from './servers';
import { parseStoresConfig, PostgresStoreConfig } from '../../src/stores/config';
import { createPostgresStore, PostgresStore } from '../../src/stores/postgres';
import { StoreConfigError, StoreRejectedError, StoreUnavailableError } from '../../src/stores/store';
import { until } from '../faults/postgres';

jest.setTimeout(120_000);

let server: TestPostgres;
let admin: Client;
const stores: PostgresStore[] = [];

function config(extra: Record<string, unknown> = {}): PostgresStoreConfig {
  const raw = {
    type: 'postgres',
    name: 'pg',
    host: '127.0.0.1',
    port: server.port,
    database: 'postgres',
    user: 'postgres',
    password: { env: 'PG_PASSWORD' },
    tls: { mode: 'disable' },
    connectTimeoutMs: 2000,
    ...extra,
  };
  const c = parseStoresConfig({ chain: [{ store: raw }] }).chain[0].store;
  if (c.type !== 'postgres') throw new Error('not a postgres config');
  return c;
}

function pgStore(extra: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = { PG_PASSWORD: server.password }) {
  const { context, logs } = testContext(env);
  const store = createPostgresStore(config(extra), context);
  stores.push(store);
  return { store, logs };
}

beforeAll(async () => {
  server = await TestPostgres.start(['-c', 'shared_preload_libraries=pg_stat_statements']);
  admin = new Client({ host: '127.0.0.1', port: server.port, user: server.user, password: server.password, database: 'postgres' });
  admin.on('error', () => undefined); // the outage test stops the server under it
  await admin.connect();
  await admin.query('CREATE EXTENSION pg_stat_statements');
});

// Each store holds its pool's poolMin connections open: close a test's stores after it, or the file would run past max_connections.
const shared = new Set<PostgresStore>();
afterEach(async () => {
  for (const s of stores.splice(0)) {
    if (shared.has(s)) stores.push(s);
    else await s.close().catch(() => undefined);
  }
});

afterAll(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  await admin?.end().catch(() => undefined);
  await server?.close();
});

describe('postgres store contract', () => {
  let store: PostgresStore;
  beforeAll(async () => {
    // Small pages, so iterate crosses page boundaries.
    store = pgStore({ iterateBatchSize: 4 }).store;
    shared.add(store);
    await store.start();
  });
  beforeEach(() => store.clear());
  storeContract(() => store);
});

test('start creates the documented table and its expiry index', async () => {
  const { store } = pgStore({ table: 'schema_check' });
  await store.start();
  const cols = await admin.query(
    "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'schema_check' ORDER BY ordinal_position");
  expect(cols.rows).toEqual([
    { column_name: 'key', data_type: 'bytea', is_nullable: 'NO' },
    { column_name: 'value', data_type: 'bytea', is_nullable: 'NO' },
    { column_name: 'version', data_type: 'bigint', is_nullable: 'NO' },
    { column_name: 'expires_at', data_type: 'timestamp with time zone', is_nullable: 'YES' },
  ]);
  const pk = await admin.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'schema_check' ORDER BY indexname");
  expect(pk.rows.map((r) => r.indexdef)).toEqual([
    'CREATE INDEX schema_check_expires_at ON public.schema_check USING btree (expires_at) WHERE (expires_at IS NOT NULL)',
    'CREATE UNIQUE INDEX schema_check_pkey ON public.schema_check USING btree (key)',
  ]);
  // A second start (another replica) finds the table and accepts it.
  const again = pgStore({ table: 'schema_check' }).store;
  await expect(again.start()).resolves.toBeUndefined();
});

test('start opens poolMin connections, poolSize by default', async () => {
  // Counted by backend pid: connections of stores closed before may still be on their way out.
  const pids = async () => new Set<number>((await admin.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'state-cache'")).rows.map((r) => r.pid));
  const before = await pids();
  const opened = async () => [...await pids()].filter((p) => !before.has(p)).length;
  const { store } = pgStore({ table: 'warm', poolSize: 6, poolMin: 3 });
  await store.start();
  expect(await opened()).toBe(3);
  const fixed = pgStore({ table: 'warm', poolSize: 4 }).store;
  await fixed.start();
  expect(await opened()).toBe(3 + 4);
  await fixed.close();
  await store.close();
  await until(async () => await opened() === 0, 2000, 'the connections to close');
});

test('a batch of 1000 entries is one INSERT statement, and 1000 loads are one SELECT', async () => {
  const { store } = pgStore({ table: 'thousand' });
  await store.start();
  await admin.query('SELECT pg_stat_statements_reset()');
  const entries = Array.from({ length: 1000 }, (_, i) => entry(`k${i}`, `v${i}`, i + 1));
  expect(await store.writeBatch(entries)).toEqual({ rejected: [] });
  const loaded = await store.loadMany(entries.map((e) => e.key));
  expect(loaded.map((e) => e?.value.toString())).toEqual(entries.map((e) => e.value.toString()));
  const stats = await admin.query(
    "SELECT split_part(query, ' ', 1) AS verb, calls::int, rows::int FROM pg_stat_statements WHERE query ~ '\"thousand\"' ORDER BY verb");
  expect(stats.rows).toEqual([
    { verb: 'INSERT', calls: 1, rows: 1000 },
    { verb: 'SELECT', calls: 1, rows: 1000 },
  ]);
});

/**
 * A TCP proxy in front of the test server that records the statement name of
 * every Parse message a client sends (empty for an unnamed statement): what
 * PostgreSQL is asked to parse and plan.
 */
async function parseRecorder(port: number): Promise<{ port: number; parsed: string[]; close(): Promise<void> }> {
  const parsed: string[] = [];
  const open = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => { open.delete(s); client.destroy(); upstream.destroy(); });
    }
    let pending = Buffer.alloc(0);
    let started = false; // the startup message has no type byte
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const head = started ? 1 : 0;
        if (pending.length < head + 4) break;
        const end = head + pending.readInt32BE(head);
        if (pending.length < end) break;
        if (started && pending[0] === 0x50) parsed.push(pending.toString('utf8', 5, pending.indexOf(0, 5)));
        pending = pending.subarray(end);
        started = true;
      }
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as AddressInfo).port,
    parsed,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

test('batches and loads are prepared once per connection; preparedStatements: false parses every statement', async () => {
  const proxy = await parseRecorder(server.port);
  try {
    const batches = async (extra: Record<string, unknown>) => {
      proxy.parsed.splice(0);
      const { store } = pgStore({ table: 'prepared', port: proxy.port, poolSize: 1, sweepIntervalMs: 0, ...extra });
      await store.start();
      for (let i = 1; i <= 3; i++) {
        expect(await store.writeBatch([entry(`k${i}`, `v${i}`, i), entry('shared', `s${i}`, i)])).toEqual({ rejected: [] });
        expect((await store.loadMany([b(`k${i}`)]))[0]?.value.toString()).toBe(`v${i}`);
      }
      await store.close();
      return proxy.parsed.splice(0);
    };
    const prepared = await batches({});
    expect(prepared.filter((name) => name.startsWith('state_cache_')).sort()).toEqual(['state_cache_load', 'state_cache_upsert']);
    const unnamed = await batches({ preparedStatements: false });
    expect(unnamed.filter((name) => name !== '')).toEqual([]);
    expect(unnamed.length).toBeGreaterThanOrEqual(6); // three upserts and three loads, at least
    expect((await admin.query('SELECT key, value FROM prepared WHERE key = $1', [b('shared')])).rows[0].value.toString()).toBe('s3');
  } finally {
    await proxy.close();
  }
});

test('binary array parameters: a mixed batch round-trips exactly, as the database itself reads it', async () => {
  const { store } = pgStore({ table: 'binary_params' });
  await store.start();
  const now = Date.now();
  const entries = [
    { key: Buffer.from([0, 255, 0x5c, 0x22, 0x7b]), value: Buffer.alloc(0), version: 1, expiresAt: 0 }, // NUL, backslash, quote, brace
    { key: b('ttl'), value: randomBytes(70_000), version: 2 ** 53 - 1, expiresAt: now + 3_600_123 },
    { key: b('past-2038'), value: b('v'), version: 3, expiresAt: Date.UTC(2100, 0, 1, 0, 0, 0, 7) },
  ];
  expect(await store.writeBatch(entries)).toEqual({ rejected: [] });
  const rows = await admin.query('SELECT key, value, version::text AS version, (extract(epoch FROM expires_at) * 1000)::bigint::text AS ms FROM "public"."binary_params" ORDER BY version');
  expect(rows.rows.map((r: { key: Buffer; value: Buffer; version: string; ms: string | null }) => [r.key, r.value, r.version, r.ms])).toEqual([
    [entries[0].key, entries[0].value, '1', null],
    [entries[2].key, entries[2].value, '3', String(entries[2].expiresAt)],
    [entries[1].key, entries[1].value, String(2 ** 53 - 1), String(entries[1].expiresAt)],
  ]);
  expect(await store.loadMany(entries.map((e) => e.key))).toEqual(entries);
  expect(await store.deleteBatch([{ key: entries[0].key, version: 1 }, { key: b('ttl'), version: 5 }])).toEqual({ rejected: [] });
  expect((await store.loadMany(entries.map((e) => e.key))).map((e) => e?.version)).toEqual([undefined, 2 ** 53 - 1, 3]);
});

test('two instances share the table: a late batch from one never overwrites the newer write of the other', async () => {
  const a = pgStore({ table: 'shared' }).store;
  const c = pgStore({ table: 'shared' }).store;
  await a.start();
  await c.start();
  await a.writeBatch([entry('s', 'newer', 200), entry('t', 'a-old', 1)]);
  await c.writeBatch([entry('s', 'late', 100), entry('t', 'c-new', 2)]);
  expect((await c.loadMany([b('s'), b('t')])).map((e) => e?.value.toString())).toEqual(['newer', 'c-new']);
  // A delete issued before the newer write does not remove it.
  await c.deleteBatch([{ key: b('s'), version: 150 }]);
  expect((await a.load(b('s')))?.value.toString()).toBe('newer');
});

test('maxVersion: the highest version in the table, 0 when it is empty', async () => {
  const s = pgStore({ table: 'max_version' }).store;
  await s.start();
  expect(await s.maxVersion()).toBe(0);
  await s.writeBatch([entry('a', 'x', 1_764_000_000_000_123), entry('b', 'y', 7)]);
  expect(await s.maxVersion()).toBe(1_764_000_000_000_123);
});

test('poison keys are isolated: a CHECK violation rejects those entries only, the others land', async () => {
  await admin.query(`CREATE TABLE small_values (key bytea PRIMARY KEY, value bytea NOT NULL CHECK (length(value) <= 100),
    version bigint NOT NULL, expires_at timestamptz NULL)`);
  const { store, logs } = pgStore({ table: 'small_values' });
  await store.start();
  const entries = Array.from({ length: 40 }, (_, i) => entry(`p${i}`, i === 7 || i === 31 ? 'x'.repeat(101) : `ok${i}`, 1));
  const res = await store.writeBatch(entries);
  expect(res.rejected.map((r) => r.key.toString())).toEqual(['p7', 'p31']);
  expect(res.rejected[0].error).toBeInstanceOf(StoreRejectedError);
  expect(res.rejected[0].error.message).toBe(
    'store pg rejected the entry: new row for relation "small_values" violates check constraint "small_values_value_check" (SQLSTATE 23514)');
  const count = await admin.query('SELECT count(*)::int AS n FROM small_values');
  expect(count.rows[0].n).toBe(38);
  expect(logs.find((l) => l.msg === 'postgres refused entries of a write batch; the others were applied')).toMatchObject({ rejected: 2, of: 40 });
});

test('a key too large for the primary key index is rejected alone', async () => {
  const { store } = pgStore({ table: 'big_keys' });
  await store.start();
  const huge = randomBytes(10_000); // random bytes do not compress below the index row limit
  const res = await store.writeBatch([entry('fine-1', 'a', 1), { key: huge, value: b('x'), version: 1, expiresAt: 0 }, entry('fine-2', 'b', 1)]);
  expect(res.rejected).toHaveLength(1);
  expect(res.rejected[0].key.equals(huge)).toBe(true);
  expect(res.rejected[0].error.message).toMatch(/^store pg rejected the entry: index row requires \d+ bytes, maximum size is 8191 \(SQLSTATE 54000\)$/);
  expect((await store.loadMany([b('fine-1'), b('fine-2')])).map((e) => e?.value.toString())).toEqual(['a', 'b']);
});

test('expired rows are swept from the table', async () => {
  const { store } = pgStore({ table: 'sweep', sweepIntervalMs: 0 });
  await store.start();
  await store.writeBatch([entry('e1', 'x', 1, Date.now() - 5), entry('e2', 'y', 1, Date.now() - 5), entry('l', 'z', 1)]);
  expect(await store.sweep()).toBe(2);
  const rows = await admin.query('SELECT convert_from(key, \'UTF8\') AS k FROM sweep');
  expect(rows.rows).toEqual([{ k: 'l' }]);
});

test('an existing table with other columns is refused with the expected schema', async () => {
  await admin.query('CREATE TABLE wrong_shape (key text PRIMARY KEY, value bytea NOT NULL, version integer NOT NULL)');
  const { store } = pgStore({ table: 'wrong_shape' });
  const err = await store.start().catch((e) => e);
  expect(err).toBeInstanceOf(StoreConfigError);
  expect(err.message).toBe('store pg: table "public"."wrong_shape" exists with other columns (key: expected bytea, found text; '
    + 'version: expected bigint, found integer; expires_at: expected timestamp with time zone, found none); point "table" at a new table '
    + 'or migrate it to: key bytea primary key, value bytea not null, version bigint not null, expires_at timestamptz null');
});

test('a missing schema is a config error naming the fix', async () => {
  const { store } = pgStore({ schema: 'nowhere' });
  await expect(store.start()).rejects.toThrow('store pg: schema "nowhere" does not exist; create it or set "schema"');
});

test('the password comes from the named variable; a missing one is a config error', () => {
  expect(() => pgStore({}, {})).toThrow(StoreConfigError);
  expect(() => pgStore({}, {})).toThrow(
    'store pg: environment variable PG_PASSWORD is not set; set it (e.g. from a Secret with secretKeyRef) or name another variable');
});

test('a wrong password makes the store unavailable with a hint', async () => {
  const { store } = pgStore({}, { PG_PASSWORD: 'wrong' });
  const err = await store.ping().catch((e) => e);
  expect(err).toBeInstanceOf(StoreUnavailableError);
  expect(err.message).toBe('store pg unavailable: ping failed: password authentication failed for user "postgres" (28P01): check the user and the password secret');
});

test('TLS required against a server without TLS: unavailable, saying how to turn TLS off', async () => {
  const { store } = pgStore({ tls: { mode: 'require' } });
  await expect(store.ping()).rejects.toThrow(
    'store pg unavailable: ping failed: The server does not support SSL connections: the server has no TLS; set tls.mode to "disable" if plain TCP is acceptable');
});

test('a table name that is not a plain identifier is refused by the config', () => {
  expect(() => config({ table: 'entries; drop table x' })).toThrow(
    'invalid stores config:\n/stores/chain/0/store/table: Expected string to match \'^[a-z_][a-z0-9_]{0,62}$\'');
});

test('a statement that runs past statementTimeoutMs makes the store unavailable, naming the timeout', async () => {
  const { store } = pgStore({ table: 'locked', statementTimeoutMs: 300 });
  await store.start();
  const locker = new Client({ host: '127.0.0.1', port: server.port, user: server.user, password: server.password, database: 'postgres' });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
    const started = Date.now();
    const err = await store.writeBatch([entry('k', 'v', 1)]).catch((e) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toBe('store pg unavailable: write failed: canceling statement due to statement timeout (57014)');
    expect(Date.now() - started).toBeLessThan(3000);
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
  }
  expect(await store.writeBatch([entry('k', 'v', 1)])).toEqual({ rejected: [] });
});

describe('TLS (the server gets a certificate from a throw-away CA)', () => {
  let certs: TestCerts;
  beforeAll(async () => {
    certs = makeCerts(mkdtempSync(join(tmpdir(), 'pg-tls-')));
    chmodSync(certs.dir, 0o755);
    const owner = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    chownSync(certs.key, Number(owner.stdout.trim()), 0);
    chmodSync(certs.key, 0o600);
    await admin.query(`ALTER SYSTEM SET ssl_cert_file = '${certs.cert}'`);
    await admin.query(`ALTER SYSTEM SET ssl_key_file = '${certs.key}'`);
    await admin.query('ALTER SYSTEM SET ssl = on');
    await admin.query('SELECT pg_reload_conf()');
  });
  afterAll(async () => {
    // The outage test restarts the server: it must not look for these files then.
    await admin.query('ALTER SYSTEM RESET ssl');
    await admin.query('ALTER SYSTEM RESET ssl_cert_file');
    await admin.query('ALTER SYSTEM RESET ssl_key_file');
    await admin.query('SELECT pg_reload_conf()');
    rmSync(certs.dir, { recursive: true, force: true });
  });

  const sslInUse = async (store: PostgresStore) => (await store.pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl;

  test('verify-full with the CA and the certificate\'s host name connects over TLS', async () => {
    const { store } = pgStore({ tls: { mode: 'verify-full', caFile: certs.ca, serverName: 'localhost' } });
    await store.ping();
    expect(await sslInUse(store)).toBe(true);
  });

  test('verify-full checks the IP host against the certificate when no serverName is set', async () => {
    const { store } = pgStore({ tls: { mode: 'verify-full', caFile: certs.ca } });
    await store.ping();
    expect(await sslInUse(store)).toBe(true);
  });

  test('verify-full refuses a certificate for another name; verify-ca accepts it', async () => {
    const wrong = pgStore({ tls: { mode: 'verify-full', caFile: certs.ca, serverName: 'db.example.org' } }).store;
    await expect(wrong.ping()).rejects.toThrow(
      /^store pg unavailable: ping failed: Hostname\/IP does not match certificate's altnames: Host: db\.example\.org\. is not in the cert's altnames: DNS:localhost, IP Address:127\.0\.0\.1 \(ERR_TLS_CERT_ALTNAME_INVALID\)$/);
    const caOnly = pgStore({ tls: { mode: 'verify-ca', caFile: certs.ca, serverName: 'db.example.org' } }).store;
    await caOnly.ping();
    expect(await sslInUse(caOnly)).toBe(true);
  });

  test('a certificate from a CA that is not trusted is refused', async () => {
    const { store } = pgStore({ tls: { mode: 'verify-full', serverName: 'localhost' } });
    // The same on Node 20 and 24 (which adds advice about its --use-system-ca flag, dropped: the fix here is tls.caFile).
    const message = 'store pg unavailable: ping failed: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE): set tls.caFile to the CA that signed the server\'s certificate';
    await expect(store.ping()).rejects.toThrow(expect.objectContaining({ message }));
  });

  test('a CA file that is not there is a config error', () => {
    expect(() => pgStore({ tls: { mode: 'verify-full', caFile: join(certs.dir, 'nope.crt') } })).toThrow(
      `store pg: cannot read tls.caFile ${join(certs.dir, 'nope.crt')} (ENOENT); mount the CA certificate there or fix the path`);
  });
});

// Last: it stops the server.
test('server down: every operation raises StoreUnavailableError; after a restart the store works again', async () => {
  const { store } = pgStore({ table: 'outage' });
  await store.start();
  await store.writeBatch([entry('o', 'before', 1)]);
  await server.stop();
  for (const op of [() => store.load(b('o')), () => store.writeBatch([entry('o', 'during', 2)]), () => store.ping(),
    () => store.deleteBatch([{ key: b('o'), version: 5 }]), () => store.clear()]) {
    const err = await op().catch((e) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toMatch(/^store pg unavailable: \w+ failed: .*(ECONNREFUSED|terminating connection|Connection terminated)/);
  }
  await server.restart();
  expect((await store.load(b('o')))?.value.toString()).toBe('before');
  await store.writeBatch([entry('o', 'after', 3)]);
  expect((await store.load(b('o')))?.value.toString()).toBe('after');
});

/**
 * Databases 0-15 (SELECT), as Redis has by default, on the one keyspace:
 * the keys of database N (1-15) carry the prefix `\xffdbN\xff`, in memory
 * and in the stores; database 0's keys are stored as they are (so existing
 * data and the REST API, which serves database 0, are unchanged). Keys of
 * database 0 that start with `\xffdb` are reserved.
 *
 * A connection's key arguments get its database's prefix before the command
 * runs (Connection.dispatch), so every command, the persistence hooks, WATCH
 * and MULTI see one flat keyspace; KEYS, SCAN, RANDOMKEY, DBSIZE and FLUSHDB
 * look at the selected database only. Cluster mode has database 0 only, as
 * Redis Cluster does.
 */
import type { Frame } from './commands';
import type { Keyspace } from '../keyspace/keyspace';

export const DATABASES = 16;
const RESERVED = '\xffdb';

/** Keyspaces where a database other than 0 was selected (until then, database 0 is the whole keyspace). */
const MULTI_DB = new WeakSet<Keyspace>();

export function markMultiDb(ks: Keyspace): void {
  MULTI_DB.add(ks);
}

export function multiDbUsed(ks: Keyspace): boolean {
  return MULTI_DB.has(ks);
}

/** The key prefix of database `db` ('' for 0). */
export function dbPrefix(db: number): string {
  return db === 0 ? '' : `${RESERVED}${db}\xff`;
}

/** True when the stored key `key` belongs to database `db`. */
export function inDb(key: string, db: number): boolean {
  return db === 0 ? !key.startsWith(RESERVED) : key.startsWith(dbPrefix(db));
}

/** The key as the client of database `db` names it. */
export function clientKey(key: string, db: number): string {
  return db === 0 ? key : key.slice(dbPrefix(db).length);
}

/** A stored key as its client names it, whatever its database (replies that name keys: BLPOP, LMPOP, ZMPOP...). */
export function unprefixed(key: string): string {
  return key.charCodeAt(0) === 0xff && key.startsWith(RESERVED) ? key.slice(key.indexOf('\xff', RESERVED.length) + 1) : key;
}

/** A copy of `f` whose arguments at [first, last] (every `step`) carry the prefix of database `db`. */
export function prefixKeys(f: Frame, db: number, first: number, last: number, step: number): Frame {
  const prefix = Buffer.from(dbPrefix(db), 'latin1');
  const isKey = (i: number) => i >= first && i <= last && (i - first) % step === 0;
  let total = 0;
  for (let i = 0; i < f.argc; i++) total += f.ends[i] - f.starts[i] + (isKey(i) ? prefix.length : 0);
  const args = Buffer.allocUnsafe(total);
  const starts = new Int32Array(f.argc);
  const ends = new Int32Array(f.argc);
  let off = 0;
  for (let i = 0; i < f.argc; i++) {
    starts[i] = off;
    if (isKey(i)) off += prefix.copy(args, off);
    off += f.args.copy(args, off, f.starts[i], f.ends[i]);
    ends[i] = off;
  }
  return { argc: f.argc, args, starts, ends };
}

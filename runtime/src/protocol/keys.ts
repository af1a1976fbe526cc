/** Generic key commands: delete, expiry, type, iteration, flush (Redis 7.0 semantics; docs/commands.md "Keys"). */
import { argInt, argStr, argUpper, ClientState, CommandError, ERR_SYNTAX, expireArg, Handler, parseScanCursor, replyLater, ServerContext, Spec, then } from './commands';
import { clientKey, dbPrefix, inDb, multiDbUsed } from './databases';
import { globToRegExp } from '../keyspace/glob';
import { TYPE_NAMES } from '../keyspace/types';
const del: Handler = (ctx, c, f) => {
  const keys: string[] = [];
  for (let i = 1; i < f.argc; i++) keys.push(argStr(f, i));
  const r = ctx.ks.delete(keys);
  if (typeof r === 'number') return ctx.out.int(r);
  return r.then((n) => replyLater(ctx, c, () => ctx.out.int(n)));
};

const exists: Handler = (ctx, _c, f) => {
  let n = 0;
  for (let i = 1; i < f.argc; i++) if (ctx.ks.find(argStr(f, i), false) >= 0) n++;
  ctx.out.int(n);
};

function expireGeneric(unitMs: 1 | 1000, absolute: boolean, name: string): Handler {
  return (ctx, c, f) => {
    const key = argStr(f, 1);
    let nx = false; let xx = false; let gt = false; let lt = false;
    for (let i = 3; i < f.argc; i++) {
      const o = argUpper(f, i);
      if (o === 'NX') nx = true;
      else if (o === 'XX') xx = true;
      else if (o === 'GT') gt = true;
      else if (o === 'LT') lt = true;
      else throw new CommandError(`ERR Unsupported option ${argStr(f, i)}`);
    }
    if (nx && (xx || gt || lt)) throw new CommandError('ERR NX and XX, GT or LT options at the same time are not compatible');
    if (gt && lt) throw new CommandError('ERR GT and LT options at the same time are not compatible');
    // Redis's order: the options, then the time (its overflow checks), then the key.
    const at = expireArg(f, 2, unitMs, !absolute, name);
    const slot = ctx.ks.find(key); // a write's lookup: an access (LRU clock, LFU counter), as in Redis
    if (slot < 0) return ctx.out.int(0);
    const cur = ctx.ks.expiresAt(slot);
    if (nx && cur !== 0) return ctx.out.int(0);
    if (xx && cur === 0) return ctx.out.int(0);
    if (gt && (cur === 0 || at <= cur)) return ctx.out.int(0);
    if (lt && cur !== 0 && at >= cur) return ctx.out.int(0);
    if (at <= Date.now()) {
      const r = ctx.ks.delete([key]);
      return then(ctx, c, typeof r === 'number' ? undefined : r, () => ctx.out.int(1));
    }
    return then(ctx, c, ctx.ks.setExpiry(slot, at), () => ctx.out.int(1));
  };
}

const persist: Handler = (ctx, c, f) => {
  const slot = ctx.ks.find(argStr(f, 1));
  if (slot < 0 || ctx.ks.expiresAt(slot) === 0) return ctx.out.int(0);
  return then(ctx, c, ctx.ks.setExpiry(slot, 0), () => ctx.out.int(1));
};

function ttlGeneric(ms: boolean): Handler {
  return (ctx, _c, f) => {
    const slot = ctx.ks.find(argStr(f, 1), false);
    if (slot < 0) return ctx.out.int(-2);
    const at = ctx.ks.expiresAt(slot);
    if (at === 0) return ctx.out.int(-1);
    const left = Math.max(0, at - Date.now());
    ctx.out.int(ms ? left : Math.floor((left + 500) / 1000));
  };
}

const type: Handler = (ctx, _c, f) => {
  const slot = ctx.ks.find(argStr(f, 1), false);
  ctx.out.simple(slot < 0 ? 'none' : TYPE_NAMES[ctx.ks.typeAt(slot)]);
};


const scan: Handler = (ctx, c, f) => {
  const cursor = parseScanCursor(argStr(f, 1));
  let count = 10;
  let match: RegExp | undefined;
  let typeFilter: string | undefined;
  for (let i = 2; i < f.argc; i++) {
    const o = argUpper(f, i);
    if (i + 1 >= f.argc) throw new CommandError(ERR_SYNTAX);
    if (o === 'COUNT') {
      count = argInt(f, ++i);
      if (count < 1) throw new CommandError(ERR_SYNTAX);
    } else if (o === 'MATCH') {
      const p = argStr(f, ++i);
      match = p === '*' && c.db === 0 ? undefined : globToRegExp(dbPrefix(c.db) + p);
    } else if (o === 'TYPE') {
      typeFilter = argStr(f, ++i).toLowerCase();
    } else {throw new CommandError(ERR_SYNTAX);}
  }
  if (match === undefined && c.db !== 0) match = globToRegExp(dbPrefix(c.db) + '*');
  const wantType = typeFilter === undefined ? undefined : TYPE_NAMES.indexOf(typeFilter as typeof TYPE_NAMES[number]);
  const [next, found] = ctx.ks.scan(cursor, count, match, wantType);
  const keys = ownKeys(ctx, c, found);
  ctx.out.arrayHeader(2);
  ctx.out.bulk(String(next));
  ctx.out.arrayHeader(keys.length);
  for (const k of keys) ctx.out.bulk(k);
};

/** Stored keys as the client's database names them (the others left out). */
function ownKeys(ctx: ServerContext, c: ClientState, stored: string[]): string[] {
  if (!multiDbUsed(ctx.ks)) return stored;
  return stored.filter((k) => inDb(k, c.db)).map((k) => clientKey(k, c.db));
}

const keys: Handler = (ctx, c, f) => {
  const p = argStr(f, 1);
  const found = ownKeys(ctx, c, ctx.ks.matching(globToRegExp(dbPrefix(c.db) + p)));
  ctx.out.arrayHeader(found.length);
  for (const k of found) ctx.out.bulk(k);
};

const randomkey: Handler = (ctx, c) => {
  let k = ctx.ks.randomKey();
  if (k !== undefined && multiDbUsed(ctx.ks) && !inDb(k, c.db)) {
    const mine = ctx.ks.matching(/[^]*/).filter((x) => inDb(x, c.db));
    k = mine.length === 0 ? undefined : mine[Math.floor(Math.random() * mine.length)];
  }
  if (k === undefined) ctx.out.nil();
  else ctx.out.bulk(clientKey(k, c.db));
};

const flush: Handler = (ctx, c, f) => {
  if (f.argc > 2) throw new CommandError(ERR_SYNTAX);
  if (f.argc === 2) {
    const o = argUpper(f, 1);
    if (o !== 'ASYNC' && o !== 'SYNC') throw new CommandError(ERR_SYNTAX);
  }
  // FLUSHDB with databases in use removes the selected database's keys only.
  const r = argUpper(f, 0) === 'FLUSHDB' && multiDbUsed(ctx.ks) ? ctx.ks.delete(ctx.ks.allKeys().filter((k) => inDb(k, c.db))) : ctx.ks.flush();
  if (typeof r === 'number') return ctx.out.ok();
  return r.then(() => replyLater(ctx, c, () => ctx.out.ok()));
};

const dbsize: Handler = (ctx, c) => ctx.out.int(multiDbUsed(ctx.ks) ? ctx.ks.allKeys().filter((k) => inDb(k, c.db)).length : ctx.ks.size);

export const KEY_SPECS: Spec[] = [
  ['del', -2, 'write', [1, -1, 1], 'generic', 'Deletes one or more keys.', del],
  ['unlink', -2, 'write fast', [1, -1, 1], 'generic', 'Asynchronously deletes one or more keys.', del],
  ['exists', -2, 'readonly fast', [1, -1, 1], 'generic', 'Determines whether one or more keys exist.', exists],
  ['expire', -3, 'write fast', [1, 1, 1], 'generic', 'Sets the expiration time of a key in seconds.', expireGeneric(1000, false, 'expire')],
  ['pexpire', -3, 'write fast', [1, 1, 1], 'generic', 'Sets the expiration time of a key in milliseconds.', expireGeneric(1, false, 'pexpire')],
  ['expireat', -3, 'write fast', [1, 1, 1], 'generic', 'Sets the expiration time of a key to a Unix timestamp.', expireGeneric(1000, true, 'expireat')],
  ['pexpireat', -3, 'write fast', [1, 1, 1], 'generic', 'Sets the expiration time of a key to a Unix milliseconds timestamp.', expireGeneric(1, true, 'pexpireat')],
  ['persist', 2, 'write fast', [1, 1, 1], 'generic', 'Removes the expiration time of a key.', persist],
  ['ttl', 2, 'readonly fast', [1, 1, 1], 'generic', 'Returns the expiration time in seconds of a key.', ttlGeneric(false)],
  ['pttl', 2, 'readonly fast', [1, 1, 1], 'generic', 'Returns the expiration time in milliseconds of a key.', ttlGeneric(true)],
  ['type', 2, 'readonly fast', [1, 1, 1], 'generic', 'Determines the type of value stored at a key.', type],
  ['scan', -2, 'readonly', [0, 0, 0], 'generic', 'Iterates over the key names in the database.', scan],
  ['keys', 2, 'readonly', [0, 0, 0], 'generic', 'Returns all key names that match a pattern.', keys],
  ['randomkey', 1, 'readonly', [0, 0, 0], 'generic', 'Returns a random key name from the database.', randomkey],
  ['flushdb', -1, 'write', [0, 0, 0], 'server', 'Removes all keys from the current database.', flush],
  ['flushall', -1, 'write', [0, 0, 0], 'server', 'Removes all keys from all databases.', flush],
  ['dbsize', 1, 'readonly fast', [0, 0, 0], 'server', 'Returns the number of keys in the database.', dbsize],
];

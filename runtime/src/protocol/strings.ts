/** String commands (Redis 7.0 semantics; docs/commands.md "Strings"). */
import { argInt, argStr, argUpper, argValue, CommandError, ERR_NOT_INT, ERR_SYNTAX, ERR_WRONGTYPE, formatFloat, Frame, Handler, INT64_MAX, INT64_MIN, parseFloatStrict, setExpiryArg, parseInt64, ServerContext, Spec, then, wrongArgs } from './commands';
import { noteEncoding } from './encodings';
import { Keyspace, STRING_VALUE_MAX, Value } from '../keyspace/keyspace';
import { T_STRING, WrongTypeError } from '../keyspace/types';
/** `slot` (live or -1) for a command that reads a string value: throws WRONGTYPE when the key holds an aggregate. */
function stringSlot(ks: Keyspace, slot: number): number {
  if (slot >= 0 && ks.typeAt(slot) !== T_STRING) throw new WrongTypeError();
  return slot;
}


function toValue(s: string): Value {
  return s;
}

function valueString(v: Value): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}


// ---- expiry option parsing --------------------------------------------------

// ---- the commands ---------------------------------------------------------------

/** Replies with the value of a live slot, copied from the keyspace's memory straight into the reply. */
function bulkValue(ctx: ServerContext, slot: number): void {
  const ks = ctx.ks;
  // A large value goes out as a copy of its own (the reply buffer stays small; the chunk may move before the socket sends it).
  if (ks.valueLength(slot) > STRING_VALUE_MAX) ctx.out.bulk(ks.value(slot));
  else ctx.out.bulkBytes(ks.valueView(slot), ks.valueStart(slot), ks.valueEnd(slot));
}

const get: Handler = (ctx, _c, f) => {
  const slot = ctx.ks.lookupBytes(f.args, f.starts[1], f.ends[1]);
  if (slot < 0) ctx.out.nil();
  else if (ctx.ks.typeAt(slot) !== T_STRING) ctx.out.error(ERR_WRONGTYPE);
  else bulkValue(ctx, slot);
};

const set: Handler = (ctx, c, f) => {
  const ks = ctx.ks;
  if (f.argc === 3) ks.touchForWrite(f.args, f.starts[1], f.ends[1]); // with options, the lookup below touches it
  if (f.argc === 3 && !ks.persistent) {
    // The hot path: key and value go from the request bytes into the keyspace.
    ks.setBytes(f.args, f.starts[1], f.ends[1], f.args, f.starts[2], f.ends[2]);
    return ctx.out.ok();
  }
  if (f.argc === 3) return then(ctx, c, ks.setBytesPersisted(f.args, f.starts[1], f.ends[1], f.args, f.starts[2], f.ends[2]), () => ctx.out.ok());
  const key = argStr(f, 1);
  let nx = false;
  let xx = false;
  let getOld = false;
  let keepTtl = false;
  let expiresAt = 0;
  let expiryGiven = false;
  let expiryAt = 0;
  let expiryUnit: 'EX' | 'PX' | 'EXAT' | 'PXAT' = 'EX';
  for (let i = 3; i < f.argc; i++) {
    const opt = argUpper(f, i);
    if (opt === 'NX' && !xx) {nx = true;} else if (opt === 'XX' && !nx) {xx = true;} else if (opt === 'GET') {getOld = true;} else if (opt === 'KEEPTTL' && !expiryGiven) {keepTtl = true;} else if ((opt === 'EX' || opt === 'PX' || opt === 'EXAT' || opt === 'PXAT') && !expiryGiven && !keepTtl && i + 1 < f.argc) {
      expiryUnit = opt;
      expiryAt = ++i;
      expiryGiven = true;
    } else {throw new CommandError(ERR_SYNTAX);}
  }
  // As Redis: every option is checked before the time is read.
  if (expiryGiven) expiresAt = setExpiryArg(f, expiryAt, expiryUnit, 'set');
  const slot = getOld ? stringSlot(ks, ks.find(key)) : ks.find(key);
  const old = getOld ? (slot < 0 ? null : ks.value(slot)) : null;
  const reply = () => {
    if (getOld) {
      if (old === null) ctx.out.nil();
      else ctx.out.bulk(old);
    } else {ctx.out.ok();}
  };
  if ((nx && slot >= 0) || (xx && slot < 0)) {
    if (getOld) reply();
    else ctx.out.nil();
    return undefined;
  }
  return then(ctx, c, ks.set(key, argValue(f, 2), keepTtl ? -1 : expiresAt), reply);
};

/** SET whose options do not read the old entry (NX, XX, GET and KEEPTTL do). */
function setIsBlind(f: Frame): boolean {
  for (let i = 3; i < f.argc; i++) {
    const opt = argUpper(f, i);
    if (opt === 'NX' || opt === 'XX' || opt === 'GET' || opt === 'KEEPTTL') return false;
  }
  return true;
}

/** SETEX / PSETEX key expiry value. */
function setWithExpiry(unit: 'EX' | 'PX', name: string): Handler {
  return (ctx, c, f) => {
    const at = setExpiryArg(f, 2, unit, name);
    ctx.ks.touchForWrite(f.args, f.starts[1], f.ends[1]);
    return then(ctx, c, ctx.ks.set(argStr(f, 1), argValue(f, 3), at), () => ctx.out.ok());
  };
}

const always = (): boolean => true;

const getdel: Handler = (ctx, c, f) => {
  const key = argStr(f, 1);
  const slot = stringSlot(ctx.ks, ctx.ks.lookup(key));
  if (slot < 0) return ctx.out.nil();
  const v = ctx.ks.value(slot);
  const r = ctx.ks.delete([key]);
  return then(ctx, c, typeof r === 'number' ? undefined : r, () => ctx.out.bulk(v));
};

const getex: Handler = (ctx, c, f) => {
  const key = argStr(f, 1);
  let expiresAt: number | undefined;
  let timeAt = 0;
  let unit: 'EX' | 'PX' | 'EXAT' | 'PXAT' = 'EX';
  for (let i = 2; i < f.argc; i++) {
    const opt = argUpper(f, i);
    if (expiresAt === undefined && opt === 'PERSIST') {expiresAt = 0;} else if (expiresAt === undefined && (opt === 'EX' || opt === 'PX' || opt === 'EXAT' || opt === 'PXAT') && i + 1 < f.argc) {
      unit = opt;
      timeAt = ++i;
      expiresAt = -1;
    } else {throw new CommandError(ERR_SYNTAX);}
  }
  // As Redis: every option is checked before the time is read.
  if (expiresAt === -1) expiresAt = setExpiryArg(f, timeAt, unit, 'getex');
  const slot = stringSlot(ctx.ks, ctx.ks.lookup(key));
  if (slot < 0) return ctx.out.nil();
  const v = ctx.ks.value(slot);
  if (expiresAt === undefined || (expiresAt === 0 && ctx.ks.expiresAt(slot) === 0)) return ctx.out.bulk(v);
  return then(ctx, c, ctx.ks.setExpiry(slot, expiresAt), () => ctx.out.bulk(v));
};

const mget: Handler = (ctx, _c, f) => {
  ctx.out.arrayHeader(f.argc - 1);
  for (let i = 1; i < f.argc; i++) {
    const slot = ctx.ks.lookupBytes(f.args, f.starts[i], f.ends[i]);
    if (slot < 0 || ctx.ks.typeAt(slot) !== T_STRING) ctx.out.nil();
    else bulkValue(ctx, slot);
  }
};

function pairs(f: Frame, name: string): Array<[string, Value]> {
  if ((f.argc - 1) % 2 !== 0) throw new CommandError(wrongArgs(name));
  const out: Array<[string, Value]> = [];
  for (let i = 1; i < f.argc; i += 2) out.push([argStr(f, i), argValue(f, i + 1)]);
  return out;
}

const mset: Handler = (ctx, c, f) => {
  const p = pairs(f, 'mset');
  for (let i = 1; i < f.argc; i += 2) ctx.ks.touchForWrite(f.args, f.starts[i], f.ends[i]);
  return then(ctx, c, ctx.ks.setMany(p), () => ctx.out.ok());
};

const msetnx: Handler = (ctx, c, f) => {
  const p = pairs(f, 'msetnx');
  if (p.some(([k]) => ctx.ks.find(k, false) >= 0)) return ctx.out.int(0);
  return then(ctx, c, ctx.ks.setMany(p), () => ctx.out.int(1));
};


function incrGeneric(fixed: bigint | null, sign: 1n | -1n): Handler {
  return (ctx, c, f) => {
    const key = argStr(f, 1);
    let by: bigint;
    if (fixed !== null) {by = fixed;} else {
      const b = parseInt64(argStr(f, 2));
      if (b === null) throw new CommandError(ERR_NOT_INT);
      if (sign < 0n && b === INT64_MIN) throw new CommandError('ERR decrement would overflow');
      by = b * sign;
    }
    const slot = stringSlot(ctx.ks, ctx.ks.find(key));
    let cur = 0n;
    if (slot >= 0) {
      const v = ctx.ks.value(slot);
      const parsed = typeof v === 'string' && v.length <= 20 ? parseInt64(v) : null;
      if (parsed === null) throw new CommandError(ERR_NOT_INT);
      cur = parsed;
    }
    const next = cur + by;
    if (next > INT64_MAX || next < INT64_MIN) throw new CommandError('ERR increment or decrement would overflow');
    return then(ctx, c, ctx.ks.set(key, toValue(next.toString()), slot >= 0 ? -1 : 0), () => ctx.out.bigint(next));
  };
}

/** Formats like Redis's INCRBYFLOAT (%.17Lg without exponent, trailing zeros trimmed). */

const incrbyfloat: Handler = (ctx, c, f) => {
  const key = argStr(f, 1);
  const by = parseFloatStrict(argStr(f, 2));
  if (by === null) throw new CommandError('ERR value is not a valid float');
  const slot = stringSlot(ctx.ks, ctx.ks.find(key));
  let cur = 0;
  if (slot >= 0) {
    const p = parseFloatStrict(valueString(ctx.ks.value(slot)));
    if (p === null) throw new CommandError('ERR value is not a valid float');
    cur = p;
  }
  const next = cur + by;
  if (!Number.isFinite(next)) throw new CommandError('ERR increment would produce NaN or Infinity');
  const s = formatFloat(next);
  return then(ctx, c, ctx.ks.set(key, s, slot >= 0 ? -1 : 0), () => {
    noteEncoding(ctx.ks, key, 'noint'); // Redis makes the result a plain string, never an int
    ctx.out.bulk(s);
  });
};

function checkSize(ctx: ServerContext, n: number): void {
  if (n > ctx.maxBulkBytes) throw new CommandError('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
}

function concat(a: Value, b: Value): Value {
  const n = a.length + b.length;
  if (n <= STRING_VALUE_MAX) return valueString(a) + valueString(b);
  return Buffer.concat([typeof a === 'string' ? Buffer.from(a, 'latin1') : a, typeof b === 'string' ? Buffer.from(b, 'latin1') : b]);
}

const append: Handler = (ctx, c, f) => {
  const key = argStr(f, 1);
  const add = argValue(f, 2);
  const slot = stringSlot(ctx.ks, ctx.ks.find(key));
  const cur: Value = slot < 0 ? '' : ctx.ks.value(slot);
  checkSize(ctx, cur.length + add.length);
  const next = concat(cur, add);
  return then(ctx, c, ctx.ks.set(key, next, slot >= 0 ? -1 : 0), () => {
    if (slot >= 0) noteEncoding(ctx.ks, key, 'raw'); // Redis appends in place to a raw string
    ctx.out.int(next.length);
  });
};

const strlen: Handler = (ctx, _c, f) => {
  const slot = stringSlot(ctx.ks, ctx.ks.find(argStr(f, 1)));
  ctx.out.int(slot < 0 ? 0 : ctx.ks.valueLength(slot));
};

const getrange: Handler = (ctx, _c, f) => {
  let start = argInt(f, 2);
  let end = argInt(f, 3);
  const slot = stringSlot(ctx.ks, ctx.ks.find(argStr(f, 1)));
  if (slot < 0) return ctx.out.bulk('');
  const v = ctx.ks.value(slot);
  const len = v.length;
  if (start < 0 && end < 0 && start > end) return ctx.out.bulk('');
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return ctx.out.bulk('');
  ctx.out.bulk(typeof v === 'string' ? v.slice(start, end + 1) : v.subarray(start, end + 1));
};

const setrange: Handler = (ctx, c, f) => {
  const key = argStr(f, 1);
  const offset = argInt(f, 2);
  if (offset < 0) throw new CommandError('ERR offset is out of range');
  const add = argValue(f, 3);
  const slot = stringSlot(ctx.ks, ctx.ks.find(key));
  const cur: Value = slot < 0 ? '' : ctx.ks.value(slot);
  if (add.length === 0) return ctx.out.int(cur.length);
  checkSize(ctx, offset + add.length);
  const len = Math.max(cur.length, offset + add.length);
  const b = Buffer.alloc(len);
  if (typeof cur === 'string') b.latin1Write(cur, 0);
  else cur.copy(b);
  if (typeof add === 'string') b.latin1Write(add, offset);
  else add.copy(b, offset);
  const next: Value = len <= STRING_VALUE_MAX ? b.latin1Slice(0, len) : b;
  return then(ctx, c, ctx.ks.set(key, next, slot >= 0 ? -1 : 0), () => {
    noteEncoding(ctx.ks, key, 'raw'); // Redis writes into a raw string
    ctx.out.int(len);
  });
};

export const STRING_SPECS: Spec[] = [
  ['get', 2, 'readonly fast', [1, 1, 1], 'string', 'Returns the string value of a key.', get],
  ['set', -3, 'write denyoom', [1, 1, 1], 'string', 'Sets the string value of a key, ignoring its type; the key is created if it does not exist.', set, setIsBlind],
  ['setex', 4, 'write denyoom', [1, 1, 1], 'string', 'Sets the string value and expiration time of a key.', setWithExpiry('EX', 'setex'), always],
  ['psetex', 4, 'write denyoom', [1, 1, 1], 'string', 'Sets both string value and expiration time in milliseconds of a key.', setWithExpiry('PX', 'psetex'), always],
  ['getdel', 2, 'write fast', [1, 1, 1], 'string', 'Returns the string value of a key after deleting the key.', getdel],
  ['getex', -2, 'write fast', [1, 1, 1], 'string', 'Returns the string value of a key after setting its expiration time.', getex],
  ['mget', -2, 'readonly fast', [1, -1, 1], 'string', 'Atomically returns the string values of one or more keys.', mget],
  ['mset', -3, 'write denyoom', [1, -1, 2], 'string', 'Atomically creates or modifies the string values of one or more keys.', mset, always],
  ['msetnx', -3, 'write denyoom', [1, -1, 2], 'string', 'Atomically modifies the string values of one or more keys only when all keys do not exist.', msetnx],
  ['incr', 2, 'write denyoom fast', [1, 1, 1], 'string', 'Increments the integer value of a key by one.', incrGeneric(1n, 1n)],
  ['decr', 2, 'write denyoom fast', [1, 1, 1], 'string', 'Decrements the integer value of a key by one.', incrGeneric(-1n, 1n)],
  ['incrby', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Increments the integer value of a key by a number.', incrGeneric(null, 1n)],
  ['decrby', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Decrements a number from the integer value of a key.', incrGeneric(null, -1n)],
  ['incrbyfloat', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Increment the floating point value of a key by a number.', incrbyfloat],
  ['append', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Appends a string to the value of a key.', append],
  ['strlen', 2, 'readonly fast', [1, 1, 1], 'string', 'Returns the length of a string value.', strlen],
  ['getrange', 4, 'readonly', [1, 1, 1], 'string', 'Returns a substring of the string stored at a key.', getrange],
  ['setrange', 4, 'write denyoom', [1, 1, 1], 'string', 'Overwrites a part of a string value with another by an offset.', setrange],
];

/* eslint-disable no-bitwise */ // byte-level command name hashing on the hot path
import { hostname } from 'node:os';
import { blockedClients } from './blocking';
import { clientKey, DATABASES, dbPrefix, inDb, markMultiDb, multiDbUsed } from './databases';
import { HASH_SPECS } from './hashes';
import { LIST_SPECS } from './lists';
import { dropSubscriptions, PUBSUB_SPECS, subscriptionFields, subscriptions } from './pubsub';
import { ReplyWriter } from './resp';
import { SCRIPTING_SPECS } from './scripting';
import { configSet, runtimeConfigValues, SERVER_SPECS } from './server-commands';
import { SET_SPECS } from './sets';
import { ZSET_SPECS } from './zsets';
import type { ClusterMap } from '../cluster/cluster';
import { clusterCommand, clusterOk } from '../cluster/commands';
import { globToRegExp } from '../keyspace/glob';
import { PersistenceUnavailableError, QueueFullError } from '../keyspace/hooks';
import { Keyspace, OutOfMemoryError, STRING_VALUE_MAX, Value } from '../keyspace/keyspace';
import { T_STRING, TYPE_NAMES, ValueEncodingError, WrongTypeError } from '../keyspace/types';

/** The arguments of one command: offsets into `args`. The RequestParser is one. */
export interface Frame {
  readonly argc: number;
  readonly args: Buffer;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
}

/** An error reply with its full Redis text (code first). */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

export const ERR_SYNTAX = 'ERR syntax error';
export const ERR_NOT_INT = 'ERR value is not an integer or out of range';
export const ERR_OOM = 'OOM command not allowed when used memory > \'maxmemory\'.';
export const ERR_NOAUTH = 'NOAUTH Authentication required.';
export const ERR_WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';
export const ERR_EXECABORT = 'EXECABORT Transaction discarded because of previous errors.';
export const ERR_WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

/** `slot` (live or -1) for a command that reads a string value: throws WRONGTYPE when the key holds an aggregate. */
function stringSlot(ks: Keyspace, slot: number): number {
  if (slot >= 0 && ks.typeAt(slot) !== T_STRING) throw new WrongTypeError();
  return slot;
}

/** Per-connection state the commands see. */
export interface ClientState {
  readonly id: number;
  name: string;
  libName: string;
  libVer: string;
  resp3: boolean;
  /** The selected database (SELECT; see databases.ts). */
  db: number;
  authenticated: boolean;
  /** Queued frames while in MULTI, else null. */
  multi: Frame[] | null;
  multiFailed: boolean;
  /** WATCHed keys and their stamps (Keyspace.watch) when watched, else null. */
  watched: Map<string, number> | null;
  readonly addr: string;
  readonly laddr: string;
  readonly createdAt: number;
  lastCommandAt: number;
  lastCommand: string;
  closeAfterReply: boolean;
  kill(): void;
  /** Output encoded after the command's read event (a command that waited). */
  deliver(chunks: Buffer[]): void;
}

/** What commands need from the server. */
export interface ServerContext {
  readonly ks: Keyspace;
  readonly out: ReplyWriter;
  readonly password: string | undefined;
  readonly clients: Map<number, ClientState>;
  readonly startedAt: number;
  readonly respPort: number;
  readonly maxClients: number;
  readonly maxBulkBytes: number;
  readonly stats: ServerStats;
  /** The slot map when cluster mode is on, else undefined. */
  readonly cluster: ClusterMap | undefined;
  ready(): boolean;
}

export class ServerStats {
  connectionsReceived = 0;
  connectionsRejected = 0;
  commandsProcessed = 0;
  /** Commands and REST writes refused with the OOM error (memory full under noeviction, or eviction refused). */
  oomErrors = 0;
  /** Calls per command, indexed like COMMANDS. */
  calls: Float64Array = new Float64Array(0);
  /** Command latency histogram: counts per bucket of LATENCY_BUCKETS (seconds), plus +Inf. */
  latencyCounts: Float64Array = new Float64Array(0);
  latencySum = 0;
}

export const LATENCY_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1];

export type Handler = (ctx: ServerContext, c: ClientState, f: Frame) => void | Promise<unknown>;

export interface Command {
  readonly name: string;
  readonly index: number;
  /** Redis arity: positive is exact, negative is a minimum (both count the name). */
  readonly arity: number;
  readonly flags: readonly string[];
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
  readonly group: string;
  readonly summary: string;
  readonly handler: Handler;
  /**
   * True for an invocation that writes without reading what was there (SET
   * without NX/XX/GET/KEEPTTL, SETEX, MSET): its keys are not loaded from the
   * stores first, so write-behind takes it at memory speed even while a store
   * is down. Absent: the command reads its keys.
   */
  readonly blind?: (f: Frame) => boolean;
  /** Key positions of an invocation, for commands whose keys move (EVAL's numkeys); see KeyBounds. */
  readonly keyRange?: (f: Frame) => KeyBounds;
}

/** Keys at [first, last] every `step`, and `extra` outside that range (ZUNIONSTORE's destination, before numkeys). */
export type KeyBounds = [first: number, last: number, step: number, extra?: number];

/** True when `cmd` may name keys (fixed positions or movable). */
export function hasKeys(cmd: Command): boolean {
  return cmd.firstKey !== 0 || cmd.keyRange !== undefined;
}

/** The key positions [first, last, step] of `cmd` in `f` (last < first: none). */
export function keyBounds(cmd: Command, f: Frame): KeyBounds {
  if (cmd.keyRange !== undefined) return cmd.keyRange(f);
  const last = cmd.lastKey < 0 ? f.argc + cmd.lastKey : Math.min(cmd.lastKey, f.argc - 1);
  return [cmd.firstKey, last, cmd.step];
}

// ---- argument helpers --------------------------------------------------------

export function argStr(f: Frame, i: number): string {
  return f.args.latin1Slice(f.starts[i], f.ends[i]);
}

export function argLen(f: Frame, i: number): number {
  return f.ends[i] - f.starts[i];
}

/** A value argument: a binary string when small, a copied Buffer when large. */
export function argValue(f: Frame, i: number): Value {
  const s = f.starts[i];
  const e = f.ends[i];
  if (e - s <= STRING_VALUE_MAX) return f.args.latin1Slice(s, e);
  return Buffer.from(f.args.subarray(s, e));
}

export function argUpper(f: Frame, i: number): string {
  return argStr(f, i).toUpperCase();
}

/** Redis's string2ll: optional '-', digits without leading zeros, within int64 (here: safe integers). */
export function parseIntStrict(s: string): number | null {
  if (s.length === 0 || s.length > 20) return null;
  if (!/^-?(0|[1-9][0-9]*)$/.test(s) || s === '-0') return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

export function argInt(f: Frame, i: number): number {
  const n = parseIntStrict(argStr(f, i));
  if (n === null) throw new CommandError(ERR_NOT_INT);
  return n;
}

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

export function parseInt64(s: string): bigint | null {
  if (s.length === 0 || s.length > 20 || !/^-?(0|[1-9][0-9]*)$/.test(s) || s === '-0') return null;
  const n = BigInt(s);
  return n > INT64_MAX || n < INT64_MIN ? null : n;
}

function toValue(s: string): Value {
  return s;
}

function valueString(v: Value): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}

export function wrongArgs(name: string): string {
  return `ERR wrong number of arguments for '${name}' command`;
}

/**
 * Reply after a write that may wait on persistence. When it waits, the reply
 * is encoded later, on its own, and handed to the client's connection, which
 * holds back its following commands until then (replies stay in order).
 */
export function then(ctx: ServerContext, c: ClientState, p: Promise<unknown> | undefined, reply: () => void): void | Promise<unknown> {
  if (p === undefined) {
    reply();
    return undefined;
  }
  return p.then(() => replyLater(ctx, c, reply));
}

/** Encodes a late reply for `c` and delivers it at once (the shared writer is empty between read events). */
export function replyLater(ctx: ServerContext, c: ClientState, reply: () => void): void {
  ctx.out.resp3 = c.resp3;
  reply();
  c.deliver(ctx.out.take());
}

// ---- expiry option parsing --------------------------------------------------

const MAX_EXPIRE_MS = 8.64e15; // beyond Date's range

/** Absolute ms from EX/PX/EXAT/PXAT; throws Redis's invalid-expire error. */
function absoluteExpiry(unit: string, n: number, cmd: string): number {
  const bad = () => new CommandError(`ERR invalid expire time in '${cmd}' command`);
  let at: number;
  switch (unit) {
    case 'EX': if (n <= 0) throw bad(); at = Date.now() + n * 1000; break;
    case 'PX': if (n <= 0) throw bad(); at = Date.now() + n; break;
    case 'EXAT': if (n <= 0) throw bad(); at = n * 1000; break;
    default: if (n <= 0) throw bad(); at = n; break;
  }
  if (!Number.isFinite(at) || at > MAX_EXPIRE_MS) throw bad();
  return at;
}

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
  if (f.argc === 3 && !ks.persistent) {
    // The hot path: key and value go from the request bytes into the keyspace.
    ks.setBytes(f.args, f.starts[1], f.ends[1], f.args, f.starts[2], f.ends[2]);
    return ctx.out.ok();
  }
  const key = argStr(f, 1);
  if (f.argc === 3) return then(ctx, c, ks.set(key, argValue(f, 2), 0), () => ctx.out.ok());
  let nx = false;
  let xx = false;
  let getOld = false;
  let keepTtl = false;
  let expiresAt = 0;
  let expiryGiven = false;
  for (let i = 3; i < f.argc; i++) {
    const opt = argUpper(f, i);
    if (opt === 'NX' && !xx) {nx = true;} else if (opt === 'XX' && !nx) {xx = true;} else if (opt === 'GET') {getOld = true;} else if (opt === 'KEEPTTL' && !expiryGiven) {keepTtl = true;} else if ((opt === 'EX' || opt === 'PX' || opt === 'EXAT' || opt === 'PXAT') && !expiryGiven && !keepTtl && i + 1 < f.argc) {
      expiresAt = absoluteExpiry(opt, argInt(f, ++i), 'set');
      expiryGiven = true;
    } else {throw new CommandError(ERR_SYNTAX);}
  }
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
  return (ctx, c, f) => then(ctx, c, ctx.ks.set(argStr(f, 1), argValue(f, 3), absoluteExpiry(unit, argInt(f, 2), name)), () => ctx.out.ok());
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
  for (let i = 2; i < f.argc; i++) {
    const opt = argUpper(f, i);
    if (expiresAt === undefined && opt === 'PERSIST') {expiresAt = 0;} else if (expiresAt === undefined && (opt === 'EX' || opt === 'PX' || opt === 'EXAT' || opt === 'PXAT') && i + 1 < f.argc) {
      expiresAt = absoluteExpiry(opt, argInt(f, ++i), 'getex');
    } else {throw new CommandError(ERR_SYNTAX);}
  }
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

const mset: Handler = (ctx, c, f) => then(ctx, c, ctx.ks.setMany(pairs(f, 'mset')), () => ctx.out.ok());

const msetnx: Handler = (ctx, c, f) => {
  const p = pairs(f, 'msetnx');
  if (p.some(([k]) => ctx.ks.find(k, false) >= 0)) return ctx.out.int(0);
  return then(ctx, c, ctx.ks.setMany(p), () => ctx.out.int(1));
};

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

function expireGeneric(unitMs: number, absolute: boolean, name: string): Handler {
  return (ctx, c, f) => {
    const key = argStr(f, 1);
    const n = argInt(f, 2);
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
    const at = absolute ? n * unitMs : Date.now() + n * unitMs;
    if (!Number.isFinite(at) || Math.abs(at) > MAX_EXPIRE_MS) throw new CommandError(`ERR invalid expire time in '${name}' command`);
    const slot = ctx.ks.find(key, false);
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
  const slot = ctx.ks.find(argStr(f, 1), false);
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
export function formatFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  let s = n.toPrecision(17);
  if (s.includes('e')) return String(n);
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  // toPrecision(17) exposes binary noise (0.1 -> 0.10000000000000001); prefer the shortest exact form.
  const shortest = String(n);
  return !shortest.includes('e') && Number(shortest) === Number(s) ? shortest : s;
}

const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseFloatStrict(s: string): number | null {
  if (!FLOAT_RE.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

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
  return then(ctx, c, ctx.ks.set(key, s, slot >= 0 ? -1 : 0), () => ctx.out.bulk(s));
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
  return then(ctx, c, ctx.ks.set(key, next, slot >= 0 ? -1 : 0), () => ctx.out.int(next.length));
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
  return then(ctx, c, ctx.ks.set(key, next, slot >= 0 ? -1 : 0), () => ctx.out.int(len));
};

const scan: Handler = (ctx, c, f) => {
  const cursorStr = argStr(f, 1);
  const cursor = parseIntStrict(cursorStr);
  if (cursor === null || cursor < 0) throw new CommandError('ERR invalid cursor');
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

// ---- transactions -------------------------------------------------------------

const watch: Handler = (ctx, c, f) => {
  if (c.multi !== null) throw new CommandError('ERR WATCH inside MULTI is not allowed');
  if (c.watched === null) c.watched = new Map();
  for (let i = 1; i < f.argc; i++) {
    const k = argStr(f, i);
    if (!c.watched.has(k)) c.watched.set(k, ctx.ks.watch(k));
  }
  ctx.out.ok();
};

/** Forgets the client's WATCHed keys (UNWATCH, DISCARD, RESET; EXEC and disconnects in the connection). */
export function dropWatches(ctx: { readonly ks: { unwatch(keys: Iterable<string>): void } }, c: ClientState): void {
  if (c.watched !== null) ctx.ks.unwatch(c.watched.keys());
  c.watched = null;
}

const unwatch: Handler = (ctx, c) => {
  dropWatches(ctx, c);
  ctx.out.ok();
};

const multi: Handler = (ctx, c) => {
  if (c.multi !== null) throw new CommandError('ERR MULTI calls can not be nested');
  c.multi = [];
  c.multiFailed = false;
  ctx.out.ok();
};

const discard: Handler = (ctx, c) => {
  if (c.multi === null) throw new CommandError('ERR DISCARD without MULTI');
  c.multi = null;
  dropWatches(ctx, c);
  ctx.out.ok();
};

// EXEC is run by the dispatcher (it needs to run other commands).

// ---- connection -----------------------------------------------------------

const ping: Handler = (ctx, c, f) => {
  if (f.argc > 2) throw new CommandError(wrongArgs('ping'));
  if (!c.resp3 && subscriptions(c) > 0) {
    // RESP2 subscriber mode answers PING as a message.
    ctx.out.arrayHeader(2);
    ctx.out.bulk('pong');
    if (f.argc === 2) ctx.out.bulkBytes(f.args, f.starts[1], f.ends[1]);
    else ctx.out.bulk('');
    return;
  }
  if (f.argc === 2) ctx.out.bulkBytes(f.args, f.starts[1], f.ends[1]);
  else ctx.out.simple('PONG');
  void c;
};

const echo: Handler = (ctx, _c, f) => ctx.out.bulkBytes(f.args, f.starts[1], f.ends[1]);

function checkPassword(ctx: ServerContext, user: string, pass: string): boolean {
  return user === 'default' && ctx.password !== undefined && timingSafeEqualStr(pass, ctx.password);
}

function timingSafeEqualStr(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return ab.length === bb.length && require('node:crypto').timingSafeEqual(ab, bb);
}

const auth: Handler = (ctx, c, f) => {
  if (f.argc > 3) throw new CommandError(ERR_SYNTAX);
  if (ctx.password === undefined) {
    throw new CommandError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
  }
  const user = f.argc === 3 ? argStr(f, 1) : 'default';
  const pass = argStr(f, f.argc - 1);
  if (!checkPassword(ctx, user, pass)) throw new CommandError(ERR_WRONGPASS);
  c.authenticated = true;
  ctx.out.ok();
};

/** The Redis version whose commands and semantics state-cache implements (docs/commands.md lists them). */
export const SERVER_VERSION = '7.0.0';

/** This package's version (INFO state_cache_version). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const STATE_CACHE_VERSION: string = (require('../../package.json') as { version?: string }).version ?? '0.0.0';

const hello: Handler = (ctx, c, f) => {
  let proto = c.resp3 ? 3 : 2;
  let i = 1;
  if (f.argc >= 2) {
    const v = parseIntStrict(argStr(f, 1));
    if (v === null) throw new CommandError('ERR Protocol version is not an integer or out of range');
    if (v !== 2 && v !== 3) throw new CommandError('NOPROTO unsupported protocol version');
    proto = v;
    i = 2;
  }
  let name: string | undefined;
  for (; i < f.argc; i++) {
    const o = argUpper(f, i);
    if (o === 'AUTH' && i + 2 < f.argc) {
      const user = argStr(f, i + 1);
      const pass = argStr(f, i + 2);
      if (ctx.password === undefined) {
        throw new CommandError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
      }
      if (!checkPassword(ctx, user, pass)) throw new CommandError(ERR_WRONGPASS);
      c.authenticated = true;
      i += 2;
    } else if (o === 'SETNAME' && i + 1 < f.argc) {
      name = argStr(f, ++i);
      if (/[\s]/.test(name)) throw new CommandError('ERR Client names cannot contain spaces, newlines or special characters.');
    } else {throw new CommandError(`ERR Syntax error in HELLO option '${argStr(f, i)}'`);}
  }
  if (ctx.password !== undefined && !c.authenticated) throw new CommandError('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
  if (name !== undefined) c.name = name;
  c.resp3 = proto === 3;
  ctx.out.resp3 = c.resp3;
  ctx.out.mapHeader(7);
  ctx.out.bulk('server'); ctx.out.bulk('redis');
  ctx.out.bulk('version'); ctx.out.bulk(SERVER_VERSION);
  ctx.out.bulk('proto'); ctx.out.int(proto);
  ctx.out.bulk('id'); ctx.out.int(c.id);
  ctx.out.bulk('mode'); ctx.out.bulk(ctx.cluster !== undefined ? 'cluster' : 'standalone');
  ctx.out.bulk('role'); ctx.out.bulk('master');
  ctx.out.bulk('modules'); ctx.out.arrayHeader(0);
};

const select: Handler = (ctx, c, f) => {
  const n = parseIntStrict(argStr(f, 1));
  if (n === null) throw new CommandError(ERR_NOT_INT);
  if (ctx.cluster !== undefined && n !== 0) throw new CommandError('ERR SELECT is not allowed in cluster mode');
  if (n < 0 || n >= DATABASES) throw new CommandError('ERR DB index is out of range');
  if (n !== 0) markMultiDb(ctx.ks);
  c.db = n;
  ctx.out.ok();
};

const quit: Handler = (ctx, c) => {
  c.closeAfterReply = true;
  ctx.out.ok();
};

const reset: Handler = (ctx, c) => {
  dropSubscriptions(ctx, c);
  c.multi = null;
  c.multiFailed = false;
  dropWatches(ctx, c);
  c.resp3 = false;
  ctx.out.resp3 = false;
  c.db = 0;
  c.name = '';
  c.authenticated = ctx.password === undefined;
  ctx.out.simple('RESET');
};

export function clientLine(ctx: ServerContext, c: ClientState): string {
  const now = Date.now();
  return `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=-1 name=${c.name} age=${Math.floor((now - c.createdAt) / 1000)} `
    + `idle=${Math.floor((now - c.lastCommandAt) / 1000)} flags=${(subscriptions(c) > 0 ? 'P' : '') + (c.multi !== null ? 'x' : '') || 'N'} db=${c.db} ${subscriptionFields(c)} `
    + `multi=${c.multi === null ? -1 : c.multi.length} watch=${c.watched?.size ?? 0} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 `
    + `rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=${c.lastCommand} user=default redir=-1 resp=${c.resp3 ? 3 : 2} `
    + `lib-name=${c.libName} lib-ver=${c.libVer}`;
  void ctx;
}

const client: Handler = (ctx, c, f) => {
  const sub = argUpper(f, 1);
  switch (sub) {
    case 'SETNAME': {
      if (f.argc !== 3) throw new CommandError(wrongArgs('client|setname'));
      const name = argStr(f, 2);
      if (/[^!-~]/.test(name)) throw new CommandError('ERR Client names cannot contain spaces, newlines or special characters.');
      c.name = name;
      return ctx.out.ok();
    }
    case 'GETNAME':
      if (c.name === '') return ctx.out.nil();
      return ctx.out.bulk(c.name);
    case 'ID':
      return ctx.out.int(c.id);
    case 'INFO':
      return ctx.out.verbatim(clientLine(ctx, c) + '\n');
    case 'LIST': {
      let text = '';
      for (const other of ctx.clients.values()) text += clientLine(ctx, other) + '\n';
      return ctx.out.verbatim(text);
    }
    case 'SETINFO': {
      if (f.argc !== 4) throw new CommandError(wrongArgs('client|setinfo'));
      const attr = argUpper(f, 2);
      const v = argStr(f, 3);
      if (/[^!-~]/.test(v)) throw new CommandError(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
      if (attr === 'LIB-NAME') c.libName = v;
      else if (attr === 'LIB-VER') c.libVer = v;
      else throw new CommandError(`ERR Unrecognized option '${argStr(f, 2)}'`);
      return ctx.out.ok();
    }
    case 'KILL': {
      if (f.argc === 3) {
        const addr = argStr(f, 2);
        const victim = [...ctx.clients.values()].find((o) => o.addr === addr);
        if (victim === undefined) throw new CommandError('ERR No such client');
        victim.kill();
        return ctx.out.ok();
      }
      let killed = 0;
      const filters: Array<(o: ClientState) => boolean> = [];
      for (let i = 2; i < f.argc; i += 2) {
        if (i + 1 >= f.argc) throw new CommandError(ERR_SYNTAX);
        const k = argUpper(f, i);
        const v = argStr(f, i + 1);
        if (k === 'ID') {
          const id = parseIntStrict(v);
          if (id === null) throw new CommandError('ERR client-id should be greater than 0');
          filters.push((o) => o.id === id);
        } else if (k === 'ADDR') {filters.push((o) => o.addr === v);} else if (k === 'LADDR') {filters.push((o) => o.laddr === v);} else if (k === 'SKIPME') {
          if (v.toLowerCase() === 'yes') filters.push((o) => o !== c);
        } else {throw new CommandError(ERR_SYNTAX);}
      }
      for (const o of [...ctx.clients.values()]) {
        if (filters.every((p) => p(o))) {
          o.kill();
          killed++;
        }
      }
      return ctx.out.int(killed);
    }
    case 'NO-EVICT':
    case 'NO-TOUCH':
      return ctx.out.ok();
    case 'HELP':
      return ctx.out.value(['CLIENT <subcommand>', 'SETNAME <name>', 'GETNAME', 'ID', 'INFO', 'LIST', 'SETINFO <LIB-NAME|LIB-VER> <value>', 'KILL <addr> | KILL [ID <id>] [ADDR <addr>] [LADDR <addr>] [SKIPME yes|no]']);
    default:
      throw new CommandError(`ERR unknown subcommand '${argStr(f, 1)}'. Try CLIENT HELP.`);
  }
};

// ---- server introspection -------------------------------------------------------

function human(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(2)}${units[u]}`;
}

export function policyName(ks: Keyspace): string {
  return ks.policy === 'noeviction' ? 'noeviction' : `allkeys-${ks.policy}`;
}

export function infoText(ctx: ServerContext, wanted: readonly string[]): string {
  const ks = ctx.ks;
  const mem = process.memoryUsage();
  const uptime = Math.floor((Date.now() - ctx.startedAt) / 1000);
  const all = wanted.length === 0 || wanted.includes('all') || wanted.includes('everything') || wanted.includes('default');
  const sectionsOut: string[] = [];
  const add = (name: string, fields: Record<string, string | number>) => {
    if (!all && !wanted.includes(name.toLowerCase())) return;
    sectionsOut.push(`# ${name}\r\n` + Object.entries(fields).map(([k, v]) => `${k}:${v}`).join('\r\n') + '\r\n');
  };
  add('Server', {
    redis_version: SERVER_VERSION,
    state_cache_version: STATE_CACHE_VERSION,
    redis_mode: ctx.cluster !== undefined ? 'cluster' : 'standalone',
    os: `${process.platform} ${process.arch}`,
    arch_bits: 64,
    process_id: process.pid,
    tcp_port: ctx.respPort,
    server_time_usec: Date.now() * 1000,
    uptime_in_seconds: uptime,
    uptime_in_days: Math.floor(uptime / 86400),
    executable: process.argv[1] ?? '',
    hostname: hostname(),
  });
  add('Clients', {
    connected_clients: ctx.clients.size,
    maxclients: ctx.maxClients,
    blocked_clients: blockedClients(ctx),
  });
  add('Memory', {
    used_memory: ks.usedBytes,
    used_memory_human: human(ks.usedBytes),
    used_memory_rss: mem.rss,
    used_memory_rss_human: human(mem.rss),
    used_memory_heap: mem.heapUsed,
    used_memory_heap_total: mem.heapTotal,
    used_memory_external: mem.external,
    used_memory_allocated: ks.allocatedBytes,
    maxmemory: ks.maxBytes,
    maxmemory_human: human(ks.maxBytes),
    maxmemory_policy: policyName(ks),
    maxentries: ks.maxEntries,
  });
  add('Persistence', {
    loading: ctx.ready() ? 0 : 1,
    async_loading: 0,
    rdb_changes_since_last_save: 0,
    rdb_bgsave_in_progress: 0,
    aof_enabled: 0,
    aof_rewrite_in_progress: 0,
  });
  add('Stats', {
    total_connections_received: ctx.stats.connectionsReceived,
    total_commands_processed: ctx.stats.commandsProcessed,
    rejected_connections: ctx.stats.connectionsRejected,
    expired_keys: ks.stats.expirations,
    evicted_keys: ks.stats.evictions,
    keyspace_hits: ks.stats.hits,
    keyspace_misses: ks.stats.misses,
    keyspace_loads: ks.stats.loads,
  });
  add('Cluster', { cluster_enabled: ctx.cluster !== undefined ? 1 : 0 });
  add('Keyspace', ks.size > 0 ? { db0: `keys=${ks.size},expires=${ks.keysWithTtl},avg_ttl=0` } : {});
  return sectionsOut.join('\r\n');
}

const info: Handler = (ctx, _c, f) => {
  const wanted: string[] = [];
  for (let i = 1; i < f.argc; i++) wanted.push(argStr(f, i).toLowerCase());
  ctx.out.verbatim(infoText(ctx, wanted));
};

function configValues(ctx: ServerContext): Record<string, string> {
  return {
    ...runtimeConfigValues(ctx),
    'maxclients': String(ctx.maxClients),
    'proto-max-bulk-len': String(ctx.maxBulkBytes),
    'databases': '1',
    'save': '',
    'appendonly': 'no',
    'port': String(ctx.respPort),
    'timeout': '0',
    'protected-mode': ctx.password === undefined ? 'yes' : 'no',
    'cluster-enabled': ctx.cluster !== undefined ? 'yes' : 'no',
  };
}

const config: Handler = (ctx, _c, f) => {
  if (f.argc < 2) throw new CommandError(wrongArgs('config'));
  const sub = argUpper(f, 1);
  if (sub === 'GET') {
    if (f.argc < 3) throw new CommandError(wrongArgs('config|get'));
    const values = configValues(ctx);
    const found = new Map<string, string>();
    for (let i = 2; i < f.argc; i++) {
      const re = globToRegExp(argStr(f, i).toLowerCase());
      for (const [k, v] of Object.entries(values)) if (re.test(k)) found.set(k, v);
    }
    ctx.out.mapHeader(found.size);
    for (const [k, v] of found) {
      ctx.out.bulk(k);
      ctx.out.bulk(v);
    }
    return undefined;
  }
  if (sub === 'RESETSTAT') {
    Object.assign(ctx.ks.stats, { hits: 0, misses: 0, evictions: 0, expirations: 0 });
    ctx.stats.commandsProcessed = 0;
    return ctx.out.ok();
  }
  if (sub === 'SET') return configSet(ctx, f, (i) => argStr(f, i));
  throw new CommandError(`ERR unknown subcommand '${argStr(f, 1)}'. Try CONFIG HELP.`);
};

function commandInfo(ctx: ServerContext, cmd: Command): void {
  const o = ctx.out;
  o.arrayHeader(10);
  o.bulk(cmd.name);
  o.int(cmd.arity);
  o.setHeader(cmd.flags.length);
  for (const fl of cmd.flags) o.simple(fl);
  o.int(cmd.firstKey);
  o.int(cmd.lastKey);
  o.int(cmd.step);
  o.setHeader(0);
  o.setHeader(0);
  o.arrayHeader(0);
  o.arrayHeader(0);
}

const command: Handler = (ctx, _c, f) => {
  if (f.argc === 1) {
    ctx.out.arrayHeader(COMMANDS.length);
    for (const cmd of COMMANDS) commandInfo(ctx, cmd);
    return undefined;
  }
  const sub = argUpper(f, 1);
  if (sub === 'COUNT') return ctx.out.int(COMMANDS.length);
  if (sub === 'INFO' || sub === 'DOCS') {
    const names: string[] = [];
    for (let i = 2; i < f.argc; i++) names.push(argStr(f, i).toLowerCase());
    const list = names.length === 0 ? COMMANDS : names.map((n) => BY_NAME.get(n));
    if (sub === 'INFO') {
      ctx.out.arrayHeader(list.length);
      for (const cmd of list) {
        if (cmd === undefined) ctx.out.nilArray();
        else commandInfo(ctx, cmd);
      }
      return undefined;
    }
    const known = list.filter((x): x is Command => x !== undefined);
    ctx.out.mapHeader(known.length);
    for (const cmd of known) {
      ctx.out.bulk(cmd.name);
      ctx.out.mapHeader(3);
      ctx.out.bulk('summary'); ctx.out.bulk(cmd.summary);
      ctx.out.bulk('since'); ctx.out.bulk('1.0.0');
      ctx.out.bulk('group'); ctx.out.bulk(cmd.group);
    }
    return undefined;
  }
  if (sub === 'LIST') {
    ctx.out.arrayHeader(COMMANDS.length);
    for (const cmd of COMMANDS) ctx.out.bulk(cmd.name);
    return undefined;
  }
  throw new CommandError(`ERR unknown subcommand '${argStr(f, 1)}'. Try COMMAND HELP.`);
};

// ---- the table ------------------------------------------------------------------

export type Spec = [
  name: string, arity: number, flags: string, keys: [number, number, number], group: string, summary: string,
  handler: Handler, blind?: (f: Frame) => boolean, keyRange?: (f: Frame) => KeyBounds,
];

const NOOP: Handler = () => undefined;

const SPECS: Spec[] = [
  ['get', 2, 'readonly fast', [1, 1, 1], 'string', 'Returns the string value of a key.', get],
  ['set', -3, 'write denyoom', [1, 1, 1], 'string', 'Sets the string value of a key, ignoring its type; the key is created if it does not exist.', set, setIsBlind],
  ['setex', 4, 'write denyoom', [1, 1, 1], 'string', 'Sets the string value and expiration time of a key.', setWithExpiry('EX', 'setex'), always],
  ['psetex', 4, 'write denyoom', [1, 1, 1], 'string', 'Sets both string value and expiration time in milliseconds of a key.', setWithExpiry('PX', 'psetex'), always],
  ['getdel', 2, 'write fast', [1, 1, 1], 'string', 'Returns the string value of a key after deleting the key.', getdel],
  ['getex', -2, 'write fast', [1, 1, 1], 'string', 'Returns the string value of a key after setting its expiration time.', getex],
  ['mget', -2, 'readonly fast', [1, -1, 1], 'string', 'Atomically returns the string values of one or more keys.', mget],
  ['mset', -3, 'write denyoom', [1, -1, 2], 'string', 'Atomically creates or modifies the string values of one or more keys.', mset, always],
  ['msetnx', -3, 'write denyoom', [1, -1, 2], 'string', 'Atomically modifies the string values of one or more keys only when all keys do not exist.', msetnx],
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
  ['incr', 2, 'write denyoom fast', [1, 1, 1], 'string', 'Increments the integer value of a key by one.', incrGeneric(1n, 1n)],
  ['decr', 2, 'write denyoom fast', [1, 1, 1], 'string', 'Decrements the integer value of a key by one.', incrGeneric(-1n, 1n)],
  ['incrby', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Increments the integer value of a key by a number.', incrGeneric(null, 1n)],
  ['decrby', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Decrements a number from the integer value of a key.', incrGeneric(null, -1n)],
  ['incrbyfloat', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Increment the floating point value of a key by a number.', incrbyfloat],
  ['append', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Appends a string to the value of a key.', append],
  ['strlen', 2, 'readonly fast', [1, 1, 1], 'string', 'Returns the length of a string value.', strlen],
  ['getrange', 4, 'readonly', [1, 1, 1], 'string', 'Returns a substring of the string stored at a key.', getrange],
  ['setrange', 4, 'write denyoom', [1, 1, 1], 'string', 'Overwrites a part of a string value with another by an offset.', setrange],
  ['scan', -2, 'readonly', [0, 0, 0], 'generic', 'Iterates over the key names in the database.', scan],
  ['keys', 2, 'readonly', [0, 0, 0], 'generic', 'Returns all key names that match a pattern.', keys],
  ['randomkey', 1, 'readonly', [0, 0, 0], 'generic', 'Returns a random key name from the database.', randomkey],
  ['flushdb', -1, 'write', [0, 0, 0], 'server', 'Removes all keys from the current database.', flush],
  ['flushall', -1, 'write', [0, 0, 0], 'server', 'Removes all keys from all databases.', flush],
  ['dbsize', 1, 'readonly fast', [0, 0, 0], 'server', 'Returns the number of keys in the database.', dbsize],
  ['watch', -2, 'noscript loading stale fast allow_busy', [1, -1, 1], 'transactions', 'Monitors changes to keys to determine the execution of a transaction.', watch],
  ['unwatch', 1, 'noscript loading stale fast allow_busy', [0, 0, 0], 'transactions', 'Forgets about watched keys of a transaction.', unwatch],
  ['multi', 1, 'noscript loading stale fast allow_busy', [0, 0, 0], 'transactions', 'Starts a transaction.', multi],
  ['exec', 1, 'noscript loading stale skip_slowlog', [0, 0, 0], 'transactions', 'Executes all commands in a transaction.', NOOP],
  ['discard', 1, 'noscript loading stale fast allow_busy', [0, 0, 0], 'transactions', 'Discards a transaction.', discard],
  ['ping', -1, 'fast', [0, 0, 0], 'connection', 'Returns the server\'s liveliness response.', ping],
  ['echo', 2, 'fast', [0, 0, 0], 'connection', 'Returns the given string.', echo],
  ['hello', -1, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Handshakes with the Redis server.', hello],
  ['auth', -2, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Authenticates the connection.', auth],
  ['client', -2, 'admin noscript loading stale', [0, 0, 0], 'connection', 'A container for client connection commands.', client],
  ['select', 2, 'loading stale fast', [0, 0, 0], 'connection', 'Changes the selected database.', select],
  ['quit', -1, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Closes the connection.', quit],
  ['reset', 1, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Resets the connection.', reset],
  ['command', -1, 'loading stale', [0, 0, 0], 'server', 'Returns detailed information about all commands.', command],
  ['info', -1, 'loading stale', [0, 0, 0], 'server', 'Returns information and statistics about the server.', info],
  ['config', -2, 'admin noscript loading stale', [0, 0, 0], 'server', 'A container for server configuration commands.', config],
  ['cluster', -2, 'loading stale', [0, 0, 0], 'cluster', 'A container for Redis Cluster commands.', clusterCommand],
  ['readonly', 1, 'loading stale fast', [0, 0, 0], 'cluster', 'Enables read-only queries for a connection to a Redis Cluster replica node.', clusterOk],
  ['readwrite', 1, 'loading stale fast', [0, 0, 0], 'cluster', 'Enables read-write queries for a connection to a Redis Cluster replica node.', clusterOk],
  ['asking', 1, 'fast', [0, 0, 0], 'cluster', 'Signals that a cluster client is following an -ASK redirect.', clusterOk],
  ...SERVER_SPECS,
  ...SCRIPTING_SPECS,
  ...PUBSUB_SPECS,
  ...HASH_SPECS,
  ...LIST_SPECS,
  ...SET_SPECS,
  ...ZSET_SPECS,
];

export const COMMANDS: readonly Command[] = SPECS.map((
  [name, arity, flags, [firstKey, lastKey, step], group, summary, handler, blind, keyRange], index,
) => ({
  name, index, arity, flags: flags.split(' '), firstKey, lastKey, step, group, summary, handler, blind, keyRange,
}));

export const BY_NAME = new Map(COMMANDS.map((c) => [c.name, c]));

/**
 * Case-insensitive hash of a command name straight from its bytes, so
 * dispatch needs no string per command; a hit is confirmed byte by byte.
 */
function nameHash(buf: Buffer | string, start: number, end: number): number {
  let h = end - start;
  for (let i = start; i < end; i++) {
    const b = typeof buf === 'string' ? buf.charCodeAt(i) : buf[i];
    h = (Math.imul(h, 31) + (b >= 65 && b <= 90 ? b | 0x20 : b)) | 0;
  }
  return h;
}

const BY_HASH = new Map<number, Command[]>();
for (const cmd of COMMANDS) {
  const h = nameHash(cmd.name, 0, cmd.name.length);
  const list = BY_HASH.get(h) ?? [];
  list.push(cmd);
  BY_HASH.set(h, list);
}

/** The command named by argument 0, or undefined. */
export function lookupCommand(f: Frame): Command | undefined {
  const s = f.starts[0];
  const e = f.ends[0];
  const list = BY_HASH.get(nameHash(f.args, s, e));
  if (list === undefined) return undefined;
  outer: for (const cmd of list) {
    if (cmd.name.length !== e - s) continue;
    for (let i = 0; i < cmd.name.length; i++) {
      const b = f.args[s + i];
      if ((b >= 65 && b <= 90 ? b | 0x20 : b) !== cmd.name.charCodeAt(i)) continue outer;
    }
    return cmd;
  }
  return undefined;
}

/** Redis's unknown-command error text. */
export function unknownCommandError(f: Frame): string {
  let msg = `ERR unknown command '${argStr(f, 0).slice(0, 128)}', with args beginning with: `;
  for (let i = 1; i < f.argc && msg.length < 128; i++) msg += `'${argStr(f, i).slice(0, 128 - msg.length)}' `;
  return msg;
}

export function wrongArgsError(cmd: Command): string {
  return wrongArgs(cmd.name);
}

/** The keys a command touches (for load-on-miss and write locks). */
export function commandKeys(cmd: Command, f: Frame): string[] {
  if (!hasKeys(cmd)) return [];
  const [first, last, step, extra] = keyBounds(cmd, f);
  const out: string[] = extra === undefined ? [] : [argStr(f, extra)];
  for (let i = first; i <= last && i < f.argc; i += step) out.push(argStr(f, i));
  return out;
}

/** The reply text for an error thrown by a command; counts OOM errors in `stats` when given. */
export function errorReply(e: unknown, stats?: ServerStats): string | undefined {
  if (stats !== undefined && e instanceof OutOfMemoryError) stats.oomErrors++;
  if (e instanceof CommandError || e instanceof WrongTypeError) return e.message;
  if (e instanceof ValueEncodingError) return `ERR ${e.message}`;
  if (e instanceof OutOfMemoryError) return ERR_OOM;
  if (e instanceof QueueFullError) return `QUEUEFULL ${e.message}`;
  if (e instanceof PersistenceUnavailableError) return `STOREUNAVAILABLE ${e.message}`;
  return undefined;
}

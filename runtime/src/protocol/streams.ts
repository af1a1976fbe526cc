/**
 * Stream commands (Redis 7.0 semantics; docs/commands.md "Streams"): XADD,
 * XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, XREAD (BLOCK included), and the
 * consumer groups: XGROUP, XREADGROUP (BLOCK included), XACK, XPENDING,
 * XCLAIM, XAUTOCLAIM, and XINFO.
 *
 * Groups, their pending entries (PEL) and consumers are part of the stream
 * value (keyspace/types.ts), so they persist with it: every command that
 * changes them changes the value (its `mods`), the read-only ones (XPENDING,
 * XINFO) never do. As in Redis, a consumer's seen time refreshed by a read
 * that delivers nothing is not a change of its own (it is kept in memory, not
 * written to the stores).
 *
 * Approximate trimming (`~`) removes whole nodes as Redis does; a node here
 * is a run of 100 appended entries (Redis's default stream-node-max-entries;
 * its 4096-byte node limit is not emulated, so with large entries Redis's
 * nodes are smaller and it trims closer to the threshold).
 */
import { Attempt, block } from './blocking';
import {
  argStr, argUpper, ClientState, CommandError, ERR_NOT_INT, ERR_SYNTAX, Frame, Handler, KeyBounds, parseInt64, ServerContext, Spec, then, wrongArgs,
} from './commands';
import { clientKey } from './databases';
import { afterPush, inTransaction } from './lists';
import { ReplyWriter } from './resp';
import type { TypedWrite } from '../keyspace/keyspace';
import {
  byName, cmpId, ID_MAX, ID_ZERO, idString, PendingEntry, pendingInOrder, pendingLowerBound, StreamConsumer, StreamEntry, StreamGroup, StreamId,
  STREAM_NODE_ENTRIES, StreamValue, T_STREAM, U64_MAX, WrongTypeError,
} from '../keyspace/types';

const ERR_ID = 'ERR Invalid stream ID specified as stream command argument';

function read(ctx: ServerContext, key: string): StreamValue | undefined {
  return ctx.ks.readTyped<StreamValue>(key, T_STREAM);
}

/** Redis's string2ull: an unsigned 64-bit decimal (strtoull's leading blanks and '+' included). */
function parseU64(s: string): bigint | null {
  if (!/^[ \t\n\v\f\r]*\+?[0-9]+$/.test(s)) return null;
  const n = BigInt(s.trim());
  return n > U64_MAX ? null : n;
}

/**
 * A stream ID argument: "ms-seq", or "ms" (seq = `missingSeq`); "-" and "+"
 * unless `strict`; "ms-*" when `allowAutoSeq` (returned with seqGiven false).
 */
function parseId(s: string, missingSeq: bigint, strict: boolean, allowAutoSeq = false): { id: StreamId; seqGiven: boolean } {
  if (s.length > 127) throw new CommandError(ERR_ID);
  if (s === '-' || s === '+') {
    if (strict) throw new CommandError(ERR_ID);
    return { id: s === '-' ? ID_ZERO : ID_MAX, seqGiven: true };
  }
  const dash = s.indexOf('-');
  const ms = parseU64(dash < 0 ? s : s.slice(0, dash));
  if (ms === null) throw new CommandError(ERR_ID);
  if (dash < 0) return { id: { ms, seq: missingSeq }, seqGiven: true };
  const rest = s.slice(dash + 1);
  if (allowAutoSeq && rest === '*') return { id: { ms, seq: 0n }, seqGiven: false };
  const seq = parseU64(rest);
  if (seq === null) throw new CommandError(ERR_ID);
  return { id: { ms, seq }, seqGiven: true };
}

function strictId(s: string): StreamId {
  return parseId(s, 0n, true).id;
}

function incrId(id: StreamId): StreamId | undefined {
  if (id.seq < U64_MAX) return { ms: id.ms, seq: id.seq + 1n };
  if (id.ms < U64_MAX) return { ms: id.ms + 1n, seq: 0n };
  return undefined;
}

function decrId(id: StreamId): StreamId | undefined {
  if (id.seq > 0n) return { ms: id.ms, seq: id.seq - 1n };
  if (id.ms > 0n) return { ms: id.ms - 1n, seq: U64_MAX };
  return undefined;
}

/** A range bound of XRANGE / XREVRANGE / XPENDING: "(" makes it exclusive. */
function intervalId(s: string, missingSeq: bigint, start: boolean): StreamId {
  if (s.length > 1 && s.startsWith('(')) {
    const id = parseId(s.slice(1), missingSeq, true).id;
    const moved = start ? incrId(id) : decrId(id);
    if (moved === undefined) throw new CommandError(start ? 'ERR invalid start ID for the interval' : 'ERR invalid end ID for the interval');
    return moved;
  }
  return parseId(s, missingSeq, false).id;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Redis's getLongLongFromObjectOrReply: a signed 64-bit integer, as a number (clamped beyond safe integers). */
function int64Arg(f: Frame, i: number, err = ERR_NOT_INT): number {
  const n = parseInt64(argStr(f, i));
  if (n === null) throw new CommandError(err);
  // Clamped, so that a counter set from it (ENTRIESADDED, ENTRIESREAD) is still written as an integer.
  return Number(n > MAX_SAFE ? MAX_SAFE : n < -MAX_SAFE ? -MAX_SAFE : n);
}

// ---- replies ---------------------------------------------------------------------------

function entryReply(out: ReplyWriter, e: StreamEntry): void {
  out.arrayHeader(2);
  out.bulk(idString(e.id));
  out.arrayHeader(e.fields.length);
  for (const x of e.fields) out.bulk(x);
}

function entriesReply(out: ReplyWriter, entries: readonly StreamEntry[]): void {
  out.arrayHeader(entries.length);
  for (const e of entries) entryReply(out, e);
}

/** The entries with start <= id <= end, at most `count` (-1: all), ascending or (rev) descending. */
function range(s: StreamValue, start: StreamId, end: StreamId, count: number, rev: boolean): StreamEntry[] {
  if (cmpId(start, end) > 0) return [];
  const lo = s.lowerBound(start);
  let hi = s.lowerBound(end);
  if (hi < s.entries.length && cmpId(s.entries[hi].id, end) === 0) hi++;
  if (hi <= lo) return [];
  if (count < 0 || count >= hi - lo) {
    const all = s.entries.slice(lo, hi);
    return rev ? all.reverse() : all;
  }
  return rev ? s.entries.slice(hi - count, hi).reverse() : s.entries.slice(lo, lo + count);
}

// ---- trimming ----------------------------------------------------------------------------

interface TrimArgs {
  strategy: 'none' | 'maxlen' | 'minid';
  maxlen: number;
  minid: StreamId;
  approx: boolean;
  limit: number;
  noMkStream: boolean;
  id: StreamId | undefined;
  seqGiven: boolean;
}

/** XADD's and XTRIM's options (streamParseAddOrTrimArgsOrReply); for XADD, returns the ID's position too. */
function trimArgs(f: Frame, xadd: boolean): { a: TrimArgs; at: number } {
  const a: TrimArgs = { strategy: 'none', maxlen: 0, minid: ID_ZERO, approx: false, limit: 0, noMkStream: false, id: undefined, seqGiven: true };
  let limitGiven = false;
  let i = 2;
  for (; i < f.argc; i++) {
    const more = f.argc - 1 - i;
    const opt = argStr(f, i);
    const up = opt.toUpperCase();
    if (xadd && opt === '*') {
      break;
    } else if ((up === 'MAXLEN' || up === 'MINID') && more > 0) {
      if (a.strategy !== 'none') throw new CommandError('ERR syntax error, MAXLEN and MINID options at the same time are not compatible');
      a.approx = false;
      const next = argStr(f, i + 1);
      if (more >= 2 && next === '~') {
        a.approx = true;
        i++;
      } else if (more >= 2 && next === '=') {
        i++;
      }
      if (up === 'MAXLEN') {
        a.maxlen = int64Arg(f, i + 1);
        if (a.maxlen < 0) throw new CommandError('ERR The MAXLEN argument must be >= 0.');
      } else {
        a.minid = strictId(argStr(f, i + 1));
      }
      i++;
      a.strategy = up === 'MAXLEN' ? 'maxlen' : 'minid';
    } else if (up === 'LIMIT' && more > 0) {
      a.limit = int64Arg(f, i + 1);
      if (a.limit < 0) throw new CommandError('ERR The LIMIT argument must be >= 0.');
      limitGiven = true;
      i++;
    } else if (xadd && up === 'NOMKSTREAM') {
      a.noMkStream = true;
    } else if (xadd) {
      const p = parseId(opt, 0n, true, true);
      a.id = p.id;
      a.seqGiven = p.seqGiven;
      break;
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  if (a.limit !== 0 && a.strategy === 'none') throw new CommandError('ERR syntax error, LIMIT cannot be used without specifying a trimming strategy');
  if (!xadd && a.strategy === 'none') throw new CommandError('ERR syntax error, XTRIM must be called with a trimming strategy');
  if (limitGiven) {
    if (!a.approx) throw new CommandError('ERR syntax error, LIMIT cannot be used without the special ~ option');
  } else {
    a.limit = a.approx ? 100 * STREAM_NODE_ENTRIES : 0;
  }
  return { a, at: i };
}

/** Trims per `a`; returns how many entries went. */
function trim(s: StreamValue, a: TrimArgs): number {
  if (a.strategy === 'none') return 0;
  let n = 0;
  if (!a.approx) {
    n = a.strategy === 'maxlen' ? Math.max(0, s.size - a.maxlen) : s.lowerBound(a.minid);
  } else {
    // Whole nodes from the head while they can go entirely (Redis's streamTrim), and no more than LIMIT entries (0: no limit).
    while (n < s.size) {
      const node = s.entries[n].node;
      let end = n;
      while (end < s.size && s.entries[end].node === node) end++;
      const entries = end - n;
      if (a.limit > 0 && n + entries > a.limit) break;
      const whole = a.strategy === 'maxlen' ? s.size - n - entries >= a.maxlen : cmpId(s.entries[end - 1].id, a.minid) < 0;
      if (!whole) break;
      n = end;
    }
  }
  s.trimHead(n);
  return n;
}

// ---- commands ----------------------------------------------------------------------------

const xadd: Handler = (ctx, c, f) => {
  const { a, at } = trimArgs(f, true);
  const fieldsAt = at + 1;
  if (f.argc - fieldsAt < 2 || (f.argc - fieldsAt) % 2 === 1) throw new CommandError(wrongArgs('xadd'));
  if (a.id !== undefined && a.seqGiven && a.id.ms === 0n && a.id.seq === 0n) throw new CommandError('ERR The ID specified in XADD must be greater than 0-0');
  const key = argStr(f, 1);
  const w = ctx.ks.typedWrite(true);
  const s = w.open<StreamValue>(key, T_STREAM, !a.noMkStream);
  if (s === undefined) return ctx.out.nil();
  if (s.lastId.ms === U64_MAX && s.lastId.seq === U64_MAX) throw new CommandError('ERR The stream has exhausted the last possible ID, unable to add more items');
  let id: StreamId | undefined;
  if (a.id === undefined) {
    const now = BigInt(Date.now());
    id = now > s.lastId.ms ? { ms: now, seq: 0n } : incrId(s.lastId);
  } else if (a.seqGiven) {
    id = a.id;
  } else if (a.id.ms === s.lastId.ms) {
    id = s.lastId.seq === U64_MAX ? undefined : { ms: a.id.ms, seq: s.lastId.seq + 1n };
  } else {
    id = a.id;
  }
  if (id === undefined || cmpId(id, s.lastId) <= 0) {
    throw new CommandError('ERR The ID specified in XADD is equal or smaller than the target stream top item');
  }
  const fields: string[] = [];
  for (let i = fieldsAt; i < f.argc; i++) fields.push(argStr(f, i));
  s.append(id, fields);
  trim(s, a);
  const added = id;
  return afterPush(ctx, c, w.commit(), [key], () => ctx.out.bulk(idString(added)));
};

const xlen: Handler = (ctx, _c, f) => ctx.out.int(read(ctx, argStr(f, 1))?.size ?? 0);

function xrange(rev: boolean): Handler {
  return (ctx, _c, f) => {
    const start = intervalId(argStr(f, rev ? 3 : 2), 0n, true);
    const end = intervalId(argStr(f, rev ? 2 : 3), U64_MAX, false);
    let count = -1;
    for (let j = 4; j < f.argc; j++) {
      if (argUpper(f, j) === 'COUNT' && j + 1 < f.argc) {
        count = Math.max(0, int64Arg(f, ++j));
      } else {
        throw new CommandError(ERR_SYNTAX);
      }
    }
    if (count === 0) return ctx.out.nilArray();
    const s = read(ctx, argStr(f, 1));
    if (s === undefined) return ctx.out.arrayHeader(0);
    return entriesReply(ctx.out, range(s, start, end, count, rev));
  };
}

const xdel: Handler = (ctx, c, f) => {
  const w = ctx.ks.typedWrite(false);
  const s = w.open<StreamValue>(argStr(f, 1), T_STREAM, false);
  if (s === undefined) return ctx.out.int(0);
  const ids: StreamId[] = [];
  for (let i = 2; i < f.argc; i++) ids.push(strictId(argStr(f, i)));
  let n = 0;
  for (const id of ids) if (s.delete(id)) n++;
  return then(ctx, c, w.commit(), () => ctx.out.int(n));
};

const xtrim: Handler = (ctx, c, f) => {
  const { a } = trimArgs(f, false);
  const w = ctx.ks.typedWrite(false);
  const s = w.open<StreamValue>(argStr(f, 1), T_STREAM, false);
  if (s === undefined) return ctx.out.int(0);
  const n = trim(s, a);
  return then(ctx, c, w.commit(), () => ctx.out.int(n));
};

/**
 * XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]: sets the stream's last ID (and counters), as
 * Redis 7.0's xsetidCommand: the options are checked before the key, then the key must exist, and
 * the ID may not go below the last entry (it may go below the last ID when the entries after it were
 * deleted; 7.0 does not compare it with the stream's max deleted ID, later versions do).
 */
const xsetid: Handler = (ctx, c, f) => {
  const id = strictId(argStr(f, 2));
  let entriesAdded = -1;
  let maxDeleted = ID_ZERO;
  for (let i = 3; i < f.argc; i += 2) {
    const more = f.argc - 1 - i;
    const o = argUpper(f, i);
    if (o === 'ENTRIESADDED' && more > 0) {
      entriesAdded = int64Arg(f, i + 1);
      if (entriesAdded < 0) throw new CommandError('ERR entries_added must be positive');
    } else if (o === 'MAXDELETEDID' && more > 0) {
      maxDeleted = strictId(argStr(f, i + 1));
      if (cmpId(id, maxDeleted) < 0) throw new CommandError('ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id');
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  const w = ctx.ks.typedWrite(false);
  const s = w.open<StreamValue>(argStr(f, 1), T_STREAM, false);
  if (s === undefined) throw new CommandError('ERR no such key');
  if (s.size > 0) {
    if (cmpId(id, s.entries[s.size - 1].id) < 0) throw new CommandError('ERR The ID specified in XSETID is smaller than the target stream top item');
    if (entriesAdded !== -1 && s.size > entriesAdded) {
      throw new CommandError('ERR The entries_added specified in XSETID is smaller than the target stream length');
    }
  }
  s.lastId = id;
  if (entriesAdded !== -1) s.entriesAdded = entriesAdded;
  if (!isZero(maxDeleted)) s.maxDeletedId = maxDeleted;
  s.touch();
  return then(ctx, c, w.commit(), () => ctx.out.ok());
};

// ---- XREAD -------------------------------------------------------------------------------

/** Where XREAD's keys are: after STREAMS, the first half of what follows (movable keys). */
export function xreadKeyRange(f: Frame): [number, number, number] {
  for (let i = 1; i < f.argc; i++) {
    const o = argUpper(f, i);
    if (o === 'STREAMS') {
      const n = Math.floor((f.argc - i - 1) / 2);
      return [i + 1, i + n, 1];
    }
    if (o === 'BLOCK' || o === 'COUNT') i++;
    else if (o === 'GROUP') i += 2;
  }
  return [1, 0, 1];
}

/**
 * XREAD's and XREADGROUP's reply: per stream [key, entries] (RESP2) or key =>
 * entries (RESP3, a map); `entries` writes one stream's list.
 */
function streamsReply<T>(out: ReplyWriter, parts: ReadonlyArray<[string, T]>, entries: (out: ReplyWriter, list: T) => void): void {
  if (out.resp3) out.mapHeader(parts.length);
  else out.arrayHeader(parts.length);
  for (const [key, list] of parts) {
    if (!out.resp3) out.arrayHeader(2);
    out.bulk(key);
    entries(out, list);
  }
}

/** XREAD's and XREADGROUP's options, parsed by one loop as Redis's xreadCommand does (GROUP and NOACK for XREADGROUP only). */
interface ReadArgs {
  timeout: number;
  count: number;
  streamsAt: number;
  n: number;
  noack: boolean;
  group: string | undefined;
  consumer: string;
}

function readArgs(c: ClientState, f: Frame, xreadgroup: boolean): ReadArgs {
  const a: ReadArgs = { timeout: -1, count: 0, streamsAt: 0, n: 0, noack: false, group: undefined, consumer: '' };
  for (let i = 1; i < f.argc; i++) {
    const more = f.argc - i - 1;
    const o = argUpper(f, i);
    if (o === 'BLOCK' && more > 0) {
      // Redis refuses the option itself in a script (whatever the timeout, even with entries to read), naming the command as called.
      if ((c as { inScript?: boolean }).inScript === true) throw new CommandError(`ERR ${argStr(f, 0)} command is not allowed with BLOCK option from scripts`);
      a.timeout = int64Arg(f, ++i, 'ERR timeout is not an integer or out of range');
      if (a.timeout < 0) throw new CommandError('ERR timeout is negative');
    } else if (o === 'COUNT' && more > 0) {
      a.count = Math.max(0, int64Arg(f, ++i));
    } else if (o === 'STREAMS' && more > 0) {
      a.streamsAt = i + 1;
      if ((f.argc - a.streamsAt) % 2 !== 0) {
        throw new CommandError('ERR Unbalanced XREAD list of streams: for each stream key an ID or \'$\' must be specified.');
      }
      a.n = (f.argc - a.streamsAt) / 2;
      break;
    } else if (o === 'GROUP' && more >= 2) {
      if (!xreadgroup) throw new CommandError('ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.');
      a.group = argStr(f, i + 1);
      a.consumer = argStr(f, i + 2);
      i += 2;
    } else if (o === 'NOACK') {
      if (!xreadgroup) throw new CommandError('ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.');
      a.noack = true;
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  if (a.streamsAt === 0) throw new CommandError(ERR_SYNTAX);
  return a;
}

/** XREAD's and XREADGROUP's count once blocked, when none is given (Redis's XREAD_BLOCKED_DEFAULT_COUNT). */
const BLOCKED_DEFAULT_COUNT = 1000;

const xread: Handler = (ctx, c, f) => {
  const { timeout, count, streamsAt, n } = readArgs(c, f, false);
  const keys: string[] = [];
  const after: StreamId[] = [];
  for (let i = 0; i < n; i++) {
    const key = argStr(f, streamsAt + i);
    const s = read(ctx, key);
    const arg = argStr(f, streamsAt + n + i);
    keys.push(key);
    if (arg === '$') after.push(s?.lastId ?? ID_ZERO);
    else if (arg === '>') throw new CommandError('ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.');
    else after.push(strictId(arg));
  }
  const newer = (s: StreamValue | undefined, i: number, most: number): StreamEntry[] => {
    if (s === undefined || s.size === 0 || cmpId(s.entries[s.size - 1].id, after[i]) <= 0) return [];
    const start = incrId(after[i]);
    return start === undefined ? [] : range(s, start, ID_MAX, most === 0 ? -1 : most, false);
  };
  const parts: Array<[string, StreamEntry[]]> = [];
  for (let i = 0; i < n; i++) {
    const got = newer(read(ctx, keys[i]), i, count);
    if (got.length > 0) parts.push([clientKey(keys[i], c.db), got]);
  }
  if (parts.length > 0) return streamsReply(ctx.out, parts, entriesReply);
  if (timeout === -1 || inTransaction(c)) return ctx.out.nilArray();
  // Once blocked, a read without COUNT gets at most 1000 entries, as in Redis (a transaction may have added more).
  const blockedCount = count === 0 ? BLOCKED_DEFAULT_COUNT : count;
  const attempt = (cx: ServerContext, key: string): Attempt | 'pass' => {
    const i = keys.indexOf(key);
    const got = newer(read(cx, key), i, blockedCount);
    if (got.length === 0) return 'pass'; // this reader waits for later entries; the next may be served
    return { wait: undefined, reply: (out) => streamsReply(out, [[clientKey(key, c.db), got]], entriesReply) };
  };
  return block(ctx, c as ClientState, keys, timeout, attempt, (out) => out.nilArray());
};

// ---- consumer groups: shared pieces ----------------------------------------------------

/** Keys in replies and errors are named as the client names them (without its database's prefix, databases.ts). */
function noGroup(c: ClientState, key: string, group: string): CommandError {
  return new CommandError(`NOGROUP No such key '${clientKey(key, c.db)}' or consumer group '${group}'`);
}

/** XCLAIM's and XAUTOCLAIM's key (argument 1) and group (argument 2), opened to change: NOGROUP when either is missing. */
function openGroup(ctx: ServerContext, c: ClientState, f: Frame): { w: TypedWrite; s: StreamValue; g: StreamGroup } {
  const key = argStr(f, 1);
  const gname = argStr(f, 2);
  const w = ctx.ks.typedWrite(false);
  const s = w.open<StreamValue>(key, T_STREAM, false);
  const g = s?.groups.get(gname);
  if (s === undefined || g === undefined) throw noGroup(c, key, gname);
  return { w, s, g };
}

/** Redis's addReplySubcommandSyntaxError. */
function subcommandSyntax(f: Frame): CommandError {
  return new CommandError(`ERR unknown subcommand or wrong number of arguments for '${argStr(f, 1).slice(0, 128)}'. Try ${argUpper(f, 0)} HELP.`);
}

/** A container's subcommand (upper case), checked as Redis checks subcommands: known, then its arity. */
function subcommand(f: Frame, container: string, arities: Readonly<Record<string, number>>): string {
  const sub = argUpper(f, 1);
  const arity = arities[sub];
  if (arity === undefined) throw new CommandError(`ERR unknown subcommand '${argStr(f, 1).slice(0, 128)}'. Try ${container.toUpperCase()} HELP.`);
  if (arity > 0 ? f.argc !== arity : f.argc < -arity) throw new CommandError(`ERR wrong number of arguments for '${container}|${sub.toLowerCase()}' command`);
  return sub;
}

/** Redis's addReplyHelp. */
function help(out: ReplyWriter, container: string, lines: readonly string[]): void {
  out.arrayHeader(lines.length + 3);
  out.simple(`${container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`);
  for (const l of lines) out.simple(l);
  out.simple('HELP');
  out.simple('    Prints this help.');
}

function isZero(id: StreamId): boolean {
  return id.ms === 0n && id.seq === 0n;
}

/** Redis's streamRangeHasTombstones: whether an entry between start and end (inclusive) was deleted by XDEL. */
function hasTombstones(s: StreamValue, start: StreamId): boolean {
  if (s.size === 0 || isZero(s.maxDeletedId)) return false;
  if (cmpId(s.firstId, s.maxDeletedId) > 0) return false;
  return cmpId(start, s.maxDeletedId) <= 0;
}

/** Redis's streamEstimateDistanceFromFirstEverEntry: the entries-read counter of `id`, -1 when it cannot be known. */
function estimateEntriesRead(s: StreamValue, id: StreamId): number {
  if (s.entriesAdded === 0) return 0;
  if (s.size === 0 && cmpId(id, s.lastId) < 1) return s.entriesAdded;
  const cmpLast = cmpId(id, s.lastId);
  if (cmpLast === 0) return s.entriesAdded;
  if (cmpLast > 0) return -1;
  const cmpFirst = cmpId(id, s.firstId);
  if (isZero(s.maxDeletedId) || cmpId(s.maxDeletedId, s.firstId) < 0) {
    if (cmpFirst < 0) return s.entriesAdded - s.size;
    if (cmpFirst === 0) return s.entriesAdded - s.size + 1;
  }
  return -1;
}

/** A group's lag (Redis's streamReplyWithCGLag), undefined when it cannot be known. */
function lag(s: StreamValue, g: StreamGroup): number | undefined {
  if (s.entriesAdded === 0) return 0;
  if (g.entriesRead !== -1 && !hasTombstones(s, g.lastId)) return s.entriesAdded - g.entriesRead;
  const counter = estimateEntriesRead(s, g.lastId);
  return counter === -1 ? undefined : s.entriesAdded - counter;
}

function intOrNil(out: ReplyWriter, n: number | undefined): void {
  if (n === undefined || n === -1) out.nil();
  else out.int(n);
}

/** The group's last delivered ID moves to `id` (an entry it delivers), with its entries-read counter. */
function advance(s: StreamValue, g: StreamGroup, id: StreamId): void {
  if (g.entriesRead !== -1 && !hasTombstones(s, id)) g.entriesRead++;
  else if (s.entriesAdded !== 0) g.entriesRead = estimateEntriesRead(s, id);
  g.lastId = id;
  s.touch();
}

/** The entry with this ID, or undefined (deleted). */
function entryAt(s: StreamValue, id: StreamId): StreamEntry | undefined {
  const i = s.lowerBound(id);
  return i < s.size && cmpId(s.entries[i].id, id) === 0 ? s.entries[i] : undefined;
}

/** Looks a consumer up, refreshing its seen time, or creates it (Redis's streamLookupConsumer + streamCreateConsumer). */
function consumerFor(s: StreamValue, g: StreamGroup, name: string, now: number): StreamConsumer {
  const found = g.consumers.get(name);
  if (found !== undefined) {
    found.seenAt = now;
    return found;
  }
  return s.consumer(g, name, now).c;
}

/** Replies [id, fields] for an entry, or [id, nil] for a pending entry whose message was deleted. */
type Delivered = StreamEntry | { readonly id: StreamId; readonly fields: undefined };

function deliveredReply(out: ReplyWriter, list: readonly Delivered[]): void {
  out.arrayHeader(list.length);
  for (const e of list) {
    if (e.fields !== undefined) {
      entryReply(out, e as StreamEntry);
    } else {
      out.arrayHeader(2);
      out.bulk(idString(e.id));
      out.nilArray();
    }
  }
}

// ---- XGROUP ------------------------------------------------------------------------------

const XGROUP_ARITY: Readonly<Record<string, number>> = { CREATE: -5, SETID: -5, DESTROY: 4, CREATECONSUMER: 5, DELCONSUMER: 5, HELP: 2 };

const XGROUP_HELP = [
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  '      Set the group\'s entries_read counter (internal use).',
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
];

/** XGROUP's and XINFO's key: argument 2, except for HELP. */
function subcommandKeyRange(f: Frame): KeyBounds {
  return f.argc >= 3 && argUpper(f, 1) !== 'HELP' ? [2, 2, 1] : [1, 0, 1];
}

const xgroup: Handler = (ctx, c, f) => {
  const sub = subcommand(f, 'xgroup', XGROUP_ARITY);
  if (sub === 'HELP') return help(ctx.out, 'XGROUP', XGROUP_HELP);
  let mkstream = false;
  let entriesRead = -1;
  for (let i = 5; i < f.argc;) {
    const o = argUpper(f, i);
    if (sub === 'CREATE' && o === 'MKSTREAM') {
      mkstream = true;
      i++;
    } else if ((sub === 'CREATE' || sub === 'SETID') && o === 'ENTRIESREAD' && i + 1 < f.argc) {
      entriesRead = int64Arg(f, i + 1);
      if (entriesRead < 0 && entriesRead !== -1) throw new CommandError('ERR value for ENTRIESREAD must be positive or -1');
      i += 2;
    } else {
      throw subcommandSyntax(f);
    }
  }
  const key = argStr(f, 2);
  const name = argStr(f, 3);
  const w = ctx.ks.typedWrite(sub === 'CREATE' || sub === 'CREATECONSUMER');
  const s = w.open<StreamValue>(key, T_STREAM, false);
  let g: StreamGroup | undefined;
  if (!mkstream) {
    if (s === undefined) {
      throw new CommandError('ERR The XGROUP subcommand requires the key to exist. '
        + 'Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.');
    }
    g = s.groups.get(name);
    if (g === undefined && (sub === 'SETID' || sub === 'CREATECONSUMER' || sub === 'DELCONSUMER')) {
      throw new CommandError(`NOGROUP No such consumer group '${name}' for key name '${clientKey(key, c.db)}'`);
    }
  }
  if (sub === 'CREATE' && f.argc <= 8) {
    const arg = argStr(f, 4);
    const id = arg === '$' ? s?.lastId ?? ID_ZERO : strictId(arg);
    const st = s ?? w.open<StreamValue>(key, T_STREAM, true)!;
    if (st.groups.has(name)) throw new CommandError('BUSYGROUP Consumer Group name already exists');
    st.addGroup(name, id, entriesRead);
    return then(ctx, c, w.commit(), () => ctx.out.ok());
  }
  if (sub === 'SETID' && (f.argc === 5 || f.argc === 7)) {
    const arg = argStr(f, 4);
    const id = arg === '$' ? s!.lastId : parseId(arg, 0n, false).id;
    g!.lastId = id;
    g!.entriesRead = entriesRead;
    s!.touch();
    return then(ctx, c, w.commit(), () => ctx.out.ok());
  }
  if (sub === 'DESTROY' && f.argc === 4) {
    if (g === undefined) return ctx.out.int(0);
    s!.deleteGroup(name);
    // Its blocked readers get NOGROUP (Redis signals the key).
    return afterPush(ctx, c, w.commit(), [key], () => ctx.out.int(1));
  }
  if (sub === 'CREATECONSUMER' && f.argc === 5) {
    const created = s!.consumer(g!, argStr(f, 4), Date.now()).created;
    return then(ctx, c, w.commit(), () => ctx.out.int(created ? 1 : 0));
  }
  if (sub === 'DELCONSUMER' && f.argc === 5) {
    const cname = argStr(f, 4);
    if (!g!.consumers.has(cname)) return ctx.out.int(0);
    const pending = s!.deleteConsumer(g!, cname);
    return then(ctx, c, w.commit(), () => ctx.out.int(pending));
  }
  throw subcommandSyntax(f);
};

// ---- XREADGROUP --------------------------------------------------------------------------

/** One stream's part of an XREADGROUP reply. */
type GroupPart = [key: string, entries: Delivered[]];

function groupStreamsReply(out: ReplyWriter, parts: readonly GroupPart[]): void {
  streamsReply(out, parts, deliveredReply);
}

/** New entries (after the group's last delivered ID) for consumer `cons`: each delivered, pending unless NOACK. */
function readNew(s: StreamValue, g: StreamGroup, cons: StreamConsumer, count: number, noack: boolean, now: number): StreamEntry[] {
  const start = incrId(g.lastId);
  if (start === undefined) return [];
  const got = range(s, start, ID_MAX, count === 0 ? -1 : count, false);
  for (const e of got) {
    if (cmpId(e.id, g.lastId) > 0) advance(s, g, e.id);
    if (!noack) s.claim(g, cons, e.id, now, () => 1);
  }
  return got;
}

/** The consumer's own pending entries after `after` (its history): delivered again, nil for deleted messages. */
function readHistory(s: StreamValue, g: StreamGroup, cons: StreamConsumer, after: StreamId, count: number, now: number): Delivered[] {
  const start = incrId(after)!; // never the last possible ID: that one means '>'
  const mine = pendingInOrder(g, cons);
  const out: Delivered[] = [];
  for (let i = pendingLowerBound(mine, start); i < mine.length && (count === 0 || out.length < count); i++) {
    const p = mine[i];
    const e = entryAt(s, p.id);
    if (e === undefined) {
      out.push({ id: p.id, fields: undefined });
    } else {
      out.push(e);
      s.claim(g, cons, p.id, now, (n) => n + 1);
    }
  }
  return out;
}

const xreadgroup: Handler = (ctx, c, f) => {
  const { timeout, count, streamsAt, n, noack, group, consumer } = readArgs(c, f, true);
  if (group === undefined) throw new CommandError('ERR Missing GROUP option for XREADGROUP');
  const gname = group;
  const keys: string[] = [];
  const after: Array<StreamId | undefined> = []; // undefined: ">"
  for (let i = 0; i < n; i++) {
    const key = argStr(f, streamsAt + i);
    const s = read(ctx, key);
    if (s === undefined || !s.groups.has(gname)) {
      throw new CommandError(`NOGROUP No such key '${clientKey(key, c.db)}' or consumer group '${gname}' in XREADGROUP with GROUP option`);
    }
    const arg = argStr(f, streamsAt + n + i);
    keys.push(key);
    if (arg === '$') {
      throw new CommandError('ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by '
        + 'specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.');
    }
    const id = arg === '>' ? ID_MAX : strictId(arg);
    // Redis marks '>' as the last possible ID, so that ID given explicitly reads new entries too.
    after.push(cmpId(id, ID_MAX) === 0 ? undefined : id);
  }
  const now = Date.now();
  const w = ctx.ks.typedWrite(false);
  const parts: GroupPart[] = [];
  const refreshed: Array<[string, number]> = []; // consumers whose seen time moved, when nothing else did
  for (let i = 0; i < n; i++) {
    const s = w.open<StreamValue>(keys[i], T_STREAM, false)!;
    const g = s.groups.get(gname)!;
    const from = after[i];
    // '>' is served now when the stream has entries past the group's last delivered ID; history always.
    if (from === undefined && (s.size === 0 || cmpId(s.entries[s.size - 1].id, g.lastId) <= 0)) continue;
    const mods = s.mods;
    const cons = consumerFor(s, g, consumer, now);
    const got = from === undefined ? readNew(s, g, cons, count, noack, now) : readHistory(s, g, cons, from, count, now);
    if (s.mods === mods) refreshed.push([keys[i], now]);
    parts.push([clientKey(keys[i], c.db), got]);
  }
  if (parts.length > 0) {
    keepSeenTimes(ctx, gname, consumer, refreshed);
    return then(ctx, c, w.commit(), () => groupStreamsReply(ctx.out, parts));
  }
  if (timeout === -1 || inTransaction(c)) return ctx.out.nilArray();
  const blockedCount = count === 0 ? BLOCKED_DEFAULT_COUNT : count;
  const attempt = (cx: ServerContext, key: string): Attempt | 'pass' => {
    let live: StreamValue | undefined;
    try {
      live = read(cx, key);
    } catch (e) {
      if (!(e instanceof WrongTypeError)) throw e;
    }
    if (live === undefined) throw new CommandError('UNBLOCKED the stream key no longer exists');
    const lg = live.groups.get(gname);
    if (lg === undefined) throw new CommandError('NOGROUP the consumer group this client was blocked on no longer exists');
    if (cmpId(live.lastId, lg.lastId) <= 0) return 'pass';
    const bw = cx.ks.typedWrite(false);
    const s = bw.open<StreamValue>(key, T_STREAM, false)!;
    const g = s.groups.get(gname)!;
    const at = Date.now();
    const got = readNew(s, g, consumerFor(s, g, consumer, at), blockedCount, noack, at);
    return { wait: bw.commit(), reply: (out) => groupStreamsReply(out, [[clientKey(key, c.db), got]]) };
  };
  return block(ctx, c as ClientState, keys, timeout, attempt, (out) => out.nilArray());
};

/**
 * A read that changed nothing but consumers' seen times changed a copy under
 * persistence, which is dropped: set them on the live values too (Redis keeps
 * them in memory and does not propagate them either).
 */
function keepSeenTimes(ctx: ServerContext, group: string, consumer: string, refreshed: ReadonlyArray<[string, number]>): void {
  for (const [key, at] of refreshed) {
    const cons = read(ctx, key)?.groups.get(group)?.consumers.get(consumer);
    if (cons !== undefined) cons.seenAt = at;
  }
}

// ---- XACK, XPENDING, XCLAIM, XAUTOCLAIM ---------------------------------------------------

const xack: Handler = (ctx, c, f) => {
  const w = ctx.ks.typedWrite(false);
  const s = w.open<StreamValue>(argStr(f, 1), T_STREAM, false);
  const g = s?.groups.get(argStr(f, 2));
  if (s === undefined || g === undefined) return ctx.out.int(0);
  const ids: StreamId[] = [];
  for (let i = 3; i < f.argc; i++) ids.push(strictId(argStr(f, i)));
  let n = 0;
  for (const id of ids) if (s.ack(g, id)) n++;
  return then(ctx, c, w.commit(), () => ctx.out.int(n));
};

const xpending: Handler = (ctx, c, f) => {
  if (f.argc !== 3 && (f.argc < 6 || f.argc > 9)) throw new CommandError(ERR_SYNTAX);
  let minIdle = 0;
  let count = 0;
  let start = ID_ZERO;
  let end = ID_MAX;
  let consumerName: string | undefined;
  if (f.argc >= 6) {
    let at = 3;
    if (argUpper(f, 3) === 'IDLE') {
      minIdle = int64Arg(f, 4);
      if (f.argc < 8) throw new CommandError(ERR_SYNTAX);
      at += 2;
    }
    count = Math.max(0, int64Arg(f, at + 2));
    start = intervalId(argStr(f, at), 0n, true);
    end = intervalId(argStr(f, at + 1), U64_MAX, false);
    if (at + 3 < f.argc) consumerName = argStr(f, at + 3);
  }
  const key = argStr(f, 1);
  const gname = argStr(f, 2);
  const s = read(ctx, key);
  const g = s?.groups.get(gname);
  if (g === undefined) throw noGroup(c, key, gname);
  const out = ctx.out;
  if (f.argc === 3) {
    out.arrayHeader(4);
    out.int(g.pel.size);
    if (g.pel.size === 0) {
      out.nil();
      out.nil();
      out.nilArray();
      return undefined;
    }
    const all = pendingInOrder(g);
    out.bulk(idString(all[0].id));
    out.bulk(idString(all[all.length - 1].id));
    const owners = byName(g.consumers).filter((x) => x.pending.size > 0);
    out.arrayHeader(owners.length);
    for (const x of owners) {
      out.arrayHeader(2);
      out.bulk(x.name);
      out.bulk(String(x.pending.size));
    }
    return undefined;
  }
  let cons: StreamConsumer | undefined;
  if (consumerName !== undefined) {
    cons = g.consumers.get(consumerName);
    if (cons === undefined) return out.arrayHeader(0);
  }
  const list = pendingInOrder(g, cons);
  const now = Date.now();
  const rows: PendingEntry[] = [];
  for (let i = pendingLowerBound(list, start); count > 0 && i < list.length && cmpId(list[i].id, end) <= 0; i++) {
    const p = list[i];
    if (minIdle !== 0 && now - p.deliveredAt < minIdle) continue;
    rows.push(p);
    count--;
  }
  out.arrayHeader(rows.length);
  for (const p of rows) {
    out.arrayHeader(4);
    out.bulk(idString(p.id));
    out.bulk(p.consumer);
    out.int(Math.max(0, now - p.deliveredAt));
    out.int(p.deliveries);
  }
  return undefined;
};

/** A claimed entry: its ID alone (JUSTID) or [id, fields]. */
function claimedReply(out: ReplyWriter, list: readonly StreamEntry[], justId: boolean): void {
  out.arrayHeader(list.length);
  for (const e of list) {
    if (justId) out.bulk(idString(e.id));
    else entryReply(out, e);
  }
}

const xclaim: Handler = (ctx, c, f) => {
  const { w, s, g } = openGroup(ctx, c, f);
  const minIdle = Math.max(0, int64Arg(f, 4, 'ERR Invalid min-idle-time argument for XCLAIM'));
  const ids: StreamId[] = [];
  let j = 5;
  for (; j < f.argc; j++) {
    let id: StreamId;
    try {
      id = strictId(argStr(f, j));
    } catch {
      break; // the options follow
    }
    ids.push(id);
  }
  const now = Date.now();
  let deliveryTime = -1;
  let retryCount = -1;
  let force = false;
  let justId = false;
  let lastId = ID_ZERO;
  for (; j < f.argc; j++) {
    const more = f.argc - 1 - j;
    const o = argUpper(f, j);
    if (o === 'FORCE') {
      force = true;
    } else if (o === 'JUSTID') {
      justId = true;
    } else if (o === 'IDLE' && more > 0) {
      deliveryTime = now - int64Arg(f, ++j, 'ERR Invalid IDLE option argument for XCLAIM');
    } else if (o === 'TIME' && more > 0) {
      deliveryTime = int64Arg(f, ++j, 'ERR Invalid TIME option argument for XCLAIM');
    } else if (o === 'RETRYCOUNT' && more > 0) {
      retryCount = int64Arg(f, ++j, 'ERR Invalid RETRYCOUNT option argument for XCLAIM');
    } else if (o === 'LASTID' && more > 0) {
      lastId = strictId(argStr(f, ++j));
    } else {
      throw new CommandError(`ERR Unrecognized XCLAIM option '${argStr(f, j)}'`);
    }
  }
  if (cmpId(lastId, g.lastId) > 0) {
    g.lastId = lastId;
    s.touch();
  }
  if (deliveryTime === -1 || deliveryTime < 0 || deliveryTime > now) deliveryTime = now;
  const at = deliveryTime;
  const name = argStr(f, 3);
  let cons: StreamConsumer | undefined;
  const claimed: StreamEntry[] = [];
  for (const id of ids) {
    const p = g.pel.get(idString(id));
    const e = entryAt(s, id);
    if (e === undefined) {
      // The message is gone: its pending entry goes too.
      if (p !== undefined) s.ack(g, id);
      continue;
    }
    if (p === undefined && !force) continue;
    if (p !== undefined && minIdle !== 0 && now - p.deliveredAt < minIdle) continue;
    cons ??= consumerFor(s, g, name, now);
    // A pending entry FORCE creates starts at one delivery, as Redis's does.
    s.claim(g, cons, id, at, (old) => (retryCount >= 0 ? retryCount : justId ? (p === undefined ? 1 : old) : (p === undefined ? 1 : old) + 1));
    claimed.push(e);
  }
  return then(ctx, c, w.commit(), () => claimedReply(ctx.out, claimed, justId));
};

const xautoclaim: Handler = (ctx, c, f) => {
  const minIdle = Math.max(0, int64Arg(f, 4, 'ERR Invalid min-idle-time argument for XAUTOCLAIM'));
  const start = intervalId(argStr(f, 5), 0n, true);
  let count = 100;
  let justId = false;
  for (let j = 6; j < f.argc; j++) {
    const o = argUpper(f, j);
    if (o === 'COUNT' && j + 1 < f.argc) {
      const n = parseInt64(argStr(f, j + 1));
      // Redis: 1 .. LONG_MAX / 16 (its transient array of deleted IDs)
      if (n === null || n < 1n || n > 9223372036854775807n / 16n) throw new CommandError('ERR COUNT must be > 0');
      count = Number(n);
      j++;
    } else if (o === 'JUSTID') {
      justId = true;
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  const { w, s, g } = openGroup(ctx, c, f);
  const now = Date.now();
  const name = argStr(f, 3);
  const list = pendingInOrder(g); // a snapshot: changes below replace the group's ordered copy, not this array
  let i = pendingLowerBound(list, start);
  let attempts = count * 10;
  let cons: StreamConsumer | undefined;
  const claimed: StreamEntry[] = [];
  const deleted: StreamId[] = [];
  while (attempts-- > 0 && count > 0 && i < list.length) {
    const p = list[i++];
    const e = entryAt(s, p.id);
    if (e === undefined) {
      s.ack(g, p.id);
      deleted.push(p.id);
      count--;
      continue;
    }
    if (minIdle !== 0 && now - p.deliveredAt < minIdle) continue;
    cons ??= consumerFor(s, g, name, now);
    s.claim(g, cons, p.id, now, (old) => (justId ? old : old + 1));
    claimed.push(e);
    count--;
  }
  const cursor = i < list.length ? list[i].id : ID_ZERO;
  return then(ctx, c, w.commit(), () => {
    const out = ctx.out;
    out.arrayHeader(3);
    out.bulk(idString(cursor));
    claimedReply(out, claimed, justId);
    out.arrayHeader(deleted.length);
    for (const id of deleted) out.bulk(idString(id));
  });
};

// ---- XINFO -------------------------------------------------------------------------------

const XINFO_ARITY: Readonly<Record<string, number>> = { CONSUMERS: 4, GROUPS: 3, STREAM: -3, HELP: 2 };

const XINFO_HELP = [
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
];

function xinfoStream(out: ReplyWriter, f: Frame, s: StreamValue): void {
  const opts = f.argc - 3;
  let full = false;
  let count = 10;
  if (opts !== 0) {
    if ((opts !== 1 && opts !== 3) || argUpper(f, 3) !== 'FULL') throw subcommandSyntax(f);
    if (opts === 3) {
      if (argUpper(f, 4) !== 'COUNT') throw subcommandSyntax(f);
      count = int64Arg(f, 5);
      if (count < 0) count = 10;
    }
    full = true;
  }
  out.mapHeader(full ? 9 : 10);
  out.bulk('length'); out.int(s.size);
  const nodes = s.nodeCount;
  out.bulk('radix-tree-keys'); out.int(nodes);
  // Redis's radix tree's inner nodes are not modelled: one per key plus the root.
  out.bulk('radix-tree-nodes'); out.int(nodes + 1);
  out.bulk('last-generated-id'); out.bulk(idString(s.lastId));
  out.bulk('max-deleted-entry-id'); out.bulk(idString(s.maxDeletedId));
  out.bulk('entries-added'); out.int(s.entriesAdded);
  out.bulk('recorded-first-entry-id'); out.bulk(idString(s.firstId));
  if (!full) {
    out.bulk('groups'); out.int(s.groups.size);
    out.bulk('first-entry');
    if (s.size === 0) out.nil();
    else entryReply(out, s.entries[0]);
    out.bulk('last-entry');
    if (s.size === 0) out.nil();
    else entryReply(out, s.entries[s.size - 1]);
    return;
  }
  const limit = (n: number) => (count === 0 ? n : Math.min(n, count));
  out.bulk('entries');
  entriesReply(out, s.entries.slice(0, limit(s.size)));
  out.bulk('groups');
  const groups = byName(s.groups);
  out.arrayHeader(groups.length);
  for (const g of groups) {
    out.mapHeader(7);
    out.bulk('name'); out.bulk(g.name);
    out.bulk('last-delivered-id'); out.bulk(idString(g.lastId));
    out.bulk('entries-read'); intOrNil(out, g.entriesRead);
    out.bulk('lag'); intOrNil(out, lag(s, g));
    out.bulk('pel-count'); out.int(g.pel.size);
    out.bulk('pending');
    const pel = pendingInOrder(g);
    out.arrayHeader(limit(pel.length));
    for (let i = 0; i < limit(pel.length); i++) {
      const p = pel[i];
      out.arrayHeader(4);
      out.bulk(idString(p.id)); out.bulk(p.consumer); out.int(p.deliveredAt); out.int(p.deliveries);
    }
    out.bulk('consumers');
    const consumers = byName(g.consumers);
    out.arrayHeader(consumers.length);
    for (const x of consumers) {
      out.mapHeader(4);
      out.bulk('name'); out.bulk(x.name);
      out.bulk('seen-time'); out.int(x.seenAt);
      out.bulk('pel-count'); out.int(x.pending.size);
      out.bulk('pending');
      const mine = pendingInOrder(g, x);
      out.arrayHeader(limit(mine.length));
      for (let i = 0; i < limit(mine.length); i++) {
        const p = mine[i];
        out.arrayHeader(3);
        out.bulk(idString(p.id)); out.int(p.deliveredAt); out.int(p.deliveries);
      }
    }
  }
}

const xinfo: Handler = (ctx, c, f) => {
  const sub = subcommand(f, 'xinfo', XINFO_ARITY);
  if (sub === 'HELP') return help(ctx.out, 'XINFO', XINFO_HELP);
  const key = argStr(f, 2);
  const s = read(ctx, key);
  if (s === undefined) throw new CommandError('ERR no such key');
  const out = ctx.out;
  if (sub === 'CONSUMERS') {
    const gname = argStr(f, 3);
    const g = s.groups.get(gname);
    if (g === undefined) throw new CommandError(`NOGROUP No such consumer group '${gname}' for key name '${clientKey(key, c.db)}'`);
    const now = Date.now();
    const consumers = byName(g.consumers);
    out.arrayHeader(consumers.length);
    for (const x of consumers) {
      out.mapHeader(3);
      out.bulk('name'); out.bulk(x.name);
      out.bulk('pending'); out.int(x.pending.size);
      out.bulk('idle'); out.int(Math.max(0, now - x.seenAt));
    }
    return undefined;
  }
  if (sub === 'GROUPS') {
    const groups = byName(s.groups);
    out.arrayHeader(groups.length);
    for (const g of groups) {
      out.mapHeader(6);
      out.bulk('name'); out.bulk(g.name);
      out.bulk('consumers'); out.int(g.consumers.size);
      out.bulk('pending'); out.int(g.pel.size);
      out.bulk('last-delivered-id'); out.bulk(idString(g.lastId));
      out.bulk('entries-read'); intOrNil(out, g.entriesRead);
      out.bulk('lag'); intOrNil(out, lag(s, g));
    }
    return undefined;
  }
  return xinfoStream(out, f, s);
};

export const STREAM_SPECS: Spec[] = [
  ['xadd', -5, 'write denyoom fast', [1, 1, 1], 'stream', 'Appends a new message to a stream. Creates the key if it doesn\'t exist.', xadd],
  ['xlen', 2, 'readonly fast', [1, 1, 1], 'stream', 'Return the number of messages in a stream.', xlen],
  ['xrange', -4, 'readonly', [1, 1, 1], 'stream', 'Returns the messages from a stream within a range of IDs.', xrange(false)],
  ['xrevrange', -4, 'readonly', [1, 1, 1], 'stream', 'Returns the messages from a stream within a range of IDs in reverse order.', xrange(true)],
  ['xdel', -3, 'write fast', [1, 1, 1], 'stream', 'Returns the number of messages after removing them from a stream.', xdel],
  ['xsetid', -3, 'write denyoom fast', [1, 1, 1], 'stream', 'An internal command for replicating stream values.', xsetid],
  ['xtrim', -4, 'write', [1, 1, 1], 'stream', 'Deletes messages from the beginning of a stream.', xtrim],
  ['xread', -4, 'readonly blocking movablekeys', [0, 0, 0], 'stream', 'Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.', xread, undefined, xreadKeyRange],
  ['xreadgroup', -7, 'write blocking movablekeys', [0, 0, 0], 'stream', 'Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.', xreadgroup, undefined, xreadKeyRange],
  ['xgroup', -2, '', [0, 0, 0], 'stream', 'A container for consumer groups commands.', xgroup, undefined, subcommandKeyRange],
  ['xack', -4, 'write fast', [1, 1, 1], 'stream', 'Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group.', xack],
  ['xpending', -3, 'readonly', [1, 1, 1], 'stream', 'Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.', xpending],
  ['xclaim', -6, 'write fast', [1, 1, 1], 'stream', 'Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.', xclaim],
  ['xautoclaim', -6, 'write fast', [1, 1, 1], 'stream', 'Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.', xautoclaim],
  ['xinfo', -2, '', [0, 0, 0], 'stream', 'A container for stream introspection commands.', xinfo, undefined, subcommandKeyRange],
];

/**
 * Stream commands (Redis 7.0 semantics; docs/commands.md "Streams"): XADD,
 * XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XREAD (BLOCK included).
 *
 * Approximate trimming (`~`) removes whole nodes as Redis does; a node here
 * is a run of 100 appended entries (Redis's default stream-node-max-entries;
 * its 4096-byte node limit is not emulated, so with large entries Redis's
 * nodes are smaller and it trims closer to the threshold).
 */
import { Attempt, block } from './blocking';
import {
  argStr, argUpper, ClientState, CommandError, ERR_NOT_INT, ERR_SYNTAX, Frame, Handler, parseInt64, ServerContext, Spec, then, wrongArgs,
} from './commands';
import { afterPush, inTransaction } from './lists';
import { ReplyWriter } from './resp';
import {
  cmpId, ID_MAX, ID_ZERO, idString, StreamEntry, StreamId, STREAM_NODE_ENTRIES, StreamValue, T_STREAM, U64_MAX,
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

/** Redis's getLongLongFromObjectOrReply: a signed 64-bit integer, as a number (clamped beyond safe integers). */
function int64Arg(f: Frame, i: number, err = ERR_NOT_INT): number {
  const n = parseInt64(argStr(f, i));
  if (n === null) throw new CommandError(err);
  return Number(n);
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

/** One stream's part of an XREAD reply: [key, entries] (RESP2) or key => entries (RESP3, inside a map). */
function streamsReply(out: ReplyWriter, parts: ReadonlyArray<[string, StreamEntry[]]>): void {
  if (out.resp3) out.mapHeader(parts.length);
  else out.arrayHeader(parts.length);
  for (const [key, entries] of parts) {
    if (!out.resp3) out.arrayHeader(2);
    out.bulk(key);
    entriesReply(out, entries);
  }
}

const xread: Handler = (ctx, c, f) => {
  let timeout = -1;
  let count = 0;
  let streamsAt = 0;
  let n = 0;
  for (let i = 1; i < f.argc; i++) {
    const more = f.argc - i - 1;
    const o = argUpper(f, i);
    if (o === 'BLOCK' && more > 0) {
      timeout = int64Arg(f, ++i, 'ERR timeout is not an integer or out of range');
      if (timeout < 0) throw new CommandError('ERR timeout is negative');
    } else if (o === 'COUNT' && more > 0) {
      count = Math.max(0, int64Arg(f, ++i));
    } else if (o === 'STREAMS' && more > 0) {
      streamsAt = i + 1;
      if ((f.argc - streamsAt) % 2 !== 0) {
        throw new CommandError('ERR Unbalanced \'xread\' list of streams: for each stream key an ID or \'$\' must be specified.');
      }
      n = (f.argc - streamsAt) / 2;
      break;
    } else if (o === 'GROUP' && more >= 2) {
      throw new CommandError('ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.');
    } else if (o === 'NOACK') {
      throw new CommandError('ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.');
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  if (streamsAt === 0) throw new CommandError(ERR_SYNTAX);
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
  const newer = (s: StreamValue | undefined, i: number): StreamEntry[] => {
    if (s === undefined || s.size === 0 || cmpId(s.entries[s.size - 1].id, after[i]) <= 0) return [];
    const start = incrId(after[i]);
    return start === undefined ? [] : range(s, start, ID_MAX, count === 0 ? -1 : count, false);
  };
  const parts: Array<[string, StreamEntry[]]> = [];
  for (let i = 0; i < n; i++) {
    const got = newer(read(ctx, keys[i]), i);
    if (got.length > 0) parts.push([keys[i], got]);
  }
  if (parts.length > 0) return streamsReply(ctx.out, parts);
  if (timeout === -1 || inTransaction(c)) return ctx.out.nilArray();
  const attempt = (cx: ServerContext, key: string): Attempt => {
    const i = keys.indexOf(key);
    const got = newer(read(cx, key), i);
    if (got.length === 0) return false;
    return { wait: undefined, reply: (out) => streamsReply(out, [[key, got]]) };
  };
  return block(ctx, c as ClientState, keys, timeout, attempt, (out) => out.nilArray());
};

export const STREAM_SPECS: Spec[] = [
  ['xadd', -5, 'write denyoom fast', [1, 1, 1], 'stream', 'Appends a new message to a stream. Creates the key if it doesn\'t exist.', xadd],
  ['xlen', 2, 'readonly fast', [1, 1, 1], 'stream', 'Return the number of messages in a stream.', xlen],
  ['xrange', -4, 'readonly', [1, 1, 1], 'stream', 'Returns the messages from a stream within a range of IDs.', xrange(false)],
  ['xrevrange', -4, 'readonly', [1, 1, 1], 'stream', 'Returns the messages from a stream within a range of IDs in reverse order.', xrange(true)],
  ['xdel', -3, 'write fast', [1, 1, 1], 'stream', 'Returns the number of messages after removing them from a stream.', xdel],
  ['xtrim', -4, 'write', [1, 1, 1], 'stream', 'Deletes messages from the beginning of a stream.', xtrim],
  ['xread', -4, 'readonly blocking movablekeys', [0, 0, 0], 'stream', 'Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.', xread, undefined, xreadKeyRange],
];

/** List commands, blocking ones included (Redis 7.0 semantics; docs/commands.md "Lists"). */
import { Attempt, block, hasWaiters, parseTimeout, signalKey } from './blocking';
import {
  argInt, argPositive, argStr, parseIntStrict, argUpper, ClientState, CommandError, ERR_SYNTAX, Frame, Handler, replyLater, ServerContext, Spec, then,
} from './commands';
import { unprefixed } from './databases';
import { ReplyWriter } from './resp';
import { mpopArgs, numkeysRange } from './typed-common';
import { ListValue, T_LIST } from '../keyspace/types';

function read(ctx: ServerContext, f: Frame): ListValue | undefined {
  return ctx.ks.readTypedBytes<ListValue>(f.args, f.starts[1], f.ends[1], T_LIST);
}

/**
 * Replies after a write that added elements to `keys`, then wakes their
 * blocked clients (after the write is applied, whether it waited or not).
 */
export function afterPush(
  ctx: ServerContext, c: ClientState, wait: Promise<unknown> | undefined, keys: readonly string[], reply: () => void,
): void | Promise<unknown> {
  if (wait === undefined) {
    reply();
    for (const k of keys) signalKey(ctx, k);
    return undefined;
  }
  return wait.then(() => {
    replyLater(ctx, c, reply);
    for (const k of keys) signalKey(ctx, k);
  });
}

/** True while `c` runs the commands of an EXEC: blocking commands then answer at once, as in Redis. */
export function inTransaction(c: ClientState): boolean {
  return (c as { inExec?: boolean }).inExec === true;
}

function pushAll(l: ListValue, f: Frame, left: boolean): void {
  for (let i = 2; i < f.argc; i++) {
    if (left) l.pushLeftBytes(f.args, f.starts[i], f.ends[i]);
    else l.pushRightBytes(f.args, f.starts[i], f.ends[i]);
  }
}

function pushGeneric(left: boolean, onlyExisting: boolean): Handler {
  return (ctx, c, f) => {
    const ks = ctx.ks;
    const slot = ks.liveTypedBytes(f.args, f.starts[1], f.ends[1], T_LIST, true);
    if (slot >= 0) {
      // Memory only, the list exists: pushed in place from the request's bytes.
      const live = ks.typedAt(slot) as ListValue;
      const mods = live.mods;
      pushAll(live, f, left);
      ks.changedLive(slot, mods);
      ctx.out.int(live.size);
      if (hasWaiters(ctx)) signalKey(ctx, argStr(f, 1));
      return undefined;
    }
    const key = argStr(f, 1);
    const w = ks.typedWrite(true);
    const l = w.open<ListValue>(key, T_LIST, !onlyExisting);
    if (l === undefined) return ctx.out.int(0);
    pushAll(l, f, left);
    const n = l.size;
    return afterPush(ctx, c, w.commit(), [key], () => ctx.out.int(n));
  };
}

/** Pops up to `count` elements from `key`, or false when the key is absent. */
function popFrom(ctx: ServerContext, key: string, left: boolean, count: number): false | { wait: Promise<unknown> | undefined; values: string[] } {
  const w = ctx.ks.typedWrite(false);
  const l = w.open<ListValue>(key, T_LIST, false);
  if (l === undefined) return false;
  const values: string[] = [];
  for (let i = 0; i < count && l.size > 0; i++) values.push((left ? l.popLeft() : l.popRight())!);
  return { wait: w.commit(), values };
}

function popGeneric(left: boolean): Handler {
  return (ctx, c, f) => {
    if (f.argc > 3) throw new CommandError(`ERR wrong number of arguments for '${left ? 'lpop' : 'rpop'}' command`);
    let count: number | undefined;
    if (f.argc === 3) {
      count = argPositive(f, 2);
    }
    if (count === undefined) {
      const ks = ctx.ks;
      const slot = ks.liveTypedBytes(f.args, f.starts[1], f.ends[1], T_LIST, false);
      if (slot >= 0) {
        // Memory only, the list exists: the element goes from the list's bytes into the reply.
        const l = ks.typedAt(slot) as ListValue;
        const mods = l.mods;
        const i = left ? 0 : l.size - 1;
        ctx.out.bulkBytes(l.bufferOf(i), l.startOf(i), l.endOf(i));
        if (left) l.dropLeft();
        else l.dropRight();
        ks.changedLive(slot, mods);
        return undefined;
      }
    }
    const r = popFrom(ctx, argStr(f, 1), left, count ?? 1);
    if (r === false) return count === undefined ? ctx.out.nil() : ctx.out.nilArray();
    return then(ctx, c, r.wait, () => {
      if (count === undefined) return ctx.out.bulk(r.values[0]);
      ctx.out.arrayHeader(r.values.length);
      for (const v of r.values) ctx.out.bulk(v);
      return undefined;
    });
  };
}

const llen: Handler = (ctx, _c, f) => ctx.out.int(read(ctx, f)?.size ?? 0);

const lrange: Handler = (ctx, _c, f) => {
  let start = argInt(f, 2);
  let end = argInt(f, 3);
  const l = read(ctx, f);
  const len = l?.size ?? 0;
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (l === undefined || start > end || start >= len) return ctx.out.arrayHeader(0);
  if (end >= len) end = len - 1;
  ctx.out.arrayHeader(end - start + 1);
  for (let i = start; i <= end; i++) ctx.out.bulk(l.at(i));
  return undefined;
};

const lindex: Handler = (ctx, _c, f) => {
  const index = argInt(f, 2);
  const l = read(ctx, f);
  if (l === undefined) return ctx.out.nil();
  const i = index < 0 ? l.size + index : index;
  if (i < 0 || i >= l.size) return ctx.out.nil();
  return ctx.out.bulk(l.at(i));
};

const lset: Handler = (ctx, c, f) => {
  const index = argInt(f, 2);
  const w = ctx.ks.typedWrite(true);
  const l = w.open<ListValue>(argStr(f, 1), T_LIST, false);
  if (l === undefined) throw new CommandError('ERR no such key');
  const i = index < 0 ? l.size + index : index;
  if (i < 0 || i >= l.size) throw new CommandError('ERR index out of range');
  l.setAt(i, argStr(f, 3));
  return then(ctx, c, w.commit(), () => ctx.out.ok());
};

const lrem: Handler = (ctx, c, f) => {
  const count = argInt(f, 2);
  const elem = argStr(f, 3);
  const w = ctx.ks.typedWrite(false);
  const l = w.open<ListValue>(argStr(f, 1), T_LIST, false);
  if (l === undefined) return ctx.out.int(0);
  const items = l.toArray();
  let removed = 0;
  const limit = count === 0 ? Infinity : Math.abs(count);
  const keep = new Array<boolean>(items.length).fill(true);
  if (count >= 0) {
    for (let i = 0; i < items.length && removed < limit; i++) if (items[i] === elem) { keep[i] = false; removed++; }
  } else {
    for (let i = items.length - 1; i >= 0 && removed < limit; i--) if (items[i] === elem) { keep[i] = false; removed++; }
  }
  if (removed > 0) l.replaceAll(items.filter((_, i) => keep[i]));
  return then(ctx, c, w.commit(), () => ctx.out.int(removed));
};

const ltrim: Handler = (ctx, c, f) => {
  let start = argInt(f, 2);
  let end = argInt(f, 3);
  const w = ctx.ks.typedWrite(false);
  const l = w.open<ListValue>(argStr(f, 1), T_LIST, false);
  if (l === undefined) return ctx.out.ok();
  const len = l.size;
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  let ltrimN: number;
  let rtrimN: number;
  if (start > end || start >= len) {
    ltrimN = len;
    rtrimN = 0;
  } else {
    if (end >= len) end = len - 1;
    ltrimN = start;
    rtrimN = len - end - 1;
  }
  for (let i = 0; i < ltrimN; i++) l.dropLeft();
  for (let i = 0; i < rtrimN; i++) l.dropRight();
  return then(ctx, c, w.commit(), () => ctx.out.ok());
};

function whereArg(f: Frame, i: number): boolean {
  const o = argUpper(f, i);
  if (o === 'LEFT') return true;
  if (o === 'RIGHT') return false;
  throw new CommandError(ERR_SYNTAX);
}

/** Moves one element from `src` to `dst`; false when `src` is absent. */
function moveFrom(
  ctx: ServerContext, src: string, dst: string, fromLeft: boolean, toLeft: boolean,
): false | { wait: Promise<unknown> | undefined; value: string } {
  const w = ctx.ks.typedWrite(true);
  const s = w.open<ListValue>(src, T_LIST, false);
  if (s === undefined) return false;
  const d = w.open<ListValue>(dst, T_LIST, true)!; // WRONGTYPE before anything moves
  const value = (fromLeft ? s.popLeft() : s.popRight())!;
  if (toLeft) d.pushLeft(value);
  else d.pushRight(value);
  return { wait: w.commit(), value };
}

function moveGeneric(fixed: [boolean, boolean] | undefined): Handler {
  return (ctx, c, f) => {
    const [fromLeft, toLeft] = fixed ?? [whereArg(f, 3), whereArg(f, 4)];
    const dst = argStr(f, 2);
    const r = moveFrom(ctx, argStr(f, 1), dst, fromLeft, toLeft);
    if (r === false) return ctx.out.nil();
    return afterPush(ctx, c, r.wait, [dst], () => ctx.out.bulk(r.value));
  };
}

const lpos: Handler = (ctx, _c, f) => {
  let rank = 1;
  let count: number | undefined;
  let maxlen = 0;
  for (let i = 3; i < f.argc; i++) {
    const o = argUpper(f, i);
    if (i + 1 >= f.argc) throw new CommandError(ERR_SYNTAX);
    if (o === 'RANK') {
      rank = argInt(f, ++i);
      // Redis 7.0 takes RANK -2^63 (negating it overflows back to itself): from the tail, every match counts.
      if (rank === -(2 ** 63) && argStr(f, i) === '-9223372036854775808') rank = -1;
      if (rank === 0) {
        throw new CommandError('ERR RANK can\'t be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list');
      }
    } else if (o === 'COUNT') {
      // getPositiveLongFromObjectOrReply: its message for a non-integer too.
      count = parseIntStrict(argStr(f, ++i)) ?? -1;
      if (count < 0) throw new CommandError('ERR COUNT can\'t be negative');
    } else if (o === 'MAXLEN') {
      maxlen = parseIntStrict(argStr(f, ++i)) ?? -1;
      if (maxlen < 0) throw new CommandError('ERR MAXLEN can\'t be negative');
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  const l = read(ctx, f);
  const elem = argStr(f, 2);
  const found: number[] = [];
  const want = count === undefined ? 1 : count === 0 ? Infinity : count;
  if (l !== undefined) {
    const len = l.size;
    let skip = Math.abs(rank) - 1;
    const limit = maxlen === 0 ? len : Math.min(len, maxlen);
    for (let n = 0; n < limit && found.length < want; n++) {
      const i = rank > 0 ? n : len - 1 - n;
      if (l.at(i) !== elem) continue;
      if (skip > 0) skip--;
      else found.push(i);
    }
  }
  if (count === undefined) return found.length === 0 ? ctx.out.nil() : ctx.out.int(found[0]);
  ctx.out.arrayHeader(found.length);
  for (const i of found) ctx.out.int(i);
  return undefined;
};

const linsert: Handler = (ctx, c, f) => {
  const where = argUpper(f, 2);
  if (where !== 'BEFORE' && where !== 'AFTER') throw new CommandError(ERR_SYNTAX);
  const w = ctx.ks.typedWrite(true);
  const l = w.open<ListValue>(argStr(f, 1), T_LIST, false);
  if (l === undefined) return ctx.out.int(0);
  const items = l.toArray();
  const i = items.indexOf(argStr(f, 3));
  if (i < 0) return ctx.out.int(-1);
  items.splice(where === 'AFTER' ? i + 1 : i, 0, argStr(f, 4));
  l.replaceAll(items); // O(n), as LINSERT is in Redis
  return then(ctx, c, w.commit(), () => ctx.out.int(items.length));
};

const leftRight = (word: string): boolean | undefined => (word === 'LEFT' ? true : word === 'RIGHT' ? false : undefined);

/** LMPOP / BLMPOP's reply: [key, [elements]]. */
function mpopReply(out: ReplyWriter, key: string, values: readonly string[]): void {
  out.arrayHeader(2);
  out.bulk(unprefixed(key));
  out.arrayHeader(values.length);
  for (const v of values) out.bulk(v);
}

/** Pops from the first non-empty list of `keys` (WRONGTYPE for a wrong type met before it), as LMPOP does. */
function mpopAttempt(left: boolean, count: number) {
  return (cx: ServerContext, key: string): Attempt => {
    const r = popFrom(cx, key, left, count);
    if (r === false || r.values.length === 0) return false;
    return { wait: r.wait, reply: (out: ReplyWriter) => mpopReply(out, key, r.values) };
  };
}

const lmpop: Handler = (ctx, c, f) => {
  const { keys, where, count } = mpopArgs(f, 1, leftRight);
  const attempt = mpopAttempt(where, count);
  for (const k of keys) {
    const a = attempt(ctx, k);
    if (a !== false) return then(ctx, c, a.wait, () => a.reply(ctx.out));
  }
  return ctx.out.nilArray();
};

// ---- blocking ------------------------------------------------------------------------

const blmpop: Handler = (ctx, c, f) => {
  const timeout = parseTimeout(argStr(f, 1));
  const { keys, where, count } = mpopArgs(f, 2, leftRight);
  const attempt = mpopAttempt(where, count);
  for (const k of keys) {
    const a = attempt(ctx, k);
    if (a !== false) return then(ctx, c, a.wait, () => a.reply(ctx.out));
  }
  if (inTransaction(c)) return ctx.out.nilArray();
  return block(ctx, c, keys, timeout, attempt, (out) => out.nilArray());
};

function blockingPop(left: boolean): Handler {
  return (ctx, c, f) => {
    const timeout = parseTimeout(argStr(f, f.argc - 1));
    const keys: string[] = [];
    for (let i = 1; i < f.argc - 1; i++) keys.push(argStr(f, i));
    const attempt = (cx: ServerContext, key: string): Attempt => {
      const r = popFrom(cx, key, left, 1);
      if (r === false || r.values.length === 0) return false;
      return {
        wait: r.wait,
        reply: (out: ReplyWriter) => {
          out.arrayHeader(2);
          out.bulk(unprefixed(key));
          out.bulk(r.values[0]);
        },
      };
    };
    for (const k of keys) {
      const a = attempt(ctx, k);
      if (a !== false) return then(ctx, c, a.wait, () => a.reply(ctx.out));
    }
    if (inTransaction(c)) return ctx.out.nilArray();
    return block(ctx, c, keys, timeout, attempt, (out) => out.nilArray());
  };
}

function blockingMove(fixed: [boolean, boolean] | undefined): Handler {
  return (ctx, c, f) => {
    const src = argStr(f, 1);
    const dst = argStr(f, 2);
    const [fromLeft, toLeft] = fixed ?? [whereArg(f, 3), whereArg(f, 4)];
    const timeout = parseTimeout(argStr(f, f.argc - 1));
    const attempt = (cx: ServerContext): Attempt => {
      const r = moveFrom(cx, src, dst, fromLeft, toLeft);
      if (r === false) return false;
      const applied = r.wait === undefined ? undefined : r.wait.then(() => signalKey(cx, dst));
      if (r.wait === undefined) signalKey(cx, dst);
      return { wait: applied, reply: (out: ReplyWriter) => out.bulk(r.value) };
    };
    const a = attempt(ctx);
    if (a !== false) return then(ctx, c, a.wait, () => a.reply(ctx.out));
    // Redis answers a BLMOVE that timed out (or could not block) with a nil array, not a nil string.
    if (inTransaction(c)) return ctx.out.nilArray();
    return block(ctx, c, [src], timeout, attempt, (out) => out.nilArray());
  };
}

export const LIST_SPECS: Spec[] = [
  ['lpush', -3, 'write denyoom fast', [1, 1, 1], 'list', 'Prepends one or more elements to a list. Creates the key if it doesn\'t exist.', pushGeneric(true, false)],
  ['rpush', -3, 'write denyoom fast', [1, 1, 1], 'list', 'Appends one or more elements to a list. Creates the key if it doesn\'t exist.', pushGeneric(false, false)],
  ['lpushx', -3, 'write denyoom fast', [1, 1, 1], 'list', 'Prepends one or more elements to a list only when the list exists.', pushGeneric(true, true)],
  ['rpushx', -3, 'write denyoom fast', [1, 1, 1], 'list', 'Appends an element to a list only when the list exists.', pushGeneric(false, true)],
  ['lpop', -2, 'write fast', [1, 1, 1], 'list', 'Returns the first elements in a list after removing it. Deletes the list if the last element was popped.', popGeneric(true)],
  ['rpop', -2, 'write fast', [1, 1, 1], 'list', 'Returns and removes the last elements of a list. Deletes the list if the last element was popped.', popGeneric(false)],
  ['llen', 2, 'readonly fast', [1, 1, 1], 'list', 'Returns the length of a list.', llen],
  ['lrange', 4, 'readonly', [1, 1, 1], 'list', 'Returns a range of elements from a list.', lrange],
  ['lindex', 3, 'readonly', [1, 1, 1], 'list', 'Returns an element from a list by its index.', lindex],
  ['lset', 4, 'write denyoom', [1, 1, 1], 'list', 'Sets the value of an element in a list by its index.', lset],
  ['lrem', 4, 'write', [1, 1, 1], 'list', 'Removes elements from a list. Deletes the list if the last element was removed.', lrem],
  ['ltrim', 4, 'write', [1, 1, 1], 'list', 'Removes elements from both ends a list. Deletes the list if all elements were trimmed.', ltrim],
  ['lmove', 5, 'write denyoom', [1, 2, 1], 'list', 'Returns an element after popping it from one list and pushing it to another.', moveGeneric(undefined)],
  ['rpoplpush', 3, 'write denyoom', [1, 2, 1], 'list', 'Returns the last element of a list after removing and pushing it to another list.', moveGeneric([false, true])],
  ['lpos', -3, 'readonly', [1, 1, 1], 'list', 'Returns the index of matching elements in a list.', lpos],
  ['linsert', 5, 'write denyoom', [1, 1, 1], 'list', 'Inserts an element before or after another element in a list.', linsert],
  ['lmpop', -4, 'write movablekeys', [0, 0, 0], 'list', 'Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.', lmpop, undefined, numkeysRange(1)],
  ['blmpop', -5, 'write noscript blocking movablekeys', [0, 0, 0], 'list', 'Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.', blmpop, undefined, numkeysRange(2)],
  ['blpop', -3, 'write noscript blocking', [1, -2, 1], 'list', 'Removes and returns the first element in a list. Blocks until an element is available otherwise.', blockingPop(true)],
  ['brpop', -3, 'write noscript blocking', [1, -2, 1], 'list', 'Removes and returns the last element in a list. Blocks until an element is available otherwise.', blockingPop(false)],
  ['blmove', 6, 'write denyoom noscript blocking', [1, 2, 1], 'list', 'Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise.', blockingMove(undefined)],
  ['brpoplpush', 4, 'write denyoom noscript blocking', [1, 2, 1], 'list', 'Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise.', blockingMove([false, true])],
];

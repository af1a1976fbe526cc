/** Hash commands (Redis 7.0 semantics; docs/commands.md "Hashes"). */
import {
  argStr, CommandError, ERR_NOT_INT, formatFloat, Frame, Handler, INT64_MAX, INT64_MIN, parseFloatStrict, parseInt64,
  ServerContext, Spec, then, wrongArgs,
} from './commands';
import { checkPairsCount, distinctPicks, randomCount, randomIndex, repeatedPicks, scanReply } from './typed-common';
import { HashValue, T_HASH } from '../keyspace/types';

function read(ctx: ServerContext, f: Frame): HashValue | undefined {
  return ctx.ks.readTypedBytes<HashValue>(f.args, f.starts[1], f.ends[1], T_HASH);
}

/** The record of field argument `i` in `h`, or -1 (also when `h` is absent). */
function fieldAt(h: HashValue | undefined, f: Frame, i: number): number {
  return h === undefined ? -1 : h.table.find(f.args, f.starts[i], f.ends[i]);
}

/** Replies the value of record `r` of `h` (or nil when `r` is -1) from the table's bytes. */
function replyValue(ctx: ServerContext, h: HashValue | undefined, r: number): void {
  if (r < 0) return ctx.out.nil();
  const t = h!.table;
  const s = t.valueStart(r);
  ctx.out.bulkBytes(t.bytes, s, s + t.valueLength(r));
}

function setPairs(h: HashValue, f: Frame): number {
  let added = 0;
  for (let i = 2; i < f.argc; i += 2) if (h.setBytes(f.args, f.starts[i], f.ends[i], f.starts[i + 1], f.ends[i + 1])) added++;
  return added;
}

function hsetGeneric(name: string, okReply: boolean): Handler {
  return (ctx, c, f) => {
    if (f.argc % 2 !== 0) throw new CommandError(wrongArgs(name));
    const ks = ctx.ks;
    const slot = ks.liveTypedBytes(f.args, f.starts[1], f.ends[1], T_HASH, true);
    if (slot >= 0) {
      // Memory only, the hash exists: changed in place from the request's bytes.
      const live = ks.typedAt(slot) as HashValue;
      const mods = live.mods;
      const n = setPairs(live, f);
      ks.changedLive(slot, mods);
      return okReply ? ctx.out.ok() : ctx.out.int(n);
    }
    const w = ks.typedWrite(true);
    const h = w.open<HashValue>(argStr(f, 1), T_HASH, true)!;
    const added = setPairs(h, f);
    return then(ctx, c, w.commit(), () => (okReply ? ctx.out.ok() : ctx.out.int(added)));
  };
}

const hsetnx: Handler = (ctx, c, f) => {
  const w = ctx.ks.typedWrite(true);
  const h = w.open<HashValue>(argStr(f, 1), T_HASH, true)!;
  if (fieldAt(h, f, 2) >= 0) return then(ctx, c, w.commit(), () => ctx.out.int(0));
  h.setBytes(f.args, f.starts[2], f.ends[2], f.starts[3], f.ends[3]);
  return then(ctx, c, w.commit(), () => ctx.out.int(1));
};

const hget: Handler = (ctx, _c, f) => {
  const h = read(ctx, f);
  replyValue(ctx, h, fieldAt(h, f, 2));
};

const hmget: Handler = (ctx, _c, f) => {
  const h = read(ctx, f);
  ctx.out.arrayHeader(f.argc - 2);
  for (let i = 2; i < f.argc; i++) replyValue(ctx, h, fieldAt(h, f, i));
};

const hgetall: Handler = (ctx, _c, f) => {
  const h = read(ctx, f);
  ctx.out.mapHeader(h?.size ?? 0);
  if (h === undefined) return;
  for (const [k, v] of h.entries()) {
    ctx.out.bulk(k);
    ctx.out.bulk(v);
  }
};

function listPart(which: 'keys' | 'values'): Handler {
  return (ctx, _c, f) => {
    const h = read(ctx, f);
    ctx.out.arrayHeader(h?.size ?? 0);
    if (h === undefined) return;
    for (const x of which === 'keys' ? h.fields() : h.values()) ctx.out.bulk(x);
  };
}

const hlen: Handler = (ctx, _c, f) => ctx.out.int(read(ctx, f)?.size ?? 0);

const hstrlen: Handler = (ctx, _c, f) => {
  const h = read(ctx, f);
  const r = fieldAt(h, f, 2);
  ctx.out.int(r < 0 ? 0 : h!.table.valueLength(r));
};

const hexists: Handler = (ctx, _c, f) => {
  const h = read(ctx, f);
  ctx.out.int(fieldAt(h, f, 2) >= 0 ? 1 : 0);
};

const hdel: Handler = (ctx, c, f) => {
  const w = ctx.ks.typedWrite(false);
  const h = w.open<HashValue>(argStr(f, 1), T_HASH, false);
  if (h === undefined) return ctx.out.int(0);
  let n = 0;
  for (let i = 2; i < f.argc; i++) if (h.deleteBytes(f.args, f.starts[i], f.ends[i])) n++;
  return then(ctx, c, w.commit(), () => ctx.out.int(n));
};

const hincrby: Handler = (ctx, c, f) => {
  const by = parseInt64(argStr(f, 3));
  if (by === null) throw new CommandError(ERR_NOT_INT);
  const w = ctx.ks.typedWrite(true);
  const h = w.open<HashValue>(argStr(f, 1), T_HASH, true)!;
  const field = argStr(f, 2);
  const curStr = h.get(field);
  let cur = 0n;
  if (curStr !== undefined) {
    const p = parseInt64(curStr);
    if (p === null) throw new CommandError('ERR hash value is not an integer');
    cur = p;
  }
  const next = cur + by;
  if (next > INT64_MAX || next < INT64_MIN) throw new CommandError('ERR increment or decrement would overflow');
  h.set(field, next.toString());
  return then(ctx, c, w.commit(), () => ctx.out.bigint(next));
};

const hincrbyfloat: Handler = (ctx, c, f) => {
  const by = parseFloatStrict(argStr(f, 3));
  if (by === null) throw new CommandError('ERR value is not a valid float');
  if (!Number.isFinite(by)) throw new CommandError('ERR value is NaN or Infinity');
  const w = ctx.ks.typedWrite(true);
  const h = w.open<HashValue>(argStr(f, 1), T_HASH, true)!;
  const field = argStr(f, 2);
  const curStr = h.get(field);
  let cur = 0;
  if (curStr !== undefined) {
    const p = parseFloatStrict(curStr);
    if (p === null) throw new CommandError('ERR hash value is not a float');
    cur = p;
  }
  const next = cur + by;
  if (!Number.isFinite(next)) throw new CommandError('ERR increment would produce NaN or Infinity');
  const s = formatFloat(next);
  h.set(field, s);
  return then(ctx, c, w.commit(), () => ctx.out.bulk(s));
};

const hscan: Handler = (ctx, _c, f) => scanReply(ctx, f, () => {
  const h = read(ctx, f);
  if (h === undefined) return undefined;
  return [{ size: h.size, mods: h.mods, members: () => h.fields(), extra: (m) => h.get(m)! }, h];
});

const hrandfield: Handler = (ctx, _c, f) => {
  // Redis's order: the count, then the syntax, then the WITHVALUES range.
  const count = f.argc >= 3 ? randomCount(f, 2) : undefined;
  if (f.argc > 4) throw new CommandError('ERR syntax error');
  const withValues = f.argc === 4;
  if (withValues && argStr(f, 3).toUpperCase() !== 'WITHVALUES') throw new CommandError('ERR syntax error');
  if (withValues) checkPairsCount(f, 2);
  const h = read(ctx, f);
  if (count === undefined) {
    if (h === undefined) return ctx.out.nil();
    const keys = h.fields();
    return ctx.out.bulk(keys[randomIndex(keys.length)]);
  }
  if (h === undefined || count === 0) return ctx.out.arrayHeader(0);
  // A positive count: distinct fields; a negative one: -count picks that may repeat (as Redis).
  const picks = count > 0 ? distinctPicks(h.size, count) : repeatedPicks(h.size, count);
  const entries = h.entries();
  const out = ctx.out;
  if (withValues && out.resp3) {
    out.arrayHeader(picks.length);
    for (const i of picks) {
      out.arrayHeader(2);
      out.bulk(entries[i][0]);
      out.bulk(entries[i][1]);
    }
    return undefined;
  }
  out.arrayHeader(withValues ? picks.length * 2 : picks.length);
  for (const i of picks) {
    out.bulk(entries[i][0]);
    if (withValues) out.bulk(entries[i][1]);
  }
  return undefined;
};

export const HASH_SPECS: Spec[] = [
  ['hset', -4, 'write denyoom fast', [1, 1, 1], 'hash', 'Creates or modifies the value of a field in a hash.', hsetGeneric('hset', false)],
  ['hmset', -4, 'write denyoom fast', [1, 1, 1], 'hash', 'Sets the values of multiple fields.', hsetGeneric('hmset', true)],
  ['hsetnx', 4, 'write denyoom fast', [1, 1, 1], 'hash', 'Sets the value of a field in a hash only when the field doesn\'t exist.', hsetnx],
  ['hget', 3, 'readonly fast', [1, 1, 1], 'hash', 'Returns the value of a field in a hash.', hget],
  ['hmget', -3, 'readonly fast', [1, 1, 1], 'hash', 'Returns the values of all fields in a hash.', hmget],
  ['hgetall', 2, 'readonly', [1, 1, 1], 'hash', 'Returns all fields and values in a hash.', hgetall],
  ['hkeys', 2, 'readonly', [1, 1, 1], 'hash', 'Returns all fields in a hash.', listPart('keys')],
  ['hvals', 2, 'readonly', [1, 1, 1], 'hash', 'Returns all values in a hash.', listPart('values')],
  ['hlen', 2, 'readonly fast', [1, 1, 1], 'hash', 'Returns the number of fields in a hash.', hlen],
  ['hstrlen', 3, 'readonly fast', [1, 1, 1], 'hash', 'Returns the length of the value of a field.', hstrlen],
  ['hexists', 3, 'readonly fast', [1, 1, 1], 'hash', 'Determines whether a field exists in a hash.', hexists],
  ['hdel', -3, 'write fast', [1, 1, 1], 'hash', 'Deletes one or more fields and their values from a hash.', hdel],
  ['hincrby', 4, 'write denyoom fast', [1, 1, 1], 'hash', 'Increments the integer value of a field in a hash by a number.', hincrby],
  ['hincrbyfloat', 4, 'write denyoom fast', [1, 1, 1], 'hash', 'Increments the floating point value of a field by a number.', hincrbyfloat],
  ['hscan', -3, 'readonly', [1, 1, 1], 'hash', 'Iterates over fields and values of a hash.', hscan],
  ['hrandfield', -2, 'readonly', [1, 1, 1], 'hash', 'Returns one or more random fields from a hash.', hrandfield],
];

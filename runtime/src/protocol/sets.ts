/** Set commands (Redis 7.0 semantics; docs/commands.md "Sets"). */
import {
  argPositive, argStr, argUpper, CommandError, ERR_SYNTAX, Frame, Handler, parseIntStrict, ServerContext, Spec, then,
} from './commands';
import {
  distinctPicks, repeatedPicks, numkeysRange, parseNumkeys, randomCount, scanReply,
} from './typed-common';
import { SetValue, T_SET } from '../keyspace/types';

function read(ctx: ServerContext, key: string): SetValue | undefined {
  return ctx.ks.readTyped<SetValue>(key, T_SET);
}

function setReply(ctx: ServerContext, members: Iterable<string>, n: number): void {
  ctx.out.setHeader(n);
  for (const m of members) ctx.out.bulk(m);
}

const sadd: Handler = (ctx, c, f) => {
  const w = ctx.ks.typedWrite(true);
  const s = w.open<SetValue>(argStr(f, 1), T_SET, true)!;
  let n = 0;
  for (let i = 2; i < f.argc; i++) if (s.add(argStr(f, i))) n++;
  return then(ctx, c, w.commit(), () => ctx.out.int(n));
};

const srem: Handler = (ctx, c, f) => {
  const w = ctx.ks.typedWrite(false);
  const s = w.open<SetValue>(argStr(f, 1), T_SET, false);
  if (s === undefined) return ctx.out.int(0);
  let n = 0;
  for (let i = 2; i < f.argc; i++) if (s.delete(argStr(f, i))) n++;
  return then(ctx, c, w.commit(), () => ctx.out.int(n));
};

const smembers: Handler = (ctx, _c, f) => {
  const s = read(ctx, argStr(f, 1));
  setReply(ctx, s?.items ?? [], s?.size ?? 0);
};

const sismember: Handler = (ctx, _c, f) => ctx.out.int(read(ctx, argStr(f, 1))?.has(argStr(f, 2)) === true ? 1 : 0);

const smismember: Handler = (ctx, _c, f) => {
  const s = read(ctx, argStr(f, 1));
  ctx.out.arrayHeader(f.argc - 2);
  for (let i = 2; i < f.argc; i++) ctx.out.int(s?.has(argStr(f, i)) === true ? 1 : 0);
};

const scard: Handler = (ctx, _c, f) => ctx.out.int(read(ctx, argStr(f, 1))?.size ?? 0);

const spop: Handler = (ctx, c, f) => {
  if (f.argc > 3) throw new CommandError(ERR_SYNTAX);
  let count: number | undefined;
  if (f.argc === 3) {
    count = argPositive(f, 2);
  }
  const w = ctx.ks.typedWrite(false);
  const s = w.open<SetValue>(argStr(f, 1), T_SET, false);
  if (s === undefined) return count === undefined ? ctx.out.nil() : ctx.out.setHeader(0);
  const popped: string[] = [];
  for (let i = 0; i < (count ?? 1) && s.size > 0; i++) {
    const m = s.random();
    s.delete(m);
    popped.push(m);
  }
  return then(ctx, c, w.commit(), () => (count === undefined ? ctx.out.bulk(popped[0]) : setReply(ctx, popped, popped.length)));
};

const srandmember: Handler = (ctx, _c, f) => {
  if (f.argc > 3) throw new CommandError(ERR_SYNTAX);
  const count = f.argc === 3 ? randomCount(f, 2) : undefined;
  const s = read(ctx, argStr(f, 1));
  if (count === undefined) return s === undefined ? ctx.out.nil() : ctx.out.bulk(s.random());
  if (s === undefined || count === 0) return ctx.out.arrayHeader(0);
  const picks = count > 0 ? distinctPicks(s.size, count) : repeatedPicks(s.size, count);
  ctx.out.arrayHeader(picks.length);
  for (const i of picks) ctx.out.bulk(s.items[i]);
  return undefined;
};

const smove: Handler = (ctx, c, f) => {
  const w = ctx.ks.typedWrite(false);
  const srcKey = argStr(f, 1);
  const dstKey = argStr(f, 2);
  const src = w.open<SetValue>(srcKey, T_SET, false);
  if (src === undefined) return ctx.out.int(0);
  read(ctx, dstKey); // WRONGTYPE before anything moves
  const m = argStr(f, 3);
  if (srcKey === dstKey) return ctx.out.int(src.has(m) ? 1 : 0);
  if (!src.has(m)) return ctx.out.int(0);
  const dst = w.open<SetValue>(dstKey, T_SET, true)!;
  src.delete(m);
  dst.add(m);
  return then(ctx, c, w.commit(), () => ctx.out.int(1));
};

/** The sets named by f[from..], WRONGTYPE checked for every key (as Redis does); absent keys are undefined. */
function sources(ctx: ServerContext, f: Frame, from: number): Array<SetValue | undefined> {
  const out: Array<SetValue | undefined> = [];
  for (let i = from; i < f.argc; i++) out.push(ctx.ks.readTyped<SetValue>(argStr(f, i), T_SET));
  return out;
}

type Op = 'inter' | 'union' | 'diff';

function compute(op: Op, sets: Array<SetValue | undefined>): string[] {
  if (op === 'inter') {
    if (sets.some((s) => s === undefined)) return [];
    const sorted = [...(sets as SetValue[])].sort((a, b) => a.size - b.size);
    return sorted[0].items.filter((m) => sorted.every((s) => s.has(m)));
  }
  if (op === 'union') {
    const seen = new Set<string>();
    for (const s of sets) if (s !== undefined) for (const m of s.items) seen.add(m);
    return [...seen];
  }
  const first = sets[0];
  if (first === undefined) return [];
  return first.items.filter((m) => !sets.some((s, i) => i > 0 && s !== undefined && s.has(m)));
}

function algebra(op: Op): Handler {
  return (ctx, _c, f) => {
    const r = compute(op, sources(ctx, f, 1));
    setReply(ctx, r, r.length);
  };
}

function algebraStore(op: Op): Handler {
  return (ctx, c, f) => {
    const r = compute(op, sources(ctx, f, 2));
    const w = ctx.ks.typedWrite(true);
    const dst = w.replace<SetValue>(argStr(f, 1), T_SET);
    for (const m of r) dst.add(m);
    return then(ctx, c, w.commit(), () => ctx.out.int(r.length));
  };
}

/** SINTERCARD numkeys key... [LIMIT n]: the intersection's size, counting stops at n (0: no limit). */
const sintercard: Handler = (ctx, _c, f) => {
  const n = parseNumkeys(f, 1);
  if (n > f.argc - 2) throw new CommandError('ERR Number of keys can\'t be greater than number of args');
  let limit = 0;
  for (let j = 2 + n; j < f.argc; j++) {
    if (argUpper(f, j) === 'LIMIT' && j + 1 < f.argc) {
      const l = parseIntStrict(argStr(f, ++j));
      if (l === null || l < 0) throw new CommandError('ERR LIMIT can\'t be negative');
      limit = l;
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  const sets: Array<SetValue | undefined> = [];
  for (let i = 2; i < 2 + n; i++) sets.push(read(ctx, argStr(f, i)));
  if (sets.some((s) => s === undefined)) return ctx.out.int(0);
  const sorted = [...(sets as SetValue[])].sort((a, b) => a.size - b.size);
  let card = 0;
  for (const m of sorted[0].items) {
    if (!sorted.every((s) => s.has(m))) continue;
    if (++card === limit) break;
  }
  return ctx.out.int(card);
};

const sscan: Handler = (ctx, _c, f) => scanReply(ctx, f, () => {
  const s = read(ctx, argStr(f, 1));
  if (s === undefined) return undefined;
  return [{ size: s.size, mods: s.mods, members: () => s.items.slice() }, s];
});

export const SET_SPECS: Spec[] = [
  ['sadd', -3, 'write denyoom fast', [1, 1, 1], 'set', 'Adds one or more members to a set. Creates the key if it doesn\'t exist.', sadd],
  ['srem', -3, 'write fast', [1, 1, 1], 'set', 'Removes one or more members from a set. Deletes the set if the last member was removed.', srem],
  ['smembers', 2, 'readonly', [1, 1, 1], 'set', 'Returns all members of a set.', smembers],
  ['sismember', 3, 'readonly fast', [1, 1, 1], 'set', 'Determines whether a member belongs to a set.', sismember],
  ['smismember', -3, 'readonly fast', [1, 1, 1], 'set', 'Determines whether multiple members belong to a set.', smismember],
  ['scard', 2, 'readonly fast', [1, 1, 1], 'set', 'Returns the number of members in a set.', scard],
  ['spop', -2, 'write fast', [1, 1, 1], 'set', 'Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.', spop],
  ['srandmember', -2, 'readonly', [1, 1, 1], 'set', 'Get one or multiple random members from a set.', srandmember],
  ['smove', 4, 'write fast', [1, 2, 1], 'set', 'Moves a member from one set to another.', smove],
  ['sinter', -2, 'readonly', [1, -1, 1], 'set', 'Returns the intersect of multiple sets.', algebra('inter')],
  ['sunion', -2, 'readonly', [1, -1, 1], 'set', 'Returns the union of multiple sets.', algebra('union')],
  ['sdiff', -2, 'readonly', [1, -1, 1], 'set', 'Returns the difference of multiple sets.', algebra('diff')],
  ['sinterstore', -3, 'write denyoom', [1, -1, 1], 'set', 'Stores the intersect of multiple sets in a key.', algebraStore('inter')],
  ['sunionstore', -3, 'write denyoom', [1, -1, 1], 'set', 'Stores the union of multiple sets in a key.', algebraStore('union')],
  ['sdiffstore', -3, 'write denyoom', [1, -1, 1], 'set', 'Stores the difference of multiple sets in a key.', algebraStore('diff')],
  ['sintercard', -3, 'readonly movablekeys', [0, 0, 0], 'set', 'Returns the number of members of the intersect of multiple sets.', sintercard, undefined, numkeysRange(1)],
  ['sscan', -3, 'readonly', [1, 1, 1], 'set', 'Iterates over members of a set.', sscan],
];

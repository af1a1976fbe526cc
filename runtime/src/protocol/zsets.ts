/** Sorted-set commands, BZPOPMIN / BZPOPMAX included (Redis 7.0 semantics; docs/commands.md "Sorted sets"). */
import { Attempt, block, hasWaiters, parseTimeout, signalKey } from './blocking';
import {
  argInt, argLen, argPositive, argStr, argUpper, ClientState, CommandError, ERR_NOT_INT, ERR_SYNTAX, Frame, Handler, parseIntStrict, ServerContext,
  Spec, then,
} from './commands';
import { unprefixed } from './databases';
import { afterPush, inTransaction } from './lists';
import { ReplyWriter } from './resp';
import {
  checkPairsCount, distinctPicks, repeatedPicks, formatScore, mpopArgs, numkeysRange, parseScore, randomCount, randomIndex, scanReply,
} from './typed-common';
import { SetValue, T_SET, T_ZSET, WrongTypeError, ZNode, ZSetValue } from '../keyspace/types';

const ERR_FLOAT = 'ERR value is not a valid float';
const ERR_NAN = 'ERR resulting score is not a number (NaN)';
const ERR_MINMAX = 'ERR min or max is not a float';
const ERR_LEX = 'ERR min or max not valid string range item';

function read(ctx: ServerContext, key: string): ZSetValue | undefined {
  return ctx.ks.readTyped<ZSetValue>(key, T_ZSET);
}

function score(out: ReplyWriter, s: number): void {
  out.double(formatScore(s));
}

/** Member and score pairs: flat in RESP2, [member, score] arrays in RESP3 (as Redis 7 replies WITHSCORES). */
function pairsReply(out: ReplyWriter, nodes: readonly ZNode[], withScores: boolean): void {
  if (!withScores) {
    out.arrayHeader(nodes.length);
    for (const n of nodes) out.bulk(n.m);
    return;
  }
  if (out.resp3) {
    out.arrayHeader(nodes.length);
    for (const n of nodes) {
      out.arrayHeader(2);
      out.bulk(n.m);
      score(out, n.s);
    }
    return;
  }
  out.arrayHeader(nodes.length * 2);
  for (const n of nodes) {
    out.bulk(n.m);
    score(out, n.s);
  }
}

// ---- ranges --------------------------------------------------------------------------

interface ScoreBound { readonly v: number; readonly ex: boolean }

function parseScoreBound(s: string): ScoreBound {
  const ex = s.startsWith('(');
  const v = parseScore(ex ? s.slice(1) : s);
  if (v === null) throw new CommandError(ERR_MINMAX);
  return { v, ex };
}

/** Lex bound: "-" and "+" are the ends (as -1 and 1), "[x" inclusive, "(x" exclusive. */
interface LexBound { readonly inf: -1 | 0 | 1; readonly v: string; readonly ex: boolean }

function parseLexBound(s: string): LexBound {
  if (s === '-') return { inf: -1, v: '', ex: false };
  if (s === '+') return { inf: 1, v: '', ex: false };
  if (s.startsWith('[')) return { inf: 0, v: s.slice(1), ex: false };
  if (s.startsWith('(')) return { inf: 0, v: s.slice(1), ex: true };
  throw new CommandError(ERR_LEX);
}

/** [lo, hi) of the nodes whose score is within min..max. */
function scoreRange(z: ZSetValue, min: ScoreBound, max: ScoreBound): [number, number] {
  const lo = z.scoreBound(min.v, min.ex);
  const hi = z.scoreBound(max.v, !max.ex);
  return [lo, Math.max(lo, hi)];
}

function lexAbove(m: string, b: LexBound): boolean {
  if (b.inf !== 0) return b.inf < 0;
  return b.ex ? m > b.v : m >= b.v;
}

function lexBelow(m: string, b: LexBound): boolean {
  if (b.inf !== 0) return b.inf > 0;
  return b.ex ? m < b.v : m <= b.v;
}

/** [lo, hi) of the nodes within min..max by member (meaningful when all scores are equal, as in Redis). */
function lexRange(z: ZSetValue, min: LexBound, max: LexBound): [number, number] {
  const lo = z.firstWhere((m) => lexAbove(m, min));
  const hi = z.firstWhere((m) => !lexBelow(m, max));
  return [lo, Math.max(lo, hi)];
}

/** Rank range [start, end] clamped like Redis, as [lo, hi); empty when out of range. */
function rankRange(size: number, start: number, end: number): [number, number] {
  if (start < 0) start += size;
  if (end < 0) end += size;
  if (start < 0) start = 0;
  if (start > end || start >= size) return [0, 0];
  if (end >= size) end = size - 1;
  return [start, end + 1];
}

type By = 'rank' | 'score' | 'lex';

interface RangeSpec {
  by: By;
  rev: boolean;
  withScores: boolean;
  offset: number;
  count: number;
  limit: boolean;
}

/** Selects the nodes of a ZRANGE-family query; `a` and `b` are the two range arguments as given. */
function selectRange(z: ZSetValue | undefined, a: string, b: string, r: RangeSpec): ZNode[] {
  let lo: number;
  let hi: number;
  if (r.by === 'rank') {
    const start = parseRankArg(a);
    const end = parseRankArg(b);
    if (z === undefined) return [];
    [lo, hi] = rankRange(z.size, start, end);
    if (r.rev) [lo, hi] = [z.size - hi, z.size - lo];
  } else if (r.by === 'score') {
    const min = parseScoreBound(r.rev ? b : a);
    const max = parseScoreBound(r.rev ? a : b);
    if (z === undefined) return [];
    [lo, hi] = scoreRange(z, min, max);
  } else {
    const min = parseLexBound(r.rev ? b : a);
    const max = parseLexBound(r.rev ? a : b);
    if (z === undefined) return [];
    [lo, hi] = lexRange(z, min, max);
  }
  let picked = z.slice(lo, hi);
  if (r.rev) picked.reverse();
  if (r.limit) {
    if (r.offset < 0) return [];
    picked = r.count < 0 ? picked.slice(r.offset) : picked.slice(r.offset, r.offset + r.count);
  }
  return picked;
}

function parseRankArg(s: string): number {
  const n = parseIntStrict(s);
  if (n === null) throw new CommandError(ERR_NOT_INT);
  return n;
}

/**
 * Parses [BYSCORE|BYLEX] [REV] [LIMIT o c] [WITHSCORES] from f[from..]; `legacy` fixes by/rev and allows only LIMIT and
 * WITHSCORES; `store` (ZRANGESTORE) refuses WITHSCORES.
 */
function rangeOptions(f: Frame, from: number, legacy: { by: By; rev: boolean } | undefined, store = false): RangeSpec {
  const r: RangeSpec = { by: legacy?.by ?? 'rank', rev: legacy?.rev ?? false, withScores: false, offset: 0, count: -1, limit: false };
  let byScore = false;
  let byLex = false;
  for (let i = from; i < f.argc; i++) {
    const o = argUpper(f, i);
    if (o === 'WITHSCORES' && !(legacy?.by === 'lex') && !store) {
      r.withScores = true;
    } else if (o === 'LIMIT' && i + 2 < f.argc && legacy?.by !== 'rank') {
      r.offset = argInt(f, i + 1);
      r.count = argInt(f, i + 2);
      r.limit = true;
      i += 2;
    } else if (legacy === undefined && o === 'BYSCORE') {
      byScore = true;
    } else if (legacy === undefined && o === 'BYLEX') {
      byLex = true;
    } else if (legacy === undefined && o === 'REV') {
      r.rev = true;
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  if (legacy !== undefined) return r;
  if (byScore && byLex) throw new CommandError(ERR_SYNTAX);
  if (byScore) r.by = 'score';
  if (byLex) r.by = 'lex';
  if (r.limit && r.by === 'rank') throw new CommandError('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (r.withScores && r.by === 'lex') throw new CommandError('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  return r;
}

function zrangeGeneric(legacy: { by: By; rev: boolean } | undefined): Handler {
  return (ctx, _c, f) => {
    const r = rangeOptions(f, 4, legacy);
    const z = read(ctx, argStr(f, 1));
    pairsReply(ctx.out, selectRange(z, argStr(f, 2), argStr(f, 3), r), r.withScores);
  };
}

/** Redis's order of sorted-set nodes: by score, then by member bytes. */
function byScoreThenMember(a: ZNode, b: ZNode): number {
  if (a.s !== b.s) return a.s < b.s ? -1 : 1;
  return a.m < b.m ? -1 : a.m > b.m ? 1 : 0;
}

/**
 * Replaces `dst` with `nodes` (any order; none deletes it, whatever it held), replies its size and wakes
 * the BZPOP waiters of `dst`, as the *STORE commands do in Redis.
 */
function storeNodes(ctx: ServerContext, c: ClientState, dst: string, nodes: readonly ZNode[]): void | Promise<unknown> {
  const sorted = [...nodes].sort(byScoreThenMember); // inserting in order appends: O(n log n) in all
  const w = ctx.ks.typedWrite(true);
  const z = w.replace<ZSetValue>(dst, T_ZSET);
  for (const n of sorted) z.set(n.m, n.s);
  const size = z.size;
  return afterPush(ctx, c, w.commit(), size > 0 ? [dst] : [], () => ctx.out.int(size));
}

const zrangestore: Handler = (ctx, c, f) => {
  const r = rangeOptions(f, 5, undefined, true);
  const nodes = selectRange(read(ctx, argStr(f, 2)), argStr(f, 3), argStr(f, 4), r);
  return storeNodes(ctx, c, argStr(f, 1), nodes);
};

// ---- ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD ----------------------------------

type ZOp = 'union' | 'inter' | 'diff';
type Aggregate = 'SUM' | 'MIN' | 'MAX';

/** An input of the set operations: a sorted set, or a set whose members score 1 (as Redis allows). */
interface ZSource {
  readonly v: ZSetValue | SetValue | undefined;
  weight: number;
}

function sourceSize(s: ZSource): number {
  return s.v?.size ?? 0;
}

function* sourceNodes(v: ZSetValue | SetValue): Generator<ZNode> {
  if (v instanceof ZSetValue) yield* v;
  else for (const m of v.items) yield { m, s: 1 };
}

function sourceScore(v: ZSetValue | SetValue, m: string): number | undefined {
  if (v instanceof ZSetValue) return v.score(m);
  return v.has(m) ? 1 : undefined;
}

function readSource(ctx: ServerContext, key: string): ZSetValue | SetValue | undefined {
  const slot = ctx.ks.lookup(key);
  if (slot < 0) return undefined;
  const t = ctx.ks.typeAt(slot);
  if (t !== T_ZSET && t !== T_SET) throw new WrongTypeError();
  return ctx.ks.typedAt(slot) as ZSetValue | SetValue;
}

/** Redis's zunionInterAggregate: an inf + -inf sum is 0, MIN / MAX keep the target against a NaN. */
function aggregate(target: number, val: number, how: Aggregate): number {
  if (how === 'SUM') {
    const t = target + val;
    return Number.isNaN(t) ? 0 : t;
  }
  if (how === 'MIN') return val < target ? val : target;
  return val > target ? val : target;
}

interface ZOpArgs {
  readonly sources: ZSource[];
  readonly how: Aggregate;
  readonly withScores: boolean;
  readonly limit: number;
}

/**
 * Parses `numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES] [LIMIT n]` from `at` in
 * Redis's order (zunionInterDiffGenericCommand): numkeys, the keys' types, then the options that `op`,
 * `store` and `card` (ZINTERCARD) allow.
 */
function zopArgs(ctx: ServerContext, f: Frame, at: number, name: string, op: ZOp, store: boolean, card: boolean): ZOpArgs {
  const n = parseIntStrict(argStr(f, at));
  if (n === null) throw new CommandError(ERR_NOT_INT);
  if (n < 1) throw new CommandError(`ERR at least 1 input key is needed for '${name}' command`);
  if (n > f.argc - (at + 1)) throw new CommandError(ERR_SYNTAX);
  const sources: ZSource[] = [];
  for (let i = at + 1; i <= at + n; i++) sources.push({ v: readSource(ctx, argStr(f, i)), weight: 1 });
  let how: Aggregate = 'SUM';
  let withScores = false;
  let limit = 0;
  let j = at + 1 + n;
  while (j < f.argc) {
    const remaining = f.argc - j;
    const o = argUpper(f, j);
    if (op !== 'diff' && !card && remaining >= n + 1 && o === 'WEIGHTS') {
      j++;
      for (const src of sources) {
        const w = parseScore(argStr(f, j++));
        if (w === null) throw new CommandError('ERR weight value is not a float');
        src.weight = w;
      }
    } else if (op !== 'diff' && !card && remaining >= 2 && o === 'AGGREGATE') {
      const a = argUpper(f, j + 1);
      if (a !== 'SUM' && a !== 'MIN' && a !== 'MAX') throw new CommandError(ERR_SYNTAX);
      how = a;
      j += 2;
    } else if (!store && !card && o === 'WITHSCORES') {
      withScores = true;
      j++;
    } else if (card && remaining >= 2 && o === 'LIMIT') {
      const l = parseIntStrict(argStr(f, j + 1));
      if (l === null || l < 0) throw new CommandError('ERR LIMIT can\'t be negative');
      limit = l;
      j += 2;
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  return { sources, how, withScores, limit };
}

/** The result of a set operation, unordered; for ZINTERCARD (`limit` >= 0), stops after `limit` members (0: all). */
function zop(op: ZOp, a: ZOpArgs, cardLimit = -1): ZNode[] {
  const srcs = op === 'diff' ? a.sources : [...a.sources].sort((x, y) => sourceSize(x) - sourceSize(y)); // stable, as Redis's
  const out: ZNode[] = [];
  const first = srcs[0];
  if (op === 'inter') {
    if (first.v === undefined || first.v.size === 0) return out;
    outer: for (const n of sourceNodes(first.v)) {
      let acc = first.weight * n.s;
      if (Number.isNaN(acc)) acc = 0;
      for (let j = 1; j < srcs.length; j++) {
        const v = srcs[j].v;
        const s = v === undefined ? undefined : sourceScore(v, n.m);
        if (s === undefined) continue outer;
        acc = aggregate(acc, s * srcs[j].weight, a.how);
      }
      out.push({ m: n.m, s: acc });
      if (out.length === cardLimit) break;
    }
    return out;
  }
  if (op === 'union') {
    const acc = new Map<string, number>();
    for (const src of srcs) {
      if (src.v === undefined) continue;
      for (const n of sourceNodes(src.v)) {
        let weighted = src.weight * n.s;
        if (Number.isNaN(weighted)) weighted = 0;
        const cur = acc.get(n.m);
        acc.set(n.m, cur === undefined ? weighted : aggregate(cur, weighted, a.how));
      }
    }
    for (const [m, s] of acc) out.push({ m, s });
    return out;
  }
  if (first.v === undefined) return out;
  for (const n of sourceNodes(first.v)) {
    let kept = true;
    for (let j = 1; j < srcs.length && kept; j++) {
      const v = srcs[j].v;
      if (v !== undefined && sourceScore(v, n.m) !== undefined) kept = false;
    }
    if (kept) out.push({ m: n.m, s: n.s });
  }
  return out;
}

function zopRead(op: ZOp, name: string): Handler {
  return (ctx, _c, f) => {
    const a = zopArgs(ctx, f, 1, name, op, false, false);
    pairsReply(ctx.out, zop(op, a).sort(byScoreThenMember), a.withScores);
  };
}

function zopStore(op: ZOp, name: string): Handler {
  return (ctx, c, f) => {
    const a = zopArgs(ctx, f, 2, name, op, true, false);
    return storeNodes(ctx, c, argStr(f, 1), zop(op, a));
  };
}

const zintercard: Handler = (ctx, _c, f) => {
  const a = zopArgs(ctx, f, 1, 'zintercard', 'inter', false, true);
  ctx.out.int(zop('inter', a, a.limit).length);
};

// ---- writes -----------------------------------------------------------------------------

/** ZADD's counts for its reply, set by zaddInto (module-level: no object per command). */
let zAdded = 0;
let zChanged = 0;
let zResult: number | undefined;

/** Applies ZADD's score-member pairs from argument `i` to `z` (scores parsed already), counting into zAdded / zChanged / zResult. */
function zaddInto(
  z: ZSetValue, f: Frame, i: number, scores: readonly number[], nx: boolean, xx: boolean, gt: boolean, lt: boolean, incr: boolean,
): void {
  for (let k = 0; k < scores.length; k++) {
    const s = scores[k];
    const a = i + 2 * k + 1;
    const id = z.findBytes(f.args, f.starts[a], f.ends[a]);
    if (id >= 0) {
      if (nx) continue;
      const cur = z.scoreOf(id);
      const next = incr ? cur + s : s;
      if (Number.isNaN(next)) throw new CommandError(ERR_NAN);
      if ((lt && next >= cur) || (gt && next <= cur)) continue;
      zResult = next;
      if (next !== cur) {
        z.setScore(id, next);
        zChanged++;
      }
    } else {
      if (xx) continue;
      z.add(argStr(f, a), s);
      zResult = s;
      zAdded++;
    }
  }
}

function zaddReply(ctx: ServerContext, ch: boolean, incr: boolean, added: number, changed: number, result: number | undefined): void {
  if (!incr) return ctx.out.int(ch ? added + changed : added);
  if (result === undefined) return ctx.out.nil();
  return score(ctx.out, result);
}

const zadd: Handler = (ctx, c, f) => {
  let nx = false; let xx = false; let gt = false; let lt = false; let ch = false; let incr = false;
  let i = 2;
  for (; i < f.argc; i++) {
    if (argLen(f, i) > 4) break; // a score, not an option: spares a string per ZADD
    const o = argUpper(f, i);
    if (o === 'NX') nx = true;
    else if (o === 'XX') xx = true;
    else if (o === 'GT') gt = true;
    else if (o === 'LT') lt = true;
    else if (o === 'CH') ch = true;
    else if (o === 'INCR') incr = true;
    else break;
  }
  const rest = f.argc - i;
  if (rest === 0 || rest % 2 !== 0) throw new CommandError(ERR_SYNTAX);
  if (nx && xx) throw new CommandError('ERR XX and NX options at the same time are not compatible');
  if ((gt && nx) || (lt && nx) || (gt && lt)) throw new CommandError('ERR GT, LT, and/or NX options at the same time are not compatible');
  if (incr && rest > 2) throw new CommandError('ERR INCR option supports a single increment-element pair');
  // Every score is checked before anything changes (as Redis).
  const scores: number[] = [];
  for (let j = i; j < f.argc; j += 2) {
    const s = parseScore(argStr(f, j));
    if (s === null) throw new CommandError(ERR_FLOAT);
    scores.push(s);
  }
  zAdded = 0;
  zChanged = 0;
  zResult = undefined;
  const ks = ctx.ks;
  const slot = ks.liveTypedBytes(f.args, f.starts[1], f.ends[1], T_ZSET, true);
  if (slot >= 0) {
    // Memory only, the sorted set exists: changed in place.
    const live = ks.typedAt(slot) as ZSetValue;
    const mods = live.mods;
    let added = 0;
    let changed = 0;
    let result: number | undefined;
    try {
      zaddInto(live, f, i, scores, nx, xx, gt, lt, incr);
      added = zAdded;
      changed = zChanged;
      result = zResult;
    } finally {
      ks.changedLive(slot, mods);
    }
    zaddReply(ctx, ch, incr, added, changed, result);
    if (added > 0 && hasWaiters(ctx)) signalKey(ctx, argStr(f, 1));
    return undefined;
  }
  const key = argStr(f, 1);
  const w = ks.typedWrite(true);
  const z = w.open<ZSetValue>(key, T_ZSET, !xx);
  if (z !== undefined) zaddInto(z, f, i, scores, nx, xx, gt, lt, incr);
  const added = zAdded;
  const changed = zChanged;
  const result = zResult;
  return afterPush(ctx, c, w.commit(), added > 0 ? [key] : [], () => zaddReply(ctx, ch, incr, added, changed, result));
};

const zincrby: Handler = (ctx, c, f) => {
  const by = parseScore(argStr(f, 2));
  if (by === null) throw new CommandError(ERR_FLOAT);
  const key = argStr(f, 1);
  const w = ctx.ks.typedWrite(true);
  const z = w.open<ZSetValue>(key, T_ZSET, true)!;
  const m = argStr(f, 3);
  const cur = z.score(m);
  const next = (cur ?? 0) + by;
  if (Number.isNaN(next)) throw new CommandError(ERR_NAN);
  z.set(m, next);
  return afterPush(ctx, c, w.commit(), cur === undefined ? [key] : [], () => score(ctx.out, next));
};

const zrem: Handler = (ctx, c, f) => {
  const w = ctx.ks.typedWrite(false);
  const z = w.open<ZSetValue>(argStr(f, 1), T_ZSET, false);
  if (z === undefined) return ctx.out.int(0);
  let n = 0;
  for (let i = 2; i < f.argc; i++) if (z.delete(argStr(f, i))) n++;
  return then(ctx, c, w.commit(), () => ctx.out.int(n));
};

function zremRange(by: By): Handler {
  return (ctx, c, f) => {
    const a = argStr(f, 2);
    const b = argStr(f, 3);
    // Arguments are checked before the key is looked up.
    const sb = by === 'score' ? [parseScoreBound(a), parseScoreBound(b)] as const : undefined;
    const lb = by === 'lex' ? [parseLexBound(a), parseLexBound(b)] as const : undefined;
    const rb = by === 'rank' ? [parseRankArg(a), parseRankArg(b)] as const : undefined;
    const w = ctx.ks.typedWrite(false);
    const z = w.open<ZSetValue>(argStr(f, 1), T_ZSET, false);
    if (z === undefined) return ctx.out.int(0);
    let lo: number;
    let hi: number;
    if (sb !== undefined) [lo, hi] = scoreRange(z, sb[0], sb[1]);
    else if (lb !== undefined) [lo, hi] = lexRange(z, lb[0], lb[1]);
    else [lo, hi] = rankRange(z.size, rb![0], rb![1]);
    const n = z.deleteRange(lo, hi).length;
    return then(ctx, c, w.commit(), () => ctx.out.int(n));
  };
}

// ---- reads ------------------------------------------------------------------------------

const zscore: Handler = (ctx, _c, f) => {
  const s = read(ctx, argStr(f, 1))?.score(argStr(f, 2));
  if (s === undefined) ctx.out.nil();
  else score(ctx.out, s);
};

const zmscore: Handler = (ctx, _c, f) => {
  const z = read(ctx, argStr(f, 1));
  ctx.out.arrayHeader(f.argc - 2);
  for (let i = 2; i < f.argc; i++) {
    const s = z?.score(argStr(f, i));
    if (s === undefined) ctx.out.nil();
    else score(ctx.out, s);
  }
};

const zcard: Handler = (ctx, _c, f) => ctx.out.int(read(ctx, argStr(f, 1))?.size ?? 0);

function zrank(rev: boolean): Handler {
  return (ctx, _c, f) => {
    const z = read(ctx, argStr(f, 1));
    const r = z?.rank(argStr(f, 2));
    if (r === undefined) return ctx.out.nil();
    return ctx.out.int(rev ? z!.size - 1 - r : r);
  };
}

const zcount: Handler = (ctx, _c, f) => {
  const min = parseScoreBound(argStr(f, 2));
  const max = parseScoreBound(argStr(f, 3));
  const z = read(ctx, argStr(f, 1));
  if (z === undefined) return ctx.out.int(0);
  const [lo, hi] = scoreRange(z, min, max);
  return ctx.out.int(hi - lo);
};

const zlexcount: Handler = (ctx, _c, f) => {
  const min = parseLexBound(argStr(f, 2));
  const max = parseLexBound(argStr(f, 3));
  const z = read(ctx, argStr(f, 1));
  if (z === undefined) return ctx.out.int(0);
  const [lo, hi] = lexRange(z, min, max);
  return ctx.out.int(hi - lo);
};

const zscan: Handler = (ctx, _c, f) => scanReply(ctx, f, () => {
  const z = read(ctx, argStr(f, 1));
  if (z === undefined) return undefined;
  return [{ size: z.size, mods: z.mods, members: () => Array.from(z, (n) => n.m), extra: (m) => formatScore(z.score(m)!) }, z];
});

const zrandmember: Handler = (ctx, _c, f) => {
  if (f.argc === 2) {
    const z = read(ctx, argStr(f, 1));
    if (z === undefined) return ctx.out.nil();
    return ctx.out.bulk(z.at(randomIndex(z.size)).m);
  }
  const count = randomCount(f, 2);
  if (f.argc > 4 || (f.argc === 4 && argUpper(f, 3) !== 'WITHSCORES')) throw new CommandError(ERR_SYNTAX);
  const withScores = f.argc === 4;
  if (withScores) checkPairsCount(f, 2);
  const z = read(ctx, argStr(f, 1));
  if (z === undefined || count === 0) return ctx.out.arrayHeader(0);
  // A positive count: distinct members; a negative one: -count picks that may repeat (as Redis).
  const picks = count > 0 ? distinctPicks(z.size, count) : repeatedPicks(z.size, count);
  pairsReply(ctx.out, Array.from(picks, (i) => z.at(i)), withScores);
  return undefined;
};

// ---- pops -------------------------------------------------------------------------------

function popFrom(ctx: ServerContext, key: string, max: boolean, count: number): false | { wait: Promise<unknown> | undefined; nodes: ZNode[] } {
  const w = ctx.ks.typedWrite(false);
  const z = w.open<ZSetValue>(key, T_ZSET, false);
  if (z === undefined) return false;
  const n = Math.min(count, z.size);
  const nodes = max ? z.deleteRange(z.size - n, z.size).reverse() : z.deleteRange(0, n);
  return { wait: w.commit(), nodes };
}

function zpop(max: boolean): Handler {
  return (ctx, c, f) => {
    if (f.argc > 3) throw new CommandError(ERR_SYNTAX);
    let count: number | undefined;
    if (f.argc === 3) {
      count = argPositive(f, 2);
    }
    const r = popFrom(ctx, argStr(f, 1), max, count ?? 1);
    if (r === false) return ctx.out.arrayHeader(0);
    return then(ctx, c, r.wait, () => {
      if (count !== undefined) return pairsReply(ctx.out, r.nodes, true);
      ctx.out.arrayHeader(r.nodes.length * 2);
      for (const n of r.nodes) {
        ctx.out.bulk(n.m);
        score(ctx.out, n.s);
      }
      return undefined;
    });
  };
}

function bzpop(max: boolean): Handler {
  return (ctx, c, f) => {
    const timeout = parseTimeout(argStr(f, f.argc - 1));
    const keys: string[] = [];
    for (let i = 1; i < f.argc - 1; i++) keys.push(argStr(f, i));
    const attempt = (cx: ServerContext, key: string): Attempt => {
      const r = popFrom(cx, key, max, 1);
      if (r === false || r.nodes.length === 0) return false;
      return {
        wait: r.wait,
        reply: (out: ReplyWriter) => {
          out.arrayHeader(3);
          out.bulk(unprefixed(key));
          out.bulk(r.nodes[0].m);
          score(out, r.nodes[0].s);
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

const minMax = (word: string): boolean | undefined => (word === 'MIN' ? false : word === 'MAX' ? true : undefined);

/** ZMPOP / BZMPOP's reply: [key, [[member, score]...]], nested in RESP2 too. */
function zmpopReply(out: ReplyWriter, key: string, nodes: readonly ZNode[]): void {
  out.arrayHeader(2);
  out.bulk(unprefixed(key));
  out.arrayHeader(nodes.length);
  for (const n of nodes) {
    out.arrayHeader(2);
    out.bulk(n.m);
    score(out, n.s);
  }
}

function zmpopAttempt(max: boolean, count: number) {
  return (cx: ServerContext, key: string): Attempt => {
    const r = popFrom(cx, key, max, count);
    if (r === false || r.nodes.length === 0) return false;
    return { wait: r.wait, reply: (out: ReplyWriter) => zmpopReply(out, key, r.nodes) };
  };
}

/** ZMPOP (`blocking` false) and BZMPOP: pop from the first non-empty sorted set of the keys. */
function zmpop(blocking: boolean): Handler {
  return (ctx, c, f) => {
    const timeout = blocking ? parseTimeout(argStr(f, 1)) : 0;
    const { keys, where, count } = mpopArgs(f, blocking ? 2 : 1, minMax);
    const attempt = zmpopAttempt(where, count);
    for (const k of keys) {
      const a = attempt(ctx, k);
      if (a !== false) return then(ctx, c, a.wait, () => a.reply(ctx.out));
    }
    if (!blocking || inTransaction(c)) return ctx.out.nilArray();
    return block(ctx, c, keys, timeout, attempt, (out) => out.nilArray());
  };
}

export const ZSET_SPECS: Spec[] = [
  ['zadd', -4, 'write denyoom fast', [1, 1, 1], 'sorted-set', 'Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn\'t exist.', zadd],
  ['zincrby', 4, 'write denyoom fast', [1, 1, 1], 'sorted-set', 'Increments the score of a member in a sorted set.', zincrby],
  ['zrem', -3, 'write fast', [1, 1, 1], 'sorted-set', 'Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.', zrem],
  ['zscore', 3, 'readonly fast', [1, 1, 1], 'sorted-set', 'Returns the score of a member in a sorted set.', zscore],
  ['zmscore', -3, 'readonly fast', [1, 1, 1], 'sorted-set', 'Returns the score of one or more members in a sorted set.', zmscore],
  ['zcard', 2, 'readonly fast', [1, 1, 1], 'sorted-set', 'Returns the number of members in a sorted set.', zcard],
  ['zcount', 4, 'readonly fast', [1, 1, 1], 'sorted-set', 'Returns the count of members in a sorted set that have scores within a range.', zcount],
  ['zlexcount', 4, 'readonly fast', [1, 1, 1], 'sorted-set', 'Returns the number of members in a sorted set within a lexicographical range.', zlexcount],
  ['zrank', 3, 'readonly fast', [1, 1, 1], 'sorted-set', 'Returns the index of a member in a sorted set ordered by ascending scores.', zrank(false)],
  ['zrevrank', 3, 'readonly fast', [1, 1, 1], 'sorted-set', 'Returns the index of a member in a sorted set ordered by descending scores.', zrank(true)],
  ['zrange', -4, 'readonly', [1, 1, 1], 'sorted-set', 'Returns members in a sorted set within a range of indexes.', zrangeGeneric(undefined)],
  ['zrevrange', -4, 'readonly', [1, 1, 1], 'sorted-set', 'Returns members in a sorted set within a range of indexes in reverse order.', zrangeGeneric({ by: 'rank', rev: true })],
  ['zrangebyscore', -4, 'readonly', [1, 1, 1], 'sorted-set', 'Returns members in a sorted set within a range of scores.', zrangeGeneric({ by: 'score', rev: false })],
  ['zrevrangebyscore', -4, 'readonly', [1, 1, 1], 'sorted-set', 'Returns members in a sorted set within a range of scores in reverse order.', zrangeGeneric({ by: 'score', rev: true })],
  ['zrangebylex', -4, 'readonly', [1, 1, 1], 'sorted-set', 'Returns members in a sorted set within a lexicographical range.', zrangeGeneric({ by: 'lex', rev: false })],
  ['zrevrangebylex', -4, 'readonly', [1, 1, 1], 'sorted-set', 'Returns members in a sorted set within a lexicographical range in reverse order.', zrangeGeneric({ by: 'lex', rev: true })],
  ['zpopmin', -2, 'write fast', [1, 1, 1], 'sorted-set', 'Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.', zpop(false)],
  ['zpopmax', -2, 'write fast', [1, 1, 1], 'sorted-set', 'Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.', zpop(true)],
  ['bzpopmin', -3, 'write noscript blocking fast', [1, -2, 1], 'sorted-set', 'Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise.', bzpop(false)],
  ['bzpopmax', -3, 'write noscript blocking fast', [1, -2, 1], 'sorted-set', 'Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.', bzpop(true)],
  ['zremrangebyscore', 4, 'write', [1, 1, 1], 'sorted-set', 'Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.', zremRange('score')],
  ['zremrangebyrank', 4, 'write', [1, 1, 1], 'sorted-set', 'Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.', zremRange('rank')],
  ['zremrangebylex', 4, 'write', [1, 1, 1], 'sorted-set', 'Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.', zremRange('lex')],
  ['zscan', -3, 'readonly', [1, 1, 1], 'sorted-set', 'Iterates over members and scores of a sorted set.', zscan],
  ['zrangestore', -5, 'write denyoom', [1, 2, 1], 'sorted-set', 'Stores a range of members from sorted set in a key.', zrangestore],
  ['zunion', -3, 'readonly movablekeys', [0, 0, 0], 'sorted-set', 'Returns the union of multiple sorted sets.', zopRead('union', 'zunion'), undefined, numkeysRange(1)],
  ['zinter', -3, 'readonly movablekeys', [0, 0, 0], 'sorted-set', 'Returns the intersect of multiple sorted sets.', zopRead('inter', 'zinter'), undefined, numkeysRange(1)],
  ['zdiff', -3, 'readonly movablekeys', [0, 0, 0], 'sorted-set', 'Returns the difference between multiple sorted sets.', zopRead('diff', 'zdiff'), undefined, numkeysRange(1)],
  ['zunionstore', -4, 'write denyoom movablekeys', [0, 0, 0], 'sorted-set', 'Stores the union of multiple sorted sets in a key.', zopStore('union', 'zunionstore'), undefined, numkeysRange(2, 1)],
  ['zinterstore', -4, 'write denyoom movablekeys', [0, 0, 0], 'sorted-set', 'Stores the intersect of multiple sorted sets in a key.', zopStore('inter', 'zinterstore'), undefined, numkeysRange(2, 1)],
  ['zdiffstore', -4, 'write denyoom movablekeys', [0, 0, 0], 'sorted-set', 'Stores the difference of multiple sorted sets in a key.', zopStore('diff', 'zdiffstore'), undefined, numkeysRange(2, 1)],
  ['zintercard', -3, 'readonly movablekeys', [0, 0, 0], 'sorted-set', 'Returns the number of members of the intersect of multiple sorted sets.', zintercard, undefined, numkeysRange(1)],
  ['zrandmember', -2, 'readonly', [1, 1, 1], 'sorted-set', 'Returns one or more random members from a sorted set.', zrandmember],
  ['zmpop', -4, 'write movablekeys', [0, 0, 0], 'sorted-set', 'Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.', zmpop(false), undefined, numkeysRange(1)],
  ['bzmpop', -5, 'write noscript blocking movablekeys', [0, 0, 0], 'sorted-set', 'Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.', zmpop(true), undefined, numkeysRange(2)],
];

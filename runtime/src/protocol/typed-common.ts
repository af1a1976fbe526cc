/**
 * Helpers shared by the aggregate families (hashes.ts, lists.ts, sets.ts,
 * zsets.ts). Loaded after commands.ts (which registers the families): nothing
 * here uses commands.ts at module load.
 */
import { argStr, argUpper, CommandError, ERR_SYNTAX, Frame, KeyBounds, parseIntStrict, ServerContext } from './commands';
import { globToRegExp } from '../keyspace/glob';

export const ERR_RANGE = 'ERR value is out of range, must be positive';

/**
 * The key positions of `numkeys key [key ...]` with numkeys at `at` (LMPOP,
 * ZUNION...), plus `extra` (a destination) when given. An invalid numkeys
 * names no keys: the command answers its error.
 */
export function numkeysRange(at: number, extra?: number): (f: Frame) => KeyBounds {
  return (f) => {
    const n = at < f.argc ? parseIntStrict(argStr(f, at)) : null;
    const last = n === null || n < 1 || at + n > f.argc - 1 ? at : at + n;
    return extra === undefined ? [at + 1, last, 1] : [at + 1, last, 1, extra];
  };
}

/** `numkeys` of LMPOP / ZMPOP / SINTERCARD: at least 1 (Redis's getRangeLong with its message). */
export function parseNumkeys(f: Frame, i: number): number {
  const n = parseIntStrict(argStr(f, i));
  if (n === null || n < 1) throw new CommandError('ERR numkeys should be greater than 0');
  return n;
}

/**
 * LMPOP / ZMPOP's `numkeys key... <where> [COUNT n]` from `at`, checked in
 * Redis's order: numkeys, <where> (`where` maps its upper-cased word, undefined:
 * syntax error), then COUNT (1 by default).
 */
export function mpopArgs<T>(f: Frame, at: number, where: (word: string) => T | undefined): { keys: string[]; where: T; count: number } {
  const n = parseNumkeys(f, at);
  const whereAt = at + n + 1;
  if (whereAt >= f.argc) throw new CommandError(ERR_SYNTAX);
  const w = where(argUpper(f, whereAt));
  if (w === undefined) throw new CommandError(ERR_SYNTAX);
  let count = -1;
  for (let j = whereAt + 1; j < f.argc; j++) {
    if (count === -1 && argUpper(f, j) === 'COUNT' && j + 1 < f.argc) {
      const c = parseIntStrict(argStr(f, ++j));
      if (c === null || c < 1) throw new CommandError('ERR count should be greater than 0');
      count = c;
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  const keys: string[] = [];
  for (let i = at + 1; i < whereAt; i++) keys.push(argStr(f, i));
  return { keys, where: w, count: count === -1 ? 1 : count };
}

/** HSCAN / SSCAN / ZSCAN options: cursor, MATCH, COUNT. */
export function scanArgs(f: Frame): { cursor: number; match: RegExp | undefined; count: number } {
  const cursor = parseIntStrict(argStr(f, 2));
  if (cursor === null || cursor < 0) throw new CommandError('ERR invalid cursor');
  let match: RegExp | undefined;
  let count = 10;
  for (let i = 3; i < f.argc; i++) {
    const o = argUpper(f, i);
    if (i + 1 >= f.argc) throw new CommandError(ERR_SYNTAX);
    if (o === 'MATCH') {
      const p = argStr(f, ++i);
      match = p === '*' ? undefined : globToRegExp(p);
    } else if (o === 'COUNT') {
      const n = parseIntStrict(argStr(f, ++i));
      if (n === null) throw new CommandError('ERR value is not an integer or out of range');
      if (n < 1) throw new CommandError(ERR_SYNTAX);
      count = n;
    } else {
      throw new CommandError(ERR_SYNTAX);
    }
  }
  return { cursor, match, count };
}

/**
 * Replies to a *SCAN of an aggregate: everything that matches, in one reply,
 * with cursor 0. Redis does the same for its small encodings (listpack,
 * intset); COUNT is a hint, so clients iterate correctly either way, and
 * every element present for the whole scan is returned exactly once.
 */
export function scanReply(ctx: ServerContext, items: readonly string[], stride: 1 | 2, match: RegExp | undefined): void {
  const out: string[] = [];
  for (let i = 0; i < items.length; i += stride) {
    if (match !== undefined && !match.test(items[i])) continue;
    for (let j = 0; j < stride; j++) out.push(items[i + j]);
  }
  ctx.out.arrayHeader(2);
  ctx.out.bulk('0');
  ctx.out.arrayHeader(out.length);
  for (const x of out) ctx.out.bulk(x);
}

/** Formats a double as Redis 7.0 replies scores (printf %.17g; inf, -inf). */
export function formatScore(n: number): string {
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return '0'; // Redis prints a -0 score as 0 too
  const e = n.toExponential(16);
  const at = e.indexOf('e');
  const exp = Number(e.slice(at + 1));
  if (exp < -4 || exp >= 17) {
    let mant = e.slice(0, at);
    if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    const a = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${a < 10 ? '0' : ''}${a}`;
  }
  let s = n.toFixed(Math.max(0, 16 - exp));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** A score or increment argument: a float, "inf", "+inf", "-inf" (Redis's strtod rules, no NaN). */
export function parseScore(s: string): number | null {
  const l = s.toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity' || l === '+infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return null;
  const n = Number(s);
  return Number.isNaN(n) ? null : n;
}

/** A random integer in [0, n). */
export function randomIndex(n: number): number {
  return Math.floor(Math.random() * n);
}

/**
 * The count of HRANDFIELD / SRANDMEMBER / ZRANDMEMBER-style commands: a
 * signed integer whose magnitude must fit the reply.
 */
export function randomCount(f: Frame, i: number): number {
  const n = parseIntStrict(argStr(f, i));
  if (n === null) throw new CommandError('ERR value is not an integer or out of range');
  if (n < -Number.MAX_SAFE_INTEGER / 2) throw new CommandError('ERR value is out of range');
  return n;
}

/** `count` distinct random picks from `size` positions (Floyd's algorithm), in random order. */
export function distinctPicks(size: number, count: number): number[] {
  if (count >= size) {
    const all = Array.from({ length: size }, (_, i) => i);
    for (let i = size - 1; i > 0; i--) {
      const j = randomIndex(i + 1);
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all;
  }
  const picked = new Set<number>();
  for (let j = size - count; j < size; j++) {
    const t = randomIndex(j + 1);
    picked.add(picked.has(t) ? j : t);
  }
  return [...picked];
}

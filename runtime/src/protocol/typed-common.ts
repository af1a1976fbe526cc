/**
 * Helpers shared by the aggregate families (hashes.ts, lists.ts, sets.ts,
 * zsets.ts). Loaded after commands.ts (which registers the families): nothing
 * here uses commands.ts at module load.
 */
import { argStr, argUpper, CommandError, ERR_SYNTAX, Frame, KeyBounds, parseInt64, parseIntStrict, parseScanCursor, ServerContext } from './commands';
import { globToRegExp } from '../keyspace/glob';


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

/** HSCAN / SSCAN / ZSCAN options: MATCH, COUNT. */
function scanOptions(f: Frame): { match: RegExp | undefined; count: number } {
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
  return { match, count };
}

/**
 * HSCAN / SSCAN / ZSCAN (docs/commands.md "Cursors of HSCAN, SSCAN and ZSCAN").
 *
 * A value of at most SCAN_ONE_REPLY elements is answered whole, in its
 * order, with cursor 0, whatever the cursor: Redis does the same for its
 * small encodings (listpack, intset). A larger value is walked in the order
 * of a 32-bit hash of its members: the cursor is the lowest hash not yet
 * returned; a step returns the members with the next COUNT hashes (all the
 * members of the last hash, so a hash is never split) and the cursor after
 * them, 0 at the end. A member's hash never changes, so one present for the
 * whole scan is returned exactly once however the value changes between
 * steps; members added or removed meanwhile may or may not be. MATCH filters
 * a step's members after they are picked, so a step may return none with a
 * cursor other than 0, as in Redis.
 *
 * The members sorted by hash are kept per value (weakly, dropped when a scan
 * ends or the value changes): a step on an unchanged value costs
 * O(log n + COUNT); after a change, the next step sorts again, O(n log n).
 */
export const SCAN_ONE_REPLY = 128;

interface ScanIndex {
  readonly mods: number;
  readonly hashes: Uint32Array;
  readonly members: string[];
}

const SCAN_INDEXES = new WeakMap<object, ScanIndex>();

/** FNV-1a over the member's bytes. */
function memberHash(m: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < m.length; i++) h = Math.imul(h ^ m.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function buildScanIndex(mods: number, members: readonly string[]): ScanIndex {
  const n = members.length;
  const hs = new Uint32Array(n);
  for (let i = 0; i < n; i++) hs[i] = memberHash(members[i]);
  let order: ArrayLike<number>;
  if (n < 2 ** 21) {
    // hash * 2^21 + index is exact in a double: a typed-array sort, no comparator calls.
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = hs[i] * 2 ** 21 + i;
    keys.sort();
    order = keys.map((k) => k % 2 ** 21);
  } else {
    order = Array.from({ length: n }, (_, i) => i).sort((a, b) => hs[a] - hs[b]);
  }
  const hashes = new Uint32Array(n);
  const sorted = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    hashes[i] = hs[order[i]];
    sorted[i] = members[order[i]];
  }
  return { mods, hashes, members: sorted };
}

/** An aggregate as *SCAN sees it: its members, in its own order, and what a member's reply adds (HSCAN's value, ZSCAN's score). */
export interface Scannable {
  readonly size: number;
  readonly mods: number;
  members(): string[];
  extra?(member: string): string;
}

/**
 * Answers one *SCAN step for the arguments of `f`; `read` looks the key up (undefined: absent) and gives
 * the value's view and the value itself (the index's key). Checked in Redis's order: the cursor, the key
 * (an absent one answers an empty scan whatever the options), then MATCH and COUNT.
 */
export function scanReply(ctx: ServerContext, f: Frame, read: () => [Scannable, object] | undefined): void {
  const cursor = parseScanCursor(argStr(f, 2));
  const found = read();
  if (found === undefined) {
    ctx.out.arrayHeader(2);
    ctx.out.bulk('0');
    ctx.out.arrayHeader(0);
    return;
  }
  const { match, count } = scanOptions(f);
  const [v, key] = found;
  let picked: readonly string[];
  let next = 0;
  if (v.size <= SCAN_ONE_REPLY) {
    picked = v.members();
  } else {
    let ix = SCAN_INDEXES.get(key);
    if (ix === undefined || ix.mods !== v.mods) {
      ix = buildScanIndex(v.mods, v.members());
      SCAN_INDEXES.set(key, ix);
    }
    const { hashes, members } = ix;
    let lo = 0;
    let hi = hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid] < cursor) lo = mid + 1;
      else hi = mid;
    }
    let end = Math.min(lo + count, hashes.length);
    while (end < hashes.length && end > lo && hashes[end] === hashes[end - 1]) end++;
    picked = members.slice(lo, end);
    if (end < hashes.length) next = hashes[end - 1] + 1;
    else SCAN_INDEXES.delete(key);
  }
  const out: string[] = [];
  for (const m of picked) {
    if (match !== undefined && !match.test(m)) continue;
    out.push(m);
    if (v.extra !== undefined) out.push(v.extra(m));
  }
  ctx.out.arrayHeader(2);
  ctx.out.bulk(String(next));
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
  const len = s.length;
  if (len > 0 && len <= 15) {
    // Plain digits (ZADD's common case, exact below 10^15) without the regular expression and the lower-cased copy.
    let v = 0;
    let i = 0;
    for (; i < len; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (i === len) return v;
  }
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
 * The count of HRANDFIELD / SRANDMEMBER / ZRANDMEMBER, as Redis 7.0 reads it
 * (getRangeLongFromObjectOrReply from -LONG_MAX to LONG_MAX): any int64 but
 * -2^63. A negative count asks for that many picks, repeats allowed.
 */
export function randomCount(f: Frame, i: number): number {
  const n = parseInt64(argStr(f, i));
  if (n === null) throw new CommandError('ERR value is not an integer or out of range');
  if (n === -(2n ** 63n)) throw new CommandError('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  return Number(n);
}

/** HRANDFIELD ... WITHVALUES / ZRANDMEMBER ... WITHSCORES: Redis refuses a count whose doubled reply would overflow a long. */
export function checkPairsCount(f: Frame, i: number): void {
  const n = parseInt64(argStr(f, i))!;
  if (n > 4611686018427387903n || n < -4611686018427387903n) throw new CommandError('ERR value is out of range');
}

/**
 * Most picks a negative random count may ask for. Redis has no such bound: it
 * starts a reply of -count elements (and, for a count like -2^62, runs out of
 * memory writing it). state-cache refuses a count past this bound instead of
 * building the reply.
 */
export const MAX_RANDOM_PICKS = 2 ** 22;

/** `-count` random positions in [0, size), repeats allowed (a negative count); refused past MAX_RANDOM_PICKS. */
export function repeatedPicks(size: number, count: number): Uint32Array {
  if (-count > MAX_RANDOM_PICKS) {
    throw new CommandError(`ERR value is out of range, a negative count asks for at most ${MAX_RANDOM_PICKS} elements in state-cache`);
  }
  const picks = new Uint32Array(-count);
  for (let i = 0; i < picks.length; i++) picks[i] = randomIndex(size);
  return picks;
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

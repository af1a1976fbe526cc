/**
 * The command API: what every command handler and the front ends share (the
 * frame, the client and server state, the handler type, command errors and
 * the argument helpers). A leaf of the protocol layer: it imports only the
 * keyspace, never a handler family or the command table, so families and the
 * table can import it without cycles.
 */
import type { ReplyWriter } from './resp';
import type { ClusterMap } from '../cluster/cluster';
import { Keyspace, STRING_VALUE_MAX, Value } from '../keyspace/keyspace';
import { clientError, CommandError, OutOfMemoryError } from '../vocabulary';

/** The arguments of one command: offsets into `args`. The RequestParser is one. */
export interface Frame {
  readonly argc: number;
  readonly args: Buffer;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
}

export { CommandError };

export const ERR_SYNTAX = 'ERR syntax error';
export const ERR_NOT_INT = 'ERR value is not an integer or out of range';
export const ERR_OOM = 'OOM command not allowed when used memory > \'maxmemory\'.';
export const ERR_NOAUTH = 'NOAUTH Authentication required.';
export const ERR_WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';
export const ERR_EXECABORT = 'EXECABORT Transaction discarded because of previous errors.';
export const ERR_WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';


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
  /** CLIENT TRACKING's settings while on, else null (tracking.ts). */
  tracking: TrackingState | null;
  kill(): void;
  /** Output encoded after the command's read event (a command that waited). */
  deliver(chunks: Buffer[]): void;
  /**
   * A push message (Pub/Sub), written with the client's other pushes of this
   * event-loop turn in one socket write; output the client gets meanwhile
   * goes after it. Absent: `deliver` at once.
   */
  deliverSoon?(chunk: Buffer): void;
}

/** One client's tracking settings (CLIENT TRACKING on ...; tracking.ts). */
export interface TrackingState {
  readonly bcast: boolean;
  readonly optin: boolean;
  readonly optout: boolean;
  readonly noloop: boolean;
  /** The client id invalidations go to; 0: this connection (RESP3). */
  readonly redirect: number;
  readonly prefixes: string[];
  /** CLIENT CACHING yes / no, for the next command only (or the next transaction). */
  caching: boolean | undefined;
  /** A transaction ran under `caching`: the next command outside it spends it. */
  cachingInTx: boolean;
  /** The redirect target went away (CLIENT TRACKINGINFO's broken_redirect). */
  brokenRedirect: boolean;
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
  /** The command named by `f`'s argument 0 (command-table.ts), for commands that run commands (scripts). */
  lookup(f: Frame): Command | undefined;
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

/**
 * Redis's command flags, one bit each. The table parses a spec's flag words
 * into Command.bits once; the gatekeepers (connection, scripts) test bits, not
 * strings, on every dispatch.
 */
export const CommandFlags = {
  WRITE: 1 << 0,
  READONLY: 1 << 1,
  DENYOOM: 1 << 2,
  ADMIN: 1 << 3,
  PUBSUB: 1 << 4,
  NOSCRIPT: 1 << 5,
  BLOCKING: 1 << 6,
  LOADING: 1 << 7,
  STALE: 1 << 8,
  SKIP_MONITOR: 1 << 9,
  SKIP_SLOWLOG: 1 << 10,
  FAST: 1 << 11,
  NO_AUTH: 1 << 12,
  MAY_REPLICATE: 1 << 13,
  NO_MANDATORY_KEYS: 1 << 14,
  ALLOW_BUSY: 1 << 15,
  MOVABLEKEYS: 1 << 16,
} as const;

/** The bits of space-separated Redis flag words; an unknown word is a mistake in a spec, refused when the table is built. */
export function flagBits(words: readonly string[], command: string): number {
  let bits = 0;
  for (const w of words) {
    const bit = (CommandFlags as Record<string, number>)[w.toUpperCase()];
    if (bit === undefined) throw new Error(`command ${command}: unknown flag "${w}"`);
    bits |= bit;
  }
  return bits;
}

export interface Command {
  readonly name: string;
  readonly index: number;
  /** Redis arity: positive is exact, negative is a minimum (both count the name). */
  readonly arity: number;
  /** The flag words, for COMMAND's reply. */
  readonly flags: readonly string[];
  /** The same flags as CommandFlags bits, for the gatekeepers. */
  readonly bits: number;
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

/**
 * Redis's string2ll: optional '-', digits without leading zeros, within int64.
 * Exact up to 2^53; beyond, the nearest double, which is what indexes, counts
 * and offsets need (they are clamped or refused by magnitude). Arguments whose
 * exact value matters (INCRBY, expiry times) use parseInt64.
 */
export function parseIntStrict(s: string): number | null {
  if (s.length === 0 || s.length > 20) return null;
  if (!/^-?(0|[1-9][0-9]*)$/.test(s) || s === '-0') return null;
  const n = Number(s);
  if (Number.isSafeInteger(n)) return n;
  const b = BigInt(s);
  return b > INT64_MAX || b < INT64_MIN ? null : n;
}

export function argInt(f: Frame, i: number): number {
  const n = parseIntStrict(argStr(f, i));
  if (n === null) throw new CommandError(ERR_NOT_INT);
  return n;
}

/** Redis's "value is out of range, must be positive" (getPositiveLongFromObjectOrReply: also its text for a non-integer). */
export const ERR_POSITIVE = 'ERR value is out of range, must be positive';

/** A count that must be >= 0 (LPOP, SPOP, ZPOPMIN ... count), refused with ERR_POSITIVE as Redis does. */
export function argPositive(f: Frame, i: number): number {
  const n = parseIntStrict(argStr(f, i));
  if (n === null || n < 0) throw new CommandError(ERR_POSITIVE);
  return n;
}

/** An exact int64 argument. */
export function argInt64(f: Frame, i: number): bigint {
  const n = parseInt64(argStr(f, i));
  if (n === null) throw new CommandError(ERR_NOT_INT);
  return n;
}

/**
 * A SCAN / HSCAN / SSCAN / ZSCAN cursor, read as Redis 7.0 reads it (strtoul
 * in parseScanCursorOrReply): an unsigned 64-bit number, a leading '+' or '-'
 * allowed (a negative one wraps around 2^64), leading zeros allowed, '' as 0;
 * a leading space, anything after the digits or a value past 2^64 - 1 is
 * `ERR invalid cursor`. The result is exact up to 2^53, which is past every
 * cursor state-cache hands out: a larger one ends the scan.
 */
export function parseScanCursor(s: string): number {
  const m = /^([+-]?)([0-9]*)$/.exec(s);
  if (m === null || (m[2] === '' && m[1] !== '')) throw new CommandError('ERR invalid cursor');
  let v = BigInt(m[2] === '' ? 0 : m[2]);
  if (v >= 2n ** 64n) throw new CommandError('ERR invalid cursor');
  if (m[1] === '-' && v !== 0n) v = 2n ** 64n - v;
  return Number(v);
}

/**
 * The latest expiry time kept (beyond Date's range). Redis accepts expiry
 * times up to int64 milliseconds; state-cache accepts the same arguments and
 * keeps a later time as this one (TTL then answers from it).
 */
export const MAX_EXPIRE_MS = 8.64e15;

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

export function parseInt64(s: string): bigint | null {
  if (s.length === 0 || s.length > 20 || !/^-?(0|[1-9][0-9]*)$/.test(s) || s === '-0') return null;
  const n = BigInt(s);
  return n > INT64_MAX || n < INT64_MIN ? null : n;
}

/** Redis's expire-time error for `cmd`. */
export function invalidExpire(cmd: string): CommandError {
  return new CommandError(`ERR invalid expire time in '${cmd}' command`);
}

/** An absolute expiry in ms (possibly past, possibly negative) as a number, later times kept as MAX_EXPIRE_MS. */
function keptExpiry(at: bigint): number {
  return at > BigInt(MAX_EXPIRE_MS) ? MAX_EXPIRE_MS : Number(at);
}

/**
 * EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT's time (Redis 7.0's expireGenericCommand): any int64, refused
 * when the unit conversion or the addition of `now` (relative forms) would overflow int64. The result may
 * be in the past (the key is then deleted).
 */
export function expireArg(f: Frame, i: number, unitMs: 1 | 1000, relative: boolean, cmd: string): number {
  let when = argInt64(f, i);
  if (unitMs === 1000) {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) throw invalidExpire(cmd);
    when *= 1000n;
  }
  const base = relative ? BigInt(Date.now()) : 0n;
  if (when > INT64_MAX - base) throw invalidExpire(cmd);
  return keptExpiry(when + base);
}

/**
 * SET / SETEX / PSETEX / GETEX's EX, PX, EXAT, PXAT time (Redis 7.0's getExpireMillisecondsOrReply): a
 * positive int64 whose conversion to an absolute ms time does not overflow.
 */
export function setExpiryArg(f: Frame, i: number, unit: 'EX' | 'PX' | 'EXAT' | 'PXAT', cmd: string): number {
  let ms = argInt64(f, i);
  const seconds = unit === 'EX' || unit === 'EXAT';
  if (ms <= 0n || (seconds && ms > INT64_MAX / 1000n)) throw invalidExpire(cmd);
  if (seconds) ms *= 1000n;
  if (unit === 'EX' || unit === 'PX') ms += BigInt(Date.now());
  if (ms > INT64_MAX) throw invalidExpire(cmd);
  return keptExpiry(ms);
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


export function formatFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  let s = n.toPrecision(17);
  if (s.includes('e')) return String(n);
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  // toPrecision(17) exposes binary noise (0.1 -> 0.10000000000000001); prefer the shortest exact form.
  const shortest = String(n);
  return !shortest.includes('e') && Number(shortest) === Number(s) ? shortest : s;
}

const DEC_FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const HEX_FLOAT_RE = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)(?:[pP]([+-]?\d+))?$/;

/** True when decimal `s` is beyond a long double (strtold's ERANGE: above LDBL_MAX, or rounding to 0). */
function outOfLongDouble(s: string): boolean {
  const m = /^[+-]?(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$/.exec(s)!;
  const digits = m[1] + m[2];
  const first = digits.search(/[1-9]/);
  if (first < 0) return false;
  const mag = Number(m[3] ?? 0) + m[1].length - 1 - first;
  const mant = Number(`${digits[first]}.${digits.slice(first + 1, first + 17)}0`);
  // LDBL_MAX is 1.18973e4932; below half the least denormal (3.6452e-4951) a long double rounds to 0.
  return mag > 4932 || (mag === 4932 && mant > 1.18973149535723176) || mag < -4951 || (mag === -4951 && mant < 1.8225997659412373);
}

/**
 * A float argument or stored value of INCRBYFLOAT / HINCRBYFLOAT, as Redis 7.0's string2ld reads it
 * (strtold over the whole string): decimal, hexadecimal (`0x1p4`), `inf` / `infinity` with a sign, any
 * case; no leading space, nothing after the number, no NaN, at most 5119 bytes. An infinity is
 * returned as such (the command refuses it by its own words). A finite number beyond the double range
 * (Redis computes in long doubles) is returned as an infinity too.
 */
export function parseFloatStrict(s: string): number | null {
  if (s.length === 0 || s.length >= 5120) return null;
  if (DEC_FLOAT_RE.test(s)) return outOfLongDouble(s) ? null : Number(s);
  const l = s.toLowerCase().replace(/^\+/, '');
  if (l === 'inf' || l === 'infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  const m = HEX_FLOAT_RE.exec(s);
  if (m === null || m[2] + m[3] === '') return null;
  let v = 0;
  for (const d of m[2] + m[3]) v = v * 16 + parseInt(d, 16);
  v *= 2 ** (Number(m[4] ?? 0) - 4 * m[3].length);
  return m[1] === '-' ? -v : v;
}

/** The Redis version whose commands and semantics state-cache implements (docs/commands.md lists them). */
export const SERVER_VERSION = '7.0.0';

/** This package's version (INFO state_cache_version). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const STATE_CACHE_VERSION: string = (require('../../package.json') as { version?: string }).version ?? '0.0.0';

/**
 * One command as a family declares it: name, Redis arity, Redis flags (space
 * separated; the table parses them once into Command.bits), key positions
 * [first, last, step], group and summary (COMMAND DOCS), the handler, and
 * optionally whether an invocation is blind and where its keys are.
 */
export type Spec = [
  name: string, arity: number, flags: string, keys: [number, number, number], group: string, summary: string,
  handler: Handler, blind?: (f: Frame) => boolean, keyRange?: (f: Frame) => KeyBounds,
];

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

/** The RESP error text for an error a command threw (errors.ts), or undefined for a bug; counts OOM errors in `stats` when given. */
export function errorReply(e: unknown, stats?: ServerStats): string | undefined {
  const row = clientError(e);
  if (row === undefined) return undefined;
  if (stats !== undefined && e instanceof OutOfMemoryError) stats.oomErrors++;
  return row.resp(e as Error);
}

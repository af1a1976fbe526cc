/**
 * Redis's `cjson` and `cmsgpack` Lua libraries for the scripting VM
 * (scripting.ts), as scripts such as bullmq's use them.
 *
 * Why bridged, not vendored Lua: the byte-level work is done by maintained
 * JavaScript codecs (V8's JSON.parse; @msgpack/msgpack), and only the walk
 * between Lua values and JavaScript values is ours, on Lua's C API like
 * redis.call. A pure-Lua JSON or MessagePack library would run interpreted
 * on WebAssembly, several times slower for every job a queue handles, and
 * none reproduces lua-cjson's conventions (cjson.null, `{}` for an empty
 * table, %.14g numbers, `\/`) without patches of its own.
 *
 * Conversions are Redis's (lua-cjson 2.1 and lua_cmsgpack as Redis 7.0 ships
 * them), with Lua 5.4 integers where Redis's Lua 5.1 has integral doubles:
 * - cjson.encode: tables whose keys are 1..n (holes allowed up to lua-cjson's
 *   sparse-array rule) are arrays, other tables objects, an empty table `{}`;
 *   numbers as %.14g; NaN, infinities, functions and other types raise.
 * - cjson.decode: null is cjson.null (a light userdata, as in Redis); JSON
 *   text is read as UTF-8.
 * - cmsgpack.pack: tables with keys exactly 1..n are arrays, others maps;
 *   Lua strings are MessagePack str (bin when not valid UTF-8, where Redis
 *   writes str anyway); integral numbers are ints.
 * - cmsgpack.unpack: every value in the string, as multiple results; str and
 *   bin become Lua strings (bytes as they are); map keys become strings
 *   (the codec gives maps as JavaScript objects).
 */
import { decodeMulti, encode } from '@msgpack/msgpack';

/** What the codecs need of the VM (scripting.ts's helpers on Lua's C API). */
export interface LuaApi {
  readonly L: number;
  fn(name: string): (...a: unknown[]) => number;
  pushBytes(b: Buffer | Uint8Array): void;
  bytesAt(idx: number): Uint8Array;
  /** Raises a Lua error (does not return: the VM unwinds). */
  raise(msg: string): number;
}

/** Lua's value type tags (lua.h), shared with scripting.ts. */
export const T_NIL = 0;
export const T_BOOLEAN = 1;
export const T_LIGHTUSERDATA = 2;
export const T_NUMBER = 3;
export const T_STRING = 4;
export const T_TABLE = 5;
const TYPE_NAMES = ['nil', 'boolean', 'userdata', 'number', 'string', 'table', 'function', 'userdata', 'thread'];
/** lua-cjson's encode_max_depth and decode_max_depth. */
const MAX_DEPTH = 1000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** n.toExponential(p - 1), but an exact tie of an integer rounds half to even, as printf does. */
function exponential(n: number, p: number): string {
  const digits = Math.abs(n).toFixed(0);
  if (!Number.isSafeInteger(n) || digits.length <= p || digits[p] !== '5' || /[^0]/.test(digits.slice(p + 1))) return n.toExponential(p - 1);
  let head = BigInt(digits.slice(0, p));
  if (head % 2n === 1n) head += 1n;
  const h = head.toString();
  const exp = digits.length - 1 + (h.length - p);
  return `${n < 0 ? '-' : ''}${h[0]}.${h.slice(1, p)}e+${exp}`;
}

/** printf's %.<p>g for a finite double. */
export function formatG(n: number, p: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const e = exponential(n, p);
  const at = e.indexOf('e');
  const exp = Number(e.slice(at + 1));
  if (exp < -4 || exp >= p) {
    let mant = e.slice(0, at);
    if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    const a = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${a < 10 ? '0' : ''}${a}`;
  }
  let s = n.toFixed(Math.max(0, p - 1 - exp));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** lua-cjson's escapes: control characters, '"', '\\', '/' and DEL; other bytes as they are. */
const ESCAPES: Array<string | undefined> = [];
for (let i = 0; i < 32; i++) ESCAPES[i] = `\\u${i.toString(16).padStart(4, '0')}`;
ESCAPES[8] = '\\b';
ESCAPES[9] = '\\t';
ESCAPES[10] = '\\n';
ESCAPES[12] = '\\f';
ESCAPES[13] = '\\r';
ESCAPES[34] = '\\"';
ESCAPES[47] = '\\/';
ESCAPES[92] = '\\\\';
ESCAPES[127] = '\\u007f';

export class LuaCodecs {
  private readonly L: number;
  private readonly f: LuaApi['fn'];

  constructor(private readonly api: LuaApi) {
    this.L = api.L;
    this.f = api.fn;
  }

  // ---- cjson -----------------------------------------------------------------------

  /** cjson.encode(value) */
  jsonEncode(): number {
    const parts: string[] = [];
    let err: string | undefined;
    try {
      this.jsonValue(1, parts, 0);
    } catch (e) {
      err = (e as Error).message;
    }
    if (err !== undefined) return this.api.raise(err);
    this.api.pushBytes(Buffer.from(parts.join(''), 'latin1'));
    return 1;
  }

  private jsonValue(idx: number, out: string[], depth: number): void {
    const L = this.L;
    const t = this.f('lua_type')(L, idx);
    switch (t) {
      case T_STRING:
        out.push(this.jsonString(this.api.bytesAt(idx)));
        return;
      case T_NUMBER:
        out.push(this.jsonNumber(idx));
        return;
      case T_BOOLEAN:
        out.push(this.f('lua_toboolean')(L, idx) ? 'true' : 'false');
        return;
      case T_NIL:
        out.push('null');
        return;
      case T_LIGHTUSERDATA:
        if (this.f('lua_touserdata')(L, idx) === 0) {
          out.push('null');
          return;
        }
        break;
      case T_TABLE:
        this.jsonTable(idx, out, depth + 1);
        return;
      default:
    }
    throw new Error(`Cannot serialise ${TYPE_NAMES[t] ?? 'value'}: type not supported`);
  }

  private jsonNumber(idx: number): string {
    const n = this.f('lua_tonumberx')(this.L, idx, 0);
    if (!Number.isFinite(n)) throw new Error('Cannot serialise number: must not be NaN or Inf');
    return formatG(n, 14);
  }

  private jsonString(b: Uint8Array): string {
    let s = '"';
    let from = 0;
    for (let i = 0; i < b.length; i++) {
      const esc = ESCAPES[b[i]];
      if (esc === undefined) continue;
      s += Buffer.from(b.buffer, b.byteOffset + from, i - from).toString('latin1') + esc;
      from = i + 1;
    }
    return s + Buffer.from(b.buffer, b.byteOffset + from, b.length - from).toString('latin1') + '"';
  }

  private jsonTable(idx: number, out: string[], depth: number): void {
    const L = this.L;
    if (depth > MAX_DEPTH) throw new Error(`Cannot serialise, excessive nesting (${depth})`);
    this.f('lua_checkstack')(L, 4);
    const abs = this.f('lua_absindex')(L, idx);
    // lua_array_length: every key a positive integer, and not excessively sparse.
    let max = 0;
    let items = 0;
    let isArray = true;
    this.f('lua_pushnil')(L);
    while (this.f('lua_next')(L, abs) !== 0) {
      if (isArray && this.f('lua_type')(L, -2) === T_NUMBER) {
        const k = this.f('lua_tonumberx')(L, -2, 0);
        if (Number.isInteger(k) && k >= 1) {
          if (k > max) max = k;
          items++;
          this.f('lua_settop')(L, -2);
          continue;
        }
      }
      isArray = false;
      this.f('lua_settop')(L, -2);
    }
    if (isArray && max > items * 2 && max > 10) throw new Error('Cannot serialise table: excessively sparse array');
    if (isArray && max > 0) {
      out.push('[');
      for (let i = 1; i <= max; i++) {
        if (i > 1) out.push(',');
        this.f('lua_rawgeti')(L, abs, BigInt(i));
        this.jsonValue(-1, out, depth);
        this.f('lua_settop')(L, -2);
      }
      out.push(']');
      return;
    }
    out.push('{');
    let first = true;
    this.f('lua_pushnil')(L);
    while (this.f('lua_next')(L, abs) !== 0) {
      if (!first) out.push(',');
      first = false;
      const kt = this.f('lua_type')(L, -2);
      if (kt === T_STRING) {
        out.push(this.jsonString(this.api.bytesAt(-2)));
      } else if (kt === T_NUMBER) {
        out.push(`"${this.jsonNumber(-2)}"`);
      } else {
        this.f('lua_settop')(L, -3);
        throw new Error(`Cannot serialise ${TYPE_NAMES[kt]}: table key must be a number or string`);
      }
      out.push(':');
      try {
        this.jsonValue(-1, out, depth);
      } catch (e) {
        this.f('lua_settop')(L, -3);
        throw e;
      }
      this.f('lua_settop')(L, -2);
    }
    out.push('}');
  }

  /** cjson.decode(text) */
  jsonDecode(): number {
    const L = this.L;
    if (this.f('lua_type')(L, 1) !== T_STRING && this.f('lua_type')(L, 1) !== T_NUMBER) {
      return this.api.raise('bad argument #1 to \'decode\' (string expected)');
    }
    let value: unknown;
    let err: string | undefined;
    try {
      value = JSON.parse(Buffer.from(this.api.bytesAt(1)).toString('utf8'));
    } catch (e) {
      err = `Expected value but found invalid token: ${(e as Error).message}`;
    }
    if (err !== undefined) return this.api.raise(err);
    this.push(value, 0, true);
    return 1;
  }

  // ---- cmsgpack --------------------------------------------------------------------

  /** cmsgpack.pack(...) */
  msgpackPack(): number {
    const L = this.L;
    const n = this.f('lua_gettop')(L);
    if (n === 0) return this.api.raise('MessagePack pack needs input.');
    const chunks: Uint8Array[] = [];
    for (let i = 1; i <= n; i++) chunks.push(encode(this.toJs(i, 0), { useBigInt64: true }));
    this.api.pushBytes(Buffer.concat(chunks));
    return 1;
  }

  /** cmsgpack.unpack(bytes): every value, as multiple results. */
  msgpackUnpack(): number {
    const L = this.L;
    if (this.f('lua_type')(L, 1) !== T_STRING) return this.api.raise('bad argument #1 to \'unpack\' (string expected)');
    const values: unknown[] = [];
    let err: string | undefined;
    try {
      for (const v of decodeMulti(Buffer.from(this.api.bytesAt(1)), { rawStrings: true, useBigInt64: true })) values.push(v);
    } catch (e) {
      err = `Bad data format in input: ${(e as Error).message}`;
    }
    if (err !== undefined) return this.api.raise(err);
    this.f('lua_checkstack')(L, values.length + 4);
    this.f('lua_settop')(L, 0);
    for (const v of values) this.push(v, 0, false);
    return values.length;
  }

  /** The Lua value at `idx` as what the MessagePack codec encodes. */
  private toJs(idx: number, depth: number): unknown {
    const L = this.L;
    switch (this.f('lua_type')(L, idx)) {
      case T_STRING: {
        const b = Buffer.from(this.api.bytesAt(idx));
        try {
          return utf8.decode(b);
        } catch {
          return b;
        }
      }
      case T_NUMBER: {
        if (this.f('lua_isinteger')(L, idx)) {
          const v = BigInt(this.f('lua_tointegerx')(L, idx, 0));
          // Beyond 32 bits as a bigint, so the codec writes int64 / uint64 as lua_cmsgpack does (not float64).
          return v >= -0x80000000n && v <= 0xffffffffn ? Number(v) : BigInt.asIntN(64, v);
        }
        return this.f('lua_tonumberx')(L, idx, 0);
      }
      case T_BOOLEAN:
        return this.f('lua_toboolean')(L, idx) !== 0;
      case T_TABLE: {
        if (depth >= 16) return null; // lua_cmsgpack's LUACMSGPACK_MAX_NESTING: deeper tables pack as nil
        this.f('lua_checkstack')(L, 4);
        const abs = this.f('lua_absindex')(L, idx);
        const keys: unknown[] = [];
        const values: unknown[] = [];
        let arrayLike = true;
        this.f('lua_pushnil')(L);
        while (this.f('lua_next')(L, abs) !== 0) {
          const k = this.toJs(-2, depth + 1);
          if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) arrayLike = false;
          keys.push(k);
          values.push(this.toJs(-1, depth + 1));
          this.f('lua_settop')(L, -2);
        }
        if (arrayLike && keys.length > 0) {
          const arr: unknown[] = new Array(keys.length);
          let ok = true;
          keys.forEach((k, i) => {
            if ((k as number) > keys.length) ok = false;
            else arr[(k as number) - 1] = values[i];
          });
          if (ok) return arr;
        }
        if (keys.length === 0) return [];
        const obj: Record<string, unknown> = {};
        keys.forEach((k, i) => {
          obj[typeof k === 'string' ? k : String(k)] = values[i];
        });
        return obj;
      }
      default:
        return null;
    }
  }

  /** Pushes a decoded JavaScript value (JSON: null is cjson.null; MessagePack: nil). */
  private push(v: unknown, depth: number, json: boolean): void {
    const L = this.L;
    if (depth > MAX_DEPTH) throw new Error('Found too many nested data structures');
    if (v === null || v === undefined) {
      if (json) this.f('lua_pushlightuserdata')(L, 0);
      else this.f('lua_pushnil')(L);
    } else if (typeof v === 'boolean') {
      this.f('lua_pushboolean')(L, v ? 1 : 0);
    } else if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) this.f('lua_pushinteger')(L, BigInt(v));
      else this.f('lua_pushnumber')(L, v);
    } else if (typeof v === 'bigint') {
      this.f('lua_pushinteger')(L, BigInt.asIntN(64, v));
    } else if (typeof v === 'string') {
      this.api.pushBytes(Buffer.from(v, 'utf8'));
    } else if (v instanceof Uint8Array) {
      this.api.pushBytes(v);
    } else if (Array.isArray(v)) {
      this.f('lua_checkstack')(L, 4);
      this.f('lua_createtable')(L, v.length, 0);
      for (let i = 0; i < v.length; i++) {
        if (v[i] === null && !json) continue; // a nil element leaves a hole, as in Redis
        this.push(v[i], depth + 1, json);
        this.f('lua_rawseti')(L, -2, BigInt(i + 1));
      }
    } else if (typeof v === 'object') {
      this.f('lua_checkstack')(L, 4);
      const entries = Object.entries(v as Record<string, unknown>);
      this.f('lua_createtable')(L, 0, entries.length);
      for (const [k, x] of entries) {
        if (x === null && !json) continue;
        this.api.pushBytes(Buffer.from(k, 'utf8'));
        this.push(x, depth + 1, json);
        this.f('lua_rawset')(L, -3);
      }
    } else {
      this.f('lua_pushnil')(L);
    }
  }
}

/**
 * The aggregate value types (hash, list, set, sorted set): their in-memory
 * structures, what they are accounted as, and their versioned binary
 * encoding for the stores.
 *
 * Members, fields and values are binary strings (latin1, one char per byte),
 * as the protocol makes them. Each structure keeps `bytes`, a conservative
 * estimate of what it really costs on the V8 heap (measured by
 * test/keyspace-types-memory.test.ts, which compares it with RSS), and
 * `mods`, a counter bumped by every change, so the keyspace knows whether a
 * command changed anything (no version bump, no persistence otherwise).
 */

/** Value type tags: the keyspace's type column and the encoding's type byte. */
export const T_STRING = 0;
export const T_HASH = 1;
export const T_LIST = 2;
export const T_SET = 3;
export const T_ZSET = 4;
export type TypeTag = 0 | 1 | 2 | 3 | 4;

export const TYPE_NAMES = ['string', 'hash', 'list', 'set', 'zset'] as const;

/**
 * Heap cost estimates, 64-bit V8 without pointer compression (Node's build):
 * a sequential one-byte string is a 16-byte header plus its bytes rounded up
 * to 8; a Map entry is 3 pointers in an OrderedHashMap whose capacity doubles
 * (so up to 2x, plus bucket heads); an array slot 8 bytes, up to 2x capacity.
 */
export function stringCost(len: number): number {
  return 24 + len;
}
const MAP_ENTRY = 56;
const ARRAY_SLOT = 16;
/** A structure's fixed cost: its object, its Map / array headers and the keyspace's side-table entry. */
export const OBJECT_OVERHEAD = 512;
/**
 * What the budget counts for an aggregate: its live heap estimate (`bytes`)
 * times what V8 commits per live byte as its old space grows (measured 1.2-2.1x
 * by test/keyspace-types-memory.test.ts, which checks RSS against this).
 */
export const HEAP_FACTOR = 1.7;

export function accountedBytes(v: { readonly bytes: number }): number {
  return Math.ceil(v.bytes * HEAP_FACTOR);
}

/** A sorted-set node: a 2-field object (40) plus a heap number for a non-integer score (16). */
const ZNODE = 56;

export class WrongTypeError extends Error {
  constructor() {
    super('WRONGTYPE Operation against a key holding the wrong kind of value');
    this.name = 'WrongTypeError';
  }
}

// ---- hash ---------------------------------------------------------------------

export class HashValue {
  readonly type = T_HASH;
  readonly map = new Map<string, string>();
  bytes = OBJECT_OVERHEAD;
  mods = 0;

  get size(): number {
    return this.map.size;
  }

  get(field: string): string | undefined {
    return this.map.get(field);
  }

  /** Sets a field; true when it is new. */
  set(field: string, value: string): boolean {
    const old = this.map.get(field);
    this.mods++;
    this.map.set(field, value);
    if (old === undefined) {
      this.bytes += MAP_ENTRY + stringCost(field.length) + stringCost(value.length);
      return true;
    }
    this.bytes += value.length - old.length;
    return false;
  }

  delete(field: string): boolean {
    const old = this.map.get(field);
    if (old === undefined) return false;
    this.map.delete(field);
    this.mods++;
    this.bytes -= MAP_ENTRY + stringCost(field.length) + stringCost(old.length);
    return true;
  }

  clone(): HashValue {
    const c = new HashValue();
    for (const [f, v] of this.map) c.map.set(f, v);
    c.bytes = this.bytes;
    return c;
  }
}

// ---- list ---------------------------------------------------------------------

/** A deque on a ring buffer whose capacity is a power of two: O(1) push and pop at both ends and O(1) index. */
export class ListValue {
  readonly type = T_LIST;
  private ring: Array<string | undefined> = new Array(8);
  private head = 0;
  private len = 0;
  bytes = OBJECT_OVERHEAD;
  mods = 0;

  get size(): number {
    return this.len;
  }

  at(i: number): string {
    return this.ring[(this.head + i) & (this.ring.length - 1)]!;
  }

  setAt(i: number, v: string): void {
    const j = (this.head + i) & (this.ring.length - 1);
    this.bytes += v.length - this.ring[j]!.length;
    this.ring[j] = v;
    this.mods++;
  }

  private grow(): void {
    if (this.len < this.ring.length) return;
    const next: Array<string | undefined> = new Array(this.ring.length * 2);
    for (let i = 0; i < this.len; i++) next[i] = this.at(i);
    this.ring = next;
    this.head = 0;
  }

  private shrink(): void {
    if (this.ring.length > 64 && this.len < this.ring.length / 4) {
      const next: Array<string | undefined> = new Array(this.ring.length / 2);
      for (let i = 0; i < this.len; i++) next[i] = this.at(i);
      this.ring = next;
      this.head = 0;
    }
  }

  pushLeft(v: string): void {
    this.grow();
    this.head = (this.head - 1) & (this.ring.length - 1);
    this.ring[this.head] = v;
    this.len++;
    this.bytes += ARRAY_SLOT + stringCost(v.length);
    this.mods++;
  }

  pushRight(v: string): void {
    this.grow();
    this.ring[(this.head + this.len) & (this.ring.length - 1)] = v;
    this.len++;
    this.bytes += ARRAY_SLOT + stringCost(v.length);
    this.mods++;
  }

  popLeft(): string | undefined {
    if (this.len === 0) return undefined;
    const v = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) & (this.ring.length - 1);
    this.len--;
    this.bytes -= ARRAY_SLOT + stringCost(v.length);
    this.mods++;
    this.shrink();
    return v;
  }

  popRight(): string | undefined {
    if (this.len === 0) return undefined;
    const j = (this.head + this.len - 1) & (this.ring.length - 1);
    const v = this.ring[j]!;
    this.ring[j] = undefined;
    this.len--;
    this.bytes -= ARRAY_SLOT + stringCost(v.length);
    this.mods++;
    this.shrink();
    return v;
  }

  /** Elements [start, end] (inclusive, already clamped). */
  range(start: number, end: number): string[] {
    const out: string[] = [];
    for (let i = start; i <= end; i++) out.push(this.at(i));
    return out;
  }

  /** Replaces the contents (LREM, LTRIM): O(n). */
  replaceAll(items: readonly string[]): void {
    let cap = 8;
    while (cap < items.length) cap *= 2;
    this.ring = new Array(cap);
    for (let i = 0; i < items.length; i++) this.ring[i] = items[i];
    this.head = 0;
    this.len = items.length;
    let b = OBJECT_OVERHEAD;
    for (const v of items) b += ARRAY_SLOT + stringCost(v.length);
    this.bytes = b;
    this.mods++;
  }

  toArray(): string[] {
    return this.range(0, this.len - 1);
  }

  clone(): ListValue {
    const c = new ListValue();
    c.replaceAll(this.toArray());
    c.mods = 0;
    return c;
  }
}

// ---- set ----------------------------------------------------------------------

/** Members in an array (O(1) random member) with a Map from member to its position (swap-remove). */
export class SetValue {
  readonly type = T_SET;
  readonly items: string[] = [];
  private readonly pos = new Map<string, number>();
  bytes = OBJECT_OVERHEAD;
  mods = 0;

  get size(): number {
    return this.items.length;
  }

  has(m: string): boolean {
    return this.pos.has(m);
  }

  add(m: string): boolean {
    if (this.pos.has(m)) return false;
    this.pos.set(m, this.items.length);
    this.items.push(m);
    this.bytes += MAP_ENTRY + ARRAY_SLOT + stringCost(m.length);
    this.mods++;
    return true;
  }

  delete(m: string): boolean {
    const i = this.pos.get(m);
    if (i === undefined) return false;
    const last = this.items.pop()!;
    if (i < this.items.length) {
      this.items[i] = last;
      this.pos.set(last, i);
    }
    this.pos.delete(m);
    this.bytes -= MAP_ENTRY + ARRAY_SLOT + stringCost(m.length);
    this.mods++;
    return true;
  }

  random(): string {
    return this.items[Math.floor(Math.random() * this.items.length)];
  }

  clone(): SetValue {
    const c = new SetValue();
    for (const m of this.items) c.add(m);
    c.mods = 0;
    return c;
  }
}

// ---- sorted set ------------------------------------------------------------------

export interface ZNode {
  readonly m: string;
  s: number;
}

/** Redis's order: by score, then by member bytes. */
function zcmp(as: number, am: string, b: ZNode): number {
  if (as !== b.s) return as < b.s ? -1 : 1;
  return am < b.m ? -1 : am > b.m ? 1 : 0;
}

/**
 * Members to nodes in a Map (O(1) ZSCORE), nodes in an array sorted by
 * (score, member): ranks and range bounds by binary search, O(log n);
 * inserting or removing moves the pointers after the position (a memmove,
 * ~25 us at 100k members), not the members.
 */
export class ZSetValue {
  readonly type = T_ZSET;
  readonly nodes: ZNode[] = [];
  private readonly byMember = new Map<string, ZNode>();
  bytes = OBJECT_OVERHEAD;
  mods = 0;

  get size(): number {
    return this.nodes.length;
  }

  score(m: string): number | undefined {
    return this.byMember.get(m)?.s;
  }

  /** First index whose node is >= (s, m). */
  lowerBound(s: number, m: string): number {
    let lo = 0;
    let hi = this.nodes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (zcmp(s, m, this.nodes[mid]) > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index with score >= s (or > s when exclusive). */
  scoreBound(s: number, exclusive: boolean): number {
    let lo = 0;
    let hi = this.nodes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const ns = this.nodes[mid].s;
      if (exclusive ? ns <= s : ns < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  rank(m: string): number | undefined {
    const n = this.byMember.get(m);
    return n === undefined ? undefined : this.lowerBound(n.s, n.m);
  }

  /** Adds or updates; true when the member is new. */
  set(m: string, s: number): boolean {
    const n = this.byMember.get(m);
    if (n !== undefined) {
      if (n.s === s) return false;
      this.nodes.splice(this.lowerBound(n.s, m), 1);
      n.s = s;
      this.nodes.splice(this.lowerBound(s, m), 0, n);
      this.mods++;
      return false;
    }
    const node: ZNode = { m, s };
    this.byMember.set(m, node);
    this.nodes.splice(this.lowerBound(s, m), 0, node);
    this.bytes += MAP_ENTRY + ARRAY_SLOT + ZNODE + stringCost(m.length);
    this.mods++;
    return true;
  }

  delete(m: string): boolean {
    const n = this.byMember.get(m);
    if (n === undefined) return false;
    this.nodes.splice(this.lowerBound(n.s, m), 1);
    this.byMember.delete(m);
    this.bytes -= MAP_ENTRY + ARRAY_SLOT + ZNODE + stringCost(m.length);
    this.mods++;
    return true;
  }

  /** Removes the nodes at ranks [start, end) at once. */
  deleteRange(start: number, end: number): ZNode[] {
    const gone = this.nodes.splice(start, end - start);
    for (const n of gone) {
      this.byMember.delete(n.m);
      this.bytes -= MAP_ENTRY + ARRAY_SLOT + ZNODE + stringCost(n.m.length);
    }
    if (gone.length > 0) this.mods++;
    return gone;
  }

  clone(): ZSetValue {
    const c = new ZSetValue();
    for (const n of this.nodes) {
      const node = { m: n.m, s: n.s };
      c.nodes.push(node);
      c.byMember.set(n.m, node);
    }
    c.bytes = this.bytes;
    return c;
  }
}

export type TypedValue = HashValue | ListValue | SetValue | ZSetValue;

export function newValue(type: TypeTag): TypedValue {
  switch (type) {
    case T_HASH: return new HashValue();
    case T_LIST: return new ListValue();
    case T_SET: return new SetValue();
    case T_ZSET: return new ZSetValue();
    default: throw new Error(`not an aggregate type: ${type}`);
  }
}

// ---- the stored encoding ------------------------------------------------------------

/**
 * Stored values, version 1 (docs/commands.md "Stored encoding"):
 *
 *     magic "\xffSCV" | format version (1) | type (1 hash, 2 list, 3 set, 4 zset, 0 string) | body
 *
 * - string: the bytes as they are;
 * - hash: u32 count, then count x (u32 len, field bytes, u32 len, value bytes);
 * - list and set: u32 count, then count x (u32 len, bytes), list in order;
 * - zset: u32 count, then count x (f64 score, u32 len, member bytes), in rank order.
 *
 * Integers and doubles are little-endian. A string value is stored as its
 * plain bytes (so stores written before this encoding existed read the same)
 * unless it starts with the magic, in which case it is stored as a type-0
 * record: every stored value decodes to exactly one thing.
 */
export const ENCODING_MAGIC = Buffer.from([0xff, 0x53, 0x43, 0x56]); // "\xffSCV"
export const ENCODING_VERSION = 1;
const HEADER = ENCODING_MAGIC.length + 2;

/** A stored value this state-cache cannot read (corrupt, or written by a newer version). */
export class ValueEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueEncodingError';
  }
}

function hasMagic(b: Buffer): boolean {
  return b.length >= ENCODING_MAGIC.length && b[0] === 0xff && b[1] === 0x53 && b[2] === 0x43 && b[3] === 0x56;
}

/** A string value as stored: itself, or a type-0 record when it starts with the magic. */
export function encodeString(v: Buffer): Buffer {
  if (!hasMagic(v)) return v;
  const out = Buffer.allocUnsafe(HEADER + v.length);
  ENCODING_MAGIC.copy(out, 0);
  out[4] = ENCODING_VERSION;
  out[5] = T_STRING;
  v.copy(out, HEADER);
  return out;
}

export function encodeValue(v: TypedValue): Buffer {
  let n = HEADER + 4;
  const strs: string[] = [];
  const scores: number[] = [];
  if (v instanceof HashValue) {
    for (const [f, x] of v.map) strs.push(f, x);
  } else if (v instanceof ListValue) {
    for (let i = 0; i < v.size; i++) strs.push(v.at(i));
  } else if (v instanceof SetValue) {
    strs.push(...v.items);
  } else {
    for (const node of v.nodes) {
      strs.push(node.m);
      scores.push(node.s);
    }
  }
  for (const s of strs) n += 4 + s.length;
  n += scores.length * 8;
  const out = Buffer.allocUnsafe(n);
  ENCODING_MAGIC.copy(out, 0);
  out[4] = ENCODING_VERSION;
  out[5] = v.type;
  out.writeUInt32LE(v instanceof HashValue ? strs.length / 2 : strs.length, HEADER);
  let o = HEADER + 4;
  for (let i = 0; i < strs.length; i++) {
    if (v instanceof ZSetValue) {
      out.writeDoubleLE(scores[i], o);
      o += 8;
    }
    const s = strs[i];
    out.writeUInt32LE(s.length, o);
    o += 4;
    o += out.latin1Write(s, o);
  }
  return out;
}

export type Decoded = { readonly type: typeof T_STRING; readonly value: Buffer } | { readonly type: TypeTag; readonly value: TypedValue };

/** Decodes a stored value; throws ValueEncodingError naming `key` when it cannot. */
export function decodeValue(b: Buffer, key: string): Decoded {
  if (!hasMagic(b)) return { type: T_STRING, value: b };
  const bad = (why: string) => new ValueEncodingError(`the stored value of key '${key.slice(0, 128)}' cannot be read: ${why}`);
  if (b.length < HEADER) throw bad('truncated header');
  if (b[4] !== ENCODING_VERSION) throw bad(`it has encoding version ${b[4]}, this state-cache reads version ${ENCODING_VERSION} (upgrade state-cache)`);
  const type = b[5];
  if (type === T_STRING) return { type: T_STRING, value: b.subarray(HEADER) };
  if (type < T_HASH || type > T_ZSET) throw bad(`unknown type ${type}`);
  if (b.length < HEADER + 4) throw bad('truncated count');
  const count = b.readUInt32LE(HEADER);
  let o = HEADER + 4;
  const str = (): string => {
    if (o + 4 > b.length) throw bad('truncated length');
    const len = b.readUInt32LE(o);
    o += 4;
    if (o + len > b.length) throw bad('truncated element');
    const s = b.latin1Slice(o, o + len);
    o += len;
    return s;
  };
  const v = newValue(type as TypeTag);
  for (let i = 0; i < count; i++) {
    if (v instanceof HashValue) {
      const f = str();
      v.set(f, str());
    } else if (v instanceof ListValue) {
      v.pushRight(str());
    } else if (v instanceof SetValue) {
      v.add(str());
    } else {
      if (o + 8 > b.length) throw bad('truncated score');
      const s = b.readDoubleLE(o);
      o += 8;
      if (Number.isNaN(s)) throw bad('a score is NaN');
      v.set(str(), s);
    }
  }
  if (o !== b.length) throw bad('trailing bytes');
  if (v.size === 0) throw bad('an empty aggregate');
  v.mods = 0;
  return { type: type as TypeTag, value: v };
}

import { BUFFER_OVERHEAD, ByteTable, hashOf, hashOfLatin1, touchHome } from './byte-table';
import { copyBytes as byteCopy } from '../byte-copy';
import { ValueEncodingError, WrongTypeError } from '../vocabulary';
/**
 * The aggregate value types (hash, list, set, sorted set, stream): their in-memory
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
export const T_STREAM = 5;
export type TypeTag = 0 | 1 | 2 | 3 | 4 | 5;

export const TYPE_NAMES = ['string', 'hash', 'list', 'set', 'zset', 'stream'] as const;

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

/**
 * A sorted-set member besides its string: its slots in the by-id arrays of
 * members and scores and in its block, and 32 bytes of margin (the index's
 * own buffer is counted at its size, in `ZSetValue.reindex`).
 */
const ZMEMBER = 32 + 4 * ARRAY_SLOT;

export { WrongTypeError, ValueEncodingError };

/**
 * Redis 7.0's size thresholds for its compact encodings (OBJECT ENCODING): a
 * hash or sorted set is a listpack up to 512 (hash) or 128 (sorted set) entries whose fields, values and
 * members are at most 64 bytes; a set is an intset up to 512 members that are
 * all integers. Past a threshold Redis converts it for good (until the key is
 * rewritten, e.g. by a *STORE or a restart), so each value below keeps a
 * sticky `big` flag.
 */
export const LISTPACK_MAX_ENTRIES = 128;
/** hash-max-listpack-entries: 512 by default in Redis 7.0 (zset-max-listpack-entries is 128). */
export const HASH_LISTPACK_MAX_ENTRIES = 512;
export const LISTPACK_MAX_VALUE = 64;
export const INTSET_MAX_ENTRIES = 512;

/** True when `m` is what Redis stores in an intset: an integer in string2ll's form within int64. */
export function isIntsetMember(m: string): boolean {
  if (m.length === 0 || m.length > 20 || !/^-?(0|[1-9][0-9]*)$/.test(m) || m === '-0') return false;
  if (m.length < 19) return true;
  const n = BigInt(m);
  return n <= 9223372036854775807n && n >= -9223372036854775808n;
}

// ---- hash ---------------------------------------------------------------------

/**
 * A hash: its fields and values are bytes in a ByteTable, off the V8 heap
 * (see byte-table.ts for why). The string methods serve the slower paths
 * (scripts, the encoding, the rarer commands); HSET and HGET go through the
 * byte methods with the request's bytes.
 */
export class HashValue {
  readonly type = T_HASH;
  readonly table: ByteTable;
  mods = 0;
  /** Past the listpack thresholds once: Redis's hashtable encoding (and the table's order no longer kept). */
  big = false;

  constructor(table = new ByteTable()) {
    this.table = table;
  }

  get size(): number {
    return this.table.size;
  }

  /** What it holds: the table's buffers (off the heap, so no estimate) and the object. */
  get bytes(): number {
    return OBJECT_OVERHEAD + this.table.capacityBytes;
  }

  get(field: string): string | undefined {
    const r = this.table.findString(field);
    return r < 0 ? undefined : this.table.value(r);
  }

  /** Sets a field; true when it is new. */
  set(field: string, value: string): boolean {
    this.mods++;
    const added = this.table.setString(field, value) < 0;
    this.noteSizes(field.length, value.length);
    return added;
  }

  /** `set` for a field `b[fs, fe)` and a value `b[vs, ve)` (the request's bytes). */
  setBytes(b: Buffer, fs: number, fe: number, vs: number, ve: number): boolean {
    this.mods++;
    const added = this.table.set(b, fs, fe, b, vs, ve) < 0;
    this.noteSizes(fe - fs, ve - vs);
    return added;
  }

  private noteSizes(flen: number, vlen: number): void {
    if (!this.big && (flen > LISTPACK_MAX_VALUE || vlen > LISTPACK_MAX_VALUE || this.table.size > HASH_LISTPACK_MAX_ENTRIES)) {
      this.big = true;
      this.table.ordered = false;
    }
  }

  delete(field: string): boolean {
    if (this.table.deleteString(field) < 0) return false;
    this.mods++;
    return true;
  }

  /** `delete` for the field `b[start, end)`. */
  deleteBytes(b: Buffer, start: number, end: number): boolean {
    if (this.table.delete(b, start, end) < 0) return false;
    this.mods++;
    return true;
  }

  /** The fields, in the hash's order. */
  fields(): string[] {
    return this.table.records().map((r) => this.table.field(r));
  }

  /** The values, in the hash's order. */
  values(): string[] {
    return this.table.records().map((r) => this.table.value(r));
  }

  /** [field, value] pairs, in the hash's order. */
  entries(): Array<[string, string]> {
    return this.table.records().map((r) => [this.table.field(r), this.table.value(r)]);
  }

  clone(): HashValue {
    const c = new HashValue(this.table.clone());
    c.big = this.big;
    return c;
  }
}

// ---- list ---------------------------------------------------------------------

/**
 * A list: its elements' bytes in chunks off the V8 heap (as a hash's
 * fields: no string per element for scavenges to copy, issue 15), in list
 * order, like Redis's quicklist of listpacks.
 *
 * - Each chunk holds elements contiguously between its `lo` and `hi`; the
 *   first chunk grows at its `lo`, the last at its `hi`. A chunk is at most
 *   CHUNK_MAX bytes unless one element is larger. A list's only chunk starts
 *   small and doubles up to CHUNK_MAX, moving its bytes to its middle; past
 *   that, a push that finds no room adds a chunk. So no push copies more
 *   than half a chunk, however long the list (one buffer for the whole list
 *   was tried: moving it when an
 *   end ran out of room was 14 % of pipelined LPUSH's CPU on a 100 MB list,
 *   and would stall the server for the copy of a large one).
 * - Chunks are a ring (`chunks`, and their lo / hi in `cb`) addressed by a
 *   sequence number: the chunk with sequence `s` is at (cHead + s - firstSeq).
 * - Elements are a ring of (chunk sequence, start, length) triples in one
 *   Int32Array (`el`), capacity a power of two: O(1) index, O(1) amortised
 *   push and pop at both ends.
 *
 * Changes in the middle (LSET to another length, LREM, LINSERT) rebuild the
 * list, O(n) as in Redis.
 */
export class ListValue {
  readonly type = T_LIST;
  private chunks: Array<Buffer | undefined> = new Array(4);
  /** Per chunk: lo, hi. */
  private cb = new Int32Array(2 * 4);
  private cHead = 0;
  private cCount = 0;
  private firstSeq = 0;
  /** Per element: chunk sequence, start, length. */
  private el = new Int32Array(3 * 16);
  private ecap = 16;
  private head = 0;
  private len = 0;
  /** What the chunks hold, each with its BUFFER_OVERHEAD. */
  private held = 0;
  mods = 0;

  get size(): number {
    return this.len;
  }

  get bytes(): number {
    return OBJECT_OVERHEAD + this.held + intsCost(this.el.byteLength) + intsCost(this.cb.byteLength) + 8 * this.chunks.length;
  }

  /** The buffer element `i`'s bytes are in (valid until the next change). */
  bufferOf(i: number): Buffer {
    return this.chunks[this.chunkAt(this.el[3 * ((this.head + i) & (this.ecap - 1))])]!;
  }

  /** Where element `i` starts in `bufferOf(i)`. */
  startOf(i: number): number {
    return this.el[3 * ((this.head + i) & (this.ecap - 1)) + 1];
  }

  /** Where element `i` ends in `bufferOf(i)`. */
  endOf(i: number): number {
    const j = (this.head + i) & (this.ecap - 1);
    return this.el[3 * j + 1] + this.el[3 * j + 2];
  }

  at(i: number): string {
    return this.bufferOf(i).latin1Slice(this.startOf(i), this.endOf(i));
  }

  setAt(i: number, v: string): void {
    const s = this.startOf(i);
    if (this.endOf(i) - s === v.length) {
      this.bufferOf(i).latin1Write(v, s);
      this.mods++;
      return;
    }
    const items = this.toArray();
    items[i] = v;
    this.replaceAll(items);
  }

  pushLeft(v: string): void {
    const n = v.length;
    const c = this.roomLeft(n);
    const at = this.cb[2 * c] - n;
    if (n > 0) this.chunks[c]!.latin1Write(v, at);
    this.pushedLeft(c, at, n);
  }

  pushRight(v: string): void {
    const n = v.length;
    const c = this.roomRight(n);
    const at = this.cb[2 * c + 1];
    if (n > 0) this.chunks[c]!.latin1Write(v, at);
    this.pushedRight(c, at, n);
  }

  /** `pushLeft` of the bytes `b[start, end)` (the request's). */
  pushLeftBytes(b: Buffer, start: number, end: number): void {
    const n = end - start;
    const c = this.roomLeft(n);
    const at = this.cb[2 * c] - n;
    copyInto(b, start, end, this.chunks[c]!, at);
    this.pushedLeft(c, at, n);
  }

  /** `pushRight` of the bytes `b[start, end)` (the request's). */
  pushRightBytes(b: Buffer, start: number, end: number): void {
    const n = end - start;
    const c = this.roomRight(n);
    const at = this.cb[2 * c + 1];
    copyInto(b, start, end, this.chunks[c]!, at);
    this.pushedRight(c, at, n);
  }

  popLeft(): string | undefined {
    if (this.len === 0) return undefined;
    const v = this.at(0);
    this.dropLeft();
    return v;
  }

  popRight(): string | undefined {
    if (this.len === 0) return undefined;
    const v = this.at(this.len - 1);
    this.dropRight();
    return v;
  }

  /** Removes the first element (read it first with bufferOf / startOf / endOf). */
  dropLeft(): void {
    const c = this.cHead;
    const j = this.head;
    this.cb[2 * c] = this.el[3 * j + 1] + this.el[3 * j + 2];
    this.head = (j + 1) & (this.ecap - 1);
    // The chunk is empty when the next element is in another (not by its bytes: an element may be empty).
    if (this.cCount > 1 && this.el[3 * (this.head)] !== this.el[3 * j]) {
      this.dropChunk(c);
      this.cHead = (c + 1) & (this.chunks.length - 1);
      this.firstSeq++;
      this.shrinkChunks();
    }
    this.popped();
  }

  /** Removes the last element. */
  dropRight(): void {
    const c = (this.cHead + this.cCount - 1) & (this.chunks.length - 1);
    const mask = this.ecap - 1;
    const j = (this.head + this.len - 1) & mask;
    this.cb[2 * c + 1] = this.el[3 * j + 1];
    if (this.cCount > 1 && this.el[3 * ((j - 1) & mask)] !== this.el[3 * j]) {
      this.dropChunk(c);
      this.shrinkChunks();
    }
    this.popped();
  }

  /** Elements [start, end] (inclusive, already clamped). */
  range(start: number, end: number): string[] {
    const out: string[] = [];
    for (let i = start; i <= end; i++) out.push(this.at(i));
    return out;
  }

  /** Replaces the contents (LREM, LTRIM, LINSERT): O(n). */
  replaceAll(items: readonly string[]): void {
    this.chunks = new Array(4);
    this.cb = new Int32Array(2 * 4);
    this.cHead = 0;
    this.cCount = 0;
    this.firstSeq = 0;
    this.held = 0;
    let cap = 16;
    while (cap < items.length) cap *= 2;
    this.el = new Int32Array(3 * cap);
    this.ecap = cap;
    this.head = 0;
    this.len = 0;
    for (const v of items) this.pushRight(v);
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

  private chunkAt(seq: number): number {
    return (this.cHead + seq - this.firstSeq) & (this.chunks.length - 1);
  }

  private pushedLeft(c: number, at: number, n: number): void {
    this.cb[2 * c] = at;
    if (this.len === this.ecap) this.resizeElements(this.ecap * 2);
    this.head = (this.head - 1) & (this.ecap - 1);
    this.el[3 * (this.head)] = this.firstSeq + ((c - this.cHead) & (this.chunks.length - 1));
    this.el[3 * (this.head) + 1] = at;
    this.el[3 * (this.head) + 2] = n;
    this.len++;
    this.mods++;
  }

  private pushedRight(c: number, at: number, n: number): void {
    this.cb[2 * c + 1] = at + n;
    if (this.len === this.ecap) this.resizeElements(this.ecap * 2);
    const j = (this.head + this.len) & (this.ecap - 1);
    this.el[3 * j] = this.firstSeq + ((c - this.cHead) & (this.chunks.length - 1));
    this.el[3 * j + 1] = at;
    this.el[3 * j + 2] = n;
    this.len++;
    this.mods++;
  }

  private popped(): void {
    this.len--;
    this.mods++;
    if (this.len === 0) {
      // One chunk is left: empty it (small again if it had grown).
      const c = this.cHead;
      if (this.chunks[c]!.length > LIST_MIN_BYTES) this.replaceChunk(c, LIST_MIN_BYTES);
      this.cb[2 * c] = this.cb[2 * c + 1] = LIST_MIN_BYTES >>> 1;
      this.head = 0;
    }
    if (this.ecap > 64 && this.len < this.ecap / 4) this.resizeElements(this.ecap / 2);
  }

  private resizeElements(cap: number): void {
    // The ring's two runs as two block copies (a loop over a million triples took milliseconds: a latency spike).
    const el = new Int32Array(3 * cap);
    const first = Math.min(this.len, this.ecap - this.head);
    el.set(this.el.subarray(3 * this.head, 3 * (this.head + first)), 0);
    if (first < this.len) el.set(this.el.subarray(0, 3 * (this.len - first)), 3 * first);
    this.el = el;
    this.ecap = cap;
    this.head = 0;
  }

  /** The first chunk with `n` bytes free at its start (grown or added when needed). */
  private roomLeft(n: number): number {
    if (this.cCount > 0) {
      const c = this.cHead;
      if (this.cb[2 * c] >= n) return c;
      if (this.cCount === 1 && this.regrowOnly(c, n)) return c;
    }
    return this.addChunk(true, n);
  }

  /** The last chunk with `n` bytes free at its end (grown or added when needed). */
  private roomRight(n: number): number {
    if (this.cCount > 0) {
      const c = (this.cHead + this.cCount - 1) & (this.chunks.length - 1);
      if (this.chunks[c]!.length - this.cb[2 * c + 1] >= n) return c;
      if (this.cCount === 1 && this.regrowOnly(c, n)) return c;
    }
    return this.addChunk(false, n);
  }

  /**
   * The only chunk, out of room at one end: its bytes moved to the middle of
   * a chunk twice their size (with the `n` more), while that is at most
   * CHUNK_MAX. False when it would be larger: a chunk is added instead.
   */
  private regrowOnly(c: number, n: number): boolean {
    const live = this.cb[2 * c + 1] - this.cb[2 * c];
    const bytes = listBytesFor(live + n);
    if (bytes > CHUNK_MAX) return false;
    const at = (bytes - live) >>> 1;
    const old = this.chunks[c]!;
    if (bytes === old.length) {
      old.copyWithin(at, this.cb[2 * c], this.cb[2 * c + 1]);
    } else {
      const next = listBuffer(bytes);
      old.copy(next, at, this.cb[2 * c], this.cb[2 * c + 1]);
      this.held += chunkCost(bytes) - chunkCost(old.length);
      this.chunks[c] = next;
    }
    const delta = at - this.cb[2 * c];
    const mask = this.ecap - 1;
    for (let i = 0; i < this.len; i++) this.el[3 * ((this.head + i) & mask) + 1] += delta;
    this.cb[2 * c] = at;
    this.cb[2 * c + 1] = at + live;
    return true;
  }

  /** Adds a chunk at the front or the back for an element of `n` bytes; returns its position. */
  private addChunk(front: boolean, n: number): number {
    if (this.cCount === this.chunks.length) this.resizeChunks(this.chunks.length * 2);
    const first = this.cCount === 0;
    const bytes = first ? listBytesFor(n) : Math.max(CHUNK_MAX, n);
    const mask = this.chunks.length - 1;
    let c: number;
    if (first) {
      c = this.cHead;
    } else if (front) {
      c = (this.cHead - 1) & mask;
      this.cHead = c;
      this.firstSeq--;
    } else {
      c = (this.cHead + this.cCount) & mask;
    }
    this.chunks[c] = listBuffer(bytes);
    this.held += chunkCost(bytes);
    // The first chunk fills from its middle (room for n either way); a new end chunk from the list's side.
    const at = first ? bytes >>> 1 : front ? bytes : 0;
    this.cb[2 * c] = this.cb[2 * c + 1] = at;
    this.cCount++;
    return c;
  }

  private dropChunk(c: number): void {
    this.held -= chunkCost(this.chunks[c]!.length);
    releaseChunk(this.chunks[c]!);
    this.chunks[c] = undefined;
    this.cCount--;
  }

  /** After a pop at the front moved cHead: the chunk ring shrinks with the list. */
  private shrinkChunks(): void {
    if (this.chunks.length > 16 && this.cCount < this.chunks.length / 4) this.resizeChunks(this.chunks.length / 2);
  }

  private replaceChunk(c: number, bytes: number): void {
    this.held += chunkCost(bytes) - chunkCost(this.chunks[c]!.length);
    releaseChunk(this.chunks[c]!);
    this.chunks[c] = listBuffer(bytes);
  }

  private resizeChunks(cap: number): void {
    const mask = this.chunks.length - 1;
    const chunks: Array<Buffer | undefined> = new Array(cap);
    const cb = new Int32Array(2 * cap);
    for (let i = 0; i < this.cCount; i++) {
      const j = (this.cHead + i) & mask;
      chunks[i] = this.chunks[j];
      cb[2 * i] = this.cb[2 * j];
      cb[2 * i + 1] = this.cb[2 * j + 1];
    }
    this.chunks = chunks;
    this.cb = cb;
    this.cHead = 0;
  }
}

const LIST_MIN_BYTES = 64;
/**
 * The largest chunk, unless one element is larger: 64 KB. Redis's listpacks
 * are 8 KB because an insert in the middle of one moves its bytes; here
 * nothing moves within a chunk but the only chunk's growth (at most half of
 * this), and each chunk costs an allocation and an ArrayBuffer: with 8 KB,
 * malloc and the typed array's creation were 4 % of pipelined LPUSH's CPU.
 */
const CHUNK_MAX = 65536;

/** A chunk size for `live` bytes with as much room again (a power of two, at least LIST_MIN_BYTES). */
function listBytesFor(live: number): number {
  let b = LIST_MIN_BYTES;
  while (b < live * 2 + 16) b *= 2;
  return b;
}

/**
 * Emptied full-size chunks, kept for the next chunk any list needs: a queue
 * (pushed at one end, popped at the other) then reuses its chunks instead of
 * allocating an ArrayBuffer per 64 KB that passes through it. A new
 * ArrayBuffer's pages fault on first write (10-20 µs each on the machine of
 * docs/benchmarks.md), and V8 counts new ArrayBuffer bytes against its old
 * generation's limit, so ~10 MB of them start a marking of the whole heap.
 * At most SPARE_CHUNKS (1 MiB): process memory, like the connections'
 * buffers, not the keyspace's.
 */
const SPARE_CHUNKS = 16;
const spareChunks: Buffer[] = [];

/** A chunk: an ArrayBuffer of its own (see `allocate` in byte-table.ts for why not slices of Node's pool). */
function listBuffer(bytes: number): Buffer {
  if (bytes === CHUNK_MAX && spareChunks.length > 0) return spareChunks.pop()!;
  return Buffer.allocUnsafeSlow(bytes);
}

/** A chunk no list holds any more (its bytes are not read again). */
function releaseChunk(b: Buffer): void {
  if (b.length === CHUNK_MAX && spareChunks.length < SPARE_CHUNKS) spareChunks.push(b);
}

/** @internal For tests: how many emptied chunks are kept. */
export function spareChunkCount(): number {
  return spareChunks.length;
}

function chunkCost(bytes: number): number {
  return bytes + BUFFER_OVERHEAD;
}

/** A typed array's cost: V8 keeps one of up to 64 bytes on its heap, a larger one in an ArrayBuffer of its own. */
function intsCost(bytes: number): number {
  return bytes > 64 ? bytes + BUFFER_OVERHEAD : bytes;
}

/** A short copy as a loop (cheaper than a call), a longer one through byteCopy (no garbage, unlike Buffer#copy). */
function copyInto(src: Buffer, start: number, end: number, dst: Buffer, at: number): void {
  const n = end - start;
  if (n <= 32) for (let i = 0; i < n; i++) dst[at + i] = src[start + i];
  else byteCopy(src, start, end, dst, at);
}

// ---- set ----------------------------------------------------------------------

/** Members in an array (O(1) random member) with a Map from member to its position (swap-remove). */
export class SetValue {
  readonly type = T_SET;
  readonly items: string[] = [];
  private readonly pos = new Map<string, number>();
  bytes = OBJECT_OVERHEAD;
  mods = 0;
  /** Past the intset thresholds once: Redis's hashtable encoding. */
  big = false;

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
    if (!this.big && (this.items.length > INTSET_MAX_ENTRIES || !isIntsetMember(m))) this.big = true;
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
    c.big = this.big;
    return c;
  }
}

// ---- sorted set ------------------------------------------------------------------

/** A member and its score, as range reads return them (a copy: later changes to the set do not show in it). */
export interface ZNode {
  readonly m: string;
  readonly s: number;
}

/**
 * Puts (s, id) at pair `i` of block `b`: `b.splice(2 * i, 0, s, id)` without
 * splice's result array (a block is at most 2 * ZBLOCK pairs: the loop is as
 * fast, and leaves no garbage).
 */
function insertPair(b: number[], i: number, s: number, id: number): void {
  b.push(s, id);
  for (let j = b.length - 1; j > 2 * i + 1; j--) b[j] = b[j - 2];
  b[2 * i] = s;
  b[2 * i + 1] = id;
}

/** `b.splice(2 * i, 2)` without its result array. */
function removePair(b: number[], i: number): void {
  const n = b.length - 2;
  for (let j = 2 * i; j < n; j++) b[j] = b[j + 2];
  b.pop(); // not `b.length = n`: setting the length is a call into the runtime
  b.pop();
}

/** A block holding (s, id): an array of doubles from the start (a literal with a fraction), so no block changes its elements' kind later. */
function newBlock(s: number, id: number): number[] {
  const b = [0.5, 0.5];
  b[0] = s;
  b[1] = id;
  return b;
}

/** Nodes per block of a sorted set: a block splits in two past twice this. */
const ZBLOCK = 32;
/** Up to this many ids, members are found by scanning them (as Redis's listpack): no index. */
const ZLINEAR_MAX = 16;
/** Smallest member index, in (id + 1, hash) pairs. */
const ZINDEX_MIN = 64;
/** Below this many ids, freed ids are never compacted away. */
const ZCOMPACT_MIN = 64;

function indexBytes(index: Int32Array | undefined): number {
  return index === undefined ? 0 : index.byteLength + BUFFER_OVERHEAD;
}

/**
 * A sorted set. Each member has a small-integer id: `members[id]` and
 * `scoreById[id]`. The (score, id) pairs are in order of (score, member) in
 * blocks of up to 2 x ZBLOCK pairs, each block one array of unboxed doubles
 * (s0, id0, s1, id1...), with each block's last score in `lasts` and each
 * block's starting rank kept lazily. A write finds its block by binary search
 * on `lasts` and its place by binary search on that block's scores (a member
 * is read only where scores tie), then shifts at most one block. Members are
 * found through an open-addressing index of (id + 1, hash) pairs, from a
 * request's bytes without making a string.
 *
 * Why not simpler: one sorted array cost ~250 us per insert on a 100k set
 * (V8's `splice` of 100k pointers: ZADD at 0.09x Redis); a skiplist in JS
 * costs an object and a level array per node. Blocks of node objects with a
 * `Map<string, node>` (the layout before this one) spent a fifth of pipelined
 * ZADD in V8's `FindOrderedHashMapEntry` (each entry's key string read to
 * compare it, a string made from the request first) and paid V8's write
 * barrier on every pointer a shift moved; ids are numbers, which a shift
 * moves without it. A block's scores and ids in one array, not two, is one
 * array fewer to reach (cache misses) on each side of a move.
 */
export class ZSetValue {
  readonly type = T_ZSET;
  /** Member by id ('' for a free id). */
  private members: string[] = [];
  /** Score by id (NaN for a free id: no score is NaN). */
  private scoreById: number[] = [];
  /** Ids whose member went, for the next new member. */
  private free: number[] = [];
  /** (id + 1, hash) pairs, 0: empty, -1: a tombstone; undefined while there are few ids (they are scanned). */
  private index: Int32Array | undefined;
  private mask = 0;
  private tombstones = 0;
  /** (score, id) pairs in order, in blocks: a block is one array of doubles, s0, id0, s1, id1... */
  private blocks: number[][] = [];
  /** The score of each block's last id. */
  private lasts: number[] = [];
  /** The rank of each block's first id, valid for blocks [0, startsValid). */
  private readonly starts: number[] = [];
  private startsValid = 0;
  private count = 0;
  bytes = OBJECT_OVERHEAD;
  mods = 0;
  /** Past the listpack thresholds once: Redis's skiplist encoding. */
  big = false;

  get size(): number {
    return this.count;
  }

  // ---- members ------------------------------------------------------------------

  /** The id of member `m`, or -1. */
  find(m: string): number {
    const index = this.index;
    if (index === undefined) {
      const members = this.members;
      for (let id = 0; id < members.length; id++) if (members[id] === m && this.scoreById[id] === this.scoreById[id]) return id;
      return -1;
    }
    const h = hashOfLatin1(m);
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = index[2 * i];
      if (e === 0) return -1;
      if (e > 0 && index[2 * i + 1] === h && this.members[e - 1] === m) return e - 1;
    }
  }

  /** Prefetch, first step (Keyspace.prefetch; see ByteTable.touchIndex): the id at the home of a member whose hashOf is `h`, or -1. */
  touchIndex(h: number): number {
    return touchHome(this.index, this.mask, h);
  }

  /** Prefetch, second step: reads member `id`'s string and score. */
  touchRecord(id: number): number {
    const m = this.members[id];
    return m === undefined ? 0 : m.length ^ (this.scoreById[id] | 0);
  }

  /** The id of the member whose bytes are `buf[start, end)`, or -1 (no string made). */
  findBytes(buf: Buffer, start: number, end: number): number {
    const index = this.index;
    if (index === undefined) return this.find(buf.latin1Slice(start, end));
    const h = hashOf(buf, start, end);
    const mask = this.mask;
    const len = end - start;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = index[2 * i];
      if (e === 0) return -1;
      if (e > 0 && index[2 * i + 1] === h) {
        const m = this.members[e - 1];
        if (m.length === len) {
          let k = 0;
          while (k < len && m.charCodeAt(k) === buf[start + k]) k++;
          if (k === len) return e - 1;
        }
      }
    }
  }

  /** The member of id `id` (from `find`). */
  memberOf(id: number): string {
    return this.members[id];
  }

  /** The score of id `id` (from `find`). */
  scoreOf(id: number): number {
    return this.scoreById[id];
  }

  score(m: string): number | undefined {
    const id = this.find(m);
    return id < 0 ? undefined : this.scoreById[id];
  }

  /** Adds or updates; true when the member is new. */
  set(m: string, s: number): boolean {
    const id = this.find(m);
    if (id >= 0) {
      this.setScore(id, s);
      return false;
    }
    this.add(m, s);
    return true;
  }

  /** Adds member `m`, which must not be in the set (`find` said -1). */
  add(m: string, s: number): void {
    this.insert(this.newId(m, s), s, m);
    if (!this.big && (m.length > LISTPACK_MAX_VALUE || this.count > LISTPACK_MAX_ENTRIES)) this.big = true;
  }

  /** Gives id `id` (from `find`) the score `s`. */
  setScore(id: number, s: number): void {
    const old = this.scoreById[id];
    if (old === s) return;
    const m = this.members[id];
    this.remove(old, m);
    this.scoreById[id] = s;
    this.insert(id, s, m);
    this.mods++;
  }

  delete(m: string): boolean {
    const id = this.find(m);
    if (id < 0) return false;
    this.remove(this.scoreById[id], m);
    this.forget(id);
    this.mods++;
    this.maybeCompact();
    return true;
  }

  // ---- order --------------------------------------------------------------------

  /** Every member and score, in order. */
  * [Symbol.iterator](): IterableIterator<ZNode> {
    const members = this.members;
    for (let bi = 0; bi < this.blocks.length; bi++) {
      const b = this.blocks[bi];
      for (let i = 0; i < b.length; i += 2) yield { m: members[b[i + 1]], s: b[i] };
    }
  }

  /**
   * The first rank whose member satisfies `pred`, which must be false for a
   * prefix of the order and true after it (size when it never holds).
   */
  firstWhere(pred: (m: string) => boolean): number {
    const bl = this.blocks;
    const members = this.members;
    let lo = 0;
    let hi = bl.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = bl[mid];
      if (pred(members[b[b.length - 1]])) hi = mid;
      else lo = mid + 1;
    }
    if (lo === bl.length) return this.count;
    const b = bl[lo];
    let l = 0;
    let h = (b.length >> 1) - 1;
    while (l < h) {
      const mid = (l + h) >>> 1;
      if (pred(members[b[2 * mid + 1]])) h = mid;
      else l = mid + 1;
    }
    return this.startOf(lo) + l;
  }

  /** First rank whose node is >= (s, m). */
  lowerBound(s: number, m: string): number {
    if (this.count === 0) return 0;
    const bi = this.blockFor(s, m);
    const i = this.position(bi, s, m);
    return 2 * i === this.blocks[bi].length ? this.count : this.startOf(bi) + i;
  }

  /** First rank with score >= s (or > s when exclusive). */
  scoreBound(s: number, exclusive: boolean): number {
    const lasts = this.lasts;
    let lo = 0;
    let hi = lasts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (exclusive ? lasts[mid] > s : lasts[mid] >= s) hi = mid;
      else lo = mid + 1;
    }
    if (lo === lasts.length) return this.count;
    const b = this.blocks[lo];
    let l = 0;
    let h = (b.length >> 1) - 1;
    while (l < h) {
      const mid = (l + h) >>> 1;
      if (exclusive ? b[2 * mid] > s : b[2 * mid] >= s) h = mid;
      else l = mid + 1;
    }
    return this.startOf(lo) + l;
  }

  rank(m: string): number | undefined {
    const id = this.find(m);
    return id < 0 ? undefined : this.lowerBound(this.scoreById[id], m);
  }

  /** The member and score at rank i (0 <= i < size). */
  at(i: number): ZNode {
    const bi = this.blockAt(i);
    const k = i - this.starts[bi];
    const b = this.blocks[bi];
    return { m: this.members[b[2 * k + 1]], s: b[2 * k] };
  }

  /** The members and scores at ranks [lo, hi), in order (hi past the end stops at the end, as Array#slice). */
  slice(lo: number, hi: number): ZNode[] {
    const out: ZNode[] = [];
    hi = Math.min(hi, this.count);
    if (hi <= lo) return out;
    let bi = this.blockAt(lo);
    let off = lo - this.starts[bi];
    let left = hi - lo;
    while (left > 0) {
      const b = this.blocks[bi++];
      const end = Math.min(b.length >> 1, off + left);
      for (let i = off; i < end; i++) out.push({ m: this.members[b[2 * i + 1]], s: b[2 * i] });
      left -= end - off;
      off = 0;
    }
    return out;
  }

  /** Removes the members at ranks [start, end) at once; returns them. */
  deleteRange(start: number, end: number): ZNode[] {
    const gone: ZNode[] = [];
    if (end <= start) return gone;
    let bi = this.blockAt(start);
    let off = start - this.starts[bi];
    let left = end - start;
    this.invalidateFrom(bi);
    while (left > 0) {
      const b = this.blocks[bi];
      const k = Math.min(left, (b.length >> 1) - off);
      for (let i = off; i < off + k; i++) {
        gone.push({ m: this.members[b[2 * i + 1]], s: b[2 * i] });
        this.forget(b[2 * i + 1]);
      }
      b.splice(2 * off, 2 * k);
      left -= k;
      this.count -= k;
      if (b.length === 0) this.dropBlock(bi);
      else this.lasts[bi++] = b[b.length - 2];
      off = 0;
    }
    this.mods++;
    this.maybeCompact();
    return gone;
  }

  clone(): ZSetValue {
    const c = new ZSetValue();
    for (const n of this) c.appendLast(n.m, n.s);
    c.big = this.big;
    c.mods = 0;
    return c;
  }

  // ---- internals ----------------------------------------------------------------

  /** Adds a member known to be new and after every member (a clone), into full blocks. */
  private appendLast(m: string, s: number): void {
    const id = this.newId(m, s);
    const last = this.blocks.length - 1;
    if (last < 0 || this.blocks[last].length >= 4 * ZBLOCK) {
      this.blocks.push(newBlock(s, id));
      this.lasts.push(s);
    } else {
      this.blocks[last].push(s, id);
      this.lasts[last] = s;
    }
    this.count++;
    this.startsValid = 0;
  }

  /** An id for the new member `m` (a freed one first), indexed and counted; the caller puts it in a block. */
  private newId(m: string, s: number): number {
    const id = this.free.length > 0 ? this.free.pop()! : this.members.length;
    if (id === this.members.length) {
      this.members.push(m);
      this.scoreById.push(s);
    } else {
      this.members[id] = m;
      this.scoreById[id] = s;
    }
    this.indexAdd(id, m);
    this.bytes += ZMEMBER + stringCost(m.length);
    this.mods++;
    return id;
  }

  /** Frees id `id`: its member leaves the index (the caller took it out of its block). */
  private forget(id: number): void {
    const m = this.members[id];
    const index = this.index;
    if (index !== undefined) {
      const mask = this.mask;
      for (let i = hashOfLatin1(m) & mask; ; i = (i + 1) & mask) {
        if (index[2 * i] === id + 1) {
          index[2 * i] = -1;
          break;
        }
      }
      this.tombstones++;
    }
    this.members[id] = '';
    this.scoreById[id] = NaN;
    this.free.push(id);
    this.bytes -= ZMEMBER + stringCost(m.length);
  }

  /** Indexes the new id `id` of member `m` (already in `members`). */
  private indexAdd(id: number, m: string): void {
    const index = this.index;
    if (index === undefined) {
      if (this.members.length > ZLINEAR_MAX) this.reindex();
      return;
    }
    const h = hashOfLatin1(m);
    const mask = this.mask;
    let i = h & mask;
    while (index[2 * i] > 0) i = (i + 1) & mask;
    if (index[2 * i] === -1) this.tombstones--;
    index[2 * i] = id + 1;
    index[2 * i + 1] = h;
    // The new id's member is not counted yet (the caller inserts it into a block after).
    if ((this.count + 1 + this.tombstones) * 2 > mask + 1) this.reindex();
  }

  /** A fresh index of every live id, a quarter full at most (or none while few ids are scanned). */
  private reindex(): void {
    const members = this.members;
    const scoreById = this.scoreById;
    const old = this.index;
    let index: Int32Array | undefined;
    let cap = 0;
    if (members.length > ZLINEAR_MAX) {
      const live = members.length - this.free.length;
      cap = ZINDEX_MIN;
      while (cap < live * 4) cap *= 2;
      index = new Int32Array(2 * cap);
      const mask = cap - 1;
      for (let id = 0; id < members.length; id++) {
        if (scoreById[id] !== scoreById[id]) continue; // free
        const h = hashOfLatin1(members[id]);
        let i = h & mask;
        while (index[2 * i] !== 0) i = (i + 1) & mask;
        index[2 * i] = id + 1;
        index[2 * i + 1] = h;
      }
    }
    this.bytes += indexBytes(index) - indexBytes(old);
    this.index = index;
    this.mask = cap - 1;
    this.tombstones = 0;
  }

  /** When most ids are free, renumbers the members 0..size-1 so that the per-id arrays and the index shrink. */
  private maybeCompact(): void {
    const ids = this.members.length;
    if (ids < ZCOMPACT_MIN || this.count * 4 > ids) return;
    const members: string[] = [];
    const scoreById: number[] = [];
    for (let bi = 0; bi < this.blocks.length; bi++) {
      const b = this.blocks[bi];
      for (let i = 1; i < b.length; i += 2) {
        const id = b[i];
        b[i] = members.length;
        members.push(this.members[id]);
        scoreById.push(this.scoreById[id]);
      }
    }
    this.members = members;
    this.scoreById = scoreById;
    this.free = [];
    this.reindex();
  }

  /** True when (s, m) comes after id `id` (score `ns`) in Redis's order: by score, then by member bytes. */
  private after(s: number, m: string, ns: number, id: number): boolean {
    return s > ns || (s === ns && m > this.members[id]);
  }

  /** The pair index in block `bi` of the first pair >= (s, m). */
  private position(bi: number, s: number, m: string): number {
    const b = this.blocks[bi];
    let lo = 0;
    let hi = b.length >> 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.after(s, m, b[2 * mid], b[2 * mid + 1])) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The block where (s, m) is or would go: the first whose last id is >= it, else the last. */
  private blockFor(s: number, m: string): number {
    const lasts = this.lasts;
    let lo = 0;
    let hi = lasts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const last = lasts[mid];
      // The block itself is read only where the scores tie (a cache miss per step otherwise).
      if (s > last || (s === last && m > this.members[this.blocks[mid][this.blocks[mid].length - 1]])) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insert(id: number, s: number, m: string): void {
    this.count++;
    if (this.blocks.length === 0) {
      this.blocks.push(newBlock(s, id));
      this.lasts.push(s);
      this.startsValid = 0;
      return;
    }
    const bi = this.blockFor(s, m);
    const b = this.blocks[bi];
    const i = this.position(bi, s, m);
    insertPair(b, i, s, id);
    if (b.length > 4 * ZBLOCK) {
      const tail = b.splice(2 * ZBLOCK);
      this.blocks.splice(bi + 1, 0, tail);
      this.lasts.splice(bi, 1, b[2 * ZBLOCK - 2], tail[tail.length - 2]);
    } else if (2 * i === b.length - 2) {
      this.lasts[bi] = s;
    }
    this.invalidateFrom(bi + 1);
  }

  /** Takes (s, m), which is in the set, out of its block. */
  private remove(s: number, m: string): void {
    const bi = this.blockFor(s, m);
    const b = this.blocks[bi];
    const i = this.position(bi, s, m);
    removePair(b, i);
    this.count--;
    if (b.length === 0) {
      this.dropBlock(bi);
    } else {
      this.lasts[bi] = b[b.length - 2];
      this.invalidateFrom(bi + 1);
    }
  }

  /** Removes the empty block `bi`. */
  private dropBlock(bi: number): void {
    this.blocks.splice(bi, 1);
    this.lasts.splice(bi, 1);
    this.invalidateFrom(bi);
  }

  /** The starting ranks of blocks from `bi` on changed. */
  private invalidateFrom(bi: number): void {
    if (this.startsValid > bi) this.startsValid = bi;
  }

  /** The starting rank of block `bi`, computing the ones not yet known. */
  private startOf(bi: number): number {
    if (this.startsValid <= bi) {
      let i = this.startsValid;
      let acc = i === 0 ? 0 : this.starts[i - 1] + (this.blocks[i - 1].length >> 1);
      for (; i <= bi; i++) {
        this.starts[i] = acc;
        acc += this.blocks[i].length >> 1;
      }
      this.startsValid = bi + 1;
    }
    return this.starts[bi];
  }

  /** The block holding rank i (0 <= i < size). */
  private blockAt(i: number): number {
    const last = this.blocks.length - 1;
    this.startOf(last);
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

// ---- stream ---------------------------------------------------------------------

/** A stream entry ID: milliseconds and sequence, each an unsigned 64-bit integer (Redis takes the full range). */
export interface StreamId {
  readonly ms: bigint;
  readonly seq: bigint;
}

export const U64_MAX = (1n << 64n) - 1n;
export const ID_ZERO: StreamId = { ms: 0n, seq: 0n };
export const ID_MAX: StreamId = { ms: U64_MAX, seq: U64_MAX };

export function cmpId(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

export function idString(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

/** An entry: its ID and its fields and values, flat (f1, v1, f2, v2...), never changed once added. */
export interface StreamEntry {
  readonly id: StreamId;
  readonly fields: readonly string[];
  /** The node (Redis's listpack of up to 100 entries) it was appended to: what `~` trimming removes whole. */
  readonly node: number;
}

/** Redis's default stream-node-max-entries. */
export const STREAM_NODE_ENTRIES = 100;

/** A delivered, not yet acknowledged entry of a consumer group (Redis's NACK). */
export interface PendingEntry {
  readonly id: StreamId;
  consumer: string;
  /** When it was last delivered (ms since the epoch). */
  deliveredAt: number;
  /** How many times it was delivered (Redis's delivery_count, exact up to 2^53). */
  deliveries: number;
}

export interface StreamConsumer {
  readonly name: string;
  seenAt: number;
  /** Its pending entries by ID string (the same objects as the group's PEL). */
  readonly pending: Map<string, PendingEntry>;
}

export interface StreamGroup {
  readonly name: string;
  lastId: StreamId;
  /** Entries the group has read (Redis 7's counter for lag), -1 when unknown. */
  entriesRead: number;
  /** Pending entries by ID string. */
  readonly pel: Map<string, PendingEntry>;
  readonly consumers: Map<string, StreamConsumer>;
  /** The PEL in ID order, built when asked (`pendingInOrder`) and dropped by any change to the PEL's membership. */
  sorted?: PendingEntry[];
}

/** The pending entries of `g` (or of its consumer `c`) in ID order, as Redis's PEL radix trees iterate them. */
export function pendingInOrder(g: StreamGroup, c?: StreamConsumer): readonly PendingEntry[] {
  if (g.sorted === undefined) g.sorted = [...g.pel.values()].sort((a, b) => cmpId(a.id, b.id));
  return c === undefined ? g.sorted : g.sorted.filter((p) => p.consumer === c.name);
}

/** First index of `list` (ID-ordered) whose ID is >= id. */
export function pendingLowerBound(list: readonly PendingEntry[], id: StreamId): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmpId(list[mid].id, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Names in Redis's order (its radix trees: byte order; names are latin1 strings, one char per byte). */
export function byName<T extends { readonly name: string }>(m: ReadonlyMap<string, T>): T[] {
  return [...m.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** An entry's object, its ID (object + 2 bigints) and its fields array. */
const STREAM_ENTRY = 160;
/** A pending entry: its object, an entry in the group's and the consumer's Maps, and a slot in the ID-ordered copy. */
const PENDING_ENTRY = 64 + 2 * MAP_ENTRY + 48 + ARRAY_SLOT;
const GROUP_OVERHEAD = 256;

function entryCost(fields: readonly string[]): number {
  let n = STREAM_ENTRY + ARRAY_SLOT;
  for (const f of fields) n += ARRAY_SLOT + stringCost(f.length);
  return n;
}

/**
 * Entries in an array in ID order (appends are O(1), lookups by binary
 * search; XDEL of an entry in the middle moves the pointers after it), the
 * stream's counters, and its consumer groups. Unlike the other aggregates a
 * stream stays when its last entry goes (XDEL, XTRIM), as in Redis.
 */
export class StreamValue {
  readonly type = T_STREAM;
  entries: StreamEntry[] = [];
  lastId: StreamId = ID_ZERO;
  maxDeletedId: StreamId = ID_ZERO;
  entriesAdded = 0;
  readonly groups = new Map<string, StreamGroup>();
  bytes = OBJECT_OVERHEAD;
  mods = 0;
  /** The node being filled, and how many entries were appended to it (deleted ones count, as in Redis). */
  private node = 0;
  private inNode = 0;

  get size(): number {
    return this.entries.length;
  }

  /** First index whose ID is >= id. */
  lowerBound(id: StreamId): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmpId(this.entries[mid].id, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Appends an entry whose ID is greater than lastId (the caller checks). */
  append(id: StreamId, fields: readonly string[]): void {
    if (this.inNode >= STREAM_NODE_ENTRIES || this.entries.length === 0) {
      this.node++;
      this.inNode = 0;
    }
    this.inNode++;
    this.entries.push({ id, fields, node: this.node });
    this.lastId = id;
    this.entriesAdded++;
    this.bytes += entryCost(fields);
    this.mods++;
  }

  delete(id: StreamId): boolean {
    const i = this.lowerBound(id);
    if (i >= this.entries.length || cmpId(this.entries[i].id, id) !== 0) return false;
    this.bytes -= entryCost(this.entries[i].fields);
    this.entries.splice(i, 1);
    if (cmpId(id, this.maxDeletedId) > 0) this.maxDeletedId = id;
    this.mods++;
    return true;
  }

  /** Removes the oldest n entries. */
  trimHead(n: number): void {
    if (n <= 0) return;
    for (let i = 0; i < n; i++) this.bytes -= entryCost(this.entries[i].fields);
    this.entries.splice(0, n);
    this.mods++;
  }

  /** Marks a change the methods here do not make (a group's last ID, the stream's last ID). */
  touch(bytes = 0): void {
    this.bytes += bytes;
    this.mods++;
  }

  addGroup(name: string, lastId: StreamId, entriesRead: number): StreamGroup {
    const g: StreamGroup = { name, lastId, entriesRead, pel: new Map(), consumers: new Map() };
    this.groups.set(name, g);
    this.touch(GROUP_OVERHEAD + stringCost(name.length));
    return g;
  }

  deleteGroup(name: string): boolean {
    const g = this.groups.get(name);
    if (g === undefined) return false;
    let b = GROUP_OVERHEAD + stringCost(name.length) + g.pel.size * PENDING_ENTRY;
    for (const c of g.consumers.values()) b += GROUP_OVERHEAD + stringCost(c.name.length);
    this.groups.delete(name);
    this.touch(-b);
    return true;
  }

  /** The consumer `name` of `g`, created when absent (its seen time `now`). */
  consumer(g: StreamGroup, name: string, now: number): { c: StreamConsumer; created: boolean } {
    let c = g.consumers.get(name);
    if (c !== undefined) return { c, created: false };
    c = { name, seenAt: now, pending: new Map() };
    g.consumers.set(name, c);
    this.touch(GROUP_OVERHEAD + stringCost(name.length));
    return { c, created: true };
  }

  /** Deletes a consumer and its pending entries; returns how many it had. */
  deleteConsumer(g: StreamGroup, name: string): number {
    const c = g.consumers.get(name);
    if (c === undefined) return 0;
    const n = c.pending.size;
    for (const k of c.pending.keys()) g.pel.delete(k);
    if (n > 0) g.sorted = undefined;
    g.consumers.delete(name);
    this.touch(-(GROUP_OVERHEAD + stringCost(name.length) + n * PENDING_ENTRY));
    return n;
  }

  /**
   * Makes `id` pending for consumer `c`: a new pending entry, or the
   * existing one moves to `c`; either way with delivery time `at` and
   * delivery count `deliveries` (a function of the old count, 0 when new).
   */
  claim(g: StreamGroup, c: StreamConsumer, id: StreamId, at: number, deliveries: (old: number) => number): PendingEntry {
    const k = idString(id);
    let p = g.pel.get(k);
    if (p === undefined) {
      p = { id, consumer: c.name, deliveredAt: at, deliveries: deliveries(0) };
      g.pel.set(k, p);
      c.pending.set(k, p);
      g.sorted = undefined;
      this.touch(PENDING_ENTRY);
      return p;
    }
    if (p.consumer !== c.name) {
      g.consumers.get(p.consumer)?.pending.delete(k);
      p.consumer = c.name;
      c.pending.set(k, p);
    }
    p.deliveredAt = at;
    p.deliveries = deliveries(p.deliveries);
    this.touch();
    return p;
  }

  /** Removes `id` from the group's PEL (and its consumer's); false when it was not pending. */
  ack(g: StreamGroup, id: StreamId): boolean {
    const k = idString(id);
    const p = g.pel.get(k);
    if (p === undefined) return false;
    g.pel.delete(k);
    g.consumers.get(p.consumer)?.pending.delete(k);
    g.sorted = undefined;
    this.touch(-PENDING_ENTRY);
    return true;
  }

  /** True when an entry with this ID is in the stream. */
  has(id: StreamId): boolean {
    const i = this.lowerBound(id);
    return i < this.entries.length && cmpId(this.entries[i].id, id) === 0;
  }

  /** Redis's first_id: the first entry's ID, 0-0 when the stream is empty. */
  get firstId(): StreamId {
    return this.entries.length > 0 ? this.entries[0].id : ID_ZERO;
  }

  /** The nodes holding entries (Redis's radix-tree-keys: a node goes when its last entry does). */
  get nodeCount(): number {
    let n = 0;
    let last = -1;
    for (const e of this.entries) {
      if (e.node !== last) n++;
      last = e.node;
    }
    return n;
  }

  clone(): StreamValue {
    const c = new StreamValue();
    c.entries = this.entries.slice(); // entries are immutable: shared
    c.node = this.node;
    c.inNode = this.inNode;
    c.lastId = this.lastId;
    c.maxDeletedId = this.maxDeletedId;
    c.entriesAdded = this.entriesAdded;
    for (const g of this.groups.values()) {
      const ng: StreamGroup = { name: g.name, lastId: g.lastId, entriesRead: g.entriesRead, pel: new Map(), consumers: new Map() };
      for (const con of g.consumers.values()) ng.consumers.set(con.name, { name: con.name, seenAt: con.seenAt, pending: new Map() });
      for (const [k, p] of g.pel) {
        const np = { ...p };
        ng.pel.set(k, np);
        ng.consumers.get(p.consumer)?.pending.set(k, np);
      }
      c.groups.set(g.name, ng);
    }
    c.bytes = this.bytes;
    return c;
  }
}

export type TypedValue = HashValue | ListValue | SetValue | ZSetValue | StreamValue;

/** True when a changed value is empty so its key goes: any aggregate but a stream, which stays until DEL (as in Redis). */
export function isEmptied(v: TypedValue): boolean {
  return v.size === 0 && v.type !== T_STREAM;
}

export function newValue(type: TypeTag): TypedValue {
  switch (type) {
    case T_HASH: return new HashValue();
    case T_LIST: return new ListValue();
    case T_SET: return new SetValue();
    case T_ZSET: return new ZSetValue();
    case T_STREAM: return new StreamValue();
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
 * - zset: u32 count, then count x (f64 score, u32 len, member bytes), in rank order;
 * - stream (type 5, written with format version 2): u64 last ID ms, u64 last ID seq, u64 max
 *   deleted ID ms, u64 its seq, u64 entries added; u32 count, then count x (u64 ms, u64 seq,
 *   u32 n, n x (u32 len, bytes): fields and values alternating), in ID order; u32 groups, then
 *   groups x (u32 len, name, u64 last delivered ms, u64 seq, i64 entries read (-1: unknown),
 *   u32 consumers, consumers x (u32 len, name, f64 seen time ms), u32 pending, pending x
 *   (u64 ms, u64 seq, u32 len, consumer name, f64 delivery time ms, u64 delivery count)), in
 *   ID order. Version 1 streams (read still) had a u32 delivery count, too small for Redis's
 *   (XCLAIM RETRYCOUNT takes any signed 64-bit count). A stream may be empty.
 *
 * Version 2 changed only the stream body, so the other types are still
 * written as version 1 (a state-cache from before version 2 reads them) and
 * read in either version.
 *
 * Integers and doubles are little-endian. A string value is stored as its
 * plain bytes (so stores written before this encoding existed read the same)
 * unless it starts with the magic, in which case it is stored as a type-0
 * record: every stored value decodes to exactly one thing.
 */
export const ENCODING_MAGIC = Buffer.from([0xff, 0x53, 0x43, 0x56]); // "\xffSCV"
export const ENCODING_VERSION = 1;
/** The format version streams are written with (see above); decodeValue reads 1 and 2. */
export const STREAM_ENCODING_VERSION = 2;
const HEADER = ENCODING_MAGIC.length + 2;


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
  if (v instanceof StreamValue) return encodeStream(v);
  let n = HEADER + 4;
  const strs: string[] = [];
  const scores: number[] = [];
  if (v instanceof HashValue) {
    for (const [f, x] of v.entries()) strs.push(f, x);
  } else if (v instanceof ListValue) {
    for (let i = 0; i < v.size; i++) strs.push(v.at(i));
  } else if (v instanceof SetValue) {
    for (const m of v.items) strs.push(m); // not push(...items): past ~150k members a call takes too many arguments
  } else {
    for (const node of v) {
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
  if (b[4] !== ENCODING_VERSION && b[4] !== STREAM_ENCODING_VERSION) {
    throw bad(`it has encoding version ${b[4]}, this state-cache reads versions ${ENCODING_VERSION} and ${STREAM_ENCODING_VERSION} (upgrade state-cache)`);
  }
  const type = b[5];
  if (type === T_STRING) return { type: T_STRING, value: b.subarray(HEADER) };
  if (type === T_STREAM) return { type: T_STREAM, value: decodeStream(b, b[4], bad) };
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
    } else if (v instanceof ZSetValue) {
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

/** Appends fixed-size and length-prefixed fields to a growing buffer (the stream encoding's writer). */
class Writer {
  buf = Buffer.allocUnsafe(256);
  o = 0;

  private room(n: number): void {
    if (this.o + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.o + n));
    this.buf.copy(next, 0, 0, this.o);
    this.buf = next;
  }

  u32(n: number): void {
    this.room(4);
    this.o = this.buf.writeUInt32LE(n, this.o);
  }

  u64(n: bigint): void {
    this.room(8);
    this.o = this.buf.writeBigUInt64LE(n, this.o);
  }

  i64(n: number): void {
    this.room(8);
    this.o = this.buf.writeBigInt64LE(BigInt(n), this.o);
  }

  f64(n: number): void {
    this.room(8);
    this.o = this.buf.writeDoubleLE(n, this.o);
  }

  str(s: string): void {
    this.u32(s.length);
    this.room(s.length);
    this.o += this.buf.latin1Write(s, this.o);
  }

  id(id: StreamId): void {
    this.u64(id.ms);
    this.u64(id.seq);
  }
}

function encodeStream(v: StreamValue): Buffer {
  const w = new Writer();
  ENCODING_MAGIC.copy(w.buf, 0);
  w.buf[4] = STREAM_ENCODING_VERSION;
  w.buf[5] = T_STREAM;
  w.o = HEADER;
  w.id(v.lastId);
  w.id(v.maxDeletedId);
  w.u64(BigInt(v.entriesAdded));
  w.u32(v.entries.length);
  for (const e of v.entries) {
    w.id(e.id);
    w.u32(e.fields.length);
    for (const f of e.fields) w.str(f);
  }
  w.u32(v.groups.size);
  for (const g of v.groups.values()) {
    w.str(g.name);
    w.id(g.lastId);
    w.i64(g.entriesRead);
    w.u32(g.consumers.size);
    for (const c of g.consumers.values()) {
      w.str(c.name);
      w.f64(c.seenAt);
    }
    w.u32(g.pel.size);
    for (const p of pendingInOrder(g)) {
      w.id(p.id);
      w.str(p.consumer);
      w.f64(p.deliveredAt);
      w.u64(BigInt(p.deliveries));
    }
  }
  return w.buf.subarray(0, w.o);
}

function decodeStream(b: Buffer, version: number, bad: (why: string) => ValueEncodingError): StreamValue {
  let o = HEADER;
  const need = (n: number) => {
    if (o + n > b.length) throw bad('truncated stream');
  };
  const u32 = () => {
    need(4);
    const n = b.readUInt32LE(o);
    o += 4;
    return n;
  };
  const u64 = () => {
    need(8);
    const n = b.readBigUInt64LE(o);
    o += 8;
    return n;
  };
  const f64 = () => {
    need(8);
    const n = b.readDoubleLE(o);
    o += 8;
    return n;
  };
  const str = () => {
    const len = u32();
    need(len);
    const s = b.latin1Slice(o, o + len);
    o += len;
    return s;
  };
  const id = (): StreamId => ({ ms: u64(), seq: u64() });
  const v = new StreamValue();
  const lastId = id();
  v.maxDeletedId = id();
  const added = Number(u64());
  const count = u32();
  for (let i = 0; i < count; i++) {
    const eid = id();
    const n = u32();
    const fields: string[] = [];
    for (let j = 0; j < n; j++) fields.push(str());
    if (v.entries.length > 0 && cmpId(eid, v.lastId) <= 0) throw bad('stream entries out of order');
    v.append(eid, fields);
  }
  v.lastId = lastId;
  v.entriesAdded = added;
  const groups = u32();
  for (let i = 0; i < groups; i++) {
    const g = v.addGroup(str(), id(), 0);
    g.entriesRead = Number(b.readBigInt64LE((need(8), o)));
    o += 8;
    const consumers = u32();
    for (let j = 0; j < consumers; j++) {
      const name = str();
      v.consumer(g, name, f64());
    }
    const pending = u32();
    for (let j = 0; j < pending; j++) {
      const pid = id();
      const name = str();
      const c = g.consumers.get(name);
      if (c === undefined) throw bad(`a pending entry of group '${g.name}' names an unknown consumer`);
      if (g.pel.has(idString(pid))) throw bad(`a pending entry of group '${g.name}' is listed twice`);
      const at = f64();
      const deliveries = version === 1 ? u32() : Number(u64());
      v.claim(g, c, pid, at, () => deliveries);
    }
  }
  if (o !== b.length) throw bad('trailing bytes');
  v.mods = 0;
  return v;
}

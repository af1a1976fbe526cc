/**
 * A table of byte-string fields to byte-string values kept off the V8 heap:
 * the store of a hash's fields.
 *
 * Hand-written because a `Map<string, string>` was the cost of pipelined
 * HSET / HGET on a large hash (issue 15): V8's `FindOrderedHashMapEntry`
 * was a fifth of the server's CPU (chains of two entries per bucket, each
 * entry's key string read to compare it), and every field and value was a
 * string that survived its young generation, so scavenges copied it. Here
 * a field is looked up from the request bytes (no string made), a value is
 * copied from the request and into the reply as bytes, and nothing per
 * field lives on the V8 heap.
 *
 * Layout: records appended to one byte buffer, each 4-byte aligned,
 *
 *     i32 hash | i32 field length (~length when the record is dead) | i32 value length | field | value
 *
 * and, past LINEAR_MAX fields, an open-addressing index of
 * (record word + 1, hash) pairs in one Int32Array (0: empty, -1: a
 * tombstone), so a probe reads the pair's cache line and the record only
 * when the hashes match. Up to LINEAR_MAX fields the records are scanned
 * (Redis's listpack does the same), which saves the index's memory on the
 * many small hashes.
 *
 * Order: records are kept in insertion order, as Redis's listpack keeps
 * small hashes: a field whose value changes length is rewritten in place
 * (the records after it shift) while the table is `ordered`; past Redis's
 * listpack thresholds (where Redis's own order becomes its hashtable's) the
 * new record is appended and the old one left dead until a compaction.
 */

import { copyBytes as byteCopy } from '../byte-copy';
import { CommandError } from '../vocabulary';

/** Record header, in 32-bit words: hash, field length, value length. */
const HEADER_WORDS = 3;
/** Up to this many fields, no index: lookups scan the records. */
const LINEAR_MAX = 16;
/** Dead bytes are reclaimed when they pass this share of the buffer (and COMPACT_MIN). */
const COMPACT_MIN = 4096;

const SEED = (Math.random() * 0x100000000) >>> 0;

/** A seeded FNV-1a with murmur3's final avalanche, over `buf[start, end)`. */
export function hashOf(buf: Buffer, start: number, end: number): number {
  let h = (SEED ^ (end - start)) >>> 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return avalanche(h);
}

/** `hashOf` of a binary string's bytes (one char per byte, as `latin1Slice` makes them). */
export function hashOfLatin1(s: string): number {
  let h = (SEED ^ s.length) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return avalanche(h);
}

function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function recordWords(flen: number, vlen: number): number {
  return HEADER_WORDS + ((flen + vlen + 3) >>> 2);
}

/** Scratch for the string API (fields and values given as binary strings); a larger input gets a buffer of its own, not kept. */
const SCRATCH_BYTES = 64 * 1024;
const scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
function scratchFor(n: number): Buffer {
  return n <= SCRATCH_BYTES ? scratch : Buffer.allocUnsafeSlow(n);
}

/**
 * The largest buffer a table grows to: its byte offsets are 32-bit. A
 * change that would need more is refused (CommandError), before anything
 * changes.
 */
const MAX_TABLE_BYTES = 2 ** 31 - 8;

/**
 * A table's buffer: an ArrayBuffer of its own. (Slices of Node's shared
 * pool were tried for small hashes: a live slice keeps its whole 8 KB pool
 * block, so after most small hashes were deleted the survivors held ~6 KB
 * each, six times what the budget counted.)
 */
function allocate(bytes: number): Buffer {
  return Buffer.allocUnsafeSlow(bytes);
}

function wordsOf(b: Buffer): Int32Array {
  return new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
}

/**
 * What an ArrayBuffer costs besides its bytes: its objects, the backing
 * store's record, malloc's headers and what a growing buffer leaves behind.
 * Measured by test/keyspace-types-memory.test.ts: 20k lists of ten 12-byte
 * elements took ~1.5 KB of RSS per list more than their heap and buffers.
 */
export const BUFFER_OVERHEAD = 512;

/**
 * The entry at the home of hash `h` in an open-addressing index of
 * (entry + 1, hash) pairs (ByteTable's records, ZSetValue's ids), when its
 * hash matches, else -1 (also without an index): MemberIndex.touchIndex.
 */
export function touchHome(index: Int32Array | undefined, mask: number, h: number): number {
  if (index === undefined) return -1;
  const i = h & mask;
  return index[2 * i] > 0 && index[2 * i + 1] === h ? index[2 * i] - 1 : -1;
}

/** An aggregate's index of members, as Keyspace.prefetch reads it ahead of a pipeline's lookups (hashes and sorted sets). */
export interface MemberIndex {
  /** Reads the index pair at the home of a member whose `hashOf` is `h`; the record or id there when the hash matches, else -1. */
  touchIndex(h: number): number;
  /** Reads record or id `r` (from touchIndex). */
  touchRecord(r: number): number;
}

export class ByteTable implements MemberIndex {
  /** The records; `words` is the same memory as 32-bit words. */
  private data: Buffer;
  private words: Int32Array;
  /** End of the last record, in words. */
  private end = 0;
  /** Words of dead records. */
  private dead = 0;
  /** (record word + 1, hash) pairs; undefined while the records are scanned. */
  private index: Int32Array | undefined;
  private mask = 0;
  private tombstones = 0;
  /** Live fields. */
  size = 0;
  /** False once values are appended instead of rewritten in place (order no longer kept). */
  ordered = true;

  constructor(bytes = 64) {
    this.data = allocate(bytes);
    this.words = wordsOf(this.data);
  }

  /** Bytes this table holds: its buffers and what each costs besides its bytes. */
  get capacityBytes(): number {
    return this.data.length + BUFFER_OVERHEAD + (this.index === undefined ? 0 : this.index.byteLength + BUFFER_OVERHEAD);
  }

  // ---- lookups ----------------------------------------------------------------

  /** The record word of the field `buf[start, end)`, or -1. */
  find(buf: Buffer, start: number, end: number): number {
    return this.findHashed(buf, start, end, hashOf(buf, start, end));
  }

  private findHashed(buf: Buffer, start: number, end: number, h: number): number {
    const w = this.words;
    const len = end - start;
    const index = this.index;
    if (index === undefined) {
      for (let r = 0; r < this.end; r += recordWords(w[r + 1] < 0 ? ~w[r + 1] : w[r + 1], w[r + 2])) {
        if (w[r] === h && w[r + 1] === len && this.fieldEquals(r, buf, start, len)) return r;
      }
      return -1;
    }
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const rec = index[2 * i];
      if (rec === 0) return -1;
      if (rec > 0 && index[2 * i + 1] === h) {
        const r = rec - 1;
        if (w[r + 1] === len && this.fieldEquals(r, buf, start, len)) return r;
      }
    }
  }

  /**
   * Prefetch, first step (Keyspace.prefetch): reads the index pair at the
   * home of a field whose hashOf is `h`, so that a pipeline's lookups in a
   * large table miss the cache together instead of one after another.
   * Returns the record word there when its hash matches (the field may
   * still be another with the same hash), else -1; -1 for a scanned table.
   */
  touchIndex(h: number): number {
    return touchHome(this.index, this.mask, h);
  }

  /** Prefetch, second step: reads the header of record `r` (from touchIndex). */
  touchRecord(r: number): number {
    return this.words[r + 1];
  }

  private fieldEquals(r: number, buf: Buffer, start: number, len: number): boolean {
    const d = this.data;
    const at = (r + HEADER_WORDS) << 2;
    for (let i = 0; i < len; i++) if (d[at + i] !== buf[start + i]) return false;
    return true;
  }

  /** The buffer a record's bytes are in (valid until the next change). */
  get bytes(): Buffer {
    return this.data;
  }

  fieldStart(r: number): number {
    return (r + HEADER_WORDS) << 2;
  }

  fieldLength(r: number): number {
    return this.words[r + 1];
  }

  valueStart(r: number): number {
    return ((r + HEADER_WORDS) << 2) + this.words[r + 1];
  }

  valueLength(r: number): number {
    return this.words[r + 2];
  }

  field(r: number): string {
    const s = this.fieldStart(r);
    return this.data.latin1Slice(s, s + this.words[r + 1]);
  }

  value(r: number): string {
    const s = this.valueStart(r);
    return this.data.latin1Slice(s, s + this.words[r + 2]);
  }

  /** The live records' words, in the table's order. */
  records(): number[] {
    const out: number[] = [];
    const w = this.words;
    for (let r = 0; r < this.end;) {
      const f = w[r + 1];
      if (f >= 0) out.push(r);
      r += recordWords(f < 0 ? ~f : f, w[r + 2]);
    }
    return out;
  }

  // ---- changes ----------------------------------------------------------------

  /**
   * Sets the field `fb[fs, fe)` to the value `vb[vs, ve)`. Returns the
   * previous value's length, or -1 when the field is new. `fb` and `vb` must
   * not be this table's own buffer.
   */
  set(fb: Buffer, fs: number, fe: number, vb: Buffer, vs: number, ve: number): number {
    if ((this.end + recordWords(fe - fs, ve - vs)) * 4 > MAX_TABLE_BYTES) {
      throw new CommandError('ERR the hash would pass 2 GiB (a hash keeps its fields in one buffer): split it over several keys');
    }
    const h = hashOf(fb, fs, fe);
    const r = this.findHashed(fb, fs, fe, h);
    const flen = fe - fs;
    const vlen = ve - vs;
    let old = -1;
    if (r >= 0) {
      old = this.words[r + 2];
      if (recordWords(flen, old) === recordWords(flen, vlen)) {
        // Same room: the value in place.
        this.words[r + 2] = vlen;
        this.copyIn(vb, vs, ve, ((r + HEADER_WORDS) << 2) + flen);
        return old;
      }
      if (this.ordered) {
        this.rewrite(r, vb, vs, ve);
        return old;
      }
      // Unordered: the old record dies and the new one is appended like a new field.
      this.kill(r);
      this.size--;
      if (this.index !== undefined) {
        this.repoint(h, r, -1);
        this.tombstones++;
      }
    }
    const w = this.append(h, fb, fs, fe, vb, vs, ve);
    this.size++;
    if (this.index !== undefined) this.insertIndex(h, w);
    else if (this.size > LINEAR_MAX) this.rebuildIndex();
    return old;
  }

  /** Deletes the field `buf[start, end)`; returns its value's length, or -1 when absent. */
  delete(buf: Buffer, start: number, end: number): number {
    const h = hashOf(buf, start, end);
    const r = this.findHashed(buf, start, end, h);
    if (r < 0) return -1;
    const old = this.words[r + 2];
    this.kill(r);
    this.size--;
    if (this.index !== undefined) {
      this.repoint(h, r, -1);
      this.tombstones++;
    }
    if (this.size === 0) {
      this.end = 0;
      this.dead = 0;
      this.index = undefined;
      this.tombstones = 0;
    } else {
      this.maybeCompact();
    }
    return old;
  }

  /** A copy with the same fields in the same order (and no dead records). */
  clone(): ByteTable {
    const c = new ByteTable(Math.max(64, (this.end - this.dead) << 2));
    c.ordered = this.ordered;
    const w = this.words;
    for (const r of this.records()) {
      const fs = (r + HEADER_WORDS) << 2;
      const fe = fs + w[r + 1];
      c.set(this.data, fs, fe, this.data, fe, fe + w[r + 2]);
    }
    return c;
  }

  // ---- the string API (slow paths: scripts, encoding, the rarer commands) -------

  /** The record word of a field given as a binary string, or -1. */
  findString(field: string): number {
    const b = scratchFor(field.length);
    const n = b.latin1Write(field, 0);
    return this.find(b, 0, n);
  }

  setString(field: string, value: string): number {
    const b = scratchFor(field.length + value.length);
    const f = b.latin1Write(field, 0);
    const v = b.latin1Write(value, f);
    return this.set(b, 0, f, b, f, f + v);
  }

  deleteString(field: string): number {
    const b = scratchFor(field.length);
    const n = b.latin1Write(field, 0);
    return this.delete(b, 0, n);
  }

  // ---- internals --------------------------------------------------------------

  private copyIn(src: Buffer, start: number, end: number, at: number): void {
    const d = this.data;
    const n = end - start;
    if (n <= 32) for (let i = 0; i < n; i++) d[at + i] = src[start + i];
    else byteCopy(src, start, end, d, at); // no garbage, unlike Buffer#copy
  }

  /** Appends a record; returns its word. */
  private append(h: number, fb: Buffer, fs: number, fe: number, vb: Buffer, vs: number, ve: number): number {
    const flen = fe - fs;
    const need = recordWords(flen, ve - vs);
    if ((this.end + need) << 2 > this.data.length) this.grow(need);
    const r = this.end;
    const w = this.words;
    w[r] = h;
    w[r + 1] = flen;
    w[r + 2] = ve - vs;
    const at = (r + HEADER_WORDS) << 2;
    this.copyIn(fb, fs, fe, at);
    this.copyIn(vb, vs, ve, at + flen);
    this.end += need;
    return r;
  }

  /** Room for `need` more words: dead records reclaimed when that halves the buffer, else a larger buffer. */
  private grow(need: number): void {
    if (this.dead > 0 && (this.end - this.dead + need) << 2 <= this.data.length >>> 1) {
      this.compact();
      if ((this.end + need) << 2 <= this.data.length) return;
    }
    this.resize(Math.min(MAX_TABLE_BYTES, Math.max(this.data.length * 2, (this.end + need) << 2)));
  }

  private resize(bytes: number): void {
    const next = allocate(bytes);
    this.data.copy(next, 0, 0, this.end << 2);
    this.data = next;
    this.words = wordsOf(next);
  }

  private kill(r: number): void {
    const f = this.words[r + 1];
    this.dead += recordWords(f, this.words[r + 2]);
    this.words[r + 1] = ~f;
  }

  /** Points the index entry of record `from` (hash `h`) at `to` (-1: a tombstone). */
  private repoint(h: number, from: number, to: number): void {
    const index = this.index;
    if (index === undefined) return;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      if (index[2 * i] === from + 1) {
        index[2 * i] = to < 0 ? -1 : to + 1;
        return;
      }
    }
  }

  private insertIndex(h: number, r: number): void {
    const index = this.index!;
    const mask = this.mask;
    let i = h & mask;
    while (index[2 * i] > 0) i = (i + 1) & mask;
    if (index[2 * i] === -1) this.tombstones--;
    index[2 * i] = r + 1;
    index[2 * i + 1] = h;
    if ((this.size + this.tombstones) * 4 > (mask + 1) * 3) this.rebuildIndex();
  }

  /** A fresh index for the live records, at most 3/8 full (or none while they are scanned). */
  private rebuildIndex(): void {
    if (this.size <= LINEAR_MAX) {
      this.index = undefined;
      this.tombstones = 0;
      return;
    }
    let cap = 32;
    while (cap * 3 < this.size * 8) cap *= 2;
    const index = new Int32Array(cap * 2);
    const mask = cap - 1;
    const w = this.words;
    for (let r = 0; r < this.end;) {
      const f = w[r + 1];
      if (f >= 0) {
        let i = w[r] & mask;
        while (index[2 * i] !== 0) i = (i + 1) & mask;
        index[2 * i] = r + 1;
        index[2 * i + 1] = w[r];
      }
      r += recordWords(f < 0 ? ~f : f, w[r + 2]);
    }
    this.index = index;
    this.mask = mask;
    this.tombstones = 0;
  }

  private maybeCompact(): void {
    if (this.dead << 2 >= COMPACT_MIN && this.dead * 2 > this.end) this.compact();
  }

  /** Moves the live records together, in order, and rebuilds the index; a buffer four times too large shrinks by half. */
  private compact(): void {
    const d = this.data;
    const w = this.words;
    let to = 0;
    for (let r = 0; r < this.end;) {
      const f = w[r + 1];
      const n = recordWords(f < 0 ? ~f : f, w[r + 2]);
      if (f >= 0) {
        if (to !== r) d.copyWithin(to << 2, r << 2, (r + n) << 2);
        to += n;
      }
      r += n;
    }
    this.end = to;
    this.dead = 0;
    if (this.data.length > 4096 && to * 16 < this.data.length) this.resize(this.data.length >>> 1);
    this.rebuildIndex();
  }

  /** Replaces record `r`'s value with one of another length, keeping the record's place. */
  private rewrite(r: number, vb: Buffer, vs: number, ve: number): void {
    const w = this.words;
    const flen = w[r + 1];
    const oldWords = recordWords(flen, w[r + 2]);
    const newWords = recordWords(flen, ve - vs);
    const delta = newWords - oldWords;
    // A larger buffer, not grow(): a compaction would move the record.
    if (delta > 0 && (this.end + delta) << 2 > this.data.length) {
      this.resize(Math.min(MAX_TABLE_BYTES, Math.max(this.data.length * 2, (this.end + delta) << 2)));
    }
    const d = this.data;
    const after = r + oldWords;
    d.copyWithin((r + newWords) << 2, after << 2, this.end << 2);
    this.end += delta;
    this.words[r + 2] = ve - vs;
    this.copyIn(vb, vs, ve, ((r + HEADER_WORDS) << 2) + flen);
    this.rebuildIndex();
  }
}

/* eslint-disable no-bitwise */ // integer math on the hot path (slot picks, clocks)
import { copyBytes as byteCopy } from '../byte-copy';
import { OutOfMemoryError } from '../vocabulary';
import { hashOf as fieldHashOf } from './byte-table';
import type { MemberIndex } from './byte-table';
import { EntryChange, LoadedEntry, NO_PERSISTENCE, PersistenceHooks } from './hooks';
import {
  accountedBytes, decodeValue, encodeString, encodeValue, HashValue, isEmptied, newValue,
  T_HASH, T_STREAM, T_STRING, T_ZSET, TypedValue, TypeTag, WrongTypeError, ZSetValue,
} from './types';
import { VersionClock } from './versions';

/**
 * A value as the keyspace's general API takes and returns it: a binary
 * (latin1) string for values up to `STRING_VALUE_MAX` bytes, a Buffer above.
 * Both have `.length` in bytes. Values are not *kept* in this form: they are
 * copied into the slabs below, and `value(slot)` makes a fresh copy. The hot
 * paths (GET, SET) skip both copies with the byte-range methods
 * (`findBytes`, `setBytes`, `valueView`).
 */
export type Value = string | Buffer;

export const STRING_VALUE_MAX = 64 * 1024;

/** Bytes in front of every chunk: the slot that owns it (so a chunk can be moved). */
const CHUNK_HEADER = 4;
/** Largest chunk kept in a slab arena; larger entries get a Buffer of their own. */
export const SLAB_MAX = 1024 * 1024;
/** A slab arena segment's most bytes (an ArrayBuffer is at most 4 GiB; smaller keeps address space modest). */
const SEGMENT_BYTES = 1024 * 1024 * 1024;
/** Memory pages: arenas grow and shrink in whole pages. */
const PAGE = 4096;
/**
 * An arena shrinks once more than SHRINK_SLACK, 4 chunks and 1/16 of it are
 * free at its end, down to its live bytes plus SHRINK_KEEP, 2 chunks and
 * 1/32: enough hysteresis that a class whose size wanders (large chunks
 * above all) is not resized, and its pages faulted in again, on every write.
 */
const SHRINK_SLACK = 256 * 1024;
const SHRINK_KEEP = 64 * 1024;
/** Size class field: 0 is a free slot; 1..CLASS_COUNT are slab size classes; BIG an entry in its own Buffer. */
const FREE = 0;
const BIG = 255;
/** What a Buffer of its own costs besides its bytes (ArrayBuffer, backing store, Buffer object, malloc). */
const BIG_OVERHEAD = 512;

/**
 * Chunk size of each size class (index = class id): multiples of 8 up to
 * 128 bytes, then 8 classes per doubling up to SLAB_MAX, so a chunk wastes at
 * most 1/8 (on average ~1/16) of its size. Class 7 holds 49..56 bytes, etc.
 */
const CLASS_SIZE: readonly number[] = (() => {
  const sizes = [0];
  for (let id = 1; id <= 15; id++) sizes.push(8 * (id + 1));
  for (let b = 7; (1 << b) < SLAB_MAX; b++) for (let i = 1; i <= 8; i++) sizes.push((1 << b) + i * (1 << (b - 3)));
  return sizes;
})();

/** The size class of a chunk of `n` bytes (header, key and value), or BIG above SLAB_MAX. */
function classOf(n: number): number {
  if (n > SLAB_MAX) return BIG;
  if (n <= 128) return n <= 16 ? 1 : ((n + 7) >>> 3) - 1;
  const b = 31 - Math.clz32(n - 1); // 2^b < n <= 2^(b+1)
  return 15 + (b - 7) * 8 + ((n - (1 << b) + (1 << (b - 3)) - 1) >>> (b - 3));
}

/**
 * A slot's record (see the Keyspace comment): RECORD_BYTES bytes, read
 * through views of each width. A field is at `slot * R<width> + <FIELD>` in
 * the view of its width: version and expiry (float64), access tick (uint32),
 * chunk number, key and value length (int32), LFU minute (uint16), LFU
 * counter, size class and value type (uint8); 3 bytes pad to 40.
 */
const RECORD_BYTES = 40;
const R64 = RECORD_BYTES / 8;
const R32 = RECORD_BYTES / 4;
const R16 = RECORD_BYTES / 2;
const R8 = RECORD_BYTES;
const VERSION = 0;
const EXPIRES = 1;
const ACCESS = 4;
const CHUNK = 5;
const KLEN = 6;
const VLEN = 7;
const LFU_MINUTE = 16;
const LFU = 34;
const CLS = 35;
const TYPE = 36;
/** Keys up to this many bytes are compared by a loop, longer ones by Buffer#compare. */
const SHORT_KEY = 32;
/** Most keys `prefetch` takes at once (it looks at the first this many). */
const PREFETCH_MAX = 32;
/** Index buckets per slot: the index is at most 3/4 full. */
const INDEX_PER_SLOT = 4 / 3;
/** Int32s per index bucket: slot + 1 (0 empty) and the key's hash. */
const BUCKET = 2;
/** Columns grow by this factor, so up to 1/GROWTH of them is unused capacity. */
const GROWTH = 1.25;
/** Most slots (the records are reserved for this many, committed as they grow; an ArrayBuffer holds at most 4 GiB). */
const MAX_SLOTS = Math.floor(2 ** 32 / RECORD_BYTES);

/**
 * What an entry costs besides its chunk: its record, the index's share, and
 * the records' unused capacity at worst (the capacity just after growing).
 */
export const SLOT_BYTES = Math.ceil((RECORD_BYTES + 4 * BUCKET * INDEX_PER_SLOT) * GROWTH);

/**
 * The accounted size of an entry: its chunk (a 4-byte header, the key and the
 * value, rounded up to its size class) plus SLOT_BYTES. This is what the byte
 * budget counts and INFO reports as used_memory, and it is what the entry
 * really takes: nothing per entry lives on the V8 heap.
 */
export function entryBytes(keyBytes: number, valueBytes: number): number {
  const n = CHUNK_HEADER + keyBytes + valueBytes;
  return (n > SLAB_MAX ? n + BIG_OVERHEAD : CLASS_SIZE[classOf(n)]) + SLOT_BYTES;
}

/** A resizable ArrayBuffer (ES2024): Node 20 has them, this TypeScript's lib does not yet. */
interface ResizableArrayBuffer extends ArrayBuffer {
  readonly maxByteLength: number;
  resize(byteLength: number): void;
}
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableArrayBuffer;

/**
 * The chunks of one size class, dense: chunk i is at i * size in segment
 * i / perSegment. Each segment is a resizable ArrayBuffer that commits memory
 * as it grows and gives it back to the OS as it shrinks (V8 decommits the
 * pages cut off), so the arena's resident size follows its live chunks
 * without waiting for a garbage collection. A freed chunk is filled with the
 * last chunk (whose header names its owner, so the owner's record is
 * updated): no holes, so no fragmentation inside a class.
 */
class Arena {
  readonly perSegment: number;
  count = 0;
  private readonly segments: ResizableArrayBuffer[] = [];
  /** A Buffer over each segment's committed bytes (remade when the segment is resized). */
  private views: Buffer[] = [];
  /**
   * The same bytes as plain Uint8Arrays, for `prefetch`: V8 (Node 20) compiles
   * an element load from a Buffer over a resizable ArrayBuffer into a call of
   * its megamorphic load stub, which keeps the CPU from overlapping the misses.
   */
  private bytes: Uint8Array[] = [];

  constructor(readonly size: number) {
    this.perSegment = Math.floor(SEGMENT_BYTES / size);
  }

  view(chunk: number): Buffer {
    return this.views[chunk < this.perSegment ? 0 : (chunk / this.perSegment) | 0];
  }

  /** `view(chunk)`'s bytes as a Uint8Array (see `bytes`). */
  byteView(chunk: number): Uint8Array {
    return this.bytes[chunk < this.perSegment ? 0 : (chunk / this.perSegment) | 0];
  }

  offset(chunk: number): number {
    return (chunk < this.perSegment ? chunk : chunk % this.perSegment) * this.size;
  }

  /** A new chunk at the end; its bytes are committed. */
  alloc(): number {
    const chunk = this.count;
    const seg = (chunk / this.perSegment) | 0;
    if (seg === this.segments.length) {
      this.segments.push(new ResizableArrayBuffer(0, { maxByteLength: this.perSegment * this.size }));
      this.views.push(EMPTY);
      this.bytes.push(EMPTY_BYTES);
    }
    const ab = this.segments[seg];
    const end = (chunk - seg * this.perSegment + 1) * this.size;
    if (end > ab.byteLength) {
      // Committing is cheap (untouched pages cost nothing): grow by 1/8, at least 64 KiB and 2 chunks.
      const want = Math.max(end, ab.byteLength + Math.max(SHRINK_KEEP, 2 * this.size, ab.byteLength >>> 3));
      this.resize(seg, want);
    }
    this.count = chunk + 1;
    return chunk;
  }

  /**
   * Frees `chunk` by moving the last chunk into its place. Returns the slot
   * whose chunk moved there (its chunk number is now `chunk`), or -1.
   */
  free(chunk: number): number {
    const last = --this.count;
    let moved = -1;
    if (chunk !== last) {
      const to = this.view(chunk);
      const at = this.offset(chunk);
      const from = this.offset(last);
      byteCopy(this.view(last), from, from + this.size, to, at);
      moved = to[at] | (to[at + 1] << 8) | (to[at + 2] << 16) | (to[at + 3] << 24);
    }
    this.trim();
    return moved;
  }

  /** Gives back the free pages at the end: a whole empty segment, or the tail of the last one. */
  private trim(): void {
    const lastSeg = this.segments.length - 1;
    const used = (this.count - lastSeg * this.perSegment) * this.size;
    if (used <= 0 && lastSeg > 0) {
      this.segments[lastSeg].resize(0);
      this.segments.pop();
      this.views.pop();
      this.bytes.pop();
      return;
    }
    const committed = this.segments[lastSeg].byteLength;
    if (committed - used > Math.max(SHRINK_SLACK, 4 * this.size, committed >>> 4)) {
      this.resize(lastSeg, used + Math.max(SHRINK_KEEP, 2 * this.size, committed >>> 5));
    }
  }

  private resize(seg: number, bytes: number): void {
    const ab = this.segments[seg];
    ab.resize(Math.min(ab.maxByteLength, Math.ceil(bytes / PAGE) * PAGE));
    this.views[seg] = Buffer.from(ab, 0, ab.byteLength);
    this.bytes[seg] = new Uint8Array(ab, 0, ab.byteLength);
  }

  /** Every chunk freed and every page given back. */
  clear(): void {
    for (const ab of this.segments) ab.resize(0);
    this.segments.length = 0;
    this.views.length = 0;
    this.bytes.length = 0;
    this.count = 0;
  }
}

const EMPTY = Buffer.alloc(0);
const EMPTY_BYTES = new Uint8Array(0);

/** The chunk header: the owner slot, little-endian (Buffer#writeInt32LE checks cost more than the write). */
function writeOwner(view: Buffer, at: number, slot: number): void {
  view[at] = slot & 0xff;
  view[at + 1] = (slot >>> 8) & 0xff;
  view[at + 2] = (slot >>> 16) & 0xff;
  view[at + 3] = slot >>> 24;
}

/** Address space for `most` elements: a resizable ArrayBuffer, committed as it grows. */
function reserve(type: { readonly BYTES_PER_ELEMENT: number }, most: number): ResizableArrayBuffer {
  return new ResizableArrayBuffer(0, { maxByteLength: most * type.BYTES_PER_ELEMENT });
}

/** Resizes `ab` to `length` elements (new elements are zero) and returns a fixed-length view. */
function commit<T>(
  type: new (ab: ArrayBuffer, offset: number, length: number) => T, bytesPerElement: number, ab: ResizableArrayBuffer, length: number,
): T {
  ab.resize(length * bytesPerElement);
  return new type(ab, 0, length);
}

/**
 * Copies request bytes `src[start, end)` into an entry's memory `dst` at
 * `at`: a loop for short keys (faster than any call), `byteCopy` for the
 * rest. Only for copies from a request into entry memory: V8 compiles the
 * loop's element accesses for the kinds of array it has seen here, and once
 * it has seen more (a plain Buffer as the destination, an arena view as the
 * source) every byte became a call into its runtime. A Buffer as destination
 * made each short key copy about 16 such calls (7 % of write-behind SET).
 */
function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, at: number): void {
  const n = end - start;
  if (n <= 16) {
    for (let i = 0; i < n; i++) dst[at + i] = src[start + i];
  } else {
    byteCopy(src, start, end, dst, at);
  }
}

/** A seeded FNV-1a over the key bytes with a final avalanche (murmur3 fmix32). */
const HASH_SEED = (Math.random() * 0x100000000) >>> 0;

function hashBytes(buf: Buffer, start: number, end: number): number {
  let h = (HASH_SEED ^ (end - start)) >>> 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return fmix32(h);
}

/**
 * `hashBytes` of a key in an arena (a Uint8Array over a resizable
 * ArrayBuffer). A copy of its own: were both kinds of array to reach one
 * loop, V8 would compile its byte loads into calls of the megamorphic load
 * stub, for the requests' keys too.
 */
function hashStored(bytes: Uint8Array, start: number, end: number): number {
  let h = (HASH_SEED ^ (end - start)) >>> 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return fmix32(h);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export type EvictionPolicy = 'lru' | 'lfu' | 'noeviction';

export interface KeyspaceOptions {
  /** Most entries; 0 means no bound by count. */
  readonly maxEntries: number;
  /** Most accounted bytes (`entryBytes` of each entry: key, value, rounding and record); 0 means unbounded. */
  readonly maxBytes: number;
  readonly eviction: EvictionPolicy;
  readonly evictionSamples: number;
  /** Lifespan for entries written without a TTL, ms; 0 none. */
  readonly defaultTtlMs: number;
  /** Entries idle this long expire, ms; 0 none. */
  readonly maxIdleMs: number;
}

export const DEFAULT_KEYSPACE_OPTIONS: KeyspaceOptions = {
  maxEntries: 0,
  maxBytes: 0,
  eviction: 'lru',
  evictionSamples: 5,
  defaultTtlMs: 0,
  maxIdleMs: 0,
};

export { OutOfMemoryError };

/**
 * Told of every change to a key: a write, delete, expiry, eviction or a copy
 * dropped for coherence (CLIENT TRACKING, protocol/tracking.ts). Set only
 * while some client tracks, so otherwise a change costs one check.
 */
export interface KeyChangeListener {
  /** `key` as stored (with a database prefix) changed or left memory. */
  changed(key: string): void;
  /** Every key left memory (FLUSHALL / FLUSHDB). */
  flushed(): void;
}

/** Counters published as metrics and INFO; plain integers to keep the hot path cheap. */
export class KeyspaceStats {
  hits = 0;
  misses = 0;
  evictions = 0;
  expirations = 0;
  writes = 0;
  deletes = 0;
  loads = 0;
  /** Copies dropped because another instance stored a newer version (coherence). */
  invalidations = 0;
}

const LFU_INIT = 5;
const LFU_LOG_FACTOR = 10;
const LFU_DECAY_MINUTES = 1;

/** Resolution of the access clock (LRU order and max idle). */
const ACCESS_TICK_MS = 10;

const INITIAL_SLOTS = 1024;

/**
 * The in-memory keyspace. Nothing per entry lives on the V8 heap: an entry is
 * a slot number into a typed array of fixed-size records and a chunk of bytes in a
 * slab arena, so its accounted size (`entryBytes`) is what it really takes,
 * a replaced or evicted value gives its bytes back at once instead of waiting
 * for a garbage collection, and the collector has no entries to copy or mark.
 *
 * - **Records** (one per slot, RECORD_BYTES): version, expiry, access tick,
 *   LFU counter and minute, size class, chunk number, key and value length,
 *   value type. One record per slot rather than one column per field: a
 *   GET or SET reads most fields of one slot, and at 100k+ keys each field
 *   in a column of its own was a cache miss of its own (SET spent ~1 µs of
 *   its ~4 µs of server CPU in the lookup and write). The records are a
 *   resizable ArrayBuffer reserved for MAX_SLOTS and committed as the
 *   keyspace grows (by 1/4: SLOT_BYTES counts that slack), so growing copies
 *   nothing and leaves no old array behind. Slots of deleted entries are
 *   reused (a free list threaded through the chunk numbers); slots never
 *   move, so SCAN cursors are slot numbers.
 * - **Chunks**: an entry's bytes, `[owner slot: int32][key][value]`, in the
 *   arena of its size class (`CLASS_SIZE`, at most 1/8 rounding). Arenas are
 *   dense (see `Arena`): freeing a chunk moves the class's last chunk into its
 *   place and fixes that chunk's owner slot, and the arena's end is given
 *   back to the OS. A chunk above SLAB_MAX (1 MiB) gets a Buffer of its own,
 *   released by the garbage collector.
 * - **Index**: open addressing with linear probing over an Int32Array of
 *   buckets `[slot + 1 (0 = empty), key hash]`, at most 3/4 full, hashed from
 *   the key bytes; a probe compares the hash in the bucket, and only on a
 *   match the slot's length and bytes (so passing other keys touches no
 *   record: each is a likely cache miss at 100k+ keys). Deletion
 *   shifts the following entries back (no tombstones). GET and SET look keys
 *   up straight from the request bytes, with no string made per command.
 * - **Memory-only writes**: when the hooks have nothing to do (no hooks, or
 *   `memoryOnly()` after persistence was attached: no mode, no stores), SET
 *   goes from the request bytes into the arena (`setBytes`), and no write
 *   builds a change record or copies key and value for persistence; the
 *   protocol then skips the load-on-miss check too (`loadsOnMiss`). With
 *   persistence, a command whose keys are all in memory is checked on its
 *   bytes (`findBytes`) and makes no key string before it runs.
 *
 * Hand-written because this is the hot path: a `Map<string, number>` and
 * value strings cost ~2.5x their bytes on the heap plus the garbage of every
 * replaced value, which the budget could not see (RSS 2-5x the budget under
 * churn), and building a key string per command costs more than hashing its
 * bytes (REFERENCE.md §7).
 *
 * Keys in the string API are binary strings (one char per byte, latin1), as
 * the protocol makes them: any byte sequence is a key.
 *
 * **Aggregates** (hash, list, set, sorted set, stream; keyspace/types.ts). The type
 * field tags each slot; an aggregate's slot keeps its key in a chunk as any
 * entry does (a zero-length value), and its structure lives in `objects` on
 * the V8 heap: a Map for hashes, a ring-buffer deque for lists, an array plus
 * a member index for sets (O(1) random member), a member Map plus a
 * score-ordered array for sorted sets (binary search for ranks and ranges).
 * Each change is O(1) or O(log n) plus, for sorted sets, a pointer memmove;
 * nothing is re-encoded per command in memory. The budget counts an
 * aggregate as `accountedBytes`: a per-element estimate of its heap (strings,
 * Map entries, array slots) times what V8 commits for that heap, checked
 * against RSS by test/keyspace-types-memory.test.ts; it is kept up to date at
 * every change, so eviction and noeviction see aggregates as they see
 * strings (an aggregate is evicted, passivated and expired whole).
 * Writes go through `typedWrite`: when writes reach no store (no hooks, or
 * persistence mode none) the live value changes in place; otherwise the command changes a copy, the copy is encoded
 * (types.ts, versioned: docs/commands.md) and handed to the hooks as ONE
 * write (or a delete, when emptied) per key and version, and memory takes
 * the copy once the hooks allow, exactly like a string write. That copy and
 * encoding are O(n) in the aggregate's size: the price of one value per key
 * in the stores (write-behind coalesces per key, so a queue of LPUSHes to one
 * list still costs one store write per batch).
 */
export class Keyspace {
  readonly stats = new KeyspaceStats();
  /**
   * The time of the read event being processed (set by the connection, 0
   * outside): one clock read per batch of pipelined commands instead of one
   * per lookup, like Redis's cached mstime.
   */
  frozenNow = 0;
  readonly versions = new VersionClock(() => (this.frozenNow !== 0 ? this.frozenNow * 1000 : Date.now() * 1000));

  // The slots' records, the index, and their reserved buffers (see the class comment).
  private readonly recordBuf = reserve(Uint8Array, MAX_SLOTS * RECORD_BYTES);
  private readonly indexBuf = reserve(Int32Array, BUCKET * (Math.ceil(MAX_SLOTS * INDEX_PER_SLOT) + 1));
  /**
   * The records through each width (the field constants say which view holds
   * what). Besides the fields there: the chunk number of a free slot is the
   * next free slot; the size class is FREE, 1..CLASS_SIZE.length - 1, or BIG
   * (then the chunk number indexes `bigs`); the access tick counts
   * ACCESS_TICK_MS since `epoch` (497 days of range); the value type is
   * T_STRING, T_HASH... (an aggregate's structure is in `objects`).
   */
  private f64 = new Float64Array(0);
  private i32 = new Int32Array(0);
  private u32 = new Uint32Array(0);
  private u16 = new Uint16Array(0);
  private u8 = new Uint8Array(0);
  /** The aggregate values by slot, with the bytes the budget counts for each (see the class comment). */
  private readonly objects = new Map<number, { v: TypedValue; accounted: number }>();
  /** The index: buckets of BUCKET int32s, slot + 1 (0 empty) and the key's hash. */
  private index = new Int32Array(0);
  /** Buckets / 2^32: a hash's home bucket is hash * indexScale (no power-of-two size needed). */
  private indexScale = 0;

  private readonly arenas: Array<Arena | undefined> = [];
  private bigs: Array<Buffer | undefined> = [];
  private bigFree: number[] = [];

  private readonly epoch = Date.now();
  private slots = 0;
  private freeHead = -1;
  /** WATCHed keys: how many clients watch each, and how often it was removed meanwhile (see watch()). */
  private readonly watches = new Map<string, { watchers: number; removals: number }>();
  /** Told of every change while some client tracks keys (CLIENT TRACKING), else undefined. */
  keyWatcher: KeyChangeListener | undefined;
  /** Set while a load fills a missing key: not a change anyone cached (evictions it causes still are). */
  private quietWrite = false;
  private high = 0;
  private count = 0;
  private bytes = 0;
  private sweepCursor = 0;
  private ttlCount = 0;
  // prefetch()'s scratch, and where its loads go so that the compiler keeps them.
  private readonly prefetchHashes = new Int32Array(PREFETCH_MAX);
  private readonly prefetchSlots = new Int32Array(PREFETCH_MAX);
  private readonly prefetchRecords = new Int32Array(PREFETCH_MAX);
  private readonly prefetchTables: Array<MemberIndex | undefined> = new Array<MemberIndex | undefined>(PREFETCH_MAX).fill(undefined);
  prefetchSink = 0;
  /** Where string keys are written to be looked up (no allocation per lookup). */
  private scratch = Buffer.allocUnsafe(256);

  /** Keys with a change waiting on persistence; other writes to them wait. */
  readonly locks = new Map<string, Promise<unknown>>();
  /**
   * Told the key of a stream value that leaves its slot (deleted, expired,
   * evicted, overwritten, or replaced by its changed copy under persistence),
   * in the middle of that change: the protocol's blocked XREADGROUP clients
   * (blocking.ts) look at the key again once the command is done.
   */
  onStreamDropped: ((key: string) => void) | undefined;
  private readonly loading = new Map<string, Promise<void>>();
  /**
   * Versions announced by other instances for keys with a write or a load in
   * flight here: what lands afterwards below the floor is already stale.
   */
  private readonly floors = new Map<string, number>();
  /** The open write group (a script, RENAME, COPY): changes applied to memory, reported to persistence together. */
  private group: WriteGroup | undefined;
  /** The hooks have nothing to do (see hooksChanged()): writes, deletes and evictions skip them. */
  private memoryOnly = true;

  constructor(
    private options: KeyspaceOptions = DEFAULT_KEYSPACE_OPTIONS,
    readonly hooks: PersistenceHooks = NO_PERSISTENCE,
  ) {
    this.hooksChanged();
    this.grow(INITIAL_SLOTS);
  }

  /** True when misses may be loaded from persistence (the protocol then loads before running a command). */
  get loadsOnMiss(): boolean {
    return !this.memoryOnly;
  }

  /** True when aggregate writes must reach persistence as encoded copies (false: changed in place). */
  get persistsWrites(): boolean {
    return this.hooks !== NO_PERSISTENCE && (this.hooks.persistsWrites?.() ?? true);
  }

  /** True when writes go through persistence hooks (then `setBytes` must not be used). */
  get persistent(): boolean {
    return !this.memoryOnly || this.group !== undefined;
  }

  /**
   * Asks the hooks again whether they have anything to do (`memoryOnly()`),
   * after persistence was attached to them: a server without persistence mode
   * and stores then takes the memory-only paths (no load check, no change
   * records, `setBytes`), as one built without hooks does.
   */
  hooksChanged(): void {
    this.memoryOnly = this.hooks === NO_PERSISTENCE || this.hooks.memoryOnly?.() === true;
  }

  get size(): number {
    return this.count;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  get maxEntries(): number {
    return this.options.maxEntries;
  }

  get evictionSamples(): number {
    return this.options.evictionSamples;
  }

  get policy(): EvictionPolicy {
    return this.options.eviction;
  }

  get keysWithTtl(): number {
    return this.ttlCount;
  }

  /** Slot capacity (SCAN cursors are below it). */
  get capacity(): number {
    return this.high;
  }

  /** Committed bytes of the slab arenas, big entries, records and index (INFO, benchmarks); used_memory is the budgeted part of it. */
  get allocatedBytes(): number {
    let n = 0;
    for (const a of this.arenas) if (a !== undefined) n += a.count * a.size;
    for (const b of this.bigs) if (b !== undefined) n += b.length + BIG_OVERHEAD;
    for (const o of this.objects.values()) n += o.accounted;
    return n + this.slots * RECORD_BYTES + this.index.length * 4;
  }

  /** Commits records for `slots` slots (new ones zero) and rebuilds the index for them. */
  private grow(slots: number): void {
    if (slots > MAX_SLOTS) throw new OutOfMemoryError();
    this.slots = slots;
    this.u8 = commit(Uint8Array, 1, this.recordBuf, slots * RECORD_BYTES);
    this.u16 = new Uint16Array(this.recordBuf, 0, slots * R16);
    this.i32 = new Int32Array(this.recordBuf, 0, slots * R32);
    this.u32 = new Uint32Array(this.recordBuf, 0, slots * R32);
    this.f64 = new Float64Array(this.recordBuf, 0, slots * R64);
    const size = Math.ceil(slots * INDEX_PER_SLOT) + 1;
    this.index = commit(Int32Array, 4, this.indexBuf, BUCKET * size);
    this.index.fill(0);
    this.indexScale = size / 2 ** 32;
    for (let s = 0; s < this.high; s++) if (this.u8[s * R8 + CLS] !== FREE) this.indexInsert(this.hashOf(s), s);
  }

  private tick(now: number): number {
    return ((now - this.epoch) / ACCESS_TICK_MS) >>> 0;
  }

  private idleExpired(slot: number, now: number): boolean {
    return this.options.maxIdleMs !== 0 && (this.u32[slot * R32 + ACCESS] + 1) * ACCESS_TICK_MS + this.options.maxIdleMs <= now - this.epoch;
  }

  private allocSlot(): number {
    const free = this.freeHead;
    if (free >= 0) {
      this.freeHead = this.i32[free * R32 + CHUNK];
      return free;
    }
    if (this.high === this.slots) this.grow(Math.min(MAX_SLOTS, Math.max(this.slots + INITIAL_SLOTS, Math.ceil(this.slots * GROWTH))));
    return this.high++;
  }

  private now(): number {
    return this.frozenNow !== 0 ? this.frozenNow : Date.now();
  }

  // ---- the index -----------------------------------------------------------

  /** The position in `index` of the home bucket of hash `h`. */
  private home(h: number): number {
    return (((h >>> 0) * this.indexScale) | 0) * BUCKET;
  }

  /**
   * Brings the index buckets, records and chunks of these keys (start and
   * end offsets into `buf`, in pairs) into the CPU cache: each step for all
   * keys before the next step. At 100k+ keys each of the three is a cache
   * and TLB miss of 150-300 ns, taken one after another for each command in
   * turn; issued back to back for a pipeline's keys, the CPU overlaps them
   * (Valkey 8 prefetches pipelined commands' keys the same way). It only
   * reads: a range that is no key, or a key absent or far from its home
   * bucket, costs its loads and nothing else.
   *
   * `members`, when given, has each command's second and last arguments
   * (in fours; start -1: none): where the key holds a hash its second
   * argument (HSET, HGET... field) and where it holds a sorted set its last
   * (ZADD, ZSCORE, ZINCRBY... member) is looked up the same way, index then
   * record, because a pipeline of these on one large aggregate misses the
   * cache in the aggregate's index, not in the keyspace's (the field lookup
   * was a fifth of pipelined HSET's CPU, most of it waiting for memory).
   */
  prefetch(buf: Buffer, ranges: Int32Array, count: number, members?: Int32Array): void {
    const n = Math.min(count, PREFETCH_MAX);
    const hashes = this.prefetchHashes;
    const slots = this.prefetchSlots;
    const index = this.index;
    const size = index.length;
    let sink = 0;
    for (let k = 0; k < n; k++) hashes[k] = hashBytes(buf, ranges[2 * k], ranges[2 * k + 1]);
    for (let k = 0; k < n; k++) sink ^= index[this.home(hashes[k])];
    for (let k = 0; k < n; k++) {
      const h = hashes[k];
      let s = -1;
      for (let i = this.home(h), probes = 0; probes < 4; i = i + BUCKET === size ? 0 : i + BUCKET, probes++) {
        const e = index[i];
        if (e === 0) break;
        if (index[i + 1] === h) {
          s = e - 1;
          break;
        }
      }
      slots[k] = s;
      if (s >= 0) sink ^= this.i32[s * R32] ^ this.u8[s * R8 + RECORD_BYTES - 1];
    }
    for (let k = 0; k < n; k++) {
      const s = slots[k];
      if (s < 0) continue;
      const c = this.u8[s * R8 + CLS];
      if (c === FREE || c === BIG) continue;
      const arena = this.arenas[c]!;
      const chunk = this.i32[s * R32 + CHUNK];
      const bytes = arena.byteView(chunk);
      const at = arena.offset(chunk);
      for (let o = 0; o < arena.size && o < 256; o += 64) sink ^= bytes[at + o];
    }
    if (members !== undefined) sink ^= this.prefetchMembers(buf, members, n);
    this.prefetchSink = sink;
  }

  /** prefetch's steps for the members of aggregates (see there): hashes, then index pairs, then records, each for all. */
  private prefetchMembers(buf: Buffer, members: Int32Array, n: number): number {
    const slots = this.prefetchSlots;
    const hashes = this.prefetchHashes;
    const records = this.prefetchRecords;
    const indexes = this.prefetchTables;
    let sink = 0;
    let lastSlot = -1;
    let index: MemberIndex | undefined;
    let any = false;
    for (let k = 0; k < n; k++) {
      const s = slots[k];
      indexes[k] = undefined;
      if (s < 0) continue;
      const type = this.u8[s * R8 + TYPE];
      // A hash's field is the second argument, a sorted set's member the last.
      const at = type === T_HASH ? 4 * k : type === T_ZSET ? 4 * k + 2 : -1;
      if (at < 0 || members[at] < 0) continue;
      if (s !== lastSlot) {
        const v = this.objects.get(s)?.v;
        // A hash's index is its table; a sorted set is its own.
        if (v === undefined || v.type !== type) index = undefined;
        else index = type === T_HASH ? (v as HashValue).table : (v as ZSetValue);
        lastSlot = s;
      }
      if (index === undefined) continue;
      indexes[k] = index;
      hashes[k] = fieldHashOf(buf, members[at], members[at + 1]);
      any = true;
    }
    if (!any) return 0;
    for (let k = 0; k < n; k++) records[k] = indexes[k] === undefined ? -1 : indexes[k]!.touchIndex(hashes[k]);
    for (let k = 0; k < n; k++) {
      if (records[k] >= 0) sink ^= indexes[k]!.touchRecord(records[k]);
      indexes[k] = undefined;
    }
    return sink;
  }

  /** The hash of a live slot's key, from its bytes (the index keeps hashes, the slots do not). */
  private hashOf(slot: number): number {
    const c = this.u8[slot * R8 + CLS];
    const chunk = this.i32[slot * R32 + CHUNK];
    const klen = this.i32[slot * R32 + KLEN];
    if (c === BIG) return hashBytes(this.bigs[chunk]!, CHUNK_HEADER, CHUNK_HEADER + klen);
    const arena = this.arenas[c]!;
    const at = arena.offset(chunk) + CHUNK_HEADER;
    return hashStored(arena.byteView(chunk), at, at + klen);
  }

  /**
   * The slot holding the key `buf[start, start + len)` with hash `h`, live or
   * expired, or -1. The hash sits beside the slot number in the bucket, so
   * probing past other keys reads no slot's record.
   */
  private indexFind(buf: Buffer, start: number, len: number, h: number): number {
    const index = this.index;
    const size = index.length;
    for (let i = this.home(h); ; i = i + BUCKET === size ? 0 : i + BUCKET) {
      const e = index[i];
      if (e === 0) return -1;
      if (index[i + 1] === h) {
        const s = e - 1;
        if (this.i32[s * R32 + KLEN] === len && this.keyEquals(s, buf, start, len)) return s;
      }
    }
  }

  private indexInsert(h: number, slot: number): void {
    const index = this.index;
    const size = index.length;
    let i = this.home(h);
    while (index[i] !== 0) i = i + BUCKET === size ? 0 : i + BUCKET;
    index[i] = slot + 1;
    index[i + 1] = h;
  }

  /** Removes `slot` from the index, shifting back the entries after it that may move (Knuth's algorithm R). */
  private indexRemove(slot: number): void {
    const index = this.index;
    const size = index.length;
    let hole = this.home(this.hashOf(slot));
    while (index[hole] !== slot + 1) hole = hole + BUCKET === size ? 0 : hole + BUCKET;
    for (let j = hole + BUCKET === size ? 0 : hole + BUCKET; ; j = j + BUCKET === size ? 0 : j + BUCKET) {
      const e = index[j];
      if (e === 0) break;
      const h = this.home(index[j + 1]);
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (!stays) {
        index[hole] = e;
        index[hole + 1] = index[j + 1];
        hole = j;
      }
    }
    index[hole] = 0;
  }

  private keyEquals(slot: number, buf: Buffer, start: number, len: number): boolean {
    const c = this.u8[slot * R8 + CLS];
    if (c === BIG) return this.bigs[this.i32[slot * R32 + CHUNK]]!.compare(buf, start, start + len, CHUNK_HEADER, CHUNK_HEADER + len) === 0;
    const arena = this.arenas[c]!;
    const chunk = this.i32[slot * R32 + CHUNK];
    const at = arena.offset(chunk) + CHUNK_HEADER;
    if (len > SHORT_KEY) return arena.view(chunk).compare(buf, start, start + len, at, at + len) === 0;
    // A short key: a byte loop over the arena's Uint8Array (inlined; about 15
    // ns for 16 bytes) instead of Buffer#compare's call (about 65 ns). Over
    // the arena's Buffers the loop would cost ~150 ns: V8 (Node 20) does not
    // inline byte loads from a Buffer over a resizable ArrayBuffer.
    const bytes = arena.byteView(chunk);
    for (let i = 0; i < len; i++) if (bytes[at + i] !== buf[start + i]) return false;
    return true;
  }

  /** Writes a string key into the scratch buffer; returns its length. */
  private keyBytes(key: string): number {
    if (key.length > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(key.length, this.scratch.length * 2));
    return this.scratch.latin1Write(key, 0);
  }

  // ---- chunks --------------------------------------------------------------

  /** The Buffer holding `slot`'s chunk (valid until the keyspace next changes). */
  private viewOf(slot: number): Buffer {
    const c = this.u8[slot * R8 + CLS];
    return c === BIG ? this.bigs[this.i32[slot * R32 + CHUNK]]! : this.arenas[c]!.view(this.i32[slot * R32 + CHUNK]);
  }

  private offsetOf(slot: number): number {
    const c = this.u8[slot * R8 + CLS];
    return c === BIG ? 0 : this.arenas[c]!.offset(this.i32[slot * R32 + CHUNK]);
  }

  /** Gives `slot` a new chunk of `n` bytes (header included) and writes the header. */
  private placeChunk(slot: number, n: number): void {
    const c = classOf(n);
    this.u8[slot * R8 + CLS] = c;
    if (c === BIG) {
      const i = this.bigFree.length > 0 ? this.bigFree.pop()! : this.bigs.length;
      this.bigs[i] = Buffer.allocUnsafeSlow(n);
      this.i32[slot * R32 + CHUNK] = i;
    } else {
      const arena = this.arenas[c] ?? (this.arenas[c] = new Arena(CLASS_SIZE[c]));
      const chunk = arena.alloc();
      this.i32[slot * R32 + CHUNK] = chunk;
      writeOwner(arena.view(chunk), arena.offset(chunk), slot);
    }
  }

  private releaseChunk(c: number, chunk: number): void {
    if (c === BIG) {
      this.bigs[chunk] = undefined;
      this.bigFree.push(chunk);
      return;
    }
    const moved = this.arenas[c]!.free(chunk);
    if (moved >= 0) this.i32[moved * R32 + CHUNK] = chunk;
  }

  // ---- reads ---------------------------------------------------------------

  /**
   * The live slot of the key `buf[start, end)`, or -1. Expires the entry
   * lazily and records the access (LRU clock, LFU counter) unless `touch` is
   * false.
   */
  findBytes(buf: Buffer, start: number, end: number, touch = true): number {
    const slot = this.indexFind(buf, start, end - start, hashBytes(buf, start, end));
    if (slot < 0) return -1;
    const now = this.now();
    const e = this.f64[slot * R64 + EXPIRES];
    if ((e !== 0 && e <= now) || this.idleExpired(slot, now)) {
      this.expireSlot(slot);
      return -1;
    }
    if (touch) {
      this.u32[slot * R32 + ACCESS] = this.tick(now);
      if (this.options.eviction === 'lfu') this.lfuTouch(slot, now);
    }
    return slot;
  }

  /** `findBytes` for a binary-string key. */
  find(key: string, touch = true): number {
    return this.findBytes(this.scratch, 0, this.keyBytes(key), touch);
  }

  /** `findBytes` that also counts a hit or a miss (GET and friends). */
  lookupBytes(buf: Buffer, start: number, end: number): number {
    const slot = this.findBytes(buf, start, end);
    if (slot < 0) this.stats.misses++;
    else this.stats.hits++;
    return slot;
  }

  lookup(key: string): number {
    return this.lookupBytes(this.scratch, 0, this.keyBytes(key));
  }

  /** A copy of the value: a binary string up to STRING_VALUE_MAX bytes, a Buffer above. */
  value(slot: number): Value {
    const view = this.viewOf(slot);
    const start = this.offsetOf(slot) + CHUNK_HEADER + this.i32[slot * R32 + KLEN];
    const end = start + this.i32[slot * R32 + VLEN];
    return end - start <= STRING_VALUE_MAX ? view.latin1Slice(start, end) : Buffer.from(view.subarray(start, end));
  }

  /**
   * The value in place, without a copy: bytes [valueStart, valueEnd) of
   * `valueView`. Valid only until the keyspace next changes (a write or an
   * eviction may move the chunk): for replies written at once (GET).
   */
  valueView(slot: number): Buffer {
    return this.viewOf(slot);
  }

  valueStart(slot: number): number {
    return this.offsetOf(slot) + CHUNK_HEADER + this.i32[slot * R32 + KLEN];
  }

  valueEnd(slot: number): number {
    return this.valueStart(slot) + this.i32[slot * R32 + VLEN];
  }

  valueLength(slot: number): number {
    return this.i32[slot * R32 + VLEN];
  }

  /** What the entry at `slot` takes from the budget: key, string value and columns, and an aggregate's accounted size (MEMORY USAGE). */
  usageOf(slot: number): number {
    return entryBytes(this.i32[slot * R32 + KLEN], this.i32[slot * R32 + VLEN]) + (this.objects.get(slot)?.accounted ?? 0);
  }

  versionOf(slot: number): number {
    return this.f64[slot * R64 + VERSION];
  }

  expiresAt(slot: number): number {
    return this.f64[slot * R64 + EXPIRES];
  }

  keyAt(slot: number): string | undefined {
    if (slot >= this.high || this.u8[slot * R8 + CLS] === FREE) return undefined;
    const at = this.offsetOf(slot) + CHUNK_HEADER;
    return this.viewOf(slot).latin1Slice(at, at + this.i32[slot * R32 + KLEN]);
  }

  /** Milliseconds since the slot was last read or written (OBJECT IDLETIME). */
  idleMs(slot: number): number {
    return Math.max(0, (this.tick(Date.now()) - this.u32[slot * R32 + ACCESS]) * ACCESS_TICK_MS);
  }

  /** The slot's LFU counter, decayed to now (OBJECT FREQ). */
  frequency(slot: number): number {
    return this.lfuDecayed(slot, Date.now());
  }

  /**
   * Records a write's access to `key` when it exists, as Redis's lookupKeyWrite does (the LFU counter
   * may grow), for writes that do not read the key otherwise (SET, MSET, SETEX); a no-op unless
   * the policy is LFU (the LRU clock is set by every write already).
   */
  touchForWrite(buf: Buffer, start: number, end: number): void {
    if (this.options.eviction === 'lfu') this.findBytes(buf, start, end);
  }

  /** The slot's LFU counter and the minute it was last decayed to, for `adoptAccess`. */
  accessOf(slot: number): readonly [counter: number, minute: number] {
    return [this.u8[slot * R8 + LFU], this.u16[slot * R16 + LFU_MINUTE]];
  }

  /** Gives `key` (when present) the LFU state of another key (RENAME moves the object, counter included, as in Redis). */
  adoptAccess(key: string, state: readonly [counter: number, minute: number]): void {
    const slot = this.find(key, false);
    if (slot < 0) return;
    this.u8[slot * R8 + LFU] = state[0];
    this.u16[slot * R16 + LFU_MINUTE] = state[1];
  }

  /** Version of the live entry, or 0 when absent. */
  currentVersion(key: string): number {
    const slot = this.find(key, false);
    return slot < 0 ? 0 : this.f64[slot * R64 + VERSION];
  }

  /**
   * WATCH: registers a watcher of `key` and returns its stamp. The stamp
   * changes with every write (the entry's version, which only grows) and
   * every removal (delete, expiry, eviction, flush), so a key written and
   * deleted again before EXEC is seen as changed, although it is absent both
   * times. Each call wants one unwatch().
   */
  watch(key: string): number {
    const w = this.watches.get(key);
    if (w === undefined) this.watches.set(key, { watchers: 1, removals: 0 });
    else w.watchers++;
    return this.watchStamp(key);
  }

  /** The key's stamp now (see watch()): its version while it lives, else minus its removals since it was first watched. */
  watchStamp(key: string): number {
    const slot = this.find(key, false);
    return slot >= 0 ? this.f64[slot * R64 + VERSION] : -(this.watches.get(key)?.removals ?? 0);
  }

  /** One watcher of each key is gone (EXEC, DISCARD, UNWATCH, RESET, disconnect). */
  unwatch(keys: Iterable<string>): void {
    for (const key of keys) {
      const w = this.watches.get(key);
      if (w !== undefined && --w.watchers === 0) this.watches.delete(key);
    }
  }

  // ---- writes --------------------------------------------------------------

  /**
   * SET key value (no options) straight from request bytes, for a keyspace
   * without persistence (`persistent` false): no string and no copy besides
   * the one into the arena.
   */
  setBytes(kb: Buffer, ks: number, ke: number, vb: Buffer, vs: number, ve: number): void {
    const expiresAt = this.options.defaultTtlMs !== 0 ? Date.now() + this.options.defaultTtlMs : 0;
    this.applyBytes(kb, ks, ke, vb, vs, ve, expiresAt, this.versions.next());
  }

  /**
   * `set` with no options, from request bytes, for a keyspace with
   * persistence: the change record's key and value are copied from the bytes
   * once and memory takes its value from those copies, where `set` would make
   * a key and a value string first and copy each twice more.
   */
  setBytesPersisted(kb: Buffer, ks: number, ke: number, vb: Buffer, vs: number, ve: number): Promise<void> | undefined {
    const key = kb.latin1Slice(ks, ke);
    const vlen = ve - vs;
    this.checkRoom(key, vlen);
    const expiresAt = this.options.defaultTtlMs !== 0 ? Date.now() + this.options.defaultTtlMs : 0;
    const version = this.versions.next();
    const k = Buffer.allocUnsafe(ke - ks);
    byteCopy(kb, ks, ke, k, 0); // not copyBytes: see there
    const v = Buffer.allocUnsafe(vlen);
    if (vlen > 0) byteCopy(vb, vs, ve, v, 0);
    const change: EntryChange = { kind: 'set', key: k, value: encodeString(v), version, expiresAt };
    return this.persisted([key], [change], () => this.apply(key, v, expiresAt, version, k));
  }

  /**
   * Sets `key` to `value`. `expiresAt` is absolute ms (0: none, -1: keep the
   * current TTL, as with KEEPTTL). Returns undefined when applied now, or a
   * promise when persistence makes the write wait (memory changes when it
   * resolves; it rejects and leaves memory unchanged on failure).
   */
  set(key: string, value: Value, expiresAt: number, defaultTtl = true): Promise<void> | undefined {
    if (expiresAt === -1) {
      const slot = this.find(key, false);
      expiresAt = slot < 0 ? 0 : this.f64[slot * R64 + EXPIRES];
    }
    if (expiresAt === 0 && defaultTtl && this.options.defaultTtlMs !== 0) expiresAt = Date.now() + this.options.defaultTtlMs;
    const version = this.versions.next();
    if (this.memoryOnly && this.group === undefined) {
      this.apply(key, value, expiresAt, version);
      return undefined;
    }
    this.checkRoom(key, value.length);
    const change: EntryChange = { kind: 'set', key: Buffer.from(key, 'latin1'), value: encodeString(toBuffer(value)), version, expiresAt };
    return this.persisted([key], [change], () => this.apply(key, value, expiresAt, version));
  }

  /** Sets several keys at once (MSET): one persistence batch. */
  setMany(pairs: ReadonlyArray<readonly [string, Value]>): Promise<void> | undefined {
    if (this.memoryOnly && this.group === undefined) {
      const at = this.options.defaultTtlMs !== 0 ? Date.now() + this.options.defaultTtlMs : 0;
      for (const [k, v] of pairs) this.apply(k, v, at, this.versions.next());
      return undefined;
    }
    const exp = this.options.defaultTtlMs !== 0 ? Date.now() + this.options.defaultTtlMs : 0;
    const versions = pairs.map(() => this.versions.next());
    for (const [k, v] of pairs) this.checkRoom(k, v.length);
    const changes: EntryChange[] = pairs.map(([k, v], i) => ({ kind: 'set', key: Buffer.from(k, 'latin1'), value: encodeString(toBuffer(v)), version: versions[i], expiresAt: exp }));
    return this.persisted(pairs.map((p) => p[0]), changes, () => pairs.forEach(([k, v], i) => this.apply(k, v, exp, versions[i])));
  }

  /** Changes only the expiry of a live entry (EXPIRE, PERSIST, GETEX; PERSIST wins over the default lifespan); the version grows. */
  setExpiry(slot: number, expiresAt: number): Promise<void> | undefined {
    if (this.u8[slot * R8 + TYPE] !== T_STRING) return this.setTypedExpiry(slot, expiresAt);
    const key = this.keyAt(slot)!;
    const value = this.value(slot);
    return this.set(key, value, expiresAt, false);
  }

  /**
   * Deletes keys (DEL, UNLINK, GETDEL, FLUSHDB). Calls back with how many
   * existed; returns a promise when persistence makes the delete wait.
   */
  delete(keys: readonly string[], flushing = false): number | Promise<number> {
    if (this.memoryOnly && this.group === undefined) {
      let n = 0;
      for (const k of keys) {
        const slot = this.find(k, false);
        if (slot >= 0) {
          this.removeSlot(slot);
          this.stats.deletes++;
          n++;
        }
      }
      return n;
    }
    const live = [...new Set(keys)].filter((k) => this.find(k, false) >= 0);
    if (live.length === 0) {
      if (flushing) this.keyWatcher?.flushed();
      return 0;
    }
    const changes: EntryChange[] = live.map((k) => ({ kind: 'delete', key: Buffer.from(k, 'latin1'), version: this.versions.next() }));
    const p = this.persisted(live, changes, () => {
      // A flush is named once, as Redis does, when memory empties: not key by key.
      const watcher = this.keyWatcher;
      if (flushing) this.keyWatcher = undefined;
      try {
        for (const k of live) {
          const slot = this.find(k, false);
          if (slot >= 0) {
            this.removeSlot(slot);
            this.stats.deletes++;
          }
        }
      } finally {
        if (flushing) {
          this.keyWatcher = watcher;
          watcher?.flushed();
        }
      }
    });
    return p === undefined ? live.length : p.then(() => live.length);
  }

  /** Every key, for FLUSHDB / FLUSHALL. */
  allKeys(): string[] {
    const out: string[] = [];
    for (let s = 0; s < this.high; s++) if (this.u8[s * R8 + CLS] !== FREE) out.push(this.keyAt(s)!);
    return out;
  }

  /** Removes everything. */
  flush(): number | Promise<number> {
    if (!this.memoryOnly || this.group !== undefined) return this.delete(this.allKeys(), true);
    this.keyWatcher?.flushed();
    const n = this.count;
    for (let s = 0; this.watches.size !== 0 && s < this.high; s++) if (this.u8[s * R8 + CLS] !== FREE) this.watchedRemoved(s);
    for (const a of this.arenas) a?.clear();
    this.bigs = [];
    this.bigFree = [];
    this.objects.clear();
    this.high = 0;
    this.freeHead = -1;
    this.count = 0;
    this.bytes = 0;
    this.ttlCount = 0;
    this.sweepCursor = 0;
    this.grow(0);
    this.grow(INITIAL_SLOTS);
    this.stats.deletes += n;
    return n;
  }

  /**
   * Runs persistence's beforeChange; applies at once or after its promise,
   * holding the keys' locks meanwhile, then reports afterChange.
   */
  private persisted(keys: readonly string[], changes: EntryChange[], apply: () => void): Promise<void> | undefined {
    const g = this.group;
    if (g !== undefined) {
      // In a group: remember what memory held (for a rollback), apply now, report at the group's end.
      for (const k of keys) if (!g.undo.has(k)) g.undo.set(k, this.snapshot(k));
      apply();
      for (const c of changes) {
        const k = c.key.toString('latin1');
        g.changes.delete(k); // the last change of a key wins, in the order of the last changes
        g.changes.set(k, c);
      }
      return undefined;
    }
    const wait = this.hooks.beforeChange(changes);
    if (wait === undefined) {
      apply();
      this.hooks.afterChange(changes);
      return undefined;
    }
    const done = wait.then(() => {
      apply();
      this.hooks.afterChange(changes);
    });
    const settled = done.then(noop, noop);
    for (const k of keys) this.locks.set(k, settled);
    void settled.then(() => {
      for (const k of keys) {
        if (this.locks.get(k) === settled) this.locks.delete(k);
        this.releaseFloor(k);
      }
    });
    return done;
  }

  /** Throws OutOfMemoryError when a write of this size cannot fit (noeviction, or too big for the budget). */
  private checkRoom(key: string, valueBytes: number): void {
    if (this.options.eviction !== 'noeviction' && this.options.maxBytes === 0) return;
    const need = entryBytes(key.length, valueBytes);
    if (this.options.maxBytes !== 0 && need > this.options.maxBytes) throw new OutOfMemoryError();
    if (this.options.eviction === 'noeviction') {
      const n = this.keyBytes(key);
      const existing = this.indexFind(this.scratch, 0, n, hashBytes(this.scratch, 0, n));
      const freed = existing < 0 ? 0
        : entryBytes(this.i32[existing * R32 + KLEN], this.i32[existing * R32 + VLEN]) + (this.objects.get(existing)?.accounted ?? 0);
      if (this.options.maxBytes !== 0 && this.bytes - freed + need > this.options.maxBytes) throw new OutOfMemoryError();
      if (existing < 0 && this.options.maxEntries !== 0 && this.count >= this.options.maxEntries) throw new OutOfMemoryError();
    }
  }

  /** `applyBytes` for the string API (`k`: the key's bytes, when the caller has them). */
  private apply(key: string, value: Value, expiresAt: number, version: number, k = Buffer.from(key, 'latin1')): void {
    if (this.floors.size !== 0 && version < (this.floors.get(key) ?? 0)) return; // another instance stored a newer one meanwhile
    const v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
    this.applyBytes(k, 0, k.length, v, 0, v.length, expiresAt, version);
  }

  /**
   * Writes key `kb[ks, ke)` = value `vb[vs, ve)` into memory now (version
   * already chosen); evicts to make room. The source bytes must not be a
   * view into the keyspace (eviction may move chunks).
   */
  private applyBytes(kb: Buffer, ks: number, ke: number, vb: Buffer, vs: number, ve: number, expiresAt: number, version: number): void {
    const klen = ke - ks;
    const vlen = ve - vs;
    const h = hashBytes(kb, ks, ke);
    let slot = this.indexFind(kb, ks, klen, h);
    const now = this.now();
    const cost = entryBytes(klen, vlen);
    if (slot >= 0) {
      if (this.f64[slot * R64 + VERSION] > version) return; // a newer write landed while this one waited
      if (this.u8[slot * R8 + TYPE] !== T_STRING) this.dropObject(slot); // SET replaces a value of any type
      const old = entryBytes(klen, this.i32[slot * R32 + VLEN]);
      if (cost > old) this.makeRoom(cost - old, false, slot); // never evicts `slot` itself
      this.writeValue(slot, klen, vb, vs, vlen);
      this.bytes += cost - old;
    } else {
      this.makeRoom(cost, true, -1);
      slot = this.allocSlot();
      this.i32[slot * R32 + KLEN] = klen;
      this.i32[slot * R32 + VLEN] = vlen;
      this.placeChunk(slot, CHUNK_HEADER + klen + vlen);
      const view = this.viewOf(slot);
      const at = this.offsetOf(slot) + CHUNK_HEADER;
      copyBytes(kb, ks, ke, view, at);
      copyBytes(vb, vs, ve, view, at + klen);
      this.indexInsert(h, slot);
      this.count++;
      this.bytes += cost;
      this.u8[slot * R8 + LFU] = LFU_INIT;
      this.u16[slot * R16 + LFU_MINUTE] = minuteNow(now);
      this.f64[slot * R64 + EXPIRES] = 0;
    }
    const hadTtl = this.f64[slot * R64 + EXPIRES] !== 0;
    if (hadTtl !== (expiresAt !== 0)) this.ttlCount += expiresAt !== 0 ? 1 : -1;
    this.f64[slot * R64 + EXPIRES] = expiresAt;
    this.f64[slot * R64 + VERSION] = version;
    this.u32[slot * R32 + ACCESS] = this.tick(now);
    this.stats.writes++;
    if (this.keyWatcher !== undefined && !this.quietWrite) this.keyWatcher.changed(kb.latin1Slice(ks, ke));
  }

  /** Replaces the value of a live slot: in place when the size class stays, else in a new chunk (the key copied over). */
  private writeValue(slot: number, klen: number, vb: Buffer, vs: number, vlen: number): void {
    const c = this.u8[slot * R8 + CLS];
    const n = CHUNK_HEADER + klen + vlen;
    if (c !== BIG && classOf(n) === c) {
      copyBytes(vb, vs, vs + vlen, this.viewOf(slot), this.offsetOf(slot) + CHUNK_HEADER + klen);
      this.i32[slot * R32 + VLEN] = vlen;
      return;
    }
    const oldView = this.viewOf(slot);
    const oldAt = this.offsetOf(slot) + CHUNK_HEADER;
    const oldChunk = this.i32[slot * R32 + CHUNK];
    this.placeChunk(slot, n); // another class (or a new Buffer): the old chunk stays put meanwhile
    const view = this.viewOf(slot);
    const at = this.offsetOf(slot) + CHUNK_HEADER;
    byteCopy(oldView, oldAt, oldAt + klen, view, at); // entry to entry: not copyBytes, see there
    copyBytes(vb, vs, vs + vlen, view, at + klen);
    this.i32[slot * R32 + VLEN] = vlen;
    this.releaseChunk(c, oldChunk);
  }

  /** Inserts an entry loaded from persistence, unless memory has a newer one. */
  insertLoaded(entry: LoadedEntry): void {
    this.versions.observe(entry.version);
    if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) return;
    const k = entry.key;
    const existing = this.indexFind(k, 0, k.length, hashBytes(k, 0, k.length));
    if (existing >= 0 && this.f64[existing * R64 + VERSION] >= entry.version) return;
    const decoded = decodeValue(entry.value, k.latin1Slice(0, k.length));
    this.quietWrite = existing < 0;
    try {
      if (decoded.type === T_STRING) {
        const v = decoded.value as Buffer;
        this.applyBytes(k, 0, k.length, v, 0, v.length, entry.expiresAt, entry.version);
      } else {
        this.installTyped(k, decoded.value as TypedValue, entry.expiresAt, entry.version);
      }
      this.stats.writes--; // a load is not a client write
      this.stats.loads++;
    } catch {
      // No room and nothing evictable: serve the loaded entry's absence rather than fail the read.
    } finally {
      this.quietWrite = false;
    }
  }

  /**
   * What an operation on `keys` waits for before it runs, for every front end
   * (RESP, REST): earlier changes to the keys still on their way to
   * persistence (their locks), then, when `load`, a load of each key missing
   * from memory, then any lock taken meanwhile. Undefined when there is
   * nothing to wait for (the common case, checked without allocating). Rejects
   * when a load fails (store unavailable).
   */
  settle(keys: readonly string[], load: boolean): Promise<void> | undefined {
    load &&= this.loadsOnMiss;
    let waits = false;
    for (const k of keys) if (this.locks.has(k) || (load && this.find(k, false) < 0)) waits = true;
    if (!waits) return undefined;
    return (async () => {
      let loaded = !load;
      for (;;) {
        const locks = keys.map((k) => this.locks.get(k)).filter((p) => p !== undefined);
        if (locks.length > 0) {
          await Promise.all(locks);
          continue;
        }
        if (loaded) return;
        loaded = true; // once: a key the stores do not have stays missing
        const loads = keys.map((k) => this.loadMissing(k)).filter((p) => p !== undefined);
        if (loads.length > 0) await Promise.all(loads);
      }
    })();
  }

  /**
   * Starts loading `key` from persistence when it is not in memory; returns the
   * promise to wait for, or undefined when nothing is to be loaded. Loads are
   * single-flight per key.
   */
  loadMissing(key: string): Promise<void> | undefined {
    if (this.find(key, false) >= 0) return undefined;
    const inflight = this.loading.get(key);
    if (inflight !== undefined) return inflight;
    const p = this.hooks.load(Buffer.from(key, 'latin1'));
    if (p === undefined) return undefined;
    const done = p.then(async (first) => {
      let entry = first;
      // Another instance announced a newer version while this load ran: load again (bounded).
      for (let i = 0; i < 3 && this.floors.size !== 0 && (entry?.version ?? 0) < (this.floors.get(key) ?? 0); i++) {
        entry = await this.hooks.load(Buffer.from(key, 'latin1'));
      }
      if (entry !== undefined && (entry.version >= (this.floors.get(key) ?? 0))) this.insertLoaded(entry);
    }).finally(() => {
      this.loading.delete(key);
      this.releaseFloor(key);
    });
    this.loading.set(key, done);
    return done;
  }

  /**
   * Coherence: another instance stored `version` of `key`. Drops the cached
   * copy when it is older (the next read loads the new one); a write or load
   * of the key in flight here will not install anything older either. Not a
   * client write: nothing is persisted. Returns whether a copy was dropped.
   */
  invalidate(key: Buffer, version: number): boolean {
    // A string of the key only when something keyed by strings is there to look at: this runs for every key another instance announces.
    if (this.locks.size !== 0 || this.loading.size !== 0) {
      const id = key.latin1Slice(0, key.length);
      if ((this.locks.has(id) || this.loading.has(id)) && (this.floors.get(id) ?? 0) < version) this.floors.set(id, version);
    }
    const slot = this.indexFind(key, 0, key.length, hashBytes(key, 0, key.length));
    if (slot < 0) {
      // Not held here, but a client may have cached its absence (CLIENT TRACKING): the key did change.
      if (this.keyWatcher !== undefined) this.keyWatcher.changed(key.latin1Slice(0, key.length));
      return false;
    }
    if (this.f64[slot * R64 + VERSION] >= version) return false;
    this.removeSlot(slot);
    this.stats.invalidations++;
    return true;
  }

  /** Drops a cached copy whatever its version (coherence: a copy that can no longer be validated). */
  discard(key: Buffer): boolean {
    const slot = this.indexFind(key, 0, key.length, hashBytes(key, 0, key.length));
    if (slot < 0) {
      this.keyWatcher?.changed(key.latin1Slice(0, key.length));
      return false;
    }
    this.removeSlot(slot);
    this.stats.invalidations++;
    return true;
  }

  private releaseFloor(key: string): void {
    if (this.floors.size !== 0 && !this.locks.has(key) && !this.loading.has(key)) this.floors.delete(key);
  }

  // ---- aggregate values (hash, list, set, sorted set) ---------------------------

  /** The value type of a live slot (T_STRING...). */
  typeAt(slot: number): TypeTag {
    return this.u8[slot * R8 + TYPE] as TypeTag;
  }

  /** The aggregate value of a live slot whose type is not T_STRING. Read-only for callers: writes go through `typedWrite`. */
  typedAt(slot: number): TypedValue {
    return this.objects.get(slot)!.v;
  }

  /** The live aggregate of `key` for a read (touches it, counts a hit or miss), undefined when absent; throws WrongTypeError. */
  readTyped<T extends TypedValue>(key: string, type: TypeTag): T | undefined {
    return this.readTypedBytes<T>(this.scratch, 0, this.keyBytes(key), type);
  }

  /** `readTyped` for the key `buf[start, end)`, e.g. straight from the request (no key string). */
  readTypedBytes<T extends TypedValue>(buf: Buffer, start: number, end: number, type: TypeTag): T | undefined {
    const slot = this.lookupBytes(buf, start, end);
    if (slot < 0) return undefined;
    if (this.u8[slot * R8 + TYPE] !== type) throw new WrongTypeError();
    return this.objects.get(slot)!.v as T;
  }

  /** A write to aggregates: open the keys, change the values, commit (see TypedWrite). */
  typedWrite(denyOom: boolean): TypedWrite {
    if (denyOom && this.options.maxBytes !== 0 && this.bytes > this.options.maxBytes) {
      // Like Redis's denyoom commands: make room first (evicting), or refuse when nothing can go.
      this.makeRoom(0, false, -1);
    }
    return new TypedWrite(this);
  }

  /**
   * Memory only, the hot path of a write to an aggregate that exists (HSET,
   * LPUSH, LPOP, ZADD... on their key): the slot of the live value at the key
   * `buf[start, end)` (the request's bytes), to be changed in place and
   * finished with `changedLive`, with no key string, TypedWrite or staged
   * record. -1 when this path does not apply: persistence, a write group (a
   * script, or EXEC with persistence), over the budget for a denyoom command,
   * or the key absent; the command then goes through `typedWrite`. Throws
   * WrongTypeError.
   */
  liveTypedBytes(buf: Buffer, start: number, end: number, type: TypeTag, denyOom: boolean): number {
    if (this.group !== undefined || this.persistsWrites) return -1;
    if (denyOom && this.options.maxBytes !== 0 && this.bytes > this.options.maxBytes) return -1;
    const slot = this.findBytes(buf, start, end);
    if (slot < 0) return -1;
    if (this.u8[slot * R8 + TYPE] !== type) throw new WrongTypeError();
    return slot;
  }

  /** Finishes a change in place to the value at `slot` (from `liveTypedBytes`); `mods` is the value's count before it. */
  changedLive(slot: number, mods: number): void {
    const o = this.objects.get(slot)!;
    const v = o.v;
    if (v.mods === mods) return;
    const version = this.versions.next();
    if (isEmptied(v)) {
      this.applyStaged({ key: this.keyAt(slot)!, type: v.type, v, mods, existed: true, replace: false, expiresAt: 0, slot }, version);
      return;
    }
    this.accountInPlace(slot, o, version);
  }

  /** @internal TypedWrite.open / replace. */
  stageTyped(key: string, type: TypeTag, create: boolean, replace: boolean): Staged | undefined {
    const slot = replace ? this.find(key, false) : this.find(key);
    if (!replace && slot >= 0 && this.u8[slot * R8 + TYPE] !== type) throw new WrongTypeError();
    if (slot < 0 && !create && !replace) return undefined;
    const defaultExp = this.options.defaultTtlMs !== 0 ? Date.now() + this.options.defaultTtlMs : 0;
    let v: TypedValue;
    let live = -1;
    if (replace || slot < 0) {
      v = newValue(type);
    } else if (this.persistsWrites) {
      v = this.objects.get(slot)!.v.clone();
    } else {
      v = this.objects.get(slot)!.v;
      live = slot;
    }
    const expiresAt = slot >= 0 && !replace ? this.f64[slot * R64 + EXPIRES] : defaultExp;
    return { key, type, v, mods: v.mods, existed: slot >= 0, replace, expiresAt, slot: live };
  }

  /** @internal TypedWrite.commit: persists the changed values as one batch, then applies them. */
  commitTyped(staged: readonly Staged[]): Promise<void> | undefined {
    if (!this.persistsWrites) {
      // Memory only, the common case: apply each change now, with plain loops (no arrays or closures per
      // command: HSET / LPUSH garbage was ~1.4 KB per command, a scavenge every ~1300 commands).
      for (let i = 0; i < staged.length; i++) {
        const s = staged[i];
        if (s.slot >= 0 && !s.replace && this.changedInPlace(s)) continue;
        if (isChange(s)) {
          this.applyStaged(s, this.versions.next());
          if (this.group !== undefined) this.group.inPlace = true;
        }
      }
      return undefined;
    }
    const changed = staged.filter(isChange);
    if (changed.length === 0) return undefined;
    const versions = changed.map(() => this.versions.next());
    const apply = () => changed.forEach((s, i) => this.applyStaged(s, versions[i]));
    const changes: EntryChange[] = changed.map((s, i) => (isEmptied(s.v)
      ? { kind: 'delete', key: Buffer.from(s.key, 'latin1'), version: versions[i] }
      : { kind: 'set', key: Buffer.from(s.key, 'latin1'), value: encodeValue(s.v), version: versions[i], expiresAt: s.expiresAt }));
    return this.persisted(changed.map((s) => s.key), changes, apply);
  }

  /**
   * Memory only: finishes a change made in place to the live value opened at
   * `s.slot` (LPUSH, HSET, SADD, ZADD... on a key that exists), the hot case,
   * with one lookup and no other work. False when `applyStaged` must apply it:
   * the value was emptied, or is no longer the one at that slot. Measured
   * against going through `isChange` and `applyStaged`: 5-18 % less server
   * CPU per pipelined LPOP (4 alternating rounds); within the noise for the
   * commands whose own work is larger (HSET, ZADD).
   */
  private changedInPlace(s: Staged): boolean {
    const o = this.objects.get(s.slot);
    if (o === undefined || o.v !== s.v) return false;
    const v = s.v;
    if (v.mods === s.mods) return true;
    if (isEmptied(v)) return false;
    this.accountInPlace(s.slot, o, this.versions.next(), s);
    if (this.group !== undefined) this.group.inPlace = true;
    return true;
  }

  /** A value changed in place at `slot`: its new size, version and expiry, then the watchers and the budget. */
  private accountInPlace(slot: number, o: { v: TypedValue; accounted: number }, version: number, s?: Staged): void {
    const cost = accountedBytes(o.v);
    this.bytes += cost - o.accounted;
    o.accounted = cost;
    this.f64[slot * R64 + VERSION] = version;
    this.stats.writes++;
    if (s?.replace) this.setExpiresCol(slot, s.expiresAt);
    if (this.keyWatcher !== undefined) this.keyWatcher.changed(s?.key ?? this.keyAt(slot)!);
    this.trimToBudget(slot);
  }

  private applyStaged(s: Staged, version: number): void {
    // A value changed in place is still at the slot it was opened at unless something removed it meanwhile.
    const slot = s.slot >= 0 && this.objects.get(s.slot)?.v === s.v ? s.slot : this.find(s.key, false);
    if (isEmptied(s.v)) {
      if (slot >= 0) {
        this.removeSlot(slot);
        this.stats.deletes++;
      }
      return;
    }
    const o = slot >= 0 ? this.objects.get(slot) : undefined;
    if (o !== undefined && o.v === s.v) {
      // Changed in place (memory only): account the difference.
      if (this.f64[slot * R64 + VERSION] <= version) this.accountInPlace(slot, o, version, s);
      return;
    }
    const k = Buffer.from(s.key, 'latin1');
    this.installTyped(k, s.v, s.expiresAt, version);
  }

  /** Puts an aggregate at key `k` (replacing any value), unless memory has a newer version. */
  private installTyped(k: Buffer, v: TypedValue, expiresAt: number, version: number): void {
    this.applyBytes(k, 0, k.length, EMPTY, 0, 0, expiresAt, version);
    const slot = this.indexFind(k, 0, k.length, hashBytes(k, 0, k.length));
    if (slot < 0 || this.f64[slot * R64 + VERSION] !== version) return;
    this.u8[slot * R8 + TYPE] = v.type;
    const cost = accountedBytes(v);
    this.objects.set(slot, { v, accounted: cost });
    this.bytes += cost;
    this.trimToBudget(slot);
  }

  /** Evicts other entries while over the byte budget; a value that grew past it alone stays (as in Redis, the next write is refused). */
  private trimToBudget(keep: number): void {
    if (this.options.maxBytes === 0 || this.bytes <= this.options.maxBytes || this.options.eviction === 'noeviction') return;
    try {
      this.makeRoom(0, false, keep);
    } catch (e) {
      if (!(e instanceof OutOfMemoryError)) throw e;
    }
  }

  private dropObject(slot: number, passivated = false): void {
    const o = this.objects.get(slot);
    if (o !== undefined) {
      this.bytes -= o.accounted;
      this.objects.delete(slot);
      if (o.v.type === T_STREAM && !passivated && this.onStreamDropped !== undefined) this.onStreamDropped(this.keyAt(slot)!);
    }
    this.u8[slot * R8 + TYPE] = T_STRING;
  }

  private setExpiresCol(slot: number, expiresAt: number): void {
    if ((this.f64[slot * R64 + EXPIRES] !== 0) !== (expiresAt !== 0)) this.ttlCount += expiresAt !== 0 ? 1 : -1;
    this.f64[slot * R64 + EXPIRES] = expiresAt;
  }

  /** EXPIRE and friends on an aggregate: the value is unchanged, its version grows (and the stores get it again). */
  private setTypedExpiry(slot: number, expiresAt: number): Promise<void> | undefined {
    const version = this.versions.next();
    if (!this.persistsWrites) {
      if (this.group !== undefined) this.group.inPlace = true;
      this.setExpiresCol(slot, expiresAt);
      this.f64[slot * R64 + VERSION] = version;
      this.stats.writes++;
      this.keyWatcher?.changed(this.keyAt(slot)!);
      return undefined;
    }
    const key = this.keyAt(slot)!;
    const v = this.objects.get(slot)!.v;
    const change: EntryChange = { kind: 'set', key: Buffer.from(key, 'latin1'), value: encodeValue(v), version, expiresAt };
    return this.persisted([key], [change], () => {
      const s = this.find(key, false);
      if (s < 0 || this.f64[s * R64 + VERSION] > version) return;
      this.setExpiresCol(s, expiresAt);
      this.f64[s * R64 + VERSION] = version;
      this.stats.writes++;
      this.keyWatcher?.changed(key);
    });
  }

  /** The value as the stores keep it (types/encoding: docs/commands.md). */
  persistedValue(slot: number): Buffer {
    if (this.u8[slot * R8 + TYPE] !== T_STRING) return encodeValue(this.objects.get(slot)!.v);
    const view = this.viewOf(slot);
    const start = this.offsetOf(slot) + CHUNK_HEADER + this.i32[slot * R32 + KLEN];
    return encodeString(Buffer.from(view.subarray(start, start + this.i32[slot * R32 + VLEN])));
  }

  // ---- eviction and expiry ---------------------------------------------

  private makeRoom(need: number, newEntry: boolean, keep: number): void {
    const o = this.options;
    const overBytes = () => o.maxBytes !== 0 && this.bytes + need > o.maxBytes;
    const overCount = () => newEntry && o.maxEntries !== 0 && this.count >= o.maxEntries;
    if (!overBytes() && !overCount()) return;
    if (o.eviction === 'noeviction') throw new OutOfMemoryError();
    if (o.maxBytes !== 0 && need > o.maxBytes) throw new OutOfMemoryError();
    while (overBytes() || overCount()) {
      const victim = this.pickVictim(keep);
      if (victim < 0) throw new OutOfMemoryError();
      this.evictSlot(victim);
    }
  }

  /** Sampled LRU / LFU, like Redis's maxmemory-samples. */
  private pickVictim(keep: number): number {
    if (this.count === 0 || (this.count === 1 && keep >= 0)) return -1;
    const now = Date.now();
    const lfu = this.options.eviction === 'lfu';
    let best = -1;
    let bestScore = Infinity;
    let sampled = 0;
    for (let tries = 0; sampled < this.options.evictionSamples && tries < this.options.evictionSamples * 16; tries++) {
      const s = (Math.random() * this.high) | 0;
      if (this.u8[s * R8 + CLS] === FREE || s === keep) continue;
      if (this.group !== undefined && this.group.undo.has(this.keyAt(s)!)) continue; // uncommitted: not passivated
      sampled++;
      const score = lfu ? this.lfuDecayed(s, now) * 1e15 + this.u32[s * R32 + ACCESS] : this.u32[s * R32 + ACCESS];
      if (score < bestScore) {
        bestScore = score;
        best = s;
      }
    }
    if (best < 0) {
      // Sparse slots: fall back to the first live entry.
      for (let s = 0; s < this.high; s++) if (this.u8[s * R8 + CLS] !== FREE && s !== keep) return s;
    }
    return best;
  }

  private evictSlot(slot: number): void {
    if (!this.memoryOnly) {
      const view = this.viewOf(slot);
      const at = this.offsetOf(slot) + CHUNK_HEADER;
      const kend = at + this.i32[slot * R32 + KLEN];
      this.hooks.passivate({
        key: Buffer.from(view.subarray(at, kend)),
        value: this.persistedValue(slot),
        version: this.f64[slot * R64 + VERSION],
        expiresAt: this.f64[slot * R64 + EXPIRES],
      });
    }
    this.removeSlot(slot, !this.memoryOnly);
    this.stats.evictions++;
  }

  private expireSlot(slot: number): void {
    this.removeSlot(slot);
    this.stats.expirations++;
  }

  /** Frees a slot; `passivated`: its value lives on in the stores (so no stream waiter hears of it). */
  private removeSlot(slot: number, passivated = false): void {
    if (this.watches.size !== 0) this.watchedRemoved(slot);
    if (this.keyWatcher !== undefined) this.keyWatcher.changed(this.keyAt(slot)!);
    this.indexRemove(slot);
    this.bytes -= entryBytes(this.i32[slot * R32 + KLEN], this.i32[slot * R32 + VLEN]);
    if (this.u8[slot * R8 + TYPE] !== T_STRING) this.dropObject(slot, passivated);
    if (this.f64[slot * R64 + EXPIRES] !== 0) this.ttlCount--;
    this.releaseChunk(this.u8[slot * R8 + CLS], this.i32[slot * R32 + CHUNK]);
    this.u8[slot * R8 + CLS] = FREE;
    this.f64[slot * R64 + EXPIRES] = 0;
    this.f64[slot * R64 + VERSION] = 0;
    this.i32[slot * R32 + KLEN] = 0;
    this.i32[slot * R32 + VLEN] = 0;
    this.i32[slot * R32 + CHUNK] = this.freeHead;
    this.freeHead = slot;
    this.count--;
  }

  private watchedRemoved(slot: number): void {
    const w = this.watches.get(this.keyAt(slot)!);
    if (w !== undefined) w.removals++;
  }

  private lfuTouch(slot: number, now: number): void {
    let counter = this.lfuDecayed(slot, now);
    if (counter < 255) {
      const base = counter > LFU_INIT ? counter - LFU_INIT : 0;
      if (Math.random() < 1 / (base * LFU_LOG_FACTOR + 1)) counter++;
    }
    this.u8[slot * R8 + LFU] = counter;
    this.u16[slot * R16 + LFU_MINUTE] = minuteNow(now);
  }

  private lfuDecayed(slot: number, now: number): number {
    const elapsed = (minuteNow(now) - this.u16[slot * R16 + LFU_MINUTE] + 65536) % 65536;
    const periods = Math.floor(elapsed / LFU_DECAY_MINUTES);
    const c = this.u8[slot * R8 + LFU];
    return periods > c ? 0 : c - periods;
  }

  /**
   * One bounded pass of the background sweep: checks up to `effort` slots from
   * where the last pass stopped and expires what is due. Returns how many
   * entries expired.
   */
  sweep(effort: number): number {
    if (this.ttlCount === 0 && this.options.maxIdleMs === 0) return 0;
    const now = Date.now();
    const idle = this.options.maxIdleMs;
    let expired = 0;
    let s = this.sweepCursor;
    for (let i = 0; i < effort && this.high > 0; i++) {
      if (s >= this.high) s = 0;
      if (this.u8[s * R8 + CLS] !== FREE) {
        const e = this.f64[s * R64 + EXPIRES];
        if ((e !== 0 && e <= now) || (idle !== 0 && this.idleExpired(s, now))) {
          this.expireSlot(s);
          expired++;
        }
      }
      s++;
    }
    this.sweepCursor = s;
    return expired;
  }

  // ---- iteration -------------------------------------------------------

  /**
   * SCAN: visits about `count` slots from `cursor`; returns the next cursor
   * (0 when done) and the live keys seen. Keys present for the whole scan are
   * returned at least once (slots never move).
   */
  scan(cursor: number, count: number, match: RegExp | undefined, type?: number): [number, string[]] {
    const out: string[] = [];
    const now = Date.now();
    let s = cursor;
    let visited = 0;
    while (s < this.high && (visited < count || out.length === 0) && visited < count * 10) {
      if (this.u8[s * R8 + CLS] !== FREE) {
        visited++;
        const e = this.f64[s * R64 + EXPIRES];
        if (!(e !== 0 && e <= now) && (type === undefined || this.u8[s * R8 + TYPE] === type)) {
          const k = this.keyAt(s)!;
          if (match === undefined || match.test(k)) out.push(k);
        }
      }
      s++;
    }
    return [s >= this.high ? 0 : s, out];
  }

  /** A random live key, or undefined when empty. */
  randomKey(): string | undefined {
    for (let i = 0; i < 100 && this.count > 0; i++) {
      const s = (Math.random() * this.high) | 0;
      if (this.u8[s * R8 + CLS] === FREE) continue;
      const k = this.keyAt(s)!;
      if (this.find(k, false) >= 0) return k;
    }
    for (let s = 0; s < this.high; s++) {
      if (this.u8[s * R8 + CLS] === FREE) continue;
      const k = this.keyAt(s)!;
      if (this.find(k, false) >= 0) return k;
    }
    return undefined;
  }

  /** Live keys matching `match` (KEYS). */
  matching(match: RegExp): string[] {
    const out: string[] = [];
    const now = Date.now();
    for (let s = 0; s < this.high; s++) {
      if (this.u8[s * R8 + CLS] === FREE) continue;
      const e = this.f64[s * R64 + EXPIRES];
      if (e !== 0 && e <= now) continue;
      const k = this.keyAt(s)!;
      if (match.test(k)) out.push(k);
    }
    return out;
  }

  // ---- write groups ----------------------------------------------------

  /** True while a write group is open. */
  get inGroup(): boolean {
    return this.group !== undefined;
  }

  /**
   * True while the open group can still be rolled back whole: false once an
   * aggregate was changed in place in it (memory only), which keeps no copy
   * to put back. Copying every aggregate a script touches, to be able to
   * undo it, would cost O(size) per script on queues of thousands of jobs.
   */
  get groupUndoable(): boolean {
    return this.group !== undefined && this.group.inPlace !== true;
  }

  /**
   * Runs `fn` as one write group: its writes apply to memory as they come
   * (so `fn` reads what it wrote), and reach persistence together at the end,
   * as one batch (write-through: all or nothing; write-behind: one journal
   * group). If `fn` throws, or persistence refuses the batch, memory is put
   * back as it was. Returns undefined when done, or a promise when
   * persistence makes the group wait (its keys are locked meanwhile, so no
   * other command sees the uncommitted values). Inside an open group, `fn`
   * just runs as part of it.
   */
  writeGroup(fn: () => void): Promise<void> | undefined {
    if (this.group !== undefined) {
      fn();
      return undefined;
    }
    this.group = { undo: new Map(), changes: new Map() };
    try {
      fn();
    } catch (e) {
      this.rollbackGroup();
      throw e;
    }
    return this.commitGroup();
  }

  /**
   * Opens a group for a caller that commits or rolls back itself (EXEC,
   * scripts). Inside an open group it opens a nested one (a script in EXEC):
   * its rollback undoes only its own writes, its commit hands them to the
   * enclosing group.
   */
  beginGroup(): void {
    this.group = { undo: new Map(), changes: new Map(), parent: this.group };
  }

  /** Puts memory back as it was when the open group began, and closes it. */
  rollbackGroup(): void {
    const g = this.group;
    if (g === undefined) return;
    this.group = g.parent;
    this.restore(g);
  }

  /** Closes the open group and reports its changes to persistence (see writeGroup); a nested group's go to the enclosing one. */
  commitGroup(): Promise<void> | undefined {
    const g = this.group;
    this.group = g?.parent;
    if (g?.parent !== undefined) {
      const outer = g.parent;
      if (g.inPlace) outer.inPlace = true;
      for (const [k, snap] of g.undo) if (!outer.undo.has(k)) outer.undo.set(k, snap);
      for (const [k, c] of g.changes) {
        outer.changes.delete(k);
        outer.changes.set(k, c);
      }
      return undefined;
    }
    if (g === undefined || g.changes.size === 0 || this.memoryOnly) return undefined;
    const changes = [...g.changes.values()];
    let wait: Promise<void> | undefined;
    try {
      wait = this.hooks.beforeChange(changes);
    } catch (e) {
      this.restore(g);
      throw e;
    }
    if (wait === undefined) {
      this.hooks.afterChange(changes);
      return undefined;
    }
    const done = wait.then(() => this.hooks.afterChange(changes), (e) => {
      this.restore(g);
      throw e;
    });
    const settled = done.then(noop, noop);
    const keys = [...g.changes.keys()];
    for (const k of keys) this.locks.set(k, settled);
    void settled.then(() => {
      for (const k of keys) if (this.locks.get(k) === settled) this.locks.delete(k);
    });
    return done;
  }

  private snapshot(key: string): Snapshot {
    const slot = this.find(key, false);
    if (slot < 0) return null;
    // An aggregate written with persistence is replaced by a changed copy, never changed in place: keeping the old object is enough.
    const typed = this.u8[slot * R8 + TYPE] !== T_STRING ? this.objects.get(slot)!.v : undefined;
    return {
      value: typed === undefined ? toBuffer(this.value(slot)) : EMPTY,
      typed,
      expiresAt: this.f64[slot * R64 + EXPIRES],
      version: this.f64[slot * R64 + VERSION],
    };
  }

  private restore(g: WriteGroup): void {
    for (const [k, snap] of g.undo) {
      const kb = Buffer.from(k, 'latin1');
      const slot = this.indexFind(kb, 0, kb.length, hashBytes(kb, 0, kb.length));
      if (slot >= 0) this.removeSlot(slot);
      if (snap === null) continue;
      try {
        if (snap.typed !== undefined) {
          this.installTyped(kb, snap.typed, snap.expiresAt, snap.version);
          continue;
        }
        this.applyBytes(kb, 0, kb.length, snap.value, 0, snap.value.length, snap.expiresAt, snap.version);
        this.stats.writes--;
      } catch {
        // No room to put it back (eviction refused): the entry stays in the stores, where a miss loads it from.
      }
    }
  }

  /** Reconfigures bounds at runtime (CONFIG SET maxmemory...). */
  reconfigure(options: Partial<KeyspaceOptions>): void {
    this.options = { ...this.options, ...options };
  }
}

/** A key's entry before a write group changed it (null: absent). */
type Snapshot = { readonly value: Buffer; readonly typed?: TypedValue; readonly expiresAt: number; readonly version: number } | null;

interface WriteGroup {
  readonly undo: Map<string, Snapshot>;
  /** The last change per key, in order. */
  readonly changes: Map<string, EntryChange>;
  /**
   * An aggregate was changed in place (memory only: no copy is made, see
   * TypedWrite), which `undo` cannot put back: the group can no longer be
   * rolled back whole.
   */
  inPlace?: boolean;
  /** The enclosing group of a nested one. */
  readonly parent?: WriteGroup;
}

/** A value opened by a TypedWrite. */
export interface Staged {
  readonly key: string;
  readonly type: TypeTag;
  /** The live value (memory only: changed in place) or a copy (persistence: applied after the stores have it). */
  readonly v: TypedValue;
  readonly mods: number;
  readonly existed: boolean;
  /** A STORE destination: replaces whatever the key held, its TTL too. */
  readonly replace: boolean;
  readonly expiresAt: number;
  /** The slot of the live value when `v` is it (memory only, changed in place), else -1: spares commit a second lookup. */
  readonly slot: number;
}

/** True when a staged value is to be written: replaced or changed, and not an empty value for an absent key. */
function isChange(s: Staged): boolean {
  return (s.replace || s.v.mods !== s.mods) && (!isEmptied(s.v) || s.existed);
}

/**
 * One command's write to aggregate values: `open` the keys (the value to
 * change, created when asked), change them, `commit`. Values left unchanged
 * cost nothing; changed ones get a new version each and reach persistence
 * as one batch; a value left empty deletes its key (as Redis does).
 */
export class TypedWrite {
  private readonly staged: Staged[] = [];

  constructor(private readonly ks: Keyspace) {}

  open<T extends TypedValue>(key: string, type: TypeTag, create: boolean): T | undefined {
    for (let i = 0; i < this.staged.length; i++) {
      // A loop, not find(): no closure per open on the HSET / LPUSH path.
      const prev = this.staged[i];
      if (prev.key !== key) continue;
      if (prev.type !== type) throw new WrongTypeError();
      return prev.v as T;
    }
    const s = this.ks.stageTyped(key, type, create, false);
    if (s === undefined) return undefined;
    this.staged.push(s);
    return s.v as T;
  }

  /** A new, empty value that replaces `key` at commit (an empty one deletes it). */
  replace<T extends TypedValue>(key: string, type: TypeTag): T {
    const i = this.staged.findIndex((s) => s.key === key);
    if (i >= 0) this.staged.splice(i, 1);
    const s = this.ks.stageTyped(key, type, true, true)!;
    this.staged.push(s);
    return s.v as T;
  }

  /** `value`, a value of its own (a clone), replaces `key` at commit and expires at `expiresAt` (0: never): COPY, RENAME. */
  put(key: string, value: TypedValue, expiresAt: number): void {
    const i = this.staged.findIndex((s) => s.key === key);
    if (i >= 0) this.staged.splice(i, 1);
    const s = this.ks.stageTyped(key, value.type, true, true)!;
    this.staged.push({ ...s, v: value, mods: -1, expiresAt, slot: -1 });
  }

  commit(): Promise<void> | undefined {
    return this.ks.commitTyped(this.staged);
  }
}

function toBuffer(v: Value): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
}

function minuteNow(now: number): number {
  return Math.floor(now / 60000) & 0xffff;
}

function noop(): void {}

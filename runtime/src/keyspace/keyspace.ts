/* eslint-disable no-bitwise */ // integer math on the hot path (slot picks, clocks)
import { EntryChange, LoadedEntry, NO_PERSISTENCE, PersistenceHooks } from './hooks';
import { VersionClock } from './versions';

/**
 * A value in memory: a binary (latin1) string for values up to
 * `STRING_VALUE_MAX` bytes, a Buffer above. Both have `.length` in bytes.
 *
 * Why strings: a one-byte V8 string costs its length plus a 16-byte header
 * and lives on the heap, where a Buffer costs ~100 bytes of object and
 * backing-store bookkeeping on top of its bytes. Large values stay Buffers
 * (no copy into a string, and V8 strings stop short of 512 MB).
 */
export type Value = string | Buffer;

export const STRING_VALUE_MAX = 64 * 1024;

/**
 * Estimated bytes per entry besides its key and value bytes: the Map entry,
 * the two string headers and the per-slot columns below; used for the byte
 * budget (columns grow by doubling, so the real figure swings ±15% around
 * it). Measured (test/keyspace-memory.test.ts): with 16-byte keys and
 * 100-byte values a keyspace holds ~223 bytes per entry on the heap and in
 * typed arrays, ~293 bytes of process RSS per key with 1M keys, where
 * redis-server 7 takes ~208 (1.4x).
 */
export const ENTRY_OVERHEAD = 120;

export type EvictionPolicy = 'lru' | 'lfu' | 'noeviction';

export interface KeyspaceOptions {
  /** Most entries; 0 means no bound by count. */
  readonly maxEntries: number;
  /** Most accounted bytes (keys + values + ENTRY_OVERHEAD each); 0 means unbounded. */
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

/** The write needs room and the policy is noeviction (or nothing could be evicted). */
export class OutOfMemoryError extends Error {
  constructor() {
    super('command not allowed when used memory > \'maxmemory\'.');
    this.name = 'OutOfMemoryError';
  }
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
}

const LFU_INIT = 5;
const LFU_LOG_FACTOR = 10;
const LFU_DECAY_MINUTES = 1;

/** Sentinel for a free slot in the key column. */
const FREE = undefined;

/** Resolution of the access clock (LRU order and max idle). */
const ACCESS_TICK_MS = 10;

/**
 * The in-memory keyspace. Entries live in parallel columns indexed by a slot
 * number (keys and values in two arrays, versions, expiry, access time and
 * LFU counter in typed arrays) with one Map from key to slot: no object per
 * entry, so memory per key stays close to Redis's. Slots of deleted entries
 * are reused; SCAN cursors are slot numbers.
 *
 * Keys are binary strings: one char per byte (latin1), so any byte sequence
 * is a key and the Map hashes it natively.
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

  private readonly map = new Map<string, number>();
  private keys: Array<string | undefined> = [];
  private vals: Value[] = [];
  private version = new Float64Array(0);
  private expires = new Float64Array(0);
  /** Last access, in ACCESS_TICK_MS ticks since `epoch` (4 bytes instead of 8; 497 days of range). */
  private access = new Uint32Array(0);
  private readonly epoch = Date.now();
  private lfu = new Uint8Array(0);
  private lfuMinute = new Uint16Array(0);
  private free = new Int32Array(0);
  private freeTop = 0;
  private high = 0;
  private bytes = 0;
  private sweepCursor = 0;
  private ttlCount = 0;

  /** Keys with a change waiting on persistence; other writes to them wait. */
  readonly locks = new Map<string, Promise<unknown>>();
  private readonly loading = new Map<string, Promise<void>>();

  constructor(
    private options: KeyspaceOptions = DEFAULT_KEYSPACE_OPTIONS,
    readonly hooks: PersistenceHooks = NO_PERSISTENCE,
  ) {
    this.grow(1024);
  }

  /** True when misses may be loaded from persistence (the protocol then loads before running a command). */
  get loadsOnMiss(): boolean {
    return this.hooks !== NO_PERSISTENCE;
  }

  get size(): number {
    return this.map.size;
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

  private grow(capacity: number): void {
    const old = this.version.length;
    const version = new Float64Array(capacity);
    version.set(this.version);
    this.version = version;
    const expires = new Float64Array(capacity);
    expires.set(this.expires);
    this.expires = expires;
    const access = new Uint32Array(capacity);
    access.set(this.access);
    this.access = access;
    const lfu = new Uint8Array(capacity);
    lfu.set(this.lfu);
    this.lfu = lfu;
    const lfuMinute = new Uint16Array(capacity);
    lfuMinute.set(this.lfuMinute);
    this.lfuMinute = lfuMinute;
    // Exactly sized columns: push() would let V8 over-allocate by up to half.
    const keys = new Array<string | undefined>(capacity);
    const vals = new Array<Value>(capacity);
    for (let i = 0; i < old; i++) {
      keys[i] = this.keys[i];
      vals[i] = this.vals[i];
    }
    for (let i = old; i < capacity; i++) {
      keys[i] = FREE;
      vals[i] = '';
    }
    this.keys = keys;
    this.vals = vals;
  }

  private pushFree(slot: number): void {
    if (this.freeTop === this.free.length) {
      const free = new Int32Array(Math.max(1024, this.free.length * 2));
      free.set(this.free);
      this.free = free;
    }
    this.free[this.freeTop++] = slot;
  }

  private tick(now: number): number {
    return ((now - this.epoch) / ACCESS_TICK_MS) >>> 0;
  }

  private idleExpired(slot: number, now: number): boolean {
    return this.options.maxIdleMs !== 0 && (this.access[slot] + 1) * ACCESS_TICK_MS + this.options.maxIdleMs <= now - this.epoch;
  }

  private allocSlot(): number {
    if (this.freeTop > 0) return this.free[--this.freeTop];
    if (this.high === this.version.length) this.grow(this.version.length * 2);
    return this.high++;
  }

  private now(): number {
    return this.frozenNow !== 0 ? this.frozenNow : Date.now();
  }

  // ---- reads ---------------------------------------------------------------

  /**
   * The live slot of `key`, or -1. Expires the entry lazily and records the
   * access (LRU clock, LFU counter) unless `touch` is false.
   */
  find(key: string, touch = true): number {
    const slot = this.map.get(key);
    if (slot === undefined) return -1;
    const now = this.now();
    const e = this.expires[slot];
    if ((e !== 0 && e <= now) || this.idleExpired(slot, now)) {
      this.expireSlot(slot);
      return -1;
    }
    if (touch) {
      this.access[slot] = this.tick(now);
      if (this.options.eviction === 'lfu') this.lfuTouch(slot, now);
    }
    return slot;
  }

  /** `find` that also counts a hit or a miss (GET and friends). */
  lookup(key: string): number {
    const slot = this.find(key);
    if (slot < 0) this.stats.misses++;
    else this.stats.hits++;
    return slot;
  }

  value(slot: number): Value {
    return this.vals[slot];
  }

  versionOf(slot: number): number {
    return this.version[slot];
  }

  expiresAt(slot: number): number {
    return this.expires[slot];
  }

  keyAt(slot: number): string | undefined {
    return this.keys[slot];
  }

  /** Version of the live entry, or 0 when absent (WATCH). */
  currentVersion(key: string): number {
    const slot = this.find(key, false);
    return slot < 0 ? 0 : this.version[slot];
  }

  // ---- writes --------------------------------------------------------------

  /**
   * Sets `key` to `value`. `expiresAt` is absolute ms (0: none, -1: keep the
   * current TTL, as with KEEPTTL). Returns undefined when applied now, or a
   * promise when persistence makes the write wait (memory changes when it
   * resolves; it rejects and leaves memory unchanged on failure).
   */
  set(key: string, value: Value, expiresAt: number, defaultTtl = true): Promise<void> | undefined {
    if (expiresAt === -1) {
      const slot = this.find(key, false);
      expiresAt = slot < 0 ? 0 : this.expires[slot];
    }
    if (expiresAt === 0 && defaultTtl && this.options.defaultTtlMs !== 0) expiresAt = Date.now() + this.options.defaultTtlMs;
    const version = this.versions.next();
    if (this.hooks === NO_PERSISTENCE) {
      this.apply(key, value, expiresAt, version);
      return undefined;
    }
    this.checkRoom(key, value.length);
    const change: EntryChange = { kind: 'write', key: Buffer.from(key, 'latin1'), value: toBuffer(value), version, expiresAt };
    return this.persisted([key], [change], () => this.apply(key, value, expiresAt, version));
  }

  /** Sets several keys at once (MSET): one persistence batch. */
  setMany(pairs: ReadonlyArray<readonly [string, Value]>): Promise<void> | undefined {
    if (this.hooks === NO_PERSISTENCE) {
      const at = this.options.defaultTtlMs !== 0 ? Date.now() + this.options.defaultTtlMs : 0;
      for (const [k, v] of pairs) this.apply(k, v, at, this.versions.next());
      return undefined;
    }
    const exp = this.options.defaultTtlMs !== 0 ? Date.now() + this.options.defaultTtlMs : 0;
    const versions = pairs.map(() => this.versions.next());
    for (const [k, v] of pairs) this.checkRoom(k, v.length);
    const changes: EntryChange[] = pairs.map(([k, v], i) => ({ kind: 'write', key: Buffer.from(k, 'latin1'), value: toBuffer(v), version: versions[i], expiresAt: exp }));
    return this.persisted(pairs.map((p) => p[0]), changes, () => pairs.forEach(([k, v], i) => this.apply(k, v, exp, versions[i])));
  }

  /** Changes only the expiry of a live entry (EXPIRE, PERSIST, GETEX; PERSIST wins over the default lifespan); the version grows. */
  setExpiry(slot: number, expiresAt: number): Promise<void> | undefined {
    const key = this.keys[slot]!;
    const value = this.vals[slot];
    return this.set(key, value, expiresAt, false);
  }

  /**
   * Deletes keys (DEL, UNLINK, GETDEL, FLUSHDB). Calls back with how many
   * existed; returns a promise when persistence makes the delete wait.
   */
  delete(keys: readonly string[]): number | Promise<number> {
    if (this.hooks === NO_PERSISTENCE) {
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
    if (live.length === 0) return 0;
    const changes: EntryChange[] = live.map((k) => ({ kind: 'delete', key: Buffer.from(k, 'latin1'), version: this.versions.next() }));
    const p = this.persisted(live, changes, () => {
      for (const k of live) {
        const slot = this.find(k, false);
        if (slot >= 0) {
          this.removeSlot(slot);
          this.stats.deletes++;
        }
      }
    });
    return p === undefined ? live.length : p.then(() => live.length);
  }

  /** Every key, for FLUSHDB / FLUSHALL. */
  allKeys(): string[] {
    return [...this.map.keys()];
  }

  /** Removes everything. */
  flush(): number | Promise<number> {
    if (this.hooks !== NO_PERSISTENCE) return this.delete(this.allKeys());
    const n = this.map.size;
    this.map.clear();
    this.keys = [];
    this.vals = [];
    this.version = new Float64Array(0);
    this.expires = new Float64Array(0);
    this.access = new Uint32Array(0);
    this.lfu = new Uint8Array(0);
    this.lfuMinute = new Uint16Array(0);
    this.free = new Int32Array(0);
    this.freeTop = 0;
    this.high = 0;
    this.bytes = 0;
    this.ttlCount = 0;
    this.sweepCursor = 0;
    this.grow(1024);
    this.stats.deletes += n;
    return n;
  }

  /**
   * Runs persistence's beforeChange; applies at once or after its promise,
   * holding the keys' locks meanwhile, then reports afterChange.
   */
  private persisted(keys: readonly string[], changes: EntryChange[], apply: () => void): Promise<void> | undefined {
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
      for (const k of keys) if (this.locks.get(k) === settled) this.locks.delete(k);
    });
    return done;
  }

  /** Throws OutOfMemoryError when a write of this size cannot fit (noeviction, or too big for the budget). */
  private checkRoom(key: string, valueBytes: number): void {
    if (this.options.eviction !== 'noeviction' && this.options.maxBytes === 0) return;
    const need = ENTRY_OVERHEAD + key.length + valueBytes;
    if (this.options.maxBytes !== 0 && need > this.options.maxBytes) throw new OutOfMemoryError();
    if (this.options.eviction === 'noeviction') {
      const existing = this.map.get(key);
      const freed = existing === undefined ? 0 : ENTRY_OVERHEAD + key.length + this.vals[existing].length;
      if (this.options.maxBytes !== 0 && this.bytes - freed + need > this.options.maxBytes) throw new OutOfMemoryError();
      if (existing === undefined && this.options.maxEntries !== 0 && this.map.size >= this.options.maxEntries) throw new OutOfMemoryError();
    }
  }

  /** Writes into memory now (version already chosen); evicts to make room. */
  private apply(key: string, value: Value, expiresAt: number, version: number): void {
    let slot = this.map.get(key);
    const now = this.now();
    if (slot !== undefined) {
      if (this.version[slot] > version) return; // a newer write landed while this one waited
      const delta = value.length - this.vals[slot].length;
      if (delta > 0) this.makeRoom(delta, false, slot); // never evicts `slot` itself
    }
    if (slot === undefined) {
      this.makeRoom(ENTRY_OVERHEAD + key.length + value.length, true, -1);
      slot = this.allocSlot();
      this.map.set(key, slot);
      this.keys[slot] = key;
      this.vals[slot] = value;
      this.bytes += ENTRY_OVERHEAD + key.length + value.length;
      this.lfu[slot] = LFU_INIT;
      this.lfuMinute[slot] = minuteNow(now);
      this.expires[slot] = 0;
    } else {
      this.bytes += value.length - this.vals[slot].length;
      this.vals[slot] = value;
    }
    const hadTtl = this.expires[slot] !== 0;
    if (hadTtl !== (expiresAt !== 0)) this.ttlCount += expiresAt !== 0 ? 1 : -1;
    this.expires[slot] = expiresAt;
    this.version[slot] = version;
    this.access[slot] = this.tick(now);
    this.stats.writes++;
  }

  /** Inserts an entry loaded from persistence, unless memory has a newer one. */
  insertLoaded(entry: LoadedEntry): void {
    this.versions.observe(entry.version);
    if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) return;
    const key = entry.key.toString('latin1');
    const existing = this.map.get(key);
    if (existing !== undefined && this.version[existing] >= entry.version) return;
    const value: Value = entry.value.length <= STRING_VALUE_MAX ? entry.value.toString('latin1') : Buffer.from(entry.value);
    try {
      this.apply(key, value, entry.expiresAt, entry.version);
      this.stats.writes--; // a load is not a client write
      this.stats.loads++;
    } catch {
      // No room and nothing evictable: serve the loaded entry's absence rather than fail the read.
    }
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
    const done = p.then((entry) => {
      if (entry !== undefined) this.insertLoaded(entry);
    }).finally(() => this.loading.delete(key));
    this.loading.set(key, done);
    return done;
  }

  // ---- eviction and expiry ---------------------------------------------

  private makeRoom(need: number, newEntry: boolean, keep: number): void {
    const o = this.options;
    const overBytes = () => o.maxBytes !== 0 && this.bytes + need > o.maxBytes;
    const overCount = () => newEntry && o.maxEntries !== 0 && this.map.size >= o.maxEntries;
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
    if (this.map.size === 0 || (this.map.size === 1 && keep >= 0)) return -1;
    const now = Date.now();
    const lfu = this.options.eviction === 'lfu';
    let best = -1;
    let bestScore = Infinity;
    let sampled = 0;
    for (let tries = 0; sampled < this.options.evictionSamples && tries < this.options.evictionSamples * 16; tries++) {
      const s = (Math.random() * this.high) | 0;
      if (this.keys[s] === FREE || s === keep) continue;
      sampled++;
      const score = lfu ? this.lfuDecayed(s, now) * 1e15 + this.access[s] : this.access[s];
      if (score < bestScore) {
        bestScore = score;
        best = s;
      }
    }
    if (best < 0) {
      // Sparse slots: fall back to the first live entry.
      for (const s of this.map.values()) if (s !== keep) return s;
    }
    return best;
  }

  private evictSlot(slot: number): void {
    const key = this.keys[slot]!;
    if (this.hooks !== NO_PERSISTENCE) {
      this.hooks.passivate({ key: Buffer.from(key, 'latin1'), value: toBuffer(this.vals[slot]), version: this.version[slot], expiresAt: this.expires[slot] });
    }
    this.removeSlot(slot);
    this.stats.evictions++;
  }

  private expireSlot(slot: number): void {
    this.removeSlot(slot);
    this.stats.expirations++;
  }

  private removeSlot(slot: number): void {
    const key = this.keys[slot]!;
    this.map.delete(key);
    this.bytes -= ENTRY_OVERHEAD + key.length + this.vals[slot].length;
    if (this.expires[slot] !== 0) this.ttlCount--;
    this.keys[slot] = FREE;
    this.vals[slot] = '';
    this.expires[slot] = 0;
    this.version[slot] = 0;
    this.pushFree(slot);
  }

  private lfuTouch(slot: number, now: number): void {
    let counter = this.lfuDecayed(slot, now);
    if (counter < 255) {
      const base = counter > LFU_INIT ? counter - LFU_INIT : 0;
      if (Math.random() < 1 / (base * LFU_LOG_FACTOR + 1)) counter++;
    }
    this.lfu[slot] = counter;
    this.lfuMinute[slot] = minuteNow(now);
  }

  private lfuDecayed(slot: number, now: number): number {
    const elapsed = (minuteNow(now) - this.lfuMinute[slot] + 65536) % 65536;
    const periods = Math.floor(elapsed / LFU_DECAY_MINUTES);
    const c = this.lfu[slot];
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
      if (this.keys[s] !== FREE) {
        const e = this.expires[s];
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
  scan(cursor: number, count: number, match: RegExp | undefined): [number, string[]] {
    const out: string[] = [];
    const now = Date.now();
    let s = cursor;
    let visited = 0;
    while (s < this.high && (visited < count || out.length === 0) && visited < count * 10) {
      const k = this.keys[s];
      if (k !== FREE) {
        visited++;
        const e = this.expires[s];
        if (!(e !== 0 && e <= now) && (match === undefined || match.test(k))) out.push(k);
      }
      s++;
    }
    return [s >= this.high ? 0 : s, out];
  }

  /** A random live key, or undefined when empty. */
  randomKey(): string | undefined {
    for (let i = 0; i < 100 && this.map.size > 0; i++) {
      const s = (Math.random() * this.high) | 0;
      const k = this.keys[s];
      if (k !== FREE && this.find(k, false) >= 0) return k;
    }
    for (const k of this.map.keys()) if (this.find(k, false) >= 0) return k;
    return undefined;
  }

  /** Live keys matching `match` (KEYS). */
  matching(match: RegExp): string[] {
    const out: string[] = [];
    const now = Date.now();
    for (let s = 0; s < this.high; s++) {
      const k = this.keys[s];
      if (k === FREE) continue;
      const e = this.expires[s];
      if (!(e !== 0 && e <= now) && match.test(k)) out.push(k);
    }
    return out;
  }

  /** Reconfigures bounds at runtime (CONFIG SET maxmemory...). */
  reconfigure(options: Partial<KeyspaceOptions>): void {
    this.options = { ...this.options, ...options };
  }
}

function toBuffer(v: Value): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
}

function minuteNow(now: number): number {
  return Math.floor(now / 60000) & 0xffff;
}

function noop(): void {}

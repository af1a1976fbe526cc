import { mkdir } from 'node:fs/promises';
import { BatchOperation, ClassicLevel } from 'classic-level';
import type { FileStoreConfig } from './config';
import type { StoreContext } from './context';
import {
  BatchResult, CacheStore, StoreCharacteristics, StoreConfigError, StoredDelete, StoredEntry, StoreUnavailableError,
} from './store';

/** Entries per page of iterate(), and the bytes a page may hold (1 MiB: room for 1000 entries of up to ~1 KiB). */
const ITERATE_PAGE_ENTRIES = 1000;
const ITERATE_PAGE_BYTES = 1024 * 1024;

/**
 * Value layout of the file store (keys are the cache keys, as is):
 *
 *   byte 0       format, 0x01
 *   bytes 1-8    version, unsigned 64-bit big-endian
 *   bytes 9-16   expiresAt, ms since the epoch, unsigned 64-bit big-endian; 0 = never
 *   bytes 17..   the value
 */
type Ops = Array<BatchOperation<ClassicLevel<Buffer, Buffer>, Buffer, Buffer>>;

const FORMAT = 0x01;
const HEADER = 17;

export function encodeFileValue(entry: StoredEntry): Buffer {
  const out = Buffer.allocUnsafe(HEADER + entry.value.length);
  out[0] = FORMAT;
  out.writeBigUInt64BE(BigInt(entry.version), 1);
  out.writeBigUInt64BE(BigInt(entry.expiresAt), 9);
  entry.value.copy(out, HEADER);
  return out;
}

export function decodeFileValue(key: Buffer, raw: Buffer): StoredEntry {
  if (raw.length < HEADER || raw[0] !== FORMAT) {
    throw new Error(`entry ${key.toString('hex')} has an unknown layout (format byte ${raw[0]}, ${raw.length} bytes)`);
  }
  return {
    key,
    version: Number(raw.readBigUInt64BE(1)),
    expiresAt: Number(raw.readBigUInt64BE(9)),
    value: raw.subarray(HEADER),
  };
}

function expired(entry: StoredEntry, now: number): boolean {
  return entry.expiresAt !== 0 && entry.expiresAt <= now;
}

/**
 * The file store: LevelDB through classic-level. LevelDB takes an exclusive
 * lock on its directory, so one process owns it (`shareable: false`), which is
 * what makes the versioned write a plain read-compare-write: writers are
 * serialised inside this process.
 */
export class FileStore implements CacheStore {
  readonly name: string;
  readonly characteristics: StoreCharacteristics = { shareable: false, supportsTtl: true, versioned: true, readOnly: false };
  private readonly db: ClassicLevel<Buffer, Buffer>;
  /** Serialises read-compare-write sequences. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly config: FileStoreConfig, private readonly context: StoreContext) {
    this.name = config.name;
    this.db = new ClassicLevel<Buffer, Buffer>(config.directory, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      createIfMissing: true,
      compression: config.compression,
      cacheSize: config.cacheSizeBytes,
    });
  }

  async start(): Promise<void> {
    try {
      await mkdir(this.config.directory, { recursive: true });
    } catch (err) {
      throw new StoreConfigError(this.name, `cannot create directory ${this.config.directory} (${(err as NodeJS.ErrnoException).code}); mount a writable volume there`, { cause: err });
    }
    try {
      await this.db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if ((err as { code?: string }).code === 'LEVEL_LOCKED' || cause?.code === 'LEVEL_LOCKED') {
        throw new StoreUnavailableError(this.name, `directory ${this.config.directory} is locked by another process; a file store cannot be shared: give each replica its own volume`, { cause: err });
      }
      throw this.unavailable('cannot open the database', err);
    }
    this.context.logger.info({ store: this.name, directory: this.config.directory }, 'file store open');
  }

  async load(key: Buffer): Promise<StoredEntry | undefined> {
    return (await this.loadMany([key]))[0];
  }

  async loadMany(keys: readonly Buffer[]): Promise<Array<StoredEntry | undefined>> {
    let raws: Array<Buffer | undefined>;
    try {
      raws = await this.db.getMany(keys as Buffer[]);
    } catch (err) {
      throw this.unavailable('read failed', err);
    }
    const now = Date.now();
    const stale: StoredEntry[] = [];
    const out = raws.map((raw, i) => {
      if (raw === undefined) return undefined;
      const entry = this.decode(keys[i], raw);
      if (entry === undefined) return undefined;
      if (expired(entry, now)) {
        stale.push(entry);
        return undefined;
      }
      return entry;
    });
    if (stale.length > 0) this.dropExpired(stale);
    return out;
  }

  async writeBatch(entries: readonly StoredEntry[]): Promise<BatchResult> {
    return this.serialised(async () => {
      const current = await this.currentVersions(entries.map((e) => e.key));
      const ops: Ops = [];
      for (let i = 0; i < entries.length; i++) {
        const have = current[i];
        if (have !== undefined && have >= entries[i].version) continue; // a newer (or the same) write is already there
        ops.push({ type: 'put' as const, key: entries[i].key, value: encodeFileValue(entries[i]) });
      }
      await this.apply(ops);
      return { rejected: [] };
    });
  }

  async deleteBatch(deletes: readonly StoredDelete[]): Promise<BatchResult> {
    return this.serialised(async () => {
      const current = await this.currentVersions(deletes.map((d) => d.key));
      const ops: Ops = [];
      for (let i = 0; i < deletes.length; i++) {
        const have = current[i];
        if (have === undefined || have > deletes[i].version) continue; // absent, or written after the delete
        ops.push({ type: 'del' as const, key: deletes[i].key });
      }
      await this.apply(ops);
      return { rejected: [] };
    });
  }

  async *iterate(): AsyncIterable<StoredEntry> {
    const now = Date.now();
    const stale: StoredEntry[] = [];
    let iterator;
    try {
      // Pages of entries (nextv) with room for a whole page, and no LevelDB
      // block cache filled by a one-pass scan: a 1M-entry preload spent most
      // of its time in the per-entry native calls of 16 KiB pages.
      iterator = this.db.iterator({ fillCache: false, highWaterMarkBytes: ITERATE_PAGE_BYTES });
    } catch (err) {
      throw this.unavailable('iterate failed', err);
    }
    try {
      for (;;) {
        const page = await iterator.nextv(ITERATE_PAGE_ENTRIES);
        if (page.length === 0) break;
        for (const [key, raw] of page) {
          const entry = this.decode(key, raw);
          if (entry === undefined) continue;
          if (expired(entry, now)) {
            stale.push(entry);
            continue;
          }
          yield entry;
        }
      }
    } catch (err) {
      throw this.unavailable('iterate failed', err);
    } finally {
      await iterator.close();
      if (stale.length > 0) this.dropExpired(stale);
    }
  }

  async clear(): Promise<void> {
    await this.serialised(async () => {
      try {
        await this.db.clear();
      } catch (err) {
        throw this.unavailable('clear failed', err);
      }
    });
  }

  async ping(): Promise<void> {
    if (this.db.status !== 'open') {
      throw new StoreUnavailableError(this.name, `database is ${this.db.status}`);
    }
  }

  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.db.close();
  }

  private async currentVersions(keys: Buffer[]): Promise<Array<number | undefined>> {
    let raws: Array<Buffer | undefined>;
    try {
      raws = await this.db.getMany(keys);
    } catch (err) {
      throw this.unavailable('read failed', err);
    }
    // An unreadable entry counts as version 0, so the next write replaces it.
    return raws.map((raw, i) => (raw === undefined ? undefined : this.decode(keys[i], raw)?.version ?? 0));
  }

  /** An entry this code cannot read (a foreign or damaged value) is logged at ERROR and treated as absent. */
  private decode(key: Buffer, raw: Buffer): StoredEntry | undefined {
    try {
      return decodeFileValue(key, raw);
    } catch (err) {
      this.context.logger.error({ store: this.name, key: key.toString('hex'), err: (err as Error).message },
        'unreadable entry in the file store: treated as absent, the next write of the key replaces it');
      return undefined;
    }
  }

  private async apply(ops: Ops): Promise<void> {
    if (ops.length === 0) return;
    try {
      await this.db.batch(ops, { sync: this.config.sync });
    } catch (err) {
      throw this.unavailable('write failed', err);
    }
  }

  /** Lazily deletes expired entries that were read, unless they were rewritten meanwhile. */
  private dropExpired(stale: StoredEntry[]): void {
    this.deleteBatch(stale.map((e) => ({ key: e.key, version: e.version }))).catch((err) => {
      this.context.logger.warn({ store: this.name, err }, 'could not delete expired entries; they stay invisible and are retried on the next read');
    });
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private unavailable(what: string, err: unknown): StoreUnavailableError {
    const code = (err as { code?: string }).code;
    return new StoreUnavailableError(this.name, `${what}${code ? ` (${code})` : ''}: ${(err as Error).message}`, { cause: err });
  }
}

export function createFileStore(config: FileStoreConfig, context: StoreContext): FileStore {
  return new FileStore(config, context);
}

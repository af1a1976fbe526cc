import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Persistence } from '../../src/persistence/persistence';
import {
  BatchResult, CacheStore, StoreCharacteristics, StoredDelete, StoredEntry, StoreRejectedError, StoreUnavailableError,
} from '../../src/stores/store';

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'persistence-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function entry(key: string, value: string, version: number, expiresAt = 0): StoredEntry {
  return { key: Buffer.from(key), value: Buffer.from(value), version, expiresAt };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One write through persistence as the keyspace hands it over (Persistence.writeMany). */
export function persist(p: Persistence, e: StoredEntry): Promise<void> {
  return p.writeMany([{ kind: 'set', entry: e }]);
}

/** One delete through persistence (Persistence.writeMany). */
export function persistDelete(p: Persistence, del: StoredDelete): Promise<void> {
  return p.writeMany([{ kind: 'delete', del }]);
}

/** Polls until `cond` is true or fails after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/**
 * An in-test store (a test double of the store dependency, not of the code
 * under test) with failure injection: whole-store outages, per-key refusals,
 * latency, and a record of every batch it received.
 */
export class TestStore implements CacheStore {
  readonly data = new Map<string, StoredEntry>();
  readonly batches: Array<{ kind: 'write' | 'delete'; keys: string[]; versions: number[] }> = [];
  /** While true every call throws StoreUnavailableError. */
  down = false;
  /** Fail the next n batch calls with StoreUnavailableError. */
  failNext = 0;
  /** Batch calls that failed as unavailable (down or failNext). */
  failedBatches = 0;
  /** Keys refused per key: permanent (StoreRejectedError) or transient (a plain Error). */
  readonly refuse = new Map<string, 'permanent' | 'transient'>();
  /** Added latency of every batch call, ms. */
  latencyMs = 0;
  /** Resolve to let a held batch complete (when holdBatches is true). */
  holdBatches = false;
  private held: Array<() => void> = [];
  loads = 0;
  loadLatencyMs = 0;
  readonly characteristics: StoreCharacteristics;

  constructor(readonly name = 'test', characteristics: Partial<StoreCharacteristics> = {}) {
    this.characteristics = { shareable: false, supportsTtl: true, versioned: true, readOnly: false, ...characteristics };
  }

  releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const r of held) r();
  }

  get heldCount(): number {
    return this.held.length;
  }

  async start(): Promise<void> { this.check(); }

  async load(key: Buffer): Promise<StoredEntry | undefined> {
    this.loads++;
    if (this.loadLatencyMs) await sleep(this.loadLatencyMs);
    this.check();
    return this.data.get(key.toString());
  }

  async loadMany(keys: readonly Buffer[]): Promise<Array<StoredEntry | undefined>> {
    return Promise.all(keys.map((k) => this.load(k)));
  }

  async writeBatch(entries: readonly StoredEntry[]): Promise<BatchResult> {
    await this.gate();
    this.batches.push({ kind: 'write', keys: entries.map((e) => e.key.toString()), versions: entries.map((e) => e.version) });
    const rejected: Array<{ key: Buffer; error: Error }> = [];
    for (const e of entries) {
      const refusal = this.refuse.get(e.key.toString());
      if (refusal) {
        rejected.push({ key: e.key, error: refusal === 'permanent' ? new StoreRejectedError(this.name, 'value too large') : new Error('lock timeout') });
        continue;
      }
      const current = this.data.get(e.key.toString());
      if (!current || current.version <= e.version) this.data.set(e.key.toString(), e);
    }
    return { rejected };
  }

  async deleteBatch(deletes: readonly StoredDelete[]): Promise<BatchResult> {
    await this.gate();
    this.batches.push({ kind: 'delete', keys: deletes.map((d) => d.key.toString()), versions: deletes.map((d) => d.version) });
    for (const d of deletes) {
      const current = this.data.get(d.key.toString());
      if (current && current.version <= d.version) this.data.delete(d.key.toString());
    }
    return { rejected: [] };
  }

  async *iterate(): AsyncIterable<StoredEntry> {
    this.check();
    for (const e of [...this.data.values()]) {
      if (this.loadLatencyMs) await sleep(this.loadLatencyMs);
      yield e;
    }
  }

  async clear(): Promise<void> { this.check(); this.data.clear(); }
  async maxVersion(): Promise<number> { this.check(); return Math.max(0, ...[...this.data.values()].map((e) => e.version)); }
  async ping(): Promise<void> { this.check(); }
  async close(): Promise<void> {}

  value(key: string): string | undefined {
    return this.data.get(key)?.value.toString();
  }

  private async gate(): Promise<void> {
    if (this.latencyMs) await sleep(this.latencyMs);
    if (this.holdBatches) await new Promise<void>((r) => this.held.push(r));
    if (this.down || this.failNext > 0) this.failedBatches++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new StoreUnavailableError(this.name, 'connection refused');
    }
    this.check();
  }

  private check(): void {
    if (this.down) throw new StoreUnavailableError(this.name, 'connection refused');
  }
}

/**
 * A real LevelDB store (classic-level) with the store interface, conditional
 * on versions, used where the tests want real storage.
 * Value layout: [f64 version][f64 expiresAt][value].
 */
export class LevelTestStore implements CacheStore {
  readonly characteristics: StoreCharacteristics = { shareable: false, supportsTtl: true, versioned: true, readOnly: false };
  private db: ClassicLevel<Buffer, Buffer>;

  constructor(readonly location: string, readonly name = 'level') {
    this.db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  }

  async start(): Promise<void> { await this.db.open(); }

  async load(key: Buffer): Promise<StoredEntry | undefined> {
    const raw = await this.db.get(key);
    if (raw === undefined) return undefined;
    const e = this.decode(key, raw);
    return e.expiresAt !== 0 && e.expiresAt <= Date.now() ? undefined : e;
  }

  async loadMany(keys: readonly Buffer[]): Promise<Array<StoredEntry | undefined>> {
    return Promise.all(keys.map((k) => this.load(k)));
  }

  async writeBatch(entries: readonly StoredEntry[]): Promise<BatchResult> {
    const current = await this.db.getMany(entries.map((e) => e.key));
    const ops = entries.flatMap((e, i) => {
      const c = current[i];
      if (c !== undefined && c.readDoubleLE(0) > e.version) return [];
      const head = Buffer.alloc(16);
      head.writeDoubleLE(e.version, 0);
      head.writeDoubleLE(e.expiresAt, 8);
      return [{ type: 'put' as const, key: e.key, value: Buffer.concat([head, e.value]) }];
    });
    await this.db.batch(ops);
    return { rejected: [] };
  }

  async deleteBatch(deletes: readonly StoredDelete[]): Promise<BatchResult> {
    const current = await this.db.getMany(deletes.map((d) => d.key));
    const ops = deletes.flatMap((d, i) => {
      const c = current[i];
      return c !== undefined && c.readDoubleLE(0) <= d.version ? [{ type: 'del' as const, key: d.key }] : [];
    });
    await this.db.batch(ops);
    return { rejected: [] };
  }

  async *iterate(): AsyncIterable<StoredEntry> {
    for await (const [key, raw] of this.db.iterator()) {
      const e = this.decode(key, raw);
      if (e.expiresAt === 0 || e.expiresAt > Date.now()) yield e;
    }
  }

  async clear(): Promise<void> { await this.db.clear(); }
  async ping(): Promise<void> { if (this.db.status !== 'open') throw new StoreUnavailableError(this.name, `database ${this.db.status}`); }
  async close(): Promise<void> { await this.db.close(); }

  private decode(key: Buffer, raw: Buffer): StoredEntry {
    return { key, version: raw.readDoubleLE(0), expiresAt: raw.readDoubleLE(8), value: raw.subarray(16) };
  }
}

import { appendFile, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { PersistenceMetrics } from './metrics';

/** One entry a store never got: retries exhausted, or the store refused it. */
export interface DeadLetter {
  readonly kind: 'set' | 'delete';
  readonly key: Buffer;
  /** Empty for deletes. */
  readonly value: Buffer;
  readonly version: number;
  readonly expiresAt: number;
  readonly store: string;
  readonly error: string;
  readonly attempts: number;
}

/**
 * The dead-letter file: JSON lines, appended and fsynced, so an operator can
 * inspect and replay what the stores never got. Nothing leaves the write-behind
 * queue unless it reached a store or this file.
 */
export class DeadLetterFile {
  private tail: Promise<void> = Promise.resolve();
  private count = 0;

  constructor(
    readonly path: string,
    private readonly logger?: Logger,
    private readonly metrics?: PersistenceMetrics,
  ) {}

  /** Entries written so far by this process. */
  get written(): number {
    return this.count;
  }

  /** Appends and fsyncs; rejects when the file cannot be written (the caller keeps the entries). */
  write(entries: readonly DeadLetter[]): Promise<void> {
    const run = this.tail.then(() => this.append(entries));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async append(entries: readonly DeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    const time = new Date().toISOString();
    const lines = entries.map((e) => JSON.stringify({
      time,
      store: e.store,
      op: e.kind,
      key: e.key.toString('base64'),
      value: e.kind === 'set' ? e.value.toString('base64') : null,
      version: e.version,
      expiresAt: e.expiresAt,
      attempts: e.attempts,
      error: e.error,
    })).join('\n') + '\n';
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, lines);
    const handle = await open(this.path, 'r+');
    try { await handle.sync(); } finally { await handle.close(); }
    this.count += entries.length;
    const byStore = new Map<string, DeadLetter[]>();
    for (const e of entries) byStore.set(e.store, [...(byStore.get(e.store) ?? []), e]);
    for (const [store, list] of byStore) {
      this.metrics?.deadLettered.inc({ store }, list.length);
      this.logger?.error({
        store,
        entries: list.length,
        file: this.path,
        keys: list.slice(0, 10).map((e) => e.key.toString('base64')),
        error: list[0].error,
      }, `write-behind: ${list.length} entries did not reach store ${store} and were written to the dead-letter file`);
    }
  }
}

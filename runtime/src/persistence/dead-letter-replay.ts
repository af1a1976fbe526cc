import { readFile, rename, stat } from 'node:fs/promises';
import { CacheStore } from '../stores/store';

/** One line of the dead-letter file, as DeadLetterFile writes it. */
interface Letter {
  readonly line: number;
  readonly store: string;
  readonly op: 'set' | 'delete';
  readonly key: Buffer;
  readonly value: Buffer;
  readonly version: number;
  readonly expiresAt: number;
}

export type ReplayOutcome = 'applied' | 'stale' | 'failed';

export interface ReplayReport {
  readonly file: string;
  readonly entries: number;
  readonly applied: number;
  /** A newer version of the key is in the store already (or later in the file): nothing to do. */
  readonly stale: number;
  readonly failed: number;
  readonly dryRun: boolean;
  /** Where the file went once every entry was accounted for (undefined: left in place). */
  readonly movedTo: string | undefined;
  /** One line per entry that failed, and per store the file names that is not configured. */
  readonly problems: readonly string[];
}

/**
 * `state-cache dead-letter replay`: applies each dead-lettered entry to its
 * store again, but only where its version is still the newest (the store's
 * copy is older or absent, and no later line of the file has a newer version
 * of the key), so a replay never undoes a later write. The file is left as it
 * is until every entry is accounted for (applied or stale); then it is renamed
 * to `<file>.replayed-<time>`, so nothing is ever deleted. A file that grew
 * while the replay ran (the server dead-lettered more) is left in place too.
 */
export async function replayDeadLetters(
  file: string, stores: readonly CacheStore[], options: { dryRun?: boolean; now?: () => Date } = {},
): Promise<ReplayReport> {
  const before = await stat(file);
  const letters = parse(await readFile(file, 'utf8'), file);
  const byName = new Map(stores.map((s) => [s.name, s]));
  const problems: string[] = [];
  const counts: Record<ReplayOutcome, number> = { applied: 0, stale: 0, failed: 0 };

  // Per store and key, only the newest letter can still be the newest version.
  const newest = new Map<string, Letter>();
  for (const l of letters) {
    const id = `${l.store}\u0000${l.key.toString('latin1')}`;
    const seen = newest.get(id);
    if (seen === undefined || seen.version < l.version) newest.set(id, l);
  }
  counts.stale += letters.length - newest.size;

  for (const l of newest.values()) {
    const store = byName.get(l.store);
    if (store === undefined) {
      counts.failed++;
      problems.push(`line ${l.line}: store ${l.store} is not in this config's chain; replay with the config that names it`);
      continue;
    }
    try {
      const current = await store.load(l.key);
      if (current !== undefined && current.version >= l.version) {
        counts.stale++;
        continue;
      }
      if (!options.dryRun) {
        const result = l.op === 'set'
          ? await store.writeBatch([{ key: l.key, value: l.value, version: l.version, expiresAt: l.expiresAt }])
          : await store.deleteBatch([{ key: l.key, version: l.version }]);
        if (result.rejected.length > 0) throw result.rejected[0].error;
      }
      counts.applied++;
    } catch (err) {
      counts.failed++;
      problems.push(`line ${l.line}: ${l.op} of key ${JSON.stringify(l.key.toString('latin1').slice(0, 64))} version ${l.version} to store ${l.store} failed: ${(err as Error).message}`);
    }
  }

  let movedTo: string | undefined;
  if (!options.dryRun && counts.failed === 0) {
    const after = await stat(file);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      problems.push(`${file} changed while it was replayed (the server wrote more dead letters): it is left in place; run the replay again`);
    } else {
      movedTo = `${file}.replayed-${(options.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-')}`;
      await rename(file, movedTo);
    }
  }
  return { file, entries: letters.length, ...counts, dryRun: options.dryRun ?? false, movedTo, problems };
}

function parse(text: string, file: string): Letter[] {
  const out: Letter[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(lines[i]);
    } catch {
      throw new Error(`${file} line ${i + 1} is not JSON: fix or remove the line, then replay again`);
    }
    const { store, op, key, value, version, expiresAt } = raw;
    if (typeof store !== 'string' || (op !== 'set' && op !== 'delete') || typeof key !== 'string' || typeof version !== 'number'
      || (op === 'set' && typeof value !== 'string')) {
      throw new Error(`${file} line ${i + 1} is not a dead letter (store, op set|delete, key, value, version): fix or remove the line, then replay again`);
    }
    out.push({
      line: i + 1,
      store,
      op,
      key: Buffer.from(key, 'base64'),
      value: op === 'set' ? Buffer.from(value as string, 'base64') : Buffer.alloc(0),
      version,
      expiresAt: typeof expiresAt === 'number' ? expiresAt : 0,
    });
  }
  return out;
}

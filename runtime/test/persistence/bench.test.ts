import { join } from 'node:path';
import { entry, LevelTestStore, tempDir } from './helpers';
import { DeadLetterFile } from '../../src/persistence/dead-letter';
import { Journal } from '../../src/persistence/journal';
import { WriteBehind } from '../../src/persistence/write-behind';

/**
 * Measurements of the journal and the write-behind path on this machine's
 * disk. Opt-in (PERSISTENCE_BENCH=1): they take a while and compete for CPU.
 * Run: cd runtime && PERSISTENCE_BENCH=1 npx jest test/persistence/bench.test.ts --coverage=false
 */
const bench = process.env.PERSISTENCE_BENCH === '1' ? test : test.skip;

interface Measured {
  perSec: number;
  commits: number;
  group: number;
  commitMs: number;
}

async function appendAtConcurrency(concurrency: number, total: number, fsync: boolean): Promise<Measured> {
  const t = tempDir('bench-journal-');
  const journal = await Journal.open({ dir: t.dir, segmentBytes: 64 * 2 ** 20, fsync });
  for await (const r of journal.replay()) throw new Error(`unexpected ${r.key}`);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      await journal.append({ kind: 'set', key: Buffer.from(`key:${i}`), value: Buffer.alloc(100, 120), version: i + 1, expiresAt: 0 });
    }
  }));
  const ms = performance.now() - started;
  const s = journal.stats;
  await journal.close();
  t.cleanup();
  return { perSec: Math.round(total / (ms / 1000)), commits: s.commits, group: s.records / s.commits, commitMs: s.commitMs / s.commits };
}

bench('journal: appends per second, fsyncs and group size by concurrency', async () => {
  const rows: string[] = [];
  for (const c of [1, 16, 64, 256]) {
    const r = await appendAtConcurrency(c, c === 1 ? 2000 : 20_000, true);
    rows.push(`| ${c} | ${r.perSec} | ${r.commits} | ${r.group.toFixed(1)} | ${r.commitMs.toFixed(2)} |`);
    if (c >= 16) expect(r.group).toBeGreaterThan(2);
  }
  const noSync = await appendAtConcurrency(64, 20_000, false);
  rows.push(`| 64, fsync off | ${noSync.perSec} | ${noSync.commits} | ${noSync.group.toFixed(1)} | ${noSync.commitMs.toFixed(2)} |`);
  // eslint-disable-next-line no-console
  console.log(['| concurrent writers | appends/s | group commits | records per commit | ms per commit |', '|---|---|---|---|---|', ...rows].join('\n'));
}, 300_000);

bench('write-behind into LevelDB: acknowledged writes per second, with and without the journal', async () => {
  const rows: string[] = [];
  for (const journaled of [false, true]) {
    const t = tempDir('bench-wb-');
    const store = new LevelTestStore(join(t.dir, 'level'));
    await store.start();
    const journal = journaled ? await Journal.open({ dir: join(t.dir, 'journal'), segmentBytes: 64 * 2 ** 20, fsync: true }) : undefined;
    if (journal) for await (const r of journal.replay()) throw new Error(`unexpected ${r.key}`);
    const wb = new WriteBehind([{ store, required: true, preload: false }], {
      batchSize: 500,
      flushIntervalMs: 50,
      maxPendingEntries: 1_000_000,
      maxPendingBytes: 2 ** 30,
      whenFull: 'block',
      blockTimeoutMs: 60_000,
      retry: { attempts: 8, baseDelayMs: 100, maxDelayMs: 1000 },
      deadLetter: new DeadLetterFile(join(t.dir, 'dl.jsonl')),
      journal,
    });
    const total = 50_000;
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < total) {
        const i = next++;
        await wb.write(entry(`key:${i % 10_000}`, 'x'.repeat(100), i + 1));
      }
    }));
    const ackMs = performance.now() - started;
    expect(await wb.flush(60_000)).toEqual({ remaining: 0, timedOut: false });
    const allMs = performance.now() - started;
    const group = journal ? (journal.stats.records / journal.stats.commits).toFixed(1) : '–';
    rows.push(`| ${journaled ? 'journal (fsync)' : 'no journal'} | ${Math.round(total / (ackMs / 1000))} | ${group} | ${Math.round(allMs)} | ${wb.batches} |`);
    await wb.close();
    await journal?.close();
    expect((await store.load(Buffer.from('key:42')))?.version).toBe(40_043);
    await store.close();
    t.cleanup();
  }
  // eslint-disable-next-line no-console
  console.log(['| write-behind, 64 writers, 50 000 writes over 10 000 keys | acknowledged/s | records per journal commit | ms until all in LevelDB | store batches |', '|---|---|---|---|---|', ...rows].join('\n'));
}, 300_000);

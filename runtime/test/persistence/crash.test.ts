import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LevelTestStore, tempDir } from './helpers';
import { Journal } from '../../src/persistence/journal';

/**
 * kill -9 during write-behind with the journal: every write that was
 * acknowledged is, after the crash, either in the store or in the journal
 * (and so replayed at the next start). A real process, a real SIGKILL.
 */
async function crashAfterAcks(dir: string, store: 'level' | 'down', acksBeforeKill: number): Promise<Map<string, number>> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'crash-child.ts'), dir, store], {
    cwd: join(__dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked = new Map<string, number>();
  let buffered = '';
  let stderr = '';
  let count = 0;
  child.stderr.on('data', (d) => { stderr += d; });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child too slow: ${count} acks; ${stderr}`)); }, 45_000);
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [tag, key, version] = line.split(' ');
        if (tag !== 'ack') continue;
        acked.set(key, Math.max(acked.get(key) ?? 0, Number(version)));
        if (++count === acksBeforeKill) child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
  // Lines that arrived after the kill signal were acknowledged too: parse the rest.
  for (const line of buffered.split('\n')) {
    const [tag, key, version] = line.split(' ');
    if (tag === 'ack' && version && /^\d+$/.test(version)) acked.set(key, Math.max(acked.get(key) ?? 0, Number(version)));
  }
  return acked;
}

async function journalVersions(dir: string): Promise<{ versions: Map<string, number>; tornTails: number }> {
  const journal = await Journal.open({ dir: join(dir, 'journal'), segmentBytes: 2 ** 20, fsync: false });
  const versions = new Map<string, number>();
  for await (const r of journal.replay()) versions.set(r.key.toString(), Math.max(versions.get(r.key.toString()) ?? 0, r.version));
  const tornTails = journal.stats.tornTails;
  await journal.close();
  return { versions, tornTails };
}

test('kill -9 with the store down: every acknowledged write is in the journal', async () => {
  const t = tempDir('crash-down-');
  try {
    const acked = await crashAfterAcks(t.dir, 'down', 3000);
    expect(acked.size).toBeGreaterThan(100);
    const { versions } = await journalVersions(t.dir);
    const lost = [...acked].filter(([key, v]) => (versions.get(key) ?? 0) < v);
    expect(lost).toEqual([]);
  } finally {
    t.cleanup();
  }
});

test('kill -9 while flushing to LevelDB: every acknowledged write is in the store or the journal', async () => {
  const t = tempDir('crash-level-');
  try {
    const acked = await crashAfterAcks(t.dir, 'level', 3000);
    const { versions } = await journalVersions(t.dir);
    const level = new LevelTestStore(join(t.dir, 'level'));
    await level.start();
    const lost: Array<[string, number]> = [];
    let inStore = 0;
    for (const [key, v] of acked) {
      const stored = (await level.load(Buffer.from(key)))?.version ?? 0;
      if (stored >= v) inStore++;
      if (Math.max(stored, versions.get(key) ?? 0) < v) lost.push([key, v]);
    }
    await level.close();
    expect(lost).toEqual([]);
    // The store was really being written (not everything sat in the journal).
    expect(inStore).toBeGreaterThan(0);
  } finally {
    t.cleanup();
  }
});

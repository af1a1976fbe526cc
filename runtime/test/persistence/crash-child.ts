/**
 * Child process of crash.test.ts: runs write-behind with the journal and
 * prints "ack <key> <version>" for every acknowledged write until it is
 * killed with SIGKILL. argv: <dir> <store: level|down>
 */
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { LevelTestStore, TestStore } from './helpers';
import { parsePersistenceConfig } from '../../src/persistence/config';
import { Persistence } from '../../src/persistence/persistence';
import { CacheStore } from '../../src/stores/store';

async function main(): Promise<void> {
  const [dir, kind] = process.argv.slice(2);
  // 'down': a store that accepts start() and then refuses every batch, so only the journal has the writes.
  const down = new TestStore('down');
  const store: CacheStore = kind === 'level' ? new LevelTestStore(join(dir, 'level')) : down;
  const config = parsePersistenceConfig({
    mode: 'write-behind',
    writeBehind: { batchSize: 50, flushIntervalMs: 5, deadLetterPath: join(dir, 'dead-letter.jsonl'), retry: { attempts: 1000, baseDelayMs: 5, maxDelayMs: 20 } },
    journal: { enabled: true, dir: join(dir, 'journal'), segmentBytes: 16 * 1024, fsync: true },
  });
  const p = await Persistence.start({
    config,
    links: [{ store, required: true, preload: false }],
    keyspace: { applyEntry: () => true, observeVersion: () => undefined, maxEntries: 1e6, maxBytes: 1e9, expiryInUse: false },
    registry: new Registry(),
  });
  down.down = true;
  process.stdout.write('ready\n');
  let clock = 0;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; ; i++) {
      const key = `w${w}-${i % 40}`;
      const version = ++clock;
      await p.writeMany([{ kind: 'set', entry: { key: Buffer.from(key), value: Buffer.from(`value-${version}`), version, expiresAt: 0 } }]);
      // Pipes are written synchronously on Linux: the line is out before the next write starts.
      process.stdout.write(`ack ${key} ${version}\n`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, w) => writer(w)));
}

void main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});

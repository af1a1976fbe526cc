import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { entry, testContext } from './helpers';
import { TestRedis, TestRedisCluster } from './servers';
import { keySlot } from '../../src/cluster/slots';
import { Keyspace } from '../../src/keyspace/keyspace';
import { Coherence } from '../../src/persistence/coherence';
import { parsePersistenceConfig } from '../../src/persistence/config';
import { StateCache } from '../../src/server';
import { parseStoresConfig, RemoteStoreConfig } from '../../src/stores/config';
import { createRemoteStore, RemoteStore } from '../../src/stores/remote';
import { startTestServer } from '../helpers';
import { until } from '../persistence/helpers';
import { needs } from '../tools';

/**
 * Coherence through a Redis-protocol server's own CLIENT TRACKING (BCAST on
 * the store's key prefix): a write by any client drops older copies in the
 * listening instance, which reads the stored version (drop-if-newer).
 */
jest.setTimeout(60_000);

const b = (s: string) => Buffer.from(s);

const stores: RemoteStore[] = [];
const coherences: Coherence[] = [];
afterAll(async () => {
  for (const c of coherences) await c.close();
  for (const s of stores) await s.close();
});

/** A remote store on `nodes` (cluster mode with several), prefix app:. */
function remoteOn(nodes: Array<{ host: string; port: number }>, extra: object = {}): RemoteStore {
  const config = { type: 'remote', name: 'r', nodes, keyPrefix: 'app:', ...(nodes.length > 1 ? { mode: 'cluster' } : {}), ...extra };
  const c = parseStoresConfig({ chain: [{ store: config }] }).chain[0].store;
  const store = createRemoteStore(c as RemoteStoreConfig, testContext().context);
  stores.push(store);
  return store;
}

/** Coherence listening through `store` for the copies in `ks` (heartbeat 100 ms). */
function coherent(store: RemoteStore, ks: Keyspace, o: { registry?: Registry; onOutage?: string; maxUnvalidatedMs?: number } = {}): Coherence {
  const config = { enabled: true, heartbeatMs: 100, heartbeatTimeoutMs: 1000, maxUnvalidatedMs: o.maxUnvalidatedMs ?? 10_000, onOutage: o.onOutage ?? 'drop' };
  const c = Coherence.start({
    config: parsePersistenceConfig({ coherence: config }).coherence,
    mode: 'write-through',
    links: [{ store, required: true, preload: false }],
    keyspace: ks,
    queued: () => undefined,
    registry: o.registry ?? new Registry(),
  });
  coherences.push(c);
  return c;
}

/** A writer and a reader store on `nodes`, started, and the reader's keyspace holding `keys` at version 10. */
type Nodes = Array<{ host: string; port: number }>;
async function writerAndReader(nodes: Nodes, keys: string[]): Promise<{ writer: RemoteStore; reader: RemoteStore; ks: Keyspace }> {
  const writer = remoteOn(nodes);
  const reader = remoteOn(nodes);
  await writer.start();
  await reader.start();
  await writer.writeBatch(keys.map((k) => entry(k, 'v1', 10)));
  const ks = new Keyspace();
  for (const k of keys) ks.insertLoaded(entry(k, 'v1', 10));
  return { writer, reader, ks };
}

needs('redis-server').describe('remote store coherence on redis-server', () => {
  let server: TestRedis;
  beforeAll(async () => { server = await TestRedis.start(); });
  afterAll(async () => { await server?.stop(); });
  const here = () => [{ host: '127.0.0.1', port: server.port }];

  test('another client\'s write and delete drop the older copy; an equal version stays', async () => {
    const { writer, reader, ks } = await writerAndReader(here(), ['a', 'same']);
    const registry = new Registry();
    const c = coherent(reader, ks, { registry });
    await until(() => c.up, 5000, 'the tracking channel up');
    await writer.writeBatch([entry('a', 'v2', 20)]);
    await until(() => ks.find('a') < 0, 2000, 'a dropped');
    await writer.writeBatch([entry('same', 'v1', 10)]); // not newer: the script leaves it, the copy stays
    await writer.deleteBatch([{ key: b('a'), version: 30 }]);
    expect(ks.find('same')).toBeGreaterThanOrEqual(0);
    expect(await registry.metrics()).toMatch(/state_cache_coherence_keys_dropped_total\{reason="newer"\} [1-9]/);
  });

  test('a server restart makes the cached keys suspect: they are re-validated when tracking is back', async () => {
    const { reader, ks } = await writerAndReader(here(), ['k']);
    const c = coherent(reader, ks, { onOutage: 'serve-stale' }); // only the re-validation may drop it
    await until(() => c.up, 5000, 'the tracking channel up');
    await server.stop();
    await until(() => !c.up, 5000, 'the channel down');
    await server.restart(); // no persistence: the key is gone
    await until(() => c.up, 10_000, 'the channel up and re-validated');
    expect(ks.find('k')).toBe(-1);
  });
});

describe('remote store coherence on state-cache itself (its CLIENT TRACKING)', () => {
  let server: StateCache;
  beforeAll(async () => { server = await startTestServer(); });
  afterAll(async () => { await server.close(); });

  test('another client\'s write drops the older copy; an equal version stays; a delete drops it', async () => {
    const { writer, reader, ks } = await writerAndReader([{ host: '127.0.0.1', port: server.respPort }], ['a', 'same', 'd']);
    const c = coherent(reader, ks);
    await until(() => c.up, 5000, 'the tracking channel up');
    await writer.writeBatch([entry('a', 'v2', 20)]);
    await until(() => ks.find('a') < 0, 2000, 'a dropped');
    await writer.writeBatch([entry('same', 'v1', 10)]); // not newer: the script leaves it
    await writer.deleteBatch([{ key: b('d'), version: 30 }]);
    await until(() => ks.find('d') < 0, 2000, 'd dropped');
    expect(ks.find('same')).toBeGreaterThanOrEqual(0);
  });
});

needs('redis-server', 'redis-cli').describe('remote store coherence on a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sc-tracking-cluster-'));
    cluster = await TestRedisCluster.start(dir);
  });
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const seeds = () => cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  /** Which of the three nodes owns `key` (redis-cli --cluster create gives each a third of the slots, in order). */
  const ownerOf = (key: string) => {
    const slot = keySlot(Buffer.from(`app:${key}`));
    return slot < 5461 ? 0 : slot < 10923 ? 1 : 2;
  };

  test('every primary is tracked: writes to keys of all three drop the older copies', async () => {
    // Keys spread over the slots of all three primaries (each primary only names its own keys).
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    expect(new Set(keys.map(ownerOf)).size).toBe(3);
    const { writer, reader, ks } = await writerAndReader(seeds(), keys);
    const c = coherent(reader, ks, { onOutage: 'serve-stale' });
    await until(() => c.up, 10_000, 'every primary tracked');
    await writer.writeBatch(keys.map((k) => entry(k, 'v2', 20)));
    await until(() => keys.every((k) => ks.find(k) < 0), 5000, 'every older copy dropped');
  });

  test('a primary that restarts takes the channel down; tracked again, the cached keys are re-validated', async () => {
    const { reader, ks } = await writerAndReader(seeds(), ['r1']);
    ks.insertLoaded(entry('gone', 'v1', 10)); // cached but not stored: re-validation drops it
    const c = coherent(reader, ks, { onOutage: 'serve-stale', maxUnvalidatedMs: 60_000 });
    await until(() => c.up, 10_000, 'every primary tracked');
    const node = cluster.nodes[(ownerOf('r1') + 1) % 3]; // a primary that does not own r1
    await node.stop();
    await until(() => !c.up, 5000, 'the channel down with one primary gone');
    await node.restart();
    await until(() => c.up, 20_000, 'every primary tracked again');
    await until(() => ks.find('gone') < 0, 5000, 'the unstored copy dropped by the re-validation');
    expect(ks.find('r1')).toBeGreaterThanOrEqual(0);
  });
});

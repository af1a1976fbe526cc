import { Registry } from 'prom-client';
import { entry, testContext } from './helpers';
import { TestRedis } from './servers';
import { Keyspace } from '../../src/keyspace/keyspace';
import { Coherence } from '../../src/persistence/coherence';
import { parsePersistenceConfig } from '../../src/persistence/config';
import { parseStoresConfig, RemoteStoreConfig } from '../../src/stores/config';
import { createRemoteStore, RemoteStore } from '../../src/stores/remote';
import { StoreConfigError } from '../../src/stores/store';
import { until } from '../persistence/helpers';
import { needs } from '../tools';

/**
 * Coherence through a Redis-protocol server's own CLIENT TRACKING (BCAST on
 * the store's key prefix): a write by any client drops older copies in the
 * listening instance, which reads the stored version (drop-if-newer).
 */
jest.setTimeout(60_000);

const b = (s: string) => Buffer.from(s);

needs('redis-server').describe('remote store coherence on redis-server', () => {
  let server: TestRedis;
  const stores: RemoteStore[] = [];
  const coherences: Coherence[] = [];
  beforeAll(async () => { server = await TestRedis.start(); });
  afterAll(async () => {
    for (const c of coherences) await c.close();
    for (const s of stores) await s.close();
    await server?.stop();
  });

  function remote(extra: object = {}): RemoteStore {
    const c = parseStoresConfig({ chain: [{ store: { type: 'remote', name: 'r', nodes: [{ host: '127.0.0.1', port: server.port }], keyPrefix: 'app:', ...extra } }] }).chain[0].store;
    const store = createRemoteStore(c as RemoteStoreConfig, testContext().context);
    stores.push(store);
    return store;
  }

  function coherent(store: RemoteStore, ks: Keyspace, registry = new Registry(), onOutage = 'drop'): Coherence {
    const config = { enabled: true, heartbeatMs: 100, heartbeatTimeoutMs: 1000, maxUnvalidatedMs: 10_000, onOutage };
    const c = Coherence.start({
      config: parsePersistenceConfig({ coherence: config }).coherence,
      mode: 'write-through',
      links: [{ store, required: true, preload: false }],
      keyspace: ks,
      queued: () => undefined,
      registry,
    });
    coherences.push(c);
    return c;
  }

  test('another client\'s write and delete drop the older copy; an equal version stays', async () => {
    const writer = remote();
    const reader = remote();
    await writer.start();
    await reader.start();
    await writer.writeBatch([entry('a', 'v1', 10), entry('same', 'v1', 10)]);
    const ks = new Keyspace();
    ks.insertLoaded(entry('a', 'v1', 10));
    ks.insertLoaded(entry('same', 'v1', 10));
    const registry = new Registry();
    const c = coherent(reader, ks, registry);
    await until(() => c.up, 5000, 'the tracking channel up');
    await writer.writeBatch([entry('a', 'v2', 20)]);
    await until(() => ks.find('a') < 0, 2000, 'a dropped');
    await writer.writeBatch([entry('same', 'v1', 10)]); // not newer: the script leaves it, the copy stays
    await writer.deleteBatch([{ key: b('a'), version: 30 }]);
    expect(ks.find('same')).toBeGreaterThanOrEqual(0);
    expect(await registry.metrics()).toMatch(/state_cache_coherence_keys_dropped_total\{reason="newer"\} [1-9]/);
  });

  test('a server restart makes the cached keys suspect: they are re-validated when tracking is back', async () => {
    const writer = remote();
    const reader = remote();
    await writer.start();
    await reader.start();
    await writer.writeBatch([entry('k', 'v1', 10)]);
    const ks = new Keyspace();
    ks.insertLoaded(entry('k', 'v1', 10));
    const c = coherent(reader, ks, new Registry(), 'serve-stale'); // only the re-validation may drop it
    await until(() => c.up, 5000, 'the tracking channel up');
    await server.stop();
    await until(() => !c.up, 5000, 'the channel down');
    await server.restart(); // no persistence: the key is gone
    await until(() => c.up, 10_000, 'the channel up and re-validated');
    expect(ks.find('k')).toBe(-1);
  });

  test('cluster mode is refused with its reason', () => {
    const store = remote({ mode: 'cluster' });
    expect(() => coherent(store, new Keyspace())).toThrow(new StoreConfigError('r',
      'coherence with a remote store in cluster mode is not supported yet (each primary would need its own tracking connection); use a single-node server, a postgres store, or turn coherence off'));
  });
});

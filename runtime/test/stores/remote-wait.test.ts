import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { b, entry, sleep, testContext } from './helpers';
import { TestRedis } from './servers';
import { parseStoresConfig, RemoteStoreConfig } from '../../src/stores/config';
import { createRemoteStore, decodeEnvelope, RemoteStore } from '../../src/stores/remote';
import { StoreConfigError, StoreUnavailableError } from '../../src/stores/store';
import { needs } from '../tools';

/*
 * The remote store's `wait` option: WAIT <replicas> <timeoutMs> after each
 * batch, against a redis-server primary with one replica. (Against a Redis
 * Cluster it is run by the Valkey run-as-pod test at the repository root.)
 */

function config(port: number, extra: Record<string, unknown> = {}): RemoteStoreConfig {
  const c = parseStoresConfig({ chain: [{ store: { type: 'remote', name: 'valkey', nodes: [{ host: '127.0.0.1', port }], commandTimeoutMs: 2000, ...extra } }] }).chain[0].store;
  if (c.type !== 'remote') throw new Error('not a remote config');
  return c;
}

test('wait.timeoutMs must be below commandTimeoutMs', () => {
  expect(() => createRemoteStore(config(1, { wait: { replicas: 1, timeoutMs: 2000 } }), testContext().context)).toThrow(new StoreConfigError('valkey',
    'wait.timeoutMs 2000 is not below commandTimeoutMs 2000, so a WAIT that takes its time would fail as a timed-out command; lower wait.timeoutMs or raise commandTimeoutMs'));
});

test('wait.timeoutMs defaults to 1000', () => {
  expect(config(1, { wait: { replicas: 2 } }).wait).toEqual({ replicas: 2, timeoutMs: 1000 });
});

needs('redis-server').describe('WAIT after each batch, against a primary with one replica', () => {
  let primary: TestRedis;
  let replica: TestRedis;
  // The replica writes the snapshot of its full sync to its directory.
  const dir = mkdtempSync(join(tmpdir(), 'remote-wait-'));
  const stores: RemoteStore[] = [];
  const clients: Redis[] = [];

  const store = async (wait: Record<string, unknown>) => {
    const s = createRemoteStore(config(primary.port, { wait }), testContext().context);
    stores.push(s);
    await s.start();
    return s;
  };
  const client = (port: number) => {
    const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    primary = await TestRedis.start(['--dir', dir]);
    replica = await TestRedis.start(['--dir', dir, '--dbfilename', 'replica.rdb']);
    await client(replica.port).replicaof('127.0.0.1', String(primary.port));
    const r = client(replica.port);
    for (let i = 0; i < 100 && !/master_link_status:up/.test(await r.info('replication')); i++) await sleep(100);
  }, 30_000);

  afterAll(async () => {
    for (const s of stores) await s.close();
    for (const c of clients) c.disconnect();
    await replica?.stop();
    await primary?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a batch succeeds once the replica has it, and the replica does have it', async () => {
    const s = await store({ replicas: 1, timeoutMs: 500 });
    expect(await s.writeBatch([entry('cart:1', 'one', 3), entry('cart:2', 'two', 4)])).toEqual({ rejected: [] });
    const fromReplica = await client(replica.port).getBuffer('cart:1');
    expect(decodeEnvelope(b('cart:1'), fromReplica!).value.toString()).toBe('one');
    expect(await s.deleteBatch([{ key: b('cart:2'), version: 5 }])).toEqual({ rejected: [] });
    expect(await client(replica.port).exists('cart:2')).toBe(0);
  });

  test('more replicas than there are: the batch fails as unavailable, naming the node and the count', async () => {
    const s = await store({ replicas: 2, timeoutMs: 200 });
    const err = await s.writeBatch([entry('cart:3', 'three', 1)]).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toBe(`store valkey unavailable: WAIT 2 200: 127.0.0.1:${primary.port} has 1 of 2 replica(s) acknowledging the batch `
      + 'within 200 ms; the batch is on the primary but not yet on enough replicas, and is retried');
  });

  test('the replica stopped: writes fail until it is back; the retry of a versioned write then succeeds', async () => {
    const s = await store({ replicas: 1, timeoutMs: 200 });
    await replica.stop();
    const started = Date.now();
    const err = await s.writeBatch([entry('cart:4', 'four', 1)]).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toContain(`WAIT 1 200: 127.0.0.1:${primary.port} has 0 of 1 replica(s)`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    // The write is on the primary all the same.
    expect(await client(primary.port).exists('cart:4')).toBe(1);
    await replica.restart();
    await client(replica.port).replicaof('127.0.0.1', String(primary.port));
    const r = client(replica.port);
    for (let i = 0; i < 100 && !/master_link_status:up/.test(await r.info('replication')); i++) await sleep(100);
    expect(await s.writeBatch([entry('cart:4', 'four', 1)])).toEqual({ rejected: [] });
  }, 30_000);
});

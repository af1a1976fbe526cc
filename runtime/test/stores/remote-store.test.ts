import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { storeContract } from './contract';
import { b, collect, entry, sleep, strings, testContext } from './helpers';
import { makeCerts, TestRedis, TestRedisCluster, TestStateCache } from './servers';
import { parseStoresConfig, RemoteStoreConfig } from '../../src/stores/config';
import { createRemoteStore, decodeEnvelope, encodeEnvelope, RemoteStore } from '../../src/stores/remote';
import { StoreRejectedError, StoreUnavailableError } from '../../src/stores/store';
import { needs, ToolGate } from '../tools';

/*
 * The remote store against two Redis-protocol peers: a state-cache process
 * (always; Lua-versioned writes since it runs scripts) and redis-server
 * where it is installed (Lua-versioned writes, TLS, other data types, Redis
 * Cluster).
 */

const redis = needs('redis-server');
const redisCluster = needs('redis-server', 'redis-cli');

/** A peer process; `close` stops it and removes what it left. */
interface Peer {
  readonly port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function startRedis(args: string[] = []): Promise<Peer> {
  const r = await TestRedis.start(args);
  return { port: r.port, stop: () => r.stop(), restart: () => r.restart(), close: () => r.stop() };
}

/** Starts a peer for the enclosing describe block, with a raw client on it. */
function peerFixture(start: () => Promise<Peer>): { server: Peer; raw: Redis } {
  const f = {} as { server: Peer; raw: Redis };
  beforeAll(async () => {
    f.server = await start();
    f.raw = new Redis({ port: f.server.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    f.raw.on('error', () => undefined);
    await f.raw.connect();
  });
  afterAll(async () => {
    f.raw?.disconnect();
    await f.server?.close();
  });
  return f;
}

interface PeerKind {
  readonly gate: Pick<ToolGate, 'describe'>;
  readonly versioning: 'script' | 'none';
  start(options?: { password?: string }): Promise<Peer>;
}

const PEERS: Record<string, PeerKind> = {
  // state-cache runs Lua scripts (EVAL), so the store's versioned writes work against it too (issue 15).
  'state-cache': { gate: { describe }, versioning: 'script', start: (o) => TestStateCache.start(o) },
  'redis-server': { gate: redis, versioning: 'script', start: (o) => startRedis(o?.password !== undefined ? ['--requirepass', o.password] : []) },
};

const stores: RemoteStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

function config(port: number, extra: Record<string, unknown> = {}): RemoteStoreConfig {
  const c = parseStoresConfig({ chain: [{ store: { type: 'remote', name: 'shared-redis', nodes: [{ host: '127.0.0.1', port }], commandTimeoutMs: 2000, ...extra } }] }).chain[0].store;
  if (c.type !== 'remote') throw new Error('not a remote config');
  return c;
}

function remoteAt(port: number, extra: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) {
  const { context, logs } = testContext(env);
  const store = createRemoteStore(config(port, extra), context);
  stores.push(store);
  return { store, logs };
}

test('the envelope: magic, version, expiry, value; a foreign value reads as version 0', () => {
  const env = encodeEnvelope(entry('k', 'hi', 0x0102, 0x0304));
  expect(env.toString('hex')).toBe('ff534301' + '0000000000000102' + '0000000000000304' + Buffer.from('hi').toString('hex'));
  expect(decodeEnvelope(b('k'), env)).toEqual({ key: b('k'), value: b('hi'), version: 0x0102, expiresAt: 0x0304 });
  expect(decodeEnvelope(b('k'), b('plain'))).toEqual({ key: b('k'), value: b('plain'), version: 0, expiresAt: 0 });
});

for (const [kind, peer] of Object.entries(PEERS)) {
  peer.gate.describe(`against ${kind}`, () => {
    const f = peerFixture(() => peer.start());
    /** A store on this describe's peer, writing as the peer allows. */
    const remote = (extra: Record<string, unknown> = {}, port = f.server.port, env: NodeJS.ProcessEnv = {}) =>
      remoteAt(port, { versioning: peer.versioning, ...extra }, env);

    describe('remote store contract', () => {
      let store: RemoteStore;
      beforeAll(async () => {
        store = remote({ keyPrefix: 'contract:' }).store;
        await store.start();
      });
      beforeEach(() => store.clear());
      storeContract(() => store, { versioned: peer.versioning === 'script' });
    });

    test('the server holds the envelope and expires the key itself (PX)', async () => {
      const { store } = remote({ keyPrefix: 'px:' });
      await store.start();
      const at = Date.now() + 60_000;
      await store.writeBatch([entry('t', 'v', 9, at), entry('forever', 'f', 1)]);
      const pttl = await f.raw.pttl('px:t');
      expect(pttl).toBeGreaterThan(55_000);
      expect(pttl).toBeLessThanOrEqual(60_000);
      expect(await f.raw.pttl('px:forever')).toBe(-1);
      expect((await f.raw.getBuffer('px:t'))!.equals(encodeEnvelope(entry('t', 'v', 9, at)))).toBe(true);
    });

    test('a value written by another client loads as version 0 and is overwritten by any versioned write', async () => {
      const { store } = remote({ keyPrefix: 'foreign:' });
      await store.start();
      await f.raw.set('foreign:x', 'from-elsewhere');
      expect(strings(await store.load(b('x')))).toEqual(['x', 'from-elsewhere', 0, 0]);
      await store.writeBatch([entry('x', 'ours', 1)]);
      expect(strings(await store.load(b('x')))).toEqual(['x', 'ours', 1, 0]);
    });

    test('the key prefix keeps caches apart: iterate and clear touch only their own keys', async () => {
      const a = remote({ keyPrefix: 'app-a:' }).store;
      const c = remote({ keyPrefix: 'app-b:' }).store;
      await a.start();
      await c.start();
      await a.writeBatch([entry('k', 'a', 1)]);
      await c.writeBatch([entry('k', 'b', 1), entry('only-b', 'b2', 1)]);
      expect((await collect(a)).map(strings)).toEqual([['k', 'a', 1, 0]]);
      await a.clear();
      expect(await a.load(b('k'))).toBeUndefined();
      expect((await c.loadMany([b('k'), b('only-b')])).map((e) => e?.value.toString())).toEqual(['b', 'b2']);
    });

    test('versioning "none" writes unconditionally and says so in its characteristics', async () => {
      const { store } = remote({ keyPrefix: 'plain:', versioning: 'none' });
      await store.start();
      expect(store.characteristics).toEqual({ shareable: true, supportsTtl: true, versioned: false, readOnly: false });
      await store.writeBatch([entry('v', 'newer', 20)]);
      await store.writeBatch([entry('v', 'older', 10)]);
      expect((await store.load(b('v')))?.value.toString()).toBe('older');
    });

    test('a password from a file authenticates; a wrong one is unavailable with a hint', async () => {
      const secured = await peer.start({ password: 's3cret' });
      const dir = mkdtempSync(join(tmpdir(), 'remote-secret-'));
      try {
        writeFileSync(join(dir, 'password'), 's3cret\n');
        const good = remote({ password: { file: join(dir, 'password') } }, secured.port).store;
        await good.start();
        await good.writeBatch([entry('a', 'b', 1)]);
        expect((await good.load(b('a')))?.value.toString()).toBe('b');
        const bad = remote({ password: { env: 'REDIS_PASSWORD' } }, secured.port, { REDIS_PASSWORD: 'wrong' }).store;
        const err = await bad.start().catch((e) => e);
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect(err.message).toBe('store shared-redis unavailable: connect failed: Connection is closed. '
          + '(last connection error: WRONGPASS invalid username-password pair or user is disabled.): check the username and the password secret');
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await secured.close();
      }
    });

    test('nothing listening: start fails as unavailable', async () => {
      const down = await peer.start();
      await down.close();
      const { store } = remote({}, down.port);
      const err = await store.start().catch((e) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(err.message).toBe(`store shared-redis unavailable: connect failed: Connection is closed. (last connection error: connect ECONNREFUSED 127.0.0.1:${down.port})`);
    });

    test('server down: operations raise StoreUnavailableError at once; after a restart the store works again', async () => {
      const own = await peer.start();
      try {
        const { store } = remote({ keyPrefix: 'outage:' }, own.port);
        await store.start();
        await store.writeBatch([entry('o', 'before', 1)]);
        await own.stop();
        await sleep(100);
        const started = Date.now();
        for (const op of [() => store.load(b('o')), () => store.writeBatch([entry('o', 'x', 2)]), () => store.deleteBatch([{ key: b('o'), version: 9 }]), () => store.ping()]) {
          const err = await op().catch((e) => e);
          expect(err).toBeInstanceOf(StoreUnavailableError);
          expect(err.message).toMatch(/^store shared-redis unavailable: \w+ failed: /);
        }
        expect(Date.now() - started).toBeLessThan(1000); // no offline queue: failures are immediate
        await own.restart();
        let ok = false;
        for (let i = 0; i < 50 && !ok; i++) {
          ok = await store.ping().then(() => true, () => false);
          if (!ok) await sleep(100);
        }
        expect(ok).toBe(true);
        await store.writeBatch([entry('o', 'after', 3)]);
        expect((await store.load(b('o')))?.value.toString()).toBe('after');
      } finally {
        await own.close();
      }
    });
  });
}

describe('redis-server only', () => {
  redis.describe('Lua-versioned writes and other data types', () => {
    const f = peerFixture(() => startRedis());
    const remote = (extra: Record<string, unknown>) => remoteAt(f.server.port, extra);

    test('a key of another type is rejected alone; the rest of the batch lands', async () => {
      const { store, logs } = remote({ keyPrefix: 'types:' });
      await store.start();
      await f.raw.lpush('types:list', 'x');
      const res = await store.writeBatch([entry('one', '1', 1), entry('list', 'nope', 1), entry('two', '2', 1)]);
      expect(res.rejected.map((r) => r.key.toString())).toEqual(['list']);
      expect(res.rejected[0].error).toBeInstanceOf(StoreRejectedError);
      expect(res.rejected[0].error.message).toMatch(/^store shared-redis rejected the entry: .*WRONGTYPE Operation against a key holding the wrong kind of value/);
      expect((await store.loadMany([b('one'), b('two')])).map((e) => e?.value.toString())).toEqual(['1', '2']);
      expect(logs.find((l) => l.msg === 'remote server refused entries of a write batch; the others were applied')).toMatchObject({ rejected: 1, of: 3 });
    });

    test('a batch larger than one script call: every chunk lands and a refusal names the right key', async () => {
      const { store } = remote({ keyPrefix: 'chunks:' });
      await store.start();
      await f.raw.sadd('chunks:k-300', 'x'); // in the second chunk of 256
      const entries = Array.from({ length: 600 }, (_, i) => entry(`k-${i}`, `v-${i}`, 1));
      const res = await store.writeBatch(entries);
      expect(res.rejected.map((r) => r.key.toString())).toEqual(['k-300']);
      const loaded = await store.loadMany(entries.map((e) => e.key));
      expect(loaded.filter((e) => e !== undefined)).toHaveLength(599);
      expect(loaded[599]?.value.toString()).toBe('v-599');
      const del = await store.deleteBatch(entries.map((e) => ({ key: e.key, version: 1 })));
      expect(del.rejected.map((r) => r.key.toString())).toEqual(['k-300']);
      expect((await store.loadMany(entries.map((e) => e.key))).filter((e) => e !== undefined)).toEqual([]);
    });
  });

  redis.test('TLS: with the CA the store connects; without it the certificate is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remote-tls-'));
    const certs = makeCerts(dir);
    const tlsServer = await startRedis(['--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no']);
    try {
      const good = remoteAt(tlsServer.port, { tls: { enabled: true, caFile: certs.ca, serverName: 'localhost' } }).store;
      await good.start();
      await good.writeBatch([entry('secure', 'yes', 1)]);
      expect((await good.load(b('secure')))?.value.toString()).toBe('yes');
      const untrusted = remoteAt(tlsServer.port, { tls: { enabled: true, serverName: 'localhost' } }).store;
      const err = await untrusted.start().catch((e) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(err.message).toBe('store shared-redis unavailable: connect failed: Connection is closed. (last connection error: self-signed certificate in certificate chain)');
      const plain = remoteAt(tlsServer.port).store; // plain TCP against a TLS port
      await expect(plain.start()).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await tlsServer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  redisCluster.describe('against a Redis Cluster of three masters', () => {
    let cluster: TestRedisCluster;
    let dir: string;
    let store: RemoteStore;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'remote-cluster-'));
      cluster = await TestRedisCluster.start(dir);
      store = remoteAt(cluster.nodes[0].port, { mode: 'cluster', keyPrefix: 'cl:', nodes: [{ host: '127.0.0.1', port: cluster.nodes[0].port }] }).store;
      await store.start();
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await cluster?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a batch spread over every slot owner is written, loaded in order, versioned and iterated', async () => {
      const entries = Array.from({ length: 200 }, (_, i) => entry(`key-${i}`, `value-${i}`, 10));
      expect(await store.writeBatch(entries)).toEqual({ rejected: [] });
      // The keys really are spread: every master holds some.
      const perNode = await Promise.all(cluster.nodes.map(async (n) => {
        const r = new Redis({ port: n.port, host: '127.0.0.1' });
        try { return await r.dbsize(); } finally { r.disconnect(); }
      }));
      expect(perNode.every((n) => n > 0)).toBe(true);
      expect(perNode.reduce((a, c) => a + c, 0)).toBe(200);
      await store.writeBatch([entry('key-7', 'older', 5), entry('key-8', 'newer', 11)]);
      const got = await store.loadMany([b('key-8'), b('key-7'), b('absent')]);
      expect(got.map((e) => e?.value.toString())).toEqual(['newer', 'value-7', undefined]);
      expect((await collect(store)).length).toBe(200);
      await store.deleteBatch([{ key: b('key-8'), version: 10 }, { key: b('key-9'), version: 10 }]);
      expect((await store.loadMany([b('key-8'), b('key-9')])).map((e) => e?.value.toString())).toEqual(['newer', undefined]);
      await store.clear();
      expect(await collect(store)).toEqual([]);
    });
  });
});

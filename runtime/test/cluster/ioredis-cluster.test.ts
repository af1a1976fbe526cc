import Redis, { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { HEADLESS, nodeId, startThreeShards, ThreeShards } from './harness';

// Three state-cache processes announce themselves as the pods of a StatefulSet
// (`cache-<i>.cache-headless.default.svc.cluster.local:6379`); the stock
// ioredis Cluster client reaches them through its natMap.

jest.setTimeout(60_000);

const RANGES = [[0, 5460], [5461, 10922], [10923, 16383]];
const host = (i: number) => `cache-${i}.${HEADLESS}`;

let shards: ThreeShards;
let cluster: Cluster;
const direct: Redis[] = [];

function natMap(): Record<string, { host: string; port: number }> {
  const map: Record<string, { host: string; port: number }> = {};
  shards.caches.forEach((c, i) => { map[`${host(i)}:6379`] = { host: '127.0.0.1', port: c.respPort }; });
  return map;
}

function newCluster(): Cluster {
  // retryDelayOnMoved: ioredis records a MOVED target by its announced (unmapped)
  // name until the slot refresh the MOVED triggers has finished; a short delay
  // lets that refresh land instead of bouncing through 16 redirections.
  return new Cluster([{ host: '127.0.0.1', port: shards.caches[1].respPort }], { natMap: natMap(), lazyConnect: true, retryDelayOnMoved: 50 });
}

beforeAll(async () => {
  shards = await startThreeShards((i) => ({ ordinal: i }));
  for (const c of shards.caches) direct.push(new Redis({ port: c.respPort, host: '127.0.0.1', lazyConnect: true }));
  await Promise.all(direct.map((r) => r.connect()));
  cluster = newCluster();
  await cluster.connect();
});

afterAll(async () => {
  cluster?.disconnect();
  direct.forEach((r) => r.disconnect());
  await shards?.stop();
});

beforeEach(async () => {
  await Promise.all(direct.map((r) => r.flushall()));
});

test('every pod announces the same slot map with the pods\' stable names and ids', async () => {
  const maps = await Promise.all(direct.map((r) => r.cluster('SLOTS')));
  const expected = RANGES.map(([start, end], i) => [start, end, [host(i), 6379, nodeId(i), []]]);
  for (const m of maps) expect(m).toEqual(expected);
  const myIds = await Promise.all(direct.map((r) => r.cluster('MYID')));
  expect(myIds).toEqual([0, 1, 2].map(nodeId));
  expect(nodeId(0)).toMatch(/^[0-9a-f]{40}$/);
});

test('CLUSTER NODES, INFO and SHARDS in Redis 7 form', async () => {
  const nodes = await direct[1].cluster('NODES') as string;
  expect(nodes.split('\n')).toEqual([
    `${nodeId(0)} ${host(0)}:6379@16379,${host(0)} master - 0 0 1 connected 0-5460`,
    `${nodeId(1)} ${host(1)}:6379@16379,${host(1)} myself,master - 0 0 2 connected 5461-10922`,
    `${nodeId(2)} ${host(2)}:6379@16379,${host(2)} master - 0 0 3 connected 10923-16383`,
    '',
  ]);
  const info = await direct[2].cluster('INFO') as string;
  expect(info).toContain('cluster_state:ok\r\n');
  expect(info).toContain('cluster_slots_assigned:16384\r\n');
  expect(info).toContain('cluster_known_nodes:3\r\n');
  expect(info).toContain('cluster_size:3\r\n');
  expect(info).toContain('cluster_my_epoch:3\r\n');
  const shardList = await direct[0].cluster('SHARDS') as unknown[];
  expect(shardList[1]).toEqual([
    'slots', [5461, 10922],
    'nodes', [['id', nodeId(1), 'port', 6379, 'ip', host(1), 'endpoint', host(1), 'hostname', host(1), 'role', 'master', 'replication-offset', 0, 'health', 'online']],
  ]);
  expect(await direct[0].info('cluster')).toBe('# Cluster\r\ncluster_enabled:1\r\n');
});

test('SET/GET of many keys through the cluster client spreads them over all three pods, each on its owner', async () => {
  const n = 600;
  for (let i = 0; i < n; i++) await cluster.set(`key:${i}`, `value-${i}`);
  const values = await Promise.all(Array.from({ length: n }, (_, i) => cluster.get(`key:${i}`)));
  expect(values).toEqual(Array.from({ length: n }, (_, i) => `value-${i}`));
  const sizes = await Promise.all(direct.map((r) => r.dbsize()));
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
  for (let i = 0; i < 3; i++) {
    // Roughly a third each: the slots are split evenly and the keys hash uniformly.
    expect(sizes[i]).toBeGreaterThan(n / 3 - 80);
    expect(sizes[i]).toBeLessThan(n / 3 + 80);
    const keys = await direct[i].keys('*');
    for (const k of keys) {
      const slot = await direct[i].cluster('KEYSLOT', k) as number;
      expect(slot).toBeGreaterThanOrEqual(RANGES[i][0]);
      expect(slot).toBeLessThanOrEqual(RANGES[i][1]);
    }
  }
});

test('a pod answers MOVED with the owner\'s announced address for a key it does not own', async () => {
  // foo is slot 12182 (ordinal 2), bar 5061 (ordinal 0).
  await expect(direct[0].get('foo')).rejects.toThrow(`MOVED 12182 ${host(2)}:6379`);
  await expect(direct[2].set('bar', 'x')).rejects.toThrow(`MOVED 5061 ${host(0)}:6379`);
  expect(await direct[2].set('foo', 'x')).toBe('OK');
  expect(await direct[2].get('foo')).toBe('x');
});

test('hash tags keep related keys on one pod: MGET/MSET work within a tag, CROSSSLOT across slots', async () => {
  await cluster.mset('{user:42}:name', 'Ada', '{user:42}:email', 'ada@example.com', '{user:42}:visits', '3');
  expect(await cluster.mget('{user:42}:name', '{user:42}:email', '{user:42}:visits')).toEqual(['Ada', 'ada@example.com', '3']);
  const slot = await cluster.cluster('KEYSLOT', 'user:42') as number;
  const owner = RANGES.findIndex(([s, e]) => slot >= s && slot <= e);
  expect(await direct[owner].cluster('COUNTKEYSINSLOT', slot)).toBe(3);
  expect((await direct[owner].cluster('GETKEYSINSLOT', slot, 10) as string[]).sort()).toEqual(['{user:42}:email', '{user:42}:name', '{user:42}:visits']);
  // b (3300) and f (3168) are both on ordinal 0 but in different slots.
  await expect(direct[0].mget('b', 'f')).rejects.toThrow('CROSSSLOT Keys in request don\'t hash to the same slot');
  await expect(direct[0].del('b', 'f')).rejects.toThrow('CROSSSLOT Keys in request don\'t hash to the same slot');
  await expect(direct[0].exists('b', 'f')).rejects.toThrow('CROSSSLOT Keys in request don\'t hash to the same slot');
  await expect(cluster.mget('b', 'foo')).rejects.toThrow('CROSSSLOT Keys in request don\'t hash to the same slot');
});

test('the cluster client follows MOVED when its slot map is stale', async () => {
  const stale = newCluster();
  await stale.connect();
  try {
    // Point every slot at ordinal 0, as if the client had an old map.
    const first = `127.0.0.1:${shards.caches[0].respPort}`;
    for (let s = 0; s < 16384; s++) stale.slots[s] = [first];
    for (let i = 0; i < 60; i++) expect(await stale.set(`moved:${i}`, String(i))).toBe('OK');
    for (let i = 0; i < 60; i++) expect(await stale.get(`moved:${i}`)).toBe(String(i));
  } finally {
    stale.disconnect();
  }
  const sizes = await Promise.all(direct.map((r) => r.dbsize()));
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
  expect(sizes[1] + sizes[2]).toBeGreaterThan(0);
});

test('pipelines through the cluster client', async () => {
  const p = cluster.pipeline();
  for (let i = 0; i < 50; i++) p.set(`{batch}:${i}`, String(i));
  for (let i = 0; i < 50; i++) p.incr(`{batch}:${i}`);
  const results = await p.exec();
  expect(results!.slice(0, 50).every(([e, v]) => e === null && v === 'OK')).toBe(true);
  expect(results!.slice(50).map(([, v]) => v)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  expect(await cluster.get('{batch}:49')).toBe('50');
});

test('MULTI/EXEC on one slot through the cluster client', async () => {
  const r = await cluster.multi().set('{acct:7}:balance', '100').incrby('{acct:7}:balance', 25).get('{acct:7}:balance').exec();
  expect(r).toEqual([[null, 'OK'], [null, 125], [null, '125']]);
});

test('inside MULTI: a MOVED command makes EXEC fail with EXECABORT, keys across slots with CROSSSLOT', async () => {
  const tx = direct[0];
  await tx.call('MULTI');
  expect(await tx.call('SET', 'b', '1')).toBe('QUEUED');
  await expect(tx.call('SET', 'foo', '1')).rejects.toThrow(`MOVED 12182 ${host(2)}:6379`);
  await expect(tx.call('EXEC')).rejects.toThrow('EXECABORT Transaction discarded because of previous errors.');
  await tx.call('MULTI');
  expect(await tx.call('SET', 'b', '1')).toBe('QUEUED');
  expect(await tx.call('SET', 'f', '1')).toBe('QUEUED');
  await expect(tx.call('EXEC')).rejects.toThrow('CROSSSLOT Keys in request don\'t hash to the same slot');
  // Nothing of either transaction ran.
  expect(await tx.exists('b')).toBe(0);
  expect(await tx.exists('f')).toBe(0);
});

test('KEYS, SCAN and DBSIZE stay local to the pod', async () => {
  await cluster.set('bar', '0'); // ordinal 0
  await cluster.set('foo', '2'); // ordinal 2
  expect(await direct[0].keys('*')).toEqual(['bar']);
  expect(await direct[2].keys('*')).toEqual(['foo']);
  expect(await direct[1].dbsize()).toBe(0);
  expect((await direct[2].scan(0))[1]).toEqual(['foo']);
});

test('node-redis createCluster (nodeAddressMap) routes to the owners too', async () => {
  const client = createCluster({
    rootNodes: [{ url: `redis://127.0.0.1:${shards.caches[0].respPort}` }],
    nodeAddressMap: natMap(),
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (let i = 0; i < 30; i++) expect(await client.set(`nr:${i}`, String(i))).toBe('OK');
    for (let i = 0; i < 30; i++) expect(await client.get(`nr:${i}`)).toBe(String(i));
    expect(await client.mGet(['{nr}a', '{nr}b'])).toEqual([null, null]);
  } finally {
    await client.close();
  }
  const sizes = await Promise.all(direct.map((r) => r.dbsize()));
  expect(sizes.every((n) => n > 0)).toBe(true);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(30);
});

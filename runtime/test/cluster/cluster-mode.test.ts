import Redis from 'ioredis';
import pino from 'pino';
import { ConfigError, parseConfig } from '../../src/config';
import { StateCache } from '../../src/server';
import { startTestServer } from '../helpers';

const silent = pino({ level: 'silent' });

function problems(raw: object): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('with cluster mode off', () => {
  let cache: StateCache;
  let r: Redis;
  beforeAll(async () => {
    cache = await startTestServer();
    r = new Redis({ port: cache.respPort, host: '127.0.0.1' });
  });
  afterAll(async () => {
    r.disconnect();
    await cache.close();
  });

  test('CLUSTER, READONLY, READWRITE and ASKING say cluster support is disabled', async () => {
    for (const cmd of [['CLUSTER', 'INFO'], ['CLUSTER', 'SLOTS'], ['READONLY'], ['READWRITE'], ['ASKING']]) {
      await expect(r.call(cmd[0], ...cmd.slice(1))).rejects.toThrow('ERR This instance has cluster support disabled');
    }
  });

  test('multi-key commands across slots run, and INFO says cluster_enabled:0', async () => {
    await r.mset('b', '1', 'foo', '2');
    expect(await r.mget('b', 'foo')).toEqual(['1', '2']);
    expect(await r.info('cluster')).toBe('# Cluster\r\ncluster_enabled:0\r\n');
    expect(await r.config('GET', 'cluster-enabled')).toEqual(['cluster-enabled', 'no']);
  });
});

describe('with cluster mode on', () => {
  let cache: StateCache;
  let r: Redis;
  beforeAll(async () => {
    // The ordinal comes from the pod name, as in a StatefulSet.
    cache = await startTestServer({ cluster: { enabled: true, replicas: 3, statefulSetName: 'cache', podNameEnv: 'POD_NAME' } }, undefined, { POD_NAME: 'cache-1' });
    r = new Redis({ port: cache.respPort, host: '127.0.0.1' });
  });
  afterAll(async () => {
    r.disconnect();
    await cache.close();
  });

  test('the ordinal is read from the pod name', async () => {
    expect(cache.cluster!.me.ordinal).toBe(1);
    expect(await r.cluster('SLOTS')).toContainEqual([5461, 10922, ['cache-1.state-cache', 6379, cache.cluster!.me.id, []]]);
    expect(await r.call('HELLO', '2')).toEqual(expect.arrayContaining(['mode', 'cluster']));
    expect(await r.config('GET', 'cluster-enabled')).toEqual(['cluster-enabled', 'yes']);
  });

  test('CLUSTER subcommands: bad arguments, unknown and topology-changing ones get distinct errors', async () => {
    await expect(r.call('CLUSTER', 'KEYSLOT')).rejects.toThrow('ERR wrong number of arguments for \'cluster|keyslot\' command');
    await expect(r.call('CLUSTER', 'NOPE')).rejects.toThrow('ERR unknown subcommand \'NOPE\'. Try CLUSTER HELP.');
    await expect(r.call('CLUSTER', 'COUNTKEYSINSLOT', 'x')).rejects.toThrow('ERR value is not an integer or out of range');
    await expect(r.call('CLUSTER', 'COUNTKEYSINSLOT', '16384')).rejects.toThrow('ERR Invalid slot');
    await expect(r.call('CLUSTER', 'GETKEYSINSLOT', '1', '-1')).rejects.toThrow('ERR Invalid slot or number of keys');
    await expect(r.call('CLUSTER', 'REPLICAS', 'abc')).rejects.toThrow('ERR Unknown node abc');
    expect(await r.call('CLUSTER', 'REPLICAS', cache.cluster!.me.id)).toEqual([]);
    await expect(r.call('CLUSTER', 'ADDSLOTS', '1')).rejects.toThrow(
      'ERR CLUSTER ADDSLOTS is not supported by state-cache: every pod owns the slots fixed by its StatefulSet ordinal and cluster.replicas; change the replicas and restart the pods to change the map',
    );
    expect(await r.call('CLUSTER', 'KEYSLOT', '{user1000}.following')).toBe(await r.call('CLUSTER', 'KEYSLOT', 'user1000'));
    for (const cmd of ['READONLY', 'READWRITE', 'ASKING']) expect(await r.call(cmd)).toBe('OK');
  });

  test('scripts, SELECT and sharded Pub/Sub in cluster mode', async () => {
    // 'c' is slot 7365, served here; find another local key of another slot.
    let other = '';
    for (let i = 0; other === ''; i++) {
      const slot = await r.call('CLUSTER', 'KEYSLOT', `k${i}`) as number;
      if (slot >= 5461 && slot <= 10922 && slot !== 7365) other = `k${i}`;
    }
    expect(await r.call('EVAL', 'redis.call("SET", KEYS[1], ARGV[1]) return redis.call("GET", KEYS[2])', '2', '{c}a', 'c', 'x')).toBeNull();
    expect(await r.get('{c}a')).toBe('x');
    await expect(r.call('EVAL', 'return 1', '2', 'c', other)).rejects.toThrow('CROSSSLOT Keys in request don\'t hash to the same slot');
    await expect(r.call('EVAL', 'return 1', '1', 'foo')).rejects.toThrow('MOVED 12182 cache-2.state-cache:6379');
    await expect(r.call('EVAL', 'return redis.call("GET", ARGV[1])', '1', 'c', other)).rejects.toThrow(
      'ERR Script attempted to access keys that do not hash to the same slot');
    await expect(r.call('EVAL', 'return redis.call("GET", "foo")', '0')).rejects.toThrow('ERR Script attempted to access a non local key in a cluster node');
    await expect(r.select(1)).rejects.toThrow('ERR SELECT is not allowed in cluster mode');
    expect(await r.call('SPUBLISH', 'c', 'm')).toBe(0);
    await expect(r.call('SPUBLISH', 'foo', 'm')).rejects.toThrow('MOVED 12182 cache-2.state-cache:6379');
  });

  test('consumer groups in cluster mode: XREADGROUP\'s keys after STREAMS, XGROUP\'s and XINFO\'s after the subcommand', async () => {
    // Streams of this pod's slot 7365 ('{c}...'; the REST test below wants 'c' itself new).
    let other = '';
    for (let i = 0; other === ''; i++) {
      const slot = await r.call('CLUSTER', 'KEYSLOT', `q${i}`) as number;
      if (slot >= 5461 && slot <= 10922 && slot !== 7365) other = `q${i}`;
    }
    expect(await r.call('XGROUP', 'CREATE', '{c}1', 'g', '$', 'MKSTREAM')).toBe('OK');
    expect(await r.call('XGROUP', 'CREATE', '{c}2', 'g', '$', 'MKSTREAM')).toBe('OK');
    await r.xadd('{c}1', '1-0', 'f', 'v');
    expect(await r.call('XREADGROUP', 'GROUP', 'g', 'w', 'COUNT', '1', 'STREAMS', '{c}1', '{c}2', '>', '>')).toEqual([['{c}1', [['1-0', ['f', 'v']]]]]);
    await expect(r.call('XREADGROUP', 'GROUP', 'g', 'w', 'STREAMS', '{c}1', other, '>', '>')).rejects.toThrow('CROSSSLOT Keys in request don\'t hash to the same slot');
    await expect(r.call('XREADGROUP', 'GROUP', 'g', 'w', 'NOACK', 'STREAMS', 'foo', '>')).rejects.toThrow('MOVED 12182 cache-2.state-cache:6379');
    await expect(r.call('XGROUP', 'CREATE', 'foo', 'g', '$', 'MKSTREAM')).rejects.toThrow('MOVED 12182 cache-2.state-cache:6379');
    await expect(r.call('XINFO', 'STREAM', 'foo')).rejects.toThrow('MOVED 12182 cache-2.state-cache:6379');
    await expect(r.call('XPENDING', 'foo', 'g')).rejects.toThrow('MOVED 12182 cache-2.state-cache:6379');
    expect((await r.call('XGROUP', 'HELP') as string[])[0]).toBe('XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
    expect(await r.call('XPENDING', '{c}1', 'g')).toEqual([1, '1-0', '1-0', [['w', '1']]]);
  });

  test('REST answers 421 naming the owner when the owner\'s HTTP port is not known (http.port 0)', async () => {
    const res = await fetch(`http://127.0.0.1:${cache.httpPort}/v1/keys/foo`);
    expect(res.status).toBe(421);
    expect(res.headers.get('x-state-cache-owner')).toBe('cache-2.state-cache:6379');
    expect(await res.json()).toEqual({
      error: 'misdirected',
      message: 'slot 12182 of this key is served by cache-2.state-cache (RESP port 6379); its HTTP port is not known: set cluster.announceHttpPort',
    });
    // A key of this pod (c is slot 7365) is served here.
    expect((await fetch(`http://127.0.0.1:${cache.httpPort}/v1/keys/c`, { method: 'PUT', body: 'v' })).status).toBe(201);
    expect(await r.get('c')).toBe('v');
  });
});

test('config: an ordinal beyond the replicas and announce lists of the wrong length are rejected', () => {
  expect(problems({ cluster: { enabled: true, replicas: 3, ordinal: 3, announceHosts: ['a', 'b'], announcePorts: [1, 2, 3, 4] } })).toEqual([
    '/cluster/ordinal: ordinal 3 is not below cluster.replicas (3); ordinals run from 0 to 2',
    '/cluster/announceHosts: has 2 entries but cluster.replicas is 3: give one per ordinal',
    '/cluster/announcePorts: has 4 entries but cluster.replicas is 3: give one per ordinal',
  ]);
  // Off, the section is not checked further.
  expect(problems({ cluster: { replicas: 3, ordinal: 3 } })).toEqual([]);
});

test('a pod that cannot tell its ordinal does not start, and says why', () => {
  const config = parseConfig({ server: { port: 0 }, http: { port: 0 }, cluster: { enabled: true, replicas: 3, podNameEnv: 'POD_NAME' } });
  const attempt = (env: NodeJS.ProcessEnv) => {
    try {
      new StateCache(config, { log: silent, env });
    } catch (e) {
      return (e as Error).message;
    }
    return 'started';
  };
  expect(attempt({})).toBe('invalid config cluster:\n  /cluster/podNameEnv: the environment variable POD_NAME (the pod name) is not set: set cluster.ordinal, or run in a StatefulSet pod');
  expect(attempt({ POD_NAME: 'cache' })).toBe('invalid config cluster:\n  /cluster/podNameEnv: cannot tell the StatefulSet ordinal from pod name "cache": expected a name ending in -<number> (from POD_NAME)');
  expect(attempt({ POD_NAME: 'cache-3' })).toBe('invalid config cluster:\n  /cluster/replicas: this pod\'s ordinal 3 is not below cluster.replicas (3): the StatefulSet has more pods than the config says');
});

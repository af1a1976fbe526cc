import Redis from 'ioredis';
import { startTestServer } from './helpers';
import { EntryChange, LoadedEntry, PersistenceHooks, PersistenceUnavailableError } from '../src/keyspace/hooks';
import { SCRIPT_MEMORY_BYTES } from '../src/protocol/scripting';
import { StateCache } from '../src/server';

/*
 * Lua scripting (EVAL & co.) through ioredis, on a server whose persistence
 * hooks record every batch: a script's writes must arrive as one batch, and
 * a refused batch must leave memory as it was.
 */

const batches: EntryChange[][] = [];
const loads: string[] = [];
let failNext = false;
const hooks: PersistenceHooks = {
  beforeChange: (changes) => {
    batches.push([...changes]);
    if (failNext) {
      failNext = false;
      return Promise.reject(new PersistenceUnavailableError('store down (test)'));
    }
    return changes.some((c) => c.key.toString().startsWith('wt:')) ? new Promise((r) => setTimeout(r, 20)) : undefined;
  },
  afterChange: () => undefined,
  load: (key) => {
    loads.push(key.toString());
    return key.toString() === 'stored' ? Promise.resolve({ key, value: Buffer.from('from-store'), version: 1, expiresAt: 0 } as LoadedEntry) : undefined;
  },
  passivate: () => undefined,
  flush: async () => undefined,
  ready: () => true,
};

let s: StateCache;
let r: Redis;
beforeAll(async () => {
  s = await startTestServer({}, hooks);
  r = new Redis({ port: s.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
});
afterAll(async () => {
  if (r.status !== 'end') r.disconnect();
  await s.close();
});
beforeEach(async () => {
  await r.call('config', 'set', 'busy-reply-threshold', '5000');
  await r.flushall();
  batches.length = 0;
  loads.length = 0;
});

const evalr = (script: string, keys: string[] = [], args: string[] = []) => r.call('eval', script, String(keys.length), ...keys, ...args);

test('Lua values convert to replies as Redis converts them: floats truncated, false is nil, an array stops at its first nil', async () => {
  expect(await evalr('return {1, 2.9, -3.9, "x", false, true, {ok="fine"}, {1, {2}}, nil, 5}')).toEqual([1, 2, -3, 'x', null, 1, 'fine', [1, [2]]]);
  expect(await evalr('return redis.status_reply("GOOD")')).toBe('GOOD');
  await expect(evalr('return redis.error_reply("MYERR custom")')).rejects.toThrow(/^MYERR custom$/);
  expect(await evalr('return nil')).toBeNull();
  expect(await evalr('return 2^53')).toBe(9007199254740992);
});

test('replies convert to Lua as Redis converts them: nil is false, status and error are tables', async () => {
  await r.set('k', 'v');
  expect(await evalr('return {type(redis.call("GET", "missing")), tostring(redis.call("GET", "missing"))}')).toEqual(['boolean', 'false']);
  expect(await evalr('return redis.call("SET", "a", "b").ok')).toBe('OK');
  expect(await evalr('return redis.pcall("INCR", KEYS[1]).err', ['k'])).toBe('ERR value is not an integer or out of range');
  expect(await evalr('return {redis.call("INCRBY", KEYS[1], ARGV[1]), redis.call("MGET", "k", "nope")}', ['n'], ['5'])).toEqual([5, ['v', null]]);
  // Lua numbers as arguments: integers without a fraction (Lua 5.4's 5.0 would be "5.0").
  await evalr('redis.call("SET", "f", 10 / 2) redis.call("SET", "g", 1.5)');
  expect(await r.mget('f', 'g')).toEqual(['5', '1.5']);
});

test('values are binary-safe both ways', async () => {
  const bin = Buffer.from([0, 255, 13, 10, 128, 1]);
  await r.set(Buffer.from('bin'), bin);
  const back = await r.callBuffer('eval', 'local v = redis.call("GET", KEYS[1]) redis.call("SET", KEYS[2], v .. ARGV[1]) return redis.call("GET", KEYS[2])', '2', 'bin', 'bin2', Buffer.from([0, 7]));
  expect(back).toEqual(Buffer.concat([bin, Buffer.from([0, 7])]));
});

test('errors: redis.call raises, runtime errors name the script, globals are protected', async () => {
  await r.set('k', 'v');
  await expect(evalr('return redis.call("INCR", KEYS[1])', ['k'])).rejects.toThrow('ERR value is not an integer or out of range');
  await expect(evalr('x = 5')).rejects.toThrow(/^ERR user_script:1: Attempt to modify a readonly table script: [0-9a-f]{40}, on @user_script:1\.$/);
  await expect(evalr('return y')).rejects.toThrow(/Script attempted to access nonexistent global variable 'y'/);
  await expect(evalr('return {')).rejects.toThrow(/^ERR Error compiling script \(new function\): user_script:1: /);
  await expect(evalr('return redis.call("nosuch")')).rejects.toThrow('ERR Unknown Redis command called from script');
  await expect(evalr('return redis.call("GET")')).rejects.toThrow('ERR Wrong number of args calling Redis command from script');
  await expect(evalr('return redis.call("EVAL", "return 1", "0")')).rejects.toThrow('ERR This Redis command is not allowed from script');
  await expect(evalr('return redis.call()')).rejects.toThrow('ERR Please specify at least one argument for this redis lib call');
  await expect(evalr('return redis.call("GET", {})')).rejects.toThrow('ERR Lua redis lib command arguments must be strings or integers');
  await expect(r.call('eval', 'return 1', '-1')).rejects.toThrow('ERR Number of keys can\'t be negative');
  await expect(r.call('eval', 'return 1', '2', 'a')).rejects.toThrow('ERR Number of keys can\'t be greater than number of args');
  await expect(r.call('eval', 'return 1', 'x')).rejects.toThrow('ERR value is not an integer or out of range');
  // No file or module access.
  await expect(evalr('return io')).rejects.toThrow(/nonexistent global variable 'io'/);
  await expect(evalr('return os')).rejects.toThrow(/nonexistent global variable 'os'/);
});

test('EVALSHA, SCRIPT LOAD / EXISTS / FLUSH / KILL', async () => {
  const sha = await r.call('script', 'load', 'return ARGV[1] .. "!"') as string;
  expect(sha).toMatch(/^[0-9a-f]{40}$/);
  expect(await r.call('evalsha', sha, '0', 'hi')).toBe('hi!');
  expect(await r.call('evalsha', sha.toUpperCase(), '0', 'hi')).toBe('hi!');
  expect(await r.call('script', 'exists', sha, '0000000000000000000000000000000000000000')).toEqual([1, 0]);
  expect(await r.call('script', 'flush')).toBe('OK');
  await expect(r.call('evalsha', sha, '0')).rejects.toThrow('NOSCRIPT No matching script. Please use EVAL.');
  await expect(r.call('script', 'kill')).rejects.toThrow('NOTBUSY No scripts in execution right now.');
  await expect(r.call('script', 'flush', 'now')).rejects.toThrow('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
  // EVAL caches the script too, under its SHA1 (redis.sha1hex agrees).
  await evalr('return 1');
  const digest = await evalr('return redis.sha1hex("return 1")');
  expect(await r.call('evalsha', digest as string, '0')).toBe(1);
});

test('read-only scripts: EVAL_RO, EVALSHA_RO and the no-writes shebang refuse writes', async () => {
  await r.set('k', 'v');
  expect(await r.call('eval_ro', 'return redis.call("GET", KEYS[1])', '1', 'k')).toBe('v');
  await expect(r.call('eval_ro', 'return redis.call("SET", KEYS[1], "x")', '1', 'k')).rejects.toThrow('ERR Write commands are not allowed from read-only scripts.');
  await expect(evalr('#!lua flags=no-writes\nreturn redis.call("DEL", "k")')).rejects.toThrow('ERR Write commands are not allowed from read-only scripts.');
  await expect(evalr('#!python\nreturn 1')).rejects.toThrow('ERR Unexpected engine in script shebang: python');
  expect(await evalr('#!lua\nreturn 7')).toBe(7);
  expect(await r.get('k')).toBe('v');
});

test('a script\'s writes reach persistence as one batch; its declared keys are loaded from the stores first', async () => {
  expect(await evalr('redis.call("SET", KEYS[1], "1") redis.call("SET", KEYS[2], "2") redis.call("INCR", KEYS[1]) redis.call("DEL", KEYS[3]) return redis.call("GET", KEYS[3])', ['a', 'b', 'stored']))
    .toBeNull();
  expect(loads).toEqual(expect.arrayContaining(['a', 'b', 'stored']));
  expect(batches).toHaveLength(1);
  expect(batches[0].map((c) => `${c.kind}:${c.key.toString()}`)).toEqual(['set:b', 'set:a', 'delete:stored']);
  expect(await r.mget('a', 'b')).toEqual(['2', '2']);
  expect(await evalr('return redis.call("GET", KEYS[1])', ['stored'])).toBe('from-store');
});

test('when persistence refuses the batch, none of the script\'s writes stay in memory', async () => {
  await r.set('wt:a', 'old');
  batches.length = 0;
  failNext = true;
  await expect(evalr('redis.call("SET", KEYS[1], "new") redis.call("SET", KEYS[2], "new") return 1', ['wt:a', 'wt:b'])).rejects.toThrow(/^STOREUNAVAILABLE store down \(test\)/);
  expect(batches).toHaveLength(1);
  expect(await r.mget('wt:a', 'wt:b')).toEqual(['old', null]);
  // A write that waits holds back readers of its keys until it is in: they never see it uncommitted.
  const [w, read] = await Promise.all([evalr('redis.call("SET", KEYS[1], "v2") return 1', ['wt:a']), r.get('wt:a')]);
  expect([w, read]).toEqual([1, 'v2']);
});

test('a script that fails midway keeps what it wrote before the error (as Redis does)', async () => {
  await expect(evalr('redis.call("SET", KEYS[1], "written") error("boom")', ['p'])).rejects.toThrow(/^ERR user_script:1: boom script: /);
  expect(await r.get('p')).toBe('written');
  expect(batches).toHaveLength(1);
});

test('the time limit stops a script that loops forever (also inside pcall) and rolls its writes back', async () => {
  await r.call('config', 'set', 'busy-reply-threshold', '200');
  expect(await r.call('config', 'get', 'busy-reply-threshold')).toEqual(['busy-reply-threshold', '200']);
  const t0 = Date.now();
  await expect(evalr('redis.call("SET", KEYS[1], "x") while true do end', ['q'])).rejects.toThrow(
    'BUSY script stopped: it ran longer than the script time limit (200 ms, CONFIG SET busy-reply-threshold); its writes were rolled back');
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(await r.exists('q')).toBe(0);
  await expect(evalr('while true do pcall(function() while true do end end) end')).rejects.toThrow(/^BUSY script stopped/);
  // The VM is usable afterwards.
  expect(await evalr('return 1 + 1')).toBe(2);
});

test('the VM has a memory cap: a script that reaches it fails and the VM recovers', async () => {
  await r.call('config', 'set', 'busy-reply-threshold', '60000');
  await expect(evalr('redis.call("SET", KEYS[1], "x") local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 4096) .. i end', ['m'])).rejects.toThrow(
    `ERR script stopped: the scripting VM reached its memory limit (${SCRIPT_MEMORY_BYTES} bytes); its writes were rolled back`);
  expect(await r.exists('m')).toBe(0);
  expect(await evalr('return string.rep("y", 3)')).toBe('yyy');
}, 120_000);

describe('without persistence (aggregates change in place)', () => {
  let mem: StateCache;
  let m: Redis;
  beforeAll(async () => {
    mem = await startTestServer({});
    m = new Redis({ port: mem.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    await m.connect();
    await m.call('config', 'set', 'busy-reply-threshold', '200');
  });
  afterAll(async () => {
    if (m.status !== 'end') m.disconnect();
    await mem.close();
  });
  beforeEach(async () => {
    await m.flushall();
  });
  const evalm = (script: string, keys: string[]) => m.call('eval', script, String(keys.length), ...keys);

  test('a stopped script that wrote only strings is still rolled back whole', async () => {
    await m.set('s1', 'before');
    await expect(evalm('redis.call("SET", KEYS[1], "x") redis.call("SET", KEYS[2], "y") while true do end', ['s1', 's2'])).rejects.toThrow(
      'BUSY script stopped: it ran longer than the script time limit (200 ms, CONFIG SET busy-reply-threshold); its writes were rolled back');
    expect(await m.mget('s1', 's2')).toEqual(['before', null]);
  });

  test('a stopped script that changed an aggregate keeps all its writes, none half undone, and says so', async () => {
    await m.rpush('l', 'a');
    const script = 'redis.call("SET", KEYS[1], "x") redis.call("HSET", KEYS[2], "f", "v") redis.call("RPUSH", KEYS[3], "b") '
      + 'redis.call("ZADD", KEYS[4], 1, "m") while true do end';
    await expect(evalm(script, ['s', 'h', 'l', 'z'])).rejects.toThrow(
      'BUSY script stopped: it ran longer than the script time limit (200 ms, CONFIG SET busy-reply-threshold); it had changed a hash, '
      + 'list, set, sorted set or stream in place, which cannot be rolled back, so its writes so far were kept');
    expect([await m.get('s'), await m.hget('h', 'f'), await m.lrange('l', 0, -1), await m.zscore('z', 'm')]).toEqual(['x', 'v', ['a', 'b'], '1']);
    // A string written after the aggregate is kept too.
    await expect(evalm('redis.call("LPUSH", KEYS[1], "c") redis.call("SET", KEYS[2], "after") while true do end', ['l', 's3'])).rejects.toThrow(/so its writes so far were kept$/);
    expect([await m.lrange('l', 0, -1), await m.get('s3')]).toEqual([['c', 'a', 'b'], 'after']);
    // The next script is undoable again.
    await expect(evalm('redis.call("SET", KEYS[1], "z") while true do end', ['s4'])).rejects.toThrow(/its writes were rolled back$/);
    expect(await m.exists('s4')).toBe(0);
  });

  test('an aggregate write inside a script in MULTI makes the script keep its writes; EXEC goes on', async () => {
    const res = await m.multi().set('before', '1').call('eval', 'redis.call("SADD", KEYS[1], "x") while true do end', '1', 'set').set('after', '2').exec();
    expect(res![0]).toEqual([null, 'OK']);
    expect(String(res![1][0])).toMatch(/^ReplyError: BUSY script stopped: .* so its writes so far were kept$/);
    expect(res![2]).toEqual([null, 'OK']);
    expect([await m.smembers('set'), await m.get('before'), await m.get('after')]).toEqual([['x'], '1', '2']);
  });
});

test('scripts run inside MULTI like other commands', async () => {
  const res = await r.multi().call('eval', 'return redis.call("INCR", KEYS[1])', '1', 'c').call('eval', 'return redis.call("INCR", KEYS[1])', '1', 'c').exec();
  expect(res).toEqual([[null, 1], [null, 2]]);
});

test('the bit library and Lua 5.1 names scripts use', async () => {
  expect(await evalr('return {bit.band(0xff, 0x0f), bit.bor(1, 2), bit.bxor(3, 1), bit.lshift(1, 4), bit.rshift(-1, 28), bit.tohex(255, 2), bit.bnot(0)}'))
    .toEqual([15, 3, 2, 16, 15, 'ff', -1]);
  expect(await evalr('return {unpack({1, 2})}')).toEqual([1, 2]);
  expect(await evalr('return table.getn({1, 2, 3})')).toBe(3);
});

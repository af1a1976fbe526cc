/* eslint-disable no-bitwise */ // test patterns
import { connect, Socket } from 'node:net';
import Redis from 'ioredis';
import { sleep, startTestServer } from './helpers';
import { StateCache } from '../src/server';

let server: StateCache;
let redis: Redis;

beforeAll(async () => {
  server = await startTestServer();
  redis = new Redis({ port: server.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await redis.connect();
});

afterAll(async () => {
  redis.disconnect();
  await server.close();
});

beforeEach(async () => {
  await redis.flushall();
});

/** Sends raw bytes and collects what comes back until the socket closes or `ms` pass. */
function raw(bytes: string | Buffer, ms = 300): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s: Socket = connect(server.respPort, '127.0.0.1');
    let text = '';
    let closed = false;
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('close', () => {
      closed = true;
      resolve({ text, closed });
    });
    s.on('error', () => undefined);
    s.write(bytes);
    setTimeout(() => {
      s.destroy();
      resolve({ text, closed });
    }, ms);
  });
}

test('strings: SET/GET/MGET/MSET/GETDEL/APPEND/STRLEN/GETRANGE/SETRANGE', async () => {
  expect(await redis.set('a', '1')).toBe('OK');
  expect(await redis.get('a')).toBe('1');
  expect(await redis.get('missing')).toBeNull();
  expect(await redis.mset('b', '2', 'c', '3')).toBe('OK');
  expect(await redis.mget('a', 'b', 'nope', 'c')).toEqual(['1', '2', null, '3']);
  expect(await redis.msetnx('c', 'x', 'd', 'y')).toBe(0);
  expect(await redis.msetnx('d', 'x', 'e', 'y')).toBe(1);
  expect(await redis.append('a', 'bc')).toBe(3);
  expect(await redis.strlen('a')).toBe(3);
  expect(await redis.getrange('a', 1, -1)).toBe('bc');
  expect(await redis.getrange('a', -100, 100)).toBe('1bc');
  expect(await redis.setrange('a', 5, 'Z')).toBe(6);
  expect(await redis.get('a')).toBe('1bc\0\0Z');
  expect(await redis.getdel('a')).toBe('1bc\0\0Z');
  expect(await redis.exists('a', 'b', 'b')).toBe(2);
  expect(await redis.del('b', 'c', 'zzz')).toBe(2);
  expect(await redis.unlink('d')).toBe(1);
  expect(await redis.dbsize()).toBe(1);
  expect(await redis.type('e')).toBe('string');
  expect(await redis.type('nothing')).toBe('none');
});

test('SET options: NX, XX, GET, EX/PX/EXAT/PXAT, KEEPTTL', async () => {
  expect(await redis.set('k', 'v1', 'NX')).toBe('OK');
  expect(await redis.set('k', 'v2', 'NX')).toBeNull();
  expect(await redis.set('k2', 'v', 'XX')).toBeNull();
  expect(await redis.set('k', 'v3', 'XX', 'GET')).toBe('v1');
  expect(await redis.set('k', 'v4', 'EX', 100)).toBe('OK');
  expect(await redis.ttl('k')).toBe(100);
  expect(await redis.set('k', 'v5', 'KEEPTTL')).toBe('OK');
  expect(await redis.ttl('k')).toBe(100);
  expect(await redis.set('k', 'v6')).toBe('OK');
  expect(await redis.ttl('k')).toBe(-1);
  await redis.set('k', 'v', 'PX', 50_000);
  expect(await redis.pttl('k')).toBeGreaterThan(49_000);
  await redis.set('k', 'v', 'EXAT', Math.floor(Date.now() / 1000) + 30);
  expect(await redis.ttl('k')).toBeGreaterThan(28);
  await redis.set('k', 'v', 'PXAT', Date.now() + 20_000);
  expect(await redis.ttl('k')).toBe(20);
  await expect(redis.set('k', 'v', 'EX', 0)).rejects.toThrow("ERR invalid expire time in 'set' command");
  await expect(redis.set('k', 'v', 'EX', 'abc')).rejects.toThrow('ERR value is not an integer or out of range');
  await expect(redis.call('set', 'k', 'v', 'NX', 'XX')).rejects.toThrow('ERR syntax error');
  await expect(redis.call('set', 'k', 'v', 'EX', '10', 'KEEPTTL')).rejects.toThrow('ERR syntax error');
});

test('expiry: EXPIRE family, PERSIST, TTL/PTTL, GETEX, and lazy expiry', async () => {
  await redis.set('e', 'v');
  expect(await redis.expire('e', 100)).toBe(1);
  expect(await redis.expire('e', 200, 'NX')).toBe(0);
  expect(await redis.expire('e', 50, 'GT')).toBe(0);
  expect(await redis.expire('e', 50, 'LT')).toBe(1);
  expect(await redis.ttl('e')).toBe(50);
  expect(await redis.persist('e')).toBe(1);
  expect(await redis.persist('e')).toBe(0);
  expect(await redis.ttl('e')).toBe(-1);
  expect(await redis.ttl('nope')).toBe(-2);
  expect(await redis.pexpireat('e', Date.now() + 10_000)).toBe(1);
  expect(await redis.expireat('e', Math.floor(Date.now() / 1000) + 60)).toBe(1);
  expect(await redis.getex('e', 'PERSIST')).toBe('v');
  expect(await redis.ttl('e')).toBe(-1);
  expect(await redis.getex('e', 'PX', 100)).toBe('v');
  await sleep(150);
  expect(await redis.get('e')).toBeNull();
  expect(await redis.exists('e')).toBe(0);
  await redis.set('gone', 'v');
  expect(await redis.expire('gone', -1)).toBe(1);
  expect(await redis.exists('gone')).toBe(0);
  expect(await redis.expire('nope', 10)).toBe(0);
});

test('counters: INCR/DECR/INCRBY/DECRBY/INCRBYFLOAT and their errors', async () => {
  expect(await redis.incr('n')).toBe(1);
  expect(await redis.incrby('n', 41)).toBe(42);
  expect(await redis.decr('n')).toBe(41);
  expect(await redis.decrby('n', 40)).toBe(1);
  expect(await redis.incrbyfloat('f', '10.5')).toBe('10.5');
  expect(await redis.incrbyfloat('f', '0.1')).toBe('10.6');
  expect(await redis.incrbyfloat('f', '-5')).toBe('5.6');
  await redis.set('s', 'abc');
  await expect(redis.incr('s')).rejects.toThrow('ERR value is not an integer or out of range');
  await expect(redis.incrbyfloat('s', '1')).rejects.toThrow('ERR value is not a valid float');
  await redis.set('big', '9223372036854775807');
  await expect(redis.incr('big')).rejects.toThrow('ERR increment or decrement would overflow');
  expect(await redis.decrby('big', '9223372036854775807')).toBe(0);
  await redis.set('pad', ' 1');
  await expect(redis.incr('pad')).rejects.toThrow('ERR value is not an integer or out of range');
});

test('pipelines keep reply order', async () => {
  const p = redis.pipeline();
  for (let i = 0; i < 500; i++) p.set(`p${i}`, `v${i}`).get(`p${i}`).incr('count');
  const results = await p.exec();
  expect(results).toHaveLength(1500);
  for (let i = 0; i < 500; i++) {
    expect(results![3 * i]).toEqual([null, 'OK']);
    expect(results![3 * i + 1]).toEqual([null, `v${i}`]);
    expect(results![3 * i + 2]).toEqual([null, i + 1]);
  }
});

test('MULTI/EXEC, DISCARD, EXECABORT, and WATCH conflicts', async () => {
  expect(await redis.multi().set('t', '1').incr('t').get('t').exec()).toEqual([[null, 'OK'], [null, 2], [null, '2']]);
  // A runtime error inside EXEC is reported per command.
  await redis.set('str', 'x');
  const r = await redis.multi().incr('str').set('after', 'y').exec();
  expect((r![0][0] as Error).message).toBe('ERR value is not an integer or out of range');
  expect(r![1]).toEqual([null, 'OK']);
  // A queue-time error aborts the transaction.
  const raw1 = await raw('MULTI\r\nSET a\r\nEXEC\r\n');
  expect(raw1.text).toBe("+OK\r\n-ERR wrong number of arguments for 'set' command\r\n-EXECABORT Transaction discarded because of previous errors.\r\n");
  expect((await raw('EXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nDISCARD\r\n')).text).toBe(
    '-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n-ERR MULTI calls can not be nested\r\n+OK\r\n');

  // WATCH: another client's write makes EXEC return null.
  const other = new Redis({ port: server.respPort, host: '127.0.0.1' });
  try {
    await redis.set('w', '1');
    await redis.watch('w');
    await other.set('w', '2');
    expect(await redis.multi().set('w', '3').exec()).toBeNull();
    expect(await redis.get('w')).toBe('2');
    await redis.watch('w');
    expect(await redis.multi().set('w', '4').exec()).toEqual([[null, 'OK']]);
    await redis.watch('w');
    expect(await redis.unwatch()).toBe('OK');
    await other.set('w', '5');
    expect(await redis.multi().set('w', '6').exec()).toEqual([[null, 'OK']]);
    // Expiry counts as a change too.
    await redis.set('w', 'x', 'PX', 30);
    await redis.watch('w');
    await sleep(60);
    expect(await redis.multi().get('w').exec()).toBeNull();
    // A key absent when watched, then SET and DEL'd by another client, is absent again at EXEC: changed all the same.
    await redis.del('gone');
    await redis.watch('gone');
    await other.set('gone', '1');
    await other.del('gone');
    expect(await redis.multi().set('gone', 'mine').exec()).toBeNull();
    expect(await redis.exists('gone')).toBe(0);
    // Deleted and written again: changed (the version grew).
    await redis.set('back', '1');
    await redis.watch('back');
    await other.del('back');
    await other.set('back', '1');
    expect(await redis.multi().get('back').exec()).toBeNull();
    // FLUSHDB changes every watched key that existed; an untouched watch still executes.
    await redis.set('f', '1');
    await redis.watch('f');
    await other.flushdb();
    expect(await redis.multi().get('f').exec()).toBeNull();
    await redis.watch('quiet');
    await other.set('elsewhere', '1');
    expect(await redis.multi().get('quiet').exec()).toEqual([[null, null]]);
  } finally {
    other.disconnect();
  }
});

test('WATCH and used_memory see aggregates changed in place; a write that changes nothing leaves the watch intact', async () => {
  const other = new Redis({ port: server.respPort, host: '127.0.0.1' });
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  try {
    await redis.del('wl', 'wh', 'ws');
    await redis.rpush('wl', 'a');
    await redis.hset('wh', 'f', 'v');
    await redis.sadd('ws', 'm');
    // Each existing value is changed in place by another client: the watch fails.
    for (const [key, change] of [
      ['wl', () => other.lpush('wl', 'b')],
      ['wh', () => other.hset('wh', 'g', 'w')],
      ['ws', () => other.sadd('ws', 'n')],
      ['wl', () => other.lpop('wl')],
    ] as const) {
      await redis.watch(key);
      await change();
      expect(await redis.multi().exists(key).exec()).toBeNull();
    }
    // Commands that change nothing (absent member, existing member) do not touch the key, as in Redis.
    await redis.watch('ws');
    expect(await other.srem('ws', 'absent')).toBe(0);
    expect(await other.sadd('ws', 'm')).toBe(0);
    expect(await redis.multi().scard('ws').exec()).toEqual([[null, 2]]);
    // In-place growth is accounted: 1,000 elements of 100 bytes add at least 100 kB.
    const before = await used();
    const p = other.pipeline();
    for (let i = 0; i < 1000; i++) p.rpush('wl', 'x'.repeat(100));
    await p.exec();
    expect(await used() - before).toBeGreaterThanOrEqual(100_000);
    await other.del('wl');
    expect(await used()).toBeLessThan(before);
  } finally {
    other.disconnect();
  }
});

test('SCAN walks every key once with MATCH and COUNT; KEYS and RANDOMKEY', async () => {
  const p = redis.pipeline();
  for (let i = 0; i < 1000; i++) p.set(`user:${i}`, 'x');
  for (let i = 0; i < 100; i++) p.set(`other:${i}`, 'x');
  await p.exec();
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'user:*', 'COUNT', 100);
    keys.forEach((k) => seen.add(k));
    cursor = next;
  } while (cursor !== '0');
  expect(seen.size).toBe(1000);
  expect([...seen].every((k) => k.startsWith('user:'))).toBe(true);
  expect((await redis.keys('other:?')).sort()).toEqual(['other:0', 'other:1', 'other:2', 'other:3', 'other:4', 'other:5', 'other:6', 'other:7', 'other:8', 'other:9']);
  expect(await redis.keys('other:[1-2]0')).toEqual(expect.arrayContaining(['other:10', 'other:20']));
  const rk = await redis.randomkey();
  expect(rk).toMatch(/^(user|other):/);
  await expect(redis.scan('abc')).rejects.toThrow('ERR invalid cursor');
});

test('big values and binary keys round-trip byte for byte', async () => {
  const big = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  await redis.set('big', big);
  expect((await redis.getBuffer('big'))!.equals(big)).toBe(true);
  expect(await redis.strlen('big')).toBe(big.length);
  const key = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, 0x80]);
  const value = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 0x0d, 0x0a]);
  await redis.set(key, value);
  expect((await redis.getBuffer(key))!.equals(value)).toBe(true);
  const [, keys] = await redis.scanBuffer('0', 'COUNT', 1000);
  expect(keys.some((k) => k.equals(key))).toBe(true);
  expect(await redis.append('big', 'tail')).toBe(big.length + 4);
  expect((await redis.getrangeBuffer('big', -6, -1)).equals(Buffer.concat([big.subarray(-2), Buffer.from('tail')]))).toBe(true);
});

test('server commands: PING, ECHO, INFO, CONFIG GET, COMMAND, CLIENT, SELECT, DBSIZE', async () => {
  expect(await redis.ping()).toBe('PONG');
  expect(await redis.ping('hi')).toBe('hi');
  expect(await redis.echo('e')).toBe('e');
  const info = await redis.info();
  expect(info).toContain('redis_version:');
  expect(info).toContain('# Keyspace');
  expect(info).toContain('loading:0');
  expect(await redis.info('memory')).toMatch(/^# Memory\r\nused_memory:\d+/);
  expect(await redis.config('GET', 'maxmemory*')).toEqual(expect.arrayContaining(['maxmemory', 'maxmemory-policy', 'allkeys-lru']));
  expect(await redis.call('command', 'count')).toBeGreaterThan(40);
  const infoGet = (await redis.call('command', 'info', 'get')) as unknown[][];
  expect(infoGet[0].slice(0, 2)).toEqual(['get', 2]);
  expect(await redis.client('SETNAME', 'tester')).toBe('OK');
  expect(await redis.client('GETNAME')).toBe('tester');
  const id = await redis.client('ID');
  expect(await redis.client('LIST')).toContain(`id=${id} `);
  expect(await redis.client('INFO')).toContain('name=tester');
  expect(await redis.select(0)).toBe('OK');
  await expect(redis.select(16)).rejects.toThrow('ERR DB index is out of range');
  await expect(redis.call('client', 'bogus')).rejects.toThrow("ERR unknown subcommand 'bogus'. Try CLIENT HELP.");
  await expect(redis.call('config', 'set', 'port', '1')).rejects.toThrow('ERR CONFIG SET failed (possibly related to argument \'port\') - can\'t set immutable config');
});

test('unknown commands and wrong arity use Redis\'s wording', async () => {
  await expect(redis.call('nosuch', 'h', 'f', 'v')).rejects.toThrow("ERR unknown command 'nosuch', with args beginning with: 'h' 'f' 'v' ");
  await expect(redis.call('get')).rejects.toThrow("ERR wrong number of arguments for 'get' command");
  await expect(redis.call('mset', 'a')).rejects.toThrow("ERR wrong number of arguments for 'mset' command");
});

test('inline commands with quotes, like redis-cli and telnet', async () => {
  const r = await raw('SET "a b" \'c d\'\r\nGET "a b"\r\nPING\r\n\r\nECHO "x\\ny"\n');
  expect(r.text).toBe('+OK\r\n$3\r\nc d\r\n+PONG\r\n$3\r\nx\ny\r\n');
});

test('malformed input gets a protocol error and closes only that connection', async () => {
  const cases: Array<[string, string]> = [
    ['*1\r\n:5\r\n', "-ERR Protocol error: expected '$', got ':'\r\n"],
    ['*abc\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
    ['*1\r\n$-5\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
    ['*1\r\n$999999999999\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
    ['SET "unbalanced\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
  ];
  for (const [input, expected] of cases) {
    const r = await raw(input);
    expect(r.text).toBe(expected);
    expect(r.closed).toBe(true);
  }
  const tooLong = await raw('x'.repeat(70 * 1024));
  expect(tooLong.text).toBe('-ERR Protocol error: too big inline request\r\n');
  expect(await redis.ping()).toBe('PONG');
});

test('commands split across many small writes still parse', async () => {
  const value = 'v'.repeat(100_000);
  const cmd = Buffer.from(`*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$${value.length}\r\n${value}\r\n*2\r\n$3\r\nGET\r\n$5\r\nsplit\r\n`);
  const expected = `+OK\r\n$${value.length}\r\n${value}\r\n`;
  const s = connect(server.respPort, '127.0.0.1');
  let out = '';
  s.on('data', (d: Buffer) => {
    out += d.toString('latin1');
  });
  for (let off = 0; off < cmd.length;) {
    const n = 1 + Math.floor(Math.random() * 7000);
    s.write(cmd.subarray(off, off + n));
    off += n;
    await new Promise((r) => setImmediate(r));
  }
  for (let i = 0; i < 100 && out.length < expected.length; i++) await sleep(20);
  s.destroy();
  expect(out).toBe(expected);
});

test('QUIT answers OK then closes; RESET returns the connection to its initial state', async () => {
  const r = await raw('QUIT\r\nPING\r\n');
  expect(r.text).toBe('+OK\r\n');
  expect(r.closed).toBe(true);
  expect((await raw('HELLO 3\r\nRESET\r\nPING\r\n')).text).toMatch(/\+RESET\r\n\+PONG\r\n$/);
});

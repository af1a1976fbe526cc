/* eslint-disable no-bitwise */ // the PRNG
import { connect } from 'node:net';
import Redis from 'ioredis';
import { sleep, startTestServer } from './helpers';
import { prng } from './prng';
import { StateCache } from '../src/server';

/*
 * Fuzzing: 100 000 random and mutated RESP frames and 5 000 HTTP requests
 * against one server, while a healthy client keeps talking to it. The server
 * must stay up, keep answering, and keep its memory bounded.
 */


const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const rnd = prng(SEED);
const int = (n: number) => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

const NAMES = ['GET', 'SET', 'DEL', 'INCR', 'INCRBYFLOAT', 'APPEND', 'SETRANGE', 'GETRANGE', 'MSET', 'MGET', 'EXPIRE', 'PEXPIRE', 'TTL', 'SCAN', 'KEYS',
  'MULTI', 'EXEC', 'DISCARD', 'WATCH', 'PING', 'ECHO', 'HELLO', 'AUTH', 'SELECT', 'INFO', 'COMMAND', 'CONFIG', 'GETEX', 'GETDEL', 'EXISTS', 'TYPE',
  'STRLEN', 'DBSIZE', 'RANDOMKEY', 'RESET', 'QUIT', 'NOSUCH', 'set', 'gEt', '',
  'SETNX', 'GETSET', 'TIME', 'RENAME', 'RENAMENX', 'COPY', 'TOUCH', 'OBJECT', 'MEMORY', 'EXPIRETIME', 'PEXPIRETIME',
  'EVAL', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'SCRIPT', 'EVAL', 'EVAL', 'SUBSCRIBE', 'PSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'PUBLISH', 'SPUBLISH',
  'SSUBSCRIBE', 'PUBSUB',
  // The data types (blocking pops left out: a random timeout of 0 would park the fuzzing connection for good).
  'HSET', 'HGET', 'HGETALL', 'HDEL', 'HINCRBY', 'HINCRBYFLOAT', 'HSCAN', 'HRANDFIELD', 'LPUSH', 'RPUSH', 'LPOP', 'LRANGE', 'LSET',
  'LREM', 'LTRIM', 'LMOVE', 'LPOS', 'SADD', 'SREM', 'SPOP', 'SRANDMEMBER', 'SINTERSTORE', 'SUNION', 'SDIFF', 'SSCAN', 'ZADD', 'ZINCRBY',
  'ZRANGE', 'ZRANGEBYLEX', 'ZREVRANGEBYSCORE', 'ZPOPMIN', 'ZREMRANGEBYSCORE', 'ZREMRANGEBYRANK', 'ZSCAN', 'ZMSCORE',
  // Streams and consumer groups (BLOCK is not among the random words, so XREAD / XREADGROUP answer at once).
  'XADD', 'XRANGE', 'XDEL', 'XTRIM', 'XREAD', 'XGROUP', 'XREADGROUP', 'XACK', 'XPENDING', 'XCLAIM', 'XAUTOCLAIM', 'XINFO'];

/** Scripts for EVAL (none loops: the loop is its own test below). */
const SCRIPTS = ['return 1', 'return redis.call("GET", KEYS[1])', 'redis.call("SET", KEYS[1], ARGV[1]) return redis.call("INCR", KEYS[1])',
  'return {', 'return redis.pcall("NOSUCH")', 'return string.rep("x", 2^31)', 'local t = {} for i = 1, 1e5 do t[i] = i end return #t',
  'return redis.call("RENAME", KEYS[1], ARGV[1])', 'x = 1', 'return {1, {2, {3}}, false, {ok = "y"}, {err = "E z"}}', 'error({})',
  'return redis.call("PUBLISH", "c", ARGV[1])', 'return redis.sha1hex(ARGV[1])', '#!lua flags=no-writes\nreturn redis.call("DEL", KEYS[1])',
  'return redis.call(unpack(ARGV))', 'return tostring(redis.call("TIME")[1] ~= nil)'];

function randomBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
}

function randomArg(): Buffer {
  switch (int(9)) {
    case 0: return Buffer.from(String(int(2000) - 1000));
    case 8: return Buffer.from(pick(SCRIPTS));
    case 1: return Buffer.from(pick(['EX', 'PX', 'NX', 'XX', 'GET', 'KEEPTTL', 'MATCH', 'COUNT', '*', '3', '-1', '9223372036854775808', '1e400', 'nan',
      'WITHSCORES', 'BYSCORE', 'BYLEX', 'REV', 'LIMIT', 'LEFT', 'RIGHT', 'RANK', 'MAXLEN', 'INCR', 'GT', 'CH', '(1', '[a', '-', '+', '-inf', '+inf',
      'CREATE', 'SETID', 'DESTROY', 'CREATECONSUMER', 'DELCONSUMER', 'MKSTREAM', 'ENTRIESREAD', 'GROUP', 'STREAMS', 'NOACK', '>', '$', '0-0',
      '18446744073709551615-18446744073709551615', 'IDLE', 'TIME', 'RETRYCOUNT', 'FORCE', 'JUSTID', 'LASTID', 'STREAM', 'GROUPS', 'CONSUMERS', 'FULL']));
    case 2: return randomBytes(int(40));
    case 3: return Buffer.from(`key:${int(5000)}`);
    default: return Buffer.from(`k${int(300)}`);
  }
}

function frame(args: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

function mutate(b: Buffer): Buffer {
  const out = Buffer.from(b);
  switch (int(7)) {
    case 0: for (let i = 0; i < 1 + int(3); i++) out[int(out.length)] = int(256); return out;
    case 1: return out.subarray(0, int(out.length));
    case 2: return Buffer.concat([out.subarray(0, int(out.length)), randomBytes(1 + int(16)), out]);
    case 3: return Buffer.from(out.toString('latin1').replace(/\d+/, String(pick([-2, 0, 99999999, 1 << 30, 2 ** 40]))), 'latin1');
    case 4: return Buffer.from(`${pick(NAMES)} ${pick(['"a b', "'x", 'plain', '\\x41', '"\\xZZ"', ''])}\r\n`);
    case 5: return randomBytes(1 + int(64));
    default: return Buffer.concat([out, out]);
  }
}

function nextFrame(): Buffer {
  const args: Buffer[] = [Buffer.from(pick(NAMES))];
  for (let i = int(5); i > 0; i--) args.push(randomArg());
  const f = frame(args);
  return rnd() < 0.5 ? f : mutate(f);
}

/** Sends a batch of frames on one connection; resolves when the server closes it or after a short while. */
function blast(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 150);
    s.on('close', done);
    s.write(data);
  });
}

function httpRequest(): Buffer {
  const method = pick(['GET', 'PUT', 'DELETE', 'HEAD', 'POST', 'PATCH', 'G\x00T', '']);
  const path = pick(['/v1/keys/a', '/v1/keys/%zz', '/v1/keys/', `/v1/keys/${int(100)}?ttl=${pick(['1', '-1', 'x', '99999999999999'])}`, '/metrics', '/healthz', '/readyz', '/' + randomBytes(int(20)).toString('latin1'), '*']);
  const body = rnd() < 0.5 ? randomBytes(int(200)) : Buffer.alloc(0);
  const headers = ['Host: x', rnd() < 0.5 ? `Content-Length: ${pick([body.length, body.length + 10, -1, 'abc'])}` : '', rnd() < 0.3 ? `If-Match: ${pick(['*', '"1"', 'garbage', ''])}` : '',
    rnd() < 0.2 ? 'Transfer-Encoding: chunked' : ''].filter((h) => h !== '');
  const req = Buffer.concat([Buffer.from(`${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
  return rnd() < 0.4 ? mutate(req) : req;
}

let server: StateCache;

beforeAll(async () => {
  server = await startTestServer({ memory: { maxEntries: 20000 }, limits: { maxBulkBytes: 1024 * 1024, maxArgs: 4096 } });
});

afterAll(async () => {
  await server.close();
});

test(`100 000 fuzzed RESP frames and 5 000 HTTP requests leave the server up and bounded (seed ${SEED})`, async () => {
  const healthy = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  let healthyOk = 0;
  let running = true;
  const healthErrors: string[] = [];
  const heartbeat = (async () => {
    for (let i = 0; running; i++) {
      try {
        await healthy.set('healthy', String(i));
        const v = await healthy.get('healthy');
        if (v !== String(i)) healthErrors.push(`GET returned ${v} for ${i}`);
        else healthyOk++;
      } catch (e) {
        healthErrors.push((e as Error).message);
      }
      await sleep(20);
    }
  })();

  // Warm up, then measure memory growth across the fuzzing.
  const before = process.memoryUsage();
  const FRAMES = 100_000;
  const PER_CONNECTION = 250;
  const batches: Buffer[] = [];
  for (let sent = 0; sent < FRAMES; sent += PER_CONNECTION) {
    const frames: Buffer[] = [];
    for (let i = 0; i < PER_CONNECTION; i++) frames.push(nextFrame());
    batches.push(Buffer.concat(frames));
  }
  const CONCURRENCY = 8;
  for (let i = 0; i < batches.length; i += CONCURRENCY) {
    await Promise.all(batches.slice(i, i + CONCURRENCY).map((b) => blast(server.respPort, b)));
  }
  const httpBatches: Buffer[] = [];
  for (let i = 0; i < 5000; i += 25) {
    const reqs: Buffer[] = [];
    for (let j = 0; j < 25; j++) reqs.push(httpRequest());
    httpBatches.push(Buffer.concat(reqs));
  }
  for (let i = 0; i < httpBatches.length; i += CONCURRENCY) {
    await Promise.all(httpBatches.slice(i, i + CONCURRENCY).map((b) => blast(server.httpPort, b)));
  }
  running = false;
  await heartbeat;

  expect(healthErrors).toEqual([]);
  expect(healthyOk).toBeGreaterThan(10);
  expect(await healthy.ping()).toBe('PONG');
  expect((await fetch(`http://127.0.0.1:${server.httpPort}/healthz`)).status).toBe(200);
  // Fuzz connections are all gone; nothing is left half-parsed.
  await sleep(200);
  expect(server.clients.size).toBe(1);
  expect(server.ks.size).toBeLessThanOrEqual(20000);
  const after = process.memoryUsage();
  expect(after.heapUsed - before.heapUsed).toBeLessThan(150 * 1024 * 1024);
  expect(after.rss - before.rss).toBeLessThan(300 * 1024 * 1024);
  healthy.disconnect();
}, 120_000);

test('a script that loops forever is stopped by the time limit; the server serves again afterwards', async () => {
  const r = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  await r.call('config', 'set', 'busy-reply-threshold', '300');
  const other = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  await other.ping();
  const looping = r.call('eval', 'local i = 0 while true do i = i + 1 end', '0').catch((e: Error) => e.message);
  const meanwhile = other.ping(); // queued behind the script: single-threaded, as in Redis
  expect(await looping).toMatch(/^BUSY script stopped: it ran longer than the script time limit \(300 ms/);
  expect(await meanwhile).toBe('PONG');
  expect(await r.call('eval', 'return 42', '0')).toBe(42);
  await r.call('config', 'set', 'busy-reply-threshold', '5000');
  r.disconnect();
  other.disconnect();
});

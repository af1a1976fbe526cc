/**
 * CLIENT TRACKING (server-assisted client-side caching): the exact bytes
 * state-cache sends for each mode, the same as redis-server's where it is
 * installed (the same commands on raw connections to both), node-redis's
 * client-side cache working unchanged, and changes that are not client
 * writes (expiry, eviction) named too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { sleep, startTestServer } from './helpers';
import { TestRedis } from './stores/servers';
import { needs } from './tools';
import { StateCache } from '../src/server';

jest.setTimeout(60_000);

/** A raw RESP connection: send one command, read what arrives until the line is quiet. */
class Raw {
  static async open(port: number): Promise<Raw> {
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
    return new Raw(s);
  }
  private buf = '';
  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => { this.buf += d.toString('latin1'); });
  }
  /** Sends the command and returns everything received within `quietMs` after it (a reply and any pushes). */
  async send(...args: string[]): Promise<string> {
    this.socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`);
    for (let waited = 0; this.buf.length === 0 && waited < 5000; waited += 5) await sleep(5);
    return this.drain();
  }
  /** What arrived, once nothing more came for `quietMs` ('' when nothing came). */
  async drain(quietMs = 100): Promise<string> {
    let seen = -1;
    while (seen !== this.buf.length) {
      seen = this.buf.length;
      await sleep(quietMs);
    }
    const out = this.buf;
    this.buf = '';
    return out;
  }
  close(): void {
    this.socket.destroy();
  }
}

const PUSH = (keys: string[] | null) => `>2\r\n$10\r\ninvalidate\r\n${keys === null ? '_\r\n' : `*${keys.length}\r\n${keys.map((k) => `$${k.length}\r\n${k}\r\n`).join('')}`}`;

/** The scenarios, each a list of steps on named connections; the transcript is compared between servers. */
type Step = [conn: 'a' | 'b' | 'r', ...args: string[]];
const SCENARIOS: Record<string, Step[]> = {
  'default mode, RESP3: a read key is named once when it changes, after the reply': [
    ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'on'], ['a', 'SET', 'a', '1'], ['a', 'GET', 'a'], ['b', 'SET', 'a', '2'],
    ['a', 'PING'], ['b', 'SET', 'a', '3'], ['a', 'PING'], ['a', 'GET', 'a'], ['a', 'SET', 'a', '4'], ['a', 'MGET', 'x', 'y'],
    ['b', 'MSET', 'x', '1', 'y', '2'], ['a', 'GET', 'x'], ['b', 'DEL', 'x'], ['a', 'GET', 'y'], ['b', 'FLUSHALL'], ['a', 'PING'],
  ],
  'BCAST with prefixes: every change under them, one message per prefix': [
    ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'p:', 'PREFIX', 'q:'], ['b', 'MSET', 'p:1', '1', 'p:2', '2', 'q:1', '1', 'z', '1'],
    ['a', 'PING'], ['b', 'DEL', 'p:1', 'z'], ['a', 'PING'], ['a', 'SET', 'q:2', 'x'], ['b', 'HSET', 'p:h', 'f', 'v'], ['a', 'PING'],
    ['b', 'EXPIRE', 'q:1', '100'], ['a', 'PING'], ['a', 'CLIENT', 'TRACKINGINFO'], ['a', 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'r:'],
    ['a', 'CLIENT', 'TRACKINGINFO'],
  ],
  'NOLOOP: own writes are not named': [
    ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'on', 'BCAST', 'NOLOOP'], ['a', 'SET', 'n', '1'], ['a', 'PING'], ['b', 'SET', 'n', '2'], ['a', 'PING'],
  ],
  'OPTIN and OPTOUT with CLIENT CACHING': [
    ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'on', 'OPTIN'], ['a', 'GET', 'o1'], ['a', 'CLIENT', 'CACHING', 'yes'], ['a', 'GET', 'o2'],
    ['a', 'CLIENT', 'TRACKINGINFO'], ['b', 'MSET', 'o1', '1', 'o2', '2'], ['a', 'PING'], ['a', 'CLIENT', 'CACHING', 'no'], ['a', 'CLIENT', 'TRACKING', 'off'],
    ['a', 'CLIENT', 'TRACKING', 'on', 'OPTOUT'], ['a', 'CLIENT', 'CACHING', 'no'], ['a', 'GET', 'o3'], ['a', 'GET', 'o4'], ['b', 'MSET', 'o3', '1', 'o4', '2'],
    ['a', 'PING'], ['a', 'CLIENT', 'GETREDIR'],
  ],
  'RESP2 redirect to a subscriber of __redis__:invalidate': [
    ['r', 'SUBSCRIBE', '__redis__:invalidate'], ['a', 'CLIENT', 'TRACKING', 'on', 'REDIRECT', '$r'], ['a', 'GET', 'k'], ['a', 'CLIENT', 'GETREDIR'],
    ['b', 'SET', 'k', '1'], ['r', 'PING'], ['b', 'FLUSHALL'], ['r', 'PING'], ['a', 'CLIENT', 'TRACKINGINFO'],
  ],
  'OPTIN with CLIENT CACHING yes covers a whole transaction; reads inside scripts are tracked; BCAST again adds every key': [
    ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'on', 'OPTIN'], ['a', 'CLIENT', 'CACHING', 'yes'], ['a', 'MULTI'], ['a', 'GET', 'm'], ['a', 'GET', 'm2'],
    ['a', 'EXEC'], ['a', 'GET', 'after'], ['b', 'MSET', 'm', '1', 'm2', '2', 'after', '3'], ['a', 'PING'], ['a', 'CLIENT', 'TRACKING', 'off'],
    ['a', 'CLIENT', 'TRACKING', 'on'], ['a', 'EVAL', 'return redis.call(\'GET\', KEYS[1])', '1', 's'], ['b', 'SET', 's', '1'], ['a', 'PING'],
    ['a', 'CLIENT', 'TRACKING', 'off'], ['a', 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'x'], ['a', 'CLIENT', 'TRACKING', 'on', 'BCAST'],
    ['a', 'CLIENT', 'TRACKINGINFO'], ['b', 'SET', 'y', '1'], ['a', 'PING'],
  ],
  'errors, as Redis words them': [
    ['a', 'CLIENT', 'TRACKING'], ['a', 'CLIENT', 'TRACKING', 'maybe'], ['a', 'CLIENT', 'TRACKING', 'on', 'FOO'], ['a', 'CLIENT', 'TRACKING', 'on', 'PREFIX', 'a'],
    ['a', 'CLIENT', 'TRACKING', 'on', 'OPTIN', 'OPTOUT'], ['a', 'CLIENT', 'TRACKING', 'on', 'BCAST', 'OPTIN'], ['a', 'CLIENT', 'TRACKING', 'on', 'REDIRECT', '987654'],
    ['a', 'CLIENT', 'TRACKING', 'on', 'REDIRECT', 'abc'], ['a', 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'a', 'PREFIX', 'ab'],
    ['a', 'CLIENT', 'CACHING', 'yes'], ['a', 'CLIENT', 'GETREDIR'], ['a', 'CLIENT', 'TRACKINGINFO'],
    ['a', 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'x'], ['a', 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'xy'], ['a', 'CLIENT', 'TRACKING', 'on'],
    ['a', 'CLIENT', 'CACHING', 'yes'], ['a', 'CLIENT', 'TRACKING', 'off'], ['a', 'CLIENT', 'TRACKING', 'on', 'OPTIN'], ['a', 'CLIENT', 'CACHING', 'no'],
    ['a', 'CLIENT', 'CACHING', 'maybe'],
  ],
};

/** Runs a scenario on a server; returns the transcript (HELLO's reply left out: it names the server). */
async function transcript(port: number, steps: Step[]): Promise<string[]> {
  const conns = { a: await Raw.open(port), b: await Raw.open(port), r: await Raw.open(port) };
  const rid = (await conns.r.send('CLIENT', 'ID')).replace(/\D/g, '');
  const out: string[] = [];
  try {
    await conns.a.send('FLUSHALL');
    for (const [conn, ...args] of steps) {
      const reply = await conns[conn].send(...args.map((x) => (x === '$r' ? rid : x)));
      out.push(`${conn}: ${args.join(' ')} -> ${args[0] === 'HELLO' ? '(hello)' : reply.replaceAll(`:${rid}\r\n`, ':$r\r\n')}`);
      // Pushes to the other connections arrive by themselves: collect them too.
      for (const other of ['a', 'r'] as const) {
        if (other === conn) continue;
        const pushed = await conns[other].drain(30);
        if (pushed !== '') out.push(`${other} received: ${pushed}`);
      }
    }
  } finally {
    for (const c of Object.values(conns)) c.close();
  }
  return out;
}

let server: StateCache;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => { await server.close(); });

test('default mode over RESP3: the read key is named after the reply of the write, once; a flush is a null', async () => {
  const t = await transcript(server.respPort, SCENARIOS['default mode, RESP3: a read key is named once when it changes, after the reply']);
  expect(t).toContain(`a received: ${PUSH(['a'])}`); // b's SET a 2, a's copy of a read by GET
  expect(t).toContain(`a: SET a 4 -> +OK\r\n${PUSH(['a'])}`); // its own write: after the reply
  expect(t.filter((l) => l === `a received: ${PUSH(['a'])}`)).toHaveLength(1); // SET a 3: not read again, not named again
  expect(t).toContain(`a received: ${PUSH(null)}`);
});

test('FLUSHALL with persistence is one null message, as in Redis, not a message per key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'state-cache-tracking-'));
  const persistent = await startTestServer({
    stores: { chain: [{ store: { type: 'file', name: 'disk', directory: join(dir, 'level') } }] },
    persistence: { mode: 'write-behind', writeBehind: { deadLetterPath: join(dir, 'dead-letter.jsonl') } },
  });
  const a = await Raw.open(persistent.respPort);
  const b = await Raw.open(persistent.respPort);
  try {
    await a.send('HELLO', '3');
    await a.send('CLIENT', 'TRACKING', 'on', 'BCAST');
    await b.send('MSET', 'k1', '1', 'k2', '2', 'k3', '3');
    expect(await a.drain()).toBe(PUSH(['k1', 'k2', 'k3']));
    expect(await b.send('FLUSHALL')).toBe('+OK\r\n');
    expect(await a.drain()).toBe(PUSH(null));
    expect(await b.send('FLUSHALL')).toBe('+OK\r\n'); // already empty: still named, as Redis does
    expect(await a.drain()).toBe(PUSH(null));
  } finally {
    a.close();
    b.close();
    await persistent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('changes that are not client writes are named too: expiry and eviction', async () => {
  const small = await startTestServer({ memory: { maxEntries: 3 } });
  const a = await Raw.open(small.respPort);
  const b = await Raw.open(small.respPort);
  try {
    await a.send('HELLO', '3');
    expect(await a.send('CLIENT', 'TRACKING', 'on', 'BCAST')).toBe('+OK\r\n');
    await b.send('SET', 'ttl', 'v', 'PX', '1500');
    expect(await a.drain()).toBe(PUSH(['ttl']));
    await sleep(1600);
    expect(await b.send('GET', 'ttl')).toBe('$-1\r\n');
    // Expired by the sweep or by the GET: named once either way.
    expect(await a.drain()).toBe(PUSH(['ttl']));
    await b.send('MSET', 'e1', '1', 'e2', '2', 'e3', '3');
    await a.drain();
    await b.send('SET', 'e4', '4'); // one of e1-e3 is evicted
    const pushed = await a.drain();
    expect(pushed).toMatch(/^>2\r\n\$10\r\ninvalidate\r\n\*2\r\n\$2\r\ne[123]\r\n\$2\r\ne4\r\n$/);
  } finally {
    a.close();
    b.close();
    await small.close();
  }
});

test('NOLOOP spares only the client\'s own writes: an expiry after its command is named to it', async () => {
  const a = await Raw.open(server.respPort);
  try {
    await a.send('HELLO', '3');
    await a.send('CLIENT', 'TRACKING', 'on', 'BCAST', 'NOLOOP');
    expect(await a.send('SET', 'own', '1', 'PX', '1000')).toBe('+OK\r\n'); // its own write: not named
    expect(await a.send('PING')).toBe('+PONG\r\n');
    await sleep(1300); // expired by the sweep (or by the GET below), nobody's own change
    // Everything since the PING: the reply and exactly one invalidation of 'own' (before it if the sweep came first).
    const got = await a.send('EXISTS', 'own');
    expect([PUSH(['own']) + ':0\r\n', ':0\r\n' + PUSH(['own'])]).toContain(got);
  } finally {
    a.close();
  }
});

test('a key this instance does not hold is named when another instance stores a newer version (a cached absence)', async () => {
  const a = await Raw.open(server.respPort);
  try {
    await a.send('HELLO', '3');
    await a.send('CLIENT', 'TRACKING', 'on');
    expect(await a.send('GET', 'elsewhere')).toBe('_\r\n');
    expect(server.ks.invalidate(Buffer.from('elsewhere'), 99)).toBe(false); // coherence: another instance stored it
    expect(await a.drain()).toBe(PUSH(['elsewhere']));
  } finally {
    a.close();
  }
});

test('CLIENT LIST shows tracking (flag t, redir) and a disconnected client stops being tracked', async () => {
  const a = await Raw.open(server.respPort);
  const r = await Raw.open(server.respPort);
  const rid = (await r.send('CLIENT', 'ID')).replace(/\D/g, '');
  await a.send('CLIENT', 'TRACKING', 'on', 'BCAST', 'REDIRECT', rid);
  const line = (await a.send('CLIENT', 'INFO')).split('\r\n')[1];
  expect(line).toMatch(new RegExp(`flags=tB .* redir=${rid} `));
  a.close();
  await sleep(100);
  expect(server.ks.keyWatcher).toBeUndefined(); // no client tracks: the keyspace reports no changes
  r.close();
});

test('a broken redirect is reported to a RESP3 client (tracking-redir-broken)', async () => {
  const a = await Raw.open(server.respPort);
  const r = await Raw.open(server.respPort);
  const b = await Raw.open(server.respPort);
  try {
    const rid = (await r.send('CLIENT', 'ID')).replace(/\D/g, '');
    await a.send('HELLO', '3');
    await a.send('CLIENT', 'TRACKING', 'on', 'BCAST', 'REDIRECT', rid);
    r.close();
    await sleep(100);
    await b.send('SET', 'rb', '1');
    await b.send('SET', 'rb', '2');
    // Once, when the target is first found gone (as Redis does), not with every change.
    expect(await a.drain()).toBe(`>2\r\n$21\r\ntracking-redir-broken\r\n:${rid}\r\n`);
    await b.send('SET', 'rb', '3');
    expect(await a.drain()).toBe('');
    expect(await a.send('CLIENT', 'TRACKINGINFO')).toContain('broken_redirect');
  } finally {
    a.close();
    b.close();
  }
});

test('node-redis client-side caching works unchanged: hits served locally, dropped when another client writes', async () => {
  const cached = createClient({ socket: { port: server.respPort, host: '127.0.0.1', reconnectStrategy: false }, RESP: 3, clientSideCache: { ttl: 0, maxEntries: 0 } });
  const other = createClient({ socket: { port: server.respPort, host: '127.0.0.1', reconnectStrategy: false } });
  await cached.connect();
  await other.connect();
  try {
    await other.set('csc', 'v1');
    expect(await cached.get('csc')).toBe('v1');
    expect(await cached.get('csc')).toBe('v1');
    expect(cached.clientSideCache!.stats().hitCount).toBe(1);
    await other.set('csc', 'v2');
    let seen = '';
    for (let i = 0; i < 50 && seen !== 'v2'; i++) {
      seen = (await cached.get('csc')) as string;
      if (seen !== 'v2') await sleep(20);
    }
    expect(seen).toBe('v2');
  } finally {
    cached.destroy();
    other.destroy();
  }
});

needs('redis-server').describe('the same bytes as redis-server', () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await TestRedis.start(); });
  afterAll(async () => { await redis?.stop(); });

  test.each(Object.keys(SCENARIOS))('%s', async (name) => {
    const expected = await transcript(redis.port, SCENARIOS[name]);
    const actual = await transcript(server.respPort, SCENARIOS[name]);
    expect(actual).toEqual(expected);
  });
});

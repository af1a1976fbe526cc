/**
 * Hashes, lists, sets and sorted sets through persistence, end to end: a real
 * state-cache (keyspace, hooks, persistence) on a real LevelDB store, driven
 * by ioredis. Each aggregate reaches the store as one versioned value in the
 * documented encoding, and comes back by load-on-miss, journal replay,
 * passivation and preload.
 */
import { join } from 'node:path';
import Redis from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { startTestServer } from './helpers';
import { LevelTestStore, tempDir, until } from './persistence/helpers';
import {
  decodeValue, encodeString, encodeValue, ENCODING_MAGIC, HashValue, ListValue, SetValue, STREAM_ENCODING_VERSION, StreamValue,
  T_HASH, T_LIST, T_SET, T_STREAM, T_STRING, T_ZSET, ValueEncodingError, ZSetValue,
} from '../src/keyspace/types';
import { KeyspaceHooks, Persistence } from '../src/persistence';
import { parsePersistenceConfig } from '../src/persistence/config';
import { StateCache } from '../src/server';

let t: ReturnType<typeof tempDir>;
const open: Array<{ server: StateCache; p: Persistence; client: Redis; store: LevelTestStore }> = [];

beforeEach(() => { t = tempDir('types-persist-'); });
afterEach(async () => {
  for (const o of open.splice(0)) await stop(o);
  t.cleanup();
});

async function stop(o: { server: StateCache; p: Persistence; client: Redis; store: LevelTestStore }): Promise<void> {
  if (o.client.status !== 'end') o.client.disconnect();
  await o.server.close();
  await o.p.close(5000);
  await o.store.close?.();
}

/** A state-cache wired as main.ts wires it, on the LevelDB at t.dir/level. */
async function start(persistence: Record<string, any>, memory: Record<string, unknown> = {}) {
  const hooks = new KeyspaceHooks();
  const server = await startTestServer({ memory }, hooks);
  const store = new LevelTestStore(join(t.dir, 'level'));
  const ks = server.ks;
  const p = await Persistence.start({
    config: parsePersistenceConfig({
      ...persistence,
      writeBehind: { deadLetterPath: join(t.dir, 'dl.jsonl'), flushIntervalMs: 5, ...persistence.writeBehind },
      journal: { dir: join(t.dir, 'journal'), ...persistence.journal },
    }),
    links: [{ store, required: true, preload: persistence.preload?.enabled === true }],
    keyspace: {
      applyEntry: (e) => { ks.insertLoaded(e); return true; },
      observeVersion: (v) => ks.versions.observe(v),
      maxEntries: Number.MAX_SAFE_INTEGER,
      maxBytes: ks.maxBytes || 2 ** 30,
      expiryInUse: false,
    },
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
  });
  hooks.attach(p);
  const client = new Redis({ port: server.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  const o = { server, p, client, store };
  open.push(o);
  return o;
}

async function fill(c: Redis): Promise<void> {
  await c.hset('h', { a: '1', b: 'two', bin: '\u0000\u00ff' });
  await c.rpush('l', 'x', 'y', 'z');
  await c.lpush('l', 'w');
  await c.sadd('s', 'm1', 'm2', 'm3');
  await c.zadd('z', 1, 'one', 2.5, 'two', -3, 'minus');
  await c.hincrby('h', 'n', 41);
  await c.hincrby('h', 'n', 1);
  await c.lpop('l');
  await c.srem('s', 'm2');
  await c.zincrby('z', 10, 'one');
}

async function check(c: Redis): Promise<void> {
  expect(await c.hgetall('h')).toEqual({ a: '1', b: 'two', bin: '\u0000\u00ff', n: '42' });
  expect(await c.lrange('l', 0, -1)).toEqual(['x', 'y', 'z']);
  expect((await c.smembers('s')).sort()).toEqual(['m1', 'm3']);
  expect(await c.zrange('z', 0, -1, 'WITHSCORES')).toEqual(['minus', '-3', 'two', '2.5', 'one', '11']);
  expect(await c.type('h')).toBe('hash');
  expect(await c.type('z')).toBe('zset');
}

test('write-through: every aggregate is one versioned value in the store, in the documented encoding; a new instance loads it on miss', async () => {
  const a = await start({ mode: 'write-through' });
  await fill(a.client);
  await check(a.client);
  const stored = await a.store.load(Buffer.from('h'));
  expect(stored!.value.subarray(0, 4)).toEqual(ENCODING_MAGIC);
  expect(stored!.value[4]).toBe(1); // encoding version
  expect(stored!.version).toBe(a.server.ks.versionOf(a.server.ks.find('h')));
  const h = decodeValue(stored!.value, 'h');
  expect(h.type).toBe(T_HASH);
  // Fields and values are bytes (binary strings): ioredis sent the UTF-8 of '\u00ff'.
  expect((h.value as HashValue).entries()).toEqual([['a', '1'], ['b', 'two'], ['bin', Buffer.from('\u0000\u00ff').toString('latin1')], ['n', '42']]);
  expect(decodeValue((await a.store.load(Buffer.from('l')))!.value, 'l').type).toBe(T_LIST);
  expect(decodeValue((await a.store.load(Buffer.from('s')))!.value, 's').type).toBe(T_SET);
  expect(decodeValue((await a.store.load(Buffer.from('z')))!.value, 'z').type).toBe(T_ZSET);
  // Emptying an aggregate deletes the key in the store too.
  await a.client.hdel('h', 'a', 'b', 'bin', 'n');
  expect(await a.store.load(Buffer.from('h'))).toBeUndefined();
  await a.client.hset('h', { a: '1', b: 'two', bin: '\u0000\u00ff', n: '42' });
  await stop(open.pop()!);

  const b = await start({ mode: 'write-through' });
  expect(b.server.ks.size).toBe(0);
  await check(b.client);
  // WRONGTYPE holds for loaded values; a string stays a string.
  await expect(b.client.get('h')).rejects.toThrow('WRONGTYPE Operation against a key holding the wrong kind of value');
});

test('write-behind with the journal: acknowledged aggregate writes survive a restart (replayed or flushed)', async () => {
  const a = await start({ mode: 'write-behind', journal: { enabled: true } });
  await fill(a.client);
  await a.client.expire('z', 1000);
  await stop(open.pop()!);
  const b = await start({ mode: 'write-behind', journal: { enabled: true } });
  await check(b.client);
  expect(await b.client.ttl('z')).toBeGreaterThan(900);
});

test('streams: stored as one type-5 value, reloaded whole by a new instance; an emptied stream stays', async () => {
  const a = await start({ mode: 'write-through' });
  await a.client.xadd('st', '1-1', 'a', '1');
  await a.client.xadd('st', '2-0', 'b', '\u00ff', 'c', '');
  await a.client.xadd('gone', '5-5', 'x', 'y');
  await a.client.xdel('gone', '5-5');
  const stored = decodeValue((await a.store.load(Buffer.from('st')))!.value, 'st');
  expect(stored.type).toBe(T_STREAM);
  expect((stored.value as StreamValue).entries.map((e) => e.fields)).toEqual([['a', '1'], ['b', Buffer.from('\u00ff').toString('latin1'), 'c', '']]);
  await stop(open.pop()!);

  const b = await start({ mode: 'write-through' });
  expect(await b.client.xrange('st', '-', '+')).toEqual([['1-1', ['a', '1']], ['2-0', ['b', '\u00ff', 'c', '']]]);
  expect(await b.client.type('gone')).toBe('stream');
  expect(await b.client.xlen('gone')).toBe(0);
  // The last ID survives, so IDs keep growing.
  await expect(b.client.xadd('gone', '5-5', 'x', 'y')).rejects.toThrow('equal or smaller than the target stream top item');
});

test('XSETID reaches the store like the other stream writes: a new instance loads the last ID and counters it set', async () => {
  const a = await start({ mode: 'write-through' });
  await a.client.xadd('sid', '1-1', 'a', '1');
  expect(await a.client.call('xsetid', 'sid', '7-0', 'ENTRIESADDED', '9', 'MAXDELETEDID', '3-0')).toBe('OK');
  const stored = decodeValue((await a.store.load(Buffer.from('sid')))!.value, 'sid').value as StreamValue;
  expect([stored.lastId, stored.entriesAdded, stored.maxDeletedId]).toEqual([{ ms: 7n, seq: 0n }, 9, { ms: 3n, seq: 0n }]);
  await stop(open.pop()!);

  const b = await start({ mode: 'write-through' });
  await expect(b.client.xadd('sid', '6-0', 'x', 'y')).rejects.toThrow('equal or smaller than the target stream top item');
  expect(await b.client.xadd('sid', '7-*', 'x', 'y')).toBe('7-1');
  const info = await b.client.call('xinfo', 'stream', 'sid') as unknown[];
  expect([info[info.indexOf('entries-added') + 1], info[info.indexOf('max-deleted-entry-id') + 1]]).toEqual([10, '3-0']);
  await expect(b.client.call('xsetid', 'nokey', '1-0')).rejects.toThrow('ERR no such key');
});

test('write-through: a transaction wakes blocked clients after EXEC (and its write group), with what it left; a script likewise', async () => {
  const a = await start({ mode: 'write-through' });
  const waiter = new Redis({ port: a.server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  const blocked = async () => {
    for (let tries = 0; !/blocked_clients:1\r\n/.test(await a.client.info('clients')); tries++) {
      if (tries > 500) throw new Error('the waiter never blocked');
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  try {
    const popped = waiter.blpop('tq', 5);
    await blocked();
    expect(await a.client.multi().rpush('tq', 'a', 'b').lpop('tq').exec()).toEqual([[null, 2], [null, 'a']]);
    expect(await popped).toEqual(['tq', 'b']);
    expect(await a.client.exists('tq')).toBe(0);
    const again = waiter.blpop('tq', 5);
    await blocked();
    expect(await a.client.eval("redis.call('rpush', KEYS[1], 'x') redis.call('del', KEYS[1]) redis.call('rpush', KEYS[1], 'y', 'z') return 1", 1, 'tq')).toBe(1);
    expect(await again).toEqual(['tq', 'y']);
    expect(await a.client.lrange('tq', 0, -1)).toEqual(['z']);
    const stored = decodeValue((await a.store.load(Buffer.from('tq')))!.value, 'tq');
    expect(stored.type).toBe(T_LIST);
  } finally {
    waiter.disconnect();
  }
});

test('the stream encoding round-trips counters, groups, consumers and pending entries', () => {
  const v = new StreamValue();
  v.append({ ms: 1n, seq: 0n }, ['f', 'v']);
  v.append({ ms: 18446744073709551615n, seq: 7n }, ['g', '\u0000\u00ff']);
  v.append({ ms: 18446744073709551615n, seq: 9n }, ['h', '']);
  v.delete({ ms: 1n, seq: 0n });
  const g = v.addGroup('grp', { ms: 1n, seq: 0n }, 1);
  const c = v.consumer(g, 'alice', 1234).c;
  v.consumer(g, 'idle', 99);
  // Claimed out of ID order: stored (and read back) in ID order, as Redis's PEL iterates.
  v.claim(g, c, { ms: 18446744073709551615n, seq: 9n }, 6000, () => 1);
  // A delivery count past 32 bits (XCLAIM RETRYCOUNT takes any 64-bit count): version 2 keeps it.
  v.claim(g, c, { ms: 18446744073709551615n, seq: 7n }, 5678, () => 2 ** 40 + 3);
  v.addGroup('empty', { ms: 0n, seq: 0n }, -1);
  const stored = encodeValue(v);
  expect([stored[4], stored[5]]).toEqual([STREAM_ENCODING_VERSION, T_STREAM]);
  const back = decodeValue(stored, 'k').value as StreamValue;
  expect(back.entries).toEqual(v.entries.map((e) => ({ ...e, node: 1 })));
  expect([back.lastId, back.maxDeletedId, back.entriesAdded]).toEqual([v.lastId, v.maxDeletedId, 3]);
  expect([...back.groups.keys()]).toEqual(['grp', 'empty']);
  const bg = back.groups.get('grp')!;
  expect([bg.lastId, bg.entriesRead, back.groups.get('empty')!.entriesRead]).toEqual([{ ms: 1n, seq: 0n }, 1, -1]);
  expect([...bg.pel.values()]).toEqual([
    { id: { ms: 18446744073709551615n, seq: 7n }, consumer: 'alice', deliveredAt: 5678, deliveries: 2 ** 40 + 3 },
    { id: { ms: 18446744073709551615n, seq: 9n }, consumer: 'alice', deliveredAt: 6000, deliveries: 1 },
  ]);
  expect(bg.consumers.get('alice')!.seenAt).toBe(1234);
  expect(bg.consumers.get('alice')!.pending.size).toBe(2);
  expect(bg.consumers.get('idle')).toEqual({ name: 'idle', seenAt: 99, pending: new Map() });
  // Memory accounting is the same whether built by commands or decoded, and grows with the groups.
  expect(back.bytes).toBe(v.bytes);
  const bare = new StreamValue();
  for (const e of v.entries) bare.append(e.id, e.fields);
  expect(v.bytes - bare.bytes).toBeGreaterThan(2 * 200);
  expect(back.mods).toBe(0);
  expect(() => decodeValue(stored.subarray(0, 30), 'k')).toThrow(ValueEncodingError);
  expect(() => decodeValue(stored.subarray(0, stored.length - 1), 'k')).toThrow('truncated stream');
});

test('a version-1 stream (u32 delivery counts) still decodes; a pending entry naming no consumer is refused', () => {
  const parts: Buffer[] = [ENCODING_MAGIC, Buffer.from([1, T_STREAM])];
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); parts.push(b); };
  const u64 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(n); parts.push(b); };
  const f64 = (n: number) => { const b = Buffer.alloc(8); b.writeDoubleLE(n); parts.push(b); };
  const str = (s: string) => { u32(s.length); parts.push(Buffer.from(s, 'latin1')); };
  const v1 = (pendingConsumer: string) => {
    parts.length = 2;
    u64(5n); u64(0n); u64(0n); u64(0n); u64(1n); // last ID 5-0, max deleted 0-0, entries added 1
    u32(1); u64(5n); u64(0n); u32(2); str('f'); str('v'); // one entry
    u32(1); str('g'); u64(5n); u64(0n); u64(1n); // group g at 5-0, entries read 1
    u32(1); str('c'); f64(1000); // consumer c seen at 1000
    u32(1); u64(5n); u64(0n); str(pendingConsumer); f64(2000); u32(3); // pending 5-0, delivered at 2000, 3 times
    return Buffer.concat(parts);
  };
  const back = decodeValue(v1('c'), 'old').value as StreamValue;
  const g = back.groups.get('g')!;
  expect([g.lastId, g.entriesRead]).toEqual([{ ms: 5n, seq: 0n }, 1]);
  expect([...g.pel.values()]).toEqual([{ id: { ms: 5n, seq: 0n }, consumer: 'c', deliveredAt: 2000, deliveries: 3 }]);
  expect(g.consumers.get('c')!.pending.size).toBe(1);
  expect(() => decodeValue(v1('nobody'), 'bad')).toThrow('the stored value of key \'bad\' cannot be read: a pending entry of group \'g\' names an unknown consumer');
});

test('consumer groups persist: XGROUP, XREADGROUP, XACK, XCLAIM changes reach the store; XPENDING and XINFO do not write', async () => {
  const a = await start({ mode: 'write-through' });
  const r = a.client;
  await r.xadd('q', '1-0', 'job', 'a');
  await r.xadd('q', '2-0', 'job', 'b');
  await r.xadd('q', '3-0', 'job', 'c');
  expect(await r.xgroup('CREATE', 'q', 'workers', '0')).toBe('OK');
  expect(await r.xgroup('CREATE', 'q', 'audit', '$', 'ENTRIESREAD', '3')).toBe('OK');
  expect(await r.xreadgroup('GROUP', 'workers', 'w1', 'COUNT', 2, 'STREAMS', 'q', '>')).toEqual([['q', [['1-0', ['job', 'a']], ['2-0', ['job', 'b']]]]]);
  expect(await r.xreadgroup('GROUP', 'workers', 'w2', 'STREAMS', 'q', '>')).toEqual([['q', [['3-0', ['job', 'c']]]]]);
  expect(await r.xack('q', 'workers', '1-0')).toBe(1);
  expect(await r.xclaim('q', 'workers', 'w2', 0, '2-0', 'RETRYCOUNT', 5)).toEqual([['2-0', ['job', 'b']]]);
  expect(await r.xgroup('CREATECONSUMER', 'q', 'workers', 'spare')).toBe(1);
  const ks = a.server.ks;
  const version = ks.versionOf(ks.find('q'));
  const stored = (await a.store.load(Buffer.from('q')))!;
  expect(stored.version).toBe(version);
  // Reads of the group state change nothing: no new version, nothing written.
  await r.xpending('q', 'workers');
  await r.xpending('q', 'workers', '-', '+', 10);
  await r.xinfo('GROUPS', 'q');
  await r.xinfo('CONSUMERS', 'q', 'workers');
  await r.xinfo('STREAM', 'q', 'FULL');
  expect(await r.xreadgroup('GROUP', 'workers', 'w1', 'STREAMS', 'q', '>')).toBeNull();
  expect(ks.versionOf(ks.find('q'))).toBe(version);
  expect((await a.store.load(Buffer.from('q')))!.version).toBe(version);
  const pendingBefore = await r.xpending('q', 'workers', '-', '+', 10);
  await stop(open.pop()!);

  const b = await start({ mode: 'write-through' });
  const s = b.client;
  expect(b.server.ks.size).toBe(0);
  // Loaded on miss, whole: groups, consumers, the PEL with owners and delivery counts.
  expect((await s.xpending('q', 'workers', '-', '+', 10) as unknown[][]).map((row) => [row[0], row[1], row[3]]))
    .toEqual((pendingBefore as unknown[][]).map((row) => [row[0], row[1], row[3]]));
  expect(await s.xpending('q', 'workers')).toEqual([2, '2-0', '3-0', [['w2', '2']]]);
  expect((await s.xinfo('CONSUMERS', 'q', 'workers') as unknown[][]).map((x) => x[1])).toEqual(['spare', 'w1', 'w2']);
  const groups = await s.xinfo('GROUPS', 'q') as unknown[][];
  expect(groups.map((x) => [x[1], x[7], x[9], x[11]])).toEqual([['audit', '3-0', 3, 0], ['workers', '3-0', 3, 0]]);
  // And the group goes on where it was.
  await s.xadd('q', '4-0', 'job', 'd');
  expect(await s.xreadgroup('GROUP', 'workers', 'w1', 'STREAMS', 'q', '>')).toEqual([['q', [['4-0', ['job', 'd']]]]]);
  expect(await s.xreadgroup('GROUP', 'audit', 'x', 'STREAMS', 'q', '>')).toEqual([['q', [['4-0', ['job', 'd']]]]]);
  expect(await s.xgroup('DESTROY', 'q', 'audit')).toBe(1);
  await stop(open.pop()!);

  const c = await start({ mode: 'write-through' });
  expect(await c.client.xinfo('GROUPS', 'q').then((g) => (g as unknown[][]).map((x) => x[1]))).toEqual(['workers']);
  expect(await c.client.xpending('q', 'workers')).toEqual([3, '2-0', '4-0', [['w1', '1'], ['w2', '2']]]);
});

test('write-behind with the journal: an acknowledged XREADGROUP / XACK survives a restart', async () => {
  const a = await start({ mode: 'write-behind', journal: { enabled: true } });
  await a.client.xadd('j', '1-0', 'a', '1');
  await a.client.xadd('j', '2-0', 'b', '2');
  await a.client.xgroup('CREATE', 'j', 'g', '0');
  await a.client.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'j', '>');
  await a.client.xack('j', 'g', '1-0');
  await stop(open.pop()!);
  const b = await start({ mode: 'write-behind', journal: { enabled: true } });
  expect(await b.client.xpending('j', 'g')).toEqual([1, '2-0', '2-0', [['c', '1']]]);
  expect(await b.client.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'j', '0')).toEqual([['j', [['2-0', ['b', '2']]]]]);
});

test('passivation: evicted aggregates go to the store and load back whole; preload brings them at start', async () => {
  const a = await start({ mode: 'write-behind', passivation: { enabled: true } }, { maxBytes: 64 * 1024, eviction: 'lru' });
  for (let i = 0; i < 60; i++) {
    await a.client.hset(`ph${i}`, { f: 'x'.repeat(200), i: String(i) });
    await a.client.rpush(`pl${i}`, 'a'.repeat(300), String(i));
  }
  expect(a.server.ks.stats.evictions).toBeGreaterThan(0);
  expect(a.server.ks.usedBytes).toBeLessThanOrEqual(64 * 1024);
  for (let i = 0; i < 60; i++) {
    expect(await a.client.hget(`ph${i}`, 'i')).toBe(String(i));
    expect(await a.client.lindex(`pl${i}`, 1)).toBe(String(i));
  }
  await stop(open.pop()!);
  const b = await start({ mode: 'write-behind', passivation: { enabled: true }, preload: { enabled: true } }, { maxBytes: 1024 * 1024 });
  await until(() => b.server.ks.size === 120, 5000, 'preload');
  expect(b.server.ks.typeAt(b.server.ks.find('ph7'))).toBe(T_HASH);
  expect(await b.client.lrange('pl9', 0, -1)).toEqual(['a'.repeat(300), '9']);
});

test('the encoding: strings that look like an encoded value round-trip, a newer version or a corrupt value is refused by name', () => {
  const looksEncoded = Buffer.concat([ENCODING_MAGIC, Buffer.from([1, 1, 9])]);
  const stored = encodeString(looksEncoded);
  expect(stored.length).toBe(looksEncoded.length + 6);
  expect(decodeValue(stored, 'k')).toEqual({ type: T_STRING, value: looksEncoded });
  expect(decodeValue(Buffer.from('plain'), 'k')).toEqual({ type: T_STRING, value: Buffer.from('plain') });
  expect(() => decodeValue(Buffer.concat([ENCODING_MAGIC, Buffer.from([3, 1, 0, 0, 0, 0])]), 'k2'))
    .toThrow(new ValueEncodingError('the stored value of key \'k2\' cannot be read: it has encoding version 3, this state-cache reads versions 1 and 2 (upgrade state-cache)'));
  expect(() => decodeValue(Buffer.concat([ENCODING_MAGIC, Buffer.from([1, 2, 5, 0, 0, 0])]), 'k3'))
    .toThrow('the stored value of key \'k3\' cannot be read: truncated length');
  expect(() => decodeValue(Buffer.concat([ENCODING_MAGIC, Buffer.from([1, 7])]), 'k4')).toThrow('unknown type 7');
  const z = new ZSetValue();
  z.set('a', 1.5);
  z.set('b', -Infinity);
  const back = decodeValue(encodeValue(z), 'z').value as ZSetValue;
  expect([...back]).toEqual([{ m: 'b', s: -Infinity }, { m: 'a', s: 1.5 }]);
  const l = new ListValue();
  l.pushRight('1');
  l.pushLeft('0');
  expect((decodeValue(encodeValue(l), 'l').value as ListValue).toArray()).toEqual(['0', '1']);
  const s = new SetValue();
  s.add('only');
  expect((decodeValue(encodeValue(s), 's').value as SetValue).items).toEqual(['only']);
});

test('values of 250,000 elements of every type encode and decode whole (persistence writes them on every change)', () => {
  const n = 250_000;
  const h = new HashValue();
  const l = new ListValue();
  const s = new SetValue();
  const z = new ZSetValue();
  for (let i = 0; i < n; i++) {
    h.set(`f${i}`, `v${i}`);
    l.pushRight(`e${i}`);
    s.add(`m${i}`);
    z.set(`m${i}`, n - i);
  }
  expect((decodeValue(encodeValue(h), 'h').value as HashValue).get(`f${n - 1}`)).toBe(`v${n - 1}`);
  expect((decodeValue(encodeValue(l), 'l').value as ListValue).size).toBe(n);
  const sb = decodeValue(encodeValue(s), 's').value as SetValue;
  expect([sb.size, sb.items[n - 1]]).toEqual([n, `m${n - 1}`]);
  const zb = decodeValue(encodeValue(z), 'z').value as ZSetValue;
  expect([zb.size, zb.at(0).m, zb.rank('m0')]).toEqual([n, `m${n - 1}`, n - 1]);
});

test('an unreadable stored value answers a distinct error on load, naming the key', async () => {
  const a = await start({ mode: 'write-through' });
  await a.store.writeBatch([{ key: Buffer.from('future'), value: Buffer.concat([ENCODING_MAGIC, Buffer.from([9, 1])]), version: 1, expiresAt: 0 }]);
  await expect(a.client.hgetall('future')).rejects.toThrow('ERR the stored value of key \'future\' cannot be read: it has encoding version 9, this state-cache reads versions 1 and 2 (upgrade state-cache)');
});

test('with persistence mode none, aggregates change in place: no copy, no encoding, O(1) pushes on a 100k-element list', async () => {
  const a = await start({ mode: 'none' });
  await a.client.rpush('big', ...Array.from({ length: 100_000 }, (_, i) => `e${i}`));
  const ks = a.server.ks;
  const live = ks.typedAt(ks.find('big'));
  const cpu0 = process.cpuUsage();
  const pipeline = a.client.pipeline();
  for (let i = 0; i < 5000; i++) pipeline.lpush('big', `n${i}`);
  await pipeline.exec();
  const cpu = process.cpuUsage(cpu0);
  // CPU time, not wall time: other processes on a loaded machine do not add to it.
  const ms = (cpu.user + cpu.system) / 1000;
  expect(ks.typedAt(ks.find('big'))).toBe(live);
  expect(await a.client.llen('big')).toBe(105_000);
  // A copy and an encoding per push would be 5000 x 100k elements; in place it is milliseconds even on a loaded machine.
  expect(ms).toBeLessThan(5000);
  expect(await a.store.load(Buffer.from('big'))).toBeUndefined();
});

test('write-behind: ZUNIONSTORE, ZRANGESTORE, LMPOP and ZMPOP persist like other writes; the destination is a key like the others', async () => {
  const a = await start({ mode: 'write-behind' });
  await a.client.zadd('za', 1, 'a', 2, 'b');
  await a.client.zadd('zb', 10, 'b', 20, 'c');
  expect(await a.client.zunionstore('zd', 2, 'za', 'zb', 'WEIGHTS', 2, 1)).toBe(3);
  expect(await a.client.zrangestore('zr', 'zb', 0, 0)).toBe(1);
  expect(await a.client.zrangestore('zq', 'za', 0, 0)).toBe(1);
  await a.client.rpush('l', 'a', 'b', 'c', 'd');
  expect(await a.client.lmpop(1, 'l', 'LEFT', 'COUNT', 3)).toEqual(['l', ['a', 'b', 'c']]);
  expect(await a.client.call('zmpop', '1', 'zb', 'MAX')).toEqual(['zb', [['c', '20']]]);
  // SELECT 1: ZUNIONSTORE's destination (before numkeys) gets the database's prefix like its sources.
  await a.client.select(1);
  await a.client.zadd('x', 5, 'only');
  expect(await a.client.zunionstore('d1', 1, 'x')).toBe(1);
  await a.client.select(0);
  expect(await a.client.exists('d1')).toBe(0);
  await stop(open.pop()!); // flushes the write-behind queue

  const b = await start({ mode: 'write-behind' });
  expect(b.server.ks.size).toBe(0);
  expect(await b.client.zrange('zd', 0, -1, 'WITHSCORES')).toEqual(['a', '2', 'b', '14', 'c', '20']);
  expect(await b.client.zrange('zr', 0, -1, 'WITHSCORES')).toEqual(['b', '10']);
  expect(await b.client.lrange('l', 0, -1)).toEqual(['d']);
  expect(await b.client.zrange('zb', 0, -1)).toEqual(['b']);
  expect(await b.store.load(Buffer.from('\xffdb1\xffd1', 'latin1'))).toBeDefined();
  // An empty result deletes the destination, also in the store while it was not in memory (loaded first, as a command key).
  expect(await b.store.load(Buffer.from('zq'))).toBeDefined();
  expect(b.server.ks.find('zq', false)).toBeLessThan(0);
  expect(await b.client.zinterstore('zq', 2, 'za', 'nokey')).toBe(0);
  for (let i = 0; i < 100 && (await b.store.load(Buffer.from('zq'))) !== undefined; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await b.store.load(Buffer.from('zq'))).toBeUndefined();
  // Popping the last elements deletes the key in the store.
  expect(await b.client.lmpop(1, 'l', 'RIGHT')).toEqual(['l', ['d']]);
  await stop(open.pop()!);

  const c = await start({ mode: 'write-behind' });
  expect(await c.client.exists('zq', 'l')).toBe(0);
  expect(await c.client.zscore('zd', 'b')).toBe('14');
});

test.each(['write-through', 'write-behind'])('%s: a plain SET stores its bytes exactly (binary, empty, looking encoded) and a new instance loads them', async (mode) => {
  const a = await start({ mode });
  const looksEncoded = Buffer.concat([ENCODING_MAGIC, Buffer.from([1, 1, 9])]);
  const values: Record<string, Buffer> = {
    'bin\u0000key\u00ff': Buffer.from([0, 255, 13, 10, 36, 42]),
    'empty': Buffer.alloc(0),
    'magic': looksEncoded,
    'long': Buffer.alloc(70_000, 7),
  };
  for (const [k, v] of Object.entries(values)) expect(await a.client.set(Buffer.from(k, 'latin1'), v)).toBe('OK');
  await a.p.flush();
  for (const [k, v] of Object.entries(values)) {
    expect(await a.client.getBuffer(Buffer.from(k, 'latin1'))).toEqual(v);
    const stored = await a.store.load(Buffer.from(k, 'latin1'));
    expect(stored!.value).toEqual(encodeString(v)); // the magic-looking value gets the string header, the rest are their bytes
    expect(stored!.version).toBe(a.server.ks.versionOf(a.server.ks.find(k)));
  }
  await stop(open.pop()!);
  const b = await start({ mode });
  for (const [k, v] of Object.entries(values)) expect(await b.client.getBuffer(Buffer.from(k, 'latin1'))).toEqual(v);
});

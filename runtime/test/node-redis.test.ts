import { createClient, RESP_TYPES } from 'redis';
import { sleep, startTestServer } from './helpers';
import { StateCache } from '../src/server';

const PASSWORD = 'correct horse battery staple';
let server: StateCache;

beforeAll(async () => {
  server = await startTestServer({ auth: { passwordEnv: 'STATE_CACHE_TEST_PASSWORD' } }, undefined, { STATE_CACHE_TEST_PASSWORD: PASSWORD });
});

afterAll(async () => {
  await server.close();
});

describe.each([2, 3] as const)('node-redis over RESP%i', (RESP) => {
  const client = () => createClient({ socket: { port: server.respPort, host: '127.0.0.1', reconnectStrategy: false }, password: PASSWORD, RESP });
  let c: ReturnType<typeof client>;

  beforeAll(async () => {
    c = client();
    await c.connect();
  });

  afterAll(async () => {
    c.destroy();
  });

  test('basic strings, counters and expiry', async () => {
    const k = `r${RESP}:`;
    expect(await c.set(`${k}a`, 'hello')).toBe('OK');
    expect(await c.get(`${k}a`)).toBe('hello');
    expect(await c.get(`${k}none`)).toBeNull();
    expect(await c.incrBy(`${k}n`, 5)).toBe(5);
    expect(await c.incrByFloat(`${k}f`, 1.5)).toBe(RESP === 3 ? '1.5' : '1.5');
    expect(await c.mGet([`${k}a`, `${k}none`])).toEqual(['hello', null]);
    // Long enough that a busy machine still sees the key alive before it expires.
    expect(await c.set(`${k}e`, 'v', { expiration: { type: 'PX', value: 1000 } })).toBe('OK');
    expect(await c.pTTL(`${k}e`)).toBeGreaterThan(0);
    await sleep(1100);
    expect(await c.get(`${k}e`)).toBeNull();
    expect(await c.ttl(`${k}e`)).toBe(-2);
    expect(await c.exists([`${k}a`, `${k}n`])).toBe(2);
    expect(await c.type(`${k}a`)).toBe('string');
  });

  test('HELLO negotiated the protocol', async () => {
    const hello = await c.hello(RESP) as unknown as Record<string, unknown> | unknown[];
    const flat = Array.isArray(hello) ? hello : Object.entries(hello).flat();
    const proto = flat[flat.indexOf('proto') + 1];
    expect(Number(proto)).toBe(RESP);
    expect(await c.sendCommand(['CLIENT', 'INFO'])).toContain(`resp=${RESP}`);
    expect(await c.sendCommand(['CLIENT', 'INFO'])).toContain('lib-name=node-redis');
  });

  test('binary values round-trip', async () => {
    const bin = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    const key = Buffer.from([0xff, 0x00, 0x10, RESP]);
    const value = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x80]);
    await bin.set(key, value);
    expect((await bin.get(key) as unknown as Buffer).equals(value)).toBe(true);
  });

  test('pipelines (multi-commands without a transaction) and MULTI/EXEC with WATCH', async () => {
    const k = `p${RESP}:`;
    const replies = await c.multi().set(`${k}x`, '1').incr(`${k}x`).get(`${k}x`).execAsPipeline();
    expect(replies).toEqual(['OK', 2, '2']);
    expect(await c.multi().set(`${k}y`, 'a').append(`${k}y`, 'b').get(`${k}y`).exec()).toEqual(['OK', 2, 'ab']);

    const other = client();
    await other.connect();
    try {
      const watcher = client();
      await watcher.connect();
      try {
        await watcher.watch(`${k}w`);
        await other.set(`${k}w`, 'changed');
        await expect(watcher.multi().set(`${k}w`, 'mine').exec()).rejects.toThrow('One (or more) of the watched keys has been changed');
        expect(await c.get(`${k}w`)).toBe('changed');
      } finally {
        watcher.destroy();
      }
    } finally {
      other.destroy();
    }
  });

  test('stream consumer groups through its helpers (which parse every reply shape, RESP2 arrays and RESP3 maps)', async () => {
    const k = `grp${RESP}`;
    expect(await c.xGroupCreate(k, 'workers', '0', { MKSTREAM: true })).toBe('OK');
    await c.xAdd(k, '1-0', { job: 'a' });
    await c.xAdd(k, '2-0', { job: 'b' });
    await c.xAdd(k, '3-0', { job: 'c' });
    const got = await c.xReadGroup('workers', 'w1', { key: k, id: '>' }, { COUNT: 2 });
    expect(JSON.parse(JSON.stringify(got))).toEqual(RESP === 2
      ? [{ name: k, messages: [{ id: '1-0', message: { job: 'a' } }, { id: '2-0', message: { job: 'b' } }] }]
      : { [k]: [['1-0', ['job', 'a']], ['2-0', ['job', 'b']]] }); // node-redis 5 leaves RESP3's entries as they come
    expect(await c.xAck(k, 'workers', '1-0')).toBe(1);
    const summary = await c.xPending(k, 'workers');
    expect(summary).toEqual({ pending: 1, firstId: '2-0', lastId: '2-0', consumers: [{ name: 'w1', deliveriesCounter: 1 }] });
    const rows = await c.xPendingRange(k, 'workers', '-', '+', 10);
    expect(rows.map((r) => [r.id, r.consumer, r.deliveriesCounter])).toEqual([['2-0', 'w1', 1]]);
    expect(rows[0].millisecondsSinceLastDelivery).toBeGreaterThanOrEqual(0);
    const claimed = await c.xClaim(k, 'workers', 'w2', 0, '2-0');
    expect(JSON.parse(JSON.stringify(claimed))).toEqual([{ id: '2-0', message: { job: 'b' } }]);
    const auto = await c.xAutoClaim(k, 'workers', 'w3', 0, '0-0', { COUNT: 10 });
    expect(auto.nextId).toBe('0-0');
    expect(auto.messages.map((m) => m?.id)).toEqual(['2-0']);
    expect(auto.deletedMessages).toEqual([]);
    const groups = await c.xInfoGroups(k);
    expect(groups.map((g) => [g.name, g.consumers, g.pending, g['last-delivered-id'], g['entries-read'], g.lag]))
      .toEqual([['workers', 3, 1, '2-0', 2, 1]]); // lag: 3-0 not read yet
    const consumers = await c.xInfoConsumers(k, 'workers');
    expect(consumers.map((x) => [x.name, x.pending])).toEqual([['w1', 0], ['w2', 0], ['w3', 1]]);
    const info = await c.xInfoStream(k);
    expect([info.length, info.groups, info['last-generated-id'], info['first-entry']?.id, info['last-entry']?.id]).toEqual([3, 1, '3-0', '1-0', '3-0']);
    // A blocked reader is woken by XADD from another connection (3-0 is still new for the group: read first, else nothing blocks).
    expect(JSON.stringify(await c.xReadGroup('workers', 'w1', { key: k, id: '>' }))).toContain('3-0');
    const reader = client();
    await reader.connect();
    try {
      const waiting = reader.xReadGroup('workers', 'w4', { key: k, id: '>' }, { BLOCK: 0, COUNT: 5 });
      await sleep(50);
      await c.xAdd(k, '4-0', { job: 'd' });
      const woke = JSON.parse(JSON.stringify(await waiting));
      expect(RESP === 2 ? woke[0].messages.map((m: { id: string }) => m.id) : woke[k].map((m: string[]) => m[0])).toEqual(['4-0']);
    } finally {
      reader.destroy();
    }
    expect(await c.xGroupDestroy(k, 'workers')).toBe(1);
  });

  test('SCAN iterator sees every key', async () => {
    const k = `s${RESP}:`;
    await c.mSet(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`${k}${i}`, 'x'])));
    const seen = new Set<string>();
    for await (const keys of c.scanIterator({ MATCH: `${k}*`, COUNT: 50 })) keys.forEach((x) => seen.add(x));
    expect(seen.size).toBe(300);
  });
});

test('without the password every data command is refused with NOAUTH', async () => {
  const c = createClient({ socket: { port: server.respPort, host: '127.0.0.1', reconnectStrategy: false } });
  await c.connect();
  try {
    await expect(c.get('x')).rejects.toThrow('NOAUTH Authentication required.');
    await expect(c.sendCommand(['AUTH', 'wrong'])).rejects.toThrow('WRONGPASS invalid username-password pair or user is disabled.');
    await expect(c.sendCommand(['AUTH', 'someone', PASSWORD])).rejects.toThrow('WRONGPASS invalid username-password pair or user is disabled.');
    expect(await c.sendCommand(['AUTH', 'default', PASSWORD])).toBe('OK');
    expect(await c.ping()).toBe('PONG');
  } finally {
    c.destroy();
  }
});

test('HELLO 3 AUTH authenticates and switches protocol in one step', async () => {
  const c = createClient({ socket: { port: server.respPort, host: '127.0.0.1', reconnectStrategy: false } });
  await c.connect();
  try {
    await expect(c.sendCommand(['HELLO', '3'])).rejects.toThrow('NOAUTH HELLO must be called with the client already authenticated');
    await expect(c.sendCommand(['HELLO', '4'])).rejects.toThrow('NOPROTO unsupported protocol version');
    const r = await c.sendCommand(['HELLO', '2', 'AUTH', 'default', PASSWORD, 'SETNAME', 'n1']);
    expect(r).toEqual(expect.arrayContaining(['server', 'redis', 'proto', 2]));
    expect(await c.sendCommand(['CLIENT', 'GETNAME'])).toBe('n1');
  } finally {
    c.destroy();
  }
});

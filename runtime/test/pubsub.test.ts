import { connect } from 'node:net';
import Redis from 'ioredis';
import { startTestServer, sleep } from './helpers';
import { StateCache } from '../src/server';

/* Pub/Sub through ioredis (RESP2 subscriber mode) and raw RESP3 push frames. */

let s: StateCache;
const clients: Redis[] = [];
function client(): Redis {
  const r = new Redis({ port: s.respPort, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  clients.push(r);
  return r;
}
beforeAll(async () => {
  s = await startTestServer({ limits: { outputMaxBytes: 1024 * 1024, outputPauseBytes: 256 * 1024 } });
});
afterAll(async () => {
  for (const r of clients) if (r.status !== 'end') r.disconnect();
  await s.close();
});

test('SUBSCRIBE, PSUBSCRIBE, PUBLISH, UNSUBSCRIBE and PUBSUB introspection', async () => {
  const pub = client();
  const sub = client();
  const got: string[] = [];
  sub.on('message', (ch, msg) => got.push(`message ${ch} ${msg}`));
  sub.on('pmessage', (p, ch, msg) => got.push(`pmessage ${p} ${ch} ${msg}`));
  expect(await sub.subscribe('news', 'sport')).toBe(2);
  expect(await sub.psubscribe('n*')).toBe(3);
  expect(await pub.publish('news', 'hello')).toBe(2);
  expect(await pub.publish('sport', 'goal')).toBe(1);
  expect(await pub.publish('nothing-here', 'x')).toBe(1);
  expect(await pub.publish('weather', 'x')).toBe(0);
  await sleep(100);
  expect(got).toEqual(['message news hello', 'pmessage n* news hello', 'message sport goal', 'pmessage n* nothing-here x']);
  expect((await pub.call('pubsub', 'channels') as string[]).sort()).toEqual(['news', 'sport']);
  expect(await pub.call('pubsub', 'channels', 's*')).toEqual(['sport']);
  expect(await pub.call('pubsub', 'numsub', 'news', 'other')).toEqual(['news', 1, 'other', 0]);
  expect(await pub.call('pubsub', 'numpat')).toBe(1);
  expect(await sub.unsubscribe('news')).toBe(2);
  expect(await sub.punsubscribe('n*')).toBe(1);
  expect(await sub.unsubscribe()).toBe(0); // all channels; ioredis resolves a bare UNSUBSCRIBE when the count reaches 0
  expect(await sub.get('k')).toBeNull(); // out of subscriber mode
  expect(await pub.publish('news', 'late')).toBe(0);
  expect(await pub.call('pubsub', 'numpat')).toBe(0);
});

test('RESP3: messages are push frames and other commands stay allowed', async () => {
  const sock = connect(s.respPort, '127.0.0.1');
  let text = '';
  sock.on('data', (d) => (text += d.toString('latin1')));
  await new Promise((r) => sock.once('connect', r));
  sock.write('HELLO 3\r\nSUBSCRIBE ch\r\nSET a 1\r\n');
  await sleep(150);
  const pub = client();
  expect(await pub.publish('ch', 'm1')).toBe(1);
  await sleep(150);
  sock.destroy();
  // RESP2 subscriber mode refuses other commands with Redis's error; PING answers as a message.
  const r2 = connect(s.respPort, '127.0.0.1');
  let text2 = '';
  r2.on('data', (d) => (text2 += d.toString('latin1')));
  r2.write('SUBSCRIBE x\r\nGET k\r\nPING\r\n');
  await sleep(150);
  r2.destroy();
  expect(text2).toBe('*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n'
    + '-ERR Can\'t execute \'get\': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n'
    + '*2\r\n$4\r\npong\r\n$0\r\n\r\n');
  expect(text).toContain('>3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n+OK\r\n');
  expect(text).toContain('>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nm1\r\n');
});

test('SSUBSCRIBE / SPUBLISH, and a subscriber that does not read is disconnected past the output limit', async () => {
  const pub = client();
  const sub = client();
  const got: string[] = [];
  sub.on('smessage', (ch, msg) => got.push(`${ch} ${msg}`));
  await sub.call('ssubscribe', 'shard-ch');
  expect(await pub.call('spublish', 'shard-ch', 'hi')).toBe(1);
  expect(await pub.publish('shard-ch', 'not a shard message')).toBe(0);
  await sleep(100);
  expect(got).toEqual(['shard-ch hi']);
  expect(await pub.call('pubsub', 'shardnumsub', 'shard-ch')).toEqual(['shard-ch', 1]);

  // A raw subscriber that never reads: its socket buffer fills, then the server cuts it off.
  const slow = connect(s.respPort, '127.0.0.1');
  slow.on('error', () => undefined);
  slow.write('SUBSCRIBE flood\r\n');
  await sleep(100);
  slow.pause();
  const big = 'x'.repeat(64 * 1024);
  let receivers = 1;
  for (let i = 0; i < 400 && receivers > 0; i++) receivers = await pub.publish('flood', big);
  expect(receivers).toBe(0);
  slow.destroy();
  expect(await pub.call('pubsub', 'numsub', 'flood')).toEqual(['flood', 0]);
});

test('CLIENT LIST and CLIENT INFO report sub= / psub= / ssub= and the P flag, as Redis 7.0 does', async () => {
  const watcher = client();
  const sub = client();
  const id = await sub.client('ID') as number;
  const line = async () => (await watcher.client('LIST') as string).split('\n').find((l) => l.startsWith(`id=${id} `))!;
  expect(await line()).toContain(' flags=N db=0 sub=0 psub=0 ssub=0 ');
  await sub.subscribe('a', 'b');
  await sub.psubscribe('p*');
  await sub.ssubscribe('s1');
  expect(await line()).toContain(' flags=P db=0 sub=2 psub=1 ssub=1 ');
  await sub.unsubscribe('a');
  expect(await line()).toContain(' sub=1 psub=1 ssub=1 ');
  await sub.unsubscribe('b');
  await sub.punsubscribe('p*');
  await sub.sunsubscribe('s1');
  expect(await line()).toContain(' flags=N db=0 sub=0 psub=0 ssub=0 ');
  // RESP3: subscribed and in MULTI at once (CLIENT INFO of the client itself).
  const raw = connect(s.respPort, '127.0.0.1');
  let text = '';
  raw.on('data', (d) => { text += d.toString('latin1'); });
  raw.write('HELLO 3\r\nSUBSCRIBE x\r\nCLIENT INFO\r\n');
  const deadline = Date.now() + 5000;
  while (!text.includes('txt:id=') && Date.now() < deadline) await sleep(10);
  raw.destroy();
  expect(text).toMatch(/txt:id=\d+ .* flags=P db=0 sub=1 psub=0 ssub=0 /);
});

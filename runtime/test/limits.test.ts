import { connect, Socket } from 'node:net';
import Redis from 'ioredis';
import { sleep, startTestServer } from './helpers';
import { LoadedEntry, PersistenceHooks } from '../src/keyspace/hooks';

function open(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => undefined);
  });
}

test('maxClients: one connection too many is refused with Redis\'s error', async () => {
  const s = await startTestServer({ limits: { maxClients: 2 } });
  const a = await open(s.respPort);
  const b = await open(s.respPort);
  try {
    const c = await open(s.respPort);
    const text = await new Promise<string>((resolve) => {
      let t = '';
      c.on('data', (d) => (t += d));
      c.on('close', () => resolve(t));
    });
    expect(text).toBe('-ERR max number of clients reached\r\n');
    expect(s.stats.connectionsRejected).toBe(1);
  } finally {
    a.destroy();
    b.destroy();
    await s.close();
  }
});

test('a slow reader is paused at outputPauseBytes and disconnected at outputMaxBytes', async () => {
  const s = await startTestServer({ limits: { outputPauseBytes: 1024 * 1024, outputMaxBytes: 1536 * 1024 } });
  const r = new Redis({ port: s.respPort, host: '127.0.0.1' });
  try {
    await r.set('v', 'x'.repeat(60 * 1024));
    // A client that never reads: the server stops reading its commands once 1 MB waits for it.
    const slow = await open(s.respPort);
    slow.pause();
    const base = s.stats.commandsProcessed;
    const many = Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\nv\r\n'.repeat(2000));
    slow.write(many);
    await sleep(300);
    const processed = s.stats.commandsProcessed - base;
    expect(processed).toBeGreaterThan(0);
    expect(processed).toBeLessThan(500);
    expect(s.clients.size).toBe(2);
    // Reading again drains it, and every reply arrives.
    let got = 0;
    slow.on('data', (d: Buffer) => (got += d.length));
    slow.resume();
    for (let i = 0; i < 100 && got < 2000 * (60 * 1024 + 10); i++) await sleep(50);
    expect(got).toBe(2000 * (60 * 1024 + 10)); // "$61440\r\n" + value + "\r\n"
    slow.destroy();
    // A reply larger than the hard limit gets the client disconnected.
    await r.set('huge', Buffer.alloc(2 * 1024 * 1024, 1));
    const greedy = await open(s.respPort);
    const closed = new Promise<void>((resolve) => greedy.on('close', () => resolve()));
    greedy.pause();
    greedy.write('*2\r\n$3\r\nGET\r\n$4\r\nhuge\r\nPING\r\n');
    await sleep(100);
    let tail = '';
    greedy.on('data', (d: Buffer) => (tail = d.toString('latin1').slice(-7)));
    greedy.resume();
    await closed;
    expect(tail).not.toContain('+PONG');
    expect(await r.ping()).toBe('PONG');
  } finally {
    r.disconnect();
    await s.close();
  }
});

test('shutdown lets a command in flight finish and reply before closing', async () => {
  let release!: () => void;
  const hooks: PersistenceHooks = {
    beforeChange: () => new Promise<void>((resolve) => (release = resolve)),
    afterChange: () => undefined,
    load: () => undefined,
    passivate: (_e: LoadedEntry) => undefined,
    flush: async () => undefined,
    ready: () => true,
  };
  const s = await startTestServer({}, hooks);
  const r = new Redis({ port: s.respPort, host: '127.0.0.1', retryStrategy: () => null });
  await r.ping();
  const reply = r.set('k', 'v');
  await sleep(50);
  const stopped = s.shutdown(5000);
  await sleep(50);
  // No new connections while stopping.
  const late = new Redis({ port: s.respPort, host: '127.0.0.1', retryStrategy: () => null, lazyConnect: true });
  await expect(late.connect()).rejects.toThrow();
  release();
  expect(await reply).toBe('OK');
  expect(await stopped).toBe(true);
  expect(s.ks.find('k')).toBeGreaterThanOrEqual(0);
  // The server closed the connection and ioredis ends it (no retries). disconnect() here would arm ioredis's
  // 2 s timer for a 'close' that already happened, and keep jest alive past its end when this suite runs last.
  if (r.status !== 'end') await new Promise((resolve) => r.once('end', resolve));
});

import { connect, Socket } from 'node:net';
import Redis from 'ioredis';
import { sleep, startTestServer } from './helpers';
import { handleIoAvailable } from '../src/protocol/transport';
import { StateCache } from '../src/server';

function open(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => undefined);
  });
}

/** Everything a socket receives until it has `bytes` bytes (or closes). */
function collect(s: Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let n = 0;
    const done = () => resolve(Buffer.concat(parts));
    s.on('data', (d: Buffer) => {
      parts.push(d);
      n += d.length;
      if (n >= bytes) done();
    });
    s.on('close', done);
  });
}

const bulk = (v: Buffer): Buffer => Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n')]);

test('this Node has the stream_wrap binding in the shape the handle path needs (else every connection would silently take stream)', () => {
  expect(handleIoAvailable()).toBe(true);
});

describe.each(['handle', 'stream'] as const)('server.socketIo %s', (io) => {
  let s: StateCache;
  beforeEach(async () => {
    s = await startTestServer({ server: { socketIo: io } });
  });
  afterEach(async () => {
    await s.close();
  });

  test('plaintext connections use it', async () => {
    const c = await open(s.respPort);
    try {
      c.write('PING\r\n');
      await collect(c, 7);
      expect([...s.clients.values()].map((x) => x.io)).toEqual([io]);
    } finally {
      c.destroy();
    }
  });

  test('a reply larger than the socket buffers, to a client that reads late, arrives whole while other clients reuse the reply buffer', async () => {
    const r = new Redis({ port: s.respPort, host: '127.0.0.1' });
    try {
      const big = Buffer.alloc(8 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
      await r.set('big', big);
      const slow = await open(s.respPort);
      slow.pause();
      slow.write('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\nPING\r\n');
      await sleep(100);
      // The kernel took part of the reply; the rest waits in the server while other replies are written.
      for (let i = 0; i < 200; i++) await r.set(`k${i}`, `v${i}`.repeat(50));
      expect(await r.get('k199')).toBe('v199'.repeat(50));
      const expected = Buffer.concat([bulk(big), Buffer.from('+PONG\r\n')]);
      const got = collect(slow, expected.length);
      slow.resume();
      expect((await got).equals(expected)).toBe(true);
      slow.destroy();
    } finally {
      r.disconnect();
    }
  });

  test('pipelined commands split at every byte boundary get every reply, in order', async () => {
    const c = await open(s.respPort);
    try {
      const request = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\na\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nbye\r\n');
      const one = '+OK\r\n$5\r\nhello\r\n+PONG\r\n$3\r\nbye\r\n';
      const got = collect(c, one.length * request.length);
      for (let i = 0; i < request.length; i++) {
        c.write(request.subarray(0, i));
        await sleep(1);
        c.write(request.subarray(i));
      }
      expect((await got).toString('latin1')).toBe(one.repeat(request.length));
    } finally {
      c.destroy();
    }
  });

  test('QUIT replies and closes; a client that goes away mid-reply is dropped and the server goes on', async () => {
    const c = await open(s.respPort);
    const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
    const reply = collect(c, 5);
    c.write('QUIT\r\n');
    expect((await reply).toString()).toBe('+OK\r\n');
    await closed;
    const r = new Redis({ port: s.respPort, host: '127.0.0.1' });
    try {
      await r.set('big', Buffer.alloc(16 * 1024 * 1024, 7));
      const gone = await open(s.respPort);
      gone.pause();
      gone.write('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n');
      await sleep(100);
      gone.destroy();
      for (let i = 0; i < 50 && s.clients.size > 1; i++) await sleep(20);
      expect(s.clients.size).toBe(1);
      expect(await r.ping()).toBe('PONG');
    } finally {
      r.disconnect();
    }
  });

  test('a client that sends its commands and closes its side (half-close) still gets every reply, then the server closes', async () => {
    const c = await new Promise<Socket>((resolve) => {
      const s2 = connect({ port: s.respPort, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(s2));
    });
    const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
    const value = 'v'.repeat(4 * 1024 * 1024);
    const r = new Redis({ port: s.respPort, host: '127.0.0.1' });
    await r.set('big', value);
    r.disconnect();
    const expected = `+PONG\r\n$${value.length}\r\n${value}\r\n+PONG\r\n`;
    const got = collect(c, expected.length);
    c.end('PING\r\n*2\r\n$3\r\nGET\r\n$3\r\nbig\r\nPING\r\n');
    expect((await got).toString('latin1')).toBe(expected);
    await closed;
  });

  test('clients whose commands arrive in pieces, a blocked client and busy pipelines all get their own replies', async () => {
    // The handle path reads every connection into one shared buffer: what a connection keeps (a partial
    // command, the rest of a pipeline, a command that waits) must be its own copy.
    const cmd = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${x.length}\r\n${x}\r\n`).join('')}`;
    const r = new Redis({ port: s.respPort, host: '127.0.0.1' });
    const blocked = await open(s.respPort);
    const split = await open(s.respPort);
    const busy = await Promise.all(Array.from({ length: 8 }, () => open(s.respPort)));
    try {
      const dst = `destination-${'d'.repeat(40)}`;
      const blockedReply = collect(blocked, '$3\r\nval\r\n+PONG\r\n'.length);
      blocked.write(cmd('BLMOVE', 'src', dst, 'LEFT', 'RIGHT', '0') + cmd('PING'));
      await sleep(20);
      const parts = [cmd('SET', 'split-key', 'split-value-'.repeat(20)), cmd('GET', 'split-key'), cmd('ECHO', 'e'.repeat(300))];
      const whole = parts.join('');
      const splitExpected = `+OK\r\n$240\r\n${'split-value-'.repeat(20)}\r\n$300\r\n${'e'.repeat(300)}\r\n`;
      const splitReply = collect(split, splitExpected.length);
      const expectedBusy = busy.map((_, b) => Array.from({ length: 200 }, (__, i) => `+OK\r\n$${`v${b}:${i}`.length}\r\nv${b}:${i}\r\n`).join(''));
      const busyReplies = busy.map((c, b) => collect(c, expectedBusy[b].length));
      // The split client's bytes arrive in five pieces, the busy clients' pipelines in between.
      const cuts = [0, 37, 160, 301, 420, whole.length];
      for (let k = 0; k + 1 < cuts.length; k++) {
        split.write(whole.slice(cuts[k], cuts[k + 1]));
        await sleep(5);
        busy.forEach((c, b) => c.write(Array.from({ length: 40 }, (_, j) => {
          const i = k * 40 + j;
          return cmd('SET', `k${b}:${i}`, `v${b}:${i}`) + cmd('GET', `k${b}:${i}`);
        }).join('')));
        await sleep(5);
      }
      expect((await splitReply).toString('latin1')).toBe(splitExpected);
      (await Promise.all(busyReplies)).forEach((got, b) => expect(got.toString('latin1')).toBe(expectedBusy[b]));
      await r.rpush('src', 'val');
      expect((await blockedReply).toString('latin1')).toBe('$3\r\nval\r\n+PONG\r\n');
      expect(await r.lrange(dst, 0, -1)).toEqual(['val']);
    } finally {
      for (const c of [blocked, split, ...busy]) c.destroy();
      r.disconnect();
    }
  });

  test('a command that waits reads its own arguments when it resumes, whatever other clients sent meanwhile', async () => {
    // The first script command waits for the Lua engine to load, then reads its script and arguments.
    const cmd = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${x.length}\r\n${x}\r\n`).join('')}`;
    const first = await open(s.respPort);
    const others = await Promise.all(Array.from({ length: 4 }, () => open(s.respPort)));
    try {
      const arg = `argument-${'a'.repeat(200)}`;
      const expected = `$${arg.length}\r\n${arg}\r\n`;
      const got = collect(first, expected.length);
      first.write(cmd('EVAL', 'return ARGV[1]', '0', arg));
      const filler = cmd('SET', 'filler', 'z'.repeat(2000)).repeat(20);
      const replies = others.map((c) => collect(c, 5 * 20 * 10));
      for (let k = 0; k < 10; k++) {
        for (const c of others) c.write(filler);
        await sleep(2);
      }
      await Promise.all(replies);
      const cut = setTimeout(() => first.destroy(), 5000); // a wrong reply may be shorter: show it, not a jest timeout
      expect((await got).toString('latin1')).toBe(expected);
      clearTimeout(cut);
    } finally {
      for (const c of [first, ...others]) c.destroy();
    }
  });

  test('a blocked command stops reading its client until it is served, then the rest of the pipeline runs', async () => {
    const c = await open(s.respPort);
    const r = new Redis({ port: s.respPort, host: '127.0.0.1' });
    try {
      const expected = '*2\r\n$1\r\nq\r\n$1\r\nx\r\n+PONG\r\n';
      const got = collect(c, expected.length);
      c.write('*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\nPING\r\n');
      await sleep(50);
      await r.lpush('q', 'x');
      expect((await got).toString()).toBe(expected);
    } finally {
      c.destroy();
      r.disconnect();
    }
  });
});

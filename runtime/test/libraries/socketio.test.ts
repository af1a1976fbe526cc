import { createServer, Server as HttpServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import { Server } from 'socket.io';
import { io as connectClient, Socket } from 'socket.io-client';
import { StateCache } from '../../src/server';
import { startTestServer } from '../helpers';

/* @socket.io/redis-adapter with two Socket.IO nodes sharing one state-cache (PUBLISH / PSUBSCRIBE). */

let cache: StateCache;
const redis: Redis[] = [];
const nodes: Array<{ http: HttpServer; io: Server }> = [];
const sockets: Socket[] = [];

async function node(): Promise<number> {
  const pub = new Redis({ port: cache.respPort, host: '127.0.0.1' });
  const sub = pub.duplicate();
  redis.push(pub, sub);
  const http = createServer();
  const io = new Server(http, { adapter: createAdapter(pub, sub) });
  io.on('connection', (socket) => {
    socket.on('join', (room: string, ack: () => void) => {
      void socket.join(room);
      ack();
    });
    socket.on('shout', (room: string, msg: string) => io.to(room).emit('news', msg));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  nodes.push({ http, io });
  return (http.address() as AddressInfo).port;
}

function client(port: number): Promise<Socket> {
  const s = connectClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

beforeAll(async () => {
  cache = await startTestServer();
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  for (const n of nodes) {
    await new Promise((r) => n.io.close(() => r(undefined)));
  }
  for (const r of redis) if (r.status !== 'end') r.disconnect();
  await cache.close();
});

test('a room broadcast on one node reaches a client connected to the other', async () => {
  const [p1, p2] = [await node(), await node()];
  const a = await client(p1);
  const b = await client(p2);
  await new Promise<void>((r) => b.emit('join', 'room-1', r));
  const received = new Promise<string>((r) => b.once('news', r));
  a.emit('shout', 'room-1', 'hello from node 1');
  await expect(received).resolves.toBe('hello from node 1');
  // The adapter's request/response across nodes: fetchSockets sees both nodes' sockets.
  const all = await nodes[0].io.fetchSockets();
  expect(all).toHaveLength(2);
});

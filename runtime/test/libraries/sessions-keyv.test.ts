import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { createKeyv } from '@keyv/redis';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { StateCache } from '../../src/server';
import { startTestServer } from '../helpers';

/* express-session + connect-redis and keyv + @keyv/redis, unchanged, against a state-cache started here. */

let cache: StateCache;
beforeAll(async () => {
  cache = await startTestServer();
});
afterAll(async () => {
  await cache.close();
});

test('express-session with connect-redis keeps a session across requests, with a TTL', async () => {
  const client = createClient({ url: `redis://127.0.0.1:${cache.respPort}/2` });
  client.on('error', () => undefined);
  await client.connect();
  const app = express();
  app.use(session({ store: new RedisStore({ client, prefix: 'sess:', ttl: 600 }), secret: 'test-secret', resave: false, saveUninitialized: false }));
  app.get('/visit', (req, res) => {
    const s = req.session as unknown as { visits?: number };
    s.visits = (s.visits ?? 0) + 1;
    res.json({ visits: s.visits });
  });
  const http: Server = createServer(app);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/visit`;
  try {
    const first = await fetch(url);
    const cookie = first.headers.get('set-cookie')!.split(';')[0];
    expect(await first.json()).toEqual({ visits: 1 });
    expect(await (await fetch(url, { headers: { cookie } })).json()).toEqual({ visits: 2 });
    expect(await (await fetch(url, { headers: { cookie } })).json()).toEqual({ visits: 3 });
    const keys = await client.keys('sess:*');
    expect(keys).toHaveLength(1);
    const ttl = await client.ttl(keys[0]);
    expect(ttl).toBeGreaterThan(500);
    expect(JSON.parse((await client.get(keys[0]))!).visits).toBe(3);
  } finally {
    await new Promise((r) => http.close(r));
    client.destroy();
  }
});

test('keyv with @keyv/redis: set with TTL, get, delete, clear of its namespace', async () => {
  const keyv = createKeyv(`redis://127.0.0.1:${cache.respPort}`, { namespace: 'app' });
  keyv.on('error', () => undefined);
  try {
    await keyv.set('user:1', { name: 'Ada' }, 60_000);
    expect(await keyv.get('user:1')).toEqual({ name: 'Ada' });
    await keyv.set('tmp', 'gone soon', 50);
    await new Promise((r) => setTimeout(r, 200));
    expect(await keyv.get('tmp')).toBeUndefined();
    expect(await keyv.delete('user:1')).toBe(true);
    expect(await keyv.get('user:1')).toBeUndefined();
    await keyv.set('a', 1);
    await keyv.set('b', 2);
    await keyv.clear();
    expect(await keyv.get('a')).toBeUndefined();
  } finally {
    await keyv.disconnect();
  }
});

import Redis from 'ioredis';
import { startTestServer } from './helpers';
import { StateCache } from '../src/server';

let server: StateCache;
let base: string;

beforeAll(async () => {
  server = await startTestServer({ limits: { maxBulkBytes: 1024 * 1024 } });
  base = `http://127.0.0.1:${server.httpPort}`;
});

afterAll(async () => {
  await server.close();
});

const url = (key: string, q = '') => `${base}/v1/keys/${key}${q}`;

test('PUT creates (201) then replaces (204); GET returns the value with a strong ETag', async () => {
  const created = await fetch(url('greeting'), { method: 'PUT', body: 'hello' });
  expect(created.status).toBe(201);
  const tag1 = created.headers.get('etag')!;
  expect(tag1).toMatch(/^"\d+"$/);
  const got = await fetch(url('greeting'));
  expect(got.status).toBe(200);
  expect(got.headers.get('etag')).toBe(tag1);
  expect(got.headers.get('content-type')).toBe('application/octet-stream');
  expect(await got.text()).toBe('hello');
  const replaced = await fetch(url('greeting'), { method: 'PUT', body: 'bye' });
  expect(replaced.status).toBe(204);
  const tag2 = replaced.headers.get('etag')!;
  expect(BigInt(JSON.parse(tag2))).toBeGreaterThan(BigInt(JSON.parse(tag1)));
  const head = await fetch(url('greeting'), { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(head.headers.get('content-length')).toBe('3');
  expect((await fetch(url('greeting'), { headers: { 'If-None-Match': tag2 } })).status).toBe(304);
});

test('the REST API and RESP see the same keyspace, binary safe', async () => {
  const redis = new Redis({ port: server.respPort, host: '127.0.0.1' });
  try {
    const key = Buffer.from([0x00, 0xff, 0x2f, 0x20]);
    const value = Buffer.from([0xca, 0xfe, 0x00, 0x0a]);
    const enc = [...key].map((b) => '%' + b.toString(16).padStart(2, '0')).join('');
    expect((await fetch(url(enc), { method: 'PUT', body: value })).status).toBe(201);
    expect((await redis.getBuffer(key))!.equals(value)).toBe(true);
    await redis.set('from-resp', 'r');
    expect(await (await fetch(url('from-resp'))).text()).toBe('r');
  } finally {
    redis.disconnect();
  }
});

test('If-Match / If-None-Match make PUT and DELETE conditional (412 on mismatch)', async () => {
  expect((await fetch(url('cas'), { method: 'PUT', body: 'a', headers: { 'If-Match': '*' } })).status).toBe(412);
  const r1 = await fetch(url('cas'), { method: 'PUT', body: 'a', headers: { 'If-None-Match': '*' } });
  expect(r1.status).toBe(201);
  const tag = r1.headers.get('etag')!;
  const again = await fetch(url('cas'), { method: 'PUT', body: 'b', headers: { 'If-None-Match': '*' } });
  expect(again.status).toBe(412);
  expect(await again.json()).toEqual({ error: 'precondition_failed', message: `the entry's ETag is ${tag}` });
  expect((await fetch(url('cas'), { method: 'PUT', body: 'b', headers: { 'If-Match': '"1"' } })).status).toBe(412);
  const ok = await fetch(url('cas'), { method: 'PUT', body: 'b', headers: { 'If-Match': `"0", ${tag}` } });
  expect(ok.status).toBe(204);
  const newTag = ok.headers.get('etag')!;
  expect((await fetch(url('cas'), { method: 'DELETE', headers: { 'If-Match': tag } })).status).toBe(412);
  expect((await fetch(url('cas'), { method: 'DELETE', headers: { 'If-Match': newTag } })).status).toBe(204);
  expect((await fetch(url('cas'), { method: 'DELETE' })).status).toBe(404);
});

test('concurrent compare-and-set: exactly one of many writers with the same ETag wins', async () => {
  const tag = (await fetch(url('race'), { method: 'PUT', body: '0' })).headers.get('etag')!;
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(url('race'), { method: 'PUT', body: String(i), headers: { 'If-Match': tag } })));
  expect(results.filter((r) => r.status === 204)).toHaveLength(1);
  expect(results.filter((r) => r.status === 412)).toHaveLength(19);
});

test('TTL on PUT with ?ttl=SECONDS, and bad TTLs are refused', async () => {
  const r = await fetch(url('ttl', '?ttl=100'), { method: 'PUT', body: 'x' });
  expect(r.status).toBe(201);
  const got = await fetch(url('ttl'));
  const exp = Date.parse(got.headers.get('x-expires-at')!);
  expect(exp - Date.now()).toBeGreaterThan(98_000);
  expect(exp - Date.now()).toBeLessThanOrEqual(100_000);
  const bad = await fetch(url('ttl', '?ttl=-1'), { method: 'PUT', body: 'x' });
  expect(bad.status).toBe(400);
  expect(await bad.json()).toEqual({ error: 'bad_ttl', message: 'ttl must be a whole number of seconds greater than 0, got "-1"' });
});

test('distinct statuses: 404 missing, 413 too large, 405 method, 400 bad key, 404 unknown route', async () => {
  const missing = await fetch(url('nope'));
  expect(missing.status).toBe(404);
  expect(await missing.json()).toEqual({ error: 'not_found', message: 'no such key' });
  const big = await fetch(url('big'), { method: 'PUT', body: Buffer.alloc(1024 * 1024 + 1) });
  expect(big.status).toBe(413);
  expect(((await big.json()) as { message: string }).message).toBe('the value is larger than limits.maxBulkBytes (1048576 bytes)');
  const post = await fetch(url('x'), { method: 'POST', body: 'x' });
  expect(post.status).toBe(405);
  expect(post.headers.get('allow')).toBe('GET, HEAD, PUT, DELETE');
  expect((await fetch(url('%zz'))).status).toBe(400);
  expect((await fetch(`${base}/v2/other`)).status).toBe(404);
});

test('/healthz, /readyz and /metrics', async () => {
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  await fetch(url('metric-key'), { method: 'PUT', body: 'x' });
  await fetch(url('metric-key'));
  await fetch(url('metric-missing'));
  const m = await (await fetch(`${base}/metrics`)).text();
  expect(m).toMatch(/^state_cache_entries \d+$/m);
  expect(m).toMatch(/^state_cache_keyspace_hits_total [1-9]\d*$/m);
  expect(m).toMatch(/^state_cache_keyspace_misses_total [1-9]\d*$/m);
  expect(m).toMatch(/^state_cache_bytes [1-9]\d*$/m);
  expect(m).toContain('state_cache_command_duration_seconds_bucket{le="+Inf"}');
  expect(m).toContain('state_cache_evictions_total 0');
  expect(m).toContain('state_cache_expirations_total');
  expect(m).toContain('state_cache_connections ');
});

test('with a password, /v1/keys needs Bearer or Basic auth (401 otherwise); probes stay open', async () => {
  const secured = await startTestServer({ auth: { passwordEnv: 'PW' } }, undefined, { PW: 'pw1' });
  try {
    const b = `http://127.0.0.1:${secured.httpPort}`;
    const denied = await fetch(`${b}/v1/keys/k`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toContain('Bearer');
    expect((await fetch(`${b}/v1/keys/k`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${b}/v1/keys/k`, { method: 'PUT', body: 'v', headers: { Authorization: 'Bearer pw1' } })).status).toBe(201);
    const basic = 'Basic ' + Buffer.from('default:pw1').toString('base64');
    expect(await (await fetch(`${b}/v1/keys/k`, { headers: { Authorization: basic } })).text()).toBe('v');
    expect((await fetch(`${b}/healthz`)).status).toBe(200);
    expect((await fetch(`${b}/readyz`)).status).toBe(200);
  } finally {
    await secured.close();
  }
});

test('noeviction: a full keyspace answers 507 over HTTP and OOM over RESP', async () => {
  const full = await startTestServer({ memory: { maxEntries: 2, eviction: 'noeviction' } });
  const redis = new Redis({ port: full.respPort, host: '127.0.0.1' });
  try {
    const b = `http://127.0.0.1:${full.httpPort}`;
    await redis.set('a', '1');
    await redis.set('b', '2');
    await expect(redis.set('c', '3')).rejects.toThrow("OOM command not allowed when used memory > 'maxmemory'.");
    const r = await fetch(`${b}/v1/keys/c`, { method: 'PUT', body: '3' });
    expect(r.status).toBe(507);
    expect(await redis.set('a', 'replaced')).toBe('OK');
  } finally {
    redis.disconnect();
    await full.close();
  }
});

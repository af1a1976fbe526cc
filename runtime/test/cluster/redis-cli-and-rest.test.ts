import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startThreeShards, ThreeShards } from './harness';
import { freePort } from '../faults/harness';
import { needs } from '../tools';

// The same three-pod cluster, but announcing 127.0.0.1 with each process's
// real ports (cluster.announceHosts / announcePorts / announceHttpPorts), so
// redis-cli -c and HTTP clients, which cannot map addresses, follow redirects.

jest.setTimeout(60_000);

const run = promisify(execFile);
const withRedisCli = needs('redis-cli').test;

let shards: ThreeShards;
const resp: number[] = [];
const http: number[] = [];

beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    resp.push(await freePort());
    http.push(await freePort());
  }
  shards = await startThreeShards(
    (i) => ({ ordinal: i, announceHosts: ['127.0.0.1', '127.0.0.1', '127.0.0.1'], announcePorts: resp, announceHttpPorts: http }),
    (i) => ({ port: resp[i] }),
    (i) => ({ port: http[i] }),
  );
});

afterAll(async () => {
  await shards?.stop();
});

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

withRedisCli('redis-cli without -c sees MOVED; with -c it follows to the owner', async () => {
  // foo is slot 12182: ordinal 2.
  expect(await cli(resp[0], 'SET', 'foo', 'bar')).toBe(`MOVED 12182 127.0.0.1:${resp[2]}`);
  expect(await cli(resp[0], '-c', 'SET', 'foo', 'bar')).toBe('OK');
  expect(await cli(resp[1], '-c', 'GET', 'foo')).toBe('bar');
  expect(await cli(resp[2], 'GET', 'foo')).toBe('bar');
  expect(await cli(resp[0], 'DBSIZE')).toBe('0');
});

withRedisCli('redis-cli --cluster check accepts the cluster', async () => {
  const { stdout } = await run('redis-cli', ['--cluster', 'check', `127.0.0.1:${resp[0]}`]);
  expect(stdout).toContain('[OK] All 16384 slots covered.');
  expect(stdout).toContain('3 masters');
});

test('REST: a key of another pod answers 307 to the owner\'s HTTP port, which fetch follows with method and body', async () => {
  const base = (i: number) => `http://127.0.0.1:${http[i]}/v1/keys/`;
  // a is slot 15495: ordinal 2.
  const r = await fetch(`${base(0)}a`, { method: 'PUT', body: 'from-rest', redirect: 'manual' });
  expect(r.status).toBe(307);
  expect(r.headers.get('location')).toBe(`${base(2)}a`);
  expect(r.headers.get('x-state-cache-owner')).toBe(`127.0.0.1:${resp[2]}`);
  expect(r.headers.get('x-state-cache-slot')).toBe('15495');
  expect(await r.json()).toEqual({ error: 'moved', message: `slot 15495 of this key is served by 127.0.0.1:${http[2]}` });
  const put = await fetch(`${base(1)}a?ttl=60`, { method: 'PUT', body: 'from-rest' });
  expect(put.status).toBe(201);
  const get = await fetch(`${base(0)}a`);
  expect(get.status).toBe(200);
  expect(await get.text()).toBe('from-rest');
  // It was stored on its owner only.
  const own = await fetch(`${base(2)}a`, { redirect: 'manual' });
  expect(own.status).toBe(200);
});

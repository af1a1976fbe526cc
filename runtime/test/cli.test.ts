import { execFile, spawn, spawnSync, ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { tempFile } from './helpers';
import { needs } from './tools';

/*
 * The CLI as the image runs it: `node lib/main.js serve --config FILE`, as a
 * child process. Needs the compiled runtime (npx projen compile).
 */
const MAIN = join(__dirname, '..', 'lib', 'main.js');
const hasBuild = existsSync(MAIN);
const maybe = hasBuild ? test : test.skip;
if (!hasBuild) console.warn(`skipping CLI tests: ${MAIN} is missing; run npx projen compile first`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [MAIN, ...args], (err, stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr }));
  });
}

/** Starts `serve`, resolves once it logged that it listens. */
function serve(config: object, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; logs: () => string }> {
  const file = tempFile('config.json', JSON.stringify(config));
  const child = spawn('node', [MAIN, 'serve', '--config', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 15000);
    child.stdout!.on('data', () => {
      if (out.includes('state-cache listening')) {
        clearTimeout(timer);
        resolve({ child, logs: () => out });
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`serve exited: ${out}`));
    });
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

maybe('check-config prints every problem with its JSON path and exits 2', async () => {
  const bad = tempFile('bad.json', JSON.stringify({ server: { port: 'x' }, memory: { eviction: 'fifo' }, extra: true }));
  const r = await run(['check-config', bad]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`invalid config ${bad}:`);
  expect(r.stderr).toContain('/server/port: Expected integer');
  expect(r.stderr).toContain('/memory/eviction:');
  expect(r.stderr).toContain('/extra: Unexpected property');
  const good = tempFile('good.json', JSON.stringify({ server: { port: 7000 } }));
  expect(await run(['check-config', good])).toEqual({ code: 0, stdout: `${good}: valid\n`, stderr: '' });
  expect((await run(['frobnicate'])).code).toBe(2);
  expect((await run(['check-config'])).stderr).toContain('check-config needs exactly one FILE');
});

maybe('serve with a bad config exits 2 and listens on nothing', async () => {
  const port = await freePort();
  const bad = tempFile('bad.json', JSON.stringify({ server: { port, bind: '0.0.0.0' } }));
  const r = await run(['serve', '--config', bad]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('/server/bind: binding 0.0.0.0 without a password would expose every key');
  const r2 = await run(['serve', '--config', tempFile('c.json', JSON.stringify({ server: { port }, auth: { passwordEnv: 'UNSET_STATE_CACHE_PW' } }))]);
  expect(r2.code).toBe(2);
  expect(r2.stderr).toContain('/auth/passwordEnv: the environment variable UNSET_STATE_CACHE_PW is not set or empty');
});

maybe('serve answers RESP and HTTP, logs JSON, and SIGTERM drains and exits 0', async () => {
  const [port, httpPort] = [await freePort(), await freePort()];
  const { child, logs } = await serve({ server: { port }, http: { port: httpPort }, auth: { passwordFile: tempFile('pw', 'from-file\n') } });
  const exited = exitOf(child);
  const redis = new Redis({ port, host: '127.0.0.1', password: 'from-file' });
  try {
    expect(await redis.set('k', 'v')).toBe('OK');
    expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200);
    // Every line is JSON; persistence reports first, then the listeners.
    const lines = logs().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msg).slice(0, 2)).toEqual(['persistence started', 'state-cache listening']);
    expect(lines[1]).toMatchObject({ level: 30, service: 'state-cache', msg: 'state-cache listening', auth: true });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs()).toContain('"msg":"shutting down: no new connections, finishing in-flight commands"');
    expect(logs()).toContain('"msg":"state-cache stopped"');
  } finally {
    redis.disconnect();
    child.kill('SIGKILL');
  }
});

maybe('SIGINT also stops it with status 0', async () => {
  const { child } = await serve({ server: { port: await freePort() }, http: { enabled: false } });
  const exited = exitOf(child);
  child.kill('SIGINT');
  expect(await exited).toBe(0);
});

(hasBuild ? needs('redis-cli').test : test.skip)('a scripted redis-cli session works against serve', async () => {
  const port = await freePort();
  const { child } = await serve({ server: { port }, http: { enabled: false } });
  const exited = exitOf(child);
  try {
    const script = ['SET greeting hello', 'GET greeting', 'INCR visits', 'INCRBY visits 9', 'EXPIRE greeting 100', 'TTL greeting', 'DBSIZE', 'DEL greeting', 'GET greeting', 'NOSUCH a b'].join('\n') + '\n';
    const r = spawnSync('redis-cli', ['-p', String(port)], { input: script, encoding: 'utf8' });
    expect(r.stdout.split('\n')).toEqual(['OK', 'hello', '1', '10', '1', '100', '2', '1', '', "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ", '', '']);
    const r3 = spawnSync('redis-cli', ['-3', '-p', String(port), 'HELLO', '3'], { encoding: 'utf8' });
    expect(r3.stdout).toContain('proto');
    const info = spawnSync('redis-cli', ['-p', String(port), 'INFO', 'keyspace'], { encoding: 'utf8' });
    expect(info.stdout).toContain('db0:keys=1,expires=0');
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

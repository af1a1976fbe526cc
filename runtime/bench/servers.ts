import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { imageEnv, imageNodeArgs } from './churn';
import { serverConfig } from './server-config';

/** The repository root (this file is runtime/bench/servers.ts). */
export const REPO_ROOT = join(__dirname, '..', '..');
export const RUNTIME_DIR = join(REPO_ROOT, 'runtime');
export const MAIN_JS = join(RUNTIME_DIR, 'lib', 'main.js');

/** A free loopback port, chosen by the OS. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('the OS gave no free port'))));
    });
  });
}

/** Fails with the install command when a Redis binary the benchmark compares against is missing. */
export function requireRedisTools(): void {
  const missing = ['redis-server', 'redis-benchmark'].filter(
    (bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).error !== undefined,
  );
  if (missing.length > 0) {
    throw new Error(`${missing.join(' and ')} not found on PATH: install them with 'apt-get install redis-server redis-tools'`);
  }
}

/** Compiles the runtime when runtime/lib/main.js does not exist yet. */
export function ensureRuntimeBuilt(log: (line: string) => void): void {
  if (existsSync(MAIN_JS)) return;
  log('runtime/lib/main.js is missing: compiling the runtime (tsc --build)');
  const tsc = join(RUNTIME_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '--build', RUNTIME_DIR], { stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`compiling the runtime failed (tsc exit ${result.status}); run 'npx projen compile' and look at its errors`);
  }
  if (!existsSync(MAIN_JS)) {
    throw new Error('the runtime compiled, but there is no runtime/lib/main.js: runtime/src/main.ts (state-cache\'s entry point) is missing');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Disconnects unless the client has ended already: ioredis's disconnect() on an
 * ended client leaves a socket behind for seconds, which keeps jest from exiting.
 */
function release(client: Redis): void {
  if (client.status !== 'end') client.disconnect();
}

/** Every server started and not yet stopped, so an interrupted run leaves none behind. */
const running = new Set<BenchServer>();

/** Kills every server still running (for exit and signal handlers). */
export function killAll(): void {
  for (const server of running) server.kill();
  running.clear();
}

/** TLS on a server's RESP port: the certificate files, and the CA clients trust. */
export interface BenchTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly ca: string;
}

/** A server under test: a child process with a RESP port on loopback. */
export abstract class BenchServer {
  /** With TLS, the RESP port serves TLS only. */
  public tls?: BenchTls;
  public readonly name: string;
  protected child?: ChildProcess;
  protected readonly dir: string;
  private output = '';
  private exited = false;

  protected constructor(name: string, public readonly port: number) {
    this.name = name;
    this.dir = mkdtempSync(join(tmpdir(), `bench-${name.replace(/\W+/g, '-')}-`));
  }

  get pid(): number {
    if (this.child?.pid === undefined || this.exited) throw new Error(`${this.name} is not running`);
    return this.child.pid;
  }

  /** Resident set size of the server process, from /proc/<pid>/status (VmRSS). */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!match) throw new Error(`no VmRSS line in /proc/${this.pid}/status of ${this.name}`);
    return Number(match[1]) * 1024;
  }

  /** `INFO <section>` as a map of field to value. */
  async info(section: string): Promise<Map<string, string>> {
    const client = this.client();
    try {
      const text = (await client.info(section)) as string;
      const fields = new Map<string, string>();
      for (const line of text.split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
      }
      return fields;
    } finally {
      release(client);
    }
  }

  /** A client that gives up instead of reconnecting forever. */
  client(): Redis {
    return new Redis({
      host: '127.0.0.1',
      port: this.port,
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      ...(this.tls ? { tls: { ca: this.tls.ca, servername: 'localhost' } } : {}),
    });
  }

  async start(): Promise<void> {
    const [command, args] = this.command();
    const child = spawn(command, args, { cwd: this.dir, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(this);
    const keep = (chunk: Buffer) => {
      // The last few kB are enough to explain a failed start.
      this.output = (this.output + chunk.toString()).slice(-8192);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => { this.exited = true; });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.exited) throw new Error(`${this.name} exited during start (exit ${child.exitCode}, signal ${child.signalCode}):\n${this.output}`);
      if (await this.isReady()) return;
      if (Date.now() > deadline) throw new Error(`${this.name} was not ready within 60 s:\n${this.output}`);
      await sleep(200);
    }
  }

  /** SIGTERM, then SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && !this.exited) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    running.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous last resort for process exit handlers. */
  kill(): void {
    if (this.child && !this.exited) this.child.kill('SIGKILL');
  }

  protected env(): NodeJS.ProcessEnv {
    return process.env;
  }

  protected abstract command(): [string, string[]];
  protected abstract isReady(): Promise<boolean>;

  protected async pings(): Promise<boolean> {
    const client = this.client();
    client.on('error', () => undefined);
    try {
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      release(client);
    }
  }
}

/** redis-server with persistence off, so neither side writes to disk. */
export class RedisServer extends BenchServer {
  /** `maxmemory`: 0 for none; with a budget the policy is allkeys-lru. */
  static async create(maxmemory = 0, tls?: BenchTls): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), maxmemory);
    server.tls = tls;
    return server;
  }

  private constructor(port: number, private readonly maxmemory: number) {
    super('redis', port);
  }

  protected command(): [string, string[]] {
    const t = this.tls;
    const ports = t
      ? ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', t.certFile, '--tls-key-file', t.keyFile, '--tls-ca-cert-file', t.caFile, '--tls-auth-clients', 'no']
      : ['--port', String(this.port)];
    return ['redis-server', [
      ...ports, '--bind', '127.0.0.1', '--protected-mode', 'yes',
      '--save', '', '--appendonly', 'no', '--dir', this.dir, '--daemonize', 'no', '--loglevel', 'warning',
      ...(this.maxmemory > 0 ? ['--maxmemory', String(this.maxmemory), '--maxmemory-policy', 'allkeys-lru'] : []),
    ]];
  }

  protected isReady(): Promise<boolean> {
    return this.pings();
  }
}

/** state-cache from runtime/lib, ready when /readyz answers 200. */
export class StateCacheServer extends BenchServer {
  /** `maxBytes`: 0 leaves the config's default (derived from the machine); with a budget the policy is lru. */
  static async create(main: string, maxBytes = 0, tls?: BenchTls, socketIo?: 'handle' | 'stream'): Promise<StateCacheServer> {
    const name = socketIo === 'stream' ? 'state-cache (stream)' : 'state-cache';
    const server = new StateCacheServer(main, await freePort(), await freePort(), maxBytes, name);
    server.tls = tls;
    server.socketIo = socketIo;
    return server;
  }

  /** `server.socketIo`; undefined: the config's default. */
  private socketIo?: 'handle' | 'stream';

  private constructor(
    private readonly main: string, port: number, public readonly httpPort: number, private readonly maxBytes: number, name: string,
  ) {
    super(name, port);
  }

  protected command(): [string, string[]] {
    const config = join(this.dir, 'config.json');
    const memory = this.maxBytes > 0 ? { memory: { maxBytes: this.maxBytes, eviction: 'lru' } } : {};
    const base = serverConfig(this.port, this.httpPort);
    // TLS only on the RESP port, as redis-server --port 0 --tls-port; HTTP (readiness) stays plain.
    const t = this.tls;
    const tls = t
      ? { server: { ...(base.server as object), plaintext: false, tlsPort: this.port }, tls: { certFile: t.certFile, keyFile: t.keyFile } }
      : {};
    const io = this.socketIo ? { server: { ...(base.server as object), socketIo: this.socketIo } } : {};
    writeFileSync(config, JSON.stringify({ ...base, ...memory, ...io, ...tls }));
    return [process.execPath, [...imageNodeArgs(), this.main, 'serve', '--config', config]];
  }

  /** The image's environment (runtime/Dockerfile: NODE_OPTIONS, allocator settings), so the server runs as it does in a pod. */
  protected env(): NodeJS.ProcessEnv {
    return { ...process.env, ...imageEnv() };
  }

  protected async isReady(): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.httpPort}/readyz`);
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }
}

/** Versions for the report header. */
export function redisVersion(): string {
  const out = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
}

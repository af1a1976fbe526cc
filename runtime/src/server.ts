import { createServer, Server, Socket, AddressInfo } from 'node:net';
import { totalmem } from 'node:os';
import { createServer as createTlsServer, Server as TlsServer } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { containerMemoryLimit } from './cgroup';
import { ClusterConfigError, ClusterMap } from './cluster/cluster';
import { Config, ConfigError, readPassword } from './config';
import { NO_PERSISTENCE, PersistenceHooks } from './keyspace/hooks';
import { Keyspace } from './keyspace/keyspace';
import { createLogger, Logger } from './log';
import { createMetrics } from './metrics';
import { COMMANDS, lookupCommand } from './protocol/command-table';
import { Command, Frame, LATENCY_BUCKETS, ServerStats } from './protocol/commands';
import { Connection, ConnectionHost, ConnectionLimits } from './protocol/connection';
import { HttpFrontend } from './protocol/http';
import { dropSubscriptions } from './protocol/pubsub';
import { ReplyWriter } from './protocol/resp';
import { trackingOff } from './protocol/tracking';
import { handleIoAvailable, TransportKind } from './protocol/transport';
import { loadTlsMaterial, secureContextOptions, TlsMaterial, TlsReloader } from './tls';

export interface StartOptions {
  /** Persistence behind the keyspace; memory only by default. */
  readonly hooks?: PersistenceHooks;
  readonly log?: Logger;
  /** Where to read the container memory limit (tests use fake cgroup dirs). */
  readonly cgroupRoot?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** What the process needs besides its keyspace, and the share of the budget on top (as the constructs derive a limit). */
export const RUNTIME_RESERVE = 128 * 1024 * 1024;
export const BUDGET_HEADROOM = 1.25;

/**
 * The byte budget when the config leaves it at 0: `fraction` of the
 * container's memory limit (or of the machine's memory), and never more than
 * (limit - 128 MiB) / 1.25, the inverse of the limit the constructs derive for a
 * budget (src/_cache-pod.ts), so the process stays inside the limit under
 * churn at small limits too. Values no longer live on the V8 heap, so its
 * size limit does not bound the budget. Below a ~150 MiB limit that cap is
 * under 16 MiB; the budget is then 16 MiB (or the fraction, if smaller), and
 * such a container is too small for Node under load anyway.
 */
export function defaultMaxBytes(fraction: number, cgroupRoot?: string): number {
  const limit = containerMemoryLimit(cgroupRoot) ?? totalmem();
  const fits = Math.max(0, (limit - RUNTIME_RESERVE) / BUDGET_HEADROOM);
  return Math.floor(Math.max(Math.min(limit * fraction, fits), Math.min(limit * fraction, 16 * 1024 * 1024)));
}

/**
 * What the process may hold besides the keyspace before a full garbage
 * collection is forced: Node itself (~45 MiB of code and heap), connection and
 * reply buffers, and garbage. The keyspace keeps nothing on the V8 heap, so
 * what is left there is small and a full collection is quick (a few ms); but
 * V8 lets its old generation fill with garbage (and the socket buffers it
 * holds) up to a limit sized for the whole machine, not for the container.
 */
export const PROCESS_ALLOWANCE = 48 * 1024 * 1024;
/** How often RSS is checked against the keyspace's bytes plus the allowance (PROCESS_ALLOWANCE at least). */
const GC_CHECK_MS = 200;

let fullGc: (() => void) | undefined;
/** V8's gc(), exposed at run time (no command-line flag needed). */
function forceGc(): void {
  if (fullGc === undefined) {
    setFlagsFromString('--expose-gc');
    fullGc = runInNewContext('gc') as () => void;
  }
  fullGc();
}

/** A running state-cache: RESP and HTTP listeners over one keyspace. */
export class StateCache implements ConnectionHost {
  readonly ks: Keyspace;
  readonly out = new ReplyWriter();
  readonly password: string | undefined;
  readonly clients = new Map<number, Connection>();
  readonly startedAt = Date.now();
  readonly stats = new ServerStats();
  readonly limits: ConnectionLimits;
  readonly log: Logger;
  readonly registry: Registry;
  readonly maxClients: number;
  readonly socketIo: TransportKind;
  readonly maxBulkBytes: number;
  readonly cluster: ClusterMap | undefined;
  /** The plaintext RESP port (0 when server.plaintext is false). */
  respPort = 0;
  /** The TLS RESP port (0 when there is none). */
  tlsPort = 0;
  httpPort = 0;

  private readonly resp: Server | undefined;
  private readonly respTls: TlsServer | undefined;
  private readonly http: HttpFrontend | undefined;
  /** Reads the certificate files again to pick up a rotation; undefined without TLS listeners. */
  readonly tlsReloader: TlsReloader | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private governor: NodeJS.Timeout | undefined;
  /** Full collections forced because RSS went over the keyspace plus PROCESS_ALLOWANCE (INFO gc_forced). */
  gcForced = 0;
  private lastForcedGc = 0;
  /** RSS above the keyspace's bytes that triggers a forced collection (adapts to what the process keeps live). */
  private allowance = PROCESS_ALLOWANCE;
  private stopping: Promise<void> | undefined;

  constructor(readonly config: Config, options: StartOptions = {}) {
    this.log = options.log ?? createLogger(config.log.level);
    this.password = readPassword(config.auth, options.env ?? process.env);
    this.cluster = config.cluster.enabled ? clusterMap(config, options.env ?? process.env) : undefined;
    const hooks = options.hooks ?? NO_PERSISTENCE;
    this.ks = new Keyspace({
      maxEntries: config.memory.maxEntries,
      maxBytes: config.memory.maxBytes !== 0 ? config.memory.maxBytes : defaultMaxBytes(config.memory.limitFraction, options.cgroupRoot),
      eviction: config.memory.eviction,
      evictionSamples: config.memory.evictionSamples,
      defaultTtlMs: config.expiry.defaultTtlSeconds * 1000,
      maxIdleMs: config.expiry.maxIdleSeconds * 1000,
    }, hooks);
    this.limits = config.limits;
    this.maxClients = config.limits.maxClients;
    this.socketIo = config.server.socketIo;
    this.maxBulkBytes = config.limits.maxBulkBytes;
    this.stats.calls = new Float64Array(COMMANDS.length);
    this.stats.latencyCounts = new Float64Array(LATENCY_BUCKETS.length + 1);
    this.registry = createMetrics(this.ks, this.stats, () => this.clients.size, () => this.ready());
    if (config.server.plaintext) this.resp = createServer({ noDelay: true }, (socket) => this.accept(socket));
    const tlsInUse = config.server.tlsPort !== undefined || (config.http.enabled && config.http.tls);
    // Bad files are refused here, before anything listens, with the config path and the fix.
    const material = tlsInUse ? loadTlsMaterial(config.tls) : undefined;
    const mutual = config.tls.clientAuth === 'require';
    if (material !== undefined && config.server.tlsPort !== undefined) {
      const tlsOptions = { ...secureContextOptions(material), requestCert: mutual, rejectUnauthorized: mutual, noDelay: true };
      this.respTls = createTlsServer(tlsOptions, (socket) => this.accept(socket));
      // A failed handshake (wrong CA, no client certificate) only closes that socket.
      this.respTls.on('tlsClientError', (err) => this.log.debug({ err: err.message }, 'TLS handshake failed'));
    }
    if (config.http.enabled) {
      this.http = new HttpFrontend({
        // Probes bring no client certificate: HTTPS asks for one, and only /v1/keys requires it.
        tls: material !== undefined && config.http.tls
          ? { ...secureContextOptions(material), requestCert: mutual, rejectUnauthorized: false } : undefined,
        clientAuth: mutual,
        protectedMode: config.server.protectedMode,
        ks: this.ks,
        password: this.password,
        maxBodyBytes: config.limits.maxBulkBytes,
        registry: this.registry,
        ready: () => this.ready(),
        persistenceStatus: () => this.ks.hooks.status?.() ?? { mode: 'custom hooks', ready: this.ks.hooks.ready(), stores: [] },
        stats: this.stats,
        log: this.log,
        cluster: this.cluster,
      });
    }
    if (material !== undefined) {
      const targets = [this.respTls, this.http?.tlsServer].filter((t) => t !== undefined);
      this.tlsReloader = new TlsReloader(config.tls, material, targets,
        (m: TlsMaterial) => this.log.info({ serial: m.serial, validTo: m.validTo.toISOString() }, 'TLS certificate reloaded'),
        (e: Error) => this.log.warn({ err: e.message }, 'TLS files changed but cannot be used yet; keeping the current certificate'));
    }
  }

  ready(): boolean {
    return this.stopping === undefined && this.ks.hooks.ready();
  }

  lookup(f: Frame): Command | undefined {
    return lookupCommand(f);
  }

  /** Listens on both ports; resolves when both are bound. */
  async start(): Promise<this> {
    const c = this.config;
    if (this.resp !== undefined) this.respPort = await listen(this.resp, c.server.port, c.server.bind);
    if (this.respTls !== undefined) this.tlsPort = await listen(this.respTls, c.server.tlsPort!, c.server.tlsBind ?? c.server.bind);
    if (this.http !== undefined) this.httpPort = await listen(this.http.server, c.http.port, c.http.bind);
    this.tlsReloader?.start(c.tls.reloadIntervalMs);
    this.sweeper = setInterval(() => this.ks.sweep(c.expiry.activeEffort), c.expiry.activeIntervalMs);
    this.sweeper.unref();
    this.governor = setInterval(() => this.governHeap(), GC_CHECK_MS);
    this.governor.unref();
    this.log.info({
      resp: this.resp ? `${c.server.bind}:${this.respPort}` : 'disabled (TLS only)',
      ...(this.respTls ? { respTls: `${c.server.tlsBind ?? c.server.bind}:${this.tlsPort}`, clientAuth: c.tls.clientAuth } : {}),
      http: this.http ? `${c.http.tls ? 'https' : 'http'}://${c.http.bind}:${this.httpPort}` : 'disabled',
      ...(this.tlsReloader
        ? { certificateSerial: this.tlsReloader.current.serial, certificateValidTo: this.tlsReloader.current.validTo.toISOString() } : {}),
      maxBytes: this.ks.maxBytes,
      maxEntries: this.ks.maxEntries,
      eviction: this.ks.policy,
      auth: this.password !== undefined,
      // What plaintext connections really use: handle falls back to stream where this Node lacks the binding.
      socketIo: this.socketIo === 'handle' && !handleIoAvailable() ? 'stream (handle I/O is not available in this Node)' : this.socketIo,
    }, 'state-cache listening');
    return this;
  }

  private accept(socket: Socket): void {
    this.stats.connectionsReceived++;
    if (this.stopping !== undefined) {
      socket.destroy();
      return;
    }
    if (this.clients.size >= this.maxClients) {
      this.stats.connectionsRejected++;
      socket.on('error', () => undefined);
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    const conn = new Connection(this, socket);
    this.clients.set(conn.id, conn);
  }

  /**
   * Ties the rest of the process to the budget: when RSS is above the
   * keyspace's allocated bytes plus PROCESS_ALLOWANCE, the garbage is what
   * is over, so collect it now rather than when V8's machine-sized heap
   * limits say so.
   */
  private governHeap(): void {
    const now = Date.now();
    // At most one a second: if the excess is live (many clients' buffers), collecting cannot shrink it.
    if (now - this.lastForcedGc < 1000) return;
    if (process.memoryUsage.rss() > this.ks.allocatedBytes + this.allowance) {
      forceGc();
      this.gcForced++;
      this.lastForcedGc = now;
      // What the collection left (live objects, and memory the allocator keeps for reuse) is allowed,
      // plus 16 MiB: the next collection comes when that much more has built up.
      this.allowance = Math.max(PROCESS_ALLOWANCE, process.memoryUsage.rss() - this.ks.allocatedBytes + 16 * 1024 * 1024);
    }
  }

  closed(c: Connection): void {
    this.clients.delete(c.id);
    dropSubscriptions(this, c);
    trackingOff(this, c);
  }

  recordLatency(seconds: number, n: number): void {
    const per = seconds / n;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && per > LATENCY_BUCKETS[i]) i++;
    this.stats.latencyCounts[i] += n;
    this.stats.latencySum += seconds;
  }

  /**
   * Graceful stop: stop accepting, let in-flight commands reply, close
   * connections, flush persistence, all within `timeoutMs`. Resolves true when
   * everything finished in time.
   */
  shutdown(timeoutMs: number = this.config.shutdown.timeoutSeconds * 1000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (this.stopping === undefined) {
      this.stopping = (async () => {
        if (this.sweeper) clearInterval(this.sweeper);
        if (this.governor) clearInterval(this.governor);
        this.tlsReloader?.stop();
        const closedResp = Promise.all([this.resp, this.respTls].map((srv) => srv === undefined
          ? undefined : new Promise<void>((resolve) => srv.close(() => resolve()))));
        const closedHttp = this.http?.close() ?? Promise.resolve();
        await Promise.all([...this.clients.values()].map((c) => c.whenIdle()));
        for (const c of this.clients.values()) c.end();
        await this.ks.hooks.flush(deadline);
        // Connections that do not close by themselves are cut at the deadline.
        await Promise.race([Promise.all([closedResp, closedHttp]), sleep(Math.max(0, deadline - Date.now()))]);
      })();
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    });
    return Promise.race([this.stopping.then(() => true), timeout]).then((ok) => {
      clearTimeout(timer);
      for (const c of this.clients.values()) c.kill();
      this.http?.server.closeAllConnections();
      return ok;
    });
  }

  /** Stops at once (tests). */
  async close(): Promise<void> {
    await this.shutdown(2000);
  }
}

/** The slot map of this pod; a pod that cannot tell its ordinal is a config error. */
function clusterMap(config: Config, env: NodeJS.ProcessEnv): ClusterMap {
  try {
    return new ClusterMap(config.cluster, env, config.http.enabled ? config.http.port : 0);
  } catch (e) {
    if (e instanceof ClusterConfigError) throw new ConfigError('cluster', [{ path: e.path, message: e.message }]);
    throw e;
  }
}

function listen(server: Server | import('node:http').Server | import('node:https').Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Creates and starts a state-cache. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<StateCache> {
  return new StateCache(config, options).start();
}

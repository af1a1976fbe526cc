import { Cluster, Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { CoherenceChannel, CoherenceListener, CoherenceOptions } from './store';

/**
 * Coherence over a Redis-protocol server's own server-assisted client-side
 * caching: one dedicated connection turns `CLIENT TRACKING` on in BCAST mode
 * for the store's key prefix, redirected to itself, and subscribes to
 * `__redis__:invalidate`. The server then names every key of the prefix that
 * any client changes (RESP2 Pub/Sub form, so ioredis can read it). The
 * messages carry no versions: the listener reads the stored versions and
 * applies the same drop-if-newer rule. A flush (a message without keys) makes
 * every cached key suspect. Heartbeat: PING on the same connection.
 *
 * In a cluster a server only names the keys it owns, so ClusterTracker keeps
 * one RemoteTracker per primary.
 */

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2000;
const INVALIDATE = '__redis__:invalidate';

export interface TrackerOptions extends CoherenceOptions {
  /** Connection settings of the store's client (host, port, auth, TLS, db). */
  readonly redis: RedisOptions;
  /** The store's key prefix: only keys under it are tracked, and it is stripped from what is reported. */
  readonly prefix: Buffer;
  readonly logger: Logger;
  readonly store: string;
  /** The node tracked, in logs (cluster mode). */
  readonly node?: string;
}

export class RemoteTracker implements CoherenceChannel {
  private client: Redis | undefined;
  private up_ = false;
  private closed = false;
  /** When the channel last provably worked (ms since the epoch). */
  lastHeard = Date.now();
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private attempt = 0;
  private reportedDown = false;

  constructor(private readonly options: TrackerOptions, private readonly listener: CoherenceListener) {}

  get up(): boolean {
    return this.up_;
  }

  start(): void {
    this.connect().catch((err: Error) => this.options.logger.error({ store: this.options.store, node: this.options.node, err: err.message }, 'coherence: tracking failed to start'));
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const o = this.options;
    // Own reconnection (as the PostgreSQL listener): tracking must be set up again on every connection.
    const client = new Redis({
      ...o.redis, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: true, autoResubscribe: false,
    });
    this.client = client;
    client.on('error', (err: Error) => this.lost(client, `tracking connection failed: ${err.message}`));
    client.on('close', () => this.lost(client, 'tracking connection closed'));
    client.on('messageBuffer', (channel: Buffer, message: Buffer | Buffer[] | null) => {
      this.lastHeard = Date.now();
      if (channel.toString() !== INVALIDATE) return;
      this.onInvalidate(message);
    });
    try {
      await client.connect();
      const id = await client.client('ID');
      const prefix = o.prefix.length > 0 ? ['PREFIX', o.prefix] : [];
      await client.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(id), 'BCAST', ...prefix);
      await client.subscribe(INVALIDATE);
    } catch (err) {
      this.lost(client, `cannot track: ${(err as Error).message}`);
      return;
    }
    if (this.closed || this.client !== client) return;
    this.attempt = 0;
    this.up_ = true;
    this.reportedDown = false;
    this.lastHeard = Date.now();
    o.logger.info({ store: o.store, node: o.node }, 'coherence: tracking other clients\' writes (CLIENT TRACKING BCAST)');
    this.heartbeat = setInterval(() => this.beat(client), o.heartbeatMs);
    this.heartbeat.unref();
    this.listener.channelUp();
  }

  private beat(client: Redis): void {
    const now = Date.now();
    if (now - this.lastHeard > this.options.heartbeatTimeoutMs) {
      this.lost(client, `no heartbeat came back for ${now - this.lastHeard} ms`);
      return;
    }
    client.ping().then(() => { this.lastHeard = Date.now(); }, (err: Error) => this.lost(client, `heartbeat failed: ${err.message}`));
  }

  private onInvalidate(message: Buffer | Buffer[] | null): void {
    const sentAt = Date.now(); // the server's messages carry no time: the lag metric reads 0
    if (message === null || (Array.isArray(message) && message.length === 0)) {
      this.listener.invalidated({ origin: 'server', sentAt }); // FLUSHDB / FLUSHALL: everything is suspect
      return;
    }
    const keys = Array.isArray(message) ? message : [message];
    const p = this.options.prefix;
    const stripped = keys.filter((k) => k.subarray(0, p.length).equals(p)).map((k) => k.subarray(p.length));
    if (stripped.length > 0) this.listener.invalidated({ origin: 'server', sentAt, unversioned: stripped });
  }

  private lost(client: Redis, reason: string): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    clearInterval(this.heartbeat);
    client.removeAllListeners('messageBuffer');
    client.on('error', () => undefined);
    client.disconnect();
    const wasUp = this.up_;
    this.up_ = false;
    if (wasUp || !this.reportedDown) {
      this.reportedDown = true;
      this.options.logger.warn({ store: this.options.store, node: this.options.node, reason }, 'coherence: tracking channel down; cached copies are bounded by coherence.maxUnvalidatedMs');
      this.listener.channelDown(reason, this.lastHeard);
    }
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempt++);
    this.retry = setTimeout(() => this.start(), delay * (0.5 + Math.random() / 2));
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    this.up_ = false;
    if (c) {
      c.on('error', () => undefined);
      c.disconnect();
    }
  }
}

/**
 * Coherence over a Redis Cluster (Valkey, redis-server, state-cache in
 * cluster mode): a server only names the keys of its own slots, so every
 * primary gets its own RemoteTracker. The set follows the cluster client's
 * view of the primaries, checked every heartbeat: a failover or a scale-out
 * brings a primary whose tracking starts late, so the channel reports down
 * until every primary is tracked, and up again after (the listener then
 * re-validates what it cached meanwhile).
 */
export class ClusterTracker implements CoherenceChannel {
  private readonly trackers = new Map<string, RemoteTracker>();
  private up_ = false;
  private reportedDown = false;
  private closed = false;
  private readonly refreshTimer: NodeJS.Timeout;

  constructor(
    private readonly options: Omit<TrackerOptions, 'redis'> & { readonly redis: RedisOptions },
    private readonly cluster: Cluster,
    private readonly listener: CoherenceListener,
  ) {
    this.refreshTimer = setInterval(() => this.refresh(), options.heartbeatMs);
    this.refreshTimer.unref();
  }

  get up(): boolean {
    return this.up_;
  }

  start(): void {
    this.refresh();
  }

  /** Tracks the primaries the cluster client knows now, and stops tracking the ones it dropped. */
  private refresh(): void {
    if (this.closed) return;
    const primaries = new Map<string, { host: string; port: number }>();
    for (const node of this.cluster.nodes('master')) {
      const { host, port } = node.options;
      if (host !== undefined && port !== undefined) primaries.set(`${host}:${port}`, { host, port });
    }
    let demoted: string | undefined;
    for (const [address, tracker] of this.trackers) {
      if (!primaries.has(address)) {
        this.trackers.delete(address);
        if (tracker.up) demoted = address;
        void tracker.close();
      }
    }
    if (demoted !== undefined && this.up_) {
      // A primary demoted while still connected (a graceful failover): the new one's writes were not tracked
      // until now, so down now and up again once it is tracked (the listener then re-validates).
      this.up_ = false;
      this.reportedDown = true;
      this.listener.channelDown(`${demoted} is no longer a primary`, Date.now());
    }
    for (const [address, { host, port }] of primaries) {
      if (this.trackers.has(address)) continue;
      const tracker = new RemoteTracker({ ...this.options, redis: { ...this.options.redis, host, port }, node: address }, {
        invalidated: (invalidation) => this.listener.invalidated(invalidation),
        channelUp: () => this.update(),
        channelDown: () => this.update(true),
      });
      this.trackers.set(address, tracker);
      tracker.start();
    }
    this.update();
  }

  /**
   * Up when every known primary is tracked. Down is reported when it was up,
   * or once when a tracker fails before it ever was (as a single tracker does).
   */
  private update(failed = false): void {
    if (this.closed) return;
    const trackers = [...this.trackers.entries()];
    const down = trackers.filter(([, t]) => !t.up);
    const up = trackers.length > 0 && down.length === 0;
    if (up && !this.up_) {
      this.up_ = true;
      this.reportedDown = false;
      this.listener.channelUp();
    } else if (!up && (this.up_ || (failed && !this.reportedDown))) {
      this.up_ = false;
      this.reportedDown = true;
      const lastHeard = Math.min(Date.now(), ...down.map(([, t]) => t.lastHeard));
      this.listener.channelDown(trackers.length === 0 ? 'the cluster client knows no primary' : `not tracking ${down.map(([a]) => a).join(', ')}`, lastHeard);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refreshTimer);
    this.up_ = false;
    await Promise.all([...this.trackers.values()].map((t) => t.close()));
    this.trackers.clear();
  }
}

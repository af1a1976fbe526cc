import { Cluster, Redis, RedisOptions } from 'ioredis';
import { NotificationChannel, NotificationChannelOptions } from './notification-channel';
import type { CoherenceChannel, CoherenceListener } from './store';

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

const INVALIDATE = '__redis__:invalidate';

export interface TrackerOptions extends NotificationChannelOptions {
  /** Connection settings of the store's client (host, port, auth, TLS, db). */
  readonly redis: RedisOptions;
  /** The store's key prefix: only keys under it are tracked, and it is stripped from what is reported. */
  readonly prefix: Buffer;
}

export class RemoteTracker extends NotificationChannel<Redis> {
  constructor(private readonly o: TrackerOptions, listener: CoherenceListener) {
    super(o, listener, { up: 'tracking other clients\' writes (CLIENT TRACKING BCAST)', setupFailed: 'cannot track', name: 'tracking channel' });
  }

  protected open(): Redis {
    // Own reconnection (the base class): tracking must be set up again on every connection.
    const client = new Redis({
      ...this.o.redis, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: true, autoResubscribe: false,
    });
    client.on('error', (err: Error) => this.lost(client, `tracking connection failed: ${err.message}`));
    client.on('close', () => this.lost(client, 'tracking connection closed'));
    client.on('messageBuffer', (channel: Buffer, message: Buffer | Buffer[] | null) => {
      this.heard();
      if (channel.toString() !== INVALIDATE) return;
      this.onInvalidate(message);
    });
    return client;
  }

  protected async setUp(client: Redis): Promise<void> {
    await client.connect();
    const id = await client.client('ID');
    const prefix = this.o.prefix.length > 0 ? ['PREFIX', this.o.prefix] : [];
    await client.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(id), 'BCAST', ...prefix);
    await client.subscribe(INVALIDATE);
  }

  protected async ping(client: Redis): Promise<void> {
    await client.ping();
    this.heard();
  }

  protected drop(client: Redis): Promise<void> {
    client.removeAllListeners('messageBuffer');
    client.on('error', () => undefined);
    client.disconnect();
    return Promise.resolve();
  }

  private onInvalidate(message: Buffer | Buffer[] | null): void {
    const sentAt = Date.now(); // the server's messages carry no time: the lag metric reads 0
    if (message === null || (Array.isArray(message) && message.length === 0)) {
      this.listener.invalidated({ origin: 'server', sentAt }); // FLUSHDB / FLUSHALL: everything is suspect
      return;
    }
    const keys = Array.isArray(message) ? message : [message];
    const p = this.o.prefix;
    const stripped = keys.filter((k) => k.subarray(0, p.length).equals(p)).map((k) => k.subarray(p.length));
    if (stripped.length > 0) this.listener.invalidated({ origin: 'server', sentAt, unversioned: stripped });
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

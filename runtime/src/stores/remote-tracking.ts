import { Redis, RedisOptions } from 'ioredis';
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
 * Single-node servers only (redis-server, Valkey, KeyDB); in a cluster every
 * primary would need its own tracking connection.
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
}

export class RemoteTracker implements CoherenceChannel {
  private client: Redis | undefined;
  private up_ = false;
  private closed = false;
  private lastHeard = Date.now();
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private attempt = 0;
  private reportedDown = false;

  constructor(private readonly options: TrackerOptions, private readonly listener: CoherenceListener) {}

  get up(): boolean {
    return this.up_;
  }

  start(): void {
    void this.connect();
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
    o.logger.info({ store: o.store }, 'coherence: tracking other clients\' writes (CLIENT TRACKING BCAST)');
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
      this.options.logger.warn({ store: this.options.store, reason }, 'coherence: tracking channel down; cached copies are bounded by coherence.maxUnvalidatedMs');
      this.listener.channelDown(reason, this.lastHeard);
    }
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempt++);
    this.retry = setTimeout(() => void this.connect(), delay * (0.5 + Math.random() / 2));
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

import type { Logger } from 'pino';
import type { CoherenceChannel, CoherenceListener, CoherenceOptions } from './store';

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2000;

export interface NotificationChannelOptions extends CoherenceOptions {
  readonly logger: Logger;
  readonly store: string;
  /** The server listened to, in logs (cluster mode: one channel per primary). */
  readonly node?: string;
}

/** How a kind of channel names itself in logs and reasons. */
export interface ChannelWords {
  /** Logged once the channel works, e.g. "listening for other instances' writes". */
  readonly up: string;
  /** The reason prefix when setting up fails, e.g. "cannot listen". */
  readonly setupFailed: string;
  /** The channel in the "down" warning, e.g. "notification channel". */
  readonly name: string;
}

/**
 * The skeleton every coherence channel shares (PostgreSQL LISTEN, Redis
 * CLIENT TRACKING): one dedicated connection of its own, set up again on
 * every (re)connection and reported `up` only after that took effect, so
 * whatever the listener re-validates then cannot miss a later change; a
 * heartbeat that must come back within heartbeatTimeoutMs; on any failure
 * "down" reported once and a reconnection with jittered exponential backoff.
 * Subclasses say how to open, set up, ping and drop their kind of connection.
 */
export abstract class NotificationChannel<C> implements CoherenceChannel {
  /** When the channel last provably worked (ms since the epoch). */
  lastHeard = Date.now();
  private client: C | undefined;
  private up_ = false;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private attempt = 0;
  private reportedDown = false;

  protected constructor(
    protected readonly options: NotificationChannelOptions,
    protected readonly listener: CoherenceListener,
    private readonly words: ChannelWords,
  ) {}

  get up(): boolean {
    return this.up_;
  }

  start(): void {
    this.connect().catch((err: Error) => this.options.logger.error({ store: this.options.store, node: this.options.node, err: err.message }, 'coherence: the channel failed to start'));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    this.up_ = false;
    if (c !== undefined) await this.drop(c);
  }

  /** A new connection object, its events wired (calling heard() and lost()), not yet connected. */
  protected abstract open(): C;
  /** Connects and subscribes; rejects when that fails. */
  protected abstract setUp(client: C): Promise<void>;
  /** One heartbeat; rejects when it cannot be sent. The answer must reach heard(). */
  protected abstract ping(client: C): Promise<void>;
  /** Stops listening to the connection's events and closes it. */
  protected abstract drop(client: C): Promise<void>;

  /** The connection while the channel is up, for a subclass that also runs its own work on it. */
  protected get current(): C | undefined {
    return this.up_ ? this.client : undefined;
  }

  /**
   * True while the connection is busy with work of the subclass's own that
   * holds back what it would hear (a statement runs); the heartbeat's timeout
   * waits for it, since that work has a timeout of its own.
   */
  protected busy(): boolean {
    return false;
  }

  /** Anything came through the connection: it works. */
  protected heard(): void {
    this.lastHeard = Date.now();
  }

  /** The connection is gone or useless: report once, drop it, reconnect with backoff. */
  protected lost(client: C, reason: string): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    clearInterval(this.heartbeat);
    void this.drop(client).catch(() => undefined);
    const wasUp = this.up_;
    this.up_ = false;
    if (wasUp || !this.reportedDown) {
      this.reportedDown = true;
      this.options.logger.warn({ store: this.options.store, node: this.options.node, reason }, `coherence: ${this.words.name} down; cached copies are bounded by coherence.maxUnvalidatedMs`);
      this.listener.channelDown(reason, this.lastHeard);
    }
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempt++);
    this.retry = setTimeout(() => this.start(), delay * (0.5 + Math.random() / 2));
    this.retry.unref();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = this.open();
    this.client = client;
    try {
      await this.setUp(client);
    } catch (err) {
      this.lost(client, `${this.words.setupFailed}: ${(err as Error).message}`);
      return;
    }
    if (this.closed || this.client !== client) return;
    this.attempt = 0;
    this.up_ = true;
    this.reportedDown = false;
    this.lastHeard = Date.now();
    this.options.logger.info({ store: this.options.store, node: this.options.node }, `coherence: ${this.words.up}`);
    this.heartbeat = setInterval(() => this.beat(client), this.options.heartbeatMs);
    this.heartbeat.unref();
    this.listener.channelUp();
  }

  private beat(client: C): void {
    const now = Date.now();
    if (now - this.lastHeard > this.options.heartbeatTimeoutMs && !this.busy()) {
      this.lost(client, `no heartbeat came back for ${now - this.lastHeard} ms`);
      return;
    }
    this.ping(client).catch((err: Error) => this.lost(client, `heartbeat failed: ${err.message}`));
  }
}

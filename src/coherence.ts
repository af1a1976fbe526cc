import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import type { CoherenceConfig } from './_runtime-config';
import { fail } from './_validation';
import { CacheStore } from './cache-store';

/** What a cache does with copies it cannot validate while the notification channel is down. */
export class OutageBehaviour {
  /**
   * Drop every cached copy once `maxUnvalidated` has passed without the
   * channel, and again every `maxUnvalidated` while it stays down: reads load
   * from the store (and fail while the store is down too). Consistency first.
   */
  public static readonly DROP = new OutageBehaviour('drop');

  /**
   * Keep serving the cached copies; `state_cache_coherence_unvalidated_seconds`
   * shows how stale a read may be. Availability first.
   */
  public static readonly SERVE_STALE = new OutageBehaviour('serve-stale');

  private constructor(
    /** The runtime's `onOutage` value. */
    public readonly value: string,
  ) {}
}

/** Options of `Coherence.storeNotifications()`. */
export interface StoreNotificationsOptions {
  /**
   * While the notification channel is down, no copy is served unvalidated
   * for longer than this (with `OutageBehaviour.DROP`). Must exceed
   * `heartbeatTimeout`.
   *
   * @default Duration.seconds(5)
   */
  readonly maxUnvalidated?: Duration;

  /**
   * What to do with cached copies while the channel is down.
   *
   * @default OutageBehaviour.DROP
   */
  readonly onOutage?: OutageBehaviour;

  /**
   * How often each cache proves its channel works (a heartbeat through it).
   *
   * @default Duration.seconds(1)
   */
  readonly heartbeat?: Duration;

  /**
   * The channel counts as down when no heartbeat came back for this long.
   *
   * @default Duration.seconds(3)
   */
  readonly heartbeatTimeout?: Duration;
}

/**
 * How the caches of several replicas stay coherent when they share a store.
 * Each pod's cache has its own memory: without coherence, a write through one
 * pod leaves the others serving their old copy until it expires.
 */
export class Coherence {
  /**
   * Off. Refused with more than one replica on a shared store: use
   * `PER_POD_DATA` when each pod only reads keys it writes itself.
   */
  public static readonly NONE = new Coherence('none', {});

  /**
   * Off, and the app says each pod only reads the keys it writes itself (e.g.
   * keys carry the pod name, or `sessionAffinity` pins each client to a pod
   * and its keys are the client's), so no pod can see another's stale copy.
   */
  public static readonly PER_POD_DATA = new Coherence('per-pod-data', {});

  /**
   * Invalidation through the store's own engine: every change is announced
   * (PostgreSQL: `pg_notify` in the batch's transaction; a remote Redis,
   * Valkey or state-cache server: `CLIENT TRACKING`, per primary in a
   * cluster), and every cache drops its copy of a key another one stored a
   * newer version of. The default for more than one replica with a written,
   * shared store that announces.
   */
  public static storeNotifications(options: StoreNotificationsOptions = {}): Coherence {
    return new Coherence('store-notifications', options);
  }

  private constructor(
    /** `store-notifications`, `none` or `per-pod-data`. */
    public readonly kind: string,
    /** The options of `storeNotifications()`. */
    public readonly options: StoreNotificationsOptions,
  ) {}
}

/** How the app's Service routes a client's connections. */
export class SessionAffinity {
  /** Any pod (Kubernetes' default). */
  public static readonly NONE = new SessionAffinity(undefined);

  /**
   * Connections from one client IP go to the same pod for `timeout` after its
   * last connection (at most 24 hours). A complement to coherence, not a
   * replacement: a client still moves when its pod goes away or behind a
   * proxy that hides its IP.
   */
  public static clientIp(timeout: Duration = Duration.hours(3)): SessionAffinity {
    return new SessionAffinity(timeout);
  }

  private constructor(
    /** The affinity timeout; undefined for none. */
    public readonly timeout: Duration | undefined,
  ) {}
}

/** Whether the runtime store of `s` announces changes: PostgreSQL (pg_notify), a remote server with CLIENT TRACKING. */
function announces(s: CacheStore): boolean {
  const source = s._source;
  if (source.kind === 'postgres') return true;
  return source.kind === 'remote' && (source.remote.remoteCacheEndpoint.supportsTracking ?? true);
}

/**
 * The runtime's `persistence.coherence` section for a CachedApp, or undefined
 * when off; refuses replicas > 1 on a shared store without coherence unless
 * the data is per pod.
 * @internal
 */
export function _renderCoherence(
  scope: Construct, given: Coherence | undefined, replicas: number, stores: readonly CacheStore[],
): CoherenceConfig | undefined {
  const shared = stores.filter((s) => s.shared && !s.readOnly);
  const names = (ss: readonly CacheStore[]) => ss.map((s) => `"${s.name}"`).join(', ');
  const announcing = shared.filter(announces);
  const coherence = given ?? (replicas > 1 && announcing.length > 0 ? Coherence.storeNotifications() : Coherence.NONE);
  if (coherence.kind === 'per-pod-data') return undefined;
  if (coherence.kind === 'none') {
    if (replicas > 1 && shared.length > 0) {
      fail(scope, `replicas ${replicas} share the store(s) ${names(shared)} with coherence off, so a write through one pod leaves stale copies in the others' caches`,
        announcing.length > 0
          ? 'Remove coherence (Coherence.storeNotifications() is the default here), or give coherence: Coherence.PER_POD_DATA if each pod only reads keys it writes itself'
          : `Store(s) ${names(shared)} cannot announce changes (PostgreSQL stores and remote stores on a server with CLIENT TRACKING do): use one replica, a store that announces, or coherence: Coherence.PER_POD_DATA if each pod only reads keys it writes itself`);
    }
    return undefined;
  }
  if (announcing.length === 0) {
    fail(scope, `coherence through store notifications needs a written, shared store that announces changes (PostgreSQL, or a remote server with CLIENT TRACKING), and ${shared.length === 0 ? 'no store is written and shared' : `store(s) ${names(shared)} cannot announce changes`}`,
      'Add a CacheStore.postgres or CacheStore.remote store, or remove coherence (a file store is per pod by nature)');
  }
  const o = coherence.options;
  const heartbeatMs = ms(scope, 'coherence heartbeat', o.heartbeat ?? Duration.seconds(1), 10);
  const heartbeatTimeoutMs = ms(scope, 'coherence heartbeatTimeout', o.heartbeatTimeout ?? Duration.seconds(3), 20);
  const maxUnvalidatedMs = ms(scope, 'coherence maxUnvalidated', o.maxUnvalidated ?? Duration.seconds(5), 50);
  if (heartbeatTimeoutMs <= heartbeatMs) {
    fail(scope, `coherence heartbeatTimeout ${heartbeatTimeoutMs}ms does not exceed heartbeat ${heartbeatMs}ms`, 'Give a heartbeatTimeout of a few heartbeats (e.g. 3 × heartbeat)');
  }
  if (maxUnvalidatedMs <= heartbeatTimeoutMs) {
    fail(scope, `coherence maxUnvalidated ${maxUnvalidatedMs}ms does not exceed heartbeatTimeout ${heartbeatTimeoutMs}ms`,
      'A silent channel is only noticed after heartbeatTimeout: give maxUnvalidated more than that');
  }
  return { enabled: true, heartbeatMs, heartbeatTimeoutMs, maxUnvalidatedMs, onOutage: (o.onOutage ?? OutageBehaviour.DROP).value as CoherenceConfig['onOutage'] };
}

function ms(scope: Construct, what: string, d: Duration, min: number): number {
  const v = d.toMilliseconds();
  if (!Number.isInteger(v) || v < min) fail(scope, `${what} ${v}ms is below ${min}ms`, `Give at least Duration.millis(${min})`);
  return v;
}

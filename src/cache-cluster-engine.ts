import { Duration, Size } from 'cdk8s';
import { Eviction } from './cache';

/**
 * Options of a Valkey cluster (`CacheClusterEngine.valkey()`): its shape, its
 * image, and how each server keeps and replicates its data.
 */
export interface ValkeyClusterOptions {
  /**
   * Primaries, each owning an equal share of the 16384 hash slots. At least 3,
   * so that a majority of primaries can vote a replica in when one fails.
   * Growing it adds shards (the bootstrap Job moves slots to them); shrinking
   * it is not supported.
   *
   * @default 3
   */
  readonly primaries?: number;

  /**
   * Replicas of each primary. A failed primary is replaced by one of them
   * within about twice `nodeTimeout`; with 0, a pod down means its slots are
   * down. Pods = primaries × (1 + replicasPerPrimary).
   *
   * @default 1
   */
  readonly replicasPerPrimary?: number;

  /**
   * The Valkey version, as the image tag: `major.minor.patch`, optionally
   * with a variant suffix such as `-alpine`. Floating tags (`8`, `8.1`,
   * `latest`) are refused. 7.2 or later (the first Valkey release).
   *
   * @default CacheClusterEngine.DEFAULT_VALKEY_VERSION
   */
  readonly version?: string;

  /**
   * The image repository, e.g. a pull-through mirror of `valkey/valkey`. A
   * repository named `redis` is taken for a Redis image: then `version` is a
   * Redis version (7.0 or later) and Valkey-only options are refused.
   *
   * @default "valkey/valkey"
   */
  readonly repository?: string;

  /**
   * Pin the image by digest as well as by tag (`sha256:` and 64 hex digits).
   *
   * @default - pinned by the version tag only
   */
  readonly digest?: string;

  /**
   * The size of each pod's claim for `/data`: the cluster state (nodes.conf)
   * and the append-only file. Give room for twice the data (AOF rewrites).
   *
   * @default Size.gibibytes(10)
   */
  readonly storageSize?: Size;

  /**
   * The StorageClass of the claims.
   *
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;

  /**
   * `maxmemory` of each server. At most 75% of the container memory limit:
   * an AOF rewrite forks the server, and copy-on-write needs the rest.
   *
   * @default - half the container memory limit
   */
  readonly maxMemory?: Size;

  /**
   * What a write does when `maxMemory` is reached: `Eviction.LRU` and
   * `Eviction.LFU` evict over all keys (`allkeys-lru`, `allkeys-lfu`),
   * `Eviction.NO_EVICTION` refuses the write.
   *
   * @default Eviction.LRU
   */
  readonly eviction?: Eviction;

  /**
   * `cluster-node-timeout`: how long a primary may be unreachable before it
   * counts as failed and a replica takes over. Shorter fails over sooner and
   * risks failovers on a busy network; an isolated primary also keeps
   * acknowledging writes for about this long.
   *
   * @default Duration.seconds(5)
   */
  readonly nodeTimeout?: Duration;

  /**
   * How long the preStop hand-off may wait for a replica to take over before
   * the server is stopped anyway. The pods' termination grace period is this
   * plus 20 seconds for the shutdown (AOF fsync) unless
   * `terminationGracePeriod` is given.
   *
   * @default Duration.seconds(15)
   */
  readonly handOffTimeout?: Duration;

  /**
   * Most pods down at once through voluntary disruptions (the
   * PodDisruptionBudget). At least 1 and at most `replicasPerPrimary` (or 1
   * without replicas): more could take every copy of a shard down at once.
   *
   * @default 1
   */
  readonly maxUnavailable?: number;

  /**
   * Dual-channel replication (Valkey 8.0 and later): a full sync streams the
   * snapshot and the backlog on two connections, so the primary buffers less.
   * Valkey only: refused with a Redis image.
   *
   * @default false
   */
  readonly dualChannelReplication?: boolean;

  /**
   * How long the bootstrap Job may run (its activeDeadlineSeconds): waiting
   * for the pods, creating or growing the cluster, and moving slots.
   *
   * @default Duration.minutes(30)
   */
  readonly bootstrapDeadline?: Duration;
}

/**
 * The engine an ExternalCacheCluster runs on.
 *
 * - `CacheClusterEngine.stateCache()` (the default): state-cache in cluster
 *   mode. Each pod is the only owner of a fixed range of hash slots; the
 *   cache settings (stores, write modes, journal) keep the data durable. No
 *   replicas, no failover.
 * - `CacheClusterEngine.valkey({...})`: Valkey Cluster, with replicas,
 *   automatic failover, a preStop hand-off for planned restarts and a
 *   bootstrap Job that creates and grows the cluster. Valkey persists to its
 *   own append-only file on a claim per pod; state-cache's cache settings do
 *   not apply.
 */
export class CacheClusterEngine {
  /** The Valkey version used when none is given (the `valkey/valkey` image tag). */
  public static readonly DEFAULT_VALKEY_VERSION = '8.1.11';

  /** The repository of the official Valkey image. */
  public static readonly VALKEY_REPOSITORY = 'valkey/valkey';

  /** state-cache in cluster mode: the default. */
  public static stateCache(): CacheClusterEngine {
    return new CacheClusterEngine('state-cache', undefined);
  }

  /** Valkey Cluster with replicas and automatic failover. */
  public static valkey(options: ValkeyClusterOptions = {}): CacheClusterEngine {
    return new CacheClusterEngine('valkey', options);
  }

  private constructor(
    /** `state-cache` or `valkey`. */
    public readonly name: string,
    /** The options of a Valkey engine; undefined for state-cache. */
    public readonly valkeyOptions: ValkeyClusterOptions | undefined,
  ) {}
}

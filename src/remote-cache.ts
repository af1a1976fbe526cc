import * as kplus from 'cdk8s-plus-28';

/*
 * Another state-cache or Redis-protocol server that a cache can use as its
 * remote store: ExternalCacheCluster is one, `RemoteCache.fromEndpoint`
 * describes any other.
 */

/** TLS to a remote cache. */
export interface RemoteCacheTls {
  /**
   * A Secret holding the CA certificate to trust (in the namespace of the
   * cache that uses it).
   *
   * @default - the system CAs (a server with a public certificate)
   */
  readonly ca?: kplus.ISecret;

  /**
   * The key of the CA certificate in `ca`.
   *
   * @default "ca.crt"
   */
  readonly caKey?: string;

  /**
   * The DNS name the server's certificate is checked against, when it is not
   * the host connected to (e.g. a server reached through an IP or a tunnel).
   *
   * @default - the host name of each node
   */
  readonly serverName?: string;
}

/**
 * Where another state-cache or Redis-protocol server is. ExternalCacheCluster
 * provides one; `RemoteCache.fromEndpoint` describes any other.
 */
export interface RemoteCacheEndpoint {
  /** Seed nodes as `host:port`; one for a single server. */
  readonly nodes: string[];

  /** Whether the server speaks the Redis Cluster protocol. */
  readonly cluster: boolean;

  /**
   * Whether the server runs Lua scripts (EVAL), which versioned writes need.
   * Redis, Valkey and state-cache do.
   *
   * @default true (Redis and compatible servers)
   */
  readonly supportsScripting?: boolean;

  /**
   * Whether the server names changed keys to clients that ask (`CLIENT
   * TRACKING`, Redis 6 and later), which coherence between the near caches
   * of several replicas needs. Redis, Valkey and state-cache do.
   *
   * @default true
   */
  readonly supportsTracking?: boolean;

  /**
   * The Secret holding the password.
   *
   * @default - no password
   */
  readonly passwordSecret?: kplus.ISecret;

  /**
   * The key of `passwordSecret` holding the password.
   *
   * @default "password"
   */
  readonly passwordKey?: string;

  /**
   * The pods to allow egress to (an in-cluster server).
   *
   * @default - none; then `egressCidrs`
   */
  readonly egressPeer?: kplus.INetworkPolicyPeer;

  /**
   * Address ranges to allow egress to (a server outside the cluster).
   *
   * @default - none; then `egressPeer`
   */
  readonly egressCidrs?: string[];

  /** The RESP port, for the egress rule. */
  readonly port: number;

  /**
   * Replicas of each primary, which a remote store can wait for
   * (`waitForReplicas`); 0 for a server without replicas.
   *
   * @default - not known (not checked)
   */
  readonly replicasPerPrimary?: number;

  /**
   * TLS to the server (verify-full: the certificate must chain to the CA and
   * match the host name or `serverName`).
   *
   * @default - plaintext
   */
  readonly tls?: RemoteCacheTls;

  /**
   * The namespace of the server and of `passwordSecret`; a cache in another
   * namespace could not read the Secret and is refused.
   *
   * @default - not in the cluster (no namespace check)
   */
  readonly namespace?: string;
}

/** A cache another cache can use as its remote store. */
export interface IRemoteCache {
  /** How to reach it. */
  readonly remoteCacheEndpoint: RemoteCacheEndpoint;

  /**
   * Lets the pods of `workload` reach it: a cache with its own NetworkPolicy
   * adds them to its ingress.
   */
  allowClient(workload: kplus.AbstractPod): void;
}

/** Properties of `RemoteCache.fromEndpoint()`. */
export interface RemoteCacheEndpointProps {
  /** The host name or IP address. */
  readonly host: string;

  /**
   * The RESP port.
   *
   * @default 6379
   */
  readonly port?: number;

  /**
   * Whether it speaks the Redis Cluster protocol (then `host` is a seed).
   *
   * @default false
   */
  readonly cluster?: boolean;

  /**
   * The Secret holding the password.
   *
   * @default - no password
   */
  readonly passwordSecret?: kplus.ISecret;

  /**
   * The key of `passwordSecret` holding the password.
   *
   * @default "password"
   */
  readonly passwordKey?: string;

  /** Address ranges the server is reachable at, for the egress NetworkPolicy. */
  readonly egressCidrs: string[];

  /**
   * Connect with TLS, verifying the server's certificate (verify-full). For a
   * cache cluster in another region, across networks you do not control.
   *
   * @default - plaintext
   */
  readonly tls?: RemoteCacheTls;

  /**
   * Whether the server has `CLIENT TRACKING` (Redis 6 and later, Valkey,
   * KeyDB, state-cache): then the near caches of several replicas stay
   * coherent through it. Set false for a server without it (Redis 5, some
   * managed proxies); several replicas are then refused unless the data is
   * per pod.
   *
   * @default true
   */
  readonly supportsTracking?: boolean;
}

/** A Redis-protocol server described by its address. */
export class RemoteCache implements IRemoteCache {
  /** A server by host and port, outside the constructs of this app. */
  public static fromEndpoint(props: RemoteCacheEndpointProps): IRemoteCache {
    const port = props.port ?? 6379;
    return new RemoteCache({
      nodes: [`${props.host}:${port}`],
      cluster: props.cluster ?? false,
      passwordSecret: props.passwordSecret,
      passwordKey: props.passwordKey,
      egressCidrs: props.egressCidrs,
      port,
      tls: props.tls,
      supportsTracking: props.supportsTracking ?? true,
    });
  }

  private constructor(
    /** How to reach it. */
    public readonly remoteCacheEndpoint: RemoteCacheEndpoint,
  ) {}

  /** Nothing to do: the server is not managed by this app. */
  public allowClient(_workload: kplus.AbstractPod): void {}
}

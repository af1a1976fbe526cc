// ~~ Generated from runtime/config.schema.json by json-schema-to-typescript: do not edit.
// Regenerate with "npx projen gen:runtime-config" (test/runtime-config-types.test.ts fails when stale).

/**
 * The config file state-cache reads (`state-cache serve --config FILE`). Every field is optional; defaults are shown.
 */
export interface StateCacheConfig {
  /**
   * The RESP (Redis protocol) listener.
   */
  server?: {
    /**
     * Address the plaintext RESP port listens on. Any address other than loopback needs a password (auth) or `protectedMode: false`.
     */
    bind?: string;
    /**
     * Plaintext RESP port (RESP2 and RESP3, negotiated by HELLO). 0 picks a free port.
     */
    port?: number;
    /**
     * Serve plaintext RESP on bind:port. false, with `tlsPort` and `http.tls`, is TLS-only: no plaintext port listens.
     */
    plaintext?: boolean;
    /**
     * RESP over TLS on this port (like Redis tls-port), with the certificate of the `tls` section. Default: none. 0 picks a free port.
     */
    tlsPort?: number;
    /**
     * Address the TLS RESP port listens on. Default: `bind`. Any address other than loopback needs a password or `tls.clientAuth: require` (or `protectedMode: false`).
     */
    tlsBind?: string;
    /**
     * Refuse to start when a RESP listener binds a non-loopback address without a password (or, for the TLS port, client certificates), and answer /v1/keys on HTTP only to loopback peers unless a password or a verified client certificate protects it (/healthz, /readyz, /status and /metrics answer anyone). Set to false only when a NetworkPolicy or similar protects the ports.
     */
    protectedMode?: boolean;
    /**
     * How plaintext connections read and write. handle: straight on the socket's libuv handle through Node's internal stream_wrap binding (faster, lower p99), used where this Node has it in the expected shape, else stream. stream: the public net.Socket. TLS connections always use stream.
     */
    socketIo?: "handle" | "stream";
  };
  /**
   * The HTTP listener: REST API for keys, /healthz, /readyz and /metrics.
   */
  http?: {
    /**
     * Serve HTTP at all.
     */
    enabled?: boolean;
    /**
     * Address the HTTP port listens on. Probes from the kubelet need a pod address (e.g. 0.0.0.0); /healthz, /readyz, /status and /metrics never need a password. /v1/keys needs the password when one is configured, and without one (and without client certificates) answers loopback peers only, unless server.protectedMode is false.
     */
    bind?: string;
    /**
     * HTTP port. 0 picks a free port.
     */
    port?: number;
    /**
     * Serve HTTPS (only) on the HTTP port, with the certificate of the `tls` section. Kubelet probes then use scheme HTTPS (they do not verify the certificate).
     */
    tls?: boolean;
  };
  /**
   * The server certificate of the TLS listeners (server.tlsPort, http.tls), read from files such as a mounted kubernetes.io/tls Secret. Checked at start (readable, key matching the certificate, not expired) and read again every reloadIntervalMs: a rotated certificate reaches new connections without a restart, open connections continue.
   */
  tls?: {
    /**
     * PEM certificate (chain) the server presents, e.g. /etc/state-cache/tls/tls.crt.
     */
    certFile?: string;
    /**
     * PEM private key of the certificate, e.g. /etc/state-cache/tls/tls.key.
     */
    keyFile?: string;
    /**
     * PEM CA certificate(s) client certificates must chain to; required by clientAuth: require.
     */
    caFile?: string;
    /**
     * require: mutual TLS. The TLS RESP port refuses clients without a certificate from caFile; on HTTPS, /v1/keys needs one (probes and /metrics do not). none: any client may connect (then a password protects the keys).
     */
    clientAuth?: "none" | "require";
    /**
     * How often the files are read again to pick up a rotated certificate.
     */
    reloadIntervalMs?: number;
  };
  /**
   * Password authentication on both protocols. The password itself never appears in the config.
   */
  auth?: {
    /**
     * Name of the environment variable holding the password.
     */
    passwordEnv?: string;
    /**
     * Path of a file holding the password (e.g. a mounted Secret); one trailing newline is ignored.
     */
    passwordFile?: string;
  };
  /**
   * How much the keyspace may hold, and what happens when it is full.
   */
  memory?: {
    /**
     * Most entries held in memory; 0 means no bound by count.
     */
    maxEntries?: number;
    /**
     * Most bytes of entries held in memory, counted as they really are (INFO used_memory): each entry's key and value plus a 4-byte header rounded up to its slab size class (at most 1/8 more), plus 64 bytes of index and slot record. 0 derives it from the container memory limit (cgroup), see `limitFraction`, or from the machine memory when there is no limit. The process needs up to 1.25 x this + 128 MiB (Node itself, connection buffers, garbage): the limit the constructs derive.
     */
    maxBytes?: number;
    /**
     * Share of the container memory limit the keyspace may use when `maxBytes` is 0, and never more than (limit - 128 MiB) / 1.25, so the process stays inside the limit under write churn. How it was chosen: entries live off the V8 heap and their accounted size is their real size, so RSS is about the budget plus Node itself (~70 MiB idle, 45 MiB of it the binary) plus heap, socket buffers and garbage (20-45 MiB more under 50 pipelining clients), which the (limit - 128 MiB) / 1.25 cap leaves room for at any limit (bench:cache -- --sections memory-bound, test/memory-churn.test.ts). The 0.5 default keeps half the limit free on larger containers, for traffic peaks and for the write-behind queue, which is not counted in the budget.
     */
    limitFraction?: number;
    /**
     * What to do when a write needs room: evict the least recently used (lru) or least frequently used (lfu) entry, or refuse the write with Redis's OOM error (noeviction).
     */
    eviction?: "lru" | "lfu" | "noeviction";
    /**
     * Entries sampled per eviction (like maxmemory-samples): more is more exact and slower.
     */
    evictionSamples?: number;
  };
  /**
   * Expiration of entries.
   */
  expiry?: {
    /**
     * Lifespan given to entries written without a TTL; 0 means they live until deleted or evicted.
     */
    defaultTtlSeconds?: number;
    /**
     * Entries not read or written for this long expire; 0 disables.
     */
    maxIdleSeconds?: number;
    /**
     * How often the background sweep looks for expired entries.
     */
    activeIntervalMs?: number;
    /**
     * Entries the background sweep checks per run at most (bounded work per tick).
     */
    activeEffort?: number;
  };
  /**
   * Protocol and client limits (Redis defaults).
   */
  limits?: {
    /**
     * Most simultaneous RESP connections; more are refused with "ERR max number of clients reached".
     */
    maxClients?: number;
    /**
     * Longest bulk string (key or value) accepted, like proto-max-bulk-len; also the largest HTTP body.
     */
    maxBulkBytes?: number;
    /**
     * Longest inline command line (telnet style) and protocol header line.
     */
    maxInlineBytes?: number;
    /**
     * Most arguments in one command.
     */
    maxArgs?: number;
    /**
     * Most unparsed input buffered for one client (like client-query-buffer-limit); beyond it the connection is closed.
     */
    maxQueryBufferBytes?: number;
    /**
     * When a client has this much unsent output, state-cache stops reading its commands until the output drains (slow reader backpressure).
     */
    outputPauseBytes?: number;
    /**
     * When a client has this much unsent output, it is disconnected.
     */
    outputMaxBytes?: number;
  };
  /**
   * Graceful shutdown on SIGTERM / SIGINT.
   */
  shutdown?: {
    /**
     * Time to finish in-flight commands and flush persistence before exiting; keep it below the pod's terminationGracePeriodSeconds.
     */
    timeoutSeconds?: number;
  };
  /**
   * Logging on stdout: JSON lines, or human-readable lines when stdout is a terminal (a person running it by hand).
   */
  log?: {
    /**
     * Lowest level written.
     */
    level?: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  };
  /**
   * Cache stores behind the keyspace.
   */
  stores?: {
    /**
     * The stores in read order: a miss is loaded from the first store that has the key; writes go to every store not marked readOnly.
     *
     * Items: One store in the chain and how it is used.
     */
    chain?: {
      /**
       * One store; "type" says which.
       */
      store:
        | {
            /**
             * A LevelDB database in a directory (in a pod: a PersistentVolume). One state-cache process per directory.
             */
            type: "file";
            /**
             * Name of the store in logs, metrics and errors: lower-case letters, digits and "-", at most 63 characters.
             */
            name: string;
            /**
             * Directory of the LevelDB database; created if missing. Must be writable.
             */
            directory: string;
            /**
             * fsync every batch before it is acknowledged, so an acknowledged write survives a node crash. Off trades that for throughput.
             */
            sync?: boolean;
            /**
             * LevelDB block cache size in bytes.
             */
            cacheSizeBytes?: number;
            /**
             * Compress blocks with Snappy.
             */
            compression?: boolean;
          }
        | {
            /**
             * A PostgreSQL table; writes are conditional upserts by version, so it can be shared.
             */
            type: "postgres";
            /**
             * Name of the store in logs, metrics and errors: lower-case letters, digits and "-", at most 63 characters.
             */
            name: string;
            /**
             * Database host name or IP.
             */
            host: string;
            /**
             * Database port.
             */
            port?: number;
            /**
             * Database name.
             */
            database: string;
            /**
             * User to connect as.
             */
            user: string;
            /**
             * Where a secret comes from: an environment variable or a file. Never the secret itself.
             */
            password?:
              | {
                  /**
                   * Environment variable that holds the secret.
                   */
                  env: string;
                }
              | {
                  /**
                   * File that holds the secret (a mounted Secret); a trailing newline is dropped.
                   */
                  file: string;
                };
            /**
             * Schema of the table (lower-case SQL identifier).
             */
            schema?: string;
            /**
             * Table of the entries (lower-case SQL identifier); created if missing.
             */
            table?: string;
            /**
             * TLS to the database.
             */
            tls?: {
              /**
               * disable: plain TCP; require: TLS without certificate checks; verify-ca: the certificate must chain to the CA; verify-full: and match the host name (or serverName).
               */
              mode?: "disable" | "require" | "verify-ca" | "verify-full";
              /**
               * PEM file of the CA to trust. Default: the system CAs.
               */
              caFile?: string;
              /**
               * Host name to verify the certificate against. Default: host.
               */
              serverName?: string;
            };
            /**
             * Most connections the pool opens.
             */
            poolSize?: number;
            /**
             * Connections opened at start and kept open while idle, at most poolSize. Default: poolSize (a fixed-size pool): a new PostgreSQL connection costs tens to hundreds of ms of both sides' CPU, which the reads and flushes of a burst would otherwise wait for.
             */
            poolMin?: number;
            /**
             * How long to wait for a connection before the store counts as unavailable.
             */
            connectTimeoutMs?: number;
            /**
             * Server-side statement_timeout of every statement.
             */
            statementTimeoutMs?: number;
            /**
             * Rows per page when iterating (preload).
             */
            iterateBatchSize?: number;
            /**
             * How often expired rows are deleted (they are never loaded either way); 0 turns sweeping off.
             */
            sweepIntervalMs?: number;
            /**
             * Prepare each statement once per connection (named statements), so PostgreSQL does not parse and plan every batch again. Turn off behind a pooler that hands each transaction a different server connection without tracking prepared statements (PgBouncer in transaction mode before 1.21, or without max_prepared_statements).
             */
            preparedStatements?: boolean;
          }
        | {
            /**
             * Another state-cache or any Redis-protocol server (single node or cluster).
             */
            type: "remote";
            /**
             * Name of the store in logs, metrics and errors: lower-case letters, digits and "-", at most 63 characters.
             */
            name: string;
            /**
             * single: one server; cluster: Redis Cluster protocol, nodes are seeds.
             */
            mode?: "single" | "cluster";
            /**
             * The server, or the cluster seed nodes.
             *
             * @minItems 1
             */
            nodes: [
              {
                /**
                 * Host name or IP.
                 */
                host: string;
                /**
                 * RESP port.
                 */
                port?: number;
              },
              ...{
                /**
                 * Host name or IP.
                 */
                host: string;
                /**
                 * RESP port.
                 */
                port?: number;
              }[]
            ];
            /**
             * ACL user name. Default: none (the default user).
             */
            username?: string;
            /**
             * Where a secret comes from: an environment variable or a file. Never the secret itself.
             */
            password?:
              | {
                  /**
                   * Environment variable that holds the secret.
                   */
                  env: string;
                }
              | {
                  /**
                   * File that holds the secret (a mounted Secret); a trailing newline is dropped.
                   */
                  file: string;
                };
            /**
             * Database number (single mode only).
             */
            database?: number;
            /**
             * TLS to the server.
             */
            tls?: {
              /**
               * Connect with TLS, verifying the certificate against caFile (or the system CAs) and the host name (or serverName). Off by default: a state-cache or Redis inside the cluster often serves plain RESP.
               */
              enabled?: boolean;
              /**
               * PEM file of the CA to trust. Default: the system CAs.
               */
              caFile?: string;
              /**
               * Host name to verify the certificate against. Default: the node host.
               */
              serverName?: string;
            };
            /**
             * Prefix of every key this store writes, so several caches can share one server; iterate and clear touch only keys with it.
             */
            keyPrefix?: string;
            /**
             * script: writes and deletes are conditional on the version through a Lua script (EVAL, as redis-server has it). none: plain SET/DEL for servers without scripting; a late write may then overwrite a newer one.
             */
            versioning?: "script" | "none";
            /**
             * How long to wait for a connection.
             */
            connectTimeoutMs?: number;
            /**
             * How long to wait for a reply before the store counts as unavailable.
             */
            commandTimeoutMs?: number;
            /**
             * After each write or delete batch, WAIT on every primary the batch went to: the batch succeeds only when that many replicas acknowledged it, otherwise it fails as unavailable (and write-behind retries it). Without it, a primary cut off from its cluster goes on acknowledging writes for about cluster-node-timeout, and they are lost when a replica takes over. Costs a replication round trip per batch.
             */
            wait?: {
              /**
               * Replicas that must have the batch.
               */
              replicas: number;
              /**
               * How long WAIT may block; below commandTimeoutMs.
               */
              timeoutMs?: number;
            };
          }
        | {
            /**
             * A JavaScript module that implements the store interface.
             */
            type: "custom";
            /**
             * Name of the store in logs, metrics and errors: lower-case letters, digits and "-", at most 63 characters.
             */
            name: string;
            /**
             * Path of the module (absolute, or relative to the working directory).
             */
            module: string;
            /**
             * Name of the exported factory: (options, context) => CacheStore.
             */
            export?: string;
            /**
             * Passed to the factory as is.
             */
            options?: {
              /**
               * This interface was referenced by `undefined`'s JSON-Schema definition
               * via the `patternProperty` "^(.*)$".
               */
              [k: string]: unknown;
            };
          };
      /**
       * required: a failure of this store fails the operation; bestEffort: it is logged and counted, and the operation goes on with the other stores.
       */
      mode?: "required" | "bestEffort";
      /**
       * Only read from this store (load, preload); never write, delete or clear it.
       */
      readOnly?: boolean;
      /**
       * Fill memory from this store at start. At most one link preloads.
       */
      preload?: boolean;
    }[];
  };
  /**
   * How state-cache keeps entries in its stores.
   */
  persistence?: {
    /**
     * none: memory only (stores are still read on miss and preload); write-through: acknowledged after the stores; write-behind: acknowledged after memory and journal.
     */
    mode?: "none" | "write-through" | "write-behind";
    /**
     * Write-through: acknowledged after every required store has the write.
     */
    writeThrough?: {
      /**
       * Most entries in one group-committed store batch; writes beyond wait for the next batch.
       */
      maxBatchEntries?: number;
    };
    /**
     * Write-behind: acknowledged after memory (and the journal); stores updated in coalesced batches.
     */
    writeBehind?: {
      /**
       * A flush starts as soon as this many keys are pending, and writes at most this many per store batch.
       */
      batchSize?: number;
      /**
       * A flush starts at the latest this long after a write, even if fewer than batchSize keys are pending.
       */
      flushIntervalMs?: number;
      /**
       * Queue bound: pending keys (after coalescing) per store.
       */
      maxPendingEntries?: number;
      /**
       * Queue bound: bytes of pending keys and values per store.
       */
      maxPendingBytes?: number;
      /**
       * When the queue is full: block (the write waits for room, up to blockTimeoutMs) or reject (fails at once with a queue-full error).
       */
      whenFull?: "block" | "reject";
      /**
       * How long a blocked write waits for room before it fails with the queue-full error.
       */
      blockTimeoutMs?: number;
      /**
       * Retries of failed store writes (write-behind).
       */
      retry?: {
        /**
         * Store writes tried per entry (the first try included) before the entry goes to the dead-letter file.
         */
        attempts?: number;
        /**
         * Backoff base: retry n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))) (full jitter).
         */
        baseDelayMs?: number;
        /**
         * Upper bound of one backoff delay.
         */
        maxDelayMs?: number;
      };
      /**
       * JSON-lines file that receives entries whose retries are exhausted or that a store refused (key and value base64).
       */
      deadLetterPath?: string;
    };
    /**
     * The write-behind journal.
     */
    journal?: {
      /**
       * Append every write-behind write to a journal before acknowledging it; replayed at start. Requires mode write-behind.
       */
      enabled?: boolean;
      /**
       * Directory of the journal segments; put it on a persistent volume.
       */
      dir?: string;
      /**
       * A segment is closed and a new one started once it reaches this size; a closed segment is deleted once the stores have every record in it.
       */
      segmentBytes?: number;
      /**
       * fsync each group commit before acknowledging (survives node loss); false survives a process crash only.
       */
      fsync?: boolean;
    };
    passivation?: {
      /**
       * Write evicted entries to the stores before they leave memory; a miss loads them back. Needs a non-shared writable store.
       */
      enabled?: boolean;
    };
    preload?: {
      /**
       * Fill memory at start from the first store marked for preload, up to the memory bound.
       */
      enabled?: boolean;
      /**
       * Preload stops after this long; the rest loads on miss. Readiness waits for preload.
       */
      timeBudgetMs?: number;
    };
    /**
     * Empty every non-shared, writable store at start (before preload and journal replay).
     */
    purgeOnStartup?: boolean;
    shutdown?: {
      /**
       * On SIGTERM the write-behind queue is flushed for at most this long; what is left is reported (and stays in the journal when enabled).
       */
      flushDeadlineMs?: number;
    };
    readiness?: {
      /**
       * Also report not ready (/readyz 503) while a required store does not answer. Off by default: readiness says whether this instance can serve, and it can serve from memory (and, in write-behind, take writes) while a store is down; turning it on takes every pod out of its Service during a store outage.
       */
      requireStores?: boolean;
    };
    /**
     * Coherence between replicas that share a store.
     */
    coherence?: {
      /**
       * Keep this instance coherent with the others on the same shared store: every committed batch is announced through the store (PostgreSQL: pg_notify in the same transaction), and a cached copy is dropped when another instance stores a newer version. Turn it on when several replicas share a store (the constructs do).
       */
      enabled?: boolean;
      /**
       * How often the listening connection sends itself a heartbeat through the notification channel.
       */
      heartbeatMs?: number;
      /**
       * The channel counts as down when no notification came back for this long (a broken connection counts at once). A batch of this instance's running on the listening connection holds the count: it has the store's own timeout.
       */
      heartbeatTimeoutMs?: number;
      /**
       * While the channel is down, no cached copy is served longer than this after the channel last worked (onOutage drop). Must exceed heartbeatTimeoutMs.
       */
      maxUnvalidatedMs?: number;
      /**
       * drop: when maxUnvalidatedMs has passed without the channel, drop every cached copy (this instance's own unflushed writes stay), and again every maxUnvalidatedMs while it is down, so reads load from the store; serve-stale: keep serving and show the time since the channel last worked in state_cache_coherence_unvalidated_seconds.
       */
      onOutage?: "drop" | "serve-stale";
    };
  };
  /**
   * Redis Cluster compatibility (ExternalCacheCluster).
   */
  cluster?: {
    /**
     * Serve as one shard of a cluster: CLUSTER commands, MOVED for keys of other shards, CROSSSLOT for multi-key commands across slots.
     */
    enabled?: boolean;
    /**
     * Pods in the cluster (the StatefulSet replicas); fixes the slot ranges.
     */
    replicas?: number;
    /**
     * The StatefulSet name: pod names are `<statefulSetName>-<ordinal>`.
     */
    statefulSetName?: string;
    /**
     * Environment variable holding this pod's name, from which the ordinal is read (a StatefulSet pod's HOSTNAME is its name).
     */
    podNameEnv?: string;
    /**
     * This pod's ordinal; overrides the one read from the pod name (for tests and tools).
     */
    ordinal?: number;
    /**
     * DNS suffix of the pods' stable names: the headless Service, e.g. `cache-headless.default.svc.cluster.local`.
     */
    peerDomain?: string;
    /**
     * RESP port the peers are announced on (the container port, the same on every pod).
     */
    announcePort?: number;
    /**
     * HTTP port the peers are announced on, for REST redirects (307) to the owner of a key; by default http.port when it is fixed, else none (421 with the owner in a header).
     */
    announceHttpPort?: number;
    /**
     * Host announced for each ordinal, in order, instead of `<statefulSetName>-<ordinal>.<peerDomain>` (for tests and tools that run every shard on one host).
     *
     * @minItems 1
     */
    announceHosts?: [string, ...string[]];
    /**
     * RESP port announced for each ordinal, in order, instead of announcePort (for tests and tools).
     *
     * @minItems 1
     */
    announcePorts?: [number, ...number[]];
    /**
     * HTTP port announced for each ordinal, in order, instead of announceHttpPort (for tests and tools).
     *
     * @minItems 1
     */
    announceHttpPorts?: [number, ...number[]];
  };
}

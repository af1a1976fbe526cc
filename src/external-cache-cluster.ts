import { ApiObject, Chart, Duration, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  addClaimTemplates, addImagePullSecrets, addPdb, cacheContainerProps, cacheResources, CHECKSUM_ANNOTATION,
  configJson, defaultCacheImage, egressRules, HTTP_PORT, mountCacheVolumes, PASSWORD_ENV, RESP_PORT, shutdownBudget, spreadReplicas,
} from './_cache-pod';
import { renderCache } from './_cache-render';
import { checkConnect, checkEnvFree } from './_connect';
import { addMonitoring } from './_monitoring';
import { securePodContext } from './_pod-defaults';
import type { StateCacheConfig } from './_runtime-config';
import { BoundCacheTls, caVolume, checkTlsImage, serviceDnsNames, stateCacheTlsSection, TLS_DIR, tlsVolume } from './_tls';
import { fail, validateDnsLabel } from './_validation';
import { renderValkeyCluster, valkeyShape } from './_valkey-render';
import { CachePassword, CacheSettings } from './cache';
import { CacheClusterEngine } from './cache-cluster-engine';
import { CacheImage } from './cache-image';
import { CacheTls } from './cache-tls';
import { CacheMonitoring } from './monitoring';
import { IRemoteCache, RemoteCacheEndpoint } from './remote-cache';

/** The most pods a cluster can have: one hash slot each. */
const MAX_REPLICAS = 16384;

/** Properties of an ExternalCacheCluster. */
export interface ExternalCacheClusterProps {
  /**
   * The engine: state-cache in cluster mode, or Valkey Cluster with replicas
   * and automatic failover (`CacheClusterEngine.valkey({...})`).
   *
   * @default CacheClusterEngine.stateCache()
   */
  readonly engine?: CacheClusterEngine;

  /**
   * Pods in the cluster; each owns a fixed range of the 16384 hash slots.
   * Changing it moves slots between pods: entries live on in the stores.
   * With Valkey, pods = primaries × (1 + replicasPerPrimary): give the
   * engine's primaries instead.
   *
   * @default 3 (Valkey: primaries × (1 + replicasPerPrimary))
   */
  readonly replicas?: number;

  /**
   * The cluster's password (AUTH). Required: the cluster listens on pod
   * addresses. From a Secret or an ExternalSecret, never a literal.
   */
  readonly password: CachePassword;

  /**
   * The cache: memory, expiry, persistence and stores. state-cache only:
   * Valkey keeps its own append-only file on a claim per pod.
   *
   * @default - memory only
   */
  readonly cache?: CacheSettings;

  /**
   * The StatefulSet name; pods are `<name>-0` ... and the headless Service is
   * `<name>-peers`.
   *
   * @default - generated from the construct path
   */
  readonly name?: string;

  /**
   * The state-cache image. state-cache only: the Valkey image is the engine's.
   *
   * @default CacheImage.default() (pinned to this library's version)
   */
  readonly image?: CacheImage;

  /**
   * Secrets for pulling the image.
   *
   * @default - none
   */
  readonly imagePullSecrets?: kplus.ISecret[];

  /**
   * Resources of each cache container (state-cache or Valkey).
   *
   * @default - derived from `cache.memory.maxSize` (25% + 128 MiB headroom),
   * or 256 MiB (Valkey: 1 GiB); 100m CPU request, 1 CPU limit, 1 GiB
   * ephemeral storage
   */
  readonly cacheResources?: kplus.ContainerResources;

  /**
   * Who may connect, besides the workloads given to `connect()` and
   * CachedApps using the cluster as their remote store.
   *
   * @default - no one else
   */
  readonly clients?: kplus.INetworkPolicyPeer[];

  /**
   * Who may reach the cache's HTTP port (8080), e.g. Prometheus pods scraping
   * `/metrics`. The REST API on that port needs the password when one is set.
   * state-cache only: Valkey has no HTTP port.
   *
   * @default - no one
   */
  readonly metricsFrom?: kplus.INetworkPolicyPeer[];

  /**
   * The pods' termination grace period; refused when shorter than the
   * cache's shutdown (flushDeadline + 5 seconds; Valkey: the engine's
   * handOffTimeout + 5 seconds).
   *
   * @default - flushDeadline + 10 seconds (Valkey: handOffTimeout + 20 seconds)
   */
  readonly terminationGracePeriod?: Duration;

  /**
   * TLS on every port of the cluster: state-cache serves RESP and HTTPS only
   * over TLS (no plaintext port listens); Valkey gets `tls-port`,
   * `tls-cluster yes` and `tls-replication yes`. The certificate comes from
   * a Secret or from cert-manager (`CacheTls.certManager({ issuer })`, for
   * the client Service and every pod name); a renewed certificate is picked
   * up without a restart. `connect()` and remote stores on this cluster
   * connect with TLS and trust its CA by themselves.
   *
   * @default - plaintext
   */
  readonly tls?: CacheTls;

  /**
   * Prometheus Operator objects for the cluster: a headless metrics Service
   * and a ServiceMonitor scraping every pod's `/metrics` (give `metricsFrom`
   * the Prometheus pods), a PrometheusRule with the alerts (among them fewer
   * ready pods than shards) and a Grafana dashboard ConfigMap.
   * `monitoring: {}` turns them all on.
   *
   * @default - none
   */
  readonly monitoring?: CacheMonitoring;
}

/** Options of `ExternalCacheCluster.connect()`. */
export interface CacheClusterConnectOptions {
  /**
   * The containers that get the connection.
   *
   * @default - every container of the workload (not its init containers)
   */
  readonly containers?: kplus.Container[];

  /**
   * A prefix for every variable name, to connect several caches to one
   * container, e.g. `SESSIONS_`.
   *
   * @default "" (no prefix)
   */
  readonly envPrefix?: string;

  /**
   * Add an egress NetworkPolicy to the workload allowing the cluster and DNS.
   * It makes the workload's egress deny-by-default; turn it off when the
   * workload's egress is managed elsewhere.
   *
   * @default true
   */
  readonly egressPolicy?: boolean;
}

/**
 * A state-cache cluster with its own lifecycle: a StatefulSet in cluster
 * mode (each pod owns a fixed range of hash slots and answers MOVED for the
 * others, so stock Redis Cluster clients route by themselves), a headless
 * Service for stable pod names, a client Service, a PDB, spreading over
 * nodes and zones, claim templates for stores that need volumes, and a
 * NetworkPolicy that admits only the clients named.
 *
 * With `engine: CacheClusterEngine.valkey({...})` the cluster runs Valkey
 * instead: primaries with replicas, automatic failover, a preStop hand-off,
 * and a bootstrap Job that creates and grows the cluster (docs/cluster.md).
 *
 * The peer domain uses the chart's namespace, or `default` when the chart
 * has none.
 */
export class ExternalCacheCluster extends Construct implements IRemoteCache {
  /** The StatefulSet. */
  public readonly statefulSet: kplus.StatefulSet;
  /** The headless Service giving each pod a stable name. */
  public readonly headlessService: kplus.Service;
  /** The client Service (any pod; cluster clients then follow MOVED). */
  public readonly service: kplus.Service;
  /** The ConfigMap holding the config (Valkey: the server config and the scripts). */
  public readonly configMap: kplus.ConfigMap;
  /** The state-cache config, exactly as in the ConfigMap; empty with Valkey. */
  public readonly cacheConfig: { [key: string]: any };
  /** The pods' stable addresses as `host:port`, the seeds for cluster clients. */
  public readonly seedNodes: string[];
  /** The DNS suffix of the pods: `<headless>.<namespace>.svc.cluster.local`. */
  public readonly peerDomain: string;
  /** How other caches reach this one. */
  public readonly remoteCacheEndpoint: RemoteCacheEndpoint;
  /** The NetworkPolicy selecting the cluster's pods. */
  public readonly networkPolicy: kplus.NetworkPolicy;
  /** The headless Service the ServiceMonitor discovers the pods' metrics port through (`monitoring.scrape`). */
  public readonly metricsService?: kplus.Service;
  /** The ServiceMonitor scraping the pods (`monitoring.scrape`). */
  public readonly serviceMonitor?: ApiObject;
  /** The PrometheusRule with the cluster's alerts (`monitoring.rules`). */
  public readonly prometheusRule?: ApiObject;
  /** The ConfigMap with the Grafana dashboard (`monitoring.dashboard`). */
  public readonly dashboard?: kplus.ConfigMap;
  /** The engine the cluster runs on. */
  public readonly engine: CacheClusterEngine;
  /** Valkey: the Job that creates the cluster and brings it to its shape; undefined for state-cache. */
  public readonly bootstrapJob?: kplus.Job;
  /** The cert-manager Certificate (`tls: CacheTls.certManager(...)`). */
  public readonly certificate?: ApiObject;
  /** Whether clients connect with TLS. */
  public readonly tlsEnabled: boolean;

  private readonly namespace?: string;
  private readonly passwordSecret: kplus.ISecret;
  private readonly passwordKey: string;
  private readonly clients = new Set<kplus.AbstractPod>();
  private readonly tls?: BoundCacheTls;
  private connected = 0;

  public constructor(scope: Construct, id: string, props: ExternalCacheClusterProps) {
    super(scope, id);
    this.engine = props.engine ?? CacheClusterEngine.stateCache();
    const valkey = this.engine.valkeyOptions !== undefined ? valkeyShape(this, this.engine, props) : undefined;
    const replicas = valkey?.pods ?? props.replicas ?? 3;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
      fail(this, `replicas ${replicas} is not a whole number from 1 to ${MAX_REPLICAS}`,
        'Give replicas: 1 or more (each pod owns a range of the 16384 hash slots); to stop the cluster, remove it');
    }
    if (props.password === undefined) {
      fail(this, 'no password was given', 'Give password: CachePassword.fromSecret(secret, key) or CachePassword.fromExternalSecret({...}); the cluster listens on pod addresses');
    }
    this.namespace = Chart.of(this).namespace;
    const name = props.name ?? Names.toDnsLabel(this, { maxLen: 40 });
    validateDnsLabel(this, 'name', name);
    if (name.length > 40) {
      fail(this, `name "${name}" is longer than 40 characters`, 'Pod names add an ordinal and the headless Service "-peers": use at most 40 characters');
    }
    const headlessName = `${name}-peers`;
    this.peerDomain = `${headlessName}.${this.namespace ?? 'default'}.svc.cluster.local`;
    this.seedNodes = Array.from({ length: replicas }, (_, i) => `${name}-${i}.${this.peerDomain}:${RESP_PORT}`);

    this.passwordSecret = props.password._bind(this, `${name}-password`, this.namespace);
    this.passwordKey = props.password.key;
    this.tls = props.tls?._bind(this, `${name}-tls`, this.namespace, serviceDnsNames(name, headlessName, this.namespace));
    this.tlsEnabled = this.tls !== undefined;
    this.certificate = this.tls?.certificate;
    if (this.tls !== undefined && valkey !== undefined && this.tls.caKey === undefined) {
      fail(this, 'tls on the Valkey engine has no CA (caKey is not set)',
        'Valkey verifies its peers (tls-replication, tls-cluster) against a CA: give CacheTls.fromSecret(secret, { caKey: "ca.crt" }) or use CacheTls.certManager({ issuer })');
    }
    if (this.tls !== undefined && valkey === undefined) checkTlsImage(this, props.image ?? defaultCacheImage());
    if (this.tls !== undefined && valkey === undefined && props.monitoring !== undefined && (props.monitoring.scrape ?? true)) {
      fail(this, 'monitoring.scrape is on with tls, but the ServiceMonitor the constructs emit scrapes /metrics over plain HTTP, and the cluster then serves HTTPS only',
        'Give monitoring: { scrape: false } (keep the rules and dashboard) and scrape with your own ServiceMonitor using scheme https and the CA, or drop tls');
    }
    this.remoteCacheEndpoint = {
      nodes: this.seedNodes,
      cluster: true,
      // state-cache and Valkey both run Lua scripts, so remote stores on either write versioned.
      supportsScripting: true,
      // Both name changed keys to the near caches' coherence (CLIENT TRACKING, per primary).
      supportsTracking: true,
      replicasPerPrimary: valkey?.replicasPerPrimary ?? 0,
      passwordSecret: this.passwordSecret,
      passwordKey: this.passwordKey,
      port: RESP_PORT,
      namespace: this.namespace,
      // Filled in below, once the StatefulSet exists.
      egressPeer: undefined,
      // The pods' names are in the certificate: verify-full against them.
      tls: this.tls ? { ca: this.tls.caKey !== undefined ? this.tls.secret : undefined, caKey: this.tls.caKey } : undefined,
    };

    if (valkey) {
      this.cacheConfig = {};
      const objects = renderValkeyCluster(this, valkey, {
        name,
        namespace: this.namespace,
        headlessName,
        peerDomain: this.peerDomain,
        passwordSecret: this.passwordSecret,
        passwordKey: this.passwordKey,
        clients: props.clients ?? [],
        imagePullSecrets: props.imagePullSecrets,
        tls: this.tls,
      });
      ({
        configMap: this.configMap, headlessService: this.headlessService, service: this.service, statefulSet: this.statefulSet,
        networkPolicy: this.networkPolicy, bootstrapJob: this.bootstrapJob,
      } = objects);
      (this.remoteCacheEndpoint as { egressPeer?: kplus.INetworkPolicyPeer }).egressPeer = this.statefulSet;
      return;
    }

    const settings = props.cache ?? {};
    const rendered = renderCache(this, settings, { replicas, self: this, replicasWhat: 'replicas of the cluster', namespace: this.namespace });
    const resources = cacheResources(this, rendered, props.cacheResources);
    const { shutdownSeconds, grace } = shutdownBudget(this, rendered.flushDeadline, { grace: props.terminationGracePeriod });

    const config: StateCacheConfig = {
      // With TLS, TLS only: RESP over TLS on the same port, no plaintext port.
      server: this.tls
        ? { bind: '0.0.0.0', port: RESP_PORT, plaintext: false, tlsPort: RESP_PORT, protectedMode: true }
        : { bind: '0.0.0.0', port: RESP_PORT, protectedMode: true },
      http: { enabled: true, bind: '0.0.0.0', port: HTTP_PORT, ...(this.tls ? { tls: true } : {}) },
      ...(this.tls ? { tls: stateCacheTlsSection(this.tls) } : {}),
      auth: { passwordEnv: PASSWORD_ENV },
      ...rendered.sections,
      shutdown: { timeoutSeconds: shutdownSeconds },
      cluster: {
        enabled: true,
        replicas,
        statefulSetName: name,
        podNameEnv: 'HOSTNAME',
        peerDomain: this.peerDomain,
        announcePort: RESP_PORT,
      },
    };
    const { json, sha256 } = configJson(config);
    this.cacheConfig = config as { [key: string]: any };
    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: `${name}-config`, namespace: this.namespace },
      data: { 'config.json': json },
    });

    this.headlessService = new kplus.Service(this, 'Headless', {
      metadata: { name: headlessName, namespace: this.namespace },
      clusterIP: 'None',
      // Pods find each other's names before they are ready.
      publishNotReadyAddresses: true,
      ports: [{ name: 'resp', port: RESP_PORT, targetPort: RESP_PORT }],
    });
    this.statefulSet = new kplus.StatefulSet(this, 'StatefulSet', {
      metadata: { name, namespace: this.namespace },
      replicas,
      service: this.headlessService,
      // Slot ownership is fixed by ordinal: pods need not start one by one.
      podManagementPolicy: kplus.PodManagementPolicy.PARALLEL,
      securityContext: securePodContext(),
      automountServiceAccountToken: false,
      terminationGracePeriod: grace,
      podMetadata: { annotations: { [CHECKSUM_ANNOTATION]: sha256 } },
    });
    (this.remoteCacheEndpoint as { egressPeer?: kplus.INetworkPolicyPeer }).egressPeer = this.statefulSet;

    const env: Array<[string, kplus.EnvValue]> = [
      [PASSWORD_ENV, kplus.EnvValue.fromSecretValue({ secret: this.passwordSecret, key: this.passwordKey })],
      ...rendered.env,
    ];
    const container = this.statefulSet.addContainer(cacheContainerProps({
      image: (props.image ?? defaultCacheImage()).reference,
      resources,
      env,
      startupBudget: settings.preloadTimeBudget ?? Duration.seconds(30),
      https: this.tls !== undefined,
    }));
    mountCacheVolumes(this, this.statefulSet, container, this.configMap, rendered);
    if (this.tls) container.mount(TLS_DIR, tlsVolume(this, 'TlsVolume', this.tls), { readOnly: true });
    addClaimTemplates(this, this.statefulSet, '/spec/template/spec/containers/0', rendered.claimTemplates);
    addImagePullSecrets(this.statefulSet, props.imagePullSecrets);

    this.service = new kplus.Service(this, 'Service', {
      metadata: { name, namespace: this.namespace },
      selector: this.statefulSet,
      ports: [{ name: 'resp', port: RESP_PORT, targetPort: RESP_PORT }],
    });
    addPdb(this, this.statefulSet, this.namespace);
    if (replicas > 1) spreadReplicas(this.statefulSet);

    this.networkPolicy = new kplus.NetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name, namespace: this.namespace },
      selector: this.statefulSet,
      ingress: {
        default: kplus.NetworkPolicyTrafficDefault.DENY,
        rules: [
          { peer: this.statefulSet, ports: [kplus.NetworkPolicyPort.tcp(RESP_PORT)] },
          ...(props.clients ?? []).map((peer) => ({ peer, ports: [kplus.NetworkPolicyPort.tcp(RESP_PORT)] })),
          ...(props.metricsFrom ?? []).map((peer) => ({ peer, ports: [kplus.NetworkPolicyPort.tcp(HTTP_PORT)] })),
        ],
      },
      egress: {
        default: kplus.NetworkPolicyTrafficDefault.DENY,
        rules: [
          { peer: this.statefulSet, ports: [kplus.NetworkPolicyPort.tcp(RESP_PORT)] },
          ...egressRules(this, rendered.egress),
        ],
      },
    });
    for (const remote of rendered.remotes) remote.allowClient(this.statefulSet);

    if (props.monitoring) {
      const objects = addMonitoring(this, props.monitoring, {
        kind: 'cluster',
        name,
        namespace: this.namespace,
        workload: this.statefulSet,
        config,
        replicas,
        startupBudget: settings.preloadTimeBudget ?? Duration.seconds(30),
        metricsFrom: props.metricsFrom,
      });
      this.metricsService = objects.metricsService;
      this.serviceMonitor = objects.serviceMonitor;
      this.prometheusRule = objects.prometheusRule;
      this.dashboard = objects.dashboard;
    }
  }

  /**
   * Admits the pods of `workload` to the cluster's RESP port (ingress on the
   * cluster's NetworkPolicy). `connect()` and CachedApps using the cluster as
   * a remote store call it.
   */
  public allowClient(workload: kplus.AbstractPod): void {
    if (this.clients.has(workload)) return;
    this.clients.add(workload);
    this.networkPolicy.addIngressRule(workload, [kplus.NetworkPolicyPort.tcp(RESP_PORT)]);
  }

  /**
   * Gives a workload's containers the connection (`REDIS_CLUSTER_NODES` with
   * the seed nodes, `CACHE_HOST` / `CACHE_PORT` of the client Service,
   * `CACHE_PASSWORD` from the Secret, `REDIS_URL`), admits its pods, and by
   * default adds an egress NetworkPolicy allowing the cluster and DNS.
   */
  public connect(workload: kplus.AbstractPod, options: CacheClusterConnectOptions = {}): void {
    const prefix = options.envPrefix ?? '';
    const containers = checkConnect(this, workload, {
      connected: this.clients.has(workload),
      what: 'the cluster',
      namespace: this.namespace,
      namespaceFix: 'Pods read the password Secret from their own namespace: create the ExternalCacheCluster in the namespace of the workloads that connect to it',
      containers: options.containers,
      envPrefix: prefix,
      envPrefixExample: 'SESSIONS_',
    });
    if (this.tls?.mutual) {
      fail(this, `workload ${workload.node.path} cannot be connected: the cluster's TLS is mutual, and connect() issues no client certificates`,
        'Mount a client certificate from the same CA into the workload and configure its client yourself, or drop mutual');
    }
    const p = (n: string) => `${prefix}${n}`;
    const host = this.namespace ? `${this.service.name}.${this.namespace}.svc` : this.service.name;
    const scheme = this.tls ? 'rediss' : 'redis';
    const vars: Array<[string, kplus.EnvValue]> = [
      [p('REDIS_CLUSTER_NODES'), kplus.EnvValue.fromValue(this.seedNodes.join(','))],
      [p('CACHE_HOST'), kplus.EnvValue.fromValue(host)],
      [p('CACHE_PORT'), kplus.EnvValue.fromValue(String(RESP_PORT))],
      [p('CACHE_PASSWORD'), kplus.EnvValue.fromSecretValue({ secret: this.passwordSecret, key: this.passwordKey })],
      [p('REDIS_URL'), kplus.EnvValue.fromValue(`${scheme}://:$(${p('CACHE_PASSWORD')})@${host}:${RESP_PORT}`)],
    ];
    // The CA, where clients find it (CACHE_CA_FILE); without one they trust their system CAs.
    const caDir = `/var/run/cdk8s-state/${prefix === '' ? 'cache' : prefix.toLowerCase().replace(/_+$/, '').replace(/_/g, '-')}-ca`;
    if (this.tls) {
      vars.push([p('CACHE_TLS'), kplus.EnvValue.fromValue('true')]);
      if (this.tls.caKey !== undefined) vars.push([p('CACHE_CA_FILE'), kplus.EnvValue.fromValue(`${caDir}/ca.crt`)]);
    }
    checkEnvFree(this, workload, containers, vars.map(([n]) => n), 'Give connect() an envPrefix, e.g. "SESSIONS_", to connect several caches');
    for (const c of containers) for (const [n, v] of vars) c.env.addVariable(n, v);
    if (this.tls?.caKey !== undefined) {
      const volume = caVolume(this, `ClientCa${this.clients.size}`, this.tls.secret, this.tls.caKey, `${prefix === '' ? 'cache' : prefix.toLowerCase().replace(/_+$/, '').replace(/_/g, '-')}-ca`.slice(0, 63));
      for (const c of containers) c.mount(caDir, volume, { readOnly: true });
    }
    this.allowClient(workload);
    if (options.egressPolicy ?? true) {
      const n = this.connected++;
      new kplus.NetworkPolicy(this, `ClientEgress${n}`, {
        metadata: { namespace: this.namespace },
        selector: workload,
        egress: {
          default: kplus.NetworkPolicyTrafficDefault.DENY,
          rules: [{ peer: this.statefulSet, ports: [kplus.NetworkPolicyPort.tcp(RESP_PORT)] }, ...egressRules(new Construct(this, `ClientEgressPeers${n}`), [])],
        },
      });
    }
  }
}

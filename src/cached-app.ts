import { ApiObject, Chart, Duration, JsonPatch, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  addClaimTemplates, addImagePullSecrets, addPdb, cacheContainerProps, cacheResources, CHECKSUM_ANNOTATION,
  configJson, defaultCacheImage, egressRules, HTTP_PORT, mountCacheVolumes, PASSWORD_ENV, RESP_PORT, shutdownBudget, spreadReplicas,
} from './_cache-pod';
import { CacheEgress, renderCache, RenderedCache } from './_cache-render';
import { addMonitoring } from './_monitoring';
import { defaultResources, securePodContext, withDefaultResources, withSecureDefaults } from './_pod-defaults';
import type { StateCacheConfig } from './_runtime-config';
import { BoundCacheTls, checkTlsImage, serviceDnsNames, stateCacheTlsSection, TLS_DIR, tlsVolume } from './_tls';
import { fail, validatePort } from './_validation';
import { CachePassword, CacheSettings } from './cache';
import { CacheImage } from './cache-image';
import { CacheTls } from './cache-tls';
import { _renderCoherence, Coherence, SessionAffinity } from './coherence';
import { CacheMonitoring } from './monitoring';

/** The sidecar's RESP port over TLS, for other pods (`tls`). */
export const SIDECAR_TLS_PORT = 6380;

/**
 * How the cache runs next to the app. Kubernetes 1.29 and later stop a
 * native sidecar only after the app has exited, so the cache can flush last.
 */
export class SidecarMode {
  /**
   * An init container with `restartPolicy: Always` (Kubernetes 1.29+, beta and
   * on by default there; alpha and off in 1.28). The cache starts before the
   * app and gets SIGTERM only after the app has exited.
   */
  public static readonly NATIVE = new SidecarMode('native');

  /**
   * A regular second container, for clusters before 1.29. Both get SIGTERM at
   * once, so the cache's preStop hook first waits (bounded by `appDrainTime`)
   * until the app's port closes.
   */
  public static readonly CONTAINER = new SidecarMode('container');

  private constructor(
    /** `native` or `container`. */
    public readonly name: string,
  ) {}
}

/** Properties of a CachedApp. */
export interface CachedAppProps {
  /**
   * The app container: image, ports (the first port is served), env,
   * resources, probes, as for any cdk8s-plus container. Missing security
   * settings and resources get the secure defaults.
   */
  readonly app: kplus.ContainerProps;

  /**
   * Pods; each has its own cache (scaling the app scales the cache).
   *
   * @default 1
   */
  readonly replicas?: number;

  /**
   * The cache: memory, expiry, persistence and stores.
   *
   * @default - memory only, half the cache container's memory, LRU
   */
  readonly cache?: CacheSettings;

  /**
   * The state-cache image.
   *
   * @default CacheImage.default() (pinned to this library's version)
   */
  readonly image?: CacheImage;

  /**
   * Secrets for pulling the app and cache images.
   *
   * @default - none
   */
  readonly imagePullSecrets?: kplus.ISecret[];

  /**
   * Native sidecar (1.29+) or a regular container (older clusters).
   *
   * @default SidecarMode.NATIVE
   */
  readonly sidecarMode?: SidecarMode;

  /**
   * A password for the cache (AUTH). The cache listens on 127.0.0.1 inside
   * the pod, so only the app reaches it; a password adds defence in depth.
   * The app gets it as `CACHE_PASSWORD` and inside `REDIS_URL`.
   *
   * @default - no password
   */
  readonly password?: CachePassword;

  /**
   * Resources of the cache container.
   *
   * @default - derived from `cache.memory.maxSize` (25% + 128 MiB headroom),
   * or 256 MiB; 100m CPU request, 1 CPU limit, 1 GiB ephemeral storage
   */
  readonly cacheResources?: kplus.ContainerResources;

  /**
   * How long the app needs to finish in-flight requests after SIGTERM. The
   * termination grace period is this plus the cache's shutdown time plus 5 seconds.
   *
   * @default Duration.seconds(10)
   */
  readonly appDrainTime?: Duration;

  /**
   * The pod's termination grace period. Refused when shorter than the app
   * drain time plus the cache's shutdown time.
   *
   * @default - appDrainTime + flushDeadline + 10 seconds
   */
  readonly terminationGracePeriod?: Duration;

  /**
   * The port of the app's Service.
   *
   * @default - the app's container port
   */
  readonly servicePort?: number;

  /**
   * Who may connect to the app's port. Nothing else may connect to the pod.
   *
   * @default - every pod in the namespace
   */
  readonly ingressFrom?: kplus.INetworkPolicyPeer[];

  /**
   * Who may reach the cache's HTTP port (8080), e.g. Prometheus pods scraping
   * `/metrics`. The REST API on that port needs the password when one is set.
   *
   * @default - no one
   */
  readonly metricsFrom?: kplus.INetworkPolicyPeer[];

  /**
   * Restrict the pod's egress to DNS and the cache's stores. NetworkPolicies
   * add up: give the app more egress with your own NetworkPolicy selecting
   * `workload`, or turn this off.
   *
   * @default true
   */
  readonly restrictEgress?: boolean;

  /**
   * Let other pods reach the sidecar cache over TLS: RESP over TLS on port
   * 6380 of the pod address, also a port (`cache-tls`) of the app's Service,
   * and HTTPS on the cache's HTTP port. The app keeps plaintext RESP on
   * 127.0.0.1. Needs `password` or mutual TLS, since the port is on the pod
   * network. Admit the clients with `cacheClientsFrom`.
   *
   * @default - the cache is reachable from inside the pod only
   */
  readonly tls?: CacheTls;

  /**
   * Who may reach the sidecar's TLS RESP port (6380), with `tls`.
   *
   * @default - no one
   */
  readonly cacheClientsFrom?: kplus.INetworkPolicyPeer[];

  /**
   * Prometheus Operator objects for the cache: a PodMonitor scraping the
   * sidecar's `/metrics` (give `metricsFrom` the Prometheus pods), a
   * PrometheusRule with the alerts and a Grafana dashboard ConfigMap.
   * `monitoring: {}` turns them all on.
   *
   * @default - none
   */
  readonly monitoring?: CacheMonitoring;

  /**
   * How the replicas' caches stay coherent on a shared store. More than one
   * replica writing a shared store with coherence off is refused unless the
   * data is per pod (`Coherence.PER_POD_DATA`).
   *
   * @default - Coherence.storeNotifications() with more than one replica and a
   * written, shared store that announces changes (PostgreSQL, a remote server
   * with CLIENT TRACKING); otherwise Coherence.NONE
   */
  readonly coherence?: Coherence;

  /**
   * Session affinity of the app's Service, e.g. `SessionAffinity.clientIp()`:
   * a client keeps reaching the pod whose cache it last wrote through.
   *
   * @default SessionAffinity.NONE
   */
  readonly sessionAffinity?: SessionAffinity;
}

/**
 * An app with a state-cache sidecar in the same pod: the app reaches the
 * cache at 127.0.0.1 (`CACHE_HOST`, `CACHE_PORT`, `REDIS_URL`), the cache
 * persists to its stores as configured, and scaling the app scales the
 * cache. A Deployment, or a StatefulSet when the cache needs a volume per
 * pod (a file store or journal with a size).
 */
export class CachedApp extends Construct {
  /** The Deployment or StatefulSet. */
  public readonly workload: kplus.Workload;
  /** The app container. */
  public readonly appContainer: kplus.Container;
  /** The state-cache container (an init container in native mode). */
  public readonly cacheContainer: kplus.Container;
  /** The Service for the app's port. */
  public readonly service: kplus.Service;
  /** The ConfigMap holding the cache config. */
  public readonly configMap: kplus.ConfigMap;
  /** The state-cache config, exactly as in the ConfigMap. */
  public readonly cacheConfig: { [key: string]: any };
  /** The termination grace period of the pods. */
  public readonly terminationGracePeriod: Duration;
  /** The NetworkPolicy selecting the pods (ingress to the app, egress to DNS and the stores). */
  public readonly networkPolicy: kplus.NetworkPolicy;
  /** The PodMonitor scraping the cache (`monitoring.scrape`). */
  public readonly podMonitor?: ApiObject;
  /** The PrometheusRule with the cache's alerts (`monitoring.rules`). */
  public readonly prometheusRule?: ApiObject;
  /** The ConfigMap with the Grafana dashboard (`monitoring.dashboard`). */
  public readonly dashboard?: kplus.ConfigMap;
  /** The cert-manager Certificate (`tls: CacheTls.certManager(...)`). */
  public readonly certificate?: ApiObject;

  public constructor(scope: Construct, id: string, props: CachedAppProps) {
    super(scope, id);
    const replicas = checkReplicas(this, props.replicas ?? 1);
    const namespace = Chart.of(this).namespace;
    const { appPort, servicePort } = checkAppPorts(this, props);
    const mode = props.sidecarMode ?? SidecarMode.NATIVE;
    const image = props.image ?? defaultCacheImage();

    // The cache: its config sections, its container's size and its share of the shutdown.
    const settings = props.cache ?? {};
    const rendered = renderSidecarCache(this, settings, props.coherence, replicas, namespace);
    const resources = cacheResources(this, rendered, props.cacheResources);
    const drain = props.appDrainTime ?? Duration.seconds(10);
    const { shutdownSeconds, grace } = shutdownBudget(this, rendered.flushDeadline, { appDrain: drain, grace: props.terminationGracePeriod });
    this.terminationGracePeriod = grace;

    // Secrets, certificate and config.
    const name = Names.toDnsLabel(this, { maxLen: 52 });
    const passwordSecret = props.password?._bind(this, `${name}-cache-password`, namespace);
    const perPod = rendered.claimTemplates.length > 0;
    const tls = bindSidecarTls(this, props, { name, namespace, perPod, image, passwordSecret });
    this.certificate = tls?.certificate;
    const config = sidecarConfig(rendered, tls, passwordSecret !== undefined, shutdownSeconds);
    const { json, sha256 } = configJson(config);
    this.cacheConfig = config as { [key: string]: any };
    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: `${name}-cache`, namespace },
      data: { 'config.json': json },
    });

    // The pod: a StatefulSet when the cache needs a claim per pod, the cache and the app in it.
    this.workload = this.createWorkload({ name, namespace, replicas, grace, sha256, perPod, appPort });
    const workload = this.workload;
    const cacheProps = cacheContainerProps({
      image: image.reference,
      resources,
      env: cacheEnv(rendered, passwordSecret, props.password),
      startupBudget: settings.preloadTimeBudget ?? Duration.seconds(30),
      restartPolicy: mode === SidecarMode.NATIVE ? kplus.ContainerRestartPolicy.ALWAYS : undefined,
      lifecycle: mode === SidecarMode.CONTAINER ? { preStop: kplus.Handler.fromCommand(waitForPortToClose(appPort, drain)) } : undefined,
      https: tls !== undefined,
      extraPorts: tls ? [{ name: 'resp-tls', number: SIDECAR_TLS_PORT }] : undefined,
    });
    const appProps = this.appContainerProps(props, passwordSecret);
    let containerPath: string;
    if (mode === SidecarMode.NATIVE) {
      this.cacheContainer = workload.addInitContainer(cacheProps);
      this.appContainer = workload.addContainer(appProps);
      containerPath = `/spec/template/spec/initContainers/${workload.initContainers.indexOf(this.cacheContainer)}`;
    } else {
      this.appContainer = workload.addContainer(appProps);
      this.cacheContainer = workload.addContainer(cacheProps);
      containerPath = `/spec/template/spec/containers/${workload.containers.indexOf(this.cacheContainer)}`;
    }
    // The app's read-only root needs a writable /tmp too, unless the user mounted one.
    if (!this.appContainer.mounts.some((m) => m.path === '/tmp')) {
      this.appContainer.mount('/tmp', kplus.Volume.fromEmptyDir(this, 'AppTmpVolume', 'app-tmp', { sizeLimit: Size.mebibytes(256) }));
    }
    mountCacheVolumes(this, workload, this.cacheContainer, this.configMap, rendered);
    if (tls) this.cacheContainer.mount(TLS_DIR, tlsVolume(this, 'TlsVolume', tls, 'cache-tls'), { readOnly: true });
    if (perPod) addClaimTemplates(this, workload as kplus.StatefulSet, containerPath, rendered.claimTemplates);
    addImagePullSecrets(workload, props.imagePullSecrets);

    // Around the pod: its Service, disruption budget, NetworkPolicy and monitoring.
    this.service = this.createService(props, { name, namespace, appPort, servicePort, tls: tls !== undefined });
    if (replicas > 1) {
      addPdb(this, workload, namespace);
      spreadReplicas(workload);
    }
    this.networkPolicy = this.createNetworkPolicy(props, { name, namespace, appPort, egress: rendered.egress });
    for (const remote of rendered.remotes) remote.allowClient(workload);
    if (props.monitoring) {
      const objects = addMonitoring(this, props.monitoring, {
        kind: 'sidecar',
        name,
        namespace,
        workload,
        config,
        replicas,
        startupBudget: settings.preloadTimeBudget ?? Duration.seconds(30),
        metricsFrom: props.metricsFrom,
      });
      this.podMonitor = objects.podMonitor;
      this.prometheusRule = objects.prometheusRule;
      this.dashboard = objects.dashboard;
    }
  }

  /** The Deployment, or the StatefulSet with its headless Service when the cache has a claim per pod. */
  private createWorkload(o: {
    name: string; namespace?: string; replicas: number; grace: Duration; sha256: string; perPod: boolean; appPort: number;
  }): kplus.Workload {
    const podProps = {
      metadata: { name: o.name, namespace: o.namespace },
      replicas: o.replicas,
      securityContext: securePodContext(),
      automountServiceAccountToken: false,
      terminationGracePeriod: o.grace,
      podMetadata: { annotations: { [CHECKSUM_ANNOTATION]: o.sha256 } },
    };
    if (!o.perPod) return new kplus.Deployment(this, 'Workload', podProps);
    const headless = new kplus.Service(this, 'Headless', {
      metadata: { name: `${o.name}-pods`, namespace: o.namespace },
      clusterIP: 'None',
      ports: [{ name: 'app', port: o.appPort, targetPort: o.appPort }],
    });
    return new kplus.StatefulSet(this, 'Workload', { ...podProps, service: headless });
  }

  /** The user's app container with the secure defaults and the cache connection (CACHE_HOST, CACHE_PORT, CACHE_PASSWORD, REDIS_URL). */
  private appContainerProps(props: CachedAppProps, passwordSecret: kplus.ISecret | undefined): kplus.ContainerProps {
    const appEnv: { [name: string]: kplus.EnvValue } = { ...(props.app.envVariables ?? {}) };
    for (const taken of ['CACHE_HOST', 'CACHE_PORT', 'CACHE_PASSWORD', 'REDIS_URL']) {
      if (appEnv[taken] !== undefined) {
        fail(this, `app container already sets ${taken}`, 'CachedApp sets CACHE_HOST, CACHE_PORT, REDIS_URL (and CACHE_PASSWORD with a password): remove it from app.envVariables');
      }
    }
    appEnv.CACHE_HOST = kplus.EnvValue.fromValue('127.0.0.1');
    appEnv.CACHE_PORT = kplus.EnvValue.fromValue(String(RESP_PORT));
    if (passwordSecret) {
      appEnv.CACHE_PASSWORD = kplus.EnvValue.fromSecretValue({ secret: passwordSecret, key: props.password!.key });
      appEnv.REDIS_URL = kplus.EnvValue.fromValue(`redis://:$(CACHE_PASSWORD)@127.0.0.1:${RESP_PORT}`);
    } else {
      appEnv.REDIS_URL = kplus.EnvValue.fromValue(`redis://127.0.0.1:${RESP_PORT}`);
    }
    const appProps: kplus.ContainerProps = {
      ...props.app,
      name: props.app.name ?? 'app',
      envVariables: appEnv,
      securityContext: withSecureDefaults(props.app.securityContext),
      resources: withDefaultResources(props.app.resources, defaultResources(Size.mebibytes(256))),
    };
    if (appProps.name === 'state-cache') {
      fail(this, 'app container is named "state-cache"', 'That is the cache container\'s name: give the app container another name');
    }
    return appProps;
  }

  /** The app's Service (and the sidecar's TLS port), with session affinity when asked. */
  private createService(
    props: CachedAppProps, o: { name: string; namespace?: string; appPort: number; servicePort: number; tls: boolean },
  ): kplus.Service {
    const service = new kplus.Service(this, 'Service', {
      metadata: { name: o.name, namespace: o.namespace },
      selector: this.workload,
      ports: [
        { name: 'app', port: o.servicePort, targetPort: o.appPort },
        ...(o.tls ? [{ name: 'cache-tls', port: SIDECAR_TLS_PORT, targetPort: SIDECAR_TLS_PORT }] : []),
      ],
    });
    const affinity = props.sessionAffinity?.timeout;
    if (affinity !== undefined) {
      const seconds = affinity.toSeconds();
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) {
        fail(this, `sessionAffinity timeout ${affinity.toMilliseconds()}ms is not a whole number of seconds from 1 to 86400`,
          'Give SessionAffinity.clientIp(Duration.hours(3)) or another whole number of seconds up to 24 hours');
      }
      // cdk8s-plus has no field for it. The L1 object maps the patched props to
      // the API's names afterwards (clientIp becomes clientIP).
      ApiObject.of(service).addJsonPatch(
        JsonPatch.add('/spec/sessionAffinity', 'ClientIP'),
        JsonPatch.add('/spec/sessionAffinityConfig', { clientIp: { timeoutSeconds: seconds } }),
      );
    }
    return service;
  }

  /** Ingress to the app (and the cache's HTTP and TLS ports for who is named); egress to DNS and the stores. */
  private createNetworkPolicy(
    props: CachedAppProps, o: { name: string; namespace?: string; appPort: number; egress: CacheEgress[] },
  ): kplus.NetworkPolicy {
    const ingressFrom = props.ingressFrom ?? [kplus.Pods.all(this, 'SameNamespace')];
    const restrictEgress = props.restrictEgress ?? true;
    return new kplus.NetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: o.name, namespace: o.namespace },
      selector: this.workload,
      ingress: {
        default: kplus.NetworkPolicyTrafficDefault.DENY,
        rules: [
          ...ingressFrom.map((peer) => ({ peer, ports: [kplus.NetworkPolicyPort.tcp(o.appPort)] })),
          ...(props.metricsFrom ?? []).map((peer) => ({ peer, ports: [kplus.NetworkPolicyPort.tcp(HTTP_PORT)] })),
          ...(props.cacheClientsFrom ?? []).map((peer) => ({ peer, ports: [kplus.NetworkPolicyPort.tcp(SIDECAR_TLS_PORT)] })),
        ],
      },
      egress: restrictEgress ? { default: kplus.NetworkPolicyTrafficDefault.DENY, rules: egressRules(this, o.egress) } : undefined,
    });
  }
}

function checkReplicas(scope: Construct, replicas: number): number {
  if (!Number.isInteger(replicas) || replicas < 1) {
    fail(scope, `replicas ${replicas} is not a whole number of at least 1`, 'Give replicas: 1 or more (each pod has its own cache)');
  }
  return replicas;
}

/** The app's port (clear of the sidecar's), its probes, and the Service port. */
function checkAppPorts(scope: Construct, props: CachedAppProps): { appPort: number; servicePort: number } {
  const appPort = props.app.portNumber ?? props.app.ports?.[0]?.number;
  if (appPort === undefined) {
    fail(scope, `app container "${props.app.name ?? 'app'}" has no port`, 'Give app.portNumber (or app.ports): the Service and NetworkPolicy serve it');
  }
  validatePort(scope, 'app port', appPort);
  if (appPort === RESP_PORT || appPort === HTTP_PORT || (props.tls !== undefined && appPort === SIDECAR_TLS_PORT)) {
    fail(scope, `app port ${appPort} is also a port of the cache sidecar (${RESP_PORT} RESP, ${HTTP_PORT} HTTP${props.tls ? `, ${SIDECAR_TLS_PORT} RESP over TLS` : ''})`,
      'The app and the cache share the pod\'s network: give the app another port');
  }
  if (props.app.readiness === undefined || props.app.liveness === undefined) {
    fail(scope, `app container "${props.app.name ?? 'app'}" has no ${props.app.readiness === undefined ? 'readiness' : 'liveness'} probe`,
      'Give app.readiness and app.liveness with different checks (e.g. Probe.fromHttpGet("/ready") and Probe.fromHttpGet("/healthz")): without them the app gets traffic before it is ready, and a hung app is never restarted');
  }
  const servicePort = props.servicePort ?? appPort;
  validatePort(scope, 'servicePort', servicePort);
  return { appPort, servicePort };
}

/** The cache settings rendered, with the coherence between the replicas' caches. */
function renderSidecarCache(
  scope: Construct, settings: CacheSettings, coherence: Coherence | undefined, replicas: number, namespace: string | undefined,
): RenderedCache {
  const rendered = renderCache(scope, settings, { replicas, replicasWhat: 'replicas', namespace });
  const section = _renderCoherence(scope, coherence, replicas, settings.stores ?? []);
  if (section) rendered.sections.persistence.coherence = section;
  return rendered;
}

/** The sidecar's certificate, when `tls` is given, and the checks that TLS puts the cache on the pod network safely. */
function bindSidecarTls(scope: Construct, props: CachedAppProps, o: {
  name: string; namespace?: string; perPod: boolean; image: CacheImage; passwordSecret?: kplus.ISecret;
}): BoundCacheTls | undefined {
  const tls = props.tls?._bind(scope, `${o.name}-cache-tls`, o.namespace, serviceDnsNames(o.name, o.perPod ? `${o.name}-pods` : undefined, o.namespace));
  if (tls !== undefined && props.monitoring !== undefined && (props.monitoring.scrape ?? true)) {
    fail(scope, 'monitoring.scrape is on with tls, but the PodMonitor the constructs emit scrapes /metrics over plain HTTP, and the cache then serves HTTPS only',
      'Give monitoring: { scrape: false } (keep the rules and dashboard) and scrape with your own PodMonitor using scheme https and the CA, or drop tls');
  }
  if (tls !== undefined) {
    checkTlsImage(scope, o.image);
    if (o.passwordSecret === undefined && !tls.mutual) {
      fail(scope, 'tls puts the cache on the pod network, but there is no password and the TLS is not mutual',
        'Give password: CachePassword.fromSecret(...) (or mutual TLS), so that other pods must authenticate: without either, every key would be open to them');
    }
  } else if (props.cacheClientsFrom !== undefined) {
    fail(scope, `cacheClientsFrom (${props.cacheClientsFrom.length} peer(s)) is given, but tls is not`,
      'Other pods reach the sidecar only over TLS: give tls: CacheTls.certManager({ issuer }) or CacheTls.fromSecret(secret), or drop cacheClientsFrom');
  }
  return tls;
}

/** The sidecar's state-cache config: listeners, TLS, auth, the rendered sections and the shutdown. */
function sidecarConfig(rendered: RenderedCache, tls: BoundCacheTls | undefined, password: boolean, shutdownSeconds: number): StateCacheConfig {
  return {
    // RESP on loopback: only the app in the same pod reaches the cache (with tls, others over TLS on the pod address).
    server: {
      bind: '127.0.0.1',
      port: RESP_PORT,
      protectedMode: true,
      ...(tls ? { tlsPort: SIDECAR_TLS_PORT, tlsBind: '0.0.0.0' } : {}),
    },
    // HTTP on the pod address, for the kubelet's probes; protected mode keeps /v1/keys
    // on loopback without a password, whatever the NetworkPolicy or the network plugin do.
    http: { enabled: true, bind: '0.0.0.0', port: HTTP_PORT, ...(tls ? { tls: true } : {}) },
    ...(tls ? { tls: stateCacheTlsSection(tls) } : {}),
    auth: password ? { passwordEnv: PASSWORD_ENV } : {},
    ...rendered.sections,
    shutdown: { timeoutSeconds: shutdownSeconds },
  };
}

/** The cache container's environment: its own password first, then the stores'. */
function cacheEnv(
  rendered: RenderedCache, passwordSecret: kplus.ISecret | undefined, password: CachePassword | undefined,
): Array<[string, kplus.EnvValue]> {
  const env = [...rendered.env];
  if (passwordSecret) env.unshift([PASSWORD_ENV, kplus.EnvValue.fromSecretValue({ secret: passwordSecret, key: password!.key })]);
  return env;
}

/**
 * A preStop command for the cache in CONTAINER mode: wait until the app's
 * port closes (the app has stopped), at most `drain`, so the cache gets
 * SIGTERM and flushes after the app. Node is in the image; no shell is needed.
 */
function waitForPortToClose(port: number, drain: Duration): string[] {
  const script = `const n=require('net');const end=Date.now()+${drain.toMilliseconds()};`
    + `(function p(){const s=n.connect(${port},'127.0.0.1');`
    + 's.on(\'connect\',()=>{s.destroy();if(Date.now()<end)setTimeout(p,200);else process.exit(0)});'
    + 's.on(\'error\',()=>process.exit(0))})()';
  return ['node', '-e', script];
}

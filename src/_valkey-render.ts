import { createHash } from 'node:crypto';
import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { addClaimTemplates, addImagePullSecrets, CHECKSUM_ANNOTATION, egressRules, RESP_PORT, spreadReplicas } from './_cache-pod';
import { bytesOf, mebibytesAtLeast } from './_cache-render';
import { defaultResources, securePodContext, secureContainerContext, withDefaultResources } from './_pod-defaults';
import { toQuantity } from './_storage-drivers';
import { BoundCacheTls, tlsVolume } from './_tls';
import { fail, validateDnsSubdomain } from './_validation';
import { VALKEY_CONF_DIR, VALKEY_DATA_DIR, VALKEY_RUN_DIR, valkeyScripts } from './_valkey-scripts';
import { CacheSettings, Eviction } from './cache';
import { CacheClusterEngine, ValkeyClusterOptions } from './cache-cluster-engine';

/*
 * An ExternalCacheCluster on Valkey: the checks of its options, and the
 * objects (ConfigMap with the server config and the scripts, headless and
 * client Services, StatefulSet, PDB, NetworkPolicies, bootstrap Job).
 */

/** The cluster bus port: the client port + 10000, as Valkey derives it. */
export const BUS_PORT = RESP_PORT + 10000;
const MAX_PODS = 1000;
const MAX_REPLICAS_PER_PRIMARY = 5;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const VERSION = /^(\d+)\.(\d+)\.(\d+)(-[A-Za-z0-9][A-Za-z0-9._-]*)?$/;
/** A repository whose last path component is `redis...` holds Redis, not Valkey. */
const REDIS_REPOSITORY = /(^|\/)redis[^/]*$/;
/** maxmemory may use at most this share of the container memory limit: an AOF rewrite forks. */
const MAX_MEMORY_SHARE = 0.75;
const DEFAULT_MEMORY = Size.gibibytes(1);
const SHUTDOWN_SECONDS = 20;

/** The ExternalCacheCluster props that matter here. */
export interface ValkeyClusterProps {
  readonly replicas?: number;
  readonly cache?: CacheSettings;
  readonly image?: { readonly reference: string };
  readonly metricsFrom?: kplus.INetworkPolicyPeer[];
  readonly monitoring?: object;
  readonly cacheResources?: kplus.ContainerResources;
  readonly terminationGracePeriod?: Duration;
}

/** A Valkey engine with its options checked and defaults filled in. */
export interface ValkeyShape {
  readonly primaries: number;
  readonly replicasPerPrimary: number;
  readonly pods: number;
  readonly image: string;
  /** The image is Redis (a repository named redis...), not Valkey. */
  readonly redis: boolean;
  readonly resources: kplus.ContainerResources;
  readonly maxMemoryBytes: number;
  readonly eviction: string;
  readonly nodeTimeoutMs: number;
  readonly handOffSeconds: number;
  readonly grace: Duration;
  readonly maxUnavailable: number;
  readonly storageSize: Size;
  readonly storageClassName?: string;
  readonly dualChannelReplication: boolean;
  readonly bootstrapDeadline: Duration;
}

function wholeIn(scope: Construct, what: string, value: number, min: number, max: number, why: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(scope, `${what} ${value} is not a whole number from ${min} to ${max}`, why);
  }
}

/**
 * Checks the options of a Valkey engine and the ExternalCacheCluster props
 * beside it: state-cache props are refused, the shape and the image must make
 * sense. Returns the shape with every default filled in.
 */
export function valkeyShape(scope: Construct, engine: CacheClusterEngine, props: ValkeyClusterProps): ValkeyShape {
  const o: ValkeyClusterOptions = engine.valkeyOptions ?? {};

  // Props of state-cache.
  if (props.cache !== undefined) {
    const given = Object.entries(props.cache).filter(([, v]) => v !== undefined).map(([k]) => k);
    fail(scope, `cache settings (${given.join(', ') || 'empty'}) are state-cache's, but the engine is Valkey`,
      'Leave cache out: Valkey keeps its data in its own append-only file on a claim per pod (engine storageSize); size its memory with the engine\'s maxMemory and eviction');
  }
  if (props.image !== undefined) {
    fail(scope, `image "${props.image.reference}" is a state-cache image, but the engine is Valkey`,
      'Leave image out and choose the Valkey image with CacheClusterEngine.valkey({ version, repository, digest })');
  }
  if (props.metricsFrom !== undefined) {
    fail(scope, `metricsFrom (${props.metricsFrom.length} peer(s)) admits scrapers to state-cache's HTTP port, which Valkey does not have`,
      'Leave metricsFrom out; scrape Valkey with an exporter admitted through clients');
  }
  if (props.monitoring !== undefined) {
    fail(scope, 'monitoring (a ServiceMonitor, alerts and a dashboard for state-cache\'s metrics) is state-cache\'s, but the engine is Valkey, which serves no /metrics',
      'Leave monitoring out; scrape Valkey with an exporter (e.g. redis_exporter) admitted through clients, and alert on its metrics');
  }

  // The shape.
  const replicasPerPrimary = o.replicasPerPrimary ?? 1;
  wholeIn(scope, 'replicasPerPrimary', replicasPerPrimary, 0, MAX_REPLICAS_PER_PRIMARY,
    `Give 0 (no failover) to ${MAX_REPLICAS_PER_PRIMARY} replicas of each primary; 1 is the usual choice`);
  const per = 1 + replicasPerPrimary;
  let primaries = o.primaries;
  if (props.replicas !== undefined) {
    if (!Number.isInteger(props.replicas) || props.replicas % per !== 0) {
      fail(scope, `replicas ${props.replicas} cannot be split into primaries × (1 + replicasPerPrimary ${replicasPerPrimary})`,
        `Give a multiple of ${per} (e.g. ${3 * per} or ${4 * per}), or leave replicas out and give the engine's primaries`);
    }
    if (primaries !== undefined && primaries * per !== props.replicas) {
      fail(scope, `replicas ${props.replicas} does not match primaries ${primaries} × (1 + replicasPerPrimary ${replicasPerPrimary}) = ${primaries * per}`,
        'Give the engine\'s primaries and leave replicas out (or give the same number of pods in both)');
    }
    primaries = props.replicas / per;
  }
  primaries ??= 3;
  if (!Number.isInteger(primaries) || primaries < 3) {
    fail(scope, `primaries ${primaries} is fewer than 3`,
      'Valkey Cluster needs at least 3 primaries, so that a majority of them can vote a replica in when one fails: give primaries: 3 or more');
  }
  const pods = primaries * per;
  if (pods > MAX_PODS) {
    fail(scope, `primaries ${primaries} × (1 + replicasPerPrimary ${replicasPerPrimary}) is ${pods} pods`, `Valkey Cluster is meant for at most ${MAX_PODS} nodes: give fewer primaries`);
  }

  // The image.
  const repository = o.repository ?? CacheClusterEngine.VALKEY_REPOSITORY;
  if (!REPOSITORY.test(repository)) {
    fail(scope, `repository "${repository}" is not a valid image repository`, 'Use lower-case host/path components, e.g. "registry.example.com/mirror/valkey"');
  }
  const redis = REDIS_REPOSITORY.test(repository);
  const product = redis ? 'Redis' : 'Valkey';
  const version = o.version ?? CacheClusterEngine.DEFAULT_VALKEY_VERSION;
  const v = VERSION.exec(version);
  if (!v) {
    fail(scope, `${product} version "${version}" is not a pinned version`,
      `Give a full version such as "${redis ? '7.2.5' : CacheClusterEngine.DEFAULT_VALKEY_VERSION}" (never "latest" or a floating "8.1"); a digest pins it further`);
  }
  const [major, minor] = [Number(v[1]), Number(v[2])];
  const atLeast = (a: number, b: number) => major > a || (major === a && minor >= b);
  if (!redis && !atLeast(7, 2)) {
    fail(scope, `Valkey version "${version}" is below 7.2`,
      `Valkey starts at 7.2 (Redis 7.2.4 forked): give ${CacheClusterEngine.DEFAULT_VALKEY_VERSION} or another 7.2+ version; for a Redis image, set repository too`);
  }
  if (redis && !atLeast(7, 0)) {
    fail(scope, `Redis version "${version}" is below 7.0`, 'Hostname endpoints (cluster-announce-hostname) need Redis 7.0 or later: give 7.0 or later, or use Valkey');
  }
  const dualChannelReplication = o.dualChannelReplication ?? false;
  if (dualChannelReplication && (redis || !atLeast(8, 0))) {
    fail(scope, `dualChannelReplication needs Valkey 8.0 or later, but the image is ${repository}:${version}`,
      'It emits dual-channel-replication-enabled, which the server refuses at start: use valkey/valkey 8.0 or later, or leave dualChannelReplication out');
  }
  if (o.digest !== undefined && !DIGEST.test(o.digest)) {
    fail(scope, `digest "${o.digest}" is not a sha256 digest`, 'Give "sha256:" followed by 64 lower-case hex digits');
  }
  const image = `${repository}:${version}${o.digest ? `@${o.digest}` : ''}`;

  // Memory and persistence.
  const resources = withDefaultResources(props.cacheResources, defaultResources(DEFAULT_MEMORY));
  const limit = bytesOf(resources.memory!.limit!);
  const maxMemoryBytes = o.maxMemory !== undefined ? bytesOf(o.maxMemory) : Math.floor(limit / 2);
  if (!Number.isInteger(maxMemoryBytes) || maxMemoryBytes <= 0) {
    fail(scope, `maxMemory ${maxMemoryBytes} bytes is not a positive whole number of bytes`, 'Give a size such as Size.mebibytes(512)');
  }
  if (maxMemoryBytes > limit * MAX_MEMORY_SHARE) {
    fail(scope, `maxMemory ${maxMemoryBytes} bytes is above ${MAX_MEMORY_SHARE * 100}% of the container memory limit ${limit} bytes`,
      `An AOF rewrite forks the server and copy-on-write needs the rest: raise cacheResources.memory.limit to at least ${mebibytesAtLeast(maxMemoryBytes / MAX_MEMORY_SHARE).toMebibytes()}Mi, or lower maxMemory`);
  }
  const eviction = o.eviction ?? Eviction.LRU;
  const storageSize = o.storageSize ?? Size.gibibytes(10);
  toQuantity(scope, storageSize);
  if (o.storageClassName !== undefined) validateDnsSubdomain(scope, 'storageClassName', o.storageClassName);

  // Timing.
  const nodeTimeoutMs = (o.nodeTimeout ?? Duration.seconds(5)).toMilliseconds();
  if (!Number.isInteger(nodeTimeoutMs) || nodeTimeoutMs < 1000 || nodeTimeoutMs > 60_000) {
    fail(scope, `nodeTimeout ${nodeTimeoutMs} ms is out of range`, 'Give 1 to 60 seconds: shorter fails over on every hiccup, longer leaves a dead primary\'s slots down that long');
  }
  const handOffSeconds = (o.handOffTimeout ?? Duration.seconds(15)).toSeconds();
  wholeIn(scope, 'handOffTimeout (seconds)', handOffSeconds, 1, 600, 'Give 1 to 600 seconds for a replica to take over before the server stops');
  const minGrace = handOffSeconds + 5;
  const grace = props.terminationGracePeriod ?? Duration.seconds(handOffSeconds + SHUTDOWN_SECONDS);
  if (grace.toSeconds() < minGrace) {
    fail(scope, `terminationGracePeriod ${grace.toSeconds()}s is shorter than the preStop hand-off (handOffTimeout ${handOffSeconds}s) + 5s`,
      `Give at least ${minGrace}s, or shorten the engine's handOffTimeout`);
  }

  // Disruptions.
  const maxUnavailable = o.maxUnavailable ?? 1;
  if (maxUnavailable === 0) {
    fail(scope, 'maxUnavailable 0 would block every rollout and node drain (the PodDisruptionBudget would allow no pod down)',
      'Give maxUnavailable: 1 (the default): the preStop hand-off keeps every shard serving while one pod is down');
  }
  const most = Math.max(1, replicasPerPrimary);
  wholeIn(scope, 'maxUnavailable', maxUnavailable, 1, most,
    `More than ${most} pod(s) down at once could be every copy of one shard: give 1${most > 1 ? ` to ${most}` : ''}`);

  const bootstrapDeadline = o.bootstrapDeadline ?? Duration.minutes(30);
  wholeIn(scope, 'bootstrapDeadline (seconds)', bootstrapDeadline.toSeconds(), 60, 86_400, 'Give 1 minute to 1 day for the bootstrap Job');

  return {
    primaries,
    replicasPerPrimary,
    pods,
    image,
    redis,
    resources,
    maxMemoryBytes,
    eviction: evictionPolicy(eviction),
    nodeTimeoutMs,
    handOffSeconds,
    grace,
    maxUnavailable,
    storageSize,
    storageClassName: o.storageClassName,
    dualChannelReplication,
    bootstrapDeadline,
  };
}

function evictionPolicy(e: Eviction): string {
  if (e === Eviction.LFU) return 'allkeys-lfu';
  if (e === Eviction.NO_EVICTION) return 'noeviction';
  return 'allkeys-lru';
}

/** Where a Valkey pod mounts its certificate. */
export const VALKEY_TLS_DIR = '/etc/valkey-tls';

/** The server config shared by every pod; per-pod settings are arguments. */
export function valkeyConf(shape: ValkeyShape, tls?: BoundCacheTls): string {
  const tlsLines = tls === undefined ? [] : [
    '# TLS on every port: clients, replication and the cluster bus (tls-port + 10000).',
    '# The files are read again on CONFIG SET tls-cert-file ..., which start.sh',
    '# runs when the mounted Secret changes.',
    'port 0',
    `tls-port ${RESP_PORT}`,
    `tls-cert-file ${VALKEY_TLS_DIR}/tls.crt`,
    `tls-key-file ${VALKEY_TLS_DIR}/tls.key`,
    `tls-ca-cert-file ${VALKEY_TLS_DIR}/ca.crt`,
    'tls-cluster yes',
    'tls-replication yes',
    `tls-auth-clients ${tls.mutual ? 'yes' : 'no'}`,
  ];
  return [
    '# Valkey Cluster node, rendered by cdk8s-state. Per pod, start.sh adds the',
    '# password (from the Secret), the port, and the announced hostname and IP.',
    'bind * -::*',
    `dir ${VALKEY_DATA_DIR}`,
    'cluster-enabled yes',
    `cluster-config-file ${VALKEY_DATA_DIR}/nodes.conf`,
    `cluster-node-timeout ${shape.nodeTimeoutMs}`,
    '# Clients get the pods\' DNS names (MOVED, CLUSTER SLOTS), stable across restarts.',
    'cluster-preferred-endpoint-type hostname',
    '# A cache: the other shards keep serving while one has no node.',
    'cluster-require-full-coverage no',
    'appendonly yes',
    'appendfsync everysec',
    'save ""',
    `maxmemory ${shape.maxMemoryBytes}`,
    `maxmemory-policy ${shape.eviction}`,
    'tcp-keepalive 60',
    ...(shape.dualChannelReplication ? ['dual-channel-replication-enabled yes'] : []),
    ...tlsLines,
    '',
  ].join('\n');
}

/** Where the objects go and who may connect. */
export interface ValkeyClusterContext {
  readonly name: string;
  readonly namespace?: string;
  readonly headlessName: string;
  readonly peerDomain: string;
  readonly passwordSecret: kplus.ISecret;
  readonly passwordKey: string;
  readonly clients: kplus.INetworkPolicyPeer[];
  readonly imagePullSecrets?: kplus.ISecret[];
  readonly tls?: BoundCacheTls;
}

/** The objects of a Valkey cluster. */
export interface ValkeyClusterObjects {
  readonly configMap: kplus.ConfigMap;
  readonly headlessService: kplus.Service;
  readonly service: kplus.Service;
  readonly statefulSet: kplus.StatefulSet;
  readonly networkPolicy: kplus.NetworkPolicy;
  readonly bootstrapJob: kplus.Job;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The objects, under `scope` (the ExternalCacheCluster). */
export function renderValkeyCluster(scope: Construct, shape: ValkeyShape, ctx: ValkeyClusterContext): ValkeyClusterObjects {
  const { name, namespace } = ctx;
  const data: { [file: string]: string } = { 'valkey.conf': valkeyConf(shape, ctx.tls), ...valkeyScripts() };
  // valkey-cli of the scripts (probes, preStop, bootstrap): TLS with the pod's own certificate as client certificate.
  const cliTls = ctx.tls === undefined ? undefined
    : kplus.EnvValue.fromValue(`--tls --cacert ${VALKEY_TLS_DIR}/ca.crt --cert ${VALKEY_TLS_DIR}/tls.crt --key ${VALKEY_TLS_DIR}/tls.key`);
  const checksum = sha256(JSON.stringify(data));
  const configMap = new kplus.ConfigMap(scope, 'Config', {
    metadata: { name: `${name}-config`, namespace },
    data,
  });
  const password = kplus.EnvValue.fromSecretValue({ secret: ctx.passwordSecret, key: ctx.passwordKey });
  const script = (file: string) => ['sh', `${VALKEY_CONF_DIR}/${file}`];

  const headlessService = new kplus.Service(scope, 'Headless', {
    metadata: { name: ctx.headlessName, namespace },
    clusterIP: 'None',
    // The bootstrap Job and the re-MEET loop resolve pods before they are ready.
    publishNotReadyAddresses: true,
    ports: [{ name: 'resp', port: RESP_PORT, targetPort: RESP_PORT }, { name: 'bus', port: BUS_PORT, targetPort: BUS_PORT }],
  });
  const statefulSet = new kplus.StatefulSet(scope, 'StatefulSet', {
    metadata: { name, namespace },
    replicas: shape.pods,
    service: headlessService,
    // Nodes find each other through the cluster bus: no need to start one by one.
    podManagementPolicy: kplus.PodManagementPolicy.PARALLEL,
    securityContext: securePodContext(),
    automountServiceAccountToken: false,
    terminationGracePeriod: shape.grace,
    podMetadata: { annotations: { [CHECKSUM_ANNOTATION]: checksum } },
  });
  const container = statefulSet.addContainer({
    name: 'valkey',
    image: shape.image,
    command: script('start.sh'),
    // Expanded by the kubelet: each pod announces its own stable name and IP.
    args: ['--cluster-announce-hostname', `$(POD_NAME).${ctx.peerDomain}`, '--cluster-announce-ip', '$(POD_IP)'],
    ports: [{ name: 'resp', number: RESP_PORT }, { name: 'bus', number: BUS_PORT }],
    envVariables: {
      POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
      POD_IP: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_IP),
      VALKEY_PORT: kplus.EnvValue.fromValue(String(RESP_PORT)),
      VALKEY_PASSWORD: password,
      VALKEY_HANDOFF_SECONDS: kplus.EnvValue.fromValue(String(shape.handOffSeconds)),
      ...(cliTls ? { VALKEY_TLS_ARGS: cliTls } : {}),
    },
    resources: shape.resources,
    securityContext: secureContainerContext(),
    // Loading a large append-only file can take minutes: the startup probe allows 10.
    startup: kplus.Probe.fromCommand([...script('probe.sh'), 'live'], {
      periodSeconds: Duration.seconds(5), timeoutSeconds: Duration.seconds(5), failureThreshold: 120,
    }),
    readiness: kplus.Probe.fromCommand([...script('probe.sh'), 'ready'], {
      periodSeconds: Duration.seconds(5), timeoutSeconds: Duration.seconds(5), failureThreshold: 2,
    }),
    liveness: kplus.Probe.fromCommand([...script('probe.sh'), 'live'], {
      periodSeconds: Duration.seconds(10), timeoutSeconds: Duration.seconds(5), failureThreshold: 3,
    }),
    lifecycle: { preStop: kplus.Handler.fromCommand(script('prestop.sh')) },
  });
  const configVolume = kplus.Volume.fromConfigMap(scope, 'ConfigVolume', configMap, { name: 'config' });
  const tmpVolume = kplus.Volume.fromEmptyDir(scope, 'TmpVolume', 'tmp', { sizeLimit: Size.mebibytes(64) });
  container.mount(VALKEY_CONF_DIR, configVolume, { readOnly: true });
  container.mount(VALKEY_RUN_DIR, kplus.Volume.fromEmptyDir(scope, 'RunVolume', 'run', { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(1) }));
  container.mount('/tmp', tmpVolume);
  const tlsVol = ctx.tls === undefined ? undefined : tlsVolume(scope, 'TlsVolume', ctx.tls);
  if (tlsVol) container.mount(VALKEY_TLS_DIR, tlsVol, { readOnly: true });
  addClaimTemplates(scope, statefulSet, '/spec/template/spec/containers/0', [
    { name: 'data', size: shape.storageSize, storageClassName: shape.storageClassName, path: VALKEY_DATA_DIR },
  ]);
  addImagePullSecrets(statefulSet, ctx.imagePullSecrets);
  spreadReplicas(statefulSet);

  const service = new kplus.Service(scope, 'Service', {
    metadata: { name, namespace },
    selector: statefulSet,
    ports: [{ name: 'resp', port: RESP_PORT, targetPort: RESP_PORT }],
  });
  new kplus.k8s.KubePodDisruptionBudget(scope, 'Pdb', {
    metadata: { name, namespace },
    spec: {
      maxUnavailable: kplus.k8s.IntOrString.fromNumber(shape.maxUnavailable),
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
      selector: { matchLabels: statefulSet.matchLabels },
    },
  });

  // The bootstrap Job: its name changes with everything its pod runs, so a
  // new shape (or image, or script) runs it again; the same one never does.
  const jobEnv = {
    VALKEY_STATEFULSET: name,
    VALKEY_PEER_DOMAIN: ctx.peerDomain,
    VALKEY_PODS: String(shape.pods),
    VALKEY_PRIMARIES: String(shape.primaries),
    VALKEY_REPLICAS_PER_PRIMARY: String(shape.replicasPerPrimary),
    VALKEY_PORT: String(RESP_PORT),
    VALKEY_WAIT_SECONDS: String(Math.max(60, shape.bootstrapDeadline.toSeconds() - 300)),
  };
  const jobHash = sha256(JSON.stringify({ jobEnv, image: shape.image, checksum, deadline: shape.bootstrapDeadline.toSeconds() })).slice(0, 8);
  const bootstrapJob = new kplus.Job(scope, 'Bootstrap', {
    metadata: { name: `${name}-bootstrap-${jobHash}`, namespace },
    backoffLimit: 4,
    activeDeadline: shape.bootstrapDeadline,
    ttlAfterFinished: Duration.hours(1),
    securityContext: securePodContext(),
    automountServiceAccountToken: false,
  });
  const job = bootstrapJob.addContainer({
    name: 'bootstrap',
    image: shape.image,
    command: script('bootstrap.sh'),
    envVariables: {
      ...Object.fromEntries(Object.entries(jobEnv).map(([k, v]) => [k, kplus.EnvValue.fromValue(v)])),
      VALKEY_PASSWORD: password,
      ...(cliTls ? { VALKEY_TLS_ARGS: cliTls } : {}),
    },
    resources: {
      cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
      memory: { request: Size.mebibytes(64), limit: Size.mebibytes(64) },
      ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(1) },
    },
    securityContext: secureContainerContext(),
  });
  job.mount(VALKEY_CONF_DIR, configVolume, { readOnly: true });
  job.mount('/tmp', tmpVolume);
  if (tlsVol) job.mount(VALKEY_TLS_DIR, tlsVol, { readOnly: true });
  addImagePullSecrets(bootstrapJob, ctx.imagePullSecrets);

  const networkPolicy = new kplus.NetworkPolicy(scope, 'NetworkPolicy', {
    metadata: { name, namespace },
    selector: statefulSet,
    ingress: {
      default: kplus.NetworkPolicyTrafficDefault.DENY,
      rules: [
        { peer: statefulSet, ports: [kplus.NetworkPolicyPort.tcp(RESP_PORT), kplus.NetworkPolicyPort.tcp(BUS_PORT)] },
        { peer: bootstrapJob, ports: [kplus.NetworkPolicyPort.tcp(RESP_PORT)] },
        ...ctx.clients.map((peer) => ({ peer, ports: [kplus.NetworkPolicyPort.tcp(RESP_PORT)] })),
      ],
    },
    egress: {
      default: kplus.NetworkPolicyTrafficDefault.DENY,
      rules: [
        { peer: statefulSet, ports: [kplus.NetworkPolicyPort.tcp(RESP_PORT), kplus.NetworkPolicyPort.tcp(BUS_PORT)] },
        ...egressRules(scope, []),
      ],
    },
  });
  new kplus.NetworkPolicy(scope, 'BootstrapNetworkPolicy', {
    metadata: { name: `${name}-bootstrap`, namespace },
    selector: bootstrapJob,
    ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
    egress: {
      default: kplus.NetworkPolicyTrafficDefault.DENY,
      rules: [
        { peer: statefulSet, ports: [kplus.NetworkPolicyPort.tcp(RESP_PORT)] },
        ...egressRules(new Construct(scope, 'BootstrapEgress'), []),
      ],
    },
  });

  return { configMap, headlessService, service, statefulSet, networkPolicy, bootstrapJob };
}

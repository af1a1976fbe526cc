import { createHash } from 'node:crypto';
import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { bytesOf, CacheEgress, ClaimTemplate, DATA_DIR, mebibytesAtLeast, RenderedCache } from './_cache-render';
import { defaultResources, secureContainerContext, withDefaultResources } from './_pod-defaults';
import type { StateCacheConfig } from './_runtime-config';
import { toQuantity } from './_storage-drivers';
import { fail } from './_validation';
import { CacheImage } from './cache-image';

/*
 * The parts of a state-cache pod that CachedApp and ExternalCacheCluster
 * share: the container, its config, volumes, claim templates, the PDB and the
 * egress rules to the stores.
 */

/** The RESP port of the image. */
export const RESP_PORT = 6379;
/** The HTTP port of the image (REST, /healthz, /readyz, /metrics). */
export const HTTP_PORT = 8080;
/** Where the config is mounted; the image's CMD reads `config.json` from here. */
export const CONFIG_DIR = '/etc/state-cache';
/** The pod template annotation carrying the sha256 of the config, so pods roll on a change. */
export const CHECKSUM_ANNOTATION = 'cdk8s-state.dev/config-sha256';
/** The environment variable holding the cache's own password. */
export const PASSWORD_ENV = 'STATE_CACHE_PASSWORD';
/** The share of the container memory limit a fixed byte budget may use at most. */
const MAX_BUDGET_SHARE = 0.9;
/**
 * Headroom on top of a byte budget when the construct derives the limit: 25%
 * plus 128 MiB. The fixed part is Node itself: an idle state-cache has an RSS
 * of ~70 MiB (45 MiB of it the node binary's code), and under write churn from
 * 50 pipelining clients its heap, socket buffers and garbage take 20-45 MiB
 * more (peak RSS at a 64 MiB budget: 150 MiB with 100-byte values, 181 MiB
 * with 1000-byte ones); 64 MiB could not hold that at small budgets
 * (runtime/test/memory-churn.test.ts, docs/benchmarks.md). The runtime derives
 * its budget from a limit with the inverse (runtime/src/server.ts).
 */
const DERIVED_HEADROOM = 1.25;
const DERIVED_EXTRA = 128 * 1024 * 1024;
/** The cache's memory limit when there is no byte budget (the runtime then uses half of it). */
const DEFAULT_MEMORY = Size.mebibytes(256);

let defaultImage: CacheImage | undefined;

/**
 * CacheImage.default(), read once: it reads the library's package.json, which
 * was the largest single cost of synthesising many caches (bench:synth).
 */
export function defaultCacheImage(): CacheImage {
  defaultImage ??= CacheImage.default();
  return defaultImage;
}

/** The cache container's resources: the user's, or derived from the byte budget, with the budget checked against the limit. */
export function cacheResources(scope: Construct, rendered: RenderedCache, user: kplus.ContainerResources | undefined): kplus.ContainerResources {
  const budget = rendered.memoryBudgetBytes;
  const derived = budget !== undefined ? mebibytesAtLeast(budget * DERIVED_HEADROOM + DERIVED_EXTRA) : DEFAULT_MEMORY;
  const resources = withDefaultResources(user, defaultResources(derived));
  const limit = resources.memory!.limit!;
  if (budget !== undefined && budget > bytesOf(limit) * MAX_BUDGET_SHARE) {
    fail(scope, `memory.maxSize ${budget} bytes is above ${MAX_BUDGET_SHARE * 100}% of the cache container memory limit ${bytesOf(limit)} bytes`,
      `Raise cacheResources.memory.limit to at least ${mebibytesAtLeast(budget / MAX_BUDGET_SHARE).toMebibytes()}Mi, lower memory.maxSize, or leave cacheResources out to derive the limit from the budget`);
  }
  return resources;
}

/** The full state-cache config and its checksum. */
export function configJson(config: StateCacheConfig): { json: string; sha256: string } {
  const json = JSON.stringify(config, null, 2);
  return { json, sha256: createHash('sha256').update(json).digest('hex') };
}

/** The state-cache container: ports, probes, secure context; mounts come after. */
export function cacheContainerProps(options: {
  image: string;
  resources: kplus.ContainerResources;
  env: Array<[string, kplus.EnvValue]>;
  startupBudget: Duration;
  restartPolicy?: kplus.ContainerRestartPolicy;
  lifecycle?: kplus.ContainerLifecycle;
  /** The HTTP port serves HTTPS (the kubelet's probes do not verify the certificate). */
  https?: boolean;
  /** More ports (e.g. the sidecar's TLS RESP port). */
  extraPorts?: kplus.ContainerPort[];
}): kplus.ContainerProps {
  const envVariables: { [name: string]: kplus.EnvValue } = {};
  for (const [name, value] of options.env) envVariables[name] = value;
  // Startup waits for preload and journal replay: allow the preload budget plus a minute.
  const periodSeconds = 5;
  const startupFailures = Math.ceil((options.startupBudget.toSeconds() + 60) / periodSeconds);
  const scheme = options.https ? kplus.ConnectionScheme.HTTPS : undefined;
  return {
    name: 'state-cache',
    image: options.image,
    ports: [{ name: 'resp', number: RESP_PORT }, { name: 'http', number: HTTP_PORT }, ...(options.extraPorts ?? [])],
    envVariables,
    resources: options.resources,
    securityContext: secureContainerContext(),
    startup: kplus.Probe.fromHttpGet('/readyz', { port: HTTP_PORT, scheme, periodSeconds: Duration.seconds(periodSeconds), failureThreshold: startupFailures }),
    readiness: kplus.Probe.fromHttpGet('/readyz', { port: HTTP_PORT, scheme, periodSeconds: Duration.seconds(5), failureThreshold: 2 }),
    liveness: kplus.Probe.fromHttpGet('/healthz', { port: HTTP_PORT, scheme, periodSeconds: Duration.seconds(10), failureThreshold: 3 }),
    restartPolicy: options.restartPolicy,
    lifecycle: options.lifecycle,
  };
}

/** Mounts the config, /tmp, the data directory, CA files and PersistentStores into the cache container. */
export function mountCacheVolumes(
  scope: Construct, workload: kplus.Workload, container: kplus.Container, configMap: kplus.ConfigMap, rendered: RenderedCache,
): void {
  container.mount(CONFIG_DIR, kplus.Volume.fromConfigMap(scope, 'ConfigVolume', configMap, { name: 'config' }), { readOnly: true });
  container.mount('/tmp', kplus.Volume.fromEmptyDir(scope, 'TmpVolume', 'tmp', { sizeLimit: Size.mebibytes(64) }));
  container.mount(DATA_DIR, kplus.Volume.fromEmptyDir(scope, 'DataVolume', 'data', { sizeLimit: Size.mebibytes(256) }));
  for (const m of rendered.mounts) container.mount(m.path, m.volume, { readOnly: true });
  // The cache may be a native sidecar (an init container), which PersistentStore.mountInto
  // does not mount into; renderCache already refused such a store for more than one pod.
  for (const p of rendered.persistentStores) container.mount(p.path, p.store.asVolume());
  if (rendered.persistentStores.length > 0 && workload instanceof kplus.Deployment) {
    // A rolling update would start the new pod while the old one holds the volume (Multi-Attach).
    ApiObject.of(workload).addJsonPatch(JsonPatch.replace('/spec/strategy', { type: 'Recreate' }));
  }
}

/**
 * Claim templates: kplus has no API for them, so they and the container's
 * mounts of them are JSON patches. Claims are kept when the StatefulSet is
 * deleted or scaled down (the data is the point), explicitly.
 */
export function addClaimTemplates(scope: Construct, workload: kplus.StatefulSet, containerPath: string, templates: ClaimTemplate[]): void {
  if (templates.length === 0) return;
  const obj = ApiObject.of(workload);
  obj.addJsonPatch(JsonPatch.add('/spec/volumeClaimTemplates', templates.map((t) => ({
    metadata: { name: t.name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(t.storageClassName !== undefined ? { storageClassName: t.storageClassName } : {}),
      // The L1 object reads quantities in patches as Quantity objects.
      resources: { requests: { storage: kplus.k8s.Quantity.fromString(toQuantity(scope, t.size)) } },
    },
  }))));
  obj.addJsonPatch(JsonPatch.add('/spec/persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' }));
  for (const t of templates) {
    obj.addJsonPatch(JsonPatch.add(`${containerPath}/volumeMounts/-`, { name: t.name, mountPath: t.path }));
  }
}

/** A PDB allowing one pod down at a time, with crash-looping pods evictable. */
export function addPdb(scope: Construct, workload: kplus.Workload, namespace: string | undefined): void {
  new kplus.k8s.KubePodDisruptionBudget(scope, 'Pdb', {
    metadata: { name: workload.name, namespace },
    spec: {
      maxUnavailable: kplus.k8s.IntOrString.fromNumber(1),
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
      selector: { matchLabels: workload.matchLabels },
    },
  });
}

/** Soft spreading over nodes and zones, so several replicas survive a node or zone loss. */
export function spreadReplicas(workload: kplus.Workload): void {
  workload.scheduling.spread({ weight: 100, topology: kplus.Topology.HOSTNAME });
  workload.scheduling.spread({ weight: 50, topology: kplus.Topology.ZONE });
}

/** Egress rules: DNS, then each store. */
export function egressRules(scope: Construct, egress: CacheEgress[]): kplus.NetworkPolicyRule[] {
  const rules: kplus.NetworkPolicyRule[] = [];
  const kubeDns = kplus.Pods.select(scope, 'KubeDns', {
    labels: { 'k8s-app': 'kube-dns' },
    namespaces: kplus.Namespaces.select(scope, 'KubeSystem', { names: ['kube-system'] }),
  });
  rules.push({ peer: kubeDns, ports: [kplus.NetworkPolicyPort.udp(53), kplus.NetworkPolicyPort.tcp(53)] });
  egress.forEach((e, i) => {
    if (e.peer) rules.push({ peer: e.peer, ports: [kplus.NetworkPolicyPort.tcp(e.port)] });
    (e.cidrs ?? []).forEach((cidr, j) => {
      const block = cidr.includes(':')
        ? kplus.NetworkPolicyIpBlock.ipv6(scope, `Egress${i}Cidr${j}`, cidr)
        : kplus.NetworkPolicyIpBlock.ipv4(scope, `Egress${i}Cidr${j}`, cidr);
      rules.push({ peer: block, ports: [kplus.NetworkPolicyPort.tcp(e.port)] });
    });
  });
  return rules;
}

/** Image pull secrets (kplus takes one): all of them, by patch. */
export function addImagePullSecrets(workload: kplus.Workload, secrets: kplus.ISecret[] | undefined): void {
  if (!secrets || secrets.length === 0) return;
  ApiObject.of(workload).addJsonPatch(JsonPatch.add('/spec/template/spec/imagePullSecrets', secrets.map((s) => ({ name: s.name }))));
}

/** How long a cache pod's shutdown may take, and the grace period that covers it. */
export interface ShutdownBudget {
  /** The cache's own shutdown: its flush deadline (whole seconds) plus 5 seconds to close and exit. */
  readonly shutdownSeconds: number;
  /** The pod's termination grace period: the one given, or the budget plus 5 seconds. */
  readonly grace: Duration;
}

/**
 * The shutdown budget of a cache pod: the app drains first (a sidecar's app;
 * none for a cluster), then the cache flushes within its deadline. A given
 * grace period shorter than that is refused.
 */
export function shutdownBudget(scope: Construct, flushDeadline: Duration, options: { appDrain?: Duration; grace?: Duration }): ShutdownBudget {
  const flushSeconds = Math.ceil(flushDeadline.toMilliseconds() / 1000);
  const shutdownSeconds = flushSeconds + 5;
  const drain = options.appDrain;
  const required = (drain?.toSeconds() ?? 0) + shutdownSeconds;
  const grace = options.grace ?? Duration.seconds(required + 5);
  if (grace.toSeconds() < required) {
    if (drain !== undefined) {
      fail(scope, `terminationGracePeriod ${grace.toSeconds()}s is shorter than the app drain time (${drain.toSeconds()}s) plus the cache shutdown (flushDeadline ${flushSeconds}s + 5s)`,
        `Give at least ${required}s (better ${required + 5}s), or shorten appDrainTime or cache.flushDeadline`);
    }
    fail(scope, `terminationGracePeriod ${grace.toSeconds()}s is shorter than the cache shutdown (flushDeadline ${flushSeconds}s + 5s)`,
      `Give at least ${required}s, or shorten cache.flushDeadline`);
  }
  return { shutdownSeconds, grace };
}

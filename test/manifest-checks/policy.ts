/**
 * The policy rules every workload cdk8s-state creates must pass (the kube-score /
 * kube-linter / Polaris / checkov baseline), and the wiring between objects
 * that only shows when the whole output is looked at together.
 *
 * Pod-level and container-level securityContext are merged the way the
 * kubelet applies them: a container setting wins, a pod setting fills in
 * (runAsNonRoot, runAsUser, runAsGroup, seccompProfile); the rest exist only
 * on containers.
 */
import { Finding, formatPath, isPlainObject, jsonEqual, labelSelectorMatches, mapSelectorMatches, namespaceOf, objectId, parseQuantity, Segment } from './util';

/** A pod template in the output, wherever it lives. */
export interface Workload {
  readonly manifest: any;
  readonly object: string;
  readonly kind: string;
  readonly namespace: string;
  readonly podSpec: any;
  readonly specPath: Segment[];
  readonly labels: Record<string, string> | undefined;
  readonly labelsPath: Segment[];
  /** Desired pod count, for Deployment / StatefulSet / ReplicaSet / ReplicationController; 1 otherwise. */
  readonly replicas: number;
  /** Whether `pdb`, `pdb-disruptions` and `spread` apply: replicated controllers with more than one replica. */
  readonly multiReplica: boolean;
  /** Jobs and CronJobs: their main containers run to completion, so readiness / liveness do not apply to them. */
  readonly runsToCompletion: boolean;
}

const REPLICATED = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);

/** Every pod template in the output. */
export function workloads(manifests: any[]): Workload[] {
  const out: Workload[] = [];
  for (const m of manifests) {
    if (!isPlainObject(m) || !isPlainObject(m.spec)) continue;
    let template: any;
    let base: Segment[];
    switch (m.kind) {
      case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'ReplicaSet': case 'ReplicationController': case 'Job':
        template = m.spec.template;
        base = ['spec', 'template'];
        break;
      case 'CronJob':
        template = m.spec.jobTemplate?.spec?.template;
        base = ['spec', 'jobTemplate', 'spec', 'template'];
        break;
      case 'Pod':
        template = { metadata: m.metadata, spec: m.spec };
        base = [];
        break;
      default:
        continue;
    }
    if (!isPlainObject(template) || !isPlainObject(template.spec)) continue;
    const replicas = REPLICATED.has(m.kind) ? (typeof m.spec.replicas === 'number' ? m.spec.replicas : 1) : 1;
    out.push({
      manifest: m,
      object: objectId(m),
      kind: m.kind,
      namespace: namespaceOf(m),
      podSpec: template.spec,
      specPath: [...base, 'spec'],
      labels: isPlainObject(template.metadata?.labels) ? template.metadata.labels : undefined,
      labelsPath: [...base, 'metadata', 'labels'],
      replicas,
      multiReplica: REPLICATED.has(m.kind) && replicas > 1,
      runsToCompletion: m.kind === 'Job' || m.kind === 'CronJob',
    });
  }
  return out;
}

type Report = (rule: string, path: Segment[], message: string) => void;

const MIN_ID = 10000;

/** The per-container rules, for a main container, a native sidecar or an ordinary init container. */
function checkContainer(w: Workload, c: any, path: Segment[], role: 'container' | 'sidecar' | 'init', report: Report): void {
  if (!isPlainObject(c)) return;
  const name = `${role === 'container' ? 'container' : role === 'sidecar' ? 'native sidecar' : 'init container'} "${c.name}"`;
  const res = isPlainObject(c.resources) ? c.resources : {};
  const requests = isPlainObject(res.requests) ? res.requests : {};
  const limits = isPlainObject(res.limits) ? res.limits : {};
  const resPath = [...path, 'resources'];

  // requests: CPU and memory
  for (const r of ['cpu', 'memory']) {
    if (requests[r] === undefined) {
      report('requests', [...resPath, 'requests', r], `${name} has no ${r} request; set resources.requests.${r} so the scheduler reserves it`);
    }
  }
  const over = (r: string, rule: string) => {
    const req = parseQuantity(requests[r]);
    const lim = parseQuantity(limits[r]);
    if (req !== undefined && lim !== undefined && req > lim) {
      report(rule, [...resPath, 'requests', r], `${name} requests ${requests[r]} ${r} but is limited to ${limits[r]}; the API server rejects a request above its limit`);
    }
  };
  over('cpu', 'requests');
  // memory-limit (a CPU limit is optional)
  if (limits.memory === undefined) {
    report('memory-limit', [...resPath, 'limits', 'memory'], `${name} has no memory limit; set resources.limits.memory so one container cannot exhaust the node`);
  }
  over('memory', 'memory-limit');
  // ephemeral-storage: request and limit
  for (const kind of ['requests', 'limits'] as const) {
    if ((kind === 'requests' ? requests : limits)['ephemeral-storage'] === undefined) {
      report('ephemeral-storage', [...resPath, kind, 'ephemeral-storage'],
        `${name} has no ephemeral-storage ${kind === 'requests' ? 'request' : 'limit'}; set resources.${kind}["ephemeral-storage"] (logs and emptyDir count against it)`);
    }
  }
  over('ephemeral-storage', 'ephemeral-storage');

  // image-tag: pinned, never latest
  const image = c.image;
  if (typeof image !== 'string' || image === '') {
    report('image-tag', [...path, 'image'], `${name} has no image; set a pinned image reference (repository:tag or @sha256 digest)`);
  } else if (!image.includes('@')) {
    const lastPart = image.slice(image.lastIndexOf('/') + 1);
    const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : undefined;
    if (tag === undefined) {
      report('image-tag', [...path, 'image'], `${name} image "${image}" has no tag, so it means :latest; pin a version tag or an @sha256 digest`);
    } else if (tag === 'latest') {
      report('image-tag', [...path, 'image'], `${name} image "${image}" uses :latest; pin a version tag or an @sha256 digest`);
    }
  }

  // readiness-probe, liveness-probe, probe-port
  const probes = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;
  if (role === 'init') {
    // The API server rejects probes on init containers that are not native sidecars.
    for (const p of probes) {
      if (c[p] !== undefined) {
        report('schema', [...path, p], `${name} is an ordinary init container (no restartPolicy: Always), and the API server rejects ${p} on it`);
      }
    }
  } else {
    const needsProbes = role === 'sidecar' || !w.runsToCompletion;
    if (needsProbes && !isPlainObject(c.readinessProbe)) {
      report('readiness-probe', [...path, 'readinessProbe'], `${name} has no readinessProbe; without one it gets traffic${role === 'sidecar' ? ' and the app starts' : ''} before it is ready`);
    }
    if (needsProbes && !isPlainObject(c.livenessProbe)) {
      report('liveness-probe', [...path, 'livenessProbe'], `${name} has no livenessProbe; a hung process is never restarted`);
    }
    if (isPlainObject(c.readinessProbe) && isPlainObject(c.livenessProbe) && jsonEqual(handlerOf(c.readinessProbe), handlerOf(c.livenessProbe))) {
      report('liveness-probe', [...path, 'livenessProbe'],
        `${name} has the same livenessProbe check as its readinessProbe; a dependency outage would restart it instead of only taking it out of rotation (e.g. /healthz for liveness, /readyz for readiness)`);
    }
    for (const p of probes) {
      if (isPlainObject(c[p])) checkProbePort(c, c[p], [...path, p], name, p, report);
    }
  }
  if (role === 'container' && c.restartPolicy !== undefined) {
    report('schema', [...path, 'restartPolicy'], `${name}: restartPolicy is allowed only on init containers (restartPolicy: Always makes a native sidecar)`);
  }

  // run-as-non-root, high-uid, read-only-root, privilege-escalation, privileged, drop-all, seccomp
  const pod = isPlainObject(w.podSpec.securityContext) ? w.podSpec.securityContext : {};
  const sc = isPlainObject(c.securityContext) ? c.securityContext : {};
  const scPath = [...path, 'securityContext'];
  const effective = (field: string) => (sc[field] !== undefined ? sc[field] : pod[field]);
  if (effective('runAsNonRoot') !== true) {
    report('run-as-non-root', [...scPath, 'runAsNonRoot'], `${name} may run as root; set runAsNonRoot: true (container or pod securityContext)`);
  }
  if (effective('runAsUser') === 0) {
    report('run-as-non-root', [...scPath, 'runAsUser'], `${name} runs as UID 0 (root); set runAsUser above ${MIN_ID}`);
  }
  for (const [field, what] of [['runAsUser', 'UID'], ['runAsGroup', 'GID']] as const) {
    const id = effective(field);
    if (typeof id !== 'number') {
      report('high-uid', [...scPath, field], `${name} sets no ${field}, so the image decides its ${what}; set ${field} above ${MIN_ID} (container or pod securityContext)`);
    } else if (id <= MIN_ID && id !== 0) {
      report('high-uid', [...scPath, field], `${name} runs with ${what} ${id}; use one above ${MIN_ID} so it cannot collide with a host user`);
    }
  }
  if (sc.readOnlyRootFilesystem !== true) {
    report('read-only-root', [...scPath, 'readOnlyRootFilesystem'], `${name} can write to its root filesystem; set readOnlyRootFilesystem: true and mount an emptyDir for temporary files`);
  }
  if (sc.allowPrivilegeEscalation !== false) {
    report('privilege-escalation', [...scPath, 'allowPrivilegeEscalation'], `${name} may gain privileges (setuid binaries); set allowPrivilegeEscalation: false`);
  }
  if (sc.privileged === true) {
    report('privileged', [...scPath, 'privileged'], `${name} is privileged (full access to the node); remove privileged: true`);
  }
  const caps = isPlainObject(sc.capabilities) ? sc.capabilities : {};
  if (!Array.isArray(caps.drop) || !caps.drop.includes('ALL')) {
    report('drop-all', [...scPath, 'capabilities', 'drop'], `${name} keeps the runtime's default Linux capabilities; set capabilities.drop: ["ALL"]`);
  }
  if (Array.isArray(caps.add)) {
    caps.add.forEach((cap: unknown, i: number) => {
      if (cap !== 'NET_BIND_SERVICE') {
        report('drop-all', [...scPath, 'capabilities', 'add', i], `${name} adds capability ${JSON.stringify(cap)}; only NET_BIND_SERVICE may be added back`);
      }
    });
  }
  const seccomp = effective('seccompProfile');
  const seccompType = isPlainObject(seccomp) ? seccomp.type : undefined;
  if (seccompType !== 'RuntimeDefault' && seccompType !== 'Localhost') {
    report('seccomp', [...scPath, 'seccompProfile', 'type'],
      `${name} ${seccompType ? `uses seccomp profile ${JSON.stringify(seccompType)}` : 'sets no seccomp profile (Unconfined by default)'}; set seccompProfile.type: RuntimeDefault (container or pod securityContext)`);
  }

  // literal-secret: secrets never as literal env values
  if (Array.isArray(c.env)) {
    c.env.forEach((e: any, i: number) => {
      if (!isPlainObject(e) || typeof e.value !== 'string') return;
      const problem = literalSecretProblem(e.name, e.value);
      if (problem) {
        report('literal-secret', [...path, 'env', i, 'value'], `${name} env ${e.name} ${problem}; use valueFrom.secretKeyRef or mount the Secret as a file`);
      }
    });
  }
}

/** The check a probe makes, without its timing. */
function handlerOf(probe: any): unknown {
  return { exec: probe.exec, httpGet: probe.httpGet, tcpSocket: probe.tcpSocket, grpc: probe.grpc };
}

/** probe-port: a probe's port is one of the container's ports, by number or by name. */
function checkProbePort(c: any, probe: any, path: Segment[], name: string, which: string, report: Report): void {
  const ports: any[] = Array.isArray(c.ports) ? c.ports : [];
  for (const handler of ['httpGet', 'tcpSocket', 'grpc']) {
    const port = probe[handler]?.port;
    if (port === undefined) continue;
    const ok = typeof port === 'number'
      ? ports.some((p) => p?.containerPort === port)
      : ports.some((p) => p?.name === port);
    if (!ok) {
      const declared = ports.map((p) => (p?.name ? `${p.containerPort} (${p.name})` : `${p?.containerPort}`)).join(', ') || 'none';
      report('probe-port', [...path, handler, 'port'],
        `${name} ${which} checks port ${JSON.stringify(port)}, which is not one of its ports (declared: ${declared}); declare it in ports or probe a declared one`);
    }
  }
}

const SECRET_WORDS = /PASSWORD|PASSWD|SECRET|TOKEN|APIKEY|CREDENTIAL|PRIVATEKEY/;
const SECRET_TOKENS = new Set(['KEY', 'PASS', 'PWD', 'AUTH', 'DSN']);
/**
 * Last words of names that point at a secret or describe it rather than hold
 * it (PGPASSWORD_FILE, TOKEN_TTL, AUTH_ENABLED, API_KEY_ID); a URL in them is
 * still checked for credentials.
 */
const POINTER_TOKENS = new Set([
  'FILE', 'FILENAME', 'PATH', 'DIR', 'NAME', 'ENV', 'VAR', 'REF', 'ID', 'KIND', 'TYPE', 'PREFIX', 'HEADER',
  'TTL', 'TIMEOUT', 'ENABLED', 'DISABLED', 'ENABLE', 'MODE', 'METHOD', 'ALGORITHM', 'SIZE', 'LENGTH', 'COUNT',
  'HOST', 'PORT', 'URL', 'URI', 'ENDPOINT', 'USER', 'USERNAME', 'ISSUER', 'AUDIENCE', 'SCOPE',
]);
const ONLY_REFERENCES = /^(\$\([A-Za-z_][A-Za-z0-9_]*\))+$/;
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:([^@\s]+)@/i;

/** Why a literal `value` for an env var or ConfigMap key is a secret in plain text, or undefined when it is not. */
export function literalSecretProblem(name: unknown, value: string): string | undefined {
  if (value === '' || ONLY_REFERENCES.test(value)) return undefined;
  const url = URL_CREDENTIALS.exec(value);
  if (url && !ONLY_REFERENCES.test(url[1])) return 'has a password inside a URL';
  if (typeof name !== 'string') return undefined;
  const tokens = name.toUpperCase().split(/[^A-Z0-9]+/).filter((t) => t !== '');
  if (tokens.length === 0 || POINTER_TOKENS.has(tokens[tokens.length - 1])) return undefined;
  const squashed = tokens.join('');
  if (SECRET_WORDS.test(squashed) || tokens.some((t) => SECRET_TOKENS.has(t))) return 'looks like a secret but has a literal value';
  return undefined;
}

/** The per-container rules for every container of a workload, then the pod-level rules and its wiring. */
export function workloadFindings(w: Workload, manifests: any[], out: Finding[]): void {
  const report: Report = (rule, path, message) => out.push({ object: w.object, path: formatPath(path), rule, message });
  const spec = w.podSpec;
  const containers: any[] = Array.isArray(spec.containers) ? spec.containers : [];
  containers.forEach((c, i) => checkContainer(w, c, [...w.specPath, 'containers', i], 'container', report));
  const inits: any[] = Array.isArray(spec.initContainers) ? spec.initContainers : [];
  inits.forEach((c, i) => checkContainer(w, c, [...w.specPath, 'initContainers', i], c?.restartPolicy === 'Always' ? 'sidecar' : 'init', report));

  // high-uid: the pod's fsGroup is a GID too
  const fsGroup = spec.securityContext?.fsGroup;
  if (typeof fsGroup === 'number' && fsGroup <= MIN_ID) {
    report('high-uid', [...w.specPath, 'securityContext', 'fsGroup'], `fsGroup ${fsGroup} is a low GID; use one above ${MIN_ID}`);
  }

  // automount-token: none, unless the pod's ServiceAccount in the output already turns it off
  if (spec.automountServiceAccountToken !== false) {
    const saName = spec.serviceAccountName ?? spec.serviceAccount ?? 'default';
    const sa = manifests.find((m) => m?.kind === 'ServiceAccount' && m.metadata?.name === saName && namespaceOf(m) === w.namespace);
    if (spec.automountServiceAccountToken === true || sa?.automountServiceAccountToken !== false) {
      report('automount-token', [...w.specPath, 'automountServiceAccountToken'],
        'the pod mounts a service account token it does not need; set automountServiceAccountToken: false');
    }
  }

  if (spec.terminationGracePeriodSeconds === 0) {
    report('grace-period', [...w.specPath, 'terminationGracePeriodSeconds'],
      'terminationGracePeriodSeconds: 0 kills the pod without SIGTERM handling (in-flight writes and the cache flush are lost); allow time to drain');
  }

  // spread: replicas across nodes
  if (w.multiReplica && !spreads(spec, w.labels)) {
    report('spread', [...w.specPath, 'topologySpreadConstraints'],
      `${w.replicas} replicas without pod anti-affinity or a topology spread constraint that selects these pods can all land on one node; add one that selects the pod labels`);
  }

  // network-policy: one selects every pod
  const policed = manifests.some((m) => m?.kind === 'NetworkPolicy' && namespaceOf(m) === w.namespace && labelSelectorMatches(m.spec?.podSelector, w.labels));
  if (!policed) {
    report('network-policy', w.labelsPath, 'no NetworkPolicy in the output selects these pods, so all traffic is allowed; add one whose podSelector matches the pod labels');
  }

  // selectors match template labels
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(w.kind) || (w.kind === 'Job' && w.manifest.spec.selector !== undefined)) {
    const sel = w.manifest.spec.selector;
    const empty = !isPlainObject(sel) || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
    if (empty) {
      report('selector-labels', ['spec', 'selector'], `${w.kind} needs a non-empty spec.selector that matches spec.template.metadata.labels`);
    } else if (!labelSelectorMatches(sel, w.labels)) {
      report('selector-labels', ['spec', 'selector'], `spec.selector ${JSON.stringify(sel)} does not match the template labels ${JSON.stringify(w.labels ?? {})}; the API server rejects it`);
    }
  }

  // a StatefulSet's serviceName names a headless Service in the output that selects its pods
  if (w.kind === 'StatefulSet') {
    const serviceName = w.manifest.spec.serviceName;
    const svc = typeof serviceName === 'string'
      ? manifests.find((m) => m?.kind === 'Service' && m.metadata?.name === serviceName && namespaceOf(m) === w.namespace)
      : undefined;
    if (typeof serviceName !== 'string' || serviceName === '') {
      report('headless-service', ['spec', 'serviceName'], 'a StatefulSet needs spec.serviceName naming its headless Service (it gives each pod a stable DNS name)');
    } else if (!svc) {
      report('headless-service', ['spec', 'serviceName'], `serviceName "${serviceName}" names no Service in the output; add a headless Service (clusterIP: None) with that name`);
    } else if (svc.spec?.clusterIP !== 'None') {
      report('headless-service', ['spec', 'serviceName'], `Service "${serviceName}" is not headless (clusterIP is ${JSON.stringify(svc.spec?.clusterIP)}); set clusterIP: None so pods get stable DNS names`);
    } else if (!mapSelectorMatches(svc.spec?.selector, w.labels)) {
      report('headless-service', ['spec', 'serviceName'], `headless Service "${serviceName}" does not select this StatefulSet's pods; its selector must match the pod labels`);
    }
  }
}

/** spread: anti-affinity or topology spread whose selector matches the pod's own labels. */
function spreads(spec: any, labels: Record<string, string> | undefined): boolean {
  const anti = spec.affinity?.podAntiAffinity;
  const terms = [
    ...(anti?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p: any) => p?.podAffinityTerm),
  ];
  if (terms.some((t) => labelSelectorMatches(t?.labelSelector, labels))) return true;
  const tsc: any[] = Array.isArray(spec.topologySpreadConstraints) ? spec.topologySpreadConstraints : [];
  return tsc.some((t) => labelSelectorMatches(t?.labelSelector, labels));
}

/** Percent or integer -> pods, rounding up like the disruption controller. */
function scaled(value: unknown, replicas: number): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+%$/.test(value)) return Math.ceil((Number(value.slice(0, -1)) * replicas) / 100);
  return undefined;
}

/** pdb, pdb-disruptions, PDBs and Services that select nothing, named target ports, and Secrets / ConfigMaps with literal secrets. */
export function outputFindings(manifests: any[], all: Workload[], out: Finding[]): void {
  const pdbs = manifests.filter((m) => m?.kind === 'PodDisruptionBudget' && isPlainObject(m.spec));
  const selectedBy = (pdb: any) => all.filter((w) => namespaceOf(pdb) === w.namespace && labelSelectorMatches(pdb.spec.selector, w.labels));

  // pdb: one for every multi-replica workload
  for (const w of all.filter((x) => x.multiReplica)) {
    if (!pdbs.some((p) => namespaceOf(p) === w.namespace && labelSelectorMatches(p.spec.selector, w.labels))) {
      out.push({
        object: w.object,
        path: formatPath(w.labelsPath),
        rule: 'pdb',
        message: `${w.replicas} replicas and no PodDisruptionBudget in the output selects these pods; a node drain can take them all down at once`,
      });
    }
  }

  for (const pdb of pdbs) {
    const object = objectId(pdb);
    const selected = selectedBy(pdb);
    if (selected.length === 0) {
      out.push({ object, path: 'spec.selector', rule: 'selects-nothing', message: 'this PodDisruptionBudget selects no pod template in the output; its selector must match a workload\'s pod labels' });
      continue;
    }
    // pdb-disruptions: allows disruptions and sets unhealthyPodEvictionPolicy
    const replicas = selected.reduce((n, w) => n + w.replicas, 0);
    const { maxUnavailable, minAvailable } = pdb.spec;
    if (maxUnavailable !== undefined) {
      const n = scaled(maxUnavailable, replicas);
      if (n !== undefined && n < 1) {
        out.push({ object, path: 'spec.maxUnavailable', rule: 'pdb-disruptions', message: `maxUnavailable ${JSON.stringify(maxUnavailable)} allows no voluntary disruption, so node drains block forever; allow at least 1` });
      }
    } else if (minAvailable !== undefined) {
      const n = scaled(minAvailable, replicas);
      if (n !== undefined && n >= replicas) {
        out.push({ object, path: 'spec.minAvailable', rule: 'pdb-disruptions', message: `minAvailable ${JSON.stringify(minAvailable)} of ${replicas} selected pods allows no voluntary disruption, so node drains block forever; require fewer than ${replicas}` });
      }
    } else {
      out.push({ object, path: 'spec.maxUnavailable', rule: 'pdb-disruptions', message: 'sets neither maxUnavailable nor minAvailable; set maxUnavailable: 1' });
    }
    if (pdb.spec.unhealthyPodEvictionPolicy === undefined) {
      out.push({ object, path: 'spec.unhealthyPodEvictionPolicy', rule: 'pdb-disruptions', message: 'sets no unhealthyPodEvictionPolicy, so a crash-looping pod blocks node drains; set AlwaysAllow' });
    }
  }

  for (const m of manifests) {
    if (!isPlainObject(m)) continue;
    const object = objectId(m);
    // every Service with a selector selects some pod template in the output
    if (m.kind === 'Service' && isPlainObject(m.spec?.selector) && Object.keys(m.spec.selector).length > 0 && m.spec.type !== 'ExternalName') {
      const selected = all.filter((w) => w.namespace === namespaceOf(m) && mapSelectorMatches(m.spec.selector, w.labels));
      if (selected.length === 0) {
        out.push({ object, path: 'spec.selector', rule: 'selects-nothing', message: `selector ${JSON.stringify(m.spec.selector)} selects no pod template in the output, so the Service has no endpoints` });
      }
      // a named targetPort must be a port name of the pods it selects
      const named = new Set(selected.flatMap((w) => [...(w.podSpec.containers ?? []), ...(w.podSpec.initContainers ?? [])])
        .flatMap((c: any) => (Array.isArray(c?.ports) ? c.ports : []).map((p: any) => p?.name)));
      (Array.isArray(m.spec.ports) ? m.spec.ports : []).forEach((p: any, i: number) => {
        if (selected.length > 0 && typeof p?.targetPort === 'string' && !named.has(p.targetPort)) {
          out.push({
            object,
            path: formatPath(['spec', 'ports', i, 'targetPort']),
            rule: 'target-port',
            message: `targetPort "${p.targetPort}" is not a port name of the pods this Service selects (names: ${[...named].filter(Boolean).join(', ') || 'none'}); name the container port or use its number`,
          });
        }
      });
    }
    // literal-secret: none in the output
    if (m.kind === 'Secret') {
      for (const field of ['data', 'stringData']) {
        if (!isPlainObject(m[field])) continue;
        for (const key of Object.keys(m[field])) {
          out.push({
            object,
            path: formatPath([field, key]),
            rule: 'literal-secret',
            message: `the Secret carries a literal value for "${key}" in the manifest; reference an existing Secret or an ExternalSecret instead`,
          });
        }
      }
    }
    if (m.kind === 'ConfigMap' && isPlainObject(m.data)) {
      for (const [key, value] of Object.entries(m.data)) {
        const problem = typeof value === 'string' ? literalSecretProblem(key, value) : undefined;
        if (problem) {
          out.push({ object, path: formatPath(['data', key]), rule: 'literal-secret', message: `ConfigMap key "${key}" ${problem}; keep secrets in a Secret` });
        }
      }
    }
  }
}

/**
 * The manifest checks every construct test and the examples test run on
 * everything they synthesise. Each finding names the object (`Kind/name`),
 * the field path and a stable rule id:
 *
 * - `schema`: kubernetes-models (OpenAPI) validation; custom resources
 *   against @kubernetes-models/prometheus-operator (PodMonitor,
 *   ServiceMonitor, PrometheusRule) and @kubernetes-models/external-secrets
 *   (ExternalSecret v1) where they have the kind, and the basic shape of
 *   every custom resource; apiVersions 1.28 (or the operator) does not serve.
 * - `unknown-field`: any field, at any depth, that the Kubernetes 1.28 API
 *   does not have (typos, misplaced fields, fields added after 1.28).
 * - `removed-volume`, `intree-provisioner`: in-tree storage removed or
 *   deprecated by 1.28, with the CSI driver to use instead.
 * - the 20 policy rules, per container (init containers and native sidecars
 *   too): `requests`, `memory-limit`, `ephemeral-storage`, `image-tag`,
 *   `readiness-probe`, `liveness-probe`, `probe-port`, `run-as-non-root`,
 *   `high-uid`, `read-only-root`, `privilege-escalation`, `privileged`,
 *   `drop-all`, `seccomp`; per pod: `automount-token`, `spread`,
 *   `network-policy`, `grace-period`; per output: `pdb`, `pdb-disruptions`,
 *   `literal-secret`.
 * - wiring: `selector-labels`, `headless-service`, `selects-nothing`,
 *   `target-port` (a Service's named targetPort is a port of its pods);
 *   for a PodMonitor or ServiceMonitor: `selects-nothing`, `target-port`
 *   (the scraped port exists) and `scrape-blocked` (a NetworkPolicy selecting
 *   the pods drops the scrape).
 *
 * Probes are not required on the main containers of Jobs and CronJobs (they
 * run to completion); PDBs and spreading apply to replicated controllers
 * (Deployment, StatefulSet, ReplicaSet) with more than one replica.
 */
import { Chart, Testing } from 'cdk8s';
import { isBuiltInGroup, propsTypeOf, unknownFields, OBJECT_META } from './manifest-checks/field-tree';
import { monitoringFindings } from './manifest-checks/monitoring';
import { outputFindings, workloadFindings, workloads } from './manifest-checks/policy';
import { customResourceShape, schemaFindings } from './manifest-checks/schema';
import { provisionerFindings, removedVolumeFindings } from './manifest-checks/storage';
import { Finding, isPlainObject, objectId } from './manifest-checks/util';

export type { Finding } from './manifest-checks/util';

/** Every rule id a finding can carry. */
export const RULES: readonly string[] = [
  'schema', 'unknown-field', 'removed-volume', 'intree-provisioner',
  'requests', 'memory-limit', 'ephemeral-storage', 'image-tag', 'readiness-probe', 'liveness-probe', 'probe-port',
  'run-as-non-root', 'high-uid', 'read-only-root', 'privilege-escalation', 'privileged', 'drop-all', 'seccomp',
  'automount-token', 'pdb', 'pdb-disruptions', 'spread', 'network-policy', 'literal-secret',
  'selector-labels', 'headless-service', 'selects-nothing', 'target-port', 'grace-period', 'scrape-blocked',
];

/** What a caller deliberately opts out of. */
export interface CheckOptions {
  /**
   * Rules to skip, each either a rule id (`'literal-secret'`) for the whole
   * output, or a rule id for one object (`'literal-secret:Secret/dev-creds'`).
   * For tests of a documented user opt-out only; never to make a default pass.
   * @default - every rule applies
   */
  readonly skip?: string[];
}

/** Every problem found in a list of manifests (plain objects, as synthesised). */
export function checkManifests(manifests: any[], options: CheckOptions = {}): Finding[] {
  const skip = new Set(options.skip ?? []);
  for (const s of skip) {
    if (!RULES.includes(s.split(':')[0])) {
      throw new Error(`manifest checks: cannot skip "${s}": no rule "${s.split(':')[0]}" (rules: ${RULES.join(', ')})`);
    }
  }
  const findings: Finding[] = [];
  const objects: any[] = [];
  manifests.forEach((m, i) => {
    if (!isPlainObject(m) || typeof m.apiVersion !== 'string' || typeof m.kind !== 'string' || m.apiVersion === '' || m.kind === '') {
      findings.push({ object: `?[${i}]`, path: '', rule: 'schema', message: `manifest ${i} is not a Kubernetes object (it needs string apiVersion and kind): ${JSON.stringify(m)?.slice(0, 80)}` });
      return;
    }
    // An object 1.28 does not serve cannot take part in the wiring (a policy/v1beta1 PDB protects nothing).
    if (checkObject(m, findings)) objects.push(m);
  });

  const all = workloads(objects);
  for (const w of all) {
    for (const [i, v] of (Array.isArray(w.podSpec.volumes) ? w.podSpec.volumes : []).entries()) {
      removedVolumeFindings(w.object, v, [...w.specPath, 'volumes', i], findings);
    }
    workloadFindings(w, objects, findings);
  }
  outputFindings(objects, all, findings);
  monitoringFindings(objects, all, findings);

  return skip.size === 0 ? findings : findings.filter((f) => !skip.has(f.rule) && !skip.has(`${f.rule}:${f.object}`));
}

/** Checks of one object on its own: schema, unknown fields, storage. False when Kubernetes 1.28 does not serve it. */
function checkObject(m: any, findings: Finding[]): boolean {
  const object = objectId(m);
  const props = propsTypeOf(m.apiVersion, m.kind);
  if (!props) {
    if (isBuiltInGroup(m.apiVersion)) {
      findings.push({ object, path: 'apiVersion', rule: 'schema', message: `Kubernetes 1.28 does not serve kind ${m.kind} in ${m.apiVersion} (removed, misspelt or newer than 1.28)` });
      return false;
    }
    const shape = customResourceShape(object, m);
    findings.push(...shape.findings);
    if (shape.served) findings.push(...(schemaFindings(object, m) ?? []));
    if (isPlainObject(m.metadata)) unknownFields(object, m.metadata, OBJECT_META, ['metadata'], findings);
    return true;
  }
  findings.push(...(schemaFindings(object, m) ?? []));
  // The props types list everything but the type meta; status is server-written and ignored on apply.
  const { apiVersion: _a, kind: _k, status: _s, ...rest } = m;
  unknownFields(object, rest, props, [], findings);

  if (m.kind === 'PersistentVolume' && isPlainObject(m.spec)) removedVolumeFindings(object, m.spec, ['spec'], findings);
  if (m.kind === 'StorageClass') provisionerFindings(object, m, findings);
  return true;
}

/** Synthesises a chart and fails the test listing every finding. Returns the manifests. */
export function synthAndCheck(chart: Chart, options?: CheckOptions): any[] {
  const manifests = Testing.synth(chart);
  expectNoFindings(manifests, options);
  return manifests;
}

/** Fails the test listing every finding (object, path, rule, message), one per line. */
export function expectNoFindings(manifests: any[], options?: CheckOptions): void {
  const findings = checkManifests(manifests, options);
  if (findings.length > 0) {
    throw new Error(`manifest checks found ${findings.length} problem(s):\n` +
      findings.map((f) => `  ${f.object} ${f.path} [${f.rule}] ${f.message}`).join('\n'));
  }
}

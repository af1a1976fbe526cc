/**
 * The wiring of Prometheus Operator scrape objects: a PodMonitor or
 * ServiceMonitor selects pods in the output, the port it scrapes is one of
 * theirs, and the NetworkPolicies that select those pods admit the scrape.
 */
import { Workload } from './policy';
import { Finding, formatPath, isPlainObject, labelSelectorMatches, mapSelectorMatches, namespaceOf, objectId } from './util';

const MONITORING = 'monitoring.coreos.com/v1';

/** A container port of a pod template: its number and name. */
interface PodPort {
  readonly number: number;
  readonly name?: string;
}

function podPorts(w: Workload): PodPort[] {
  return [...(w.podSpec.containers ?? []), ...(w.podSpec.initContainers ?? [])]
    .flatMap((c: any) => (Array.isArray(c?.ports) ? c.ports : []))
    .filter((p: any) => typeof p?.containerPort === 'number')
    .map((p: any) => ({ number: p.containerPort, name: typeof p.name === 'string' ? p.name : undefined }));
}

/** The namespaces a monitor looks in: its own, unless its namespaceSelector says otherwise (`any` = every one). */
function inNamespaces(monitor: any, namespace: string): boolean {
  const sel = monitor.spec?.namespaceSelector;
  if (sel?.any === true) return true;
  if (Array.isArray(sel?.matchNames) && sel.matchNames.length > 0) return sel.matchNames.includes(namespace);
  return namespace === namespaceOf(monitor);
}

/** Whether one NetworkPolicy port entry covers a TCP container port. */
function portAdmits(entry: any, port: PodPort): boolean {
  if ((entry?.protocol ?? 'TCP') !== 'TCP') return false;
  const p = entry?.port;
  if (p === undefined) return true;
  if (typeof p === 'number') {
    const end = typeof entry.endPort === 'number' ? entry.endPort : p;
    return port.number >= p && port.number <= end;
  }
  return typeof p === 'string' && p === port.name;
}

/**
 * Whether the NetworkPolicies of the output let a scraper reach `port` of the
 * workload's pods: true when none selects them for ingress, or one of those
 * has a rule covering the port from some peer.
 */
function ingressAdmits(manifests: any[], w: Workload, port: PodPort): boolean {
  const policies = manifests.filter((m) => m?.kind === 'NetworkPolicy' && namespaceOf(m) === w.namespace
    && labelSelectorMatches(m.spec?.podSelector, w.labels)
    && (Array.isArray(m.spec?.policyTypes) ? m.spec.policyTypes.includes('Ingress') : true));
  if (policies.length === 0) return true;
  return policies.some((np) => (Array.isArray(np.spec.ingress) ? np.spec.ingress : []).some((rule: any) => {
    const ports: any[] = Array.isArray(rule?.ports) ? rule.ports : [];
    return ports.length === 0 || ports.some((e) => portAdmits(e, port));
  }));
}

function describePort(port: PodPort): string {
  return port.name ? `${port.number} (${port.name})` : `${port.number}`;
}

/** selects-nothing, target-port and scrape-blocked for every PodMonitor and ServiceMonitor in the output. */
export function monitoringFindings(manifests: any[], all: Workload[], out: Finding[]): void {
  for (const m of manifests) {
    if (!isPlainObject(m) || m.apiVersion !== MONITORING || !isPlainObject(m.spec)) continue;
    const object = objectId(m);
    const report = (rule: string, path: (string | number)[], message: string) => out.push({ object, path: formatPath(path), rule, message });

    if (m.kind === 'PodMonitor') {
      const pods = all.filter((w) => inNamespaces(m, w.namespace) && labelSelectorMatches(m.spec.selector, w.labels));
      if (pods.length === 0) {
        report('selects-nothing', ['spec', 'selector'], 'this PodMonitor selects no pod template in the output, so nothing is scraped; its selector must match the pod labels');
        continue;
      }
      (Array.isArray(m.spec.podMetricsEndpoints) ? m.spec.podMetricsEndpoints : []).forEach((e: any, i: number) => {
        const path = ['spec', 'podMetricsEndpoints', i];
        for (const w of pods) {
          const port = podPorts(w).find((p) => (typeof e?.port === 'string' ? p.name === e.port : p.number === e?.portNumber));
          if (!port) {
            report('target-port', [...path, e?.port !== undefined ? 'port' : 'portNumber'],
              `port ${JSON.stringify(e?.port ?? e?.portNumber)} is not a container port of ${w.object} (ports: ${podPorts(w).map(describePort).join(', ') || 'none'})`);
          } else if (!ingressAdmits(manifests, w, port)) {
            report('scrape-blocked', path, `the NetworkPolicies selecting the pods of ${w.object} admit no one to port ${describePort(port)}, so every scrape is dropped; add an ingress rule from the Prometheus pods (metricsFrom)`);
          }
        }
      });
    } else if (m.kind === 'ServiceMonitor') {
      const services = manifests.filter((s) => s?.kind === 'Service' && inNamespaces(m, namespaceOf(s))
        && labelSelectorMatches(m.spec.selector, s.metadata?.labels));
      if (services.length === 0) {
        report('selects-nothing', ['spec', 'selector'], 'this ServiceMonitor selects no Service in the output (by the Services\' own labels), so nothing is scraped');
        continue;
      }
      (Array.isArray(m.spec.endpoints) ? m.spec.endpoints : []).forEach((e: any, i: number) => {
        const path = ['spec', 'endpoints', i];
        for (const svc of services) {
          const sp = (Array.isArray(svc.spec?.ports) ? svc.spec.ports : []).find((p: any) => (typeof e?.port === 'string' ? p?.name === e.port : p?.port === e?.targetPort));
          if (!sp) {
            report('target-port', [...path, 'port'], `port ${JSON.stringify(e?.port)} is not a port name of Service/${svc.metadata?.name}`);
            continue;
          }
          const target = sp.targetPort ?? sp.port;
          for (const w of all.filter((x) => x.namespace === namespaceOf(svc) && mapSelectorMatches(svc.spec?.selector, x.labels))) {
            const port = podPorts(w).find((p) => (typeof target === 'number' ? p.number === target : p.name === target));
            if (port && !ingressAdmits(manifests, w, port)) {
              report('scrape-blocked', path, `the NetworkPolicies selecting the pods of ${w.object} admit no one to port ${describePort(port)}, so every scrape through Service/${svc.metadata?.name} is dropped; add an ingress rule from the Prometheus pods (metricsFrom)`);
            }
          }
        }
      });
    }
  }
}

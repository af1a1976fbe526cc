import { createHash } from 'node:crypto';
import { ApiObject, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { HTTP_PORT } from './_cache-pod';
import type { StateCacheConfig } from './_runtime-config';
import { PROMETHEUS_METRICS as P, STATE_CACHE_METRICS as M } from './_state-cache-metrics';
import { fail, validateDnsLabel } from './_validation';
import { CacheMonitoring } from './monitoring';

/*
 * The Prometheus Operator objects (PodMonitor / ServiceMonitor,
 * PrometheusRule) and the Grafana dashboard ConfigMap that CachedApp and
 * ExternalCacheCluster emit with `monitoring`. Every metric name comes from
 * _state-cache-metrics.ts.
 */

/** The Prometheus Operator's API version. */
export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';
/** The label the scrape sets on every series of one cache, which the alerts and the dashboard select. */
export const TARGET_LABEL = 'state_cache';
/** The label the Grafana sidecar looks for on dashboard ConfigMaps. */
export const DASHBOARD_LABEL = 'grafana_dashboard';
/** The name of the cache's HTTP container port (and of the metrics Service's port). */
const HTTP_PORT_NAME = 'http';

const MIN_INTERVAL = 5;
const MAX_INTERVAL = 60;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Prometheus label names (alert labels become labels of the alert's series). */
const PROMETHEUS_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_ALERT_LABELS = ['severity', 'alertname', TARGET_LABEL, 'namespace', 'pod'];

/** What the monitoring objects need to know about the cache. */
export interface MonitoredCache {
  /** `sidecar` (CachedApp: PodMonitor) or `cluster` (ExternalCacheCluster: ServiceMonitor). */
  readonly kind: 'sidecar' | 'cluster';
  /** The value of the `state_cache` label and the base of the objects' names. */
  readonly name: string;
  readonly namespace?: string;
  /** The pods running state-cache. */
  readonly workload: kplus.Workload;
  /** The state-cache config, as in its ConfigMap. */
  readonly config: StateCacheConfig;
  readonly replicas: number;
  /** The preload time budget the startup probe allows for (plus a minute). */
  readonly startupBudget: Duration;
  /** Who the NetworkPolicy admits to the HTTP port. */
  readonly metricsFrom?: kplus.INetworkPolicyPeer[];
}

/** What `addMonitoring` created. */
export interface MonitoringObjects {
  readonly podMonitor?: ApiObject;
  readonly serviceMonitor?: ApiObject;
  readonly metricsService?: kplus.Service;
  readonly prometheusRule?: ApiObject;
  readonly dashboard?: kplus.ConfigMap;
}

/** Checks the options and emits the objects they turn on, under a `Monitoring` construct of `scope`. */
export function addMonitoring(scope: Construct, options: CacheMonitoring, cache: MonitoredCache): MonitoringObjects {
  const scrape = options.scrape ?? true;
  const rules = options.rules ?? true;
  const dashboard = options.dashboard ?? true;
  const labels = { ...(options.labels ?? {}) };
  validateLabels(scope, 'monitoring.labels', labels);
  const alertLabels = { ...(options.alertLabels ?? {}) };
  validateAlertLabels(scope, alertLabels);
  const interval = scrapeIntervalSeconds(scope, options.scrapeInterval);
  if (!scrape && !rules && !dashboard) {
    fail(scope, 'monitoring turns nothing on (scrape, rules and dashboard are all false)',
      'Leave monitoring out, or turn on at least one of scrape, rules and dashboard');
  }
  if (scrape && (cache.metricsFrom ?? []).length === 0) {
    fail(scope, `monitoring.scrape is on, but metricsFrom admits no one to the metrics port ${HTTP_PORT}, so the NetworkPolicy would drop every scrape`,
      'Give metricsFrom the Prometheus pods, e.g. [kplus.Pods.select(this, \'Prometheus\', { labels: { \'app.kubernetes.io/name\': \'prometheus\' }, namespaces: kplus.Namespaces.select(this, \'Monitoring\', { names: [\'monitoring\'] }) })], or set monitoring.scrape: false');
  }
  if (options.dashboardNamespace !== undefined) validateDnsLabel(scope, 'monitoring.dashboardNamespace', options.dashboardNamespace);

  const m = new Construct(scope, 'Monitoring');
  const metadata = (name: string, extra: { [key: string]: string } = {}) => ({
    name,
    namespace: cache.namespace,
    labels: { ...objectLabels(cache), ...extra, ...labels },
  });
  const out: { -readonly [K in keyof MonitoringObjects]: MonitoringObjects[K] } = {};

  if (scrape) {
    const endpoint = {
      port: HTTP_PORT_NAME,
      path: '/metrics',
      interval: `${interval}s`,
      scrapeTimeout: `${Math.min(interval, 10)}s`,
      relabelings: [
        // In a CachedApp's pods the app may have a port named "http" too.
        ...(cache.kind === 'sidecar' ? [{ action: 'keep', sourceLabels: ['__meta_kubernetes_pod_container_name'], regex: 'state-cache' }] : []),
        { action: 'replace', sourceLabels: ['__meta_kubernetes_namespace'], targetLabel: 'namespace' },
        { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod' },
        { action: 'replace', targetLabel: TARGET_LABEL, replacement: cache.name },
      ],
    };
    if (cache.kind === 'sidecar') {
      out.podMonitor = new ApiObject(m, 'PodMonitor', {
        apiVersion: MONITORING_API_VERSION,
        kind: 'PodMonitor',
        metadata: metadata(`${cache.name}-cache`),
        spec: {
          selector: { matchLabels: { ...cache.workload.matchLabels } },
          podMetricsEndpoints: [endpoint],
        },
      });
    } else {
      const serviceLabels = {
        'app.kubernetes.io/name': 'state-cache',
        'app.kubernetes.io/instance': cache.name,
        'app.kubernetes.io/component': 'metrics',
      };
      // A Service of its own, so that the client Service exposes only RESP.
      out.metricsService = new kplus.Service(m, 'MetricsService', {
        metadata: { name: `${cache.name}-metrics`, namespace: cache.namespace, labels: serviceLabels },
        clusterIP: 'None',
        // Pods that are not ready are scraped too: that is when their metrics matter.
        publishNotReadyAddresses: true,
        selector: cache.workload,
        ports: [{ name: HTTP_PORT_NAME, port: HTTP_PORT, targetPort: HTTP_PORT }],
      });
      out.serviceMonitor = new ApiObject(m, 'ServiceMonitor', {
        apiVersion: MONITORING_API_VERSION,
        kind: 'ServiceMonitor',
        metadata: metadata(cache.name),
        spec: {
          selector: { matchLabels: serviceLabels },
          endpoints: [endpoint],
        },
      });
    }
  }

  if (rules) {
    out.prometheusRule = new ApiObject(m, 'PrometheusRule', {
      apiVersion: MONITORING_API_VERSION,
      kind: 'PrometheusRule',
      metadata: metadata(cache.kind === 'sidecar' ? `${cache.name}-cache` : cache.name),
      spec: { groups: [{ name: `state-cache.${cache.name}`, rules: alertRules(cache, alertLabels) }] },
    });
  }

  if (dashboard) {
    const namespace = options.dashboardNamespace ?? cache.namespace;
    out.dashboard = new kplus.ConfigMap(m, 'Dashboard', {
      metadata: {
        name: `${cache.name}-state-cache-dashboard`,
        namespace,
        labels: { ...objectLabels(cache), [DASHBOARD_LABEL]: '1', ...labels },
      },
      data: { [`state-cache-${cache.name}.json`]: JSON.stringify(grafanaDashboard(cache), null, 2) },
    });
  }
  return out;
}

function objectLabels(cache: MonitoredCache): { [key: string]: string } {
  return { 'app.kubernetes.io/name': 'state-cache', 'app.kubernetes.io/instance': cache.name };
}

/** Kubernetes label keys and values. */
function validateLabels(scope: Construct, what: string, labels: { [key: string]: string }): void {
  for (const [key, value] of Object.entries(labels)) {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix));
    if (!prefixOk || name.length > 63 || !LABEL_NAME.test(name)) {
      fail(scope, `${what} key "${key}" is not a valid label key`,
        'Use an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (e.g. "release")');
    }
    if (typeof value !== 'string' || value.length > 63 || (value !== '' && !LABEL_NAME.test(value))) {
      fail(scope, `${what}["${key}"] value ${JSON.stringify(value)} is not a valid label value`,
        'Use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or an empty string)');
    }
  }
}

function validateAlertLabels(scope: Construct, labels: { [key: string]: string }): void {
  for (const [key, value] of Object.entries(labels)) {
    if (!PROMETHEUS_LABEL.test(key) || key.startsWith('__')) {
      fail(scope, `monitoring.alertLabels key "${key}" is not a Prometheus label name`,
        'Use letters, digits and "_", not starting with a digit or "__" (e.g. "team")');
    }
    if (RESERVED_ALERT_LABELS.includes(key)) {
      fail(scope, `monitoring.alertLabels sets "${key}", which the alerts set themselves`,
        `Use another label name; ${RESERVED_ALERT_LABELS.map((l) => `"${l}"`).join(', ')} are set by each alert and its series`);
    }
    if (typeof value !== 'string') {
      fail(scope, `monitoring.alertLabels["${key}"] value ${JSON.stringify(value)} is not a string`, 'Give a string value');
    }
  }
}

function scrapeIntervalSeconds(scope: Construct, interval: Duration | undefined): number {
  if (interval === undefined) return 30;
  const ms = interval.toMilliseconds();
  if (!Number.isInteger(ms / 1000) || ms < MIN_INTERVAL * 1000 || ms > MAX_INTERVAL * 1000) {
    fail(scope, `monitoring.scrapeInterval ${ms}ms is not a whole number of seconds from ${MIN_INTERVAL}s to ${MAX_INTERVAL}s`,
      'The alerts take rates over 5 minutes, which needs several scrapes in that window: use e.g. Duration.seconds(30)');
  }
  return ms / 1000;
}

/** `150` -> `2m30s`, a Prometheus duration. */
export function promDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m > 0 ? `${m}m` : ''}${s > 0 || m === 0 ? `${s}s` : ''}`;
}

/** The label matchers that select one cache's series. */
function selector(cache: MonitoredCache): string {
  const matchers = [...(cache.namespace ? [`namespace="${cache.namespace}"`] : []), `${TARGET_LABEL}="${cache.name}"`];
  return `{${matchers.join(',')}}`;
}

interface Persistence {
  readonly writeBehind: boolean;
  readonly requiredStores: boolean;
  readonly anyStore: boolean;
  readonly passivation: boolean;
}

function persistenceOf(config: StateCacheConfig): Persistence {
  const chain = config.stores?.chain ?? [];
  return {
    writeBehind: config.persistence?.mode === 'write-behind',
    requiredStores: chain.some((l) => l.mode === 'required'),
    anyStore: chain.length > 0,
    passivation: config.persistence?.passivation?.enabled === true,
  };
}

/** One alerting rule of a PrometheusRule. */
interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { [key: string]: string };
  readonly annotations: { summary: string; description: string; runbook: string };
}

/** The alerts for one cache; runbook text in the `runbook` annotation. */
export function alertRules(cache: MonitoredCache, alertLabels: { [key: string]: string } = {}): AlertRule[] {
  const sel = selector(cache);
  const p = persistenceOf(cache.config);
  const where = '{{ $labels.namespace }}/{{ $labels.pod }}';
  const logs = `kubectl logs -n {{ $labels.namespace }} {{ $labels.pod }}${cache.kind === 'sidecar' ? ' -c state-cache' : ''}`;
  const rule = (alert: string, severity: 'critical' | 'warning' | 'info', expr: string, forSeconds: number | undefined,
    annotations: AlertRule['annotations']): AlertRule => ({
    alert,
    expr,
    ...(forSeconds !== undefined ? { for: promDuration(forSeconds) } : {}),
    labels: { severity, ...alertLabels },
    annotations,
  });
  const budget = Math.ceil(cache.startupBudget.toSeconds());
  const out: AlertRule[] = [];

  if (p.writeBehind) {
    out.push(rule('StateCacheWriteBehindQueueFilling', 'warning',
      `(${M.pendingWrites}${sel} / ${M.pendingWritesLimit}${sel} > 0.8) or (${M.pendingBytes}${sel} / ${M.pendingBytesLimit}${sel} > 0.8)`, 300, {
        summary: 'state-cache write-behind queue for store {{ $labels.store }} is over 80% of its bound',
        description: `The write-behind queue of ${where} for store {{ $labels.store }} has been above 80% of its bound (writeBehind maxPendingEntries / maxPendingBytes) for 5 minutes: {{ $value | humanizePercentage }}. When it is full, writes wait or are refused with QUEUEFULL (writeBehind whenFull).`,
        runbook: '1. Is the store failing? See StateCacheStoreUnavailable and the dashboard\'s store errors (state_cache_persistence_store_errors_total). '
          + '2. Is it slow? The dashboard\'s flush latency (state_cache_persistence_flush_duration_seconds): give the store more capacity, or raise writeBehind batchSize so each round trip carries more. '
          + '3. Do writes simply outpace it? Raise writeBehind maxPendingEntries / maxPendingBytes (and the cache\'s memory), or scale the store. '
          + 'Nothing is lost while the queue drains; with a journal, acknowledged writes also survive a restart.',
      }));
    out.push(rule('StateCacheDeadLetters', 'critical', `increase(${M.deadLettered}${sel}[10m]) > 0`, undefined, {
      summary: 'state-cache dead-lettered writes for store {{ $labels.store }}',
      description: `${where} wrote {{ $value | humanize }} entries to its dead-letter file in the last 10 minutes instead of store {{ $labels.store }}: they exhausted their retries, or the store refused them. The store does not have these writes.`,
      runbook: `1. ${logs}: the ERROR logs name the keys and the store's error. `
        + '2. Fix the cause (store credentials, schema or constraints, capacity). '
        + '3. Replay the entries from the dead-letter file (writeBehind deadLetterPath, on the pod\'s data volume; one JSON object per line, base64 key and value) into the store before that volume goes away: memory still has them only until they are evicted or the pod stops. See docs/persistence.md.',
    }));
  }
  if (p.requiredStores) {
    out.push(rule('StateCacheStoreUnavailable', 'critical', `${M.storeUp}${sel} == 0`, 60, {
      summary: 'state-cache cannot reach its store {{ $labels.store }}',
      description: `${where} has not reached its store {{ $labels.store }} for 1 minute. The pod stays Ready and serves from memory; loads of keys not in memory fail with STOREUNAVAILABLE, write-through writes fail with STOREUNAVAILABLE, write-behind writes queue up to the queue's bound.`,
      runbook: '1. Reach the store from the pod\'s network: the NetworkPolicy egress (egressCidrs of the ExternalDatabase), DNS, TLS. '
        + '2. Check the store\'s credentials Secret and the store itself. '
        + '3. state_cache_persistence_store_errors_total{kind} on the dashboard tells unavailable from rejected.',
    }));
  }
  out.push(rule('StateCacheOutOfMemory', 'critical', `increase(${M.oomErrors}${sel}[5m]) > 0`, undefined, {
    summary: 'state-cache refuses writes: its memory is full',
    description: `${where} refused {{ $value | humanize }} writes with the OOM error in the last 5 minutes: its keyspace is at its byte budget with eviction noeviction${p.passivation ? ', or (passivation) it could not evict entries its store does not have yet' : ''}.`,
    runbook: '1. The dashboard\'s memory panel: state_cache_bytes against state_cache_max_bytes. '
      + '2. With noeviction: raise cache.memory.maxSize (the container limit follows), shorten the expiry, or choose Eviction.LRU or Eviction.LFU.'
      + (p.passivation ? ' 3. With passivation: the store is failing or behind; see StateCacheStoreUnavailable and StateCacheWriteBehindQueueFilling.' : ''),
  }));
  out.push(rule('StateCacheEvicting', 'info', `rate(${M.evictions}${sel}[5m]) > 0`, 900, {
    summary: 'state-cache has been evicting entries for 15 minutes',
    description: `${where} evicts entries to stay within its byte budget: {{ $value | humanize }} per second. Evicted entries are served from the stores again (when there are any), at the cost of misses.`,
    runbook: 'Informational. If the hit ratio on the dashboard dropped, raise cache.memory.maxSize or shorten the expiry of what need not be cached.',
  }));
  const notReadyFor = Math.max(60, budget);
  out.push(rule('StateCacheNotReady', 'warning', `(${P.up}${sel} == 0) or (${M.ready}${sel} == 0)`, notReadyFor, {
    summary: 'state-cache has not been ready for longer than its start-up budget',
    description: `${where} has not been ready for ${promDuration(notReadyFor)}: its metrics endpoint does not answer (state-cache opens its ports only after journal replay and preload, or it is not running) or its /readyz answers 503 (a required store is unreachable).`,
    runbook: `1. ${logs}: "journal replayed" and "persistence started" end the start-up; a long replay means the stores were far behind when the pod stopped. `
      + `2. Preload stops at its time budget (cache.preloadTimeBudget, here ${budget}s); the startup probe restarts the container ${budget + 60}s after it started. `
      + '3. If it answers but is not ready, see StateCacheStoreUnavailable.',
  }));
  if (cache.kind === 'cluster') {
    const n = cache.replicas;
    const downFor = budget + 120;
    out.push(rule('StateCacheClusterPodsDown', 'critical',
      `sum by (namespace) (${M.ready}${sel}) < ${n} or (0 * absent(${M.ready}${sel}))`, downFor, {
        summary: `state-cache cluster ${cache.name}: fewer ready pods than shards`,
        description: `Only {{ $value }} of the ${n} pods of the state-cache cluster ${cache.name} have been ready for ${promDuration(downFor)}. Each pod owns a fixed range of the 16384 hash slots: the keys of a pod that is down are unavailable (clients are sent to it with MOVED), while their data stays in the stores.`,
        runbook: `1. kubectl get statefulset ${cache.name} -n {{ $labels.namespace }}, then kubectl get pods -n {{ $labels.namespace }}: which of ${cache.name}-0 to ${cache.name}-${n - 1} is missing or not ready. `
          + '2. kubectl describe pod: scheduling, its claim (claims are bound to a zone), image pulls. '
          + '3. A pod that runs but is not ready: see StateCacheNotReady and StateCacheStoreUnavailable.',
      }));
  }
  return out;
}

/** The Grafana dashboard of one cache (JSON model, Grafana 10+). */
export function grafanaDashboard(cache: MonitoredCache): any {
  const sel = selector(cache);
  const p = persistenceOf(cache.config);
  const ds = { type: 'prometheus', uid: '${datasource}' };
  const rate = (metric: string) => `rate(${metric}${sel}[$__rate_interval])`;
  const panels: any[] = [];
  const panel = (title: string, unit: string, targets: Array<[string, string]>, extra: any = {}) => {
    const i = panels.length;
    panels.push({
      id: i + 1,
      type: 'timeseries',
      title,
      datasource: ds,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit, ...extra }, overrides: [] },
      options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      targets: targets.map(([expr, legendFormat], j) => ({ refId: String.fromCharCode(65 + j), datasource: ds, expr, legendFormat })),
    });
  };
  panel('Operations per second by command', 'ops', [[`sum by (command) (${rate(M.commands)})`, '{{command}}']]);
  panel('Hit ratio', 'percentunit', [[`sum(${rate(M.hits)}) / (sum(${rate(M.hits)}) + sum(${rate(M.misses)}))`, 'hit ratio']], { min: 0, max: 1 });
  panel('Memory used against budget', 'bytes', [
    [`sum by (pod) (${M.bytes}${sel})`, '{{pod}} used'],
    [`sum by (pod) (${M.maxBytes}${sel})`, '{{pod}} budget'],
  ]);
  panel('Evictions, expirations and OOM errors', 'ops', [
    [`sum(${rate(M.evictions)})`, 'evictions'],
    [`sum(${rate(M.expirations)})`, 'expirations'],
    [`sum(${rate(M.oomErrors)})`, 'writes refused (OOM)'],
  ]);
  panel('Command latency', 's', [
    [`histogram_quantile(0.5, sum by (le) (${rate(M.commandDurationBucket)}))`, 'p50'],
    [`histogram_quantile(0.99, sum by (le) (${rate(M.commandDurationBucket)}))`, 'p99'],
  ]);
  panel('Ready pods', 'short', [[`sum(${M.ready}${sel})`, 'ready']], { min: 0 });
  if (p.writeBehind) {
    panel('Write-behind queue depth', 'short', [
      [`sum by (pod, store) (${M.pendingWrites}${sel})`, '{{pod}} {{store}}'],
      [`max(${M.pendingWritesLimit}${sel})`, 'bound'],
    ]);
    panel('Write-behind flush latency', 's', [
      [`histogram_quantile(0.5, sum by (le, store) (${rate(M.flushDurationBucket)}))`, 'p50 {{store}}'],
      [`histogram_quantile(0.99, sum by (le, store) (${rate(M.flushDurationBucket)}))`, 'p99 {{store}}'],
    ]);
  }
  if (p.anyStore) {
    panel('Store errors and refused writes', 'ops', [
      [`sum by (store, kind) (${rate(M.storeErrors)})`, '{{store}} {{kind}}'],
      [`sum by (policy) (${rate(M.queueFull)})`, 'queue full ({{policy}})'],
    ]);
  }
  if (p.writeBehind) {
    panel('Dead-lettered entries', 'short', [[`sum by (store) (increase(${M.deadLettered}${sel}[$__rate_interval]))`, '{{store}}']]);
  }
  const where = cache.namespace ? `${cache.namespace}/${cache.name}` : cache.name;
  return {
    uid: `state-cache-${createHash('sha256').update(`${cache.namespace ?? ''}/${cache.name}`).digest('hex').slice(0, 16)}`,
    title: `state-cache ${where}`,
    description: `state-cache ${cache.kind === 'sidecar' ? 'sidecars of' : 'cluster'} ${where} (cdk8s-state)`,
    tags: ['state-cache', 'cdk8s-state'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: '1m',
    time: { from: 'now-3h', to: 'now' },
    timezone: '',
    annotations: { list: [] },
    templating: {
      list: [{ name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '', options: [] }],
    },
    panels,
  };
}

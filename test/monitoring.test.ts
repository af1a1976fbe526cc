/**
 * `monitoring` on CachedApp and ExternalCacheCluster: the Prometheus Operator
 * objects, the alerts, the Grafana dashboard, the NetworkPolicy admitting the
 * scrape, and the errors for bad options. Every PromQL expression is parsed
 * with the Prometheus project's own grammar (@prometheus-io/lezer-promql),
 * and every metric it names must be one of src/_state-cache-metrics.ts,
 * which runtime/test/monitoring-metrics.test.ts checks against a running
 * state-cache.
 */
import { Chart, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  CachedApp, CacheMonitoring, CachePassword, CacheStore, ExternalCacheCluster, QueueFullPolicy, SidecarMode, WriteMode,
} from '../src';
import { appContainer, chart, postgres, secret } from './cache-fixtures';
import { synthAndCheck } from './manifest-checks';
import { PROMETHEUS_METRICS, STATE_CACHE_METRICS } from '../src/_state-cache-metrics';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parser } = require('@prometheus-io/lezer-promql');

const KNOWN_METRICS = new Set<string>([...Object.values(STATE_CACHE_METRICS), ...Object.values(PROMETHEUS_METRICS)]);

/** The metric names a PromQL expression selects; throws on a syntax error. Grafana's variables are substituted as Grafana does. */
function metricNames(expr: string): string[] {
  const promql = expr.replace(/\$__rate_interval|\$__range/g, '5m');
  const names: string[] = [];
  const errors: number[] = [];
  parser.parse(promql).iterate({
    enter(node: any) {
      if (node.type.isError) errors.push(node.from);
      if (node.type.name === 'Identifier' && node.node.parent?.type.name === 'VectorSelector') names.push(promql.slice(node.from, node.to));
    },
  });
  if (errors.length > 0) throw new Error(`PromQL syntax error at ${errors[0]} in: ${expr}`);
  return names;
}

function byKind(manifests: any[], kind: string): any[] {
  return manifests.filter((m) => m.kind === kind);
}

function prometheusPods(c: Chart): kplus.INetworkPolicyPeer {
  return kplus.Pods.select(c, 'Prometheus', {
    labels: { 'app.kubernetes.io/name': 'prometheus' },
    namespaces: kplus.Namespaces.select(c, 'Monitoring', { names: ['monitoring'] }),
  });
}

function writeBehindApp(c: Chart, monitoring: CacheMonitoring = {}, id = 'sessions'): CachedApp {
  return new CachedApp(c, id, {
    app: appContainer(),
    replicas: 2,
    metricsFrom: [prometheusPods(c)],
    monitoring,
    cache: {
      memory: { maxSize: Size.mebibytes(128) },
      writeMode: WriteMode.writeBehind({ maxPendingEntries: 10_000, whenFull: QueueFullPolicy.block(Duration.seconds(1)) }),
      journal: { size: Size.gibibytes(1) },
      stores: [CacheStore.postgres(postgres(c), { user: 'cache' })],
    },
  });
}

function clusterOf(c: Chart, monitoring: CacheMonitoring = {}, replicas = 3): ExternalCacheCluster {
  return new ExternalCacheCluster(c, 'cache', {
    name: 'catalog-cache',
    replicas,
    password: CachePassword.fromSecret(secret(c, 'cache-password')),
    metricsFrom: [prometheusPods(c)],
    monitoring,
    cache: {
      writeMode: WriteMode.writeThrough(),
      stores: [CacheStore.file({ size: Size.gibibytes(2), preload: true })],
      preloadTimeBudget: Duration.seconds(90),
    },
  });
}

/** Every PromQL expression of the output: alert rules and dashboard targets. */
function expressions(manifests: any[]): string[] {
  const rules = byKind(manifests, 'PrometheusRule').flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules.map((x: any) => x.expr)));
  const dashboards = byKind(manifests, 'ConfigMap').filter((m) => m.metadata.labels?.grafana_dashboard === '1')
    .flatMap((m) => Object.values(m.data as Record<string, string>))
    .flatMap((json) => JSON.parse(json).panels.flatMap((p: any) => p.targets.map((t: any) => t.expr)));
  return [...rules, ...dashboards];
}

describe('CachedApp with monitoring: {} and write-behind', () => {
  const c = chart('shop');
  const app = writeBehindApp(c, { labels: { release: 'kube-prometheus-stack' } });
  const manifests = synthAndCheck(c);
  const name = app.workload.name;

  test('a PodMonitor, a PrometheusRule and a dashboard ConfigMap, all with the monitoring labels', () => {
    const monitoring = manifests.filter((m) => ['PodMonitor', 'PrometheusRule'].includes(m.kind) || m.metadata.labels?.grafana_dashboard);
    expect(monitoring.map((m) => `${m.apiVersion} ${m.kind} ${m.metadata.namespace}/${m.metadata.name}`)).toEqual([
      `monitoring.coreos.com/v1 PodMonitor shop/${name}-cache`,
      `monitoring.coreos.com/v1 PrometheusRule shop/${name}-cache`,
      `v1 ConfigMap shop/${name}-state-cache-dashboard`,
    ]);
    for (const m of monitoring) expect(m.metadata.labels).toMatchObject({ 'release': 'kube-prometheus-stack', 'app.kubernetes.io/name': 'state-cache', 'app.kubernetes.io/instance': name });
    expect(app.podMonitor).toBeDefined();
    expect(app.prometheusRule).toBeDefined();
    expect(app.dashboard?.metadata.getLabel('grafana_dashboard')).toBe('1');
  });

  test('the PodMonitor scrapes the sidecar\'s http port at /metrics, relabelled to pod, namespace and state_cache', () => {
    const pm = byKind(manifests, 'PodMonitor')[0];
    const workload = byKind(manifests, 'StatefulSet')[0];
    expect(pm.spec.selector).toEqual({ matchLabels: workload.spec.selector.matchLabels });
    const cache = workload.spec.template.spec.initContainers.find((x: any) => x.name === 'state-cache');
    expect(cache.ports).toContainEqual({ containerPort: 8080, name: 'http' });
    expect(pm.spec.podMetricsEndpoints).toEqual([{
      port: 'http',
      path: '/metrics',
      interval: '30s',
      scrapeTimeout: '10s',
      relabelings: [
        { action: 'keep', sourceLabels: ['__meta_kubernetes_pod_container_name'], regex: 'state-cache' },
        { action: 'replace', sourceLabels: ['__meta_kubernetes_namespace'], targetLabel: 'namespace' },
        { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod' },
        { action: 'replace', targetLabel: 'state_cache', replacement: name },
      ],
    }]);
  });

  test('the NetworkPolicy admits the scrape from metricsFrom on port 8080', () => {
    const np = byKind(manifests, 'NetworkPolicy').find((p) => p.metadata.name === name);
    expect(np.spec.ingress).toContainEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
      ports: [{ port: 8080, protocol: 'TCP' }],
    });
  });

  test('the alerts for write-behind to a required store, each with severity, summary, description and runbook', () => {
    const rule = byKind(manifests, 'PrometheusRule')[0];
    expect(rule.spec.groups.map((g: any) => g.name)).toEqual([`state-cache.${name}`]);
    const rules = rule.spec.groups[0].rules;
    expect(rules.map((r: any) => [r.alert, r.labels.severity, r.for ?? '-'])).toEqual([
      ['StateCacheWriteBehindQueueFilling', 'warning', '5m'],
      ['StateCacheDeadLetters', 'critical', '-'],
      ['StateCacheStoreUnavailable', 'critical', '1m'],
      ['StateCacheOutOfMemory', 'critical', '-'],
      ['StateCacheEvicting', 'info', '15m'],
      ['StateCacheNotReady', 'warning', '1m'],
    ]);
    for (const r of rules) {
      expect(Object.keys(r.annotations).sort()).toEqual(['description', 'runbook', 'summary']);
      for (const text of Object.values(r.annotations) as string[]) expect(text.length).toBeGreaterThan(40);
    }
    const sel = `{namespace="shop",state_cache="${name}"}`;
    expect(rules[0].expr).toBe(`(state_cache_persistence_pending_writes${sel} / state_cache_persistence_pending_writes_limit${sel} > 0.8) or (state_cache_persistence_pending_bytes${sel} / state_cache_persistence_pending_bytes_limit${sel} > 0.8)`);
    expect(rules[1].expr).toBe(`increase(state_cache_persistence_dead_lettered_total${sel}[10m]) > 0`);
    expect(rules[2].expr).toBe(`state_cache_store_up${sel} == 0`);
    expect(rules[3].expr).toBe(`increase(state_cache_oom_errors_total${sel}[5m]) > 0`);
    expect(rules[5].expr).toBe(`(up${sel} == 0) or (state_cache_ready${sel} == 0)`);
    expect(rules[1].annotations.runbook).toContain('kubectl logs -n {{ $labels.namespace }} {{ $labels.pod }} -c state-cache');
  });

  test('the dashboard: JSON with the datasource variable and every panel the issue lists', () => {
    const cm = byKind(manifests, 'ConfigMap').find((m) => m.metadata.labels?.grafana_dashboard === '1');
    expect(Object.keys(cm.data)).toEqual([`state-cache-${name}.json`]);
    const d = JSON.parse(cm.data[`state-cache-${name}.json`]);
    expect(d.title).toBe(`state-cache shop/${name}`);
    expect(d.uid).toMatch(/^state-cache-[0-9a-f]{16}$/);
    expect(d.templating.list.map((v: any) => [v.name, v.type, v.query])).toEqual([['datasource', 'datasource', 'prometheus']]);
    expect(d.panels.map((p: any) => p.title)).toEqual([
      'Operations per second by command',
      'Hit ratio',
      'Memory used against budget',
      'Evictions, expirations and OOM errors',
      'Command latency',
      'Ready pods',
      'Write-behind queue depth',
      'Write-behind flush latency',
      'Store errors and refused writes',
      'Dead-lettered entries',
    ]);
    for (const p of d.panels) {
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of p.targets) expect(t.expr).toContain(`state_cache="${name}"`);
    }
    // Two columns, no overlaps.
    expect(new Set(d.panels.map((p: any) => `${p.gridPos.x},${p.gridPos.y}`)).size).toBe(d.panels.length);
  });

  test('every expression parses as PromQL and names only metrics state-cache (or Prometheus) exports', () => {
    const exprs = expressions(manifests);
    expect(exprs.length).toBeGreaterThan(15);
    const unknown = exprs.flatMap(metricNames).filter((n) => !KNOWN_METRICS.has(n));
    expect(unknown).toEqual([]);
    // Every name of the list is used somewhere, so the runtime test checks nothing stale.
    const used = new Set(exprs.flatMap(metricNames));
    expect([...KNOWN_METRICS].filter((n) => !used.has(n))).toEqual([]);
  });
});

describe('ExternalCacheCluster with monitoring', () => {
  const c = chart('catalog');
  const cl = clusterOf(c, { scrapeInterval: Duration.seconds(15), alertLabels: { team: 'catalog' } });
  const manifests = synthAndCheck(c);

  test('a headless metrics Service and a ServiceMonitor selecting it by its labels', () => {
    const svc = byKind(manifests, 'Service').find((s) => s.metadata.name === 'catalog-cache-metrics');
    expect(svc.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] });
    expect(svc.spec.selector).toEqual(byKind(manifests, 'StatefulSet')[0].spec.selector.matchLabels);
    const sm = byKind(manifests, 'ServiceMonitor')[0];
    expect(sm.metadata).toMatchObject({ name: 'catalog-cache', namespace: 'catalog' });
    expect(sm.spec.selector).toEqual({ matchLabels: svc.metadata.labels });
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics', interval: '15s', scrapeTimeout: '10s' })]);
    // No container filter: the Service's port already is the cache's.
    expect(sm.spec.endpoints[0].relabelings.map((r: any) => r.targetLabel)).toEqual(['namespace', 'pod', 'state_cache']);
    expect(cl.serviceMonitor).toBeDefined();
    expect(cl.metricsService?.name).toBe('catalog-cache-metrics');
    // The client Service still exposes RESP only.
    expect(byKind(manifests, 'Service').find((s) => s.metadata.name === 'catalog-cache').spec.ports.map((p: any) => p.port)).toEqual([6379]);
  });

  test('fewer ready pods than shards alerts after a pod\'s start-up allowance; alert labels on every alert', () => {
    const rules = byKind(manifests, 'PrometheusRule')[0].spec.groups[0].rules;
    expect(rules.map((r: any) => r.alert)).toEqual(['StateCacheStoreUnavailable', 'StateCacheOutOfMemory', 'StateCacheEvicting', 'StateCacheNotReady', 'StateCacheClusterPodsDown']);
    const down = rules[4];
    const sel = '{namespace="catalog",state_cache="catalog-cache"}';
    expect(down.expr).toBe(`sum by (namespace) (state_cache_ready${sel}) < 3 or (0 * absent(state_cache_ready${sel}))`);
    // preloadTimeBudget 90s + the startup probe's minute + a minute.
    expect(down.for).toBe('3m30s');
    expect(down.labels).toEqual({ severity: 'critical', team: 'catalog' });
    expect(rules[3].for).toBe('1m30s');
    for (const r of rules) expect(r.labels.team).toBe('catalog');
  });

  test('every expression parses and names only known metrics', () => {
    expect(expressions(manifests).flatMap(metricNames).filter((n) => !KNOWN_METRICS.has(n))).toEqual([]);
  });
});

describe('what the options turn on', () => {
  test('without monitoring nothing is emitted', () => {
    const c = chart('shop');
    const app = new CachedApp(c, 'web', { app: appContainer() });
    const manifests = synthAndCheck(c);
    expect(manifests.filter((m) => m.apiVersion === 'monitoring.coreos.com/v1' || m.metadata.labels?.grafana_dashboard)).toEqual([]);
    expect(app.podMonitor).toBeUndefined();
  });

  test('rules only, without scraping, need no metricsFrom; a memory-only cache gets no persistence alerts or panels', () => {
    const c = chart();
    new CachedApp(c, 'web', { app: appContainer(), monitoring: { scrape: false, dashboard: true } });
    const manifests = synthAndCheck(c);
    expect(manifests.filter((m) => m.apiVersion === 'monitoring.coreos.com/v1').map((m) => m.kind)).toEqual(['PrometheusRule']);
    const rules = byKind(manifests, 'PrometheusRule')[0].spec.groups[0].rules;
    expect(rules.map((r: any) => r.alert)).toEqual(['StateCacheOutOfMemory', 'StateCacheEvicting', 'StateCacheNotReady']);
    // Without a namespace in the chart the alerts select by the state_cache label alone.
    expect(rules[0].expr).toMatch(/^increase\(state_cache_oom_errors_total\{state_cache="test-web-c8[0-9a-f]+"\}\[5m\]\) > 0$/);
    const d = JSON.parse(Object.values(byKind(manifests, 'ConfigMap').find((m) => m.metadata.labels?.grafana_dashboard).data)[0] as string);
    expect(d.panels).toHaveLength(6);
  });

  test('the dashboard can go to Grafana\'s namespace; a short interval shortens the scrape timeout', () => {
    const c = chart('shop');
    writeBehindApp(c, { rules: false, dashboardNamespace: 'monitoring', scrapeInterval: Duration.seconds(5) });
    const manifests = synthAndCheck(c);
    expect(byKind(manifests, 'PrometheusRule')).toEqual([]);
    const cm = byKind(manifests, 'ConfigMap').find((m) => m.metadata.labels?.grafana_dashboard);
    expect(cm.metadata.namespace).toBe('monitoring');
    expect(byKind(manifests, 'PodMonitor')[0].spec.podMetricsEndpoints[0]).toMatchObject({ interval: '5s', scrapeTimeout: '5s' });
  });

  test('a CachedApp in container mode is scraped the same way', () => {
    const c = chart('shop');
    const app = new CachedApp(c, 'web', {
      app: appContainer({ ports: [{ number: 3000, name: 'http' }], portNumber: undefined }),
      metricsFrom: [prometheusPods(c)],
      monitoring: {},
      sidecarMode: SidecarMode.CONTAINER,
    });
    const manifests = synthAndCheck(c);
    // The app's port is named "http" too: the keep relabelling scrapes the cache container only.
    expect(byKind(manifests, 'PodMonitor')[0].spec.podMetricsEndpoints[0].relabelings[0]).toEqual(
      { action: 'keep', sourceLabels: ['__meta_kubernetes_pod_container_name'], regex: 'state-cache' });
    expect(app.podMonitor).toBeDefined();
  });
});

describe('bad monitoring options fail at synth with the fix', () => {
  const build = (monitoring: CacheMonitoring, metricsFrom = true) => () => {
    const c = chart('shop');
    new CachedApp(c, 'web', { app: appContainer(), metricsFrom: metricsFrom ? [prometheusPods(c)] : undefined, monitoring });
  };

  test.each([
    [{ labels: { 'Bad Key': 'x' } }, 'test/web: monitoring.labels key "Bad Key" is not a valid label key. Use an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (e.g. "release")'],
    [{ labels: { 'example.com/': 'x' } }, 'test/web: monitoring.labels key "example.com/" is not a valid label key.'],
    [{ labels: { release: 'kube prometheus' } }, 'test/web: monitoring.labels["release"] value "kube prometheus" is not a valid label value. Use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or an empty string)'],
    [{ labels: { release: 'x'.repeat(64) } }, `test/web: monitoring.labels["release"] value "${'x'.repeat(64)}" is not a valid label value.`],
    [{ scrapeInterval: Duration.millis(500) }, 'test/web: monitoring.scrapeInterval 500ms is not a whole number of seconds from 5s to 60s. The alerts take rates over 5 minutes, which needs several scrapes in that window: use e.g. Duration.seconds(30)'],
    [{ scrapeInterval: Duration.seconds(0) }, 'test/web: monitoring.scrapeInterval 0ms is not a whole number of seconds from 5s to 60s.'],
    [{ scrapeInterval: Duration.minutes(5) }, 'test/web: monitoring.scrapeInterval 300000ms is not a whole number of seconds from 5s to 60s.'],
    [{ scrapeInterval: Duration.millis(7500) }, 'test/web: monitoring.scrapeInterval 7500ms is not a whole number of seconds from 5s to 60s.'],
    [{ scrape: false, rules: false, dashboard: false }, 'test/web: monitoring turns nothing on (scrape, rules and dashboard are all false). Leave monitoring out, or turn on at least one of scrape, rules and dashboard'],
    [{ alertLabels: { severity: 'page' } }, 'test/web: monitoring.alertLabels sets "severity", which the alerts set themselves. Use another label name; "severity", "alertname", "state_cache", "namespace", "pod" are set by each alert and its series'],
    [{ alertLabels: { 'team-name': 'x' } }, 'test/web: monitoring.alertLabels key "team-name" is not a Prometheus label name. Use letters, digits and "_", not starting with a digit or "__" (e.g. "team")'],
    [{ dashboardNamespace: 'Monitoring' }, 'test/web: monitoring.dashboardNamespace "Monitoring" is not a DNS-1123 label. Use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit'],
  ] as Array<[CacheMonitoring, string]>)('%j', (monitoring, message) => {
    expect(build(monitoring)).toThrow(message);
  });

  test('scraping without metricsFrom: the NetworkPolicy would drop every scrape', () => {
    expect(build({}, false)).toThrow(new Error(
      'test/web: monitoring.scrape is on, but metricsFrom admits no one to the metrics port 8080, so the NetworkPolicy would drop every scrape. '
      + 'Give metricsFrom the Prometheus pods, e.g. [kplus.Pods.select(this, \'Prometheus\', { labels: { \'app.kubernetes.io/name\': \'prometheus\' }, namespaces: kplus.Namespaces.select(this, \'Monitoring\', { names: [\'monitoring\'] }) })], or set monitoring.scrape: false',
    ));
  });

  test('the cluster checks the same options', () => {
    expect(() => clusterOf(chart('catalog'), { scrapeInterval: Duration.seconds(61) }))
      .toThrow('test/cache: monitoring.scrapeInterval 61000ms is not a whole number of seconds from 5s to 60s.');
  });
});

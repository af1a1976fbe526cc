import { Duration } from 'cdk8s';

/**
 * Prometheus Operator objects for a cache: scraping, alerts and a Grafana
 * dashboard. Opt-in on `CachedApp` and `ExternalCacheCluster`
 * (`monitoring: {}` turns everything on); needs the Prometheus Operator's
 * CRDs (`monitoring.coreos.com/v1`) in the cluster, and `metricsFrom` on the
 * construct so the NetworkPolicy admits the scrape.
 *
 * Every series the alerts and the dashboard select carries the label
 * `state_cache="<name>"`, which the PodMonitor / ServiceMonitor sets; with
 * `scrape: false`, your own scrape configuration must set it.
 */
export interface CacheMonitoring {
  /**
   * Scrape state-cache's `/metrics` (HTTP port 8080): a `PodMonitor` for a
   * `CachedApp` (the cache runs in the app's pods), a `ServiceMonitor` and a
   * headless metrics Service for an `ExternalCacheCluster`.
   *
   * @default true
   */
  readonly scrape?: boolean;

  /**
   * How often Prometheus scrapes each cache: whole seconds from 5 to 60 (the
   * alerts take rates over 5 minutes, which needs several scrapes).
   *
   * @default Duration.seconds(30)
   */
  readonly scrapeInterval?: Duration;

  /**
   * A `PrometheusRule` with the alerts (write-behind queue filling, dead
   * letters, a required store unavailable, OOM errors, not ready for longer
   * than the start-up budget, and for a cluster fewer ready pods than
   * shards), each with runbook text in its annotations.
   *
   * @default true
   */
  readonly rules?: boolean;

  /**
   * A Grafana dashboard as JSON in a ConfigMap labelled
   * `grafana_dashboard: "1"`, which the Grafana sidecar (kube-prometheus-stack)
   * loads: ops/s by command, hit ratio, memory against its budget, evictions
   * and expirations, queue depth and flush latency, store errors and dead
   * letters.
   *
   * @default true
   */
  readonly dashboard?: boolean;

  /**
   * The namespace of the dashboard ConfigMap, for a Grafana sidecar that
   * watches only its own namespace.
   *
   * @default - the chart's namespace
   */
  readonly dashboardNamespace?: string;

  /**
   * Labels on every monitoring object, so that the Prometheus (its
   * `podMonitorSelector`, `serviceMonitorSelector`, `ruleSelector`) picks
   * them up, e.g. `{ release: 'kube-prometheus-stack' }`.
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };

  /**
   * Labels added to every alert, for Alertmanager routing, e.g.
   * `{ team: 'payments' }`. Each alert sets `severity` itself.
   *
   * @default - none
   */
  readonly alertLabels?: { [key: string]: string };
}

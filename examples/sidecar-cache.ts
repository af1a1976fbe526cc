/**
 * A CachedApp whose state-cache sidecar writes behind to a managed
 * PostgreSQL: the app talks to the cache at 127.0.0.1 (REDIS_URL), the cache
 * acknowledges a write once it is in memory and fsynced to its journal, and
 * flushes coalesced batches to PostgreSQL over TLS verify-full. The journal
 * lives on a claim per pod, so the app runs as a StatefulSet, and a killed
 * pod loses no acknowledged write. Prometheus (kube-prometheus-stack in the
 * monitoring namespace) scrapes the sidecars through a PodMonitor, alerts on
 * the PrometheusRule, and Grafana loads the dashboard ConfigMap.
 */
import { App, Chart, ChartProps, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  CachedApp, CachePassword, CacheStore, DatabaseCa, DatabaseCredentials, DatabaseEndpoint, DatabaseEngine, Eviction,
  ExternalDatabase, QueueFullPolicy, TlsMode, WriteMode,
} from '../src';

export default class SidecarCacheExample extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'shop', ...props });

    const db = new ExternalDatabase(this, 'sessions-db', {
      name: 'sessions-db',
      engine: DatabaseEngine.POSTGRESQL,
      endpoint: DatabaseEndpoint.fromHostName('sessions.c9akciq32.eu-west-1.rds.amazonaws.com'),
      databaseName: 'sessions',
      credentials: DatabaseCredentials.fromSecret(kplus.Secret.fromSecretName(this, 'db-credentials', 'sessions-db-credentials')),
      tlsMode: TlsMode.POSTGRES_VERIFY_FULL,
      tlsCa: DatabaseCa.fromSecret(kplus.Secret.fromSecretName(this, 'rds-ca', 'rds-ca-bundle'), 'ca.pem'),
      egressCidrs: ['10.20.32.0/20'],
    });

    new CachedApp(this, 'sessions', {
      replicas: 3,
      app: {
        name: 'sessions',
        image: 'ghcr.io/example/sessions:2.3.1',
        portNumber: 3000,
        readiness: kplus.Probe.fromHttpGet('/ready', { port: 3000 }),
        liveness: kplus.Probe.fromHttpGet('/healthz', { port: 3000 }),
        resources: {
          cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(1000) },
          memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) },
        },
      },
      password: CachePassword.fromSecret(kplus.Secret.fromSecretName(this, 'cache-password', 'sessions-cache'), 'password'),
      appDrainTime: Duration.seconds(15),
      // Only Prometheus reaches the sidecar's metrics port.
      metricsFrom: [kplus.Pods.select(this, 'prometheus', {
        labels: { 'app.kubernetes.io/name': 'prometheus' },
        namespaces: kplus.Namespaces.select(this, 'monitoring', { names: ['monitoring'] }),
      })],
      monitoring: {
        // kube-prometheus-stack selects monitors and rules by its release label.
        labels: { release: 'kube-prometheus-stack' },
        alertLabels: { team: 'shop' },
      },
      cache: {
        memory: { maxSize: Size.mebibytes(384), eviction: Eviction.LRU },
        expiry: { defaultTtl: Duration.hours(12), maxIdle: Duration.hours(1) },
        writeMode: WriteMode.writeBehind({
          batchSize: 500,
          flushInterval: Duration.millis(200),
          maxPendingEntries: 200_000,
          whenFull: QueueFullPolicy.block(Duration.seconds(2)),
          retryAttempts: 10,
        }),
        journal: { size: Size.gibibytes(2) },
        stores: [CacheStore.postgres(db, { name: 'sessions-db', user: 'state_cache', table: 'sessions' })],
        flushDeadline: Duration.seconds(20),
      },
    });
  }
}

if (require.main === module) {
  const app = new App();
  new SidecarCacheExample(app, 'sidecar-cache');
  app.synth();
}

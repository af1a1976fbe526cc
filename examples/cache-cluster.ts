/**
 * An ExternalCacheCluster of three pods, each owning a third of the hash
 * slots and keeping its entries in a LevelDB file store on its own claim,
 * plus a CachedApp whose sidecar is a near cache in the pod with the cluster
 * behind it as its remote store (write-through: a write is acknowledged once
 * the cluster has it). The cluster's password comes from a secret manager
 * through an ExternalSecret.
 */
import { App, Chart, ChartProps, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CachedApp, CachePassword, CacheStore, ExternalCacheCluster, SecretStoreRef, WriteMode } from '../src';

export default class CacheClusterExample extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'catalog', ...props });

    const cluster = new ExternalCacheCluster(this, 'catalog-cache', {
      name: 'catalog-cache',
      replicas: 3,
      password: CachePassword.fromExternalSecret({
        store: SecretStoreRef.clusterSecretStore('vault'),
        remoteKey: 'catalog/cache',
        property: 'password',
      }),
      cache: {
        memory: { maxSize: Size.mebibytes(768) },
        writeMode: WriteMode.writeThrough(),
        stores: [CacheStore.file({ name: 'disk', size: Size.gibibytes(20), preload: true })],
      },
    });

    new CachedApp(this, 'catalog', {
      // Three replicas, each with its near cache: the cluster names every
      // changed key to them (CLIENT TRACKING, one connection per primary), so
      // no replica serves another's stale copy (coherence is on by default
      // here: see docs/caching.md#coherence-across-replicas).
      replicas: 3,
      app: {
        name: 'catalog',
        image: 'ghcr.io/example/catalog:5.0.2',
        portNumber: 8000,
        readiness: kplus.Probe.fromHttpGet('/ready', { port: 8000 }),
        liveness: kplus.Probe.fromHttpGet('/live', { port: 8000 }),
      },
      cache: {
        memory: { maxSize: Size.mebibytes(128) },
        expiry: { maxIdle: Duration.minutes(10) },
        writeMode: WriteMode.writeThrough(),
        stores: [CacheStore.remote(cluster, { name: 'cluster' })],
      },
    });
  }
}

if (require.main === module) {
  const app = new App();
  new CacheClusterExample(app, 'cache-cluster');
  app.synth();
}

/**
 * An ExternalCacheCluster on Valkey: 3 primaries with a replica each (6
 * pods), automatic failover, a preStop hand-off for planned restarts, and a
 * bootstrap Job that creates the cluster (and grows it when `primaries`
 * grows). Valkey keeps its data in an append-only file on a claim per pod.
 *
 * A CachedApp's state-cache sidecar is a near cache in the pod with the
 * Valkey cluster behind it as its remote store: writes are acknowledged from
 * memory and written behind, in batches, with versioned writes (a Lua script
 * on Valkey: a late write never overwrites a newer one), each batch waiting
 * until a replica has it (WAIT 1).
 */
import { App, Chart, ChartProps, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CachedApp, CacheClusterEngine, CachePassword, CacheStore, ExternalCacheCluster, SecretStoreRef, WriteMode } from '../src';

export interface ValkeyClusterExampleProps extends ChartProps {
  /**
   * Primaries of the cluster (each with one replica).
   * @default 3
   */
  readonly primaries?: number;
}

export default class ValkeyClusterExample extends Chart {
  constructor(scope: Construct, id: string, props: ValkeyClusterExampleProps = {}) {
    super(scope, id, { namespace: 'shop', ...props });

    const cluster = new ExternalCacheCluster(this, 'carts-cache', {
      name: 'carts-cache',
      engine: CacheClusterEngine.valkey({
        primaries: props.primaries ?? 3,
        replicasPerPrimary: 1,
        version: '8.1.11',
        maxMemory: Size.mebibytes(768),
        storageSize: Size.gibibytes(8),
      }),
      cacheResources: {
        cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.millis(2000) },
        memory: { request: Size.mebibytes(1536), limit: Size.mebibytes(1536) },
      },
      password: CachePassword.fromExternalSecret({
        store: SecretStoreRef.clusterSecretStore('vault'),
        remoteKey: 'shop/carts-cache',
        property: 'password',
      }),
    });

    new CachedApp(this, 'carts', {
      // Three replicas, each with its near cache: the cluster names every
      // changed key to them (CLIENT TRACKING, one connection per primary), so
      // no replica serves another's stale copy (coherence is on by default
      // here: see docs/caching.md#coherence-across-replicas).
      replicas: 3,
      app: {
        name: 'carts',
        image: 'ghcr.io/example/carts:3.4.0',
        portNumber: 8000,
        readiness: kplus.Probe.fromHttpGet('/ready', { port: 8000 }),
        liveness: kplus.Probe.fromHttpGet('/live', { port: 8000 }),
      },
      cache: {
        memory: { maxSize: Size.mebibytes(128) },
        expiry: { defaultTtl: Duration.hours(24) },
        writeMode: WriteMode.writeBehind({ batchSize: 200, flushInterval: Duration.millis(200) }),
        stores: [CacheStore.remote(cluster, { name: 'valkey', waitForReplicas: 1, replicationTimeout: Duration.millis(500) })],
      },
    });
  }
}

if (require.main === module) {
  const app = new App();
  new ValkeyClusterExample(app, 'valkey-cluster');
  app.synth();
}

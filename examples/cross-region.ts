/**
 * Across regions: a CachedApp in eu-west whose state-cache sidecar writes
 * behind to a cache cluster in us-east, over TLS with a password. The app
 * talks to its sidecar at 127.0.0.1 (REDIS_URL) and gets its answers from
 * memory; the sidecar acknowledges a write once it is in memory and in the
 * journal, and sends coalesced batches across the WAN to the remote cluster,
 * verifying its certificate against the CA from a Secret and the name
 * `cache.us-east.example.com` (verify-full), whatever address it reaches the
 * cluster at. The egress NetworkPolicy allows only the remote's address
 * range on its TLS port, and DNS.
 *
 * The remote cluster itself can be an ExternalCacheCluster with
 * `tls: CacheTls.certManager({ issuer })` in the other region's cluster.
 */
import { App, Chart, ChartProps, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CachedApp, CachePassword, CacheStore, QueueFullPolicy, RemoteCache, WriteMode } from '../src';

export default class CrossRegionExample extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'checkout', ...props });

    // The cache cluster in the other region, reached through its load balancer.
    const usEast = RemoteCache.fromEndpoint({
      host: 'cache.us-east.example.com',
      port: 6380,
      cluster: false,
      passwordSecret: kplus.Secret.fromSecretName(this, 'us-east-password', 'us-east-cache'),
      passwordKey: 'password',
      tls: {
        ca: kplus.Secret.fromSecretName(this, 'us-east-ca', 'us-east-cache-ca'),
        caKey: 'ca.crt',
        serverName: 'cache.us-east.example.com',
      },
      egressCidrs: ['198.51.100.0/24'],
    });

    new CachedApp(this, 'checkout', {
      // Three replicas, each with its near cache: the cluster names every
      // changed key to them (CLIENT TRACKING, one connection per primary), so
      // no replica serves another's stale copy (coherence is on by default
      // here: see docs/caching.md#coherence-across-replicas).
      replicas: 3,
      app: {
        name: 'checkout',
        image: 'ghcr.io/example/checkout:4.1.0',
        portNumber: 3000,
        readiness: kplus.Probe.fromHttpGet('/ready', { port: 3000 }),
        liveness: kplus.Probe.fromHttpGet('/healthz', { port: 3000 }),
      },
      password: CachePassword.fromSecret(kplus.Secret.fromSecretName(this, 'cache-password', 'checkout-cache'), 'password'),
      cache: {
        memory: { maxSize: Size.mebibytes(256) },
        writeMode: WriteMode.writeBehind({
          batchSize: 200,
          flushInterval: Duration.millis(500),
          whenFull: QueueFullPolicy.block(Duration.seconds(2)),
          // A WAN link goes down for minutes: retry long before the dead-letter file.
          retryAttempts: 20,
          retryMaxDelay: Duration.seconds(60),
        }),
        journal: { size: Size.gibibytes(1) },
        stores: [CacheStore.remote(usEast, { name: 'us-east', keyPrefix: 'eu-west:', commandTimeout: Duration.seconds(10) })],
        flushDeadline: Duration.seconds(20),
      },
    });
  }
}

if (require.main === module) {
  const app = new App();
  new CrossRegionExample(app, 'cross-region');
  app.synth();
}

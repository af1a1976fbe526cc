import * as kplus from 'cdk8s-plus-28';
import { Chart, Testing } from 'cdk8s';
import { CachedApp } from '../src';
import { synthAndCheck } from './manifest-checks';

test('smoke', () => {
  const c = new Chart(Testing.app(), 'test');
  new CachedApp(c, 'orders', { app: { image: 'ghcr.io/example/orders:1.4.2', portNumber: 3000, readiness: kplus.Probe.fromHttpGet('/ready'), liveness: kplus.Probe.fromHttpGet('/healthz') } });
  const m = synthAndCheck(c);
  console.log(JSON.stringify(m, null, 1));
});

/**
 * bench:synth — what CachedApp costs at synth time. Synthesises 200 CachedApps
 * and the same 200 apps written by hand with cdk8s-plus (the manifests a user
 * would otherwise write: app + native sidecar, config ConfigMap and checksum,
 * Service, PDB, spreading, NetworkPolicy), checks that both outputs are
 * identical, and times them alternately on this (shared) machine.
 *
 * Prints the ratio and writes it into docs/benchmarks.md as its own section
 * (between the bench:synth markers), leaving the rest of the file as it is.
 *
 *   npm run bench:synth            # 200 apps, 15 rounds
 *   BENCH_APPS=50 BENCH_ROUNDS=3 npm run bench:synth
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { App, Chart, Duration, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CachedApp, CacheImage, CachePassword } from '../src';

const APPS = Number(process.env.BENCH_APPS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const NAMESPACE = 'bench';
/** The markers around this benchmark's section of docs/benchmarks.md. */
const START = '<!-- bench:synth start -->';
const END = '<!-- bench:synth end -->';

function appProps(i: number): kplus.ContainerProps {
  return {
    name: 'web',
    image: `ghcr.io/example/web-${i}:1.0.0`,
    portNumber: 3000,
    readiness: kplus.Probe.fromHttpGet('/ready', { port: 3000 }),
    liveness: kplus.Probe.fromHttpGet('/healthz', { port: 3000 }),
  };
}

/** 200 CachedApps: three replicas, a password, a 200 MiB budget, a 10 minute TTL. */
function withCachedApp(): Chart {
  const chart = new Chart(new App(), 'bench', { namespace: NAMESPACE });
  const password = kplus.Secret.fromSecretName(chart, 'password', 'cache-password');
  for (let i = 0; i < APPS; i++) {
    new CachedApp(chart, `web-${i}`, {
      replicas: 3,
      app: appProps(i),
      password: CachePassword.fromSecret(password),
      cache: { memory: { maxSize: Size.mebibytes(200) }, expiry: { defaultTtl: Duration.minutes(10) } },
    });
  }
  return chart;
}

const secure: kplus.ContainerSecurityContextProps = {
  user: 10001,
  group: 10001,
  ensureNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: [kplus.Capability.ALL] },
  seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
};

/** The same 200 apps by hand with cdk8s-plus. */
function handWritten(): Chart {
  const chart = new Chart(new App(), 'bench', { namespace: NAMESPACE });
  const password = kplus.Secret.fromSecretName(chart, 'password', 'cache-password');
  const image = CacheImage.default().reference;
  for (let i = 0; i < APPS; i++) {
    const scope = new Construct(chart, `web-${i}`);
    const name = Names.toDnsLabel(scope, { maxLen: 52 });
    const config = {
      server: { bind: '127.0.0.1', port: 6379, protectedMode: true },
      http: { enabled: true, bind: '0.0.0.0', port: 8080 },
      auth: { passwordEnv: 'STATE_CACHE_PASSWORD' },
      memory: { eviction: 'lru', maxBytes: 200 * 1024 * 1024 },
      expiry: { defaultTtlSeconds: 600 },
      limits: {},
      log: { level: 'info' },
      stores: { chain: [] },
      persistence: { mode: 'none', shutdown: { flushDeadlineMs: 10000 } },
      shutdown: { timeoutSeconds: 15 },
    };
    const json = JSON.stringify(config, null, 2);
    const configMap = new kplus.ConfigMap(scope, 'Config', { metadata: { name: `${name}-cache`, namespace: NAMESPACE }, data: { 'config.json': json } });
    const deployment = new kplus.Deployment(scope, 'Workload', {
      metadata: { name, namespace: NAMESPACE },
      replicas: 3,
      securityContext: { user: 10001, group: 10001, fsGroup: 10001, ensureNonRoot: true, fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH },
      automountServiceAccountToken: false,
      terminationGracePeriod: Duration.seconds(30),
      podMetadata: { annotations: { 'cdk8s-state.dev/config-sha256': createHash('sha256').update(json).digest('hex') } },
    });
    const cache = deployment.addInitContainer({
      name: 'state-cache',
      image,
      ports: [{ name: 'resp', number: 6379 }, { name: 'http', number: 8080 }],
      envVariables: { STATE_CACHE_PASSWORD: kplus.EnvValue.fromSecretValue({ secret: password, key: 'password' }) },
      resources: {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(1000) },
        memory: { request: Size.mebibytes(314), limit: Size.mebibytes(314) },
        ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(1) },
      },
      securityContext: secure,
      startup: kplus.Probe.fromHttpGet('/readyz', { port: 8080, periodSeconds: Duration.seconds(5), failureThreshold: 18 }),
      readiness: kplus.Probe.fromHttpGet('/readyz', { port: 8080, periodSeconds: Duration.seconds(5), failureThreshold: 2 }),
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: 8080, periodSeconds: Duration.seconds(10), failureThreshold: 3 }),
      restartPolicy: kplus.ContainerRestartPolicy.ALWAYS,
    });
    const app = deployment.addContainer({
      ...appProps(i),
      envVariables: {
        CACHE_HOST: kplus.EnvValue.fromValue('127.0.0.1'),
        CACHE_PORT: kplus.EnvValue.fromValue('6379'),
        CACHE_PASSWORD: kplus.EnvValue.fromSecretValue({ secret: password, key: 'password' }),
        REDIS_URL: kplus.EnvValue.fromValue('redis://:$(CACHE_PASSWORD)@127.0.0.1:6379'),
      },
      securityContext: secure,
      resources: {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(1000) },
        memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) },
        ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(1) },
      },
    });
    app.mount('/tmp', kplus.Volume.fromEmptyDir(scope, 'AppTmpVolume', 'app-tmp', { sizeLimit: Size.mebibytes(256) }));
    cache.mount('/etc/state-cache', kplus.Volume.fromConfigMap(scope, 'ConfigVolume', configMap, { name: 'config' }), { readOnly: true });
    cache.mount('/tmp', kplus.Volume.fromEmptyDir(scope, 'TmpVolume', 'tmp', { sizeLimit: Size.mebibytes(64) }));
    cache.mount('/var/lib/state-cache', kplus.Volume.fromEmptyDir(scope, 'DataVolume', 'data', { sizeLimit: Size.mebibytes(256) }));
    new kplus.Service(scope, 'Service', { metadata: { name, namespace: NAMESPACE }, selector: deployment, ports: [{ name: 'app', port: 3000, targetPort: 3000 }] });
    new kplus.k8s.KubePodDisruptionBudget(scope, 'Pdb', {
      metadata: { name: deployment.name, namespace: NAMESPACE },
      spec: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1), unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: deployment.matchLabels } },
    });
    deployment.scheduling.spread({ weight: 100, topology: kplus.Topology.HOSTNAME });
    deployment.scheduling.spread({ weight: 50, topology: kplus.Topology.ZONE });
    const sameNamespace = kplus.Pods.all(scope, 'SameNamespace');
    const kubeDns = kplus.Pods.select(scope, 'KubeDns', {
      labels: { 'k8s-app': 'kube-dns' },
      namespaces: kplus.Namespaces.select(scope, 'KubeSystem', { names: ['kube-system'] }),
    });
    new kplus.NetworkPolicy(scope, 'NetworkPolicy', {
      metadata: { name, namespace: NAMESPACE },
      selector: deployment,
      ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY, rules: [{ peer: sameNamespace, ports: [kplus.NetworkPolicyPort.tcp(3000)] }] },
      egress: { default: kplus.NetworkPolicyTrafficDefault.DENY, rules: [{ peer: kubeDns, ports: [kplus.NetworkPolicyPort.udp(53), kplus.NetworkPolicyPort.tcp(53)] }] },
    });
  }
  return chart;
}

/** Builds and synthesises a chart; returns the manifests and the time it took. */
function run(build: () => Chart): { ms: number; manifests: any[] } {
  const started = process.hrtime.bigint();
  const manifests = build().toJson();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, manifests };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function main(): void {
  // Both must produce the same manifests, or the comparison means nothing.
  const a = run(withCachedApp).manifests;
  const b = run(handWritten).manifests;
  if (a.length !== b.length || !a.every((m, i) => isDeepStrictEqual(m, b[i]))) {
    const i = a.findIndex((m, k) => !isDeepStrictEqual(m, b[k]));
    console.error(`bench:synth: the hand-written chart differs from CachedApp's at manifest ${i}:\n`
      + `CachedApp:    ${JSON.stringify(a[i])}\nhand-written: ${JSON.stringify(b[i])}`);
    process.exit(1);
  }
  console.log(`bench:synth: ${APPS} apps, ${a.length} manifests each way, outputs identical`);

  const cached: number[] = [];
  const plain: number[] = [];
  // One warm-up of each (JIT), not counted.
  run(handWritten);
  run(withCachedApp);
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate, and swap which goes first each round, so drift on a shared
    // machine and the garbage the previous run left hit both sides alike.
    if (r % 2 === 0) {
      plain.push(run(handWritten).ms);
      cached.push(run(withCachedApp).ms);
    } else {
      cached.push(run(withCachedApp).ms);
      plain.push(run(handWritten).ms);
    }
    console.log(`  round ${r + 1}: cdk8s-plus by hand ${plain[r].toFixed(0)} ms, CachedApp ${cached[r].toFixed(0)} ms`);
  }
  const minRatio = Math.min(...cached) / Math.min(...plain);
  const medianRatio = median(cached) / median(plain);
  console.log(`bench:synth: fastest ${Math.min(...cached).toFixed(0)} ms vs ${Math.min(...plain).toFixed(0)} ms = ${minRatio.toFixed(2)}x; `
    + `median ${median(cached).toFixed(0)} ms vs ${median(plain).toFixed(0)} ms = ${medianRatio.toFixed(2)}x (target <= 1.2x)`);

  const section = [
    START,
    '## Synth: CachedApp against cdk8s-plus by hand',
    '',
    'What `CachedApp` costs at synth time, against the same manifests written by hand with',
    'cdk8s-plus-28 (`scripts/bench-synth.ts` builds both and checks that the outputs are identical:',
    `${APPS} apps of three replicas, each with a native state-cache sidecar, a password, a config`,
    'ConfigMap and its checksum, a Service, a PDB, spreading and a NetworkPolicy). Both are',
    `built and synthesised (\`chart.toJson()\`) alternately (after a warm-up, the first of each pair swapped every round),`,
    `${ROUNDS} rounds each, in one process.`,
    'Regenerate with `npm run bench:synth`.',
    '',
    '| | fastest | median |',
    '| --- | --- | --- |',
    `| cdk8s-plus by hand | ${Math.min(...plain).toFixed(0)} ms | ${median(plain).toFixed(0)} ms |`,
    `| CachedApp | ${Math.min(...cached).toFixed(0)} ms | ${median(cached).toFixed(0)} ms |`,
    `| CachedApp / by hand | ${minRatio.toFixed(2)}× | ${medianRatio.toFixed(2)}× |`,
    '',
    `Target: at most 1.2×. ${cpus().length} CPUs shared with other work, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z.`,
    END,
  ].join('\n');
  const file = join(__dirname, '..', 'docs', 'benchmarks.md');
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = before.indexOf(START);
  const end = before.indexOf(END);
  // Replace only this section; other benchmarks in the file stay as they are.
  const after = start >= 0 && end > start
    ? `${before.slice(0, start)}${section}${before.slice(end + END.length)}`
    : `${before.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, after);
  console.log('bench:synth: wrote its section of docs/benchmarks.md');
}

main();

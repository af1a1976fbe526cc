/**
 * The manifest checks themselves: a baseline that passes every rule, then
 * for each rule a mutation that breaks it (asserting the exact finding) and
 * a passing counterpart.
 */
import { ApiObject, Chart, Duration, JsonPatch, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { checkManifests, expectNoFindings, Finding, RULES, synthAndCheck } from './manifest-checks';

const LABELS = Object.freeze({ 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'shop' });

function container(name: string, port: number, portName: string): any {
  return {
    name,
    image: `ghcr.io/cdk8s-state/${name}:1.4.2`,
    ports: [{ name: portName, containerPort: port }],
    resources: {
      requests: { 'cpu': '100m', 'memory': '128Mi', 'ephemeral-storage': '64Mi' },
      limits: { 'memory': '256Mi', 'ephemeral-storage': '128Mi' },
    },
    startupProbe: { httpGet: { path: '/healthz', port: portName }, failureThreshold: 30, periodSeconds: 1 },
    readinessProbe: { httpGet: { path: '/readyz', port: portName } },
    livenessProbe: { httpGet: { path: '/healthz', port: portName } },
    securityContext: {
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
}

/** A Deployment with 2 replicas, a native sidecar and an init container, plus its PDB, NetworkPolicy and Service. */
function baseline(): any[] {
  const app = container('app', 8080, 'http');
  app.env = [
    { name: 'CACHE_URL', value: 'redis://127.0.0.1:6379' },
    { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
    { name: 'PGPASSWORD_FILE', value: '/bindings/db/password' },
    { name: 'DATABASE_URL', value: 'postgres://$(PGUSER):$(PGPASSWORD)@db.example.com:5432/shop' },
  ];
  const cache = { ...container('state-cache', 6380, 'cache-http'), restartPolicy: 'Always' };
  const migrate = container('migrate', 9000, 'unused');
  delete migrate.startupProbe;
  delete migrate.readinessProbe;
  delete migrate.livenessProbe;
  delete migrate.ports;
  // A JSON round trip, so a test that changes one object's labels changes only that object.
  return JSON.parse(JSON.stringify([
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: LABELS },
      spec: {
        replicas: 2,
        selector: { matchLabels: LABELS },
        template: {
          metadata: { labels: LABELS, annotations: { 'cdk8s-state.io/config-checksum': 'abc' } },
          spec: {
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 45,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 20000,
              runAsGroup: 20000,
              fsGroup: 20000,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            initContainers: [migrate, cache],
            containers: [app],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
            topologySpreadConstraints: [{
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: LABELS },
            }],
          },
        },
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web' },
      spec: { maxUnavailable: 1, selector: { matchLabels: LABELS }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'web' },
      spec: {
        podSelector: { matchLabels: LABELS },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [{ port: 'http', protocol: 'TCP' }] }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: LABELS, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
  ]));
}

/** A StatefulSet with its headless Service, PDB and NetworkPolicy. */
function statefulBaseline(): any[] {
  const labels = { 'app.kubernetes.io/name': 'cache', 'app.kubernetes.io/instance': 'shop' };
  const [deployment, pdb, policy] = baseline();
  const sts = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'cache' },
    spec: {
      replicas: 3,
      serviceName: 'cache-headless',
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: deployment.spec.template.spec },
      volumeClaimTemplates: [{
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOncePod'], resources: { requests: { storage: '1Gi' } } },
      }],
    },
  };
  const podSpec = sts.spec.template.spec;
  delete podSpec.initContainers;
  podSpec.topologySpreadConstraints[0].labelSelector = { matchLabels: labels };
  return JSON.parse(JSON.stringify([
    sts,
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cache-headless' }, spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'resp', port: 6379 }] } },
    { ...pdb, metadata: { name: 'cache' }, spec: { ...pdb.spec, selector: { matchLabels: labels } } },
    { ...policy, metadata: { name: 'cache' }, spec: { ...policy.spec, podSelector: { matchLabels: labels } } },
  ]));
}

/**
 * The baseline scraped by Prometheus: a PodMonitor on the sidecar's port and
 * a ServiceMonitor through a metrics Service, with the NetworkPolicy admitting
 * that port from the monitoring namespace.
 */
function monitoringBaseline(): any[] {
  const ms = baseline();
  ms[2].spec.ingress.push({
    from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
    ports: [{ port: 6380, protocol: 'TCP' }],
  });
  const endpoint = { port: 'cache-http', path: '/metrics', interval: '30s' };
  return JSON.parse(JSON.stringify([
    ...ms,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web-metrics', labels: { 'app.kubernetes.io/component': 'metrics' } },
      spec: { clusterIP: 'None', selector: LABELS, ports: [{ name: 'metrics', port: 6380, targetPort: 'cache-http' }] },
    },
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: LABELS }, podMetricsEndpoints: [endpoint] },
    },
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { 'app.kubernetes.io/component': 'metrics' } }, endpoints: [{ ...endpoint, port: 'metrics' }] },
    },
  ]));
}

/** rule, object, path of each finding, in order. */
function summary(findings: Finding[]): string[] {
  return findings.map((f) => `${f.rule} ${f.object} ${f.path}`);
}

function findingsAfter(mutate: (ms: any[]) => void, base: () => any[] = baseline): Finding[] {
  const ms = base();
  mutate(ms);
  return checkManifests(ms);
}

const POD = 'spec.template.spec';
const APP = `${POD}.containers[0]`;
const MIGRATE = `${POD}.initContainers[0]`;
const SIDECAR = `${POD}.initContainers[1]`;
const podOf = (ms: any[]) => ms[0].spec.template.spec;
const app = (ms: any[]) => podOf(ms).containers[0];
const migrate = (ms: any[]) => podOf(ms).initContainers[0];
const sidecar = (ms: any[]) => podOf(ms).initContainers[1];

describe('baselines', () => {
  test('the plain-object baseline passes every rule', () => {
    expect(checkManifests(baseline())).toEqual([]);
  });

  test('the StatefulSet baseline passes every rule', () => {
    expect(checkManifests(statefulBaseline())).toEqual([]);
  });

  test('a cdk8s-plus-28 Deployment with secure settings passes', () => {
    const chart = new Chart(Testing.app(), 'shop');
    const resources: kplus.ContainerResources = {
      cpu: { request: kplus.Cpu.millis(100) },
      memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
      ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(2) },
    };
    const web = new kplus.Deployment(chart, 'web', {
      replicas: 2,
      spread: true,
      automountServiceAccountToken: false,
      securityContext: { ensureNonRoot: true, user: 20000, group: 20000, fsGroup: 20000 },
      containers: [{
        name: 'app',
        image: 'ghcr.io/cdk8s-state/app:1.4.2',
        ports: [{ number: 8080, name: 'http' }],
        resources,
        readiness: kplus.Probe.fromHttpGet('/readyz', { port: 8080 }),
        liveness: kplus.Probe.fromHttpGet('/healthz', { port: 8080 }),
        startup: kplus.Probe.fromHttpGet('/healthz', { port: 8080, failureThreshold: 30, periodSeconds: Duration.seconds(1) }),
        securityContext: {
          ensureNonRoot: true,
          user: 20000,
          group: 20000,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: [kplus.Capability.ALL] },
          seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
        },
      }],
    });
    web.exposeViaService({ ports: [{ port: 80, targetPort: 8080 }] });
    new kplus.NetworkPolicy(chart, 'policy', { selector: web });
    new kplus.k8s.KubePodDisruptionBudget(chart, 'pdb', {
      spec: {
        maxUnavailable: kplus.k8s.IntOrString.fromNumber(1),
        selector: { matchLabels: web.matchLabels },
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      },
    });
    const manifests = synthAndCheck(chart);
    expect(manifests.map((m) => m.kind).sort()).toEqual(['Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Service']);

    // The same chart with cdk8s-plus defaults only would fail: the checks see what kplus leaves out.
    const bare = new Chart(Testing.app(), 'bare');
    new kplus.Deployment(bare, 'web', { replicas: 2, containers: [{ image: 'ghcr.io/cdk8s-state/app:1.4.2', portNumber: 8080 }] });
    const rules = new Set(checkManifests(Testing.synth(bare)).map((f) => f.rule));
    expect([...rules].sort()).toEqual([
      'drop-all', 'ephemeral-storage', 'high-uid', 'liveness-probe', 'network-policy', 'pdb', 'readiness-probe', 'seccomp', 'spread',
    ]);
  });
});

describe('schema', () => {
  test('a value of the wrong type', () => {
    const f = findingsAfter((ms) => { app(ms).ports[0].containerPort = '8080'; });
    expect(f).toEqual([
      { object: 'Deployment/web', path: `${APP}.ports[0].containerPort`, rule: 'schema', message: 'must be of type integer' },
    ]);
  });

  test('a missing required field', () => {
    const f = findingsAfter((ms) => { delete ms[3].spec.ports[0].port; });
    expect(f).toEqual([
      { object: 'Service/web', path: 'spec.ports[0].port', rule: 'schema', message: 'required field "port" is missing' },
    ]);
  });

  test('an IntOrString that is neither', () => {
    const f = findingsAfter((ms) => { ms[1].spec.maxUnavailable = { n: 1 }; });
    expect(summary(f)).toContain('schema PodDisruptionBudget/web spec.maxUnavailable');
    expect(f.find((x) => x.rule === 'schema')!.message).toBe('must be one of the types string or integer');
  });

  test('an enum value that does not exist', () => {
    const f = findingsAfter((ms) => { ms[1].spec.unhealthyPodEvictionPolicy = 'Always'; });
    expect(f).toEqual([{
      object: 'PodDisruptionBudget/web',
      path: 'spec.unhealthyPodEvictionPolicy',
      rule: 'schema',
      message: 'must be one of "AlwaysAllow", "IfHealthyBudget"',
    }]);
  });

  test('something that is not a Kubernetes object', () => {
    expect(checkManifests([{ kind: 'Deployment' }])).toEqual([{
      object: '?[0]',
      path: '',
      rule: 'schema',
      message: 'manifest 0 is not a Kubernetes object (it needs string apiVersion and kind): {"kind":"Deployment"}',
    }]);
  });

  test('a kind 1.28 no longer serves', () => {
    const f = findingsAfter((ms) => { ms[1].apiVersion = 'policy/v1beta1'; });
    expect(f).toEqual([
      {
        object: 'PodDisruptionBudget/web',
        path: 'apiVersion',
        rule: 'schema',
        message: 'Kubernetes 1.28 does not serve kind PodDisruptionBudget in policy/v1beta1 (removed, misspelt or newer than 1.28)',
      },
      // ... so the Deployment has no PDB any more.
      expect.objectContaining({ object: 'Deployment/web', rule: 'pdb' }),
    ]);
  });

  test('init containers that are not native sidecars must not have probes', () => {
    const f = findingsAfter((ms) => { migrate(ms).readinessProbe = { tcpSocket: { port: 9000 } }; });
    expect(summary(f)).toEqual([`schema Deployment/web ${MIGRATE}.readinessProbe`]);
    expect(f[0].message).toBe('init container "migrate" is an ordinary init container (no restartPolicy: Always), and the API server rejects readinessProbe on it');
  });

  test('restartPolicy on a main container', () => {
    const f = findingsAfter((ms) => { app(ms).restartPolicy = 'Always'; });
    expect(summary(f)).toEqual([`schema Deployment/web ${APP}.restartPolicy`]);
  });
});

describe('custom resources', () => {
  const externalSecret = () => ({
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'db-credentials', labels: { 'app.kubernetes.io/name': 'web' } },
    spec: {
      secretStoreRef: { name: 'vault', kind: 'ClusterSecretStore' },
      target: { name: 'db' },
      data: [{ secretKey: 'password', remoteRef: { key: 'shop/db', property: 'password' } }],
      anyFieldTheOperatorDefines: true,
    },
  });

  test('an ExternalSecret with the basic shape passes, with fields of its own', () => {
    expect(checkManifests([...baseline(), externalSecret()])).toEqual([]);
  });

  test('an ExternalSecret with a version the operator no longer serves, no store and nothing to fetch', () => {
    const es: any = externalSecret();
    es.apiVersion = 'external-secrets.io/v1beta1';
    delete es.spec.secretStoreRef;
    delete es.spec.data;
    expect(checkManifests([es])).toEqual([
      {
        object: 'ExternalSecret/db-credentials',
        path: 'apiVersion',
        rule: 'schema',
        message: 'external-secrets.io/v1beta1 is not served: External Secrets Operator serves only external-secrets.io/v1 since 0.17 (v1beta1 is no longer served)',
      },
      {
        object: 'ExternalSecret/db-credentials',
        path: 'spec.secretStoreRef.name',
        rule: 'schema',
        message: 'an ExternalSecret needs spec.secretStoreRef.name (the SecretStore or ClusterSecretStore to read from)',
      },
      {
        object: 'ExternalSecret/db-credentials',
        path: 'spec.data',
        rule: 'schema',
        message: 'an ExternalSecret needs spec.data or spec.dataFrom, or it fetches nothing',
      },
    ]);
  });

  test('an ExternalSecret is checked against the external-secrets.io/v1 schema', () => {
    const es: any = externalSecret();
    es.spec.secretStoreRef.kind = 'SecretStorage';
    delete es.spec.data[0].remoteRef;
    expect(checkManifests([es])).toEqual([
      { object: 'ExternalSecret/db-credentials', path: 'spec.data[0].remoteRef', rule: 'schema', message: 'required field "remoteRef" is missing' },
      { object: 'ExternalSecret/db-credentials', path: 'spec.secretStoreRef.kind', rule: 'schema', message: 'must be one of "SecretStore", "ClusterSecretStore"' },
    ]);
  });

  test('Prometheus Operator objects are checked against the monitoring.coreos.com/v1 schemas', () => {
    const ms = monitoringBaseline();
    expect(checkManifests(ms)).toEqual([]);
    ms[5].spec.podMetricsEndpoints[0].interval = '30 seconds';
    ms.push({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'web' },
      spec: { groups: [{ name: 'web', rules: [{ alert: 'WebDown', expr: 'up == 0', for: 'five minutes' }, { alert: 'NoExpr' }] }] },
    });
    expect(summary(checkManifests(ms))).toEqual([
      'schema PodMonitor/web spec.podMetricsEndpoints[0].interval',
      'schema PrometheusRule/web spec.groups[0].rules[0].for',
      'schema PrometheusRule/web spec.groups[0].rules[1].expr',
    ]);
  });

  test('a custom resource with a bad name, a non-string label and unknown metadata', () => {
    const f = checkManifests([{
      apiVersion: 'example.com/v1alpha1',
      kind: 'Widget',
      metadata: { name: 'Not_A_Name', labels: { tier: 3 }, label: {} },
    }]);
    expect(summary(f)).toEqual([
      'schema Widget/Not_A_Name metadata.name',
      'schema Widget/Not_A_Name metadata.labels.tier',
      'unknown-field Widget/Not_A_Name metadata.label',
    ]);
    expect(f[2].message).toBe('"label" is not a field of ObjectMeta in the Kubernetes 1.28 API (did you mean "labels"?)');
  });
});

describe('unknown fields (Kubernetes 1.28)', () => {
  test('deep inside a pod spec, with a suggestion', () => {
    const f = findingsAfter((ms) => { app(ms).securityContext.capabilities.dropp = ['NET_RAW']; });
    expect(f).toEqual([{
      object: 'Deployment/web',
      path: `${APP}.securityContext.capabilities.dropp`,
      rule: 'unknown-field',
      message: '"dropp" is not a field of Capabilities in the Kubernetes 1.28 API (did you mean "drop"?)',
    }]);
  });

  test('a field with the wrong case (the JSON name is hostIPC)', () => {
    const f = findingsAfter((ms) => { podOf(ms).hostIpc = false; });
    expect(f).toEqual([{
      object: 'Deployment/web',
      path: `${POD}.hostIpc`,
      rule: 'unknown-field',
      message: '"hostIpc" is not a field of PodSpec in the Kubernetes 1.28 API (did you mean "hostIPC"?)',
    }]);
  });

  test('fields added after 1.28: preStop sleep (1.29) and appArmorProfile (1.30)', () => {
    const f = findingsAfter((ms) => {
      sidecar(ms).lifecycle = { preStop: { sleep: { seconds: 5 } } };
      podOf(ms).securityContext.appArmorProfile = { type: 'RuntimeDefault' };
    });
    expect(f).toEqual([
      {
        object: 'Deployment/web',
        path: `${POD}.securityContext.appArmorProfile`,
        rule: 'unknown-field',
        message: '"appArmorProfile" is not a field of PodSecurityContext in the Kubernetes 1.28 API (a typo, a field in the wrong place, or one added after 1.28)',
      },
      {
        object: 'Deployment/web',
        path: `${SIDECAR}.lifecycle.preStop.sleep`,
        rule: 'unknown-field',
        message: '"sleep" is not a field of LifecycleHandler in the Kubernetes 1.28 API (a typo, a field in the wrong place, or one added after 1.28)',
      },
    ]);
  });

  test('1.28 fields pass: native sidecar restartPolicy, resizePolicy (1.27), PDB unhealthyPodEvictionPolicy', () => {
    const f = findingsAfter((ms) => {
      app(ms).resizePolicy = [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }];
    });
    expect(f).toEqual([]);
  });

  test('a field at the top level and in metadata', () => {
    const f = findingsAfter((ms) => {
      ms[3].metadata.label = { a: 'b' };
      ms[3].specs = {};
    });
    expect(summary(f)).toEqual([
      'unknown-field Service/web metadata.label',
      'unknown-field Service/web specs',
    ]);
  });

  test('free-form maps are not field lists: labels, annotations, data, parameters, quantities', () => {
    const f = findingsAfter((ms) => {
      ms.push(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { 'any.thing/at-all': 'x' } }, data: { 'config.json': '{}', 'anyKey': 'v' } },
        { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' }, provisioner: 'ebs.csi.aws.com', parameters: { type: 'gp3', iops: '3000' } },
      );
      app(ms).resources.limits['example.com/gpu'] = 1;
      ms[0].spec.template.metadata.labels.extra = 'label';
    });
    expect(f).toEqual([]);
  });

  test('an unknown field inside an array item of a non-pod kind', () => {
    const f = findingsAfter((ms) => { ms[2].spec.ingress[0].ports[0].portNumber = 8080; });
    expect(summary(f)).toEqual(['unknown-field NetworkPolicy/web spec.ingress[0].ports[0].portNumber']);
  });
});

describe('removed in-tree storage', () => {
  test('a removed volume type in a pod template names the CSI driver', () => {
    const f = findingsAfter((ms) => { podOf(ms).volumes.push({ name: 'data', awsElasticBlockStore: { volumeID: 'vol-1', fsType: 'ext4' } }); });
    expect(f).toEqual([{
      object: 'Deployment/web',
      path: `${POD}.volumes[1].awsElasticBlockStore`,
      rule: 'removed-volume',
      message: 'the in-tree "awsElasticBlockStore" volume type is removed in 1.27; use the AWS EBS CSI driver: csi.driver "ebs.csi.aws.com"',
    }]);
  });

  test('removed and deprecated types in a PersistentVolume', () => {
    const pv = (name: string, source: Record<string, unknown>) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], ...source },
    });
    const f = checkManifests([
      pv('gce', { gcePersistentDisk: { pdName: 'disk-1' } }),
      pv('gluster', { glusterfs: { endpoints: 'gluster', path: 'vol' } }),
      pv('ceph', { rbd: { monitors: ['10.0.0.1:6789'], image: 'img' } }),
      pv('csi', { csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: 'disk-1' } }),
    ]);
    expect(f.map((x) => `${x.object} ${x.path} ${x.message}`)).toEqual([
      'PersistentVolume/gce spec.gcePersistentDisk the in-tree "gcePersistentDisk" volume type is removed in 1.28; use the GCE PD CSI driver: csi.driver "pd.csi.storage.gke.io"',
      'PersistentVolume/gluster spec.glusterfs the in-tree "glusterfs" volume type is removed in 1.26 with no CSI migration; use a GlusterFS CSI driver installed in the cluster, through a csi volume or a StorageClass',
      'PersistentVolume/ceph spec.rbd the in-tree "rbd" volume type is deprecated in 1.28, removed in 1.31; use the Ceph CSI RBD driver: csi.driver "rbd.csi.ceph.com"',
    ]);
    expect(new Set(f.map((x) => x.rule))).toEqual(new Set(['removed-volume']));
  });

  test('in-tree provisioners in a StorageClass; CSI and no-provisioner pass', () => {
    const sc = (name: string, provisioner: string) => ({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner });
    const f = checkManifests([
      sc('ebs', 'kubernetes.io/aws-ebs'),
      sc('odd', 'kubernetes.io/some-other'),
      sc('csi', 'ebs.csi.aws.com'),
      sc('local', 'kubernetes.io/no-provisioner'),
    ]);
    expect(f).toEqual([
      {
        object: 'StorageClass/ebs',
        path: 'provisioner',
        rule: 'intree-provisioner',
        message: '"kubernetes.io/aws-ebs" is an in-tree provisioner (removed or migrated to CSI by 1.28); use provisioner "ebs.csi.aws.com"',
      },
      {
        object: 'StorageClass/odd',
        path: 'provisioner',
        rule: 'intree-provisioner',
        message: '"kubernetes.io/some-other" is an in-tree provisioner (removed or migrated to CSI by 1.28); use the CSI driver for this storage',
      },
    ]);
  });
});

/**
 * One row per rule: a mutation of the baseline that breaks it, the findings
 * it must produce (rule, object, path), a fragment of the message, and a
 * mutation that reaches the same goal in a way that passes.
 */
interface RuleCase {
  readonly name: string;
  readonly breaks: (ms: any[]) => void;
  readonly expected: string[];
  readonly message: string;
  readonly passes: (ms: any[]) => void;
  readonly base?: () => any[];
}

const cases: RuleCase[] = [
  {
    name: 'requests: a CPU request',
    breaks: (ms) => { delete app(ms).resources.requests.cpu; },
    expected: [`requests Deployment/web ${APP}.resources.requests.cpu`],
    message: 'container "app" has no cpu request; set resources.requests.cpu so the scheduler reserves it',
    passes: (ms) => { app(ms).resources.requests.cpu = 2; },
  },
  {
    name: 'requests: a memory request, on an ordinary init container too',
    breaks: (ms) => { delete migrate(ms).resources.requests.memory; },
    expected: [`requests Deployment/web ${MIGRATE}.resources.requests.memory`],
    message: 'init container "migrate" has no memory request',
    passes: (ms) => { migrate(ms).resources.requests.memory = '1Gi'; migrate(ms).resources.limits.memory = '1Gi'; },
  },
  {
    name: 'requests: a CPU request above its limit',
    breaks: (ms) => { app(ms).resources.limits.cpu = '50m'; },
    expected: [`requests Deployment/web ${APP}.resources.requests.cpu`],
    message: 'container "app" requests 100m cpu but is limited to 50m; the API server rejects a request above its limit',
    passes: (ms) => { app(ms).resources.limits.cpu = '0.1'; },
  },
  {
    name: 'memory-limit: a memory limit',
    breaks: (ms) => { delete sidecar(ms).resources.limits.memory; },
    expected: [`memory-limit Deployment/web ${SIDECAR}.resources.limits.memory`],
    message: 'native sidecar "state-cache" has no memory limit; set resources.limits.memory',
    passes: (ms) => { delete sidecar(ms).resources.limits.cpu; },
  },
  {
    name: 'memory-limit: a request above the limit',
    breaks: (ms) => { app(ms).resources.requests.memory = '1Gi'; },
    expected: [`memory-limit Deployment/web ${APP}.resources.requests.memory`],
    message: 'requests 1Gi memory but is limited to 256Mi',
    passes: (ms) => { app(ms).resources.requests.memory = '268435456'; },
  },
  {
    name: 'ephemeral-storage: request and limit',
    breaks: (ms) => { delete app(ms).resources.requests['ephemeral-storage']; delete app(ms).resources.limits['ephemeral-storage']; },
    expected: [
      `ephemeral-storage Deployment/web ${APP}.resources.requests.ephemeral-storage`,
      `ephemeral-storage Deployment/web ${APP}.resources.limits.ephemeral-storage`,
    ],
    message: 'container "app" has no ephemeral-storage request',
    passes: (ms) => { app(ms).resources.limits['ephemeral-storage'] = '1Gi'; },
  },
  {
    name: 'image-tag: latest',
    breaks: (ms) => { app(ms).image = 'ghcr.io/cdk8s-state/app:latest'; },
    expected: [`image-tag Deployment/web ${APP}.image`],
    message: 'container "app" image "ghcr.io/cdk8s-state/app:latest" uses :latest; pin a version tag or an @sha256 digest',
    passes: (ms) => { app(ms).image = 'ghcr.io/cdk8s-state/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'; },
  },
  {
    name: 'image-tag: no tag at all (a registry port is not a tag)',
    breaks: (ms) => { migrate(ms).image = 'registry.local:5000/cdk8s-state/migrate'; },
    expected: [`image-tag Deployment/web ${MIGRATE}.image`],
    message: 'init container "migrate" image "registry.local:5000/cdk8s-state/migrate" has no tag, so it means :latest',
    passes: (ms) => { migrate(ms).image = 'registry.local:5000/cdk8s-state/migrate:2.0.1'; },
  },
  {
    name: 'readiness-probe: on a main container',
    breaks: (ms) => { delete app(ms).readinessProbe; },
    expected: [`readiness-probe Deployment/web ${APP}.readinessProbe`],
    message: 'container "app" has no readinessProbe',
    passes: (ms) => { app(ms).readinessProbe = { tcpSocket: { port: 8080 } }; },
  },
  {
    name: 'readiness-probe: on a native sidecar (ordinary init containers need none)',
    breaks: (ms) => { delete sidecar(ms).readinessProbe; },
    expected: [`readiness-probe Deployment/web ${SIDECAR}.readinessProbe`],
    message: 'native sidecar "state-cache" has no readinessProbe; without one it gets traffic and the app starts before it is ready',
    passes: (ms) => { delete migrate(ms).readinessProbe; },
  },
  {
    name: 'liveness-probe: missing',
    breaks: (ms) => { delete sidecar(ms).livenessProbe; },
    expected: [`liveness-probe Deployment/web ${SIDECAR}.livenessProbe`],
    message: 'native sidecar "state-cache" has no livenessProbe; a hung process is never restarted',
    passes: (ms) => { sidecar(ms).livenessProbe = { exec: { command: ['state-cache', 'ping'] } }; },
  },
  {
    name: 'liveness-probe: the same check as readiness',
    breaks: (ms) => { app(ms).livenessProbe = { ...app(ms).readinessProbe, periodSeconds: 20 }; },
    expected: [`liveness-probe Deployment/web ${APP}.livenessProbe`],
    message: 'container "app" has the same livenessProbe check as its readinessProbe',
    passes: (ms) => { app(ms).livenessProbe = { httpGet: { path: '/readyz', port: 8080 } }; },
  },
  {
    name: 'probe-port: a port name the container does not have',
    breaks: (ms) => { app(ms).readinessProbe.httpGet.port = 'web'; },
    expected: [`probe-port Deployment/web ${APP}.readinessProbe.httpGet.port`],
    message: 'container "app" readinessProbe checks port "web", which is not one of its ports (declared: 8080 (http)); declare it in ports or probe a declared one',
    passes: (ms) => { app(ms).readinessProbe.httpGet.port = 8080; },
  },
  {
    name: 'probe-port: a port number of another container',
    breaks: (ms) => { sidecar(ms).startupProbe = { tcpSocket: { port: 8080 } }; },
    expected: [`probe-port Deployment/web ${SIDECAR}.startupProbe.tcpSocket.port`],
    message: 'native sidecar "state-cache" startupProbe checks port 8080',
    passes: (ms) => { sidecar(ms).startupProbe = { tcpSocket: { port: 6380 } }; },
  },
  {
    name: 'run-as-non-root: not set anywhere',
    breaks: (ms) => { delete podOf(ms).securityContext.runAsNonRoot; },
    expected: [
      `run-as-non-root Deployment/web ${MIGRATE}.securityContext.runAsNonRoot`,
      `run-as-non-root Deployment/web ${SIDECAR}.securityContext.runAsNonRoot`,
      `run-as-non-root Deployment/web ${APP}.securityContext.runAsNonRoot`,
    ].sort(),
    message: 'may run as root; set runAsNonRoot: true (container or pod securityContext)',
    passes: (ms) => {
      delete podOf(ms).securityContext.runAsNonRoot;
      for (const c of [app(ms), migrate(ms), sidecar(ms)]) c.securityContext.runAsNonRoot = true;
    },
  },
  {
    name: 'run-as-non-root: a container overrides the pod with false',
    breaks: (ms) => { app(ms).securityContext.runAsNonRoot = false; },
    expected: [`run-as-non-root Deployment/web ${APP}.securityContext.runAsNonRoot`],
    message: 'container "app" may run as root',
    passes: (ms) => { app(ms).securityContext.runAsNonRoot = true; },
  },
  {
    name: 'run-as-non-root: UID 0',
    breaks: (ms) => { app(ms).securityContext.runAsUser = 0; },
    expected: [`run-as-non-root Deployment/web ${APP}.securityContext.runAsUser`],
    message: 'container "app" runs as UID 0 (root); set runAsUser above 10000',
    passes: (ms) => { app(ms).securityContext.runAsUser = 10001; },
  },
  {
    name: 'high-uid: a low UID on one container',
    breaks: (ms) => { sidecar(ms).securityContext.runAsUser = 1000; },
    expected: [`high-uid Deployment/web ${SIDECAR}.securityContext.runAsUser`],
    message: 'native sidecar "state-cache" runs with UID 1000; use one above 10000 so it cannot collide with a host user',
    passes: (ms) => { sidecar(ms).securityContext.runAsUser = 30000; },
  },
  {
    name: 'high-uid: no GID anywhere',
    breaks: (ms) => { delete podOf(ms).securityContext.runAsGroup; },
    expected: [
      `high-uid Deployment/web ${APP}.securityContext.runAsGroup`,
      `high-uid Deployment/web ${MIGRATE}.securityContext.runAsGroup`,
      `high-uid Deployment/web ${SIDECAR}.securityContext.runAsGroup`,
    ].sort(),
    message: 'sets no runAsGroup, so the image decides its GID; set runAsGroup above 10000 (container or pod securityContext)',
    passes: (ms) => {
      delete podOf(ms).securityContext.runAsGroup;
      for (const c of [app(ms), migrate(ms), sidecar(ms)]) c.securityContext.runAsGroup = 20001;
    },
  },
  {
    name: 'high-uid: a low fsGroup',
    breaks: (ms) => { podOf(ms).securityContext.fsGroup = 2000; },
    expected: [`high-uid Deployment/web ${POD}.securityContext.fsGroup`],
    message: 'fsGroup 2000 is a low GID; use one above 10000',
    passes: (ms) => { delete podOf(ms).securityContext.fsGroup; },
  },
  {
    name: 'read-only-root',
    breaks: (ms) => { delete migrate(ms).securityContext.readOnlyRootFilesystem; },
    expected: [`read-only-root Deployment/web ${MIGRATE}.securityContext.readOnlyRootFilesystem`],
    message: 'init container "migrate" can write to its root filesystem; set readOnlyRootFilesystem: true and mount an emptyDir for temporary files',
    passes: (ms) => { migrate(ms).securityContext.readOnlyRootFilesystem = true; },
  },
  {
    name: 'privilege-escalation',
    breaks: (ms) => { app(ms).securityContext.allowPrivilegeEscalation = true; },
    expected: [`privilege-escalation Deployment/web ${APP}.securityContext.allowPrivilegeEscalation`],
    message: 'container "app" may gain privileges (setuid binaries); set allowPrivilegeEscalation: false',
    passes: (ms) => { app(ms).securityContext.allowPrivilegeEscalation = false; },
  },
  {
    name: 'privileged',
    breaks: (ms) => { sidecar(ms).securityContext.privileged = true; },
    expected: [`privileged Deployment/web ${SIDECAR}.securityContext.privileged`],
    message: 'native sidecar "state-cache" is privileged (full access to the node); remove privileged: true',
    passes: (ms) => { delete sidecar(ms).securityContext.privileged; },
  },
  {
    name: 'drop-all: capabilities not dropped',
    breaks: (ms) => { app(ms).securityContext.capabilities = { drop: ['NET_RAW'] }; },
    expected: [`drop-all Deployment/web ${APP}.securityContext.capabilities.drop`],
    message: 'container "app" keeps the runtime\'s default Linux capabilities; set capabilities.drop: ["ALL"]',
    passes: (ms) => { app(ms).securityContext.capabilities = { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }; },
  },
  {
    name: 'drop-all: a capability added back',
    breaks: (ms) => { app(ms).securityContext.capabilities.add = ['NET_ADMIN']; },
    expected: [`drop-all Deployment/web ${APP}.securityContext.capabilities.add[0]`],
    message: 'container "app" adds capability "NET_ADMIN"; only NET_BIND_SERVICE may be added back',
    passes: (ms) => { app(ms).securityContext.capabilities.add = []; },
  },
  {
    name: 'seccomp: Unconfined on one container',
    breaks: (ms) => { app(ms).securityContext.seccompProfile = { type: 'Unconfined' }; },
    expected: [`seccomp Deployment/web ${APP}.securityContext.seccompProfile.type`],
    message: 'container "app" uses seccomp profile "Unconfined"; set seccompProfile.type: RuntimeDefault',
    passes: (ms) => { app(ms).securityContext.seccompProfile = { type: 'Localhost', localhostProfile: 'profiles/app.json' }; },
  },
  {
    name: 'seccomp: set nowhere',
    breaks: (ms) => { delete podOf(ms).securityContext.seccompProfile; },
    expected: [
      `seccomp Deployment/web ${APP}.securityContext.seccompProfile.type`,
      `seccomp Deployment/web ${MIGRATE}.securityContext.seccompProfile.type`,
      `seccomp Deployment/web ${SIDECAR}.securityContext.seccompProfile.type`,
    ].sort(),
    message: 'sets no seccomp profile (Unconfined by default)',
    passes: (ms) => {
      delete podOf(ms).securityContext.seccompProfile;
      for (const c of [app(ms), migrate(ms), sidecar(ms)]) c.securityContext.seccompProfile = { type: 'RuntimeDefault' };
    },
  },
  {
    name: 'automount-token: left to the default',
    breaks: (ms) => { delete podOf(ms).automountServiceAccountToken; },
    expected: [`automount-token Deployment/web ${POD}.automountServiceAccountToken`],
    message: 'the pod mounts a service account token it does not need; set automountServiceAccountToken: false',
    // Kubernetes applies the ServiceAccount's setting when the pod sets none.
    passes: (ms) => {
      delete podOf(ms).automountServiceAccountToken;
      podOf(ms).serviceAccountName = 'web';
      ms.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web' }, automountServiceAccountToken: false });
    },
  },
  {
    name: 'automount-token: the pod overrides its ServiceAccount',
    breaks: (ms) => {
      podOf(ms).automountServiceAccountToken = true;
      ms.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' }, automountServiceAccountToken: false });
    },
    expected: [`automount-token Deployment/web ${POD}.automountServiceAccountToken`],
    message: 'set automountServiceAccountToken: false',
    passes: (ms) => { ms.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' }, automountServiceAccountToken: true }); },
  },
  {
    name: 'pdb: none for a multi-replica workload',
    breaks: (ms) => { ms.splice(1, 1); },
    expected: ['pdb Deployment/web spec.template.metadata.labels'],
    message: '2 replicas and no PodDisruptionBudget in the output selects these pods; a node drain can take them all down at once',
    // One replica needs no PDB and no spread.
    passes: (ms) => { ms.splice(1, 1); ms[0].spec.replicas = 1; delete podOf(ms).topologySpreadConstraints; },
  },
  {
    name: 'pdb: one that selects other pods',
    breaks: (ms) => { ms[1].spec.selector = { matchLabels: { 'app.kubernetes.io/name': 'api' } }; },
    expected: [
      'pdb Deployment/web spec.template.metadata.labels',
      'selects-nothing PodDisruptionBudget/web spec.selector',
    ],
    message: 'no PodDisruptionBudget in the output selects these pods',
    passes: (ms) => { ms[1].spec.selector = { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['web', 'api'] }] }; },
  },
  {
    name: 'pdb-disruptions: maxUnavailable 0',
    breaks: (ms) => { ms[1].spec.maxUnavailable = 0; },
    expected: ['pdb-disruptions PodDisruptionBudget/web spec.maxUnavailable'],
    message: 'maxUnavailable 0 allows no voluntary disruption, so node drains block forever; allow at least 1',
    passes: (ms) => { ms[1].spec.maxUnavailable = '10%'; },
  },
  {
    name: 'pdb-disruptions: minAvailable equal to the replicas',
    breaks: (ms) => { delete ms[1].spec.maxUnavailable; ms[1].spec.minAvailable = '100%'; },
    expected: ['pdb-disruptions PodDisruptionBudget/web spec.minAvailable'],
    message: 'minAvailable "100%" of 2 selected pods allows no voluntary disruption, so node drains block forever; require fewer than 2',
    passes: (ms) => { delete ms[1].spec.maxUnavailable; ms[1].spec.minAvailable = 1; },
  },
  {
    name: 'pdb-disruptions: no unhealthyPodEvictionPolicy',
    breaks: (ms) => { delete ms[1].spec.unhealthyPodEvictionPolicy; },
    expected: ['pdb-disruptions PodDisruptionBudget/web spec.unhealthyPodEvictionPolicy'],
    message: 'sets no unhealthyPodEvictionPolicy, so a crash-looping pod blocks node drains; set AlwaysAllow',
    passes: (ms) => { ms[1].spec.unhealthyPodEvictionPolicy = 'IfHealthyBudget'; },
  },
  {
    name: 'spread: neither anti-affinity nor topology spread',
    breaks: (ms) => { delete podOf(ms).topologySpreadConstraints; },
    expected: [`spread Deployment/web ${POD}.topologySpreadConstraints`],
    message: '2 replicas without pod anti-affinity or a topology spread constraint that selects these pods can all land on one node',
    passes: (ms) => {
      delete podOf(ms).topologySpreadConstraints;
      podOf(ms).affinity = {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{
            weight: 100,
            podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'web' } } },
          }],
        },
      };
    },
  },
  {
    name: 'spread: a constraint that selects other pods',
    breaks: (ms) => { podOf(ms).topologySpreadConstraints[0].labelSelector = { matchLabels: { 'app.kubernetes.io/name': 'api' } }; },
    expected: [`spread Deployment/web ${POD}.topologySpreadConstraints`],
    message: 'that selects these pods',
    passes: (ms) => { podOf(ms).topologySpreadConstraints[0].labelSelector = { matchExpressions: [{ key: 'app.kubernetes.io/instance', operator: 'Exists' }] }; },
  },
  {
    name: 'network-policy: none selects the pods',
    breaks: (ms) => { ms[2].spec.podSelector = { matchLabels: { 'app.kubernetes.io/name': 'api' } }; },
    expected: ['network-policy Deployment/web spec.template.metadata.labels'],
    message: 'no NetworkPolicy in the output selects these pods, so all traffic is allowed; add one whose podSelector matches the pod labels',
    // An empty podSelector selects every pod in the namespace.
    passes: (ms) => { ms[2].spec.podSelector = {}; },
  },
  {
    name: 'network-policy: one in another namespace does not count',
    breaks: (ms) => { ms[2].metadata.namespace = 'other'; },
    expected: ['network-policy Deployment/web spec.template.metadata.labels'],
    message: 'no NetworkPolicy',
    passes: (ms) => { for (const m of ms) m.metadata.namespace = 'shop'; },
  },
  {
    name: 'literal-secret: a password as a literal env value',
    breaks: (ms) => { app(ms).env.push({ name: 'REDIS_PASSWORD', value: 'hunter2' }); },
    expected: [`literal-secret Deployment/web ${APP}.env[4].value`],
    message: 'container "app" env REDIS_PASSWORD looks like a secret but has a literal value; use valueFrom.secretKeyRef or mount the Secret as a file',
    passes: (ms) => { app(ms).env.push({ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis', key: 'password' } } }); },
  },
  {
    name: 'literal-secret: an API key and a token on a sidecar',
    breaks: (ms) => { sidecar(ms).env = [{ name: 'STORE_API_KEY', value: 'k-123' }, { name: 'authToken', value: 't-456' }]; },
    expected: [`literal-secret Deployment/web ${SIDECAR}.env[0].value`, `literal-secret Deployment/web ${SIDECAR}.env[1].value`],
    message: 'native sidecar "state-cache" env STORE_API_KEY looks like a secret',
    passes: (ms) => {
      sidecar(ms).env = [
        { name: 'STORE_API_KEY_FILE', value: '/bindings/store/api-key' },
        { name: 'TOKEN_TTL', value: '60' },
        { name: 'KEY_PREFIX', value: 'shop:' },
        { name: 'AUTH_ENABLED', value: 'true' },
        { name: 'PASSWORD', value: '' },
        { name: 'STORE_TOKEN', value: '$(STORE_TOKEN_FROM_SECRET)' },
        { name: 'TOKEN_URL', value: 'https://auth.example.com/token' },
      ];
    },
  },
  {
    name: 'literal-secret: a password in a Redis URL under an innocent name',
    breaks: (ms) => { sidecar(ms).env = [{ name: 'UPSTREAM', value: 'rediss://:s3cret@cache.example.com:6380/0' }]; },
    expected: [`literal-secret Deployment/web ${SIDECAR}.env[0].value`],
    message: 'native sidecar "state-cache" env UPSTREAM has a password inside a URL; use valueFrom.secretKeyRef or mount the Secret as a file',
    passes: (ms) => { sidecar(ms).env = [{ name: 'UPSTREAM', value: 'rediss://:$(UPSTREAM_PASSWORD)@cache.example.com:6380/0' }]; },
  },
  {
    name: 'literal-secret: a password inside a URL',
    breaks: (ms) => { app(ms).env[3].value = 'postgres://shop:hunter2@db.example.com:5432/shop'; },
    expected: [`literal-secret Deployment/web ${APP}.env[3].value`],
    message: 'container "app" env DATABASE_URL has a password inside a URL',
    passes: (ms) => { app(ms).env[3].value = 'postgres://shop@db.example.com:5432/shop'; },
  },
  {
    name: 'literal-secret: a Secret with literal data',
    breaks: (ms) => { ms.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'hunter2' } }); },
    expected: ['literal-secret Secret/db stringData.password'],
    message: 'the Secret carries a literal value for "password" in the manifest; reference an existing Secret or an ExternalSecret instead',
    passes: (ms) => { podOf(ms).volumes.push({ name: 'db', secret: { secretName: 'db' } }); },
  },
  {
    name: 'literal-secret: a ConfigMap with a token',
    breaks: (ms) => { ms.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { ACCESS_TOKEN: 'abc', region: 'eu' } }); },
    expected: ['literal-secret ConfigMap/cfg data.ACCESS_TOKEN'],
    message: 'ConfigMap key "ACCESS_TOKEN" looks like a secret but has a literal value; keep secrets in a Secret',
    passes: (ms) => { ms.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { 'config.json': '{"password":{"env":"CACHE_PASSWORD"}}' } }); },
  },
  {
    name: 'selector-labels: a selector that does not match the template',
    breaks: (ms) => { ms[0].spec.selector = { matchLabels: { 'app.kubernetes.io/name': 'api' } }; },
    expected: ['selector-labels Deployment/web spec.selector'],
    message: 'spec.selector {"matchLabels":{"app.kubernetes.io/name":"api"}} does not match the template labels',
    passes: (ms) => { ms[0].spec.selector = { matchLabels: { 'app.kubernetes.io/name': 'web' } }; },
  },
  {
    name: 'selector-labels: an empty selector',
    breaks: (ms) => { ms[0].spec.selector = {}; },
    expected: ['selector-labels Deployment/web spec.selector'],
    message: 'Deployment needs a non-empty spec.selector that matches spec.template.metadata.labels',
    passes: (ms) => { ms[0].spec.selector = { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['api'] }] }; },
  },
  {
    name: 'selects-nothing: a Service whose selector matches no pod template',
    breaks: (ms) => { ms[3].spec.selector = { app: 'web' }; },
    expected: ['selects-nothing Service/web spec.selector'],
    message: 'selector {"app":"web"} selects no pod template in the output, so the Service has no endpoints',
    // A selector-less Service (with an EndpointSlice) names something outside the cluster.
    passes: (ms) => { delete ms[3].spec.selector; },
  },
  {
    name: 'target-port: a port name the selected pods do not have',
    breaks: (ms) => { ms[3].spec.ports[0].targetPort = 'web'; },
    expected: ['target-port Service/web spec.ports[0].targetPort'],
    message: 'targetPort "web" is not a port name of the pods this Service selects (names: http, cache-http); name the container port or use its number',
    passes: (ms) => { ms[3].spec.ports.push({ name: 'cache', port: 6380, targetPort: 'cache-http' }, { name: 'metrics', port: 9090, targetPort: 9090 }); },
  },
  {
    name: 'grace-period: zero',
    breaks: (ms) => { podOf(ms).terminationGracePeriodSeconds = 0; },
    expected: [`grace-period Deployment/web ${POD}.terminationGracePeriodSeconds`],
    message: 'terminationGracePeriodSeconds: 0 kills the pod without SIGTERM handling',
    passes: (ms) => { delete podOf(ms).terminationGracePeriodSeconds; },
  },
  {
    name: 'headless-service: serviceName names no Service',
    base: statefulBaseline,
    breaks: (ms) => { ms[0].spec.serviceName = 'cache'; },
    expected: ['headless-service StatefulSet/cache spec.serviceName'],
    message: 'serviceName "cache" names no Service in the output; add a headless Service (clusterIP: None) with that name',
    passes: (ms) => { ms[0].spec.serviceName = 'cache'; ms[1].metadata.name = 'cache'; },
  },
  {
    name: 'headless-service: the Service has a cluster IP',
    base: statefulBaseline,
    breaks: (ms) => { delete ms[1].spec.clusterIP; },
    expected: ['headless-service StatefulSet/cache spec.serviceName'],
    message: 'Service "cache-headless" is not headless (clusterIP is undefined); set clusterIP: None',
    passes: (ms) => { ms[1].spec.publishNotReadyAddresses = true; },
  },
  {
    name: 'headless-service: no serviceName',
    base: statefulBaseline,
    breaks: (ms) => { delete ms[0].spec.serviceName; },
    expected: ['headless-service StatefulSet/cache spec.serviceName'],
    message: 'a StatefulSet needs spec.serviceName naming its headless Service',
    passes: (ms) => { ms[0].spec.serviceName = 'cache-headless'; },
  },
  {
    name: 'headless-service: it selects other pods',
    base: statefulBaseline,
    breaks: (ms) => { ms[1].spec.selector = { 'app.kubernetes.io/name': 'web' }; },
    expected: ['headless-service StatefulSet/cache spec.serviceName', 'selects-nothing Service/cache-headless spec.selector'],
    message: 'headless Service "cache-headless" does not select this StatefulSet\'s pods',
    passes: (ms) => { ms[1].spec.selector = { 'app.kubernetes.io/name': 'cache' }; },
  },
  {
    name: 'scrape-blocked: the NetworkPolicy admits no one to the scraped port',
    base: monitoringBaseline,
    breaks: (ms) => { ms[2].spec.ingress.pop(); },
    expected: ['scrape-blocked PodMonitor/web spec.podMetricsEndpoints[0]', 'scrape-blocked ServiceMonitor/web spec.endpoints[0]'],
    message: 'the NetworkPolicies selecting the pods of Deployment/web admit no one to port 6380 (cache-http), so every scrape is dropped; add an ingress rule from the Prometheus pods (metricsFrom)',
    passes: (ms) => { ms[2].spec.ingress[1].ports = [{ port: 'cache-http' }]; },
  },
  {
    name: 'target-port: a PodMonitor scrapes a port the pods do not have',
    base: monitoringBaseline,
    breaks: (ms) => { ms[5].spec.podMetricsEndpoints[0].port = 'metrics'; },
    expected: ['target-port PodMonitor/web spec.podMetricsEndpoints[0].port'],
    message: 'port "metrics" is not a container port of Deployment/web (ports: 8080 (http), 6380 (cache-http))',
    passes: (ms) => { ms[5].spec.podMetricsEndpoints[0] = { portNumber: 6380, path: '/metrics' }; },
  },
  {
    name: 'selects-nothing: a ServiceMonitor whose selector matches no Service',
    base: monitoringBaseline,
    breaks: (ms) => { ms[6].spec.selector.matchLabels = { 'app.kubernetes.io/component': 'metric' }; },
    expected: ['selects-nothing ServiceMonitor/web spec.selector'],
    message: 'this ServiceMonitor selects no Service in the output (by the Services\' own labels), so nothing is scraped',
    passes: (ms) => { ms[6].spec.selector = { matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'Exists' }] }; },
  },
];

describe.each(cases)('$name', ({ breaks, expected, message, passes, base }) => {
  test('breaking it is found with the rule, object and path', () => {
    const f = findingsAfter(breaks, base);
    expect(summary(f).sort()).toEqual([...expected].sort());
    expect(f.some((x) => x.message.includes(message))).toBe(true);
  });
  test('the passing counterpart has no findings', () => {
    expect(findingsAfter(passes, base)).toEqual([]);
  });
});

describe('workload kinds', () => {
  const podSpec = () => baseline()[0].spec.template.spec;

  test('a CronJob: its containers run to completion, so they need no probes, but every other rule applies', () => {
    const spec = podSpec();
    spec.restartPolicy = 'OnFailure';
    spec.initContainers = [spec.initContainers[0]];
    delete spec.topologySpreadConstraints;
    for (const c of spec.containers) {
      delete c.readinessProbe;
      delete c.livenessProbe;
      delete c.startupProbe;
    }
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'compact' },
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { metadata: { labels: LABELS }, spec } } } },
    };
    const policy = baseline()[2];
    expect(checkManifests([cron, policy])).toEqual([]);

    spec.containers[0].securityContext.privileged = true;
    spec.containers[0].image = 'busybox';
    expect(summary(checkManifests([cron, policy]))).toEqual([
      'image-tag CronJob/compact spec.jobTemplate.spec.template.spec.containers[0].image',
      'privileged CronJob/compact spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged',
    ]);
    expect(summary(checkManifests([cron]))).toEqual([
      'image-tag CronJob/compact spec.jobTemplate.spec.template.spec.containers[0].image',
      'privileged CronJob/compact spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged',
      'network-policy CronJob/compact spec.jobTemplate.spec.template.metadata.labels',
    ]);
  });

  test('a bare Pod, a DaemonSet and a Job are checked at their own paths', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'debug', labels: LABELS }, spec: podSpec() };
    delete pod.spec.topologySpreadConstraints;
    pod.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
    const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: podSpec() } } };
    delete ds.spec.template.spec.topologySpreadConstraints;
    ds.spec.template.spec.volumes.push({ name: 'old', cephfs: { monitors: ['10.0.0.1:6789'] } });
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once' }, spec: { template: { metadata: { labels: LABELS }, spec: { ...podSpec(), restartPolicy: 'Never' } } } };
    delete job.spec.template.spec.topologySpreadConstraints;
    job.spec.template.spec.terminationGracePeriodSeconds = 0;
    const f = checkManifests([pod, ds, job, baseline()[2]]);
    expect(summary(f)).toEqual([
      'privilege-escalation Pod/debug spec.containers[0].securityContext.allowPrivilegeEscalation',
      'removed-volume DaemonSet/agent spec.template.spec.volumes[1].cephfs',
      'grace-period Job/once spec.template.spec.terminationGracePeriodSeconds',
    ]);
  });

  test('a DaemonSet needs no PDB or spread, however many nodes it runs on', () => {
    const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: LABELS }, template: { metadata: { labels: LABELS }, spec: podSpec() } } };
    delete ds.spec.template.spec.topologySpreadConstraints;
    expect(checkManifests([ds, baseline()[2]])).toEqual([]);
  });
});

describe('options and reporting', () => {
  test('a caller can opt out of one rule for one object, and only that', () => {
    const ms = [...baseline(), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dev-creds' }, stringData: { password: 'dev' } }];
    expect(checkManifests(ms, { skip: ['literal-secret:Secret/dev-creds'] })).toEqual([]);
    expect(summary(checkManifests(ms, { skip: ['literal-secret:Secret/other'] }))).toEqual(['literal-secret Secret/dev-creds stringData.password']);
    expect(checkManifests(ms, { skip: ['literal-secret'] })).toEqual([]);
  });

  test('skipping a rule that does not exist is an error, not a silent no-op', () => {
    expect(() => checkManifests(baseline(), { skip: ['literal-secrets:Secret/dev-creds'] })).toThrow(
      `manifest checks: cannot skip "literal-secrets:Secret/dev-creds": no rule "literal-secrets" (rules: ${RULES.join(', ')})`,
    );
  });

  test('every rule id has a breaking case in this file', () => {
    const covered = new Set(cases.flatMap((c) => c.expected.map((e) => e.split(' ')[0])));
    for (const rule of ['schema', 'unknown-field', 'removed-volume', 'intree-provisioner']) covered.add(rule); // their own describe blocks
    expect([...RULES].filter((r) => !covered.has(r))).toEqual([]);
  });

  test('expectNoFindings lists every finding with object, path and rule', () => {
    const ms = baseline();
    app(ms).image = 'nginx';
    delete ms[1].spec.unhealthyPodEvictionPolicy;
    expect(() => expectNoFindings(ms)).toThrow(
      'manifest checks found 2 problem(s):\n' +
      `  Deployment/web ${APP}.image [image-tag] container "app" image "nginx" has no tag, so it means :latest; pin a version tag or an @sha256 digest\n` +
      '  PodDisruptionBudget/web spec.unhealthyPodEvictionPolicy [pdb-disruptions] sets no unhealthyPodEvictionPolicy, so a crash-looping pod blocks node drains; set AlwaysAllow',
    );
    expect(() => expectNoFindings(baseline())).not.toThrow();
  });

  test('label keys with dots and slashes are quoted in paths', () => {
    const ms = baseline();
    ms[0].metadata.labels['app.kubernetes.io/name'] = 42;
    const f = checkManifests(ms);
    expect(summary(f)).toEqual(['schema Deployment/web metadata.labels["app.kubernetes.io/name"]']);
  });

  test('a 30-object output is checked in milliseconds', () => {
    const ms: any[] = [];
    for (let i = 0; i < 8; i++) {
      for (const m of baseline()) {
        m.metadata.name = `${m.metadata.name}-${i}`;
        ms.push(m);
      }
    }
    expect(ms).toHaveLength(32);
    expect(checkManifests(ms)).toEqual([]); // warm: validators loaded, field tree parsed
    // The fastest of 20 runs: the machine is shared, so slower runs measure the neighbours, not the checks.
    let fastest = Infinity;
    for (let i = 0; i < 20; i++) {
      const start = process.hrtime.bigint();
      checkManifests(ms);
      fastest = Math.min(fastest, Number(process.hrtime.bigint() - start) / 1e6);
    }
    expect(fastest).toBeLessThan(20);
  });
});

// Typed L1 objects drop fields they do not know when they serialise, but a raw ApiObject (or a JSON patch on one) keeps them.
test('an unknown field added through a raw ApiObject and a JSON patch is found', () => {
  const chart = new Chart(Testing.app(), 'raw');
  const cm = new ApiObject(chart, 'cfg', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: 'b' } });
  cm.addJsonPatch(JsonPatch.add('/metadata/labelz', { a: 'b' }));
  const f = checkManifests(Testing.synth(chart));
  expect(f).toEqual([{
    object: 'ConfigMap/cfg',
    path: 'metadata.labelz',
    rule: 'unknown-field',
    message: '"labelz" is not a field of ObjectMeta in the Kubernetes 1.28 API (did you mean "labels"?)',
  }]);
});

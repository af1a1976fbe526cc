import { App, Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { synthAndCheck } from './manifest-checks';
import { IscsiVolumeSourceOptions, PersistentStore, StorageClass, VolumeBindingMode, VolumeSource } from '../src';
import { SECURE_CONTAINER_CONTEXT } from './secure-workload';

const RWO = kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE;
const ROX = kplus.PersistentVolumeAccessMode.READ_ONLY_MANY;
const RWX = kplus.PersistentVolumeAccessMode.READ_WRITE_MANY;
const RWOP = kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE_POD;
const BLOCK = kplus.PersistentVolumeMode.BLOCK;

function chart(): Chart {
  return new Chart(Testing.app(), 'test', { namespace: 'data' });
}

function chartWithoutNamespace(): Chart {
  return new Chart(Testing.app(), 'test');
}

/** The message of the error `fn` throws (fails the test when it does not throw). */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, none was thrown');
}

function byKind(manifests: any[], kind: string): any[] {
  return manifests.filter((m) => m.kind === kind);
}

function one(manifests: any[], kind: string): any {
  const found = byKind(manifests, kind);
  expect(found).toHaveLength(1);
  return found[0];
}

/**
 * A workload that passes the policy rules: pinned image, resources with
 * ephemeral storage, distinct probes, high UID/GID, seccomp, no capabilities,
 * a PDB and spread for more than one replica, and a NetworkPolicy.
 */
function secureDeployment(scope: Construct, id: string, replicas: number): kplus.Deployment {
  const deployment = new kplus.Deployment(scope, id, {
    replicas,
    securityContext: { user: 10001, group: 10001, fsGroup: 10001, ensureNonRoot: true },
    containers: [secureContainer()],
  });
  addPolicies(scope, id, deployment, replicas);
  return deployment;
}

function secureContainer(): kplus.ContainerProps {
  return {
    name: 'app',
    image: 'nginxinc/nginx-unprivileged:1.27.3-alpine',
    portNumber: 8080,
    readiness: kplus.Probe.fromTcpSocket({ port: 8080 }),
    liveness: kplus.Probe.fromHttpGet('/', { port: 8080 }),
    resources: {
      cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
      memory: { request: Size.mebibytes(64), limit: Size.mebibytes(128) },
      // cdk8s-plus-28 writes ephemeral storage in whole GiB only.
      ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(1) },
    },
    securityContext: SECURE_CONTAINER_CONTEXT,
  };
}

function addPolicies(scope: Construct, id: string, workload: kplus.Deployment | kplus.StatefulSet, replicas: number): void {
  new kplus.NetworkPolicy(scope, `${id}-policy`, {
    selector: workload,
    ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
    egress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
  });
  if (replicas > 1) {
    workload.scheduling.spread({ topology: kplus.Topology.HOSTNAME, weight: 100 });
    new kplus.k8s.KubePodDisruptionBudget(scope, `${id}-pdb`, {
      spec: {
        maxUnavailable: kplus.k8s.IntOrString.fromNumber(1),
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
        selector: { matchLabels: workload.matchLabels },
      },
    });
  }
}

describe('sizes', () => {
  test.each([
    [Size.gibibytes(10), '10Gi'],
    [Size.mebibytes(1536), '1536Mi'],
    [Size.gibibytes(1.5), '1536Mi'],
    [Size.kibibytes(0.5), '512'],
    [Size.tebibytes(2), '2Ti'],
    [Size.kibibytes(1024 * 1024 + 1), '1048577Ki'],
  ])('%s becomes the exact quantity %s on claim and volume', (size, quantity) => {
    const c = chart();
    const store = new PersistentStore(c, 'store', { size, accessModes: [RWX], source: VolumeSource.nfs({ server: 'nfs.example.com', path: '/a' }) });
    const manifests = synthAndCheck(c);
    expect(store.quantity).toBe(quantity);
    expect(one(manifests, 'PersistentVolumeClaim').spec.resources).toEqual({ requests: { storage: quantity } });
    expect(one(manifests, 'PersistentVolume').spec.capacity).toEqual({ storage: quantity });
  });
});

describe('static volumes', () => {
  test('NFS: a PersistentVolume reserved for the claim, Retain, no class, no namespace on the PV', () => {
    const c = chart();
    const store = new PersistentStore(c, 'store', {
      size: Size.gibibytes(5),
      accessModes: [RWX, ROX],
      source: VolumeSource.nfs({ server: 'nfs.example.com', path: '/exports/shared' }),
      mountOptions: ['nfsvers=4.1', 'hard'],
      metadata: { name: 'shared' },
    });
    const manifests = synthAndCheck(c);
    const pv = one(manifests, 'PersistentVolume');
    const pvc = one(manifests, 'PersistentVolumeClaim');
    expect(pv.metadata.namespace).toBeUndefined();
    expect(pv.spec).toEqual({
      accessModes: ['ReadWriteMany', 'ReadOnlyMany'],
      capacity: { storage: '5Gi' },
      claimRef: { name: 'shared', namespace: 'data' },
      mountOptions: ['nfsvers=4.1', 'hard'],
      nfs: { server: 'nfs.example.com', path: '/exports/shared' },
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: '',
      volumeMode: 'Filesystem',
    });
    expect(pvc.metadata).toEqual({ name: 'shared', namespace: 'data' });
    expect(pvc.spec.volumeName).toBe(pv.metadata.name);
    expect(pvc.spec.storageClassName).toBe('');
    expect(store.volume?.name).toBe(pv.metadata.name);
    expect(manifests).toMatchSnapshot();
  });

  test('without a chart namespace the PV has no claimRef (a claimRef without namespace never binds)', () => {
    const c = chartWithoutNamespace();
    new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: VolumeSource.hostPath({ path: '/srv/data' }) });
    const manifests = synthAndCheck(c);
    const pv = one(manifests, 'PersistentVolume');
    expect(pv.spec.claimRef).toBeUndefined();
    expect(one(manifests, 'PersistentVolumeClaim').spec.volumeName).toBe(pv.metadata.name);
  });

  test('HostPath defaults to DirectoryOrCreate', () => {
    const c = chart();
    new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: VolumeSource.hostPath({ path: '/srv/data' }) });
    expect(one(synthAndCheck(c), 'PersistentVolume').spec.hostPath).toEqual({ path: '/srv/data', type: 'DirectoryOrCreate' });
  });

  test('Local: node affinity from NodeLabelQuery, Block mode, a no-provisioner class that waits for the pod', () => {
    const c = chart();
    const store = new PersistentStore(c, 'store', {
      size: Size.gibibytes(100),
      volumeMode: BLOCK,
      source: VolumeSource.local({ path: '/dev/nvme1n1', nodeAffinity: [kplus.NodeLabelQuery.is('kubernetes.io/hostname', 'node-1')] }),
      storageClass: StorageClass.noProvisioner({ name: 'local-nvme' }),
    });
    const manifests = synthAndCheck(c);
    const pv = one(manifests, 'PersistentVolume');
    expect(pv.spec.local).toEqual({ path: '/dev/nvme1n1' });
    expect(pv.spec.volumeMode).toBe('Block');
    expect(pv.spec.nodeAffinity).toEqual({
      required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1'] }] }] },
    });
    expect(pv.spec.storageClassName).toBe('local-nvme');
    expect(one(manifests, 'PersistentVolumeClaim').spec.storageClassName).toBe('local-nvme');
    const sc = one(manifests, 'StorageClass');
    expect(sc).toEqual({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-nvme' },
      provisioner: 'kubernetes.io/no-provisioner',
      reclaimPolicy: 'Retain',
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: false,
    });
    expect(store.storageClassName).toBe('local-nvme');
    expect(manifests).toMatchSnapshot();
  });

  test('NFS servers and iSCSI portals: DNS names, IPv4 and IPv6 addresses, with and without port', () => {
    const c = chart();
    const servers = ['nfs.example.com', 'NAS01', 'nas', '10.0.0.5', 'fd00::5', 'fe80::1%eth0', 'xn--bcher-kva.example'];
    servers.forEach((server, i) => new PersistentStore(c, `nfs${i}`, {
      size: Size.gibibytes(1), accessModes: [RWX], source: VolumeSource.nfs({ server, path: '/exports/a' }),
    }));
    const portals = ['10.0.0.5', '10.0.0.5:3260', 'san.example.com', 'san.example.com:860', '[fd00::5]', '[fd00::5]:3260', 'SAN01:65535'];
    const iqns = ['iqn.2001-04.com.example:storage.disk1', 'iqn.2001-04.com.example:storage:disk1.sys1.xyz', 'eui.02004567A425678D',
      'naa.52004567BA64678D52004567BA64678D', 'iqn.1992-08.com.netapp:sn.84183797', 'iqn.2001-04.com.example:tgt', 'eui.0123456789abcdef'];
    portals.forEach((targetPortal, i) => new PersistentStore(c, `iscsi${i}`, {
      size: Size.gibibytes(1), source: VolumeSource.iscsi({ targetPortal, iqn: iqns[i], lun: i === 0 ? 255 : i }),
    }));
    const pvs = byKind(synthAndCheck(c), 'PersistentVolume');
    expect(pvs.filter((pv) => pv.spec.nfs).map((pv) => pv.spec.nfs.server)).toEqual(servers);
    expect(pvs.filter((pv) => pv.spec.iscsi).map((pv) => [pv.spec.iscsi.targetPortal, pv.spec.iscsi.iqn]))
      .toEqual(portals.map((p, i) => [p, iqns[i]]));
  });

  test('iSCSI and Fibre Channel', () => {
    const c = chart();
    new PersistentStore(c, 'iscsi', {
      size: Size.gibibytes(20),
      accessModes: [ROX],
      source: VolumeSource.iscsi({ targetPortal: '10.0.0.5:3260', iqn: 'iqn.2001-04.com.example:storage.disk1', lun: 0, fsType: 'xfs', readOnly: true }),
    });
    new PersistentStore(c, 'fc', {
      size: Size.gibibytes(20),
      volumeMode: BLOCK,
      source: VolumeSource.fibreChannel({ targetWwns: ['500a0982991b8dc5'], lun: 2 }),
    });
    const pvs = byKind(synthAndCheck(c), 'PersistentVolume');
    expect(pvs.map((pv) => pv.spec.iscsi ?? pv.spec.fc)).toEqual([
      { targetPortal: '10.0.0.5:3260', iqn: 'iqn.2001-04.com.example:storage.disk1', lun: 0, fsType: 'xfs', readOnly: true },
      { targetWWNs: ['500a0982991b8dc5'], lun: 2 },
    ]);
  });

  test('generic CSI trusts the driver with any access mode', () => {
    const c = chart();
    const secret = kplus.Secret.fromSecretName(c, 'creds', 'nfs-creds');
    new PersistentStore(c, 'store', {
      size: Size.gibibytes(1),
      accessModes: [RWOP],
      source: VolumeSource.csi('nfs.csi.k8s.io', 'nfs.example.com#exports#a', {
        volumeAttributes: { server: 'nfs.example.com', share: '/exports/a' },
        nodeStageSecret: secret,
      }),
    });
    expect(one(synthAndCheck(c), 'PersistentVolume').spec.csi).toEqual({
      driver: 'nfs.csi.k8s.io',
      volumeHandle: 'nfs.example.com#exports#a',
      volumeAttributes: { server: 'nfs.example.com', share: '/exports/a' },
      nodeStageSecretRef: { name: 'nfs-creds', namespace: 'data' },
    });
  });

  test('cloud and Ceph helpers emit CSI with the replacement drivers, never the removed in-tree types', () => {
    const c = chart();
    const secret = kplus.Secret.fromSecretName(c, 'creds', 'storage-creds');
    const zone = [kplus.NodeLabelQuery.is('topology.kubernetes.io/zone', 'zone-a')];
    const sources: [string, VolumeSource][] = [
      ['ebs', VolumeSource.awsEbs({ volumeId: 'vol-0123456789abcdef0', nodeAffinity: zone })],
      ['gce', VolumeSource.gcePd({ project: 'p1', zone: 'europe-west1-b', diskName: 'disk-1' })],
      ['azdisk', VolumeSource.azureDisk({ diskId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/disks/d1' })],
      ['azfile', VolumeSource.azureFile({ storageAccount: 'acct', shareName: 'share1', secret, resourceGroup: 'rg' })],
      ['cinder', VolumeSource.openstackCinder({ volumeId: '7c1b3c8e-1d2f-4b7a-9d1e-0f7e1d2c3b4a' })],
      ['vsphere', VolumeSource.vsphere({ volumeId: '1a2b3c4d-fcd' })],
      ['rbd', VolumeSource.cephRbd({ clusterId: 'ceph-1', pool: 'rbd', imageName: 'img-1', secret })],
      ['cephfs', VolumeSource.cephFs({ clusterId: 'ceph-1', fsName: 'cephfs', rootPath: '/volumes/app', secret })],
    ];
    for (const [id, source] of sources) new PersistentStore(c, id, { size: Size.gibibytes(8), source });
    const pvs = byKind(synthAndCheck(c), 'PersistentVolume');
    for (const pv of pvs) {
      expect(Object.keys(pv.spec).filter((k) => !['accessModes', 'capacity', 'claimRef', 'persistentVolumeReclaimPolicy',
        'storageClassName', 'volumeMode', 'nodeAffinity'].includes(k))).toEqual(['csi']);
    }
    expect(pvs.map((pv) => pv.spec.csi)).toEqual([
      { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-0123456789abcdef0', fsType: 'ext4' },
      { driver: 'pd.csi.storage.gke.io', volumeHandle: 'projects/p1/zones/europe-west1-b/disks/disk-1', fsType: 'ext4' },
      { driver: 'disk.csi.azure.com', volumeHandle: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/disks/d1', fsType: 'ext4' },
      {
        driver: 'file.csi.azure.com',
        volumeHandle: 'rg#acct#share1',
        volumeAttributes: { shareName: 'share1' },
        nodeStageSecretRef: { name: 'storage-creds', namespace: 'data' },
      },
      { driver: 'cinder.csi.openstack.org', volumeHandle: '7c1b3c8e-1d2f-4b7a-9d1e-0f7e1d2c3b4a', fsType: 'ext4' },
      { driver: 'csi.vsphere.vmware.com', volumeHandle: '1a2b3c4d-fcd', fsType: 'ext4' },
      {
        driver: 'rbd.csi.ceph.com',
        volumeHandle: 'img-1',
        fsType: 'ext4',
        volumeAttributes: { clusterID: 'ceph-1', pool: 'rbd', staticVolume: 'true', imageFeatures: 'layering' },
        nodeStageSecretRef: { name: 'storage-creds', namespace: 'data' },
      },
      {
        driver: 'cephfs.csi.ceph.com',
        volumeHandle: 'cephfs-volumes-app',
        volumeAttributes: { clusterID: 'ceph-1', fsName: 'cephfs', rootPath: '/volumes/app', staticVolume: 'true' },
        nodeStageSecretRef: { name: 'storage-creds', namespace: 'data' },
      },
    ]);
    expect(pvs[0].spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions).toEqual([
      { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-a'] },
    ]);
  });

  test('binding to an existing volume by name or by labels', () => {
    const c = chart();
    const byName = new PersistentStore(c, 'byname', { size: Size.gibibytes(1), volumeName: 'pv-archive', storageClass: StorageClass.fromName('manual') });
    new PersistentStore(c, 'bylabel', { size: Size.gibibytes(1), selector: { tier: 'archive' } });
    const [named, labelled] = byKind(synthAndCheck(c), 'PersistentVolumeClaim');
    expect(named.spec.volumeName).toBe('pv-archive');
    expect(named.spec.storageClassName).toBe('manual');
    expect(byName.volume?.name).toBe('pv-archive');
    expect(labelled.spec.selector).toEqual({ matchLabels: { tier: 'archive' } });
    expect(labelled.spec.volumeName).toBeUndefined();
    expect(labelled.spec.storageClassName).toBeUndefined();
  });
});

describe('dynamic provisioning', () => {
  test('an existing class: the claim names it and nothing else is created', () => {
    const c = chart();
    new PersistentStore(c, 'store', { size: Size.gibibytes(3), storageClass: StorageClass.fromName('fast-ssd') });
    const manifests = synthAndCheck(c);
    expect(manifests.map((m) => m.kind)).toEqual(['PersistentVolumeClaim']);
    expect(manifests[0].spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '3Gi' } },
      storageClassName: 'fast-ssd',
      volumeMode: 'Filesystem',
    });
  });

  test('no class at all leaves the choice to the cluster default', () => {
    const c = chart();
    new PersistentStore(c, 'store', { size: Size.gibibytes(3) });
    const [pvc] = synthAndCheck(c);
    expect(pvc.spec.storageClassName).toBeUndefined();
  });

  test('a created EBS class: CSI provisioner, encrypted gp3, Retain, WaitForFirstConsumer, expansion; shared by two stores', () => {
    const c = chart();
    const fast = StorageClass.awsEbs({ name: 'ebs-gp3', kmsKeyId: 'alias/data', mountOptions: ['noatime'] });
    const a = new PersistentStore(c, 'a', { size: Size.gibibytes(10), storageClass: fast });
    const b = new PersistentStore(c, 'b', { size: Size.gibibytes(20), accessModes: [RWOP], storageClass: fast });
    const manifests = synthAndCheck(c);
    expect(one(manifests, 'StorageClass')).toEqual({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'ebs-gp3' },
      provisioner: 'ebs.csi.aws.com',
      parameters: { 'type': 'gp3', 'encrypted': 'true', 'kmsKeyId': 'alias/data', 'csi.storage.k8s.io/fstype': 'ext4' },
      reclaimPolicy: 'Retain',
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: true,
      mountOptions: ['noatime'],
    });
    expect(byKind(manifests, 'PersistentVolumeClaim').map((p) => p.spec.storageClassName)).toEqual(['ebs-gp3', 'ebs-gp3']);
    expect([a.storageClassName, b.storageClassName]).toEqual(['ebs-gp3', 'ebs-gp3']);
    expect(byKind(manifests, 'PersistentVolume')).toHaveLength(0);
    expect(manifests).toMatchSnapshot();
  });

  test('generic CSI class with parameters, Immediate binding, Delete and allowed topologies', () => {
    const c = chart();
    new PersistentStore(c, 'store', {
      size: Size.gibibytes(2),
      accessModes: [RWX],
      storageClass: StorageClass.csi('nfs.csi.k8s.io', {
        parameters: { server: 'nfs.example.com', share: '/exports' },
        bindingMode: VolumeBindingMode.IMMEDIATE,
        reclaimPolicy: kplus.PersistentVolumeReclaimPolicy.DELETE,
        allowedTopologies: [{ key: 'topology.kubernetes.io/zone', values: ['zone-a', 'zone-b'] }],
      }),
    });
    const manifests = synthAndCheck(c);
    const sc = one(manifests, 'StorageClass');
    expect(sc.metadata.name).toMatch(/^test-store-storageclass-[0-9a-f]{8}$/);
    expect(sc.metadata.namespace).toBeUndefined();
    expect(sc).toMatchObject({
      provisioner: 'nfs.csi.k8s.io',
      parameters: { server: 'nfs.example.com', share: '/exports' },
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: false,
      allowedTopologies: [{ matchLabelExpressions: [{ key: 'topology.kubernetes.io/zone', values: ['zone-a', 'zone-b'] }] }],
    });
    expect(one(manifests, 'PersistentVolumeClaim').spec.storageClassName).toBe(sc.metadata.name);
  });

  test('named class helpers use the replacement CSI provisioners and their parameters', () => {
    const c = chart();
    const secret = kplus.Secret.fromSecretName(c, 'creds', 'ceph-creds');
    const classes: [string, StorageClass][] = [
      ['gce', StorageClass.gcePd({ regional: true })],
      ['azdisk', StorageClass.azureDisk()],
      ['azfile', StorageClass.azureFile({ skuName: 'Premium_LRS' })],
      ['cinder', StorageClass.openstackCinder({ volumeType: 'ssd' })],
      ['vsphere', StorageClass.vsphere({ storagePolicyName: 'gold' })],
      ['rbd', StorageClass.cephRbd({ clusterId: 'ceph-1', pool: 'rbd', secret })],
      ['cephfs', StorageClass.cephFs({ clusterId: 'ceph-1', fsName: 'cephfs', secret })],
    ];
    for (const [id, storageClass] of classes) new PersistentStore(c, id, { size: Size.gibibytes(1), storageClass });
    const scs = byKind(synthAndCheck(c), 'StorageClass');
    const secretParams = {
      'csi.storage.k8s.io/provisioner-secret-name': 'ceph-creds',
      'csi.storage.k8s.io/provisioner-secret-namespace': 'data',
      'csi.storage.k8s.io/controller-expand-secret-name': 'ceph-creds',
      'csi.storage.k8s.io/controller-expand-secret-namespace': 'data',
      'csi.storage.k8s.io/node-stage-secret-name': 'ceph-creds',
      'csi.storage.k8s.io/node-stage-secret-namespace': 'data',
    };
    expect(scs.map((sc) => [sc.provisioner, sc.parameters, sc.allowVolumeExpansion])).toEqual([
      ['pd.csi.storage.gke.io', { 'type': 'pd-balanced', 'replication-type': 'regional-pd' }, true],
      ['disk.csi.azure.com', { skuName: 'StandardSSD_LRS' }, true],
      ['file.csi.azure.com', { skuName: 'Premium_LRS' }, true],
      ['cinder.csi.openstack.org', { type: 'ssd' }, true],
      ['csi.vsphere.vmware.com', { storagepolicyname: 'gold' }, true],
      ['rbd.csi.ceph.com', { clusterID: 'ceph-1', pool: 'rbd', imageFeatures: 'layering', ...secretParams }, true],
      ['cephfs.csi.ceph.com', { clusterID: 'ceph-1', fsName: 'cephfs', ...secretParams }, true],
    ]);
  });

  test('a created class is emitted once per app, also across apps', () => {
    const shared = StorageClass.azureFile();
    for (let i = 0; i < 2; i++) {
      const c = chart();
      new PersistentStore(c, 'a', { size: Size.gibibytes(1), accessModes: [RWX], storageClass: shared });
      new PersistentStore(c, 'b', { size: Size.gibibytes(1), accessModes: [RWX], storageClass: shared });
      expect(byKind(synthAndCheck(c), 'StorageClass')).toHaveLength(1);
    }
  });
});

describe('mounting into workloads', () => {
  test('a ReadWriteOnce claim on a one-replica Deployment: mounted, and the rollout becomes Recreate', () => {
    const c = chart();
    const store = new PersistentStore(c, 'store', { size: Size.gibibytes(1), storageClass: StorageClass.fromName('standard'), metadata: { name: 'data' } });
    const deployment = secureDeployment(c, 'app', 1);
    store.mountInto(deployment, '/var/lib/app', { subPath: 'app' });
    const manifests = synthAndCheck(c);
    const spec = one(manifests, 'Deployment').spec;
    expect(spec.strategy).toEqual({ type: 'Recreate' });
    expect(spec.template.spec.volumes).toEqual([{ name: 'pvc-data', persistentVolumeClaim: { claimName: 'data', readOnly: false } }]);
    expect(spec.template.spec.containers[0].volumeMounts).toEqual([{ mountPath: '/var/lib/app', name: 'pvc-data', readOnly: false, subPath: 'app' }]);
  });

  test('a ReadWriteMany claim is shared by two multi-replica Deployments and keeps rolling updates', () => {
    const c = chart();
    const store = new PersistentStore(c, 'store', {
      size: Size.gibibytes(1),
      accessModes: [RWX],
      source: VolumeSource.nfs({ server: 'nfs.example.com', path: '/shared' }),
      metadata: { name: 'shared' },
    });
    const writer = secureDeployment(c, 'writer', 3);
    const reader = secureDeployment(c, 'reader', 2);
    store.mountInto(writer, '/shared');
    store.mountInto(reader, '/shared', { readOnly: true });
    const [w, r] = byKind(synthAndCheck(c), 'Deployment');
    expect(w.spec.strategy.type).toBe('RollingUpdate');
    expect(r.spec.strategy.type).toBe('RollingUpdate');
    expect(w.spec.template.spec.containers[0].volumeMounts).toEqual([{ mountPath: '/shared', name: 'pvc-shared', readOnly: false }]);
    expect(r.spec.template.spec.containers[0].volumeMounts).toEqual([{ mountPath: '/shared', name: 'pvc-shared', readOnly: true }]);
  });

  test('a ReadOnlyMany claim mounts read-only by default into many pods', () => {
    const c = chart();
    const store = new PersistentStore(c, 'store', {
      size: Size.gibibytes(1),
      accessModes: [ROX],
      source: VolumeSource.gcePd({ project: 'p', zone: 'z', diskName: 'assets' }),
      metadata: { name: 'assets' },
    });
    const web = secureDeployment(c, 'web', 3);
    store.mountInto(web, '/assets');
    const spec = one(synthAndCheck(c), 'Deployment').spec;
    expect(spec.template.spec.volumes).toEqual([{ name: 'pvc-assets', persistentVolumeClaim: { claimName: 'assets', readOnly: true } }]);
    expect(spec.template.spec.containers[0].volumeMounts[0].readOnly).toBe(true);
    expect(spec.strategy.type).toBe('RollingUpdate');
  });

  test('mount() into one container; fromClaimName imports an existing claim', () => {
    const c = chart();
    const existing = PersistentStore.fromClaimName(c, 'existing', 'legacy-data', { accessModes: [RWO] });
    const deployment = secureDeployment(c, 'app', 1);
    existing.mount(deployment.containers[0], '/legacy');
    const manifests = synthAndCheck(c);
    expect(byKind(manifests, 'PersistentVolumeClaim')).toHaveLength(0);
    const pod = one(manifests, 'Deployment').spec.template.spec;
    expect(pod.volumes).toEqual([{ name: 'pvc-legacy-data', persistentVolumeClaim: { claimName: 'legacy-data', readOnly: false } }]);
    expect(existing.claim.name).toBe('legacy-data');
  });

  test('Block claims attach as raw devices (volumeDevices), two stores in one container, and in a bare Pod', () => {
    const c = chart();
    const ebs = StorageClass.awsEbs();
    const wal = new PersistentStore(c, 'wal', { size: Size.gibibytes(4), accessModes: [RWOP], volumeMode: BLOCK, storageClass: ebs, metadata: { name: 'wal' } });
    const data = new PersistentStore(c, 'data', { size: Size.gibibytes(40), volumeMode: BLOCK, storageClass: ebs, metadata: { name: 'data' } });
    const deployment = secureDeployment(c, 'db', 1);
    wal.mountDeviceInto(deployment, '/dev/xvdb');
    data.mountDeviceInto(deployment, '/dev/xvdc');
    const raw = PersistentStore.fromClaimName(c, 'raw', 'raw-disk', { accessModes: [RWO], volumeMode: BLOCK });
    const pod = new kplus.Pod(c, 'probe', { securityContext: { user: 10001, group: 10001 }, containers: [secureContainer()] });
    new kplus.NetworkPolicy(c, 'probe-policy', { selector: pod, ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY } });
    raw.mountDeviceInto(pod, '/dev/raw');
    const manifests = synthAndCheck(c);
    const spec = one(manifests, 'Deployment').spec;
    expect(spec.strategy).toEqual({ type: 'Recreate' });
    expect(spec.template.spec.containers[0].volumeDevices).toEqual([
      { name: 'pvc-wal', devicePath: '/dev/xvdb' },
      { name: 'pvc-data', devicePath: '/dev/xvdc' },
    ]);
    expect(spec.template.spec.containers[0].volumeMounts).toBeUndefined();
    expect(spec.template.spec.volumes).toEqual([
      { name: 'pvc-wal', persistentVolumeClaim: { claimName: 'wal', readOnly: false } },
      { name: 'pvc-data', persistentVolumeClaim: { claimName: 'data', readOnly: false } },
    ]);
    const podSpec = one(manifests, 'Pod').spec;
    expect(podSpec.containers[0].volumeDevices).toEqual([{ name: 'pvc-raw-disk', devicePath: '/dev/raw' }]);
    expect(podSpec.volumes).toEqual([{ name: 'pvc-raw-disk', persistentVolumeClaim: { claimName: 'raw-disk', readOnly: false } }]);
  });

  test.each(['a'.repeat(70), 'app.data'])('the claim name %s still gives a valid pod volume name', (name) => {
    const c = chart();
    const store = new PersistentStore(c, 'store', { size: Size.gibibytes(1), metadata: { name } });
    const deployment = secureDeployment(c, 'app', 1);
    store.mountInto(deployment, '/data');
    const pod = one(synthAndCheck(c), 'Deployment').spec.template.spec;
    const volumeName = pod.volumes[0].name;
    expect(volumeName.length).toBeLessThanOrEqual(63);
    expect(volumeName).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(pod.volumes[0].persistentVolumeClaim.claimName).toBe(name);
    expect(pod.containers[0].volumeMounts[0].name).toBe(volumeName);
  });

  test('App.synth refuses an exclusive claim mounted with mount() into a multi-replica Deployment', () => {
    const app = Testing.app();
    const c = new Chart(app, 'test', { namespace: 'data' });
    const store = new PersistentStore(c, 'store', { size: Size.gibibytes(1), metadata: { name: 'data' } });
    const deployment = secureDeployment(c, 'app', 2);
    store.mount(deployment.containers[0], '/data');
    expect(errorOf(() => app.synth())).toBe(
      `Validation failed with the following errors:\n  [test/store] test/store: Deployment "${deployment.name}" runs 2 pods, but container "app" mounts ` +
      'the claim "data" (ReadWriteOnce), which one node or pod only may use. Give each pod its own claim (a StatefulSet with ' +
      'volumeClaimTemplates), run one replica, or use a ReadWriteMany storage');
  });
});

describe('bad input is refused with the construct path, the value and the fix', () => {
  const nfs = () => VolumeSource.nfs({ server: 'nfs.example.com', path: '/exports/a' });
  const iscsi = (options: Partial<IscsiVolumeSourceOptions>) => VolumeSource.iscsi({
    targetPortal: '10.0.0.5:3260', iqn: 'iqn.2001-04.com.example:storage.disk1', lun: 0, ...options,
  });
  const ISCSI_PORTAL_FORM = 'Give host[:port]: a DNS name, an IPv4 address or an IPv6 address in brackets, optionally followed by ":" ' +
    'and a port from 1 to 65535 (3260 when left out), e.g. "10.0.0.5:3260", "san.example.com" or "[fd00::5]:3260"';

  test.each<[string, (c: Chart) => unknown, string]>([
    ['RWOP on NFS', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), accessModes: [RWOP], source: nfs() }),
      'test/store: access mode ReadWriteOncePod is not supported by an NFS volume (it supports ReadWriteOnce, ReadOnlyMany, ReadWriteMany). ' +
      'Use one of those modes, or a CSI driver that offers the mode you need (VolumeSource.csi; ReadWriteOncePod needs CSI)'],
    ['RWX on HostPath', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), accessModes: [RWX], source: VolumeSource.hostPath({ path: '/srv' }) }),
      'test/store: access mode ReadWriteMany is not supported by a HostPath volume (it supports ReadWriteOnce). ' +
      'A HostPath volume lives on one node and is for single-node testing only; use NFS or a CSI driver for shared access'],
    ['Block on NFS', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), volumeMode: BLOCK, source: nfs() }),
      'test/store: volumeMode Block is not supported by an NFS volume (it can only be mounted as a file system). ' +
      'Use volumeMode FILE_SYSTEM, or a block storage: Local, iSCSI, Fibre Channel or a CSI disk driver'],
    ['RWX on an EBS class', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), accessModes: [RWX], storageClass: StorageClass.awsEbs() }),
      'test/store: access mode ReadWriteMany is not supported by the AWS EBS CSI driver (ebs.csi.aws.com) (it supports ReadWriteOnce, ReadWriteOncePod). ' +
      'Use one of those modes, or a storage that offers the mode you need (NFS, Azure File or CephFS share ReadWriteMany); ' +
      'if your driver version supports more, declare it with VolumeSource.csi / StorageClass.csi'],
    ['Block on an Azure File share', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1),
      volumeMode: BLOCK,
      source: VolumeSource.azureFile({ storageAccount: 'a', shareName: 's', secret: kplus.Secret.fromSecretName(c, 's', 'azure') }),
    }),
    'test/store: volumeMode Block is not supported by the Azure File CSI driver (file.csi.azure.com) (it can only be mounted as a file system). ' +
      'Use volumeMode FILE_SYSTEM, or a block storage: Local, iSCSI, Fibre Channel or a CSI disk driver'],
    ['Local without node affinity', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: VolumeSource.local({ path: '/mnt/ssd', nodeAffinity: [] }) }),
      'test/store: the Local volume has no node affinity. A Local volume is a disk of one node: give nodeAffinity, ' +
      'e.g. [NodeLabelQuery.is(\'kubernetes.io/hostname\', \'<node name>\')]'],
    ['Local with node affinity left out (JavaScript)', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1), source: VolumeSource.local({ path: '/mnt/ssd' } as any),
    }),
    'test/store: the Local volume has no node affinity. A Local volume is a disk of one node: give nodeAffinity, ' +
      'e.g. [NodeLabelQuery.is(\'kubernetes.io/hostname\', \'<node name>\')]'],
    ['zero size', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(0) }),
      'test/store: size 0 bytes is not more than zero. Give a positive size, e.g. Size.gibibytes(10)'],
    ['a size that is not a number', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(NaN) }),
      'test/store: size NaN is not a finite number of bytes. Give a finite size, e.g. Size.gibibytes(10)'],
    ['size not a whole number of bytes', (c) => new PersistentStore(c, 'store', { size: Size.kibibytes(0.1) }),
      'test/store: size 102.4 bytes is not a whole number of bytes. Give a size that is a whole number of bytes, ' +
      'e.g. Size.mebibytes(1536) rather than a fraction of a kibibyte'],
    ['GlusterFS (also before any access or volume mode problem)', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1),
      volumeMode: BLOCK,
      accessModes: [RWOP],
      source: VolumeSource.glusterfs({ endpoints: 'glusterfs-cluster', path: 'vol1' }),
    }),
    'test/store: the GlusterFS volume glusterfs-cluster:vol1 cannot be used: the in-tree GlusterFS volume type was removed in Kubernetes 1.26 ' +
      'and has no CSI migration. Install a GlusterFS CSI driver in the cluster and use VolumeSource.csi(<driver name>, <volume handle>), ' +
      'or move the data to NFS or CephFS'],
    ['a claim name that is not DNS-1123', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), metadata: { name: 'My_Data' } }),
      'test/store: claim name "My_Data" is not a DNS-1123 subdomain. Use at most 253 lower-case letters, digits, "-" and ".", ' +
      'starting and ending with a letter or digit'],
    ['reclaim policy and mount options on an existing class', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1),
      storageClass: StorageClass.fromName('standard'),
      reclaimPolicy: kplus.PersistentVolumeReclaimPolicy.DELETE,
      mountOptions: ['noatime'],
    }),
    'test/store: reclaimPolicy and mountOptions set on a store without source: the volume is provisioned and the existing StorageClass ' +
      'decides them. A StorageClass is immutable: remove them here, or create a class with them ' +
      '(StorageClass.csi(provisioner, { reclaimPolicy, mountOptions }))'],
    ['reclaim policy with a created class', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1), storageClass: StorageClass.gcePd(), reclaimPolicy: kplus.PersistentVolumeReclaimPolicy.DELETE,
    }),
    'test/store: reclaimPolicy set on a store without source: the volume is provisioned and its StorageClass decides them. ' +
      'Set them on the class: StorageClass.csi(provisioner, { reclaimPolicy, mountOptions }) or a named helper'],
    ['an invalid existing class name', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), storageClass: StorageClass.fromName('Fast SSD') }),
      'test/store: StorageClass name "Fast SSD" is not a DNS-1123 subdomain. Use at most 253 lower-case letters, digits, "-" and ".", ' +
      'starting and ending with a letter or digit'],
    ['mount options on a HostPath volume', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1), source: VolumeSource.hostPath({ path: '/srv' }), mountOptions: ['noatime'],
    }),
    'test/store: mountOptions ["noatime"] are set on a HostPath volume. Remove mountOptions: HostPath volumes are mounted as they are on the node'],
    ['mount options on a no-provisioner class', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1),
      storageClass: StorageClass.noProvisioner({ mountOptions: ['noatime'] }),
      source: VolumeSource.local({ path: '/mnt/ssd', nodeAffinity: [kplus.NodeLabelQuery.is('kubernetes.io/hostname', 'node-1')] }),
    }),
    'test/store: mount options ["noatime"] are set on a class without provisioner. Remove mountOptions: Local volumes are mounted as they are on the node'],
    ['a class without provisioner and nothing to bind to', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1), storageClass: StorageClass.noProvisioner(),
    }),
    'test/store: the StorageClass has no provisioner and the store has no source, volumeName or selector: the claim would never get a volume. ' +
      'Give the volume with source (e.g. VolumeSource.local), bind to existing volumes with volumeName or selector, or use a class with a provisioner'],
    ['a selector on a dynamically provisioned claim', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1),
      storageClass: StorageClass.cephFs({ clusterId: 'c', fsName: 'fs', secret: kplus.Secret.fromSecretName(c, 's', 'ceph') }),
      accessModes: [RWX],
      selector: { tier: 'gold' },
    }),
    'test/store: selector {"tier":"gold"} is set on a claim that the cephfs.csi.ceph.com StorageClass provisions: ' +
      'provisioners never create volumes for claims with a selector. ' +
      'Remove selector to provision a new volume, or use StorageClass.fromName / no class to bind to existing labelled volumes'],
    ['source together with volumeName', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: nfs(), volumeName: 'pv-1' }),
      'test/store: both source (NFS) and volumeName "pv-1" are set. With a source the store creates the PersistentVolume and binds the ' +
      'claim to it: remove volumeName/selector, or remove source to bind to an existing volume'],
    ['no access modes', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), accessModes: [] }),
      'test/store: accessModes is empty. Give at least one access mode, e.g. [PersistentVolumeAccessMode.READ_WRITE_ONCE]'],
    ['ReadWriteOncePod with another mode', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), accessModes: [RWOP, RWO] }),
      'test/store: access modes ReadWriteOncePod, ReadWriteOnce combine ReadWriteOncePod with other modes. ' +
      'ReadWriteOncePod cannot be combined with other access modes: request it alone'],
    ['a CSI driver name that is not DNS-1123', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: VolumeSource.csi('My Driver', 'h') }),
      'test/store: CSI driver name "My Driver" is not a DNS-1123 subdomain. Use at most 253 lower-case letters, digits, "-" and ".", ' +
      'starting and ending with a letter or digit'],
    ['a CSI secret without namespace', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1), source: VolumeSource.cephFs({ clusterId: 'c', fsName: 'fs', rootPath: '/v', secret: kplus.Secret.fromSecretName(c, 's', 'ceph') }),
    }),
    'test/store: the secret "ceph" of the cephfs.csi.ceph.com volume has no namespace (a PersistentVolume is cluster-wide). ' +
      'Give secretNamespace, or set the namespace of the chart'],
    ['an empty NFS server', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: VolumeSource.nfs({ server: '', path: '/exports/a' }) }),
      'test/store: the NFS server is empty. Give the NFS server\'s DNS name or IP address, e.g. "nfs.example.com", "10.0.0.5" or "fd00::5"'],
    ...['nfs://nas.example.com', 'nas.example.com:2049', 'nas.example.com:/exports/a', 'nas example', '[fd00::5]', '10.0.0.256', '-nas.example.com']
      .map((server): [string, (c: Chart) => unknown, string] => [`NFS server ${server}`,
        (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: VolumeSource.nfs({ server, path: '/exports/a' }) }),
        `test/store: NFS server "${server}" is not a DNS name or an IP address. Give the host alone, e.g. "nfs.example.com", "10.0.0.5" or "fd00::5": ` +
        'no scheme, port, path or spaces, and an IPv6 address without brackets (the kubelet adds them); the exported directory goes in path']),
    ['a relative NFS path', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: VolumeSource.nfs({ server: 'nas', path: 'exports/a' }) }),
      'test/store: NFS path "exports/a" of server nas is not an absolute path. ' +
      'Give the exported directory as the server exports it, starting with "/", e.g. "/exports/data"'],
    ['an empty iSCSI target portal', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: iscsi({ targetPortal: '' }) }),
      'test/store: the iSCSI target portal is empty. ' + ISCSI_PORTAL_FORM],
    ...['not a portal', 'san.example.com:0', '10.0.0.5:65536', '10.0.0.5:', 'iscsi://10.0.0.5', '10.0.0.5:3260/lun0', '[san.example.com]:3260', '[fd00::5']
      .map((targetPortal): [string, (c: Chart) => unknown, string] => [`iSCSI target portal ${targetPortal}`,
        (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: iscsi({ targetPortal }) }),
        `test/store: iSCSI target portal "${targetPortal}" is not host[:port]. ` + ISCSI_PORTAL_FORM]),
    ['an iSCSI target portal with an IPv6 address without brackets', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1), source: iscsi({ targetPortal: 'fd00::5' }),
    }),
    'test/store: iSCSI target portal "fd00::5" is an IPv6 address without brackets, so its port cannot be told apart. ' +
      'Write it in brackets, e.g. "[fd00::5]:3260"'],
    ...['', 'storage.disk1', 'iqn.2001-04.com.example', 'iqn.2001-4.com.example:disk1', 'iqn.2001-04.com.example:disk 1', 'eui.02004567A425678', 'naa.52004567BA64678D']
      .map((iqn): [string, (c: Chart) => unknown, string] => [`iSCSI name "${iqn}"`,
        (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: iscsi({ iqn }) }),
        `test/store: iSCSI qualified name "${iqn}" is not an iqn., eui. or naa. name. Give the target's name as the storage system lists it: ` +
        '"iqn.<yyyy-mm>.<reversed domain>:<name>" (e.g. "iqn.2001-04.com.example:storage.disk1"), "eui.<16 hex digits>" or "naa.<32 hex digits>"']),
    ['an iSCSI LUN out of range', (c) => new PersistentStore(c, 'store', { size: Size.gibibytes(1), source: iscsi({ lun: 256 }) }),
      'test/store: iSCSI LUN 256 is out of range. Use a whole number from 0 to 255'],
    ['a Fibre Channel LUN out of range', (c) => new PersistentStore(c, 'store', {
      size: Size.gibibytes(1), source: VolumeSource.fibreChannel({ targetWwns: ['500a0982991b8dc5'], lun: -1 }),
    }),
    'test/store: Fibre Channel LUN -1 is out of range. Use a whole number from 0 to 255'],
    ['an imported claim without access modes', (c) => PersistentStore.fromClaimName(c, 'old', 'old-data', { accessModes: [] }),
      'test/old: the imported claim "old-data" has no access modes. Give the access modes the claim was created with ' +
      '(kubectl get pvc old-data -o jsonpath={.spec.accessModes}), so mounts can be checked'],
  ])('%s', (_name, build, message) => {
    const c = _name === 'a CSI secret without namespace' ? chartWithoutNamespace() : chart();
    expect(errorOf(() => { build(c); synthAndCheck(c); })).toBe(message);
  });

  describe('mounts', () => {
    function setup(props: Partial<ConstructorParameters<typeof PersistentStore>[2]> = {}) {
      const c = chart();
      const store = new PersistentStore(c, 'store', { size: Size.gibibytes(1), metadata: { name: 'data' }, ...props });
      return { c, store };
    }

    test('RWO on a 3-replica Deployment', () => {
      const { c, store } = setup();
      const deployment = secureDeployment(c, 'app', 3);
      expect(errorOf(() => store.mountInto(deployment, '/data'))).toBe(
        `test/store: Deployment "${deployment.name}" runs 3 pods, but the claim "data" (ReadWriteOnce) may be written by one node only. ` +
        'Give each pod its own claim (a StatefulSet with volumeClaimTemplates), run one replica, or use a ReadWriteMany storage (NFS, Azure File, CephFS)');
    });

    test('RWOP on a Deployment with the cdk8s-plus default of 2 replicas, read-only', () => {
      const { c, store } = setup({ accessModes: [RWOP] });
      const deployment = new kplus.Deployment(c, 'app', { containers: [secureContainer()] });
      expect(errorOf(() => store.mountInto(deployment, '/data', { readOnly: true }))).toBe(
        `test/store: Deployment "${deployment.name}" runs 2 pods, but the claim "data" (ReadWriteOncePod) may be used by one pod only. ` +
        'Request ReadOnlyMany (or ReadWriteMany) to share it read-only, run one replica, or give each pod its own claim (a StatefulSet with volumeClaimTemplates)');
    });

    test('RWO on a DaemonSet', () => {
      const { c, store } = setup();
      const ds = new kplus.DaemonSet(c, 'agent', { containers: [secureContainer()] });
      expect(errorOf(() => store.mountInto(ds, '/data'))).toBe(
        `test/store: DaemonSet "${ds.name}" runs several pods, but the claim "data" (ReadWriteOnce) may be written by one node only. ` +
        'Give each pod its own claim (a StatefulSet with volumeClaimTemplates), run one replica, or use a ReadWriteMany storage (NFS, Azure File, CephFS)');
    });

    test('RWO on an autoscaled Deployment and on a 3-replica StatefulSet', () => {
      const { c, store } = setup();
      const deployment = secureDeployment(c, 'app', 1);
      new kplus.HorizontalPodAutoscaler(c, 'hpa', { target: deployment, maxReplicas: 4 });
      expect(errorOf(() => store.mountInto(deployment, '/data'))).toBe(
        `test/store: Deployment "${deployment.name}" runs several pods, but the claim "data" (ReadWriteOnce) may be written by one node only. ` +
        'Give each pod its own claim (a StatefulSet with volumeClaimTemplates), run one replica, or use a ReadWriteMany storage (NFS, Azure File, CephFS)');
      const sts = new kplus.StatefulSet(c, 'sts', { replicas: 3, containers: [secureContainer()] });
      expect(errorOf(() => store.mountInto(sts, '/data'))).toBe(
        `test/store: StatefulSet "${sts.name}" runs 3 pods, but the claim "data" (ReadWriteOnce) may be written by one node only. ` +
        'Give each pod its own claim (a StatefulSet with volumeClaimTemplates), run one replica, or use a ReadWriteMany storage (NFS, Azure File, CephFS)');
    });

    test('RWO in a second workload', () => {
      const { c, store } = setup();
      const first = secureDeployment(c, 'first', 1);
      store.mountInto(first, '/data');
      const second = secureDeployment(c, 'second', 1);
      expect(errorOf(() => store.mountInto(second, '/data'))).toBe(
        `test/store: the claim "data" (ReadWriteOnce) is already mounted by Deployment "${first.name}" and cannot also be mounted by ` +
        `Deployment "${second.name}". Share data between workloads with a ReadWriteMany claim (or ReadOnlyMany mounted read-only), ` +
        'or give each workload its own store');
    });

    test('ROX mounted writable', () => {
      const { c, store } = setup({ accessModes: [ROX], storageClass: StorageClass.fromName('standard') });
      const deployment = secureDeployment(c, 'app', 2);
      expect(errorOf(() => store.mountInto(deployment, '/data', { readOnly: false }))).toBe(
        'test/store: the claim "data" is ReadOnlyMany and cannot be mounted writable at /data in container "app". ' +
        'Mount it with readOnly: true (the default for ReadOnlyMany claims), or request a writable access mode (ReadWriteOnce, ReadWriteMany)');
    });

    test('a Block claim mounted as a directory', () => {
      const { c, store } = setup({ volumeMode: BLOCK, storageClass: StorageClass.awsEbs() });
      const deployment = secureDeployment(c, 'app', 1);
      expect(errorOf(() => store.mount(deployment.containers[0], '/data'))).toBe(
        'test/store: the claim "data" has volumeMode Block, a raw device, and cannot be mounted as a directory at /data in container "app". ' +
        'Attach it as a device with mountDeviceInto(workload, devicePath), or request volumeMode FILE_SYSTEM to mount it as a directory');
    });

    test('a Filesystem claim attached as a device, and a relative device path', () => {
      const { c, store } = setup();
      const deployment = secureDeployment(c, 'app', 1);
      expect(errorOf(() => store.mountDeviceInto(deployment, '/dev/xvdb'))).toBe(
        'test/store: the claim "data" has volumeMode Filesystem and cannot be attached as a device at /dev/xvdb. ' +
        'Mount it as a directory with mountInto, or request volumeMode BLOCK');
      const block = new PersistentStore(c, 'block', { size: Size.gibibytes(1), volumeMode: BLOCK, storageClass: StorageClass.gcePd(), metadata: { name: 'raw' } });
      expect(errorOf(() => block.mountDeviceInto(deployment, 'xvdb'))).toBe(
        'test/block: device path "xvdb" of the claim "raw" is not absolute. Give an absolute path, e.g. /dev/xvda');
    });

    test('a Block claim on a 2-replica Deployment', () => {
      const { c, store } = setup({ volumeMode: BLOCK, storageClass: StorageClass.awsEbs() });
      const deployment = secureDeployment(c, 'app', 2);
      expect(errorOf(() => store.mountDeviceInto(deployment, '/dev/xvdb'))).toBe(
        `test/store: Deployment "${deployment.name}" runs 2 pods, but the claim "data" (ReadWriteOnce) may be written by one node only. ` +
        'Give each pod its own claim (a StatefulSet with volumeClaimTemplates), run one replica, or use a ReadWriteMany storage (NFS, Azure File, CephFS)');
    });

    test('a relative mount path and a subPath that leaves the volume', () => {
      const { c, store } = setup();
      const deployment = secureDeployment(c, 'app', 1);
      expect(errorOf(() => store.mountInto(deployment, 'data'))).toBe(
        'test/store: mount path "data" of the claim "data" is not absolute. Give an absolute path, e.g. /var/lib/data');
      expect(errorOf(() => store.mountInto(deployment, '/data', { subPath: '../etc' }))).toBe(
        'test/store: subPath "../etc" of the claim "data" leaves the volume. Give a relative path inside the volume without ".." (e.g. "data")');
    });

    test('a container of another workload, and a workload without containers', () => {
      const { c, store } = setup();
      const deployment = secureDeployment(c, 'app', 1);
      const other = secureDeployment(c, 'other', 1);
      expect(errorOf(() => store.mountInto(deployment, '/data', { containers: [other.containers[0]] }))).toBe(
        `test/store: container "app" is not a container of Deployment "${deployment.name}". ` +
        'Pass containers of that workload in options.containers, or leave it out to mount into all of them');
      const empty = new kplus.Deployment(c, 'empty', { replicas: 1 });
      expect(errorOf(() => store.mountInto(empty, '/data'))).toBe(
        `test/store: Deployment "${empty.name}" has no containers to mount the claim "data" into. Add the workload's containers first, then call mountInto`);
    });
  });
});

test('the App synthesises a chart with every kind of store', () => {
  const app = new App({ outdir: Testing.app().outdir });
  const c = new Chart(app, 'all', { namespace: 'data' });
  new PersistentStore(c, 'nfs', { size: Size.gibibytes(1), accessModes: [RWX], source: VolumeSource.nfs({ server: 'nfs', path: '/a' }) });
  new PersistentStore(c, 'ebs', { size: Size.gibibytes(1), storageClass: StorageClass.awsEbs() });
  expect(() => app.synth()).not.toThrow();
});

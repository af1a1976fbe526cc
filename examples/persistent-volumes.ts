/**
 * Persistent volumes with cdk8s-state's PersistentStore:
 *
 * - a shared NFS export (ReadWriteMany): a publisher writes it, a web tier
 *   of two replicas serves it read-only;
 * - a Local NVMe disk of one node (node affinity, a no-provisioner class that
 *   waits for the pod) for a single-replica indexer;
 * - an EBS disk provisioned through a StorageClass the chart creates
 *   (ReadWriteOncePod) for a single-replica database-like service.
 *
 * Every workload passes the policy checks: pinned image, requests and limits
 * with ephemeral storage, distinct probes, a high UID/GID, read-only root,
 * seccomp RuntimeDefault, no capabilities, no service account token, a
 * NetworkPolicy, and a PDB plus spread for more than one replica.
 */
import { App, Chart, ChartProps, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { PersistentStore, StorageClass, VolumeSource } from '../src';

const IMAGE = 'nginxinc/nginx-unprivileged:1.27.3-alpine';
const PORT = 8080;
const UID = 10001;

export default class PersistentVolumesExample extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'storage-demo', ...props });

    // 1. A shared NFS export: one claim, two workloads.
    const shared = new PersistentStore(this, 'shared', {
      size: Size.gibibytes(50),
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_MANY],
      source: VolumeSource.nfs({ server: 'nfs.storage.example.com', path: '/exports/site' }),
      mountOptions: ['nfsvers=4.1', 'hard'],
      metadata: { name: 'site-content' },
    });
    const publisher = secureDeployment(this, 'publisher', 1);
    shared.mountInto(publisher, '/usr/share/nginx/html');
    const web = secureDeployment(this, 'web', 2);
    shared.mountInto(web, '/usr/share/nginx/html', { readOnly: true });

    // 2. A Local disk: only node-1 has it, so the volume says so.
    const local = new PersistentStore(this, 'scratch', {
      size: Size.gibibytes(200),
      source: VolumeSource.local({
        path: '/mnt/disks/nvme0',
        nodeAffinity: [kplus.NodeLabelQuery.is('kubernetes.io/hostname', 'node-1')],
      }),
      storageClass: StorageClass.noProvisioner({ name: 'local-nvme' }),
      metadata: { name: 'indexer-scratch' },
    });
    local.mountInto(secureDeployment(this, 'indexer', 1), '/var/lib/indexer');

    // 3. A CSI disk from a StorageClass this chart creates; one pod at a time.
    const disk = new PersistentStore(this, 'disk', {
      size: Size.mebibytes(1536),
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE_POD],
      storageClass: StorageClass.awsEbs({ name: 'ebs-gp3-encrypted' }),
      metadata: { name: 'ledger-data' },
    });
    disk.mountInto(secureDeployment(this, 'ledger', 1), '/var/lib/ledger', { subPath: 'ledger' });
  }
}

/** A Deployment that passes the policy checks, with its NetworkPolicy (and PDB and spread when replicated). */
function secureDeployment(scope: Construct, id: string, replicas: number): kplus.Deployment {
  const deployment = new kplus.Deployment(scope, id, {
    replicas,
    securityContext: { user: UID, group: UID, fsGroup: UID, ensureNonRoot: true },
    containers: [{
      name: 'app',
      image: IMAGE,
      portNumber: PORT,
      readiness: kplus.Probe.fromTcpSocket({ port: PORT }),
      liveness: kplus.Probe.fromHttpGet('/', { port: PORT }),
      resources: {
        cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
        memory: { request: Size.mebibytes(64), limit: Size.mebibytes(128) },
        // cdk8s-plus-28 writes ephemeral storage in whole GiB only.
        ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(1) },
      },
      securityContext: {
        user: UID,
        group: UID,
        ensureNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: [kplus.Capability.ALL] },
        seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
      },
    }],
  });
  // The root file system is read-only: nginx keeps its pid and temp files in /tmp.
  deployment.containers[0].mount('/tmp', kplus.Volume.fromEmptyDir(scope, `${id}-tmp`, 'tmp', { sizeLimit: Size.mebibytes(64) }));

  const policy = new kplus.NetworkPolicy(scope, `${id}-policy`, {
    selector: deployment,
    ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
    egress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
  });
  policy.addIngressRule(kplus.Pods.all(scope, `${id}-clients`), [kplus.NetworkPolicyPort.tcp(PORT)]);

  if (replicas > 1) {
    deployment.scheduling.spread({ topology: kplus.Topology.HOSTNAME, weight: 100 });
    new kplus.k8s.KubePodDisruptionBudget(scope, `${id}-pdb`, {
      spec: {
        maxUnavailable: kplus.k8s.IntOrString.fromNumber(1),
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
        selector: { matchLabels: deployment.matchLabels },
      },
    });
  }
  return deployment;
}

if (require.main === module) {
  const app = new App();
  new PersistentVolumesExample(app, 'persistent-volumes');
  app.synth();
}

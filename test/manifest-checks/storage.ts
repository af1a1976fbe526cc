/**
 * In-tree volume types and provisioners that Kubernetes removed or
 * deprecated by 1.28. The 1.28 schema still has their fields; only the API
 * server's and kubelet's behaviour tells, so we check them by name and say
 * which CSI driver replaces each.
 */
import { Finding, formatPath, isPlainObject, Segment } from './util';

interface Replacement {
  /** What happened to the in-tree type by 1.28. */
  readonly status: string;
  /** What to use instead. */
  readonly instead: string;
}

/** Volume source field (Pod volumes and PersistentVolume spec) -> what happened to it and what to use. */
export const REMOVED_VOLUMES: Readonly<Record<string, Replacement>> = {
  awsElasticBlockStore: { status: 'removed in 1.27', instead: 'the AWS EBS CSI driver: csi.driver "ebs.csi.aws.com"' },
  azureDisk: { status: 'removed in 1.27', instead: 'the Azure Disk CSI driver: csi.driver "disk.csi.azure.com"' },
  azureFile: { status: 'deprecated (CSI migration on)', instead: 'the Azure File CSI driver: csi.driver "file.csi.azure.com"' },
  cinder: { status: 'removed in 1.26', instead: 'the OpenStack Cinder CSI driver: csi.driver "cinder.csi.openstack.org"' },
  gcePersistentDisk: { status: 'removed in 1.28', instead: 'the GCE PD CSI driver: csi.driver "pd.csi.storage.gke.io"' },
  vsphereVolume: { status: 'deprecated (CSI migration on)', instead: 'the vSphere CSI driver: csi.driver "csi.vsphere.vmware.com"' },
  rbd: { status: 'deprecated in 1.28, removed in 1.31', instead: 'the Ceph CSI RBD driver: csi.driver "rbd.csi.ceph.com"' },
  cephfs: { status: 'deprecated in 1.28, removed in 1.31', instead: 'the Ceph CSI CephFS driver: csi.driver "cephfs.csi.ceph.com"' },
  glusterfs: { status: 'removed in 1.26 with no CSI migration', instead: 'a GlusterFS CSI driver installed in the cluster, through a csi volume or a StorageClass' },
  portworxVolume: { status: 'deprecated (CSI migration on)', instead: 'the Portworx CSI driver: csi.driver "pxd.portworx.com"' },
  flocker: { status: 'removed in 1.25', instead: 'a CSI driver for the storage behind it (Flocker has none)' },
  quobyte: { status: 'removed in 1.25', instead: 'the Quobyte CSI driver: csi.driver "quobyte-csi"' },
  storageos: { status: 'removed in 1.25', instead: 'the StorageOS (Ondat) CSI driver: csi.driver "csi.storageos.com"' },
  scaleIO: { status: 'removed in 1.22', instead: 'the Dell PowerFlex CSI driver: csi.driver "csi-vxflexos.dellemc.com"' },
  photonPersistentDisk: { status: 'removed (Photon Controller is discontinued)', instead: 'a CSI driver for the storage behind it' },
  gitRepo: { status: 'deprecated (it runs git on the node as root)', instead: 'an emptyDir volume filled by an init container that clones the repository' },
};

/** In-tree provisioner -> replacement. Any other `kubernetes.io/` provisioner except no-provisioner is in-tree too. */
export const INTREE_PROVISIONERS: Readonly<Record<string, string>> = {
  'kubernetes.io/aws-ebs': 'ebs.csi.aws.com',
  'kubernetes.io/gce-pd': 'pd.csi.storage.gke.io',
  'kubernetes.io/azure-disk': 'disk.csi.azure.com',
  'kubernetes.io/azure-file': 'file.csi.azure.com',
  'kubernetes.io/cinder': 'cinder.csi.openstack.org',
  'kubernetes.io/vsphere-volume': 'csi.vsphere.vmware.com',
  'kubernetes.io/rbd': 'rbd.csi.ceph.com',
  'kubernetes.io/portworx-volume': 'pxd.portworx.com',
  'kubernetes.io/quobyte': 'quobyte-csi',
  'kubernetes.io/storageos': 'csi.storageos.com',
  'kubernetes.io/scaleio': 'csi-vxflexos.dellemc.com',
  'kubernetes.io/glusterfs': 'a GlusterFS CSI driver (there is no migration)',
};

/** Findings for each removed in-tree source set on `source` (a Pod volume or a PersistentVolume spec). */
export function removedVolumeFindings(object: string, source: any, path: Segment[], out: Finding[]): void {
  if (!isPlainObject(source)) return;
  for (const [field, r] of Object.entries(REMOVED_VOLUMES)) {
    if (source[field] === undefined) continue;
    out.push({
      object,
      path: formatPath([...path, field]),
      rule: 'removed-volume',
      message: `the in-tree "${field}" volume type is ${r.status}; use ${r.instead}`,
    });
  }
}

/** StorageClass provisioner check. */
export function provisionerFindings(object: string, sc: any, out: Finding[]): void {
  const p = sc.provisioner;
  if (typeof p !== 'string' || !p.startsWith('kubernetes.io/') || p === 'kubernetes.io/no-provisioner') return;
  const instead = INTREE_PROVISIONERS[p];
  out.push({
    object,
    path: 'provisioner',
    rule: 'intree-provisioner',
    message: `"${p}" is an in-tree provisioner (removed or migrated to CSI by 1.28); use ` +
      (instead ? (instead.includes(' ') ? instead : `provisioner "${instead}"`) : 'the CSI driver for this storage'),
  });
}

/**
 * What each kind of storage can do on Kubernetes 1.28: its access modes,
 * whether it can be a raw block device and whether it takes mount options.
 * PersistentStore checks every claim against this at synth time.
 */
import { ApiObject, Chart, JsonPatch, Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { fail } from './_validation';

const RWO = kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE;
const ROX = kplus.PersistentVolumeAccessMode.READ_ONLY_MANY;
const RWX = kplus.PersistentVolumeAccessMode.READ_WRITE_MANY;
const RWOP = kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE_POD;

/** The capabilities of one kind of storage. */
export interface StorageCapabilities {
  /** How messages name it, e.g. `an NFS volume`. */
  readonly description: string;
  /** The access modes it supports; undefined when the user's CSI driver decides. */
  readonly accessModes?: kplus.PersistentVolumeAccessMode[];
  /** Whether it can be used with volumeMode Block. */
  readonly block: boolean;
  /** Whether the PV may carry mount options. */
  readonly mountOptions: boolean;
  /** How to get an access mode it lacks. */
  readonly modeFix: string;
}

/** A CSI driver we know by name. */
export interface KnownCsiDriver extends StorageCapabilities {
  readonly driver: string;
}

function csiDriver(driver: string, title: string, accessModes: kplus.PersistentVolumeAccessMode[], block: boolean): KnownCsiDriver {
  return {
    driver,
    description: `the ${title} CSI driver (${driver})`,
    accessModes,
    block,
    mountOptions: true,
    modeFix: 'Use one of those modes, or a storage that offers the mode you need (NFS, Azure File or CephFS share ReadWriteMany); ' +
      'if your driver version supports more, declare it with VolumeSource.csi / StorageClass.csi',
  };
}

/**
 * The CSI drivers that replace the in-tree volume types Kubernetes removed or
 * deprecated, with the access modes each driver documents.
 */
export const CSI_DRIVERS = {
  awsEbs: csiDriver('ebs.csi.aws.com', 'AWS EBS', [RWO, RWOP], true),
  gcePd: csiDriver('pd.csi.storage.gke.io', 'GCE Persistent Disk', [RWO, ROX, RWOP], true),
  azureDisk: csiDriver('disk.csi.azure.com', 'Azure Disk', [RWO, RWOP], true),
  azureFile: csiDriver('file.csi.azure.com', 'Azure File', [RWO, ROX, RWX], false),
  openstackCinder: csiDriver('cinder.csi.openstack.org', 'OpenStack Cinder', [RWO], true),
  vsphere: csiDriver('csi.vsphere.vmware.com', 'vSphere', [RWO], true),
  cephRbd: csiDriver('rbd.csi.ceph.com', 'Ceph RBD', [RWO, ROX, RWOP], true),
  cephFs: csiDriver('cephfs.csi.ceph.com', 'CephFS', [RWO, ROX, RWX], false),
};

/** Any other CSI driver: the user knows what it supports. */
export function genericCsi(driver: string): StorageCapabilities {
  return { description: `the CSI driver ${driver}`, block: true, mountOptions: true, modeFix: '' };
}

const IN_TREE_FIX = 'Use one of those modes, or a CSI driver that offers the mode you need (VolumeSource.csi; ReadWriteOncePod needs CSI)';

/** The in-tree volume types that are still served in 1.28. */
export const IN_TREE = {
  nfs: { description: 'an NFS volume', accessModes: [RWO, ROX, RWX], block: false, mountOptions: true, modeFix: IN_TREE_FIX },
  hostPath: {
    description: 'a HostPath volume',
    accessModes: [RWO],
    block: false,
    mountOptions: false,
    modeFix: 'A HostPath volume lives on one node and is for single-node testing only; use NFS or a CSI driver for shared access',
  },
  local: {
    description: 'a Local volume',
    accessModes: [RWO],
    block: true,
    mountOptions: false,
    modeFix: 'A Local volume is a disk of one node; use NFS or a CSI driver for shared access',
  },
  iscsi: { description: 'an iSCSI volume', accessModes: [RWO, ROX], block: true, mountOptions: true, modeFix: IN_TREE_FIX },
  fibreChannel: { description: 'a Fibre Channel volume', accessModes: [RWO, ROX], block: true, mountOptions: true, modeFix: IN_TREE_FIX },
};

/** Refuses access modes and volume modes the storage cannot serve. */
export function checkCapabilities(scope: IConstruct, caps: StorageCapabilities,
  accessModes: kplus.PersistentVolumeAccessMode[], volumeMode: kplus.PersistentVolumeMode): void {
  if (caps.accessModes) {
    for (const mode of accessModes) {
      if (!caps.accessModes.includes(mode)) {
        fail(scope, `access mode ${mode} is not supported by ${caps.description} (it supports ${caps.accessModes.join(', ')})`, caps.modeFix);
      }
    }
  }
  if (volumeMode === kplus.PersistentVolumeMode.BLOCK && !caps.block) {
    fail(scope, `volumeMode Block is not supported by ${caps.description} (it can only be mounted as a file system)`,
      'Use volumeMode FILE_SYSTEM, or a block storage: Local, iSCSI, Fibre Channel or a CSI disk driver');
  }
}

/**
 * PersistentVolumes and StorageClasses are cluster-wide: drop the namespace
 * cdk8s copies from the chart onto every object.
 */
export function clusterScoped(obj: ApiObject): void {
  if (obj.metadata.namespace ?? Chart.of(obj).namespace) {
    obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}

const UNITS: [string, number][] = [['Pi', 2 ** 50], ['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]];

/**
 * A size as the Kubernetes quantity in the largest binary unit that keeps it whole, e.g. `1536Mi`.
 * cdk8s-plus writes whole GiB only and throws on anything else; claim
 * templates of other constructs can use this too.
 */
export function toQuantity(scope: IConstruct, size: Size): string {
  const bytes = size.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) * 1024;
  if (!Number.isFinite(bytes)) {
    fail(scope, `size ${bytes} is not a finite number of bytes`, 'Give a finite size, e.g. Size.gibibytes(10)');
  }
  if (bytes <= 0) {
    fail(scope, `size ${bytes} bytes is not more than zero`, 'Give a positive size, e.g. Size.gibibytes(10)');
  }
  if (!Number.isInteger(bytes)) {
    fail(scope, `size ${bytes} bytes is not a whole number of bytes`,
      'Give a size that is a whole number of bytes, e.g. Size.mebibytes(1536) rather than a fraction of a kibibyte');
  }
  for (const [suffix, unit] of UNITS) {
    if (bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}

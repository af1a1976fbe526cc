import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { CSI_DRIVERS, genericCsi, IN_TREE, KnownCsiDriver, StorageCapabilities } from './_storage-drivers';
import { fail, isIpv6, isNetworkHost, parseHostPort, validateDnsSubdomain } from './_validation';

/** Options every static volume source accepts. */
export interface VolumeSourceOptions {
  /**
   * Nodes that can reach the volume, as node label queries (all must match).
   * Zonal disks need this so pods are scheduled in the disk's zone, e.g.
   * `NodeLabelQuery.is('topology.kubernetes.io/zone', 'eu-west-1a')`.
   *
   * @default - any node
   */
  readonly nodeAffinity?: kplus.NodeLabelQuery[];
}

/** Options for an NFS share. */
export interface NfsVolumeSourceOptions extends VolumeSourceOptions {
  /**
   * DNS name, IPv4 address or IPv6 address (without brackets) of the NFS
   * server: the host alone, without scheme, port or path.
   */
  readonly server: string;
  /** The exported path on the server (absolute, e.g. `/exports/data`). */
  readonly path: string;
  /**
   * Mount the export read-only on every node.
   *
   * @default false
   */
  readonly readOnly?: boolean;
}

/** Options for a directory of the node's file system (single-node clusters and tests only). */
export interface HostPathVolumeSourceOptions extends VolumeSourceOptions {
  /** The directory on the node. */
  readonly path: string;
  /**
   * What must exist at the path before the pod starts.
   *
   * @default HostPathVolumeType.DIRECTORY_OR_CREATE
   */
  readonly type?: kplus.HostPathVolumeType;
}

/** Options for a disk or directory that belongs to one node. */
export interface LocalVolumeSourceOptions {
  /** The mounted disk or directory on the node, e.g. `/mnt/disks/ssd1`. */
  readonly path: string;
  /**
   * The node(s) the disk is on, as node label queries, usually
   * `NodeLabelQuery.is('kubernetes.io/hostname', 'node-1')`. Kubernetes needs
   * it to schedule pods where their data is; a Local volume without it is refused.
   */
  readonly nodeAffinity: kplus.NodeLabelQuery[];
  /**
   * File system to create on a raw disk.
   *
   * @default - the path is used as it is
   */
  readonly fsType?: string;
}

/** Options for an iSCSI target. */
export interface IscsiVolumeSourceOptions extends VolumeSourceOptions {
  /**
   * Target portal, `host[:port]` (port 3260 when left out): a DNS name, an
   * IPv4 address or an IPv6 address in brackets, e.g. `[fd00::5]:3260`.
   */
  readonly targetPortal: string;
  /**
   * Name of the target: `iqn.<yyyy-mm>.<reversed domain>:<name>`,
   * `eui.<16 hex digits>` or `naa.<32 hex digits>`.
   */
  readonly iqn: string;
  /** Target LUN number, 0 to 255. */
  readonly lun: number;
  /**
   * File system on the LUN.
   *
   * @default "ext4"
   */
  readonly fsType?: string;
  /**
   * Mount the LUN read-only.
   *
   * @default false
   */
  readonly readOnly?: boolean;
}

/** Options for a Fibre Channel LUN. */
export interface FibreChannelVolumeSourceOptions extends VolumeSourceOptions {
  /** World wide names of the target ports. */
  readonly targetWwns: string[];
  /** Target LUN number, 0 to 255. */
  readonly lun: number;
  /**
   * File system on the LUN.
   *
   * @default "ext4"
   */
  readonly fsType?: string;
  /**
   * Mount the LUN read-only.
   *
   * @default false
   */
  readonly readOnly?: boolean;
}

/** Options for any CSI volume. */
export interface CsiVolumeSourceOptions extends VolumeSourceOptions {
  /**
   * File system the driver creates or expects.
   *
   * @default - the driver's default
   */
  readonly fsType?: string;
  /**
   * Attributes the driver reads (its documentation names them).
   *
   * @default - none
   */
  readonly volumeAttributes?: { [key: string]: string };
  /**
   * Secret the node uses to stage the volume (credentials for the storage system).
   *
   * @default - none
   */
  readonly nodeStageSecret?: kplus.ISecret;
  /**
   * Namespace of `nodeStageSecret` (a PersistentVolume is cluster-wide, so its secret reference names one).
   *
   * @default - the chart's namespace
   */
  readonly secretNamespace?: string;
  /**
   * Attach the volume read-only.
   *
   * @default false
   */
  readonly readOnly?: boolean;
}

/** An existing AWS EBS volume. */
export interface AwsEbsVolumeSourceOptions extends VolumeSourceOptions {
  /** The EBS volume ID, e.g. `vol-0123456789abcdef0`. */
  readonly volumeId: string;
  /**
   * File system on the volume.
   *
   * @default "ext4"
   */
  readonly fsType?: string;
}

/** An existing GCE Persistent Disk. */
export interface GcePdVolumeSourceOptions extends VolumeSourceOptions {
  /** The Google Cloud project of the disk. */
  readonly project: string;
  /** The zone of the disk, e.g. `europe-west1-b`. */
  readonly zone: string;
  /** The disk name. */
  readonly diskName: string;
  /**
   * File system on the disk.
   *
   * @default "ext4"
   */
  readonly fsType?: string;
}

/** An existing Azure managed disk. */
export interface AzureDiskVolumeSourceOptions extends VolumeSourceOptions {
  /** The disk's resource ID, `/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/disks/<name>`. */
  readonly diskId: string;
  /**
   * File system on the disk.
   *
   * @default "ext4"
   */
  readonly fsType?: string;
}

/** An existing Azure Files share. */
export interface AzureFileVolumeSourceOptions extends VolumeSourceOptions {
  /** The storage account that holds the share. */
  readonly storageAccount: string;
  /** The file share name. */
  readonly shareName: string;
  /** Secret with the keys `azurestorageaccountname` and `azurestorageaccountkey`. */
  readonly secret: kplus.ISecret;
  /**
   * Namespace of `secret`.
   *
   * @default - the chart's namespace
   */
  readonly secretNamespace?: string;
  /**
   * The storage account's resource group.
   *
   * @default - the cluster's resource group
   */
  readonly resourceGroup?: string;
}

/** An existing volume identified by an ID (OpenStack Cinder, vSphere first-class disk). */
export interface CsiVolumeIdSourceOptions extends VolumeSourceOptions {
  /** The volume's ID in the storage system. */
  readonly volumeId: string;
  /**
   * File system on the volume.
   *
   * @default "ext4"
   */
  readonly fsType?: string;
}

/** An existing Ceph RBD image (ceph-csi static volume). */
export interface CephRbdVolumeSourceOptions extends VolumeSourceOptions {
  /** The Ceph cluster ID configured in ceph-csi. */
  readonly clusterId: string;
  /** The RBD pool. */
  readonly pool: string;
  /** The image name. */
  readonly imageName: string;
  /** Secret with `userID` and `userKey`. */
  readonly secret: kplus.ISecret;
  /**
   * Namespace of `secret`.
   *
   * @default - the chart's namespace
   */
  readonly secretNamespace?: string;
  /**
   * File system on the image.
   *
   * @default "ext4"
   */
  readonly fsType?: string;
}

/** An existing CephFS directory (ceph-csi static volume). */
export interface CephFsVolumeSourceOptions extends VolumeSourceOptions {
  /** The Ceph cluster ID configured in ceph-csi. */
  readonly clusterId: string;
  /** The CephFS file system name. */
  readonly fsName: string;
  /** The directory inside the file system, e.g. `/volumes/app`. */
  readonly rootPath: string;
  /** Secret with `userID` and `userKey`. */
  readonly secret: kplus.ISecret;
  /**
   * Namespace of `secret`.
   *
   * @default - the chart's namespace
   */
  readonly secretNamespace?: string;
}

/** A GlusterFS volume (removed from Kubernetes; see `VolumeSource.glusterfs`). */
export interface GlusterfsVolumeSourceOptions {
  /** Endpoints object naming the Gluster servers. */
  readonly endpoints: string;
  /** The Gluster volume name. */
  readonly path: string;
}

type SpecRenderer = (scope: IConstruct) => kplus.k8s.PersistentVolumeSpec;

/**
 * Where the data of a static PersistentVolume lives. Each factory emits the
 * volume type Kubernetes 1.28 serves: the clouds' removed or deprecated in-tree
 * types become their CSI drivers.
 */
export class VolumeSource {
  /** An NFS export: ReadWriteOnce, ReadOnlyMany and ReadWriteMany, file system only. */
  public static nfs(options: NfsVolumeSourceOptions): VolumeSource {
    return new VolumeSource('NFS', IN_TREE.nfs, options.nodeAffinity, (scope) => {
      validateNfs(scope, options);
      return { nfs: { server: options.server, path: options.path, readOnly: options.readOnly } };
    });
  }

  /** A directory on the node: ReadWriteOnce only; for single-node clusters and tests. */
  public static hostPath(options: HostPathVolumeSourceOptions): VolumeSource {
    return new VolumeSource('HostPath', IN_TREE.hostPath, options.nodeAffinity, () => ({
      hostPath: { path: options.path, type: options.type ?? kplus.HostPathVolumeType.DIRECTORY_OR_CREATE },
    }));
  }

  /** A disk or directory of one node: ReadWriteOnce, file system or block. Needs node affinity. */
  public static local(options: LocalVolumeSourceOptions): VolumeSource {
    return new VolumeSource('Local', IN_TREE.local, options.nodeAffinity, () => ({
      local: { path: options.path, fsType: options.fsType },
    }), true);
  }

  /** An iSCSI LUN: ReadWriteOnce and ReadOnlyMany, file system or block. */
  public static iscsi(options: IscsiVolumeSourceOptions): VolumeSource {
    return new VolumeSource('iSCSI', IN_TREE.iscsi, options.nodeAffinity, (scope) => {
      validateIscsi(scope, options);
      const { targetPortal, iqn, lun, fsType, readOnly } = options;
      return { iscsi: { targetPortal, iqn, lun, fsType, readOnly } };
    });
  }

  /** A Fibre Channel LUN: ReadWriteOnce and ReadOnlyMany, file system or block. */
  public static fibreChannel(options: FibreChannelVolumeSourceOptions): VolumeSource {
    return new VolumeSource('Fibre Channel', IN_TREE.fibreChannel, options.nodeAffinity, (scope) => {
      validateLun(scope, 'Fibre Channel', options.lun);
      return { fc: { targetWwNs: options.targetWwns, lun: options.lun, fsType: options.fsType, readOnly: options.readOnly } };
    });
  }

  /**
   * A volume of any CSI driver. The access modes are the driver's business:
   * they are not checked.
   *
   * @param driver the driver name, e.g. `nfs.csi.k8s.io`
   * @param volumeHandle the volume's ID for the driver
   */
  public static csi(driver: string, volumeHandle: string, options: CsiVolumeSourceOptions = {}): VolumeSource {
    return new VolumeSource(`CSI ${driver}`, genericCsi(driver), options.nodeAffinity, (scope) => {
      validateDnsSubdomain(scope, 'CSI driver name', driver);
      return csiSpec(scope, driver, volumeHandle, options);
    });
  }

  /** An existing AWS EBS volume, through the EBS CSI driver (`ebs.csi.aws.com`): ReadWriteOnce, ReadWriteOncePod. */
  public static awsEbs(options: AwsEbsVolumeSourceOptions): VolumeSource {
    return VolumeSource.known(CSI_DRIVERS.awsEbs, 'AWS EBS', options.volumeId, { fsType: options.fsType ?? 'ext4', nodeAffinity: options.nodeAffinity });
  }

  /** An existing GCE Persistent Disk, through `pd.csi.storage.gke.io`: ReadWriteOnce, ReadOnlyMany, ReadWriteOncePod. */
  public static gcePd(options: GcePdVolumeSourceOptions): VolumeSource {
    const handle = `projects/${options.project}/zones/${options.zone}/disks/${options.diskName}`;
    return VolumeSource.known(CSI_DRIVERS.gcePd, 'GCE Persistent Disk', handle, { fsType: options.fsType ?? 'ext4', nodeAffinity: options.nodeAffinity });
  }

  /** An existing Azure managed disk, through `disk.csi.azure.com`: ReadWriteOnce, ReadWriteOncePod. */
  public static azureDisk(options: AzureDiskVolumeSourceOptions): VolumeSource {
    return VolumeSource.known(CSI_DRIVERS.azureDisk, 'Azure Disk', options.diskId, { fsType: options.fsType ?? 'ext4', nodeAffinity: options.nodeAffinity });
  }

  /** An existing Azure Files share, through `file.csi.azure.com`: ReadWriteOnce, ReadOnlyMany, ReadWriteMany. */
  public static azureFile(options: AzureFileVolumeSourceOptions): VolumeSource {
    const handle = `${options.resourceGroup ?? ''}#${options.storageAccount}#${options.shareName}`;
    return VolumeSource.known(CSI_DRIVERS.azureFile, 'Azure File', handle, {
      volumeAttributes: { shareName: options.shareName },
      nodeStageSecret: options.secret,
      secretNamespace: options.secretNamespace,
      nodeAffinity: options.nodeAffinity,
    });
  }

  /** An existing OpenStack Cinder volume, through `cinder.csi.openstack.org`: ReadWriteOnce. */
  public static openstackCinder(options: CsiVolumeIdSourceOptions): VolumeSource {
    return VolumeSource.known(CSI_DRIVERS.openstackCinder, 'OpenStack Cinder', options.volumeId, { fsType: options.fsType ?? 'ext4', nodeAffinity: options.nodeAffinity });
  }

  /** An existing vSphere first-class disk, through `csi.vsphere.vmware.com`: ReadWriteOnce. */
  public static vsphere(options: CsiVolumeIdSourceOptions): VolumeSource {
    return VolumeSource.known(CSI_DRIVERS.vsphere, 'vSphere', options.volumeId, { fsType: options.fsType ?? 'ext4', nodeAffinity: options.nodeAffinity });
  }

  /** An existing Ceph RBD image, through `rbd.csi.ceph.com`: ReadWriteOnce, ReadOnlyMany, ReadWriteOncePod. */
  public static cephRbd(options: CephRbdVolumeSourceOptions): VolumeSource {
    return VolumeSource.known(CSI_DRIVERS.cephRbd, 'Ceph RBD', options.imageName, {
      fsType: options.fsType ?? 'ext4',
      volumeAttributes: { clusterID: options.clusterId, pool: options.pool, staticVolume: 'true', imageFeatures: 'layering' },
      nodeStageSecret: options.secret,
      secretNamespace: options.secretNamespace,
      nodeAffinity: options.nodeAffinity,
    });
  }

  /** An existing CephFS directory, through `cephfs.csi.ceph.com`: ReadWriteOnce, ReadOnlyMany, ReadWriteMany. */
  public static cephFs(options: CephFsVolumeSourceOptions): VolumeSource {
    return VolumeSource.known(CSI_DRIVERS.cephFs, 'CephFS', `${options.fsName}${options.rootPath}`.replace(/[^a-zA-Z0-9-]+/g, '-'), {
      volumeAttributes: { clusterID: options.clusterId, fsName: options.fsName, rootPath: options.rootPath, staticVolume: 'true' },
      nodeStageSecret: options.secret,
      secretNamespace: options.secretNamespace,
      nodeAffinity: options.nodeAffinity,
    });
  }

  /**
   * GlusterFS was removed in Kubernetes 1.26 and has no CSI migration: a store
   * with this source is refused at synth with the way out (install a GlusterFS
   * CSI driver and use `VolumeSource.csi`).
   */
  public static glusterfs(options: GlusterfsVolumeSourceOptions): VolumeSource {
    return new VolumeSource('GlusterFS', { description: 'a GlusterFS volume', block: false, mountOptions: false, modeFix: '' }, undefined, (scope) => fail(scope,
      `the GlusterFS volume ${options.endpoints}:${options.path} cannot be used: the in-tree GlusterFS volume type was removed in Kubernetes 1.26 and has no CSI migration`,
      'Install a GlusterFS CSI driver in the cluster and use VolumeSource.csi(<driver name>, <volume handle>), or move the data to NFS or CephFS'));
  }

  private static known(driver: KnownCsiDriver, title: string, volumeHandle: string, options: CsiVolumeSourceOptions): VolumeSource {
    return new VolumeSource(title, driver, options.nodeAffinity, (scope) => csiSpec(scope, driver.driver, volumeHandle, options));
  }

  /** @internal */
  public readonly _capabilities: StorageCapabilities;

  private constructor(
    /** The kind of storage, as messages name it (e.g. `NFS`). */
    public readonly kind: string,
    capabilities: StorageCapabilities,
    private readonly nodeAffinity: kplus.NodeLabelQuery[] | undefined,
    private readonly render: SpecRenderer,
    private readonly nodeAffinityRequired = false) {
    this._capabilities = capabilities;
  }

  /**
   * The PersistentVolume spec fields of this source: the volume type and its node affinity.
   * @internal
   */
  public _toPersistentVolumeSpec(scope: IConstruct): kplus.k8s.PersistentVolumeSpec {
    const spec: { -readonly [K in keyof kplus.k8s.PersistentVolumeSpec]: kplus.k8s.PersistentVolumeSpec[K] } = { ...this.render(scope) };
    if (this.nodeAffinityRequired && (!this.nodeAffinity || this.nodeAffinity.length === 0)) {
      fail(scope, `the ${this.kind} volume has no node affinity`,
        'A Local volume is a disk of one node: give nodeAffinity, e.g. [NodeLabelQuery.is(\'kubernetes.io/hostname\', \'<node name>\')]');
    }
    if (this.nodeAffinity && this.nodeAffinity.length > 0) {
      // NodeLabelQuery renders itself only through its internal _toKube(); reuse
      // it rather than re-implementing cdk8s-plus's label selector operators.
      spec.nodeAffinity = {
        required: { nodeSelectorTerms: [{ matchExpressions: this.nodeAffinity.map((q) => q._toKube()) }] },
      };
    }
    return spec;
  }
}

function csiSpec(scope: IConstruct, driver: string, volumeHandle: string, options: CsiVolumeSourceOptions): kplus.k8s.PersistentVolumeSpec {
  if (!volumeHandle) {
    fail(scope, `the CSI volume of ${driver} has an empty volume handle`, 'Give the ID the storage system knows the volume by');
  }
  let nodeStageSecretRef: { name: string; namespace: string } | undefined;
  if (options.nodeStageSecret) {
    const namespace = options.secretNamespace ?? Chart.of(scope).namespace;
    if (!namespace) {
      fail(scope, `the secret "${options.nodeStageSecret.name}" of the ${driver} volume has no namespace (a PersistentVolume is cluster-wide)`,
        'Give secretNamespace, or set the namespace of the chart');
    }
    nodeStageSecretRef = { name: options.nodeStageSecret.name, namespace };
  }
  return {
    csi: {
      driver,
      volumeHandle,
      fsType: options.fsType,
      readOnly: options.readOnly,
      volumeAttributes: options.volumeAttributes,
      nodeStageSecretRef,
    },
  };
}

/*
 * Checks of the in-tree sources' addresses. They run when the source is bound
 * to its PersistentStore (scope), so errors name the store's path. The API
 * server checks little of this (an empty NFS server, a relative NFS path, the
 * iqn format, the LUN range); the kubelet fails to mount the rest, on the node,
 * long after the deploy.
 */

const HOST_EXAMPLES = '"nfs.example.com", "10.0.0.5" or "fd00::5"';

function validateNfs(scope: IConstruct, options: NfsVolumeSourceOptions): void {
  const { server, path } = options;
  if (!server) {
    fail(scope, 'the NFS server is empty', `Give the NFS server's DNS name or IP address, e.g. ${HOST_EXAMPLES}`);
  }
  if (!isNetworkHost(server)) {
    fail(scope, `NFS server "${server}" is not a DNS name or an IP address`,
      `Give the host alone, e.g. ${HOST_EXAMPLES}: no scheme, port, path or spaces, and an IPv6 address without brackets ` +
      '(the kubelet adds them); the exported directory goes in path');
  }
  if (!path || !path.startsWith('/')) {
    fail(scope, `NFS path "${path ?? ''}" of server ${server} is not an absolute path`,
      'Give the exported directory as the server exports it, starting with "/", e.g. "/exports/data"');
  }
}

/** RFC 3720 names, as the Kubernetes API server checks them (it needs the ":<name>" part of an iqn, and 32 digits after naa.). */
const ISCSI_NAME = /^(iqn\.\d{4}-\d{2}\.[A-Za-z0-9.-]+:[^,;*&$|\s]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{32})$/;

function validateIscsi(scope: IConstruct, options: IscsiVolumeSourceOptions): void {
  const portal = options.targetPortal;
  const portalForm = 'Give host[:port]: a DNS name, an IPv4 address or an IPv6 address in brackets, optionally followed by ":" ' +
    'and a port from 1 to 65535 (3260 when left out), e.g. "10.0.0.5:3260", "san.example.com" or "[fd00::5]:3260"';
  if (!portal) {
    fail(scope, 'the iSCSI target portal is empty', portalForm);
  }
  if (isIpv6(portal)) {
    fail(scope, `iSCSI target portal "${portal}" is an IPv6 address without brackets, so its port cannot be told apart`,
      `Write it in brackets, e.g. "[${portal}]:3260"`);
  }
  if (!parseHostPort(portal)) {
    fail(scope, `iSCSI target portal "${portal}" is not host[:port]`, portalForm);
  }
  if (!ISCSI_NAME.test(options.iqn ?? '')) {
    fail(scope, `iSCSI qualified name "${options.iqn ?? ''}" is not an iqn., eui. or naa. name`,
      'Give the target\'s name as the storage system lists it: "iqn.<yyyy-mm>.<reversed domain>:<name>" ' +
      '(e.g. "iqn.2001-04.com.example:storage.disk1"), "eui.<16 hex digits>" or "naa.<32 hex digits>"');
  }
  validateLun(scope, 'iSCSI', options.lun);
}

function validateLun(scope: IConstruct, kind: string, lun: number): void {
  if (!Number.isInteger(lun) || lun < 0 || lun > 255) {
    fail(scope, `${kind} LUN ${lun} is out of range`, 'Use a whole number from 0 to 255');
  }
}

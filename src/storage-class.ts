import { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { clusterScoped, CSI_DRIVERS, genericCsi, KnownCsiDriver, StorageCapabilities } from './_storage-drivers';
import { fail, validateDnsSubdomain } from './_validation';

/** When a claim of the class gets its volume. */
export enum VolumeBindingMode {
  /**
   * Provision and bind once a pod uses the claim, in the pod's zone and on its
   * node: right for zonal disks and Local volumes.
   */
  WAIT_FOR_FIRST_CONSUMER = 'WaitForFirstConsumer',
  /** Provision as soon as the claim exists, wherever the driver chooses. */
  IMMEDIATE = 'Immediate',
}

/** One label requirement of the topologies a class may provision in. */
export interface AllowedTopology {
  /** Node label key, e.g. `topology.kubernetes.io/zone`. */
  readonly key: string;
  /** The values allowed for the key. */
  readonly values: string[];
}

/** Settings of a StorageClass that cdk8s-state creates. StorageClasses are immutable once created. */
export interface StorageClassOptions {
  /**
   * The StorageClass name (cluster-wide).
   *
   * @default - generated from the construct path
   */
  readonly name?: string;
  /**
   * Provisioner parameters, added to (and overriding) those a named helper sets.
   *
   * @default - none beyond the helper's
   */
  readonly parameters?: { [key: string]: string };
  /**
   * What happens to a provisioned volume when its claim is deleted. Retain by
   * default so deleting a claim never deletes data; choose DELETE for scratch space.
   *
   * @default PersistentVolumeReclaimPolicy.RETAIN
   */
  readonly reclaimPolicy?: kplus.PersistentVolumeReclaimPolicy;
  /**
   * When volumes are provisioned and bound.
   *
   * @default VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER
   */
  readonly bindingMode?: VolumeBindingMode;
  /**
   * Whether claims may grow (never shrink) by editing their size.
   *
   * @default - true for the named cloud and Ceph helpers (their drivers expand), false for `StorageClass.csi`
   */
  readonly allowVolumeExpansion?: boolean;
  /**
   * Mount options of provisioned volumes, e.g. `["noatime"]`. Not checked by Kubernetes: a bad option fails the mount.
   *
   * @default - none
   */
  readonly mountOptions?: string[];
  /**
   * Restrict provisioning to these topologies (all requirements must hold).
   *
   * @default - anywhere the driver can provision
   */
  readonly allowedTopologies?: AllowedTopology[];
}

/** AWS EBS volumes provisioned by `ebs.csi.aws.com`. */
export interface AwsEbsStorageClassOptions extends StorageClassOptions {
  /**
   * EBS volume type.
   *
   * @default "gp3"
   */
  readonly volumeType?: string;
  /**
   * Encrypt volumes at rest.
   *
   * @default true
   */
  readonly encrypted?: boolean;
  /**
   * KMS key for encryption.
   *
   * @default - the account's default EBS key
   */
  readonly kmsKeyId?: string;
  /**
   * File system created on new volumes.
   *
   * @default "ext4"
   */
  readonly fsType?: string;
}

/** GCE Persistent Disks provisioned by `pd.csi.storage.gke.io`. */
export interface GcePdStorageClassOptions extends StorageClassOptions {
  /**
   * Disk type.
   *
   * @default "pd-balanced"
   */
  readonly diskType?: string;
  /**
   * Replicate each disk across two zones of the region.
   *
   * @default false
   */
  readonly regional?: boolean;
}

/** Azure managed disks provisioned by `disk.csi.azure.com`. */
export interface AzureDiskStorageClassOptions extends StorageClassOptions {
  /**
   * Disk SKU.
   *
   * @default "StandardSSD_LRS"
   */
  readonly skuName?: string;
}

/** Azure Files shares provisioned by `file.csi.azure.com`. */
export interface AzureFileStorageClassOptions extends StorageClassOptions {
  /**
   * Storage account SKU.
   *
   * @default "Standard_LRS"
   */
  readonly skuName?: string;
}

/** OpenStack Cinder volumes provisioned by `cinder.csi.openstack.org`. */
export interface OpenstackCinderStorageClassOptions extends StorageClassOptions {
  /**
   * Cinder volume type.
   *
   * @default - the cloud's default type
   */
  readonly volumeType?: string;
}

/** vSphere disks provisioned by `csi.vsphere.vmware.com`. */
export interface VsphereStorageClassOptions extends StorageClassOptions {
  /**
   * vSphere storage policy (SPBM) for new disks.
   *
   * @default - the datastore's default policy
   */
  readonly storagePolicyName?: string;
}

/** Options the Ceph helpers share. */
export interface CephStorageClassOptions extends StorageClassOptions {
  /** The Ceph cluster ID configured in ceph-csi. */
  readonly clusterId: string;
  /** Secret with the ceph-csi provisioner and node credentials (`userID`, `userKey`). */
  readonly secret: kplus.ISecret;
  /**
   * Namespace of `secret`.
   *
   * @default - the chart's namespace
   */
  readonly secretNamespace?: string;
}

/** Ceph RBD images provisioned by `rbd.csi.ceph.com`. */
export interface CephRbdStorageClassOptions extends CephStorageClassOptions {
  /** The RBD pool for new images. */
  readonly pool: string;
}

/** CephFS subvolumes provisioned by `cephfs.csi.ceph.com`. */
export interface CephFsStorageClassOptions extends CephStorageClassOptions {
  /** The CephFS file system name. */
  readonly fsName: string;
}

type ParameterRenderer = (scope: IConstruct) => Record<string, string | undefined>;

/**
 * How a claim's volume is provisioned dynamically: through a StorageClass that
 * exists in the cluster, or one that cdk8s-state creates (CSI provisioner,
 * parameters, WaitForFirstConsumer, expansion, reclaim policy). A class that is
 * created is emitted once per app, however many stores use it.
 */
export class StorageClass {
  /** A StorageClass that already exists in the cluster: nothing is created and its settings are its own. */
  public static fromName(name: string): StorageClass {
    return new StorageClass(name, undefined,
      { description: `the existing StorageClass ${name}`, block: true, mountOptions: true, modeFix: '' }, undefined, () => ({}));
  }

  /**
   * A new class for any CSI provisioner. Access modes are the driver's business
   * and are not checked.
   *
   * @param provisioner the CSI driver name, e.g. `nfs.csi.k8s.io`
   */
  public static csi(provisioner: string, options: StorageClassOptions = {}): StorageClass {
    return new StorageClass(undefined, provisioner, genericCsi(provisioner), { allowVolumeExpansion: false, ...options }, () => ({}));
  }

  /**
   * A class without a provisioner, for statically created Local volumes: claims
   * wait for their pod so the scheduler picks the node that has the disk.
   */
  public static noProvisioner(options: StorageClassOptions = {}): StorageClass {
    return new StorageClass(undefined, 'kubernetes.io/no-provisioner',
      { description: 'a class without provisioner', block: true, mountOptions: false, modeFix: '' },
      { allowVolumeExpansion: false, ...options }, () => ({}));
  }

  /** Encrypted AWS EBS volumes (gp3 by default) through `ebs.csi.aws.com`: ReadWriteOnce, ReadWriteOncePod. */
  public static awsEbs(options: AwsEbsStorageClassOptions = {}): StorageClass {
    return StorageClass.known(CSI_DRIVERS.awsEbs, options, () => ({
      'type': options.volumeType ?? 'gp3',
      'encrypted': String(options.encrypted ?? true),
      'kmsKeyId': options.kmsKeyId,
      'csi.storage.k8s.io/fstype': options.fsType ?? 'ext4',
    }));
  }

  /** GCE Persistent Disks (pd-balanced by default) through `pd.csi.storage.gke.io`: ReadWriteOnce, ReadOnlyMany, ReadWriteOncePod. */
  public static gcePd(options: GcePdStorageClassOptions = {}): StorageClass {
    return StorageClass.known(CSI_DRIVERS.gcePd, options, () => ({
      'type': options.diskType ?? 'pd-balanced',
      'replication-type': options.regional ? 'regional-pd' : undefined,
    }));
  }

  /** Azure managed disks (StandardSSD_LRS by default) through `disk.csi.azure.com`: ReadWriteOnce, ReadWriteOncePod. */
  public static azureDisk(options: AzureDiskStorageClassOptions = {}): StorageClass {
    return StorageClass.known(CSI_DRIVERS.azureDisk, options, () => ({ skuName: options.skuName ?? 'StandardSSD_LRS' }));
  }

  /** Azure Files shares through `file.csi.azure.com`: ReadWriteOnce, ReadOnlyMany, ReadWriteMany. */
  public static azureFile(options: AzureFileStorageClassOptions = {}): StorageClass {
    return StorageClass.known(CSI_DRIVERS.azureFile, options, () => ({ skuName: options.skuName ?? 'Standard_LRS' }));
  }

  /** OpenStack Cinder volumes through `cinder.csi.openstack.org`: ReadWriteOnce. */
  public static openstackCinder(options: OpenstackCinderStorageClassOptions = {}): StorageClass {
    return StorageClass.known(CSI_DRIVERS.openstackCinder, options, () => ({ type: options.volumeType }));
  }

  /** vSphere disks through `csi.vsphere.vmware.com`: ReadWriteOnce. */
  public static vsphere(options: VsphereStorageClassOptions = {}): StorageClass {
    return StorageClass.known(CSI_DRIVERS.vsphere, options, () => ({ storagepolicyname: options.storagePolicyName }));
  }

  /** Ceph RBD images through `rbd.csi.ceph.com`: ReadWriteOnce, ReadOnlyMany, ReadWriteOncePod. */
  public static cephRbd(options: CephRbdStorageClassOptions): StorageClass {
    return StorageClass.known(CSI_DRIVERS.cephRbd, options, (scope) => ({
      clusterID: options.clusterId,
      pool: options.pool,
      imageFeatures: 'layering',
      ...cephSecretParameters(scope, options),
    }));
  }

  /** CephFS subvolumes through `cephfs.csi.ceph.com`: ReadWriteOnce, ReadOnlyMany, ReadWriteMany. */
  public static cephFs(options: CephFsStorageClassOptions): StorageClass {
    return StorageClass.known(CSI_DRIVERS.cephFs, options, (scope) => ({
      clusterID: options.clusterId,
      fsName: options.fsName,
      ...cephSecretParameters(scope, options),
    }));
  }

  private static known(driver: KnownCsiDriver, options: StorageClassOptions, parameters: ParameterRenderer): StorageClass {
    return new StorageClass(undefined, driver.driver, driver, { allowVolumeExpansion: true, ...options }, parameters);
  }

  /** @internal */
  public readonly _capabilities: StorageCapabilities;

  /** The provisioner of a class cdk8s-state creates; undefined for an existing class. */
  public readonly provisioner?: string;

  /** The class objects created so far, one per app (a choice may be used in several test apps). */
  private readonly created = new WeakMap<IConstruct, string>();

  private constructor(
    private readonly existingName: string | undefined,
    provisioner: string | undefined,
    capabilities: StorageCapabilities,
    private readonly options: StorageClassOptions | undefined,
    private readonly parameters: ParameterRenderer) {
    this.provisioner = provisioner;
    this._capabilities = capabilities;
  }

  /** True for `StorageClass.fromName`: the class exists and cdk8s-state creates nothing. */
  public get isExisting(): boolean {
    return this.existingName !== undefined;
  }

  /**
   * The class name for a claim in `scope`; creates the StorageClass object the
   * first time a store of this app uses it.
   * @internal
   */
  public _bind(scope: IConstruct): string {
    if (this.existingName !== undefined) {
      validateDnsSubdomain(scope, 'StorageClass name', this.existingName);
      return this.existingName;
    }
    const root = scope.node.root;
    const done = this.created.get(root);
    if (done) return done;
    const options = this.options ?? {};
    if (options.name !== undefined) validateDnsSubdomain(scope, 'StorageClass name', options.name);
    if (!this.provisioner) fail(scope, 'the StorageClass has an empty provisioner', 'Give the CSI driver name, e.g. StorageClass.csi(\'nfs.csi.k8s.io\')');
    if (options.mountOptions?.length && !this._capabilities.mountOptions) {
      fail(scope, `mount options ${JSON.stringify(options.mountOptions)} are set on ${this._capabilities.description}`,
        'Remove mountOptions: Local volumes are mounted as they are on the node');
    }
    const parameters: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...this.parameters(scope), ...(options.parameters ?? {}) })) {
      if (value !== undefined) parameters[key] = value;
    }
    const obj = new kplus.k8s.KubeStorageClass(scope, 'StorageClass', {
      metadata: options.name !== undefined ? { name: options.name } : undefined,
      provisioner: this.provisioner,
      parameters: Object.keys(parameters).length > 0 ? parameters : undefined,
      reclaimPolicy: options.reclaimPolicy ?? kplus.PersistentVolumeReclaimPolicy.RETAIN,
      volumeBindingMode: options.bindingMode ?? VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER,
      allowVolumeExpansion: options.allowVolumeExpansion,
      mountOptions: options.mountOptions,
      allowedTopologies: options.allowedTopologies?.length
        ? [{ matchLabelExpressions: options.allowedTopologies.map((t) => ({ key: t.key, values: t.values })) }]
        : undefined,
    });
    clusterScoped(obj);
    this.created.set(root, obj.name);
    return obj.name;
  }
}

function cephSecretParameters(scope: IConstruct, options: CephStorageClassOptions): Record<string, string> {
  const namespace = options.secretNamespace ?? Chart.of(scope).namespace;
  if (!namespace) {
    fail(scope, `the Ceph secret "${options.secret.name}" of the StorageClass has no namespace (a StorageClass is cluster-wide)`,
      'Give secretNamespace, or set the namespace of the chart');
  }
  const name = options.secret.name;
  return {
    'csi.storage.k8s.io/provisioner-secret-name': name,
    'csi.storage.k8s.io/provisioner-secret-namespace': namespace,
    'csi.storage.k8s.io/controller-expand-secret-name': name,
    'csi.storage.k8s.io/controller-expand-secret-namespace': namespace,
    'csi.storage.k8s.io/node-stage-secret-name': name,
    'csi.storage.k8s.io/node-stage-secret-namespace': namespace,
  };
}

import { ApiObject, ApiObjectMetadata, Chart, JsonPatch, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkCapabilities, clusterScoped, toQuantity } from './_storage-drivers';
import { fail, validateDnsSubdomain } from './_validation';
import { StorageClass } from './storage-class';
import { VolumeSource } from './volume-source';

const RWO = kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE;
const ROX = kplus.PersistentVolumeAccessMode.READ_ONLY_MANY;
const RWX = kplus.PersistentVolumeAccessMode.READ_WRITE_MANY;
const RWOP = kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE_POD;
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

/** How a container mounts a store. */
export interface StoreMountOptions {
  /**
   * Mount read-only. A ReadOnlyMany claim can only be mounted read-only.
   *
   * @default - true when ReadOnlyMany is the claim's only access mode, false otherwise
   */
  readonly readOnly?: boolean;
  /**
   * Mount this directory of the volume instead of its root (a relative path).
   *
   * @default - the volume's root
   */
  readonly subPath?: string;
}

/** How a workload mounts a store. */
export interface StoreWorkloadMountOptions extends StoreMountOptions {
  /**
   * The containers that get the mount.
   *
   * @default - every (non-init) container of the workload
   */
  readonly containers?: kplus.Container[];
}

/** How a workload attaches a Block store as a raw device. */
export interface StoreDeviceOptions {
  /**
   * The containers that get the device.
   *
   * @default - every (non-init) container of the workload
   */
  readonly containers?: kplus.Container[];
}

/** A PersistentVolumeClaim that containers and workloads mount with checked access modes. */
export interface IPersistentStore extends kplus.IStorage {
  /** The claim, for hand-written cdk8s-plus code. */
  readonly claim: kplus.IPersistentVolumeClaim;
  /** The claim's access modes. */
  readonly accessModes: kplus.PersistentVolumeAccessMode[];
  /** Filesystem or Block. */
  readonly volumeMode: kplus.PersistentVolumeMode;

  /**
   * Mounts the claim into one container. A container does not know its
   * workload, so prefer `mountInto`, which also checks replicas and sharing;
   * `App.synth()` still refuses a claim one node or pod may write that ends up
   * in several pods.
   */
  mount(container: kplus.Container, path: string, options?: StoreMountOptions): void;

  /**
   * Mounts the claim into a workload's containers, after checking that its
   * pods may share the claim: a claim only one node or pod may write
   * (ReadWriteOnce, ReadWriteOncePod) is refused on a workload with more than
   * one pod, and in a second workload. On a one-replica Deployment such a claim
   * switches the rollout strategy to Recreate, since a rolling update would start
   * the new pod while the old one still holds the volume (Multi-Attach).
   */
  mountInto(workload: kplus.AbstractPod, path: string, options?: StoreWorkloadMountOptions): void;

  /**
   * Attaches a Block claim to the workload's containers as a raw device at
   * `devicePath` (a `volumeDevices` entry, which cdk8s-plus has no API for),
   * with the same workload checks as `mountInto`.
   */
  mountDeviceInto(workload: kplus.AbstractPod, devicePath: string, options?: StoreDeviceOptions): void;
}

/** Properties of a `PersistentStore`. */
export interface PersistentStoreProps {
  /**
   * The size of the volume, e.g. `Size.gibibytes(10)` or `Size.mebibytes(1536)`.
   * It must be a whole number of bytes and more than zero.
   */
  readonly size: Size;
  /**
   * How nodes and pods may use the volume. Checked against what the source or
   * storage class supports.
   *
   * @default [PersistentVolumeAccessMode.READ_WRITE_ONCE]
   */
  readonly accessModes?: kplus.PersistentVolumeAccessMode[];
  /**
   * Filesystem (a directory) or Block (a raw device).
   *
   * @default PersistentVolumeMode.FILE_SYSTEM
   */
  readonly volumeMode?: kplus.PersistentVolumeMode;
  /**
   * Where an existing volume's data lives: the store then creates a
   * PersistentVolume and binds the claim to it.
   *
   * @default - no PersistentVolume: dynamic provisioning through `storageClass`
   */
  readonly source?: VolumeSource;
  /**
   * The StorageClass that provisions the volume (an existing class, or one the
   * store creates). With a `source`, only its name is used.
   *
   * @default - without a source, the cluster's default StorageClass; with a source, no class
   */
  readonly storageClass?: StorageClass;
  /**
   * Bind the claim to this existing PersistentVolume (created outside this app).
   *
   * @default - no specific volume
   */
  readonly volumeName?: string;
  /**
   * Bind the claim only to existing PersistentVolumes with these labels.
   *
   * @default - no label selector
   */
  readonly selector?: { [key: string]: string };
  /**
   * What happens to the PersistentVolume the store creates from `source` when
   * the claim is deleted. (A provisioned volume follows its StorageClass.)
   *
   * @default PersistentVolumeReclaimPolicy.RETAIN
   */
  readonly reclaimPolicy?: kplus.PersistentVolumeReclaimPolicy;
  /**
   * Mount options of the PersistentVolume the store creates from `source`,
   * e.g. `["nfsvers=4.1"]`. (A provisioned volume takes its StorageClass's.)
   *
   * @default - none
   */
  readonly mountOptions?: string[];
  /**
   * Metadata of the claim (name, labels, annotations).
   *
   * @default - a name generated from the construct path
   */
  readonly metadata?: ApiObjectMetadata;
}

/** Options of `PersistentStore.fromClaimName`. */
export interface ImportedPersistentStoreOptions {
  /** The access modes of the existing claim: mounts are checked against them. */
  readonly accessModes: kplus.PersistentVolumeAccessMode[];
  /**
   * The volume mode of the existing claim.
   *
   * @default PersistentVolumeMode.FILE_SYSTEM
   */
  readonly volumeMode?: kplus.PersistentVolumeMode;
}

/**
 * Storage that outlives pods: a PersistentVolumeClaim, with the
 * PersistentVolume of an existing volume (`source`) or dynamic provisioning
 * through a StorageClass (existing or created). Access modes, volume mode and
 * size are checked at synth against what the storage supports, and mounts are
 * checked against the workloads that use them.
 */
export class PersistentStore extends Construct implements IPersistentStore {
  /**
   * A claim that already exists in the namespace, with the same mount checks.
   *
   * @param claimName the claim's name
   * @param options the claim's access modes (and volume mode), which the checks need
   */
  public static fromClaimName(scope: Construct, id: string, claimName: string, options: ImportedPersistentStoreOptions): IPersistentStore {
    return new ImportedPersistentStore(scope, id, claimName, options);
  }

  /** The claim (a cdk8s-plus PersistentVolumeClaim). */
  public readonly claim: kplus.IPersistentVolumeClaim;
  /** The claim's access modes. */
  public readonly accessModes: kplus.PersistentVolumeAccessMode[];
  /** Filesystem or Block. */
  public readonly volumeMode: kplus.PersistentVolumeMode;
  /** The requested size. */
  public readonly size: Size;
  /** The size as a Kubernetes quantity, e.g. `1536Mi`. */
  public readonly quantity: string;
  /** The PersistentVolume the store created from `source`, or the one it binds to by `volumeName`. */
  public readonly volume?: kplus.IPersistentVolume;
  /** The StorageClass name of the claim; empty string for a static volume without class. */
  public readonly storageClassName?: string;

  private readonly mounter: Mounter;

  /**
   * @param scope the chart or construct the store belongs to
   * @param id the construct id (generated object names derive from its path)
   * @param props size, access modes and where the volume comes from
   */
  public constructor(scope: Construct, id: string, props: PersistentStoreProps) {
    super(scope, id);
    if (props.metadata?.name !== undefined) validateDnsSubdomain(this, 'claim name', props.metadata.name);
    this.size = props.size;
    this.quantity = toQuantity(this, props.size);
    this.volumeMode = props.volumeMode ?? kplus.PersistentVolumeMode.FILE_SYSTEM;
    this.accessModes = props.accessModes ?? [RWO];
    this.checkAccessModes();
    // Render the source first: a removed volume type or a missing node affinity is the first thing to fix.
    const sourceSpec = props.source?._toPersistentVolumeSpec(this);
    this.checkBinding(props);

    const className = props.storageClass?._bind(this);
    // A static volume without class must say "" or the default class is assigned and it never binds.
    this.storageClassName = props.source ? (className ?? '') : className;

    const claim = new kplus.PersistentVolumeClaim(this, 'Claim', {
      metadata: props.metadata,
      accessModes: this.accessModes,
      volumeMode: this.volumeMode,
      storageClassName: this.storageClassName,
    });
    this.claim = claim;
    // cdk8s-plus writes the size in whole GiB and throws on anything else:
    // write the exact quantity ourselves. The L1 object converts the patched
    // JSON once more and reads quantities as Quantity objects, hence fromString.
    const claimObject = ApiObject.of(claim);
    claimObject.addJsonPatch(JsonPatch.add('/spec/resources', { requests: { storage: kplus.k8s.Quantity.fromString(this.quantity) } }));
    if (props.selector) {
      claimObject.addJsonPatch(JsonPatch.add('/spec/selector', { matchLabels: { ...props.selector } }));
    }

    if (sourceSpec) {
      this.volume = this.createVolume(sourceSpec, props);
      claim.bind(this.volume);
    } else if (props.volumeName !== undefined) {
      this.volume = kplus.PersistentVolume.fromPersistentVolumeName(this, 'VolumeRef', props.volumeName);
      claim.bind(this.volume);
    }

    this.mounter = new Mounter(this, this.claim, this.accessModes, this.volumeMode);
  }

  /** The claim as a pod volume (one per store), for `container.mount` in hand-written code. Mounting this way skips the checks. */
  public asVolume(): kplus.Volume {
    return this.mounter.asVolume();
  }

  /** @see IPersistentStore.mount */
  public mount(container: kplus.Container, path: string, options: StoreMountOptions = {}): void {
    this.mounter.mount(container, path, options);
  }

  /**
   * Mounts the claim into the workload's containers. A ReadWriteOnce or
   * ReadWriteOncePod claim is refused on a workload with more than one pod and
   * in a second workload; on a one-replica Deployment it switches the rollout
   * strategy to Recreate (a rolling update would deadlock on Multi-Attach).
   */
  public mountInto(workload: kplus.AbstractPod, path: string, options: StoreWorkloadMountOptions = {}): void {
    this.mounter.mountInto(workload, path, options);
  }

  /** @see IPersistentStore.mountDeviceInto */
  public mountDeviceInto(workload: kplus.AbstractPod, devicePath: string, options: StoreDeviceOptions = {}): void {
    this.mounter.mountDeviceInto(workload, devicePath, options);
  }

  private checkAccessModes(): void {
    if (this.accessModes.length === 0) {
      fail(this, 'accessModes is empty', 'Give at least one access mode, e.g. [PersistentVolumeAccessMode.READ_WRITE_ONCE]');
    }
    if (this.accessModes.includes(RWOP) && this.accessModes.length > 1) {
      fail(this, `access modes ${this.accessModes.join(', ')} combine ReadWriteOncePod with other modes`,
        'ReadWriteOncePod cannot be combined with other access modes: request it alone');
    }
  }

  /** Refuses combinations of source, class and binding that can never give the claim a volume. */
  private checkBinding(props: PersistentStoreProps): void {
    const { source, storageClass } = props;
    if (props.volumeName !== undefined) validateDnsSubdomain(this, 'volumeName', props.volumeName);
    if (source) {
      if (props.volumeName !== undefined || props.selector !== undefined) {
        fail(this, `both source (${source.kind}) and ${props.volumeName !== undefined ? `volumeName "${props.volumeName}"` : 'selector'} are set`,
          'With a source the store creates the PersistentVolume and binds the claim to it: remove volumeName/selector, or remove source to bind to an existing volume');
      }
      checkCapabilities(this, source._capabilities, this.accessModes, this.volumeMode);
      if (props.mountOptions?.length && !source._capabilities.mountOptions) {
        fail(this, `mountOptions ${JSON.stringify(props.mountOptions)} are set on ${source._capabilities.description}`,
          `Remove mountOptions: ${source.kind} volumes are mounted as they are on the node`);
      }
      return;
    }

    const staticSettings = [props.reclaimPolicy !== undefined ? 'reclaimPolicy' : '', props.mountOptions ? 'mountOptions' : ''].filter((s) => s);
    if (staticSettings.length > 0) {
      const existing = storageClass?.isExisting ?? false;
      fail(this, `${staticSettings.join(' and ')} set on a store without source: the volume is provisioned and ` +
        `${existing ? 'the existing StorageClass' : 'its StorageClass'} decides them`,
      existing
        ? 'A StorageClass is immutable: remove them here, or create a class with them (StorageClass.csi(provisioner, { reclaimPolicy, mountOptions }))'
        : 'Set them on the class: StorageClass.csi(provisioner, { reclaimPolicy, mountOptions }) or a named helper');
    }
    if (!storageClass) return;
    checkCapabilities(this, storageClass._capabilities, this.accessModes, this.volumeMode);
    const bindsExisting = props.volumeName !== undefined || props.selector !== undefined;
    if (storageClass.provisioner === NO_PROVISIONER && !bindsExisting) {
      fail(this, 'the StorageClass has no provisioner and the store has no source, volumeName or selector: the claim would never get a volume',
        'Give the volume with source (e.g. VolumeSource.local), bind to existing volumes with volumeName or selector, or use a class with a provisioner');
    }
    if (props.selector && storageClass.provisioner !== undefined && storageClass.provisioner !== NO_PROVISIONER) {
      fail(this, `selector ${JSON.stringify(props.selector)} is set on a claim that the ${storageClass.provisioner} StorageClass provisions: ` +
        'provisioners never create volumes for claims with a selector',
      'Remove selector to provision a new volume, or use StorageClass.fromName / no class to bind to existing labelled volumes');
    }
  }

  private createVolume(sourceSpec: kplus.k8s.PersistentVolumeSpec, props: PersistentStoreProps): kplus.IPersistentVolume {
    const namespace = props.metadata?.namespace ?? Chart.of(this).namespace;
    const pv = new kplus.k8s.KubePersistentVolume(this, 'PersistentVolume', {
      spec: {
        ...sourceSpec,
        capacity: { storage: kplus.k8s.Quantity.fromString(this.quantity) },
        accessModes: this.accessModes,
        volumeMode: this.volumeMode,
        persistentVolumeReclaimPolicy: props.reclaimPolicy ?? kplus.PersistentVolumeReclaimPolicy.RETAIN,
        storageClassName: this.storageClassName,
        mountOptions: props.mountOptions,
        // Reserve the volume for this claim. A claimRef must name the claim's
        // namespace; without one the claim's volumeName alone binds it.
        claimRef: namespace ? { name: this.claim.name, namespace } : undefined,
      },
    });
    clusterScoped(pv);
    return kplus.PersistentVolume.fromPersistentVolumeName(this, 'VolumeRef', pv.name);
  }
}

class ImportedPersistentStore extends Construct implements IPersistentStore {
  public readonly claim: kplus.IPersistentVolumeClaim;
  public readonly accessModes: kplus.PersistentVolumeAccessMode[];
  public readonly volumeMode: kplus.PersistentVolumeMode;
  private readonly mounter: Mounter;

  public constructor(scope: Construct, id: string, claimName: string, options: ImportedPersistentStoreOptions) {
    super(scope, id);
    validateDnsSubdomain(this, 'claim name', claimName);
    if (!options.accessModes || options.accessModes.length === 0) {
      fail(this, `the imported claim "${claimName}" has no access modes`,
        'Give the access modes the claim was created with (kubectl get pvc ' + claimName + ' -o jsonpath={.spec.accessModes}), so mounts can be checked');
    }
    this.accessModes = [...options.accessModes];
    this.volumeMode = options.volumeMode ?? kplus.PersistentVolumeMode.FILE_SYSTEM;
    this.claim = kplus.PersistentVolumeClaim.fromClaimName(this, 'Claim', claimName);
    this.mounter = new Mounter(this, this.claim, this.accessModes, this.volumeMode);
  }

  public asVolume(): kplus.Volume {
    return this.mounter.asVolume();
  }

  public mount(container: kplus.Container, path: string, options: StoreMountOptions = {}): void {
    this.mounter.mount(container, path, options);
  }

  public mountInto(workload: kplus.AbstractPod, path: string, options: StoreWorkloadMountOptions = {}): void {
    this.mounter.mountInto(workload, path, options);
  }

  public mountDeviceInto(workload: kplus.AbstractPod, devicePath: string, options: StoreDeviceOptions = {}): void {
    this.mounter.mountDeviceInto(workload, devicePath, options);
  }
}

/** Containers (by index) of each workload that already have a volumeDevices list. */
const CONTAINERS_WITH_DEVICES = new WeakMap<kplus.AbstractPod, Set<number>>();

/** A workload that mounts the claim, and whether it needs the claim to itself. */
interface MountRecord {
  readonly workload: kplus.AbstractPod;
  readonly exclusive: boolean;
}

/** The mount logic the created and the imported stores share. */
class Mounter {
  private volume?: kplus.Volume;
  private readonly mounts: MountRecord[] = [];
  private readonly recreated = new Set<kplus.Deployment>();
  /** Containers mounted without their workload: checked when the app is synthesised. */
  private readonly looseContainers: { container: kplus.Container; readOnly: boolean }[] = [];

  public constructor(
    private readonly store: Construct,
    private readonly claim: kplus.IPersistentVolumeClaim,
    private readonly accessModes: kplus.PersistentVolumeAccessMode[],
    private readonly volumeMode: kplus.PersistentVolumeMode) {
    store.node.addValidation({ validate: () => this.validateLooseContainers() });
  }

  private get readOnlyOnly(): boolean {
    return this.accessModes.every((m) => m === ROX);
  }

  public asVolume(): kplus.Volume {
    if (!this.volume) {
      const derived = `pvc-${this.claim.name}`;
      // A pod volume name is a DNS label (63 characters, no dots); claim names may be longer or dotted.
      const name = derived.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(derived) ? derived : Names.toDnsLabel(this.store, { maxLen: 63 });
      this.volume = kplus.Volume.fromPersistentVolumeClaim(this.store, 'PodVolume', this.claim, { name, readOnly: this.readOnlyOnly });
    }
    return this.volume;
  }

  public mount(container: kplus.Container, path: string, options: StoreMountOptions, workload?: kplus.AbstractPod): void {
    const readOnly = this.checkMount(container, path, options);
    if (workload) {
      this.checkWorkload(workload, readOnly);
    } else {
      this.looseContainers.push({ container, readOnly });
    }
    container.mount(path, this.asVolume(), { readOnly, subPath: options.subPath });
  }

  public mountInto(workload: kplus.AbstractPod, path: string, options: StoreWorkloadMountOptions): void {
    for (const container of this.containersOf(workload, options.containers, 'mountInto')) {
      this.mount(container, path, options, workload);
    }
  }

  public mountDeviceInto(workload: kplus.AbstractPod, devicePath: string, options: StoreDeviceOptions): void {
    const claim = this.claim.name;
    if (this.volumeMode !== kplus.PersistentVolumeMode.BLOCK) {
      fail(this.store, `the claim "${claim}" has volumeMode ${this.volumeMode} and cannot be attached as a device at ${devicePath}`,
        'Mount it as a directory with mountInto, or request volumeMode BLOCK');
    }
    if (!devicePath.startsWith('/')) {
      fail(this.store, `device path "${devicePath}" of the claim "${claim}" is not absolute`, 'Give an absolute path, e.g. /dev/xvda');
    }
    const containers = this.containersOf(workload, options.containers, 'mountDeviceInto');
    this.checkWorkload(workload, this.readOnlyOnly);
    const volume = this.asVolume();
    if (!workload.volumes.includes(volume)) workload.addVolume(volume);
    const withDevices = CONTAINERS_WITH_DEVICES.get(workload) ?? new Set<number>();
    CONTAINERS_WITH_DEVICES.set(workload, withDevices);
    const podSpec = podSpecPath(workload);
    for (const container of containers) {
      const index = workload.containers.indexOf(container);
      const device = { name: volume.name, devicePath };
      // cdk8s-plus containers have no volumeDevices: add the list, then append to it.
      const op = withDevices.has(index)
        ? JsonPatch.add(`${podSpec}/containers/${index}/volumeDevices/-`, device)
        : JsonPatch.add(`${podSpec}/containers/${index}/volumeDevices`, [device]);
      ApiObject.of(workload).addJsonPatch(op);
      withDevices.add(index);
    }
  }

  /** The containers to mount into: the given ones, which must belong to the workload, or all of them. */
  private containersOf(workload: kplus.AbstractPod, given: kplus.Container[] | undefined, method: string): kplus.Container[] {
    const containers = given ?? workload.containers;
    if (containers.length === 0) {
      fail(this.store, `${describe(workload)} has no containers to mount the claim "${this.claim.name}" into`,
        `Add the workload's containers first, then call ${method}`);
    }
    for (const container of containers) {
      if (!workload.containers.includes(container)) {
        fail(this.store, `container "${container.name}" is not a container of ${describe(workload)}`,
          'Pass containers of that workload in options.containers, or leave it out to mount into all of them');
      }
    }
    return containers;
  }

  /** Checks what one container mount asks for; returns whether it is read-only. */
  private checkMount(container: kplus.Container, path: string, options: StoreMountOptions): boolean {
    const claim = this.claim.name;
    if (this.volumeMode === kplus.PersistentVolumeMode.BLOCK) {
      fail(this.store, `the claim "${claim}" has volumeMode Block, a raw device, and cannot be mounted as a directory at ${path} in container "${container.name}"`,
        'Attach it as a device with mountDeviceInto(workload, devicePath), or request volumeMode FILE_SYSTEM to mount it as a directory');
    }
    if (!path.startsWith('/')) {
      fail(this.store, `mount path "${path}" of the claim "${claim}" is not absolute`, 'Give an absolute path, e.g. /var/lib/data');
    }
    if (options.subPath !== undefined && (options.subPath.startsWith('/') || options.subPath.split('/').includes('..'))) {
      fail(this.store, `subPath "${options.subPath}" of the claim "${claim}" leaves the volume`,
        'Give a relative path inside the volume without ".." (e.g. "data")');
    }
    const readOnly = options.readOnly ?? this.readOnlyOnly;
    if (!readOnly && this.readOnlyOnly) {
      fail(this.store, `the claim "${claim}" is ReadOnlyMany and cannot be mounted writable at ${path} in container "${container.name}"`,
        'Mount it with readOnly: true (the default for ReadOnlyMany claims), or request a writable access mode (ReadWriteOnce, ReadWriteMany)');
    }
    return readOnly;
  }

  /**
   * Refuses pods that cannot share the claim; switches one-replica Deployments
   * of an exclusive claim to Recreate.
   */
  private checkWorkload(workload: kplus.AbstractPod, readOnly: boolean): void {
    const claim = this.claim.name;
    const modes = this.accessModes.join(', ');
    const exclusive = !(this.accessModes.includes(RWX) || (readOnly && this.accessModes.includes(ROX)));
    const pods = podCount(workload);
    if (exclusive && pods > 1) {
      const who = this.accessModes.includes(RWOP) ? 'one pod' : 'one node';
      fail(this.store, `${describe(workload)} runs ${Number.isFinite(pods) ? pods : 'several'} pods, but the claim "${claim}" (${modes}) ` +
        `may be ${readOnly ? 'used' : 'written'} by ${who} only`,
      readOnly
        ? 'Request ReadOnlyMany (or ReadWriteMany) to share it read-only, run one replica, or give each pod its own claim (a StatefulSet with volumeClaimTemplates)'
        : 'Give each pod its own claim (a StatefulSet with volumeClaimTemplates), run one replica, or use a ReadWriteMany storage (NFS, Azure File, CephFS)');
    }
    const other = this.mounts.find((m) => m.workload !== workload && (m.exclusive || exclusive));
    if (other) {
      fail(this.store, `the claim "${claim}" (${modes}) is already mounted by ${describe(other.workload)} and cannot also be ` +
        `mounted by ${describe(workload)}`,
      'Share data between workloads with a ReadWriteMany claim (or ReadOnlyMany mounted read-only), or give each workload its own store');
    }
    this.mounts.push({ workload, exclusive });
    if (exclusive && workload instanceof kplus.Deployment && !this.recreated.has(workload)) {
      // A rolling update starts the new pod before the old one stops; with a
      // volume only one node or pod may hold, the new pod waits for ever.
      ApiObject.of(workload).addJsonPatch(JsonPatch.replace('/spec/strategy', { type: 'Recreate' }));
      this.recreated.add(workload);
    }
  }

  /** `mount(container)` cannot know the workload: find it in the app when it is synthesised. */
  private validateLooseContainers(): string[] {
    if (this.looseContainers.length === 0) return [];
    const errors: string[] = [];
    const workloads = this.store.node.root.node.findAll().filter((c): c is kplus.AbstractPod => c instanceof kplus.AbstractPod);
    for (const { container, readOnly } of this.looseContainers) {
      for (const workload of workloads.filter((w) => w.containers.includes(container) || w.initContainers.includes(container))) {
        const exclusive = !(this.accessModes.includes(RWX) || (readOnly && this.accessModes.includes(ROX)));
        const pods = podCount(workload);
        if (exclusive && pods > 1) {
          errors.push(`${this.store.node.path}: ${describe(workload)} runs ${Number.isFinite(pods) ? pods : 'several'} pods, but container ` +
            `"${container.name}" mounts the claim "${this.claim.name}" (${this.accessModes.join(', ')}), which one node or pod only may use. ` +
            'Give each pod its own claim (a StatefulSet with volumeClaimTemplates), run one replica, or use a ReadWriteMany storage');
        }
      }
    }
    return errors;
  }
}

/** How many pods a workload may run at once (Infinity: one per node, or autoscaled). */
function podCount(workload: kplus.AbstractPod): number {
  if (workload instanceof kplus.Deployment) {
    return workload.hasAutoscaler ? Infinity : (workload.replicas ?? 2); // cdk8s-plus's default is 2
  }
  if (workload instanceof kplus.StatefulSet) {
    return workload.hasAutoscaler ? Infinity : (workload.replicas ?? 1);
  }
  if (workload instanceof kplus.DaemonSet) return Infinity;
  return 1;
}

/** Where the pod spec sits in the workload's manifest. */
function podSpecPath(workload: kplus.AbstractPod): string {
  if (workload instanceof kplus.Pod) return '/spec';
  if (workload instanceof kplus.CronJob) return '/spec/jobTemplate/spec/template/spec';
  return '/spec/template/spec';
}

function describe(workload: kplus.AbstractPod): string {
  return `${workload.kind} "${workload.name}"`;
}

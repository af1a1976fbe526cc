import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';

/**
 * A projected volume (several Secrets and ConfigMaps in one directory).
 *
 * cdk8s-plus-28 has no factory for projected volumes, and a servicebinding.io
 * directory must be one directory that still follows Secret rotation (subPath
 * mounts would not). kplus.Volume's constructor is private in its typings
 * but is the same (scope, id, name, config) in every 2.x release; the check
 * below fails loudly if that ever changes instead of rendering a wrong volume.
 */
export function projectedVolume(scope: Construct, id: string, name: string, source: kplus.k8s.ProjectedVolumeSource): kplus.Volume {
  const VolumeClass = kplus.Volume as unknown as new (s: Construct, i: string, n: string, config: kplus.k8s.Volume) => kplus.Volume;
  const volume = new VolumeClass(scope, id, name, { name, projected: source });
  const rendered = (volume as unknown as { _toKube(): kplus.k8s.Volume })._toKube();
  if (rendered.name !== name || rendered.projected !== source) {
    throw new Error(`cdk8s-plus-28's Volume no longer takes a volume source in its constructor; cdk8s-state cannot render the projected volume "${name}"`);
  }
  return volume;
}

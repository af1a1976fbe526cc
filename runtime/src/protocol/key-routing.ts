/** Cluster routing of a command's keys, its KeyBounds range and the one key outside it. */
import type { Frame, KeyBounds } from './commands';
import type { ClusterMap } from '../cluster/cluster';

/** The slot of the keys (-1: none; `slot`: one they must share), or the MOVED / CROSSSLOT error. */
export function routeKeys(cluster: ClusterMap, f: Frame, [first, last, step, extra]: KeyBounds, slot = -1): number | string {
  if (extra !== undefined) {
    const r = cluster.route(f.args, f.starts, f.ends, extra, extra, 1, slot);
    if (typeof r === 'string') return r;
    slot = r;
  }
  return cluster.route(f.args, f.starts, f.ends, first, last, step, slot);
}

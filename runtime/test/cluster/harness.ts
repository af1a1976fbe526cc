import { createHash } from 'node:crypto';
import { RunningCache, startCache, tempDir } from '../faults/harness';

export const HEADLESS = 'cache-headless.default.svc.cluster.local';

/** Node ids as every pod announces them: sha1 of `<statefulSetName>-<ordinal>`. */
export function nodeId(ordinal: number): string {
  return createHash('sha1').update(`cache-${ordinal}`).digest('hex');
}

export interface ThreeShards {
  readonly caches: RunningCache[];
  stop(): Promise<void>;
}

type PerOrdinal = (ordinal: number) => object;

/**
 * Three state-cache processes (ordinals 0..2 of a StatefulSet named `cache`),
 * each on its own loopback ports; `cluster` is merged into each one's
 * cluster section.
 */
export async function startThreeShards(
  cluster: PerOrdinal, server: PerOrdinal = () => ({ port: 0 }), http: PerOrdinal = () => ({ port: 0 }),
): Promise<ThreeShards> {
  const { dir, cleanup } = tempDir('state-cache-cluster-');
  const caches: RunningCache[] = [];
  const stop = async () => {
    for (const c of caches) c.child.kill('SIGKILL');
    await Promise.all(caches.map((c) => c.exited));
    cleanup();
  };
  try {
    for (let i = 0; i < 3; i++) {
      caches.push(await startCache(dir, {
        server: server(i),
        http: http(i),
        log: { level: 'info' },
        cluster: { enabled: true, replicas: 3, statefulSetName: 'cache', peerDomain: HEADLESS, ...cluster(i) },
      }, `cache-${i}`));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { caches, stop };
}

import { Static, Type } from '@sinclair/typebox';

/**
 * The `cluster` section: Redis Cluster compatibility for an
 * ExternalCacheCluster. Each pod owns a fixed range of the 16384 hash slots,
 * derived from its StatefulSet ordinal and the replica count, and announces
 * its peers by their stable DNS names
 * (`<statefulSetName>-<ordinal>.<peerDomain>`), so stock cluster clients
 * route by themselves. Durability lives in the stores, not in replication.
 */
export const ClusterConfigSchema = Type.Object({
  enabled: Type.Boolean({ default: false, description: 'Serve as one shard of a cluster: CLUSTER commands, MOVED for keys of other shards, CROSSSLOT for multi-key commands across slots.' }),
  replicas: Type.Integer({ minimum: 1, maximum: 16384, default: 1, description: 'Pods in the cluster (the StatefulSet replicas); fixes the slot ranges.' }),
  statefulSetName: Type.String({ default: 'state-cache', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'The StatefulSet name: pod names are `<statefulSetName>-<ordinal>`.' }),
  podNameEnv: Type.String({ default: 'HOSTNAME', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Environment variable holding this pod\'s name, from which the ordinal is read (a StatefulSet pod\'s HOSTNAME is its name).' }),
  ordinal: Type.Optional(Type.Integer({ minimum: 0, description: 'This pod\'s ordinal; overrides the one read from the pod name (for tests and tools).' })),
  peerDomain: Type.String({ default: 'state-cache', description: 'DNS suffix of the pods\' stable names: the headless Service, e.g. `cache-headless.default.svc.cluster.local`.' }),
  announcePort: Type.Integer({ minimum: 1, maximum: 65535, default: 6379, description: 'RESP port the peers are announced on (the container port, the same on every pod).' }),
  announceHttpPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'HTTP port the peers are announced on, for REST redirects (307) to the owner of a key; by default http.port when it is fixed, else none (421 with the owner in a header).' })),
  announceHosts: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Host announced for each ordinal, in order, instead of `<statefulSetName>-<ordinal>.<peerDomain>` (for tests and tools that run every shard on one host).' })),
  announcePorts: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { minItems: 1, description: 'RESP port announced for each ordinal, in order, instead of announcePort (for tests and tools).' })),
  announceHttpPorts: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { minItems: 1, description: 'HTTP port announced for each ordinal, in order, instead of announceHttpPort (for tests and tools).' })),
}, { default: {}, additionalProperties: false, description: 'Redis Cluster compatibility (ExternalCacheCluster).' });

export type ClusterConfig = Static<typeof ClusterConfigSchema>;

/** Checks across the section's fields that JSON Schema cannot say; paths are JSON Pointers. */
export function clusterConfigProblems(c: ClusterConfig): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (!c.enabled) return problems;
  if (c.ordinal !== undefined && c.ordinal >= c.replicas) {
    problems.push({ path: '/cluster/ordinal', message: `ordinal ${c.ordinal} is not below cluster.replicas (${c.replicas}); ordinals run from 0 to ${c.replicas - 1}` });
  }
  for (const field of ['announceHosts', 'announcePorts', 'announceHttpPorts'] as const) {
    const list = c[field];
    if (list !== undefined && list.length !== c.replicas) {
      problems.push({ path: `/cluster/${field}`, message: `has ${list.length} entries but cluster.replicas is ${c.replicas}: give one per ordinal` });
    }
  }
  return problems;
}

import { isIP } from 'node:net';
import { ClusterMap, ERR_CLUSTER_DISABLED } from './cluster';
import { SLOT_COUNT } from './slots';
import { argStr, ClientState, Frame, parseIntStrict, ServerContext, wrongArgs } from '../protocol/commands';

type Handler = (ctx: ServerContext, c: ClientState, f: Frame) => void;

/** Subcommands that change a Redis Cluster's topology: the map here is fixed by the StatefulSet. */
const TOPOLOGY = new Set([
  'ADDSLOTS', 'ADDSLOTSRANGE', 'DELSLOTS', 'DELSLOTSRANGE', 'FLUSHSLOTS', 'MEET', 'FORGET', 'REPLICATE',
  'FAILOVER', 'SETSLOT', 'RESET', 'SAVECONFIG', 'BUMPEPOCH', 'SET-CONFIG-EPOCH', 'COUNT-FAILURE-REPORTS', 'LINKS',
]);

/** Exact argument counts (with CLUSTER and the subcommand) of the subcommands served. */
const ARITY: Record<string, number> = {
  INFO: 2,
  MYID: 2,
  MYSHARDID: 2,
  NODES: 2,
  SLOTS: 2,
  SHARDS: 2,
  HELP: 2,
  KEYSLOT: 3,
  COUNTKEYSINSLOT: 3,
  GETKEYSINSLOT: 4,
  REPLICAS: 3,
  SLAVES: 3,
};

const HELP = [
  'CLUSTER <subcommand> [<arg> [value] [opt] ...]. state-cache serves:',
  'INFO', '    Return information about the cluster.',
  'MYID', '    Return the node id.',
  'MYSHARDID', '    Return the node\'s shard id.',
  'NODES', '    Return cluster configuration seen by node.',
  'SLOTS', '    Return information about slots range mappings.',
  'SHARDS', '    Return information about slot range mappings and the nodes associated with them.',
  'KEYSLOT <key>', '    Return the hash slot for <key>.',
  'COUNTKEYSINSLOT <slot>', '    Return the number of keys in <slot>.',
  'GETKEYSINSLOT <slot> <count>', '    Return key names stored by current node in a slot.',
  'REPLICAS <node-id>', '    Return <node-id> replicas (always none: durability lives in the stores).',
  'Slots are fixed by the StatefulSet ordinal and cluster.replicas; topology subcommands are refused.',
];

function keysInSlot(ctx: ServerContext, cluster: ClusterMap, slot: number, max: number): string[] {
  // O(keys in this pod): a tool's command, not a hot path; the keyspace keeps no per-slot index.
  const out: string[] = [];
  for (const k of ctx.ks.matching(/(?:)/)) {
    if (out.length >= max) break;
    if (cluster.slotOfKey(k) === slot) out.push(k);
  }
  return out;
}

export const clusterCommand: Handler = (ctx, _c, f) => {
  const out = ctx.out;
  const cluster = ctx.cluster;
  if (cluster === undefined) return out.error(ERR_CLUSTER_DISABLED);
  const sub = argStr(f, 1).toUpperCase();
  if (TOPOLOGY.has(sub)) {
    return out.error(`ERR CLUSTER ${sub} is not supported by state-cache: every pod owns the slots fixed by its StatefulSet ordinal and cluster.replicas; change the replicas and restart the pods to change the map`);
  }
  const arity = ARITY[sub];
  if (arity === undefined) return out.error(`ERR unknown subcommand '${argStr(f, 1).slice(0, 128)}'. Try CLUSTER HELP.`);
  if (f.argc !== arity) return out.error(wrongArgs(`cluster|${sub.toLowerCase()}`));
  switch (sub) {
    case 'INFO':
      return out.verbatim(cluster.infoText());
    case 'MYID':
      return out.bulk(cluster.me.id);
    case 'MYSHARDID':
      return out.bulk(cluster.me.shardId);
    case 'NODES':
      return out.verbatim(cluster.nodesText());
    case 'SLOTS':
      out.arrayHeader(cluster.nodes.length);
      for (const n of cluster.nodes) {
        out.arrayHeader(3);
        out.int(n.start);
        out.int(n.end);
        out.arrayHeader(4);
        out.bulk(n.host);
        out.int(n.port);
        out.bulk(n.id);
        out.mapHeader(0); // Redis puts the other kind of endpoint here; peers' IPs are not known.
      }
      return undefined;
    case 'SHARDS':
      out.arrayHeader(cluster.nodes.length);
      for (const n of cluster.nodes) {
        out.mapHeader(2);
        out.bulk('slots');
        out.arrayHeader(2);
        out.int(n.start);
        out.int(n.end);
        out.bulk('nodes');
        out.arrayHeader(1);
        const hostname = isIP(n.host) === 0;
        out.mapHeader(hostname ? 8 : 7);
        out.bulk('id'); out.bulk(n.id);
        out.bulk('port'); out.int(n.port);
        out.bulk('ip'); out.bulk(n.host);
        out.bulk('endpoint'); out.bulk(n.host);
        if (hostname) {
          out.bulk('hostname'); out.bulk(n.host);
        }
        out.bulk('role'); out.bulk('master');
        out.bulk('replication-offset'); out.int(0);
        out.bulk('health'); out.bulk('online');
      }
      return undefined;
    case 'KEYSLOT':
      return out.int(cluster.slotOfKey(argStr(f, 2)));
    case 'COUNTKEYSINSLOT': {
      const slot = parseIntStrict(argStr(f, 2));
      if (slot === null) return out.error('ERR value is not an integer or out of range');
      if (slot < 0 || slot >= SLOT_COUNT) return out.error('ERR Invalid slot');
      return out.int(keysInSlot(ctx, cluster, slot, Infinity).length);
    }
    case 'GETKEYSINSLOT': {
      const slot = parseIntStrict(argStr(f, 2));
      const max = parseIntStrict(argStr(f, 3));
      if (slot === null || max === null) return out.error('ERR value is not an integer or out of range');
      if (slot < 0 || slot >= SLOT_COUNT || max < 0) return out.error('ERR Invalid slot or number of keys');
      const keys = keysInSlot(ctx, cluster, slot, max);
      out.arrayHeader(keys.length);
      for (const k of keys) out.bulk(k);
      return undefined;
    }
    case 'REPLICAS':
    case 'SLAVES': {
      const id = argStr(f, 2);
      if (!cluster.nodes.some((n) => n.id === id)) return out.error(`ERR Unknown node ${id}`);
      return out.arrayHeader(0);
    }
    default: // HELP
      out.arrayHeader(HELP.length);
      for (const line of HELP) out.simple(line);
      return undefined;
  }
};

/** READONLY, READWRITE, ASKING: accepted (there are no replicas and no migrating slots), as on a cluster node. */
export const clusterOk: Handler = (ctx) => {
  if (ctx.cluster === undefined) return ctx.out.error(ERR_CLUSTER_DISABLED);
  return ctx.out.ok();
};

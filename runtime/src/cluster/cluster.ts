import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { ClusterConfig } from './config';
import { keySlot, keySlotOf, ordinalFromPodName, ownerOf, SLOT_COUNT, slotRangeFor } from './slots';

/** One pod of the cluster as every pod announces it. */
export interface ClusterNode {
  readonly ordinal: number;
  /** 40 hex digits, the same on every pod: sha1 of `<statefulSetName>-<ordinal>`. */
  readonly id: string;
  readonly shardId: string;
  readonly host: string;
  readonly port: number;
  /** HTTP port for REST redirects; undefined when it cannot be known (ephemeral). */
  readonly httpPort: number | undefined;
  readonly start: number;
  readonly end: number;
}

/** The cluster section could not give this pod an ordinal. */
export class ClusterConfigError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'ClusterConfigError';
  }
}

export const ERR_CROSSSLOT = 'CROSSSLOT Keys in request don\'t hash to the same slot';
export const ERR_CLUSTER_DISABLED = 'ERR This instance has cluster support disabled';

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * The fixed slot map of an ExternalCacheCluster, computed alike on every pod
 * from the config: no gossip, no resharding. It answers where a slot lives
 * and whether a command's keys may run here.
 */
export class ClusterMap {
  readonly nodes: readonly ClusterNode[];
  readonly me: ClusterNode;
  private readonly replicas: number;
  /** Per slot, the MOVED error text, or undefined for slots this pod owns: one array read per key. */
  private readonly moved: Array<string | undefined>;

  constructor(config: ClusterConfig, env: NodeJS.ProcessEnv, localHttpPort: number) {
    this.replicas = config.replicas;
    let ordinal = config.ordinal;
    if (ordinal === undefined) {
      const podName = env[config.podNameEnv];
      if (podName === undefined || podName === '') {
        throw new ClusterConfigError('/cluster/podNameEnv', `the environment variable ${config.podNameEnv} (the pod name) is not set: set cluster.ordinal, or run in a StatefulSet pod`);
      }
      try {
        ordinal = ordinalFromPodName(podName);
      } catch (e) {
        throw new ClusterConfigError('/cluster/podNameEnv', `${(e as Error).message} (from ${config.podNameEnv})`);
      }
    }
    if (ordinal >= config.replicas) {
      throw new ClusterConfigError('/cluster/replicas', `this pod's ordinal ${ordinal} is not below cluster.replicas (${config.replicas}): the StatefulSet has more pods than the config says`);
    }
    const httpDefault = config.announceHttpPort ?? (localHttpPort > 0 ? localHttpPort : undefined);
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < config.replicas; i++) {
      const range = slotRangeFor(i, config.replicas);
      const name = `${config.statefulSetName}-${i}`;
      nodes.push({
        ordinal: i,
        id: sha1(name),
        shardId: sha1(`shard:${name}`),
        host: config.announceHosts?.[i] ?? `${name}.${config.peerDomain}`,
        port: config.announcePorts?.[i] ?? config.announcePort,
        httpPort: config.announceHttpPorts?.[i] ?? httpDefault,
        start: range.start,
        end: range.end,
      });
    }
    this.nodes = nodes;
    this.me = nodes[ordinal];
    this.moved = new Array<string | undefined>(SLOT_COUNT);
    for (const n of nodes) {
      if (n === this.me) continue;
      for (let s = n.start; s <= n.end; s++) this.moved[s] = `MOVED ${s} ${n.host}:${n.port}`;
    }
  }

  owns(slot: number): boolean {
    return slot >= this.me.start && slot <= this.me.end;
  }

  /** The node that owns a key (a binary latin1 string, as the keyspace holds keys). */
  ownerOfKey(key: string): ClusterNode {
    return this.nodes[ownerOf(keySlot(Buffer.from(key, 'latin1')), this.replicas)];
  }

  slotOfKey(key: string): number {
    return keySlot(Buffer.from(key, 'latin1'));
  }

  /**
   * The redirect or error for a command's keys at argument offsets
   * first..last (step), as Redis checks them: keys in different slots are
   * CROSSSLOT, a slot of another pod is MOVED. `slot` carries the slot of
   * earlier commands of a transaction (-1 for none). Returns the slot, or the
   * error text.
   */
  route(args: Uint8Array, starts: Int32Array, ends: Int32Array, first: number, last: number, step: number, slot = -1): number | string {
    for (let i = first; i <= last; i += step) {
      const s = keySlotOf(args, starts[i], ends[i]);
      if (slot === -1) slot = s;
      else if (s !== slot) return ERR_CROSSSLOT;
    }
    if (slot === -1) return -1;
    return this.moved[slot] ?? slot;
  }

  // ---- the CLUSTER replies, in Redis 7's shapes ----

  /** CLUSTER NODES: one line per node; the endpoint is the announced host, with it as hostname too. */
  nodesText(): string {
    let text = '';
    for (const n of this.nodes) {
      const hostname = isIP(n.host) === 0 ? `,${n.host}` : '';
      const flags = n === this.me ? 'myself,master' : 'master';
      text += `${n.id} ${n.host}:${n.port}@${n.port + 10000}${hostname} ${flags} - 0 0 ${n.ordinal + 1} connected ${n.start}-${n.end}\n`;
    }
    return text;
  }

  infoText(): string {
    const fields: Array<[string, string | number]> = [
      ['cluster_state', 'ok'],
      ['cluster_slots_assigned', SLOT_COUNT],
      ['cluster_slots_ok', SLOT_COUNT],
      ['cluster_slots_pfail', 0],
      ['cluster_slots_fail', 0],
      ['cluster_known_nodes', this.nodes.length],
      ['cluster_size', this.nodes.length],
      ['cluster_current_epoch', this.nodes.length],
      ['cluster_my_epoch', this.me.ordinal + 1],
      ['cluster_stats_messages_sent', 0],
      ['cluster_stats_messages_received', 0],
      ['total_cluster_links_buffer_limit_exceeded', 0],
    ];
    return fields.map(([k, v]) => `${k}:${v}\r\n`).join('');
  }
}

/**
 * Redis Cluster hash slots: which of the 16384 slots a key belongs to, and
 * which slots a pod owns. In an ExternalCacheCluster each pod owns a fixed,
 * contiguous range derived from its StatefulSet ordinal and the replica count,
 * so every pod computes the same map without talking to its peers.
 */

export const SLOT_COUNT = 16384;

// CRC16-CCITT (XModem), the variant Redis Cluster uses. A table keeps the
// per-key cost to one lookup per byte: this runs on every keyed command.
const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let j = 0; j < 8; j++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table[i] = crc;
  }
  return table;
})();

export function crc16(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ buf[i]) & 0xff];
  }
  return crc;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The slot of a key. Hash tags: when the key holds a `{...}` with at least
 * one byte inside, only the part between the first `{` and the next `}` is
 * hashed, so related keys can be kept in one slot.
 */
export function keySlot(key: Uint8Array): number {
  return keySlotOf(key, 0, key.length);
}

/** The slot of the key in buf[start..end), without copying it (dispatch checks every keyed command). */
export function keySlotOf(buf: Uint8Array, start: number, end: number): number {
  for (let open = start; open < end; open++) {
    if (buf[open] !== OPEN_BRACE) continue;
    for (let close = open + 1; close < end; close++) {
      if (buf[close] !== CLOSE_BRACE) continue;
      if (close > open + 1) return crc16(buf, open + 1, close) & (SLOT_COUNT - 1);
      break;
    }
    break;
  }
  return crc16(buf, start, end) & (SLOT_COUNT - 1);
}

/** An inclusive range of slots. */
export interface SlotRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The slots the pod with `ordinal` owns among `replicas` pods: contiguous
 * ranges split the way `redis-cli --cluster create` splits them (for three
 * pods: 0-5460, 5461-10922, 10923-16383), so operators see familiar maps.
 */
export function slotRangeFor(ordinal: number, replicas: number): SlotRange {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > SLOT_COUNT) {
    throw new RangeError(`replicas must be a whole number from 1 to ${SLOT_COUNT}, got ${replicas}`);
  }
  if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= replicas) {
    throw new RangeError(`ordinal must be a whole number from 0 to ${replicas - 1}, got ${ordinal}`);
  }
  return { start: rangeEnd(ordinal - 1, replicas) + 1, end: rangeEnd(ordinal, replicas) };
}

/** The last slot of the range of `ordinal` (-1 for ordinal -1), as redis-cli computes it. */
function rangeEnd(ordinal: number, replicas: number): number {
  if (ordinal < 0) return -1;
  if (ordinal === replicas - 1) return SLOT_COUNT - 1;
  const perPod = SLOT_COUNT / replicas;
  // redis-cli: last = lround(cursor + slotsPerNode - 1), cursor = ordinal * slotsPerNode.
  // With at most SLOT_COUNT pods, perPod >= 1, so ranges are never empty.
  return Math.round(ordinal * perPod + perPod - 1);
}

/** The ordinal of the pod that owns `slot` (the inverse of slotRangeFor). */
export function ownerOf(slot: number, replicas: number): number {
  let ordinal = Math.min(replicas - 1, Math.floor(slot / (SLOT_COUNT / replicas)));
  while (ordinal > 0 && slot <= rangeEnd(ordinal - 1, replicas)) ordinal--;
  while (slot > rangeEnd(ordinal, replicas)) ordinal++;
  return ordinal;
}

/** The StatefulSet ordinal from a pod name such as `cache-2` (the text after the last `-`). */
export function ordinalFromPodName(podName: string): number {
  const m = /-(\d+)$/.exec(podName);
  if (!m) {
    throw new Error(`cannot tell the StatefulSet ordinal from pod name "${podName}": expected a name ending in -<number>`);
  }
  return Number(m[1]);
}

/**
 * What OBJECT ENCODING answers, as Redis 7.0 would for the same value and
 * history (docs/commands.md "OBJECT"). Aggregates carry their sticky `big`
 * flag (keyspace/types.ts); strings are `int`, `embstr` or `raw` by content,
 * except after the commands that leave Redis's string in another encoding
 * whatever it holds: APPEND and SETRANGE (`raw`), INCRBYFLOAT (never `int`).
 * Those are noted here by the entry's version, so any later write of the key
 * (a new version) forgets them.
 */
import type { Keyspace } from '../keyspace/keyspace';
import {
  HashValue, isIntsetMember, SetValue, T_HASH, T_LIST, T_SET, T_STREAM, T_STRING, T_ZSET, ZSetValue,
} from '../keyspace/types';

/** A string's encoding forced by the command that wrote it: `raw` (APPEND, SETRANGE) or `noint` (INCRBYFLOAT). */
export type ForcedEncoding = 'raw' | 'noint';

interface Note {
  readonly version: number;
  readonly enc: ForcedEncoding;
}

const NOTES = new WeakMap<Keyspace, Map<string, Note>>();
/** Notes kept before the stale ones (the key written since) are swept. */
const SWEEP_AT = 10_000;

/** Records that `key`, as now written, has the encoding `enc` (call once the write is applied). */
export function noteEncoding(ks: Keyspace, key: string, enc: ForcedEncoding): void {
  let notes = NOTES.get(ks);
  if (notes === undefined) NOTES.set(ks, (notes = new Map()));
  const version = ks.currentVersion(key);
  if (version === 0) return;
  if (notes.size >= SWEEP_AT) {
    for (const [k, n] of notes) if (ks.currentVersion(k) !== n.version) notes.delete(k);
    if (notes.size >= SWEEP_AT) notes.clear();
  }
  notes.set(key, { version, enc });
}

/** Redis's string encodings: int (an integer in string2ll's form within int64), embstr (<= 44 bytes), raw. */
export function stringEncoding(v: string | Buffer, forced?: ForcedEncoding): string {
  if (forced === 'raw') return 'raw';
  if (forced !== 'noint' && typeof v === 'string' && isIntsetMember(v)) return 'int';
  return v.length <= 44 ? 'embstr' : 'raw';
}

/** OBJECT ENCODING of the live entry of `key` at `slot`. */
export function objectEncoding(ks: Keyspace, key: string, slot: number): string {
  switch (ks.typeAt(slot)) {
    case T_STRING: {
      const note = NOTES.get(ks)?.get(key);
      const forced = note !== undefined && note.version === ks.versionOf(slot) ? note.enc : undefined;
      return stringEncoding(ks.value(slot), forced);
    }
    case T_HASH: return (ks.typedAt(slot) as HashValue).big ? 'hashtable' : 'listpack';
    case T_SET: return (ks.typedAt(slot) as SetValue).big ? 'hashtable' : 'intset';
    case T_ZSET: return (ks.typedAt(slot) as ZSetValue).big ? 'skiplist' : 'listpack';
    case T_LIST: return 'quicklist'; // Redis 7.0 keeps every list in a quicklist (listpack lists came in 7.2)
    case T_STREAM: return 'stream';
    default: return 'raw';
  }
}

/** OBJECT REFCOUNT: Redis shares the integers 0..9999 (refcount INT_MAX) unless an LRU or LFU policy is on. */
export function objectRefcount(ks: Keyspace, key: string, slot: number): number {
  if (ks.typeAt(slot) !== T_STRING || ks.policy !== 'noeviction' || objectEncoding(ks, key, slot) !== 'int') return 1;
  const v = ks.value(slot);
  return typeof v === 'string' && /^(0|[1-9][0-9]{0,3})$/.test(v) ? 2147483647 : 1;
}

/**
 * Array parameters in PostgreSQL's binary format (`array_recv`), for the
 * postgres store's batch statements.
 *
 * node-postgres sends a Buffer parameter as binary and everything else as
 * text; an array of Buffers goes as text, every element hex-encoded and
 * quoted, which PostgreSQL then parses back. For a write-behind batch that
 * doubled the bytes on the wire and was most of the flush's cost on both
 * sides (measured in docs/benchmarks.md). No package on the registry encodes
 * these few types, so they are written here: one allocation per array.
 *
 * Layout: ndim, has-nulls flag, element type oid, then per dimension its
 * length and lower bound (1), then per element its byte length (-1 = NULL)
 * and bytes. All integers big-endian.
 */

const BYTEA = 17;
const INT8 = 20;
const TIMESTAMPTZ = 1184;
/** timestamptz on the wire: microseconds since 2000-01-01T00:00:00Z. */
const PG_EPOCH_MS = 946_684_800_000;

function header(size: number, count: number, hasNulls: boolean, oid: number): { out: Buffer; at: number } {
  const head = count === 0 ? 12 : 20;
  const out = Buffer.allocUnsafe(head + size);
  out.writeInt32BE(count === 0 ? 0 : 1, 0);
  out.writeInt32BE(hasNulls ? 1 : 0, 4);
  out.writeInt32BE(oid, 8);
  if (count > 0) {
    out.writeInt32BE(count, 12);
    out.writeInt32BE(1, 16);
  }
  return { out, at: head };
}

/** `bytea[]` */
export function byteaArray(values: readonly Buffer[]): Buffer {
  let size = 0;
  for (const v of values) size += 4 + v.length;
  const { out, at } = header(size, values.length, false, BYTEA);
  let o = at;
  for (const v of values) {
    out.writeInt32BE(v.length, o);
    o += 4 + v.copy(out, o + 4);
  }
  return out;
}

/** `bigint[]`: versions are safe integers (below 2^53). */
export function int8Array(values: readonly number[]): Buffer {
  const { out, at } = header(values.length * 12, values.length, false, INT8);
  let o = at;
  for (const v of values) {
    out.writeInt32BE(8, o);
    out.writeBigInt64BE(BigInt(v), o + 4);
    o += 12;
  }
  return out;
}

/** `timestamptz[]` from epoch milliseconds, 0 meaning NULL (no expiry). */
export function timestamptzArray(epochMs: readonly number[]): Buffer {
  let nulls = 0;
  for (const ms of epochMs) if (ms === 0) nulls++;
  const { out, at } = header(nulls * 4 + (epochMs.length - nulls) * 12, epochMs.length, nulls > 0, TIMESTAMPTZ);
  let o = at;
  for (const ms of epochMs) {
    if (ms === 0) {
      out.writeInt32BE(-1, o);
      o += 4;
    } else {
      out.writeInt32BE(8, o);
      out.writeBigInt64BE(BigInt(ms - PG_EPOCH_MS) * 1000n, o + 4);
      o += 12;
    }
  }
  return out;
}

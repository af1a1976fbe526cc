/**
 * Copies of part of one byte array into another, without garbage.
 *
 * Buffer#copy of part of a buffer first makes a Uint8Array view of that part
 * (Node 20's lib/buffer.js): ~100 bytes of garbage per call, made by a slow
 * runtime path when the source is a view of a resizable ArrayBuffer (the
 * keyspace's arenas), and 15-30 ns more than the copy itself. A pipelined GET
 * or SET copies its value once, so that view was most of what each allocated
 * (~100 of ~120-150 bytes) and so most of the young-generation collections of a
 * pipelined run, whose pauses are part of its p99. Node's internal `buffer`
 * binding copies without the view (and checks its bounds as Buffer#copy
 * does); being internal (`process.binding`, DEP0111), it is feature-detected
 * and checked once on a known copy, and Buffer#copy is the fallback.
 * `STATE_CACHE_BYTE_COPY=buffer` in the environment takes the fallback
 * (CI runs the protocol suites a second time on public APIs only).
 */

/** Copies `src[start, end)` into `dst` at `at`; returns how many bytes (fewer when `dst` ends first). */
export type ByteCopy = (src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number) => number;

export const copyViaBuffer: ByteCopy = (src, start, end, dst, at) => Buffer.prototype.copy.call(src, dst, at, start, end);

/** The binding's copy, or null where this Node has none that passes the check. */
export const copyViaBinding: ByteCopy | null = (() => {
  try {
    const b = (process as unknown as { binding(name: string): { copy?: unknown } }).binding('buffer');
    const copy = b.copy as (src: Uint8Array, dst: Uint8Array, at: number, start: number, end: number) => number;
    if (typeof copy !== 'function') return null;
    const probe = Buffer.alloc(6);
    if (copy(Buffer.from('abcdef'), probe, 2, 1, 4) !== 3 || probe.toString('latin1') !== '\0\0bcd\0') return null;
    return (src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number => copy(src, dst, at, start, end);
  } catch {
    // No process.binding, or `buffer` is no longer on its allow list.
    return null;
  }
})();

export const copyBytes: ByteCopy = process.env.STATE_CACHE_BYTE_COPY === 'buffer' ? copyViaBuffer : copyViaBinding ?? copyViaBuffer;

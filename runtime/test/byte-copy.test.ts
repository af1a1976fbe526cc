import { copyBytes, copyViaBinding, copyViaBuffer } from '../src/byte-copy';

/** Resizable ArrayBuffers (ES2024) are in Node 20; this TypeScript's lib does not know the option. */
const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer;

test('the binding copy and Buffer#copy agree: ranges, clamping at the destination end, views of resizable buffers', () => {
  const impls = [copyViaBuffer, ...(copyViaBinding === null ? [] : [copyViaBinding])];
  const rab = new Resizable(4096, { maxByteLength: 65536 });
  const sources = [Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) & 255)), Buffer.from(rab, 0, 4096), new Uint8Array(rab, 0, 4096)];
  for (let i = 0; i < 4096; i++) sources[1][i] = (i * 7 + 3) & 255;
  // [start, end, destination length, at]: whole, clamped by the destination, one byte, none.
  const cases: Array<[number, number, number, number]> = [
    [0, 0, 16, 0], [5, 105, 64, 10], [100, 1100, 4096, 3000], [0, 4096, 100, 40], [7, 8, 1, 0], [10, 10, 8, 0],
  ];
  for (const src of sources) {
    for (const [start, end, dstLen, at] of cases) {
      const results = impls.map((copy) => {
        const dst = Buffer.alloc(dstLen, 0xee);
        const n = copy(src, start, end, dst, at);
        return { n, dst: dst.toString('hex') };
      });
      const want = Math.max(0, Math.min(end - start, dstLen - at));
      expect(results[0].n).toBe(want);
      const expected = Buffer.alloc(dstLen, 0xee);
      Buffer.from(src.buffer, src.byteOffset + start, want).copy(expected, at);
      for (const r of results) expect(r).toEqual({ n: want, dst: expected.toString('hex') });
    }
  }
  // What the runtime uses: the binding where this Node has it, unless told to use public APIs only.
  expect(copyBytes).toBe(process.env.STATE_CACHE_BYTE_COPY === 'buffer' ? copyViaBuffer : copyViaBinding ?? copyViaBuffer);
});

/* eslint-disable @typescript-eslint/no-floating-promises */ // a memory-only keyspace applies writes synchronously
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ENTRY_OVERHEAD, Keyspace } from '../src/keyspace/keyspace';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

function used(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

test('memory per entry matches the accounted ENTRY_OVERHEAD (16-byte keys, 100-byte values)', () => {
  const N = 200_000;
  const before = used();
  const ks = new Keyspace();
  const v = 'x'.repeat(100);
  for (let i = 0; i < N; i++) {
    // Fresh strings, as the protocol makes them from socket bytes.
    const key = Buffer.from(`key:${String(i).padStart(12, '0')}`).latin1Slice(0, 16);
    ks.set(key, Buffer.from(v).latin1Slice(0, 100), 0);
  }
  const perEntry = (used() - before) / N;
  expect(ks.size).toBe(N);
  expect(ks.usedBytes).toBe(N * (ENTRY_OVERHEAD + 116));
  // The accounted size never undercounts by more than 20%: the byte budget is
  // what keeps the pod from being OOM-killed. (Overcounting only costs room;
  // the in-process heap figure swings with GC timing and column doubling, so
  // it is no base for a lower bound. bench:cache measures RSS per key.)
  expect(perEntry).toBeGreaterThan(0);
  expect(perEntry).toBeLessThan((ENTRY_OVERHEAD + 116) * 1.2);
});

import Redis from 'ioredis';

/**
 * A randomised staleness checker for several state-cache instances on one
 * shared store. Writers write random keys on random instances (one write per
 * key at a time, so the order of a key's values is the order of their
 * acknowledgements); after each acknowledgement the writer polls the other
 * instances until they return the new value (the visibility lag). Readers
 * read random keys on random instances. Every read is checked: a read that
 * returns a value older than one acknowledged before it was sent is stale by
 * (reply time - that acknowledgement), measured on the safe side.
 */

export interface CheckerOptions {
  /** RESP ports of the instances. */
  readonly ports: readonly number[];
  readonly keys: number;
  /** Operations in all: writes, visibility probes and random reads. */
  readonly operations: number;
  /**
   * Writers go on past `operations` until this many writes were acknowledged:
   * on a quiet machine the readers alone would use up the operations while
   * each writer still waits for its write to be seen.
   */
  readonly minWrites?: number;
  readonly writers: number;
  readonly readers: number;
  /** A probe gives up after this long (the write counts as never seen: fails the check). */
  readonly probeTimeoutMs: number;
}

export interface CheckerResult {
  readonly writes: number;
  readonly reads: number;
  /** Per write and other instance: ms from the acknowledgement to the first read that returned it. */
  readonly visibilityMs: number[];
  /** Every checked read's staleness in ms (0 when fresh). */
  readonly stalenessMs: number[];
  /**
   * Control: latency of a read that misses memory and loads from the store
   * (a key never written) on a random instance, measured during the run. It is
   * what an instance pays to reload a dropped copy on this machine right now.
   */
  readonly missMs: number[];
  /** Reads that returned a value never written (must be empty). */
  readonly impossible: string[];
  readonly elapsedMs: number;
}

interface Write { readonly value: string; ackAt: number }

export async function runChecker(o: CheckerOptions): Promise<CheckerResult> {
  const history = new Map<string, Write[]>();
  const writing = new Set<string>();
  const visibilityMs: number[] = [];
  const stalenessMs: number[] = [];
  const impossible: string[] = [];
  const missMs: number[] = [];
  const clients: Redis[] = [];
  const connect = (port: number): Redis => {
    const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: true });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  let ops = 0;
  let writes = 0;
  let reads = 0;
  let seq = 0;
  const started = performance.now();
  const now = () => performance.now();

  /** Records a read of `key` sent at `sentAt` that returned `value` at `at`; returns the index of the value in the key's history. */
  const check = (key: string, value: string | null, at: number): number => {
    reads++;
    const h = history.get(key) ?? [];
    const idx = value === null ? -1 : h.findIndex((w) => w.value === value);
    if (value !== null && idx < 0) {
      impossible.push(`${key}=${value}`);
      return idx;
    }
    const next = h[idx + 1];
    stalenessMs.push(next !== undefined && next.ackAt < at ? at - next.ackAt : 0);
    return idx;
  };

  const writer = async (w: number): Promise<void> => {
    const conns = o.ports.map(connect);
    while (ops < o.operations || writes + writing.size < (o.minWrites ?? 0)) {
      const key = `k${Math.floor(Math.random() * o.keys)}`;
      if (writing.has(key)) continue;
      writing.add(key);
      try {
        const node = Math.floor(Math.random() * conns.length);
        const value = `n${node}-w${w}-${seq++}`;
        const h = history.get(key) ?? [];
        history.set(key, h);
        const entry: Write = { value, ackAt: Infinity };
        h.push(entry);
        ops++;
        const reply = await conns[node].set(key, value);
        if (reply !== 'OK') throw new Error(`SET ${key} answered ${reply}`);
        entry.ackAt = now();
        writes++;
        const myIndex = h.length - 1;
        // Probe the others until each returns this value (or a later one).
        await Promise.all(conns.map(async (c, i) => {
          if (i === node) return;
          for (;;) {
            ops++;
            const v = await c.get(key);
            const at = now();
            if (check(key, v, at) >= myIndex) {
              visibilityMs.push(at - entry.ackAt);
              return;
            }
            if (at - entry.ackAt > o.probeTimeoutMs) {
              visibilityMs.push(Infinity);
              return;
            }
            // A short pause between probes: tight loops of a dozen probes would load the instances they measure.
            await new Promise((r) => setTimeout(r, 1));
          }
        }));
      } finally {
        writing.delete(key);
      }
    }
  };

  const reader = async (): Promise<void> => {
    const conns = o.ports.map(connect);
    while (ops < o.operations) {
      const key = `k${Math.floor(Math.random() * o.keys)}`;
      ops++;
      const v = await conns[Math.floor(Math.random() * conns.length)].get(key);
      check(key, v, now());
    }
  };

  const control = async (): Promise<void> => {
    const conns = o.ports.map(connect);
    while (ops < o.operations) {
      const sent = now();
      await conns[Math.floor(Math.random() * conns.length)].get(`never-written-${seq++}`);
      missMs.push(now() - sent);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  try {
    await Promise.all([
      ...Array.from({ length: o.writers }, (_, w) => writer(w)),
      ...Array.from({ length: o.readers }, () => reader()),
      control(),
    ]);
  } finally {
    for (const c of clients) if (c.status !== 'end') c.disconnect();
  }
  return { writes, reads, visibilityMs, stalenessMs, missMs, impossible, elapsedMs: now() - started };
}

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function distribution(values: readonly number[]): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'never');
  return `p50 ${f(percentile(values, 50))} ms, p90 ${f(percentile(values, 90))} ms, p99 ${f(percentile(values, 99))} ms, p99.9 ${f(percentile(values, 99.9))} ms, max ${f(percentile(values, 100))} ms (n=${values.length})`;
}

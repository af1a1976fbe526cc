/**
 * Entry versions: monotonic for the whole keyspace (so per key too), derived
 * from a microsecond wall clock so they keep growing across restarts, and
 * never below a version the keyspace has seen (e.g. loaded from a store whose
 * writer's clock ran ahead). Microseconds since the epoch stay below 2^53
 * until the year 2255, so versions are safe integers.
 */
export class VersionClock {
  private last = 0;

  /** `clockMicros`: wall-clock microseconds (ms resolution is enough: the counter keeps versions distinct). */
  constructor(private readonly clockMicros: () => number = defaultClockMicros) {}

  /** A version greater than every version issued or observed before. */
  next(): number {
    const now = this.clockMicros();
    this.last = now > this.last ? now : this.last + 1;
    return this.last;
  }

  /** Records a version seen elsewhere (a store, a peer); later versions exceed it. */
  observe(version: number): void {
    if (version > this.last) this.last = version;
  }

  get lastIssued(): number {
    return this.last;
  }
}

function defaultClockMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

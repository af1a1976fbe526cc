// redlock 5 ships types (dist/index.d.ts) but its package.json "exports" does not name them,
// so node16 resolution cannot find them: the part the tests use.
declare module 'redlock' {
  import type Redis from 'ioredis';
  interface Lock {
    readonly value: string;
    extend(duration: number): Promise<Lock>;
    release(): Promise<unknown>;
  }
  export default class Redlock {
    constructor(clients: Iterable<Redis>, settings?: { retryCount?: number; retryDelay?: number });
    acquire(resources: string[], duration: number): Promise<Lock>;
    using<T>(resources: string[], duration: number, routine: () => Promise<T>): Promise<T>;
  }
}

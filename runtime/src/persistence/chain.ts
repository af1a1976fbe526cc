import { CacheStore, StoreUnavailableError } from '../stores/store';

/** One store in the chain, as the stores config describes it. */
export interface StoreLink {
  readonly store: CacheStore;
  /** A write is acknowledged (write-through) or counted done only when every required store has it; best-effort stores only log and count failures. */
  readonly required: boolean;
  /** Preload reads from the first store marked for preload. */
  readonly preload: boolean;
}

/** A key as a Map key: latin1 maps every byte to one char, so distinct byte strings stay distinct. */
export function keyId(key: Buffer): string {
  return key.toString('latin1');
}

/** Links that are written to (read-only stores are only read). */
export function writableLinks(links: readonly StoreLink[]): StoreLink[] {
  return links.filter((l) => !l.store.characteristics.readOnly);
}

/** Any failure of a whole store call, as the distinct StoreUnavailableError. */
export function asUnavailable(store: string, err: unknown): StoreUnavailableError {
  if (err instanceof StoreUnavailableError) return err;
  return new StoreUnavailableError(store, (err as Error)?.message ?? String(err), { cause: err });
}

import { CacheStore, StoreUnavailableError } from '../stores/store';

/** One store in the chain, as the stores config describes it. */
export interface StoreLink {
  readonly store: CacheStore;
  /** A write is acknowledged (write-through) or counted done only when every required store has it; best-effort stores only log and count failures. */
  readonly required: boolean;
  /** Preload reads from the first store marked for preload. */
  readonly preload: boolean;
  /** Only read (load, preload), never written, even if the store could be. @default the store's own readOnly */
  readonly readOnly?: boolean;
}

/**
 * The links of a store chain as the stores config describes them
 * (`mode: 'required' | 'bestEffort'`), as persistence links: write-behind keeps
 * one queue per writable link, so one failing store never holds up another.
 */
export function linksFromChain(links: ReadonlyArray<{
  readonly store: CacheStore;
  readonly mode: 'required' | 'bestEffort';
  readonly readOnly: boolean;
  readonly preload: boolean;
}>): StoreLink[] {
  return links.map((l) => ({ store: l.store, required: l.mode === 'required', preload: l.preload, readOnly: l.readOnly }));
}

/** A key as a Map key: latin1 maps every byte to one char, so distinct byte strings stay distinct. */
export function keyId(key: Buffer): string {
  return key.toString('latin1');
}

/** Links that are written to (read-only stores are only read). */
export function writableLinks(links: readonly StoreLink[]): StoreLink[] {
  return links.filter((l) => !l.readOnly && !l.store.characteristics.readOnly);
}

/** Any failure of a whole store call, as the distinct StoreUnavailableError. */
export function asUnavailable(store: string, err: unknown): StoreUnavailableError {
  if (err instanceof StoreUnavailableError) return err;
  return new StoreUnavailableError(store, (err as Error)?.message ?? String(err), { cause: err });
}

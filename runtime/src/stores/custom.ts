import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { CustomStoreConfig } from './config';
import type { StoreContext } from './context';
import {
  BatchResult, CacheStore, StoreCharacteristics, StoreConfigError, StoredDelete, StoredEntry, StoreRejectedError,
  StoreUnavailableError,
} from './store';

/**
 * What a custom module exports under `export` (default `createStore`):
 * `createStore(options, context)` returning a CacheStore, or a promise of one.
 * `options` is the `options` object of the config, `context` the StoreContext.
 */
export type CustomStoreFactory = (options: Record<string, unknown>, context: StoreContext) => CacheStore | Promise<CacheStore>;

const METHODS = ['start', 'load', 'loadMany', 'writeBatch', 'deleteBatch', 'iterate', 'clear', 'ping', 'close'] as const;
const TRAITS = ['shareable', 'supportsTtl', 'versioned', 'readOnly'] as const;

/** Loads the module, calls its factory and checks that the result implements the interface. */
export async function createCustomStore(config: CustomStoreConfig, context: StoreContext): Promise<CacheStore> {
  const name = config.name;
  const path = isAbsolute(config.module) ? config.module : resolve(process.cwd(), config.module);
  if (!existsSync(path)) {
    throw new StoreConfigError(name, `custom module ${path} not found; mount the module at that path or fix "module"`);
  }
  let mod: Record<string, unknown>;
  try {
    // require() loads CommonJS and, on Node >= 20.19, ES modules without top-level await.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(path);
  } catch (err) {
    throw new StoreConfigError(name, `custom module ${path} failed to load: ${(err as Error).message}`, { cause: err });
  }
  const factory = (mod[config.export] ?? (mod.default as Record<string, unknown> | undefined)?.[config.export]) as unknown;
  if (typeof factory !== 'function') {
    const exported = Object.keys(mod).filter((k) => k !== '__esModule');
    throw new StoreConfigError(name, `custom module ${path} exports no function "${config.export}" (it exports: ${exported.length > 0 ? exported.join(', ') : 'nothing'}); `
      + `export function ${config.export}(options, context) returning the store, or set "export" to the factory's name`);
  }
  let store: CacheStore;
  try {
    store = await (factory as CustomStoreFactory)(config.options, context);
  } catch (err) {
    throw new StoreConfigError(name, `${config.export}() of custom module ${path} threw: ${(err as Error).message}`, { cause: err });
  }
  const missing: string[] = [];
  if (store === null || typeof store !== 'object') {
    missing.push(...METHODS, 'characteristics');
  } else {
    for (const m of METHODS) if (typeof (store as unknown as Record<string, unknown>)[m] !== 'function') missing.push(m);
    const traits = (store as unknown as { characteristics?: Record<string, unknown> }).characteristics;
    for (const t of TRAITS) if (typeof traits?.[t] !== 'boolean') missing.push(`characteristics.${t}`);
  }
  if (missing.length > 0) {
    throw new StoreConfigError(name, `${config.export}() of custom module ${path} returned a store without ${missing.join(', ')}; it must implement the CacheStore interface`);
  }
  return new CustomStore(name, store);
}

/**
 * Wraps a custom store: it takes the name from the config, and turns any error
 * the module throws that is not one of the store errors into
 * StoreUnavailableError, so the persistence layer retries instead of crashing.
 */
export class CustomStore implements CacheStore {
  readonly characteristics: StoreCharacteristics;

  constructor(readonly name: string, readonly inner: CacheStore) {
    const c = inner.characteristics;
    this.characteristics = { shareable: c.shareable, supportsTtl: c.supportsTtl, versioned: c.versioned, readOnly: c.readOnly };
  }

  start(): Promise<void> { return this.guard('start', () => this.inner.start()); }
  load(key: Buffer): Promise<StoredEntry | undefined> { return this.guard('load', () => this.inner.load(key)); }

  loadMany(keys: readonly Buffer[]): Promise<Array<StoredEntry | undefined>> {
    return this.guard('loadMany', async () => {
      const got = await this.inner.loadMany(keys);
      if (!Array.isArray(got) || got.length !== keys.length) {
        throw new Error(`loadMany returned ${Array.isArray(got) ? got.length : typeof got} results for ${keys.length} keys`);
      }
      return got;
    });
  }

  writeBatch(entries: readonly StoredEntry[]): Promise<BatchResult> { return this.guard('writeBatch', () => this.inner.writeBatch(entries)); }
  deleteBatch(deletes: readonly StoredDelete[]): Promise<BatchResult> { return this.guard('deleteBatch', () => this.inner.deleteBatch(deletes)); }

  async *iterate(): AsyncIterable<StoredEntry> {
    try {
      yield* this.inner.iterate();
    } catch (err) {
      throw this.wrap('iterate', err);
    }
  }

  clear(): Promise<void> { return this.guard('clear', () => this.inner.clear()); }
  ping(): Promise<void> { return this.guard('ping', () => this.inner.ping()); }
  close(): Promise<void> { return this.guard('close', () => this.inner.close()); }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.wrap(what, err);
    }
  }

  private wrap(what: string, err: unknown): Error {
    if (err instanceof StoreUnavailableError || err instanceof StoreRejectedError || err instanceof StoreConfigError) return err;
    return new StoreUnavailableError(this.name, `${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

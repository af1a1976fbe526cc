import { StoreLink, writableLinks } from './chain';
import { PersistenceConfig } from './config';
import { PersistenceConfigError } from './errors';

export interface ValidationContext {
  /** The keyspace expires entries (a lifespan or max idle is configured, or clients may set TTLs). */
  readonly expiryInUse: boolean;
}

/**
 * Rejects at start the combinations that cannot keep their promises, with
 * every problem at once and what to change.
 */
export function validatePersistence(config: PersistenceConfig, links: readonly StoreLink[], context: ValidationContext): void {
  const problems: string[] = [];
  const writable = writableLinks(links);
  const names = (ls: readonly StoreLink[]): string => ls.map((l) => l.store.name).join(', ');
  const shared = writable.filter((l) => l.store.characteristics.shareable);

  if (config.mode !== 'none' && writable.length === 0) {
    problems.push(`persistence.mode is ${config.mode} but no writable store is configured: add a store that is not read-only, or set persistence.mode to none`);
  }
  if (config.mode === 'write-through' && writable.length > 0 && !writable.some((l) => l.required)) {
    problems.push(`persistence.mode is write-through but every writable store (${names(writable)}) is best-effort, so a write could be acknowledged that no store has: make at least one of them required`);
  }
  if (config.journal.enabled && config.mode !== 'write-behind') {
    problems.push(`persistence.journal.enabled needs persistence.mode write-behind (it is ${config.mode}): the journal only covers writes acknowledged before the stores have them`);
  }
  if (config.passivation.enabled && config.mode === 'none') {
    problems.push('persistence.passivation.enabled needs persistence.mode write-through or write-behind: with mode none the stores would keep stale copies of passivated entries');
  }
  if (config.passivation.enabled && shared.length > 0) {
    problems.push(`persistence.passivation.enabled with shared store(s) ${names(shared)}: another instance may change an entry while it is passivated, so its memory copy would be stale; use a store only this instance writes`);
  }
  if (config.purgeOnStartup && shared.length > 0) {
    problems.push(`persistence.purgeOnStartup with shared store(s) ${names(shared)}: purging would delete other instances' entries; turn purgeOnStartup off or use non-shared stores`);
  }
  const preloadLink = links.find((l) => l.preload);
  if (config.preload.enabled && !preloadLink) {
    problems.push('persistence.preload.enabled but no store is marked for preload: mark one store with preload: true, or turn preload off');
  }
  if (config.preload.enabled && config.purgeOnStartup && preloadLink
    && writable.includes(preloadLink) && !preloadLink.store.characteristics.shareable) {
    problems.push(`persistence.purgeOnStartup empties store ${preloadLink.store.name} before preload reads it: turn one of them off`);
  }
  if (context.expiryInUse && config.mode !== 'none') {
    const noTtl = writable.filter((l) => !l.store.characteristics.supportsTtl);
    if (noTtl.length > 0) {
      problems.push(`entries expire but store(s) ${names(noTtl)} cannot keep expiry (an expired entry would come back): use a store with TTL support or turn expiry off`);
    }
  }
  const retry = config.writeBehind.retry;
  if (retry.baseDelayMs > retry.maxDelayMs) {
    problems.push(`persistence.writeBehind.retry.baseDelayMs (${retry.baseDelayMs}) is larger than maxDelayMs (${retry.maxDelayMs}): lower baseDelayMs or raise maxDelayMs`);
  }
  if (config.mode === 'write-behind' && config.writeBehind.batchSize > config.writeBehind.maxPendingEntries) {
    problems.push(`persistence.writeBehind.batchSize (${config.writeBehind.batchSize}) is larger than maxPendingEntries (${config.writeBehind.maxPendingEntries}): a full batch could never form`);
  }
  const co = config.coherence;
  if (co.enabled) {
    const announcing = links.filter((l) => l.store.characteristics.shareable && l.store.coherence !== undefined);
    if (announcing.length === 0) {
      problems.push(`persistence.coherence.enabled needs a shared store that announces changes (a postgres store, or a remote store on a server with CLIENT TRACKING); ${links.length === 0 ? 'no store is configured' : `store(s) ${names(links)} cannot`}: `
        + 'add the shared postgres store, or turn coherence off if every instance has its own store (a file store is per pod)');
    }
    if (co.heartbeatTimeoutMs <= co.heartbeatMs) {
      problems.push(`persistence.coherence.heartbeatTimeoutMs (${co.heartbeatTimeoutMs}) must exceed heartbeatMs (${co.heartbeatMs}): raise heartbeatTimeoutMs`);
    }
    if (co.maxUnvalidatedMs <= co.heartbeatTimeoutMs) {
      problems.push(`persistence.coherence.maxUnvalidatedMs (${co.maxUnvalidatedMs}) must exceed heartbeatTimeoutMs (${co.heartbeatTimeoutMs}), or a silent channel could not be noticed in time: raise maxUnvalidatedMs`);
    }
  }
  if (problems.length > 0) throw new PersistenceConfigError(problems);
}

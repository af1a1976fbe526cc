import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChainLinkConfig } from './config';
import { StoreConfigError } from './store';
import type { CacheStore } from './store';

/** What the rest of the config asks of the stores; the lead's config maps its settings onto this. */
export interface StoreRequirements {
  /** Entries can expire (a lifespan or a max idle time is configured). */
  readonly expiration?: boolean;
  /** Evicted entries are written to the stores and loaded back on a miss. */
  readonly passivation?: boolean;
}

/**
 * Checks that a directory can hold a file store: creates it if missing and
 * writes a probe file. A real write is the only honest answer (access(2) says
 * yes to root on a read-only file system).
 */
export function checkWritableDirectory(directory: string): string | undefined {
  const probe = join(directory, `.state-cache-probe-${process.pid}`);
  try {
    mkdirSync(directory, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

/**
 * Rejects chains that cannot work, before anything starts. Every problem is
 * reported at once, each naming the store and the fix.
 */
export function validateChain(
  links: ReadonlyArray<{ readonly config: ChainLinkConfig; readonly store: CacheStore }>,
  requirements: StoreRequirements = {},
): void {
  const problems: Array<{ store: string; message: string }> = [];
  const problem = (store: string, message: string) => problems.push({ store, message });
  const seen = new Map<string, number>();
  const directories = new Map<string, string>();
  links.forEach(({ config, store }, i) => {
    const name = config.store.name;
    const c = store.characteristics;
    if (seen.has(name)) problem(name, `the name is used by chain links ${seen.get(name)} and ${i}; give each store its own name`);
    else seen.set(name, i);

    if (c.readOnly && !config.readOnly) {
      problem(name, `the store is read-only, but its chain link would write to it (mode "${config.mode}"); set "readOnly": true on the link`);
    }
    const writable = !config.readOnly && !c.readOnly;
    if (requirements.expiration && writable && !c.supportsTtl) {
      problem(name, 'entries expire, but this store cannot keep expiry (supportsTtl: false), so it would hold them forever; use a store that keeps expiry, mark the link "readOnly", or turn expiration off');
    }
    if (requirements.passivation && writable && c.shareable) {
      problem(name, 'passivation needs a store of this instance alone, but this store is shared (other instances may change an evicted entry behind this one\'s back); use a file store for passivation or turn passivation off');
    }
    const s = config.store;
    if (s.type === 'file') {
      const dir = resolve(s.directory);
      const other = directories.get(dir);
      if (other !== undefined) problem(name, `directory ${dir} is also the directory of store ${other}; LevelDB allows one store per directory: give each its own`);
      else directories.set(dir, name);
      const code = checkWritableDirectory(dir);
      if (code !== undefined) problem(name, `directory ${dir} is not writable (${code}); mount a writable volume there (e.g. a PersistentVolumeClaim) or fix "directory"`);
    }
    if (s.type === 'postgres' && s.poolMin !== undefined && s.poolMin > s.poolSize) {
      problem(name, `"poolMin" ${s.poolMin} is more than "poolSize" ${s.poolSize}; the pool never opens more than poolSize connections: lower poolMin or raise poolSize`);
    }
    if (s.type === 'remote' && s.mode === 'cluster' && s.database !== 0) {
      problem(name, `"database" is ${s.database}, but a Redis cluster has database 0 only; remove "database" or use mode "single"`);
    }
  });
  const preloads = links.filter((l) => l.config.preload).map((l) => l.config.store.name);
  if (preloads.length > 1) {
    problem('chain', `stores ${preloads.join(', ')} all set preload; memory is filled from one store: keep "preload" on one link`);
  }
  if (problems.length === 1) throw new StoreConfigError(problems[0].store, problems[0].message);
  if (problems.length > 1) {
    throw new StoreConfigError('chain', `${problems.length} problems:\n${problems.map((p) => `store ${p.store}: ${p.message}`).join('\n')}`);
  }
}

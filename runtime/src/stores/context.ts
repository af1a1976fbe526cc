import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { StoreConfigError } from './store';

/**
 * Where a secret comes from. The config never holds a secret itself: it names
 * an environment variable or a file (a mounted Kubernetes Secret).
 */
export interface SecretRef {
  readonly env?: string;
  readonly file?: string;
}

/** Reads a secret for a store; throws StoreConfigError naming the store and the source. */
export type SecretReader = (store: string, ref: SecretRef) => string;

/** What stores get from the server: a logger, a way to read secrets, optional metrics. */
export interface StoreContext {
  readonly logger: Logger;
  readonly readSecret: SecretReader;
  /** Counters (e.g. best-effort failures of a chain) are registered here when given. */
  readonly metrics?: Registry;
}

/**
 * Reads a secret from the environment or a file. A file's trailing newline is
 * dropped (Secrets created with `echo` have one); an empty secret is an error,
 * since a store with an empty password would fail later with a vaguer message.
 */
export function readSecretFrom(env: NodeJS.ProcessEnv): SecretReader {
  return (store, ref) => {
    let value: string;
    if (ref.env !== undefined) {
      const v = env[ref.env];
      if (v === undefined) {
        throw new StoreConfigError(store, `environment variable ${ref.env} is not set; set it (e.g. from a Secret with secretKeyRef) or name another variable`);
      }
      value = v;
    } else if (ref.file !== undefined) {
      try {
        value = readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new StoreConfigError(store, `cannot read secret file ${ref.file} (${code ?? String(err)}); mount the Secret at that path or fix the path`, { cause: err });
      }
    } else {
      throw new StoreConfigError(store, 'a secret reference needs "env" or "file"');
    }
    if (value.length === 0) {
      throw new StoreConfigError(store, `the secret from ${ref.env !== undefined ? `environment variable ${ref.env}` : `file ${ref.file}`} is empty`);
    }
    return value;
  };
}

/** The reader state-cache uses: the process environment and the file system. */
export const readSecret: SecretReader = readSecretFrom(process.env);

import { createServer } from 'node:net';
import pino from 'pino';
import { readSecretFrom, StoreContext } from '../../src/stores/context';
import { CacheStore, StoredEntry } from '../../src/stores/store';

export interface LogLine { level: number; msg: string; store?: string; [k: string]: unknown }

/** A real pino logger whose lines the test can read. */
export function testContext(env: NodeJS.ProcessEnv = {}): { context: StoreContext; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => { logs.push(JSON.parse(line)); } });
  return { context: { logger, readSecret: readSecretFrom(env) }, logs };
}

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export const b = (s: string): Buffer => Buffer.from(s);

export function entry(key: string, value: string, version: number, expiresAt = 0): StoredEntry {
  return { key: b(key), value: b(value), version, expiresAt };
}

export async function collect(store: CacheStore): Promise<StoredEntry[]> {
  const out: StoredEntry[] = [];
  for await (const e of store.iterate()) out.push(e);
  return out;
}

export function strings(e: StoredEntry | undefined): [string, string, number, number] | undefined {
  return e === undefined ? undefined : [e.key.toString(), e.value.toString(), e.version, e.expiresAt];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../src/config';
import { PersistenceHooks } from '../src/keyspace/hooks';
import { startServer, StateCache } from '../src/server';

/** A state-cache on free loopback ports with a silent logger; merge `overrides` into the config. */
export async function startTestServer(
  overrides: Record<string, unknown> = {}, hooks?: PersistenceHooks, env?: NodeJS.ProcessEnv,
): Promise<StateCache> {
  // CI runs the protocol suites a second time with STATE_CACHE_TEST_SOCKET_IO=stream (the public net.Socket path).
  const io = process.env.STATE_CACHE_TEST_SOCKET_IO;
  const base: Record<string, Record<string, unknown>> = { server: { port: 0, ...(io ? { socketIo: io } : {}) }, http: { port: 0 } };
  for (const [k, v] of Object.entries(overrides)) base[k] = { ...(base[k] ?? {}), ...(v as Record<string, unknown>) };
  return startServer(parseConfig(base), { hooks, log: pino({ level: 'silent' }), env });
}

export function tempFile(name: string, content: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'state-cache-')), name);
  writeFileSync(f, content);
  return f;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

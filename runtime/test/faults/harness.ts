import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Fault tests run the real state-cache (lib/main.js) and real servers as child processes. */
export const MAIN = join(__dirname, '..', '..', 'lib', 'main.js');

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RunningCache {
  readonly child: ChildProcess;
  readonly respPort: number;
  readonly httpPort: number;
  readonly logs: string[];
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>;
}

/** Starts state-cache with `config` and waits for "state-cache listening". */
export async function startCache(dir: string, config: object, name = 'cache', env: NodeJS.ProcessEnv = {}): Promise<RunningCache> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const logs: string[] = [];
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  let buffered = '';
  const listening = new Promise<{ resp: number; http: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`state-cache did not start:\n${logs.join('\n')}`)), 30_000);
    const onLine = (line: string) => {
      logs.push(line);
      if (!line.includes('state-cache listening')) return;
      const entry = JSON.parse(line);
      clearTimeout(timer);
      resolve({ resp: Number(entry.resp.split(':').pop()), http: Number(String(entry.http).split(':').pop()) });
    };
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      lines.forEach(onLine);
    });
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    void exited.then((how) => { clearTimeout(timer); reject(new Error(`state-cache exited (${how}) before listening:\n${logs.join('\n')}`)); });
  });
  const ports = await listening;
  return { child, respPort: ports.resp, httpPort: ports.http, logs, exited };
}

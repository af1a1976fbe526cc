import { ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempFile } from './helpers';
import { needs } from './tools';
import { createLogger, logFormatFor } from '../src/log';

/*
 * What the CLI prints, as a child process runs it: `node lib/main.js ...`.
 * Needs the compiled runtime (npx projen compile).
 */
const MAIN = join(__dirname, '..', 'lib', 'main.js');
const hasBuild = existsSync(MAIN);
const maybe = hasBuild ? test : test.skip;
if (!hasBuild) console.warn(`skipping CLI output tests: ${MAIN} is missing; run npx projen compile first`);

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [MAIN, ...args], (err, stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr }));
  });
}

maybe('check-config names the allowed values of enums and the store types, and the field of a known store type', async () => {
  const file = tempFile('bad.json', JSON.stringify({
    memory: { eviction: 'random' },
    stores: {
      chain: [
        { store: { type: 'mongo', name: 'm' } },
        { store: { type: 'postgres', name: 'pg', host: 'db', database: 'app', user: 'app', tls: { mode: 'prefer' } }, mode: 'sometimes' },
      ],
    },
  }));
  expect(await run(['check-config', file])).toEqual({
    code: 2,
    stdout: '',
    stderr: `state-cache: invalid config ${file}:\n`
      + '  /memory/eviction: must be one of lru, lfu, noeviction; got "random"\n'
      + '  /stores/chain/0/store/type: must be one of file, postgres, remote, custom; got "mongo"\n'
      + '  /stores/chain/1/store/tls/mode: must be one of disable, require, verify-ca, verify-full; got "prefer"\n'
      + '  /stores/chain/1/mode: must be one of required, bestEffort; got "sometimes"\n',
  });
});

/** Runs `command args` with stdout piped, until its output contains `ready`; then `stop(child)`; resolves with the output and status. */
function runUntil(command: string, args: string[], ready: string,
  stop: (child: ChildProcess) => void): Promise<{ out: string; code: number | null }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let stopped = false;
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const collect = (d: Buffer) => {
    out += d;
    if (!stopped && out.includes(ready)) {
      stopped = true;
      stop(child);
    }
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ out, code });
  }));
}

const CONFIG = { server: { port: 0 }, http: { port: 0 } };
// eslint-disable-next-line no-control-regex
const stripColors = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');

describe('logs: human-readable on a terminal, JSON lines otherwise', () => {
  test('the format follows whether the file descriptor is a terminal', () => {
    expect(logFormatFor(1, () => true)).toBe('pretty');
    expect(logFormatFor(1, () => false)).toBe('json');
    const file = tempFile('log', '');
    const fd = openSync(file, 'w');
    try {
      expect(logFormatFor(fd)).toBe('json');
    } finally {
      closeSync(fd);
    }
  });

  test('pretty lines are written at once (synchronously), with the level, the message and the fields', () => {
    const file = tempFile('log', '');
    const fd = openSync(file, 'w');
    try {
      const log = createLogger('info', fd, 'pretty');
      log.info({ port: 6379 }, 'state-cache listening');
      log.debug('not at this level');
      expect(stripColors(readFileSync(file, 'utf8'))).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: state-cache listening\n {4}port: 6379\n$/);
    } finally {
      closeSync(fd);
    }
  });

  maybe('serve with stdout not a terminal (a pod, CI, a pipe) writes JSON lines, to the last one before exit', async () => {
    const { out, code } = await runUntil('node', [MAIN, 'serve', '--config', tempFile('c.json', JSON.stringify(CONFIG))],
      'state-cache listening', (child) => child.kill('SIGTERM'));
    expect(code).toBe(0);
    const lines = out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msg)).toEqual([
      'persistence started', 'state-cache listening', 'shutting down: no new connections, finishing in-flight commands', 'persistence closed', 'state-cache stopped',
    ]);
    expect(lines[1]).toMatchObject({ level: 30, service: 'state-cache' });
  });

  (hasBuild ? needs('script').test : test.skip)('serve in a terminal (script(1) gives it one) writes human-readable lines; Ctrl-C stops it', async () => {
    const file = tempFile('c.json', JSON.stringify(CONFIG));
    // `exec`: script(1) runs the command with $SHELL -c, and dash (Debian's /bin/sh, CI's
    // shell) waits in a child of its own that Ctrl-C would kill with status 130.
    const { out, code } = await runUntil('script', ['-qec', `exec node ${MAIN} serve --config ${file}`, '/dev/null'],
      'state-cache listening', (child) => child.stdin!.write('\x03'));
    expect(code).toBe(0);
    const text = stripColors(out);
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: persistence started$/m);
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: state-cache listening\n {4}resp: "127\.0\.0\.1:\d+"$/m);
    expect(text).toMatch(/^ {4}signal: "SIGINT"$/m);
    expect(text).toMatch(/INFO: state-cache stopped\n$/);
    expect(text).not.toMatch(/^\{/m);
  });
});

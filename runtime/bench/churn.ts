/**
 * Write churn at a full byte budget: many clients send pipelined SETs of
 * random keys from a key space larger than what fits, so the server evicts
 * all the time. Raw RESP over sockets, Node only (the memory-bound test runs
 * it without redis-server; the benchmark also drives redis-server with it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Socket, connect } from 'node:net';
import { join } from 'node:path';

export interface ChurnOptions {
  readonly port: number;
  readonly clients: number;
  readonly pipeline: number;
  /** Keys are `key:` + 12 digits, drawn uniformly from [0, keySpace). */
  readonly keySpace: number;
  /** The size of each value: fixed, or drawn per SET. */
  readonly valueBytes: number | (() => number);
  /** Stop once this many key and value bytes were acknowledged... */
  readonly bytes: number;
  /** ...or at this time (ms since the epoch), whichever comes first. */
  readonly deadline: number;
  /** Called about every 100 ms while the churn runs (to sample the server's RSS). */
  readonly onTick?: () => void;
}

export interface ChurnResult {
  readonly sets: number;
  readonly bytes: number;
  readonly errors: number;
  readonly seconds: number;
  readonly firstError?: string;
}

/** Values are slices of one random buffer (their content does not matter to memory). */
const NOISE = Buffer.from(Array.from({ length: 65536 + 1024 }, () => (Math.random() * 256) | 0));

/** Log-uniform value sizes from `min` to `max` bytes: many small values, a few large ones, every size class. */
export function logUniform(min: number, max: number): () => number {
  const lo = Math.log(min);
  const span = Math.log(max + 1) - lo;
  return () => Math.min(max, Math.floor(Math.exp(lo + Math.random() * span)));
}

function encodeSet(out: Buffer[], key: string, valueBytes: number): number {
  const head = `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${valueBytes}\r\n`;
  const off = (Math.random() * 1024) | 0;
  out.push(Buffer.from(head, 'latin1'), NOISE.subarray(off, off + valueBytes), CRLF);
  return key.length + valueBytes;
}

const CRLF = Buffer.from('\r\n');

/** One connection: a pipeline of SETs, wait for all replies, repeat. */
function client(o: ChurnOptions, shared: { bytes: number; sets: number; errors: number; firstError?: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(o.port, '127.0.0.1');
    socket.setNoDelay(true);
    let waiting = 0;
    let batchBytes = 0;
    let tail = '';
    const send = () => {
      if (shared.bytes >= o.bytes || Date.now() >= o.deadline) {
        socket.end();
        return;
      }
      const parts: Buffer[] = [];
      batchBytes = 0;
      for (let i = 0; i < o.pipeline; i++) {
        const key = `key:${String(Math.floor(Math.random() * o.keySpace)).padStart(12, '0')}`;
        batchBytes += encodeSet(parts, key, typeof o.valueBytes === 'number' ? o.valueBytes : o.valueBytes());
      }
      waiting = o.pipeline;
      socket.write(Buffer.concat(parts));
    };
    socket.on('connect', send);
    socket.on('data', (chunk: Buffer) => {
      // Replies are +OK or -ERR lines: count the lines.
      const text = tail + chunk.toString('latin1');
      let start = 0;
      for (let nl = text.indexOf('\r\n'); nl >= 0; nl = text.indexOf('\r\n', start)) {
        if (text.charCodeAt(start) === 45 /* - */) {
          shared.errors++;
          shared.firstError ??= text.slice(start, nl);
        }
        waiting--;
        start = nl + 2;
      }
      tail = text.slice(start);
      if (waiting === 0) {
        shared.sets += o.pipeline;
        shared.bytes += batchBytes;
        send();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

/** Runs the churn; resolves when the bytes are written or the deadline passed. */
export async function churn(o: ChurnOptions): Promise<ChurnResult> {
  const shared = { bytes: 0, sets: 0, errors: 0, firstError: undefined as string | undefined };
  const started = Date.now();
  const ticker = o.onTick ? setInterval(o.onTick, 100) : undefined;
  try {
    await Promise.all(Array.from({ length: o.clients }, () => client(o, shared)));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  return { sets: shared.sets, bytes: shared.bytes, errors: shared.errors, seconds: (Date.now() - started) / 1000, firstError: shared.firstError };
}

/**
 * What the image gives a container without command/args: the exec-form CMD
 * and the ENV lines of runtime/Dockerfile's final stage. The benchmark, the
 * memory tests and the run-as-pod tests start `serve` with them, as the
 * image does.
 */
export function imageDefaults(): { cmd: string[]; env: Record<string, string> } {
  const text = readFileSync(join(__dirname, '..', 'Dockerfile'), 'utf8');
  const lastStage = text.slice(text.lastIndexOf('\nFROM '));
  const cmd = /^CMD (\[.*\])$/m.exec(lastStage);
  if (!cmd) throw new Error('runtime/Dockerfile: no CMD in exec form in the final stage');
  const env: Record<string, string> = {};
  for (const m of lastStage.matchAll(/^ENV ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)) env[m[1]] = m[2];
  return { cmd: JSON.parse(cmd[1]) as string[], env };
}

/** The image's ENV (NODE_OPTIONS and the allocator settings). */
export function imageEnv(): Record<string, string> {
  return imageDefaults().env;
}

/** The options the image's CMD gives `node` before the script (e.g. `--single-threaded-gc`). */
export function imageNodeArgs(): string[] {
  const { cmd } = imageDefaults();
  const script = cmd.findIndex((arg) => arg.endsWith('main.js'));
  if (cmd[0] !== 'node' || script < 1) throw new Error(`runtime/Dockerfile: CMD ${JSON.stringify(cmd)} is not node [options] lib/main.js ...`);
  return cmd.slice(1, script);
}

/** A /proc/<pid>/status field in bytes (VmRSS, VmHWM). */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** CPU seconds (user + system) the process used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14, 15) in clock ticks
}

/** CPU seconds (user + system) of every process whose command name is `comm` (e.g. the PostgreSQL backends). */
export function commandCpuSeconds(comm: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== comm) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** The container memory limit the constructs derive for a byte budget (src/_cache-pod.ts). */
export function derivedLimit(budget: number): number {
  const mib = 1024 * 1024;
  return Math.ceil((budget * 1.25 + 128 * mib) / mib) * mib;
}

import { connect, Socket } from 'node:net';

/** Ends of one RESP2/RESP3 reply starting at `pos` in `s` (latin1), or -1 when incomplete. */
export function replyEnd(s: string, pos: number): number {
  if (pos >= s.length) return -1;
  const line = s.indexOf('\r\n', pos);
  if (line < 0) return -1;
  const t = s[pos];
  const head = s.slice(pos + 1, line);
  const after = line + 2;
  switch (t) {
    case '+': case '-': case ':': case '_': case ',': case '#': case '(':
      return after;
    case '$': case '=': case '!': {
      const n = Number(head);
      if (n < 0) return after;
      return after + n + 2 <= s.length ? after + n + 2 : -1;
    }
    case '*': case '~': case '>': case '%': case '|': {
      let n = Number(head);
      if (n < 0) return after;
      if (t === '%' || t === '|') n *= 2;
      let p = after;
      for (let i = 0; i < n; i++) {
        p = replyEnd(s, p);
        if (p < 0) return -1;
      }
      return p;
    }
    default:
      throw new Error(`bad reply type ${JSON.stringify(t)} at ${pos}: ${JSON.stringify(s.slice(pos, pos + 40))}`);
  }
}

/** The top-level elements of an aggregate reply, as raw strings (for order-insensitive comparison). */
export function elements(reply: string): string[] {
  const line = reply.indexOf('\r\n');
  const t = reply[0];
  if (!'*~%'.includes(t) || Number(reply.slice(1, line)) < 0) return [reply];
  const out: string[] = [];
  let p = line + 2;
  while (p < reply.length) {
    const e = replyEnd(reply, p);
    out.push(reply.slice(p, e));
    p = e;
  }
  return out;
}

function encode(args: readonly string[]): string {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`;
  return s;
}

/** A raw RESP connection: sends commands, returns each raw reply (latin1). */
export class RawClient {
  static async open(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  private buf = '';
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }

  /** Sends the commands (pipelined) and returns their replies. */
  async run(cmds: ReadonlyArray<readonly string[]>): Promise<string[]> {
    this.socket.write(cmds.map(encode).join(''), 'latin1');
    const out: string[] = [];
    let pos = 0;
    while (out.length < cmds.length) {
      const end = replyEnd(this.buf, pos);
      if (end < 0) {
        await new Promise<void>((r) => this.waiters.push(r));
        continue;
      }
      out.push(this.buf.slice(pos, end));
      pos = end;
    }
    this.buf = this.buf.slice(pos);
    return out;
  }

  async call(...args: string[]): Promise<string> {
    return (await this.run([args]))[0];
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Runs `seq` (space-separated commands, pipelined, after FLUSHALL and HELLO
 * `proto`) on the reference server and on state-cache, and lists every
 * command whose replies differ once `normalise` has masked what may differ
 * (clocks, ordering): empty when they agree.
 */
export async function sideBySide(
  refPort: number, port: number, proto: number, seq: readonly string[], normalise: (cmd: string, reply: string) => string = (_c, r) => r,
): Promise<string[]> {
  const run = async (p: number) => {
    const c = await RawClient.open(p);
    try {
      await c.run([['flushall'], ['hello', String(proto)]]);
      return await c.run(seq.map((s) => s.split(' ')));
    } finally {
      c.close();
    }
  };
  const want = await run(refPort);
  const got = await run(port);
  const diffs: string[] = [];
  seq.forEach((cmd, i) => {
    if (normalise(cmd, got[i]) !== normalise(cmd, want[i])) diffs.push(`${cmd}\n  redis:       ${JSON.stringify(want[i])}\n  state-cache: ${JSON.stringify(got[i])}`);
  });
  return diffs;
}

/** A command as space-separated words, or as its arguments (for arguments with spaces). */
export type Words = string | readonly string[];

const words = (c: Words): string[] => (typeof c === 'string' ? c.split(' ') : [...c]);

/**
 * A blocking scenario on the server at `port`, from an empty database over RESP `proto`: `setup` runs,
 * then each of `blockers` is sent on its own connection (each waits until the server counts it
 * blocked), then `then` runs on another connection, a command at a time (as a client waiting for each
 * reply sends them) or `pipelined` in one write. Returns every reply: setup's, then's, the blockers'
 * last.
 */
export async function blockingScenario(
  port: number, proto: number, setup: readonly Words[], blockers: readonly Words[], then: readonly Words[], pipelined = false,
): Promise<string[]> {
  const main = await RawClient.open(port);
  const clients: RawClient[] = [];
  try {
    await main.run([['flushall'], ['hello', String(proto)]]);
    const out = await main.run(setup.map(words));
    const pending: Array<Promise<string[]>> = [];
    for (const [i, cmd] of blockers.entries()) {
      const c = await RawClient.open(port);
      clients.push(c);
      await c.run([['hello', String(proto)]]);
      pending.push(c.run([words(cmd)]));
      for (let tries = 0; ; tries++) {
        const info = await main.call('info', 'clients');
        if (new RegExp(`blocked_clients:${i + 1}\\r\\n`).test(info)) break;
        if (tries > 200) throw new Error(`not blocked: ${words(cmd).join(' ')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    if (pipelined) out.push(...await main.run(then.map(words)));
    else for (const cmd of then) out.push(await main.call(...words(cmd)));
    for (const p of pending) out.push(...await p);
    return out;
  } finally {
    main.close();
    for (const c of clients) c.close();
  }
}

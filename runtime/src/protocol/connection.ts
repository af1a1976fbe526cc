import { Socket } from 'node:net';
import { cancelClient, serveReadyKeys, withWakeupsHeld } from './blocking';
import { lookupCommand } from './command-table';
import {
  ClientState, Command, CommandFlags, commandKeys, ERR_EXECABORT, ERR_NOAUTH, errorReply, Frame, hasKeys, keyBounds, replyLater,
  ServerContext, TrackingState, unknownCommandError, wrongArgsError,
} from './commands';
import { prefixKeys } from './databases';
import { routeKeys } from './key-routing';
import { subscriptions, SUBSCRIBER_COMMANDS } from './pubsub';
import { firstArgs, ProtocolError, RequestParser } from './resp';
import { afterCommand, beforeCommand } from './tracking';
import { openTransport, Transport, TransportKind } from './transport';

export interface ConnectionLimits {
  readonly maxBulkBytes: number;
  readonly maxInlineBytes: number;
  readonly maxArgs: number;
  readonly maxQueryBufferBytes: number;
  readonly outputPauseBytes: number;
  readonly outputMaxBytes: number;
}

export interface ConnectionHost extends ServerContext {
  readonly limits: ConnectionLimits;
  /** How connections read and write (see transport.ts); TLS connections always use the stream. */
  readonly socketIo: TransportKind;
  readonly log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Records `n` commands that took `seconds` in total (latency histogram). */
  recordLatency(seconds: number, n: number): void;
  closed(c: Connection): void;
}

/** A copy of a frame that outlives its read event (queued in MULTI, or waiting). */
function freeze(f: Frame): Frame {
  const starts = new Int32Array(f.argc);
  const ends = new Int32Array(f.argc);
  let total = 0;
  for (let i = 0; i < f.argc; i++) total += f.ends[i] - f.starts[i];
  const args = Buffer.allocUnsafe(total);
  let off = 0;
  for (let i = 0; i < f.argc; i++) {
    starts[i] = off;
    off += f.args.copy(args, off, f.starts[i], f.ends[i]);
    ends[i] = off;
  }
  return { argc: f.argc, args, starts, ends };
}

const TX_CONTROL = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);
/** Pipelined commands whose keys are prefetched at once, and where their offsets go (one thread: shared). */
const PREFETCH_WINDOW = 16;
const PREFETCH_RANGES = new Int32Array(2 * PREFETCH_WINDOW);
const PREFETCH_MEMBERS = new Int32Array(4 * PREFETCH_WINDOW);

let nextId = 1;

/** Connections with push messages queued in this event-loop turn (Connection.deliverSoon), written at its end. */
const pushQueued = new Set<Connection>();
let pushFlushScheduled = false;

function flushPushes(): void {
  pushFlushScheduled = false;
  for (const c of pushQueued) c.flushPushes();
  pushQueued.clear();
}

/**
 * True when every key of the command is in memory (no lock to wait for then
 * means nothing to load either): checked on the request bytes, so a hit with
 * persistence costs no key string (`commandKeys`) and no second lookup by string.
 */
function keysInMemory(ks: ConnectionHost['ks'], cmd: Command, f: Frame): boolean {
  const [first, last, step, extra] = keyBounds(cmd, f);
  if (extra !== undefined && ks.findBytes(f.args, f.starts[extra], f.ends[extra], false) < 0) return false;
  for (let i = first; i <= last && i < f.argc; i += step) {
    if (ks.findBytes(f.args, f.starts[i], f.ends[i], false) < 0) return false;
  }
  return true;
}

/**
 * One RESP connection: reads commands from the socket, runs them, and writes
 * the replies of each read event in one socket write. A command that waits
 * (persistence) holds back the connection's following commands until its
 * reply is out, so replies stay in order; other connections go on.
 */
export class Connection implements ClientState {
  readonly id = nextId++;
  name = '';
  libName = '';
  libVer = '';
  resp3 = false;
  db = 0;
  authenticated: boolean;
  multi: Frame[] | null = null;
  multiFailed = false;
  watched: Map<string, number> | null = null;
  tracking: TrackingState | null = null;
  readonly addr: string;
  readonly laddr: string;
  readonly createdAt = Date.now();
  lastCommandAt = Date.now();
  lastCommand = 'NULL';
  closeAfterReply = false;
  /** True while the commands of an EXEC run (blocking commands then answer at once). */
  inExec = false;

  private readonly parser: RequestParser;
  /** Unparsed input, kept from the start of an incomplete command. */
  private pending: Buffer | null = null;
  private pendingLen = 0;
  /** A command is waiting; input is held back. */
  private waiting = false;
  private pausedForOutput = false;
  private closing = false;
  /** Push messages waiting for the end of this event-loop turn (deliverSoon), else null. */
  private pushes: Buffer[] | null = null;
  /** Resolves when no command is in flight (shutdown waits for it). */
  private idleWaiters: Array<() => void> = [];

  private readonly socket: Transport;

  constructor(private readonly host: ConnectionHost, socket: Socket) {
    this.authenticated = host.password === undefined;
    this.addr = `${socket.remoteAddress}:${socket.remotePort}`;
    this.laddr = `${socket.localAddress}:${socket.localPort}`;
    this.parser = new RequestParser(host.limits);
    socket.setNoDelay(true);
    this.socket = openTransport(socket, host.socketIo, { data: (chunk, n) => this.onData(chunk, n), drain: () => this.onDrain() });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closing = true;
      this.unwatchAll();
      cancelClient(this.host, this);
      this.host.closed(this);
      this.notifyIdle();
    });
  }

  get busy(): boolean {
    return this.waiting;
  }

  /** Resolves once the command in flight (if any) has replied. */
  whenIdle(): Promise<void> {
    if (!this.waiting) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** The way this connection does its I/O (server.socketIo, or stream where handle is not possible). */
  get io(): TransportKind {
    return this.socket.kind;
  }

  kill(): void {
    this.closing = true;
    this.socket.destroy();
  }

  /** Closes after the output is written (shutdown, QUIT). */
  end(): void {
    this.closing = true;
    this.socket.end();
  }

  /**
   * Queues a push message: PUBLISH to 50 subscribers wrote 50 sockets per message, one syscall each
   * (0.11x Redis); now each subscriber gets one write per event-loop turn (setImmediate runs after the
   * turn's read events), however many messages were published to it meanwhile.
   */
  deliverSoon(chunk: Buffer): void {
    if (this.closing && this.socket.destroyed) return;
    if (this.pushes === null) {
      this.pushes = [chunk];
      pushQueued.add(this);
      if (!pushFlushScheduled) {
        pushFlushScheduled = true;
        setImmediate(flushPushes);
      }
    } else {
      this.pushes.push(chunk);
    }
  }

  /** Writes the queued push messages (before any other output, so the order stays as it was produced). */
  flushPushes(): void {
    const p = this.pushes;
    if (p === null) return;
    this.pushes = null;
    this.deliverNow(p.length === 1 ? p : [Buffer.concat(p)]);
  }

  deliver(chunks: Buffer[]): void {
    if (this.pushes !== null) this.flushPushes();
    this.deliverNow(chunks);
  }

  private deliverNow(chunks: Buffer[]): void {
    if (this.closing && this.socket.destroyed) return;
    if (chunks.length > 0) this.socket.writeAll(chunks);
    // Output outside a read event (late replies, Pub/Sub messages): a client that does not read is cut off past the limit.
    if (this.socket.writableLength > this.host.limits.outputMaxBytes) {
      this.host.log.warn({ client: this.addr, bytes: this.socket.writableLength }, 'closing client whose unsent output exceeded limits.outputMaxBytes');
      this.kill();
    }
  }

  /** Input `chunk[0, n)`, valid during this call only (transport.ts): what is not run now is kept as a copy. */
  private onData(chunk: Buffer, n: number): void {
    if (this.closing) return;
    if (this.pendingLen === 0 && !this.waiting) {
      this.process(chunk, 0, n);
      return;
    }
    this.append(chunk, 0, n);
    if (this.waiting || this.pausedForOutput) return;
    if (this.pendingLen < this.parser.needed) return; // a large bulk is still arriving
    this.parser.rebase(0);
    this.process(this.pending!, 0, this.pendingLen);
  }

  /** Adds to the unparsed input, growing geometrically (no quadratic concatenation for large values). */
  private append(chunk: Buffer, from = 0, to = chunk.length): void {
    const n = to - from;
    const need = this.pendingLen + n;
    if (need > this.host.limits.maxQueryBufferBytes) {
      this.host.log.warn({ client: this.addr, bytes: need }, 'closing client that exceeded the query buffer limit');
      this.fail('query buffer limit exceeded');
      return;
    }
    if (this.pending === null || this.pending.length < need) {
      const wanted = Math.max(need, this.parser.needed, (this.pending?.length ?? 0) * 2, 16 * 1024);
      const size = Math.min(wanted, Math.max(need, this.host.limits.maxQueryBufferBytes));
      const next = Buffer.allocUnsafe(size);
      if (this.pending !== null && this.pendingLen > 0) this.pending.copy(next, 0, 0, this.pendingLen);
      this.pending = next;
    }
    chunk.copy(this.pending, this.pendingLen, from, to);
    this.pendingLen = need;
  }

  /** Keeps buf[from..to) as the unparsed input. */
  private keep(buf: Buffer, from: number, to: number): void {
    if (buf === this.pending) {
      if (from > 0) buf.copy(buf, 0, from, to);
      this.pendingLen = to - from;
      if (this.pendingLen === 0 && buf.length > 1024 * 1024) this.pending = null;
      return;
    }
    this.pendingLen = 0;
    if (to > from) this.append(buf, from, to);
  }

  private process(buf: Buffer, pos: number, end: number): void {
    const ks = this.host.ks;
    ks.frozenNow = this.lastCommandAt = Date.now();
    try {
      this.processCommands(buf, pos, end);
    } finally {
      ks.frozenNow = 0;
    }
  }

  private processCommands(buf: Buffer, pos: number, end: number): void {
    const host = this.host;
    const out = host.out;
    out.resp3 = this.resp3;
    const t0 = performance.now();
    const pauseBytes = host.limits.outputPauseBytes;
    let n = 0;
    let lookedAhead = pos;
    try {
      while (pos < end && !this.closing) {
        if (pos >= lookedAhead && this.db === 0) lookedAhead = this.prefetch(buf, pos, end);
        const next = this.parser.parse(buf, pos, end);
        if (next < 0) break;
        pos = next;
        if (this.parser.argc === 0) continue;
        n++;
        const r = this.dispatch(this.parser);
        // Blocked clients on keys this command dropped (a stream's XREADGROUP readers) are answered before the next command, as in Redis.
        serveReadyKeys(host);
        if (r !== undefined) {
          // The command waits: its own bytes and the rest of the input are kept, what is done is flushed,
          // and the connection resumes when it replied.
          this.waiting = true;
          this.parser.detach();
          this.keep(buf, pos, end);
          this.flush();
          this.socket.pause();
          this.resumeAfter(r);
          host.recordLatency((performance.now() - t0) / 1000, n);
          return;
        }
        if (this.closeAfterReply) break;
        if (out.size >= pauseBytes) {
          // A pipeline of large replies: hand them to the socket now, and stop reading
          // this client's commands while its unsent output is over the limit.
          this.flush();
          if (this.pausedForOutput || this.closing) {
            this.keep(buf, pos, end);
            host.recordLatency((performance.now() - t0) / 1000, n);
            return;
          }
        }
      }
      this.keep(buf, pos, end);
    } catch (e) {
      if (e instanceof ProtocolError) {
        out.error(`ERR Protocol error: ${e.message}`);
        this.flush();
        this.fail(null);
        return;
      }
      throw e;
    }
    if (n > 0) host.recordLatency((performance.now() - t0) / 1000, n);
    this.flush();
    if (this.closeAfterReply) this.end();
  }

  /**
   * Pipelined commands: has the keyspace prefetch the first arguments (the
   * key of most commands) of the next PREFETCH_WINDOW whole commands from
   * `pos`; returns where that window ends (`end` when there is none).
   */
  private prefetch(buf: Buffer, pos: number, end: number): number {
    const n = firstArgs(buf, pos, end, PREFETCH_RANGES, PREFETCH_MEMBERS, PREFETCH_WINDOW);
    if (n < 2) return end;
    this.host.ks.prefetch(buf, PREFETCH_RANGES, n, PREFETCH_MEMBERS);
    return n < PREFETCH_WINDOW ? end : PREFETCH_RANGES[2 * n - 1];
  }

  /** Resumes reading once the waiting command `r` is done (a method: no closure context in processCommands). */
  private resumeAfter(r: Promise<unknown>): void {
    void r.then(() => this.resume(), (e) => {
      this.replyError(e);
      this.resume();
    });
  }

  private resume(): void {
    this.waiting = false;
    this.notifyIdle();
    if (this.closing) return;
    if (this.closeAfterReply) {
      this.end();
      return;
    }
    if (!this.pausedForOutput) this.socket.resume();
    if (this.pendingLen > 0 && this.pendingLen >= this.parser.needed) {
      this.parser.rebase(0);
      this.process(this.pending!, 0, this.pendingLen);
    }
  }

  /** Writes the replies of this read event in one socket write; applies output limits. */
  private flush(): void {
    const out = this.host.out;
    if (!out.pending) return;
    if (this.pushes !== null) this.flushPushes(); // messages published to this client before these replies go first
    const produced = out.size;
    if (this.closing && this.socket.destroyed) out.take();
    else if (!out.writeTo(this.socket)) this.deliver(out.take());
    // Counted before the kernel takes its share, like Redis counts its reply buffers.
    const queued = this.socket.writableLength;
    if (Math.max(queued, produced) > this.host.limits.outputMaxBytes) {
      this.host.log.warn({ client: this.addr, bytes: queued }, 'closing client whose unsent output exceeded limits.outputMaxBytes');
      this.kill();
    } else if (queued > this.host.limits.outputPauseBytes && !this.pausedForOutput) {
      this.pausedForOutput = true;
      this.socket.pause();
    }
  }

  private onDrain(): void {
    if (!this.pausedForOutput) return;
    this.pausedForOutput = false;
    if (this.waiting || this.closing) return;
    this.socket.resume();
    if (this.pendingLen > 0 && this.pendingLen >= this.parser.needed) {
      this.parser.rebase(0);
      this.process(this.pending!, 0, this.pendingLen);
    }
  }

  /** Closes after a protocol error (the reply was already flushed). */
  private fail(message: string | null): void {
    if (message !== null) {
      this.host.out.error(`ERR Protocol error: ${message}`);
      this.flush();
    }
    this.closing = true;
    this.pending = null;
    this.pendingLen = 0;
    this.parser.reset();
    this.socket.closeAfterWrites();
  }

  private replyError(e: unknown): void {
    const text = errorReply(e, this.host.stats);
    if (text === undefined) this.host.log.error({ err: e, client: this.addr }, 'command failed unexpectedly');
    replyLater(this.host, this, () => this.host.out.error(text ?? `ERR internal error: ${(e as Error)?.message ?? String(e)}`));
  }

  /** Runs one command; returns a promise when it waits (its reply is then delivered later). */
  dispatch(f: Frame): void | Promise<unknown> {
    const host = this.host;
    const out = host.out;
    const cmd = lookupCommand(f);
    if (cmd === undefined) {
      if (this.multi !== null) this.multiFailed = true;
      out.error(unknownCommandError(f));
      return undefined;
    }
    this.lastCommand = cmd.name;
    if ((cmd.arity > 0 && f.argc !== cmd.arity) || f.argc < -cmd.arity) {
      if (this.multi !== null) this.multiFailed = true;
      out.error(wrongArgsError(cmd));
      return undefined;
    }
    if (!this.resp3 && subscriptions(this) > 0 && !SUBSCRIBER_COMMANDS.has(cmd.name)) {
      out.error(`ERR Can't execute '${cmd.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
      return undefined;
    }
    if (!this.authenticated && (cmd.bits & CommandFlags.NO_AUTH) === 0) {
      if (this.multi !== null) this.multiFailed = true;
      out.error(ERR_NOAUTH);
      return undefined;
    }
    if (this.db !== 0 && hasKeys(cmd) && cmd.group !== 'pubsub') {
      // A selected database other than 0: its keys carry the database's prefix (databases.ts).
      const [first, last, step, extra] = keyBounds(cmd, f);
      if (first <= last) f = prefixKeys(f, this.db, first, last, step);
      if (extra !== undefined) f = prefixKeys(f, this.db, extra, extra, 1);
    }
    if (host.cluster !== undefined && hasKeys(cmd)) {
      // Cluster mode: keys of another pod's slots are MOVED, keys across slots CROSSSLOT (also when queued in MULTI).
      const routed = routeKeys(host.cluster, f, keyBounds(cmd, f));
      if (typeof routed === 'string') {
        if (this.multi !== null) this.multiFailed = true;
        out.error(routed);
        return undefined;
      }
    }
    if (this.multi !== null && !TX_CONTROL.has(cmd.name)) {
      this.multi.push(freeze(f));
      out.simple('QUEUED');
      return undefined;
    }
    host.stats.calls[cmd.index]++;
    host.stats.commandsProcessed++;
    if (cmd.name === 'exec') return this.exec();
    return this.call(cmd, f);
  }

  /** Runs a command once its keys are loaded (`loaded`: misses were already tried) and not locked by a waiting write. */
  private call(cmd: Command, f: Frame, loaded = false): void | Promise<unknown> {
    const ks = this.host.ks;
    // Shard channels are routed like keys but are not keys: nothing to load or wait for. With nothing
    // locked, a blind write loads nothing and keys already in memory need no load.
    const mayWait = hasKeys(cmd) && cmd.group !== 'pubsub' && (ks.locks.size > 0 || (ks.loadsOnMiss && !loaded))
      && !(ks.locks.size === 0 && ((cmd.blind !== undefined && cmd.blind(f)) || keysInMemory(ks, cmd, f)));
    if (mayWait) {
      // A blind write needs no old value: it waits for earlier writes to its keys, never for a store.
      const wait = ks.settle(commandKeys(cmd, f), !loaded && (cmd.blind === undefined || !cmd.blind(f)));
      if (wait !== undefined) return this.callAfter(wait, cmd, freeze(f));
    }
    const tracked = ks.keyWatcher !== undefined;
    if (tracked) beforeCommand(ks, this, cmd, f);
    try {
      const r = cmd.handler(this.host, this, f);
      if (r !== undefined) return r;
    } catch (e) {
      const text = errorReply(e, this.host.stats);
      if (text === undefined) {
        this.host.log.error({ err: e, client: this.addr, command: cmd.name }, 'command failed unexpectedly');
      }
      this.host.out.error(text ?? `ERR internal error: ${(e as Error)?.message ?? String(e)}`);
    } finally {
      if (tracked) afterCommand(ks);
    }
    return undefined;
  }

  /**
   * Runs a command once `wait` settles. A method of its own so that `call`
   * has no closure: V8 would allocate the closure's context on every call,
   * waiting or not (48 bytes per command).
   */
  private callAfter(wait: Promise<unknown>, cmd: Command, copy: Frame): Promise<unknown> {
    return wait.then(() => {
      this.host.out.resp3 = this.resp3;
      const r = this.call(cmd, copy, true);
      // A synchronous reply goes out now; a waiting one delivers itself.
      this.deliver(this.host.out.take());
      return r;
    });
  }

  /** Drops the client's WATCHes; true when a watched key changed since (EXEC then answers nil). */
  private unwatchAll(): boolean {
    const watched = this.watched;
    if (watched === null) return false;
    this.watched = null;
    const ks = this.host.ks;
    let changed = false;
    for (const [k, stamp] of watched) {
      if (ks.watchStamp(k) !== stamp) {
        changed = true;
        break;
      }
    }
    ks.unwatch(watched.keys());
    return changed;
  }

  private exec(): void | Promise<unknown> {
    const out = this.host.out;
    const queued = this.multi;
    if (queued === null) {
      out.error('ERR EXEC without MULTI');
      return undefined;
    }
    this.multi = null;
    const watchChanged = this.watched !== null && this.unwatchAll();
    if (this.host.cluster !== undefined) {
      // As a Redis Cluster node: the queued commands together must hash to one slot, else nothing runs.
      const routed = this.transactionSlot(queued);
      if (typeof routed === 'string') {
        this.multiFailed = false;
        out.error(routed);
        return undefined;
      }
    }
    if (this.multiFailed) {
      this.multiFailed = false;
      out.error(ERR_EXECABORT);
      return undefined;
    }
    if (watchChanged) {
      out.nilArray();
      return undefined;
    }
    if (this.host.ks.persistent) return this.execGrouped(queued, false);
    out.arrayHeader(queued.length);
    return this.runQueued(queued, 0);
  }

  /**
   * EXEC with persistence: all or nothing. First every key of the transaction
   * is waited for (earlier writes) and loaded (but for blind writes); then the
   * commands run at once, in one keyspace write group that persistence takes
   * whole. When it refuses (store unavailable, queue full), memory is put
   * back, the replies are dropped and EXEC answers that error.
   */
  private execGrouped(queued: Frame[], loaded: boolean): void | Promise<unknown> {
    const host = this.host;
    const ks = host.ks;
    const waits: Array<Promise<unknown>> = [];
    for (const f of queued) {
      const cmd = lookupCommand(f)!;
      if (!hasKeys(cmd) || cmd.group === 'pubsub') continue;
      const wait = ks.settle(commandKeys(cmd, f), !loaded && (cmd.blind === undefined || !cmd.blind(f)));
      if (wait !== undefined) waits.push(wait);
    }
    if (waits.length > 0) {
      return Promise.all(waits).then(() => {
        host.out.resp3 = this.resp3;
        const r = this.execGrouped(queued, true);
        this.deliver(host.out.take());
        return r;
      }, (e) => this.replyError(e));
    }
    // Replies before EXEC's go out as they are; EXEC's own are held until persistence has answered.
    this.deliver(host.out.take());
    const out = host.out;
    out.arrayHeader(queued.length);
    ks.beginGroup();
    let stray: string | undefined;
    // Blocked clients are served once the whole transaction is applied and its group committed (their pops are not part of it).
    const persisted = withWakeupsHeld(host, (): Promise<void> | undefined | null => {
      this.inExec = true; // blocking commands answer at once
      try {
        for (const f of queued) {
          const cmd = lookupCommand(f)!;
          host.stats.calls[cmd.index]++;
          host.stats.commandsProcessed++;
          // Keys are loaded and unlocked, and a write group never waits: every command answers at once.
          if (this.call(cmd, f, true) !== undefined) stray = cmd.name;
        }
      } finally {
        this.inExec = false;
      }
      try {
        return ks.commitGroup();
      } catch (e) {
        out.take();
        this.replyError(e);
        return null;
      }
    });
    if (persisted === null) return undefined;
    if (stray !== undefined) host.log.error({ command: stray, client: this.addr }, 'a command waited inside a write group');
    if (persisted === undefined) return undefined;
    const replies = out.take();
    return persisted.then(() => this.deliver(replies), (e) => this.replyError(e));
  }

  /** The one slot a transaction's keys hash to (-1 for none), or the CROSSSLOT / MOVED error. */
  private transactionSlot(queued: Frame[]): number | string {
    const cluster = this.host.cluster!;
    let slot = -1;
    for (const f of queued) {
      const cmd = lookupCommand(f)!;
      if (!hasKeys(cmd)) continue;
      const routed = routeKeys(cluster, f, keyBounds(cmd, f), slot);
      if (typeof routed === 'string') return routed;
      slot = routed;
    }
    return slot;
  }

  private runQueued(queued: Frame[], from: number): void | Promise<unknown> {
    // Blocked clients are served after the transaction (or the part of it that ran before a command waited).
    return withWakeupsHeld(this.host, () => {
      this.inExec = true;
      try {
        return this.runQueuedFrom(queued, from);
      } finally {
        this.inExec = false;
      }
    });
  }

  private runQueuedFrom(queued: Frame[], from: number): void | Promise<unknown> {
    for (let i = from; i < queued.length; i++) {
      const f = queued[i];
      const cmd = lookupCommand(f)!;
      this.host.stats.calls[cmd.index]++;
      this.host.stats.commandsProcessed++;
      const r = this.call(cmd, f);
      if (r !== undefined) {
        return r.then(
          () => this.continueQueued(queued, i + 1),
          (e) => {
            this.replyError(e);
            return this.continueQueued(queued, i + 1);
          },
        );
      }
    }
    return undefined;
  }

  /** Runs the rest of a transaction after a command waited, delivering its replies at once. */
  private continueQueued(queued: Frame[], from: number): void | Promise<unknown> {
    this.host.out.resp3 = this.resp3;
    const r = this.runQueued(queued, from);
    this.deliver(this.host.out.take());
    return r;
  }
}

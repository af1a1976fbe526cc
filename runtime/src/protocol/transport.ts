import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * How a connection reads requests and writes replies.
 *
 * Two ways, one interface:
 * - `stream`: the public `net.Socket` (its `data` events and `write`).
 * - `handle`: the socket's libuv handle, driven directly through Node's
 *   `stream_wrap` binding (what `net.Socket` itself uses underneath). A read
 *   is one call from libuv into `onData`, of bytes libuv read into one
 *   buffer that every connection shares; a reply is one `writeBuffer` on the
 *   handle. Skipping the stream machinery (Readable push and emit, Writable
 *   buffering, a WriteWrap and a callback per write) is most of what separates
 *   an unpipelined command's cost and its p99 from redis-server's
 *   (docs/benchmarks.md). The binding is internal (`process.binding`, DEP0111),
 *   so it is feature-detected, any doubt falls back to `stream`, and
 *   `server.socketIo: stream` turns it off.
 * TLS connections always take `stream` (their handle is the TLS layer).
 */
export interface Transport {
  /** Reply bytes handed over and not yet taken by the kernel. */
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly kind: TransportKind;
  write(chunk: Buffer): void;
  /** Several chunks in one system call where the path allows. */
  writeAll(chunks: Buffer[]): void;
  /** Stop and restart reading (a command waits, or the client's output is over its limit). */
  pause(): void;
  resume(): void;
  /** Ends the output; the connection closes when the client closes its side. */
  end(): void;
  /** Closes once the output is written, whatever the client does. */
  closeAfterWrites(): void;
  /** Closes now. */
  destroy(): void;
}

export type TransportKind = 'handle' | 'stream';

export interface TransportEvents {
  /**
   * Input: `chunk[0, length)`. Valid only during the call (the handle path reads
   * every connection's input into one shared buffer): keep what outlives it as a copy.
   */
  data(chunk: Buffer, length: number): void;
  /** Everything written was taken by the kernel. */
  drain(): void;
}

/** The parts of Node's internal `stream_wrap` binding this file uses. */
interface StreamWrapBinding {
  readonly WriteWrap: new () => WriteReq;
  readonly streamBaseState: Int32Array;
  readonly kReadBytesOrError: number;
  readonly kArrayBufferOffset: number;
  readonly kLastWriteWasAsync: number;
}

/** A libuv stream handle as Node's TCP wrap exposes it. */
interface StreamHandle {
  onread: ((buffer?: ArrayBuffer) => void) | null;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, chunk: Buffer): number;
  writev(req: WriteReq, chunks: Buffer[], allBuffers: boolean): number;
  /** Reads go into `buffer` (`onread` then gets no ArrayBuffer): net.Socket's `onread` option uses it. */
  useUserBuffer?(buffer: Buffer): void;
}

/** What libuv calls back on (its other fields are this file's). */
interface WriteReq {
  oncomplete: (this: WriteReq, status: number) => void;
  /** Length of the data of an async write. */
  bytes: number;
  buffer: Buffer | Buffer[] | null;
  transport: HandleTransport | null;
}

/** libuv's end-of-file status (the same on every platform). */
const UV_EOF = -4095;

/** Input a paused handle connection still reads before it stops reading (net.Socket's buffer is of this order). */
const PAUSED_READ_BYTES = 64 * 1024;

let binding: StreamWrapBinding | null | undefined;

/**
 * Where libuv reads every handle connection's input (libuv's own read size).
 * One buffer for all: a read is handled whole before the next one, and
 * without it Node allocates 64 KiB (malloc, an ArrayBuffer, a Buffer) per
 * read and frees it later: 3-7 % of the server CPU per unpipelined SET, about
 * 15 % per pipelined one (A/B, 3 rounds each).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** The binding, or null where this Node does not have it in the shape this file knows. */
function streamWrap(): StreamWrapBinding | null {
  if (binding !== undefined) return binding;
  binding = null;
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    if (typeof b.WriteWrap === 'function' && Object.prototype.toString.call(b.streamBaseState) === '[object Int32Array]'
      && [b.kReadBytesOrError, b.kArrayBufferOffset, b.kLastWriteWasAsync].every((k) => typeof k === 'number')) {
      binding = b as StreamWrapBinding;
    }
  } catch {
    // No process.binding, or this module is no longer on its allow list.
  }
  return binding;
}

function handleOf(socket: Socket): StreamHandle | null {
  const h = (socket as unknown as { _handle?: Partial<StreamHandle> | null })._handle;
  if (h === null || h === undefined || !('onread' in h)) return null;
  if (typeof h.readStart !== 'function' || typeof h.readStop !== 'function' || typeof h.writeBuffer !== 'function' || typeof h.writev !== 'function') return null;
  return h as StreamHandle;
}

/** Whether `handle` transports are possible in this process (the startup log says which path connections use). */
export function handleIoAvailable(): boolean {
  return streamWrap() !== null;
}

/** The transport for an accepted socket: `handle` when asked for and possible, else `stream`. */
export function openTransport(socket: Socket, preferred: TransportKind, events: TransportEvents): Transport {
  if (preferred === 'handle' && !(socket instanceof TLSSocket)) {
    const b = streamWrap();
    const h = handleOf(socket);
    if (b !== null && h !== null) return new HandleTransport(socket, h, b, events);
  }
  return new StreamTransport(socket, events);
}

class StreamTransport implements Transport {
  readonly kind = 'stream';

  constructor(private readonly socket: Socket, events: TransportEvents) {
    socket.on('data', (chunk: Buffer) => events.data(chunk, chunk.length));
    socket.on('drain', events.drain);
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  write(chunk: Buffer): void {
    this.socket.write(chunk);
  }

  writeAll(chunks: Buffer[]): void {
    if (chunks.length === 1) return void this.socket.write(chunks[0]);
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.socket.end();
  }

  closeAfterWrites(): void {
    this.socket.end();
    this.socket.destroySoon();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function onWriteComplete(this: WriteReq, status: number): void {
  const t = this.transport!;
  t.completed(this, status);
}

/**
 * Reads and writes on the libuv handle. The `net.Socket` stays the owner of
 * the handle's life (close, shutdown, the `close` event); this class only
 * takes over `onread` and the writes.
 */
class HandleTransport implements Transport {
  readonly kind = 'handle';
  /** Bytes of the writes libuv has not finished (whole, as net.Socket's writableLength counts them). */
  private inFlightBytes = 0;
  private paused = false;
  /** Bytes read while paused (see pause). */
  private heldBytes = 0;
  /** A write request object that no libuv request was attached to yet (writes that completed at once leave it unused). */
  private spare: WriteReq | null = null;

  constructor(private readonly socket: Socket, private readonly handle: StreamHandle, private readonly b: StreamWrapBinding,
    private readonly events: TransportEvents) {
    const state = b.streamBaseState;
    const kRead = b.kReadBytesOrError;
    const kOffset = b.kArrayBufferOffset;
    const shared = typeof handle.useUserBuffer === 'function';
    if (shared) handle.useUserBuffer!(READ_BUFFER);
    handle.onread = (buffer?: ArrayBuffer) => {
      const n = state[kRead];
      if (n > 0) {
        if (this.paused && (this.heldBytes += n) >= PAUSED_READ_BYTES) this.handle.readStop();
        if (shared) events.data(READ_BUFFER, n);
        else events.data(Buffer.from(buffer!, state[kOffset], n), n);
      } else if (n === UV_EOF) {
        // The client closed its side: as net.Socket without allowHalfOpen, finish the replies in flight, then close.
        this.closeAfterWrites();
      } else if (n < 0) {
        this.destroy();
      }
    };
  }

  get writableLength(): number {
    return this.inFlightBytes;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  write(chunk: Buffer): void {
    if (this.socket.destroyed) return;
    const req = this.request();
    this.settle(req, this.handle.writeBuffer(req, chunk), chunk);
  }

  writeAll(chunks: Buffer[]): void {
    if (chunks.length === 1) return this.write(chunks[0]);
    if (this.socket.destroyed) return;
    const req = this.request();
    this.settle(req, this.handle.writev(req, chunks, true), chunks);
  }

  /**
   * Reading goes on up to PAUSED_READ_BYTES (the connection keeps the input
   * and runs none of it), as net.Socket's Readable buffers up to its high
   * water mark: a blocked client that disconnects is seen at once, like in
   * Redis, which never stops reading its clients.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    const stopped = this.heldBytes >= PAUSED_READ_BYTES;
    this.paused = false;
    this.heldBytes = 0;
    if (stopped && !this.socket.destroyed) this.handle.readStart();
  }

  end(): void {
    // As net.Socket does: shut down the sending side once the writes in flight are done, and read on
    // (the connection discards the input) until the client closes its side, which closes the socket
    // (onread's end of input). Closing at once would reset a client whose last bytes are unread.
    this.resume();
    this.socket.end();
  }

  closeAfterWrites(): void {
    // Shutdown waits for the writes in flight; the handle is closed when it is done.
    this.socket.destroySoon();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** libuv finished a write that did not complete at once. */
  completed(req: WriteReq, status: number): void {
    this.inFlightBytes -= req.bytes;
    req.buffer = null;
    req.transport = null;
    if (status < 0) {
      this.destroy();
      return;
    }
    if (this.inFlightBytes === 0) this.events.drain();
  }

  private request(): WriteReq {
    const req = this.spare ?? new this.b.WriteWrap();
    this.spare = null;
    req.oncomplete = onWriteComplete;
    req.bytes = 0;
    req.buffer = null;
    req.transport = this;
    return req;
  }

  private settle(req: WriteReq, err: number, data: Buffer | Buffer[]): void {
    if (err !== 0) {
      req.transport = null;
      this.destroy();
      return;
    }
    const state = this.b.streamBaseState;
    if (state[this.b.kLastWriteWasAsync] === 0) {
      // Taken by the kernel whole: no libuv request holds this object, so the next write can use it.
      req.transport = null;
      this.spare = req;
      return;
    }
    // The rest is queued in libuv, which reads it from `data` until oncomplete: keep it alive.
    req.buffer = data;
    req.bytes = Array.isArray(data) ? data.reduce((n, c) => n + c.length, 0) : data.length;
    this.inFlightBytes += req.bytes;
  }
}

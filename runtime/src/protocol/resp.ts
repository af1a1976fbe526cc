/*
 * RESP parsing and reply encoding, hand-written on purpose: this is the hot
 * path. Commands are parsed straight from the socket's Buffers into argument
 * offsets (no string or Buffer per argument), and replies are encoded into one
 * shared output buffer that is written to the socket once per read event.
 * Generic parser libraries allocate an object per frame and a string per
 * argument, which costs a third of the throughput.
 */

import { copyBytes } from '../byte-copy';

/** Malformed input; the connection gets `-ERR Protocol error: ...` and is closed. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export interface ParserLimits {
  readonly maxBulkBytes: number;
  readonly maxInlineBytes: number;
  readonly maxArgs: number;
}

declare global {
  interface Buffer {
    /** Node's fast binary-string conversions (present on Buffer.prototype, not in @types/node). */
    latin1Slice(start: number, end: number): string;
    latin1Write(s: string, offset: number, length?: number): number;
  }
}

const CR = 13;
const LF = 10;

/**
 * A resumable RESP request parser. `parse` reads one command from
 * `buf[pos..end)`: on success it returns the position after it and fills
 * `argc`, `starts`, `ends` (offsets into `args`, which is `buf` for
 * multibulk commands); when the command is incomplete it returns -1, sets
 * `needed` to the least total length from the command's start worth retrying
 * with, and remembers how far it got (so a long pipeline of arguments is not
 * re-parsed from the start on every chunk; the caller keeps the command's
 * bytes at the same offsets relative to its start).
 */
export class RequestParser {
  argc = 0;
  starts = new Int32Array(16);
  ends = new Int32Array(16);
  /** The buffer the argument offsets point into. */
  args: Buffer = Buffer.alloc(0);
  /** After -1: the command needs at least this many bytes from its start. */
  needed = 0;

  // Resume state of a partially parsed multibulk command (offsets relative to its start).
  private want = -1;
  private resumeAt = 0;
  /** Parsed argument offsets are relative to the command start (after an incomplete parse). */
  private relative = false;

  constructor(private readonly limits: ParserLimits) {}

  /** Forgets a partial command (the connection discarded its input). */
  reset(): void {
    this.want = -1;
    this.resumeAt = 0;
    this.argc = 0;
  }

  parse(buf: Buffer, start: number, end: number): number {
    if (this.want < 0) {
      if (start >= end) {
        this.needed = 1;
        return -1;
      }
      if (buf[start] !== 42 /* '*' */) return this.parseInline(buf, start, end);
      const nl = this.lineEnd(buf, start + 1, end, 'too big mbulk count string');
      if (nl < 0) {
        this.needed = end - start + 1;
        return -1;
      }
      const n = parseSigned(buf, start + 1, nl - 1);
      if (n === null || n > this.limits.maxArgs) throw new ProtocolError('invalid multibulk length');
      if (n <= 0) {
        this.argc = 0;
        return nl + 1;
      }
      this.want = n;
      this.argc = 0;
      this.resumeAt = nl + 1 - start;
    }
    let p = start + this.resumeAt;
    while (this.argc < this.want) {
      if (p >= end) return this.incomplete(start, p, end, 1);
      if (buf[p] !== 36 /* '$' */) {
        const got = buf[p];
        this.reset();
        throw new ProtocolError(`expected '$', got '${String.fromCharCode(got)}'`);
      }
      const nl = this.lineEnd(buf, p + 1, end, 'too big bulk count string');
      if (nl < 0) return this.incomplete(start, p, end, end - p + 1);
      const len = parseSigned(buf, p + 1, nl - 1);
      if (len === null || len < 0 || len > this.limits.maxBulkBytes) {
        this.reset();
        throw new ProtocolError('invalid bulk length');
      }
      const dataStart = nl + 1;
      if (dataStart + len + 2 > end) return this.incomplete(start, p, end, dataStart + len + 2 - p);
      // Offsets grow with the arguments that actually arrive, not with the count a client announces.
      if (this.argc === this.starts.length) this.growArgs();
      this.starts[this.argc] = dataStart;
      this.ends[this.argc] = dataStart + len;
      this.argc++;
      p = dataStart + len + 2;
    }
    this.want = -1;
    this.resumeAt = 0;
    this.args = buf;
    return p;
  }

  private growArgs(): void {
    const starts = new Int32Array(this.starts.length * 2);
    starts.set(this.starts);
    const ends = new Int32Array(this.ends.length * 2);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
  }

  /** Saves the resume point; `more` is what the next argument needs beyond `p`. */
  private incomplete(start: number, p: number, end: number, more: number): number {
    this.resumeAt = p - start;
    this.needed = Math.max(p - start + more, end - start + 1);
    // Offsets of parsed arguments become relative to the command start, so the caller may move its bytes.
    for (let i = 0; i < this.argc; i++) {
      this.starts[i] -= start;
      this.ends[i] -= start;
    }
    this.relative = true;
    return -1;
  }

  /**
   * Gives the parsed command a copy of its bytes, for a command that waits:
   * its handler may read its arguments after the buffer they were read into
   * holds other input (the handle transport's is shared by every connection).
   */
  detach(): void {
    if (this.argc === 0) return;
    const from = this.starts[0];
    const to = this.ends[this.argc - 1];
    this.args = Buffer.from(this.args.subarray(from, to));
    for (let i = 0; i < this.argc; i++) {
      this.starts[i] -= from;
      this.ends[i] -= from;
    }
  }

  /**
   * Called by the caller before resuming: the command's bytes now start at
   * `start` of the buffer passed to the next `parse`.
   */
  rebase(start: number): void {
    if (!this.relative) return;
    for (let i = 0; i < this.argc; i++) {
      this.starts[i] += start;
      this.ends[i] += start;
    }
    this.relative = false;
  }

  /** Index of the '\n' ending the line starting at `from`, or -1 when not there yet. */
  private lineEnd(buf: Buffer, from: number, end: number, tooBig: string): number {
    // A loop, not Buffer#indexOf: these lines are a few bytes ("$3\r\n"), and the
    // call into C++ cost more than the scan (four per SET).
    const limit = Math.min(end, from + this.limits.maxInlineBytes + 1);
    for (let i = from; i < limit; i++) if (buf[i] === LF) return i;
    if (end - from > this.limits.maxInlineBytes) {
      this.reset();
      throw new ProtocolError(tooBig);
    }
    return -1;
  }

  /** Inline commands (telnet / redis-cli style): space separated, with Redis's quoting rules. */
  private parseInline(buf: Buffer, start: number, end: number): number {
    let nl = buf.indexOf(LF, start);
    if (nl >= end) nl = -1;
    if (nl < 0) {
      if (end - start > this.limits.maxInlineBytes) throw new ProtocolError('too big inline request');
      this.needed = end - start + 1;
      return -1;
    }
    if (nl - start > this.limits.maxInlineBytes) throw new ProtocolError('too big inline request');
    let lineEnd = nl;
    if (lineEnd > start && buf[lineEnd - 1] === CR) lineEnd--;
    const words = splitArgs(buf.toString('latin1', start, lineEnd));
    if (words === null) throw new ProtocolError('unbalanced quotes in request');
    if (words.length > this.limits.maxArgs) throw new ProtocolError('invalid multibulk length');
    const joined = Buffer.from(words.join(''), 'latin1');
    if (this.starts.length < words.length) {
      this.starts = new Int32Array(words.length);
      this.ends = new Int32Array(words.length);
    }
    let off = 0;
    for (let i = 0; i < words.length; i++) {
      this.starts[i] = off;
      off += words[i].length;
      this.ends[i] = off;
    }
    this.argc = words.length;
    this.args = joined;
    return nl + 1;
  }
}

/**
 * The first argument (after the command name) of each whole multibulk
 * command in `buf[pos, end)`, up to `max` commands: start and end offsets in
 * pairs into `out`, and the second and the last argument's in fours into
 * `members` (-1, -1 when the command has no second argument); returns how
 * many. Only for looking ahead (the keyspace's prefetch): it checks nothing
 * the parser checks, and stops at the first command that is incomplete,
 * inline or malformed.
 */
export function firstArgs(buf: Buffer, pos: number, end: number, out: Int32Array, members: Int32Array, max: number): number {
  let n = 0;
  while (n < max && pos < end && buf[pos] === 42 /* '*' */) {
    let argc = 0;
    let p = pos + 1;
    for (let d = buf[p] - 48; d >= 0 && d <= 9 && p < end; d = buf[++p] - 48) argc = argc * 10 + d;
    p += 2; // CRLF
    for (let a = 0; a < argc; a++) {
      if (p >= end || buf[p] !== 36 /* '$' */) return n;
      let len = 0;
      for (let d = buf[++p] - 48; d >= 0 && d <= 9 && p < end; d = buf[++p] - 48) len = len * 10 + d;
      const data = p + 2;
      p = data + len + 2;
      if (p > end) return n;
      if (a === 1) {
        out[2 * n] = data;
        out[2 * n + 1] = data + len;
        members[4 * n] = -1;
        members[4 * n + 1] = -1;
        members[4 * n + 2] = -1;
        members[4 * n + 3] = -1;
      } else if (a === 2) {
        members[4 * n] = data;
        members[4 * n + 1] = data + len;
      }
      if (a >= 2 && a === argc - 1) {
        members[4 * n + 2] = data;
        members[4 * n + 3] = data + len;
      }
    }
    if (argc >= 2) n++;
    pos = p;
  }
  return n;
}

/** Parses an optionally negative decimal integer from bytes; null when malformed. */
function parseSigned(buf: Buffer, from: number, to: number): number | null {
  // `to` is the index of '\r' (exclusive end of digits) when the line ends in CRLF.
  if (to < from || buf[to] !== CR) return null;
  let i = from;
  let neg = false;
  if (buf[i] === 45 /* '-' */) {
    neg = true;
    i++;
  }
  if (i >= to || to - i > 15) return null;
  let n = 0;
  for (; i < to; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

/** Redis's sdssplitargs: whitespace separated words, "double" (with escapes) and 'single' quotes. Null when unbalanced. */
export function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  const isSpace = (c: string) => c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\v' || c === '\f';
  while (true) {
    while (i < n && isSpace(line[i])) i++;
    if (i >= n) return out;
    let cur = '';
    let inDq = false;
    let inSq = false;
    let done = false;
    while (!done) {
      if (inDq) {
        if (i >= n) return null;
        const c = line[i];
        if (c === '\\' && i + 3 < n && line[i + 1] === 'x' && isHex(line[i + 2]) && isHex(line[i + 3])) {
          cur += String.fromCharCode(parseInt(line.substr(i + 2, 2), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          i++;
          const e = line[i];
          cur += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'a' ? '\x07' : e;
        } else if (c === '"') {
          if (i + 1 < n && !isSpace(line[i + 1])) return null;
          done = true;
        } else {
          cur += c;
        }
      } else if (inSq) {
        if (i >= n) return null;
        const c = line[i];
        if (c === '\\' && i + 1 < n && line[i + 1] === '\'') {
          i++;
          cur += '\'';
        } else if (c === '\'') {
          if (i + 1 < n && !isSpace(line[i + 1])) return null;
          done = true;
        } else {
          cur += c;
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        const c = line[i];
        if (isSpace(c)) done = true;
        else if (c === '"') inDq = true;
        else if (c === '\'') inSq = true;
        else cur += c;
      }
      if (i < n) i++;
    }
    out.push(cur);
  }
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /[0-9a-fA-F]/.test(c);
}

// ---- replies ---------------------------------------------------------------

const CRLF = Buffer.from('\r\n');
const SMALL_INTS: Buffer[] = [];
for (let i = 0; i < 1024; i++) SMALL_INTS.push(Buffer.from(`:${i}\r\n`));

/** Reply lengths below this are written through a kept view of the reply buffer (ReplyWriter.head). */
const HEAD_VIEWS = 2048;

/** What `ReplyWriter.writeTo` needs of a socket (a net.Socket). */
export interface ReplySocket {
  readonly writableLength: number;
  readonly destroyed: boolean;
  write(b: Buffer): unknown;
}

/**
 * The reply encoder: one growable buffer shared by all connections (the
 * server is single-threaded and flushes it to one socket at the end of each
 * read event). `resp3` is set per connection before its commands run.
 */
export class ReplyWriter {
  buf = Buffer.allocUnsafe(64 * 1024);
  len = 0;
  resp3 = false;
  /** Large values already handed over as separate chunks, in order, between `buf` parts. */
  private chunks: Buffer[] = [];
  /** views[n]: buf.subarray(0, n) of `viewsOf` (see head). */
  private readonly views: Array<Buffer | null> = new Array<Buffer | null>(HEAD_VIEWS).fill(null);
  private viewsOf: Buffer | null = null;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Takes everything written since the last take, as buffers to write in order; resets the writer. */
  take(): Buffer[] {
    const out = this.chunks;
    if (this.len > 0) out.push(Buffer.from(this.buf.subarray(0, this.len)));
    this.chunks = [];
    this.len = 0;
    if (this.buf.length > 1024 * 1024) this.buf = Buffer.allocUnsafe(64 * 1024);
    return out;
  }

  /**
   * Writes what was encoded since the last take to `socket` straight from
   * the reply buffer (no copy), when it is all in that buffer; false (nothing
   * written) otherwise. When the socket keeps the bytes (the kernel did not
   * take them all at once), that buffer is the socket's now and the writer
   * moves on to a new one.
   */
  writeTo(socket: ReplySocket): boolean {
    if (this.chunks.length !== 0 || this.len === 0) return false;
    socket.write(this.head(this.len));
    this.len = 0;
    if (socket.writableLength !== 0 || socket.destroyed || this.buf.length > 1024 * 1024) this.buf = Buffer.allocUnsafe(64 * 1024);
    return true;
  }

  /**
   * `buf`'s first `len` bytes. Views of the lengths replies usually have are
   * made once per buffer and kept: an unpipelined SET or GET then writes its
   * reply without allocating (a view is about 100 bytes of young garbage,
   * a fifth of what such a command allocated).
   */
  private head(len: number): Buffer {
    if (len >= HEAD_VIEWS) return this.buf.subarray(0, len);
    if (this.viewsOf !== this.buf) {
      this.viewsOf = this.buf;
      this.views.fill(null);
    }
    return this.views[len] ??= this.buf.subarray(0, len);
  }

  /** Bytes encoded and not yet taken. */
  get size(): number {
    let n = this.len;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  get pending(): boolean {
    return this.len > 0 || this.chunks.length > 0;
  }

  raw(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }

  ascii(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.latin1Write(s, this.len);
  }

  ok(): void {
    // Byte stores, not ascii(): latin1Write is a call into C++ (~50 ns), the most of a pipelined SET's reply.
    this.ensure(5);
    const b = this.buf;
    const p = this.len;
    b[p] = 43; // '+'
    b[p + 1] = 79; // 'O'
    b[p + 2] = 75; // 'K'
    b[p + 3] = CR;
    b[p + 4] = LF;
    this.len = p + 5;
  }

  simple(s: string): void {
    this.ascii('+' + s + '\r\n');
  }

  /** An error reply; `message` starts with its code (ERR, WRONGTYPE, ...). */
  error(message: string): void {
    this.ascii('-' + message.replace(/[\r\n]+/g, ' ') + '\r\n');
  }

  int(n: number): void {
    if (n >= 0 && n < 1024) {
      this.raw(SMALL_INTS[n]);
      return;
    }
    if (n > 0 && (n | 0) === n) {
      // Digits straight into the buffer: LPUSH's growing length made a string per reply.
      this.ensure(16);
      const b = this.buf;
      b[this.len] = 58; // ':'
      const p = writeDigits(b, this.len + 1, n);
      b[p] = CR;
      b[p + 1] = LF;
      this.len = p + 2;
      return;
    }
    this.ascii(':' + n + '\r\n');
  }

  bigint(n: bigint): void {
    this.ascii(':' + n.toString() + '\r\n');
  }

  nil(): void {
    this.ascii(this.resp3 ? '_\r\n' : '$-1\r\n');
  }

  nilArray(): void {
    this.ascii(this.resp3 ? '_\r\n' : '*-1\r\n');
  }

  /** A bulk string from a binary string or a Buffer. */
  bulk(v: string | Buffer): void {
    const n = v.length;
    if (typeof v === 'string') {
      this.ensure(n + 16);
      const b = this.buf;
      let p = this.len;
      b[p++] = 36; // '$'
      p = writeDigits(b, p, n);
      b[p++] = CR;
      b[p++] = LF;
      if (n > 0) p += b.latin1Write(v, p);
      b[p++] = CR;
      b[p++] = LF;
      this.len = p;
      return;
    }
    if (n > 64 * 1024) {
      // Large Buffers go out as their own chunk instead of being copied.
      this.ascii('$' + n + '\r\n');
      this.chunks.push(Buffer.from(this.buf.subarray(0, this.len)), v, CRLF);
      this.len = 0;
      return;
    }
    this.ascii('$' + n + '\r\n');
    this.raw(v);
    this.raw(CRLF);
  }

  /** A bulk string from bytes of another buffer (ECHO). */
  bulkBytes(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n + 16);
    const b = this.buf;
    let p = this.len;
    b[p++] = 36; // '$'
    p = writeDigits(b, p, n);
    b[p++] = CR;
    b[p++] = LF;
    if (n > 0) p += copyBytes(src, start, end, b, p);
    b[p++] = CR;
    b[p++] = LF;
    this.len = p;
  }

  arrayHeader(n: number): void {
    this.ascii('*' + n + '\r\n');
  }

  /** RESP3 map header; RESP2 gets a flat array of 2n. */
  mapHeader(n: number): void {
    this.ascii(this.resp3 ? '%' + n + '\r\n' : '*' + 2 * n + '\r\n');
  }

  setHeader(n: number): void {
    this.ascii(this.resp3 ? '~' + n + '\r\n' : '*' + n + '\r\n');
  }

  /** RESP3 double; RESP2 bulk string. */
  double(s: string): void {
    if (this.resp3) this.ascii(',' + s + '\r\n');
    else this.bulk(s);
  }

  /** RESP3 verbatim text (INFO, CLIENT INFO); RESP2 bulk string. */
  verbatim(s: string): void {
    if (!this.resp3) {
      this.bulk(s);
      return;
    }
    const body = Buffer.from('txt:' + s, 'latin1');
    this.ascii('=' + body.length + '\r\n');
    this.raw(body);
    this.raw(CRLF);
  }

  /** A JS value as a reply: strings as bulk, numbers as integers, arrays, plain objects as maps, null as nil. */
  value(v: unknown): void {
    if (v === null || v === undefined) {this.nil();} else if (typeof v === 'string') {this.bulk(v);} else if (typeof v === 'number') {this.int(v);} else if (typeof v === 'boolean') {this.int(v ? 1 : 0);} else if (Array.isArray(v)) {
      this.arrayHeader(v.length);
      for (const x of v) this.value(x);
    } else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      this.mapHeader(entries.length);
      for (const [k, x] of entries) {
        this.bulk(k);
        this.value(x);
      }
    }
  }
}

/** Writes the decimal digits of `n` (a non-negative int32) at `p`; returns the position after them. */
function writeDigits(b: Buffer, p: number, n: number): number {
  let last = p;
  for (let x = n; x >= 10; x = (x / 10) | 0) last++;
  let i = last;
  let x = n;
  for (; x >= 10; x = (x / 10) | 0) b[i--] = 48 + (x % 10);
  b[i] = 48 + x;
  return last + 1;
}

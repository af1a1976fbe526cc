/**
 * Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, on a real
 * Lua 5.4 VM (wasmoon: Lua compiled to WebAssembly), driven through its C
 * API so values cross as bytes (binary-safe) and `redis.call` runs commands
 * synchronously inside the script.
 *
 * - Atomic: a script runs to its end in one turn of the event loop, so no
 *   other command interleaves. Its writes form one keyspace write group
 *   (Keyspace.writeGroup): they reach persistence together, as one batch
 *   (write-through: all or nothing; write-behind: one journal group).
 * - Errors: a script that fails midway keeps the writes it made before the
 *   error (as Redis does); they are persisted as one group.
 * - Limits: a script running longer than the time limit (CONFIG SET
 *   busy-reply-threshold / lua-time-limit, default 5000 ms) is stopped and
 *   its writes are rolled back; the VM has a memory cap
 *   (SCRIPT_MEMORY_BYTES) and a script that reaches it fails the same way.
 *   Without persistence, aggregates are changed in place (no copy to undo):
 *   a stopped script that changed one keeps all its writes so far, as a
 *   script that fails midway does, and its error says so.
 *   state-cache is single-threaded: while a script runs no other client is
 *   served, so nobody can see BUSY or send SCRIPT KILL; the limit itself
 *   stops the script (SCRIPT KILL answers NOTBUSY).
 * - Keys: the KEYS of a script are loaded from the stores before it runs
 *   (like any command's keys); keys a script touches without declaring them
 *   are served from memory only. In cluster mode, declared keys must hash to
 *   one slot (CROSSSLOT) and `redis.call` refuses keys of other slots.
 */
import { createHash } from 'node:crypto';
import type { LuaEngine, LuaFactory } from 'wasmoon';
import { withWakeupsHeld } from './blocking';
import {
  argStr, argUpper, ClientState, commandKeys, CommandError, CommandFlags, errorReply, Frame, Handler, hasKeys, keyBounds, parseIntStrict,
  replyLater,
  ServerContext, Spec, wrongArgs,
} from './commands';
import { routeKeys } from './key-routing';
import { LuaCodecs, T_BOOLEAN, T_NIL, T_NUMBER, T_STRING, T_TABLE } from './lua-codecs';
import { ReplyWriter } from './resp';
import { runtimeSettings } from './server-commands';
import { rememberRead } from './tracking';
import type { Keyspace } from '../keyspace/keyspace';

/** Most bytes the Lua VM may allocate (scripts, their data and the script cache). */
export const SCRIPT_MEMORY_BYTES = 64 * 1024 * 1024;

const LUA_REGISTRYINDEX = -1000000 - 1000;
/** The registry's index of the globals table (lua.h). */
const LUA_RIDX_GLOBALS = 2n;
const LUA_MASKCOUNT = 8;
const HOOK_EVERY = 10000;
const MAX_DEPTH = 64;

const ERR_NOSCRIPT = 'NOSCRIPT No matching script. Please use EVAL.';

/** The raw Emscripten module of wasmoon (its C API as exported functions). */
interface LuaModule {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  addFunction(fn: (...args: number[]) => number | void, sig: string): number;
  stringToNewUTF8(s: string): number;
  _malloc(n: number): number;
  _free(p: number): void;
  [fn: string]: unknown;
}

let factory: LuaFactory | undefined;

/** Why a script was stopped by the VM rather than by its own error. */
type Stop = 'time' | 'memory' | undefined;

/**
 * One Lua VM per server, with the script cache. Created on the first
 * script command (instantiating the WebAssembly module is asynchronous).
 */
export class Scripting {
  private readonly m: LuaModule;
  private readonly L: number;
  private readonly scripts = new Map<string, number>();
  private readonly noWrites = new Set<string>();
  private readonly writer = new ReplyWriter();
  /** Where a script's result is encoded before its writes are committed. */
  private readonly result = new ReplyWriter();
  /** The context and client redis.call runs commands with (replies go to `writer`; nothing is delivered). */
  private callCtx: ServerContext | undefined;
  private callClient: ClientState | undefined;
  private callCtxFor: ServerContext | undefined;
  private readonly lenPtr: number;
  private scratch: number;
  private scratchLen: number;
  private readonly names = new Map<string, number>();
  private deadline = 0;
  private stop: Stop;
  /** The message handler of every run (onError), a function pointer in the VM. */
  private errorHandler = 0;
  // The script running now (valid only during run()).
  private ctx: ServerContext | undefined;
  private client: ClientState | undefined;
  private readOnly = false;
  private resp3 = false;
  private slot = -1;
  private argsBuf = Buffer.allocUnsafe(4096);
  private readonly fns = new Map<string, (...a: unknown[]) => number>();

  constructor(private readonly engine: LuaEngine, private readonly ks: Keyspace) {
    const g = engine.global as unknown as { lua: { module: LuaModule }; address: number; setMemoryMax(n: number): void };
    this.m = g.lua.module;
    this.L = g.address;
    this.lenPtr = this.m._malloc(8);
    this.scratchLen = 64 * 1024;
    this.scratch = this.m._malloc(this.scratchLen);
    this.setup();
    g.setMemoryMax(SCRIPT_MEMORY_BYTES);
  }

  // ---- the C API ---------------------------------------------------------

  /** A function of Lua's C API (looked up once). */
  private fn(name: string): (...a: unknown[]) => number {
    let f = this.fns.get(name);
    if (f === undefined) {
      f = this.m[`_${name}`] as (...a: unknown[]) => number;
      this.fns.set(name, f);
    }
    return f;
  }

  private cstr(s: string): number {
    let p = this.names.get(s);
    if (p === undefined) {
      p = this.m.stringToNewUTF8(s);
      this.names.set(s, p);
    }
    return p;
  }

  private pushBytes(b: Buffer | Uint8Array, start = 0, end = b.length): void {
    const n = end - start;
    if (n > this.scratchLen) {
      this.m._free(this.scratch);
      this.scratchLen = Math.max(n, this.scratchLen * 2);
      this.scratch = this.m._malloc(this.scratchLen);
      if (this.scratch === 0) throw new Error('scripting: out of memory for a value');
    }
    this.m.HEAPU8.set(b.subarray(start, end), this.scratch);
    this.fn('lua_pushlstring')(this.L, this.scratch, n);
  }

  private pushString(s: string): void {
    this.pushBytes(Buffer.from(s, 'latin1'));
  }

  /** The string at `idx` as bytes (a view into the VM's memory: copy before the VM runs again). */
  private bytesAt(idx: number): Uint8Array {
    const p = this.fn('lua_tolstring')(this.L, idx, this.lenPtr);
    const n = this.m.HEAP32[this.lenPtr >> 2];
    return this.m.HEAPU8.subarray(p, p + n);
  }

  private stringAt(idx: number): string {
    return Buffer.from(this.bytesAt(idx)).toString('latin1');
  }

  private type(idx: number): number {
    return this.fn('lua_type')(this.L, idx);
  }

  private setField(idx: number, name: string): void {
    this.fn('lua_setfield')(this.L, idx, this.cstr(name));
  }

  private runLua(code: string): void {
    const L = this.L;
    const b = Buffer.from(code);
    this.m.HEAPU8.set(b, this.scratch);
    if (this.fn('luaL_loadbufferx')(L, this.scratch, b.length, this.cstr('=init'), 0) !== 0
      || this.fn('lua_pcallk')(L, 0, 0, 0, 0, 0) !== 0) {
      const msg = this.stringAt(-1);
      this.fn('lua_settop')(L, 0);
      throw new Error(`scripting setup: ${msg}`);
    }
  }

  private setup(): void {
    const L = this.L;
    const m = this.m;
    // Redis's libraries that Lua 5.4 has: base, table, string, math (no io, os, package, debug).
    for (const lib of ['_G', 'table', 'string', 'math']) this.engine.global.loadLibrary(lib as Parameters<LuaEngine['global']['loadLibrary']>[0]);
    this.fn('lua_settop')(L, 0);
    this.fn('lua_createtable')(L, 0, 16);
    const cfn = (name: string, f: (L: number) => number) => {
      this.fn('lua_pushcclosure')(L, m.addFunction(f, 'ii'), 0);
      this.setField(-2, name);
    };
    cfn('call', () => this.redisCall(true));
    cfn('pcall', () => this.redisCall(false));
    cfn('sha1hex', () => {
      const digest = createHash('sha1').update(this.fn('lua_gettop')(L) >= 1 ? this.bytesAt(1) : new Uint8Array(0)).digest('hex');
      this.pushString(digest);
      return 1;
    });
    cfn('setresp', () => {
      const n = this.fn('lua_tonumberx')(L, 1, 0);
      if (n !== 2 && n !== 3) return this.raise('RESP version must be 2 or 3.');
      this.resp3 = n === 3;
      return 0;
    });
    this.fn('lua_setglobal')(L, this.cstr('redis'));
    // Redis's cjson and cmsgpack (lua-codecs.ts).
    const codecs = new LuaCodecs({
      L,
      fn: (name) => this.fn(name),
      pushBytes: (b) => this.pushBytes(b),
      bytesAt: (idx) => this.bytesAt(idx),
      raise: (msg) => this.raise(msg),
    });
    this.fn('lua_createtable')(L, 0, 4);
    cfn('encode', () => codecs.jsonEncode());
    cfn('decode', () => codecs.jsonDecode());
    this.fn('lua_pushlightuserdata')(L, 0);
    this.setField(-2, 'null');
    this.fn('lua_setglobal')(L, this.cstr('cjson'));
    this.fn('lua_createtable')(L, 0, 2);
    cfn('pack', () => codecs.msgpackPack());
    cfn('unpack', () => codecs.msgpackUnpack());
    this.fn('lua_setglobal')(L, this.cstr('cmsgpack'));
    this.runLua(PRELUDE);
    this.fn('lua_sethook')(L, m.addFunction(() => this.hook(), 'vii'), LUA_MASKCOUNT, HOOK_EVERY);
    this.errorHandler = m.addFunction(() => this.onError(), 'ii');
  }

  /**
   * The message handler of a script's run (Redis's __redis__err__handler): an error table (raised by
   * redis.call, or by error({err=...})) gets the line that raised it, for the reply's "on
   * @user_script:<line>": the raising function's, or its Lua caller's when it is a C function.
   */
  private onError(): number {
    const L = this.L;
    this.fn('lua_settop')(L, 1);
    if (this.type(1) !== T_TABLE) return 1;
    for (const level of [1, 2]) {
      this.fn('luaL_where')(L, level);
      const where = /:(\d+): $/.exec(this.stringAt(-1));
      this.fn('lua_settop')(L, 1);
      if (where !== null) {
        this.fn('lua_pushinteger')(L, BigInt(where[1]));
        this.setField(1, 'line');
        break;
      }
    }
    return 1;
  }

  /** Raises a Lua error with message `msg` (does not return: the VM unwinds). */
  private raise(msg: string): number {
    this.pushString(msg);
    return this.fn('lua_error')(this.L);
  }

  /** Raises the error table {err = msg} (what redis.call raises, and redis.pcall returns). */
  private pushErrorTable(msg: string): void {
    this.fn('lua_createtable')(this.L, 0, 1);
    this.pushString(msg);
    this.setField(-2, 'err');
  }

  private hook(): void {
    if (this.stop === undefined && Date.now() <= this.deadline) return;
    if (this.stop === undefined) {
      this.stop = 'time';
      // From now on every instruction raises, so a pcall inside the script cannot catch it for long.
      this.fn('lua_sethook')(this.L, this.fn('lua_gethook')(this.L), LUA_MASKCOUNT, 1);
    }
    this.raise('script stopped: time limit');
  }

  // ---- redis.call -----------------------------------------------------

  /** redis.call (raise: true) and redis.pcall: runs one command and pushes its reply. */
  private redisCall(raise: boolean): number {
    const L = this.L;
    let error: string | undefined;
    try {
      error = this.callCommand();
    } catch (e) {
      error = errorReply(e, this.ctx?.stats) ?? `ERR internal error: ${(e as Error)?.message ?? String(e)}`;
    }
    if (error === undefined) return 1;
    this.pushErrorTable(error);
    if (raise) return this.fn('lua_error')(L);
    return 1;
  }

  /** Runs the command in the call's arguments; pushes the reply and returns undefined, or returns an error text. */
  private callCommand(): string | undefined {
    const L = this.L;
    const ctx = this.ctx!;
    const n = this.fn('lua_gettop')(L);
    if (n === 0) return 'ERR Please specify at least one argument for this redis lib call';
    // The arguments as one frame.
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    let off = 0;
    for (let i = 1; i <= n; i++) {
      const t = this.type(i);
      let bytes: Uint8Array;
      if (t === T_STRING) {bytes = this.bytesAt(i);} else if (t === T_NUMBER) {bytes = Buffer.from(luaNumberArg(this.fn('lua_tonumberx')(L, i, 0)), 'latin1');} else {
        return 'ERR Lua redis lib command arguments must be strings or integers';
      }
      if (off + bytes.length > this.argsBuf.length) {
        const next = Buffer.allocUnsafe(Math.max(off + bytes.length, this.argsBuf.length * 2));
        this.argsBuf.copy(next, 0, 0, off);
        this.argsBuf = next;
      }
      this.argsBuf.set(bytes, off);
      starts[i - 1] = off;
      off += bytes.length;
      ends[i - 1] = off;
    }
    const f: Frame = { argc: n, args: this.argsBuf, starts, ends };
    const cmd = ctx.lookup(f);
    if (cmd === undefined) return 'ERR Unknown Redis command called from script';
    if ((cmd.arity > 0 && n !== cmd.arity) || n < -cmd.arity) return 'ERR Wrong number of args calling Redis command from script';
    if ((cmd.bits & CommandFlags.NOSCRIPT) !== 0) return 'ERR This Redis command is not allowed from script';
    if (this.readOnly && (cmd.bits & CommandFlags.WRITE) !== 0) return 'ERR Write commands are not allowed from read-only scripts.';
    if (ctx.cluster !== undefined && hasKeys(cmd)) {
      const bounds = keyBounds(cmd, f);
      if (bounds[0] <= bounds[1] || bounds[3] !== undefined) {
        const routed = routeKeys(ctx.cluster, f, bounds, this.slot);
        if (typeof routed === 'string') {
          return routed.startsWith('CROSSSLOT')
            ? 'ERR Script attempted to access keys that do not hash to the same slot'
            : 'ERR Script attempted to access a non local key in a cluster node';
        }
        this.slot = routed;
      }
    }
    if (hasKeys(cmd) && this.ks.locks.size > 0) {
      for (const k of commandKeys(cmd, f)) {
        if (this.ks.locks.has(k)) return `ERR script touched key '${k}', which has a write waiting on persistence: declare the keys a script uses in KEYS`;
      }
    }
    ctx.stats.calls[cmd.index]++;
    ctx.stats.commandsProcessed++;
    const w = this.writer;
    w.resp3 = this.resp3;
    if (this.callCtxFor !== ctx) {
      this.callCtx = Object.create(ctx, { out: { value: w } }) as ServerContext;
      this.callCtxFor = ctx;
    }
    this.callClient ??= Object.create(this.client!, { deliver: { value: () => undefined }, inScript: { value: true } }) as ClientState;
    // Keys the script reads are remembered for its caller (CLIENT TRACKING default mode), as in Redis 7.
    if (this.ks.keyWatcher !== undefined) rememberRead(this.ks, this.client!, cmd, f);
    let r: void | Promise<unknown>;
    try {
      r = cmd.handler(this.callCtx!, this.callClient, f);
    } catch (e) {
      w.take();
      throw e;
    }
    if (r !== undefined) {
      r.catch(() => undefined);
      w.take();
      return `ERR '${cmd.name}' would wait inside a script, which state-cache cannot do`;
    }
    const chunks = w.take();
    const reply = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const end = this.pushReply(reply, 0, 0);
    if (end !== reply.length) throw new Error(`scripting: reply of '${cmd.name}' not fully converted`);
    return undefined;
  }

  /** Pushes the RESP reply at reply[pos] as a Lua value (Redis's conversion); returns the position after it. */
  private pushReply(b: Buffer, pos: number, depth: number): number {
    const L = this.L;
    if (depth > MAX_DEPTH) throw new Error('scripting: reply nested too deep');
    const type = b[pos];
    const eol = b.indexOf(13, pos);
    const line = b.latin1Slice(pos + 1, eol);
    let next = eol + 2;
    switch (type) {
      case 43: // + status: {ok = ...}
        this.fn('lua_createtable')(L, 0, 1);
        this.pushString(line);
        this.setField(-2, 'ok');
        return next;
      case 45: // - error: {err = ...}
        this.pushErrorTable(line);
        return next;
      case 58: // : integer
        this.fn('lua_pushinteger')(L, BigInt(line));
        return next;
      case 36: { // $ bulk; nil -> false
        const n = Number(line);
        if (n < 0) {
          this.fn('lua_pushboolean')(L, 0);
          return next;
        }
        this.pushBytes(b, next, next + n);
        return next + n + 2;
      }
      case 61: { // = verbatim: the text without its format
        const n = Number(line);
        this.pushBytes(b, next + 4, next + n);
        return next + n + 2;
      }
      case 42: // * array; nil -> false
      case 126: { // ~ set: {member = true}... as an array (Redis 7.0 converts RESP3 sets to tables of true)
        const n = Number(line);
        if (n < 0) {
          this.fn('lua_pushboolean')(L, 0);
          return next;
        }
        this.fn('lua_createtable')(L, type === 42 ? n : 0, type === 42 ? 0 : n);
        for (let i = 1; i <= n; i++) {
          next = this.pushReply(b, next, depth + 1);
          if (type === 42) {
            this.fn('lua_rawseti')(L, -2, BigInt(i));
          } else {
            this.fn('lua_pushboolean')(L, 1);
            this.fn('lua_rawset')(L, -3);
          }
        }
        return next;
      }
      case 37: { // % map: {map = {k = v}}
        const n = Number(line);
        this.fn('lua_createtable')(L, 0, 1);
        this.fn('lua_createtable')(L, 0, n);
        for (let i = 0; i < n; i++) {
          next = this.pushReply(b, next, depth + 1);
          next = this.pushReply(b, next, depth + 1);
          this.fn('lua_rawset')(L, -3);
        }
        this.setField(-2, 'map');
        return next;
      }
      case 95: // _ null
        this.fn('lua_pushnil')(L);
        return next;
      case 35: // # boolean
        this.fn('lua_pushboolean')(L, line === 't' ? 1 : 0);
        return next;
      case 44: // , double: {double = n}
        this.fn('lua_createtable')(L, 0, 1);
        this.fn('lua_pushnumber')(L, Number(line));
        this.setField(-2, 'double');
        return next;
      default:
        throw new Error(`scripting: unexpected reply type ${String.fromCharCode(type)}`);
    }
  }

  // ---- running scripts ---------------------------------------------------

  /** Compiles `body` into the script cache (SCRIPT LOAD, EVAL); returns its SHA1. */
  load(body: Buffer): string {
    const sha = createHash('sha1').update(body).digest('hex');
    if (this.scripts.has(sha)) return sha;
    const L = this.L;
    let code = body;
    let noWrites = false;
    if (body.length >= 2 && body[0] === 35 && body[1] === 33) {
      // #!lua [flags=no-writes,...]: the shebang line goes (its newline stays, so line numbers hold).
      const nl = body.indexOf(10);
      const line = body.latin1Slice(0, nl < 0 ? body.length : nl);
      const parts = line.slice(2).split(' ').filter((p) => p !== '');
      if (parts[0] !== 'lua') throw new CommandError(`ERR Unexpected engine in script shebang: ${parts[0] ?? ''}`);
      for (const p of parts.slice(1)) {
        if (!p.startsWith('flags=')) throw new CommandError(`ERR Unknown lua shebang option: ${p}`);
        for (const flag of p.slice(6).split(',')) {
          if (flag === 'no-writes') noWrites = true;
          else if (!['', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'].includes(flag)) throw new CommandError(`ERR Unexpected flag in script shebang: ${flag}`);
        }
      }
      code = nl < 0 ? Buffer.alloc(0) : body.subarray(nl);
    }
    if (code.length > this.scratchLen) {
      this.m._free(this.scratch);
      this.scratchLen = code.length * 2;
      this.scratch = this.m._malloc(this.scratchLen);
    }
    this.m.HEAPU8.set(code, this.scratch);
    // Text only ('t'): precompiled bytecode could break the VM's safety.
    const rc = this.fn('luaL_loadbufferx')(L, this.scratch, code.length, this.cstr('@user_script'), this.cstr('t'));
    if (rc !== 0) {
      const msg = this.type(-1) === T_STRING ? this.stringAt(-1) : 'not enough memory';
      this.fn('lua_settop')(L, 0);
      throw new CommandError(`ERR Error compiling script (new function): ${msg}`);
    }
    this.scripts.set(sha, this.fn('luaL_ref')(L, LUA_REGISTRYINDEX));
    if (noWrites) this.noWrites.add(sha);
    return sha;
  }

  exists(sha: string): boolean {
    return this.scripts.has(sha.toLowerCase());
  }

  flush(): void {
    for (const ref of this.scripts.values()) this.fn('luaL_unref')(this.L, LUA_REGISTRYINDEX, ref);
    this.scripts.clear();
    this.noWrites.clear();
    this.runLua('collectgarbage()');
  }

  /**
   * Runs the cached script `sha` with KEYS and ARGV from `f` (from index
   * `at`, `numkeys` keys); writes the reply to ctx.out, or returns a promise
   * when persistence makes its writes wait (the reply follows then).
   */
  run(
    ctx: ServerContext, c: ClientState, sha: string, f: Frame, at: number, numkeys: number, readOnly: boolean, slot: number,
  ): void | Promise<unknown> {
    const ref = this.scripts.get(sha);
    if (ref === undefined) throw new CommandError(ERR_NOSCRIPT);
    const L = this.L;
    this.ctx = ctx;
    this.client = c;
    this.callClient = undefined;
    this.readOnly = readOnly || this.noWrites.has(sha);
    this.resp3 = false;
    this.slot = slot;
    this.stop = undefined;
    const limit = runtimeSettings(ctx.ks).scriptTimeLimitMs;
    this.deadline = limit > 0 ? Date.now() + limit : Infinity;
    this.fn('lua_sethook')(L, this.fn('lua_gethook')(L), LUA_MASKCOUNT, HOOK_EVERY);
    this.fn('lua_settop')(L, 0);
    // KEYS and ARGV: new tables each run, set in the real globals behind the read-only _G (PRELUDE).
    this.fn('lua_rawgeti')(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    this.fn('lua_getmetatable')(L, -1);
    this.fn('lua_getfield')(L, -1, this.cstr('__real'));
    for (const [name, from, to] of [['KEYS', at, at + numkeys], ['ARGV', at + numkeys, f.argc]] as const) {
      this.fn('lua_createtable')(L, to - from, 0);
      for (let i = from; i < to; i++) {
        this.pushBytes(f.args, f.starts[i], f.ends[i]);
        this.fn('lua_rawseti')(L, -2, BigInt(i - from + 1));
      }
      this.setField(-2, name);
    }
    this.fn('lua_settop')(L, 0);
    this.fn('lua_pushcclosure')(L, this.errorHandler, 0);
    this.fn('lua_rawgeti')(L, LUA_REGISTRYINDEX, BigInt(ref));
    const ks = ctx.ks;
    ks.beginGroup();
    let rc: number;
    try {
      rc = this.fn('lua_pcallk')(L, 0, 1, 1, 0, 0);
    } catch (e) {
      // Internal failure: undo the script's writes, or keep them all when they cannot all be undone.
      if (ks.groupUndoable) ks.rollbackGroup();
      else void ks.commitGroup();
      this.fn('lua_settop')(L, 0);
      this.ctx = undefined;
      throw e;
    }
    this.ctx = undefined;
    this.client = undefined;
    this.callClient = undefined;
    const out = this.result;
    out.resp3 = c.resp3;
    if (rc !== 0) {
      const stop = (this.stop as Stop) ?? (rc === 4 ? 'memory' : undefined);
      const msg = this.errorText(sha);
      this.fn('lua_settop')(L, 0);
      if (stop !== undefined) {
        if (stop === 'memory') this.runLua('collectgarbage()');
        const why = stop === 'time'
          ? `BUSY script stopped: it ran longer than the script time limit (${runtimeSettings(ks).scriptTimeLimitMs} ms, CONFIG SET busy-reply-threshold)`
          : `ERR script stopped: the scripting VM reached its memory limit (${SCRIPT_MEMORY_BYTES} bytes)`;
        if (ks.groupUndoable) {
          // Stopped by a limit: nothing it wrote stays.
          ks.rollbackGroup();
          throw new CommandError(`${why}; its writes were rolled back`);
        }
        // It changed a hash, list, set, sorted set or stream in place (memory only): that cannot be put back, so
        // none of its writes are undone (no half rollback). It ends as a script that failed midway does.
        out.error(`${why}; it had changed a hash, list, set, sorted set or stream in place, which cannot be rolled back, so its writes so far were kept`);
      } else {
        out.error(msg);
      }
    } else {
      try {
        this.writeResult(out, -1, 0);
      } finally {
        this.fn('lua_settop')(L, 0);
      }
    }
    const chunks = out.take();
    const p = ks.commitGroup();
    if (p === undefined) {
      for (const b of chunks) ctx.out.raw(b);
      return undefined;
    }
    return p.then(() => replyLater(ctx, c, () => {
      for (const b of chunks) ctx.out.raw(b);
    }));
  }

  /**
   * The error reply for a failed script: Redis's "ERR <msg> script: <sha>, on @user_script:<line>.", or an
   * {err=...} table's text, with that suffix when redis.call raised it (it carries the line).
   */
  private errorText(sha: string): string {
    const L = this.L;
    if (this.type(-1) === T_TABLE) {
      this.fn('lua_getfield')(L, -1, this.cstr('line'));
      const line = this.fn('lua_isinteger')(L, -1) ? String(this.fn('lua_tointegerx')(L, -1, 0)) : undefined;
      this.fn('lua_settop')(L, -2);
      this.fn('lua_getfield')(L, -1, this.cstr('err'));
      if (this.type(-1) === T_STRING) return line === undefined ? this.stringAt(-1) : `${this.stringAt(-1)} script: ${sha}, on @user_script:${line}.`;
      return 'ERR Error running script: the script raised a table without an err field';
    }
    const msg = this.type(-1) === T_STRING ? this.stringAt(-1) : 'unknown error';
    const line = /^user_script:(\d+):/.exec(msg);
    return `ERR ${msg} script: ${sha}, on @user_script:${line ? line[1] : '?'}.`;
  }

  /** Writes the Lua value at `idx` as a reply, with Redis's conversion (numbers truncated, false -> nil, {ok}, {err}). */
  private writeResult(out: ReplyWriter, idx: number, depth: number): void {
    const L = this.L;
    const t = this.type(idx);
    switch (t) {
      case T_STRING: {
        out.bulk(Buffer.from(this.bytesAt(idx)));
        return;
      }
      case T_NUMBER: {
        if (this.fn('lua_isinteger')(L, idx)) {
          out.bigint(BigInt.asIntN(64, BigInt(this.fn('lua_tointegerx')(L, idx, 0))));
        } else {
          const n = this.fn('lua_tonumberx')(L, idx, 0) as number;
          out.int(Number.isFinite(n) ? Math.trunc(n) : 0);
        }
        return;
      }
      case T_BOOLEAN:
        if (this.fn('lua_toboolean')(L, idx)) out.int(1);
        else out.nil();
        return;
      case T_TABLE: {
        if (depth > MAX_DEPTH) {
          out.error('ERR reached lua stack limit');
          return;
        }
        const abs = this.fn('lua_absindex')(L, idx);
        for (const field of ['err', 'ok', 'double'] as const) {
          this.fn('lua_getfield')(L, abs, this.cstr(field));
          const ft = this.type(-1);
          if ((field !== 'double' && ft === T_STRING) || (field === 'double' && ft === T_NUMBER)) {
            if (field === 'err') out.error(this.stringAt(-1));
            else if (field === 'ok') out.simple(this.stringAt(-1).replace(/[\r\n]/g, ' '));
            else out.double(String(this.fn('lua_tonumberx')(L, -1, 0)));
            this.fn('lua_settop')(L, -2);
            return;
          }
          this.fn('lua_settop')(L, -2);
        }
        // An array: up to the first nil.
        let n = 0;
        for (;;) {
          const et = this.fn('lua_rawgeti')(L, abs, BigInt(n + 1));
          this.fn('lua_settop')(L, -2);
          if (et === T_NIL) break;
          n++;
        }
        out.arrayHeader(n);
        for (let i = 1; i <= n; i++) {
          this.fn('lua_rawgeti')(L, abs, BigInt(i));
          this.writeResult(out, -1, depth + 1);
          this.fn('lua_settop')(L, -2);
        }
        return;
      }
      default:
        out.nil();
    }
  }
}

/** A Lua number as a command argument: integers without a fraction, others like Lua 5.1's %.17g. */
export function luaNumberArg(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e17) return n.toFixed(0);
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : n < 0 ? '-inf' : 'nan';
  return String(Number(n.toPrecision(17)));
}

/**
 * Lua set up once per VM: Redis's helpers in Lua, Lua 5.1 names scripts
 * still use (unpack, math.pow, table.getn), LuaBitOp's bit library on 5.4's
 * operators, and the globals protection (no new globals).
 */
const PRELUDE = `
redis.error_reply = function(e) return { err = e } end
redis.status_reply = function(s) return { ok = s } end
redis.log = function() end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.set_repl = function() end
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.REDIS_VERSION_NUM = 0x070000
redis.REDIS_VERSION = '7.0.0'
unpack = table.unpack
table.getn = function(t) return #t end
math.pow = function(a, b) return a ^ b end
dofile = nil
loadfile = nil
collectgarbage = collectgarbage
local function tobit(x)
  x = math.tointeger(x) or math.floor(x)
  x = x & 0xffffffff
  if x >= 0x80000000 then x = x - 0x100000000 end
  return x
end
local function fold(op)
  return function(a, ...)
    local r = tobit(a)
    for _, v in ipairs({ ... }) do r = op(r, tobit(v)) end
    return tobit(r)
  end
end
bit = {
  tobit = tobit,
  band = fold(function(a, b) return a & b end),
  bor = fold(function(a, b) return a | b end),
  bxor = fold(function(a, b) return a ~ b end),
  bnot = function(a) return tobit(~tobit(a)) end,
  lshift = function(a, n) return tobit(tobit(a) << (n & 31)) end,
  rshift = function(a, n) return tobit((tobit(a) & 0xffffffff) >> (n & 31)) end,
  arshift = function(a, n) return tobit(tobit(a) >> (n & 31) | (tobit(a) < 0 and ~(0xffffffff >> (n & 31)) or 0)) end,
  tohex = function(a, n) n = n or 8 return string.format('%0' .. n .. 'x', tobit(a) & ((1 << (4 * n)) - 1)) end,
}
KEYS = {}
ARGV = {}
-- Redis 7.0: loadstring and load stay (text chunks only: bytecode can break the VM), print does not.
local load0 = load
loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then return nil, 'binary chunks are not allowed' end
  return load0(s, name, 't')
end
load = function(chunk, name) return load0(chunk, name, 't') end
print = nil
-- Redis 7.0's pcall: an error table whose err is a string (what redis.call raises) reaches the
-- script as that string; any other error value as it is. xpcall is Lua's own.
local pcall0, pack, unpack0 = pcall, table.pack, table.unpack
pcall = function(...)
  local r = pack(pcall0(...))
  if not r[1] and type(r[2]) == 'table' and type(r[2].err) == 'string' then return false, r[2].err end
  return unpack0(r, 1, r.n)
end
-- Redis 7.0 makes the globals and the library tables read-only: assigning to any global, new or
-- not, or to a library's field is "Attempt to modify a readonly table"; reading a global that does
-- not exist is an error too. Each table becomes an empty proxy (so every assignment reaches
-- __newindex) over the real one, which the server reaches through the metatable's __real field
-- (KEYS and ARGV each run); __metatable hides the metatable from scripts.
local G, next, rawset0, error, tostring, setmetatable0 = _G, next, rawset, error, tostring, setmetatable
local readonly = setmetatable({}, { __mode = 'k' })
local function deny() error('Attempt to modify a readonly table', 2) end
local function proxy(real)
  local p = {}
  setmetatable0(p, {
    __index = real,
    __newindex = deny,
    __pairs = function() return next, real, nil end,
    __len = function() return #real end,
    __metatable = {},
    __real = real,
  })
  readonly[p] = true
  return p
end
rawset = function(t, k, v)
  if readonly[t] then error('Attempt to modify a readonly table', 0) end
  return rawset0(t, k, v)
end
setmetatable = function(t, mt)
  if readonly[t] then error('Attempt to modify a readonly table', 0) end
  return setmetatable0(t, mt)
end
local real = {}
for k, v in next, G do real[k] = v end
for _, lib in ipairs({ 'string', 'math', 'table', 'redis', 'cjson', 'cmsgpack', 'bit' }) do real[lib] = proxy(real[lib]) end
for k in next, real do rawset0(G, k, nil) end
real._G = G
setmetatable0(real, { __index = function(_, n) error("Script attempted to access nonexistent global variable '" .. tostring(n) .. "'", 2) end })
local mt = { __newindex = deny, __pairs = function() return next, real, nil end, __metatable = {}, __real = real, __index = real }
setmetatable0(G, mt)
readonly[G] = true
`;

// ---- the commands -------------------------------------------------------------

/** A VM for the server of `ks` (the WebAssembly module is compiled once per process). */
async function createScripting(ks: Keyspace): Promise<Scripting> {
  // Loaded by Node's own module loader, not a test runner's sandboxed one: wasmoon's loader uses a
  // dynamic import(), which jest's sandbox refuses without --experimental-vm-modules.
  const nodeModule = process.getBuiltinModule('node:module') as unknown as { _load(path: string, parent: null, isMain: boolean): unknown };
  const wasmoon = nodeModule._load(require.resolve('wasmoon'), null, false) as typeof import('wasmoon');
  factory ??= new wasmoon.LuaFactory();
  // traceAllocations: wasmoon's allocator counts bytes, which the memory cap needs.
  const engine = await factory.createEngine({ openStandardLibs: false, injectObjects: false, enableProxy: false, traceAllocations: true });
  return new Scripting(engine, ks);
}

const ENGINES = new WeakMap<Keyspace, Scripting | Promise<Scripting>>();

/** The server's VM, or a promise of it while it is created. */
function scriptingFor(ks: Keyspace): Scripting | Promise<Scripting> {
  let s = ENGINES.get(ks);
  if (s === undefined) {
    const p = createScripting(ks).then((created) => {
      ENGINES.set(ks, created);
      return created;
    });
    ENGINES.set(ks, p);
    s = p;
  }
  return s;
}

/** Runs `fn` with the VM; when it is still being created, the reply follows once it is. */
function withScripting(ctx: ServerContext, c: ClientState, fn: (s: Scripting) => void | Promise<unknown>): void | Promise<unknown> {
  const s = scriptingFor(ctx.ks);
  if (!(s instanceof Promise)) return fn(s);
  return s.then((ready) => {
    ctx.out.resp3 = c.resp3;
    let r: void | Promise<unknown> = undefined;
    try {
      r = fn(ready);
    } catch (e) {
      const text = errorReply(e, ctx.stats);
      if (text === undefined) throw e;
      ctx.out.error(text);
    }
    c.deliver(ctx.out.take());
    return r;
  });
}

/** The number of keys of EVAL-style commands (argument 2), checked like Redis. */
function numKeys(f: Frame): number {
  const n = parseIntStrict(argStr(f, 2));
  if (n === null) throw new CommandError('ERR value is not an integer or out of range');
  if (n < 0) throw new CommandError('ERR Number of keys can\'t be negative');
  if (n > f.argc - 3) throw new CommandError('ERR Number of keys can\'t be greater than number of args');
  return n;
}

/** EVAL's keys are arguments 3 .. 3 + numkeys - 1 (movable keys). */
export function evalKeyRange(f: Frame): [number, number, number] {
  const n = f.argc >= 3 ? parseIntStrict(argStr(f, 2)) : null;
  if (n === null || n <= 0 || n > f.argc - 3) return [3, 2, 1];
  return [3, 2 + n, 1];
}


function evalGeneric(bySha: boolean, readOnly: boolean): Handler {
  return (ctx, c, f) => {
    const n = numKeys(f);
    let slot = -1;
    if (ctx.cluster !== undefined && n > 0) {
      const routed = ctx.cluster.route(f.args, f.starts, f.ends, 3, 2 + n, 1);
      if (typeof routed === 'string') throw new CommandError(routed);
      slot = routed;
    }
    return withScripting(ctx, c, (s) => {
      let sha: string;
      if (bySha) {
        sha = argStr(f, 1).toLowerCase();
        if (!s.exists(sha)) throw new CommandError(ERR_NOSCRIPT);
      } else {
        sha = s.load(Buffer.from(f.args.subarray(f.starts[1], f.ends[1])));
      }
      // Clients blocked on keys the script writes are served after it, as in Redis.
      return withWakeupsHeld(ctx, () => s.run(ctx, c, sha, f, 3, n, readOnly, slot));
    });
  };
}

const script: Handler = (ctx, c, f) => {
  const sub = argUpper(f, 1);
  switch (sub) {
    case 'LOAD': {
      if (f.argc !== 3) throw new CommandError(wrongArgs('script|load'));
      return withScripting(ctx, c, (s) => ctx.out.bulk(s.load(Buffer.from(f.args.subarray(f.starts[2], f.ends[2])))));
    }
    case 'EXISTS': {
      if (f.argc < 3) throw new CommandError(wrongArgs('script|exists'));
      return withScripting(ctx, c, (s) => {
        ctx.out.arrayHeader(f.argc - 2);
        for (let i = 2; i < f.argc; i++) ctx.out.int(s.exists(argStr(f, i)) ? 1 : 0);
      });
    }
    case 'FLUSH': {
      if (f.argc > 3) throw new CommandError(wrongArgs('script|flush'));
      if (f.argc === 3 && !['ASYNC', 'SYNC'].includes(argUpper(f, 2))) throw new CommandError('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
      return withScripting(ctx, c, (s) => {
        s.flush();
        ctx.out.ok();
      });
    }
    case 'KILL':
      // A script never runs while a command is read (see the module comment): the time limit stops it.
      throw new CommandError('NOTBUSY No scripts in execution right now.');
    case 'HELP':
      return ctx.out.value(['SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'EXISTS <sha1> [<sha1> ...]', 'FLUSH [ASYNC|SYNC]', 'KILL', 'LOAD <script>', 'HELP']);
    default:
      throw new CommandError(`ERR unknown subcommand '${argStr(f, 1)}'. Try SCRIPT HELP.`);
  }
};

export const SCRIPTING_SPECS: Spec[] = [
  ['eval', -3, 'noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys', [0, 0, 0], 'scripting', 'Executes a server-side Lua script.', evalGeneric(false, false), undefined, evalKeyRange],
  ['evalsha', -3, 'noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys', [0, 0, 0], 'scripting', 'Executes a server-side Lua script by SHA1 digest.', evalGeneric(true, false), undefined, evalKeyRange],
  ['eval_ro', -3, 'readonly noscript stale skip_monitor no_mandatory_keys movablekeys', [0, 0, 0], 'scripting', 'Executes a read-only server-side Lua script.', evalGeneric(false, true), undefined, evalKeyRange],
  ['evalsha_ro', -3, 'readonly noscript stale skip_monitor no_mandatory_keys movablekeys', [0, 0, 0], 'scripting', 'Executes a read-only server-side Lua script by SHA1 digest.', evalGeneric(true, true), undefined, evalKeyRange],
  ['script', -2, 'noscript', [0, 0, 0], 'scripting', 'A container for Lua scripts management commands.', script],
];

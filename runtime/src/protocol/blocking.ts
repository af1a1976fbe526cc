/**
 * Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX) and
 * blocking stream reads (XREAD, XREADGROUP with BLOCK).
 *
 * A client whose keys are all empty is parked: its command handler returns a
 * promise, so its connection reads nothing more from it (as in Redis, a
 * blocked client's pipelined commands wait) while every other connection goes
 * on. Nothing polls: a waiter is woken by `signalKey`, which the commands
 * that add elements call once their write is applied, or by its timer. Waiters
 * of a key are served first come, first served, each from the key that became
 * ready, with its reply encoded on its own writer and delivered at once. A
 * waiter whose client disconnects is dropped (`cancelClient`).
 *
 * As in Redis, blocked clients are served after a whole command: keys
 * signalled while a transaction (EXEC) or a script runs are served once it
 * ends (`withWakeupsHeld`), so a waiter sees what the transaction left
 * (`MULTI; LPUSH l a; DEL l; EXEC` wakes nobody); a stream dropped by a
 * command (DEL, an overwrite) is looked at right after that command
 * (`serveReadyKeys`, called by the connection), before the next pipelined one.
 */
import { ClientState, CommandError, errorReply, ServerContext } from './commands';
import { ReplyWriter } from './resp';
import { WrongTypeError } from '../keyspace/types';

/** What serving a waiter did: nothing (the key is empty again), or the write to wait for and the reply to send after it. */
export type Attempt = false | { readonly wait: Promise<unknown> | undefined; readonly reply: (out: ReplyWriter) => void };

/**
 * A waiter's attempt: an Attempt, or 'pass' when nothing came for this
 * waiter but the ones after it may be served (stream readers: each waits for
 * its own entries, a pop empties the key for all).
 */
export type WaiterAttempt = (ctx: ServerContext, key: string) => Attempt | 'pass';

interface Waiter {
  readonly c: ClientState;
  readonly keys: readonly string[];
  readonly attempt: WaiterAttempt;
  timer: NodeJS.Timeout | undefined;
  resolve: () => void;
}

class Registry {
  readonly byKey = new Map<string, Waiter[]>();
  readonly byClient = new Map<ClientState, Waiter>();
  /** Keys signalled and not served yet, in the order they were signalled (each once). */
  readonly ready: string[] = [];
  serving = false;
  /** Transactions and scripts running (nested: a script inside EXEC): while > 0, signalled keys wait in `ready`. */
  held = 0;
  /** A microtask to serve `ready` is queued. */
  scheduled = false;
}

/** Some registry may have keys waiting in `ready` (a cheap check for the connection after each command). */
let readyPending = false;

const registries = new WeakMap<object, Registry>();

function registry(ctx: ServerContext): Registry {
  let r = registries.get(ctx.ks);
  if (r === undefined) {
    r = new Registry();
    registries.set(ctx.ks, r);
    ctx.ks.onStreamDropped = (key) => signalKeyLater(ctx, key);
  }
  return r;
}

/** Clients blocked now (INFO blocked_clients). */
export function blockedClients(ctx: ServerContext): number {
  return registries.get(ctx.ks)?.byClient.size ?? 0;
}

/** The timeout argument of a blocking command, in ms (0: forever); Redis's errors. */
export function parseTimeout(s: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new CommandError('ERR timeout is not a float or out of range');
  const n = Number(s);
  if (!Number.isFinite(n)) throw new CommandError('ERR timeout is not a float or out of range');
  if (n < 0) throw new CommandError('ERR timeout is negative');
  // Redis converts the milliseconds to a long long: from 2^63 that is negative on x86-64; below it,
  // a deadline past LLONG_MAX wraps negative, which Redis never reaches: the client blocks for good.
  const exact = /^\+?\d+$/.test(s) ? BigInt(s.replace('+', '')) * 1000n : BigInt(Math.ceil(Math.min(n * 1000, 2 ** 64)));
  if (exact >= 2n ** 63n) throw new CommandError('ERR timeout is negative');
  if (exact > 2n ** 63n - 1n - BigInt(Date.now())) return 0;
  return Math.ceil(n * 1000);
}

/** The longest delay a Node timer takes. */
const TIMER_MAX_MS = 2 ** 31 - 1;

function finish(r: Registry, w: Waiter): void {
  if (r.byClient.get(w.c) !== w) return;
  r.byClient.delete(w.c);
  if (w.timer !== undefined) clearTimeout(w.timer);
  for (const k of w.keys) {
    const list = r.byKey.get(k);
    if (list === undefined) continue;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) r.byKey.delete(k);
  }
}

/**
 * Parks `c` on `keys` until `attempt` serves it after a push, or `timeoutMs`
 * (0: never) passes and `onTimeout` writes the timeout reply.
 */
export function block(
  ctx: ServerContext, c: ClientState, keys: readonly string[], timeoutMs: number,
  attempt: WaiterAttempt, onTimeout: (out: ReplyWriter) => void,
): Promise<void> {
  const r = registry(ctx);
  return new Promise<void>((resolve) => {
    const w: Waiter = { c, keys: [...new Set(keys)], attempt, timer: undefined, resolve };
    r.byClient.set(c, w);
    for (const k of w.keys) {
      const list = r.byKey.get(k);
      if (list === undefined) r.byKey.set(k, [w]);
      else list.push(w);
    }
    if (timeoutMs > 0) {
      // A Node timer holds at most 2^31 - 1 ms (a longer one fires at once): a longer timeout re-arms.
      const deadline = Date.now() + timeoutMs;
      const arm = (ms: number) => {
        w.timer = setTimeout(() => {
          const left = deadline - Date.now();
          if (left > 0) return arm(left);
          finish(r, w);
          deliver(w.c, onTimeout);
          resolve();
        }, Math.min(ms, TIMER_MAX_MS));
      };
      arm(timeoutMs);
    }
  });
}

function deliver(c: ClientState, reply: (out: ReplyWriter) => void): void {
  const out = new ReplyWriter();
  out.resp3 = c.resp3;
  reply(out);
  c.deliver(out.take());
}

/** Drops `c`'s waiter (its connection closed). */
export function cancelClient(ctx: ServerContext, c: ClientState): void {
  const r = registries.get(ctx.ks);
  const w = r?.byClient.get(c);
  if (r === undefined || w === undefined) return;
  finish(r, w);
  w.resolve();
}

/**
 * Marks `key` ready once the current command is done, when a client waits on
 * it: for a stream whose value left memory (deleted, overwritten, expired,
 * evicted), so XREADGROUP waiters get Redis's error. Served by
 * `serveReadyKeys` after the command (connections), else by a microtask.
 */
export function signalKeyLater(ctx: ServerContext, key: string): void {
  const r = registries.get(ctx.ks);
  if (r === undefined || !r.byKey.has(key)) return;
  markReady(r, key);
  if (r.scheduled) return;
  r.scheduled = true;
  queueMicrotask(() => {
    r.scheduled = false;
    serveReady(ctx, r);
  });
}

/** Serves the keys marked ready while the last command ran; the connection calls it after each command. */
export function serveReadyKeys(ctx: ServerContext): void {
  if (!readyPending) return;
  readyPending = false;
  const r = registries.get(ctx.ks);
  if (r !== undefined) serveReady(ctx, r);
}

function markReady(r: Registry, key: string): void {
  if (!r.ready.includes(key)) r.ready.push(key);
  readyPending = true;
}

/** True when some client of `ctx`'s keyspace is blocked on a key (a push then has someone to signal). */
export function hasWaiters(ctx: ServerContext): boolean {
  const r = registries.get(ctx.ks);
  return r !== undefined && r.byKey.size > 0;
}

/** `key` may have elements now: serve its waiters (after the transaction or script that runs, if any). Call after the write is applied in memory. */
export function signalKey(ctx: ServerContext, key: string): void {
  const r = registries.get(ctx.ks);
  if (r === undefined || !r.byKey.has(key)) return;
  markReady(r, key);
  serveReady(ctx, r);
}

function serveReady(ctx: ServerContext, r: Registry): void {
  if (r.serving || r.held > 0) return; // served by the loop below, after the current waiter; or when the hold ends
  r.serving = true;
  try {
    while (r.ready.length > 0) serveKey(ctx, r, r.ready.shift()!);
  } finally {
    r.serving = false;
  }
}

/**
 * Runs `fn` (the commands of an EXEC, a script) with blocked clients served
 * only after it, as Redis serves them after the whole command: they see the
 * keys as `fn` left them.
 */
export function withWakeupsHeld<T>(ctx: ServerContext, fn: () => T): T {
  const r = registries.get(ctx.ks);
  if (r === undefined) return fn(); // nobody has blocked yet, and nobody can block while fn runs
  r.held++;
  try {
    return fn();
  } finally {
    r.held--;
    if (r.held === 0) serveReady(ctx, r);
  }
}

function serveKey(ctx: ServerContext, r: Registry, key: string): void {
  const list = r.byKey.get(key);
  let i = 0; // waiters before it passed
  while (list !== undefined && list.length > i) {
    const lock = ctx.ks.locks.get(key);
    if (lock !== undefined) {
      // A write to the key waits on persistence: serve once it is applied.
      void lock.then(() => signalKey(ctx, key));
      return;
    }
    const w = list[i];
    let a: Attempt | 'pass';
    try {
      a = w.attempt(ctx, key);
    } catch (e) {
      if (e instanceof WrongTypeError) return; // the key holds another type now: stay blocked, as Redis does
      finish(r, w);
      const text = errorReply(e) ?? `ERR internal error: ${(e as Error)?.message ?? String(e)}`;
      deliver(w.c, (out) => out.error(text));
      w.resolve();
      continue;
    }
    if (a === false) return;
    if (a === 'pass') {
      i++;
      continue;
    }
    finish(r, w);
    const served = a;
    if (served.wait === undefined) {
      deliver(w.c, served.reply);
      w.resolve();
    } else {
      served.wait.then(() => deliver(w.c, served.reply), (e) => {
        const text = errorReply(e) ?? `ERR internal error: ${(e as Error)?.message ?? String(e)}`;
        deliver(w.c, (out) => out.error(text));
      }).finally(() => w.resolve());
    }
  }
}

/** MULTI, WATCH and friends; EXEC itself runs in the connection, which owns the queued frames (connection.ts). */
import { argStr, ClientState, CommandError, Handler, Spec } from './commands';
// ---- transactions -------------------------------------------------------------

const watch: Handler = (ctx, c, f) => {
  if (c.multi !== null) throw new CommandError('ERR WATCH inside MULTI is not allowed');
  if (c.watched === null) c.watched = new Map();
  for (let i = 1; i < f.argc; i++) {
    const k = argStr(f, i);
    if (!c.watched.has(k)) c.watched.set(k, ctx.ks.watch(k));
  }
  ctx.out.ok();
};

/** Forgets the client's WATCHed keys (UNWATCH, DISCARD, RESET; EXEC and disconnects in the connection). */
export function dropWatches(ctx: { readonly ks: { unwatch(keys: Iterable<string>): void } }, c: ClientState): void {
  if (c.watched !== null) ctx.ks.unwatch(c.watched.keys());
  c.watched = null;
}

const unwatch: Handler = (ctx, c) => {
  dropWatches(ctx, c);
  ctx.out.ok();
};

const multi: Handler = (ctx, c) => {
  if (c.multi !== null) throw new CommandError('ERR MULTI calls can not be nested');
  c.multi = [];
  c.multiFailed = false;
  ctx.out.ok();
};

const discard: Handler = (ctx, c) => {
  if (c.multi === null) throw new CommandError('ERR DISCARD without MULTI');
  c.multi = null;
  dropWatches(ctx, c);
  ctx.out.ok();
};

// EXEC is run by the dispatcher (it needs to run other commands).

/** EXEC is dispatched by the connection before the table (see connection.ts); its entry is for COMMAND and arity. */
const NOOP: Handler = () => undefined;

export const TRANSACTION_SPECS: Spec[] = [
  ['watch', -2, 'noscript loading stale fast allow_busy', [1, -1, 1], 'transactions', 'Monitors changes to keys to determine the execution of a transaction.', watch],
  ['unwatch', 1, 'noscript loading stale fast allow_busy', [0, 0, 0], 'transactions', 'Forgets about watched keys of a transaction.', unwatch],
  ['multi', 1, 'noscript loading stale fast allow_busy', [0, 0, 0], 'transactions', 'Starts a transaction.', multi],
  ['exec', 1, 'noscript loading stale skip_slowlog', [0, 0, 0], 'transactions', 'Executes all commands in a transaction.', NOOP],
  ['discard', 1, 'noscript loading stale fast allow_busy', [0, 0, 0], 'transactions', 'Discards a transaction.', discard],
];

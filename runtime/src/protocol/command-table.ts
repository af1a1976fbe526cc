/**
 * The command table: every family's specs in one list, with flags parsed once
 * into a bitmask, and the dispatch lookup by name bytes. COMMAND (which
 * describes the table) lives here too.
 */
import { argStr, argUpper, Command, CommandError, flagBits, Frame, Handler, ServerContext, Spec } from './commands';
import { CONNECTION_SPECS } from './connection-commands';
import { HASH_SPECS } from './hashes';
import { KEY_SPECS } from './keys';
import { LIST_SPECS } from './lists';
import { PUBSUB_SPECS } from './pubsub';
import { SCRIPTING_SPECS } from './scripting';
import { SERVER_SPECS } from './server-commands';
import { SET_SPECS } from './sets';
import { STREAM_SPECS } from './streams';
import { STRING_SPECS } from './strings';
import { TRANSACTION_SPECS } from './transactions';
import { ZSET_SPECS } from './zsets';
import { clusterCommand, clusterOk } from '../cluster/commands';
function commandInfo(ctx: ServerContext, cmd: Command): void {
  const o = ctx.out;
  o.arrayHeader(10);
  o.bulk(cmd.name);
  o.int(cmd.arity);
  o.setHeader(cmd.flags.length);
  for (const fl of cmd.flags) o.simple(fl);
  o.int(cmd.firstKey);
  o.int(cmd.lastKey);
  o.int(cmd.step);
  o.setHeader(0);
  o.setHeader(0);
  o.arrayHeader(0);
  o.arrayHeader(0);
}

const command: Handler = (ctx, _c, f) => {
  if (f.argc === 1) {
    ctx.out.arrayHeader(COMMANDS.length);
    for (const cmd of COMMANDS) commandInfo(ctx, cmd);
    return undefined;
  }
  const sub = argUpper(f, 1);
  if (sub === 'COUNT') return ctx.out.int(COMMANDS.length);
  if (sub === 'INFO' || sub === 'DOCS') {
    const names: string[] = [];
    for (let i = 2; i < f.argc; i++) names.push(argStr(f, i).toLowerCase());
    const list = names.length === 0 ? COMMANDS : names.map((n) => BY_NAME.get(n));
    if (sub === 'INFO') {
      ctx.out.arrayHeader(list.length);
      for (const cmd of list) {
        if (cmd === undefined) ctx.out.nilArray();
        else commandInfo(ctx, cmd);
      }
      return undefined;
    }
    const known = list.filter((x): x is Command => x !== undefined);
    ctx.out.mapHeader(known.length);
    for (const cmd of known) {
      ctx.out.bulk(cmd.name);
      ctx.out.mapHeader(3);
      ctx.out.bulk('summary'); ctx.out.bulk(cmd.summary);
      ctx.out.bulk('since'); ctx.out.bulk('1.0.0');
      ctx.out.bulk('group'); ctx.out.bulk(cmd.group);
    }
    return undefined;
  }
  if (sub === 'LIST') {
    ctx.out.arrayHeader(COMMANDS.length);
    for (const cmd of COMMANDS) ctx.out.bulk(cmd.name);
    return undefined;
  }
  throw new CommandError(`ERR unknown subcommand '${argStr(f, 1)}'. Try COMMAND HELP.`);
};

const SPECS: Spec[] = [
  ...STRING_SPECS,
  ...KEY_SPECS,
  ...TRANSACTION_SPECS,
  ...CONNECTION_SPECS,
  ['command', -1, 'loading stale', [0, 0, 0], 'server', 'Returns detailed information about all commands.', command],
  ['cluster', -2, 'loading stale', [0, 0, 0], 'cluster', 'A container for Redis Cluster commands.', clusterCommand],
  ['readonly', 1, 'loading stale fast', [0, 0, 0], 'cluster', 'Enables read-only queries for a connection to a Redis Cluster replica node.', clusterOk],
  ['readwrite', 1, 'loading stale fast', [0, 0, 0], 'cluster', 'Enables read-write queries for a connection to a Redis Cluster replica node.', clusterOk],
  ['asking', 1, 'fast', [0, 0, 0], 'cluster', 'Signals that a cluster client is following an -ASK redirect.', clusterOk],
  ...SERVER_SPECS,
  ...SCRIPTING_SPECS,
  ...PUBSUB_SPECS,
  ...HASH_SPECS,
  ...LIST_SPECS,
  ...SET_SPECS,
  ...ZSET_SPECS,
  ...STREAM_SPECS,
];

function words(flags: string): string[] {
  return flags === '' ? [] : flags.split(' ');
}

export const COMMANDS: readonly Command[] = SPECS.map((
  [name, arity, flags, [firstKey, lastKey, step], group, summary, handler, blind, keyRange], index,
) => ({
  // A container (XGROUP, XINFO) has no flags of its own in Redis: '' is no words.
  name, index, arity, flags: words(flags), bits: flagBits(words(flags), name), firstKey, lastKey, step, group, summary, handler, blind, keyRange,
}));

export const BY_NAME = new Map(COMMANDS.map((c) => [c.name, c]));

/**
 * Case-insensitive hash of a command name straight from its bytes, so
 * dispatch needs no string per command; a hit is confirmed byte by byte.
 */
function nameHash(buf: Buffer | string, start: number, end: number): number {
  let h = end - start;
  for (let i = start; i < end; i++) {
    const b = typeof buf === 'string' ? buf.charCodeAt(i) : buf[i];
    h = (Math.imul(h, 31) + (b >= 65 && b <= 90 ? b | 0x20 : b)) | 0;
  }
  return h;
}

const BY_HASH = new Map<number, Command[]>();
for (const cmd of COMMANDS) {
  const h = nameHash(cmd.name, 0, cmd.name.length);
  const list = BY_HASH.get(h) ?? [];
  list.push(cmd);
  BY_HASH.set(h, list);
}

/** The command named by argument 0, or undefined. */
export function lookupCommand(f: Frame): Command | undefined {
  const s = f.starts[0];
  const e = f.ends[0];
  const list = BY_HASH.get(nameHash(f.args, s, e));
  if (list === undefined) return undefined;
  outer: for (const cmd of list) {
    if (cmd.name.length !== e - s) continue;
    for (let i = 0; i < cmd.name.length; i++) {
      const b = f.args[s + i];
      if ((b >= 65 && b <= 90 ? b | 0x20 : b) !== cmd.name.charCodeAt(i)) continue outer;
    }
    return cmd;
  }
  return undefined;
}

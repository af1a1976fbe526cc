/**
 * Pub/Sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBE forms,
 * PUBLISH, SPUBLISH and PUBSUB. Messages are not persisted and not kept:
 * a message reaches the clients subscribed at the moment it is published.
 *
 * - RESP2: a subscribed connection is in subscriber mode (only the
 *   subscribe commands, PING, QUIT and RESET), messages are arrays.
 *   RESP3: messages are push frames and every command stays allowed.
 * - A message is encoded once per protocol and queued for each subscriber;
 *   a subscriber's messages of one event-loop turn go out in one socket
 *   write (Connection.deliverSoon), as Redis writes a client's output
 *   buffer once per event-loop iteration; a subscriber whose unsent output passes limits.outputMaxBytes is
 *   disconnected (Connection.deliver), as Redis does past its pubsub output
 *   buffer limit, so a slow subscriber cannot grow the server's memory.
 * - Cluster mode: PUBLISH reaches the subscribers of the pod it is sent to
 *   only (pods do not forward messages). SPUBLISH / SSUBSCRIBE route the
 *   channel by its hash slot like a key, so publisher and subscribers meet
 *   on the pod that owns the channel's slot.
 */
import {
  argStr, argUpper, ClientState, CommandError, Frame, Handler, ServerContext, Spec, wrongArgs,
} from './commands';
import { ReplyWriter } from './resp';
import { globToRegExp } from '../keyspace/glob';
import type { Keyspace } from '../keyspace/keyspace';

type Kind = 'channel' | 'pattern' | 'shard';

interface ClientSubs {
  readonly channel: Set<string>;
  readonly pattern: Set<string>;
  readonly shard: Set<string>;
}

class Registry {
  readonly channel = new Map<string, Set<ClientState>>();
  readonly pattern = new Map<string, { re: RegExp; clients: Set<ClientState> }>();
  readonly shard = new Map<string, Set<ClientState>>();
}

const REGISTRIES = new WeakMap<Keyspace, Registry>();
const SUBS = new WeakMap<ClientState, ClientSubs>();
const encoder = new ReplyWriter();

function registry(ctx: ServerContext): Registry {
  let r = REGISTRIES.get(ctx.ks);
  if (r === undefined) {
    r = new Registry();
    REGISTRIES.set(ctx.ks, r);
  }
  return r;
}

function subsOf(c: ClientState): ClientSubs {
  let s = SUBS.get(c);
  if (s === undefined) {
    s = { channel: new Set(), pattern: new Set(), shard: new Set() };
    SUBS.set(c, s);
  }
  return s;
}

/** How many channels and patterns `c` is subscribed to (0: not in subscriber mode). */
export function subscriptions(c: ClientState): number {
  const s = SUBS.get(c);
  return s === undefined ? 0 : s.channel.size + s.pattern.size + s.shard.size;
}

/** CLIENT LIST / CLIENT INFO's `sub=`, `psub=`, `ssub=` fields of `c`. */
export function subscriptionFields(c: ClientState): string {
  const s = SUBS.get(c);
  return `sub=${s?.channel.size ?? 0} psub=${s?.pattern.size ?? 0} ssub=${s?.shard.size ?? 0}`;
}

/** Commands a RESP2 connection in subscriber mode may run. */
export const SUBSCRIBER_COMMANDS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'ping', 'quit', 'reset']);

/** Forgets every subscription of `c` (connection closed, RESET). */
export function dropSubscriptions(ctx: ServerContext, c: ClientState): void {
  const s = SUBS.get(c);
  if (s === undefined) return;
  const r = registry(ctx);
  for (const ch of s.channel) removeFrom(r.channel, ch, c);
  for (const ch of s.shard) removeFrom(r.shard, ch, c);
  for (const p of s.pattern) {
    const e = r.pattern.get(p);
    e?.clients.delete(c);
    if (e !== undefined && e.clients.size === 0) r.pattern.delete(p);
  }
  SUBS.delete(c);
}

function removeFrom(m: Map<string, Set<ClientState>>, name: string, c: ClientState): void {
  const set = m.get(name);
  if (set === undefined) return;
  set.delete(c);
  if (set.size === 0) m.delete(name);
}

/** Writes a push message header: RESP3 push, RESP2 array. */
function pushHeader(out: ReplyWriter, resp3: boolean, n: number): void {
  out.ascii((resp3 ? '>' : '*') + n + '\r\n');
}

function confirm(ctx: ServerContext, c: ClientState, what: string, name: string | null, count: number): void {
  pushHeader(ctx.out, c.resp3, 3);
  ctx.out.bulk(what);
  if (name === null) ctx.out.nil();
  else ctx.out.bulk(name);
  ctx.out.int(count);
}

function subscribeGeneric(kind: Kind): Handler {
  const what = kind === 'channel' ? 'subscribe' : kind === 'pattern' ? 'psubscribe' : 'ssubscribe';
  return (ctx, c, f) => {
    if (c.multi !== null) throw new CommandError('ERR Command not allowed inside a transaction');
    const r = registry(ctx);
    const s = subsOf(c);
    for (let i = 1; i < f.argc; i++) {
      const name = argStr(f, i);
      if (!s[kind].has(name)) {
        s[kind].add(name);
        if (kind === 'pattern') {
          let e = r.pattern.get(name);
          if (e === undefined) {
            e = { re: globToRegExp(name), clients: new Set() };
            r.pattern.set(name, e);
          }
          e.clients.add(c);
        } else {
          const m = kind === 'channel' ? r.channel : r.shard;
          let set = m.get(name);
          if (set === undefined) {
            set = new Set();
            m.set(name, set);
          }
          set.add(c);
        }
      }
      confirm(ctx, c, what, name, kind === 'shard' ? s.shard.size : s.channel.size + s.pattern.size);
    }
  };
}

function unsubscribeGeneric(kind: Kind): Handler {
  const what = kind === 'channel' ? 'unsubscribe' : kind === 'pattern' ? 'punsubscribe' : 'sunsubscribe';
  return (ctx, c, f) => {
    const r = registry(ctx);
    const s = subsOf(c);
    const names: string[] = [];
    for (let i = 1; i < f.argc; i++) names.push(argStr(f, i));
    if (names.length === 0) for (const name of s[kind]) names.push(name); // a loop: a spread of 150k+ would overflow the stack
    if (names.length === 0) {
      confirm(ctx, c, what, null, kind === 'shard' ? s.shard.size : s.channel.size + s.pattern.size);
      return;
    }
    for (const name of names) {
      if (s[kind].delete(name)) {
        if (kind === 'pattern') {
          const e = r.pattern.get(name);
          e?.clients.delete(c);
          if (e !== undefined && e.clients.size === 0) r.pattern.delete(name);
        } else {
          removeFrom(kind === 'channel' ? r.channel : r.shard, name, c);
        }
      }
      confirm(ctx, c, what, name, kind === 'shard' ? s.shard.size : s.channel.size + s.pattern.size);
    }
    if (subscriptions(c) === 0) SUBS.delete(c);
  };
}

/** Sends a message to a subscriber: with its other pushes of this event-loop turn when the client can batch them. */
function push(c: ClientState, b: Buffer): void {
  if (c.deliverSoon !== undefined) c.deliverSoon(b);
  else c.deliver([b]);
}

/** Sends `message` on `channel` to its subscribers; returns how many got it. */
export function publish(ctx: ServerContext, channel: Buffer, message: Buffer, shard: boolean): number {
  const r = registry(ctx);
  const ch = channel.toString('latin1');
  let n = 0;
  const encoded: Array<Buffer | undefined> = [undefined, undefined];
  const direct = shard ? r.shard.get(ch) : r.channel.get(ch);
  if (direct !== undefined) {
    for (const c of direct) {
      const proto = c.resp3 ? 1 : 0;
      let b = encoded[proto];
      if (b === undefined) {
        pushHeader(encoder, c.resp3, 3);
        encoder.resp3 = c.resp3;
        encoder.bulk(shard ? 'smessage' : 'message');
        encoder.bulk(channel);
        encoder.bulk(message);
        b = Buffer.concat(encoder.take());
        encoded[proto] = b;
      }
      push(c, b);
      n++;
    }
  }
  if (!shard) {
    for (const [pattern, e] of r.pattern) {
      if (!e.re.test(ch)) continue;
      let both: Array<Buffer | undefined> = [undefined, undefined];
      for (const c of e.clients) {
        const proto = c.resp3 ? 1 : 0;
        let b = both[proto];
        if (b === undefined) {
          pushHeader(encoder, c.resp3, 4);
          encoder.bulk('pmessage');
          encoder.bulk(pattern);
          encoder.bulk(channel);
          encoder.bulk(message);
          b = Buffer.concat(encoder.take());
          both[proto] = b;
        }
        push(c, b);
        n++;
      }
      both = [undefined, undefined];
    }
  }
  return n;
}

function publishGeneric(shard: boolean): Handler {
  return (ctx, _c, f) => {
    ctx.out.int(publish(ctx, f.args.subarray(f.starts[1], f.ends[1]), Buffer.from(f.args.subarray(f.starts[2], f.ends[2])), shard));
  };
}

const pubsub: Handler = (ctx, _c, f: Frame) => {
  const r = registry(ctx);
  const sub = argUpper(f, 1);
  switch (sub) {
    case 'CHANNELS':
    case 'SHARDCHANNELS': {
      if (f.argc > 3) throw new CommandError(wrongArgs(`pubsub|${sub.toLowerCase()}`));
      const re = f.argc === 3 ? globToRegExp(argStr(f, 2)) : undefined;
      const names = [...(sub === 'CHANNELS' ? r.channel : r.shard).keys()].filter((n) => re === undefined || re.test(n));
      ctx.out.arrayHeader(names.length);
      for (const n of names) ctx.out.bulk(n);
      return;
    }
    case 'NUMSUB':
    case 'SHARDNUMSUB': {
      const m = sub === 'NUMSUB' ? r.channel : r.shard;
      ctx.out.mapHeader(f.argc - 2);
      for (let i = 2; i < f.argc; i++) {
        const n = argStr(f, i);
        ctx.out.bulk(n);
        ctx.out.int(m.get(n)?.size ?? 0);
      }
      return;
    }
    case 'NUMPAT':
      if (f.argc !== 2) throw new CommandError(wrongArgs('pubsub|numpat'));
      ctx.out.int(r.pattern.size);
      return;
    case 'HELP':
      ctx.out.value(['PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'CHANNELS [<pattern>]', 'NUMPAT', 'NUMSUB [<channel> ...]', 'SHARDCHANNELS [<pattern>]', 'SHARDNUMSUB [<shardchannel> ...]', 'HELP']);
      return;
    default:
      throw new CommandError(`ERR unknown subcommand '${argStr(f, 1)}'. Try PUBSUB HELP.`);
  }
};

export const PUBSUB_SPECS: Spec[] = [
  ['subscribe', -2, 'pubsub noscript loading stale', [0, 0, 0], 'pubsub', 'Listens for messages published to channels.', subscribeGeneric('channel')],
  ['psubscribe', -2, 'pubsub noscript loading stale', [0, 0, 0], 'pubsub', 'Listens for messages published to channels that match one or more patterns.', subscribeGeneric('pattern')],
  ['ssubscribe', -2, 'pubsub noscript loading stale', [1, -1, 1], 'pubsub', 'Listens for messages published to shard channels.', subscribeGeneric('shard')],
  ['unsubscribe', -1, 'pubsub noscript loading stale', [0, 0, 0], 'pubsub', 'Stops listening to messages posted to channels.', unsubscribeGeneric('channel')],
  ['punsubscribe', -1, 'pubsub noscript loading stale', [0, 0, 0], 'pubsub', 'Stops listening to messages published to channels that match one or more patterns.', unsubscribeGeneric('pattern')],
  ['sunsubscribe', -1, 'pubsub noscript loading stale', [1, -1, 1], 'pubsub', 'Stops listening to messages posted to shard channels.', unsubscribeGeneric('shard')],
  ['publish', 3, 'pubsub loading stale fast may_replicate', [0, 0, 0], 'pubsub', 'Posts a message to a channel.', publishGeneric(false)],
  ['spublish', 3, 'pubsub loading stale fast may_replicate', [1, 1, 1], 'pubsub', 'Post a message to a shard channel', publishGeneric(true)],
  ['pubsub', -2, 'pubsub loading stale', [0, 0, 0], 'pubsub', 'A container for Pub/Sub commands.', pubsub],
];

/**
 * Server-assisted client-side caching, as Redis 7.0 has it: CLIENT TRACKING
 * (default mode and BCAST with prefixes, REDIRECT, OPTIN / OPTOUT, NOLOOP),
 * CLIENT CACHING, CLIENT GETREDIR and CLIENT TRACKINGINFO.
 *
 * - Default mode remembers which keys each tracking client read (read-only
 *   commands) and names a key to those clients once, when it next changes.
 *   The table is bounded (TABLE_MAX_KEYS, as Redis's tracking-table-max-keys):
 *   past it the oldest keys are named at once and forgotten.
 * - BCAST names every changed key under a client's prefixes, whatever it read.
 * - A change is any write, delete, expiry, eviction, or a copy dropped because
 *   another instance stored a newer version (coherence): the keyspace reports
 *   them through its KeyChangeListener, installed only while some client
 *   tracks, so the hot path costs one check otherwise.
 * - Messages go out after the replies of the read event that caused them (as
 *   Redis 7 sends them after the command's reply): RESP3 push
 *   `invalidate [keys]` on the same connection, or on a RESP2 REDIRECT target
 *   subscribed to `__redis__:invalidate` the Pub/Sub message form. A flush
 *   (FLUSHALL / FLUSHDB) is one message with a null instead of keys.
 *
 * Keys of databases 1-15 are named as their clients know them (without the
 * database prefix), as Redis's table is one for all databases.
 */
import {
  argStr, argUpper, ClientState, Command, CommandError, CommandFlags, Frame, keyBounds, ServerContext, wrongArgs,
} from './commands';
import { subscriptions } from './pubsub';
import { ReplyWriter } from './resp';
import type { KeyChangeListener, Keyspace } from '../keyspace/keyspace';

/** Redis's default tracking-table-max-keys. */
export const TABLE_MAX_KEYS = 1_000_000;
const CHANNEL = '__redis__:invalidate';
const DB_KEY = /^\xffdb\d+\xff/;

const encoder = new ReplyWriter();

class Tracker implements KeyChangeListener {
  /**
   * Default mode: key (as stored) → the id of the one client that read it,
   * or the ids of several (most keys have one reader: a number is a quarter
   * of a Set's heap).
   */
  readonly table = new Map<string, number | Set<number>>();
  /** BCAST: prefix → its clients. */
  readonly bcast = new Map<string, Set<ClientState>>();
  /** How many clients track; at 0 the keyspace stops reporting changes. */
  clients = 0;
  /** The client whose command runs now (NOLOOP). */
  current: ClientState | undefined;
  /** Messages to send after this read event: per client, its default-mode keys and its BCAST keys per prefix. */
  private readonly pending = new Map<ClientState, { keys: string[]; byPrefix: Map<string, string[]>; flushed: boolean }>();
  private scheduled = false;

  constructor(private readonly ctx: ServerContext) {}

  changed(stored: string): void {
    const ids = this.table.get(stored);
    if (ids === undefined && this.bcast.size === 0) return;
    const key = stored.charCodeAt(0) === 0xff ? stored.replace(DB_KEY, '') : stored;
    if (ids !== undefined) {
      this.table.delete(stored);
      if (typeof ids === 'number') this.nameTo(ids, key);
      else for (const id of ids) this.nameTo(id, key);
    }
    for (const [prefix, clients] of this.bcast) {
      if (!key.startsWith(prefix)) continue;
      for (const c of clients) {
        if (c.tracking?.noloop && c === this.current) continue;
        const byPrefix = this.queue(c).byPrefix;
        const keys = byPrefix.get(prefix);
        if (keys === undefined) byPrefix.set(prefix, [key]);
        else keys.push(key);
      }
    }
  }

  /** Queues `key` for the default-mode client `id`, unless it is gone, in BCAST mode, or NOLOOP and the writer. */
  private nameTo(id: number, key: string): void {
    const c = this.ctx.clients.get(id);
    if (c === undefined || c.tracking === null || c.tracking.bcast || (c.tracking.noloop && c === this.current)) return;
    this.queue(c).keys.push(key);
  }

  flushed(): void {
    this.table.clear();
    for (const c of this.ctx.clients.values()) if (c.tracking !== null) this.queue(c).flushed = true;
  }

  /** Remembers that `c` read the keys of `cmd` (default mode). */
  remember(c: ClientState, cmd: Command, f: Frame): void {
    const [first, last, step, extra] = keyBounds(cmd, f);
    const add = (i: number) => {
      const key = f.args.latin1Slice(f.starts[i], f.ends[i]);
      const ids = this.table.get(key);
      if (ids === undefined) {
        if (this.table.size >= TABLE_MAX_KEYS) this.evictOldest();
        this.table.set(key, c.id);
      } else if (typeof ids === 'number') {
        if (ids !== c.id) this.table.set(key, new Set([ids, c.id]));
      } else {
        ids.add(c.id);
      }
    };
    for (let i = first; i <= last && i < f.argc; i += step) add(i);
    if (extra !== undefined && extra < f.argc) add(extra);
  }

  /** The table is full: the oldest key is named to its readers now and forgotten (they stop caching it); BCAST clients are not told. */
  private evictOldest(): void {
    const [oldest, ids] = this.table.entries().next().value as [string, number | Set<number>];
    this.table.delete(oldest);
    const current = this.current;
    this.current = undefined;
    const key = oldest.charCodeAt(0) === 0xff ? oldest.replace(DB_KEY, '') : oldest;
    if (typeof ids === 'number') this.nameTo(ids, key);
    else for (const id of ids) this.nameTo(id, key);
    this.current = current;
  }

  private queue(c: ClientState): { keys: string[]; byPrefix: Map<string, string[]>; flushed: boolean } {
    let p = this.pending.get(c);
    if (p === undefined) {
      p = { keys: [], byPrefix: new Map(), flushed: false };
      this.pending.set(c, p);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.send());
      }
    }
    return p;
  }

  private send(): void {
    this.scheduled = false;
    const pending = [...this.pending];
    this.pending.clear();
    for (const [c, p] of pending) {
      if (c.tracking === null) continue;
      if (p.flushed) this.message(c, null);
      for (const key of p.keys) this.message(c, [key]);
      for (const keys of p.byPrefix.values()) this.message(c, keys);
    }
  }

  /** One invalidation message for `c`'s tracking (keys, or null for a flush), where its settings send it. */
  private message(c: ClientState, keys: string[] | null): void {
    let to = c;
    const t = c.tracking!;
    const redirected = t.redirect !== 0;
    if (t.redirect !== 0) {
      const target = this.ctx.clients.get(t.redirect);
      if (target === undefined) {
        // Told once, when the target is first found gone (as Redis does).
        if (t.brokenRedirect) return;
        t.brokenRedirect = true;
        if (c.resp3) {
          encoder.resp3 = true;
          encoder.ascii('>2\r\n');
          encoder.bulk('tracking-redir-broken');
          encoder.int(t.redirect);
          c.deliver(encoder.take());
        }
        return;
      }
      to = target;
    }
    encoder.resp3 = to.resp3;
    if (to.resp3) {
      encoder.ascii('>2\r\n');
      encoder.bulk('invalidate');
    } else if (redirected && subscriptions(to) > 0) {
      encoder.ascii('*3\r\n');
      encoder.bulk('message');
      encoder.bulk(CHANNEL);
    } else {
      return; // RESP2 without a redirect: nothing can carry the message (as in Redis)
    }
    if (keys === null) {
      encoder.nil();
    } else {
      encoder.arrayHeader(keys.length);
      for (const k of keys) encoder.bulk(k);
    }
    to.deliver(encoder.take());
  }
}

const TRACKERS = new WeakMap<Keyspace, Tracker>();

function trackerOf(ctx: ServerContext): Tracker {
  let t = TRACKERS.get(ctx.ks);
  if (t === undefined) {
    t = new Tracker(ctx);
    TRACKERS.set(ctx.ks, t);
  }
  return t;
}

/**
 * Before a command of a tracking client runs (the keyspace reports changes
 * only while some client tracks): notes who runs it (NOLOOP), remembers the
 * keys a read-only command reads (default mode, as OPTIN / OPTOUT allow),
 * and spends a CLIENT CACHING yes / no.
 */
export function beforeCommand(ks: Keyspace, c: ClientState, cmd: Command, f: Frame): void {
  const tracker = TRACKERS.get(ks);
  if (tracker === undefined) return;
  tracker.current = c;
  const t = c.tracking;
  if (t === null) return;
  // CLIENT CACHING covers the next command, or the whole transaction that MULTI opens (as in Redis).
  const inExec = (c as { inExec?: boolean }).inExec === true;
  if (!inExec && t.cachingInTx) {
    t.caching = undefined;
    t.cachingInTx = false;
  }
  rememberRead(ks, c, cmd, f);
  if (inExec) t.cachingInTx = t.caching !== undefined;
  else if (cmd.name !== 'client' && cmd.name !== 'multi' && c.multi === null) t.caching = undefined;
}

/** After the command ran: later changes (expiry, eviction, writes persistence applies later) are nobody's own (NOLOOP). */
export function afterCommand(ks: Keyspace): void {
  const tracker = TRACKERS.get(ks);
  if (tracker !== undefined) tracker.current = undefined;
}

/**
 * Remembers the keys a read-only command of `c` reads (default mode, as
 * OPTIN / OPTOUT allow); also for the commands a script of `c` calls.
 */
export function rememberRead(ks: Keyspace, c: ClientState, cmd: Command, f: Frame): void {
  const t = c.tracking;
  if (t === null || t.bcast || (cmd.bits & CommandFlags.READONLY) === 0) return;
  if (t.optin ? t.caching === true : t.optout ? t.caching !== false : true) TRACKERS.get(ks)?.remember(c, cmd, f);
}

/** Turns `c`'s tracking off (CLIENT TRACKING off, RESET, disconnect). */
export function trackingOff(ctx: ServerContext, c: ClientState): void {
  const t = c.tracking;
  if (t === null) return;
  c.tracking = null;
  const tracker = trackerOf(ctx);
  for (const p of t.prefixes) {
    const set = tracker.bcast.get(p);
    set?.delete(c);
    if (set !== undefined && set.size === 0) tracker.bcast.delete(p);
  }
  if (--tracker.clients === 0) {
    tracker.table.clear();
    ctx.ks.keyWatcher = undefined;
  }
}

/** CLIENT TRACKING on|off [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN] [OPTOUT] [NOLOOP]. */
export function clientTracking(ctx: ServerContext, c: ClientState, f: Frame): void {
  if (f.argc < 3) throw new CommandError(wrongArgs('client|tracking'));
  const onOff = argUpper(f, 2);
  if (onOff !== 'ON' && onOff !== 'OFF') throw new CommandError('ERR syntax error');
  let redirect = 0;
  let bcast = false;
  let optin = false;
  let optout = false;
  let noloop = false;
  const prefixes: string[] = [];
  for (let i = 3; i < f.argc; i++) {
    const opt = argUpper(f, i);
    if (opt === 'REDIRECT' && i + 1 < f.argc) {
      const text = argStr(f, ++i);
      if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new CommandError('ERR value is not an integer or out of range');
      redirect = Number(text);
    } else if (opt === 'PREFIX' && i + 1 < f.argc) {
      prefixes.push(argStr(f, ++i));
    } else if (opt === 'BCAST') {
      bcast = true;
    } else if (opt === 'OPTIN') {
      optin = true;
    } else if (opt === 'OPTOUT') {
      optout = true;
    } else if (opt === 'NOLOOP') {
      noloop = true;
    } else {
      throw new CommandError('ERR syntax error');
    }
  }
  if (onOff === 'OFF') {
    trackingOff(ctx, c);
    ctx.out.ok();
    return;
  }
  if (redirect !== 0 && !ctx.clients.has(redirect)) throw new CommandError('ERR The client ID you want redirect to does not exist');
  if (!bcast && prefixes.length > 0) throw new CommandError('ERR PREFIX option requires BCAST mode to be enabled');
  if (c.tracking !== null && c.tracking.bcast !== bcast) {
    throw new CommandError('ERR You can\'t switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.');
  }
  if (optin && optout) throw new CommandError('ERR You can\'t specify both OPTIN mode and OPTOUT mode');
  if (bcast && (optin || optout)) throw new CommandError('ERR OPTIN and OPTOUT are not compatible with BCAST');
  const existing = c.tracking?.prefixes ?? [];
  // BCAST without PREFIX tracks every key: '' is added without the overlap check (as in Redis).
  const implicit = bcast && prefixes.length === 0;
  const overlaps = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);
  for (let i = 0; i < prefixes.length; i++) {
    const taken = existing.find((e) => overlaps(e, prefixes[i]) && e !== prefixes[i]);
    if (taken !== undefined) throw new CommandError(`ERR Prefix '${prefixes[i]}' overlaps with an existing prefix '${taken}'. Prefixes for a single client must not overlap.`);
    for (let j = i + 1; j < prefixes.length; j++) {
      if (overlaps(prefixes[i], prefixes[j])) {
        throw new CommandError(`ERR Prefix '${prefixes[i]}' overlaps with another provided prefix '${prefixes[j]}'. Prefixes for a single client must not overlap.`);
      }
    }
  }
  const all = [...existing, ...prefixes, ...(implicit ? [''] : [])];
  const tracker = trackerOf(ctx);
  const was = c.tracking;
  if (was === null) tracker.clients++;
  const merged = [...new Set(all)];
  c.tracking = { bcast, optin, optout, noloop, redirect, prefixes: merged, caching: undefined, cachingInTx: false, brokenRedirect: false };
  for (const p of merged) {
    let set = tracker.bcast.get(p);
    if (!bcast) break;
    if (set === undefined) {
      set = new Set();
      tracker.bcast.set(p, set);
    }
    set.add(c);
  }
  ctx.ks.keyWatcher = tracker;
  ctx.out.ok();
}

/** CLIENT CACHING yes|no. */
export function clientCaching(ctx: ServerContext, c: ClientState, f: Frame): void {
  if (f.argc !== 3) throw new CommandError(wrongArgs('client|caching'));
  const t = c.tracking;
  if (t === null) {
    throw new CommandError('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
  }
  const v = argUpper(f, 2);
  if (v === 'YES') {
    if (!t.optin) throw new CommandError('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.');
    t.caching = true;
  } else if (v === 'NO') {
    if (!t.optout) throw new CommandError('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.');
    t.caching = false;
  } else {
    throw new CommandError('ERR syntax error');
  }
  ctx.out.ok();
}

/** CLIENT GETREDIR: -1 when not tracking, else the redirect target (0: none). */
export function clientGetRedir(ctx: ServerContext, c: ClientState): void {
  ctx.out.int(c.tracking === null ? -1 : c.tracking.redirect);
}

/** CLIENT TRACKINGINFO: flags, redirect, prefixes. */
export function clientTrackingInfo(ctx: ServerContext, c: ClientState): void {
  const t = c.tracking;
  const o = ctx.out;
  o.mapHeader(3);
  o.bulk('flags');
  if (t === null) {
    o.setHeader(1);
    o.bulk('off');
  } else {
    const flags = ['on'];
    if (t.bcast) flags.push('bcast');
    if (t.optin) flags.push('optin');
    if (t.optout) flags.push('optout');
    if (t.caching === true) flags.push('caching-yes');
    if (t.caching === false) flags.push('caching-no');
    if (t.noloop) flags.push('noloop');
    if (t.brokenRedirect) flags.push('broken_redirect');
    o.setHeader(flags.length);
    for (const fl of flags) o.bulk(fl);
  }
  o.bulk('redirect');
  o.int(t === null ? -1 : t.redirect);
  o.bulk('prefixes');
  const prefixes = t?.bcast ? [...t.prefixes].sort() : [];
  o.arrayHeader(prefixes.length);
  for (const p of prefixes) o.bulk(p);
}

/** CLIENT LIST's tracking flags ('t', 'B', 'R') and its redir= value. */
export function trackingFields(c: ClientState): { flags: string; redir: number } {
  const t = c.tracking;
  if (t === null) return { flags: '', redir: -1 };
  return { flags: 't' + (t.bcast ? 'B' : '') + (t.brokenRedirect ? 'R' : ''), redir: t.redirect };
}

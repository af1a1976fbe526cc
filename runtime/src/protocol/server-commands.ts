/**
 * Generic and string commands beyond the basics (SETNX, GETSET, RENAME,
 * COPY, TOUCH, OBJECT, MEMORY, EXPIRETIME...) and CONFIG SET: Redis 7.0
 * semantics, errors and reply shapes, and INFO and CONFIG (SERVER_SPECS, in
 * the table of command-table.ts).
 */
import { hostname } from 'node:os';
import { blockedClients } from './blocking';
import {
  argInt, argStr, argUpper, argValue, CommandError, ERR_SYNTAX, Handler, parseIntStrict, SERVER_VERSION, ServerContext,
  Spec, STATE_CACHE_VERSION, then, wrongArgs,
} from './commands';
import { objectEncoding, objectRefcount } from './encodings';
import { globToRegExp } from '../keyspace/glob';
import { EvictionPolicy, Keyspace } from '../keyspace/keyspace';
import { T_STRING } from '../keyspace/types';

const ERR_NO_SUCH_KEY = 'ERR no such key';

const setnx: Handler = (ctx, c, f) => {
  const key = argStr(f, 1);
  if (ctx.ks.find(key, false) >= 0) return ctx.out.int(0);
  return then(ctx, c, ctx.ks.set(key, argValue(f, 2), 0), () => ctx.out.int(1));
};

const getset: Handler = (ctx, c, f) => {
  const key = argStr(f, 1);
  const slot = ctx.ks.lookup(key);
  const old = slot < 0 ? null : ctx.ks.value(slot);
  return then(ctx, c, ctx.ks.set(key, argValue(f, 2), 0), () => {
    if (old === null) ctx.out.nil();
    else ctx.out.bulk(old);
  });
};

const time: Handler = (ctx) => {
  const us = process.hrtime.bigint() / 1000n - HR_EPOCH_OFFSET_US;
  ctx.out.arrayHeader(2);
  ctx.out.bulk(String(us / 1000000n));
  ctx.out.bulk(String(us % 1000000n));
};
/** hrtime is monotonic; anchored once to the wall clock so TIME has microseconds. */
const HR_EPOCH_OFFSET_US = process.hrtime.bigint() / 1000n - BigInt(Date.now()) * 1000n;

/**
 * Writes `dst` = the entry at `src` (value and TTL) and, for RENAME, deletes
 * `src`: one write group, so persistence gets both changes in one batch.
 */
function moveOrCopy(ks: Keyspace, src: string, dst: string, deleteSource: boolean): Promise<void> | undefined {
  const slot = ks.find(src, false);
  if (ks.typeAt(slot) !== T_STRING) {
    // An aggregate: a copy of its value, with its TTL, replaces the destination in one write.
    const v = ks.typedAt(slot);
    const w = ks.typedWrite(false);
    w.put(dst, v.clone(), ks.expiresAt(slot));
    if (deleteSource) w.replace(src, v.type);
    return w.commit();
  }
  const value = ks.value(slot);
  const expiresAt = ks.expiresAt(slot);
  return ks.writeGroup(() => {
    // Inside the group both apply now and return no promise.
    void ks.set(dst, value, expiresAt, false);
    if (deleteSource) void ks.delete([src]);
  });
}

function renameGeneric(nx: boolean): Handler {
  return (ctx, c, f) => {
    const src = argStr(f, 1);
    const dst = argStr(f, 2);
    const slot = ctx.ks.find(src); // a write's lookup: an access, as in Redis
    if (slot < 0) throw new CommandError(ERR_NO_SUCH_KEY);
    if (src === dst) return nx ? ctx.out.int(0) : ctx.out.ok();
    if (nx && ctx.ks.find(dst) >= 0) return ctx.out.int(0);
    // Redis moves the object: the destination keeps the source's LFU counter.
    const access = ctx.ks.accessOf(slot);
    return then(ctx, c, moveOrCopy(ctx.ks, src, dst, true), () => {
      ctx.ks.adoptAccess(dst, access);
      return nx ? ctx.out.int(1) : ctx.out.ok();
    });
  };
}

const copy: Handler = (ctx, c, f) => {
  const src = argStr(f, 1);
  const dst = argStr(f, 2);
  let replace = false;
  for (let i = 3; i < f.argc; i++) {
    const o = argUpper(f, i);
    if (o === 'REPLACE') {replace = true;} else if (o === 'DB' && i + 1 < f.argc) {
      const db = parseIntStrict(argStr(f, ++i));
      if (db === null) throw new CommandError('ERR value is not an integer or out of range');
      if (db !== c.db) throw new CommandError(db < 0 || db > 15 ? 'ERR DB index is out of range' : 'ERR COPY to another database is not supported by state-cache');
    } else {throw new CommandError(ERR_SYNTAX);}
  }
  if (src === dst) throw new CommandError('ERR source and destination objects are the same');
  // Lookups that are accesses (LRU clock, LFU counter), as Redis's; the copy starts afresh.
  if (ctx.ks.find(src) < 0) return ctx.out.int(0);
  if (!replace && ctx.ks.find(dst) >= 0) return ctx.out.int(0);
  return then(ctx, c, moveOrCopy(ctx.ks, src, dst, false), () => ctx.out.int(1));
};

const touch: Handler = (ctx, _c, f) => {
  let n = 0;
  for (let i = 1; i < f.argc; i++) if (ctx.ks.find(argStr(f, i), true) >= 0) n++;
  ctx.out.int(n);
};

function expireTimeGeneric(ms: boolean): Handler {
  return (ctx, _c, f) => {
    const slot = ctx.ks.find(argStr(f, 1), false);
    if (slot < 0) return ctx.out.int(-2);
    const at = ctx.ks.expiresAt(slot);
    if (at === 0) return ctx.out.int(-1);
    ctx.out.int(ms ? at : Math.floor((at + 500) / 1000));
  };
}

const LFU_OFF = 'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';
const LRU_OFF = 'ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';

/** Redis 7.0's OBJECT HELP, line for line. */
const OBJECT_HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
];

const object: Handler = (ctx, _c, f) => {
  const sub = argUpper(f, 1);
  if (sub === 'HELP') {
    ctx.out.arrayHeader(OBJECT_HELP.length);
    for (const line of OBJECT_HELP) ctx.out.simple(line);
    return undefined;
  }
  if (sub !== 'ENCODING' && sub !== 'FREQ' && sub !== 'IDLETIME' && sub !== 'REFCOUNT') {
    throw new CommandError(`ERR unknown subcommand '${argStr(f, 1)}'. Try OBJECT HELP.`);
  }
  if (f.argc !== 3) throw new CommandError(wrongArgs(`object|${sub.toLowerCase()}`));
  const key = argStr(f, 2);
  const slot = ctx.ks.find(key, false);
  if (slot < 0) return ctx.out.nil();
  switch (sub) {
    case 'ENCODING': return ctx.out.bulk(objectEncoding(ctx.ks, key, slot));
    case 'REFCOUNT': return ctx.out.int(objectRefcount(ctx.ks, key, slot));
    case 'FREQ':
      if (ctx.ks.policy !== 'lfu') throw new CommandError(LFU_OFF);
      return ctx.out.int(ctx.ks.frequency(slot));
    default:
      if (ctx.ks.policy === 'lfu') throw new CommandError(LRU_OFF);
      return ctx.out.int(Math.floor(ctx.ks.idleMs(slot) / 1000));
  }
};

const memory: Handler = (ctx, _c, f) => {
  const sub = argUpper(f, 1);
  if (sub === 'HELP') return ctx.out.value(['MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'USAGE <key> [SAMPLES <count>]', 'HELP']);
  if (sub !== 'USAGE') throw new CommandError(`ERR unknown subcommand '${argStr(f, 1)}'. Try MEMORY HELP.`);
  if (f.argc < 3) throw new CommandError(wrongArgs('memory|usage'));
  for (let i = 3; i < f.argc; i++) {
    if (argUpper(f, i) === 'SAMPLES' && i + 1 < f.argc) {
      if (argInt(f, ++i) < 0) throw new CommandError('ERR value is out of range, must be positive');
    } else {throw new CommandError(ERR_SYNTAX);}
  }
  const key = argStr(f, 2);
  const slot = ctx.ks.find(key, false);
  if (slot < 0) return ctx.out.nil();
  // What the entry takes from the budget: key, value, chunk rounding and its columns, an aggregate's structure.
  ctx.out.int(ctx.ks.usageOf(slot));
};

// ---- CONFIG SET -------------------------------------------------------------------

/** Settings CONFIG SET changes at run time; the rest of the config needs a restart. */
export interface RuntimeSettings {
  /** The byte budget at start: CONFIG SET maxmemory may lower it, and raise it back up to it, not beyond. */
  readonly startBudget: number;
  /** Most milliseconds a script runs before it is stopped (lua-time-limit / busy-reply-threshold). */
  scriptTimeLimitMs: number;
}

const SETTINGS = new WeakMap<Keyspace, RuntimeSettings>();

/** The runtime settings of the server behind `ks` (created with the start values on first use). */
export function runtimeSettings(ks: Keyspace): RuntimeSettings {
  let s = SETTINGS.get(ks);
  if (s === undefined) {
    s = { startBudget: ks.maxBytes, scriptTimeLimitMs: 5000 };
    SETTINGS.set(ks, s);
  }
  return s;
}

const IMMUTABLE = new Set(['maxclients', 'proto-max-bulk-len', 'databases', 'port', 'save', 'appendonly', 'protected-mode', 'cluster-enabled', 'timeout']);

/** Redis's memory units: 1k = 1000, 1kb = 1024, and so on; case-insensitive. */
export function parseMemory(s: string): number | null {
  const m = /^(\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(s);
  if (m === null) return null;
  const mult: Record<string, number> = { '': 1, 'b': 1, 'k': 1e3, 'kb': 1024, 'm': 1e6, 'mb': 1024 ** 2, 'g': 1e9, 'gb': 1024 ** 3 };
  const n = Number(m[1]) * mult[(m[2] ?? '').toLowerCase()];
  return Number.isSafeInteger(n) ? n : null;
}

function configFailed(name: string, why: string): CommandError {
  return new CommandError(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}`);
}

/** CONFIG SET name value [name value ...]: all are checked before any applies. */
export function configSet(ctx: ServerContext, f: { argc: number }, arg: (i: number) => string): void {
  if (f.argc < 4 || f.argc % 2 !== 0) throw new CommandError(wrongArgs('config|set'));
  const settings = runtimeSettings(ctx.ks);
  const apply: Array<() => void> = [];
  const seen = new Set<string>();
  for (let i = 2; i < f.argc; i += 2) {
    const name = arg(i).toLowerCase();
    const value = arg(i + 1);
    if (seen.has(name)) throw configFailed(name, 'duplicate parameter');
    seen.add(name);
    switch (name) {
      case 'maxmemory': {
        const n = parseMemory(value);
        if (n === null) throw configFailed(name, 'argument must be a memory value');
        const limit = settings.startBudget;
        if (limit !== 0 && (n === 0 || n > limit)) {
          throw configFailed(name, `state-cache's budget is bounded by the container's memory: at most ${limit} bytes (memory.maxBytes at start); raise the container's memory limit instead`);
        }
        apply.push(() => ctx.ks.reconfigure({ maxBytes: n }));
        break;
      }
      case 'maxmemory-policy': {
        const policies: Record<string, EvictionPolicy> = { 'noeviction': 'noeviction', 'allkeys-lru': 'lru', 'allkeys-lfu': 'lfu' };
        const p = policies[value.toLowerCase()];
        if (p === undefined) throw configFailed(name, `state-cache supports noeviction, allkeys-lru and allkeys-lfu, not '${value}'`);
        apply.push(() => ctx.ks.reconfigure({ eviction: p }));
        break;
      }
      case 'maxmemory-samples': {
        const n = parseIntStrict(value);
        if (n === null || n < 1 || n > 64) throw configFailed(name, 'argument must be between 1 and 64 inclusive');
        apply.push(() => ctx.ks.reconfigure({ evictionSamples: n }));
        break;
      }
      case 'lua-time-limit':
      case 'busy-reply-threshold': {
        const n = parseIntStrict(value);
        if (n === null || n < 0) throw configFailed(name, 'argument must be between 0 and 9223372036854775807 inclusive');
        apply.push(() => {
          settings.scriptTimeLimitMs = n;
        });
        break;
      }
      default:
        if (IMMUTABLE.has(name)) throw configFailed(name, 'can\'t set immutable config (state-cache: change the config file and restart)');
        throw new CommandError(`ERR Unknown option or number of arguments for CONFIG SET - '${arg(i)}'`);
    }
  }
  for (const a of apply) a();
  ctx.out.ok();
}

/** CONFIG GET values beyond the fixed ones in commands.ts. */
export function runtimeConfigValues(ctx: ServerContext): Record<string, string> {
  const s = runtimeSettings(ctx.ks);
  return {
    'maxmemory': String(ctx.ks.maxBytes),
    'maxmemory-policy': policyName(ctx.ks),
    'maxmemory-samples': String(ctx.ks.evictionSamples),
    'lua-time-limit': String(s.scriptTimeLimitMs),
    'busy-reply-threshold': String(s.scriptTimeLimitMs),
  };
}

// ---- server introspection -------------------------------------------------------

function human(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(2)}${units[u]}`;
}

export function policyName(ks: Keyspace): string {
  return ks.policy === 'noeviction' ? 'noeviction' : `allkeys-${ks.policy}`;
}

export function infoText(ctx: ServerContext, wanted: readonly string[]): string {
  const ks = ctx.ks;
  const mem = process.memoryUsage();
  const uptime = Math.floor((Date.now() - ctx.startedAt) / 1000);
  const all = wanted.length === 0 || wanted.includes('all') || wanted.includes('everything') || wanted.includes('default');
  const sectionsOut: string[] = [];
  const add = (name: string, fields: Record<string, string | number>) => {
    if (!all && !wanted.includes(name.toLowerCase())) return;
    sectionsOut.push(`# ${name}\r\n` + Object.entries(fields).map(([k, v]) => `${k}:${v}`).join('\r\n') + '\r\n');
  };
  add('Server', {
    redis_version: SERVER_VERSION,
    state_cache_version: STATE_CACHE_VERSION,
    redis_mode: ctx.cluster !== undefined ? 'cluster' : 'standalone',
    os: `${process.platform} ${process.arch}`,
    arch_bits: 64,
    process_id: process.pid,
    tcp_port: ctx.respPort,
    server_time_usec: Date.now() * 1000,
    uptime_in_seconds: uptime,
    uptime_in_days: Math.floor(uptime / 86400),
    executable: process.argv[1] ?? '',
    hostname: hostname(),
  });
  add('Clients', {
    connected_clients: ctx.clients.size,
    maxclients: ctx.maxClients,
    blocked_clients: blockedClients(ctx),
  });
  add('Memory', {
    used_memory: ks.usedBytes,
    used_memory_human: human(ks.usedBytes),
    used_memory_rss: mem.rss,
    used_memory_rss_human: human(mem.rss),
    used_memory_heap: mem.heapUsed,
    used_memory_heap_total: mem.heapTotal,
    used_memory_external: mem.external,
    used_memory_allocated: ks.allocatedBytes,
    maxmemory: ks.maxBytes,
    maxmemory_human: human(ks.maxBytes),
    maxmemory_policy: policyName(ks),
    maxentries: ks.maxEntries,
  });
  add('Persistence', {
    loading: ctx.ready() ? 0 : 1,
    async_loading: 0,
    rdb_changes_since_last_save: 0,
    rdb_bgsave_in_progress: 0,
    aof_enabled: 0,
    aof_rewrite_in_progress: 0,
  });
  add('Stats', {
    total_connections_received: ctx.stats.connectionsReceived,
    total_commands_processed: ctx.stats.commandsProcessed,
    rejected_connections: ctx.stats.connectionsRejected,
    expired_keys: ks.stats.expirations,
    evicted_keys: ks.stats.evictions,
    keyspace_hits: ks.stats.hits,
    keyspace_misses: ks.stats.misses,
    keyspace_loads: ks.stats.loads,
  });
  add('Cluster', { cluster_enabled: ctx.cluster !== undefined ? 1 : 0 });
  add('Keyspace', ks.size > 0 ? { db0: `keys=${ks.size},expires=${ks.keysWithTtl},avg_ttl=0` } : {});
  return sectionsOut.join('\r\n');
}

const info: Handler = (ctx, _c, f) => {
  const wanted: string[] = [];
  for (let i = 1; i < f.argc; i++) wanted.push(argStr(f, i).toLowerCase());
  ctx.out.verbatim(infoText(ctx, wanted));
};

function configValues(ctx: ServerContext): Record<string, string> {
  return {
    ...runtimeConfigValues(ctx),
    'maxclients': String(ctx.maxClients),
    'proto-max-bulk-len': String(ctx.maxBulkBytes),
    'databases': '1',
    'save': '',
    'appendonly': 'no',
    'port': String(ctx.respPort),
    'timeout': '0',
    'protected-mode': ctx.password === undefined ? 'yes' : 'no',
    'cluster-enabled': ctx.cluster !== undefined ? 'yes' : 'no',
  };
}

const config: Handler = (ctx, _c, f) => {
  if (f.argc < 2) throw new CommandError(wrongArgs('config'));
  const sub = argUpper(f, 1);
  if (sub === 'GET') {
    if (f.argc < 3) throw new CommandError(wrongArgs('config|get'));
    const values = configValues(ctx);
    const found = new Map<string, string>();
    for (let i = 2; i < f.argc; i++) {
      const re = globToRegExp(argStr(f, i).toLowerCase());
      for (const [k, v] of Object.entries(values)) if (re.test(k)) found.set(k, v);
    }
    ctx.out.mapHeader(found.size);
    for (const [k, v] of found) {
      ctx.out.bulk(k);
      ctx.out.bulk(v);
    }
    return undefined;
  }
  if (sub === 'RESETSTAT') {
    Object.assign(ctx.ks.stats, { hits: 0, misses: 0, evictions: 0, expirations: 0 });
    ctx.stats.commandsProcessed = 0;
    return ctx.out.ok();
  }
  if (sub === 'SET') return configSet(ctx, f, (i) => argStr(f, i));
  throw new CommandError(`ERR unknown subcommand '${argStr(f, 1)}'. Try CONFIG HELP.`);
};


export const SERVER_SPECS: Spec[] = [
  ['info', -1, 'loading stale', [0, 0, 0], 'server', 'Returns information and statistics about the server.', info],
  ['config', -2, 'admin noscript loading stale', [0, 0, 0], 'server', 'A container for server configuration commands.', config],
  ['setnx', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Set the string value of a key only when the key doesn\'t exist.', setnx],
  ['getset', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Returns the previous string value of a key after setting it to a new value.', getset],
  ['time', 1, 'loading stale fast', [0, 0, 0], 'server', 'Returns the server time.', time],
  ['rename', 3, 'write', [1, 2, 1], 'generic', 'Renames a key and overwrites the destination.', renameGeneric(false)],
  ['renamenx', 3, 'write fast', [1, 2, 1], 'generic', 'Renames a key only when the target key name doesn\'t exist.', renameGeneric(true)],
  ['copy', -3, 'write denyoom', [1, 2, 1], 'generic', 'Copies the value of a key to a new key.', copy],
  ['touch', -2, 'readonly fast', [1, -1, 1], 'generic', 'Returns the number of existing keys out of those specified after updating the time they were last accessed.', touch],
  ['object', -2, 'readonly', [2, 2, 1], 'generic', 'A container for object introspection commands.', object],
  ['memory', -2, 'readonly', [2, 2, 1], 'server', 'A container for memory diagnostics commands.', memory],
  ['expiretime', 2, 'readonly fast', [1, 1, 1], 'generic', 'Returns the expiration time of a key as a Unix timestamp.', expireTimeGeneric(false)],
  ['pexpiretime', 2, 'readonly fast', [1, 1, 1], 'generic', 'Returns the expiration time of a key as a Unix milliseconds timestamp.', expireTimeGeneric(true)],
];

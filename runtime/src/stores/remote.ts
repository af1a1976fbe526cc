import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, RedisOptions, ReplyError } from 'ioredis';
import type { RemoteStoreConfig } from './config';
import type { StoreContext } from './context';
import { ClusterTracker, RemoteTracker } from './remote-tracking';
import {
  BatchResult, CacheStore, CoherenceChannel, CoherenceListener, CoherenceOptions, StoreCharacteristics, StoreConfigError, StoredDelete, StoredEntry,
  StoreRejectedError, StoreUnavailableError,
} from './store';
import { keySlot } from '../cluster/slots';

/**
 * Value envelope of the remote store (the Redis string under the key):
 *
 *   bytes 0-3    magic 0xFF 'S' 'C' 0x01 (0xFF keeps it apart from text values)
 *   bytes 4-11   version, unsigned 64-bit big-endian
 *   bytes 12-19  expiresAt, ms since the epoch, unsigned 64-bit big-endian; 0 = never
 *   bytes 20..   the value
 *
 * The server also expires the key itself (PX), so expired entries take no memory there.
 * A string without the magic (written by something else) loads as version 0, no expiry.
 */
const MAGIC = Buffer.from([0xff, 0x53, 0x43, 0x01]);
const HEADER = 20;

export function encodeEnvelope(entry: StoredEntry): Buffer {
  const out = Buffer.allocUnsafe(HEADER + entry.value.length);
  MAGIC.copy(out, 0);
  out.writeBigUInt64BE(BigInt(entry.version), 4);
  out.writeBigUInt64BE(BigInt(entry.expiresAt), 12);
  entry.value.copy(out, HEADER);
  return out;
}

export function decodeEnvelope(key: Buffer, raw: Buffer): StoredEntry {
  if (raw.length >= HEADER && raw.subarray(0, 4).equals(MAGIC)) {
    return { key, version: Number(raw.readBigUInt64BE(4)), expiresAt: Number(raw.readBigUInt64BE(12)), value: raw.subarray(HEADER) };
  }
  return { key, version: 0, expiresAt: 0, value: raw };
}

/** The stored version of an envelope, or 0 for a foreign value; Lua numbers are doubles, exact for safe integers. */
const LUA_VERSION_OF = `
local function version_of(cur)
  if string.len(cur) < 20 or string.sub(cur, 1, 4) ~= '\\255SC\\1' then return 0 end
  local v = 0
  for i = 5, 12 do v = v * 256 + string.byte(cur, i) end
  return v
end`;

/** KEYS[1] key; ARGV[1] envelope, ARGV[2] version, ARGV[3] ms to live (0: none). 1 = written, 0 = a newer one is there. */
const WRITE_SCRIPT = `${LUA_VERSION_OF}
local cur = redis.call('GET', KEYS[1])
if cur and version_of(cur) >= tonumber(ARGV[2]) then return 0 end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1`;

/** KEYS[1] key; ARGV[1] version. Deletes only a value not newer than the delete. */
const DELETE_SCRIPT = `${LUA_VERSION_OF}
local cur = redis.call('GET', KEYS[1])
if not cur or version_of(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

/**
 * Single node: many keys in one script call (one round trip, one script run
 * for up to MANY_CHUNK keys), the hot path of write-behind. ARGV holds four
 * values per key: op ("w" or "d"), version, ms to live, envelope. Returns per
 * key 1 (applied), 0 (a newer entry is there) or "E" and the error for that key.
 * A cluster cannot take it (keys of one call must share a slot).
 */
const APPLY_MANY_SCRIPT = `${LUA_VERSION_OF}
local out = {}
for i = 1, #KEYS do
  local b = (i - 1) * 4
  local op, ver, ttl, env = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), ARGV[b + 4]
  local cur = redis.pcall('GET', KEYS[i])
  if type(cur) == 'table' and cur.err then
    out[i] = 'E' .. cur.err
  else
    local have = nil
    if cur then have = version_of(cur) end
    if op == 'w' then
      if have ~= nil and have >= ver then
        out[i] = 0
      else
        if ttl > 0 then redis.call('SET', KEYS[i], env, 'PX', ttl) else redis.call('SET', KEYS[i], env) end
        out[i] = 1
      end
    elseif have == nil or have > ver then
      out[i] = 0
    else
      redis.call('DEL', KEYS[i])
      out[i] = 1
    end
  end
end
return out`;
const MANY_CHUNK = 256;
const EMPTY = Buffer.alloc(0);

interface Op { readonly key: Buffer; readonly op: 'w' | 'd'; readonly version: number; readonly ttl: number; readonly envelope: Buffer }

/** Replies that say the server as a whole cannot serve now, not that one key is wrong. */
const SERVER_WIDE = /^(OOM|LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|MISCONF|NOAUTH|WRONGPASS|NOPERM|ERR unknown command|ERR max number of clients)/;

type Client = (Redis | Cluster) & {
  scWrite(key: Buffer, envelope: Buffer, version: string, ttl: string): Promise<number>;
  scDelete(key: Buffer, version: string): Promise<number>;
  scApplyMany(...keysThenArgs: Array<Buffer | string>): Promise<Array<number | string>>;
};

function escapeGlob(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * The remote store: another state-cache or any Redis-protocol server, single
 * node or cluster, through ioredis. With `versioning: script` every write and
 * delete is a Lua script comparing the version in the envelope, so several
 * caches may share the server (`shareable: true`).
 */
export class RemoteStore implements CacheStore {
  readonly name: string;
  readonly characteristics: StoreCharacteristics;
  private readonly client: Client;
  private readonly prefix: Buffer;
  private readonly redisOptions: RedisOptions;
  private tracker?: RemoteTracker | ClusterTracker;
  /** The last connection error; ioredis rejects commands with a generic "Connection is closed". */
  private lastConnectionError?: string;

  constructor(readonly config: RemoteStoreConfig, private readonly context: StoreContext) {
    this.name = config.name;
    if (config.wait !== undefined && config.wait.timeoutMs >= config.commandTimeoutMs) {
      throw new StoreConfigError(config.name, `wait.timeoutMs ${config.wait.timeoutMs} is not below commandTimeoutMs ${config.commandTimeoutMs}, so a WAIT that takes its time would fail as a timed-out command; lower wait.timeoutMs or raise commandTimeoutMs`);
    }
    this.prefix = Buffer.from(config.keyPrefix);
    this.characteristics = { shareable: true, supportsTtl: true, versioned: config.versioning === 'script', readOnly: false };
    const password = config.password === undefined ? undefined : context.readSecret(this.name, config.password);
    const redisOptions = {
      username: config.username,
      password,
      tls: this.tlsOptions(),
      connectTimeout: config.connectTimeoutMs,
      commandTimeout: config.commandTimeoutMs,
      // Fail fast while disconnected: the persistence layer retries whole
      // batches with backoff, an offline queue would only hide the outage.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt: number) => Math.min(100 * attempt, 2000),
      // How long close() lets a socket end gracefully before destroying it (ioredis: 2 s).
      disconnectTimeout: 500,
    };
    this.redisOptions = { ...redisOptions, host: config.nodes[0].host, port: config.nodes[0].port, db: config.database };
    const client = config.mode === 'cluster'
      ? new Cluster(config.nodes.map((n) => ({ host: n.host, port: n.port })), {
        redisOptions,
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: (attempt: number) => Math.min(100 * attempt, 2000),
      })
      : new Redis({
        ...redisOptions, host: config.nodes[0].host, port: config.nodes[0].port, db: config.database, lazyConnect: true, enableAutoPipelining: true,
      });
    client.defineCommand('scWrite', { numberOfKeys: 1, lua: WRITE_SCRIPT });
    client.defineCommand('scDelete', { numberOfKeys: 1, lua: DELETE_SCRIPT });
    if (!(client instanceof Cluster)) client.defineCommand('scApplyMany', { lua: APPLY_MANY_SCRIPT });
    // Connection errors reach the caller through the commands; without a listener they would be thrown.
    client.on('error', (err: Error) => {
      this.lastConnectionError = err.message;
      this.context.logger.debug({ store: this.name, err: err.message }, 'remote store connection error');
    });
    client.on('ready', () => { this.lastConnectionError = undefined; });
    this.client = client as Client;
  }

  private tlsOptions(): ConnectionOptions | undefined {
    const tls = this.config.tls;
    if (!tls.enabled) return undefined;
    let ca: string | undefined;
    if (tls.caFile !== undefined) {
      try {
        ca = readFileSync(tls.caFile, 'utf8');
      } catch (err) {
        throw new StoreConfigError(this.name, `cannot read tls.caFile ${tls.caFile} (${(err as NodeJS.ErrnoException).code}); mount the CA certificate there or fix the path`, { cause: err });
      }
    }
    return { ca, servername: tls.serverName };
  }

  async start(): Promise<void> {
    // Started again after a failed start, the client may be reconnecting by itself (retryStrategy): then only ping.
    if (this.client.status === 'wait' || this.client.status === 'end') {
      try {
        await this.client.connect();
      } catch (err) {
        throw this.unavailable('connect failed', err);
      }
    }
    await this.ping();
    this.context.logger.info({ store: this.name, mode: this.config.mode, nodes: this.config.nodes }, 'remote store connected');
  }

  private k(key: Buffer): Buffer {
    return this.prefix.length === 0 ? key : Buffer.concat([this.prefix, key]);
  }

  async load(key: Buffer): Promise<StoredEntry | undefined> {
    return (await this.loadMany([key]))[0];
  }

  async loadMany(keys: readonly Buffer[]): Promise<Array<StoredEntry | undefined>> {
    if (keys.length === 0) return [];
    let raws: Array<Buffer | null>;
    try {
      raws = this.client instanceof Cluster
        // MGET cannot span slots; auto-pipelining groups these per node.
        ? await Promise.all(keys.map((key) => this.client.getBuffer(this.k(key))))
        : await this.client.mgetBuffer(...keys.map((key) => this.k(key)));
    } catch (err) {
      throw this.unavailable('load failed', err);
    }
    const now = Date.now();
    return raws.map((raw, i) => {
      if (raw === null) return undefined;
      const entry = decodeEnvelope(keys[i], raw);
      return entry.expiresAt !== 0 && entry.expiresAt <= now ? undefined : entry;
    });
  }

  async writeBatch(entries: readonly StoredEntry[]): Promise<BatchResult> {
    return this.replicated(entries, await this.writeUnreplicated(entries));
  }

  async deleteBatch(deletes: readonly StoredDelete[]): Promise<BatchResult> {
    return this.replicated(deletes, await this.deleteUnreplicated(deletes));
  }

  private async writeUnreplicated(entries: readonly StoredEntry[]): Promise<BatchResult> {
    const now = Date.now();
    if (this.manyPerCall()) {
      return this.applyMany('write', entries.map((e) => {
        const ttl = e.expiresAt === 0 ? 0 : e.expiresAt - now;
        // Already expired: the key must not hold an older value either.
        if (ttl <= 0 && e.expiresAt !== 0) return { key: e.key, op: 'd' as const, version: e.version, ttl: 0, envelope: EMPTY };
        return { key: e.key, op: 'w' as const, version: e.version, ttl, envelope: encodeEnvelope(e) };
      }));
    }
    return this.perKey('write', entries, (e) => {
      const ttl = e.expiresAt === 0 ? 0 : e.expiresAt - now;
      if (ttl <= 0 && e.expiresAt !== 0) {
        // Already expired: the key must not hold an older value either.
        return this.config.versioning === 'script' ? this.client.scDelete(this.k(e.key), String(e.version)) : this.client.del(this.k(e.key));
      }
      const envelope = encodeEnvelope(e);
      if (this.config.versioning === 'script') return this.client.scWrite(this.k(e.key), envelope, String(e.version), String(ttl));
      return ttl > 0 ? this.client.set(this.k(e.key), envelope, 'PX', ttl) : this.client.set(this.k(e.key), envelope);
    });
  }

  private async deleteUnreplicated(deletes: readonly StoredDelete[]): Promise<BatchResult> {
    if (this.manyPerCall()) {
      return this.applyMany('delete', deletes.map((d) => ({ key: d.key, op: 'd' as const, version: d.version, ttl: 0, envelope: EMPTY })));
    }
    return this.perKey('delete', deletes, (d) => (this.config.versioning === 'script'
      ? this.client.scDelete(this.k(d.key), String(d.version))
      : this.client.del(this.k(d.key))));
  }

  /**
   * With `wait`: WAIT on every primary connection the batch's keys went to,
   * after the batch. WAIT counts the replicas that have this connection's
   * writes, so it runs on the same connections (in a cluster: the owner of
   * each key's slot, as the client's slot map has it). Too few replicas fail
   * the batch as unavailable; the writes are on the primary already, and a
   * retry of a versioned write is a no-op that waits again.
   */
  private async replicated(items: readonly { key: Buffer }[], result: BatchResult): Promise<BatchResult> {
    const wait = this.config.wait;
    if (wait === undefined || items.length === 0) return result;
    const targets = new Map<string, Redis>();
    if (this.client instanceof Cluster) {
      const masters = new Map(this.client.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]));
      for (const { key } of items) {
        const slot = keySlot(this.k(key));
        const owner = this.client.slots[slot]?.[0];
        const node = owner === undefined ? undefined : masters.get(owner);
        if (node === undefined) throw this.unavailable('wait failed', new Error(`no connection to the owner of slot ${slot}`));
        targets.set(owner!, node);
      }
    } else {
      targets.set(`${this.config.nodes[0].host}:${this.config.nodes[0].port}`, this.client);
    }
    const acknowledged = await Promise.all([...targets].map(async ([at, node]) => {
      try {
        return { at, replicas: Number(await node.wait(wait.replicas, wait.timeoutMs)) };
      } catch (err) {
        throw this.unavailable(`WAIT on ${at} failed`, err);
      }
    }));
    const short = acknowledged.filter((a) => a.replicas < wait.replicas);
    if (short.length > 0) {
      throw new StoreUnavailableError(this.name,
        `WAIT ${wait.replicas} ${wait.timeoutMs}: ${short.map((a) => `${a.at} has ${a.replicas}`).join(', ')} of ${wait.replicas} replica(s) acknowledging the batch `
        + `within ${wait.timeoutMs} ms; the batch is on the primary but not yet on enough replicas, and is retried`);
    }
    return result;
  }

  private manyPerCall(): boolean {
    return this.config.versioning === 'script' && !(this.client instanceof Cluster);
  }

  /** Chunks of keys per script call, the calls sent together; per-key errors come back as rejections. */
  private async applyMany(what: string, ops: readonly Op[]): Promise<BatchResult> {
    const calls: Array<Promise<Array<number | string>>> = [];
    for (let i = 0; i < ops.length; i += MANY_CHUNK) {
      const chunk = ops.slice(i, i + MANY_CHUNK);
      const args: Array<Buffer | string> = [String(chunk.length), ...chunk.map((o) => this.k(o.key))];
      for (const o of chunk) args.push(o.op, String(o.version), String(o.ttl), o.envelope);
      calls.push(this.client.scApplyMany(...args));
    }
    const results = await Promise.allSettled(calls);
    const rejected: Array<{ key: Buffer; error: Error }> = [];
    let failure: unknown;
    results.forEach((r, c) => {
      if (r.status === 'rejected') {
        failure ??= r.reason;
        return;
      }
      r.value.forEach((v, j) => {
        if (typeof v === 'string' && v.startsWith('E')) {
          const message = v.slice(1);
          const error = new StoreRejectedError(this.name, message);
          if (SERVER_WIDE.test(message)) failure ??= new ReplyError(message);
          else rejected.push({ key: ops[c * MANY_CHUNK + j].key, error });
        }
      });
    });
    if (failure !== undefined) throw this.unavailable(`${what} failed`, failure);
    if (rejected.length > 0) {
      this.context.logger.warn({ store: this.name, rejected: rejected.length, of: ops.length, first: rejected[0].error.message }, `remote server refused entries of a ${what} batch; the others were applied`);
    }
    return { rejected };
  }

  /**
   * One command per key, sent together (auto-pipelining: one write per event
   * loop turn, per node in a cluster). A reply error about one key rejects
   * that key; anything else fails the batch as unavailable.
   */
  private async perKey<T extends { key: Buffer }>(what: string, items: readonly T[], send: (item: T) => Promise<unknown>): Promise<BatchResult> {
    const results = await Promise.allSettled(items.map((item) => send(item)));
    const rejected: Array<{ key: Buffer; error: Error }> = [];
    let failure: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      const err = r.reason as Error;
      if (err instanceof ReplyError && !SERVER_WIDE.test(err.message)) {
        rejected.push({ key: items[i].key, error: new StoreRejectedError(this.name, err.message, { cause: err }) });
      } else {
        failure ??= err;
      }
    });
    if (failure !== undefined) throw this.unavailable(`${what} failed`, failure);
    if (rejected.length > 0) {
      this.context.logger.warn({ store: this.name, rejected: rejected.length, of: items.length, first: rejected[0].error.message }, `remote server refused entries of a ${what} batch; the others were applied`);
    }
    return { rejected };
  }

  /** Keys with this store's prefix, a page at a time, from every master. */
  private async *scanKeys(): AsyncIterable<Buffer[]> {
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    const pattern = `${escapeGlob(this.config.keyPrefix)}*`;
    for (const node of nodes) {
      let cursor = '0';
      do {
        let reply: [Buffer, Buffer[]];
        try {
          reply = await (node as Redis).scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 500);
        } catch (err) {
          throw this.unavailable('scan failed', err);
        }
        cursor = reply[0].toString();
        if (reply[1].length > 0) yield reply[1];
      } while (cursor !== '0');
    }
  }

  async *iterate(): AsyncIterable<StoredEntry> {
    for await (const page of this.scanKeys()) {
      const keys = page.map((k) => k.subarray(this.prefix.length));
      const entries = await this.loadMany(keys);
      for (const e of entries) if (e !== undefined) yield e;
    }
  }

  /** Deletes the keys with this store's prefix (never FLUSHDB: the server may hold other data). */
  async clear(): Promise<void> {
    for await (const page of this.scanKeys()) {
      try {
        await Promise.all(page.map((k) => this.client.del(k)));
      } catch (err) {
        throw this.unavailable('clear failed', err);
      }
    }
  }

  async ping(): Promise<void> {
    try {
      await this.client.ping();
    } catch (err) {
      throw this.unavailable('ping failed', err);
    }
  }

  /**
   * Coherence through the server's CLIENT TRACKING (BCAST, this store's key
   * prefix): every change any client makes is named to this instance, which
   * reads the stored version and drops older copies. In a cluster, one
   * tracking connection per primary.
   */
  coherence(options: CoherenceOptions, listener: CoherenceListener): CoherenceChannel {
    void this.tracker?.close();
    const tracking = { ...options, redis: this.redisOptions, prefix: this.prefix, logger: this.context.logger, store: this.name };
    const tracker = this.client instanceof Cluster
      ? new ClusterTracker(tracking, this.client, listener)
      : new RemoteTracker(tracking, listener);
    this.tracker = tracker;
    tracker.start();
    return tracker;
  }

  async versionsOf(keys: readonly Buffer[]): Promise<Array<number | undefined>> {
    return (await this.loadMany(keys)).map((e) => e?.version);
  }

  async close(): Promise<void> {
    await this.tracker?.close();
    this.client.disconnect();
  }

  private unavailable(what: string, err: unknown): StoreUnavailableError {
    let message = (err as Error).message;
    if (this.lastConnectionError !== undefined && !(err instanceof ReplyError)) message += ` (last connection error: ${this.lastConnectionError})`;
    let hint = '';
    if (/NOSCRIPT|unknown command .?(EVALSHA|EVAL)/i.test(message)) hint = ': the server has no scripting; set versioning to "none"';
    else if (/NOAUTH|WRONGPASS|invalid password/i.test(message)) hint = ': check the username and the password secret';
    return new StoreUnavailableError(this.name, `${what}: ${message}${hint}`, { cause: err });
  }
}

export function createRemoteStore(config: RemoteStoreConfig, context: StoreContext): RemoteStore {
  return new RemoteStore(config, context);
}

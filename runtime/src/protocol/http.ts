import { timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer, ServerOptions as HttpsOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import type { ServerStats } from './commands';
import type { ClusterMap } from '../cluster/cluster';
import { isLoopback } from '../config';
import { Keyspace, OutOfMemoryError, STRING_VALUE_MAX, Value } from '../keyspace/keyspace';
import { T_STRING, TYPE_NAMES } from '../keyspace/types';
import { clientError } from '../vocabulary';

/**
 * The HTTP side of state-cache:
 *
 * - `GET|HEAD|PUT|DELETE /v1/keys/{key}`: the key is the rest of the path,
 *   percent-decoded to bytes (binary safe). The entry's version is its strong
 *   ETag. PUT and DELETE honour `If-Match` and `If-None-Match` (an ETag list or
 *   `*`) atomically with the write. PUT takes a TTL as `?ttl=SECONDS`.
 *   Statuses: 200 read, 201 created, 204 replaced / deleted, 304 not modified,
 *   400 bad request, 401 no or wrong password, 404 no such key, 405 method,
 *   412 precondition failed, 413 value larger than limits.maxBulkBytes,
 *   429 write-behind queue full (Retry-After: 1), 503 store unavailable or
 *   shutting down, 507 keyspace full under the noeviction policy.
 *   In cluster mode, a key of another pod's slots answers 307 Temporary
 *   Redirect to the same URL on the owner (method and body are kept, so HTTP
 *   clients follow it), or 421 Misdirected Request when the owner's HTTP port
 *   is not known; both name the owner in `X-State-Cache-Owner` (RESP
 *   host:port) and the slot in `X-State-Cache-Slot`.
 * - `/healthz` (alive), `/readyz` (start-up done, not shutting down; a store
 *   being down does not change it), `/status` (JSON: keys, memory, persistence
 *   mode and each store's health), `/metrics` (Prometheus text). These never
 *   need a password.
 */
export interface HttpOptions {
  readonly ks: Keyspace;
  readonly password: string | undefined;
  /** Serve HTTPS with these options; plain HTTP when undefined. */
  readonly tls?: HttpsOptions;
  /** Mutual TLS: /v1/keys needs a client certificate the CA verified. */
  readonly clientAuth?: boolean;
  /**
   * Without a password and a verified client certificate, /v1/keys answers
   * loopback peers only (403 to the others). Default true.
   */
  readonly protectedMode?: boolean;
  readonly maxBodyBytes: number;
  readonly registry: Registry;
  readonly log: { error(obj: object, msg: string): void };
  /** The slot map in cluster mode. */
  readonly cluster?: ClusterMap;
  /** Where refused writes are counted (state_cache_oom_errors_total). */
  readonly stats?: ServerStats;
  ready(): boolean;
  /** What /status shows besides the keyspace: persistence mode and store health. */
  persistenceStatus(): object;
}

const KEY_PREFIX = '/v1/keys/';

/** Percent-decodes a path segment to a binary (latin1) string; undefined when malformed. */
export function decodeKey(raw: string): string | undefined {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37 /* % */) {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (c > 255) {
      // Node hands raw non-ASCII bytes as latin1 chars; anything wider is not a byte.
      return undefined;
    } else {
      out += raw[i];
    }
  }
  return out;
}

function etag(version: number): string {
  return `"${version}"`;
}

/** Matches an If-Match / If-None-Match header against the current ETag (strong comparison). */
function matches(header: string, current: string | undefined): boolean {
  if (header.trim() === '*') return current !== undefined;
  if (current === undefined) return false;
  return header.split(',').some((t) => t.trim() === current);
}

function send(res: ServerResponse, status: number, body: object | string, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body) + '\n';
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function problem(res: ServerResponse, status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}): void {
  send(res, status, { error: code, message }, headers);
}

function authorized(req: IncomingMessage, password: string): boolean {
  const h = req.headers.authorization;
  if (h === undefined) return false;
  let given: string | undefined;
  const [scheme, ...rest] = h.split(' ');
  const cred = rest.join(' ').trim();
  if (/^bearer$/i.test(scheme)) {given = cred;} else if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(cred, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) {
      const user = decoded.slice(0, colon);
      if (user === '' || user === 'default') given = decoded.slice(colon + 1);
    }
  }
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(password);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The error a write failed with, as an HTTP answer. */
function writeFailure(res: ServerResponse, e: unknown, log: HttpOptions['log'], stats?: ServerStats): void {
  const row = clientError(e);
  if (row !== undefined) {
    if (stats && e instanceof OutOfMemoryError) stats.oomErrors++;
    problem(res, row.status, row.code, row.detail?.(e as Error) ?? (e as Error).message, row.headers);
  } else {
    log.error({ err: e }, 'HTTP request failed unexpectedly');
    problem(res, 500, 'internal', (e as Error)?.message ?? String(e));
  }
}

export class HttpFrontend {
  readonly server: Server | HttpsServer;
  /** The HTTPS server, which takes a rotated certificate; undefined for plain HTTP. */
  readonly tlsServer: HttpsServer | undefined;
  private shuttingDown = false;

  constructor(private readonly o: HttpOptions) {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) writeFailure(res, e, o.log, o.stats);
        else res.destroy();
      });
    };
    if (o.tls !== undefined) {
      this.tlsServer = createHttpsServer({ ...o.tls, keepAliveTimeout: 5000 }, handler);
      this.server = this.tlsServer;
    } else {
      this.server = createServer({ keepAliveTimeout: 5000 }, handler);
    }
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Stops taking requests; /readyz turns 503 at once. */
  async close(): Promise<void> {
    this.shuttingDown = true;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    if (path === '/healthz') return send(res, 200, 'ok\n');
    if (path === '/readyz') {
      if (this.shuttingDown) return send(res, 503, 'shutting down\n');
      return this.o.ready() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready: starting (journal replay or preload)\n');
    }
    if (path === '/status') {
      const ks = this.o.ks;
      const body = {
        ready: !this.shuttingDown && this.o.ready(),
        keys: ks.size,
        usedBytes: ks.usedBytes,
        maxBytes: ks.maxBytes,
        persistence: this.o.persistenceStatus(),
      };
      return send(res, 200, body);
    }
    if (path === '/metrics') {
      const text = await this.o.registry.metrics();
      return send(res, 200, text, { 'Content-Type': this.o.registry.contentType });
    }
    if (!path.startsWith(KEY_PREFIX)) return problem(res, 404, 'no_route', `no such endpoint: ${path}`);
    const verified = (req.socket as TLSSocket).authorized === true;
    if (this.o.clientAuth && !verified) {
      req.resume();
      return problem(res, 403, 'client_certificate_required', 'the key API needs a client certificate from the CA in tls.caFile (tls.clientAuth is require)');
    }
    if (this.o.password === undefined && !verified && (this.o.protectedMode ?? true) && !isLoopback(req.socket.remoteAddress ?? '')) {
      req.resume();
      return problem(res, 403, 'loopback_only',
        'without a password the key API answers loopback clients only (protected mode); configure auth.passwordEnv or auth.passwordFile, or tls.clientAuth require');
    }
    if (this.o.password !== undefined && !authorized(req, this.o.password)) {
      req.resume();
      return problem(res, 401, 'unauthorized', 'send the password as Authorization: Bearer <password> or Basic', { 'WWW-Authenticate': 'Bearer realm="state-cache", Basic realm="state-cache"' });
    }
    if (this.shuttingDown) return problem(res, 503, 'shutting_down', 'state-cache is shutting down');
    const key = decodeKey(path.slice(KEY_PREFIX.length));
    if (key === undefined || key === '') return problem(res, 400, 'bad_key', 'the key must be a non-empty, percent-encoded path segment after /v1/keys/');
    if (this.o.cluster !== undefined && this.misdirected(req, res, url, key, this.o.cluster)) return undefined;
    switch (req.method) {
      case 'GET':
      case 'HEAD':
        return this.read(req, res, key);
      case 'PUT':
        return this.put(req, res, key, query);
      case 'DELETE':
        return this.remove(req, res, key);
      default:
        req.resume();
        return problem(res, 405, 'method_not_allowed', `${req.method} is not supported on keys`, { Allow: 'GET, HEAD, PUT, DELETE' });
    }
  }

  /** Answers for a key of another pod (true), as 307 to its owner or 421. */
  private misdirected(req: IncomingMessage, res: ServerResponse, url: string, key: string, cluster: ClusterMap): boolean {
    const slot = cluster.slotOfKey(key);
    if (cluster.owns(slot)) return false;
    const owner = cluster.ownerOfKey(key);
    req.resume();
    const headers: Record<string, string> = { 'X-State-Cache-Owner': `${owner.host}:${owner.port}`, 'X-State-Cache-Slot': String(slot) };
    if (owner.httpPort === undefined) {
      problem(res, 421, 'misdirected', `slot ${slot} of this key is served by ${owner.host} (RESP port ${owner.port}); its HTTP port is not known: set cluster.announceHttpPort`, headers);
    } else {
      const location = `${this.tlsServer ? 'https' : 'http'}://${owner.host}:${owner.httpPort}${url}`;
      problem(res, 307, 'moved', `slot ${slot} of this key is served by ${owner.host}:${owner.httpPort}`, { ...headers, Location: location });
    }
    return true;
  }

  /**
   * Waits for a pending write to the key and, unless `load` is false (a blind
   * write: PUT without If-Match / If-None-Match), for a load from persistence.
   */
  private async settle(key: string, loadMissing = true): Promise<void> {
    await this.o.ks.settle([key], loadMissing);
  }

  private async read(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    await this.settle(key);
    const ks = this.o.ks;
    const slot = ks.lookup(key);
    if (slot < 0) return problem(res, 404, 'not_found', 'no such key');
    const type = ks.typeAt(slot);
    if (type !== T_STRING) {
      // The REST API serves string values; an aggregate is read with its commands (docs/commands.md "REST view").
      return problem(res, 409, 'wrong_type', `key holds a ${TYPE_NAMES[type]}: the REST API reads string values only, use the ${TYPE_NAMES[type]} commands over RESP`,
        { 'X-Value-Type': TYPE_NAMES[type], 'ETag': etag(ks.versionOf(slot)) });
    }
    const tag = etag(ks.versionOf(slot));
    const headers: Record<string, string> = { ETag: tag };
    const exp = ks.expiresAt(slot);
    if (exp !== 0) headers['X-Expires-At'] = new Date(exp).toISOString();
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && matches(inm, tag)) {
      res.writeHead(304, headers);
      return void res.end();
    }
    const v = ks.value(slot);
    const body = typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
    res.writeHead(200, { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    if (req.method === 'HEAD') res.end();
    else res.end(body);
  }

  private async body(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
    const max = this.o.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) {
      problem(res, 413, 'too_large', `the value is larger than limits.maxBulkBytes (${max} bytes)`, { Connection: 'close' });
      req.destroy();
      return undefined;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const c of req) {
      total += (c as Buffer).length;
      if (total > max) {
        problem(res, 413, 'too_large', `the value is larger than limits.maxBulkBytes (${max} bytes)`, { Connection: 'close' });
        req.destroy();
        return undefined;
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks, total);
  }

  /** 412 unless the preconditions hold for the current entry. */
  private preconditionsHold(req: IncomingMessage, current: string | undefined): boolean {
    const im = req.headers['if-match'];
    if (im !== undefined && !matches(im, current)) return false;
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && matches(inm, current)) return false;
    return true;
  }

  private async put(req: IncomingMessage, res: ServerResponse, key: string, query: URLSearchParams): Promise<void> {
    let expiresAt = 0;
    const ttl = query.get('ttl');
    if (ttl !== null) {
      if (!/^[1-9][0-9]{0,11}$/.test(ttl)) {
        req.resume();
        return problem(res, 400, 'bad_ttl', `ttl must be a whole number of seconds greater than 0, got "${ttl}"`);
      }
      expiresAt = Date.now() + Number(ttl) * 1000;
    }
    const body = await this.body(req, res);
    if (body === undefined) return;
    const value: Value = body.length <= STRING_VALUE_MAX ? body.latin1Slice(0, body.length) : body;
    const conditional = req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined;
    await this.settle(key, conditional);
    const ks = this.o.ks;
    const slot = ks.find(key, false);
    const current = slot < 0 ? undefined : etag(ks.versionOf(slot));
    if (!this.preconditionsHold(req, current)) return problem(res, 412, 'precondition_failed', `the entry's ETag is ${current ?? 'absent'}`);
    try {
      const p = ks.set(key, value, expiresAt);
      if (p !== undefined) await p;
    } catch (e) {
      return writeFailure(res, e, this.o.log, this.o.stats);
    }
    const version = ks.currentVersion(key);
    res.writeHead(current === undefined ? 201 : 204, { ETag: etag(version) });
    res.end();
  }

  private async remove(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    await this.settle(key);
    const ks = this.o.ks;
    const slot = ks.find(key, false);
    const current = slot < 0 ? undefined : etag(ks.versionOf(slot));
    if (!this.preconditionsHold(req, current)) return problem(res, 412, 'precondition_failed', `the entry's ETag is ${current ?? 'absent'}`);
    if (current === undefined) return problem(res, 404, 'not_found', 'no such key');
    try {
      const r = ks.delete([key]);
      if (typeof r !== 'number') await r;
    } catch (e) {
      return writeFailure(res, e, this.o.log, this.o.stats);
    }
    res.writeHead(204);
    res.end();
  }
}

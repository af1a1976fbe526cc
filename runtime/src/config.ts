import { readFileSync } from 'node:fs';
import { Static, TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ClusterConfigSchema, clusterConfigProblems } from './cluster/config';
import { SLOT_BYTES } from './keyspace/keyspace';
import { PersistenceConfigSchema } from './persistence/config';
import { schemaProblems } from './schema-errors';
import { StoresConfigSchema } from './stores/config';

/*
 * The state-cache config: the one contract between the cdk8s-state constructs
 * and the runtime. Defined once here with TypeBox, which yields both the
 * TypeScript types and the JSON Schema committed as runtime/config.schema.json
 * (and rendered into docs/runtime-config.md).
 *
 * Each top-level section is one TypeBox object with defaults on every field;
 * adding a section (e.g. `stores`, `persistence`) is one line in `sections`.
 */

const LOOPBACK = '127.0.0.1';

function section<T extends Parameters<typeof Type.Object>[0]>(description: string, properties: T) {
  return Type.Object(properties, { default: {}, additionalProperties: false, description });
}

function choice<T extends string>(values: readonly T[], description: string, defaultValue: T) {
  return Type.Union(values.map((v) => Type.Literal(v)), { description, default: defaultValue });
}

export const ServerSection = section('The RESP (Redis protocol) listener.', {
  bind: Type.String({
    minLength: 1,
    default: LOOPBACK,
    description: 'Address the plaintext RESP port listens on. Any address other than loopback needs a password (auth) or `protectedMode: false`.',
  }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 6379, description: 'Plaintext RESP port (RESP2 and RESP3, negotiated by HELLO). 0 picks a free port.' }),
  plaintext: Type.Boolean({
    default: true,
    description: 'Serve plaintext RESP on bind:port. false, with `tlsPort` and `http.tls`, is TLS-only: no plaintext port listens.',
  }),
  tlsPort: Type.Optional(Type.Integer({
    minimum: 0,
    maximum: 65535,
    description: 'RESP over TLS on this port (like Redis tls-port), with the certificate of the `tls` section. Default: none. 0 picks a free port.',
  })),
  tlsBind: Type.Optional(Type.String({
    minLength: 1,
    description: 'Address the TLS RESP port listens on. Default: `bind`. Any address other than loopback needs a password or `tls.clientAuth: require` (or `protectedMode: false`).',
  })),
  protectedMode: Type.Boolean({
    default: true,
    description: 'Refuse to start when a RESP listener binds a non-loopback address without a password (or, for the TLS port, client certificates), and answer /v1/keys on HTTP only to loopback peers unless a password or a verified client certificate protects it (/healthz, /readyz, /status and /metrics answer anyone). Set to false only when a NetworkPolicy or similar protects the ports.',
  }),
  socketIo: choice(['handle', 'stream'] as const,
    'How plaintext connections read and write. handle: straight on the socket\'s libuv handle through Node\'s internal stream_wrap binding (faster, lower p99), used where this Node has it in the expected shape, else stream. stream: the public net.Socket. TLS connections always use stream.',
    'handle'),
});

export const HttpSection = section('The HTTP listener: REST API for keys, /healthz, /readyz and /metrics.', {
  enabled: Type.Boolean({ default: true, description: 'Serve HTTP at all.' }),
  bind: Type.String({
    minLength: 1,
    default: LOOPBACK,
    description: 'Address the HTTP port listens on. Probes from the kubelet need a pod address (e.g. 0.0.0.0); /healthz, /readyz, /status and /metrics never need a password. /v1/keys needs the password when one is configured, and without one (and without client certificates) answers loopback peers only, unless server.protectedMode is false.',
  }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'HTTP port. 0 picks a free port.' }),
  tls: Type.Boolean({ default: false, description: 'Serve HTTPS (only) on the HTTP port, with the certificate of the `tls` section. Kubelet probes then use scheme HTTPS (they do not verify the certificate).' }),
});

export const TlsSection = section('The server certificate of the TLS listeners (server.tlsPort, http.tls), read from files such as a mounted kubernetes.io/tls Secret. Checked at start (readable, key matching the certificate, not expired) and read again every reloadIntervalMs: a rotated certificate reaches new connections without a restart, open connections continue.', {
  certFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate (chain) the server presents, e.g. /etc/state-cache/tls/tls.crt.' })),
  keyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of the certificate, e.g. /etc/state-cache/tls/tls.key.' })),
  caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA certificate(s) client certificates must chain to; required by clientAuth: require.' })),
  clientAuth: choice(['none', 'require'] as const,
    'require: mutual TLS. The TLS RESP port refuses clients without a certificate from caFile; on HTTPS, /v1/keys needs one (probes and /metrics do not). none: any client may connect (then a password protects the keys).', 'none'),
  reloadIntervalMs: Type.Integer({ minimum: 100, maximum: 3600000, default: 10000, description: 'How often the files are read again to pick up a rotated certificate.' }),
});

export const AuthSection = section('Password authentication on both protocols. The password itself never appears in the config.', {
  passwordEnv: Type.Optional(Type.String({ minLength: 1, pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Name of the environment variable holding the password.' })),
  passwordFile: Type.Optional(Type.String({ minLength: 1, description: 'Path of a file holding the password (e.g. a mounted Secret); one trailing newline is ignored.' })),
});

export const MemorySection = section('How much the keyspace may hold, and what happens when it is full.', {
  maxEntries: Type.Integer({ minimum: 0, default: 0, description: 'Most entries held in memory; 0 means no bound by count.' }),
  maxBytes: Type.Integer({
    minimum: 0,
    default: 0,
    description: `Most bytes of entries held in memory, counted as they really are (INFO used_memory): each entry's key and value plus a 4-byte header rounded up to its slab size class (at most 1/8 more), plus ${SLOT_BYTES} bytes of index and slot record. 0 derives it from the container memory limit (cgroup), see \`limitFraction\`, or from the machine memory when there is no limit. The process needs up to 1.25 x this + 128 MiB (Node itself, connection buffers, garbage): the limit the constructs derive.`,
  }),
  limitFraction: Type.Number({
    exclusiveMinimum: 0,
    maximum: 0.9,
    default: 0.5,
    description: 'Share of the container memory limit the keyspace may use when `maxBytes` is 0, and never more than (limit - 128 MiB) / 1.25, so the process stays inside the limit under write churn. How it was chosen: entries live off the V8 heap and their accounted size is their real size, so RSS is about the budget plus Node itself (~70 MiB idle, 45 MiB of it the binary) plus heap, socket buffers and garbage (20-45 MiB more under 50 pipelining clients), which the (limit - 128 MiB) / 1.25 cap leaves room for at any limit (bench:cache -- --sections memory-bound, test/memory-churn.test.ts). The 0.5 default keeps half the limit free on larger containers, for traffic peaks and for the write-behind queue, which is not counted in the budget.',
  }),
  eviction: choice(['lru', 'lfu', 'noeviction'] as const,
    'What to do when a write needs room: evict the least recently used (lru) or least frequently used (lfu) entry, or refuse the write with Redis\'s OOM error (noeviction).', 'lru'),
  evictionSamples: Type.Integer({ minimum: 1, maximum: 64, default: 5, description: 'Entries sampled per eviction (like maxmemory-samples): more is more exact and slower.' }),
});

export const ExpirySection = section('Expiration of entries.', {
  defaultTtlSeconds: Type.Integer({ minimum: 0, default: 0, description: 'Lifespan given to entries written without a TTL; 0 means they live until deleted or evicted.' }),
  maxIdleSeconds: Type.Integer({ minimum: 0, default: 0, description: 'Entries not read or written for this long expire; 0 disables.' }),
  activeIntervalMs: Type.Integer({ minimum: 10, maximum: 10000, default: 100, description: 'How often the background sweep looks for expired entries.' }),
  activeEffort: Type.Integer({ minimum: 10, maximum: 1000000, default: 2000, description: 'Entries the background sweep checks per run at most (bounded work per tick).' }),
});

export const LimitsSection = section('Protocol and client limits (Redis defaults).', {
  maxClients: Type.Integer({ minimum: 1, default: 10000, description: 'Most simultaneous RESP connections; more are refused with "ERR max number of clients reached".' }),
  maxBulkBytes: Type.Integer({ minimum: 1, maximum: 536870912, default: 536870912, description: 'Longest bulk string (key or value) accepted, like proto-max-bulk-len; also the largest HTTP body.' }),
  maxInlineBytes: Type.Integer({ minimum: 16, default: 65536, description: 'Longest inline command line (telnet style) and protocol header line.' }),
  maxArgs: Type.Integer({ minimum: 1, default: 1048576, description: 'Most arguments in one command.' }),
  maxQueryBufferBytes: Type.Integer({ minimum: 1024, default: 1073741824, description: 'Most unparsed input buffered for one client (like client-query-buffer-limit); beyond it the connection is closed.' }),
  outputPauseBytes: Type.Integer({ minimum: 1024, default: 67108864, description: 'When a client has this much unsent output, state-cache stops reading its commands until the output drains (slow reader backpressure).' }),
  outputMaxBytes: Type.Integer({ minimum: 1024, default: 1073741824, description: 'When a client has this much unsent output, it is disconnected.' }),
});

export const ShutdownSection = section('Graceful shutdown on SIGTERM / SIGINT.', {
  timeoutSeconds: Type.Number({ exclusiveMinimum: 0, default: 25, description: 'Time to finish in-flight commands and flush persistence before exiting; keep it below the pod\'s terminationGracePeriodSeconds.' }),
});

export const LogSection = section('Logging on stdout: JSON lines, or human-readable lines when stdout is a terminal (a person running it by hand).', {
  level: choice(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'Lowest level written.', 'info'),
});

/** Top-level sections; one line each. */
export const sections = {
  server: ServerSection,
  http: HttpSection,
  tls: TlsSection,
  auth: AuthSection,
  memory: MemorySection,
  expiry: ExpirySection,
  limits: LimitsSection,
  shutdown: ShutdownSection,
  log: LogSection,
  stores: StoresConfigSchema,
  persistence: PersistenceConfigSchema,
  cluster: ClusterConfigSchema,
};

export const ConfigSchema = Type.Object(sections, {
  additionalProperties: false,
  $id: 'https://cdk8s-state.dev/state-cache/config.schema.json',
  title: 'state-cache config',
  description: 'The config file state-cache reads (`state-cache serve --config FILE`). Every field is optional; defaults are shown.',
});

export type Config = Static<typeof ConfigSchema>;

/** One problem in a config, with the JSON path (JSON Pointer) of the offending value. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/** A config that cannot be used; `problems` lists every one of them. */
export class ConfigError extends Error {
  constructor(public readonly source: string, public readonly problems: readonly ConfigProblem[]) {
    super(`invalid config ${source}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A loopback address (also as an IPv4-mapped IPv6 address, as sockets report peers). */
export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^(::ffff:)?127\./.test(address);
}

/** Checks that span fields, which JSON Schema cannot say. */
function crossFieldProblems(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.auth.passwordEnv !== undefined && config.auth.passwordFile !== undefined) {
    problems.push({ path: '/auth', message: 'set either passwordEnv or passwordFile, not both' });
  }
  const hasPassword = config.auth.passwordEnv !== undefined || config.auth.passwordFile !== undefined;
  const s = config.server;
  const tlsListener = s.tlsPort !== undefined || (config.http.enabled && config.http.tls);
  const mutual = config.tls.clientAuth === 'require';
  if (!hasPassword && s.protectedMode) {
    // HTTP may bind the pod address: without a password, /v1/keys answers loopback peers only.
    if (s.plaintext && !isLoopback(s.bind)) {
      problems.push({
        path: '/server/bind',
        message: `binding ${s.bind} without a password would expose every key; set auth.passwordEnv or auth.passwordFile, or set server.protectedMode to false`,
      });
    }
    const tlsBind = s.tlsBind ?? s.bind;
    if (s.tlsPort !== undefined && !mutual && !isLoopback(tlsBind)) {
      problems.push({
        path: s.tlsBind !== undefined ? '/server/tlsBind' : '/server/bind',
        message: `the TLS port binding ${tlsBind} without a password or client certificates would expose every key; set auth.passwordEnv or auth.passwordFile, or tls.clientAuth to require, or set server.protectedMode to false`,
      });
    }
  }
  if (!s.plaintext && s.tlsPort === undefined) {
    problems.push({ path: '/server/plaintext', message: 'with plaintext false and no tlsPort no RESP port would listen; give server.tlsPort (TLS-only) or set plaintext to true' });
  }
  if (s.tlsBind !== undefined && s.tlsPort === undefined) {
    problems.push({ path: '/server/tlsBind', message: 'tlsBind is set but tlsPort is not; give server.tlsPort or drop tlsBind' });
  }
  if (tlsListener && (config.tls.certFile === undefined || config.tls.keyFile === undefined)) {
    problems.push({
      path: config.tls.certFile === undefined ? '/tls/certFile' : '/tls/keyFile',
      message: `${s.tlsPort !== undefined ? 'server.tlsPort' : 'http.tls'} needs a certificate and its key: set tls.certFile and tls.keyFile (e.g. tls.crt and tls.key of a mounted kubernetes.io/tls Secret)`,
    });
  }
  if (!tlsListener && (config.tls.certFile !== undefined || config.tls.keyFile !== undefined)) {
    problems.push({ path: '/tls', message: 'a certificate is given but no listener uses it; set server.tlsPort and/or http.tls, or drop the tls section' });
  }
  if (mutual && config.tls.caFile === undefined) {
    problems.push({ path: '/tls/caFile', message: 'clientAuth require needs the CA that client certificates chain to; set tls.caFile (e.g. ca.crt of the Secret)' });
  }
  if (s.tlsPort !== undefined && s.tlsPort !== 0 && s.plaintext && s.tlsPort === s.port) {
    problems.push({ path: '/server/tlsPort', message: `the TLS port ${s.tlsPort} is also the plaintext RESP port; choose another, or set plaintext to false for TLS-only` });
  }
  if (config.http.enabled && s.tlsPort !== undefined && s.tlsPort !== 0 && s.tlsPort === config.http.port) {
    problems.push({ path: '/server/tlsPort', message: `the TLS port ${s.tlsPort} is also the HTTP port; choose another` });
  }
  if (config.limits.outputPauseBytes > config.limits.outputMaxBytes) {
    problems.push({ path: '/limits/outputPauseBytes', message: `must not exceed limits.outputMaxBytes (${config.limits.outputMaxBytes})` });
  }
  const h = config.http;
  if (h.enabled && s.plaintext && h.port !== 0 && h.port === s.port && h.bind === s.bind) {
    problems.push({ path: '/http/port', message: `the HTTP port ${config.http.port} is also the RESP port; choose another` });
  }
  problems.push(...clusterConfigProblems(config.cluster));
  return problems;
}

/** Validates a parsed config object, fills defaults, and returns it or throws a ConfigError listing every problem. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: '/', message: 'the config must be a JSON object' }]);
  }
  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw));
  const problems: ConfigProblem[] = schemaProblems(ConfigSchema, withDefaults).map((p) => ({ path: p.path || '/', message: p.message }));
  if (problems.length > 0) throw new ConfigError(source, problems);
  const config = withDefaults as Config;
  const more = crossFieldProblems(config);
  if (more.length > 0) throw new ConfigError(source, more);
  return config;
}

/** Reads, validates and fills defaults of a config file; throws a ConfigError listing every problem. */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: '/', message: `cannot read the file: ${(e as Error).message}` }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, [{ path: '/', message: `not valid JSON: ${(e as Error).message}` }]);
  }
  return parseConfig(raw, file);
}

/** The config used when none is given: everything at its default (memory only, loopback). */
export function defaultConfig(): Config {
  return parseConfig({}, 'defaults');
}

/** Reads the password named by the auth section; undefined when none is configured. Throws when the source is missing or empty. */
export function readPassword(auth: Config['auth'], env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (auth.passwordEnv !== undefined) {
    const v = env[auth.passwordEnv];
    if (v === undefined || v === '') {
      throw new ConfigError('environment', [{ path: '/auth/passwordEnv', message: `the environment variable ${auth.passwordEnv} is not set or empty` }]);
    }
    return v;
  }
  if (auth.passwordFile !== undefined) {
    let v: string;
    try {
      v = readFileSync(auth.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new ConfigError('password file', [{ path: '/auth/passwordFile', message: `cannot read ${auth.passwordFile}: ${(e as Error).message}` }]);
    }
    if (v === '') throw new ConfigError('password file', [{ path: '/auth/passwordFile', message: `${auth.passwordFile} is empty` }]);
    return v;
  }
  return undefined;
}

export type { TSchema };

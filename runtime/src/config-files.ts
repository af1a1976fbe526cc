import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigSchema } from './config';

/*
 * Renders the committed files that derive from the config schema:
 * runtime/config.schema.json and docs/runtime-config.md. A test fails when
 * either is stale; `npx projen config-schema` (run by compile) rewrites them.
 */

interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  pattern?: string;
}

/**
 * Drops fields that have a default from `required`: state-cache fills
 * defaults before validating, so a config only names what it changes.
 */
function optionalDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(optionalDefaults);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = optionalDefaults(v);
  const props = out.properties as Record<string, { default?: unknown }> | undefined;
  if (Array.isArray(out.required) && props !== undefined) {
    const required = (out.required as string[]).filter((name) => props[name]?.default === undefined);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

/** The JSON Schema, as committed in runtime/config.schema.json. */
export function renderSchemaJson(): string {
  return JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...(optionalDefaults(JSON.parse(JSON.stringify(ConfigSchema))) as object) }, null, 2) + '\n';
}

function typeOf(s: JsonSchema): string {
  if (s.anyOf) return s.anyOf.map((x) => `\`${JSON.stringify(x.const)}\``).join(' \\| ');
  return s.type ?? 'any';
}

function rangeOf(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.pattern !== undefined) parts.push(`matches \`${s.pattern}\``);
  return parts.join(', ');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The config reference, as committed in docs/runtime-config.md. */
export function renderConfigDocs(): string {
  const schema = ConfigSchema as unknown as JsonSchema;
  const lines: string[] = [
    '# state-cache config reference',
    '',
    '<!-- Generated from runtime/src/config.ts by `npx projen config-schema`; do not edit by hand. -->',
    '',
    schema.description ?? '',
    '',
    'The JSON Schema is `runtime/config.schema.json`. Check a file with',
    '`node runtime/lib/main.js check-config FILE`: it prints every problem with its JSON path and exits',
    'with status 2 when there is one (so does `serve`, before anything listens).',
    '',
  ];
  for (const [name, sec] of Object.entries(schema.properties ?? {})) {
    lines.push(`## \`${name}\``, '', sec.description ?? '', '');
    lines.push('| field | type | default | allowed | description |', '|---|---|---|---|---|');
    for (const [field, f] of Object.entries(sec.properties ?? {})) {
      const def = f.default === undefined ? '(none)' : `\`${JSON.stringify(f.default)}\``;
      lines.push(`| \`${name}.${field}\` | ${typeOf(f)} | ${def} | ${cell(rangeOf(f))} | ${cell(f.description ?? '')} |`);
    }
    lines.push('');
  }
  lines.push(...PROTOCOL_NOTES);
  return lines.join('\n');
}

/** What operators and clients rely on beyond the config fields. */
const PROTOCOL_NOTES = [
  '## HTTP API',
  '',
  'On `http.port`. `/healthz`, `/readyz` and `/metrics` never need a password; `/v1/keys/*` does when',
  '`auth` names one (`Authorization: Bearer <password>`, or Basic with user `default` or empty).',
  '',
  '| request | answer |',
  '|---|---|',
  '| `GET /v1/keys/{key}` (and `HEAD`) | 200 with the value (`application/octet-stream`), `ETag: "<version>"`, `X-Expires-At` when it expires; 304 when `If-None-Match` matches; 404 when absent; 409 `wrong_type` with `X-Value-Type` when the key holds a hash, list, set or sorted set (docs/commands.md) |',
  '| `PUT /v1/keys/{key}[?ttl=SECONDS]` | 201 created or 204 replaced (a value of any type, as SET does), with the new `ETag`; the body is the value; `ttl` is a whole number of seconds > 0 |',
  '| `DELETE /v1/keys/{key}` | 204 deleted; 404 when absent |',
  '| `GET /healthz` | 200 while the process runs |',
  '| `GET /readyz` | 200 when persistence is ready (preload / journal replay done, stores reachable); 503 otherwise and while shutting down |',
  '| `GET /metrics` | Prometheus text: `state_cache_commands_total{command}`, hits, misses, evictions, expirations, loads, entries, bytes, max bytes, connections, `state_cache_oom_errors_total`, `state_cache_ready`, `state_cache_command_duration_seconds`; the persistence metrics are listed in docs/persistence.md |',
  '',
  '`{key}` is percent-decoded to bytes, so any binary key can be addressed (`%00`...). `PUT` and `DELETE`',
  'honour `If-Match` and `If-None-Match` (a list of ETags, or `*`) atomically with the write: 412 when',
  'they do not hold. Versions (ETags) grow with every write to a key, also across restarts.',
  '',
  'Errors are JSON `{"error": code, "message": text}` with a distinct status per cause: 400 bad key or TTL,',
  '401 password missing or wrong, 404 no such key or endpoint, 405 method, 409 the key holds an aggregate, 412 precondition failed,',
  '413 value larger than `limits.maxBulkBytes`, 429 write-behind queue full (with `Retry-After: 1`),',
  '503 a required store is unavailable or state-cache is shutting down, 507 keyspace full under `noeviction`.',
  '',
  '## RESP error replies',
  '',
  'Redis\'s own codes and wording where clients parse them (`ERR syntax error`, `ERR value is not an integer',
  'or out of range`, `NOAUTH`, `WRONGPASS`, `EXECABORT`, `OOM command not allowed when used memory >',
  '\'maxmemory\'.`, `WRONGTYPE Operation against a key holding the wrong kind of value`, `ERR unknown command ...`,',
  '`ERR Protocol error: ...` which also closes the connection), plus state-cache\'s own for persistence:',
  '`QUEUEFULL write-behind queue is full, retry later` and `STOREUNAVAILABLE <reason>` (memory is left unchanged',
  'in both cases), and `ERR the stored value of key \'...\' cannot be read: ...` for a stored value in an',
  'unknown encoding (docs/commands.md).',
  '',
];

/** Writes both files; `root` is the repository root. */
export function writeConfigFiles(root: string): void {
  writeFileSync(join(root, 'runtime', 'config.schema.json'), renderSchemaJson());
  writeFileSync(join(root, 'docs', 'runtime-config.md'), renderConfigDocs());
}

if (require.main === module) {
  writeConfigFiles(join(__dirname, '..', '..'));
}

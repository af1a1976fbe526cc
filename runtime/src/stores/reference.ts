import { TSchema } from '@sinclair/typebox';
import {
  ChainLinkSchema, CustomStoreConfigSchema, FileStoreConfigSchema, PostgresStoreConfigSchema, RemoteStoreConfigSchema,
} from './config';

/**
 * Renders the config reference of the stores (one Markdown table per store and
 * one for chain links) from the schemas, so docs/stores.md cannot drift from
 * the code: a test compares the two.
 */

type Schema = TSchema & {
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  items?: Schema;
  const?: unknown;
  type?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  minLength?: number;
};

function typeOf(s: Schema): string {
  if (s.anyOf) {
    if (s.anyOf.every((a) => a.const !== undefined)) return s.anyOf.map((a) => `\`${JSON.stringify(a.const)}\``).join(' \\| ');
    if (s.anyOf.every((a) => a.properties?.type?.const !== undefined)) {
      const types = s.anyOf.map((a) => `\`${a.properties!.type.const}\``);
      return `a ${types.slice(0, -1).join(', ')} or ${types[types.length - 1]} store object`;
    }
    if (s.anyOf.every((a) => a.type === 'object')) return `{ ${s.anyOf.map((a) => Object.keys(a.properties ?? {}).join(', ')).join(' } or { ')} }`;
    return s.anyOf.map(typeOf).join(' \\| ');
  }
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.type === 'array') return `array of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && s.properties) return 'object';
  if (s.type === 'object') return 'object (free form)';
  const limits: string[] = [];
  if (s.minimum !== undefined) limits.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) limits.push(`≤ ${s.maximum}`);
  if (s.pattern !== undefined) limits.push(`\`${s.pattern}\``);
  return `${s.type ?? 'any'}${limits.length ? ` (${limits.join(', ')})` : ''}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function rows(schema: Schema, prefix = ''): string[] {
  const out: string[] = [];
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const path = `${prefix}${name}`;
    const required = (schema.required ?? []).includes(name);
    const dflt = field.default !== undefined ? `\`${JSON.stringify(field.default)}\`` : (required ? 'required' : 'none');
    const description = (field.description as string | undefined) ?? '';
    out.push(`| \`${path}\` | ${typeOf(field)} | ${dflt} | ${cell(description)} |`);
    if (field.type === 'object' && field.properties && name !== 'store') out.push(...rows(field, `${path}.`));
    if (field.type === 'array' && field.items?.properties) out.push(...rows(field.items, `${path}[].`));
  }
  return out;
}

function table(title: string, schema: Schema): string {
  return [
    `### ${title}`,
    '',
    cell(schema.description as string ?? ''),
    '',
    '| field | type | default | description |',
    '|---|---|---|---|',
    ...rows(schema),
    '',
  ].join('\n');
}

/** The generated part of docs/stores.md. */
export function storesConfigReference(): string {
  return [
    table('Chain link (`stores.chain[]`)', ChainLinkSchema as Schema),
    table('`file`', FileStoreConfigSchema as Schema),
    table('`postgres`', PostgresStoreConfigSchema as Schema),
    table('`remote`', RemoteStoreConfigSchema as Schema),
    table('`custom`', CustomStoreConfigSchema as Schema),
  ].join('\n');
}

import { KindGuard, TLiteral, TObject, TSchema, TUnion } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';

/** One problem of a value against a schema, at the JSON Pointer of the offending value. */
export interface SchemaProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Every problem of `value` against `schema`, each with its JSON Pointer
 * (prefixed with `base`). TypeBox reports a failed union only as "Expected
 * union value"; here every union explains itself, whatever field it is:
 *
 * - a union of literals (an enum) names the allowed values and the value given:
 *   `must be one of lru, lfu, noeviction; got "random"`;
 * - a union of objects told apart by a literal property (e.g. `type`) names the
 *   allowed values of that property when it is unknown, and otherwise reports
 *   the problems of the member it selects, with their paths;
 * - other unions of objects report the problems of the one member whose
 *   properties the value uses, else name the alternatives.
 *
 * Only the values of enums are echoed: a value that fails another union may be
 * a secret given where a reference belongs, so only its kind is named.
 */
export function schemaProblems(schema: TSchema, value: unknown, base = ''): SchemaProblem[] {
  const errors = [...Value.Errors(schema, value)];
  // A missing required property is also reported as not of its type: say it once.
  const missing = new Set(errors.filter((e) => e.type === ValueErrorType.ObjectRequiredProperty).map((e) => e.path));
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.type !== ValueErrorType.ObjectRequiredProperty && e.value === undefined && missing.has(e.path)) continue;
    const found = e.type === ValueErrorType.Union && KindGuard.IsUnion(e.schema)
      ? unionProblems(e.schema, e.value, base + e.path)
      : [{ path: base + e.path, message: e.message }];
    for (const p of found) {
      const key = `${p.path}\n${p.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(p);
      }
    }
  }
  return problems;
}

function unionProblems(union: TUnion, value: unknown, path: string): SchemaProblem[] {
  const members = union.anyOf;
  if (members.length > 0 && members.every((m) => KindGuard.IsLiteral(m))) {
    return [{ path, message: `must be one of ${literals(members as TLiteral[])}; got ${shown(value)}` }];
  }
  if (members.length > 0 && members.every((m) => KindGuard.IsObject(m))) {
    const objects = members as TObject[];
    const key = discriminator(objects);
    if (key !== undefined) {
      const tags = objects.map((m) => m.properties[key] as TLiteral);
      if (!isRecord(value)) {
        return [{ path, message: `must be an object whose ${key} is one of ${literals(tags)}; got ${kindOf(value)}` }];
      }
      const index = tags.findIndex((t) => t.const === value[key]);
      if (index < 0) {
        return [{
          path: `${path}/${key}`,
          message: value[key] === undefined ? `is missing: must be one of ${literals(tags)}` : `must be one of ${literals(tags)}; got ${shown(value[key])}`,
        }];
      }
      return memberProblems(objects[index], value, path);
    }
    if (isRecord(value)) {
      const fits = objects.filter((m) => Object.keys(value).every((k) => k in m.properties) && (m.required ?? []).every((r) => r in value));
      if (fits.length === 1) return memberProblems(fits[0], value, path);
    }
  }
  return [{ path, message: `must be ${members.map(describe).join(' or ')}; got ${kindOf(value)}` }];
}

/** The member's own problems, after its defaults (which a failed union did not get). */
function memberProblems(member: TSchema, value: unknown, path: string): SchemaProblem[] {
  const problems = schemaProblems(member, Value.Default(member, Value.Clone(value)), path);
  // Cannot happen (the union failed, so this member does too); never hide the failure.
  return problems.length > 0 ? problems : [{ path, message: 'Expected union value' }];
}

/** A property that is a literal in every member, with a different value in each. */
function discriminator(objects: TObject[]): string | undefined {
  const candidates = Object.keys(objects[0].properties).filter((k) => objects.every((m) => KindGuard.IsLiteral(m.properties[k])));
  return candidates.find((k) => new Set(objects.map((m) => (m.properties[k] as TLiteral).const)).size === objects.length);
}

function literals(members: TLiteral[]): string {
  return members.map((m) => String(m.const)).join(', ');
}

function describe(schema: TSchema): string {
  if (KindGuard.IsLiteral(schema)) return JSON.stringify(schema.const);
  if (KindGuard.IsObject(schema)) {
    const keys = schema.required?.length ? schema.required : Object.keys(schema.properties);
    return keys.length > 0 ? `an object with ${keys.join(', ')}` : 'an object';
  }
  return kindOf(Value.Create(schema));
}

/** An enum value as given (JSON); anything else only by its kind. */
function shown(value: unknown): string {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value) ? JSON.stringify(value) : kindOf(value);
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isRecord(value)) {
    const keys = Object.keys(value);
    return keys.length > 0 ? `an object with ${keys.join(', ')}` : 'an empty object';
  }
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The exact field tree of the Kubernetes 1.28 API, derived from the L1
 * classes cdk8s-plus-28 generates from the 1.28 OpenAPI spec, and the
 * `unknown-field` check that walks a manifest against it.
 *
 * kubernetes-models validates against a newer schema that accepts unknown
 * fields, so a typo, a field from a newer Kubernetes or a field in the wrong
 * place would otherwise reach the cluster and be dropped there. The L1's
 * `toJson_<Type>` functions list every JSON field name of each type and the
 * `toJson_<Type>` each nested field uses; the `Kube<Kind>.GVK` assignments
 * give apiVersion/kind -> props type. Parsing that file once per process
 * (about 30 ms) beats committing a generated copy that would drift.
 */
import { readFileSync } from 'node:fs';
import { Finding, formatPath, isPlainObject, Segment } from './util';

/** How one field's value is shaped. */
type Field =
  | { readonly kind: 'leaf' } // scalar, IntOrString, Quantity, time or free-form JSON: not descended
  | { readonly kind: 'object'; readonly type: string }
  | { readonly kind: 'array'; readonly type: string }
  | { readonly kind: 'map'; readonly type: string }; // string keys -> objects of `type`

export interface FieldTree {
  /** type name (e.g. `PodSpec`, `KubeDeploymentProps`) -> JSON field name -> shape. */
  readonly types: ReadonlyMap<string, ReadonlyMap<string, Field>>;
  /** `apiVersion/kind` -> props type of that kind. */
  readonly kinds: ReadonlyMap<string, string>;
  /** Every API group (`''` for core) that Kubernetes 1.28 serves. */
  readonly groups: ReadonlySet<string>;
}

const LEAF: Field = { kind: 'leaf' };
const FUNCTION = /^function toJson_(\w+)\(obj\) \{\n([\s\S]*?)\n\}\nexports\.toJson_\1 = /gm;
const ENTRY = /^ {8}'([^']+)': (.*),$/gm;
const GVK = /^(Kube\w+)\.GVK = \{\n\s*apiVersion: '([^']+)',\n\s*kind: '([^']+)',\n\};$/gm;

/** The shape of one field from the expression its toJson function uses for it. */
function classify(expr: string): Field {
  let m: RegExpExecArray | null;
  if ((m = /^toJson_(\w+)\(obj\.\w+\)$/.exec(expr))) return { kind: 'object', type: m[1] };
  if ((m = /^obj\.\w+\?\.map\(y => toJson_(\w+)\(y\)\)$/.exec(expr))) return { kind: 'array', type: m[1] };
  if ((m = /\[i\[0\]\]: toJson_(\w+)\(i\[1\]\)/.exec(expr))) return { kind: 'map', type: m[1] };
  if (/toJson_/.test(expr)) {
    throw new Error(`manifest checks: unrecognised L1 field expression "${expr}" in cdk8s-plus-28; the field tree parser needs updating`);
  }
  return LEAF;
}

let cached: FieldTree | undefined;

/** The 1.28 field tree, parsed once per process from cdk8s-plus-28's L1 source. */
export function fieldTree(): FieldTree {
  if (cached) return cached;
  const source = readFileSync(require.resolve('cdk8s-plus-28/lib/imports/k8s.js'), 'utf8');
  const types = new Map<string, Map<string, Field>>();
  for (const fn of source.matchAll(FUNCTION)) {
    const fields = new Map<string, Field>();
    for (const e of fn[2].matchAll(ENTRY)) fields.set(e[1], classify(e[2]));
    types.set(fn[1], fields);
  }
  const kinds = new Map<string, string>();
  const groups = new Set<string>();
  for (const g of source.matchAll(GVK)) {
    const props = `${g[1]}Props`;
    if (!types.has(props)) throw new Error(`manifest checks: no toJson_${props} in cdk8s-plus-28's L1`);
    kinds.set(`${g[2]}/${g[3]}`, props);
    groups.add(g[2].includes('/') ? g[2].split('/')[0] : '');
  }
  if (types.size < 400 || kinds.size < 100 || !kinds.has('apps/v1/Deployment')) {
    throw new Error(`manifest checks: parsed only ${types.size} types and ${kinds.size} kinds from cdk8s-plus-28's L1; its layout changed`);
  }
  cached = { types, kinds, groups };
  return cached;
}

/** A readable name for a type in messages: `KubeDeploymentProps` -> `Deployment`. */
function typeLabel(type: string): string {
  const m = /^Kube(\w+?)Props$/.exec(type);
  return m ? m[1] : type;
}

/** A known field whose name differs only in case or by one or two characters, for "did you mean". */
function nearest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    if (k.toLowerCase() === name.toLowerCase()) return k;
    const d = editDistance(name.toLowerCase(), k.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * Every field of `value` (and below) that type `type` does not have in
 * Kubernetes 1.28. Type mismatches are left to the schema check.
 */
export function unknownFields(object: string, value: unknown, type: string, path: Segment[], out: Finding[]): void {
  const tree = fieldTree();
  const fields = tree.types.get(type);
  if (!fields || !isPlainObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const field = fields.get(key);
    const here = [...path, key];
    if (!field) {
      const guess = nearest(key, fields.keys());
      out.push({
        object,
        path: formatPath(here),
        rule: 'unknown-field',
        message: `"${key}" is not a field of ${typeLabel(type)} in the Kubernetes 1.28 API` +
          (guess ? ` (did you mean "${guess}"?)` : ' (a typo, a field in the wrong place, or one added after 1.28)'),
      });
      continue;
    }
    if (field.kind === 'object') {
      unknownFields(object, child, field.type, here, out);
    } else if (field.kind === 'array' && Array.isArray(child)) {
      child.forEach((item, i) => unknownFields(object, item, field.type, [...here, i], out));
    } else if (field.kind === 'map' && isPlainObject(child)) {
      for (const [k, item] of Object.entries(child)) unknownFields(object, item, field.type, [...here, k], out);
    }
  }
}

/** The props type of a built-in kind, or undefined for custom resources and kinds 1.28 does not serve. */
export function propsTypeOf(apiVersion: string, kind: string): string | undefined {
  return fieldTree().kinds.get(`${apiVersion}/${kind}`);
}

/** Whether Kubernetes 1.28 itself serves this API group (so an unknown kind in it is an error, not a custom resource). */
export function isBuiltInGroup(apiVersion: string): boolean {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return fieldTree().groups.has(group);
}

/** The 1.28 ObjectMeta type name, for custom resources' metadata. */
export const OBJECT_META = 'ObjectMeta';

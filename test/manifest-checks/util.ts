/**
 * Small shared pieces of the manifest checks: field paths, label selectors,
 * quantities and the shape of one finding.
 */

/** One finding: the object (kind/name), the field path and what is wrong. */
export interface Finding {
  readonly object: string;
  readonly path: string;
  readonly rule: string;
  readonly message: string;
}

export type Segment = string | number;

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['spec', 'containers', 0, 'image']` -> `spec.containers[0].image`; keys with dots or slashes are quoted. */
export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') {
      out += `[${s}]`;
    } else if (PLAIN_KEY.test(s)) {
      out += out === '' ? s : `.${s}`;
    } else {
      out += `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

/** `Kind/name` of a manifest, for findings. */
export function objectId(m: any): string {
  const kind = typeof m?.kind === 'string' ? m.kind : '?';
  const name = typeof m?.metadata?.name === 'string' ? m.metadata.name : '?';
  return `${kind}/${name}`;
}

export function isPlainObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Namespace of a manifest; objects without one land in the same (default) namespace. */
export function namespaceOf(m: any): string {
  return typeof m?.metadata?.namespace === 'string' ? m.metadata.namespace : '';
}

/** Whether a metav1.LabelSelector selects these labels. A missing selector selects nothing; `{}` selects everything. */
export function labelSelectorMatches(selector: any, labels: Record<string, string> | undefined): boolean {
  if (!isPlainObject(selector)) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e?.key);
    const values: string[] = Array.isArray(e?.values) ? e.values : [];
    switch (e?.operator) {
      case 'In': if (!has || !values.includes(l[e.key])) return false; break;
      case 'NotIn': if (has && values.includes(l[e.key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** Whether a plain map selector (Service, ReplicationController) selects these labels. An empty map selects nothing here. */
export function mapSelectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!isPlainObject(selector) || Object.keys(selector).length === 0) return false;
  const l = labels ?? {};
  return Object.entries(selector).every(([k, v]) => l[k] === v);
}

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;
const SUFFIX: Record<string, number> = {
  '': 1,
  'n': 1e-9,
  'u': 1e-6,
  'm': 1e-3,
  'k': 1e3,
  'M': 1e6,
  'G': 1e9,
  'T': 1e12,
  'P': 1e15,
  'E': 1e18,
  'Ki': 2 ** 10,
  'Mi': 2 ** 20,
  'Gi': 2 ** 30,
  'Ti': 2 ** 40,
  'Pi': 2 ** 50,
  'Ei': 2 ** 60,
};

/** A Kubernetes quantity ("500m", "1Gi", 2) as a number, or undefined when it is not one. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  const m = QUANTITY.exec(q.trim());
  if (!m) return undefined;
  return Number(m[1]) * SUFFIX[m[2] ?? ''];
}

/** Deep equality of plain JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => jsonEqual((a as any)[k], (b as any)[k]));
}

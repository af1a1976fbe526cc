/**
 * Schema validation with kubernetes-models' precompiled (ajv) validators,
 * and with those of @kubernetes-models/prometheus-operator
 * (monitoring.coreos.com/v1) and @kubernetes-models/external-secrets
 * (external-secrets.io) and @kubernetes-models/cert-manager (cert-manager.io/v1
 * Certificate), plus a basic shape check for every custom resource.
 *
 * The kubernetes-models packages are ESM-only
 * (`exports` has only an `import` condition) and jest runs tests as
 * CommonJS, where it refuses to load ESM (its own `require`, `createRequire`
 * and `process.getBuiltinModule` all go through jest's module registry). So
 * the validators are loaded with Node's own loader (`Module._load`), which
 * on Node 20.19+ and 22+ can `require` an ES module without top-level await.
 * Node caches them per process, outside jest's per-file registry, so every
 * test file after the first gets them for free.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Finding, formatPath, isPlainObject, Segment } from './util';

interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, any>;
  readonly message?: string;
}
type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const NodeModule: { _load(request: string, parent: unknown, isMain: boolean): any } = require('node:module');

function loadEsm(file: string): any {
  try {
    return NodeModule._load(file, null, false);
  } catch (e: any) {
    if (e?.code === 'ERR_REQUIRE_ESM') {
      throw new Error(`manifest checks: this Node (${process.version}) cannot require ES modules, which kubernetes-models is; use Node 20.19+ or 22.12+`);
    }
    throw e;
  }
}

/**
 * The model packages, searched in order for `<apiVersion>/<Kind>.js`: the
 * built-in kinds, then the custom resources whose operators we emit objects
 * for (same layout, same precompiled validators).
 */
const MODEL_PACKAGES = ['kubernetes-models', '@kubernetes-models/prometheus-operator', '@kubernetes-models/external-secrets', '@kubernetes-models/cert-manager'];

const modelDirs = new Map<string, string>();
const validators = new Map<string, Validator | null>();

function modelsDir(pkg: string): string {
  // The package's `exports` hides package.json from require.resolve; find it through the search paths.
  let dir = modelDirs.get(pkg);
  if (!dir) {
    const paths = require.resolve.paths(pkg) ?? [];
    dir = paths.map((p) => join(p, pkg)).find((p) => {
      try {
        return JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')).name === pkg;
      } catch {
        return false;
      }
    });
    if (!dir) throw new Error(`manifest checks: the ${pkg} devDependency is not installed (run npm ci)`);
    modelDirs.set(pkg, dir);
  }
  return dir;
}

/** The precompiled validator for a kind, or null when no model package has such a kind. */
function validatorFor(apiVersion: string, kind: string): Validator | null {
  const key = `${apiVersion}/${kind}`;
  const known = validators.get(key);
  if (known !== undefined) return known;
  let validator: Validator | null = null;
  if (/^[a-z0-9.-]*\/?[a-z0-9]+$/.test(apiVersion) && /^[A-Za-z0-9]+$/.test(kind)) {
    for (const pkg of MODEL_PACKAGES) {
      const modelFile = join(modelsDir(pkg), apiVersion, `${kind}.js`);
      let model: string | undefined;
      try {
        model = readFileSync(modelFile, 'utf8');
      } catch {
        continue;
      }
      // Each model module imports its validator: import{validate}from"../../_schemas/IoK8sApiAppsV1Deployment.js"
      const schema = /import\{validate\}from"([^"]+_schemas\/\w+\.js)"/.exec(model);
      if (!schema) continue;
      const loaded = loadEsm(join(dirname(modelFile), schema[1]));
      if (typeof loaded?.validate !== 'function') {
        throw new Error(`manifest checks: ${schema[1]} from ${pkg} exports no validate function`);
      }
      validator = loaded.validate;
      break;
    }
  }
  validators.set(key, validator);
  return validator;
}

/** `/spec/template/spec/containers/0` -> segments, JSON-pointer unescaped. */
function pointerSegments(pointer: string): Segment[] {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((s) => {
    const unescaped = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(unescaped) ? Number(unescaped) : unescaped;
  });
}

function describe(e: AjvError): string {
  const p = e.params;
  switch (e.keyword) {
    case 'required': return `required field "${p.missingProperty}" is missing`;
    case 'type': return `must be of type ${p.type}`;
    case 'enum': return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'format': return `must be in format "${p.format}"`;
    case 'pattern': return `must match ${p.pattern}`;
    case 'maxLength': return `must be at most ${p.limit} characters`;
    case 'minLength': return `must be at least ${p.limit} characters`;
    case 'maximum': return `must be <= ${p.limit}`;
    case 'minimum': return `must be >= ${p.limit}`;
    case 'maxItems': return `must have at most ${p.limit} items`;
    case 'minItems': return `must have at least ${p.limit} items`;
    case 'additionalProperties': return `"${p.additionalProperty}" is not allowed`;
    default: return e.message ?? `fails "${e.keyword}" ${JSON.stringify(p)}`;
  }
}

/**
 * Schema errors of one object; undefined when no model package knows the
 * kind. Custom resource schemas (Prometheus Operator, External Secrets)
 * accept fields they do not define, like the built-in ones.
 */
export function schemaFindings(object: string, m: any): Finding[] | undefined {
  const validate = validatorFor(m.apiVersion, m.kind);
  if (!validate) return undefined;
  if (validate(m)) return [];
  // Unions (IntOrString, Quantity) report one error per branch plus the anyOf itself: one line per field then.
  const byPath = new Map<string, AjvError[]>();
  for (const e of validate.errors ?? []) {
    const segments = pointerSegments(e.instancePath);
    if (e.keyword === 'required') segments.push(e.params.missingProperty);
    const path = formatPath(segments);
    byPath.set(path, [...(byPath.get(path) ?? []), e]);
  }
  const findings: Finding[] = [];
  for (const [path, errors] of byPath) {
    const union = errors.some((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
    const messages = union
      ? [`must be one of the types ${[...new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.params.type))].join(' or ')}`]
      : [...new Set(errors.map(describe))];
    for (const message of messages) findings.push({ object, path, rule: 'schema', message });
  }
  return findings;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const API_VERSION = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+)\/v\d+((alpha|beta)\d+)?$/;

/**
 * Custom resources whose served versions we know: an apiVersion they no
 * longer serve fails at apply time.
 */
const SERVED: Record<string, { readonly served: string[]; readonly note: string }> = {
  'external-secrets.io': { served: ['v1'], note: 'External Secrets Operator serves only external-secrets.io/v1 since 0.17 (v1beta1 is no longer served)' },
  'cert-manager.io': { served: ['v1'], note: 'cert-manager serves only cert-manager.io/v1 since 1.7' },
};

/**
 * The shape every custom resource must have (the schemas of the model
 * packages do not check metadata), the versions its operator serves, and
 * what an ExternalSecret needs beyond its schema. `served` is false for an
 * apiVersion its operator no longer serves; only a served one is checked
 * against its schema.
 */
export function customResourceShape(object: string, m: any): { findings: Finding[]; served: boolean } {
  let served = true;
  const out: Finding[] = [];
  const at = (path: Segment[], message: string) => out.push({ object, path: formatPath(path), rule: 'schema', message });
  const match = API_VERSION.exec(m.apiVersion);
  if (!match) {
    at(['apiVersion'], `"${m.apiVersion}" is not a custom resource apiVersion (<group with a dot>/<version such as v1 or v1beta1>)`);
  } else {
    const known = SERVED[match[1]];
    const version = m.apiVersion.split('/')[1];
    if (known && !known.served.includes(version)) {
      served = false;
      at(['apiVersion'], `${m.apiVersion} is not served: ${known.note}`);
    }
  }
  if (!/^[A-Z][A-Za-z0-9]*$/.test(m.kind)) at(['kind'], `"${m.kind}" is not a kind (UpperCamelCase letters and digits)`);
  if (!isPlainObject(m.metadata)) {
    at(['metadata'], 'required field "metadata" is missing or not an object');
  } else {
    const name = m.metadata.name;
    if (typeof name !== 'string' || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
      at(['metadata', 'name'], `"${name}" is not a DNS-1123 subdomain name (lower-case letters, digits, "-" and ".", at most 253 characters)`);
    }
    for (const map of ['labels', 'annotations']) {
      const value = m.metadata[map];
      if (value === undefined) continue;
      if (!isPlainObject(value)) {
        at(['metadata', map], 'must be a map of strings');
        continue;
      }
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') at(['metadata', map, k], `must be a string, not ${JSON.stringify(v)}`);
      }
    }
  }
  if (m.spec !== undefined && !isPlainObject(m.spec)) at(['spec'], 'must be an object');
  if (match?.[1] === 'external-secrets.io' && m.kind === 'ExternalSecret' && isPlainObject(m.spec)) {
    const ref = m.spec.secretStoreRef;
    if (!isPlainObject(ref) || typeof ref.name !== 'string' || ref.name === '') {
      at(['spec', 'secretStoreRef', 'name'], 'an ExternalSecret needs spec.secretStoreRef.name (the SecretStore or ClusterSecretStore to read from)');
    }
    if (m.spec.data === undefined && m.spec.dataFrom === undefined) {
      at(['spec', 'data'], 'an ExternalSecret needs spec.data or spec.dataFrom, or it fetches nothing');
    }
  }
  if (match?.[1] === 'cert-manager.io' && m.kind === 'Certificate' && isPlainObject(m.spec)) {
    const names: unknown[] = Array.isArray(m.spec.dnsNames) ? m.spec.dnsNames : [];
    if (names.length === 0 && !m.spec.commonName) at(['spec', 'dnsNames'], 'a Certificate needs dnsNames (clients verify the server against them)');
    names.forEach((n, i) => {
      if (typeof n !== 'string' || !/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(n)) {
        at(['spec', 'dnsNames', i], `"${n}" is not a DNS name (a wildcard only as the whole first label)`);
      }
    });
    if (!isPlainObject(m.spec.issuerRef) || typeof m.spec.issuerRef.name !== 'string' || m.spec.issuerRef.name === '') {
      at(['spec', 'issuerRef', 'name'], 'a Certificate needs spec.issuerRef.name (the Issuer or ClusterIssuer that signs it)');
    }
  }
  return { findings: out, served };
}

/**
 * A cdk8s chart made of README.md's snippets, extracted at run time, so the
 * README cannot drift from what the library does. The consumer test
 * (scripts/consumer-test.sh) synthesises it with `cdk8s synth` in a fresh app
 * against the packed tarball; test/readme.test.ts synthesises it against
 * src/.
 *
 * The snippets are every ```ts block of the section "The three patterns side
 * by side". Their imports are merged and hoisted; their bodies become one
 * chart constructor. They refer to a few things they leave to the reader (a
 * database, workloads); PRELUDE defines those, each passing the manifest
 * checks. A new free name in the README fails the type check with "Cannot
 * find name": define it in PRELUDE.
 *
 *   ts-node scripts/readme-app.ts OUT.ts [LIBRARY]   # LIBRARY: module to import the constructs from (default cdk8s-state)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The README section whose ```ts blocks form the chart. */
export const SECTION = 'The three patterns side by side';

export interface Snippet {
  /** 1-based line of the block's first code line in README.md. */
  readonly line: number;
  readonly code: string;
}

/** The ```ts blocks of the section, in order. */
export function readmeSnippets(readme: string): Snippet[] {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l === `## ${SECTION}`);
  if (start < 0) throw new Error(`README.md has no section "## ${SECTION}"`);
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  const snippets: Snippet[] = [];
  let open: number | undefined;
  for (let i = start + 1; i < (end < 0 ? lines.length : end); i++) {
    if (open === undefined && lines[i] === '```ts') {
      open = i + 1;
    } else if (open !== undefined && lines[i] === '```') {
      snippets.push({ line: open + 1, code: lines.slice(open, i).join('\n') });
      open = undefined;
    }
  }
  if (open !== undefined) throw new Error(`README.md: the ts block at line ${open} is not closed`);
  if (snippets.length === 0) throw new Error(`README.md: the section "${SECTION}" has no \`\`\`ts blocks`);
  return snippets;
}

const IMPORT = /^import (?:\* as (\w+)|\{([^}]*)\}) from '([^']+)';$/;

/** Imports merged per module: named imports united, namespace imports kept. */
class Imports {
  private readonly named = new Map<string, Set<string>>();
  private readonly namespaces = new Map<string, string>();

  add(line: string, where: string): void {
    const m = IMPORT.exec(line.trim());
    if (!m) throw new Error(`${where}: cannot merge the import "${line}" (one line, "import { A, B } from 'x';" or "import * as x from 'x';")`);
    const [, ns, names, module] = m;
    if (ns) {
      const seen = this.namespaces.get(module);
      if (seen !== undefined && seen !== ns) throw new Error(`${where}: '${module}' is imported as ${seen} and as ${ns}`);
      this.namespaces.set(module, ns);
    } else {
      const set = this.named.get(module) ?? new Set<string>();
      for (const n of names.split(',').map((x) => x.trim()).filter((x) => x !== '')) set.add(n);
      this.named.set(module, set);
    }
  }

  render(): string {
    const out: string[] = [];
    for (const [module, ns] of this.namespaces) out.push(`import * as ${ns} from '${module}';`);
    for (const [module, names] of this.named) out.push(`import { ${[...names].sort().join(', ')} } from '${module}';`);
    return out.join('\n');
  }
}

/**
 * What the snippets refer to without defining it: the database behind the
 * sessions cache and the workloads they connect and mount into. Each is a
 * secure one-replica Deployment with a NetworkPolicy of its own.
 */
const PRELUDE = `
    const workload = (id: string): kplus.Deployment => {
      const d = new kplus.Deployment(this, id, {
        replicas: 1,
        metadata: { name: id, namespace: this.namespace },
        automountServiceAccountToken: false,
        securityContext: { user: 10001, group: 10001, fsGroup: 10001, ensureNonRoot: true },
        containers: [{
          name: id,
          image: \`ghcr.io/example/\${id}:1.0.0\`,
          portNumber: 8080,
          readiness: kplus.Probe.fromHttpGet('/ready'),
          liveness: kplus.Probe.fromHttpGet('/healthz'),
          resources: {
            cpu: { request: kplus.Cpu.millis(100) },
            memory: { request: Size.mebibytes(128), limit: Size.mebibytes(128) },
            ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(1) },
          },
          securityContext: {
            user: 10001,
            group: 10001,
            ensureNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: [kplus.Capability.ALL] },
            seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
          },
        }],
      });
      new kplus.NetworkPolicy(this, \`\${id}-policy\`, {
        metadata: { namespace: this.namespace },
        selector: d,
        ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY, rules: [{ peer: kplus.Pods.all(this, \`\${id}-peers\`), ports: [kplus.NetworkPolicyPort.tcp(8080)] }] },
      });
      return d;
    };
    const worker = workload('worker');
    const publisher = workload('publisher');
    const web = workload('web');
    const database = workload('database');
    const api = workload('api');
    const sessionsDb = new ExternalDatabase(this, 'sessions-db', {
      engine: DatabaseEngine.POSTGRESQL,
      endpoint: DatabaseEndpoint.fromHostName('sessions.c9akciq32.eu-west-1.rds.amazonaws.com'),
      databaseName: 'sessions',
      credentials: DatabaseCredentials.fromSecret(kplus.Secret.fromSecretName(this, 'sessions-db-credentials', 'sessions-db-credentials')),
      tlsMode: TlsMode.POSTGRES_VERIFY_FULL,
      tlsCa: DatabaseCa.fromSecret(kplus.Secret.fromSecretName(this, 'sessions-db-ca', 'rds-ca-bundle'), 'ca.pem'),
      egressCidrs: ['10.20.32.0/20'],
    });
`;
const PRELUDE_IMPORTS = [
  "import { Size } from 'cdk8s';",
  "import * as kplus from 'cdk8s-plus-28';",
  "import { DatabaseCa, DatabaseCredentials, DatabaseEndpoint, DatabaseEngine, ExternalDatabase, TlsMode } from 'cdk8s-state';",
];

function indent(code: string): string {
  return code.split('\n').map((l) => (l === '' ? '' : `    ${l}`)).join('\n');
}

/**
 * A module exporting `ReadmeChart` (namespace `readme`) made of the README's
 * snippets; with `main`, it also synthesises it as an app. `library` replaces
 * 'cdk8s-state' in the imports (e.g. the path of src/ for a test).
 */
export function readmeApp(readme: string, options: { library?: string; main?: boolean } = {}): string {
  const imports = new Imports();
  imports.add("import { App, Chart } from 'cdk8s';", 'consumer app');
  imports.add("import { Construct } from 'constructs';", 'consumer app');
  for (const line of PRELUDE_IMPORTS) imports.add(line, 'prelude');
  const bodies: string[] = [];
  for (const s of readmeSnippets(readme)) {
    const body: string[] = [];
    s.code.split('\n').forEach((l, i) => {
      if (l.startsWith('import ')) imports.add(l, `README.md line ${s.line + i}`);
      else body.push(l);
    });
    bodies.push(`    // README.md, the snippet at line ${s.line}\n${indent(body.join('\n').trim())}`);
  }
  let header = imports.render();
  if (options.library) header = header.replace(/from 'cdk8s-state';/g, `from '${options.library}';`);
  return [
    '// Generated from README.md by scripts/readme-app.ts: the README\'s snippets in one chart.',
    '/* eslint-disable */',
    header,
    '',
    'export class ReadmeChart extends Chart {',
    '  constructor(scope: Construct, id: string) {',
    '    super(scope, id, { namespace: \'readme\' });',
    '    // What the snippets leave to the reader.',
    PRELUDE.replace(/^\n/, '').trimEnd(),
    '',
    bodies.join('\n\n'),
    '  }',
    '}',
    ...(options.main ? ['', 'const app = new App();', 'new ReadmeChart(app, \'readme\');', 'app.synth();'] : ['', 'void App;']),
    '',
  ].join('\n');
}

if (require.main === module) {
  const [out, library] = process.argv.slice(2);
  if (!out) {
    process.stderr.write('usage: ts-node scripts/readme-app.ts OUT.ts [LIBRARY]\n');
    process.exit(2);
  }
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  writeFileSync(out, readmeApp(readme, { library, main: true }));
  process.stdout.write(`${out}: ${readmeSnippets(readme).length} README snippets\n`);
}

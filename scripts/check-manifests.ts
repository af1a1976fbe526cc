/**
 * The manifest checks (test/manifest-checks.ts) on synthesised YAML files,
 * all files together (as one output: the wiring checks span files). Prints
 * every finding and exits 1 when there is any.
 *
 *   ts-node --project test/tsconfig.json scripts/check-manifests.ts FILE.yaml...
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { checkManifests } from '../test/manifest-checks';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: check-manifests FILE.yaml...\n');
  process.exit(2);
}
const manifests: any[] = [];
for (const file of files) {
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) manifests.push(value);
  }
}
const findings = checkManifests(manifests);
for (const f of findings) process.stdout.write(`${f.object} ${f.path} [${f.rule}] ${f.message}\n`);
const kinds = new Map<string, number>();
for (const m of manifests) kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
process.stdout.write(`manifest checks: ${manifests.length} objects (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}) in ${files.join(', ')}: ${findings.length} finding(s)\n`);
process.exit(findings.length > 0 ? 1 : 0);

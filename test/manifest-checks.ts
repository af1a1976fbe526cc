/**
 * The manifest checks every construct test and the examples test run on
 * everything they synthesise.
 *
 * (Being built: for now only this interface is fixed. Keep calling it the
 * same way; the checks behind it grow.)
 */
import { Chart, Testing } from 'cdk8s';

/** One finding: the object (kind/name), the field path and what is wrong. */
export interface Finding {
  readonly object: string;
  readonly path: string;
  readonly rule: string;
  readonly message: string;
}

/** Every problem found in a list of manifests (plain objects, as synthesised). */
export function checkManifests(manifests: any[]): Finding[] {
  const findings: Finding[] = [];
  for (const m of manifests) {
    if (!m || typeof m !== 'object' || !m.apiVersion || !m.kind) {
      findings.push({ object: '?', path: '', rule: 'schema', message: 'not a Kubernetes object' });
    }
  }
  return findings;
}

/** Synthesises a chart and fails the test listing every finding. Returns the manifests. */
export function synthAndCheck(chart: Chart): any[] {
  const manifests = Testing.synth(chart);
  expectNoFindings(manifests);
  return manifests;
}

export function expectNoFindings(manifests: any[]): void {
  const findings = checkManifests(manifests);
  if (findings.length > 0) {
    throw new Error(`manifest checks found ${findings.length} problem(s):\n` +
      findings.map((f) => `  ${f.object} ${f.path} [${f.rule}] ${f.message}`).join('\n'));
  }
}

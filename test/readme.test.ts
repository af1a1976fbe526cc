/**
 * README.md's snippets, extracted at run time by scripts/readme-app.ts, type
 * check and synthesise in one chart against src/ with zero manifest-check
 * findings. scripts/consumer-test.sh does the same through the packed
 * tarball and `cdk8s synth` in a fresh app.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { expectNoFindings } from './manifest-checks';
import { readmeApp, readmeSnippets } from '../scripts/readme-app';

const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

test('the README has the snippets of the three patterns', () => {
  const snippets = readmeSnippets(readme);
  expect(snippets.length).toBe(3);
  expect(snippets.map((s) => /new (\w+)\(this/.exec(s.code)?.[1])).toEqual(['CachedApp', 'PersistentStore', 'ExternalDatabase']);
  // Lines point into README.md.
  for (const s of snippets) expect(readme.split('\n')[s.line - 1]).toBe(s.code.split('\n')[0]);
});

test('imports are merged per module and hoisted; every snippet body is in the chart', () => {
  const app = readmeApp(readme);
  expect(app.match(/^import .* from 'cdk8s';$/gm)).toHaveLength(1);
  expect(app.match(/^import \* as kplus from 'cdk8s-plus-28';$/gm)).toHaveLength(1);
  expect(app.match(/^import .* from 'cdk8s-state';$/gm)).toHaveLength(1);
  for (const s of readmeSnippets(readme)) {
    for (const line of s.code.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('import '))) expect(app).toContain(line);
  }
});

test('they synthesise in one chart with zero findings', () => {
  // Under the repository (gitignored .tmp/), so ts-jest type-checks it against src/.
  const dir = join(root, '.tmp');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'readme-chart.ts');
  writeFileSync(file, readmeApp(readme, { library: '../src' }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ReadmeChart } = require(file);
  const manifests = Testing.synth(new ReadmeChart(Testing.app(), 'readme'));
  expectNoFindings(manifests);
  const kinds = manifests.map((m) => m.kind);
  for (const kind of ['StatefulSet', 'ExternalSecret', 'PersistentVolume', 'PersistentVolumeClaim', 'StorageClass', 'NetworkPolicy']) expect(kinds).toContain(kind);
});

/**
 * Every app in examples/ synthesises, passes the manifest checks with zero
 * findings, and matches its snapshot.
 *
 * Convention: examples/<name>.ts exports its chart class as `default` and,
 * when run as a program, synthesises it under the id <name>.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Testing } from 'cdk8s';
import { expectNoFindings } from './manifest-checks';

const dir = join(__dirname, '..', 'examples');
const examples = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => basename(f, '.ts')).sort();

test('there are examples', () => {
  expect(examples.length).toBeGreaterThan(0);
});

describe.each(examples)('examples/%s.ts', (name) => {
  test('synthesises with zero findings and matches the snapshot', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ChartClass = require(join(dir, name)).default;
    expect(typeof ChartClass).toBe('function');
    const chart = new ChartClass(Testing.app(), name);
    const manifests = Testing.synth(chart);
    expectNoFindings(manifests);
    expect(manifests).toMatchSnapshot();
  });
});

/**
 * Synthesises every app in examples/ and writes dist/examples/<name>.k8s.yaml,
 * one file per example, named after the example file.
 *
 * Convention: examples/<name>.ts defines its chart class (exported, so tests can
 * synthesise it) and, when run as a program, adds it to an App under the id
 * <name> and calls app.synth(); cdk8s writes to $CDK8S_OUTDIR.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const outdir = join(root, 'dist', 'examples');
mkdirSync(outdir, { recursive: true });

const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort();
let failed = 0;
for (const file of examples) {
  const name = basename(file, '.ts');
  // Each example is its own cdk8s app: run it in a child process so apps do not share state.
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register', join(root, 'examples', file)], {
    cwd: root,
    env: { ...process.env, TS_NODE_PROJECT: join(root, 'test', 'tsconfig.json'), CDK8S_OUTDIR: outdir },
    stdio: 'inherit',
  });
  const written = join(outdir, `${name}.k8s.yaml`);
  if (r.status === 0 && !existsSync(written)) {
    failed++;
    console.error(`synth: examples/${file} did not write ${written} (its chart id must be "${name}")`);
  } else if (r.status !== 0) {
    failed++;
    console.error(`synth: examples/${file} failed (exit ${r.status})`);
  } else {
    console.log(`synth: dist/examples/${name}.k8s.yaml`);
  }
}
if (failed > 0) process.exit(1);

/**
 * src/_runtime-config.generated.ts, the type the constructs build the
 * state-cache config as, is what runtime/config.schema.json generates now.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('src/_runtime-config.generated.ts is up to date with runtime/config.schema.json', () => {
  // A child process: the generator's formatter (prettier 3) cannot load inside jest's module sandbox.
  const r = spawnSync(process.execPath, [
    require.resolve('ts-node/dist/bin'), '--transpile-only', '--project', join(__dirname, 'tsconfig.json'),
    join(__dirname, 'runtime-config-types.ts'), '--check',
  ], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${r.stdout}${r.stderr}`);
  expect(r.stdout).toContain('is up to date');
});

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempFile } from './helpers';

/*
 * What the CLI prints, as a child process runs it: `node lib/main.js ...`.
 * Needs the compiled runtime (npx projen compile).
 */
const MAIN = join(__dirname, '..', 'lib', 'main.js');
const hasBuild = existsSync(MAIN);
const maybe = hasBuild ? test : test.skip;
if (!hasBuild) console.warn(`skipping CLI output tests: ${MAIN} is missing; run npx projen compile first`);

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [MAIN, ...args], (err, stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr }));
  });
}

maybe('check-config names the allowed values of enums and the store types, and the field of a known store type', async () => {
  const file = tempFile('bad.json', JSON.stringify({
    memory: { eviction: 'random' },
    stores: {
      chain: [
        { store: { type: 'mongo', name: 'm' } },
        { store: { type: 'postgres', name: 'pg', host: 'db', database: 'app', user: 'app', tls: { mode: 'prefer' } }, mode: 'sometimes' },
      ],
    },
  }));
  expect(await run(['check-config', file])).toEqual({
    code: 2,
    stdout: '',
    stderr: `state-cache: invalid config ${file}:\n`
      + '  /memory/eviction: must be one of lru, lfu, noeviction; got "random"\n'
      + '  /stores/chain/0/store/type: must be one of file, postgres, remote, custom; got "mongo"\n'
      + '  /stores/chain/1/store/tls/mode: must be one of disable, require, verify-ca, verify-full; got "prefer"\n'
      + '  /stores/chain/1/mode: must be one of required, bestEffort; got "sometimes"\n',
  });
});

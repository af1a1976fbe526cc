/**
 * Generates src/_runtime-config.generated.ts, the TypeScript type of the
 * state-cache config, from runtime/config.schema.json (the runtime's one
 * contract), so the constructs build their config as that type.
 *
 *   npx projen gen:runtime-config      writes the file
 *   ... runtime-config-types.ts --check exits 1 when the file is stale
 *
 * A script, not a test helper: json-schema-to-typescript formats with
 * prettier 3, which jest's module sandbox cannot load (dynamic import).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { compile } from 'json-schema-to-typescript';

const ROOT = join(__dirname, '..');
const SCHEMA_FILE = join(ROOT, 'runtime', 'config.schema.json');
const GENERATED_FILE = join(ROOT, 'src', '_runtime-config.generated.ts');

const BANNER = `// ~~ Generated from runtime/config.schema.json by json-schema-to-typescript: do not edit.
// Regenerate with "npx projen gen:runtime-config" (test/runtime-config-types.test.ts fails when stale).`;

async function generate(): Promise<string> {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
  // additionalProperties: false where the schema says nothing, so a misspelt field fails to compile.
  return compile(schema, 'StateCacheConfig', { bannerComment: BANNER, additionalProperties: false });
}

async function main(): Promise<void> {
  const generated = await generate();
  const file = relative(process.cwd(), GENERATED_FILE);
  if (process.argv.includes('--check')) {
    if (readFileSync(GENERATED_FILE, 'utf8') !== generated) {
      console.error(`${file} is stale: runtime/config.schema.json changed. Run "npx projen gen:runtime-config" and commit the result.`);
      process.exit(1);
    }
    console.log(`${file} is up to date`);
    return;
  }
  writeFileSync(GENERATED_FILE, generated);
  console.log(`wrote ${file}`);
}

if (require.main === module) {
  main().catch((e) => { console.error(e); process.exit(1); });
}

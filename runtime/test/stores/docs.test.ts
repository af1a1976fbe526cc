import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { storesConfigReference } from '../../src/stores/reference';

const DOC = join(__dirname, '..', '..', '..', 'docs', 'stores.md');
const START = '<!-- config reference: generated from runtime/src/stores/config.ts -->';
const END = '<!-- end of generated config reference -->';

/**
 * docs/stores.md carries the config reference rendered from the schemas.
 * After changing a schema: STATE_CACHE_UPDATE_DOCS=1 npx jest test/stores/docs.test.ts
 */
test('docs/stores.md has the config reference of the current schemas', () => {
  const doc = readFileSync(DOC, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  expect(from).toBeGreaterThan(-1);
  expect(to).toBeGreaterThan(from);
  const generated = `${START}\n\n${storesConfigReference()}\n${END}`;
  if (process.env.STATE_CACHE_UPDATE_DOCS === '1') {
    writeFileSync(DOC, doc.slice(0, from) + generated + doc.slice(to + END.length));
    return;
  }
  expect(doc.slice(from, to + END.length)).toBe(generated);
});

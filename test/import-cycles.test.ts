/**
 * No import cycles in src/, type-only imports included: eslint's
 * import/no-cycle (the root config) follows value imports only, so this
 * test walks every import, `import type` and `export ... from` too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';

const SRC = join(__dirname, '..', 'src');

/** Each src file and the src files it imports (src is flat: './name' is src/name.ts). */
function importGraph(): Map<string, string[]> {
  const files = readdirSync(SRC).filter((f) => f.endsWith('.ts'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const imported = ts.preProcessFile(readFileSync(join(SRC, file), 'utf8'), true, true).importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith('./'))
      .map((name) => `${name.slice(2)}.ts`);
    graph.set(file, imported);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, as the files along it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): void => {
    const at = path.indexOf(file);
    if (at >= 0) {
      found.push([...path.slice(at), file]);
      return;
    }
    if (done.has(file)) return;
    path.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    path.pop();
    done.add(file);
  };
  for (const file of graph.keys()) visit(file);
  return found;
}

test('src/ has no import cycles, type-only imports included', () => {
  const graph = importGraph();
  expect(graph.size).toBeGreaterThan(20);
  expect(cycles(graph).map((c) => c.join(' -> '))).toEqual([]);
});

test('the cycle check finds a type-only cycle (the test can fail)', () => {
  const graph = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
  expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  const typeOnly = ts.preProcessFile("import type { A } from './a';\nexport type { B } from './b';\n", true, true);
  expect(typeOnly.importedFiles.map((i) => i.fileName)).toEqual(['./a', './b']);
});

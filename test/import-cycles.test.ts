import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

/**
 * No import cycles in the library (`src/`) or in state-cache
 * (`runtime/src/`), type-only imports included: eslint's import/no-cycle
 * skips `import type`, and a cycle of types still ties two modules together.
 * The graph comes from TypeScript's own pre-processor (already a dependency;
 * a graph tool such as madge would add dozens of packages for a walk).
 */
const root = resolve(__dirname, '..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Each module's relative imports and re-exports (`import type` and `export ... from` too), resolved to files. */
function graph(dir: string): Map<string, string[]> {
  const all = files(dir);
  const known = new Set(all);
  const edges = new Map<string, string[]>();
  for (const file of all) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps: string[] = [];
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.') || fileName.endsWith('.json')) continue;
      const base = resolve(dirname(file), fileName);
      if (relative(dir, base).startsWith('..')) continue; // outside the tree checked
      const target = [`${base}.ts`, join(base, 'index.ts')].find((c) => known.has(c));
      if (target === undefined) throw new Error(`${relative(root, file)}: cannot resolve ${fileName}`);
      deps.push(target);
    }
    edges.set(file, deps);
  }
  return edges;
}

/** The strongly connected components with more than one module, or a module importing itself (Tarjan). */
function cycles(edges: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(scc.map((f) => relative(root, f)).sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

test.each(['src', 'runtime/src'])('%s has no import cycles, type-only imports included', (dir) => {
  const edges = graph(join(root, dir));
  expect(edges.size).toBeGreaterThan(10);
  expect(cycles(edges)).toEqual([]);
});

test('the check finds a cycle of type-only imports', () => {
  const a = join(root, 'a.ts');
  const b = join(root, 'b.ts');
  expect(cycles(new Map([[a, [b]], [b, [a]]]))).toEqual([['a.ts', 'b.ts']]);
  // And the pre-processor reports `import type` and `export ... from`.
  const info = ts.preProcessFile("import type { X } from './x';\nexport { Y } from './y';\n", true, true);
  expect(info.importedFiles.map((f) => f.fileName)).toEqual(['./x', './y']);
});

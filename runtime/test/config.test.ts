import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config';

function write(obj: unknown): string {
  const f = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'c.json');
  writeFileSync(f, JSON.stringify(obj));
  return f;
}

test('defaults fill an empty config', () => {
  expect(loadConfig(write({})).server.port).toBe(6379);
});

test('a bad port is reported with its path', () => {
  expect(() => loadConfig(write({ server: { port: 0 } }))).toThrow('/server/port');
});

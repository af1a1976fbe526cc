import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** cgroup v1 reports "no limit" as a huge number near 2^63 rounded to the page size. */
const V1_UNLIMITED = 2 ** 60;

function readNumber(file: string): number | undefined | 'max' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (text === 'max') return 'max';
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * The container's memory limit in bytes, read from cgroup v2 (`memory.max`)
 * or v1 (`memory/memory.limit_in_bytes`) under `root`; undefined when there
 * is none (no cgroup, or unlimited).
 */
export function containerMemoryLimit(root = '/sys/fs/cgroup'): number | undefined {
  const v2 = readNumber(join(root, 'memory.max'));
  if (v2 === 'max') return undefined;
  if (v2 !== undefined) return v2;
  const v1 = readNumber(join(root, 'memory', 'memory.limit_in_bytes'));
  if (v1 === undefined || v1 === 'max' || v1 >= V1_UNLIMITED) return undefined;
  return v1;
}

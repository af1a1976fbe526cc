import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The version of this library, which is also the tag of the matching state-cache image. */
export function libraryVersion(): string {
  return JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version;
}

/**
 * Redis glob patterns (KEYS, SCAN MATCH) as a RegExp over latin1 strings:
 * `*`, `?`, `[abc]`, `[^a]`, `[a-z]` and `\x` escapes, like Redis's
 * stringmatchlen. Keys are binary strings (one char per byte), so the RegExp
 * matches bytes.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      re += '[\\s\\S]*';
    } else if (c === '?') {
      re += '[\\s\\S]';
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += escapeChar(pattern[++i]);
    } else if (c === '[') {
      let j = i + 1;
      let cls = '';
      if (pattern[j] === '^') {
        cls += '^';
        j++;
      }
      let closed = false;
      for (; j < pattern.length; j++) {
        const d = pattern[j];
        if (d === ']') {
          closed = true;
          break;
        }
        if (d === '\\' && j + 1 < pattern.length) {
          cls += escapeClassChar(pattern[++j]);
        } else if (d === '-' && cls.length > 0 && cls !== '^' && j + 1 < pattern.length && pattern[j + 1] !== ']') {
          cls += '-';
        } else {
          cls += escapeClassChar(d);
        }
      }
      // Redis treats an unclosed class as running to the end of the pattern.
      if (cls === '' || cls === '^') re += cls === '^' ? '[\\s\\S]' : '(?!)';
      else re += `[${cls}]`;
      i = closed ? j : pattern.length;
    } else {
      re += escapeChar(c);
    }
  }
  return new RegExp(re + '$');
}

function escapeChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? '\\' + c : c;
}

function escapeClassChar(c: string): string {
  return /[\\\]^-]/.test(c) ? '\\' + c : c;
}

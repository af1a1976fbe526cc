import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * System tools some tests need, with the Debian package that brings each.
 * A fresh machine has only Node and npm: there those tests skip, and the
 * tool-skips reporter prints one line per suite naming the tool and the
 * package. CI installs the packages and sets REQUIRE_TOOLS_ENV, under which a
 * missing tool fails its tests instead.
 */
export const TOOL_PACKAGES = {
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  'redis-benchmark': 'redis-tools',
  'buildah': 'buildah',
  'script': 'bsdutils',
  'openssl': 'openssl',
} as const;

export type Tool = keyof typeof TOOL_PACKAGES;

/** Set (to any non-empty value) in CI: a missing tool is a failure, not a skip. */
export const REQUIRE_TOOLS_ENV = 'STATE_CACHE_REQUIRE_TOOLS';

/** Every skipped test's title carries this, so the reporter can count and explain it. */
export const SKIP_MARK = '[skipped:';

const found = new Map<string, boolean>();

/** True when `tool` is an executable file on PATH (looked up once per process). */
export function hasTool(tool: Tool): boolean {
  let ok = found.get(tool);
  if (ok === undefined) {
    ok = (process.env.PATH ?? '').split(delimiter).some((dir) => {
      try {
        accessSync(join(dir || '.', tool), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    found.set(tool, ok);
  }
  return ok;
}

/** What is missing, as the reporter and the strict failure say it. */
export function missingText(tools: readonly Tool[]): string {
  const packages = [...new Set(tools.map((t) => TOOL_PACKAGES[t]))];
  return `${tools.join(', ')} not found (apt-get install ${packages.join(' ')})`;
}

type TestFn = (name: string, fn?: jest.ProvidesCallback, timeout?: number) => void;
type DescribeFn = (name: string, fn: () => void) => void;

export interface ToolGate {
  /** The tools of this gate that are not installed. */
  readonly missing: readonly Tool[];
  /** `test` when every tool is there; otherwise a skip (or, under REQUIRE_TOOLS_ENV, a failure) that names them. */
  readonly test: TestFn;
  /** `describe` likewise; the block's hooks do not run when it is skipped. */
  readonly describe: DescribeFn;
}

/**
 * Gates tests on system tools: `const redis = needs('redis-server');
 * redis.test('...', async () => {...})`. Nothing gated ever starts a missing
 * binary, so no test runs into a timeout for want of one.
 */
export function needs(...tools: Tool[]): ToolGate {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) return { missing, test, describe };
  const text = missingText(missing);
  if (process.env[REQUIRE_TOOLS_ENV]) {
    const fail = () => {
      throw new Error(`${text}, and ${REQUIRE_TOOLS_ENV} is set: install the package or unset the variable to skip`);
    };
    return {
      missing,
      test: (name) => test(name, fail),
      describe: (name) => describe(name, () => test('has its tools', fail)),
    };
  }
  const mark = `${SKIP_MARK} ${text}]`;
  return {
    missing,
    test: (name) => test.skip(`${name} ${mark}`, () => undefined),
    describe: (name, fn) => describe.skip(`${name} ${mark}`, fn),
  };
}

#!/usr/bin/env node
import { Config, ConfigError, defaultConfig, loadConfig } from './config';
import { createLogger } from './log';
import { StateCache } from './server';

const USAGE = `usage: state-cache serve [--config FILE]
       state-cache check-config FILE

serve         runs the cache (RESP and HTTP); without --config, from memory on
              loopback with the documented defaults (docs/runtime-config.md)
check-config  validates FILE and prints every problem with its JSON path`;

/** Exit statuses: 0 ok, 1 runtime failure, 2 bad usage or config. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'check-config') {
    if (rest.length !== 1) return usage('check-config needs exactly one FILE');
    try {
      loadConfig(rest[0]);
    } catch (e) {
      return configFailure(e);
    }
    process.stdout.write(`${rest[0]}: valid\n`);
    return 0;
  }
  if (command === 'serve') {
    let file: string | undefined;
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === '--config' && i + 1 < rest.length) file = rest[++i];
      else if (rest[i].startsWith('--config=')) file = rest[i].slice('--config='.length);
      else return usage(`unknown argument for serve: ${rest[i]}`);
    }
    let config: Config;
    let cache: StateCache;
    try {
      config = file === undefined ? defaultConfig() : loadConfig(file);
      cache = new StateCache(config, { log: createLogger(file === undefined ? 'info' : loadConfig(file).log.level) });
    } catch (e) {
      return configFailure(e);
    }
    // Signal handlers go in before listening, so a signal right after start-up still drains.
    let stopping: Promise<number> | undefined;
    const stopped = new Promise<number>((resolve) => {
      const stop = (signal: string) => {
        if (stopping !== undefined) {
          cache.log.warn({ signal }, 'second signal: exiting now');
          resolve(1);
          return;
        }
        cache.log.info({ signal, timeoutSeconds: config.shutdown.timeoutSeconds }, 'shutting down: no new connections, finishing in-flight commands');
        stopping = cache.shutdown().then((ok) => {
          if (ok) cache.log.info('state-cache stopped');
          else cache.log.error({ timeoutSeconds: config.shutdown.timeoutSeconds }, 'shutdown deadline passed before everything finished');
          return ok ? 0 : 1;
        });
        void stopping.then(resolve);
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
    try {
      await cache.start();
    } catch (e) {
      if (stopping !== undefined) return stopped;
      cache.log.fatal({ err: e }, 'state-cache could not listen');
      return 1;
    }
    return stopped;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  return usage(`unknown command: ${command}`);
}

function usage(problem: string): number {
  process.stderr.write(`state-cache: ${problem}\n${USAGE}\n`);
  return 2;
}

function configFailure(e: unknown): number {
  if (e instanceof ConfigError) {
    process.stderr.write(`state-cache: ${e.message}\n`);
    return 2;
  }
  throw e;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write(`state-cache: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
}

#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { Config, ConfigError, defaultConfig, loadConfig } from './config';
import { ValueEncodingError } from './keyspace/types';
import { createLogger } from './log';
import { KeyspaceHooks, linksFromChain, Persistence } from './persistence';
import { replayDeadLetters } from './persistence/dead-letter-replay';
import { StateCache } from './server';
import { parseStoresConfig } from './stores/config';
import { readSecretFrom } from './stores/context';
import { createStores } from './stores/create';

const USAGE = `usage: state-cache serve [--config FILE]
       state-cache check-config FILE
       state-cache dead-letter replay --config FILE [--dry-run]

serve         runs the cache (RESP and HTTP); without --config, from memory on
              loopback with the documented defaults (docs/runtime-config.md)
check-config  validates FILE and prints every problem with its JSON path
dead-letter replay
              applies the entries of persistence.writeBehind.deadLetterPath to
              their stores again where their version is still the newest;
              reports applied / stale / failed, and renames the file only once
              every entry is accounted for (--dry-run: report, change nothing)`;

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
    let hooks: KeyspaceHooks;
    try {
      config = file === undefined ? defaultConfig() : loadConfig(file);
      // The hooks raise the client-facing errors of vocabulary.ts, which both front ends map.
      hooks = new KeyspaceHooks();
      cache = new StateCache(config, { hooks, log: createLogger(config.log.level) });
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
      // Stores and persistence start (purge, journal replay, preload) before
      // the listeners, so /readyz and clients see a complete keyspace.
      const expiration = config.expiry.defaultTtlSeconds > 0 || config.expiry.maxIdleSeconds > 0;
      const context = { logger: cache.log, readSecret: readSecretFrom(process.env), metrics: cache.registry };
      const passivation = config.persistence.passivation.enabled;
      const chain = await createStores(parseStoresConfig(config.stores), context, { expiration, passivation });
      const ks = cache.ks;
      const persistence = await Persistence.start({
        config: config.persistence,
        links: linksFromChain(chain.links),
        keyspace: {
          maxEntries: ks.maxEntries || Number.MAX_SAFE_INTEGER,
          maxBytes: ks.maxBytes,
          expiryInUse: expiration,
          applyEntry: (e) => {
            try {
              ks.insertLoaded(e);
            } catch (err) {
              // One unreadable stored value (corrupt, or from a newer encoding) must not stop the start: say which and go on.
              if (!(err instanceof ValueEncodingError)) throw err;
              cache.log.error({ err, key: e.key.toString('latin1').slice(0, 128) }, 'skipped a stored value this state-cache cannot read');
            }
            return true;
          },
          observeVersion: (v) => ks.versions.observe(v),
          coherent: ks,
        },
        registry: cache.registry,
        logger: cache.log,
      });
      hooks.attach(persistence);
      // Without persistence mode and stores, the keyspace skips the hooks (the memory-only fast paths).
      ks.hooksChanged();
    } catch (e) {
      if (e instanceof ConfigError) return configFailure(e);
      cache.log.fatal({ err: e }, 'state-cache could not start its persistence');
      return 1;
    }
    try {
      await cache.start();
    } catch (e) {
      if (stopping !== undefined) return stopped;
      cache.log.fatal({ err: e }, 'state-cache could not listen');
      return 1;
    }
    return stopped;
  }
  if (command === 'dead-letter') return deadLetter(rest);
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  return usage(`unknown command: ${command}`);
}

async function deadLetter(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'replay') return usage(`dead-letter needs the subcommand replay${sub === undefined ? '' : `, not ${sub}`}`);
  let file: string | undefined;
  let dryRun = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--config' && i + 1 < rest.length) file = rest[++i];
    else if (rest[i].startsWith('--config=')) file = rest[i].slice('--config='.length);
    else if (rest[i] === '--dry-run') dryRun = true;
    else return usage(`unknown argument for dead-letter replay: ${rest[i]}`);
  }
  if (file === undefined) return usage('dead-letter replay needs --config FILE (the config the server runs with)');
  let config: Config;
  try {
    config = loadConfig(file);
  } catch (e) {
    return configFailure(e);
  }
  const log = createLogger(config.log.level, 2);
  const path = config.persistence.writeBehind.deadLetterPath;
  if (!existsSync(path)) {
    process.stdout.write(`${path}: no dead-letter file, nothing to replay\n`);
    return 0;
  }
  const chain = await createStores(parseStoresConfig(config.stores), { logger: log, readSecret: readSecretFrom(process.env) });
  const stores = chain.links.map((l) => l.store);
  try {
    for (const store of stores) await store.start();
    const r = await replayDeadLetters(path, stores, { dryRun });
    for (const p of r.problems) process.stdout.write(`${p}\n`);
    const verb = dryRun ? 'would apply' : 'applied';
    process.stdout.write(`${path}: ${r.entries} entries: ${r.applied} ${verb}, ${r.stale} stale (a newer version is stored), ${r.failed} failed; `
      + (r.movedTo !== undefined ? `every entry accounted for, the file moved to ${r.movedTo}\n` : 'the file is left in place\n'));
    return r.failed === 0 ? 0 : 1;
  } catch (e) {
    process.stderr.write(`state-cache: dead-letter replay: ${(e as Error).message}\n`);
    return 1;
  } finally {
    for (const store of stores) await store.close().catch(() => undefined);
  }
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

import Ajv from 'ajv';
import { parsePersistenceConfig, PersistenceConfigSchema } from '../../src/persistence/config';

test('an empty section gets every default', () => {
  expect(parsePersistenceConfig({})).toEqual({
    mode: 'none',
    writeThrough: { maxBatchEntries: 1000 },
    writeBehind: {
      batchSize: 100,
      flushIntervalMs: 1000,
      maxPendingEntries: 100_000,
      maxPendingBytes: 64 * 1024 * 1024,
      whenFull: 'block',
      blockTimeoutMs: 5000,
      retry: { attempts: 8, baseDelayMs: 100, maxDelayMs: 30_000 },
      deadLetterPath: '/var/lib/state-cache/dead-letter.jsonl',
    },
    journal: { enabled: false, dir: '/var/lib/state-cache/journal', segmentBytes: 64 * 1024 * 1024, fsync: true },
    passivation: { enabled: false },
    preload: { enabled: false, timeBudgetMs: 30_000 },
    purgeOnStartup: false,
    readiness: { requireStores: false },
    shutdown: { flushDeadlineMs: 20_000 },
    coherence: { enabled: false, heartbeatMs: 1000, heartbeatTimeoutMs: 3000, maxUnvalidatedMs: 5000, onOutage: 'drop' },
  });
  expect(parsePersistenceConfig(undefined).mode).toBe('none');
});

test('given values are kept and the input is not modified', () => {
  const raw = { mode: 'write-behind', writeBehind: { batchSize: 5, whenFull: 'reject' } };
  const c = parsePersistenceConfig(raw);
  expect(c.writeBehind).toMatchObject({ batchSize: 5, whenFull: 'reject', flushIntervalMs: 1000 });
  expect(raw).toEqual({ mode: 'write-behind', writeBehind: { batchSize: 5, whenFull: 'reject' } });
});

test('an unknown mode is refused with its path', () => {
  expect(() => parsePersistenceConfig({ mode: 'write-around' })).toThrow(/^persistence config: \/mode: /);
});

test('a bad number and an unknown option are refused with their paths', () => {
  expect(() => parsePersistenceConfig({ writeBehind: { batchSize: 0 } })).toThrow('/writeBehind/batchSize: Expected integer to be greater or equal to 1');
  expect(() => parsePersistenceConfig({ journal: { fsynk: true } })).toThrow('/journal/fsynk: Unexpected property');
});

test('the schema is plain JSON Schema: ajv compiles it, and every option has a description and a default', () => {
  const ajv = new Ajv({ strict: false, useDefaults: true });
  const validate = ajv.compile(PersistenceConfigSchema);
  const data: Record<string, unknown> = {};
  expect(validate(data)).toBe(true);
  expect(data.mode).toBe('none');
  const missing: string[] = [];
  const walk = (schema: any, path: string): void => {
    for (const [name, prop] of Object.entries<any>(schema.properties ?? {})) {
      if (prop.type === 'object') walk(prop, `${path}/${name}`);
      else if (prop.description === undefined || prop.default === undefined) missing.push(`${path}/${name}`);
    }
  };
  walk(PersistenceConfigSchema, '');
  expect(missing).toEqual([]);
});

import { TestStore } from './helpers';
import { StoreLink } from '../../src/persistence/chain';
import { parsePersistenceConfig, PersistenceConfig } from '../../src/persistence/config';
import { PersistenceConfigError } from '../../src/persistence/errors';
import { validatePersistence } from '../../src/persistence/validate';
import { StoreCharacteristics } from '../../src/stores/store';

const link = (name: string, c: Partial<StoreCharacteristics> = {}, o: { required?: boolean; preload?: boolean } = {}): StoreLink =>
  ({ store: new TestStore(name, c), required: o.required ?? true, preload: o.preload ?? false });
const cfg = (raw: unknown): PersistenceConfig => parsePersistenceConfig(raw);

function problems(raw: unknown, links: StoreLink[], expiryInUse = false): string[] {
  try {
    validatePersistence(cfg(raw), links, { expiryInUse });
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(PersistenceConfigError);
    return (err as PersistenceConfigError).problems as string[];
  }
}

test('sound combinations pass', () => {
  expect(problems({}, [])).toEqual([]);
  expect(problems({ mode: 'write-through' }, [link('db')])).toEqual([]);
  expect(problems({ mode: 'write-behind', journal: { enabled: true }, passivation: { enabled: true }, preload: { enabled: true } },
    [link('file', {}, { preload: true })])).toEqual([]);
  expect(problems({ mode: 'write-through', purgeOnStartup: true }, [link('file'), link('seed', { readOnly: true, shareable: true })])).toEqual([]);
});

test('write-behind without a writable store', () => {
  expect(problems({ mode: 'write-behind' }, [link('seed', { readOnly: true })])).toEqual([
    'persistence.mode is write-behind but no writable store is configured: add a store that is not read-only, or set persistence.mode to none',
  ]);
});

test('write-through with only best-effort stores', () => {
  expect(problems({ mode: 'write-through' }, [link('remote', {}, { required: false })])).toEqual([
    'persistence.mode is write-through but every writable store (remote) is best-effort, so a write could be acknowledged that no store has: make at least one of them required',
  ]);
});

test('journal without write-behind', () => {
  expect(problems({ mode: 'write-through', journal: { enabled: true } }, [link('db')])).toEqual([
    'persistence.journal.enabled needs persistence.mode write-behind (it is write-through): the journal only covers writes acknowledged before the stores have them',
  ]);
});

test('passivation with a shared store, and with mode none', () => {
  expect(problems({ mode: 'write-behind', passivation: { enabled: true } }, [link('pg', { shareable: true })])).toEqual([
    'persistence.passivation.enabled with shared store(s) pg: another instance may change an entry while it is passivated, so its memory copy would be stale; use a store only this instance writes',
  ]);
  expect(problems({ passivation: { enabled: true } }, [link('file')])).toEqual([
    'persistence.passivation.enabled needs persistence.mode write-through or write-behind: with mode none the stores would keep stale copies of passivated entries',
  ]);
});

test('purge on startup with a shared store', () => {
  expect(problems({ mode: 'write-through', purgeOnStartup: true }, [link('pg', { shareable: true })])).toEqual([
    "persistence.purgeOnStartup with shared store(s) pg: purging would delete other instances' entries; turn purgeOnStartup off or use non-shared stores",
  ]);
});

test('preload without a preload store, and purge of the preload store', () => {
  expect(problems({ preload: { enabled: true } }, [link('file')])).toEqual([
    'persistence.preload.enabled but no store is marked for preload: mark one store with preload: true, or turn preload off',
  ]);
  expect(problems({ mode: 'write-through', preload: { enabled: true }, purgeOnStartup: true }, [link('file', {}, { preload: true })])).toEqual([
    'persistence.purgeOnStartup empties store file before preload reads it: turn one of them off',
  ]);
});

test('expiry with a store that cannot keep it', () => {
  expect(problems({ mode: 'write-behind' }, [link('plain', { supportsTtl: false })], true)).toEqual([
    'entries expire but store(s) plain cannot keep expiry (an expired entry would come back): use a store with TTL support or turn expiry off',
  ]);
  expect(problems({ mode: 'write-behind' }, [link('plain', { supportsTtl: false })], false)).toEqual([]);
});

test('retry and batch bounds that cannot work', () => {
  expect(problems({ mode: 'write-behind', writeBehind: { batchSize: 50, maxPendingEntries: 10, retry: { baseDelayMs: 500, maxDelayMs: 100 } } }, [link('file')])).toEqual([
    'persistence.writeBehind.retry.baseDelayMs (500) is larger than maxDelayMs (100): lower baseDelayMs or raise maxDelayMs',
    'persistence.writeBehind.batchSize (50) is larger than maxPendingEntries (10): a full batch could never form',
  ]);
});

test('every problem is reported at once, in one error message', () => {
  expect(() => validatePersistence(cfg({ mode: 'write-through', journal: { enabled: true }, purgeOnStartup: true }), [link('pg', { shareable: true })], { expiryInUse: false }))
    .toThrow('invalid persistence configuration:\n- persistence.journal.enabled needs persistence.mode write-behind (it is write-through): the journal only covers writes acknowledged before the stores have them\n- persistence.purgeOnStartup with shared store(s) pg');
});

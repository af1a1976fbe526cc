import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { b, collect, entry, strings, testContext } from './helpers';
import { TestStateCache } from './servers';
import { createStores, parseStoresConfig, StoreChain, StoreConfigError, StoreUnavailableError } from '../../src/stores';

const memoryModule = join(__dirname, '..', 'fixtures', 'memory-store.js');
let root: string;
/** The remote links' server: a state-cache process (the links write unversioned, the path these tests cover). */
let peer: TestStateCache;
let downPort: number;
const chains: StoreChain[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'chain-'));
  peer = await TestStateCache.start();
  const down = await TestStateCache.start();
  downPort = down.port;
  await down.close(); // nothing listens there any more
});

afterAll(async () => {
  for (const c of chains) await c.close();
  await peer?.close();
  rmSync(root, { recursive: true, force: true });
});

let dirs = 0;
const file = (name = 'local') => ({ type: 'file', name, directory: join(root, `db-${++dirs}`), sync: false });
const memory = (options: Record<string, unknown> = {}, name = 'memory') => ({ type: 'custom', name, module: memoryModule, options });
const remote = (port: number, name = 'cache-redis', extra: Record<string, unknown> = {}) => ({
  type: 'remote', name, nodes: [{ host: '127.0.0.1', port }], keyPrefix: `${name}:`, connectTimeoutMs: 500, versioning: 'none', ...extra,
});

async function chain(links: unknown[], opts: { start?: boolean; registry?: Registry; requirements?: Record<string, boolean> } = {}) {
  const { context, logs } = testContext();
  const c = await createStores(parseStoresConfig({ chain: links }), { ...context, metrics: opts.registry }, opts.requirements);
  chains.push(c);
  if (opts.start !== false) await c.start();
  return { chain: c, logs };
}

const store = (c: StoreChain, name: string) => c.links.find((l) => l.store.name === name)!.store;

describe('reads', () => {
  test('go through the stores in order: the first hit wins, later stores fill the gaps', async () => {
    const { chain: c } = await chain([
      { store: file() },
      { store: memory({ seed: [{ key: 'both', value: 'from memory' }, { key: 'only-memory', value: 'm' }] }), readOnly: true },
    ]);
    await store(c, 'local').writeBatch([entry('both', 'from file', 1)]);
    expect((await c.loadMany([b('both'), b('only-memory'), b('nowhere')])).map(strings)).toEqual([
      ['both', 'from file', 1, 0], ['only-memory', 'm', 1, 0], undefined,
    ]);
  });

  test('an expired entry from a store that does not enforce expiry is not returned', async () => {
    const { chain: c } = await chain([{ store: memory({ supportsTtl: false, seed: [{ key: 'old', value: 'x', expiresAt: Date.now() - 1 }] }), readOnly: true }]);
    expect(await store(c, 'memory').load(b('old'))).toBeDefined(); // the store itself returns it
    expect(await c.load(b('old'))).toBeUndefined();
  });
});

describe('writes', () => {
  test('go to every writable store and never to a read-only link', async () => {
    const { chain: c } = await chain([{ store: file() }, { store: remote(peer.port) }, { store: memory(), readOnly: true }]);
    expect(await c.writeBatch([entry('w', 'v', 1)])).toEqual({ rejected: [] });
    expect((await store(c, 'local').load(b('w')))?.value.toString()).toBe('v');
    expect((await store(c, 'cache-redis').load(b('w')))?.value.toString()).toBe('v');
    expect(await store(c, 'memory').load(b('w'))).toBeUndefined();
    await c.deleteBatch([{ key: b('w'), version: 1 }]);
    expect(await store(c, 'local').load(b('w'))).toBeUndefined();
    expect(await store(c, 'cache-redis').load(b('w'))).toBeUndefined();
  });

  test('a best-effort store that is down is logged and counted, not raised', async () => {
    const registry = new Registry();
    const { chain: c, logs } = await chain([{ store: file() }, { store: remote(downPort, 'gone'), mode: 'bestEffort' }], { registry });
    expect(await c.writeBatch([entry('k', 'v', 1)])).toEqual({ rejected: [] });
    expect((await store(c, 'local').load(b('k')))?.value.toString()).toBe('v');
    expect(await c.load(b('missing'))).toBeUndefined();
    await expect(c.ping()).resolves.toBeUndefined();
    const counts = Object.fromEntries((await c.bestEffortFailures.get()).values.map((v) => [`${v.labels.store}/${v.labels.operation}`, v.value]));
    expect(counts).toEqual({ 'gone/start': 1, 'gone/write': 1, 'gone/load': 1, 'gone/ping': 1 });
    expect(await registry.metrics()).toContain('state_cache_store_best_effort_failures_total{store="gone",operation="write"} 1');
    const warn = logs.find((l) => l.msg === 'best-effort store failed (write); going on without it');
    expect(warn).toMatchObject({ level: 40, store: 'gone', operation: 'write' });
    expect(String(warn!.err)).toMatch(/^store gone unavailable: write failed: /);
  });

  test('a required store that fails raises its error, after the best-effort stores got the write', async () => {
    const { chain: c } = await chain([{ store: memory() }, { store: file(), mode: 'bestEffort' }]);
    await store(c, 'memory').close(); // the example store refuses everything once closed
    const err = await c.writeBatch([entry('k', 'v', 1)]).catch((e) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toBe('store memory unavailable: writeBatch failed: memory store is not open');
    expect((await store(c, 'local').load(b('k')))?.value.toString()).toBe('v');
    await expect(c.load(b('k'))).rejects.toThrow('store memory unavailable: loadMany failed: memory store is not open');
  });

  test('keys a required store refuses come back; a best-effort store\'s refusals are counted', async () => {
    const { chain: c } = await chain([
      { store: memory({ maxValueBytes: 4 }, 'strict') },
      { store: memory({ maxValueBytes: 2 }, 'tiny'), mode: 'bestEffort' },
    ]);
    const res = await c.writeBatch([entry('a', 'ab', 1), entry('b', 'abc', 1), entry('c', 'abcde', 1)]);
    expect(res.rejected.map((r) => [r.key.toString(), r.error.message])).toEqual([['c', 'value of 5 bytes exceeds 4']]);
    const counts = (await c.bestEffortFailures.get()).values.map((v) => [v.labels.store, v.labels.operation, v.value]);
    expect(counts).toEqual([['tiny', 'write-rejected', 2]]);
  });
});

test('iterate reads the preload store and skips expired entries', async () => {
  const { chain: c } = await chain([
    { store: memory({ seed: [{ key: 'x', value: 'first store' }] }, 'first') },
    { store: file(), preload: true },
  ]);
  await store(c, 'local').writeBatch([entry('p1', 'a', 1), entry('p2', 'b', 1, Date.now() - 1), entry('p3', 'c', 1, Date.now() + 60_000)]);
  expect(c.preloadLink?.store.name).toBe('local');
  expect((await collect(c)).map((e) => e.key.toString()).sort()).toEqual(['p1', 'p3']);
});

test('clear empties the stores of this instance but never a shared one', async () => {
  const { chain: c, logs } = await chain([{ store: file() }, { store: remote(peer.port, 'shared') }]);
  await c.writeBatch([entry('c', 'v', 1)]);
  await c.clear();
  expect(await store(c, 'local').load(b('c'))).toBeUndefined();
  expect((await store(c, 'shared').load(b('c')))?.value.toString()).toBe('v');
  expect(logs.find((l) => l.msg === 'shared store not cleared')).toMatchObject({ store: 'shared' });
});

test('characteristics are derived from the links', async () => {
  const local = await chain([{ store: file() }], { start: false });
  expect(local.chain.characteristics).toEqual({ shareable: false, supportsTtl: true, versioned: true, readOnly: false });
  const mixed = await chain([{ store: file() }, { store: remote(peer.port, 'unversioned', { versioning: 'none' }) }], { start: false });
  expect(mixed.chain.characteristics).toEqual({ shareable: true, supportsTtl: true, versioned: false, readOnly: false });
  const seedOnly = await chain([{ store: memory({ supportsTtl: false }), readOnly: true }], { start: false });
  expect(seedOnly.chain.characteristics).toEqual({ shareable: false, supportsTtl: false, versioned: true, readOnly: true });
});

test('an empty chain is a valid, read-only chain that holds nothing', async () => {
  const { chain: c } = await chain([]);
  expect(c.characteristics.readOnly).toBe(true);
  expect(await c.load(b('x'))).toBeUndefined();
  expect(await collect(c)).toEqual([]);
});

describe('impossible combinations are refused before anything starts', () => {
  const refused = async (links: unknown[], requirements?: Record<string, boolean>) => {
    const err = await chain(links, { start: false, requirements }).catch((e) => e);
    expect(err).toBeInstanceOf(StoreConfigError);
    return err.message as string;
  };

  test('a read-only store on a link that would write to it', async () => {
    expect(await refused([{ store: memory({ readOnly: true }, 'seed'), mode: 'required' }])).toBe(
      'store seed: the store is read-only, but its chain link would write to it (mode "required"); set "readOnly": true on the link');
  });

  test('expiring entries on a store that cannot keep expiry', async () => {
    expect(await refused([{ store: memory({ supportsTtl: false }, 'no-ttl') }], { expiration: true })).toBe(
      'store no-ttl: entries expire, but this store cannot keep expiry (supportsTtl: false), so it would hold them forever; '
      + 'use a store that keeps expiry, mark the link "readOnly", or turn expiration off');
  });

  test('passivation with a shared store', async () => {
    expect(await refused([{ store: file() }, { store: remote(peer.port, 'shared') }], { passivation: true })).toBe(
      'store shared: passivation needs a store of this instance alone, but this store is shared (other instances may change an evicted entry '
      + 'behind this one\'s back); use a file store for passivation or turn passivation off');
  });

  test('a postgres pool that keeps more connections than it may open', async () => {
    const pg = { type: 'postgres', name: 'db', host: '127.0.0.1', database: 'app', user: 'cache', poolSize: 4, poolMin: 5 };
    expect(await refused([{ store: pg }])).toBe(
      'store db: "poolMin" 5 is more than "poolSize" 4; the pool never opens more than poolSize connections: lower poolMin or raise poolSize');
  });

  test('a file directory that cannot be written', async () => {
    const plain = join(root, 'a-file');
    writeFileSync(plain, 'x');
    expect(await refused([{ store: { type: 'file', name: 'disk', directory: join(plain, 'db') } }])).toBe(
      `store disk: directory ${join(plain, 'db')} is not writable (ENOTDIR); mount a writable volume there (e.g. a PersistentVolumeClaim) or fix "directory"`);
    // /sys refuses new files even to root, like a read-only volume.
    expect(await refused([{ store: { type: 'file', name: 'disk', directory: '/sys' } }])).toMatch(
      /^store disk: directory \/sys is not writable \((EACCES|EPERM|EROFS)\); mount a writable volume there/);
  });

  test('several problems are reported together', async () => {
    const dir = join(root, 'same');
    expect(await refused([
      { store: { type: 'file', name: 'a', directory: dir }, preload: true },
      { store: { type: 'file', name: 'a', directory: dir }, preload: true },
      { store: remote(peer.port, 'clustered', { mode: 'cluster', database: 2 }) },
    ])).toBe([
      'store chain: 4 problems:',
      'store a: the name is used by chain links 0 and 1; give each store its own name',
      `store a: directory ${dir} is also the directory of store a; LevelDB allows one store per directory: give each its own`,
      'store clustered: "database" is 2, but a Redis cluster has database 0 only; remove "database" or use mode "single"',
      'store chain: stores a, a all set preload; memory is filled from one store: keep "preload" on one link',
    ].join('\n'));
  });
});

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { storeContract } from './contract';
import { b, entry, sleep, strings, testContext } from './helpers';
import { FileStoreConfig, parseStoresConfig } from '../../src/stores/config';
import { createFileStore, decodeFileValue, encodeFileValue, FileStore } from '../../src/stores/file';
import { StoreUnavailableError } from '../../src/stores/store';

const root = mkdtempSync(join(tmpdir(), 'file-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fileStore(directory: string, extra: Record<string, unknown> = {}): FileStore {
  const config = parseStoresConfig({ chain: [{ store: { type: 'file', name: 'local', directory, ...extra } }] }).chain[0].store;
  if (config.type !== 'file') throw new Error('not a file config');
  return createFileStore(config, testContext().context);
}

describe('file store contract', () => {
  let store: FileStore;
  beforeAll(async () => {
    store = fileStore(join(root, 'contract'));
    await store.start();
  });
  beforeEach(() => store.clear());
  afterAll(() => store.close());
  storeContract(() => store);
});

test('the value layout: format byte, version, expiry, value', () => {
  const raw = encodeFileValue(entry('k', 'hello', 0x0102030405, 0x0a0b0c0d0e));
  expect(raw.toString('hex')).toBe('01' + '0000000102030405' + '0000000a0b0c0d0e' + Buffer.from('hello').toString('hex'));
  expect(decodeFileValue(b('k'), raw)).toEqual({ key: b('k'), value: b('hello'), version: 0x0102030405, expiresAt: 0x0a0b0c0d0e });
  expect(() => decodeFileValue(b('k'), Buffer.from([2, 0, 0]))).toThrow('entry 6b has an unknown layout (format byte 2, 3 bytes)');
});

test('an unreadable value is logged, treated as absent, and replaced by the next write', async () => {
  const dir = join(root, 'damaged');
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  await db.put(b('bad'), Buffer.from('not an entry'));
  await db.close();
  const { context, logs } = testContext();
  const config = parseStoresConfig({ chain: [{ store: { type: 'file', name: 'local', directory: dir } }] }).chain[0].store;
  const s = createFileStore(config as FileStoreConfig, context);
  await s.start();
  expect(await s.load(b('bad'))).toBeUndefined();
  expect(logs.find((l) => l.level === 50)).toMatchObject({
    msg: 'unreadable entry in the file store: treated as absent, the next write of the key replaces it',
    key: b('bad').toString('hex'),
    err: 'entry 626164 has an unknown layout (format byte 110, 12 bytes)',
  });
  await s.writeBatch([entry('bad', 'good', 1)]);
  expect((await s.load(b('bad')))?.value.toString()).toBe('good');
  await s.close();
});

test('entries survive a close and reopen, and the defaults sync each batch', async () => {
  const dir = join(root, 'reopen');
  const s1 = fileStore(dir);
  expect(s1.config.sync).toBe(true);
  await s1.start();
  await s1.writeBatch([entry('p', 'persisted', 3)]);
  await s1.close();
  const s2 = fileStore(dir);
  await s2.start();
  expect((await s2.load(b('p')))?.value.toString()).toBe('persisted');
  await s2.close();
});

test('an expired entry read once is deleted from LevelDB', async () => {
  const dir = join(root, 'lazy');
  const s = fileStore(dir);
  await s.start();
  await s.writeBatch([entry('old', 'x', 1, Date.now() + 100), entry('keep', 'y', 1)]);
  await sleep(150);
  expect(await s.load(b('old'))).toBeUndefined();
  await sleep(50); // the lazy delete runs after the read returns
  await s.close();
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const keys = (await db.keys().all()).map((k) => k.toString());
  await db.close();
  expect(keys).toEqual(['keep']);
});

test('a second process on the same directory gets a distinct error naming the fix', async () => {
  const dir = join(root, 'locked');
  const s1 = fileStore(dir);
  await s1.start();
  const s2 = fileStore(dir);
  const err = await s2.start().catch((e) => e);
  expect(err).toBeInstanceOf(StoreUnavailableError);
  expect(err.message).toBe(`store local unavailable: directory ${dir} is locked by another process; a file store cannot be shared: give each replica its own volume`);
  await s1.close();
});

test('operations on a closed store raise StoreUnavailableError', async () => {
  const s = fileStore(join(root, 'closed'));
  await s.start();
  await s.close();
  await expect(s.ping()).rejects.toThrow('store local unavailable: database is closed');
  await expect(s.writeBatch([entry('a', 'b', 1)])).rejects.toBeInstanceOf(StoreUnavailableError);
  await expect(s.load(b('a'))).rejects.toThrow(/^store local unavailable: read failed \(LEVEL_DATABASE_NOT_OPEN\)/);
  await s.start(); // opened again, it works
  await s.writeBatch([entry('a', 'back', 1)]);
  expect((await s.load(b('a')))?.value.toString()).toBe('back');
  await s.close();
});

test('concurrent batches for one key: the highest version wins whatever the order they run in', async () => {
  const s = fileStore(join(root, 'concurrent'));
  await s.start();
  const versions = [5, 9, 1, 7, 3, 8, 2, 6, 4];
  await Promise.all(versions.map((v) => s.writeBatch([entry('hot', `v${v}`, v)])));
  expect(strings(await s.load(b('hot')))).toEqual(['hot', 'v9', 9, 0]);
  await s.close();
});

test('a directory that cannot be created is a config error', async () => {
  const file = join(root, 'plain-file');
  writeFileSync(file, 'x');
  const s = fileStore(join(file, 'db'));
  await expect(s.start()).rejects.toThrow(`store local: cannot create directory ${join(file, 'db')} (ENOTDIR); mount a writable volume there`);
  chmodSync(file, 0o644);
});

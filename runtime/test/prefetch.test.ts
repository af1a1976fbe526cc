/* eslint-disable @typescript-eslint/no-floating-promises */ // memory-only keyspaces apply writes synchronously
import { startTestServer } from './helpers';
import { RawClient } from './resp-raw';
import { Keyspace } from '../src/keyspace/keyspace';
import { HashValue, ListValue, T_HASH, T_LIST, T_ZSET, ZSetValue } from '../src/keyspace/types';
import { firstArgs } from '../src/protocol/resp';
import { StateCache } from '../src/server';

/*
 * Pipelined commands have their keys prefetched (Keyspace.prefetch, found by
 * resp.firstArgs): a look-ahead that must find the right bytes and change
 * nothing.
 */

function resp(...cmds: string[][]): Buffer {
  return Buffer.from(cmds.map((c) => `*${c.length}\r\n${c.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`).join(''), 'latin1');
}

function found(buf: Buffer, max = 16, pos = 0, end = buf.length): string[] {
  return foundArgs(buf, max, pos, end).map(([first]) => first);
}

/** Each command's first, second and last argument (null: none). */
function foundArgs(buf: Buffer, max = 16, pos = 0, end = buf.length): Array<[string, string | null, string | null]> {
  const out = new Int32Array(2 * max);
  const members = new Int32Array(4 * max).fill(7); // not what it writes: a missing write shows
  const n = firstArgs(buf, pos, end, out, members, max);
  const arg = (at: number) => (members[at] < 0 ? (members[at + 1] === -1 ? null : 'bad end') : buf.latin1Slice(members[at], members[at + 1]));
  return Array.from({ length: n }, (_, i) => [buf.latin1Slice(out[2 * i], out[2 * i + 1]), arg(4 * i), arg(4 * i + 2)]);
}

/** The words one after another, then `garbage`; where each word starts. */
function wordsThenGarbage(words: string[], garbage: string): { buf: Buffer; offsets: number[] } {
  const offsets: number[] = [];
  let len = 0;
  for (const w of words) {
    offsets.push(len);
    len += w.length;
  }
  return { buf: Buffer.from(words.join('') + garbage, 'latin1'), offsets };
}

test('firstArgs finds the first argument of each whole multibulk command, and only of whole ones', () => {
  const cmds = [['SET', 'k1', 'v'], ['PING'], ['GET', 'key:000000000042'], ['GET', ''], ['MGET', 'a', 'b'], ['SET', 'k9', 'x'.repeat(300)]];
  const buf = resp(...cmds);
  const firsts = cmds.filter((c) => c.length > 1).map((c) => c[1]);
  expect(found(buf)).toEqual(firsts);
  expect(found(buf, 2)).toEqual(firsts.slice(0, 2));
  // Cut anywhere, it finds exactly the commands that are whole before the cut.
  const ends: number[] = [];
  for (let i = 0, at = 0; i < cmds.length; i++) ends.push(at += resp(cmds[i]).length);
  for (let cut = 0; cut <= buf.length; cut++) {
    const whole = cmds.filter((c, i) => ends[i] <= cut && c.length > 1).length;
    expect(found(buf, 16, 0, cut)).toEqual(firsts.slice(0, whole));
  }
  // Inline commands and malformed input stop it without throwing.
  expect(found(Buffer.from('GET k1\r\n*2\r\n$3\r\nGET\r\n$2\r\nk2\r\n'))).toEqual([]);
  expect(found(Buffer.concat([resp(['GET', 'k1']), Buffer.from('*2\r\n+3\r\nGET\r\n'), resp(['GET', 'k2'])]))).toEqual(['k1']);
  expect(found(Buffer.from('*-1\r\n*x\r\n$\r\n'))).toEqual([]);
});

test('firstArgs also gives each command\'s second and last argument, or none', () => {
  const buf = resp(['HSET', 'h', 'f1', 'v'], ['GET', 'k'], ['HGET', 'h', ''], ['ZADD', 'z', 'NX', '1', 'm'], ['HGET', 'h', 'f2']);
  expect(foundArgs(buf)).toEqual([['h', 'f1', 'v'], ['k', null, null], ['h', '', ''], ['z', 'NX', 'm'], ['h', 'f2', 'f2']]);
});

test('prefetch reads only: keys present, absent and garbage ranges leave every entry and counter as it was', () => {
  const ks = new Keyspace();
  const keys: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const k = `key:${i}`;
    keys.push(k);
    // Every chunk class the prefetch reaches: short, multi-line and big (own Buffer) values.
    ks.set(k, i % 1000 === 0 ? Buffer.alloc(2 * 1024 * 1024, i % 256) : 'v'.repeat(i % 700), 0);
  }
  for (let i = 0; i < 20_000; i += 7) ks.delete([keys[i]]);
  const snapshot = () => keys.map((k) => {
    const slot = ks.find(k, false);
    if (slot < 0) return null;
    const v = ks.value(slot);
    return typeof v === 'string' ? v : v.toString('latin1'); // strings: jest compares 2 MiB Buffers element by element
  });
  const before = snapshot();
  const stats = JSON.stringify(ks.stats);
  // The keys (some deleted), keys never written, then random bytes; ranges over all of it.
  const words = [...keys, ...keys.map((k) => `absent:${k}`)];
  const { buf, offsets } = wordsThenGarbage(words, '\x00\xff\r\n*2$3 garbage');
  const ranges = new Int32Array(2 * 48);
  for (let round = 0; round < 2_000; round++) {
    const n = 2 + (round % 47); // past the 32 keys it looks at, too
    for (let j = 0; j < n; j++) {
      const w = (round * 37 + j * 101) % words.length;
      const garbage = (round + j) % 5 === 0;
      const start = garbage ? (round * 13 + j * 7) % buf.length : offsets[w];
      ranges[2 * j] = start;
      ranges[2 * j + 1] = Math.min(buf.length, start + (garbage ? j % 20 : words[w].length));
    }
    ks.prefetch(buf, ranges, n);
  }
  expect(JSON.stringify(ks.stats)).toBe(stats);
  expect(snapshot()).toEqual(before);
});

test('prefetch of members reads only: hash fields and sorted-set members present, absent, keys of other types and garbage leave every value as it was', () => {
  const ks = new Keyspace();
  // A large hash (indexed), a small one (scanned), a large sorted set (indexed), a small one, a list, a string, an absent key.
  const w = ks.typedWrite(false);
  const h0 = w.open<HashValue>('h0', T_HASH, true)!;
  for (let i = 0; i < 5000; i++) h0.set(`field:${i}`, `value:${i}`);
  w.open<HashValue>('h1', T_HASH, true)!.set('only', 'one');
  const z0 = w.open<ZSetValue>('z0', T_ZSET, true)!;
  for (let i = 0; i < 5000; i++) z0.set(`field:${i}`, i / 7);
  w.open<ZSetValue>('z1', T_ZSET, true)!.set('only', 1);
  w.open<ListValue>('l', T_LIST, true)!.pushLeft('x');
  w.commit();
  ks.set('s', 'string', 0);
  for (let i = 0; i < 5000; i += 3) {
    const d = ks.typedWrite(false);
    d.open<HashValue>('h0', T_HASH, false)!.delete(`field:${i}`);
    d.open<ZSetValue>('z0', T_ZSET, false)!.delete(`field:${i}`);
    d.commit();
  }
  const at = (k: string) => ks.typedAt(ks.find(k, false)); // no touch, no hit counted
  const snapshot = () => JSON.stringify({
    stats: ks.stats,
    h0: (at('h0') as HashValue).entries(),
    h1: (at('h1') as HashValue).entries(),
    z0: (at('z0') as ZSetValue).slice(0, Infinity).map((n) => [n.m, n.s]),
    z1: (at('z1') as ZSetValue).slice(0, Infinity).map((n) => [n.m, n.s]),
  });
  const before = snapshot();
  const keys = ['h0', 'h1', 'z0', 'z1', 'l', 's', 'absent'];
  const fields = ['field:1', 'field:3', 'field:4999', 'only', 'nothing', ''];
  const { buf, offsets } = wordsThenGarbage([...keys, ...fields], '\x00\xff garbage');
  const ranges = new Int32Array(2 * 40);
  const members = new Int32Array(4 * 40);
  // A second or last argument: none, garbage, or one of the fields.
  const pickArg = (pick: number, salt: number, into: number) => {
    if (pick === fields.length) {
      members[into] = -1;
      members[into + 1] = -1;
    } else if (pick === fields.length + 1) {
      members[into] = salt % buf.length;
      members[into + 1] = Math.min(buf.length, members[into] + (salt % 9));
    } else {
      members[into] = offsets[keys.length + pick];
      members[into + 1] = members[into] + fields[pick].length;
    }
  };
  for (let round = 0; round < 2_000; round++) {
    const n = 2 + (round % 39);
    for (let j = 0; j < n; j++) {
      const k = (round + j) % keys.length;
      ranges[2 * j] = offsets[k];
      ranges[2 * j + 1] = offsets[k] + keys[k].length;
      pickArg((round * 7 + j * 3) % (fields.length + 2), round * 13 + j, 4 * j);
      pickArg((round * 5 + j * 11) % (fields.length + 2), round * 17 + j, 4 * j + 2);
    }
    ks.prefetch(buf, ranges, n, members);
  }
  expect(snapshot()).toBe(before);
});

describe('a pipeline longer than the look-ahead window', () => {
  let server: StateCache;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  test('answers every command in order, across windows, databases and commands without keys', async () => {
    const c = await RawClient.open(server.respPort);
    try {
      const cmds: string[][] = [];
      const want: string[] = [];
      for (let i = 0; i < 100; i++) {
        cmds.push(['SET', `p:${i}`, `v${i}`]);
        want.push('+OK\r\n');
      }
      for (let i = 0; i < 100; i++) {
        if (i % 10 === 0) {
          cmds.push(['PING']);
          want.push('+PONG\r\n');
        }
        if (i === 50) {
          cmds.push(['SELECT', '1'], ['GET', 'p:1'], ['SET', 'p:1', 'db1'], ['GET', 'p:1'], ['SELECT', '0']);
          want.push('+OK\r\n', '$-1\r\n', '+OK\r\n', '$3\r\ndb1\r\n', '+OK\r\n');
        }
        cmds.push(['GET', `p:${i}`], ['INCR', `n:${i % 3}`]);
        want.push(`$${`v${i}`.length}\r\nv${i}\r\n`, `:${Math.floor(i / 3) + 1}\r\n`);
      }
      expect(await c.run(cmds)).toEqual(want);
    } finally {
      c.close();
    }
  });
});

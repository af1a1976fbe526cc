/**
 * When blocked clients are served, pinned: every scenario's replies as redis-server 7.0.15 gave them
 * (RESP2, from an empty database). Redis serves blocked clients after a whole command: after EXEC,
 * after a script, and after each command of a pipeline (not after the whole batch), so a waiter sees
 * a key as the transaction or script left it. The first block checks state-cache against the pins;
 * the second (needs redis-server) replays them on redis-server to show they are Redis's own replies.
 */
import { startTestServer } from './helpers';
import { blockingScenario, Words } from './resp-raw';
import { referenceRedis } from './stores/servers';
import { needs } from './tools';
import { StateCache } from '../src/server';

interface Scenario {
  readonly name: string;
  /** setup, blockers (one connection each, blocked in this order), then (another connection), pipelined? */
  readonly run: [setup: Words[], blockers: Words[], then: Words[], pipelined?: boolean];
  /** Every reply: setup's, then's, the blockers' last. */
  readonly want: string[];
}

const bulk = (s: string): string => `$${s.length}\r\n${s}\r\n`;

/** 1500 entries added by one transaction; XREAD blocked without COUNT gets 1000 of them (Redis's XREAD_BLOCKED_DEFAULT_COUNT), with COUNT all it asks. */
function manyEntries(count: string[]): Scenario {
  const ids = Array.from({ length: 1500 }, (_, i) => `${i + 1}-0`);
  const entries = (n: number) => `*${n}\r\n${ids.slice(0, n).map((id, i) => `*2\r\n${bulk(id)}*2\r\n${bulk('f')}${bulk(String(i))}`).join('')}`;
  const got = count.length === 0 ? 1000 : 1500;
  return {
    name: `XREAD BLOCK ${count.length === 0 ? 'without COUNT gets 1000' : 'with COUNT 2000 gets all 1500'} of the entries one transaction added`,
    run: [[], [['xread', ...count, 'block', '0', 'streams', 's', '$']], ['multi', ...ids.map((id, i) => `xadd s ${id} f ${i}`), 'exec'], true],
    want: ['+OK\r\n', ...ids.map(() => '+QUEUED\r\n'), `*1500\r\n${ids.map(bulk).join('')}`, `*1\r\n*2\r\n${bulk('s')}${entries(got)}`],
  };
}

const SCENARIOS: Scenario[] = [
  {
    name: 'A transaction that pushes and deletes wakes nobody: the waiter gets the next push',
    run: [[], ['blpop l 0'], ['multi', 'lpush l a', 'del l', 'exec', 'rpush l z']],
    want: ['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n:1\r\n:1\r\n', ':1\r\n', '*2\r\n$1\r\nl\r\n$1\r\nz\r\n'],
  },
  {
    name: 'a waiter sees the list as the transaction left it (RPUSH a b; LPOP hands it b)',
    run: [[], ['blpop l 0'], ['multi', 'rpush l a b', 'lpop l', 'exec', 'lrange l 0 -1']],
    want: ['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n:2\r\n$1\r\na\r\n', '*0\r\n', '*2\r\n$1\r\nl\r\n$1\r\nb\r\n'],
  },
  {
    name: 'waiters are served after EXEC, first come first served, from what is left',
    run: [[], ['blpop l 0', 'brpop l 0'], ['multi', 'rpush l a', 'rpush l b', 'rpush l c', 'exec', 'lrange l 0 -1']],
    want: ['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*3\r\n:1\r\n:2\r\n:3\r\n', '*1\r\n$1\r\nb\r\n', '*2\r\n$1\r\nl\r\n$1\r\na\r\n', '*2\r\n$1\r\nl\r\n$1\r\nc\r\n'],
  },
  {
    name: 'BLMOVE served after EXEC wakes the waiter of its destination after it',
    run: [[], ['blmove src dst left right 0', 'blpop dst 0'], ['multi', 'rpush src a', 'rpush dst x', 'exec', 'lrange dst 0 -1']],
    want: ['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n:1\r\n:1\r\n', '*1\r\n$1\r\na\r\n', '$1\r\na\r\n', '*2\r\n$3\r\ndst\r\n$1\r\nx\r\n'],
  },
  {
    name: 'BZPOPMIN sees the sorted set as the transaction left it',
    run: [[], ['bzpopmin z 0'], ['multi', 'zadd z 1 a 2 b', 'zpopmin z', 'exec', 'zrange z 0 -1']],
    want: ['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n:2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n', '*0\r\n', '*3\r\n$1\r\nz\r\n$1\r\nb\r\n$1\r\n2\r\n'],
  },
  {
    name: 'XREAD BLOCK gets every entry the transaction added',
    run: [[], ['xread block 0 streams s $'], ['multi', 'xadd s 1-0 a 1', 'xadd s 2-0 b 2', 'exec']],
    want: ['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n$3\r\n1-0\r\n$3\r\n2-0\r\n', '*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n'],
  },
  {
    name: "a script's pushes are served after it: the waiter sees what it left",
    run: [[], ['blpop l 0'], [['eval', "redis.call('rpush', KEYS[1], 'a', 'b') redis.call('lpop', KEYS[1]) return redis.call('lrange', KEYS[1], 0, -1)", '1', 'l'], 'lrange l 0 -1']],
    want: ['*1\r\n$1\r\nb\r\n', '*0\r\n', '*2\r\n$1\r\nl\r\n$1\r\nb\r\n'],
  },
  {
    name: 'a script that pushes and deletes wakes nobody',
    run: [[], ['blpop l 0'], [['eval', "redis.call('rpush', KEYS[1], 'a') redis.call('del', KEYS[1]) return 1", '1', 'l'], 'rpush l z']],
    want: [':1\r\n', ':1\r\n', '*2\r\n$1\r\nl\r\n$1\r\nz\r\n'],
  },
  {
    name: 'outside a transaction a push wakes the waiter before the next command, pipelined or not',
    run: [[], ['blpop l 0'], ['rpush l a', 'lpop l'], true],
    want: [':1\r\n', '$-1\r\n', '*2\r\n$1\r\nl\r\n$1\r\na\r\n'],
  },
  manyEntries([]),
  manyEntries(['count', '2000']),
  {
    name: 'a single XADD wakes XREAD BLOCK without COUNT with its entry',
    run: [['xadd s 1-0 a 1', 'xdel s 1-0'], ['xread block 0 streams s 0'], ['xadd s 2-0 b 2']],
    want: ['$3\r\n1-0\r\n', ':1\r\n', '$3\r\n2-0\r\n', '*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n'],
  },
  {
    name: 'DEL and XADD pipelined in one write: the blocked XREADGROUP is answered UNBLOCKED after the DEL',
    run: [['xgroup create s g $ mkstream'], ['xreadgroup group g c block 0 streams s >'], ['del s', 'xadd s 1-0 a 1', 'exists s'], true],
    want: ['+OK\r\n', ':1\r\n', '$3\r\n1-0\r\n', ':1\r\n', '-UNBLOCKED the stream key no longer exists\r\n'],
  },
  {
    name: 'DEL and XADD in one transaction: the group is gone when it is served, NOGROUP',
    run: [['xgroup create s g $ mkstream'], ['xreadgroup group g c block 0 streams s >'], ['multi', 'del s', 'xadd s 1-0 a 1', 'exec'], true],
    want: ['+OK\r\n', '+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n', '*2\r\n:1\r\n$3\r\n1-0\r\n', '-NOGROUP the consumer group this client was blocked on no longer exists\r\n'],
  },
];

/** The scenarios whose replies differ from the pins, as readable text (empty: all equal). */
async function mismatches(port: number): Promise<string[]> {
  const out: string[] = [];
  for (const s of SCENARIOS) {
    const got = await blockingScenario(port, 2, ...s.run);
    if (JSON.stringify(got) !== JSON.stringify(s.want)) {
      const show = (r: string[]) => JSON.stringify(r.map((x) => (x.length > 200 ? `${x.slice(0, 100)}... (${x.length} bytes)` : x)));
      out.push(`${s.name}\n  pinned: ${show(s.want)}\n  got:    ${show(got)}`);
    }
  }
  return out;
}

describe('blocked clients are served after the whole command, as redis-server 7.0 serves them', () => {
  let server: StateCache;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server?.close();
  });

  test('transactions, scripts, pipelines: the pinned replies', async () => {
    expect(await mismatches(server.respPort)).toEqual([]);
  }, 30_000);
});

const redis = needs('redis-server');

redis.describe('the blocking pins are redis-server 7.0\'s replies', () => {
  const ref = referenceRedis();

  test('every scenario', async () => {
    expect(await mismatches(ref.port)).toEqual([]);
  }, 30_000);
});

/**
 * Stream consumer groups and XINFO against redis-server 7.0, side by side:
 * the same command sequences on both, over RESP2 and RESP3, replies compared
 * byte for byte except the fields that are clocks (idle times, delivery and
 * seen times: masked) and XINFO STREAM's radix-tree-nodes (Redis's radix tree
 * internals, not modelled). Timing-dependent filters use 0 or hours, so both
 * servers decide alike. Errors are compared too: NOGROUP, BUSYGROUP, bad IDs,
 * WRONGTYPE, arity and syntax.
 */
import { startTestServer } from './helpers';
import { blockingScenario, elements, RawClient, sideBySide } from './resp-raw';
import { referenceRedis } from './stores/servers';
import { needs } from './tools';
import { StateCache } from '../src/server';

/** Clocks and radix-tree internals masked; everything else compared as sent. */
export function maskClocks(reply: string): string {
  return reply
    // XPENDING's rows and XINFO STREAM FULL's group PEL: [id, consumer, idle or delivery time, count]
    .replace(/(\*4\r\n\$\d+\r\n\d+-\d+\r\n\$\d+\r\n[^\r]*\r\n):\d+\r\n(:\d+\r\n)/g, '$1:T\r\n$2')
    // XINFO STREAM FULL's consumer PEL: [id, delivery time, count]
    .replace(/(\*3\r\n\$\d+\r\n\d+-\d+\r\n):\d+\r\n(:\d+\r\n)/g, '$1:T\r\n$2')
    .replace(/(\$(?:4\r\nidle|9\r\nseen-time)\r\n):\d+\r\n/g, '$1:T\r\n')
    .replace(/(\$16\r\nradix-tree-nodes\r\n):\d+\r\n/g, '$1:N\r\n');
}

const GROUPS = [
  // XGROUP CREATE / SETID / DESTROY / CREATECONSUMER / DELCONSUMER / HELP, and their errors
  'xgroup create s g $', 'xgroup create s g $ mkstream', 'exists s', 'xgroup create s g $', 'xgroup create s g2 0 mkstream entriesread 0',
  'xgroup create s g3 1-1 entriesread -1', 'xgroup create s g4 0 entriesread -2', 'xgroup create s g4 0 entriesread x', 'xgroup create s g4 0 bogus',
  'xgroup create s g4 x-1', 'xgroup create s g4 -', 'xgroup create s g4 +', 'xgroup create s g4 0 mkstream entriesread 5 mkstream',
  'xgroup create s', 'xgroup', 'xgroup foo', 'xgroup foo s g', 'xgroup help', 'xgroup HELP extra', 'xgroup destroy s',
  'xgroup createconsumer s nog c', 'xgroup delconsumer s nog c', 'xgroup setid s nog 0', 'xgroup setid nokey g 0', 'xgroup destroy nokey g',
  'xgroup createconsumer s g alice', 'xgroup createconsumer s g alice', 'xgroup delconsumer s g nobody', 'xgroup setid s g 0 entriesread 3',
  'xgroup setid s g - ', 'xgroup setid s g +', 'xgroup setid s g $ mkstream', 'xgroup setid s g 0 entriesread', 'xgroup setid s g 0 entriesread 1 x',
  'xgroup destroy s g3', 'xgroup destroy s g3', 'xinfo groups s', 'set str v', 'xgroup create str g $', 'xgroup create str g $ mkstream',
  'xgroup destroy str g', 'xgroup createconsumer str g c', 'xgroup help x',
  // XREADGROUP: '>' and history, COUNT, NOACK, errors
  'del s', 'xadd s 1-1 a 1', 'xadd s 1-2 b 2', 'xadd s 2-0 c 3 d 4', 'xgroup create s g 0', 'xgroup create s late $',
  'xreadgroup group g alice count 1 streams s >', 'xreadgroup group g alice streams s >', 'xreadgroup group g alice streams s >',
  'xreadgroup group g bob streams s >', 'xreadgroup group g alice streams s 0', 'xreadgroup group g alice count 2 streams s 0-0',
  'xreadgroup group g alice streams s 1-1', 'xreadgroup group g bob streams s 0', 'xreadgroup group g carol streams s 0', 'xinfo consumers s g',
  'xreadgroup group g alice streams s 18446744073709551615-18446744073709551615', 'xreadgroup group g alice streams s $',
  'xreadgroup group nog alice streams s >', 'xreadgroup group g alice streams nokey >', 'xreadgroup group g alice streams s str > >',
  'xreadgroup group g alice streams str >', 'xreadgroup group g alice streams s', 'xreadgroup group g alice streams s s >',
  'xreadgroup streams s >', 'xreadgroup group g streams s >', 'xreadgroup group g alice count x streams s >', 'xreadgroup group g alice bogus streams s >',
  'xreadgroup group g alice count -5 streams s 0', 'xreadgroup group g alice block -1 streams s >', 'xreadgroup group g alice block x streams s >',
  'xreadgroup group g alice streams s bad', 'xreadgroup group g alice block 10 streams s >', 'xread group g alice streams s >',
  'xadd s 3-0 e 5', 'xadd s 4-0 f 6', 'xreadgroup group g dave noack streams s >', 'xpending s g', 'xinfo consumers s g',
  'xreadgroup group late erin streams s >', 'xadd s2 1-0 x 1', 'xgroup create s2 g 0', 'xreadgroup group g alice count 5 streams s s2 > >',
  'xreadgroup group g alice streams s s2 0 0', 'xreadgroup group g alice streams s2 s > 0', 'xreadgroup GROUP g alice COUNT 1 NOACK STREAMS s2 0',
  // XACK
  'xack s g 1-1 1-1 9-9', 'xack s g 1-1', 'xack s nog 1-2', 'xack nokey g 1-2', 'xack s g bad', 'xack s nog bad', 'xack str g 1-1', 'xack s g',
  'xack s g 1-2 bad', 'xpending s g', 'xreadgroup group g alice streams s 0',
  // XPENDING: summary and extended, IDLE, exclusive bounds, consumer filter, errors
  'xpending s g - + 10', 'xpending s g - + 10 bob', 'xpending s g - + 10 nobody', 'xpending s g - + 1', 'xpending s g - + 0', 'xpending s g - + -3',
  'xpending s g (1-2 + 10', 'xpending s g - (2-0 10', 'xpending s g 2 2 10', 'xpending s g IDLE 0 - + 10', 'xpending s g IDLE 3600000 - + 10',
  'xpending s g idle 3600000 - + 10 alice', 'xpending s g IDLE x - + 10', 'xpending s g IDLE 5 - +', 'xpending s g - +', 'xpending s g - + x',
  'xpending s g x + 10', 'xpending s g - y 10', 'xpending s g (18446744073709551615-18446744073709551615 + 10', 'xpending s g - (0-0 10',
  'xpending s g - + 10 a b c', 'xpending s nog', 'xpending nokey g', 'xpending str g', 'xpending s nog - + 10', 'xpending s late',
  'xpending s g - + 10 alice extra',
  // XCLAIM: IDLE / TIME / RETRYCOUNT / FORCE / JUSTID / LASTID, min-idle-time, deleted entries
  'xclaim s g carol 0 1-2', 'xpending s g - + 10', 'xclaim s g carol 3600000 2-0', 'xclaim s g carol 0 2-0 justid', 'xpending s g - + 10',
  'xclaim s g carol 0 2-0 retrycount 7', 'xclaim s g carol 0 2-0 retrycount -2', 'xpending s g - + 10', 'xclaim s g bob 0 2-0 IDLE 7200000',
  'xpending s g IDLE 3600000 - + 10', 'xpending s g IDLE 9000000 - + 10', 'xclaim s g bob 0 2-0 TIME 1', 'xpending s g IDLE 3600000 - + 10',
  'xclaim s g bob 0 2-0 TIME 99999999999999', 'xpending s g IDLE 3600000 - + 10', 'xclaim s g bob 0 3-0', 'xclaim s g bob 0 3-0 force',
  'xclaim s g bob 0 4-0 force justid', 'xpending s g - + 10', 'xclaim s g bob 0 9-9 force', 'xclaim s g bob 0 1-1 2-0 3-0 force justid',
  'xclaim s g bob 0 2-0 lastid 3-0', 'xinfo groups s', 'xclaim s g bob 0 2-0 lastid 1-0', 'xinfo groups s', 'xclaim s g bob 0 2-0 lastid bad',
  'xclaim s g bob x 2-0', 'xclaim s g bob -5 2-0', 'xclaim s g bob 0 2-0 idle x', 'xclaim s g bob 0 2-0 time x', 'xclaim s g bob 0 2-0 retrycount x',
  'xclaim s g bob 0 2-0 bogus', 'xclaim s g bob 0 2-0 justid 3-0', 'xclaim s g bob 0 2-0 idle', 'xclaim s g bob 0 force', 'xclaim s nog bob 0 2-0',
  'xclaim nokey g bob 0 2-0', 'xclaim str g bob 0 2-0', 'xclaim s nog bob x 2-0', 'xclaim s g bob 0', 'xclaim s g newbie 3600000 2-0',
  'xinfo consumers s g', 'xdel s 2-0', 'xclaim s g bob 0 2-0 3-0', 'xpending s g - + 10', 'xreadgroup group g bob streams s 0',
  // XAUTOCLAIM: cursor, COUNT, JUSTID, deleted entries as the third element
  'xautoclaim s g zed 0 0', 'xpending s g - + 10', 'xautoclaim s g zed 0 0 count 1', 'xautoclaim s g zed 0 (3-0 count 1 justid',
  'xautoclaim s g zed 3600000 0', 'xautoclaim s g zed 0 - COUNT 100 JUSTID', 'xreadgroup group g alice streams s >', 'xadd s 5-0 g 7',
  'xreadgroup group g alice streams s >', 'xadd s 6-0 h 8', 'xreadgroup group g alice streams s >', 'xdel s 5-0 6-0', 'xautoclaim s g zed 0 0 count 1',
  'xautoclaim s g zed 0 0 count 1', 'xautoclaim s g zed 0 0', 'xautoclaim s g zed 0 0 count 0', 'xautoclaim s g zed 0 0 count -1', 'xautoclaim s g zed 0 0 count x',
  'xautoclaim s g zed 0 0 count 576460752303423488', 'xautoclaim s g zed 0 0 count', 'xautoclaim s g zed 0 0 bogus', 'xautoclaim s g zed x 0',
  'xautoclaim s g zed 0 bad', 'xautoclaim s g zed 0 (18446744073709551615-18446744073709551615', 'xautoclaim s nog zed 0 0', 'xautoclaim nokey g zed 0 0',
  'xautoclaim str g zed 0 0', 'xautoclaim s g zed', 'xpending s g',
  // XGROUP DELCONSUMER returns the pending count; DESTROY drops the PEL
  'xgroup delconsumer s g zed', 'xpending s g', 'xinfo consumers s g', 'xgroup destroy s g', 'xinfo groups s', 'xpending s g',
];

/** Entries-read and lag (Redis 7) through XADD, XDEL, XTRIM and SETID; XINFO in all forms. */
const INFO = [
  'xinfo stream nokey', 'xinfo groups nokey', 'xinfo consumers nokey g', 'xgroup create e g $ mkstream', 'xinfo stream e', 'xinfo groups e',
  'xinfo stream e full', 'xadd e 1-0 a 1', 'xadd e 2-0 b 2', 'xadd e 3-0 c 3', 'xinfo groups e', 'xreadgroup group g c1 count 1 streams e >',
  'xinfo groups e', 'xgroup create e g0 0', 'xgroup create e gmid 2-0', 'xgroup create e gend $', 'xinfo groups e', 'xdel e 3-0', 'xinfo groups e',
  'xadd e 4-0 d 4', 'xinfo groups e', 'xreadgroup group g c1 streams e >', 'xinfo groups e', 'xgroup setid e g0 0 entriesread 0', 'xinfo groups e',
  'xgroup setid e gmid 0', 'xinfo groups e', 'xdel e 1-0', 'xinfo groups e', 'xtrim e maxlen 1', 'xinfo groups e', 'xinfo stream e',
  'xreadgroup group gmid c2 streams e >', 'xinfo groups e', 'xinfo stream e full', 'xinfo stream e full count 1', 'xinfo stream e full count 0',
  'xinfo stream e full count -1', 'xinfo stream e full count x', 'xinfo stream e full bogus 1', 'xinfo stream e bogus', 'xinfo stream e full count',
  'xinfo stream e FULL COUNT 1 x', 'xinfo consumers e g', 'xinfo consumers e nog', 'xinfo groups e x', 'xinfo consumers e', 'xinfo stream',
  'xinfo', 'xinfo foo', 'xinfo foo e', 'xinfo help', 'xinfo help x', 'set str v', 'xinfo stream str', 'xinfo groups str', 'xinfo consumers str g',
  'xadd big 1-0 a 1', 'xgroup create big g 0', 'xreadgroup group g c count 150 streams big >', 'xtrim big maxlen 0', 'xinfo stream big',
  'xinfo stream big full', 'xinfo groups big', 'xadd n 1-0 a 1', 'xadd n 2-0 b 2', 'xdel n 1-0 2-0', 'xinfo stream n', 'xgroup create n g 0',
  'xinfo groups n', 'xgroup create n g9 0 entriesread 9', 'xinfo groups n', 'multi', 'xreadgroup group g c block 0 streams n >', 'exec',
];

/** 250 entries in three nodes, for radix-tree-keys and FULL's COUNT. */
const MANY = Array.from({ length: 250 }, (_, i) => `xadd m ${i + 1}-0 f ${i}`).concat([
  'xinfo stream m', 'xgroup create m g 0', 'xreadgroup group g a count 120 streams m >', 'xreadgroup group g b count 10 streams m >', 'xinfo stream m full',
  'xinfo stream m full count 3', 'xdel m 1-0 2-0', 'xinfo groups m', 'xtrim m maxlen ~ 150', 'xinfo stream m', 'xinfo groups m', 'xpending s g',
  'xpending m g', 'xpending m g 100 130 5', 'xautoclaim m g c 0 0 count 3', 'xack m g 110-0 111-0 112-0', 'xpending m g 100 130 5 a',
]);

/** In database 1 keys carry a prefix inside state-cache (databases.ts): replies and errors name them as the client does. */
const DATABASE = [
  'select 1', 'xgroup create s g $ mkstream', 'xadd s 1-0 a 1', 'xreadgroup group g c streams s >', 'xread streams s 0', 'xpending s nog',
  'xreadgroup group nog c streams s >', 'xinfo consumers s nog', 'xclaim s nog c 0 1-0', 'xautoclaim s nog c 0 0', 'xgroup createconsumer s nog c',
  'xgroup setid s nog 0', 'xinfo groups s', 'select 0', 'exists s',
];

const redis = needs('redis-server');

redis.describe('consumer groups and XINFO side by side with redis-server 7.0', () => {
  const ref = referenceRedis();
  let server: StateCache;

  beforeAll(async () => {
    server = await startTestServer();
  }, 30_000);

  afterAll(async () => {
    await server?.close();
  });

  const families: Array<[string, string[]]> = [['groups', GROUPS], ['entries-read, lag and XINFO', INFO], ['250 entries', MANY], ['database 1', DATABASE]];

  for (const proto of [2, 3]) {
    for (const [family, seq] of families) {
      test(`${family} over RESP${proto}`, async () => {
        expect(await sideBySide(ref.port, server.respPort, proto, seq, (_cmd, reply) => maskClocks(reply))).toEqual([]);
      });
    }
  }

  const BLOCKING: Array<[string, string[], string[], string[], boolean?]> = [
    ['XADD wakes one group reader per entry, in order; an XREAD waiting past the new entry does not hold up the ones after it',
      ['xgroup create s g $ mkstream'],
      ['xreadgroup group g c1 block 0 streams s >', 'xread block 0 streams s 99-0', 'xreadgroup group g c2 block 0 count 1 streams s >', 'xread block 0 streams s $'],
      ['xadd s 5-0 a 1', 'xadd s 6-0 b 2', 'xadd s 100-0 c 3', 'xpending s g', 'xinfo groups s']],
    ['NOACK while blocked: delivered, nothing pending', ['xgroup create s g $ mkstream'], ['xreadgroup group g c block 0 noack streams s >'],
      ['xadd s 1-0 a 1', 'xpending s g']],
    ['XGROUP DESTROY while blocked: NOGROUP', ['xgroup create s g $ mkstream'], ['xreadgroup group g c block 0 streams s >'], ['xgroup destroy s g', 'xadd s 1-0 a 1']],
    ['DEL while blocked: UNBLOCKED', ['xgroup create s g $ mkstream'], ['xreadgroup group g c block 0 streams s >'], ['del s', 'xadd s 1-0 a 1']],
    ['the key overwritten by another type while blocked: UNBLOCKED', ['xgroup create s g $ mkstream'], ['xreadgroup group g c block 0 streams s >'], ['set s x']],
    ['deleted and re-created in one transaction: NOGROUP', ['xgroup create s g $ mkstream'], ['xreadgroup group g c block 0 streams s >'],
      ['multi', 'del s', 'xadd s 1-0 a 1', 'exec']],
    ['the timeout answers nil; a plain XREAD waiter is not affected by DEL', ['xgroup create s g $ mkstream'],
      ['xreadgroup group g c block 50 streams s >', 'xread block 0 streams s $'], ['del s', 'xadd s 1-0 a 1']],
    ['DEL and XADD pipelined in one write while blocked: UNBLOCKED (the key is looked at after each command, not after the batch)',
      ['xgroup create s g $ mkstream'], ['xreadgroup group g c block 0 streams s >'], ['del s', 'xadd s 1-0 a 1'], true],
    ['XGROUP DESTROY and CREATE pipelined in one write while blocked: NOGROUP', ['xgroup create s g $ mkstream'],
      ['xreadgroup group g c block 0 streams s >'], ['xgroup destroy s g', 'xgroup create s g $', 'xadd s 1-0 a 1'], true],
    ['1500 entries added by one transaction: a blocked reader without COUNT gets 1000', ['xgroup create s g $ mkstream'],
      ['xreadgroup group g c block 0 streams s >'], ['multi', ...Array.from({ length: 1500 }, (_, i) => `xadd s ${i + 1}-0 f ${i}`), 'exec', 'xpending s g']],
  ];

  for (const proto of [2, 3]) {
    for (const [name, setup, blockers, then, pipelined] of BLOCKING) {
      test(`blocked XREADGROUP over RESP${proto}: ${name}`, async () => {
        const want = await blockingScenario(ref.port, proto, setup, blockers, then, pipelined);
        const got = await blockingScenario(server.respPort, proto, setup, blockers, then, pipelined);
        expect(got.map(maskClocks)).toEqual(want.map(maskClocks));
      });
    }
  }

  test('COMMAND INFO of the group commands matches Redis (name, arity, flags, key positions)', async () => {
    const names = ['xreadgroup', 'xgroup', 'xack', 'xpending', 'xclaim', 'xautoclaim', 'xinfo', 'xread', 'xadd', 'xsetid'];
    const run = async (port: number) => {
      const c = await RawClient.open(port);
      try {
        return await c.run(names.map((n) => ['command', 'info', n]));
      } finally {
        c.close();
      }
    };
    // The first six fields: name, arity, flags, first key, last key, step (ACL categories, tips, key specs and subcommands are not served).
    const head = (reply: string) => elements(elements(reply)[0]).slice(0, 6).join('');
    const want = (await run(ref.port)).map(head);
    const got = (await run(server.respPort)).map(head);
    expect(got).toEqual(want);
  });
});

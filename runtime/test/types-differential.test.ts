/**
 * Hashes, lists, sets, sorted sets and streams against redis-server 7.0, side by side:
 * the same command sequences on both, over RESP2 and RESP3, replies compared
 * byte for byte (order-insensitive only where Redis's order is its hash
 * table's). Errors, nils, empty arrays, RESP3 maps / sets / doubles included.
 */
import { startTestServer } from './helpers';
import { elements, RawClient, sideBySide } from './resp-raw';
import { referenceRedis } from './stores/servers';
import { needs } from './tools';
import { StateCache } from '../src/server';

/** Commands whose reply order is a hash table's in Redis: compared as multisets. */
const UNORDERED = new Set(['smembers', 'sinter', 'sunion', 'sdiff']);

function normalise(name: string, reply: string): string {
  if (UNORDERED.has(name)) return elements(reply).sort().join('');
  if (name === 'sscan' && reply.startsWith('*2')) {
    const [cursor, items] = elements(reply);
    return cursor + elements(items).sort().join('');
  }
  return reply;
}

const HASHES = [
  'hset h f1 v1 f2 v2', 'hset h f1 x', 'hget h f1', 'hget h nope', 'hget nokey f', 'hmget h f1 nope f2', 'hmget nokey a b',
  'hgetall h', 'hgetall nokey', 'hkeys h', 'hvals h', 'hlen h', 'hlen nokey', 'hexists h f1', 'hexists h zz', 'hstrlen h f2',
  'hsetnx h f1 y', 'hsetnx h f3 y', 'hdel h f3 nope', 'hdel nokey a', 'hincrby h n 5', 'hincrby h n -7', 'hincrby h f1 1',
  'hincrby h n x', 'hincrby h n 9223372036854775807', 'hincrbyfloat h fl 1.5', 'hincrbyfloat h fl 0.1', 'hincrbyfloat h f1 1',
  'hincrbyfloat h fl abc', 'hincrbyfloat h fl 2.5e-3', 'hincrbyfloat h fl -1.6025', 'hset h', 'hset h a', 'hset h a b c', 'hmset h a 1 b 2', 'hget h a',
  'hscan h 0', 'hscan h 0 match f*', 'hscan h 0 count 0', 'hscan h x', 'hscan nokey 0', 'hrandfield nokey', 'hrandfield nokey 3',
  'hrandfield h 0', 'hrandfield h 2 withvalues x', 'hrandfield h 2 nope', 'type h', 'set s str', 'hget s f', 'hset s f v', 'hgetall s',
  'get h', 'append h x', 'incr h', 'strlen h', 'getrange h 0 1', 'mget h s', 'hdel h f1 f2 n fl a b', 'exists h', 'type h',
  // *SCAN's order of checks: the cursor, the key (absent: an empty scan whatever the options), then the options.
  'hscan nokey 0 count 0', 'hscan nokey 0 foo', 'hscan s x', 'hscan s 0 count 0', 'sscan nokey 0 match', 'zscan s 0 count x',
  'hset h2 a 1', 'hscan h2 0 count 0', 'hscan h2 0 count x', 'hscan h2 0 match', 'hscan h2 -1', 'hscan h2 99 count 1000',
  'hscan h2 +7', 'hscan h2 007', 'hscan h2 18446744073709551615', 'hscan h2 18446744073709551616', 'hscan h2 -', 'hscan h2 1.5',
];

const LISTS = [
  'rpush l a b c d e', 'lpush l z', 'lrange l 0 -1', 'lrange l -100 100', 'lrange l 3 1', 'lrange l 10 20', 'lrange nokey 0 -1',
  'llen l', 'llen nokey', 'lindex l 0', 'lindex l -1', 'lindex l 99', 'lindex nokey 0', 'lindex l x', 'lset l 1 A', 'lset l 99 x',
  'lset nokey 0 x', 'lpop l', 'rpop l', 'lpop l 2', 'lpop l 0', 'lpop l -1', 'lpop nokey', 'lpop nokey 2', 'rpush l b b c b',
  'lrem l 2 b', 'lrange l 0 -1', 'lrem l -1 b', 'lrem l 0 zz', 'lrem nokey 0 x', 'lpos l c', 'lpos l c rank -1', 'lpos l c count 0',
  'lpos l c rank 0', 'lpos l c count -1', 'lpos l c maxlen -1', 'lpos l nope', 'lpos l nope count 2', 'lpos nokey a',
  'lpos l c rank 2 count 2 maxlen 3', 'lpos l c bogus 1', 'ltrim l 1 -1', 'lrange l 0 -1', 'ltrim nokey 0 1',
  'rpush m 1 2 3', 'lmove m m2 left right', 'lmove m m2 right left', 'lrange m2 0 -1', 'lmove m m2 up left', 'lmove nokey m2 left left',
  'rpoplpush m m2', 'lrange m2 0 -1', 'exists m', 'lpushx nokey a', 'rpushx m2 z', 'lrange m2 0 -1', 'lpush l', 'set s x',
  'lpush s a', 'lmove m2 s left left', 'lmove s m2 left left', 'lrange s 0 1', 'blpop s 0', 'blpop nokey 0.01', 'blpop nokey -1',
  'blpop nokey abc', 'blpop m2 nokey 0', 'brpop nokey m2 0', 'blmove m2 m3 left right 0', 'blmove nokey m3 left right 0.01',
  'brpoplpush m2 m3 0', 'lrange m3 0 -1', 'ltrim m3 5 1', 'exists m3', 'type m2', 'multi', 'blpop empty 0', 'exec',
  // LINSERT
  'rpush il a b c', 'linsert il before b x', 'linsert il after c y', 'linsert il AFTER a a2', 'linsert il after nope z',
  'linsert il middle b z', 'linsert nokey before a b', 'lrange il 0 -1', 'set istr v', 'linsert istr before a b',
  'linsert istr middle a b', 'linsert il before a',
  // LMPOP, BLMPOP
  'rpush ml1 a b c', 'rpush ml2 d e', 'lmpop 2 nokey ml1 left', 'lmpop 2 ml1 ml2 right count 5', 'lmpop 1 ml2 LEFT COUNT 1',
  'lmpop 2 nokey ml1 left', 'exists ml1', 'lmpop 0 ml2 left', 'lmpop abc ml2 left', 'lmpop -1 ml2 left', 'lmpop 2 ml2 left',
  'lmpop 1 ml2 up', 'lmpop 1 ml2 left count 0', 'lmpop 1 ml2 left count x', 'lmpop 1 ml2 left count -3', 'lmpop 1 ml2 left count 1 count 2',
  'lmpop 1 ml2 left foo', 'lmpop 1 ml2 up count 0', 'lmpop 2 istr ml2 left', 'rpush ml3 q', 'lmpop 2 ml3 istr left', 'lmpop 1 ml2',
  'lmpop 99999999999 ml2 left', 'rpush bl a b c', 'blmpop 0 2 nokey bl right count 2', 'blmpop 0.01 1 nokey left', 'blmpop x 1 bl left',
  'blmpop -1 1 bl left', 'blmpop 0 0 bl left', 'blmpop 0 1 bl up', 'blmpop 0 2 bl left', 'blmpop 0 1 istr left', 'blmpop 0 1 bl',
  'multi', 'blmpop 0 1 empty left', 'lmpop 1 empty right', 'exec', 'blmpop 0 1 bl left count 5', 'exists bl',
];

const SETS = [
  'sadd s a b c', 'sadd s a d', 'sadd t c d e', 'scard s', 'scard nokey', 'sismember s a', 'sismember s z', 'sismember nokey a',
  'smismember s a z d', 'smismember nokey a', 'smembers s', 'smembers nokey', 'sinter s t', 'sinter s nokey', 'sunion s t nokey',
  'sdiff s t', 'sdiff nokey s', 'sinterstore d s t', 'smembers d', 'sunionstore d s t', 'scard d', 'sdiffstore d s t', 'smembers d',
  'sinterstore d s nokey', 'exists d', 'srem s a z', 'srem nokey a', 'smove s t b', 'smove s t nope', 'smove nokey t a',
  'smembers t', 'sscan s 0', 'sscan s 0 match c*', 'sscan nokey 0', 'spop nokey', 'spop nokey 2', 'spop s -1', 'spop s 0',
  'srandmember nokey', 'srandmember nokey 5', 'srandmember s 0', 'srandmember s x', 'set str v', 'sadd str a', 'sinter s str',
  'sunionstore str s', 'type str', 'smembers str', 'sadd n 3 1 2', 'smembers n', 'srem t c d e b', 'exists t',
  // SINTERCARD
  'sadd c1 a b c d', 'sadd c2 b c d e', 'sadd c3 c d', 'sintercard 2 c1 c2', 'sintercard 3 c1 c2 c3', 'sintercard 2 c1 c2 limit 2',
  'sintercard 2 c1 c2 LIMIT 0', 'sintercard 2 c1 c2 limit 9', 'sintercard 2 c1 nokey', 'sintercard 1 c1', 'sintercard 0 c1',
  'sintercard -1 c1', 'sintercard x c1', 'sintercard 2 c1', 'sintercard 1 c1 limit -1', 'sintercard 1 c1 limit x', 'sintercard 1 c1 foo 1',
  'sintercard 1 c1 limit', 'sintercard 1 c1 limit 1 limit 2', 'set cstr v', 'sintercard 2 c1 cstr', 'sintercard 2 nokey cstr',
  'sintercard 2 cstr c1', 'sintercard 1',
];

const ZSETS = [
  'zadd z 1 a 2 b 3 c', 'zadd z 1.5 a', 'zadd z nx 9 a 4 d', 'zadd z xx 8 zz', 'zadd z xx ch 0.5 a', 'zadd z gt ch 0.1 a 5 b',
  'zadd z lt ch 0.1 a 9 b', 'zadd z incr 2 a', 'zadd z incr nx 2 a', 'zadd z nx xx 1 a', 'zadd z gt lt 1 a', 'zadd z nx gt 1 a',
  'zadd z incr 1 a 2 b', 'zadd z 1', 'zadd z abc a', 'zadd z nan a', 'zadd z inf x -inf y', 'zadd z incr -inf x', 'zadd nokey xx 1 a',
  'exists nokey', 'zscore z a', 'zscore z nope', 'zscore nokey a', 'zmscore z a nope x', 'zmscore nokey a', 'zincrby z 0.1 a',
  'zincrby z 1 new', 'zincrby z abc a', 'zcard z', 'zcard nokey', 'zrank z a', 'zrank z nope', 'zrevrank z a', 'zrank nokey a',
  'zcount z -inf +inf', 'zcount z (1 5', 'zcount z 1 (5', 'zcount z x 5', 'zcount nokey 0 1',
  'zrange z 0 -1', 'zrange z 0 -1 withscores', 'zrange z -2 -1 withscores', 'zrange z 5 1', 'zrange z 0 1 rev withscores',
  'zrange z 1 5 byscore', 'zrange z (1 +inf byscore withscores', 'zrange z +inf -inf byscore rev limit 1 2 withscores',
  'zrange z -inf +inf byscore limit 0 -1', 'zrange z -inf +inf byscore limit -1 2', 'zrange z 0 -1 limit 0 1',
  'zrange z - + bylex withscores', 'zrange z 0 1 byscore bylex', 'zrange z a b byscore', 'zrange z 0 1 bogus', 'zrange nokey 0 -1',
  'zrevrange z 0 1 withscores', 'zrangebyscore z -inf +inf withscores limit 1 1', 'zrevrangebyscore z +inf 2', 'zrangebyscore z 2',
  'zadd lex 0 a 0 b 0 c 0 d 0 e', 'zrangebylex lex [b (e', 'zrangebylex lex - + limit 1 2', 'zrevrangebylex lex + [c',
  'zrange lex [c + bylex rev', 'zrangebylex lex b c', 'zlexcount lex [b +', 'zremrangebylex lex - [b', 'zrange lex 0 -1',
  'zscan z 0', 'zscan z 0 match [ab]', 'zpopmin z', 'zpopmax z', 'zpopmin z 2', 'zpopmax z 1', 'zpopmin z 0', 'zpopmin z -1',
  'zpopmin nokey', 'zpopmin nokey 2', 'zadd r 1 a 2 b 3 c 4 d 5 e', 'zremrangebyscore r (1 2', 'zremrangebyrank r -1 -1',
  'zremrangebyrank r 5 9', 'zremrangebyscore r x 1', 'zrange r 0 -1 withscores', 'zremrangebyscore nokey 0 1',
  'bzpopmin r nokey 0', 'bzpopmax nokey r 0', 'bzpopmin nokey 0.01', 'bzpopmin nokey x', 'set str v', 'zadd str 1 a',
  'zrange str 0 1', 'bzpopmin str 0', 'zremrangebyrank r 0 -1', 'exists r', 'zadd f 0.1 a 1e20 b -0 c 3.0 d 1e-5 e 123456789.125 f',
  'zrange f 0 -1 withscores', 'type f', 'multi', 'bzpopmax empty 0', 'exec',
  // Plain digits (a fast path), at and past 15 digits; a short argument that is not an option is a score
  'zadd d 007 a 123456789012345 b 1234567890123456 c 99999999999999999999 e 0 f', 'zrange d 0 -1 withscores', 'zadd d 12 ch',
  'zadd d ch 1 ch', 'zadd d 1x a', 'zscore d ch',
  // ZUNION, ZINTER, ZDIFF and their STORE forms (sets are inputs too, scoring 1)
  'zadd za 1 a 2 b 3 c', 'zadd zb 10 b 20 c 30 d', 'sadd zs c d e', 'set zbad v',
  'zunion 2 za zb', 'zunion 2 za zb withscores', 'zunion 3 za zb zs WITHSCORES', 'zunion 2 za zb weights 2 0.5 withscores',
  'zunion 2 za zb aggregate min withscores', 'zunion 2 za zb aggregate MAX withscores', 'zunion 2 za zb withscores aggregate max weights 1 2',
  'zinter 2 za zb withscores', 'zinter 3 za zb zs withscores', 'zinter 2 za nokey', 'zinter 2 za zb weights 1 -1 aggregate sum withscores',
  'zinter 2 za za withscores', 'zdiff 2 za zb withscores', 'zdiff 2 zb zs', 'zdiff 3 zb za zs withscores', 'zdiff 1 nokey', 'zunion 1 nokey',
  'zunion 2 nokey zs withscores', 'zunionstore zd 2 za zb', 'zrange zd 0 -1 withscores', 'zinterstore zd 2 za zb aggregate max',
  'zrange zd 0 -1 withscores', 'zdiffstore zd 2 za zb', 'zrange zd 0 -1 withscores', 'zunionstore zd 2 zd zb weights 3 1',
  'zrange zd 0 -1 withscores', 'zinterstore zd 2 za nokey', 'exists zd', 'zunionstore zbad2 1 zs', 'set zstr v', 'zunionstore zstr 1 za',
  'type zstr', 'zunion 2 za zbad', 'zunionstore zd 2 za zbad', 'zinter 2 nokey zbad', 'zdiff 2 nokey zbad', 'zunion 2 za zbad foo',
  'zunion 0 za', 'zunion -1 za', 'zunion x za', 'zunion 3 za zb', 'zunion 1 za weights 1 2', 'zunion 1 za weights x', 'zunion 1 za weights nan',
  'zunion 1 za weights', 'zunion 1 za aggregate foo', 'zunion 1 za aggregate', 'zunion 1 za withscores foo', 'zunionstore zd 0 za',
  'zunionstore zd 1 za withscores', 'zdiff 1 za weights 1', 'zdiff 1 za aggregate sum', 'zinter 1 za limit 1', 'zdiffstore zd 0 za',
  'zinterstore zd', 'zunion 1',
  'zadd zi 1 a', 'zadd zj inf a', 'zadd zk -inf a', 'zunion 2 zi zj weights 0 1 withscores', 'zunion 2 zj zk withscores',
  'zinter 2 zj zk aggregate min withscores', 'zunion 1 zj weights 0 withscores', 'zinter 2 zj zk weights 0 1 aggregate max withscores',
  'zadd zf 0.1 a 0.2 b', 'zadd zg 0.2 a 0.1 b', 'zunion 2 zf zg withscores', 'zunionstore zh 2 zf zg weights 1e300 1e300', 'zrange zh 0 -1 withscores',
  // ZINTERCARD
  'zintercard 2 za zb', 'zintercard 2 za zb limit 1', 'zintercard 2 za zb LIMIT 0', 'zintercard 3 za zb zs', 'zintercard 0 za',
  'zintercard 2 za', 'zintercard x za', 'zintercard 1 za limit -1', 'zintercard 1 za limit x', 'zintercard 1 za withscores',
  'zintercard 1 za weights 1', 'zintercard 2 za zbad', 'zintercard 2 nokey zbad',
  // ZRANGESTORE
  'zrangestore zr za 0 -1', 'zrange zr 0 -1 withscores', 'zrangestore zr zb (10 +inf byscore limit 0 1', 'zrange zr 0 -1 withscores',
  'zrangestore zr zb 0 1 rev', 'zrange zr 0 -1 withscores', 'zadd zl 0 a 0 b 0 c', 'zrangestore zr zl [b + bylex', 'zrange zr 0 -1',
  'zrangestore zr nokey 0 -1', 'exists zr', 'zrangestore zr za 0 1 withscores', 'zrangestore zr za 0 -1 limit 0 1',
  'zrangestore zr za a b byscore', 'zrangestore zr zbad 0 1', 'zrangestore zr za', 'zrangestore zbad za 0 0', 'type zbad', 'set zbad v',
  // ZMPOP, BZMPOP
  'zadd zm1 1 a 2 b 3 c', 'zmpop 2 nokey zm1 min', 'zmpop 1 zm1 max count 5', 'zadd zm1 1 a 2 b 3 c', 'zmpop 1 zm1 MIN COUNT 2',
  'zmpop 1 zm1 min', 'zmpop 1 zm1 min', 'zadd zm1 1 a', 'zmpop 0 zm1 min', 'zmpop 1 zm1 foo', 'zmpop 1 zm1 min count 0', 'zmpop 1 zm1 foo count 0',
  'zmpop 1 zm1 min count 1 count 1', 'zmpop 2 zm1 min', 'zmpop 2 nokey zbad min', 'zmpop 2 zm1 zbad max', 'zmpop 1 zm1', 'zmpop x zm1 min',
  'zadd zm2 1 a 2 b', 'bzmpop 0 2 nokey zm2 max count 1', 'bzmpop 0.01 1 nokey min', 'bzmpop x 1 zm2 min', 'bzmpop 0 0 zm2 min',
  'bzmpop 0 1 zbad min', 'bzmpop 0 1 zm2 foo', 'bzmpop 0 1 zm2', 'multi', 'bzmpop 0 1 empty min', 'zmpop 1 empty max', 'exec',
  'bzmpop 0 1 zm2 min count 9', 'exists zm2',
  // ZRANDMEMBER's deterministic replies (the random ones: the property test below)
  'zrandmember nokey', 'zrandmember nokey 3', 'zrandmember nokey 3 withscores', 'zrandmember za 0', 'zrandmember za 0 withscores',
  'zrandmember za x', 'zrandmember za 1 withscores x', 'zrandmember za 1 foo', 'zrandmember za x foo', 'zrandmember zbad', 'zrandmember zbad 1',
  'zadd one 5 m', 'zrandmember one', 'zrandmember one 1 withscores', 'zrandmember one -2 withscores', 'zrandmember one 3',
];

/** Streams with explicit IDs (those made by `*` are clock-dependent and differ). */
const STREAMS = [
  'xadd s 1-1 a 1', 'xadd s 1-2 b 2 c 3', 'xadd s 1-* d 4', 'xadd s 2 e 5', 'xadd s 1-5 x 1', 'xadd s 0-0 x 1', 'xadd s 0-* x 1',
  'xadd s 3-0 f', 'xadd s x-1 a 1', 'xadd s 3-x a 1', 'xadd s -1 a 1', 'xlen s', 'xlen nokey', 'xrange s - +', 'xrange s 1 1',
  'xrange s (1-1 +', 'xrange s - (2-0', 'xrange s - + count 2', 'xrange s - + count 0', 'xrange s - + count -1', 'xrange s - + bogus',
  'xrange s - + count x', 'xrange s + -', 'xrange nokey - +', 'xrange s abc +', 'xrange s (- +', 'xrange s - (0-0', 'xrevrange s + -',
  'xrevrange s + - count 1', 'xrevrange s 1-2 1-1', 'xrevrange s (2-0 -', 'xdel s 1-2 9-9', 'xdel s bad', 'xdel nokey bad',
  'xlen s', 'xrange s - +', 'xtrim s maxlen 3', 'xrange s - +', 'xtrim s minid 2', 'xrange s - +', 'xtrim s', 'xtrim s maxlen',
  'xtrim s maxlen -1', 'xtrim s maxlen ~ 0', 'xtrim s maxlen = 0 limit 5', 'xtrim s maxlen ~ 0 limit 5', 'xtrim s bogus 1',
  'xtrim s maxlen 1 minid 1', 'xtrim nokey maxlen 0', 'xtrim s minid x', 'xadd s nomkstream 9-0 a 1', 'xadd nokey2 nomkstream 1-1 a 1',
  'exists nokey2', 'xadd s maxlen 1 10-0 z 1', 'xrange s - +', 'xadd s maxlen 1 minid 0 11-0 a 1', 'xadd s limit 5 12-0 a 1',
  'xadd s maxlen ~ 100 limit 5 13-0 a 1', 'xadd s minid 13 14-0 a 1', 'xadd s maxlen = 5 15-0 a 1', 'xrange s - +', 'xtrim s maxlen 0',
  'exists s', 'xlen s', 'type s', 'xrange s - +', 'xadd s 1-1 a 1', 'xadd s 15-* a 1', 'xadd s 16-* a 1', 'xadd s 16-* b 2',
  'xread streams s 0', 'xread count 1 streams s 0-0', 'xread count 0 streams s 15', 'xread streams s $', 'xread streams s nokey 0 0',
  'xread streams s', 'xread streams', 'xread bogus', 'xread block 10 streams nokey $', 'xread block -1 streams s 0',
  'xread block x streams s 0', 'xread streams s >', 'xread group g c streams s 0', 'xread noack streams s 0', 'xread streams s 99-0',
  'xread block 10 streams s 16-1', 'set str v', 'xadd str 1-1 a 1', 'xlen str', 'xrange str - +', 'xdel str 1-1', 'xtrim str maxlen 0',
  'xread streams str 0', 'xread streams s str 0 0', 'xadd big 18446744073709551615-18446744073709551615 a 1', 'xadd big 18446744073709551615-* a 1',
  'xadd big 18446744073709551616-0 a 1', 'xrange big - +', 'xrange big (18446744073709551615-18446744073709551615 +', 'xadd s 017-1 a 1',
  'xadd s 00018 b 2', 'xrange s 17 +', 'multi', 'xread block 0 streams s $', 'exec',
];

/** Scripts using Redis's cjson and cmsgpack libraries (lua-codecs.ts), compared as replies. */
const LUA_CODECS = [
  'return cjson.encode({1, 2, 3})', 'return cjson.encode({a = 1})', 'return cjson.encode({})', 'return cjson.encode({"x", cjson.null, "y"})',
  'return cjson.encode("a/b\\"c\\\\d\\n\\1\\127\\233z")', 'return cjson.encode({3.5, 1/3, 1e20, 123456789012345, 1700000000000, -2})',
  'return {pcall(cjson.encode, {[1] = 1, [20] = 2})}', 'return cjson.encode({[1] = 1, [3] = 3})', 'return {pcall(cjson.encode, {f = function() end})}',
  'return {pcall(cjson.encode, 0/0)}', 'return cjson.encode({a = {b = {c = {true, false}}}})', 'return cjson.encode({[2.5] = 1})',
  'local t = cjson.decode(\'{"a":[1,2,{"b":null}],"c":"\\\\u00e9\\\\/"}\') return {t.a[1], t.a[2], tostring(t.a[3].b == cjson.null), t.c}',
  'return cjson.decode(\'[1,2.5,"x",true,false]\')', 'return {tostring(cjson.decode("3")), tostring(cjson.decode("2.5")), type(cjson.null)}',
  'return (pcall(cjson.decode, "{bad")) and 1 or 0', 'return cmsgpack.pack({1, 2, 3})', 'return cmsgpack.pack("abc", 5, -1, true, {a = 1})',
  'return cmsgpack.pack(300, 70000, 5000000000, -200, -70000, 0)', 'return cmsgpack.pack(string.rep("x", 40), string.rep("y", 300))',
  'local a, b = cmsgpack.unpack(cmsgpack.pack({1, 2, {x = "y"}}, "z")) return {a[1], a[3].x, b}',
  'return {cmsgpack.unpack(cmsgpack.pack(-5, 1.5, "s"))}',
];

const redis = needs('redis-server');

redis.describe('data types side by side with redis-server 7.0', () => {
  const ref = referenceRedis();
  let server: StateCache;

  beforeAll(async () => {
    server = await startTestServer();
  }, 30_000);

  afterAll(async () => {
    await server?.close();
  });

  const families: Array<[string, string[]]> = [['hashes', HASHES], ['lists', LISTS], ['sets', SETS], ['sorted sets', ZSETS], ['streams', STREAMS]];

  test('cjson and cmsgpack in scripts', async () => {
    const run = async (port: number) => {
      const c = await RawClient.open(port);
      try {
        return await c.run(LUA_CODECS.map((script) => ['eval', script, '0']));
      } finally {
        c.close();
      }
    };
    const want = await run(ref.port);
    const got = await run(server.respPort);
    const diffs: string[] = [];
    LUA_CODECS.forEach((script, i) => {
      if (got[i] !== want[i]) diffs.push(`${script}\n  redis:       ${JSON.stringify(want[i])}\n  state-cache: ${JSON.stringify(got[i])}`);
    });
    expect(diffs).toEqual([]);
  });

  for (const proto of [2, 3]) {
    for (const [family, seq] of families) {
      test(`${family} over RESP${proto}`, async () => {
        expect(await sideBySide(ref.port, server.respPort, proto, seq, (cmd, reply) => normalise(cmd.split(' ')[0], reply))).toEqual([]);
      });
    }
  }
});

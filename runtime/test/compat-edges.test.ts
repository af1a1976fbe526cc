/**
 * Redis-compatibility at the edges (issue 15), pinned: every row is a command and the exact reply
 * redis-server 7.0.15 gave to it in sequence (from an empty database, RESP2 unless the table says
 * RESP3). The first block checks state-cache against the pins and needs nothing else; the second
 * (needs redis-server) replays them on redis-server to show the pins are Redis's own replies.
 *
 * - integer arguments over the whole int64 range: SCAN / *SCAN cursors, HRANDFIELD / SRANDMEMBER /
 *   ZRANDMEMBER / SPOP / LPOP counts, LPOS, LRANGE / ZRANGE / LIMIT, expiry times, SETRANGE /
 *   GETRANGE, INCRBY / INCRBYFLOAT overflow and float syntax, blocking timeouts;
 * - OBJECT ENCODING / REFCOUNT / HELP, and COPY / RENAME of aggregates;
 * - the scripting environment: print, loadstring, dofile, require, os, io, read-only globals; XREAD /
 *   XREADGROUP BLOCK refused in scripts; redis.call errors naming the script and line;
 * - XSETID and its errors; OBJECT FREQ under allkeys-lfu.
 */
import { startTestServer } from './helpers';
import { RawClient } from './resp-raw';
import { referenceRedis } from './stores/servers';
import { needs } from './tools';
import { StateCache } from '../src/server';

type Row = [command: string | string[], reply: string];

const ARGUMENTS: Row[] = [
  ['scan -1', '*2\r\n$1\r\n0\r\n*0\r\n'],
  ['scan +7', '*2\r\n$1\r\n0\r\n*0\r\n'],
  ['scan 007', '*2\r\n$1\r\n0\r\n*0\r\n'],
  [['scan', ' 7'], '-ERR invalid cursor\r\n'],
  ['scan 7.0', '-ERR invalid cursor\r\n'],
  ['scan 18446744073709551615', '*2\r\n$1\r\n0\r\n*0\r\n'],
  ['scan 18446744073709551616', '-ERR invalid cursor\r\n'],
  ['scan -18446744073709551615', '*2\r\n$1\r\n0\r\n*0\r\n'],
  ['scan -', '-ERR invalid cursor\r\n'],
  [['scan', ''], '*2\r\n$1\r\n0\r\n*0\r\n'],
  ['scan 4294967296', '*2\r\n$1\r\n0\r\n*0\r\n'],
  ['set k v', '+OK\r\n'],
  ['hset h f v', ':1\r\n'],
  ['sadd s 1', ':1\r\n'],
  ['zadd z 1 m', ':1\r\n'],
  ['rpush l a b a', ':3\r\n'],
  ['sscan s -1', '*2\r\n$1\r\n0\r\n*1\r\n$1\r\n1\r\n'],
  ['zscan z +7', '*2\r\n$1\r\n0\r\n*2\r\n$1\r\nm\r\n$1\r\n1\r\n'],
  [['hscan', 'h', ' 7'], '-ERR invalid cursor\r\n'],
  ['hscan h 7.0', '-ERR invalid cursor\r\n'],
  ['hrandfield h withvalues 2', '-ERR value is not an integer or out of range\r\n'],
  ['hrandfield h -9223372036854775808', '-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n'],
  ['hrandfield h -9223372036854775808 withvalues', '-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n'],
  ['hrandfield nokey -9223372036854775808', '-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n'],
  ['hrandfield h 9223372036854775808', '-ERR value is not an integer or out of range\r\n'],
  ['hrandfield h 4611686018427387904 withvalues', '-ERR value is out of range\r\n'],
  ['hrandfield h -4611686018427387904 withvalues', '-ERR value is out of range\r\n'],
  ['hrandfield h 9223372036854775807', '*1\r\n$1\r\nf\r\n'],
  ['hrandfield h 4611686018427387903 withvalues', '*2\r\n$1\r\nf\r\n$1\r\nv\r\n'],
  ['hrandfield h -3 withvalues', '*6\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nf\r\n$1\r\nv\r\n'],
  ['hrandfield h -2', '*2\r\n$1\r\nf\r\n$1\r\nf\r\n'],
  ['hrandfield h 0 withvalues', '*0\r\n'],
  ['hrandfield h 1 withvalues x', '-ERR syntax error\r\n'],
  ['srandmember s -9223372036854775808', '-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n'],
  ['srandmember s 9223372036854775807', '*1\r\n$1\r\n1\r\n'],
  ['srandmember s -3', '*3\r\n$1\r\n1\r\n$1\r\n1\r\n$1\r\n1\r\n'],
  ['zrandmember z -9223372036854775808', '-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n'],
  ['zrandmember z 4611686018427387904 withscores', '-ERR value is out of range\r\n'],
  ['zrandmember z 9223372036854775807 withscores', '-ERR value is out of range\r\n'],
  ['zrandmember z -2 withscores', '*4\r\n$1\r\nm\r\n$1\r\n1\r\n$1\r\nm\r\n$1\r\n1\r\n'],
  ['spop s -1', '-ERR value is out of range, must be positive\r\n'],
  ['spop s x', '-ERR value is out of range, must be positive\r\n'],
  ['spop s 9223372036854775808', '-ERR value is out of range, must be positive\r\n'],
  ['lpop l -9223372036854775808', '-ERR value is out of range, must be positive\r\n'],
  ['lpop l x', '-ERR value is out of range, must be positive\r\n'],
  ['zpopmin z x', '-ERR value is out of range, must be positive\r\n'],
  ['zpopmax z -1', '-ERR value is out of range, must be positive\r\n'],
  ['lpos l a rank -9223372036854775808', ':2\r\n'],
  ['lpos l a count 0 rank -9223372036854775808', '*2\r\n:2\r\n:0\r\n'],
  ['lpos l a rank -9223372036854775807', '$-1\r\n'],
  ['lpos l a rank 9223372036854775807', '$-1\r\n'],
  ['lpos l a count 9223372036854775807', '*2\r\n:0\r\n:2\r\n'],
  ['lpos l a count 9223372036854775808', "-ERR COUNT can't be negative\r\n"],
  ['lpos l a count x', "-ERR COUNT can't be negative\r\n"],
  ['lpos l a maxlen -9223372036854775808', "-ERR MAXLEN can't be negative\r\n"],
  ['lpos l a maxlen 9223372036854775807', ':0\r\n'],
  ['lrange l 0 9223372036854775807', '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n'],
  ['lrange l -9223372036854775808 9223372036854775807', '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n'],
  ['lrange l 9223372036854775807 -9223372036854775808', '*0\r\n'],
  ['lindex l 9223372036854775807', '$-1\r\n'],
  ['lindex l -9223372036854775808', '$-1\r\n'],
  ['lset l -9223372036854775808 x', '-ERR index out of range\r\n'],
  ['lrem l 9223372036854775807 zz', ':0\r\n'],
  ['zadd r 1 a 2 b 3 c', ':3\r\n'],
  ['zrange r 0 9223372036854775807', '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n'],
  ['zrange r -9223372036854775808 9223372036854775807', '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n'],
  ['zrange r -inf +inf byscore limit 1 -9223372036854775808', '*2\r\n$1\r\nb\r\n$1\r\nc\r\n'],
  ['zrange r -inf +inf byscore limit 9223372036854775807 9223372036854775807', '*0\r\n'],
  ['zremrangebyrank r 9223372036854775807 -9223372036854775808', ':0\r\n'],
  ['sintercard 1 s limit 9223372036854775807', ':1\r\n'],
  ['zintercard 1 r limit 9223372036854775807', ':3\r\n'],
  ['lmpop 1 l left count 9223372036854775807', '*2\r\n$1\r\nl\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n'],
  ['zmpop 1 r min count 9223372036854775807', '*2\r\n$1\r\nr\r\n*3\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n'],
  ['hscan h 0 count 9223372036854775807', '*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n'],
  ['expire k 9223372036854775807', "-ERR invalid expire time in 'expire' command\r\n"],
  ['expire k 9223372036854775', "-ERR invalid expire time in 'expire' command\r\n"],
  ['expire k -9223372036854775808', "-ERR invalid expire time in 'expire' command\r\n"],
  ['expire k x foo', '-ERR Unsupported option foo\r\n'],
  ['expire nokey 9223372036854775807', "-ERR invalid expire time in 'expire' command\r\n"],
  ['pexpire k 9223372036854775807', "-ERR invalid expire time in 'pexpire' command\r\n"],
  ['expireat k -9223372036854775808', "-ERR invalid expire time in 'expireat' command\r\n"],
  ['set k v ex 9223372036854775', "-ERR invalid expire time in 'set' command\r\n"],
  ['set k v px 9223372036854775807', "-ERR invalid expire time in 'set' command\r\n"],
  ['set k v ex 0 foo', '-ERR syntax error\r\n'],
  ['set k v exat 9223372036854775', '+OK\r\n'],
  ['getex k ex 9223372036854775', "-ERR invalid expire time in 'getex' command\r\n"],
  ['getex k ex 0 persist', '-ERR syntax error\r\n'],
  ['getex k exat 9223372036854776', "-ERR invalid expire time in 'getex' command\r\n"],
  ['getex k pxat 9223372036854775807', '$1\r\nv\r\n'],
  ['setex k 9223372036854775807 v', "-ERR invalid expire time in 'setex' command\r\n"],
  ['psetex k 9223372036854775807 v', "-ERR invalid expire time in 'psetex' command\r\n"],
  ['pexpireat k -9223372036854775808', ':1\r\n'],
  ['exists k', ':0\r\n'],
  ['set k v', '+OK\r\n'],
  ['expire k -9223372036854775', ':1\r\n'],
  ['exists k', ':0\r\n'],
  ['setrange k 536870912 x', '-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n'],
  ['setrange k 9223372036854775807 x', '-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n'],
  ['setrange k -1 x', '-ERR offset is out of range\r\n'],
  ['setrange nokey 536870912 x', '-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n'],
  [['setrange', 'nokey', '536870912', ''], ':0\r\n'],
  ['getrange k 0 9223372036854775807', '$0\r\n\r\n'],
  ['getrange k -9223372036854775808 9223372036854775807', '$0\r\n\r\n'],
  ['getrange k 9223372036854775807 0', '$0\r\n\r\n'],
  ['set i 9223372036854775807', '+OK\r\n'],
  ['incr i', '-ERR increment or decrement would overflow\r\n'],
  ['incrby i 9223372036854775808', '-ERR value is not an integer or out of range\r\n'],
  ['decrby i -9223372036854775808', '-ERR decrement would overflow\r\n'],
  ['set f 1', '+OK\r\n'],
  ['incrbyfloat f inf', '-ERR increment would produce NaN or Infinity\r\n'],
  ['incrbyfloat f -INF', '-ERR increment would produce NaN or Infinity\r\n'],
  ['incrbyfloat f nan', '-ERR value is not a valid float\r\n'],
  ['incrbyfloat f 0x10', '$2\r\n17\r\n'],
  ['incrbyfloat f -0X1.8P1', '$2\r\n14\r\n'],
  ['incrbyfloat f 0x', '-ERR value is not a valid float\r\n'],
  [['incrbyfloat', 'f', ' 1'], '-ERR value is not a valid float\r\n'],
  ['incrbyfloat f 1e5000', '-ERR value is not a valid float\r\n'],
  ['incrbyfloat f 1e-400', '$2\r\n14\r\n'],
  ['incrbyfloat f 1e-5000', '-ERR value is not a valid float\r\n'],
  ['set f 0x10', '+OK\r\n'],
  ['incrbyfloat f 1', '$2\r\n17\r\n'],
  ['hset hf a 0x10 b inf', ':2\r\n'],
  ['hincrbyfloat hf a 1', '$2\r\n17\r\n'],
  ['hincrbyfloat hf b 1', '-ERR increment would produce NaN or Infinity\r\n'],
  ['hincrbyfloat hf c inf', '-ERR value is NaN or Infinity\r\n'],
  ['hincrbyfloat hf c nan', '-ERR value is not a valid float\r\n'],
  ['blpop nokey 9223372036854775807', '-ERR timeout is negative\r\n'],
  ['blpop nokey 1e20', '-ERR timeout is negative\r\n'],
];

/** The rows of ARGUMENTS whose RESP3 reply differs (same sequence, run after HELLO 3). */
const ARGUMENTS_RESP3: Row[] = [
  ['hrandfield h 4611686018427387903 withvalues', '*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n'],
  ['hrandfield h -3 withvalues', '*3\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n'],
  ['zrandmember z -2 withscores', '*2\r\n*2\r\n$1\r\nm\r\n,1\r\n*2\r\n$1\r\nm\r\n,1\r\n'],
  ['lpos l a rank -9223372036854775807', '_\r\n'],
  ['lpos l a rank 9223372036854775807', '_\r\n'],
  ['lindex l 9223372036854775807', '_\r\n'],
  ['lindex l -9223372036854775808', '_\r\n'],
  ['zmpop 1 r min count 9223372036854775807', '*2\r\n$1\r\nr\r\n*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n'],
];

/** Under Redis's default policy (noeviction): the shared integers 0..9999 have refcount 2147483647. */
const OBJECTS: Row[] = [
  ['set a 123', '+OK\r\n'],
  ['object encoding a', '$3\r\nint\r\n'],
  ['set b -9223372036854775808', '+OK\r\n'],
  ['object encoding b', '$3\r\nint\r\n'],
  ['set b 9223372036854775808', '+OK\r\n'],
  ['object encoding b', '$6\r\nembstr\r\n'],
  ['set b 0123', '+OK\r\n'],
  ['object encoding b', '$6\r\nembstr\r\n'],
  ['set c xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', '+OK\r\n'],
  ['object encoding c', '$6\r\nembstr\r\n'],
  ['set c xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', '+OK\r\n'],
  ['object encoding c', '$3\r\nraw\r\n'],
  ['set d 5', '+OK\r\n'],
  ['append d 6', ':2\r\n'],
  ['object encoding d', '$3\r\nraw\r\n'],
  ['append nd 7', ':1\r\n'],
  ['object encoding nd', '$3\r\nint\r\n'],
  ['setrange e 0 1', ':1\r\n'],
  ['object encoding e', '$3\r\nraw\r\n'],
  ['set g 1.5', '+OK\r\n'],
  ['incrbyfloat g 1.5', '$1\r\n3\r\n'],
  ['object encoding g', '$6\r\nembstr\r\n'],
  ['object refcount g', ':1\r\n'],
  ['incr g', ':4\r\n'],
  ['object encoding g', '$3\r\nint\r\n'],
  ['object refcount g', ':2147483647\r\n'],
  ['set r 9999', '+OK\r\n'],
  ['object refcount r', ':2147483647\r\n'],
  ['set r 10000', '+OK\r\n'],
  ['object refcount r', ':1\r\n'],
  ['hset h f v', ':1\r\n'],
  ['object encoding h', '$8\r\nlistpack\r\n'],
  ['hset h2 f vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv', ':1\r\n'],
  ['object encoding h2', '$8\r\nlistpack\r\n'],
  ['hset h3 f vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv', ':1\r\n'],
  ['object encoding h3', '$9\r\nhashtable\r\n'],
  ['hdel h3 f', ':1\r\n'],
  ['sadd s 1 -9223372036854775808', ':2\r\n'],
  ['object encoding s', '$6\r\nintset\r\n'],
  ['sadd s2 1 9223372036854775808', ':2\r\n'],
  ['object encoding s2', '$9\r\nhashtable\r\n'],
  ['sadd s3 01', ':1\r\n'],
  ['object encoding s3', '$9\r\nhashtable\r\n'],
  ['sadd s4 1 a', ':2\r\n'],
  ['srem s4 a', ':1\r\n'],
  ['object encoding s4', '$9\r\nhashtable\r\n'],
  ['zadd z 1 mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm', ':1\r\n'],
  ['object encoding z', '$8\r\nlistpack\r\n'],
  ['zadd z2 1 mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm', ':1\r\n'],
  ['object encoding z2', '$8\r\nskiplist\r\n'],
  ['zrem z2 mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm', ':1\r\n'],
  ['rpush l a', ':1\r\n'],
  ['object encoding l', '$9\r\nquicklist\r\n'],
  ['xadd x 1-1 a 1', '$3\r\n1-1\r\n'],
  ['object encoding x', '$6\r\nstream\r\n'],
  ['copy h hc', ':1\r\n'],
  ['object encoding hc', '$8\r\nlistpack\r\n'],
  ['hgetall hc', '*2\r\n$1\r\nf\r\n$1\r\nv\r\n'],
  ['rename s4 s4r', '+OK\r\n'],
  ['object encoding s4r', '$9\r\nhashtable\r\n'],
  ['smembers s4r', '*1\r\n$1\r\n1\r\n'],
  ['pexpire l 100000000', ':1\r\n'],
  ['rename l lr', '+OK\r\n'],
  ['type lr', '+list\r\n'],
  ['lrange lr 0 -1', '*1\r\n$1\r\na\r\n'],
  ['exists l', ':0\r\n'],
  ['object help', '*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n+    Return the kind of internal representation used in order to store the value\r\n+    associated with a <key>.\r\n+FREQ <key>\r\n+    Return the access frequency index of the <key>. The returned integer is\r\n+    proportional to the logarithm of the recent access frequency of the key.\r\n+IDLETIME <key>\r\n+    Return the idle time of the <key>, that is the approximated number of\r\n+    seconds elapsed since the last access to the key.\r\n+REFCOUNT <key>\r\n+    Return the number of references of the value associated with the specified\r\n+    <key>.\r\n+HELP\r\n+    Prints this help.\r\n'],
  ['object refcount nokey', '$-1\r\n'],
  ['object encoding nokey', '$-1\r\n'],
  ['object foo', "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"],
  ['object encoding', "-ERR wrong number of arguments for 'object|encoding' command\r\n"],
  ['object freq a', '-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n'],
];

const SCRIPTS: Row[] = [
  [['eval', 'return type(print)', '0'], "-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: 296aa29e565df267b5e30e498f3872c9f9e8e8cc, on @user_script:1.\r\n"],
  [['eval', "print('x') return 1", '0'], "-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: c0fb88aeb55819972e5eeb8c15a43c03893f9fe5, on @user_script:1.\r\n"],
  [['eval', 'return type(loadstring)', '0'], '$8\r\nfunction\r\n'],
  [['eval', "return loadstring('return 1 + 1')()", '0'], ':2\r\n'],
  [['eval', 'return {loadstring(string.dump(function() end))}', '0'], '*0\r\n'],
  [['eval', 'return type(dofile)', '0'], "-ERR user_script:1: Script attempted to access nonexistent global variable 'dofile' script: f14b399205539f5db37113032a1a25c72b8c6743, on @user_script:1.\r\n"],
  [['eval', 'return type(loadfile)', '0'], "-ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile' script: dc6fbc079d0e6ef2af8c376dda4f3d362fa30d87, on @user_script:1.\r\n"],
  [['eval', 'return type(require)', '0'], "-ERR user_script:1: Script attempted to access nonexistent global variable 'require' script: a10ff9bcfafac54cee41502b0e65e31ab05862c3, on @user_script:1.\r\n"],
  [['eval', 'return type(os)', '0'], "-ERR user_script:1: Script attempted to access nonexistent global variable 'os' script: 88bfcb2247db0b6fa4925f3cddc3fd0651459f99, on @user_script:1.\r\n"],
  [['eval', 'return type(io)', '0'], "-ERR user_script:1: Script attempted to access nonexistent global variable 'io' script: 918bbded8bab006be53c3db116d9c93508fc799a, on @user_script:1.\r\n"],
  [['eval', 'return type(debug)', '0'], "-ERR user_script:1: Script attempted to access nonexistent global variable 'debug' script: 21bcbd6f0f3639ee18732cb6907e65a4859b9625, on @user_script:1.\r\n"],
  [['eval', 'return type(package)', '0'], "-ERR user_script:1: Script attempted to access nonexistent global variable 'package' script: 9d2e094dbe8b2fe1613bf6e8e2abe7b98d1569b8, on @user_script:1.\r\n"],
  [['eval', 'x = 1 return x', '0'], '-ERR user_script:1: Attempt to modify a readonly table script: ef25d5f8b9e2ebcda2024841801c7ce4671f7f57, on @user_script:1.\r\n'],
  [['eval', 'function f() return 1 end return f()', '0'], '-ERR user_script:1: Attempt to modify a readonly table script: 344204e6dc28ac8c3a64dabb0905ea6ad7d76bb4, on @user_script:1.\r\n'],
  [['eval', '_G.x = 1 return 1', '0'], '-ERR user_script:1: Attempt to modify a readonly table script: 7e0488ed8d8cbfe9f38b5866bdbfd5d41348c99b, on @user_script:1.\r\n'],
  [['eval', 'KEYS = {} return 1', '0'], '-ERR user_script:1: Attempt to modify a readonly table script: 64a01918c827abcc0d9fc12b1b56bc165cdf91df, on @user_script:1.\r\n'],
  [['eval', 'redis = nil return 1', '0'], '-ERR user_script:1: Attempt to modify a readonly table script: f5b7a9f548ee8d0ef5e8670973dbed72346d18d2, on @user_script:1.\r\n'],
  [['eval', 'string.foo = 1 return 1', '0'], '-ERR user_script:1: Attempt to modify a readonly table script: 61574b4b91ec75f725f3a3a2d314d3dcd1c1b577, on @user_script:1.\r\n'],
  [['eval', 'return {pcall(function() nope2 = 1 end)}', '0'], '*2\r\n$-1\r\n$49\r\nuser_script:1: Attempt to modify a readonly table\r\n'],
  [['eval', 'return {pcall(function() string.foo = 1 end)}', '0'], '*2\r\n$-1\r\n$49\r\nuser_script:1: Attempt to modify a readonly table\r\n'],
  [['eval', 'return undefinedvar', '0'], "-ERR user_script:1: Script attempted to access nonexistent global variable 'undefinedvar' script: 3a7a0da27ed9511341f5b4d17f1bcac3aa887d8c, on @user_script:1.\r\n"],
  [['eval', 'return {pcall(function() return nope end)}', '0'], "*2\r\n$-1\r\n$76\r\nuser_script:1: Script attempted to access nonexistent global variable 'nope'\r\n"],
  [['eval', "return rawget(_G, 'nope') == nil and 1 or 0", '0'], ':1\r\n'],
  [['eval', 'local n = 0 for k in pairs(_G) do n = n + 1 end return n > 10 and 1 or 0', '0'], ':1\r\n'],
  [['eval', 'return type(getmetatable(_G))', '0'], '$5\r\ntable\r\n'],
  [['eval', 'local t = setmetatable({}, {}) t.x = 1 return t.x', '0'], ':1\r\n'],
  [['eval', 'return KEYS[1] .. ARGV[1] .. #KEYS', '1', 'k', 'a'], '$3\r\nka1\r\n'],
  [['eval', "return cjson.encode({1}) .. bit.band(3, 1) .. string.format('%d', 5) .. table.getn({1})", '0'], '$6\r\n[1]151\r\n'],
  // XREAD / XREADGROUP refuse BLOCK in a script; a redis.call error names the script and the line that called it
  ['set str x', '+OK\r\n'],
  ['xadd s 1-1 a 1', '$3\r\n1-1\r\n'],
  ['xgroup create s g 0', '+OK\r\n'],
  [['eval', "return redis.call('xread', 'block', '100', 'streams', 's', '$')", '0'], '-ERR xread command is not allowed with BLOCK option from scripts script: 52ad6f9d1f564dc2977a1ef1476c430d74d34302, on @user_script:1.\r\n'],
  [['eval', "return redis.call('xread', 'block', '0', 'streams', 's', '0')", '0'], '-ERR xread command is not allowed with BLOCK option from scripts script: 4df96e69deaf225523fd98d4d1935157a9bf9ae1, on @user_script:1.\r\n'],
  [['eval', "return redis.call('XrEaD', 'count', '1', 'BLOCK', 'abc', 'streams', 's', '0')", '0'], '-ERR XrEaD command is not allowed with BLOCK option from scripts script: 6ba0ef06c0a8fdd5a7ba153728de9871a5b64cef, on @user_script:1.\r\n'],
  [['eval', "return redis.call('xread', 'count', 'x', 'block', '1', 'streams', 's', '0')", '0'], '-ERR value is not an integer or out of range script: 70784840a7e1d261f52b6b06b97ec37715628ad0, on @user_script:1.\r\n'],
  [['eval', "return redis.call('xread', 'count', '1', 'block')", '0'], '-ERR syntax error script: 172fe4ce8dbb9526b148625e409a8b1613016ae0, on @user_script:1.\r\n'],
  [['eval', "return redis.pcall('xread', 'block', '100', 'streams', 's', '$')", '0'], '-ERR xread command is not allowed with BLOCK option from scripts\r\n'],
  [['eval', "return redis.call('xread', 'count', '1', 'streams', 's', '0')", '0'], '*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n'],
  [['eval', "return redis.call('xreadgroup', 'group', 'g', 'c', 'block', '100', 'streams', 's', '>')", '0'], '-ERR xreadgroup command is not allowed with BLOCK option from scripts script: 7a8c98c8b50141cde1f3d9ae5ad33f1d4c98ae75, on @user_script:1.\r\n'],
  [['eval', "return redis.call('xreadgroup', 'BLOCK', '1', 'group', 'g', 'c', 'streams', 'nokey', '>')", '0'], '-ERR xreadgroup command is not allowed with BLOCK option from scripts script: 827cf2c1567110d06f7a51708797d3cd2fe77761, on @user_script:1.\r\n'],
  [['eval', "return redis.call('incr', 'str')", '0'], '-ERR value is not an integer or out of range script: e6c7e3b0f4fa8ec366e629aeb8b53c3943db848c, on @user_script:1.\r\n'],
  [['eval', "local x = 1\nreturn redis.call('incr', 'str')", '0'], '-ERR value is not an integer or out of range script: 0ef777832b05d4da0897b8a2fe772db06f6982e5, on @user_script:2.\r\n'],
  [['eval', "local function f()\n  return redis.call('incr', 'str')\nend\nreturn f()", '0'], '-ERR value is not an integer or out of range script: 894c35a8cc21fd23c5d64b25b27f23592d890cec, on @user_script:2.\r\n'],
  [['eval', "return redis.call('nosuch')", '0'], '-ERR Unknown Redis command called from script script: 206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1.\r\n'],
  [['eval', "return redis.call('get')", '0'], '-ERR Wrong number of args calling Redis command from script script: f187dee77f607f7cff00bbabc9df38507582c78d, on @user_script:1.\r\n'],
  [['eval', "return redis.call('blpop', 'l', '1')", '0'], '-ERR This Redis command is not allowed from script script: b87d5834314dadc682ede38f01e6a478d8d05f1f, on @user_script:1.\r\n'],
  [['eval', "return redis.pcall('incr', 'str')", '0'], '-ERR value is not an integer or out of range\r\n'],
  // pcall turns a redis.call error (an {err=...} table) into its message, as Redis 7.0's own pcall does; xpcall does not
  [['eval', "local ok, e = pcall(redis.call, 'incr', 'str') return {tostring(ok), type(e), e}", '0'], '*3\r\n$5\r\nfalse\r\n$6\r\nstring\r\n$43\r\nERR value is not an integer or out of range\r\n'],
  [['eval', "local ok, e = pcall(function() return redis.call('incr', 'str') end) return {tostring(ok), e}", '0'], '*2\r\n$5\r\nfalse\r\n$43\r\nERR value is not an integer or out of range\r\n'],
  [['eval', "local ok, e = pcall(error, {err='boom'}) return {tostring(ok), e}", '0'], '*2\r\n$5\r\nfalse\r\n$4\r\nboom\r\n'],
  [['eval', 'local ok, e = pcall(error, {x=1}) return {tostring(ok), type(e)}', '0'], '*2\r\n$5\r\nfalse\r\n$5\r\ntable\r\n'],
  [['eval', "return {pcall(function(a, b) return a + b, 'z' end, 1, 2)}", '0'], '*3\r\n:1\r\n:3\r\n$1\r\nz\r\n'],
  [['eval', "local ok, e = xpcall(redis.call, function(m) return m end, 'incr', 'str') return {tostring(ok), type(e)}", '0'], '*2\r\n$5\r\nfalse\r\n$5\r\ntable\r\n'],
  [['eval', "error({err='custom'})", '0'], '-custom script: 4096e5e084bef2edada1a62795cec3203051bcfa, on @user_script:1.\r\n'],
  [['eval', "\nerror({err='custom'})", '0'], '-custom script: c1b01b770c8e8ccc34f094aedb4a3998f807899c, on @user_script:2.\r\n'],
  [['eval', "return {err='custom'}", '0'], '-custom\r\n'],
];

/** XSETID (Redis 7.0's checks: options before the key, the top item, ENTRIESADDED against the length, MAXDELETEDID against the ID). */
const XSETID: Row[] = [
  ['xsetid s 1-1', '-ERR no such key\r\n'],
  ['xadd s 5-1 a 1', '$3\r\n5-1\r\n'],
  ['xadd s 6-1 b 2', '$3\r\n6-1\r\n'],
  ['xsetid s 5-0', '-ERR The ID specified in XSETID is smaller than the target stream top item\r\n'],
  ['xsetid s 6-0', '-ERR The ID specified in XSETID is smaller than the target stream top item\r\n'],
  ['xsetid s 6-1', '+OK\r\n'],
  ['xsetid s 7-0', '+OK\r\n'],
  ['xsetid s 6-1', '+OK\r\n'],
  ['xadd s 6-2 c 3', '$3\r\n6-2\r\n'],
  ['xsetid s 8-0 ENTRIESADDED 2', '-ERR The entries_added specified in XSETID is smaller than the target stream length\r\n'],
  ['xsetid s 8-0 entriesadded 3 maxdeletedid 9-0', '-ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id\r\n'],
  ['xsetid s 8-0 ENTRIESADDED 4 MAXDELETEDID 3-0', '+OK\r\n'],
  ['xinfo stream s', '*20\r\n$6\r\nlength\r\n:3\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n8-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n3-0\r\n$13\r\nentries-added\r\n:4\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n5-1\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$10\r\nlast-entry\r\n*2\r\n$3\r\n6-2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n'],
  ['xsetid s 9-0 ENTRIESADDED -1', '-ERR entries_added must be positive\r\n'],
  ['xsetid s 9-0 ENTRIESADDED abc', '-ERR value is not an integer or out of range\r\n'],
  ['xsetid s 9-0 MAXDELETEDID foo', '-ERR Invalid stream ID specified as stream command argument\r\n'],
  ['xsetid s 9-0 MAXDELETEDID -', '-ERR Invalid stream ID specified as stream command argument\r\n'],
  ['xsetid s foo', '-ERR Invalid stream ID specified as stream command argument\r\n'],
  ['xsetid s +', '-ERR Invalid stream ID specified as stream command argument\r\n'],
  ['xsetid s 9-0 ENTRIESADDED', '-ERR syntax error\r\n'],
  ['xsetid s 9-0 BLAH 1', '-ERR syntax error\r\n'],
  ['xsetid s', '-ERR wrong number of arguments for \'xsetid\' command\r\n'],
  ['xsetid s 9', '+OK\r\n'],
  ['xsetid s 10-*', '-ERR Invalid stream ID specified as stream command argument\r\n'],
  ['xsetid s 0-0', '-ERR The ID specified in XSETID is smaller than the target stream top item\r\n'],
  ['set str x', '+OK\r\n'],
  ['xsetid str 1-1', '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'],
  ['xsetid str 1-1 ENTRIESADDED -1', '-ERR entries_added must be positive\r\n'],
  ['xsetid nokey 1-1', '-ERR no such key\r\n'],
  ['xsetid nokey 1-1 MAXDELETEDID 2-0', '-ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id\r\n'],
  ['xdel s 5-1 6-1 6-2', ':3\r\n'],
  ['xsetid s 1-0', '+OK\r\n'],
  ['xsetid s 1-0 maxdeletedid 0-5 entriesadded 0', '+OK\r\n'],
  ['xinfo stream s', '*20\r\n$6\r\nlength\r\n:0\r\n$15\r\nradix-tree-keys\r\n:0\r\n$16\r\nradix-tree-nodes\r\n:1\r\n$17\r\nlast-generated-id\r\n$3\r\n1-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-5\r\n$13\r\nentries-added\r\n:0\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n0-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n$-1\r\n$10\r\nlast-entry\r\n$-1\r\n'],
  ['xsetid s 18446744073709551615-18446744073709551615', '+OK\r\n'],
  ['xadd s * a 1', '-ERR The stream has exhausted the last possible ID, unable to add more items\r\n'],
  ['xadd s 1-* a 1', '-ERR The stream has exhausted the last possible ID, unable to add more items\r\n'],
  ['xgroup create e g $ mkstream', '+OK\r\n'],
  ['xsetid e 0-0 entriesadded 0 entriesadded 7', '+OK\r\n'],
  ['xadd e 2-* a 1', '$3\r\n2-0\r\n'],
  ['xinfo stream e', '*20\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n2-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:8\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n2-0\r\n$6\r\ngroups\r\n:1\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$10\r\nlast-entry\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n'],
];

/**
 * OBJECT FREQ under allkeys-lfu: a new key starts at 5 (Redis's LFU_INIT_VAL), and every command that
 * looks the key up counts as an access (5 -> 6 always; further steps are random, so each key here is
 * accessed at most once): reads, and writes too (SET over it, MSET, SETEX, EXPIRE, PERSIST, RENAME's
 * source, which the destination then keeps, COPY's source and an existing destination); EXISTS, TYPE,
 * TTL and OBJECT do not count; COPY's copy starts at 5.
 */
const LFU: Row[] = [
  ['config set maxmemory-policy allkeys-lfu', '+OK\r\n'],
  ['set a v', '+OK\r\n'],
  ['object freq a', ':5\r\n'],
  ['get a', '$1\r\nv\r\n'],
  ['object freq a', ':6\r\n'],
  ['set b v', '+OK\r\n'],
  ['set b w', '+OK\r\n'],
  ['object freq b', ':6\r\n'],
  ['set c v', '+OK\r\n'],
  ['set c w nx', '$-1\r\n'],
  ['object freq c', ':6\r\n'],
  ['set d v', '+OK\r\n'],
  ['set d w xx', '+OK\r\n'],
  ['object freq d', ':6\r\n'],
  ['set e v', '+OK\r\n'],
  ['set e w ex 100', '+OK\r\n'],
  ['object freq e', ':6\r\n'],
  ['set f v', '+OK\r\n'],
  ['mset f w g v', '+OK\r\n'],
  ['object freq f', ':6\r\n'],
  ['object freq g', ':5\r\n'],
  ['set h v', '+OK\r\n'],
  ['setex h 100 w', '+OK\r\n'],
  ['object freq h', ':6\r\n'],
  ['set i v', '+OK\r\n'],
  ['psetex i 100000 w', '+OK\r\n'],
  ['object freq i', ':6\r\n'],
  ['set j v', '+OK\r\n'],
  ['expire j 100', ':1\r\n'],
  ['object freq j', ':6\r\n'],
  ['object freq k', '$-1\r\n'],
  ['set k v ex 100', '+OK\r\n'],
  ['persist k', ':1\r\n'],
  ['set l v', '+OK\r\n'],
  ['pexpireat l 99999999999999', ':1\r\n'],
  ['object freq l', ':6\r\n'],
  ['rpush m a', ':1\r\n'],
  ['expire m 100', ':1\r\n'],
  ['object freq m', ':6\r\n'],
  ['set n v', '+OK\r\n'],
  ['rename n n2', '+OK\r\n'],
  ['object freq n2', ':6\r\n'],
  ['set o v', '+OK\r\n'],
  ['set o2 x', '+OK\r\n'],
  ['renamenx o o2', ':0\r\n'],
  ['object freq o2', ':6\r\n'],
  ['set p v', '+OK\r\n'],
  ['set p3 x', '+OK\r\n'],
  ['copy p p2', ':1\r\n'],
  ['object freq p2', ':5\r\n'],
  ['object freq p', ':6\r\n'],
  ['copy p3 p2', ':0\r\n'],
  ['object freq p2', ':6\r\n'],
  ['object freq p3', ':6\r\n'],
  ['set q v', '+OK\r\n'],
  ['exists q', ':1\r\n'],
  ['type q', '+string\r\n'],
  ['ttl q', ':-1\r\n'],
  ['object encoding q', '$6\r\nembstr\r\n'],
  ['object freq q', ':5\r\n'],
  ['set r v', '+OK\r\n'],
  ['touch r', ':1\r\n'],
  ['object freq r', ':6\r\n'],
  ['rpush s a', ':1\r\n'],
  ['rpush s b', ':2\r\n'],
  ['object freq s', ':6\r\n'],
  ['xadd t 1-1 a 1', '$3\r\n1-1\r\n'],
  ['xsetid t 2-0', '+OK\r\n'],
  ['object freq t', ':6\r\n'],
  ['object freq nokey', '$-1\r\n'],
  ['config set maxmemory-policy noeviction', '+OK\r\n'],
];

const args = (c: string | string[]): string[] => (typeof c === 'string' ? c.split(' ') : c);

/** Replies to `rows` in sequence from an empty database on `port`, over RESP `proto`. */
async function replies(port: number, rows: readonly Row[], proto = 2): Promise<string[]> {
  const c = await RawClient.open(port);
  try {
    await c.run([['flushall'], ['hello', String(proto)]]);
    return await c.run(rows.map(([cmd]) => args(cmd)));
  } finally {
    c.close();
  }
}

/** LFU counters lose one per minute (Redis's lfu-decay-time 1): a sequence of LFU rows must not straddle a minute. */
async function clearOfMinuteBoundary(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 3000) await new Promise((r) => setTimeout(r, left + 100));
}

/** The rows whose reply differs from the pin, as readable text (empty: all equal). */
function mismatches(rows: readonly Row[], got: readonly string[]): string[] {
  const out: string[] = [];
  rows.forEach(([cmd, want], i) => {
    if (got[i] !== want) out.push(`${args(cmd).join(' ').slice(0, 120)}\n  pinned: ${JSON.stringify(want)}\n  got:    ${JSON.stringify(got[i])}`);
  });
  return out;
}

/** The RESP3 expectation of each row of ARGUMENTS: its RESP3 pin when it has one. */
function resp3Rows(): Row[] {
  const over = new Map(ARGUMENTS_RESP3.map(([c, r]) => [JSON.stringify(c), r]));
  return ARGUMENTS.map(([c, r]) => [c, over.get(JSON.stringify(c)) ?? r]);
}

describe('state-cache answers what redis-server 7.0 answers at the edges', () => {
  let server: StateCache;

  beforeAll(async () => {
    server = await startTestServer({ memory: { eviction: 'noeviction' } });
  });

  afterAll(async () => {
    await server?.close();
  });

  test('integer arguments at the int64 extremes, cursors, counts, expiry times, floats (RESP2)', async () => {
    expect(mismatches(ARGUMENTS, await replies(server.respPort, ARGUMENTS))).toEqual([]);
  });

  test('integer arguments at the int64 extremes (RESP3 shapes)', async () => {
    const rows = resp3Rows();
    expect(mismatches(rows, await replies(server.respPort, rows, 3))).toEqual([]);
  });

  test('OBJECT ENCODING, REFCOUNT, HELP; COPY and RENAME keep aggregates', async () => {
    expect(mismatches(OBJECTS, await replies(server.respPort, OBJECTS))).toEqual([]);
  });

  test('OBJECT ENCODING at the size thresholds: 512 hash fields, 512 intset members, 128 sorted-set members', async () => {
    const c = await RawClient.open(server.respPort);
    try {
      const n = (k: number, f: (i: number) => string[]) => Array.from({ length: k }, (_, i) => f(i)).flat();
      const enc = (key: string) => ['object', 'encoding', key];
      const got = await c.run([
        ['flushall'],
        ['hset', 'h', ...n(512, (i) => [`f${i}`, 'v'])], enc('h'), ['hset', 'h', 'f512', 'v'], enc('h'), ['hdel', 'h', 'f512', 'f1'], enc('h'),
        ['sadd', 's', ...n(512, (i) => [String(i)])], enc('s'), ['sadd', 's', '512'], enc('s'), ['srem', 's', '512'], enc('s'),
        ['zadd', 'z', ...n(128, (i) => [String(i), `m${i}`])], enc('z'), ['zadd', 'z', '1', 'm128'], enc('z'), ['zrem', 'z', 'm128'], enc('z'),
        ['zunionstore', 'z2', '1', 'z'], enc('z2'), ['sunionstore', 's2', 's'], enc('s2'),
      ]);
      const want = ['listpack', 'hashtable', 'hashtable', 'intset', 'hashtable', 'hashtable', 'listpack', 'skiplist', 'skiplist', 'listpack', 'intset'];
      expect(got.filter((r) => r.startsWith('$'))).toEqual(want.map((e) => `$${e.length}\r\n${e}\r\n`));
    } finally {
      c.close();
    }
  });

  test('the scripting environment: print, loadstring, dofile, require, os, io, read-only globals, BLOCK in scripts, redis.call errors', async () => {
    expect(mismatches(SCRIPTS, await replies(server.respPort, SCRIPTS))).toEqual([]);
  });

  test('XSETID: last ID, ENTRIESADDED, MAXDELETEDID and their errors', async () => {
    expect(mismatches(XSETID, await replies(server.respPort, XSETID))).toEqual([]);
  });

  test('OBJECT FREQ under allkeys-lfu: new keys at 5, one access (a read or a write that looks the key up) makes 6', async () => {
    await clearOfMinuteBoundary();
    expect(mismatches(LFU, await replies(server.respPort, LFU))).toEqual([]);
  }, 10_000);

  test('ENTRIESADDED and ENTRIESREAD past 2^53 - 1 are kept as 2^53 - 1 (Redis keeps the int64), still written as integers', async () => {
    const c = await RawClient.open(server.respPort);
    try {
      const got = await c.run([
        ['flushall'], ['xadd', 'counters', '1-1', 'a', '1'], ['xsetid', 'counters', '2-0', 'ENTRIESADDED', '9223372036854775807'],
        ['xgroup', 'create', 'counters', 'g', '0', 'ENTRIESREAD', '9223372036854775807'], ['xinfo', 'stream', 'counters'], ['xinfo', 'groups', 'counters'],
      ]);
      expect(got[4]).toContain('$13\r\nentries-added\r\n:9007199254740991\r\n');
      expect(got[5]).toContain('$12\r\nentries-read\r\n:9007199254740991\r\n$3\r\nlag\r\n:0\r\n');
    } finally {
      c.close();
    }
  });

  test('a negative random count is refused past 2^22 picks (Redis runs out of memory), and the server stays responsive', async () => {
    const c = await RawClient.open(server.respPort);
    try {
      const got = await c.run([
        ['hset', 'big', 'f', 'v'], ['sadd', 'bigs', 'm'], ['zadd', 'bigz', '1', 'm'],
        ['hrandfield', 'big', '-4611686018427387903', 'withvalues'], ['hrandfield', 'big', '-9223372036854775807'],
        ['srandmember', 'bigs', '-9223372036854775807'], ['zrandmember', 'bigz', '-4194305'], ['srandmember', 'bigs', '-3'], ['ping'],
      ]);
      const capped = '-ERR value is out of range, a negative count asks for at most 4194304 elements in state-cache\r\n';
      expect(got.slice(3)).toEqual([capped, capped, capped, capped, '*3\r\n$1\r\nm\r\n$1\r\nm\r\n$1\r\nm\r\n', '+PONG\r\n']);
    } finally {
      c.close();
    }
  });

  test('a blocking timeout past 24.8 days (a Node timer\'s most) blocks instead of timing out at once', async () => {
    const c = await RawClient.open(server.respPort);
    const pusher = await RawClient.open(server.respPort);
    try {
      const blocked = c.run([['blpop', 'far', '3000000']]);
      await new Promise((r) => setTimeout(r, 300));
      await pusher.run([['rpush', 'far', 'x']]);
      expect(await blocked).toEqual(['*2\r\n$3\r\nfar\r\n$1\r\nx\r\n']);
    } finally {
      c.close();
      pusher.close();
    }
  });
});

const redis = needs('redis-server');

redis.describe('the pins are redis-server 7.0\'s replies', () => {
  const ref = referenceRedis();

  test('ARGUMENTS over RESP2 and RESP3', async () => {
    expect(mismatches(ARGUMENTS, await replies(ref.port, ARGUMENTS))).toEqual([]);
    const rows = resp3Rows();
    expect(mismatches(rows, await replies(ref.port, rows, 3))).toEqual([]);
  });

  test('OBJECTS, SCRIPTS and XSETID', async () => {
    expect(mismatches(OBJECTS, await replies(ref.port, OBJECTS))).toEqual([]);
    expect(mismatches(SCRIPTS, await replies(ref.port, SCRIPTS))).toEqual([]);
    expect(mismatches(XSETID, await replies(ref.port, XSETID))).toEqual([]);
  });

  test('LFU', async () => {
    await clearOfMinuteBoundary();
    expect(mismatches(LFU, await replies(ref.port, LFU))).toEqual([]);
  }, 10_000);
});

/** The RESP reply writer's integer encoding: every range it takes a different path for. */
import { ReplyWriter } from '../src/protocol/resp';

test('integer replies are the decimal digits of every magnitude and sign', () => {
  const values = [0, 7, 9, 10, 99, 1023, 1024, 1025, 9999, 10000, 65536, 123456789, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1,
    -1, -9, -10, -1024, -(2 ** 31), Number.MIN_SAFE_INTEGER];
  for (let i = 0; i < 2000; i++) values.push(Math.floor(Math.random() * 2 ** (1 + (i % 52))));
  const out = new ReplyWriter();
  out.simple('OK'); // not at the buffer's start
  for (const n of values) out.int(n);
  expect(Buffer.concat(out.take()).toString('latin1')).toBe(`+OK\r\n${values.map((n) => `:${n}\r\n`).join('')}`);
});

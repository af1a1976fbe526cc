import { PassivationError } from '../src/persistence/errors';
import { errorReply } from '../src/protocol/commands';
import { StoreUnavailableError } from '../src/stores/store';
import {
  clientError, CommandError, OutOfMemoryError, PersistenceUnavailableError, QueueFullError, ValueEncodingError, WrongTypeError,
} from '../src/vocabulary';

/** One table, every cause its own answer on both front ends. */
test.each([
  [new CommandError('ERR syntax error'), 'ERR syntax error', 400, 'bad_request'],
  [new WrongTypeError(), 'WRONGTYPE Operation against a key holding the wrong kind of value', 409, 'wrong_type'],
  [new ValueEncodingError('value of k: unknown encoding 9'), 'ERR value of k: unknown encoding 9', 500, 'unreadable_value'],
  [new OutOfMemoryError(), 'OOM command not allowed when used memory > \'maxmemory\'.', 507, 'out_of_memory'],
  [new PassivationError('key "a" cannot be evicted'), 'OOM command not allowed when used memory > \'maxmemory\'.', 507, 'out_of_memory'],
  [new QueueFullError('write-behind queue full'), 'QUEUEFULL write-behind queue full', 429, 'queue_full'],
  [new PersistenceUnavailableError('store pg unavailable: down'), 'STOREUNAVAILABLE store pg unavailable: down', 503, 'store_unavailable'],
])('%p answers %p on RESP and %p %p over HTTP', (error, resp, status, code) => {
  expect(errorReply(error)).toBe(resp);
  expect(clientError(error)).toMatchObject({ status, code });
});

test('an error of no client-facing class is a bug: no row, answered as internal by the front ends', () => {
  expect(clientError(new Error('boom'))).toBeUndefined();
  expect(errorReply(new TypeError('x is undefined'))).toBeUndefined();
  // A store's own error reaches clients only through persistence, as PersistenceUnavailableError.
  expect(clientError(new StoreUnavailableError('pg', 'down'))).toBeUndefined();
  expect(clientError('a string')).toBeUndefined();
});

test('queue full answers Retry-After over HTTP', () => {
  expect(clientError(new QueueFullError())?.headers).toEqual({ 'Retry-After': '1' });
});

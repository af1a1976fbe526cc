import { crc16, keySlot, ordinalFromPodName, ownerOf, SLOT_COUNT, slotRangeFor } from '../../src/cluster/slots';

const b = (s: string) => Buffer.from(s);

test('crc16 matches the Redis Cluster specification test vector', () => {
  // From the Redis Cluster spec: CRC16 of "123456789" is 0x31C3.
  expect(crc16(b('123456789'))).toBe(0x31c3);
});

test('key slots agree with redis-cli CLUSTER KEYSLOT', () => {
  // Values as Redis 7 answers CLUSTER KEYSLOT for these keys.
  expect(keySlot(b('foo'))).toBe(12182);
  expect(keySlot(b('bar'))).toBe(5061);
  expect(keySlot(b('hello'))).toBe(866);
});

test('hash tags: only the first {...} with content is hashed', () => {
  expect(keySlot(b('{user1000}.following'))).toBe(keySlot(b('user1000')));
  expect(keySlot(b('{user1000}.followers'))).toBe(keySlot(b('{user1000}.following')));
  // An empty tag hashes the whole key.
  expect(keySlot(b('foo{}{bar}'))).toBe(crc16(b('foo{}{bar}')) & 16383);
  // Only the first tag counts.
  expect(keySlot(b('foo{{bar}}zap'))).toBe(keySlot(b('{bar')));
  expect(keySlot(b('foo{bar}{zap}'))).toBe(keySlot(b('bar')));
});

test.each([1, 2, 3, 5, 7, 1000])('%i replicas cover every slot exactly once', (replicas) => {
  let next = 0;
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const r = slotRangeFor(ordinal, replicas);
    expect(r.start).toBe(next);
    expect(r.end).toBeGreaterThanOrEqual(r.start);
    expect(ownerOf(r.start, replicas)).toBe(ordinal);
    expect(ownerOf(r.end, replicas)).toBe(ordinal);
    next = r.end + 1;
  }
  expect(next).toBe(SLOT_COUNT);
});

test('three replicas split like redis-cli --cluster create', () => {
  expect([0, 1, 2].map((o) => slotRangeFor(o, 3))).toEqual([
    { start: 0, end: 5460 }, { start: 5461, end: 10922 }, { start: 10923, end: 16383 },
  ]);
});

test('bad ordinals, replica counts and pod names are refused with the reason', () => {
  expect(() => slotRangeFor(3, 3)).toThrow('ordinal must be a whole number from 0 to 2, got 3');
  expect(() => slotRangeFor(0, 0)).toThrow('replicas must be a whole number from 1 to 16384, got 0');
  expect(ordinalFromPodName('cache-cluster-12')).toBe(12);
  expect(() => ordinalFromPodName('cache')).toThrow('cannot tell the StatefulSet ordinal from pod name "cache"');
});

import { backoffCeiling, backoffDelay } from '../../src/persistence/backoff';

const options = { baseDelayMs: 100, maxDelayMs: 5000 };

test('the ceiling doubles per retry from the base and stops at the maximum', () => {
  expect([1, 2, 3, 4, 5, 6, 7, 10].map((n) => backoffCeiling(options, n))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
});

test('full jitter: the delay is anywhere in [0, ceiling)', () => {
  expect(backoffDelay(options, 3, () => 0)).toBe(0);
  expect(backoffDelay(options, 3, () => 0.5)).toBe(200);
  expect(backoffDelay(options, 3, () => 0.9999)).toBe(399);
  expect(backoffDelay(options, 30, () => 0.9999)).toBe(4999);
  const samples = Array.from({ length: 1000 }, () => backoffDelay(options, 4));
  expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...samples)).toBeLessThan(800);
  // Spread, not a fixed delay: retries of many keys do not arrive together.
  expect(new Set(samples).size).toBeGreaterThan(100);
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AllocationBitmap, bandOffset } from './bitmap.js';

describe('AllocationBitmap', () => {
  test('allocate, has, release, free and used', () => {
    const b = new AllocationBitmap(10, 'r');
    assert.equal(b.allocate(3), true);
    assert.equal(b.allocate(3), false, 'second allocate of the same item fails');
    assert.equal(b.has(3), true);
    assert.equal(b.free(), 9);
    assert.equal(b.used(), 1);
    b.release(3);
    b.release(3);
    b.release(99);
    assert.equal(b.has(3), false);
    assert.equal(b.free(), 10);
    assert.throws(() => b.allocate(10), /out of range/);
    assert.throws(() => b.allocate(-1), /out of range/);
  });

  test('allocateNext takes the upper band first, then the lower band, then reports full', () => {
    const b = new AllocationBitmap(8, 'r', { offset: 3, rand: () => 0 });
    const got: number[] = [];
    for (let i = 0; i < 8; i++) got.push(b.allocateNext() as number);
    assert.deepEqual(got, [3, 4, 5, 6, 7, 0, 1, 2]);
    assert.equal(b.allocateNext(), undefined);
    assert.equal(b.free(), 0);
  });

  test('random start wraps inside the upper band', () => {
    const b = new AllocationBitmap(8, 'r', { offset: 3, rand: (n) => n - 1 });
    assert.equal(b.allocateNext(), 7);
    assert.equal(b.allocateNext(), 3, 'wraps to the band start, not into the lower band');
  });

  test('without an offset the whole range is one band', () => {
    const b = new AllocationBitmap(4, 'r', { strategy: 'contiguous' });
    assert.deepEqual([b.allocateNext(), b.allocateNext()], [0, 1]);
  });

  test('values() lists allocated offsets in order', () => {
    const b = new AllocationBitmap(20, 'r');
    for (const o of [17, 2, 9]) b.allocate(o);
    assert.deepEqual([...b.values()], [2, 9, 17]);
  });

  test('snapshot and restore round-trip; a different range is refused', () => {
    const a = new AllocationBitmap(20, 'r');
    for (const o of [0, 8, 19]) a.allocate(o);
    const snap = a.snapshot();
    a.allocate(5);
    const b = new AllocationBitmap(20, 'r');
    b.restore(snap);
    assert.equal(b.used(), 3);
    assert.deepEqual([b.has(0), b.has(8), b.has(19), b.has(5)], [true, true, true, false]);
    assert.throws(() => new AllocationBitmap(20, 'other').restore(snap), /does not match/);
  });
});

describe('bandOffset (KEP-3070)', () => {
  const cases: [string, number, number, number, number, number][] = [
    ['service /12 caps at 256', 2 ** 20, 16, 16, 256, 256],
    ['service /24 floors at 16', 256, 16, 16, 256, 16],
    ['service /28 has no band', 16, 16, 16, 256, 0],
    ['service /20', 4096, 16, 16, 256, 256],
    ['service /22 graduated', 1024, 16, 16, 256, 64],
    ['node ports 30000-32767', 2768, 16, 32, 128, 86],
    ['node ports 10 wide', 10, 16, 32, 128, 0],
  ];
  for (const [name, size, lo, step, hi, want] of cases) {
    test(name, () => assert.equal(bandOffset(size, lo, step, hi), want));
  }
});

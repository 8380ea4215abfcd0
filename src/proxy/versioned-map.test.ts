import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from './backends/iptables/churn.js';
import { VersionedMap } from './versioned-map.js';

test('every version keeps reading as it was made, after later derivations and out of order', () => {
  const random = seededRandom(7);
  const int = (n: number) => Math.floor(random() * n);
  let newest = new VersionedMap<number, string>(new Map([[1, 'a']]));
  const versions: Array<[VersionedMap<number, string>, Map<number, string>]> = [[newest, new Map([[1, 'a']])]];
  for (let step = 0; step < 300; step++) {
    // Mostly derive from the newest version (as syncs do), sometimes from an older one.
    const [base, expected] = int(5) === 0 ? versions[int(versions.length)]! : versions[versions.length - 1]!;
    const changes: Array<[number, string | undefined]> = [];
    for (let k = int(4); k >= 0; k--) changes.push([int(20), int(3) === 0 ? undefined : `v${step}.${k}`]);
    const next = new Map(expected);
    for (const [key, value] of changes) {
      if (value === undefined) next.delete(key);
      else next.set(key, value);
    }
    newest = base.derive(changes);
    versions.push([newest, next]);
    // Point reads of a random earlier version, then (rarely) a full iteration, which rebuilds it.
    const [old, oldExpected] = versions[int(versions.length)]!;
    for (let key = 0; key < 20; key++) {
      assert.equal(old.get(key), oldExpected.get(key));
      assert.equal(old.has(key), oldExpected.has(key));
    }
    assert.equal(old.size, oldExpected.size);
    if (int(10) === 0) assert.deepEqual(new Map(old), oldExpected);
  }
  for (const [version, expected] of versions) assert.deepEqual(new Map(version.entries()), expected);
});

test('deriving from the newest version leaves it as the reader of its own log, and the new one newest', () => {
  const first = new VersionedMap(new Map([['a', 1]]));
  const second = first.derive([
    ['a', 2],
    ['b', 3],
  ]);
  assert.equal(first.isNewest, false);
  assert.equal(second.isNewest, true);
  assert.deepEqual([first.get('a'), first.has('b'), first.size], [1, false, 1]);
  assert.deepEqual(
    [...second],
    [
      ['a', 2],
      ['b', 3],
    ],
  );
});

test('keysChangedSince names the keys of a direct derivation only', () => {
  const v1 = new VersionedMap(
    new Map([
      ['a', 1],
      ['b', 2],
    ]),
  );
  const v2 = v1.derive([
    ['b', 3],
    ['c', 4],
  ]);
  const v3 = v2.derive([['a', undefined]]);
  assert.deepEqual([...(v2.keysChangedSince(v1) ?? [])], ['b', 'c']);
  assert.deepEqual([...(v3.keysChangedSince(v2) ?? [])], ['a']);
  assert.equal(v3.keysChangedSince(v1), undefined, 'not a direct derivation');
  assert.equal(v1.keysChangedSince(v2), undefined, 'the other way round');
  assert.equal(v2.keysChangedSince(new Map([['a', 1]])), undefined, 'a plain map');
  // Iterating an old version rebuilds its own map and drops the link to its successor.
  assert.deepEqual([...v2.keys()].sort(), ['a', 'b', 'c']);
  assert.equal(v3.keysChangedSince(v2), undefined);
});

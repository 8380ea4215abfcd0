import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ageSince, humanDuration } from './duration.js';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

test('humanDuration matches kube HumanDuration', () => {
  const cases: [number, string][] = [
    [-3 * s, '<invalid>'],
    [-1 * s, '0s'],
    [0, '0s'],
    [45 * s, '45s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [3 * m + 20 * s, '3m20s'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m + 30 * s, '10m'],
    [17 * m, '17m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [3 * h + 17 * m, '3h17m'],
    [8 * h + 5 * m, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [2 * d + 5 * h, '2d5h'],
    [8 * d, '8d'],
    [18 * d, '18d'],
    [729 * d, '729d'],
    [730 * d, '2y'],
    [740 * d, '2y10d'],
    [8 * 365 * d + 3 * d, '8y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

test('ageSince reads RFC3339 timestamps', () => {
  const now = new Date('2024-01-01T03:17:00Z');
  assert.equal(ageSince('2024-01-01T00:00:00Z', now), '3h17m');
  assert.equal(ageSince(undefined, now), '<unknown>');
});

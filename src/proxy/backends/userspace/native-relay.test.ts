import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseRelay } from './native-relay.js';

test('chooseRelay: native splice by default (the addon is built by scripts/setup.sh), js when asked or unknown', () => {
  assert.deepEqual(chooseRelay(undefined), { kind: 'splice' });
  assert.deepEqual(chooseRelay(''), { kind: 'splice' });
  assert.deepEqual(chooseRelay('native'), { kind: 'splice' });
  assert.deepEqual(chooseRelay('copy'), { kind: 'copy' });
  assert.deepEqual(chooseRelay('js'), { kind: 'js', reason: 'asked for' });
  assert.deepEqual(chooseRelay('fast'), { kind: 'js', reason: 'unknown relay "fast"' });
});

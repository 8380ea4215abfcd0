import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percentValue, resolvePort, scaledValue } from './intstr.js';

test('percentages scale up for surge and down for unavailable', () => {
  assert.equal(scaledValue('25%', 3, true), 1);
  assert.equal(scaledValue('25%', 3, false), 0);
  assert.equal(scaledValue('25%', 10, true), 3);
  assert.equal(scaledValue('25%', 10, false), 2);
  assert.equal(scaledValue(2, 10, true), 2);
  assert.throws(() => scaledValue('abc', 10, true), /invalid type: string is not a percentage/);
  assert.throws(() => scaledValue('x%', 10, true), /invalid value for IntOrString: invalid value "x%"/);
});

test('percentValue and named port resolution', () => {
  assert.equal(percentValue('30%'), 30);
  assert.equal(percentValue(30), undefined);
  assert.equal(resolvePort('http', [{ name: 'http', containerPort: 8080 }]), 8080);
  assert.equal(resolvePort(80, []), 80);
  assert.equal(resolvePort('metrics', [{ name: 'http', containerPort: 8080 }]), undefined);
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatLabels, labelSelectorAsSelector, matches, parseSelector, selectorFromSet, selectorToString } from './labels.js';

describe('label selectors', () => {
  test('parses every operator and prints the normalised form', () => {
    const cases: [string, string][] = [
      ['app=web', 'app=web'],
      ['app==web', 'app==web'],
      ['app!=web', 'app!=web'],
      ['tier in (b, a)', 'tier in (a,b)'],
      ['tier notin (a)', 'tier notin (a)'],
      ['app', 'app'],
      ['!app', '!app'],
      ['z=1,a=2', 'a=2,z=1'],
      ['x=', 'x='],
      ['', ''],
    ];
    for (const [input, want] of cases) assert.equal(selectorToString(parseSelector(input)), want, input);
  });

  test('matches labels', () => {
    const l = { app: 'web', tier: 'fe' };
    const cases: [string, boolean][] = [
      ['app=web', true],
      ['app=db', false],
      ['app!=db', true],
      ['missing!=x', true],
      ['tier in (fe,be)', true],
      ['tier notin (fe)', false],
      ['app', true],
      ['!app', false],
      ['!missing', true],
      ['app=web,tier=be', false],
      ['', true],
    ];
    for (const [sel, want] of cases) assert.equal(matches(parseSelector(sel), l), want, sel);
  });

  test('syntax errors use kube wording', () => {
    assert.throws(() => parseSelector('a=b c'), { message: "found 'c', expected: ',' or 'end of string'" });
    assert.throws(() => parseSelector('a=b,'), { message: "found '', expected: identifier after ','" });
    assert.throws(() => parseSelector('a in b'), { message: "unable to parse requirement: found 'b' expected: '('" });
    assert.throws(() => parseSelector('=b'), { message: "found '=', expected: !, identifier, or 'end of string'" });
    assert.throws(() => parseSelector('a=(b'), { message: "unable to parse requirement: found '(', expected: identifier" });
    assert.throws(
      () => parseSelector('a=b$c d'),
      /unable to parse requirement: values\[0\]\[a\]: Invalid value: "b\$c": a valid label must be/,
    );
  });

  test('LabelSelector conversion: nil matches nothing, empty matches everything', () => {
    assert.equal(matches(labelSelectorAsSelector(undefined), { a: 'b' }), false);
    assert.equal(matches(labelSelectorAsSelector({}), { a: 'b' }), true);
    const sel = labelSelectorAsSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['fe'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(selectorToString(sel), 'app=web,!canary,tier in (fe)');
    assert.equal(matches(sel, { app: 'web', tier: 'fe' }), true);
    assert.equal(matches(sel, { app: 'web', tier: 'fe', canary: 'y' }), false);
    assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'Foo' }] }), {
      message: '"Foo" is not a valid label selector operator',
    });
  });

  test('set selectors and label formatting', () => {
    assert.equal(selectorToString(selectorFromSet({ b: '2', a: '1' })), 'a=1,b=2');
    assert.equal(formatLabels({ b: '2', a: '1' }), 'a=1,b=2');
    assert.equal(formatLabels({}), '<none>');
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dottedFieldValue, fieldSelectorToString, fieldsMatch, parseFieldSelector, requiresExactMatch } from './fields.js';

test('parses field selectors with escapes', () => {
  const reqs = parseFieldSelector('metadata.name=web,spec.nodeName!=n1');
  assert.deepEqual(reqs, [
    { field: 'metadata.name', operator: '=', value: 'web' },
    { field: 'spec.nodeName', operator: '!=', value: 'n1' },
  ]);
  assert.deepEqual(parseFieldSelector('a==x\\,y'), [{ field: 'a', operator: '=', value: 'x,y' }]);
  assert.equal(fieldSelectorToString(parseFieldSelector('a=x\\=y')), 'a=x\\=y');
  assert.equal(requiresExactMatch(reqs, 'metadata.name'), 'web');
  assert.deepEqual(parseFieldSelector(''), []);
});

test('field selector errors use kube wording', () => {
  assert.throws(() => parseFieldSelector('abc'), { message: "invalid selector: 'abc'; can't understand 'abc'" });
  assert.throws(() => parseFieldSelector('a=b\\x'), { message: 'invalid field selector: invalid escape sequence: \\x' });
  assert.throws(() => parseFieldSelector('a=b=c'), { message: 'invalid field selector: unescaped character in value: =' });
});

test('matches through a field accessor; missing fields read as empty', () => {
  const ev = { involvedObject: { kind: 'Service', name: 'web' }, metadata: { name: 'e1', namespace: 'default' } };
  const get = (f: string) => dottedFieldValue(ev, f);
  assert.equal(fieldsMatch(parseFieldSelector('involvedObject.kind=Service,involvedObject.name=web'), get), true);
  assert.equal(fieldsMatch(parseFieldSelector('involvedObject.uid='), get), true);
  assert.equal(fieldsMatch(parseFieldSelector('metadata.namespace!=default'), get), false);
});

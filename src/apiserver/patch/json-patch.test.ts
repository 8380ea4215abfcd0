import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StatusError } from '../../api/errors.js';
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';

const svc = () => ({
  metadata: { name: 'demo', labels: { app: 'demo' } },
  spec: { ports: [{ port: 80 }, { port: 443 }], type: 'ClusterIP' },
});

describe('applyJsonPatch (RFC 6902)', () => {
  test('add, replace, remove, move, copy and a passing test', () => {
    const out = applyJsonPatch(svc(), [
      { op: 'test', path: '/spec/type', value: 'ClusterIP' },
      { op: 'add', path: '/metadata/labels/tier', value: 'web' },
      { op: 'replace', path: '/spec/type', value: 'NodePort' },
      { op: 'remove', path: '/spec/ports/1' },
      { op: 'add', path: '/spec/ports/-', value: { port: 9090 } },
      { op: 'copy', from: '/metadata/labels/app', path: '/metadata/labels/copy' },
      { op: 'move', from: '/metadata/labels/copy', path: '/metadata/labels/moved' },
    ]);
    assert.deepEqual(out, {
      metadata: { name: 'demo', labels: { app: 'demo', tier: 'web', moved: 'demo' } },
      spec: { ports: [{ port: 80 }, { port: 9090 }], type: 'NodePort' },
    });
  });

  test('leaves the input untouched', () => {
    const doc = svc();
    applyJsonPatch(doc, [{ op: 'remove', path: '/spec' }]);
    assert.deepEqual(doc, svc());
  });

  const notApplicable: [string, unknown[]][] = [
    ['a failing test op', [{ op: 'test', path: '/spec/type', value: 'NodePort' }]],
    ['removing a missing path', [{ op: 'remove', path: '/spec/nope' }]],
    ['replacing a missing path', [{ op: 'replace', path: '/status/x', value: 1 }]],
    ['adding under a missing parent', [{ op: 'add', path: '/a/b/c', value: 1 }]],
    ['an unknown op', [{ op: 'frob', path: '/spec' }]],
  ];
  for (const [name, ops] of notApplicable) {
    test(`${name} is kube's generic 422 with empty details`, () => {
      assert.throws(
        () => applyJsonPatch(svc(), ops),
        (e: StatusError) => {
          assert.deepEqual(e.toStatus(), {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: 'the server rejected our request due to an error in our request',
            reason: 'Invalid',
            details: {},
            code: 422,
          });
          return true;
        },
      );
    });
  }

  test('a body that is not a list is 400 with Go decoder text', () => {
    assert.throws(
      () => applyJsonPatch(svc(), { op: 'add' }),
      (e: StatusError) => e.code === 400 && e.message === 'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  });

  test('more than 10000 operations is 413', () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/spec/type', value: 'ClusterIP' }));
    assert.throws(
      () => applyJsonPatch(svc(), ops),
      (e: StatusError) =>
        e.code === 413 && e.message === 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
    );
  });
});

describe('applyMergePatch (RFC 7386)', () => {
  const cases: [string, unknown, unknown][] = [
    [
      'merges objects',
      { metadata: { labels: { tier: 'web' } } },
      { ...svc(), metadata: { name: 'demo', labels: { app: 'demo', tier: 'web' } } },
    ],
    ['null removes', { metadata: { labels: null } }, { ...svc(), metadata: { name: 'demo' } }],
    ['lists are replaced', { spec: { ports: [{ port: 1 }] } }, { ...svc(), spec: { ports: [{ port: 1 }], type: 'ClusterIP' } }],
    ['nulls inside new objects are dropped', { status: { a: 1, b: null } }, { ...svc(), status: { a: 1 } }],
  ];
  for (const [name, patch, want] of cases) {
    test(name, () => assert.deepEqual(applyMergePatch(svc(), patch), want));
  }

  test('a patch that is not an object is 400', () => {
    assert.throws(
      () => applyMergePatch(svc(), [1]),
      (e: StatusError) =>
        e.code === 400 && e.message === 'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
  });
});

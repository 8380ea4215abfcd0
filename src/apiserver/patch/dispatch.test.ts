import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';
import { applyPatch, managerOrUserAgent, patchKindOf } from './dispatch.js';
import { serviceSchema } from './fixtures.js';

const T0 = '2025-01-01T00:00:00Z';
const live = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'demo', namespace: 'default', labels: { app: 'demo' } },
  spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
});

describe('applyPatch dispatcher', () => {
  test("an unknown Content-Type is kube's 415", () => {
    assert.throws(
      () => applyPatch('application/json', live(), '{}'),
      (e: StatusError) =>
        e.code === 415 &&
        e.reason === 'UnsupportedMediaType' &&
        e.message ===
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
    );
  });

  test('kinds without strategic merge refuse it and leave it out of the list', () => {
    assert.throws(
      () => patchKindOf('application/strategic-merge-patch+json', false),
      (e: StatusError) => e.code === 415 && !e.message.includes('strategic'),
    );
  });

  test('Content-Type parameters are ignored', () => {
    assert.equal(patchKindOf('application/merge-patch+json; charset=utf-8'), 'merge');
  });

  test('strategic merge patch records Update ownership for the User-Agent manager', () => {
    const { object, created } = applyPatch('application/strategic-merge-patch+json', live(), '{"metadata":{"labels":{"tier":"web"}}}', {
      schema: serviceSchema,
      userAgent: 'kubectl/v1.32.0 (linux/amd64) kubernetes/abc',
      now: T0,
    });
    assert.equal(created, false);
    assert.deepEqual(object.metadata.labels, { app: 'demo', tier: 'web' });
    assert.deepEqual(object.metadata.managedFields, [
      {
        manager: 'kubectl',
        operation: 'Update',
        apiVersion: 'v1',
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:tier': {} } } },
      },
    ]);
  });

  test('json and merge patches are routed', () => {
    const j = applyPatch('application/json-patch+json', live(), '[{"op":"replace","path":"/spec/ports/0/port","value":81}]', {
      fieldManager: 'm',
    });
    assert.equal(j.object.spec.ports[0].port, 81);
    const m = applyPatch('application/merge-patch+json', live(), '{"spec":{"ports":[]}}', { fieldManager: 'm' });
    assert.deepEqual(m.object.spec.ports, []);
  });

  test('malformed JSON is 400', () => {
    assert.throws(
      () => applyPatch('application/json-patch+json', live(), '[{'),
      (e: StatusError) => e.code === 400,
    );
  });

  test("a non-apply patch of a missing object is the caller's 404", () => {
    const nf = { code: 404 } as StatusError;
    assert.throws(
      () => applyPatch('application/merge-patch+json', undefined, '{}', { notFound: () => nf }),
      (e) => e === nf,
    );
  });

  test('apply accepts YAML, creates, and answers created', () => {
    const body = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: demo\nspec:\n  ports:\n  - port: 80\n';
    const { object, created } = applyPatch('application/apply-patch+yaml', undefined, body, {
      fieldManager: 'kubectl',
      schema: serviceSchema,
      now: T0,
    });
    assert.equal(created, true);
    assert.deepEqual(object.spec, { ports: [{ port: 80 }] });
    assert.equal(object.metadata.managedFields?.[0].operation, 'Apply');
  });

  test('apply without fieldManager is 422 on PatchOptions', () => {
    assert.throws(
      () => applyPatch('application/apply-patch+yaml', undefined, '{"apiVersion":"v1","kind":"Service"}'),
      (e: StatusError) =>
        e.code === 422 && e.message === 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
  });

  test('force on a non-apply patch is 422', () => {
    assert.throws(
      () => applyPatch('application/merge-patch+json', live(), '{}', { force: false }),
      (e: StatusError) => e.code === 422 && e.message.endsWith('force: Forbidden: may not be specified for non-apply patch'),
    );
  });

  test('apply with another apiVersion is 400', () => {
    assert.throws(
      () =>
        applyPatch('application/apply-patch+yaml', undefined, '{"apiVersion":"v2","kind":"Service"}', {
          fieldManager: 'k',
          apiVersion: 'v1',
        }),
      (e: StatusError) =>
        e.code === 400 && e.message === 'Incorrect version specified in apply patch. Specified patch version: v2, expected: v1',
    );
  });

  test('managerOrUserAgent', () => {
    assert.equal(managerOrUserAgent('mine', 'kubectl/v1'), 'mine');
    assert.equal(managerOrUserAgent(undefined, 'kube-controller-manager/v1.32.0 (linux/amd64)'), 'kube-controller-manager');
    assert.equal(managerOrUserAgent(undefined, 'x'.repeat(200)).length, 128);
  });
});

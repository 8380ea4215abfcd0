import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';
import { FieldSet } from './fieldpath.js';
import { serviceSchema } from './fixtures.js';
import { LAST_APPLIED_ANNOTATION, mergeApplied, serverSideApply, updateManagedFields } from './ssa.js';

const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:01:00Z';
const K80 = 'k:{"port":80,"protocol":"TCP"}';

function config(targetPort = 8080, labels: Record<string, string> = { app: 'demo' }) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'demo', namespace: 'default', labels },
    spec: { ports: [{ name: 'http', port: 80, targetPort }], selector: { app: 'demo' } },
  };
}

const apply = (live: KubeObject | undefined, applied: unknown, manager = 'kubectl', extra: { force?: boolean; now?: string } = {}) =>
  serverSideApply({ live, applied, manager, schema: serviceSchema, now: extra.now ?? T0, force: extra.force });

function clientSideCreate(): KubeObject {
  return updateManagedFields({ new: config() as KubeObject, manager: 'kubectl-client-side-apply', schema: serviceSchema, now: T0 }).object;
}

describe('serverSideApply', () => {
  test('an applier that owned a map\'s own entry (".") and now applies only its keys keeps the map', () => {
    // What kubectl's client-side → server-side apply migration leaves: the Apply manager owns
    // `f:labels: {".": {}, "f:app": {}}`; a later apply names only `labels.app`.
    const live = apply(undefined, config()).object;
    live.metadata.managedFields = [
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'v1',
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } },
      },
    ];
    const applied = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'demo', namespace: 'default', labels: { app: 'demo' } },
    };
    const { object } = apply(live, applied, 'kubectl', { now: T1 });
    assert.deepEqual(object.metadata.labels, { app: 'demo' });
  });

  test('creates the object and records Apply ownership in fieldsV1', () => {
    const { object, managedFields } = apply(undefined, config());
    assert.deepEqual(
      { ...object, metadata: { ...object.metadata, managedFields: undefined } },
      {
        ...config(),
        metadata: { ...config().metadata, managedFields: undefined },
      },
    );
    assert.deepEqual(managedFields, [
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'v1',
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': { 'f:ports': { [K80]: { '.': {}, 'f:name': {}, 'f:port': {}, 'f:targetPort': {} } }, 'f:selector': {} },
        },
      },
    ]);
    assert.deepEqual(object.metadata.managedFields, managedFields);
  });

  test('the same manager changes its own fields without conflict', () => {
    const first = apply(undefined, config()).object;
    const { object, managedFields } = apply(first, config(8081), 'kubectl', { now: T1 });
    assert.equal(object.spec.ports[0].targetPort, 8081);
    assert.equal(managedFields.length, 1);
    assert.equal(managedFields[0].time, T1);
  });

  test('a no-op apply keeps the entry time', () => {
    const first = apply(undefined, config()).object;
    const { object } = apply(first, config(), 'kubectl', { now: T1 });
    assert.deepEqual(object, first);
  });

  test('fields applied before and now omitted are removed', () => {
    const first = apply(undefined, config(8080, { app: 'demo', tier: 'web' })).object;
    const withTwoPorts = { ...config(), spec: { ...config().spec, ports: [...config().spec.ports, { name: 'm', port: 9090 }] } };
    const second = apply(first, withTwoPorts).object;
    assert.equal(second.spec.ports.length, 2);
    const { object } = apply(second, config());
    assert.deepEqual(object.metadata.labels, { app: 'demo' });
    assert.deepEqual(object.spec.ports, [{ name: 'http', port: 80, targetPort: 8080 }]);
  });

  test('an omitted field another manager also applied stays', () => {
    const a = apply(undefined, config(8080, { app: 'demo', tier: 'web' }), 'a').object;
    const b = apply(a, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'demo', labels: { tier: 'web' } } }, 'b').object;
    const { object, managedFields } = apply(b, config(), 'a');
    assert.deepEqual(object.metadata.labels, { app: 'demo', tier: 'web' });
    assert.deepEqual(
      managedFields.map((m) => m.manager),
      ['a', 'b'],
    );
  });

  test('fields not owned by anyone are never removed', () => {
    const first = apply(undefined, config()).object;
    first.spec.clusterIP = '10.96.0.12';
    const { object } = apply(first, config());
    assert.equal(object.spec.clusterIP, '10.96.0.12');
  });

  test('changing a field owned by client-side apply is a 409 worded like kube', () => {
    assert.throws(
      () => apply(clientSideCreate(), config(8081)),
      (e: StatusError) => {
        const path = '.spec.ports[port=80,protocol="TCP"].targetPort';
        assert.equal(e.code, 409);
        assert.equal(e.reason, 'Conflict');
        assert.equal(e.message, `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: ${path}`);
        assert.deepEqual(e.details, {
          causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using v1', field: path }],
        });
        return true;
      },
    );
  });

  test('several conflicts are grouped by manager', () => {
    assert.throws(
      () => apply(clientSideCreate(), { ...config(8081), spec: { ...config(8081).spec, selector: { app: 'x' } } }),
      (e: StatusError) => {
        assert.equal(
          e.message,
          'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using v1:\n' +
            '- .spec.selector\n' +
            '- .spec.ports[port=80,protocol="TCP"].targetPort',
        );
        assert.equal(e.details?.causes?.length, 2);
        return true;
      },
    );
  });

  test('applying the same value shares ownership instead of conflicting', () => {
    const { managedFields } = apply(clientSideCreate(), config());
    assert.deepEqual(
      managedFields.map((m) => [m.manager, m.operation]),
      [
        ['kubectl', 'Apply'],
        ['kubectl-client-side-apply', 'Update'],
      ],
    );
    const csa = FieldSet.fromFieldsV1(managedFields[1].fieldsV1);
    assert.ok(csa.has(['f:spec', 'f:ports', K80, 'f:targetPort']));
  });

  test('force takes the conflicting fields over', () => {
    const { object, managedFields } = apply(clientSideCreate(), config(8081), 'kubectl', { force: true });
    assert.equal(object.spec.ports[0].targetPort, 8081);
    const [mine, theirs] = managedFields.map((m) => FieldSet.fromFieldsV1(m.fieldsV1));
    assert.ok(mine.has(['f:spec', 'f:ports', K80, 'f:targetPort']));
    assert.ok(!theirs.has(['f:spec', 'f:ports', K80, 'f:targetPort']));
    assert.ok(theirs.has(['f:spec', 'f:ports', K80, 'f:name']));
  });

  test('an object without managedFields is owned by "before-first-apply"', () => {
    const live = config() as KubeObject;
    assert.throws(
      () => apply(live, config(8081)),
      (e: StatusError) =>
        e.message ===
        `Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .spec.ports[port=80,protocol="TCP"].targetPort`,
    );
  });

  test('managedFields in the applied object is 400', () => {
    const body = { ...config(), metadata: { ...config().metadata, managedFields: [] } };
    assert.throws(
      () => apply(undefined, body),
      (e: StatusError) => e.code === 400 && e.message === 'metadata.managedFields must be nil',
    );
  });

  test('duplicate keys in the applied list are 400', () => {
    const body = { ...config(), spec: { ports: [{ port: 80 }, { port: 80 }] } };
    assert.throws(
      () => apply(undefined, body),
      (e: StatusError) => e.code === 400 && /duplicate entries for key \[port=80,protocol="TCP"\]/.test(e.message),
    );
  });

  test('finalizers (a set) are owned per value', () => {
    const body = { ...config(), metadata: { ...config().metadata, finalizers: ['a/b'] } };
    const { managedFields } = apply(undefined, body);
    assert.deepEqual((managedFields[0].fieldsV1?.['f:metadata'] as Record<string, unknown> | undefined)?.['f:finalizers'], {
      'v:"a/b"': {},
    });
  });

  test('"kubectl" keeps an existing last-applied annotation in sync', () => {
    const live = clientSideCreate();
    live.metadata.annotations = { [LAST_APPLIED_ANNOTATION]: 'old' };
    const { object } = apply(live, config(), 'kubectl', { force: true });
    const want = `${JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { labels: { app: 'demo' }, name: 'demo', namespace: 'default' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }], selector: { app: 'demo' } },
    })}\n`;
    assert.equal(object.metadata.annotations?.[LAST_APPLIED_ANNOTATION], want);
  });
});

describe('mergeApplied list order (structured-merge-diff)', () => {
  const list = (...ps: number[]) => ({ spec: { ports: ps.map((port) => ({ port, protocol: 'TCP' })) } });
  const cases: [string, number[], number[], number[]][] = [
    ['applied-only items follow the applied order', [80], [80, 9090], [80, 9090]],
    ['live-only items stay in place', [80, 53, 443], [80, 443], [80, 53, 443]],
    ['shared items take the applied order', [80, 53, 443], [443, 80], [53, 443, 80]],
  ];
  for (const [name, live, applied, want] of cases) {
    test(name, () => {
      const out = mergeApplied(list(...live), list(...applied), serviceSchema) as ReturnType<typeof list>;
      assert.deepEqual(
        out.spec.ports.map((p) => p.port),
        want,
      );
    });
  }
});

describe('updateManagedFields', () => {
  test('create records Update ownership like kube (containers added get ".")', () => {
    const { managedFields } = updateManagedFields({
      new: config() as KubeObject,
      manager: 'kubectl-client-side-apply',
      schema: serviceSchema,
      now: T0,
    });
    assert.deepEqual(managedFields, [
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'v1',
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': {
            'f:ports': { '.': {}, [K80]: { '.': {}, 'f:name': {}, 'f:port': {}, 'f:targetPort': {} } },
            'f:selector': {},
          },
        },
      },
    ]);
  });

  test('another writer takes over the fields it changes', () => {
    const created = clientSideCreate();
    const edited = structuredClone(created);
    edited.spec.ports[0].targetPort = 9000;
    const { managedFields } = updateManagedFields({ old: created, new: edited, manager: 'kubectl-edit', schema: serviceSchema, now: T1 });
    assert.deepEqual(
      managedFields.map((m) => m.manager),
      ['kubectl-client-side-apply', 'kubectl-edit'],
    );
    assert.deepEqual(managedFields[1].fieldsV1, { 'f:spec': { 'f:ports': { [K80]: { 'f:targetPort': {} } } } });
    assert.ok(!FieldSet.fromFieldsV1(managedFields[0].fieldsV1).has(['f:spec', 'f:ports', K80, 'f:targetPort']));
  });

  test('a write that changes nothing owned records nothing', () => {
    const created = clientSideCreate();
    const same = structuredClone(created);
    same.metadata.resourceVersion = '7';
    const { managedFields } = updateManagedFields({ old: created, new: same, manager: 'other', schema: serviceSchema, now: T1 });
    assert.deepEqual(managedFields, created.metadata.managedFields);
  });

  test('removed fields leave their owners', () => {
    const created = clientSideCreate();
    const edited = structuredClone(created);
    delete edited.metadata.labels;
    const { managedFields } = updateManagedFields({ old: created, new: edited, manager: 'x', schema: serviceSchema, now: T1 });
    assert.equal(managedFields.length, 1);
    assert.equal((managedFields[0].fieldsV1 as Record<string, unknown>)['f:metadata'], undefined);
  });
});

describe('FieldSet', () => {
  test('fieldsV1 round-trips and sorts like kube (fields, then keys by value)', () => {
    const fields = {
      'f:spec': {
        'f:ports': {
          '.': {},
          'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
          'k:{"port":443,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
        },
        'f:type': {},
      },
    };
    const set = FieldSet.fromFieldsV1(fields);
    assert.deepEqual(set.toFieldsV1(), fields);
    assert.equal(JSON.stringify(set.toFieldsV1()), JSON.stringify(fields));
  });
});

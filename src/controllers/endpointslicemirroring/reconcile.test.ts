import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EndpointsObject } from '../endpoints/reconcile.js';
import type { SliceObject } from '../endpointslice/util.js';
import { reconcileMirror } from './reconcile.js';

function endpoints(subsets: EndpointsObject['subsets'], annotations?: Record<string, string>): EndpointsObject {
  return {
    metadata: { name: 'my-service', namespace: 'default', uid: 'ep-uid', labels: { team: 'a' }, annotations },
    subsets,
  };
}

const named = (s: SliceObject, name: string): SliceObject => ({
  ...structuredClone(s),
  metadata: { ...structuredClone(s.metadata), name, generateName: undefined, resourceVersion: '1' },
});

describe('reconcileMirror', () => {
  test("the tutorial's hand-written Endpoints become one slice", () => {
    const ep = endpoints([{ addresses: [{ ip: '192.0.2.42' }], ports: [{ port: 9376 }] }], {
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      note: 'x',
    });
    const c = reconcileMirror(ep, []);
    assert.equal(c.create.length, 1);
    assert.deepEqual(c.create[0], {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        namespace: 'default',
        generateName: 'my-service-',
        labels: {
          team: 'a',
          'kubernetes.io/service-name': 'my-service',
          'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io',
        },
        annotations: { note: 'x' },
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Endpoints', name: 'my-service', uid: 'ep-uid', controller: true, blockOwnerDeletion: true },
        ],
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['192.0.2.42'], conditions: { ready: true } }],
      ports: [{ name: '', port: 9376, protocol: 'TCP' }],
    });
  });

  test('unchanged mirror writes nothing; a changed address updates the same slice', () => {
    const ep = endpoints([{ addresses: [{ ip: '192.0.2.42' }], notReadyAddresses: [{ ip: '192.0.2.43' }], ports: [{ port: 9376 }] }]);
    const slice = named(reconcileMirror(ep, []).create[0], 'my-service-abc');
    assert.deepEqual(
      slice.endpoints.map((e) => e.conditions),
      [{ ready: true }, { ready: false }],
    );
    const same = reconcileMirror(ep, [slice]);
    assert.deepEqual([same.create.length, same.update.length, same.delete.length], [0, 0, 0]);
    const changed = reconcileMirror(endpoints([{ addresses: [{ ip: '192.0.2.44' }], ports: [{ port: 9376 }] }]), [slice]);
    assert.deepEqual([changed.create.length, changed.update.length, changed.delete.length], [0, 1, 0]);
    assert.equal(changed.update[0].metadata.name, 'my-service-abc');
  });

  test('invalid IPs are skipped and counted; IPv6 goes to its own slice', () => {
    const c = reconcileMirror(
      endpoints([{ addresses: [{ ip: 'not-an-ip' }, { ip: '2001:db8::1' }, { ip: '192.0.2.1' }], ports: [{ port: 80 }] }]),
      [],
    );
    assert.equal(c.invalid, 1);
    assert.deepEqual(c.create.map((s) => s.addressType).sort(), ['IPv4', 'IPv6']);
  });

  test('addresses beyond the per-subset maximum are skipped', () => {
    const c = reconcileMirror(
      endpoints([{ addresses: [{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }, { ip: '192.0.2.3' }], ports: [{ port: 80 }] }]),
      [],
      2,
    );
    assert.equal(c.create[0].endpoints.length, 2);
    assert.equal(c.skipped, 1);
  });

  test('no subsets: existing mirrored slices are deleted', () => {
    const slice = named(reconcileMirror(endpoints([{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80 }] }]), []).create[0], 's1');
    const c = reconcileMirror(endpoints([]), [slice]);
    assert.deepEqual(
      c.delete.map((s) => s.metadata.name),
      ['s1'],
    );
  });
});

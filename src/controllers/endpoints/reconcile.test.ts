import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PodObject, ServiceObject } from '../endpointslice/util.js';
import { computeSubsets, desiredEndpoints, type EndpointsObject, repackSubsets, type Subset, truncateSubsets } from './reconcile.js';

function service(over: Partial<NonNullable<ServiceObject['spec']>> = {}, labels?: Record<string, string>): ServiceObject {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'svc', labels },
    spec: { selector: { app: 'web' }, clusterIP: '10.96.0.20', ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }], ...over },
  };
}

function pod(
  name: string,
  ip: string,
  opts: { ready?: boolean; deleting?: boolean; ports?: { name: string; containerPort: number }[] } = {},
): PodObject {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, ...(opts.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', ports: (opts.ports ?? []).map((p) => ({ ...p, protocol: 'TCP' })) }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
  };
}

const addr = (ip: string, name: string) => ({
  ip,
  nodeName: 'node-1',
  targetRef: { kind: 'Pod', namespace: 'default', name, uid: `uid-${name}` },
});

describe('computeSubsets', () => {
  test('ready and not-ready pods share a subset with their ports, sorted by IP', () => {
    const subsets = computeSubsets(service(), [pod('b', '10.0.0.2'), pod('c', '10.0.0.3', { ready: false }), pod('a', '10.0.0.1')]);
    assert.deepEqual(subsets, [
      {
        addresses: [addr('10.0.0.1', 'a'), addr('10.0.0.2', 'b')],
        notReadyAddresses: [addr('10.0.0.3', 'c')],
        ports: [{ name: '', port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  test('terminating pods are left out unless publishNotReadyAddresses', () => {
    assert.deepEqual(computeSubsets(service(), [pod('a', '10.0.0.1', { deleting: true })]), []);
    const published = computeSubsets(service({ publishNotReadyAddresses: true }), [pod('a', '10.0.0.1', { deleting: true, ready: false })]);
    assert.deepEqual(
      published[0].addresses?.map((a) => a.ip),
      ['10.0.0.1'],
    );
  });

  test('pods resolving a named port differently land in separate subsets', () => {
    const svc = service({ ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }] });
    const subsets = computeSubsets(svc, [
      pod('a', '10.0.0.1', { ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('b', '10.0.0.2', { ports: [{ name: 'web', containerPort: 9090 }] }),
      pod('c', '10.0.0.3'),
    ]);
    assert.deepEqual(
      subsets.map((s) => [s.ports?.[0].port, s.addresses?.map((a) => a.ip)]),
      [
        [8080, ['10.0.0.1']],
        [9090, ['10.0.0.2']],
      ],
    );
  });

  test('a headless Service without ports still lists its pods', () => {
    const subsets = computeSubsets(service({ clusterIP: 'None', ports: [] }), [pod('a', '10.0.0.1')]);
    assert.deepEqual(subsets, [{ addresses: [addr('10.0.0.1', 'a')] }]);
  });
});

describe('repackSubsets', () => {
  test('ports served by the same addresses merge; an address ready on a port wins', () => {
    const p80 = { name: 'a', port: 80, protocol: 'TCP' as const };
    const p81 = { name: 'b', port: 81, protocol: 'TCP' as const };
    const got = repackSubsets([
      { addresses: [{ ip: '1.1.1.1' }], ports: [p80] },
      { addresses: [{ ip: '1.1.1.1' }], ports: [p81] },
      { notReadyAddresses: [{ ip: '1.1.1.1' }], ports: [p80] },
    ]);
    assert.deepEqual(got, [{ addresses: [{ ip: '1.1.1.1' }], ports: [p80, p81] }]);
  });
});

describe('truncateSubsets', () => {
  const many = (n: number, base: number) => Array.from({ length: n }, (_, i) => ({ ip: `10.${base}.${i >> 8}.${i & 255}` }));
  test('under capacity nothing changes', () => {
    const s: Subset[] = [{ addresses: many(1000, 0) }];
    assert.equal(truncateSubsets(s), false);
    assert.equal(s[0].addresses?.length, 1000);
  });
  test('ready addresses are kept first, not-ready ones cut', () => {
    const s: Subset[] = [{ addresses: many(900, 0), notReadyAddresses: many(300, 1) }];
    assert.equal(truncateSubsets(s), true);
    assert.deepEqual([s[0].addresses?.length, s[0].notReadyAddresses?.length], [900, 100]);
  });
  test('too many ready addresses are shared in proportion, not-ready dropped', () => {
    const s: Subset[] = [{ addresses: many(1500, 0), notReadyAddresses: many(10, 1) }, { addresses: many(500, 2) }];
    assert.equal(truncateSubsets(s), true);
    assert.deepEqual(
      s.map((x) => [x.addresses?.length, x.notReadyAddresses?.length]),
      [
        [750, undefined],
        [250, undefined],
      ],
    );
  });
});

describe('desiredEndpoints', () => {
  test('creates the Endpoints named as the Service with its labels', () => {
    const ep = desiredEndpoints(service({}, { app: 'web' }), [pod('a', '10.0.0.1')], undefined, undefined);
    assert.equal(ep?.metadata.name, 'web');
    assert.deepEqual(ep?.metadata.labels, { app: 'web' });
    assert.equal(ep?.metadata.annotations, undefined);
  });
  test('no write when nothing changed (headless label aside)', () => {
    const svc = service({ clusterIP: 'None' });
    const first = desiredEndpoints(svc, [pod('a', '10.0.0.1')], undefined, undefined) as EndpointsObject;
    assert.deepEqual(first.metadata.labels, { 'service.kubernetes.io/headless': '' });
    first.metadata.resourceVersion = '5';
    assert.equal(desiredEndpoints(svc, [pod('a', '10.0.0.1')], first, undefined), undefined);
  });
  test('over 1000 addresses: truncated with the over-capacity annotation; trigger time recorded', () => {
    const pods = Array.from({ length: 1001 }, (_, i) => pod(`p${i}`, `10.0.${i >> 8}.${i & 255}`));
    const ep = desiredEndpoints(service(), pods, undefined, Date.parse('2024-01-01T00:00:00Z'));
    assert.equal(ep?.subsets?.[0].addresses?.length, 1000);
    assert.deepEqual(ep?.metadata.annotations, {
      'endpoints.kubernetes.io/over-capacity': 'truncated',
      'endpoints.kubernetes.io/last-change-trigger-time': '2024-01-01T00:00:00Z',
    });
    assert.notEqual(desiredEndpoints(service(), pods, ep, undefined), undefined, 'over capacity always rewrites, as upstream');
  });
});

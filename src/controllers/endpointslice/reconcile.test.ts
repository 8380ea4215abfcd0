import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/meta.js';
import { endpointPorts, podToEndpoint, reconcileSlices, type SliceEndpoint } from './reconcile.js';
import { formatTriggerTime, type PodObject, type ServiceObject, type SliceObject, TriggerTimeTracker } from './util.js';

const SVC_UID = 'svc-uid';

function service(over: Partial<NonNullable<ServiceObject['spec']>> = {}, labels?: Record<string, string>): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', uid: SVC_UID, labels, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      selector: { app: 'web' },
      clusterIP: '10.96.0.20',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      ...over,
    },
  };
}

function pod(
  name: string,
  ip: string,
  opts: {
    ready?: boolean;
    deleting?: boolean;
    node?: string;
    ports?: { name: string; containerPort: number }[];
    hostname?: string;
    subdomain?: string;
    phase?: string;
  } = {},
): PodObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: { app: 'web' },
      ...(opts.deleting ? { deletionTimestamp: '2024-01-01T00:00:10Z' } : {}),
    },
    spec: {
      nodeName: opts.node ?? 'node-1',
      hostname: opts.hostname,
      subdomain: opts.subdomain,
      containers: [{ name: 'c', ports: (opts.ports ?? []).map((p) => ({ ...p, protocol: 'TCP' })) }],
    },
    status: {
      phase: (opts.phase ?? 'Running') as 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: '2024-01-01T00:00:05Z' }],
    },
  };
}

const nodes: Record<string, KubeObject> = {
  'node-1': { metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/zone': 'zone-a' } } },
  'node-2': { metadata: { name: 'node-2' } },
};
const nodeByName = (n: string) => nodes[n];

function named(slice: SliceObject, name: string, rv = '1'): SliceObject {
  return {
    ...structuredClone(slice),
    metadata: { ...structuredClone(slice.metadata), name, resourceVersion: rv, generateName: undefined },
  };
}

const ips = (slice: SliceObject) => slice.endpoints.map((e) => e.addresses[0]);

describe('podToEndpoint conditions', () => {
  const cases: { name: string; pod: PodObject; svc: ServiceObject; want: SliceEndpoint['conditions'] }[] = [
    { name: 'ready pod', pod: pod('a', '10.0.0.1'), svc: service(), want: { ready: true, serving: true, terminating: false } },
    {
      name: 'not ready pod',
      pod: pod('a', '10.0.0.1', { ready: false }),
      svc: service(),
      want: { ready: false, serving: false, terminating: false },
    },
    {
      name: 'terminating ready pod',
      pod: pod('a', '10.0.0.1', { deleting: true }),
      svc: service(),
      want: { ready: false, serving: true, terminating: true },
    },
    {
      name: 'publishNotReadyAddresses makes not-ready pods ready',
      pod: pod('a', '10.0.0.1', { ready: false, deleting: true }),
      svc: service({ publishNotReadyAddresses: true }),
      want: { ready: true, serving: false, terminating: true },
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(podToEndpoint(c.pod, nodes['node-1'], c.svc).conditions, c.want));
  }

  test('carries zone, nodeName, targetRef; hostname only for the subdomain Service', () => {
    const ep = podToEndpoint(pod('a', '10.0.0.1', { hostname: 'a', subdomain: 'web' }), nodes['node-1'], service({ clusterIP: 'None' }));
    assert.deepEqual(ep, {
      addresses: ['10.0.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      hostname: 'a',
      targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' },
      nodeName: 'node-1',
      zone: 'zone-a',
    });
    const other = podToEndpoint(pod('a', '10.0.0.1', { hostname: 'a', subdomain: 'other' }), nodes['node-2'], service());
    assert.equal(other.hostname, undefined);
    assert.equal(other.zone, undefined);
  });
});

describe('endpointPorts', () => {
  const svc = service({
    ports: [
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' },
      { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 9090 },
    ],
  });
  test('a named targetPort resolves per pod', () => {
    assert.deepEqual(endpointPorts(svc, pod('a', '10.0.0.1', { ports: [{ name: 'web', containerPort: 8080 }] })), [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ]);
  });
  test('a pod without the named port serves only the other ports', () => {
    assert.deepEqual(endpointPorts(svc, pod('a', '10.0.0.1')), [{ name: 'metrics', port: 9090, protocol: 'TCP' }]);
  });
  test('a headless Service without ports has none', () => {
    assert.deepEqual(endpointPorts(service({ clusterIP: 'None', ports: [] }), pod('a', '10.0.0.1')), []);
  });
});

describe('reconcileSlices', () => {
  test('creates one slice with the pods, labelled and owned by the Service', () => {
    const c = reconcileSlices({
      service: service({}, { tier: 'front' }),
      pods: [pod('b', '10.0.0.2'), pod('a', '10.0.0.1')],
      existing: [],
      nodeByName,
    });
    assert.equal(c.create.length, 1);
    const s = c.create[0];
    assert.equal(s.metadata.generateName, 'web-');
    assert.deepEqual(s.metadata.labels, {
      tier: 'front',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    assert.deepEqual(s.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'Service', name: 'web', uid: SVC_UID, controller: true, blockOwnerDeletion: true },
    ]);
    assert.equal(s.addressType, 'IPv4');
    assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(ips(s), ['10.0.0.1', '10.0.0.2']);
  });

  test('pods without IP or finished are left out; terminating pods stay', () => {
    const c = reconcileSlices({
      service: service(),
      pods: [pod('a', ''), pod('b', '10.0.0.2', { phase: 'Succeeded' }), pod('c', '10.0.0.3', { deleting: true })],
      existing: [],
      nodeByName,
    });
    assert.deepEqual(ips(c.create[0]), ['10.0.0.3']);
  });

  test('no matching pods leaves an empty placeholder slice, and keeps it', () => {
    const c = reconcileSlices({ service: service(), pods: [], existing: [], nodeByName });
    assert.equal(c.create.length, 1);
    assert.deepEqual(c.create[0].endpoints, []);
    assert.deepEqual(c.create[0].ports, []);
    const again = reconcileSlices({ service: service(), pods: [], existing: [named(c.create[0], 'web-aaaaa')], nodeByName });
    assert.deepEqual([again.create.length, again.update.length, again.delete.length], [0, 0, 0]);
  });

  test('nothing to write when the slices already match', () => {
    const pods = [pod('a', '10.0.0.1'), pod('b', '10.0.0.2')];
    const first = reconcileSlices({ service: service(), pods, existing: [], nodeByName });
    const again = reconcileSlices({ service: service(), pods, existing: [named(first.create[0], 'web-x')], nodeByName });
    assert.deepEqual([again.create.length, again.update.length, again.delete.length], [0, 0, 0]);
  });

  test('the placeholder is recycled when pods appear', () => {
    const ph = named(reconcileSlices({ service: service(), pods: [], existing: [], nodeByName }).create[0], 'web-ph');
    const c = reconcileSlices({ service: service(), pods: [pod('a', '10.0.0.1')], existing: [ph], nodeByName });
    assert.deepEqual([c.create.length, c.delete.length], [0, 0]);
    assert.equal(c.update[0].metadata.name, 'web-ph');
    assert.deepEqual(ips(c.update[0]), ['10.0.0.1']);
  });

  test('pods resolving a named port differently go to different slices', () => {
    const svc = service({ ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }] });
    const c = reconcileSlices({
      service: svc,
      pods: [
        pod('a', '10.0.0.1', { ports: [{ name: 'web', containerPort: 8080 }] }),
        pod('b', '10.0.0.2', { ports: [{ name: 'web', containerPort: 9090 }] }),
        pod('c', '10.0.0.3', { ports: [{ name: 'web', containerPort: 8080 }] }),
      ],
      existing: [],
      nodeByName,
    });
    const byPort = Object.fromEntries(c.create.map((s) => [s.ports?.[0]?.port, ips(s)]));
    assert.deepEqual(byPort, { 8080: ['10.0.0.1', '10.0.0.3'], 9090: ['10.0.0.2'] });
  });

  test('at most maxEndpointsPerSlice endpoints per slice', () => {
    const pods = Array.from({ length: 250 }, (_, i) => pod(`p${String(i).padStart(3, '0')}`, `10.0.${i >> 8}.${i & 255}`));
    const c = reconcileSlices({ service: service(), pods, existing: [], nodeByName });
    assert.deepEqual(
      c.create.map((s) => s.endpoints.length),
      [100, 100, 50],
    );
  });

  test('a readiness change updates only the slice holding the pod', () => {
    const pods = Array.from({ length: 150 }, (_, i) => pod(`p${String(i).padStart(3, '0')}`, `10.0.${i >> 8}.${i & 255}`));
    const first = reconcileSlices({ service: service(), pods, existing: [], nodeByName, maxEndpointsPerSlice: 100 });
    const existing = first.create.map((s, i) => named(s, `web-${i}`));
    pods[120] = pod('p120', pods[120].status?.podIP ?? '', { ready: false });
    const c = reconcileSlices({ service: service(), pods, existing, nodeByName });
    assert.deepEqual([c.create.length, c.update.length, c.delete.length], [0, 1, 0]);
    assert.equal(c.update[0].metadata.name, 'web-1');
    assert.equal(c.update[0].metadata.resourceVersion, '1');
    assert.equal(c.update[0].endpoints.find((e) => e.targetRef?.name === 'p120')?.conditions?.ready, false);
  });

  test('a new pod fills the fullest unchanged slice that has room', () => {
    const mk = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => pod(`${prefix}${i}`, `10.${prefix === 'x' ? 1 : 2}.0.${i + 1}`));
    const xs = mk(60, 'x');
    const ys = mk(90, 'y');
    const sx = named(reconcileSlices({ service: service(), pods: xs, existing: [], nodeByName }).create[0], 'web-x');
    const sy = named(reconcileSlices({ service: service(), pods: ys, existing: [], nodeByName }).create[0], 'web-y');
    const c = reconcileSlices({ service: service(), pods: [...xs, ...ys, pod('new', '10.3.0.1')], existing: [sx, sy], nodeByName });
    assert.deepEqual([c.create.length, c.update.length], [0, 1]);
    assert.equal(c.update[0].metadata.name, 'web-y');
    assert.equal(c.update[0].endpoints.length, 91);
  });

  test('slices of a previous Service with the same name are deleted', () => {
    const stale = named(
      reconcileSlices({ service: service(), pods: [pod('a', '10.0.0.1')], existing: [], nodeByName }).create[0],
      'web-old',
    );
    stale.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'old-uid' }];
    const c = reconcileSlices({ service: service(), pods: [pod('a', '10.0.0.1')], existing: [stale], nodeByName });
    assert.deepEqual(
      c.delete.map((s) => s.metadata.name),
      ['web-old'],
    );
    assert.equal(c.create.length, 1);
  });

  test('a Service label change relabels the slice; headless Services get the headless label', () => {
    const s = named(reconcileSlices({ service: service(), pods: [pod('a', '10.0.0.1')], existing: [], nodeByName }).create[0], 'web-1');
    const c = reconcileSlices({ service: service({}, { v: '2' }), pods: [pod('a', '10.0.0.1')], existing: [s], nodeByName });
    assert.equal(c.update[0].metadata.labels?.v, '2');
    const h = reconcileSlices({ service: service({ clusterIP: 'None' }), pods: [pod('a', '10.0.0.1')], existing: [], nodeByName });
    assert.equal(h.create[0].metadata.labels?.['service.kubernetes.io/headless'], '');
  });

  test('a pod on an unknown node is left out and reported', () => {
    const c = reconcileSlices({
      service: service(),
      pods: [pod('a', '10.0.0.1', { node: 'ghost' }), pod('b', '10.0.0.2')],
      existing: [],
      nodeByName,
    });
    assert.deepEqual(ips(c.create[0]), ['10.0.0.2']);
    assert.deepEqual(c.missingNodes, ['a@ghost']);
  });
});

describe('TriggerTimeTracker', () => {
  test('reports the earliest changed trigger, then nothing until something changes', () => {
    const t = new TriggerTimeTracker();
    const svc = service();
    const pods = [pod('a', '10.0.0.1')];
    assert.equal(formatTriggerTime(t.compute(svc, pods) ?? 0), '2024-01-01T00:00:00Z');
    assert.equal(t.compute(svc, pods), undefined);
    const changed = pod('a', '10.0.0.1');
    changed.status?.conditions?.splice(0, 1, { type: 'Ready', status: 'False', lastTransitionTime: '2024-01-01T00:01:00.5Z' });
    assert.equal(formatTriggerTime(t.compute(svc, [changed]) ?? 0), '2024-01-01T00:01:00.5Z');
  });
});

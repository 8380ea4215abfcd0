import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from './meta.js';
import { fieldValue, findResource, groupVersions, RESOURCES, resolveShortName, resourceByKind } from './resources.js';

const r = (group: string, plural: string) => findResource(group, 'v1', plural)!;

describe('resource registry', () => {
  test('short names resolve as kubectl users type them', () => {
    const cases: [string, string, string][] = [
      ['svc', '', 'services'],
      ['po', '', 'pods'],
      ['ep', '', 'endpoints'],
      ['ev', '', 'events'],
      ['no', '', 'nodes'],
      ['cm', '', 'configmaps'],
      ['sa', '', 'serviceaccounts'],
      ['ns', '', 'namespaces'],
      ['deploy', 'apps', 'deployments'],
      ['rs', 'apps', 'replicasets'],
      ['ing', 'networking.k8s.io', 'ingresses'],
      ['Service', '', 'services'],
      ['endpointslice', 'discovery.k8s.io', 'endpointslices'],
      ['events.events.k8s.io', 'events.k8s.io', 'events'],
    ];
    for (const [name, group, plural] of cases) {
      const info = resolveShortName(name);
      assert.equal(info?.resource, plural, name);
      assert.equal(info?.group, group, name);
    }
    assert.equal(resolveShortName('nope'), undefined);
  });

  test('categories "all" exactly as upstream', () => {
    const all = RESOURCES.filter((x) => x.categories.includes('all')).map((x) => x.resource);
    assert.deepEqual(all.sort(), ['deployments', 'pods', 'replicasets', 'services']);
  });

  test('EndpointSlices and Leases have no short names', () => {
    assert.deepEqual(r('discovery.k8s.io', 'endpointslices').shortNames, []);
    assert.deepEqual(r('coordination.k8s.io', 'leases').shortNames, []);
  });

  test('lookups by kind and group/version listing', () => {
    assert.equal(resourceByKind('apps', 'Deployment')?.resource, 'deployments');
    assert.equal(resourceByKind('', 'Deployment'), undefined);
    assert.deepEqual(
      groupVersions().map((g) => `${g.group}/${g.version}`),
      [
        '/v1',
        'apps/v1',
        'discovery.k8s.io/v1',
        'networking.k8s.io/v1',
        'coordination.k8s.io/v1',
        'events.k8s.io/v1',
        'authentication.k8s.io/v1',
        'authorization.k8s.io/v1',
      ],
    );
  });

  test('scale subresources answer with autoscaling/v1 Scale', () => {
    for (const plural of ['deployments', 'replicasets']) {
      const scale = r('apps', plural).subresources.find((s) => s.name === 'scale');
      assert.deepEqual(scale?.responseKind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
    }
  });
});

describe('fieldValue', () => {
  const pod: KubeObject = {
    metadata: { name: 'web-1', namespace: 'default' },
    spec: { nodeName: 'node-1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default' },
    status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }] },
  };
  const cases: [string, string, KubeObject, string, string | undefined][] = [
    ['', 'pods', pod, 'metadata.name', 'web-1'],
    ['', 'pods', pod, 'metadata.namespace', 'default'],
    ['', 'pods', pod, 'spec.nodeName', 'node-1'],
    ['', 'pods', pod, 'spec.restartPolicy', 'Always'],
    ['', 'pods', pod, 'spec.hostNetwork', 'false'],
    ['', 'pods', { ...pod, spec: { hostNetwork: true } }, 'spec.hostNetwork', 'true'],
    ['', 'pods', pod, 'status.phase', 'Running'],
    ['', 'pods', pod, 'status.podIP', '10.244.1.5'],
    ['', 'pods', pod, 'status.nominatedNodeName', ''],
    ['', 'pods', pod, 'spec.containers', undefined],
    ['', 'services', { metadata: { name: 's' }, spec: { type: 'NodePort', clusterIP: '10.96.0.5' } }, 'spec.type', 'NodePort'],
    ['', 'services', { metadata: { name: 's' }, spec: { clusterIP: '10.96.0.5' } }, 'spec.clusterIP', '10.96.0.5'],
    ['', 'secrets', { metadata: { name: 's' }, type: 'Opaque' }, 'type', 'Opaque'],
    ['', 'nodes', { metadata: { name: 'n' }, spec: {} }, 'spec.unschedulable', 'false'],
    ['', 'nodes', { metadata: { name: 'n' } }, 'metadata.namespace', undefined],
    ['', 'namespaces', { metadata: { name: 'x' }, status: { phase: 'Active' } }, 'status.phase', 'Active'],
    ['apps', 'replicasets', { metadata: { name: 'rs' }, status: { replicas: 3 } }, 'status.replicas', '3'],
    ['apps', 'replicasets', { metadata: { name: 'rs' } }, 'status.replicas', '0'],
  ];
  const event: KubeObject = {
    metadata: { name: 'e' },
    involvedObject: {
      kind: 'Pod',
      namespace: 'default',
      name: 'web-1',
      uid: 'u1',
      apiVersion: 'v1',
      resourceVersion: '7',
      fieldPath: 'spec.containers{web}',
    },
    reason: 'Started',
    source: { component: 'kubelet', host: 'node-1' },
    type: 'Normal',
    reportingComponent: 'kubelet',
  };
  for (const [field, value] of [
    ['involvedObject.kind', 'Pod'],
    ['involvedObject.namespace', 'default'],
    ['involvedObject.name', 'web-1'],
    ['involvedObject.uid', 'u1'],
    ['involvedObject.apiVersion', 'v1'],
    ['involvedObject.resourceVersion', '7'],
    ['involvedObject.fieldPath', 'spec.containers{web}'],
    ['reason', 'Started'],
    ['reportingComponent', 'kubelet'],
    ['source', 'kubelet'],
    ['type', 'Normal'],
  ]) {
    cases.push(['', 'events', event, field, value]);
  }
  for (const [group, plural, obj, field, want] of cases) {
    test(`${plural} ${field}`, () => assert.equal(fieldValue(r(group, plural), obj, field), want));
  }
});

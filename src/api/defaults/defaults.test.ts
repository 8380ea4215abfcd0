import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../meta.js';
import { applyDefaults, imageTag, normalizeClusterIPs, patchAllocatedValues } from './index.js';

const defaulted = (kind: string, obj: KubeObject): KubeObject => {
  const o = structuredClone(obj);
  applyDefaults(kind, o);
  const again = structuredClone(o);
  applyDefaults(kind, again);
  assert.deepEqual(again, o, `${kind} defaulting is idempotent`);
  return o;
};

describe('Service defaults', () => {
  test('ClusterIP', () => {
    const s = defaulted('Service', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    assert.deepEqual(s.spec, {
      selector: { app: 'web' },
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      sessionAffinity: 'None',
      type: 'ClusterIP',
      internalTrafficPolicy: 'Cluster',
      ipFamilyPolicy: 'SingleStack',
      ipFamilies: ['IPv4'],
    });
  });

  test('NodePort and LoadBalancer get externalTrafficPolicy; LoadBalancer allocates node ports', () => {
    const np = defaulted('Service', { metadata: { name: 'web' }, spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 'http' }] } });
    assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
    assert.equal(np.spec.ports[0].targetPort, 'http');
    const lb = defaulted('Service', { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
    assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
  });

  test('ClientIP affinity gets the three-hour timeout', () => {
    const s = defaulted('Service', { metadata: { name: 'web' }, spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] } });
    assert.deepEqual(s.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
  });

  test('ExternalName has no families or internal policy; headless without selector requires dual-stack', () => {
    const en = defaulted('Service', { metadata: { name: 'db' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } });
    assert.equal(en.spec.ipFamilies, undefined);
    assert.equal(en.spec.internalTrafficPolicy, undefined);
    const hl = defaulted('Service', { metadata: { name: 'db' }, spec: { clusterIP: 'None', ports: [{ port: 5432 }] } });
    assert.deepEqual([hl.spec.clusterIPs, hl.spec.ipFamilyPolicy, hl.spec.ipFamilies], [['None'], 'RequireDualStack', ['IPv4']]);
  });

  test('clusterIP helpers for updates', () => {
    const old: KubeObject = {
      metadata: { name: 'web' },
      spec: {
        type: 'NodePort',
        clusterIP: '10.96.0.7',
        clusterIPs: ['10.96.0.7'],
        ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }],
      },
    };
    const replaced: KubeObject = { metadata: { name: 'web' }, spec: { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] } };
    patchAllocatedValues(replaced, old);
    assert.deepEqual(
      [replaced.spec.clusterIP, replaced.spec.clusterIPs, replaced.spec.ports[0].nodePort],
      ['10.96.0.7', ['10.96.0.7'], 30080],
    );
    const changed: KubeObject = { metadata: { name: 'web' }, spec: { clusterIP: '10.96.0.8', clusterIPs: ['10.96.0.7'] } };
    normalizeClusterIPs(changed, old);
    assert.deepEqual(changed.spec.clusterIPs, ['10.96.0.8']);
  });
});

describe('Pod defaults', () => {
  test('spec, container and probe defaults', () => {
    const p = defaulted('Pod', {
      metadata: { name: 'web' },
      spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { port: 80 } } }] },
    });
    const c = p.spec.containers[0];
    assert.equal(p.spec.restartPolicy, 'Always');
    assert.equal(p.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(p.spec.terminationGracePeriodSeconds, 30);
    assert.equal(p.spec.schedulerName, 'default-scheduler');
    assert.deepEqual(p.spec.securityContext, {});
    assert.equal(p.spec.enableServiceLinks, true);
    assert.equal(p.spec.serviceAccountName, 'default');
    assert.equal(c.imagePullPolicy, 'Always');
    assert.equal(c.terminationMessagePath, '/dev/termination-log');
    assert.equal(c.terminationMessagePolicy, 'File');
    assert.equal(c.ports[0].protocol, 'TCP');
    assert.deepEqual(c.readinessProbe, {
      httpGet: { port: 80, path: '/', scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assert.equal(p.spec.tolerations.length, 2);
  });

  test('imagePullPolicy follows the tag', () => {
    const cases: [string, string][] = [
      ['nginx', 'latest'],
      ['nginx:latest', 'latest'],
      ['nginx:1.25', '1.25'],
      ['localhost:5000/app', 'latest'],
      ['localhost:5000/app:v2', 'v2'],
      ['nginx@sha256:abc', ''],
    ];
    for (const [image, tag] of cases) assert.equal(imageTag(image), tag, image);
    const p = defaulted('Pod', { metadata: { name: 'x' }, spec: { containers: [{ name: 'a', image: 'nginx:1.25' }] } });
    assert.equal(p.spec.containers[0].imagePullPolicy, 'IfNotPresent');
  });
});

describe('workload and other defaults', () => {
  test('Deployment', () => {
    const d = defaulted('Deployment', {
      metadata: { name: 'web' },
      spec: { template: { spec: { containers: [{ name: 'a', image: 'nginx:1' }] } } },
    });
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    assert.equal(d.spec.revisionHistoryLimit, 10);
    assert.equal(d.spec.progressDeadlineSeconds, 600);
    assert.equal(d.spec.template.spec.restartPolicy, 'Always');
    assert.equal(d.spec.template.spec.enableServiceLinks, undefined);
  });

  test('ReplicaSet, EndpointSlice, Endpoints, Namespace, Secret', () => {
    assert.equal(defaulted('ReplicaSet', { metadata: { name: 'r' }, spec: {} }).spec.replicas, 1);
    assert.deepEqual(defaulted('EndpointSlice', { metadata: { name: 's' }, ports: [{ port: 80 }] }).ports, [
      { port: 80, name: '', protocol: 'TCP' },
    ]);
    assert.deepEqual(defaulted('Endpoints', { metadata: { name: 'e' }, subsets: [{ ports: [{ port: 80 }] }] }).subsets[0].ports, [
      { port: 80, protocol: 'TCP' },
    ]);
    const ns = defaulted('Namespace', { metadata: { name: 'dev' } });
    assert.deepEqual(
      [ns.metadata.labels, ns.spec?.finalizers, ns.status.phase],
      [{ 'kubernetes.io/metadata.name': 'dev' }, undefined, 'Active'],
    );
    assert.equal(defaulted('Secret', { metadata: { name: 's' } }).type, 'Opaque');
  });
});

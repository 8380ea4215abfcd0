import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPodReady } from '../controller.js';
import {
  nodeObject,
  nodePodCIDR,
  nodeStatus,
  normalizeImage,
  PodIPAllocator,
  runningPodStatus,
  SIM_READY_ANNOTATION,
  statusUpToDate,
} from './objects.js';

describe('simulated node objects', () => {
  test('node N: pod CIDR 10.244.N.0/24, InternalIP 172.18.0.N+1, Ready, kubelet v1.32.0, labels', () => {
    const spec = { name: 'node-2', index: 2, podCIDRBase: '10.244', zone: 'zone-a' };
    const node = nodeObject(spec);
    assert.deepEqual(node.spec, { podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24'] });
    assert.equal(node.metadata.labels?.['kubernetes.io/hostname'], 'node-2');
    assert.equal(node.metadata.labels?.['kubernetes.io/os'], 'linux');
    assert.equal(node.metadata.labels?.['topology.kubernetes.io/zone'], 'zone-a');
    const status = nodeStatus(spec, Date.parse('2025-01-01T00:00:00Z'));
    assert.deepEqual(status.addresses, [
      { type: 'InternalIP', address: '172.18.0.3' },
      { type: 'Hostname', address: 'node-2' },
    ]);
    const ready = status.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.deepEqual([ready.status, ready.reason, ready.message], ['True', 'KubeletReady', 'kubelet is posting ready status']);
    assert.equal(status.nodeInfo.kubeletVersion, 'v1.32.0');
    assert.equal(status.capacity.pods, '110');
  });

  test('pod IPs come from .2 up, are never shared, and return on release', () => {
    const a = new PodIPAllocator('10.244.1');
    assert.equal(a.allocate('ns/a'), '10.244.1.2');
    assert.equal(a.allocate('ns/b'), '10.244.1.3');
    assert.equal(a.allocate('ns/a'), '10.244.1.2', 'stable per pod');
    a.release('ns/a');
    assert.equal(a.allocate('ns/c'), '10.244.1.2');
    assert.equal(a.allocate('ns/d', '10.244.1.77'), '10.244.1.77', 'keeps a pod’s existing IP');
    assert.equal(a.allocate('ns/e', '10.244.1.77'), '10.244.1.4', 'but never a taken one');
    const full = new PodIPAllocator('10.0.0');
    for (let i = 0; i < 253; i++) assert.ok(full.allocate(`p${i}`));
    assert.equal(full.allocate('one-too-many'), undefined);
  });

  test('image references are normalised like the kubelet reports them', () => {
    assert.equal(normalizeImage('nginx'), 'docker.io/library/nginx:latest');
    assert.equal(normalizeImage('nginx:1.27'), 'docker.io/library/nginx:1.27');
    assert.equal(normalizeImage('bitnami/nginx'), 'docker.io/bitnami/nginx:latest');
    assert.equal(normalizeImage('registry.k8s.io/pause:3.10'), 'registry.k8s.io/pause:3.10');
    assert.equal(normalizeImage('localhost:5000/app'), 'localhost:5000/app:latest');
  });

  test('a running pod status: conditions, IPs, container statuses; sim-ready=false makes it unready', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    const pod = {
      metadata: { name: 'p', uid: 'u' },
      spec: { nodeName: 'node-1', containers: [{ name: 'nginx', image: 'nginx' }] },
      status: { phase: 'Pending' },
    };
    const status = runningPodStatus(pod, '172.18.0.2', '10.244.1.2', now);
    assert.equal(status.phase, 'Running');
    assert.deepEqual(
      status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`),
      ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True'],
    );
    assert.deepEqual(
      [status.podIP, status.podIPs, status.hostIP, status.startTime],
      ['10.244.1.2', [{ ip: '10.244.1.2' }], '172.18.0.2', '2025-01-01T00:00:00Z'],
    );
    const cs = status.containerStatuses[0];
    assert.deepEqual(
      [cs.name, cs.ready, cs.started, cs.restartCount, cs.image],
      ['nginx', true, true, 0, 'docker.io/library/nginx:latest'],
    );
    assert.match(cs.containerID, /^containerd:\/\/[0-9a-f]{64}$/);
    assert.match(cs.imageID, /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
    const running = { ...pod, status };
    assert.ok(statusUpToDate(running, '172.18.0.2', '10.244.1.2'));

    const toggled = { ...running, metadata: { ...pod.metadata, annotations: { [SIM_READY_ANNOTATION]: 'false' } } };
    assert.ok(!statusUpToDate(toggled, '172.18.0.2', '10.244.1.2'));
    const unready = runningPodStatus(toggled, '172.18.0.2', '10.244.1.2', now + 5000);
    assert.ok(!isPodReady({ ...toggled, status: unready }));
    const ready = unready.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.deepEqual(
      [ready.reason, ready.message, ready.lastTransitionTime],
      ['ContainersNotReady', 'containers with unready status: [nginx]', '2025-01-01T00:00:05Z'],
    );
    const init = unready.conditions.find((c: { type: string }) => c.type === 'Initialized');
    assert.equal(init.lastTransitionTime, '2025-01-01T00:00:00Z', 'unchanged conditions keep their transition time');
  });
});

test('nodes past the 255th get pod /24s in the next /16, so every CIDR stays valid', () => {
  assert.equal(nodePodCIDR({ name: 'n1', index: 1, podCIDRBase: '10.244' }), '10.244.1.0/24');
  assert.equal(nodePodCIDR({ name: 'n255', index: 255, podCIDRBase: '10.244' }), '10.244.255.0/24');
  assert.equal(nodePodCIDR({ name: 'n256', index: 256, podCIDRBase: '10.244' }), '10.245.0.0/24');
  assert.equal(nodePodCIDR({ name: 'n400', index: 400, podCIDRBase: '10.244' }), '10.245.144.0/24');
});

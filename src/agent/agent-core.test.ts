import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveImage } from './images/catalog.js';
import { ProbeTracker, probePort, probeTiming } from './probes.js';
import { type ContainerRuntimeState, computePodStatus, podPhase } from './status.js';

describe('images', () => {
  const cases: [string, Parameters<typeof resolveImage>[0], unknown][] = [
    ['nginx default', { name: 'c', image: 'nginx:1.27' }, ['nginx']],
    ['docker.io/library prefix', { name: 'c', image: 'docker.io/library/nginx@sha256:abc' }, ['nginx']],
    [
      'nginx with its own entrypoint as command',
      { name: 'c', image: 'nginx', command: ['nginx', '-g', 'daemon off;'] },
      ['nginx', '-g', 'daemon off;'],
    ],
    ['busybox default shell', { name: 'c', image: 'busybox' }, ['sh']],
    ['centos args replace CMD', { name: 'c', image: 'centos:7', args: ['/bin/bash', '-c', 'true'] }, ['/bin/bash', '-c', 'true']],
    ['curl with options', { name: 'c', image: 'curlimages/curl', args: ['-s', 'http://x'] }, ['curl', '-s', 'http://x']],
    [
      'agnhost netexec',
      { name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.39', args: ['netexec', '--http-port=8080'] },
      ['agnhost', 'netexec', '--http-port=8080'],
    ],
    ['http-echo', { name: 'c', image: 'hashicorp/http-echo', args: ['-text=hi'] }, ['http-echo', '-text=hi']],
    [
      'unknown image with a command runs on the host',
      { name: 'c', image: 'python:3', command: ['python3', '-m', 'http.server'] },
      ['python3', '-m', 'http.server'],
    ],
  ];
  for (const [name, container, argv] of cases) {
    test(name, () => {
      const r = resolveImage(container);
      assert.ok(r.ok);
      assert.deepEqual(r.argv, argv);
    });
  }
  test('unknown image without a command is an image error that says what to do', () => {
    const r = resolveImage({ name: 'c', image: 'example.com/app:1' });
    assert.ok(!r.ok);
    assert.equal(r.reason, 'ErrImagePull');
    assert.match(r.message, /give the container a command/);
  });
});

describe('probes', () => {
  test('defaults as the API: period 10 s, timeout 1 s, thresholds 1 and 3', () => {
    assert.deepEqual(probeTiming({}), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
  });
  test('readiness starts failed, flips after the thresholds', () => {
    const t = new ProbeTracker('readiness', { successThreshold: 2, failureThreshold: 3 });
    assert.equal(t.result, false);
    assert.deepEqual([t.record(true), t.record(true)], [false, true]);
    assert.deepEqual(
      [t.record(false), t.record(false), t.record(true), t.record(false), t.record(false), t.record(false)],
      [false, false, false, false, false, true],
    );
    assert.equal(t.result, false);
  });
  test('liveness starts passed; startup starts unknown', () => {
    assert.equal(new ProbeTracker('liveness', { successThreshold: 1, failureThreshold: 1 }).result, true);
    assert.equal(new ProbeTracker('startup', { successThreshold: 1, failureThreshold: 1 }).result, undefined);
  });
  test('named ports', () => {
    assert.equal(probePort('http', { name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }), 8080);
    assert.equal(probePort(80, { name: 'c' }), 80);
    assert.throws(() => probePort('nope', { name: 'c' }), /couldn't find port nope/);
  });
});

describe('pod status', () => {
  const running: ContainerRuntimeState = {
    name: 'web',
    image: 'nginx',
    imageID: 'docker.io/library/nginx@sha256:1',
    state: { kind: 'running', startedAt: '2025-01-01T00:00:01Z', containerID: 'svcnet://1' },
    restartCount: 0,
    ready: true,
    started: true,
  };
  const exited = (code: number): ContainerRuntimeState => ({
    ...running,
    ready: false,
    started: false,
    state: {
      kind: 'terminated',
      terminated: { exitCode: code, reason: code ? 'Error' : 'Completed', startedAt: 't', finishedAt: 't', containerID: 'svcnet://1' },
    },
  });
  const waiting: ContainerRuntimeState = {
    ...running,
    ready: false,
    started: false,
    state: { kind: 'waiting', reason: 'ContainerCreating' },
  };

  test('phase as the kubelet computes it', () => {
    const table: [string, ContainerRuntimeState[], string][] = [
      ['Always', [running], 'Running'],
      ['Always', [waiting], 'Pending'],
      ['Always', [running, waiting], 'Pending'],
      ['Always', [exited(1)], 'Running'],
      ['Never', [exited(0)], 'Succeeded'],
      ['Never', [exited(1)], 'Failed'],
      ['OnFailure', [exited(1)], 'Running'],
      ['OnFailure', [exited(0)], 'Succeeded'],
    ];
    for (const [policy, containers, phase] of table)
      assert.equal(podPhase(policy, containers), phase, `${policy} ${containers.map((c) => c.state.kind)}`);
  });

  test('conditions, container statuses and addresses; transition times kept while unchanged', () => {
    const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'web' }] } };
    const runtime = {
      hostIP: '172.18.0.2',
      podIP: '10.244.1.2',
      startTime: '2025-01-01T00:00:00Z',
      sandboxReady: true,
      containers: [{ ...running, ready: false }],
    };
    const first = computePodStatus(pod, runtime, '2025-01-01T00:00:02Z');
    assert.equal(first.phase, 'Running');
    assert.deepEqual(
      first.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['PodReadyToStartContainers', 'True', undefined],
        ['Initialized', 'True', undefined],
        ['Ready', 'False', 'ContainersNotReady'],
        ['ContainersReady', 'False', 'ContainersNotReady'],
        ['PodScheduled', 'True', undefined],
      ],
    );
    assert.deepEqual(first.podIPs, [{ ip: '10.244.1.2' }]);
    assert.equal(first.containerStatuses?.[0]?.containerID, 'svcnet://1');
    const second = computePodStatus({ ...pod, status: first }, { ...runtime, containers: [running] }, '2025-01-01T00:00:05Z');
    const ready = second.conditions?.find((c) => c.type === 'Ready');
    assert.deepEqual([ready?.status, ready?.lastTransitionTime], ['True', '2025-01-01T00:00:05Z']);
    assert.equal(second.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime, '2025-01-01T00:00:02Z');
  });
});

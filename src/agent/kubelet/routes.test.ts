import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContainerRuntimeState, TerminatedState } from '../status.js';
import { parseKubeletPath, remoteCommandQuery, selectContainerLog } from './routes.js';

describe('parseKubeletPath', () => {
  const cases: [string, ReturnType<typeof parseKubeletPath>][] = [
    ['/containerLogs/default/web/nginx', { kind: 'containerLogs', namespace: 'default', pod: 'web', container: 'nginx' }],
    ['/exec/default/web/nginx', { kind: 'exec', namespace: 'default', pod: 'web', container: 'nginx' }],
    ['/exec/default/web/uid-1/nginx', { kind: 'exec', namespace: 'default', pod: 'web', uid: 'uid-1', container: 'nginx' }],
    ['/attach/kube-system/a%20b/c', { kind: 'attach', namespace: 'kube-system', pod: 'a b', container: 'c' }],
    ['/portForward/default/web', { kind: 'portForward', namespace: 'default', pod: 'web' }],
    ['/portForward/default/web/uid-1', { kind: 'portForward', namespace: 'default', pod: 'web', uid: 'uid-1' }],
    ['/containerLogs/default/web', undefined],
    ['/exec/default/web', undefined],
    ['/run/default/web/c', undefined],
    ['/', undefined],
  ];
  for (const [path, want] of cases) test(path, () => assert.deepEqual(parseKubeletPath(path), want));
});

test("remoteCommandQuery maps the kubelet's input/output/error names onto the client's", () => {
  const q = remoteCommandQuery(new URLSearchParams('command=sh&command=-c&command=echo%20hi&input=1&output=1&error=1&tty=1'), 'main');
  assert.equal(q.toString(), 'command=sh&command=-c&command=echo+hi&container=main&stdin=1&stdout=1&stderr=1&tty=1');
  assert.equal(remoteCommandQuery(new URLSearchParams('stdout=true&container=x'), 'c').toString(), 'container=c&stdout=1');
});

describe('selectContainerLog (the kubelet validateContainerLogStatus)', () => {
  const ended = (exitCode: number): TerminatedState => ({
    exitCode,
    reason: 'Error',
    startedAt: '2024-01-01T00:00:00Z',
    finishedAt: '2024-01-01T00:00:01Z',
    containerID: 'svcnet://1',
  });
  const base = { name: 'c', image: 'busybox', imageID: '', ready: false, started: false };
  const running = (restartCount: number, lastTerminated?: TerminatedState): ContainerRuntimeState => ({
    ...base,
    restartCount,
    state: { kind: 'running', startedAt: '2024-01-01T00:00:02Z', containerID: 'svcnet://2' },
    ...(lastTerminated ? { lastTerminated } : {}),
  });
  const waiting = (reason: string, restartCount = 0, lastTerminated?: TerminatedState): ContainerRuntimeState => ({
    ...base,
    restartCount,
    state: { kind: 'waiting', reason },
    ...(lastTerminated ? { lastTerminated } : {}),
  });
  const cases: [string, ContainerRuntimeState | undefined, boolean, ReturnType<typeof selectContainerLog>][] = [
    ['running: the current run', running(0), false, { run: 0 }],
    ['running after restarts: the current run', running(2, ended(1)), false, { run: 2 }],
    ['running, previous: the run before', running(2, ended(1)), true, { run: 1 }],
    ['running, never restarted, previous', running(0), true, { error: 'previous terminated container "c" in pod "p" not found' }],
    ['crash loop: the run that just ended', waiting('CrashLoopBackOff', 3, ended(1)), false, { run: 3 }],
    ['crash loop, previous: the run that just ended', waiting('CrashLoopBackOff', 3, ended(1)), true, { run: 3 }],
    ['terminated: its run', { ...base, restartCount: 0, state: { kind: 'terminated', terminated: ended(2) } }, false, { run: 0 }],
    ['creating', waiting('ContainerCreating'), false, { error: 'container "c" in pod "p" is waiting to start: ContainerCreating' }],
    ['image pull error', waiting('ErrImagePull'), false, { error: `container "c" in pod "p" is waiting to start: image can't be pulled` }],
    [
      'image pull back-off',
      waiting('ImagePullBackOff'),
      false,
      { error: 'container "c" in pod "p" is waiting to start: trying and failing to pull image' },
    ],
    ['unknown container', undefined, false, { error: 'container "c" in pod "p" is not available' }],
  ];
  for (const [name, state, previous, want] of cases)
    test(name, () => assert.deepEqual(selectContainerLog('p', state, 'c', previous), want));
});

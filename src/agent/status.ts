/**
 * Pod status as the kubelet reports it (pkg/kubelet/kubelet_pods.go generateAPIPodStatus and
 * pkg/kubelet/status): the pure mapping from what the runtime knows to a v1.PodStatus. The agent
 * writes the result through pods/<name>/status only when it differs from what the API has.
 */
import type { Pod } from '../api/types/index.js';

type PodStatus = NonNullable<Pod['status']>;
type ContainerStatus = NonNullable<PodStatus['containerStatuses']>[number];
type ContainerState = NonNullable<ContainerStatus['state']>;
type PodCondition = NonNullable<PodStatus['conditions']>[number];

/** How a container's last run ended. */
export interface TerminatedState {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}

/** What the runtime knows about one container. */
export interface ContainerRuntimeState {
  name: string;
  image: string;
  imageID: string;
  state:
    | { kind: 'waiting'; reason: string; message?: string }
    | { kind: 'running'; startedAt: string; containerID: string }
    | { kind: 'terminated'; terminated: TerminatedState };
  lastTerminated?: TerminatedState;
  restartCount: number;
  ready: boolean;
  started: boolean;
}

/** What the runtime knows about a pod. */
export interface PodRuntimeState {
  hostIP: string;
  podIP?: string;
  /** When the agent first took the pod on (status.startTime). */
  startTime: string;
  /** The sandbox (network namespace) exists and has an address. */
  sandboxReady: boolean;
  containers: ContainerRuntimeState[];
}

/** The terminated reason the kubelet gives: Completed for exit 0, Error otherwise, OOMKilled not modelled. */
export function terminatedReason(exitCode: number): string {
  return exitCode === 0 ? 'Completed' : 'Error';
}

function containerState(state: ContainerRuntimeState['state']): ContainerState {
  switch (state.kind) {
    case 'waiting':
      return { waiting: state.message ? { reason: state.reason, message: state.message } : { reason: state.reason } };
    case 'running':
      return { running: { startedAt: state.startedAt } };
    case 'terminated':
      return { terminated: { ...state.terminated } };
  }
}

function containerStatus(c: ContainerRuntimeState): ContainerStatus {
  const status: ContainerStatus = {
    name: c.name,
    state: containerState(c.state),
    lastState: c.lastTerminated ? { terminated: { ...c.lastTerminated } } : {},
    ready: c.ready,
    restartCount: c.restartCount,
    image: c.image,
    imageID: c.state.kind === 'waiting' && !c.lastTerminated ? '' : c.imageID,
    started: c.started,
  };
  const id =
    c.state.kind === 'running'
      ? c.state.containerID
      : c.state.kind === 'terminated'
        ? c.state.terminated.containerID
        : c.lastTerminated?.containerID;
  if (id) status.containerID = id;
  return status;
}

/** The pod phase from its containers, as the kubelet's getPhase (init containers not modelled). */
export function podPhase(
  restartPolicy: string,
  containers: readonly ContainerRuntimeState[],
): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of containers) {
    if (c.state.kind === 'running') running++;
    else if (c.state.kind === 'terminated') {
      stopped++;
      if (c.state.terminated.exitCode === 0) succeeded++;
    } else if (c.lastTerminated) {
      stopped++;
      if (c.lastTerminated.exitCode === 0) succeeded++;
    } else waiting++;
  }
  // One or more containers has not been started yet.
  if (waiting > 0 || (running === 0 && stopped === 0)) return 'Pending';
  if (running > 0) return 'Running';
  if (restartPolicy === 'Always') return 'Running';
  if (stopped === succeeded) return 'Succeeded';
  if (restartPolicy === 'Never') return 'Failed';
  return 'Running';
}

/** Keeps a condition's lastTransitionTime when its status did not change. */
function condition(
  previous: readonly PodCondition[],
  type: string,
  status: 'True' | 'False',
  now: string,
  reason?: string,
  message?: string,
): PodCondition {
  const before = previous.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === status ? (before.lastTransitionTime ?? now) : now;
  const c: PodCondition = { type, status, lastTransitionTime };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/** The status the kubelet would post for `pod` given the runtime state, at time `now` (RFC 3339). */
export function computePodStatus(pod: Pod, runtime: PodRuntimeState, now: string): PodStatus {
  const previous = pod.status?.conditions ?? [];
  const phase = podPhase(pod.spec?.restartPolicy ?? 'Always', runtime.containers);
  const notReady = runtime.containers.filter((c) => !c.ready).map((c) => c.name);
  const completed = phase === 'Succeeded' || phase === 'Failed';
  const ready = notReady.length === 0 && !completed;
  const readyReason = completed ? 'PodCompleted' : ready ? undefined : 'ContainersNotReady';
  const readyMessage = ready || completed ? undefined : `containers with unready status: [${notReady.join(' ')}]`;
  const conditions: PodCondition[] = [
    condition(previous, 'PodReadyToStartContainers', runtime.sandboxReady ? 'True' : 'False', now),
    condition(previous, 'Initialized', 'True', now),
    condition(previous, 'Ready', ready ? 'True' : 'False', now, readyReason, readyMessage),
    condition(previous, 'ContainersReady', ready ? 'True' : 'False', now, readyReason, readyMessage),
    condition(previous, 'PodScheduled', 'True', now),
  ];
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: runtime.hostIP,
    hostIPs: [{ ip: runtime.hostIP }],
    startTime: runtime.startTime,
    containerStatuses: runtime.containers.map(containerStatus),
  };
  if (runtime.podIP) {
    status.podIP = runtime.podIP;
    status.podIPs = [{ ip: runtime.podIP }];
  }
  if (pod.status?.qosClass) status.qosClass = pod.status.qosClass;
  return status;
}

/** Whether two statuses say the same (JSON-equal after dropping undefined fields). */
export function statusEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, normalize(v)]),
    );
  }
  return value;
}

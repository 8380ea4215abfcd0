/**
 * The pure core of the kubelet API: which path names what, how the kubelet's query names map onto
 * the streaming protocols' options, and which log file (or which error) `kubectl logs` gets for a
 * container in a given state — worded as the kubelet words it, because kube-apiserver passes the
 * text through to kubectl.
 */
import type { ContainerRuntimeState } from '../status.js';

/** A request to the kubelet API, from its path. */
export type KubeletRoute =
  | { kind: 'containerLogs' | 'exec' | 'attach'; namespace: string; pod: string; uid?: string; container: string }
  | { kind: 'portForward'; namespace: string; pod: string; uid?: string };

const STREAMING = new Set(['exec', 'attach']);

/**
 * Parses the kubelet's paths: `/containerLogs/{ns}/{pod}/{container}`,
 * `/exec|attach/{ns}/{pod}[/{uid}]/{container}` and `/portForward/{ns}/{pod}[/{uid}]`.
 */
export function parseKubeletPath(pathname: string): KubeletRoute | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const [kind, namespace, pod, ...rest] = parts;
  if (!kind || !namespace || !pod) return undefined;
  if (kind === 'containerLogs' && rest.length === 1) return { kind, namespace, pod, container: rest[0]! };
  if (STREAMING.has(kind) && (rest.length === 1 || rest.length === 2)) {
    const container = rest.at(-1)!;
    return { kind: kind as 'exec' | 'attach', namespace, pod, container, ...(rest.length === 2 ? { uid: rest[0] } : {}) };
  }
  if (kind === 'portForward' && rest.length <= 1) return { kind, namespace, pod, ...(rest.length === 1 ? { uid: rest[0] } : {}) };
  return undefined;
}

/**
 * The query src/streaming reads (`stdin`, `stdout`, `stderr`, `tty`, `command`, `container`) from
 * the kubelet's own (`input`, `output`, `error`, `tty`, `command`), as kube-apiserver sends them.
 * The client-side names are accepted too, so the kubelet can be called directly.
 */
export function remoteCommandQuery(query: URLSearchParams, container: string): URLSearchParams {
  const on = (...names: string[]) => names.some((n) => ['true', '1'].includes((query.get(n) ?? '').toLowerCase()));
  const out = new URLSearchParams();
  for (const c of query.getAll('command')) out.append('command', c);
  out.set('container', container);
  if (on('input', 'stdin')) out.set('stdin', '1');
  if (on('output', 'stdout')) out.set('stdout', '1');
  if (on('error', 'stderr')) out.set('stderr', '1');
  if (on('tty')) out.set('tty', '1');
  return out;
}

/** Which run's log file `kubectl logs` reads, or the error the kubelet answers with (HTTP 400). */
export type LogSelection = { run: number } | { error: string };

/**
 * Chooses the log of a container as the kubelet's validateContainerLogStatus does: the current
 * run when running; with `previous` the last terminated run; while waiting, the run that just ended
 * or an error that names the reason. Runs are numbered by restart count.
 */
export function selectContainerLog(
  pod: string,
  status: ContainerRuntimeState | undefined,
  container: string,
  previous: boolean,
): LogSelection {
  if (!status) return { error: `container "${container}" in pod "${pod}" is not available` };
  const { state, lastTerminated, restartCount } = status;
  // While waiting to restart, no new run has begun: the run that ended last is still `restartCount`.
  const lastFinishedRun = state.kind === 'waiting' ? restartCount : restartCount - 1;
  if (previous) {
    if (!lastTerminated) return { error: `previous terminated container "${container}" in pod "${pod}" not found` };
    return { run: lastFinishedRun };
  }
  switch (state.kind) {
    case 'running':
    case 'terminated':
      return { run: restartCount };
    case 'waiting':
      if (lastTerminated) return { run: lastFinishedRun };
      if (state.reason === 'ErrImagePull')
        return { error: `container "${container}" in pod "${pod}" is waiting to start: image can't be pulled` };
      if (state.reason === 'ImagePullBackOff')
        return { error: `container "${container}" in pod "${pod}" is waiting to start: trying and failing to pull image` };
      return { error: `container "${container}" in pod "${pod}" is waiting to start: ${state.reason}` };
  }
}

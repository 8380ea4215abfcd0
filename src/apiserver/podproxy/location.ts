/**
 * Where kube-apiserver sends a pod's log, exec, attach and port-forward requests: the pure part
 * of pkg/registry/core/pod/strategy.go (LogLocation, streamLocation, PortForwardLocation) and of
 * the node connection-info lookup. It picks and checks the container, finds the node's kubelet
 * address, and rewrites the query into the kubelet's names. Errors are worded as kube-apiserver's,
 * because kubectl prints them as they come.
 */
import { badRequest, StatusError } from '../../api/errors.js';
import type { Node, Pod } from '../../api/types/index.js';

/** The kubelet port when a Node does not publish one (kube-apiserver's --kubelet-port). */
export const DEFAULT_KUBELET_PORT = 10250;

/** A Status with an empty reason, as kube-apiserver answers errors that are not API errors (dial failures and the like). */
export class UnknownStatusError extends Error {
  readonly code = 500;
  toStatus(): object {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, code: 500 };
  }
}

const names = (containers: { name?: string }[] | undefined) => (containers ?? []).map((c) => c.name ?? '');

/**
 * The container a request is about: the one named, or the pod's only container. Throws 400 with
 * kube-apiserver's text when none is named in a multi-container pod or the name is not the pod's.
 */
export function resolveContainer(pod: Pod, container: string | undefined | null, options: { listInitContainers?: boolean } = {}): string {
  const podName = pod.metadata?.name ?? '';
  const spec = pod.spec;
  if (!container) {
    const regular = names(spec?.containers);
    if (regular.length === 1) return regular[0]!;
    if (regular.length === 0) throw badRequest(`a container name must be specified for pod ${podName}`);
    const init = names(spec?.initContainers);
    if (options.listInitContainers) {
      // streamLocation (exec/attach) lists init containers separately.
      const more = init.length > 0 ? ` or one of the init containers: [${init.join(' ')}]` : '';
      throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${regular.join(' ')}]${more}`);
    }
    // validateContainer (logs) lists every container, init containers first, as VisitContainers orders them.
    const all = [...init, ...regular, ...names(spec?.ephemeralContainers)];
    throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${all.join(' ')}]`);
  }
  const known = [...names(spec?.containers), ...names(spec?.initContainers), ...names(spec?.ephemeralContainers)];
  if (!known.includes(container)) throw badRequest(`container ${container} is not valid for pod ${podName}`);
  return container;
}

/** Where a node's kubelet listens. */
export interface KubeletAddress {
  host: string;
  port: number;
}

/** The kubelet address of a Node: its InternalIP (then ExternalIP) and the port it published in daemonEndpoints. */
export function kubeletAddress(node: Node): KubeletAddress {
  const addresses = node.status?.addresses ?? [];
  const pick = ['InternalIP', 'ExternalIP'].map((type) => addresses.find((a) => a.type === type && a.address)).find(Boolean);
  if (!pick?.address) {
    const known = addresses.map((a) => `{${a.type} ${a.address}}`).join(' ');
    throw new UnknownStatusError(`no preferred addresses found; known addresses: [${known}]`);
  }
  const published = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
  return { host: pick.address, port: published > 0 ? published : DEFAULT_KUBELET_PORT };
}

/** `host:port`, with IPv6 hosts bracketed. */
export function joinHostPort(address: KubeletAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The pod subresources that are proxied to the kubelet as connection upgrades. */
export type StreamingSubresource = 'exec' | 'attach' | 'portforward';

const on = (query: URLSearchParams, name: string) => ['true', '1'].includes((query.get(name) ?? '').toLowerCase());

/**
 * The kubelet path and query for a log request: PodLogOptions travel under their own names,
 * the container goes into the path.
 */
export function kubeletLogPath(pod: Pod, container: string, query: URLSearchParams): string {
  const params = new URLSearchParams();
  for (const flag of ['follow', 'previous', 'timestamps']) if (on(query, flag)) params.set(flag, 'true');
  for (const value of ['sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes']) {
    const v = query.get(value);
    if (v !== null && v !== '') params.set(value, v);
  }
  const qs = params.toString();
  return `/containerLogs/${podPath(pod)}/${encodeURIComponent(container)}${qs ? `?${qs}` : ''}`;
}

/**
 * The kubelet path and query for exec/attach (`/exec/{ns}/{pod}/{container}` with `input`, `output`,
 * `error`, `tty` and `command`) or port-forward (`/portForward/{ns}/{pod}`, ports in `port`).
 */
export function kubeletStreamingPath(sub: StreamingSubresource, pod: Pod, container: string | undefined, query: URLSearchParams): string {
  const params = new URLSearchParams();
  if (sub === 'portforward') {
    const ports = query
      .getAll('ports')
      .flatMap((p) => p.split(','))
      .filter(Boolean);
    if (ports.length > 0) params.set('port', ports.join(','));
    const qs = params.toString();
    return `/portForward/${podPath(pod)}${qs ? `?${qs}` : ''}`;
  }
  for (const [from, to] of [
    ['stdin', 'input'],
    ['stdout', 'output'],
    ['stderr', 'error'],
    ['tty', 'tty'],
  ] as const)
    if (on(query, from)) params.set(to, '1');
  if (sub === 'exec') for (const c of query.getAll('command')) params.append('command', c);
  const qs = params.toString();
  return `/${sub}/${podPath(pod)}/${encodeURIComponent(container ?? '')}${qs ? `?${qs}` : ''}`;
}

function podPath(pod: Pod): string {
  return `${encodeURIComponent(pod.metadata?.namespace ?? '')}/${encodeURIComponent(pod.metadata?.name ?? '')}`;
}

/** Go's text for a failed TCP dial (`dial tcp 172.18.0.3:10250: connect: connection refused`), from a Node socket error. */
export function dialError(err: NodeJS.ErrnoException, address: KubeletAddress): string {
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connect: connection refused',
    EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable',
    ETIMEDOUT: 'i/o timeout',
    ECONNRESET: 'read: connection reset by peer',
  };
  return `dial tcp ${joinHostPort(address)}: ${reasons[err.code ?? ''] ?? err.message}`;
}

/**
 * The API error for a kubelet's non-2xx answer to a log request, as kube-apiserver's
 * GenericHttpResponseChecker makes it: 400 and 500 carry the kubelet's text, others a generic message.
 */
export function kubeletLogError(statusCode: number, body: string, podName: string): StatusError {
  const text = body.replace(/\n$/, '');
  if (statusCode === 400) return badRequest(text);
  if (statusCode === 500) return new StatusError(500, 'InternalError', `Internal error occurred: ${text}`, { causes: [{ message: text }] });
  const generic: Record<number, [StatusError['reason'], string]> = {
    401: ['Unauthorized', 'the server has asked for the client to provide credentials'],
    403: ['Forbidden', 'the server does not allow access to the requested resource'],
    404: ['NotFound', 'the server could not find the requested resource'],
  };
  const [reason, message] = generic[statusCode] ?? [
    'InternalError',
    `the server responded with the status code ${statusCode} but did not return more information`,
  ];
  return new StatusError(statusCode, reason, `${message} ( pods/log ${podName})`, {
    name: podName,
    kind: 'pods/log',
    causes: [{ reason: 'UnexpectedServerResponse', message: text }],
  });
}

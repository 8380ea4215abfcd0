/**
 * What a simulated node reports, as pure functions: its Node object and Lease, the pod IP
 * allocator over its pod CIDR, and the status a kubelet would give a running pod (kwok's model:
 * no processes, just the status a healthy kubelet would post).
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../../api/meta.js';
import { isPodReady, type PodLike, timestamp } from '../controller.js';

/** Set to "false" on a pod to make its simulated containers not ready (and back to make them ready). */
export const SIM_READY_ANNOTATION = 'svcnet.io/sim-ready';
/** Marks Node objects that the simulator owns. */
export const SIM_NODE_ANNOTATION = 'svcnet.io/simulated-node';
export const KUBELET_VERSION = 'v1.32.0';

export interface SimNodeSpec {
  name: string;
  /** 1-based node number: pod CIDR `<base>.<index>.0/24` (see nodePodPrefix), InternalIP 172.18.0.<index+1>. */
  index: number;
  podCIDRBase: string;
  zone?: string;
}

export function nodeInternalIP(index: number): string {
  return `172.18.${Math.floor((index + 1) / 256)}.${(index + 1) % 256}`;
}

/**
 * The first three octets of a node's pod /24: `<base>.<index>` for the first 255 nodes, then on
 * into the next /16 (node 256 of 10.244 gets 10.245.0), so a large simulated cluster never runs
 * out of valid CIDRs.
 */
export function nodePodPrefix(spec: Pick<SimNodeSpec, 'index' | 'podCIDRBase'>): string {
  const [a, b] = spec.podCIDRBase.split('.').map(Number);
  return `${a}.${b + Math.floor(spec.index / 256)}.${spec.index % 256}`;
}

export function nodePodCIDR(spec: SimNodeSpec): string {
  return `${nodePodPrefix(spec)}.0/24`;
}

/** The Node object (metadata + spec); its status is written separately through `nodes/status`. */
export function nodeObject(spec: SimNodeSpec): KubeObject {
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': spec.name,
    'kubernetes.io/os': 'linux',
  };
  if (spec.zone) labels['topology.kubernetes.io/zone'] = spec.zone;
  const cidr = nodePodCIDR(spec);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: spec.name, labels, annotations: { [SIM_NODE_ANNOTATION]: 'true', 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { podCIDR: cidr, podCIDRs: [cidr] },
  };
}

const hex = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** The status a healthy kubelet posts: Ready, no pressure, addresses, capacity, system info. */
export function nodeStatus(spec: SimNodeSpec, now = Date.now(), since = now): KubeObject['status'] {
  const t = timestamp(now);
  const from = timestamp(since);
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: t,
    lastTransitionTime: from,
    reason,
    message,
  });
  const resources = { cpu: '32', 'ephemeral-storage': '100Gi', memory: '256Gi', pods: '110' };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: nodeInternalIP(spec.index) },
      { type: 'Hostname', address: spec.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: hex(`machine-${spec.name}`, 32),
      systemUUID: hex(`uuid-${spec.name}`, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
      bootID: hex(`boot-${spec.name}-${since}`, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
      kernelVersion: '6.1.0-svcnet',
      osImage: 'svcnet simulated node',
      containerRuntimeVersion: 'svcnet-sim://1.0.0',
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

/**
 * Pod IPs of one node's /24, handed out from .2 up (.1 is the bridge), never twice; an IP comes
 * back when its pod is gone.
 */
export class PodIPAllocator {
  private readonly byPod = new Map<string, string>();
  private readonly used = new Set<number>();

  constructor(private readonly prefix: string) {}

  /** The pod's IP, allocating one the first time (reusing `preferred` when it is free and ours). */
  allocate(podKey: string, preferred?: string): string | undefined {
    const have = this.byPod.get(podKey);
    if (have) return have;
    let host: number | undefined;
    if (preferred?.startsWith(`${this.prefix}.`)) {
      const h = Number(preferred.slice(this.prefix.length + 1));
      if (h >= 2 && h <= 254 && !this.used.has(h)) host = h;
    }
    for (let h = 2; host === undefined && h <= 254; h++) if (!this.used.has(h)) host = h;
    if (host === undefined) return undefined;
    this.used.add(host);
    const ip = `${this.prefix}.${host}`;
    this.byPod.set(podKey, ip);
    return ip;
  }

  release(podKey: string): void {
    const ip = this.byPod.get(podKey);
    if (!ip) return;
    this.byPod.delete(podKey);
    this.used.delete(Number(ip.slice(this.prefix.length + 1)));
  }

  get size(): number {
    return this.byPod.size;
  }
}

/** kubelet's image reference normalisation: `nginx` → `docker.io/library/nginx:latest`. */
export function normalizeImage(image: string): string {
  let ref = image;
  const firstSlash = ref.indexOf('/');
  const domain = firstSlash < 0 ? '' : ref.slice(0, firstSlash);
  if (!(domain.includes('.') || domain.includes(':') || domain === 'localhost'))
    ref = `docker.io/${firstSlash < 0 ? `library/${ref}` : ref}`;
  if (!ref.includes('@') && !/:[^/]+$/.test(ref)) ref = `${ref}:latest`;
  return ref;
}

/**
 * The status a kubelet would post for a pod running on `node`: Running, conditions, IPs and a
 * running status per container. `ready` false (the sim-ready annotation) makes the containers
 * unready. Transition times are kept from `pod.status` when a condition's status is unchanged.
 */
export function runningPodStatus(pod: PodLike, hostIP: string, podIP: string, now = Date.now()): KubeObject['status'] {
  const t = timestamp(now);
  const old = pod.status ?? {};
  const ready = pod.metadata.annotations?.[SIM_READY_ANNOTATION] !== 'false';
  const startTime = old.startTime ?? t;
  const containers: { name: string; image?: string }[] = pod.spec?.containers ?? [];
  const previous = (type: string) => (old.conditions ?? []).find((c: { type: string }) => c.type === type);
  const cond = (type: string, status: boolean, extra: Record<string, string> = {}) => {
    const s = status ? 'True' : 'False';
    const p = previous(type);
    return { type, status: s, lastProbeTime: null, lastTransitionTime: p?.status === s ? p.lastTransitionTime : t, ...extra };
  };
  const notReady: Record<string, string> = ready
    ? {}
    : { reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]` };
  const oldStatuses: { name: string; state?: { running?: { startedAt?: string } }; containerID?: string }[] = old.containerStatuses ?? [];
  return {
    phase: 'Running',
    conditions: [
      cond('PodReadyToStartContainers', true),
      cond('Initialized', true),
      cond('Ready', ready, notReady),
      cond('ContainersReady', ready, notReady),
      cond('PodScheduled', true),
    ],
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime,
    containerStatuses: containers.map((c) => {
      const prev = oldStatuses.find((s) => s.name === c.name);
      const image = normalizeImage(c.image ?? '');
      return {
        name: c.name,
        state: { running: { startedAt: prev?.state?.running?.startedAt ?? startTime } },
        lastState: {},
        ready,
        restartCount: 0,
        image,
        imageID: `${image.replace(/:[^/:]+$/, '')}@sha256:${hex(image, 64)}`,
        containerID: prev?.containerID ?? `containerd://${hex(`${pod.metadata.uid}/${c.name}`, 64)}`,
        started: true,
      };
    }),
    qosClass: old.qosClass ?? 'BestEffort',
  };
}

/** Whether the pod already shows the status we would write (ignoring timestamps we keep anyway). */
export function statusUpToDate(pod: PodLike, hostIP: string, podIP: string): boolean {
  const s = pod.status ?? {};
  const wantReady = pod.metadata.annotations?.[SIM_READY_ANNOTATION] !== 'false';
  return (
    s.phase === 'Running' &&
    s.podIP === podIP &&
    s.hostIP === hostIP &&
    isPodReady(pod) === wantReady &&
    (s.containerStatuses ?? []).length === (pod.spec?.containers ?? []).length
  );
}

/**
 * The agent's Node: registration and heartbeats as the kubelet does them. The Node object,
 * its status and its Lease are pure functions of {@link NodeInfo}; {@link NodeHeartbeat} is the
 * thin edge that registers, renews the Lease every 10 s and re-posts status every 5 minutes
 * (the kubelet's nodeLeaseRenewInterval and nodeStatusReportFrequency).
 */
import { readFileSync, statfsSync } from 'node:fs';
import { arch, cpus, release, totalmem } from 'node:os';
import { StatusError } from '../api/errors.js';
import type { KubeObject } from '../api/meta.js';
import { type Client, R } from '../client/types.js';

export const KUBELET_VERSION = 'v1.32.0';
export const CONTAINER_RUNTIME_VERSION = 'svcnet://0.1.0';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const NODE_LEASE_DURATION_SECONDS = 40;
export const KUBELET_PORT = 10250;

/** Facts about the node the agent runs on. */
export interface NodeInfo {
  name: string;
  internalIP: string;
  podCIDR: string;
  cpu: number;
  /** Memory in bytes. */
  memoryBytes: number;
  /** Filesystem size of the agent's state directory, in bytes. */
  storageBytes: number;
  maxPods: number;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  architecture: string;
  kubeletPort: number;
  labels?: Record<string, string>;
}

const readOr = (path: string, fallback: string) => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
};

const uuidify = (hex: string) =>
  hex
    .padEnd(32, '0')
    .slice(0, 32)
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

/** Reads the machine's facts (the kubelet's cadvisor machine info), for a node named `name`. */
export function detectNodeInfo(options: {
  name: string;
  internalIP: string;
  podCIDR: string;
  stateDir: string;
  maxPods?: number;
  kubeletPort?: number;
}): NodeInfo {
  let storageBytes = 100 * 2 ** 30;
  try {
    const fs = statfsSync(options.stateDir);
    storageBytes = fs.blocks * fs.bsize;
  } catch {
    // keep the default
  }
  const machineID = readOr('/etc/machine-id', '').replace(/-/g, '') || '0'.repeat(32);
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readOr('/etc/os-release', ''))?.[1];
  return {
    name: options.name,
    internalIP: options.internalIP,
    podCIDR: options.podCIDR,
    cpu: cpus().length,
    memoryBytes: totalmem(),
    storageBytes,
    maxPods: options.maxPods ?? 110,
    machineID,
    systemUUID: uuidify(readOr('/sys/class/dmi/id/product_uuid', machineID).replace(/-/g, '')),
    bootID: readOr('/proc/sys/kernel/random/boot_id', uuidify(machineID)),
    kernelVersion: release(),
    osImage: pretty ?? 'Linux',
    architecture: arch() === 'x64' ? 'amd64' : arch(),
    kubeletPort: options.kubeletPort ?? KUBELET_PORT,
  };
}

/** The Node object the kubelet registers (metadata + spec). */
export function nodeObject(info: NodeInfo): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: info.name,
      labels: {
        'beta.kubernetes.io/arch': info.architecture,
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': info.architecture,
        'kubernetes.io/hostname': info.name,
        'kubernetes.io/os': 'linux',
        ...info.labels,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR: info.podCIDR, podCIDRs: [info.podCIDR] },
  };
}

const Ki = (bytes: number) => `${Math.floor(bytes / 1024)}Ki`;

/**
 * The node status: capacity, allocatable (capacity less the kubelet's default hard eviction
 * thresholds, memory.available<100Mi and nodefs.available<10%), conditions, addresses, system info.
 * `since` is when the conditions took their current values.
 */
export function nodeStatus(info: NodeInfo, now: Date, since: Date): Record<string, unknown> {
  const t = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const from = since.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: t,
    lastTransitionTime: from,
    reason,
    message,
  });
  return {
    capacity: {
      cpu: String(info.cpu),
      'ephemeral-storage': Ki(info.storageBytes),
      memory: Ki(info.memoryBytes),
      pods: String(info.maxPods),
    },
    allocatable: {
      cpu: String(info.cpu),
      'ephemeral-storage': String(Math.floor(info.storageBytes * 0.9)),
      memory: Ki(info.memoryBytes - 100 * 2 ** 20),
      pods: String(info.maxPods),
    },
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: info.internalIP },
      { type: 'Hostname', address: info.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: info.kubeletPort } },
    nodeInfo: {
      machineID: info.machineID,
      systemUUID: info.systemUUID,
      bootID: info.bootID,
      kernelVersion: info.kernelVersion,
      osImage: info.osImage,
      containerRuntimeVersion: CONTAINER_RUNTIME_VERSION,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: info.architecture,
    },
  };
}

/** metav1.MicroTime text. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The node's Lease in kube-node-lease, owned by the Node. */
export function nodeLease(node: KubeObject, now: Date): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: node.metadata.name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.metadata.name ?? '', uid: node.metadata.uid ?? '' }],
    },
    spec: { holderIdentity: node.metadata.name, leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS, renewTime: microTime(now) },
  };
}

const isCode = (err: unknown, code: number) => err instanceof StatusError && err.code === code;

export interface NodeHeartbeatOptions {
  /** Lease renewal interval; default 10 s. */
  leaseRenewMs?: number;
  /** Status re-post interval; default 5 min. */
  statusReportMs?: number;
  onError?: (err: unknown) => void;
  clock?: () => Date;
}

/** Registers the Node and keeps its Lease and status fresh. */
export class NodeHeartbeat {
  private node: KubeObject | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly since: Date;
  private readonly clock: () => Date;

  constructor(
    private readonly client: Client,
    readonly info: NodeInfo,
    private readonly options: NodeHeartbeatOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.since = this.clock();
  }

  /** Registers (or adopts) the Node, posts its status and creates its Lease; then keeps them fresh. */
  async start(): Promise<KubeObject> {
    try {
      this.node = await this.client.create(R.nodes, nodeObject(this.info));
    } catch (err) {
      if (!isCode(err, 409)) throw err;
      this.node = await this.client.get(R.nodes, this.info.name);
    }
    await this.postStatus();
    await this.renewLease();
    const onError = this.options.onError ?? (() => {});
    const lease = setInterval(() => void this.renewLease().catch(onError), this.options.leaseRenewMs ?? 10_000);
    const status = setInterval(() => void this.postStatus().catch(onError), this.options.statusReportMs ?? 300_000);
    for (const t of [lease, status]) t.unref?.();
    this.timers.push(lease, status);
    return this.node;
  }

  async postStatus(): Promise<void> {
    const status = nodeStatus(this.info, this.clock(), this.since);
    await this.client.patch(R.nodes, this.info.name, 'strategic', { status }, { subresource: 'status' });
  }

  async renewLease(): Promise<void> {
    const now = this.clock();
    try {
      await this.client.patch(
        R.leases,
        this.info.name,
        'merge',
        { spec: { holderIdentity: this.info.name, renewTime: microTime(now) } },
        { namespace: NODE_LEASE_NAMESPACE },
      );
    } catch (err) {
      if (!isCode(err, 404) || !this.node) throw err;
      await this.client.create(R.leases, nodeLease(this.node, now), { namespace: NODE_LEASE_NAMESPACE });
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }
}

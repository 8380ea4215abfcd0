/**
 * Pod sandboxes: a pod's named network namespace with `lo` up, attached to the node's pod network
 * with CNI (bridge + host-local, then portmap when the pod has hostPorts).
 */
import { dirname, join } from 'node:path';
import { type CommandRunner, hostRunner, NetnsOps, netnsPath } from '../../cluster/netns.js';
import {
  addNetworkList,
  type CachedAttachment,
  type CniAttachment,
  type CniExecOptions,
  type CniPortMapping,
  type CniResult,
  CniResultCache,
  checkNetworkList,
  delNetworkList,
  podNetworkConfig,
} from './cni.js';

/** A container port published on the node (`ports[].hostPort` in a pod spec). */
export interface HostPortMapping {
  hostPort: number;
  containerPort: number;
  /** Default TCP. */
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  hostIP?: string;
}

/** Identifies a pod sandbox and the node network it is attached to. */
export interface PodSandboxRef {
  podUid: string;
  /** The node's pod CIDR, e.g. 10.244.1.0/24. */
  podCIDR: string;
  /** Per-node directory for CNI state: `ipam/` (host-local allocations) and `results/` (cached ADD results). */
  stateDir: string;
  /** Named network namespace of the node: the plugins run in it, and pod namespaces are named under it. */
  nodeNetns?: string;
  /**
   * Whether to enter `nodeNetns` to run the plugins (default true). False when the caller already runs inside the node's
   * network namespace, as the agent does: that saves an `nsenter` per plugin run.
   */
  enterNodeNetns?: boolean;
  /** Name of the pod's network namespace. Default {@link podNetnsName}. */
  netnsName?: string;
  runner?: CommandRunner;
  cniPath?: string;
  /** CNI network name. Default `svcnet`. */
  networkName?: string;
  /** Bridge in the node namespace. Default `cni0`. */
  bridge?: string;
}

export interface PodSandboxOptions extends PodSandboxRef {
  /** Pod namespace and name, passed to the plugins as K8S_POD_NAMESPACE / K8S_POD_NAME. */
  namespace: string;
  name: string;
  hostPorts?: HostPortMapping[];
}

export interface PodSandbox {
  netnsName: string;
  /** Path of the network namespace, e.g. /var/run/netns/svcnet-node-1-pod-<uid>. */
  netnsPath: string;
  /** The pod's address on eth0, e.g. 10.244.1.2. */
  ip: string;
  /** Prefix length of the pod network, e.g. 24. */
  prefixLength: number;
  /** The bridge address, the pod's default gateway, e.g. 10.244.1.1. */
  gateway: string;
  /** The CNI result of the attachment. */
  result: CniResult;
  /** How long creating the sandbox took, in milliseconds. */
  durationMs: number;
}

/** Interface name of the pod's network attachment. */
export const POD_IFNAME = 'eth0';

/** Default name of a pod's network namespace: under the node's, so cleaning the node's prefix cleans its pods. */
export function podNetnsName(nodeNetns: string | undefined, podUid: string): string {
  return `${nodeNetns ?? 'svcnet'}-pod-${podUid}`;
}

/**
 * Makes a pod's named network namespace with `lo` up in one process start, where `ip netns add`
 * and the CNI loopback plugin took two (each a fork of the agent, which blocks its event loop
 * until the child has exec'd): `unshare --net=<file>` binds the new namespace at
 * /var/run/netns/<name> as `ip netns add` does, and runs `ip link set lo up` inside it, which is
 * all the loopback plugin does. An existing namespace only gets `lo` up; where iproute2 has not
 * set up /var/run/netns yet (no node namespace made it), `ip netns add` does that first.
 * Arguments: the namespace's path, its name and the directory of named namespaces.
 */
export const ADD_POD_NETNS_SCRIPT = [
  'set -e',
  'if [ ! -d "$3" ]; then ip netns add "$2"; exec ip -n "$2" link set lo up; fi',
  'if [ -e "$1" ]; then exec nsenter --net="$1" ip link set lo up; fi',
  ': > "$1"',
  'exec unshare --net="$1" ip link set lo up',
].join('\n');

/** The argv that runs {@link ADD_POD_NETNS_SCRIPT} for a namespace. */
export function addPodNetnsArgv(name: string): string[] {
  const path = netnsPath(name);
  return ['sh', '-c', ADD_POD_NETNS_SCRIPT, 'svcnet-netns', path, name, dirname(path)];
}

/** The CNI_CONTAINERID of a pod's sandbox. */
function containerId(podUid: string): string {
  return podUid;
}

function resolve(ref: PodSandboxRef) {
  const netnsName = ref.netnsName ?? podNetnsName(ref.nodeNetns, ref.podUid);
  const exec: CniExecOptions = {
    runner: ref.runner ?? hostRunner,
    cniPath: ref.cniPath,
    hostNetns: ref.enterNodeNetns === false ? undefined : ref.nodeNetns,
  };
  const network = podNetworkConfig({
    podCIDR: ref.podCIDR,
    ipamDataDir: join(ref.stateDir, 'ipam'),
    name: ref.networkName,
    bridge: ref.bridge,
  });
  return { netnsName, exec, network, cache: new CniResultCache(join(ref.stateDir, 'results')), ops: new NetnsOps(exec.runner) };
}

/** CNI's portMappings for a pod's hostPorts. */
export function portMappings(hostPorts: readonly HostPortMapping[] = []): CniPortMapping[] {
  return hostPorts.map((p) => ({
    hostPort: p.hostPort,
    containerPort: p.containerPort,
    protocol: (p.protocol ?? 'TCP').toLowerCase() as CniPortMapping['protocol'],
    ...(p.hostIP ? { hostIP: p.hostIP } : {}),
  }));
}

/** The pod's IPv4 address, prefix length and gateway from a bridge result. */
export function podAddress(result: CniResult): { ip: string; prefixLength: number; gateway: string } {
  const entry = result.ips?.find((ip) => !ip.address.includes(':'));
  if (!entry) throw new Error(`CNI result has no IPv4 address: ${JSON.stringify(result)}`);
  const [ip, bits] = entry.address.split('/');
  return { ip: ip!, prefixLength: Number(bits), gateway: entry.gateway ?? '' };
}

/**
 * Creates a pod's network namespace and attaches it: `lo` up, `eth0` on the node's bridge with an address
 * from the node's pod CIDR, and hostPort rules (portmap) when asked. On failure everything made so far is removed again.
 */
export async function createPodSandbox(options: PodSandboxOptions): Promise<PodSandbox> {
  const started = performance.now();
  const { netnsName, exec, network, cache, ops } = resolve(options);
  const mappings = portMappings(options.hostPorts);
  // Without hostPorts portmap would only echo its prevResult; skipping it saves a plugin run per pod.
  const attached = mappings.length > 0 ? network : { ...network, plugins: network.plugins.filter((p) => p.type !== 'portmap') };
  const path = netnsPath(netnsName);
  const attachment: CniAttachment = {
    containerId: containerId(options.podUid),
    netnsPath: path,
    ifName: POD_IFNAME,
    args: {
      K8S_POD_NAMESPACE: options.namespace,
      K8S_POD_NAME: options.name,
      K8S_POD_INFRA_CONTAINER_ID: containerId(options.podUid),
      K8S_POD_UID: options.podUid,
    },
  };
  try {
    await ops.run(addPodNetnsArgv(netnsName));
    const result = await addNetworkList(attached, attachment, { portMappings: mappings }, exec);
    cache.save({ network: attached, attachment, runtime: { portMappings: mappings }, result });
    return { netnsName, netnsPath: path, ...podAddress(result), result, durationMs: performance.now() - started };
  } catch (err) {
    await destroyPodSandbox(options).catch(() => {});
    throw err;
  }
}

/**
 * Detaches and deletes a pod's sandbox: portmap and bridge DEL (releasing the IP), then the namespace.
 * Idempotent: a sandbox that is partly or wholly gone is finished off without error. When a plugin fails the namespace
 * is still deleted and the error thrown; calling this again retries the DEL.
 */
export async function destroyPodSandbox(ref: PodSandboxRef): Promise<void> {
  const { netnsName, exec, network, cache, ops } = resolve(ref);
  const id = containerId(ref.podUid);
  const cached: CachedAttachment | undefined = cache.load(network.name, id, POD_IFNAME);
  const attachment: CniAttachment = cached?.attachment ?? { containerId: id, netnsPath: netnsPath(netnsName), ifName: POD_IFNAME };
  try {
    await delNetworkList(cached?.network ?? network, attachment, cached?.runtime ?? {}, { ...exec, prevResult: cached?.result });
  } finally {
    // loopback needs no DEL of its own (lo dies with the namespace), which saves a plugin run.
    // The namespace goes even when a DEL failed; the cached result stays so that a retried DEL can still release the IP.
    await ops.deleteNetns(netnsName);
  }
  cache.remove(network.name, id, POD_IFNAME);
}

/** Asks the plugins to verify the pod's attachment (CNI CHECK); throws a CniError when something is wrong. */
export async function checkPodSandbox(ref: PodSandboxRef): Promise<void> {
  const { exec, network, cache } = resolve(ref);
  const cached = cache.load(network.name, containerId(ref.podUid), POD_IFNAME);
  if (!cached) throw new Error(`no cached CNI result for pod ${ref.podUid}: the sandbox was not created by this node`);
  await checkNetworkList(cached.network, cached.attachment, cached.result, cached.runtime, exec);
}

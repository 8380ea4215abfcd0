/**
 * Simulated nodes, as kwok runs them: Node objects with heartbeat Leases whose pods become
 * Running and Ready at once, with IPs from the node's pod CIDR, and no processes. For tests and
 * scale benchmarks; real nodes come from the agent.
 *
 * Readiness can be toggled per pod with the annotation `svcnet.io/sim-ready: "false"` (not
 * ready) / anything else or absent (ready). A pod being deleted is finished (deleted with
 * gracePeriodSeconds 0) at once in fast mode, or after its grace period otherwise.
 */

import { microTime, NODE_LEASE_NAMESPACE, nodeLease } from '../../agent/node.js';
import { type KubeObject, objectKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import {
  ignoreNotFound,
  isStatus,
  onEveryChange,
  type PodLike,
  type RunningController,
  runController,
  SharedInformers,
} from '../controller.js';
import {
  nodeInternalIP,
  nodeObject,
  nodePodPrefix,
  nodeStatus,
  PodIPAllocator,
  runningPodStatus,
  type SimNodeSpec,
  statusUpToDate,
} from './objects.js';

export interface SimulatedNodesOptions {
  /** How many nodes: node-1 … node-N. */
  count: number;
  namePrefix?: string;
  /** First two octets of the pod network; node N gets `<base>.N.0/24`. */
  podCIDRBase?: string;
  /** Zones assigned round-robin (topology.kubernetes.io/zone); none by default. */
  zones?: string[];
  /** Finish pod deletions at once (default true) instead of after the pod's grace period. */
  fast?: boolean;
  /** Lease renewal interval; 10 s as a kubelet renews a 40 s lease. */
  heartbeatMs?: number;
  informers?: SharedInformers;
  /**
   * Pod status writes in flight (default 64, as a kwok node handles its pods in parallel). Each
   * waits for its group commit, so this bounds the writes one event-loop turn can batch.
   */
  workers?: number;
  clock?: () => number;
  onError?: (key: string, err: unknown) => void;
}

export interface SimulatedNodes extends RunningController {
  /** Names of the simulated nodes. */
  nodes: string[];
}

export function startSimulatedNodes(client: Client, opts: SimulatedNodesOptions): SimulatedNodes {
  const prefix = opts.namePrefix ?? 'node-';
  const base = opts.podCIDRBase ?? '10.244';
  const clock = opts.clock ?? Date.now;
  const fast = opts.fast ?? true;
  const specs: SimNodeSpec[] = Array.from({ length: opts.count }, (_, i) => ({
    name: `${prefix}${i + 1}`,
    index: i + 1,
    podCIDRBase: base,
    zone: opts.zones?.length ? opts.zones[i % opts.zones.length] : undefined,
  }));
  const byName = new Map(specs.map((s) => [s.name, s]));
  const allocators = new Map(specs.map((s) => [s.name, new PodIPAllocator(nodePodPrefix(s))]));
  /** Which node allocated a pod's IP, so it is released on that node when the pod goes. */
  const podNode = new Map<string, string>();
  const informers = opts.informers ?? new SharedInformers(client);
  const pods = informers.for<PodLike>(R.pods);
  const queue = new WorkQueue();
  const timers = new Set<NodeJS.Timeout>();

  const enqueue = (pod: KubeObject) => {
    if (byName.has(pod.spec?.nodeName) || podNode.has(objectKey(pod))) queue.add(objectKey(pod));
  };
  pods.addHandlers(onEveryChange(enqueue));

  const release = (key: string) => {
    const node = podNode.get(key);
    if (node) allocators.get(node)?.release(key);
    podNode.delete(key);
  };

  async function sync(key: string): Promise<void> {
    const pod = pods.get(key);
    const node = pod && byName.get(pod.spec?.nodeName);
    if (!pod || !node) return release(key);
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return release(key);
    if (pod.metadata.deletionTimestamp) return finishDeletion(pod);
    const ip = allocators.get(node.name)?.allocate(key, pod.status?.podIP);
    if (!ip) throw new Error(`node ${node.name} has no free pod IPs`);
    podNode.set(key, node.name);
    const hostIP = nodeInternalIP(node.index);
    if (statusUpToDate(pod, hostIP, ip)) return;
    await ignoreNotFound(
      client.update(
        R.pods,
        { ...pod, apiVersion: 'v1', kind: 'Pod', status: runningPodStatus(pod, hostIP, ip, clock()) },
        { namespace: pod.metadata.namespace, subresource: 'status' },
      ),
    );
  }

  async function finishDeletion(pod: PodLike): Promise<void> {
    const key = objectKey(pod);
    const due = Date.parse(pod.metadata.deletionTimestamp ?? '') + (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    const wait = fast ? 0 : due - clock();
    if (wait > 0) {
      // Look again when the grace period is over.
      const t = setTimeout(() => {
        timers.delete(t);
        queue.add(key);
      }, wait);
      t.unref?.();
      timers.add(t);
      return;
    }
    try {
      await client.delete(R.pods, pod.metadata.name ?? '', {
        namespace: pod.metadata.namespace,
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (e) {
      if (!isStatus(e, 404, 409)) throw e;
    }
  }

  async function registerNode(spec: SimNodeSpec): Promise<void> {
    let node: KubeObject;
    try {
      node = await client.create(R.nodes, nodeObject(spec));
    } catch (e) {
      if (!isStatus(e, 409)) throw e;
      node = await client.get(R.nodes, spec.name);
    }
    const now = clock();
    await client.update(
      R.nodes,
      { ...node, apiVersion: 'v1', kind: 'Node', status: nodeStatus(spec, now, now) },
      { subresource: 'status' },
    );
    await renewLease(node);
  }

  async function renewLease(node: KubeObject): Promise<void> {
    const name = node.metadata.name ?? '';
    try {
      await client.patch(
        R.leases,
        name,
        'merge',
        { spec: { renewTime: microTime(new Date(clock())) } },
        { namespace: NODE_LEASE_NAMESPACE },
      );
    } catch (e) {
      if (!isStatus(e, 404)) throw e;
      await client.create(R.leases, nodeLease(node, new Date(clock())), { namespace: NODE_LEASE_NAMESPACE });
    }
  }

  const running = runController({
    name: 'simulated-nodes',
    queue,
    workers: opts.workers ?? 64,
    sync,
    waitFor: [Promise.all(specs.map(registerNode)), pods.synced],
    onSynced() {
      const heartbeat = setInterval(() => {
        for (const spec of specs) void renewLease({ metadata: { name: spec.name } }).catch(() => {});
      }, opts.heartbeatMs ?? 10_000);
      heartbeat.unref?.();
      timers.add(heartbeat);
    },
    onError: opts.onError,
    ownInformers: opts.informers ? undefined : informers,
    onStop() {
      for (const t of timers) clearTimeout(t);
    },
  });
  return { nodes: specs.map((s) => s.name), ...running };
}

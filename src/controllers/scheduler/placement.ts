/**
 * The scheduling decision as a pure function (a small kube-scheduler): filter nodes the way the
 * default plugins do — NodeUnschedulable, TaintToleration (a not-Ready node carries the
 * not-ready NoSchedule taint, as the node lifecycle controller would add), NodeAffinity for
 * nodeSelector — then prefer the node with the fewest pods of the same owner, then the fewest
 * pods, then the name. Failures are worded as kube-scheduler words them.
 */
import type { KubeObject } from '../../api/meta.js';
import { controllerRefOf, type PodLike } from '../controller.js';

export const DEFAULT_SCHEDULER = 'default-scheduler';

interface Taint {
  key: string;
  value?: string;
  effect: string;
}
interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

const NOT_READY_TAINT: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };
const UNREACHABLE_TAINT: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' };

/** v1.Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if (t.operator === undefined || t.operator === '' || t.operator === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

function nodeReadyStatus(node: KubeObject): string | undefined {
  return (node.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready')?.status;
}

/** The node's effective taints: its own plus the lifecycle taints for a node that is not Ready. */
export function effectiveTaints(node: KubeObject): Taint[] {
  const taints: Taint[] = [...(node.spec?.taints ?? [])];
  const ready = nodeReadyStatus(node);
  const add = (t: Taint) => {
    if (!taints.some((x) => x.key === t.key && x.effect === t.effect)) taints.push(t);
  };
  if (ready === 'False' || ready === undefined) add(NOT_READY_TAINT);
  else if (ready === 'Unknown') add(UNREACHABLE_TAINT);
  return taints;
}

/** Why `node` cannot take `pod`, in the scheduler's words, or undefined when it can. */
export function filterNode(pod: PodLike, node: KubeObject): string | undefined {
  if (node.spec?.unschedulable) {
    const tolerated = (pod.spec?.tolerations ?? []).some((t: Toleration) =>
      tolerates(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }),
    );
    if (!tolerated) return 'node(s) were unschedulable';
  }
  const tolerations: Toleration[] = pod.spec?.tolerations ?? [];
  for (const taint of effectiveTaints(node)) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerations.some((t) => tolerates(t, taint))) return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
  }
  const selector: Record<string, string> = pod.spec?.nodeSelector ?? {};
  const labels: Record<string, string> = node.metadata.labels ?? {};
  if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) return "node(s) didn't match Pod's node affinity/selector";
  return undefined;
}

export type Placement = { node: string } | { unschedulable: string };

/**
 * Picks a node for `pod`. `podsOnNodes` are the pods already bound (or assumed bound) with
 * their node names; they drive the spreading.
 */
export function placePod(pod: PodLike, nodes: KubeObject[], podsOnNodes: { node: string; pod: PodLike }[]): Placement {
  if (nodes.length === 0) return { unschedulable: 'no nodes available to schedule pods' };
  const reasons = new Map<string, number>();
  const fit: KubeObject[] = [];
  for (const node of nodes) {
    const why = filterNode(pod, node);
    if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
    else fit.push(node);
  }
  if (fit.length === 0) {
    const n = nodes.length;
    const parts = [...reasons].map(([why, count]) => `${count} ${why}`).sort();
    return {
      unschedulable: `0/${n} nodes are available: ${parts.join(', ')}. preemption: 0/${n} nodes are available: ${n} Preemption is not helpful for scheduling.`,
    };
  }
  const owner = controllerRefOf(pod)?.uid;
  const total = new Map<string, number>();
  const sameOwner = new Map<string, number>();
  for (const { node, pod: other } of podsOnNodes) {
    total.set(node, (total.get(node) ?? 0) + 1);
    if (owner && controllerRefOf(other)?.uid === owner) sameOwner.set(node, (sameOwner.get(node) ?? 0) + 1);
  }
  const score = (n: KubeObject) => [sameOwner.get(n.metadata.name ?? '') ?? 0, total.get(n.metadata.name ?? '') ?? 0] as const;
  fit.sort((a, b) => {
    const [sa, ta] = score(a);
    const [sb, tb] = score(b);
    if (sa !== sb) return sa - sb;
    if (ta !== tb) return ta - tb;
    return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '', undefined, { numeric: true });
  });
  return { node: fit[0].metadata.name ?? '' };
}

/** Whether this scheduler should place the pod: unbound, ours, not being deleted, not gated. */
export function needsScheduling(pod: PodLike, schedulerName = DEFAULT_SCHEDULER): boolean {
  if (pod.spec?.nodeName || pod.metadata.deletionTimestamp) return false;
  if ((pod.spec?.schedulerName ?? DEFAULT_SCHEDULER) !== schedulerName) return false;
  if ((pod.spec?.schedulingGates ?? []).length > 0) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

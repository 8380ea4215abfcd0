/**
 * The ReplicaSet controller's decisions as pure functions (kube's pkg/controller/replicaset and
 * controller_utils.go): which pods to delete on scale-down, the status a set of pods gives, and
 * the pod a template makes.
 */

import { matches, selectorFromSet } from '../../api/labels.js';
import type { KubeObject } from '../../api/meta.js';
import { isPodActive, isPodAvailable, isPodReady, newControllerRef, type PodLike, podReadyCondition, timestamp } from '../controller.js';

/** The annotation that lets users steer scale-down: lower cost goes first. */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

const phaseOrdinal: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(pod: PodLike): number {
  const v = pod.metadata.annotations?.[POD_DELETION_COST];
  if (v === undefined || !/^[-+]?[0-9]+$/.test(v)) return 0;
  return Number(v);
}

function maxRestarts(pod: PodLike): number {
  return Math.max(0, ...(pod.status?.containerStatuses ?? []).map((c: { restartCount?: number }) => c.restartCount ?? 0));
}

function readyTime(pod: PodLike): number | undefined {
  if (!isPodReady(pod)) return undefined;
  const t = podReadyCondition(pod)?.lastTransitionTime;
  return t ? Date.parse(t) : undefined;
}

function createdAt(pod: PodLike): number | undefined {
  const t = pod.metadata.creationTimestamp;
  return t ? Date.parse(t) : undefined;
}

/** afterOrZero: an unset time sorts first, then the later time. */
function afterOrZero(t1: number | undefined, t2: number | undefined): boolean {
  if (t1 === undefined || t2 === undefined) return t1 === undefined;
  return t1 > t2;
}

/**
 * LogarithmicScaleDown: times compare by the power-of-two bucket of their age, so pods of about
 * the same age are treated alike and the UID breaks the tie pseudo-randomly.
 */
function logRankDiff(t1: number, t2: number, now: number): number {
  const rank = (t: number) => {
    const ageNanos = (now - t) * 1e6;
    return ageNanos > 0 ? Math.floor(Math.log2(ageNanos)) : -1;
  };
  return rank(t1) - rank(t2);
}

function compareTimes(a: PodLike, b: PodLike, ta: number | undefined, tb: number | undefined, now: number): boolean {
  if (ta === undefined || tb === undefined) return afterOrZero(ta, tb);
  const diff = logRankDiff(ta, tb, now);
  if (diff === 0) return (a.metadata.uid ?? '') < (b.metadata.uid ?? '');
  return diff < 0;
}

/**
 * ActivePodsWithRanks.Less: whether pod `a` should be deleted before pod `b`. `rankA`/`rankB`
 * count the related active pods on each pod's node (more doubled-up goes first).
 */
export function deleteBefore(a: PodLike, rankA: number, b: PodLike, rankB: number, now: number): boolean {
  const nodeA = a.spec?.nodeName ?? '';
  const nodeB = b.spec?.nodeName ?? '';
  // 1. Unassigned < assigned.
  if (nodeA !== nodeB && (!nodeA || !nodeB)) return !nodeA;
  // 2. Pending < Unknown < Running.
  const pa = phaseOrdinal[a.status?.phase] ?? 0;
  const pb = phaseOrdinal[b.status?.phase] ?? 0;
  if (pa !== pb) return pa < pb;
  // 3. Not ready < ready.
  if (isPodReady(a) !== isPodReady(b)) return !isPodReady(a);
  // 4. Lower deletion cost < higher.
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca < cb;
  // 5. Doubled up < not doubled up.
  if (rankA !== rankB) return rankA > rankB;
  // 6. Ready for less time < more time.
  if (isPodReady(a) && isPodReady(b)) {
    const ra = readyTime(a);
    const rb = readyTime(b);
    if (ra !== rb) return compareTimes(a, b, ra, rb, now);
  }
  // 7. More restarts < fewer.
  if (maxRestarts(a) !== maxRestarts(b)) return maxRestarts(a) > maxRestarts(b);
  // 8. Newer < older.
  const ta = createdAt(a);
  const tb = createdAt(b);
  if (ta !== tb) return compareTimes(a, b, ta, tb, now);
  return false;
}

/**
 * getPodsToDelete: the `diff` pods to delete, best candidates first. `relatedPods` are the pods of
 * every ReplicaSet of the same owner (a Deployment's old and new sets), for the doubled-up rank.
 */
export function podsToDelete(pods: PodLike[], relatedPods: PodLike[], diff: number, now = Date.now()): PodLike[] {
  if (diff >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of relatedPods) if (isPodActive(p)) onNode.set(p.spec?.nodeName ?? '', (onNode.get(p.spec?.nodeName ?? '') ?? 0) + 1);
  const ranked = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((x, y) => (deleteBefore(x.pod, x.rank, y.pod, y.rank, now) ? -1 : deleteBefore(y.pod, y.rank, x.pod, x.rank, now) ? 1 : 0));
  return ranked.slice(0, diff).map((r) => r.pod);
}

export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: { type: string; status: string; lastTransitionTime?: string; reason?: string; message?: string }[];
}

/**
 * calculateStatus: counts over the ReplicaSet's active pods, plus the ReplicaFailure condition
 * while creating or deleting pods fails. Zero counts are left out, as kube's omitempty does.
 */
export function replicaSetStatus(rs: KubeObject, pods: PodLike[], manageError: Error | undefined, now = Date.now()): ReplicaSetStatus {
  const templateSelector = selectorFromSet(rs.spec?.template?.metadata?.labels);
  const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    if (matches(templateSelector, pod.metadata.labels)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReadySeconds, now)) available++;
    }
  }
  let conditions = [...(rs.status?.conditions ?? [])] as NonNullable<ReplicaSetStatus['conditions']>;
  const failure = conditions.find((c) => c.type === 'ReplicaFailure');
  if (manageError && !failure) {
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    conditions.push({ type: 'ReplicaFailure', status: 'True', lastTransitionTime: timestamp(now), reason, message: manageError.message });
  } else if (!manageError && failure) {
    conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
  }
  const status: ReplicaSetStatus = { replicas: pods.length };
  if (fullyLabeled) status.fullyLabeledReplicas = fullyLabeled;
  if (ready) status.readyReplicas = ready;
  if (available) status.availableReplicas = available;
  status.observedGeneration = rs.metadata.generation;
  if (conditions.length) status.conditions = conditions;
  return status;
}

/** Whether two statuses say the same (the update is skipped when they do). */
export function sameStatus(a: ReplicaSetStatus | undefined, b: ReplicaSetStatus): boolean {
  return (
    (a?.replicas ?? 0) === b.replicas &&
    (a?.fullyLabeledReplicas ?? 0) === (b.fullyLabeledReplicas ?? 0) &&
    (a?.readyReplicas ?? 0) === (b.readyReplicas ?? 0) &&
    (a?.availableReplicas ?? 0) === (b.availableReplicas ?? 0) &&
    (a?.observedGeneration ?? 0) === (b.observedGeneration ?? 0) &&
    JSON.stringify(a?.conditions ?? []) === JSON.stringify(b.conditions ?? [])
  );
}

/**
 * GetPodFromTemplate: the pod a controller creates — the template's labels, annotations,
 * finalizers and spec, a `<owner>-` generateName (the server appends 5 random characters) and a
 * controller owner reference.
 */
export function podFromTemplate(owner: KubeObject, ownerApiVersion: string, ownerKind: string): KubeObject {
  const template = owner.spec?.template ?? {};
  const meta = template.metadata ?? {};
  const metadata: KubeObject['metadata'] = {
    generateName: `${owner.metadata.name}-`,
    namespace: owner.metadata.namespace,
    ownerReferences: [newControllerRef(owner, ownerApiVersion, ownerKind)],
  };
  if (meta.labels) metadata.labels = { ...meta.labels };
  if (meta.annotations) metadata.annotations = { ...meta.annotations };
  if (meta.finalizers) metadata.finalizers = [...meta.finalizers];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: structuredClone(template.spec ?? {}) };
}

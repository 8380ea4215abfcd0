/**
 * Deployment arithmetic and bookkeeping as pure functions (kube's
 * pkg/controller/deployment/util/deployment_util.go and controller_utils.go): the
 * pod-template-hash, revision annotations, maxSurge/maxUnavailable fenceposts, the replica math of
 * rolling updates and proportional scaling, and status conditions.
 */
import { scaledValue } from '../../api/intstr.js';
import type { KubeObject } from '../../api/meta.js';
import { semanticEqual, timestamp } from '../controller.js';

// biome-ignore lint/suspicious/noExplicitAny: Deployments and ReplicaSets travel as plain JSON
export type Obj = KubeObject & { spec?: any; status?: any };

export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
/** The pre-apps/v1 rollback request annotation; never copied to ReplicaSets. */
export const DEPRECATED_ROLLBACK_TO = 'deprecated.deployment.rollback.to';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** Longest revision-history annotation kept, in characters. */
export const MAX_REV_HISTORY_CHARS = 2000;

// Condition reasons, as upstream spells them.
export const Reason = {
  NewReplicaSetCreated: 'NewReplicaSetCreated',
  FoundNewReplicaSet: 'FoundNewReplicaSet',
  NewReplicaSetAvailable: 'NewReplicaSetAvailable',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  ReplicaSetCreateError: 'ReplicaSetCreateError',
  DeploymentPaused: 'DeploymentPaused',
  DeploymentResumed: 'DeploymentResumed',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

// ---------------------------------------------------------------------------------------------
// Hash

/** rand.SafeEncodeString's alphabet: no vowels (no words) and no confusable 0/1/3. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** SafeEncodeString: each character maps to SAFE_ALPHABET[code % 27]. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** FNV-1a, 32 bits. */
export function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** JSON with object keys sorted, so equal templates render (and hash) the same. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJSON((v as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * controller.ComputeHash: FNV-32a of the pod template, then of the collision count as 8
 * little-endian bytes when set, printed in decimal and safe-encoded (e.g. `6d4c4cc4b8`). Upstream
 * hashes Go's spew dump of the struct; we hash canonical JSON, so values differ from a real
 * cluster's but are stable, have the same alphabet and length, and change exactly when the
 * template does.
 */
export function computeHash(template: unknown, collisionCount?: number): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJSON(template ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(bytes, h);
  }
  return safeEncodeString(String(h));
}

/** EqualIgnoreHash: templates equal apart from the pod-template-hash label. */
export function equalIgnoreHash(a: unknown, b: unknown): boolean {
  const strip = (t: unknown) => {
    const c = structuredClone((t ?? {}) as Obj['spec']);
    if (c.metadata?.labels) delete c.metadata.labels[POD_TEMPLATE_HASH];
    return c;
  };
  return semanticEqual(strip(a), strip(b));
}

// ---------------------------------------------------------------------------------------------
// ReplicaSet lists

export const replicasOf = (rs: Obj | undefined): number => rs?.spec?.replicas ?? 0;

/** ReplicaSetsByCreationTimestamp: oldest first, name breaks ties. */
export function byCreation(a: Obj, b: Obj): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return Date.parse(ta) - Date.parse(tb);
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

/** The revision annotation as a number (0 when absent or malformed). */
export function revisionOf(rs: Obj): number {
  const v = Number(rs.metadata.annotations?.[REVISION]);
  return Number.isInteger(v) ? v : 0;
}

export function maxRevision(rss: Obj[]): number {
  return Math.max(0, ...rss.map(revisionOf));
}

/** ReplicaSetsByRevision: lowest revision first, then oldest. */
export function byRevision(a: Obj, b: Obj): number {
  const d = revisionOf(a) - revisionOf(b);
  return d !== 0 ? d : byCreation(a, b);
}

/** FindNewReplicaSet: the oldest ReplicaSet whose template equals the Deployment's. */
export function findNewReplicaSet(d: Obj, rss: Obj[]): Obj | undefined {
  return [...rss].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

export const activeReplicaSets = (rss: (Obj | undefined)[]): Obj[] => rss.filter((rs): rs is Obj => !!rs && replicasOf(rs) > 0);
export const specReplicaCount = (rss: (Obj | undefined)[]): number => rss.reduce((n, rs) => n + replicasOf(rs), 0);
export const actualReplicaCount = (rss: (Obj | undefined)[]): number => rss.reduce((n, rs) => n + (rs?.status?.replicas ?? 0), 0);
export const readyReplicaCount = (rss: (Obj | undefined)[]): number => rss.reduce((n, rs) => n + (rs?.status?.readyReplicas ?? 0), 0);
export const availableReplicaCount = (rss: (Obj | undefined)[]): number =>
  rss.reduce((n, rs) => n + (rs?.status?.availableReplicas ?? 0), 0);

// ---------------------------------------------------------------------------------------------
// Surge and unavailability

export const desiredReplicas = (d: Obj): number => d.spec?.replicas ?? 1;
export const isRollingUpdate = (d: Obj): boolean => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** ResolveFenceposts: surge rounds up, unavailable rounds down, and both 0 would deadlock so unavailable becomes 1. */
export function resolveFenceposts(
  maxSurge: number | string | undefined,
  maxUnavailable: number | string | undefined,
  desired: number,
): [number, number] {
  const surge = scaledValue(maxSurge ?? '25%', desired, true);
  let unavailable = scaledValue(maxUnavailable ?? '25%', desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

export function maxSurge(d: Obj): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return resolveFenceposts(ru.maxSurge, ru.maxUnavailable, desiredReplicas(d))[0];
}

export function maxUnavailable(d: Obj): number {
  const desired = desiredReplicas(d);
  if (!isRollingUpdate(d) || desired === 0) return 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return Math.min(resolveFenceposts(ru.maxSurge, ru.maxUnavailable, desired)[1], desired);
}

/** NewRSNewReplicas: how far the new ReplicaSet may grow now without breaking maxSurge. */
export function newRSNewReplicas(d: Obj, allRSs: (Obj | undefined)[], newRS: Obj): number {
  if (!isRollingUpdate(d)) return desiredReplicas(d);
  const current = specReplicaCount(allRSs);
  const maxTotal = desiredReplicas(d) + maxSurge(d);
  if (current >= maxTotal) return replicasOf(newRS);
  const up = Math.min(maxTotal - current, desiredReplicas(d) - replicasOf(newRS));
  return replicasOf(newRS) + up;
}

/**
 * How many old pods a rolling update may take down now (reconcileOldReplicaSets): never below
 * desired − maxUnavailable, counting the new ReplicaSet's not-yet-available pods as unavailable.
 */
export function oldReplicasScaleDownBudget(d: Obj, allRSs: Obj[], newRS: Obj): number {
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
  return specReplicaCount(allRSs) - minAvailable - newUnavailable;
}

/**
 * cleanupUnhealthyReplicas: scale down old ReplicaSets' unavailable pods first (oldest set
 * first), at most `budget` in total. Returns the new replica count per ReplicaSet name.
 */
export function unhealthyScaleDown(oldRSs: Obj[], budget: number): Map<string, number> {
  const out = new Map<string, number>();
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= budget) break;
    const replicas = replicasOf(rs);
    const available = rs.status?.availableReplicas ?? 0;
    if (replicas === 0 || replicas === available) continue;
    const down = Math.min(budget - total, replicas - available);
    out.set(rs.metadata.name ?? '', replicas - down);
    total += down;
  }
  return out;
}

/**
 * scaleDownOldReplicaSetsForRollingUpdate: with available pods above desired − maxUnavailable,
 * take the surplus from the oldest ReplicaSets. Returns the new replica count per name.
 */
export function availableScaleDown(d: Obj, allRSs: Obj[], oldRSs: Obj[]): Map<string, number> {
  const out = new Map<string, number>();
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const available = availableReplicaCount(allRSs);
  if (available <= minAvailable) return out;
  const want = available - minAvailable;
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= want) break;
    const replicas = replicasOf(rs);
    if (replicas === 0) continue;
    const down = Math.min(replicas, want - total);
    out.set(rs.metadata.name ?? '', replicas - down);
    total += down;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Proportional scaling (a `kubectl scale` in the middle of a rollout)

function annotationInt(rs: Obj, key: string): number | undefined {
  const v = rs.metadata.annotations?.[key];
  if (v === undefined || !/^-?[0-9]+$/.test(v)) return undefined;
  return Number(v);
}

/** Go's math.Round: halves away from zero. */
const roundHalfAway = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

function replicaSetFraction(rs: Obj, d: Obj): number {
  if (desiredReplicas(d) === 0) return -replicasOf(rs);
  const deploymentReplicas = desiredReplicas(d) + maxSurge(d);
  const annotated = annotationInt(rs, MAX_REPLICAS) ?? d.status?.replicas ?? 0;
  return roundHalfAway((replicasOf(rs) * deploymentReplicas) / annotated) - replicasOf(rs);
}

function proportion(rs: Obj, d: Obj, toAdd: number, added: number): number {
  if (replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/**
 * The scale-up/down of a rolling Deployment whose size changed while several ReplicaSets are
 * active: each grows or shrinks in proportion to its size, leftovers go to the largest one.
 * Returns the new size per ReplicaSet name (every active set listed).
 */
export function proportionalSizes(d: Obj, activeRSs: Obj[]): Map<string, number> {
  const allowed = desiredReplicas(d) > 0 ? desiredReplicas(d) + maxSurge(d) : 0;
  const toAdd = allowed - specReplicaCount(activeRSs);
  const sorted = [...activeRSs];
  // ReplicaSetsBySizeNewer for growth, BySizeOlder for shrinking: larger first, then by age.
  if (toAdd !== 0)
    sorted.sort((a, b) => {
      if (replicasOf(a) !== replicasOf(b)) return replicasOf(b) - replicasOf(a);
      return toAdd > 0 ? byCreation(b, a) : byCreation(a, b);
    });
  const sizes = new Map<string, number>();
  let added = 0;
  for (const rs of sorted) {
    const p = toAdd !== 0 ? proportion(rs, d, toAdd, added) : 0;
    sizes.set(rs.metadata.name ?? '', replicasOf(rs) + p);
    added += p;
  }
  if (toAdd !== 0 && sorted.length) {
    const first = sorted[0].metadata.name ?? '';
    sizes.set(first, Math.max(0, (sizes.get(first) ?? 0) + toAdd - added));
  }
  return sizes;
}

/** FindActiveOrLatest: the one ReplicaSet to scale when at most one is active. */
export function activeOrLatest(newRS: Obj | undefined, oldRSs: Obj[]): Obj | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const olds = [...oldRSs].sort(byCreation).reverse();
  const active = activeReplicaSets([...olds, newRS]);
  if (active.length === 0) return newRS ?? olds[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** IsSaturated: the new ReplicaSet runs the full desired count, all available. */
export function isSaturated(d: Obj, rs: Obj | undefined): boolean {
  if (!rs) return false;
  const desired = annotationInt(rs, DESIRED_REPLICAS);
  return (
    replicasOf(rs) === desiredReplicas(d) && desired === desiredReplicas(d) && (rs.status?.availableReplicas ?? 0) === desiredReplicas(d)
  );
}

/** The desired-replicas annotation differs from the Deployment's size on some active set: a scaling event. */
export function isScalingEvent(d: Obj, rss: (Obj | undefined)[]): boolean {
  return activeReplicaSets(rss).some((rs) => {
    const desired = annotationInt(rs, DESIRED_REPLICAS);
    return desired !== undefined && desired !== desiredReplicas(d);
  });
}

// ---------------------------------------------------------------------------------------------
// Annotations

/** Sets desired-replicas/max-replicas; true when they changed. */
export function setReplicasAnnotations(rs: Obj, desired: number, max: number): boolean {
  rs.metadata.annotations ??= {};
  const a = rs.metadata.annotations;
  let changed = false;
  if (a[DESIRED_REPLICAS] !== String(desired)) {
    a[DESIRED_REPLICAS] = String(desired);
    changed = true;
  }
  if (a[MAX_REPLICAS] !== String(max)) {
    a[MAX_REPLICAS] = String(max);
    changed = true;
  }
  return changed;
}

export function replicasAnnotationsNeedUpdate(rs: Obj, desired: number, max: number): boolean {
  const a = rs.metadata.annotations ?? {};
  return a[DESIRED_REPLICAS] !== String(desired) || a[MAX_REPLICAS] !== String(max);
}

const skippedAnnotations = new Set([LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, DEPRECATED_ROLLBACK_TO]);

/**
 * SetNewReplicaSetAnnotations: copies the Deployment's annotations (e.g. kubernetes.io/change-cause,
 * which `rollout history` prints), raises the revision, and — when an old ReplicaSet is brought
 * back by a rollback — remembers its previous revisions in revision-history. Mutates `rs`.
 */
export function setNewReplicaSetAnnotations(d: Obj, rs: Obj, newRevision: number, exists: boolean): boolean {
  rs.metadata.annotations ??= {};
  const a = rs.metadata.annotations;
  let changed = false;
  for (const [k, v] of Object.entries((d.metadata.annotations ?? {}) as Record<string, string>)) {
    if (skippedAnnotations.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  const oldRevision = a[REVISION];
  let oldRevisionInt = 0;
  if (oldRevision !== undefined) {
    if (!/^[0-9]+$/.test(oldRevision)) return changed;
    oldRevisionInt = Number(oldRevision);
  }
  if (oldRevisionInt < newRevision) {
    a[REVISION] = String(newRevision);
    changed = true;
    if (oldRevision !== undefined) {
      const history = a[REVISION_HISTORY] ?? '';
      const revisions = history ? history.split(',') : [];
      revisions.push(oldRevision);
      while (revisions.join(',').length > MAX_REV_HISTORY_CHARS && revisions.length > 1) revisions.shift();
      a[REVISION_HISTORY] = revisions.join(',');
    }
  }
  if (!exists && setReplicasAnnotations(rs, desiredReplicas(d), desiredReplicas(d) + maxSurge(d))) changed = true;
  return changed;
}

// ---------------------------------------------------------------------------------------------
// Status and conditions

export interface DeploymentCondition {
  type: string;
  status: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export function newCondition(type: string, status: string, reason: string, message: string, now = Date.now()): DeploymentCondition {
  const t = timestamp(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function getCondition(status: { conditions?: DeploymentCondition[] } | undefined, type: string): DeploymentCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * SetDeploymentCondition: same status and reason → keep the old one; same status → keep its
 * lastTransitionTime. The changed condition moves to the end, which is why `kubectl describe`
 * lists Available before Progressing on a finished rollout.
 */
export function setCondition(status: { conditions?: DeploymentCondition[] }, cond: DeploymentCondition): void {
  const current = getCondition(status, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  const next = { ...cond };
  if (current && current.status === cond.status) next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), next];
}

export function removeCondition(status: { conditions?: DeploymentCondition[] }, type: string): void {
  if (status.conditions) status.conditions = status.conditions.filter((c) => c.type !== type);
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  collisionCount?: number;
  conditions?: DeploymentCondition[];
}

/** calculateStatus: counts from the ReplicaSets and the Available condition. */
export function calculateStatus(d: Obj, allRSs: Obj[], newRS: Obj | undefined, now = Date.now()): DeploymentStatus {
  const available = availableReplicaCount(allRSs);
  const unavailable = Math.max(0, specReplicaCount(allRSs) - available);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas: actualReplicaCount(allRSs),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(allRSs),
    availableReplicas: available,
    unavailableReplicas: unavailable,
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  status.conditions = [...(d.status?.conditions ?? [])].map((c) => ({ ...c }));
  if (available >= desiredReplicas(d) - maxUnavailable(d)) {
    setCondition(status, newCondition('Available', 'True', Reason.MinimumReplicasAvailable, 'Deployment has minimum availability.', now));
  } else {
    setCondition(
      status,
      newCondition('Available', 'False', Reason.MinimumReplicasUnavailable, 'Deployment does not have minimum availability.', now),
    );
  }
  return status;
}

/** The status with zero counts dropped, as Go's omitempty serialises it (so comparisons match the stored form). */
export function compactStatus(s: DeploymentStatus): DeploymentStatus {
  return Object.fromEntries(
    Object.entries(s).filter(([, v]) => v !== 0 && v !== undefined && !(Array.isArray(v) && v.length === 0)),
  ) as DeploymentStatus;
}

export function hasProgressDeadline(d: Obj): boolean {
  const p = d.spec?.progressDeadlineSeconds;
  return p !== undefined && p !== null && p !== 2147483647;
}

/** DeploymentComplete: every desired pod updated and available, and the latest spec observed. */
export function deploymentComplete(d: Obj, s: DeploymentStatus): boolean {
  const n = desiredReplicas(d);
  return (
    (s.updatedReplicas ?? 0) === n &&
    (s.replicas ?? 0) === n &&
    (s.availableReplicas ?? 0) === n &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** DeploymentProgressing: more updated, fewer old, more ready or more available pods than last time. */
export function deploymentProgressing(d: Obj, s: DeploymentStatus): boolean {
  const old = (d.status ?? {}) as DeploymentStatus;
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** DeploymentTimedOut: the Progressing condition was last updated more than progressDeadlineSeconds ago. */
export function deploymentTimedOut(d: Obj, s: DeploymentStatus, now = Date.now()): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s, 'Progressing');
  if (!c) return false;
  if (c.reason === Reason.NewReplicaSetAvailable) return false;
  if (c.reason === Reason.ProgressDeadlineExceeded) return true;
  return Date.parse(c.lastUpdateTime ?? '') + d.spec.progressDeadlineSeconds * 1000 < now;
}

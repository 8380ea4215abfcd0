/**
 * Deployment controller (kube's pkg/controller/deployment): owns ReplicaSets named
 * `<deployment>-<pod-template-hash>`, moves pods from old to new ones with RollingUpdate
 * (maxSurge/maxUnavailable) or Recreate, scales proportionally, keeps revision annotations and
 * revisionHistoryLimit old ReplicaSets, and reports status and the Available/Progressing
 * conditions `kubectl rollout status` reads. Rollback is a template change (kubectl rollout undo
 * copies an old ReplicaSet's template), so it needs nothing special here.
 */
import { matches } from '../../api/labels.js';
import { objectKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import {
  claimDependents,
  controllerRefOf,
  ignoreNotFound,
  isStatus,
  newControllerRef,
  onEveryChange,
  type PodLike,
  type RunningController,
  resolveControllerRef,
  runController,
  SharedInformers,
  selectorOf,
} from '../controller.js';
import { EventRecorder } from '../events.js';
import {
  activeOrLatest,
  activeReplicaSets,
  actualReplicaCount,
  availableScaleDown,
  byCreation,
  byRevision,
  calculateStatus,
  compactStatus,
  computeHash,
  type DeploymentStatus,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  desiredReplicas,
  findNewReplicaSet,
  getCondition,
  hasProgressDeadline,
  isRollingUpdate,
  isSaturated,
  isScalingEvent,
  maxRevision,
  maxSurge,
  newCondition,
  newRSNewReplicas,
  type Obj,
  oldReplicasScaleDownBudget,
  POD_TEMPLATE_HASH,
  proportionalSizes,
  REVISION,
  Reason,
  removeCondition,
  replicasAnnotationsNeedUpdate,
  replicasOf,
  setCondition,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  specReplicaCount,
  unhealthyScaleDown,
} from './util.js';

const KIND = 'Deployment';
const API_VERSION = 'apps/v1';
const OWNER_KIND = { gvr: R.deployments, apiVersion: API_VERSION, kind: KIND };

export interface DeploymentControllerOptions {
  informers?: SharedInformers;
  recorder?: EventRecorder;
  workers?: number;
  clock?: () => number;
  onError?: (key: string, err: unknown) => void;
}

const withKind = (d: Obj): Obj => ({ ...d, apiVersion: API_VERSION, kind: KIND });
const rsWithKind = (rs: Obj): Obj => ({ ...rs, apiVersion: API_VERSION, kind: 'ReplicaSet' });

export function startDeploymentController(client: Client, opts: DeploymentControllerOptions = {}): RunningController {
  const informers = opts.informers ?? new SharedInformers(client);
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'deployment-controller' });
  const clock = opts.clock ?? Date.now;
  const deployments = informers.for<Obj>(R.deployments);
  const replicaSets = informers.for<Obj>(R.replicasets);
  const pods = informers.for<PodLike>(R.pods);
  const queue = new WorkQueue();

  const enqueue = (d: Obj) => queue.add(objectKey(d));
  const ownerOf = (rs: Obj) => resolveControllerRef(rs, KIND, deployments);
  const deploymentsMatching = (rs: Obj) =>
    deployments.list(rs.metadata.namespace).filter((d) => matches(selectorOf(d), rs.metadata.labels));
  const rsChanged = (rs: Obj) => {
    const owner = ownerOf(rs);
    if (owner) return enqueue(owner);
    if (!controllerRefOf(rs)) for (const d of deploymentsMatching(rs)) enqueue(d);
  };

  deployments.addHandlers(onEveryChange(enqueue));
  replicaSets.addHandlers({
    add: rsChanged,
    update: (old, cur) => {
      if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
      if (controllerRefOf(old)?.uid !== controllerRefOf(cur)?.uid) rsChanged(old);
      rsChanged(cur);
    },
    delete: rsChanged,
  });
  // Recreate waits for old pods to be gone: a pod deletion may unblock it.
  pods.addHandlers({
    delete: (pod) => {
      const ref = controllerRefOf(pod);
      if (ref?.kind !== 'ReplicaSet') return;
      const rs = replicaSets.get(`${pod.metadata.namespace}/${ref.name}`);
      const d = rs && ownerOf(rs);
      if (d && d.spec?.strategy?.type === 'Recreate') enqueue(d);
    },
  });

  // ---------------------------------------------------------------------------------------------
  // Ownership

  /** ClaimReplicaSets: adopt matching orphans, release owned sets that stopped matching. */
  const claimReplicaSets = (d: Obj) =>
    claimDependents(client, d, OWNER_KIND, R.replicasets, selectorOf(d), replicaSets.list(d.metadata.namespace));

  // ---------------------------------------------------------------------------------------------
  // Writes

  async function updateStatus(d: Obj, status: DeploymentStatus): Promise<Obj> {
    const updated = await client.update<Obj>(
      R.deployments,
      { ...withKind(d), status: compactStatus(status) },
      { namespace: d.metadata.namespace, subresource: 'status' },
    );
    return updated;
  }

  /** scaleReplicaSet: size and replica annotations in one update; a ScalingReplicaSet event when the size moved. */
  async function scaleReplicaSet(rs: Obj, newScale: number, d: Obj, operation?: 'up' | 'down'): Promise<{ scaled: boolean; rs: Obj }> {
    const sizeChanges = replicasOf(rs) !== newScale;
    const desired = desiredReplicas(d);
    const max = desired + maxSurge(d);
    if (!sizeChanges && !replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
    const oldScale = replicasOf(rs);
    const copy = structuredClone(rs);
    copy.spec.replicas = newScale;
    setReplicasAnnotations(copy, desired, max);
    const updated = await client.update<Obj>(R.replicasets, rsWithKind(copy), { namespace: rs.metadata.namespace });
    if (sizeChanges) {
      const op = operation ?? (oldScale < newScale ? 'up' : 'down');
      recorder.event(
        withKind(d),
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${op} replica set ${rs.metadata.name} from ${oldScale} to ${newScale}`,
      );
    }
    return { scaled: sizeChanges, rs: updated };
  }

  async function scaleAndRecord(rs: Obj, newScale: number, d: Obj): Promise<{ scaled: boolean; rs: Obj }> {
    if (replicasOf(rs) === newScale) return { scaled: false, rs };
    return scaleReplicaSet(rs, newScale, d, replicasOf(rs) < newScale ? 'up' : 'down');
  }

  /**
   * getNewReplicaSet: the ReplicaSet for the current template, brought up to the latest revision,
   * or created (named `<deployment>-<hash>`) when `create` and none exists.
   */
  async function getNewReplicaSet(d: Obj, rsList: Obj[], oldRSs: Obj[], create: boolean): Promise<Obj | undefined> {
    const existing = findNewReplicaSet(d, rsList);
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing) {
      const copy = structuredClone(existing);
      const annotationsChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const minReadyChanged = (copy.spec.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      if (annotationsChanged || minReadyChanged) {
        copy.spec.minReadySeconds = d.spec?.minReadySeconds ?? 0;
        return client.update<Obj>(R.replicasets, rsWithKind(copy), { namespace: copy.metadata.namespace });
      }
      let needsUpdate = setDeploymentRevision(d, copy.metadata.annotations?.[REVISION]);
      if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
        d.status ??= {};
        setCondition(
          d.status,
          newCondition('Progressing', 'True', Reason.FoundNewReplicaSet, `Found new replica set "${copy.metadata.name}"`, clock()),
        );
        needsUpdate = true;
      }
      if (needsUpdate) await persistDeploymentRevisionAndStatus(d);
      return copy;
    }
    if (!create) return undefined;

    const template = structuredClone(d.spec.template ?? {});
    const hash = computeHash(template, d.status?.collisionCount);
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const selector = structuredClone(d.spec.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const newRS: Obj = {
      apiVersion: API_VERSION,
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        ownerReferences: [newControllerRef(d, API_VERSION, KIND)],
        labels: template.metadata.labels,
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    const count = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    newRS.spec.replicas = count;
    setNewReplicaSetAnnotations(d, newRS, newRevision, false);
    let created: Obj;
    let alreadyExisted = false;
    try {
      created = await client.create<Obj>(R.replicasets, newRS, { namespace: d.metadata.namespace });
    } catch (e) {
      if (isStatus(e, 409)) {
        alreadyExisted = true;
        const found = await client.get<Obj>(R.replicasets, newRS.metadata.name ?? '', d.metadata.namespace);
        if (controllerRefOf(found)?.uid === d.metadata.uid && findNewReplicaSet(d, [found])) {
          created = found;
        } else {
          // A hash collision: another template owns the name. Bump collisionCount and try again.
          d.status ??= {};
          d.status.collisionCount = (d.status.collisionCount ?? 0) + 1;
          await updateStatus(d, d.status);
          throw e;
        }
      } else {
        const msg = `Failed to create new replica set "${newRS.metadata.name}": ${(e as Error).message}`;
        if (hasProgressDeadline(d)) {
          d.status ??= {};
          setCondition(d.status, newCondition('Progressing', 'False', Reason.ReplicaSetCreateError, msg, clock()));
          await updateStatus(d, d.status).catch(() => {});
        }
        recorder.event(withKind(d), 'Warning', Reason.ReplicaSetCreateError, msg);
        throw e;
      }
    }
    if (!alreadyExisted && count > 0) {
      recorder.event(withKind(d), 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${count}`);
    }
    let needsUpdate = setDeploymentRevision(d, String(newRevision));
    if (!alreadyExisted && hasProgressDeadline(d)) {
      d.status ??= {};
      setCondition(
        d.status,
        newCondition('Progressing', 'True', Reason.NewReplicaSetCreated, `Created new replica set "${created.metadata.name}"`, clock()),
      );
      needsUpdate = true;
    }
    if (needsUpdate) await persistDeploymentRevisionAndStatus(d);
    return created;
  }

  /** Kube's controller writes the revision annotation with the status update; here the object and its status are two writes. */
  async function persistDeploymentRevisionAndStatus(d: Obj): Promise<void> {
    const stored = deployments.get(objectKey(d));
    if (stored?.metadata.annotations?.[REVISION] !== d.metadata.annotations?.[REVISION]) {
      const updated = await client.patch<Obj>(
        R.deployments,
        d.metadata.name ?? '',
        'merge',
        { metadata: { annotations: { [REVISION]: d.metadata.annotations?.[REVISION] } } },
        { namespace: d.metadata.namespace },
      );
      d.metadata.resourceVersion = updated.metadata.resourceVersion;
    }
    if (
      JSON.stringify(stored?.status?.conditions ?? []) !== JSON.stringify(d.status?.conditions ?? []) ||
      stored?.status?.collisionCount !== d.status?.collisionCount
    ) {
      const updated = await updateStatus(d, d.status ?? {});
      d.metadata.resourceVersion = updated.metadata.resourceVersion;
    }
  }

  function setDeploymentRevision(d: Obj, revision: string | undefined): boolean {
    if (revision === undefined) return false;
    d.metadata.annotations ??= {};
    if (d.metadata.annotations[REVISION] === revision) return false;
    d.metadata.annotations[REVISION] = revision;
    return true;
  }

  async function getAllReplicaSetsAndSyncRevision(d: Obj, rsList: Obj[], create: boolean): Promise<{ newRS?: Obj; oldRSs: Obj[] }> {
    const existingNew = findNewReplicaSet(d, rsList);
    const oldRSs = rsList.filter((rs) => rs.metadata.uid !== existingNew?.metadata.uid);
    const newRS = await getNewReplicaSet(d, rsList, oldRSs, create);
    return { newRS, oldRSs };
  }

  // ---------------------------------------------------------------------------------------------
  // Strategies

  /** scale: a size change with several active ReplicaSets is spread proportionally. */
  async function scale(d: Obj, newRS: Obj | undefined, oldRSs: Obj[]): Promise<void> {
    const one = activeOrLatest(newRS, oldRSs);
    if (one) {
      if (replicasOf(one) !== desiredReplicas(d)) await scaleAndRecord(one, desiredReplicas(d), d);
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of activeReplicaSets(oldRSs)) await scaleAndRecord(old, 0, d);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const active = activeReplicaSets([...oldRSs, newRS]);
    const sizes = proportionalSizes(d, active);
    const total = active.reduce((n, rs) => n + replicasOf(rs), 0);
    const allowed = desiredReplicas(d) > 0 ? desiredReplicas(d) + maxSurge(d) : 0;
    const op = allowed > total ? 'up' : allowed < total ? 'down' : undefined;
    for (const rs of active) await scaleReplicaSet(rs, sizes.get(rs.metadata.name ?? '') ?? replicasOf(rs), d, op);
  }

  async function cleanupDeployment(oldRSs: Obj[], d: Obj): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit;
    if (limit === undefined || limit === null) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort(byRevision);
    for (const rs of cleanable.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0))
        continue;
      await ignoreNotFound(client.delete(R.replicasets, rs.metadata.name ?? '', { namespace: rs.metadata.namespace }));
    }
  }

  async function rolloutRolling(d: Obj, rsList: Obj[]): Promise<void> {
    const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(d, rsList, true);
    if (!newRS) return;
    let allRSs = [...oldRSs, newRS];
    // Scale up the new ReplicaSet as far as maxSurge allows.
    if (replicasOf(newRS) !== desiredReplicas(d)) {
      const target = replicasOf(newRS) > desiredReplicas(d) ? desiredReplicas(d) : newRSNewReplicas(d, allRSs, newRS);
      const { scaled } = await scaleAndRecord(newRS, target, d);
      if (scaled) return syncRolloutStatus(d, allRSs, newRS);
    }
    // Scale down old ReplicaSets as far as maxUnavailable allows.
    const activeOld = activeReplicaSets(oldRSs);
    if (specReplicaCount(oldRSs) > 0) {
      const budget = oldReplicasScaleDownBudget(d, allRSs, newRS);
      if (budget > 0) {
        let scaledDown = 0;
        const unhealthy = unhealthyScaleDown(activeOld, budget);
        const current = new Map(oldRSs.map((rs) => [rs.metadata.name, rs] as const));
        for (const [rsName, size] of unhealthy) {
          const rs = current.get(rsName) as Obj;
          const result = await scaleAndRecord(rs, size, d);
          scaledDown += replicasOf(rs) - size;
          current.set(rsName, result.rs);
        }
        const olds = activeReplicaSets([...current.values()]);
        allRSs = [...current.values(), newRS];
        for (const [rsName, size] of availableScaleDown(d, allRSs, olds)) {
          const rs = current.get(rsName) as Obj;
          await scaleAndRecord(rs, size, d);
          scaledDown += replicasOf(rs) - size;
        }
        if (scaledDown > 0) return syncRolloutStatus(d, [...oldRSs, newRS], newRS);
      }
    }
    if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(oldRSs, d);
    return syncRolloutStatus(d, [...oldRSs, newRS], newRS);
  }

  async function rolloutRecreate(d: Obj, rsList: Obj[]): Promise<void> {
    let { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(d, rsList, false);
    let scaledDown = false;
    for (const rs of activeReplicaSets(oldRSs)) {
      const r = await scaleAndRecord(rs, 0, d);
      scaledDown ||= r.scaled;
    }
    if (scaledDown) return syncRolloutStatus(d, [...oldRSs, newRS].filter(Boolean) as Obj[], newRS);
    if (oldPodsRunning(newRS, oldRSs)) return syncRolloutStatus(d, [...oldRSs, newRS].filter(Boolean) as Obj[], newRS);
    if (!newRS) ({ newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(d, rsList, true));
    if (newRS) await scaleAndRecord(newRS, desiredReplicas(d), d);
    if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(oldRSs, d);
    return syncRolloutStatus(d, [...oldRSs, newRS].filter(Boolean) as Obj[], newRS);
  }

  /** oldPodsRunning: any pod of an old ReplicaSet that has not finished. */
  function oldPodsRunning(newRS: Obj | undefined, oldRSs: Obj[]): boolean {
    if (actualReplicaCount(oldRSs) > 0) return true;
    const oldUIDs = new Set(oldRSs.map((rs) => rs.metadata.uid));
    return pods.list(oldRSs[0]?.metadata.namespace).some((p) => {
      const ref = controllerRefOf(p);
      if (!ref || !oldUIDs.has(ref.uid) || ref.uid === newRS?.metadata.uid) return false;
      return p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded';
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Status

  async function syncRolloutStatus(d: Obj, allRSs: Obj[], newRS: Obj | undefined): Promise<void> {
    const now = clock();
    const status = calculateStatus(d, allRSs, newRS, now);
    if (!hasProgressDeadline(d)) removeCondition(status, 'Progressing');
    const current = getCondition(d.status, 'Progressing');
    const complete = status.replicas === status.updatedReplicas && current?.reason === Reason.NewReplicaSetAvailable;
    if (hasProgressDeadline(d) && !complete) {
      const subject = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
      if (deploymentComplete(d, status)) {
        setCondition(
          status,
          newCondition('Progressing', 'True', Reason.NewReplicaSetAvailable, `${subject} has successfully progressed.`, now),
        );
      } else if (deploymentProgressing(d, status)) {
        const cond = newCondition('Progressing', 'True', Reason.ReplicaSetUpdated, `${subject} is progressing.`, now);
        if (current) {
          if (current.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
          removeCondition(status, 'Progressing');
        }
        setCondition(status, cond);
      } else if (deploymentTimedOut(d, status, now)) {
        setCondition(
          status,
          newCondition('Progressing', 'False', Reason.ProgressDeadlineExceeded, `${subject} has timed out progressing.`, now),
        );
      }
    }
    const failure = allRSs
      .map((rs) => (rs.status?.conditions ?? []).find((c: { type: string }) => c.type === 'ReplicaFailure'))
      .find(Boolean);
    if (failure) setCondition(status, { ...failure, lastUpdateTime: failure.lastTransitionTime });
    else removeCondition(status, 'ReplicaFailure');
    if (sameStatus(d.status, status)) {
      requeueStuck(d, status, now);
      return;
    }
    await updateStatus(d, status);
  }

  /** requeueStuckDeployment: look again when a progressing rollout would hit its deadline. */
  function requeueStuck(d: Obj, status: DeploymentStatus, now: number): void {
    const cond = getCondition(status, 'Progressing');
    if (
      !hasProgressDeadline(d) ||
      !cond ||
      cond.reason === Reason.NewReplicaSetAvailable ||
      cond.reason === Reason.ProgressDeadlineExceeded
    )
      return;
    if (deploymentComplete(d, status)) return;
    const after = Date.parse(cond.lastUpdateTime ?? '') + d.spec.progressDeadlineSeconds * 1000 - now;
    queue.addAfter(objectKey(d), Math.max(after, 0) + 1000);
  }

  function sameStatus(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
    return JSON.stringify(compactStatus(a ?? {})) === JSON.stringify(compactStatus(b));
  }

  async function syncStatusOnly(d: Obj, rsList: Obj[]): Promise<void> {
    const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(d, rsList, false);
    const all = [...oldRSs, newRS].filter(Boolean) as Obj[];
    const status = calculateStatus(d, all, newRS, clock());
    if (!sameStatus(d.status, status)) await updateStatus(d, status);
  }

  async function checkPausedConditions(d: Obj): Promise<void> {
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, 'Progressing');
    if (cond?.reason === Reason.ProgressDeadlineExceeded) return;
    const pausedExists = cond?.reason === Reason.DeploymentPaused;
    d.status ??= {};
    if (d.spec?.paused && !pausedExists) {
      setCondition(d.status, newCondition('Progressing', 'Unknown', Reason.DeploymentPaused, 'Deployment is paused', clock()));
    } else if (!d.spec?.paused && pausedExists) {
      setCondition(d.status, newCondition('Progressing', 'Unknown', Reason.DeploymentResumed, 'Deployment is resumed', clock()));
    } else return;
    const updated = await updateStatus(d, d.status);
    d.metadata.resourceVersion = updated.metadata.resourceVersion;
  }

  /** sync: scaling and paused deployments — resize, clean up history, report status. */
  async function syncScaleOnly(d: Obj, rsList: Obj[]): Promise<void> {
    const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(d, rsList, false);
    await scale(d, newRS, oldRSs);
    if (d.spec?.paused) await cleanupDeployment(oldRSs, d);
    // Status from the sets as they are now (scale wrote new sizes).
    const fresh = (rs: Obj | undefined) => (rs ? (replicaSets.get(objectKey(rs)) ?? rs) : undefined);
    const all = [...oldRSs.map(fresh), fresh(newRS)].filter(Boolean) as Obj[];
    const status = calculateStatus(d, all, fresh(newRS), clock());
    if (!sameStatus(d.status, status)) await updateStatus(d, status);
  }

  async function sync(key: string): Promise<void> {
    const cached = deployments.get(key);
    if (!cached) return;
    const d = structuredClone(cached);
    const sel = d.spec?.selector ?? {};
    if (Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0) {
      recorder.event(withKind(d), 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0))
        await updateStatus(d, { ...(d.status ?? {}), observedGeneration: d.metadata.generation });
      return;
    }
    const rsList = (await claimReplicaSets(d)).sort(byCreation);
    if (d.metadata.deletionTimestamp) return syncStatusOnly(d, rsList);
    await checkPausedConditions(d);
    if (d.spec?.paused) return syncScaleOnly(d, rsList);
    const existingNew = findNewReplicaSet(d, rsList);
    if (isScalingEvent(d, [existingNew, ...rsList.filter((rs) => rs !== existingNew)])) return syncScaleOnly(d, rsList);
    if (d.spec?.strategy?.type === 'Recreate') return rolloutRecreate(d, rsList);
    return rolloutRolling(d, rsList);
  }

  return runController({
    name: 'deployment-controller',
    queue,
    workers: opts.workers ?? 5,
    async sync(key) {
      try {
        await sync(key);
      } catch (e) {
        // A conflict means our cache was stale: the informer will bring the newer object.
        if (isStatus(e, 409)) return queue.addAfter(key, 10);
        throw e;
      }
    },
    waitFor: [deployments.synced, replicaSets.synced, pods.synced],
    onError: opts.onError,
    ownInformers: opts.informers ? undefined : informers,
  });
}

/**
 * ReplicaSet controller (kube's pkg/controller/replicaset): keeps `spec.replicas` active pods
 * matching the selector. Informer handlers only enqueue ReplicaSet keys; `sync(key)` claims pods
 * (adopting matching orphans, releasing owned pods that stopped matching), creates or deletes the
 * difference, and writes status through the status subresource — and is safe to run again.
 */
import { matches } from '../../api/labels.js';
import { type KubeObject, objectKey, splitKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import {
  claimDependents,
  controllerRefOf,
  isNotFound,
  isPodActive,
  isPodReady,
  type PodLike,
  type RunningController,
  resolveControllerRef,
  runController,
  SharedInformers,
  selectorOf,
} from '../controller.js';
import { EventRecorder } from '../events.js';
import { podFromTemplate, podsToDelete, replicaSetStatus, sameStatus } from './decisions.js';
import { Expectations } from './expectations.js';

/** Most pods created or deleted in one sync (kube's BurstReplicas). */
export const BURST_REPLICAS = 500;
const KIND = 'ReplicaSet';
const API_VERSION = 'apps/v1';
const OWNER_KIND = { gvr: R.replicasets, apiVersion: API_VERSION, kind: KIND };

export interface ReplicaSetControllerOptions {
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
  recorder?: EventRecorder;
  workers?: number;
  burstReplicas?: number;
  clock?: () => number;
  onError?: (key: string, err: unknown) => void;
}

/** Batches of 1, 2, 4, … (slowStartBatch): a failing create stops the burst early instead of failing 500 times. */
async function slowStartBatch(count: number, fn: () => Promise<void>): Promise<{ done: number; error?: Error }> {
  let done = 0;
  for (let batch = 1; done < count; batch *= 2) {
    const n = Math.min(batch, count - done);
    const results = await Promise.allSettled(Array.from({ length: n }, fn));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    done += ok;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) return { done, error: failed.reason as Error };
  }
  return { done };
}

export function startReplicaSetController(client: Client, opts: ReplicaSetControllerOptions = {}): RunningController {
  const informers = opts.informers ?? new SharedInformers(client);
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'replicaset-controller' });
  const clock = opts.clock ?? Date.now;
  const burst = opts.burstReplicas ?? BURST_REPLICAS;
  const rsInformer = informers.for(R.replicasets);
  const podInformer = informers.for<PodLike>(R.pods);
  const queue = new WorkQueue();
  const expectations = new Expectations(clock);

  const enqueue = (rs: KubeObject) => queue.add(objectKey(rs));
  const ownerOf = (pod: KubeObject) => resolveControllerRef(pod, KIND, rsInformer);
  /** ReplicaSets whose selector matches an orphan pod: they may adopt it. */
  const matchingSets = (pod: KubeObject) =>
    rsInformer.list(pod.metadata.namespace).filter((rs) => matches(selectorOf(rs), pod.metadata.labels));

  const podDeleted = (pod: KubeObject) => {
    const rs = ownerOf(pod);
    if (!rs) return;
    expectations.deletionObserved(objectKey(rs), objectKey(pod));
    enqueue(rs);
  };

  podInformer.addHandlers({
    add(pod) {
      if (pod.metadata.deletionTimestamp) return podDeleted(pod);
      const rs = ownerOf(pod);
      if (rs) {
        expectations.creationObserved(objectKey(rs));
        return enqueue(rs);
      }
      if (!controllerRefOf(pod)) for (const m of matchingSets(pod)) enqueue(m);
    },
    update(old, cur) {
      if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
      const labelsChanged = JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(cur.metadata.labels ?? {});
      if (cur.metadata.deletionTimestamp) {
        podDeleted(cur);
        if (labelsChanged) podDeleted(old);
        return;
      }
      const oldRef = controllerRefOf(old);
      const curRef = controllerRefOf(cur);
      const refChanged = oldRef?.uid !== curRef?.uid;
      if (refChanged && oldRef) {
        const prev = ownerOf(old);
        if (prev) enqueue(prev);
      }
      if (curRef) {
        const rs = ownerOf(cur);
        if (!rs) return;
        enqueue(rs);
        // Availability changes minReadySeconds after readiness: look again then.
        const minReady = rs.spec?.minReadySeconds ?? 0;
        if (!isPodReady(old) && isPodReady(cur) && minReady > 0) queue.addAfter(objectKey(rs), minReady * 1000 + 100);
        return;
      }
      if (labelsChanged || refChanged) for (const m of matchingSets(cur)) enqueue(m);
    },
    delete: podDeleted,
  });
  rsInformer.addHandlers({
    add: enqueue,
    update: (old, cur) => {
      if (old.metadata.resourceVersion !== cur.metadata.resourceVersion) enqueue(cur);
    },
    delete: (rs) => {
      expectations.forget(objectKey(rs));
      enqueue(rs);
    },
  });

  async function manageReplicas(rs: KubeObject, pods: PodLike[]): Promise<void> {
    const key = objectKey(rs);
    const desired = rs.spec?.replicas ?? 1;
    const withKind = { ...rs, apiVersion: API_VERSION, kind: KIND };
    let diff = pods.length - desired;
    if (diff < 0) {
      diff = Math.min(-diff, burst);
      expectations.expectCreations(key, diff);
      const { done, error } = await slowStartBatch(diff, async () => {
        const pod = podFromTemplate(rs, API_VERSION, KIND);
        try {
          const created = await client.create(R.pods, pod, { namespace: rs.metadata.namespace });
          recorder.event(withKind, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
        } catch (e) {
          recorder.event(withKind, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
          throw e;
        }
      });
      // Creations never attempted (or failed) will never be observed.
      for (let i = done; i < diff; i++) expectations.creationObserved(key);
      if (error) throw error;
    } else if (diff > 0) {
      diff = Math.min(diff, burst);
      const victims = podsToDelete(pods, relatedPods(rs), diff, clock());
      expectations.expectDeletions(key, victims.map(objectKey));
      const errors: unknown[] = [];
      await Promise.all(
        victims.map(async (pod) => {
          try {
            await client.delete(R.pods, pod.metadata.name ?? '', { namespace: pod.metadata.namespace });
            recorder.event(withKind, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
          } catch (e) {
            expectations.deletionObserved(key, objectKey(pod));
            if (!isNotFound(e)) {
              recorder.event(withKind, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
              errors.push(e);
            }
          }
        }),
      );
      if (errors.length) throw errors[0];
    }
  }

  /** Pods of every ReplicaSet sharing this one's owner (a Deployment's), for the doubled-up rank. */
  function relatedPods(rs: KubeObject): PodLike[] {
    const owner = controllerRefOf(rs);
    const siblings = owner
      ? new Set(
          rsInformer
            .list(rs.metadata.namespace)
            .filter((o) => controllerRefOf(o)?.uid === owner.uid)
            .map((o) => o.metadata.uid),
        )
      : new Set([rs.metadata.uid]);
    return podInformer.list(rs.metadata.namespace).filter((p) => siblings.has(controllerRefOf(p)?.uid));
  }

  async function sync(key: string): Promise<void> {
    const rs = rsInformer.get(key);
    if (!rs) {
      expectations.forget(key);
      return;
    }
    const needsSync = expectations.satisfied(key);
    const active = podInformer.list(splitKey(key).namespace).filter(isPodActive);
    const pods = await claimDependents(client, rs, OWNER_KIND, R.pods, selectorOf(rs), active);
    let manageError: Error | undefined;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      try {
        await manageReplicas(rs, pods);
      } catch (e) {
        manageError = e as Error;
      }
    }
    const now = clock();
    const status = replicaSetStatus(rs, pods, manageError, now);
    if (!sameStatus(rs.status, status)) {
      try {
        await client.update(
          R.replicasets,
          { ...rs, apiVersion: API_VERSION, kind: KIND, status },
          { namespace: rs.metadata.namespace, subresource: 'status' },
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const desired = rs.spec?.replicas ?? 1;
    if (!manageError && minReady > 0 && (status.readyReplicas ?? 0) === desired && (status.availableReplicas ?? 0) !== desired) {
      queue.addAfter(key, minReady * 1000);
    }
    if (manageError) throw manageError;
  }

  return runController({
    name: 'replicaset-controller',
    queue,
    workers: opts.workers ?? 5,
    sync,
    waitFor: [rsInformer.synced, podInformer.synced],
    onError: opts.onError,
    ownInformers: opts.informers ? undefined : informers,
  });
}

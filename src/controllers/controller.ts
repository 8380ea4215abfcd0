/**
 * The small runtime the workload controllers share: pod readiness/availability helpers (kube's
 * pkg/api/v1/pod and pkg/controller/controller_utils.go), controller refs, semantic equality, and
 * the worker loop that drains a work queue into a level-driven `sync(key)`.
 */
import type { KubeObject, OwnerReference } from '../api/meta.js';
import { SharedInformerFactory } from '../client/informer.js';
import type { Client, GroupVersionResource } from '../client/types.js';
import { runWorkers, WorkQueue } from '../client/workqueue.js';

// biome-ignore lint/suspicious/noExplicitAny: pods travel as plain JSON; only a few fields are read here
export type PodLike = KubeObject & { spec?: any; status?: any };

/** The owner reference with `controller: true`, if any (metav1.GetControllerOf). */
export function controllerRefOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** The pod's Ready condition, if it has one. */
export function podReadyCondition(pod: PodLike): { status: string; lastTransitionTime?: string } | undefined {
  return (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
}

/** IsPodReady: the Ready condition is True. */
export function isPodReady(pod: PodLike): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

/** IsPodAvailable: ready, and ready for at least minReadySeconds (measured from the Ready transition). */
export function isPodAvailable(pod: PodLike, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const since = podReadyCondition(pod)?.lastTransitionTime;
  return since !== undefined && Date.parse(since) + minReadySeconds * 1000 < now;
}

/** IsPodActive: not finished and not being deleted; only active pods count towards replicas. */
export function isPodActive(pod: PodLike): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function timestamp(ms = Date.now()): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** An owner reference marking `owner` as the controller (metav1.NewControllerRef). */
export function newControllerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * apimachinery's semantic equality for JSON values: like deep equality, but a missing field,
 * `null`, an empty object and an empty list all count as "unset" and equal each other.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  const unset = (v: unknown) =>
    v === undefined ||
    v === null ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
  if (unset(a) && unset(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => semanticEqual(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!semanticEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
    return true;
  }
  return a === b;
}

// ---------------------------------------------------------------------------------------------
// Informers: the workload controllers read through src/client's shared informers; this thin
// view gives them promise-shaped sync and one handler shape.

export interface InformerHandlers<T extends KubeObject> {
  add?(obj: T): void;
  update?(old: T, cur: T): void;
  delete?(obj: T): void;
}

/** A running shared informer as the controllers use it: cache reads, handlers, a sync promise. */
export interface CachedInformer<T extends KubeObject = KubeObject> {
  get(key: string): T | undefined;
  list(namespace?: string): T[];
  addHandlers(h: InformerHandlers<T>): void;
  /** Resolves once the first list has filled the cache. */
  synced: Promise<void>;
}

/**
 * Informers shared by every controller started with the same instance (one list+watch per
 * resource for the whole process). Wraps a SharedInformerFactory — pass the process-wide one to
 * share with other components.
 */
export class SharedInformers {
  readonly factory: SharedInformerFactory;

  constructor(clientOrFactory: Client | SharedInformerFactory) {
    this.factory = clientOrFactory instanceof SharedInformerFactory ? clientOrFactory : new SharedInformerFactory(clientOrFactory);
  }

  /** The informer of `gvr`, started if it was not running yet. */
  for<T extends KubeObject = KubeObject>(gvr: GroupVersionResource): CachedInformer<T> {
    const inf = this.factory.forResource<T>(gvr);
    inf.run();
    return {
      get: (key) => inf.get(key),
      list: (namespace) => inf.list(namespace),
      addHandlers: (h) => {
        inf.addEventHandler({ onAdd: h.add, onUpdate: h.update, onDelete: h.delete });
      },
      synced: inf.waitForSync().then(() => undefined),
    };
  }

  stop(): void {
    this.factory.stop();
  }
}

/** Starts the worker loops in the background; the promise resolves when the queue has shut down and they finished. */
export function startWorkers(
  queue: WorkQueue,
  workers: number,
  sync: (key: string) => Promise<void>,
  onError?: (key: string, err: unknown) => void,
): Promise<void> {
  return runWorkers(queue, workers, sync, onError);
}

export { WorkQueue };

/** What every `start<Name>Controller` returns. */
export interface RunningController {
  /** Resolves when the informers have synced and the workers run. */
  ready: Promise<void>;
  /** Stops taking work; resolves once the sync in progress (if any) has finished. */
  stop(): Promise<void>;
}

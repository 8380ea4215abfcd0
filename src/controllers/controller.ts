/**
 * What every controller shares: pod readiness/availability helpers (kube's pkg/api/v1/pod and
 * pkg/controller/controller_utils.go), controller refs and claiming (ControllerRefManager),
 * API error checks, semantic equality, the informers every controller reads through (one
 * list+watch per resource for the whole control plane, src/client's SharedInformerFactory), and
 * `runController`, the lifecycle of a level-driven controller: workers drain a work queue into
 * `sync(key)` once the caches have synced.
 */
import { StatusError } from '../api/errors.js';
import { labelSelectorAsSelector, matches, type Selector } from '../api/labels.js';
import type { KubeObject, OwnerReference } from '../api/meta.js';
import { SharedInformerFactory } from '../client/informer.js';
import { type IndexFunc, LABEL_PAIR_INDEX, labelPairIndexFunc } from '../client/lister.js';
import type { Client, GroupVersionResource } from '../client/types.js';
import { type RateLimit, runWorkers, type WorkQueue } from '../client/workqueue.js';

// biome-ignore lint/suspicious/noExplicitAny: pods travel as plain JSON; only a few fields are read here
export type PodLike = KubeObject & { spec?: any; status?: any };

// ---------------------------------------------------------------------------------------------
// Pods

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

// ---------------------------------------------------------------------------------------------
// API errors

/** Whether an error is an API error with one of `codes`. */
export function isStatus(e: unknown, ...codes: number[]): boolean {
  return e instanceof StatusError && codes.includes(e.code);
}

/** Whether an error is the API's 404. */
export function isNotFound(e: unknown): boolean {
  return isStatus(e, 404);
}

/** Awaits `request`; an object already gone (404) is not an error: `undefined` instead. */
export async function ignoreNotFound<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Owners, selectors, semantic equality

/** The owner reference with `controller: true`, if any (metav1.GetControllerOf). */
export function controllerRefOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
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
 * resolveControllerRef: the owner of `kind` that `obj`'s controller reference names, from the
 * owners' cache — only if its UID is the one referenced (not a namesake created since).
 */
export function resolveControllerRef<T extends KubeObject>(
  obj: KubeObject,
  kind: string,
  owners: Pick<CachedInformer<T>, 'get'>,
): T | undefined {
  const ref = controllerRefOf(obj);
  if (!ref || ref.kind !== kind) return undefined;
  const owner = owners.get(`${obj.metadata.namespace}/${ref.name}`);
  return owner && owner.metadata.uid === ref.uid ? owner : undefined;
}

/** The selector of a workload's `spec.selector`; an invalid one selects nothing. */
export function selectorOf(workload: KubeObject): Selector {
  try {
    return labelSelectorAsSelector(workload.spec?.selector);
  } catch {
    return { requirements: [], nothing: true };
  }
}

/** The owning kind for claimDependents: where it is read and how a reference to it is written. */
export interface OwnerKind {
  gvr: GroupVersionResource;
  apiVersion: string;
  kind: string;
}

/**
 * ClaimObjects (ControllerRefManager): of `candidates`, the dependents `owner` controls — its own
 * that still match `selector`, plus matching orphans it adopts (after checking against the server
 * that the owner is still the same, live object). Its own that stopped matching are released.
 */
export async function claimDependents<T extends KubeObject>(
  client: Client,
  owner: KubeObject,
  ownerKind: OwnerKind,
  dependents: GroupVersionResource,
  selector: Selector,
  candidates: T[],
): Promise<T[]> {
  const claimed: T[] = [];
  const uid = owner.metadata.uid;
  const deleting = !!owner.metadata.deletionTimestamp;
  let canAdopt: boolean | undefined;
  const patchRefs = (obj: KubeObject, ownerReferences: unknown[]) =>
    ignoreNotFound(
      client.patch<T>(
        dependents,
        obj.metadata.name ?? '',
        'strategic',
        { metadata: { ownerReferences, uid: obj.metadata.uid } },
        { namespace: obj.metadata.namespace },
      ),
    );
  for (const obj of candidates) {
    const ref = controllerRefOf(obj);
    const match = matches(selector, obj.metadata.labels);
    if (ref) {
      if (ref.uid !== uid) continue;
      if (match) claimed.push(obj);
      else if (!deleting) await patchRefs(obj, [{ $patch: 'delete', uid }]);
      continue;
    }
    if (!match || deleting || obj.metadata.deletionTimestamp) continue;
    // A deleted-and-recreated owner must not take objects: recheck the owner against the server.
    if (canAdopt === undefined) {
      const fresh = await client.get(ownerKind.gvr, owner.metadata.name ?? '', owner.metadata.namespace).catch(() => undefined);
      canAdopt = !!fresh && fresh.metadata.uid === uid && !fresh.metadata.deletionTimestamp;
    }
    if (!canAdopt) continue;
    const adopted = await patchRefs(obj, [
      ...(obj.metadata.ownerReferences ?? []),
      newControllerRef(owner, ownerKind.apiVersion, ownerKind.kind),
    ]);
    if (adopted) claimed.push(adopted);
  }
  return claimed;
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
// Informers: every controller reads through src/client's shared informers; this thin view gives
// them promise-shaped sync, one handler shape and extra indexes on demand.

export interface InformerHandlers<T extends KubeObject> {
  add?(obj: T): void;
  update?(old: T, cur: T): void;
  /** For deletes found by a re-list, the last state the cache knew. */
  delete?(obj: T): void;
}

/** Handlers calling `fn` with the object's current state on every add, update and delete. */
export function onEveryChange<T extends KubeObject>(fn: (obj: T) => void): InformerHandlers<T> {
  return { add: fn, update: (_old, cur) => fn(cur), delete: fn };
}

/** A running shared informer as the controllers use it: cache reads, handlers, a sync promise. */
export interface CachedInformer<T extends KubeObject = KubeObject> {
  get(key: string): T | undefined;
  /** All cached objects, or those of one namespace. */
  list(namespace?: string): T[];
  /** Objects whose index `indexName` (asked for in SharedInformers.for) contains `value`. */
  byIndex(indexName: string, value: string): T[];
  /** Registers handlers; objects already cached are delivered as adds. */
  addHandlers(h: InformerHandlers<T>): void;
  /** Resolves once the first list has filled the cache (or the informer was stopped first). */
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
    this.factory =
      clientOrFactory instanceof SharedInformerFactory
        ? clientOrFactory
        : new SharedInformerFactory(clientOrFactory, { onError: logInformerError });
  }

  /**
   * The informer of `gvr`, started if it was not running yet, with `indexers` added to its cache
   * unless an index of that name is there already (controllers sharing an informer ask for the
   * same index under the same name).
   */
  for<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, indexers: Record<string, IndexFunc<T>> = {}): CachedInformer<T> {
    const inf = this.factory.forResource<T>(gvr);
    const missing = Object.entries(indexers).filter(([name]) => !hasIndex(inf.store, name));
    if (missing.length) inf.store.addIndexers(Object.fromEntries(missing));
    inf.run();
    return {
      get: (key) => inf.get(key),
      list: (namespace) => inf.list(namespace),
      byIndex: (indexName, value) => inf.byIndex(indexName, value),
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

/**
 * Informers retry every failure; API errors (the server answered) are expected and left out, but
 * a failing handler or a broken connection is worth a line.
 */
function logInformerError(err: unknown): void {
  if (!(err instanceof StatusError)) console.error('shared informer:', err);
}

/** The Indexer has no "has index" query; looking a key up in a missing index throws. */
function hasIndex(store: { indexKeys(indexName: string, value: string): string[] }, name: string): boolean {
  try {
    store.indexKeys(name, '');
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Controller lifecycle

/**
 * The retries of the endpoint, garbage-collector and namespace controllers: 10 ms doubling to
 * 30 s (for their WorkQueue), and a key dropped after MAX_RETRIES (for runController).
 */
export const QUICK_RETRY: RateLimit = { baseMs: 10, maxMs: 30_000 };
export const MAX_RETRIES = 15;

/** What every `start<Name>Controller` returns. */
export interface RunningController {
  /** Resolves when the informers have synced and the workers run (or the controller was stopped first). */
  ready: Promise<void>;
  /** Stops taking work; resolves once the syncs in progress (and keys already queued) are done. */
  stop(): Promise<void>;
}

export interface ControllerLoop {
  /** Names the controller in log lines. */
  name: string;
  queue: WorkQueue;
  /** How many keys are synced at once (`--concurrent-…-syncs`). */
  workers: number;
  /** Brings the object behind `key` to its desired state; throws to be retried with backoff. */
  sync: (key: string) => Promise<void>;
  /** What must be done before the first sync: informers synced (acting on a half-filled cache would duplicate work), nodes registered… */
  waitFor: Promise<unknown>[];
  /** Runs once `waitFor` is done, before the workers start: enqueue what no event will announce. */
  onSynced?: () => void;
  /** Told about every failed sync (the key is retried). */
  onError?: (key: string, err: unknown) => void;
  /** Drop a key (logging it) after this many retries, as kube's maxRetries; retried forever by default. */
  maxRetries?: number;
  /** Informers the controller made for itself (none were passed in): stopped with it. */
  ownInformers?: SharedInformers;
  /** Releases anything else the controller holds (timers). */
  onStop?: () => void;
}

/** Starts the controller's workers once it is ready; `stop()` shuts its queue and waits for them. */
export function runController(c: ControllerLoop): RunningController {
  let stopped = false;
  let workersDone: Promise<void> = Promise.resolve();
  const { maxRetries } = c;
  const sync =
    maxRetries === undefined
      ? c.sync
      : async (key: string) => {
          try {
            await c.sync(key);
          } catch (e) {
            if (c.queue.numRequeues(key) < maxRetries) throw e;
            c.queue.forget(key);
            console.error(`${c.name}: dropping ${key} after ${maxRetries + 1} failures:`, e);
          }
        };
  const ready = Promise.all(c.waitFor).then(() => {
    if (stopped) return;
    c.onSynced?.();
    workersDone = runWorkers(c.queue, c.workers, sync, c.onError);
  });
  return {
    ready,
    async stop() {
      stopped = true;
      c.queue.shutDown();
      c.onStop?.();
      c.ownInformers?.stop();
      await workersDone;
    },
  };
}

/**
 * The pods of `namespace` an equality selector (a Service's `spec.selector`) picks, looked up
 * through the label-pair index — so a Service sync costs the size of its smallest label bucket,
 * not a scan of every pod in the namespace. `pods` must carry {@link LABEL_PAIR_INDEX}.
 */
export function selectPods<T extends KubeObject>(pods: CachedInformer<T>, namespace: string, selector: Record<string, string>): T[] {
  const pairs = Object.entries(selector);
  if (pairs.length === 0) return [];
  let best: T[] | undefined;
  for (const [k, v] of pairs) {
    const bucket = pods.byIndex(LABEL_PAIR_INDEX, `${namespace}/${k}=${v}`);
    if (!best || bucket.length < best.length) best = bucket;
    if (best.length === 0) return [];
  }
  return best!.filter((p) => pairs.every(([k, v]) => p.metadata.labels?.[k] === v));
}

/** Indexers for a pod informer used with {@link selectPods}. */
export const POD_SELECTOR_INDEXERS = { [LABEL_PAIR_INDEX]: labelPairIndexFunc } as Record<string, IndexFunc<KubeObject>>;

/**
 * The garbage collector (kube's pkg/controller/garbagecollector), level-driven: it watches the
 * resources that own or are owned, keeps an index owner UID → dependents, and for each object
 * decides from the caches (checked against the API before anything is deleted):
 *  - every owner gone (absent, or a different UID under that name) → delete it (its own
 *    orphan/foreground finalizers choose the propagation, Background otherwise);
 *  - some owners alive, others gone or being deleted in the foreground → drop those references;
 *  - the object itself is being deleted with `orphan` → strip its reference from its dependents,
 *    then remove the finalizer; with `foregroundDeletion` → delete its dependents, and once none
 *    that blocks owner deletion remains, remove the finalizer.
 */
import type { KubeObject, OwnerReference } from '../../api/meta.js';
import { objectKey } from '../../api/meta.js';
import { type Client, type DeleteOptions, type GroupVersionResource, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import {
  ignoreNotFound,
  isNotFound,
  MAX_RETRIES,
  QUICK_RETRY,
  type RunningController,
  runController,
  SharedInformers,
} from '../controller.js';

interface Monitored {
  gvr: GroupVersionResource;
  apiVersion: string;
  kind: string;
  namespaced: boolean;
}

/** The resources watched: everything that commonly owns or is owned in svcnet. */
export const MONITORED: Monitored[] = [
  { gvr: R.pods, apiVersion: 'v1', kind: 'Pod', namespaced: true },
  { gvr: R.services, apiVersion: 'v1', kind: 'Service', namespaced: true },
  { gvr: R.endpoints, apiVersion: 'v1', kind: 'Endpoints', namespaced: true },
  { gvr: R.configmaps, apiVersion: 'v1', kind: 'ConfigMap', namespaced: true },
  { gvr: R.secrets, apiVersion: 'v1', kind: 'Secret', namespaced: true },
  { gvr: R.nodes, apiVersion: 'v1', kind: 'Node', namespaced: false },
  { gvr: R.replicasets, apiVersion: 'apps/v1', kind: 'ReplicaSet', namespaced: true },
  { gvr: R.deployments, apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true },
  { gvr: R.endpointslices, apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', namespaced: true },
  { gvr: R.ingresses, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespaced: true },
];

const ORPHAN = 'orphan';
const FOREGROUND = 'foregroundDeletion';

const group = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

export interface GarbageCollectorOptions {
  /** `--concurrent-gc-syncs` (default 20). */
  workers?: number;
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
}

/** Starts the garbage collector; `stop()` ends its workers (and its informers, unless shared). */
export function startGarbageCollector(client: Client, opts: GarbageCollectorOptions = {}): RunningController {
  const shared = opts.informers ?? new SharedInformers(client);
  const informers = MONITORED.map((m) => shared.for(m.gvr));
  const queue = new WorkQueue(QUICK_RETRY);
  /** uid → item id (`<index>|<key>`) of every cached object. */
  const byUid = new Map<string, string>();
  /** owner uid → item ids of the objects that reference it. */
  const dependents = new Map<string, Set<string>>();
  /** item id → the owner uids it was indexed under. */
  const ownersOf = new Map<string, string[]>();

  const itemId = (i: number, obj: KubeObject) => `${i}|${objectKey(obj)}`;
  const parseId = (id: string) => {
    const bar = id.indexOf('|');
    return { index: Number(id.slice(0, bar)), key: id.slice(bar + 1) };
  };
  const lookup = (id: string): KubeObject | undefined => {
    const { index, key } = parseId(id);
    return informers[index]?.get(key);
  };
  const monitoredFor = (ref: OwnerReference) =>
    MONITORED.findIndex((m) => m.kind === ref.kind && group(m.apiVersion) === group(ref.apiVersion));

  /** Indexes the object's current state (`deleted`: no state), replacing what was indexed for `id`. */
  function index(id: string, obj: KubeObject, deleted: boolean): void {
    for (const uid of ownersOf.get(id) ?? []) dependents.get(uid)?.delete(id);
    ownersOf.delete(id);
    if (deleted) {
      if (obj.metadata.uid) byUid.delete(obj.metadata.uid);
      return;
    }
    const owners = (obj.metadata.ownerReferences ?? []).map((r) => r.uid);
    for (const uid of owners) {
      let s = dependents.get(uid);
      if (!s) {
        s = new Set();
        dependents.set(uid, s);
      }
      s.add(id);
    }
    if (owners.length) ownersOf.set(id, owners);
    if (obj.metadata.uid) byUid.set(obj.metadata.uid, id);
  }

  const dependentsOf = (uid: string | undefined) =>
    [...(uid ? (dependents.get(uid) ?? []) : [])].flatMap((id) => {
      const o = lookup(id);
      return o ? [{ id, obj: o }] : [];
    });

  function changed(i: number, obj: KubeObject, old: KubeObject | undefined): void {
    const id = itemId(i, obj);
    index(id, obj, false);
    const uid = obj.metadata.uid ?? '';
    if (obj.metadata.ownerReferences?.length || obj.metadata.deletionTimestamp) queue.add(id);
    if (obj.metadata.deletionTimestamp && obj.metadata.finalizers?.includes(FOREGROUND))
      for (const d of dependents.get(uid) ?? []) queue.add(d);
    // Owner references changed: a foreground owner may be waiting for this one to let go.
    for (const r of old?.metadata.ownerReferences ?? []) {
      if (!obj.metadata.ownerReferences?.some((n) => n.uid === r.uid)) {
        const owner = byUid.get(r.uid);
        if (owner) queue.add(owner);
      }
    }
  }

  function deleted(i: number, obj: KubeObject): void {
    index(itemId(i, obj), obj, true);
    const uid = obj.metadata.uid ?? '';
    // Its dependents may now be dangling; a foreground owner may have been waiting for it.
    for (const d of dependents.get(uid) ?? []) queue.add(d);
    dependents.delete(uid);
    for (const r of obj.metadata.ownerReferences ?? []) {
      const owner = byUid.get(r.uid);
      if (owner) queue.add(owner);
    }
  }

  informers.forEach((inf, i) => {
    inf.addHandlers({
      add: (obj) => changed(i, obj, undefined),
      update: (old, obj) => changed(i, obj, old),
      delete: (obj) => deleted(i, obj),
    });
  });

  async function update(i: number, obj: KubeObject): Promise<void> {
    await client.update(MONITORED[i].gvr, obj, { namespace: obj.metadata.namespace });
  }

  async function remove(i: number, obj: KubeObject, propagationPolicy: DeleteOptions['propagationPolicy']): Promise<void> {
    await ignoreNotFound(
      client.delete(MONITORED[i].gvr, obj.metadata.name ?? '', {
        namespace: obj.metadata.namespace,
        propagationPolicy,
        preconditions: { uid: obj.metadata.uid },
      }),
    );
  }

  /** Whether the owner a reference names exists (with that UID), checked live when the cache says no. */
  async function ownerState(dep: KubeObject, ref: OwnerReference): Promise<'solid' | 'dangling' | 'waiting'> {
    const cachedId = byUid.get(ref.uid);
    let owner = cachedId ? lookup(cachedId) : undefined;
    if (!owner) {
      const mi = monitoredFor(ref);
      if (mi < 0) return 'solid'; // a kind we do not know: never delete on its account
      const m = MONITORED[mi];
      try {
        owner = await client.get(m.gvr, ref.name, m.namespaced ? dep.metadata.namespace : undefined);
      } catch (e) {
        if (isNotFound(e)) return 'dangling';
        throw e;
      }
      if (owner.metadata.uid !== ref.uid) return 'dangling';
    }
    if (owner.metadata.deletionTimestamp && owner.metadata.finalizers?.includes(FOREGROUND)) return 'waiting';
    return 'solid';
  }

  async function sync(id: string): Promise<void> {
    const { index: i, key } = parseId(id);
    const obj = informers[i]?.get(key);
    if (!obj) return;
    const uid = obj.metadata.uid;

    if (obj.metadata.deletionTimestamp) {
      const finalizers = obj.metadata.finalizers ?? [];
      if (finalizers.includes(ORPHAN)) {
        for (const d of dependentsOf(uid)) {
          const copy = structuredClone(d.obj);
          copy.metadata.ownerReferences = (copy.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
          if (!copy.metadata.ownerReferences.length) delete copy.metadata.ownerReferences;
          await ignoreNotFound(update(parseId(d.id).index, copy));
        }
        const copy = structuredClone(obj);
        copy.metadata.finalizers = finalizers.filter((f) => f !== ORPHAN);
        await update(i, copy);
        return;
      }
      if (finalizers.includes(FOREGROUND)) {
        const deps = dependentsOf(uid);
        for (const d of deps) {
          if (d.obj.metadata.deletionTimestamp) continue;
          const hasOwn = (dependents.get(d.obj.metadata.uid ?? '')?.size ?? 0) > 0;
          await remove(parseId(d.id).index, d.obj, hasOwn ? 'Foreground' : policyOf(d.obj));
        }
        const blocking = deps.filter((d) => d.obj.metadata.ownerReferences?.some((r) => r.uid === uid && r.blockOwnerDeletion));
        if (blocking.length === 0) {
          const copy = structuredClone(obj);
          copy.metadata.finalizers = finalizers.filter((f) => f !== FOREGROUND);
          await update(i, copy);
        }
      }
      return;
    }

    const refs = obj.metadata.ownerReferences ?? [];
    if (!refs.length) return;
    const states = await Promise.all(refs.map((r) => ownerState(obj, r)));
    const solid = states.filter((s) => s === 'solid').length;
    if (solid > 0) {
      if (solid === refs.length) return;
      const copy = structuredClone(obj);
      copy.metadata.ownerReferences = refs.filter((_, n) => states[n] === 'solid');
      await update(i, copy);
      return;
    }
    const waiting = states.includes('waiting');
    const hasOwn = (dependents.get(uid ?? '')?.size ?? 0) > 0;
    await remove(i, obj, waiting && hasOwn ? 'Foreground' : policyOf(obj));
  }

  return runController({
    name: 'garbage-collector',
    queue,
    workers: opts.workers ?? 20,
    sync,
    waitFor: informers.map((inf) => inf.synced),
    maxRetries: MAX_RETRIES,
    ownInformers: opts.informers ? undefined : shared,
  });
}

/** The propagation an object's own finalizers ask for when the collector deletes it. */
function policyOf(obj: KubeObject): DeleteOptions['propagationPolicy'] {
  const f = obj.metadata.finalizers ?? [];
  if (f.includes(ORPHAN)) return 'Orphan';
  if (f.includes(FOREGROUND)) return 'Foreground';
  return 'Background';
}

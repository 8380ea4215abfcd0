/**
 * The namespace controller (kube's pkg/controller/namespace/deletion): a namespace being deleted
 * with the `kubernetes` finalizer has everything in it deleted; once nothing remains, the
 * finalizer is removed through the `finalize` subresource and the API server removes the
 * namespace. Progress is reported in the status conditions upstream uses.
 */
import type { KubeObject } from '../../api/meta.js';
import { RESOURCES } from '../../api/resources.js';
import { type Client, type GroupVersionResource, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import {
  ignoreNotFound,
  isNotFound,
  MAX_RETRIES,
  QUICK_RETRY,
  type RunningController,
  runController,
  SharedInformers,
  timestamp,
} from '../controller.js';

export const FINALIZER_KUBERNETES = 'kubernetes';

export interface NamespaceControllerOptions {
  /** Namespaced resources to empty (default: every namespaced resource the API serves that can be listed and deleted). */
  resources?: GroupVersionResource[];
  /** How soon to look again while content remains (default 1 s; upstream estimates from grace periods). */
  recheckMs?: number;
  workers?: number;
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

/** The five deletion conditions, as upstream words them when all is well. */
const HEALTHY: Record<string, [string, string]> = {
  NamespaceDeletionDiscoveryFailure: ['ResourcesDiscovered', 'All resources successfully discovered'],
  NamespaceDeletionGroupVersionParsingFailure: ['ParsedGroupVersions', 'All legacy kube types successfully parsed'],
  NamespaceDeletionContentFailure: ['ContentDeleted', 'All content successfully deleted, may be waiting on finalization'],
  NamespaceContentRemaining: ['ContentRemoved', 'All content successfully removed'],
  NamespaceFinalizersRemaining: ['ContentHasNoFinalizers', 'All content-preserving finalizers finished'],
};

export interface DeletionResult {
  /** resource → how many objects remain. */
  remaining: Map<string, number>;
  /** finalizer → how many remaining objects carry it. */
  finalizers: Map<string, number>;
  /** resource → error text, for resources whose content could not be deleted. */
  failures: Map<string, string>;
}

/** The status conditions for one deletion pass (updateNamespaceStatusFunc + conditionUpdater). */
export function deletionConditions(r: DeletionResult): Condition[] {
  const out: Condition[] = Object.entries(HEALTHY).map(([type, [reason, message]]) => ({ type, status: 'False', reason, message }));
  const set = (type: string, reason: string, message: string) => {
    const c = out.find((x) => x.type === type) as Condition;
    Object.assign(c, { status: 'True', reason, message });
  };
  if (r.failures.size) {
    const parts = [...r.failures].map(([res, err]) => `${res}: ${err}`).sort();
    set(
      'NamespaceDeletionContentFailure',
      'ContentDeletionFailed',
      `Failed to delete all resource types, ${r.failures.size} remaining: ${parts.join(', ')}`,
    );
  }
  if (r.remaining.size) {
    const parts = [...r.remaining].map(([res, n]) => `${res} has ${n} resource instances`).sort();
    set('NamespaceContentRemaining', 'SomeResourcesRemain', `Some resources are remaining: ${parts.join(', ')}`);
  }
  if (r.finalizers.size) {
    const parts = [...r.finalizers].map(([f, n]) => `${f} in ${n} resource instances`).sort();
    set(
      'NamespaceFinalizersRemaining',
      'SomeFinalizersRemain',
      `Some content in the namespace has finalizers remaining: ${parts.join(', ')}`,
    );
  }
  return out;
}

/** The resource name as upstream prints it in conditions: `pods.`, `deployments.apps`. */
const resourceLabel = (g: GroupVersionResource) => `${g.resource}.${g.group}`;

function defaultResources(): GroupVersionResource[] {
  const seen = new Set<string>();
  const out: GroupVersionResource[] = [];
  for (const r of RESOURCES) {
    if (!r.namespaced || !r.verbs.includes('list') || !r.verbs.includes('delete')) continue;
    const id = `${r.group}/${r.resource}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ group: r.group, version: r.version, resource: r.resource });
  }
  return out;
}

/** Starts the namespace controller; `stop()` ends its workers (and its informer, unless shared). */
export function startNamespaceController(client: Client, opts: NamespaceControllerOptions = {}): RunningController {
  const informers = opts.informers ?? new SharedInformers(client);
  const namespaces = informers.for(R.namespaces);
  const queue = new WorkQueue(QUICK_RETRY);
  const resources = opts.resources ?? defaultResources();
  const recheck = opts.recheckMs ?? 1000;

  const changed = (ns: KubeObject) => {
    if (ns.metadata.deletionTimestamp) queue.add(ns.metadata.name ?? '');
  };
  namespaces.addHandlers({ add: changed, update: (_old, ns) => changed(ns) });

  async function deleteContent(namespace: string): Promise<DeletionResult> {
    const result: DeletionResult = { remaining: new Map(), finalizers: new Map(), failures: new Map() };
    for (const gvr of resources) {
      const label = resourceLabel(gvr);
      try {
        const list = await client.list(gvr, { namespace });
        let left = 0;
        for (const item of list.items) {
          const after = item.metadata.deletionTimestamp
            ? item
            : await ignoreNotFound(client.delete(gvr, item.metadata.name ?? '', { namespace }));
          // A delete that only marked the object (grace period, finalizers) leaves it in place.
          if (after?.metadata.deletionTimestamp) {
            left++;
            for (const f of after.metadata.finalizers ?? []) result.finalizers.set(f, (result.finalizers.get(f) ?? 0) + 1);
          }
        }
        if (left) result.remaining.set(label, left);
      } catch (e) {
        if (isNotFound(e)) continue; // a resource this server does not serve
        result.failures.set(label, e instanceof Error ? e.message : String(e));
      }
    }
    return result;
  }

  async function writeConditions(ns: KubeObject, conditions: Condition[]): Promise<void> {
    const before: Condition[] = ns.status?.conditions ?? [];
    const now = timestamp();
    const merged = conditions.map((c) => {
      const old = before.find((b) => b.type === c.type);
      return { ...c, lastTransitionTime: old && old.status === c.status ? (old.lastTransitionTime ?? now) : now };
    });
    const same = (a: Condition, b?: Condition) => !!b && a.status === b.status && a.reason === b.reason && a.message === b.message;
    if (
      merged.length === before.length &&
      merged.every((c) =>
        same(
          c,
          before.find((b) => b.type === c.type),
        ),
      )
    )
      return;
    const copy = structuredClone(ns);
    copy.status = { ...copy.status, conditions: merged };
    await ignoreNotFound(client.update(R.namespaces, copy, { subresource: 'status' }));
  }

  async function sync(name: string): Promise<void> {
    const ns = namespaces.get(name);
    if (!ns?.metadata.deletionTimestamp) return;
    const finalizers: string[] = ns.spec?.finalizers ?? [];
    if (!finalizers.includes(FINALIZER_KUBERNETES)) return;
    const result = await deleteContent(name);
    await writeConditions(ns, deletionConditions(result));
    if (result.failures.size) throw new Error(`namespace ${name}: ${[...result.failures.values()].join('; ')}`);
    if (result.remaining.size) {
      queue.addAfter(name, recheck);
      return;
    }
    const latest = await client.get(R.namespaces, name);
    latest.spec = { ...latest.spec, finalizers: (latest.spec?.finalizers ?? []).filter((f: string) => f !== FINALIZER_KUBERNETES) };
    await ignoreNotFound(client.update(R.namespaces, latest, { subresource: 'finalize' }));
  }

  return runController({
    name: 'namespace-controller',
    queue,
    workers: opts.workers ?? 10,
    sync,
    waitFor: [namespaces.synced],
    maxRetries: MAX_RETRIES,
    ownInformers: opts.informers ? undefined : informers,
  });
}

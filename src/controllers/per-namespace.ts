/**
 * The shared loop of the controllers that keep one named object in every active namespace
 * (the `default` ServiceAccount, the `kube-root-ca.crt` ConfigMap): made when missing, put back
 * when deleted or changed, and left alone in a namespace being deleted.
 */
import type { KubeObject } from '../api/meta.js';
import type { Client, GroupVersionResource } from '../client/types.js';
import { R } from '../client/types.js';
import { WorkQueue } from '../client/workqueue.js';
import { isStatus, MAX_RETRIES, onEveryChange, QUICK_RETRY, type RunningController, runController, SharedInformers } from './controller.js';

/** A namespace being deleted takes no new objects (the API server refuses them, and its content is going). */
export function isNamespaceActive(ns: KubeObject | undefined): boolean {
  return !!ns && !ns.metadata.deletionTimestamp && (ns.status as { phase?: string } | undefined)?.phase !== 'Terminating';
}

export interface PerNamespaceObject<T extends KubeObject> {
  /** Names the controller in log lines. */
  controller: string;
  resource: GroupVersionResource;
  /** The object's name in every namespace. */
  name: string;
  /** The object to write: the whole object when `current` is missing, else the corrected one, or undefined when `current` is right. */
  desired(current: T | undefined): T | undefined;
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
}

export function startPerNamespaceObject<T extends KubeObject>(client: Client, o: PerNamespaceObject<T>): RunningController {
  const informers = o.informers ?? new SharedInformers(client);
  const namespaces = informers.for(R.namespaces);
  const objects = informers.for<T>(o.resource);
  const queue = new WorkQueue(QUICK_RETRY);
  namespaces.addHandlers(onEveryChange((ns) => queue.add(ns.metadata.name ?? '')));
  objects.addHandlers(onEveryChange((obj) => obj.metadata.name === o.name && queue.add(obj.metadata.namespace ?? '')));

  async function sync(namespace: string): Promise<void> {
    if (!isNamespaceActive(namespaces.get(namespace))) return;
    const current = objects.get(`${namespace}/${o.name}`);
    const next = o.desired(current);
    if (!next) return;
    try {
      if (current) await client.update(o.resource, next, { namespace });
      else await client.create(o.resource, next, { namespace });
    } catch (e) {
      // Made or changed meanwhile (the cache was behind: its event brings the namespace back here),
      // or the namespace went away or began terminating.
      if (!isStatus(e, 409, 403, 404)) throw e;
    }
  }

  return runController({
    name: o.controller,
    queue,
    workers: 1,
    sync,
    maxRetries: MAX_RETRIES,
    waitFor: [namespaces.synced, objects.synced],
    ownInformers: o.informers ? undefined : informers,
  });
}

/**
 * The service account controller (kube-controller-manager's `serviceaccount-controller`): every
 * active namespace has a ServiceAccount named `default`, which pods run as unless they name
 * another; deleted, it comes back.
 */
import type { KubeObject } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import {
  isStatus,
  MAX_RETRIES,
  onEveryChange,
  QUICK_RETRY,
  type RunningController,
  runController,
  SharedInformers,
} from '../controller.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';

export interface ServiceAccountControllerOptions {
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
}

/** A namespace being deleted takes no new objects (the API server refuses them, and its content is going). */
export function isNamespaceActive(ns: KubeObject | undefined): boolean {
  return !!ns && !ns.metadata.deletionTimestamp && (ns.status as { phase?: string } | undefined)?.phase !== 'Terminating';
}

export function startServiceAccountController(client: Client, opts: ServiceAccountControllerOptions = {}): RunningController {
  const informers = opts.informers ?? new SharedInformers(client);
  const namespaces = informers.for(R.namespaces);
  const accounts = informers.for(R.serviceaccounts);
  const queue = new WorkQueue(QUICK_RETRY);
  namespaces.addHandlers(onEveryChange((ns) => queue.add(ns.metadata.name ?? '')));
  accounts.addHandlers({ delete: (sa) => sa.metadata.name === DEFAULT_SERVICE_ACCOUNT && queue.add(sa.metadata.namespace ?? '') });

  async function sync(namespace: string): Promise<void> {
    if (!isNamespaceActive(namespaces.get(namespace))) return;
    if (accounts.get(`${namespace}/${DEFAULT_SERVICE_ACCOUNT}`)) return;
    try {
      await client.create(
        R.serviceaccounts,
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT } },
        { namespace },
      );
    } catch (e) {
      // Already there (the cache was behind), or the namespace went away or began terminating meanwhile.
      if (!isStatus(e, 409, 403, 404)) throw e;
    }
  }

  return runController({
    name: 'serviceaccount-controller',
    queue,
    workers: 1,
    sync,
    maxRetries: MAX_RETRIES,
    waitFor: [namespaces.synced, accounts.synced],
    ownInformers: opts.informers ? undefined : informers,
  });
}

/**
 * The service account controller (kube-controller-manager's `serviceaccount-controller`): every
 * active namespace has a ServiceAccount named `default`, which pods run as unless they name
 * another; deleted, it comes back.
 */
import type { KubeObject } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import type { RunningController, SharedInformers } from '../controller.js';
import { startPerNamespaceObject } from '../per-namespace.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';

export interface ServiceAccountControllerOptions {
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
}

export function startServiceAccountController(client: Client, opts: ServiceAccountControllerOptions = {}): RunningController {
  return startPerNamespaceObject<KubeObject>(client, {
    controller: 'serviceaccount-controller',
    resource: R.serviceaccounts,
    name: DEFAULT_SERVICE_ACCOUNT,
    informers: opts.informers,
    desired: (current) => (current ? undefined : { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT } }),
  });
}

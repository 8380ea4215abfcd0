/**
 * The root CA publisher (kube-controller-manager's `root-ca-certificate-publisher`): every active
 * namespace has a ConfigMap `kube-root-ca.crt` holding the cluster CA, so pods can verify the API
 * server at kubernetes.default.svc; changed or deleted, it is put back.
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
import { isNamespaceActive } from '../serviceaccount/controller.js';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export interface RootCACertPublisherOptions {
  /** The cluster CA certificate (PEM) to publish. */
  caPem: string;
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
}

type ConfigMap = KubeObject & { data?: Record<string, string> };

export function startRootCACertPublisher(client: Client, opts: RootCACertPublisherOptions): RunningController {
  const informers = opts.informers ?? new SharedInformers(client);
  const namespaces = informers.for(R.namespaces);
  const configMaps = informers.for<ConfigMap>(R.configmaps);
  const queue = new WorkQueue(QUICK_RETRY);
  const data = { 'ca.crt': opts.caPem };
  namespaces.addHandlers(onEveryChange((ns) => queue.add(ns.metadata.name ?? '')));
  configMaps.addHandlers(onEveryChange((cm) => cm.metadata.name === ROOT_CA_CONFIGMAP && queue.add(cm.metadata.namespace ?? '')));

  async function sync(namespace: string): Promise<void> {
    if (!isNamespaceActive(namespaces.get(namespace))) return;
    const current = configMaps.get(`${namespace}/${ROOT_CA_CONFIGMAP}`);
    try {
      if (!current) {
        await client.create(
          R.configmaps,
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: ROOT_CA_CONFIGMAP, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
            data,
          },
          { namespace },
        );
        return;
      }
      const annotations = current.metadata.annotations ?? {};
      if (
        current.data?.['ca.crt'] === opts.caPem &&
        Object.keys(current.data).length === 1 &&
        annotations[DESCRIPTION_ANNOTATION] === DESCRIPTION
      ) {
        return;
      }
      // As upstream: the data is replaced, other annotations kept.
      await client.update(
        R.configmaps,
        { ...current, metadata: { ...current.metadata, annotations: { ...annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION } }, data },
        { namespace },
      );
    } catch (e) {
      // Created or changed meanwhile (the cache was behind: the event brings it back here), or the namespace is going.
      if (!isStatus(e, 409, 403, 404)) throw e;
    }
  }

  return runController({
    name: 'root-ca-certificate-publisher',
    queue,
    workers: 1,
    sync,
    maxRetries: MAX_RETRIES,
    waitFor: [namespaces.synced, configMaps.synced],
    ownInformers: opts.informers ? undefined : informers,
  });
}

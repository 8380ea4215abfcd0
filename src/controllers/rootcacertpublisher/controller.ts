/**
 * The root CA publisher (kube-controller-manager's `root-ca-certificate-publisher`): every active
 * namespace has a ConfigMap `kube-root-ca.crt` holding the cluster CA, so pods can verify the API
 * server at kubernetes.default.svc; changed or deleted, it is put back.
 */
import type { KubeObject } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import type { RunningController, SharedInformers } from '../controller.js';
import { startPerNamespaceObject } from '../per-namespace.js';

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
  const data = { 'ca.crt': opts.caPem };
  return startPerNamespaceObject<ConfigMap>(client, {
    controller: 'root-ca-certificate-publisher',
    resource: R.configmaps,
    name: ROOT_CA_CONFIGMAP,
    informers: opts.informers,
    desired(current) {
      if (!current) {
        return {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
          data,
        };
      }
      const annotations = current.metadata.annotations ?? {};
      const right =
        current.data?.['ca.crt'] === opts.caPem &&
        Object.keys(current.data).length === 1 &&
        annotations[DESCRIPTION_ANNOTATION] === DESCRIPTION;
      // As upstream: the data is replaced, other annotations kept.
      return right
        ? undefined
        : { ...current, metadata: { ...current.metadata, annotations: { ...annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION } }, data };
    },
  });
}

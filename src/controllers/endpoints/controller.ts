import { objectKey, splitKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import {
  ignoreNotFound,
  MAX_RETRIES,
  onEveryChange,
  POD_SELECTOR_INDEXERS,
  QUICK_RETRY,
  type RunningController,
  runController,
  SharedInformers,
  selectPods,
} from '../controller.js';
import { PodServiceIndex } from '../endpointslice/pod-services.js';
import { ANNOTATION_LEADER, type PodObject, type ServiceObject, TriggerTimeTracker } from '../endpointslice/util.js';
import { desiredEndpoints, type EndpointsObject } from './reconcile.js';

export interface EndpointsControllerOptions {
  /**
   * Syncs in flight (default 16; kube's `--concurrent-endpoint-syncs` is 5 goroutines). Here a worker is an
   * async slot, not a thread: a sync's write waits for its group commit, so the number of
   * workers bounds the writes one event-loop turn can batch.
   */
  workers?: number;
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
}

/** Starts the Endpoints controller; `stop()` ends its workers (and its informers, unless shared). */
export function startEndpointsController(client: Client, opts: EndpointsControllerOptions = {}): RunningController {
  const informers = opts.informers ?? new SharedInformers(client);
  const services = informers.for<ServiceObject>(R.services);
  const pods = informers.for<PodObject>(R.pods, POD_SELECTOR_INDEXERS);
  const endpoints = informers.for<EndpointsObject>(R.endpoints);
  const queue = new WorkQueue(QUICK_RETRY);
  const index = new PodServiceIndex(services);
  const triggers = new TriggerTimeTracker();
  /** The resourceVersion each Endpoints had when we last replaced it: a cache still showing it is stale. */
  const replaced = new Map<string, string>();

  services.addHandlers(onEveryChange((svc) => queue.add(objectKey(svc))));
  pods.addHandlers(index.podHandlers((key) => queue.add(key)));
  // Someone else changed or removed an Endpoints of ours: put it back.
  const endpointsChanged = (ep: EndpointsObject, change: 'add' | 'update' | 'delete') => {
    const key = objectKey(ep);
    if (change === 'delete' || ep.metadata.resourceVersion !== replaced.get(key)) replaced.delete(key);
    if (change !== 'add' || !services.get(key)) queue.add(key);
  };
  endpoints.addHandlers({
    add: (ep) => endpointsChanged(ep, 'add'),
    update: (_old, ep) => endpointsChanged(ep, 'update'),
    delete: (ep) => endpointsChanged(ep, 'delete'),
  });

  async function sync(key: string): Promise<void> {
    const { namespace = '', name } = splitKey(key);
    const service = services.get(key);
    if (!service) {
      triggers.forget(namespace, name);
      const ep = endpoints.get(key);
      if (!ep || ep.metadata.annotations?.[ANNOTATION_LEADER] !== undefined) return;
      await ignoreNotFound(client.delete(R.endpoints, name, { namespace }));
      return;
    }
    if (service.spec?.type === 'ExternalName' || !service.spec?.selector) return;
    const current = endpoints.get(key);
    if (current && replaced.get(key) === current.metadata.resourceVersion) return; // our update's event will come
    const selected = selectPods(pods, namespace, service.spec.selector);
    const triggerTime = triggers.compute(service, selected);
    const next = desiredEndpoints(service, selected, current, triggerTime);
    if (!next) return;
    if (!current) {
      await client.create(R.endpoints, next, { namespace });
      return;
    }
    const written = await client.update(R.endpoints, next, { namespace });
    if (
      written.metadata.resourceVersion !== current.metadata.resourceVersion &&
      endpoints.get(key)?.metadata.resourceVersion === current.metadata.resourceVersion
    ) {
      replaced.set(key, current.metadata.resourceVersion ?? '');
    }
  }

  return runController({
    name: 'endpoint-controller',
    queue,
    workers: opts.workers ?? 16,
    sync,
    waitFor: [services.synced, pods.synced, endpoints.synced],
    onSynced() {
      // Endpoints left over from Services deleted while we were not running.
      for (const ep of endpoints.list()) if (!services.get(objectKey(ep))) queue.add(objectKey(ep));
    },
    maxRetries: MAX_RETRIES,
    ownInformers: opts.informers ? undefined : informers,
  });
}

/**
 * The Endpoints controller (kube's pkg/controller/endpoint): keeps one core/v1 Endpoints per
 * selector Service, named as the Service. Selector-less Services' Endpoints belong to the user
 * and are left alone; an Endpoints whose Service is gone is deleted.
 */
import { matches, selectorFromSet } from '../../api/labels.js';
import { objectKey, splitKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import {
  ignoreNotFound,
  MAX_RETRIES,
  onEveryChange,
  QUICK_RETRY,
  type RunningController,
  runController,
  SharedInformers,
} from '../controller.js';
import { PodServiceIndex } from '../endpointslice/pod-services.js';
import { ANNOTATION_LEADER, type PodObject, type ServiceObject, TriggerTimeTracker } from '../endpointslice/util.js';
import { desiredEndpoints, type EndpointsObject } from './reconcile.js';

export interface EndpointsControllerOptions {
  /** `--concurrent-endpoint-syncs` (default 5). */
  workers?: number;
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
}

/** Starts the Endpoints controller; `stop()` ends its workers (and its informers, unless shared). */
export function startEndpointsController(client: Client, opts: EndpointsControllerOptions = {}): RunningController {
  const informers = opts.informers ?? new SharedInformers(client);
  const services = informers.for<ServiceObject>(R.services);
  const pods = informers.for<PodObject>(R.pods);
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
    const selector = selectorFromSet(service.spec.selector);
    const selected = pods.list(namespace).filter((p) => matches(selector, p.metadata.labels));
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
    workers: opts.workers ?? 5,
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

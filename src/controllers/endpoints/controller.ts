/**
 * The Endpoints controller (kube's pkg/controller/endpoint): keeps one core/v1 Endpoints per
 * selector Service, named as the Service. Selector-less Services' Endpoints belong to the user
 * and are left alone; an Endpoints whose Service is gone is deleted.
 */
import { matches, selectorFromSet } from '../../api/labels.js';
import { objectKey, splitKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { PodServiceIndex, podChangeMatters } from '../endpointslice/pod-services.js';
import { Informer, isNotFound, WorkQueue } from '../endpointslice/runtime.js';
import { type PodObject, type ServiceObject, TriggerTimeTracker } from '../endpointslice/util.js';
import { desiredEndpoints, type EndpointsObject } from './reconcile.js';

export interface EndpointsControllerOptions {
  /** `--concurrent-endpoint-syncs` (default 5). */
  workers?: number;
}

/** Leader-election records lived in Endpoints once; those are never ours to delete. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

/** Starts the Endpoints controller; `stop()` ends its watches and workers. */
export function startEndpointsController(client: Client, opts: EndpointsControllerOptions = {}): { synced: Promise<void>; stop(): void } {
  const services = new Informer<ServiceObject>(client, R.services);
  const pods = new Informer<PodObject>(client, R.pods);
  const endpoints = new Informer<EndpointsObject>(client, R.endpoints);
  const queue = new WorkQueue();
  const index = new PodServiceIndex(services);
  const triggers = new TriggerTimeTracker();
  /** The resourceVersion each Endpoints had when we last replaced it: a cache still showing it is stale. */
  const replaced = new Map<string, string>();

  services.on((_kind, svc) => queue.add(objectKey(svc)));
  pods.on((kind, pod, old) => {
    if (kind === 'MODIFIED' && !podChangeMatters(pod, old)) return;
    for (const key of index.servicesFor(pod, kind === 'MODIFIED' ? old : undefined)) queue.add(key);
  });
  // Someone else changed or removed an Endpoints of ours: put it back.
  endpoints.on((kind, ep) => {
    const key = objectKey(ep);
    if (kind === 'DELETED' || ep.metadata.resourceVersion !== replaced.get(key)) replaced.delete(key);
    if (kind !== 'ADDED' || !services.get(key)) queue.add(key);
  });

  async function sync(key: string): Promise<void> {
    const { namespace = '', name } = splitKey(key);
    const service = services.get(key);
    if (!service) {
      triggers.forget(namespace, name);
      const ep = endpoints.get(key);
      if (!ep || ep.metadata.annotations?.[LEADER_ANNOTATION] !== undefined) return;
      try {
        await client.delete(R.endpoints, name, { namespace });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    if (service.spec?.type === 'ExternalName' || !service.spec?.selector) return;
    const current = endpoints.get(key);
    if (current && replaced.get(key) === current.metadata.resourceVersion) return; // our update's event will come
    const selector = selectorFromSet(service.spec.selector);
    const selected = pods.list((p) => p.metadata.namespace === namespace && matches(selector, p.metadata.labels));
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

  for (const inf of [services, pods, endpoints]) inf.start();
  const synced = Promise.all([services.synced, pods.synced, endpoints.synced]).then(() => {
    // Endpoints left over from Services deleted while we were not running.
    for (const ep of endpoints.list()) if (!services.get(objectKey(ep))) queue.add(objectKey(ep));
    queue.run(sync, opts.workers ?? 5, 'endpoint-controller');
  });
  return {
    synced,
    stop() {
      queue.stop();
      for (const inf of [services, pods, endpoints]) inf.stop();
    },
  };
}

/**
 * The EndpointSlice mirroring controller (kube's pkg/controller/endpointslicemirroring): for a
 * Service without a selector, the Endpoints the user wrote are mirrored into EndpointSlices
 * managed by `endpointslicemirroring-controller.k8s.io`. Keys are `namespace/name` of the
 * Endpoints (equal to the Service's).
 */
import { objectKey, splitKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import type { EndpointsObject } from '../endpoints/reconcile.js';
import { Informer, isNotFound, WorkQueue } from '../endpointslice/runtime.js';
import { SliceTracker } from '../endpointslice/tracker.js';
import {
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_SKIP_MIRROR,
  MIRRORING_CONTROLLER,
  type ServiceObject,
  type SliceObject,
} from '../endpointslice/util.js';
import { DEFAULT_MAX_ENDPOINTS_PER_SUBSET, reconcileMirror } from './reconcile.js';

export interface EndpointSliceMirroringControllerOptions {
  /** `--mirroring-max-endpoints-per-subset` (default 1000). */
  maxEndpointsPerSubset?: number;
  /** `--mirroring-concurrent-service-endpoint-syncs` (default 5). */
  workers?: number;
}

const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

/** Starts the mirroring controller; `stop()` ends its watches and workers. */
export function startEndpointSliceMirroringController(
  client: Client,
  opts: EndpointSliceMirroringControllerOptions = {},
): { synced: Promise<void>; stop(): void } {
  const services = new Informer<ServiceObject>(client, R.services);
  const endpoints = new Informer<EndpointsObject>(client, R.endpoints);
  const slices = new Informer<SliceObject>(client, R.endpointslices, { labelSelector: `${LABEL_MANAGED_BY}=${MIRRORING_CONTROLLER}` });
  const queue = new WorkQueue();
  const tracker = new SliceTracker(slices);

  services.on((_kind, svc) => queue.add(objectKey(svc)));
  endpoints.on((_kind, ep) => queue.add(objectKey(ep)));
  slices.on((_kind, slice) => {
    const owner = slice.metadata.labels?.[LABEL_SERVICE_NAME];
    if (owner) queue.add(`${slice.metadata.namespace}/${owner}`);
  });

  async function deleteAll(namespace: string, list: SliceObject[]): Promise<void> {
    for (const s of list) {
      try {
        await client.delete(R.endpointslices, s.metadata.name ?? '', { namespace });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      tracker.expectDeletion(s);
    }
  }

  async function sync(key: string): Promise<void> {
    const { namespace = '', name } = splitKey(key);
    const existing = slices.list((s) => s.metadata.namespace === namespace && s.metadata.labels?.[LABEL_SERVICE_NAME] === name);
    if (tracker.stale(key, existing)) return;
    const ep = endpoints.get(key);
    const service = services.get(key);
    const mirror =
      ep &&
      service &&
      !service.spec?.selector &&
      ep.metadata.labels?.[LABEL_SKIP_MIRROR] !== 'true' &&
      ep.metadata.annotations?.[LEADER_ANNOTATION] === undefined &&
      !ep.metadata.deletionTimestamp;
    if (!mirror) {
      await deleteAll(namespace, existing);
      return;
    }
    const changes = reconcileMirror(ep, existing, opts.maxEndpointsPerSubset ?? DEFAULT_MAX_ENDPOINTS_PER_SUBSET);
    for (const slice of changes.create) tracker.expect(await client.create(R.endpointslices, slice, { namespace }));
    for (const slice of changes.update) tracker.expect(await client.update(R.endpointslices, slice, { namespace }));
    await deleteAll(namespace, changes.delete);
  }

  for (const inf of [services, endpoints, slices]) inf.start();
  const synced = Promise.all([services.synced, endpoints.synced, slices.synced]).then(() => {
    queue.run(sync, opts.workers ?? 5, 'endpointslice-mirroring-controller');
  });
  return {
    synced,
    stop() {
      queue.stop();
      for (const inf of [services, endpoints, slices]) inf.stop();
    },
  };
}

/**
 * The EndpointSlice mirroring controller (kube's pkg/controller/endpointslicemirroring): for a
 * Service without a selector, the Endpoints the user wrote are mirrored into EndpointSlices
 * managed by `endpointslicemirroring-controller.k8s.io`. Keys are `namespace/name` of the
 * Endpoints (equal to the Service's).
 */
import { type KubeObject, objectKey, splitKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import { MAX_RETRIES, onEveryChange, QUICK_RETRY, type RunningController, runController, SharedInformers } from '../controller.js';
import type { EndpointsObject } from '../endpoints/reconcile.js';
import { SliceTracker } from '../endpointslice/tracker.js';
import {
  ANNOTATION_LEADER,
  isManagedBy,
  LABEL_SKIP_MIRROR,
  MIRRORING_CONTROLLER,
  managedSliceHandlers,
  type ServiceObject,
  SLICES_BY_SERVICE,
  type SliceObject,
  sliceIndexers,
} from '../endpointslice/util.js';
import { DEFAULT_MAX_ENDPOINTS_PER_SUBSET, reconcileMirror } from './reconcile.js';

export interface EndpointSliceMirroringControllerOptions {
  /** `--mirroring-max-endpoints-per-subset` (default 1000). */
  maxEndpointsPerSubset?: number;
  /** `--mirroring-concurrent-service-endpoint-syncs` (default 5). */
  workers?: number;
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
}

/** Starts the mirroring controller; `stop()` ends its workers (and its informers, unless shared). */
export function startEndpointSliceMirroringController(
  client: Client,
  opts: EndpointSliceMirroringControllerOptions = {},
): RunningController {
  const informers = opts.informers ?? new SharedInformers(client);
  const services = informers.for<ServiceObject>(R.services);
  const endpoints = informers.for<EndpointsObject>(R.endpoints);
  const slices = informers.for<SliceObject>(R.endpointslices, sliceIndexers);
  const queue = new WorkQueue(QUICK_RETRY);
  const tracker = new SliceTracker(slices, MIRRORING_CONTROLLER);
  const enqueue = (obj: KubeObject) => queue.add(objectKey(obj));

  services.addHandlers(onEveryChange(enqueue));
  endpoints.addHandlers(onEveryChange(enqueue));
  slices.addHandlers(managedSliceHandlers(MIRRORING_CONTROLLER, (key) => queue.add(key)));

  async function sync(key: string): Promise<void> {
    const { namespace = '' } = splitKey(key);
    const existing = slices.byIndex(SLICES_BY_SERVICE, key).filter((s) => isManagedBy(s, MIRRORING_CONTROLLER));
    if (tracker.stale(key, existing)) return;
    const ep = endpoints.get(key);
    const service = services.get(key);
    const mirror =
      ep &&
      service &&
      !service.spec?.selector &&
      ep.metadata.labels?.[LABEL_SKIP_MIRROR] !== 'true' &&
      ep.metadata.annotations?.[ANNOTATION_LEADER] === undefined &&
      !ep.metadata.deletionTimestamp;
    if (!mirror) {
      await tracker.delete(client, namespace, existing);
      return;
    }
    const changes = reconcileMirror(ep, existing, opts.maxEndpointsPerSubset ?? DEFAULT_MAX_ENDPOINTS_PER_SUBSET);
    for (const slice of changes.create) tracker.expect(await client.create(R.endpointslices, slice, { namespace }));
    for (const slice of changes.update) tracker.expect(await client.update(R.endpointslices, slice, { namespace }));
    await tracker.delete(client, namespace, changes.delete);
  }

  return runController({
    name: 'endpointslice-mirroring-controller',
    queue,
    workers: opts.workers ?? 5,
    sync,
    waitFor: [services.synced, endpoints.synced, slices.synced],
    maxRetries: MAX_RETRIES,
    ownInformers: opts.informers ? undefined : informers,
  });
}

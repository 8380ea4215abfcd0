/**
 * The EndpointSlice controller (kube's pkg/controller/endpointslice): watches Services, pods,
 * nodes and its own slices; every event only enqueues a Service key, and `sync` brings that
 * Service's slices to what reconcileSlices computes from the caches.
 */

import type { KubeObject } from '../../api/meta.js';
import { objectKey, splitKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import {
  MAX_RETRIES,
  onEveryChange,
  POD_SELECTOR_INDEXERS,
  QUICK_RETRY,
  type RunningController,
  runController,
  SharedInformers,
  selectPods,
} from '../controller.js';
import { PodServiceIndex } from './pod-services.js';
import { DEFAULT_MAX_ENDPOINTS_PER_SLICE, reconcileSlices } from './reconcile.js';
import { SliceTracker } from './tracker.js';
import {
  ANNOTATION_TRIGGER_TIME,
  ENDPOINTSLICE_CONTROLLER,
  formatTriggerTime,
  isManagedBy,
  LABEL_ZONE,
  managedSliceHandlers,
  type PodObject,
  type ServiceObject,
  SLICES_BY_SERVICE,
  type SliceObject,
  sliceIndexers,
  TriggerTimeTracker,
} from './util.js';

export interface EndpointSliceControllerOptions {
  /** `--max-endpoints-per-slice` (default 100). */
  maxEndpointsPerSlice?: number;
  /**
   * Syncs in flight (default 16; kube's `--concurrent-service-endpoint-syncs` is 5 goroutines). Here a worker is an
   * async slot, not a thread: a sync's write waits for its group commit, so the number of
   * workers bounds the writes one event-loop turn can batch.
   */
  workers?: number;
  /** Share informers with other controllers; a private set is made (and stopped) otherwise. */
  informers?: SharedInformers;
}

/** Starts the EndpointSlice controller; `stop()` ends its workers (and its informers, unless shared). */
export function startEndpointSliceController(client: Client, opts: EndpointSliceControllerOptions = {}): RunningController {
  const informers = opts.informers ?? new SharedInformers(client);
  const services = informers.for<ServiceObject>(R.services);
  const pods = informers.for<PodObject>(R.pods, POD_SELECTOR_INDEXERS);
  const nodes = informers.for<KubeObject>(R.nodes);
  const slices = informers.for<SliceObject>(R.endpointslices, sliceIndexers);
  const queue = new WorkQueue(QUICK_RETRY);
  const index = new PodServiceIndex(services);
  const tracker = new SliceTracker(slices, ENDPOINTSLICE_CONTROLLER);
  const triggers = new TriggerTimeTracker();
  const max = opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;

  services.addHandlers(onEveryChange((svc) => queue.add(objectKey(svc))));
  pods.addHandlers(index.podHandlers((key) => queue.add(key)));
  slices.addHandlers(managedSliceHandlers(ENDPOINTSLICE_CONTROLLER, (key) => queue.add(key)));
  // A node's zone label is copied into endpoints, and pods on unknown nodes wait for the node.
  const nodeChanged = (node: KubeObject) => {
    const name = node.metadata.name;
    const affected = new Set<string>();
    for (const pod of pods.list()) if (pod.spec?.nodeName === name) for (const key of index.servicesFor(pod)) affected.add(key);
    for (const key of affected) queue.add(key);
  };
  nodes.addHandlers({
    add: nodeChanged,
    update: (old, node) => {
      if (node.metadata.labels?.[LABEL_ZONE] !== old.metadata.labels?.[LABEL_ZONE]) nodeChanged(node);
    },
    delete: nodeChanged,
  });

  const ownSlices = (serviceKey: string) =>
    slices.byIndex(SLICES_BY_SERVICE, serviceKey).filter((s) => isManagedBy(s, ENDPOINTSLICE_CONTROLLER));

  async function sync(key: string): Promise<void> {
    const { namespace = '', name } = splitKey(key);
    const existing = ownSlices(key);
    // Our own last writes not yet in the cache: their watch events will enqueue this key again.
    if (tracker.stale(key, existing)) return;
    const service = services.get(key);
    if (!service?.spec?.selector || service.spec.type === 'ExternalName') {
      if (!service) triggers.forget(namespace, name);
      await tracker.delete(client, namespace, existing);
      return;
    }
    const selected = selectPods(pods, namespace, service.spec.selector);
    const triggerTime = triggers.compute(service, selected);
    const changes = reconcileSlices({
      service,
      pods: selected,
      existing,
      nodeByName: (n) => nodes.get(n),
      maxEndpointsPerSlice: max,
    });
    const stamp = (slice: SliceObject) => {
      const annotations = { ...(slice.metadata.annotations ?? {}) };
      if (triggerTime !== undefined) annotations[ANNOTATION_TRIGGER_TIME] = formatTriggerTime(triggerTime);
      else delete annotations[ANNOTATION_TRIGGER_TIME];
      if (Object.keys(annotations).length) slice.metadata.annotations = annotations;
      else delete slice.metadata.annotations;
    };
    // No new slices for a Service on its way out: the garbage collector is removing them.
    if (!service.metadata.deletionTimestamp) {
      for (const slice of changes.create) {
        stamp(slice);
        tracker.expect(await client.create(R.endpointslices, slice, { namespace }));
      }
    }
    for (const slice of changes.update) {
      stamp(slice);
      tracker.expect(await client.update(R.endpointslices, slice, { namespace }));
    }
    await tracker.delete(client, namespace, changes.delete);
    if (changes.missingNodes.length) throw new Error(`pods on unknown nodes: ${changes.missingNodes.join(', ')}`);
  }

  return runController({
    name: 'endpointslice-controller',
    queue,
    workers: opts.workers ?? 16,
    sync,
    waitFor: [services.synced, pods.synced, nodes.synced, slices.synced],
    maxRetries: MAX_RETRIES,
    ownInformers: opts.informers ? undefined : informers,
  });
}

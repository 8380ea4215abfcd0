/**
 * The EndpointSlice controller (kube's pkg/controller/endpointslice): watches Services, pods,
 * nodes and its own slices; every event only enqueues a Service key, and `sync` brings that
 * Service's slices to what reconcileSlices computes from the caches.
 */

import { matches, selectorFromSet } from '../../api/labels.js';
import type { KubeObject } from '../../api/meta.js';
import { objectKey, splitKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { PodServiceIndex, podChangeMatters } from './pod-services.js';
import { DEFAULT_MAX_ENDPOINTS_PER_SLICE, reconcileSlices } from './reconcile.js';
import { Informer, isNotFound, WorkQueue } from './runtime.js';
import { SliceTracker } from './tracker.js';
import {
  ANNOTATION_TRIGGER_TIME,
  ENDPOINTSLICE_CONTROLLER,
  formatTriggerTime,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  type PodObject,
  type ServiceObject,
  type SliceObject,
  TriggerTimeTracker,
} from './util.js';

export interface EndpointSliceControllerOptions {
  /** `--max-endpoints-per-slice` (default 100). */
  maxEndpointsPerSlice?: number;
  /** `--concurrent-service-endpoint-syncs` (default 5). */
  workers?: number;
}

export interface RunningController {
  /** Resolves when the informers have listed once. */
  synced: Promise<void>;
  stop(): void;
}

/** Starts the EndpointSlice controller; `stop()` ends its watches and workers. */
export function startEndpointSliceController(client: Client, opts: EndpointSliceControllerOptions = {}): RunningController {
  const services = new Informer<ServiceObject>(client, R.services);
  const pods = new Informer<PodObject>(client, R.pods);
  const nodes = new Informer<KubeObject>(client, R.nodes);
  const slices = new Informer<SliceObject>(client, R.endpointslices, { labelSelector: `${LABEL_MANAGED_BY}=${ENDPOINTSLICE_CONTROLLER}` });
  const queue = new WorkQueue();
  const index = new PodServiceIndex(services);
  const tracker = new SliceTracker(slices);
  const triggers = new TriggerTimeTracker();
  const max = opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;

  services.on((_kind, svc) => queue.add(objectKey(svc)));
  pods.on((kind, pod, old) => {
    if (kind === 'MODIFIED' && !podChangeMatters(pod, old)) return;
    for (const key of index.servicesFor(pod, kind === 'MODIFIED' ? old : undefined)) queue.add(key);
  });
  slices.on((_kind, slice) => {
    const svc = slice.metadata.labels?.[LABEL_SERVICE_NAME];
    if (svc) queue.add(`${slice.metadata.namespace}/${svc}`);
  });
  // A node's zone label is copied into endpoints, and pods on unknown nodes wait for the node.
  nodes.on((kind, node, old) => {
    if (
      kind === 'MODIFIED' &&
      node.metadata.labels?.['topology.kubernetes.io/zone'] === old?.metadata.labels?.['topology.kubernetes.io/zone']
    )
      return;
    const name = node.metadata.name;
    const affected = new Set<string>();
    for (const pod of pods.list((p) => p.spec?.nodeName === name)) for (const key of index.servicesFor(pod)) affected.add(key);
    for (const key of affected) queue.add(key);
  });

  const ownSlices = (namespace: string, name: string) =>
    slices.list((s) => s.metadata.namespace === namespace && s.metadata.labels?.[LABEL_SERVICE_NAME] === name);

  async function deleteSlices(namespace: string, list: SliceObject[]): Promise<void> {
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
    const existing = ownSlices(namespace, name);
    // Our own last writes not yet in the cache: their watch events will enqueue this key again.
    if (tracker.stale(key, existing)) return;
    const service = services.get(key);
    if (!service?.spec?.selector || service.spec.type === 'ExternalName') {
      if (!service) triggers.forget(namespace, name);
      await deleteSlices(namespace, existing);
      return;
    }
    const selector = selectorFromSet(service.spec.selector);
    const selected = pods.list((p) => p.metadata.namespace === namespace && matches(selector, p.metadata.labels));
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
    await deleteSlices(namespace, changes.delete);
    if (changes.missingNodes.length) throw new Error(`pods on unknown nodes: ${changes.missingNodes.join(', ')}`);
  }

  for (const inf of [services, pods, nodes, slices]) inf.start();
  const synced = Promise.all([services.synced, pods.synced, nodes.synced, slices.synced]).then(() => {
    queue.run(sync, opts.workers ?? 5, 'endpointslice-controller');
  });
  return {
    synced,
    stop() {
      queue.stop();
      for (const inf of [services, pods, nodes, slices]) inf.stop();
    },
  };
}

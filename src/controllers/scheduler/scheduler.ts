/**
 * The scheduler loop: pending pods are queued by key, placed with `placePod`, and bound through
 * the `pods/binding` subresource (POST …/pods/{name}/binding with a Binding). Unschedulable pods
 * get PodScheduled=False/Unschedulable and a FailedScheduling event, and are retried whenever a
 * node changes (and every minute).
 *
 * The Client interface has no "create on a subresource" call, so the binding is posted as a
 * create on the resource path `pods/<name>/binding`, which both clients turn into the right URL.
 * Should the server answer 404/405 for it (no binding subresource), the scheduler falls back to
 * patching `spec.nodeName` and the PodScheduled condition directly.
 */
import { type KubeObject, objectKey, splitKey } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { WorkQueue } from '../../client/workqueue.js';
import { isStatus, type PodLike, type RunningController, runController, SharedInformers, timestamp } from '../controller.js';
import { EventRecorder } from '../events.js';
import { DEFAULT_SCHEDULER, needsScheduling, placePod } from './placement.js';

export interface SchedulerOptions {
  schedulerName?: string;
  informers?: SharedInformers;
  recorder?: EventRecorder;
  /** Retry interval for unschedulable pods when nothing changes (kube: 5 minutes; here 1 minute). */
  retryMs?: number;
  clock?: () => number;
  onError?: (key: string, err: unknown) => void;
}

export function startScheduler(client: Client, opts: SchedulerOptions = {}): RunningController {
  const name = opts.schedulerName ?? DEFAULT_SCHEDULER;
  const informers = opts.informers ?? new SharedInformers(client);
  const recorder = opts.recorder ?? new EventRecorder(client, { component: name });
  const clock = opts.clock ?? Date.now;
  const pods = informers.for<PodLike>(R.pods);
  const nodes = informers.for(R.nodes);
  const queue = new WorkQueue();
  /** Pods bound by us that the informer has not shown bound yet: counted for spreading. */
  const assumed = new Map<string, { node: string; pod: PodLike }>();

  const enqueue = (pod: PodLike) => {
    if (pod.spec?.nodeName || !pods.get(objectKey(pod))) assumed.delete(objectKey(pod));
    if (needsScheduling(pod, name)) queue.add(objectKey(pod));
  };
  const retryAll = () => {
    for (const pod of pods.list()) if (needsScheduling(pod, name)) queue.add(objectKey(pod));
  };
  pods.addHandlers({ add: enqueue, update: (_o, cur) => enqueue(cur), delete: (pod) => assumed.delete(objectKey(pod)) });
  nodes.addHandlers({ add: retryAll, update: retryAll });

  async function bind(pod: PodLike, nodeName: string): Promise<void> {
    const podName = pod.metadata.name ?? '';
    const binding = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: podName, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
      target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    };
    try {
      await client.create({ group: '', version: 'v1', resource: `pods/${encodeURIComponent(podName)}/binding` }, binding, {
        namespace: pod.metadata.namespace,
      });
    } catch (e) {
      if (!isStatus(e, 404, 405)) throw e;
      // No binding subresource on this server: set what the binding would have set.
      await client.patch(
        R.pods,
        podName,
        'merge',
        { metadata: { uid: pod.metadata.uid }, spec: { nodeName } },
        { namespace: pod.metadata.namespace },
      );
      await setScheduledCondition(pod, 'True').catch(() => {});
    }
  }

  async function setScheduledCondition(pod: PodLike, status: 'True' | 'False', reason?: string, message?: string): Promise<void> {
    const others = (pod.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled');
    const cond: Record<string, unknown> = { type: 'PodScheduled', status, lastProbeTime: null, lastTransitionTime: timestamp(clock()) };
    if (reason) cond.reason = reason;
    if (message) cond.message = message;
    await client.patch(
      R.pods,
      pod.metadata.name ?? '',
      'merge',
      { status: { conditions: [...others, cond] } },
      { namespace: pod.metadata.namespace, subresource: 'status' },
    );
  }

  async function sync(key: string): Promise<void> {
    const pod = pods.get(key);
    if (!pod || !needsScheduling(pod, name) || assumed.has(key)) return;
    const bound: { node: string; pod: PodLike }[] = [];
    for (const p of pods.list()) {
      const phase = p.status?.phase;
      if (p.spec?.nodeName && phase !== 'Succeeded' && phase !== 'Failed') bound.push({ node: p.spec.nodeName, pod: p });
    }
    for (const [k, a] of assumed) if (!pods.get(k)?.spec?.nodeName) bound.push(a);
    const placement = placePod(pod, nodes.list(), bound);
    const withKind = { ...pod, apiVersion: 'v1', kind: 'Pod' } as KubeObject;
    if ('unschedulable' in placement) {
      recorder.event(withKind, 'Warning', 'FailedScheduling', placement.unschedulable);
      const current = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled');
      if (current?.status !== 'False' || current.message !== placement.unschedulable) {
        await setScheduledCondition(pod, 'False', 'Unschedulable', placement.unschedulable).catch((e) => {
          if (!isStatus(e, 404)) throw e;
        });
      }
      queue.addAfter(key, opts.retryMs ?? 60_000);
      return;
    }
    assumed.set(key, { node: placement.node, pod });
    try {
      await bind(pod, placement.node);
    } catch (e) {
      assumed.delete(key);
      if (isStatus(e, 404)) return;
      throw e;
    }
    const { namespace, name: podName } = splitKey(key);
    recorder.event(withKind, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${podName} to ${placement.node}`);
  }

  return runController({
    name,
    queue,
    workers: 1,
    sync,
    waitFor: [pods.synced, nodes.synced],
    onError: opts.onError,
    ownInformers: opts.informers ? undefined : informers,
  });
}

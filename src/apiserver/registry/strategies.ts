/**
 * Per-resource strategies (kube-apiserver's pkg/registry/<group>/<resource>/strategy.go): what
 * clients may not set on create, what an update may not change, graceful deletion of pods.
 * Service allocation is added by the services registry (services.ts).
 */
import type { KubeObject } from '../../api/meta.js';
import type { Strategy } from './strategy.js';

/** Status is owned by controllers and written through the status subresource. */
const resetStatus: Strategy['prepareForCreate'] = (obj) => {
  delete obj.status;
};

export const defaultStrategy: Strategy = {};

export const strategies: Record<string, Strategy> = {
  namespaces: {
    prepareForCreate(obj) {
      obj.status = { phase: 'Active' };
      obj.spec = { ...obj.spec, finalizers: ['kubernetes'] };
    },
    prepareForUpdate(obj, old, ctx) {
      // spec.finalizers changes only through the finalize subresource, and that changes nothing else.
      if (ctx.subresource === 'finalize') {
        const finalizers = obj.spec?.finalizers;
        for (const k of Object.keys(obj)) delete obj[k];
        Object.assign(obj, structuredClone(old), { spec: { ...old.spec, finalizers } });
      } else {
        obj.spec = structuredClone(old.spec);
      }
    },
    blockingFinalizers: (obj) => obj.spec?.finalizers ?? [],
    onDeleteMarked(obj) {
      obj.status = { ...obj.status, phase: 'Terminating' };
    },
  },
  pods: {
    prepareForCreate(obj) {
      obj.status = { phase: 'Pending', qosClass: qosClass(obj) };
    },
    gracePeriod(obj, requested) {
      // Unscheduled pods, and pods whose node never ran them, go at once (as kube-apiserver).
      if (!obj.spec?.nodeName) return 0;
      if (obj.status?.phase === 'Succeeded' || obj.status?.phase === 'Failed') return 0;
      return requested ?? obj.spec?.terminationGracePeriodSeconds ?? 30;
    },
  },
  services: { prepareForCreate: resetStatus },
  deployments: { prepareForCreate: resetStatus, tracksGeneration: true },
  replicasets: { prepareForCreate: resetStatus, tracksGeneration: true },
  ingresses: { prepareForCreate: resetStatus },
  nodes: {},
};

/** The Pod's QoS class from its containers' requests and limits (BestEffort when none are set). */
function qosClass(pod: KubeObject): string {
  const containers: { resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> } }[] = [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []),
  ];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined) guaranteed = false;
      else if (req[r] !== undefined && String(req[r]) !== String(lim[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

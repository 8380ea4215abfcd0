/**
 * Which Services select a pod (GetPodServiceMemberships): the Services of the pod's namespace
 * whose selector matches its labels. Kept per namespace so a pod event looks only at its
 * namespace's Services.
 */

import { matches, selectorFromSet } from '../../api/labels.js';
import { objectKey } from '../../api/meta.js';
import { type CachedInformer, type InformerHandlers, podReadyCondition } from '../controller.js';
import type { PodObject, ServiceObject } from './util.js';

export class PodServiceIndex {
  private readonly byNamespace = new Map<string, Map<string, ReturnType<typeof selectorFromSet>>>();

  constructor(services: Pick<CachedInformer<ServiceObject>, 'addHandlers'>) {
    const seen = (svc: ServiceObject, deleted: boolean) => {
      const ns = svc.metadata.namespace ?? '';
      let m = this.byNamespace.get(ns);
      if (!m) {
        m = new Map();
        this.byNamespace.set(ns, m);
      }
      const selector = svc.spec?.selector;
      if (deleted || !selector || svc.spec?.type === 'ExternalName') m.delete(objectKey(svc));
      else m.set(objectKey(svc), selectorFromSet(selector));
    };
    services.addHandlers({
      add: (svc) => seen(svc, false),
      update: (_old, svc) => seen(svc, false),
      delete: (svc) => seen(svc, true),
    });
  }

  /** Pod handlers telling `enqueue` the keys of the Services a pod change can matter to. */
  podHandlers(enqueue: (serviceKey: string) => void): InformerHandlers<PodObject> {
    const changed = (pod: PodObject, old?: PodObject) => {
      for (const key of this.servicesFor(pod, old)) enqueue(key);
    };
    return {
      add: (pod) => changed(pod),
      update: (old, pod) => {
        if (podChangeMatters(pod, old)) changed(pod, old);
      },
      delete: (pod) => changed(pod),
    };
  }

  /** Keys of the Services selecting `pod` (or, for an update, either version of it). */
  servicesFor(pod: PodObject, old?: PodObject): Set<string> {
    const out = new Set<string>();
    const m = this.byNamespace.get(pod.metadata.namespace ?? '');
    if (!m) return out;
    for (const [key, sel] of m) {
      if (matches(sel, pod.metadata.labels) || (old && matches(sel, old.metadata.labels))) out.add(key);
    }
    return out;
  }
}

/** Whether a pod change can matter to endpoints (podEndpointsChanged, roughly): skip pure status noise. */
export function podChangeMatters(pod: PodObject, old: PodObject | undefined): boolean {
  if (!old) return true;
  const view = (p: PodObject) =>
    JSON.stringify([
      p.metadata.labels,
      p.metadata.deletionTimestamp,
      p.status?.podIP,
      p.status?.podIPs,
      p.status?.phase,
      podReadyCondition(p),
      p.spec?.nodeName,
      p.spec?.hostname,
      p.spec?.subdomain,
      p.spec?.containers?.map((c) => c.ports),
    ]);
  return view(pod) !== view(old);
}

/**
 * Which Services select a pod (GetPodServiceMemberships): the Services of the pod's namespace
 * whose selector matches its labels. Kept per namespace so a pod event looks only at its
 * namespace's Services.
 */

import { matches, selectorFromSet } from '../../api/labels.js';
import { objectKey } from '../../api/meta.js';
import type { Informer } from './runtime.js';
import type { PodObject, ServiceObject } from './util.js';

export class PodServiceIndex {
  private readonly byNamespace = new Map<string, Map<string, ReturnType<typeof selectorFromSet>>>();

  constructor(services: Informer<ServiceObject>) {
    services.on((kind, svc) => {
      const ns = svc.metadata.namespace ?? '';
      let m = this.byNamespace.get(ns);
      if (!m) {
        m = new Map();
        this.byNamespace.set(ns, m);
      }
      const selector = svc.spec?.selector;
      if (kind === 'DELETED' || !selector || svc.spec?.type === 'ExternalName') m.delete(objectKey(svc));
      else m.set(objectKey(svc), selectorFromSet(selector));
    });
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
      (p.status?.conditions ?? []).find((c) => c.type === 'Ready'),
      p.spec?.nodeName,
      p.spec?.hostname,
      p.spec?.subdomain,
      p.spec?.containers?.map((c) => c.ports),
    ]);
  return view(pod) !== view(old);
}

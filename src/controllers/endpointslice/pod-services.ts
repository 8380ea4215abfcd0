/**
 * Which Services select a pod (GetPodServiceMemberships): the Services of the pod's namespace
 * whose selector matches its labels. Kept per namespace so a pod event looks only at its
 * namespace's Services.
 */

import { objectKey } from '../../api/meta.js';
import { type CachedInformer, type InformerHandlers, podReadyCondition } from '../controller.js';
import type { PodObject, ServiceObject } from './util.js';

export class PodServiceIndex {
  /** Service key → its selector, per namespace. */
  private readonly selectors = new Map<string, Record<string, string>>();
  /** `namespace/key=value` → keys of the Services whose selector has that pair. */
  private readonly byPair = new Map<string, Set<string>>();

  constructor(services: Pick<CachedInformer<ServiceObject>, 'addHandlers'>) {
    const seen = (svc: ServiceObject, deleted: boolean) => {
      const key = objectKey(svc);
      this.forget(key, svc.metadata.namespace ?? '');
      const selector = svc.spec?.selector;
      if (deleted || !selector || svc.spec?.type === 'ExternalName' || Object.keys(selector).length === 0) return;
      this.selectors.set(key, selector);
      for (const pair of pairsOf(svc.metadata.namespace ?? '', selector)) {
        let set = this.byPair.get(pair);
        if (!set) {
          set = new Set();
          this.byPair.set(pair, set);
        }
        set.add(key);
      }
    };
    services.addHandlers({
      add: (svc) => seen(svc, false),
      update: (_old, svc) => seen(svc, false),
      delete: (svc) => seen(svc, true),
    });
  }

  private forget(key: string, namespace: string): void {
    const old = this.selectors.get(key);
    if (!old) return;
    this.selectors.delete(key);
    for (const pair of pairsOf(namespace, old)) {
      const set = this.byPair.get(pair);
      set?.delete(key);
      if (set?.size === 0) this.byPair.delete(pair);
    }
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
    const ns = pod.metadata.namespace ?? '';
    for (const version of old ? [pod, old] : [pod]) {
      const labels = version.metadata.labels ?? {};
      // Only Services sharing at least one label pair with the pod can select it.
      for (const pair of pairsOf(ns, labels)) {
        for (const key of this.byPair.get(pair) ?? []) {
          if (out.has(key)) continue;
          const sel = this.selectors.get(key);
          if (sel && Object.entries(sel).every(([k, v]) => labels[k] === v)) out.add(key);
        }
      }
    }
    return out;
  }
}

function pairsOf(namespace: string, labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${namespace}/${k}=${v}`);
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

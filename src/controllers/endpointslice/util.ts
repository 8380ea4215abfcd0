/**
 * Helpers the three endpoint controllers share (kube's staging/src/k8s.io/endpointslice/util and
 * pkg/controller/util/endpoint): which pods become endpoints, how a Service port resolves on a
 * pod, hostnames for headless Services, the last-change trigger time, and which EndpointSlices a
 * controller manages.
 */
import type { KubeObject } from '../../api/meta.js';
import type { EndpointSlice, Pod, Service, ServiceSpec } from '../../api/types/index.js';
import { namespacedLabelIndexFunc } from '../../client/lister.js';
import { type InformerHandlers, podReadyCondition } from '../controller.js';

export type ServiceObject = KubeObject & Pick<Service, 'spec'>;
export type PodObject = KubeObject & Pick<Pod, 'spec' | 'status'>;
export type SliceObject = KubeObject & Omit<EndpointSlice, 'metadata' | 'apiVersion' | 'kind'>;
export type ServicePort = NonNullable<ServiceSpec['ports']>[number];

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
export const ANNOTATION_LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** Leader-election records lived in Endpoints once; those are never mirrored nor deleted. */
export const ANNOTATION_LEADER = 'control-plane.alpha.kubernetes.io/leader';
export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
export const MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';

/**
 * ShouldPodBeInEndpoints: finished pods and pods without an IP never are; terminating pods are
 * only when the caller wants them (EndpointSlices always do, Endpoints only with
 * publishNotReadyAddresses).
 */
export function shouldPodBeInEndpoints(pod: PodObject, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (!pod.status?.podIP && !pod.status?.podIPs?.length) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  return true;
}

/** The pod's IPs of one family (IPv4 or IPv6), podIPs first, podIP as the fallback. */
export function podAddresses(pod: PodObject, family: 'IPv4' | 'IPv6'): string[] {
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip) : pod.status?.podIP ? [pod.status.podIP] : [];
  return ips.filter((ip) => (family === 'IPv6') === ip.includes(':'));
}

/**
 * podutil.FindPort: a numeric targetPort is used as is; a named one is looked up among the pod's
 * container ports with the same protocol. Undefined when the pod has no such port.
 */
export function findPort(pod: PodObject, servicePort: ServicePort): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  const protocol = servicePort.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/** ShouldSetHostname: the pod asked for a hostname and its subdomain is this Service. */
export function shouldSetHostname(pod: PodObject, service: ServiceObject): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === service.metadata.name && pod.metadata.namespace === service.metadata.namespace;
}

/** helper.IsServiceIPSet: a Service with a cluster IP (not headless, not ExternalName). */
export function isServiceIPSet(service: ServiceObject): boolean {
  const ip = service.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

/** RFC 3339 as Go's time.RFC3339Nano prints it (no trailing zero fraction). */
export function formatTriggerTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.?0+Z$/, 'Z')
    .replace(/\.Z$/, 'Z');
}

/**
 * TriggerTimeTracker: remembers, per Service, the trigger times it has seen (the Service's creation
 * and each pod's Ready transition) and reports the earliest one that changed since the last sync —
 * the moment the change that this sync publishes began, for network-programming latency.
 */
export class TriggerTimeTracker {
  private readonly state = new Map<string, { service: number; pods: Map<string, number> }>();

  compute(service: ServiceObject, pods: PodObject[]): number | undefined {
    const key = `${service.metadata.namespace}/${service.metadata.name}`;
    const before = this.state.get(key);
    let first: number | undefined;
    const seen = new Map<string, number>();
    for (const pod of pods) {
      const ready = podReadyCondition(pod);
      const t = ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : Number.NaN;
      if (Number.isNaN(t)) continue;
      seen.set(pod.metadata.name ?? '', t);
      if (before?.pods.get(pod.metadata.name ?? '') !== t) first = first === undefined ? t : Math.min(first, t);
    }
    const created = Date.parse(service.metadata.creationTimestamp ?? '');
    if (!Number.isNaN(created) && before?.service !== created) first = first === undefined ? created : Math.min(first, created);
    this.state.set(key, { service: created, pods: seen });
    return first;
  }

  forget(namespace: string, name: string): void {
    this.state.delete(`${namespace}/${name}`);
  }
}

/** The EndpointSlice informer's index of slices by their Service's key (`namespace/name`). */
export const SLICES_BY_SERVICE = 'endpointslice-service';
export const sliceIndexers = { [SLICES_BY_SERVICE]: namespacedLabelIndexFunc(LABEL_SERVICE_NAME) };

/** Whether `controller` (the managed-by label's value) manages the slice. */
export function isManagedBy(slice: KubeObject, controller: string): boolean {
  return slice.metadata.labels?.[LABEL_MANAGED_BY] === controller;
}

/**
 * Handlers telling `changed` the Service key of every slice `controller` manages that changes —
 * including one relabelled away from it, as a watch filtered by the label would report its deletion.
 */
export function managedSliceHandlers(controller: string, changed: (serviceKey: string) => void): InformerHandlers<SliceObject> {
  const tell = (slice: SliceObject) => {
    const service = slice.metadata.labels?.[LABEL_SERVICE_NAME];
    if (service && isManagedBy(slice, controller)) changed(`${slice.metadata.namespace}/${service}`);
  };
  return { add: tell, update: (old, cur) => tell(isManagedBy(cur, controller) ? cur : old), delete: tell };
}

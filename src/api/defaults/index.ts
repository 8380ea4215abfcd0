/**
 * kube-apiserver's defaulting (pkg/apis/<group>/v1/defaults.go) per kind: `applyDefaults(kind, obj)`
 * fills what a user may omit, in place, and is idempotent — running it twice changes nothing.
 * Allocated values (clusterIPs, nodePorts) are the allocator's job, not defaulting's.
 */

import type { KubeObject } from '../meta.js';
import { defaultPod, defaultPodTemplate } from './pod.js';
import { defaultService } from './service.js';

export { defaultPod, defaultPodSpec, defaultPodTemplate, imageTag } from './pod.js';
export {
  DEFAULT_CLIENT_IP_AFFINITY_SECONDS,
  defaultService,
  initServiceIPFamilies,
  normalizeClusterIPs,
  patchAllocatedValues,
} from './service.js';

/* biome-ignore-start lint/suspicious/noExplicitAny: bodies are loosely typed JSON here */
type Json = any;
/* biome-ignore-end lint/suspicious/noExplicitAny: bodies are loosely typed JSON here */

export function defaultDeployment(d: KubeObject): void {
  d.spec ??= {};
  const s = d.spec;
  s.replicas ??= 1;
  s.strategy ??= {};
  if (!s.strategy.type) s.strategy.type = 'RollingUpdate';
  if (s.strategy.type === 'RollingUpdate') {
    s.strategy.rollingUpdate ??= {};
    s.strategy.rollingUpdate.maxUnavailable ??= '25%';
    s.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  s.revisionHistoryLimit ??= 10;
  s.progressDeadlineSeconds ??= 600;
  s.template ??= {};
  defaultPodTemplate(s.template);
}

export function defaultReplicaSet(rs: KubeObject): void {
  rs.spec ??= {};
  rs.spec.replicas ??= 1;
  rs.spec.template ??= {};
  defaultPodTemplate(rs.spec.template);
}

function defaultPortProtocols(ports: Json[] | undefined): void {
  for (const p of ports ?? []) if (!p.protocol) p.protocol = 'TCP';
}

export function defaultEndpoints(ep: KubeObject): void {
  for (const ss of ep.subsets ?? []) defaultPortProtocols(ss.ports);
}

export function defaultEndpointSlice(slice: KubeObject): void {
  for (const p of slice.ports ?? []) {
    p.name ??= '';
    if (!p.protocol) p.protocol = 'TCP';
  }
}

/**
 * Namespaces: phase Active and the immutable name label. (The `kubernetes` finalizer is added
 * on create by the namespace strategy, not by defaulting, so finalizing can empty the list.)
 */
export function defaultNamespace(ns: KubeObject): void {
  const name = ns.metadata?.name;
  if (name) {
    ns.metadata.labels ??= {};
    ns.metadata.labels['kubernetes.io/metadata.name'] = name;
  }
  ns.status ??= {};
  if (!ns.status.phase) ns.status.phase = 'Active';
}

export function defaultNode(node: KubeObject): void {
  const st = node.status;
  if (st?.capacity && !st.allocatable) st.allocatable = { ...st.capacity };
}

export function defaultSecret(secret: KubeObject): void {
  if (!secret.type) secret.type = 'Opaque';
}

export function defaultIngressClass(ic: KubeObject): void {
  const params = ic.spec?.parameters;
  if (params && !params.scope) params.scope = 'Cluster';
}

const defaulters: Record<string, (obj: KubeObject) => void> = {
  Service: defaultService,
  Pod: defaultPod,
  Deployment: defaultDeployment,
  ReplicaSet: defaultReplicaSet,
  Endpoints: defaultEndpoints,
  EndpointSlice: defaultEndpointSlice,
  Namespace: defaultNamespace,
  Node: defaultNode,
  Secret: defaultSecret,
  IngressClass: defaultIngressClass,
};

/** Applies kube's defaults for `kind` to `obj` in place (kinds without defaults are left alone). */
export function applyDefaults(kind: string, obj: KubeObject): void {
  defaulters[kind]?.(obj);
}

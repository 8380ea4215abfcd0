/** Service defaulting (core/v1 SetDefaults_Service) and the registry-side clusterIP helpers. */

import type { KubeObject } from '../meta.js';
import { parseIP } from '../names.js';

/* biome-ignore-start lint/suspicious/noExplicitAny: service bodies are loosely typed JSON here */
type Json = any;
/* biome-ignore-end lint/suspicious/noExplicitAny: service bodies are loosely typed JSON here */

/** v1.DefaultClientIPServiceAffinitySeconds: three hours. */
export const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;

const externallyAccessible = (s: Json) =>
  s.type === 'LoadBalancer' || s.type === 'NodePort' || (s.type === 'ClusterIP' && s.externalIPs?.length > 0);

export function defaultService(svc: KubeObject): void {
  svc.spec ??= {};
  const s = svc.spec;
  if (!s.sessionAffinity) s.sessionAffinity = 'None';
  if (s.sessionAffinity === 'None') delete s.sessionAffinityConfig;
  if (s.sessionAffinity === 'ClientIP' && typeof s.sessionAffinityConfig?.clientIP?.timeoutSeconds !== 'number')
    s.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_AFFINITY_SECONDS } };
  if (!s.type) s.type = 'ClusterIP';
  for (const p of s.ports ?? []) {
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (externallyAccessible(s) && !s.externalTrafficPolicy) s.externalTrafficPolicy = 'Cluster';
  if (!s.internalTrafficPolicy && (s.type === 'NodePort' || s.type === 'LoadBalancer' || s.type === 'ClusterIP'))
    s.internalTrafficPolicy = 'Cluster';
  if (s.type === 'LoadBalancer' && (s.allocateLoadBalancerNodePorts === undefined || s.allocateLoadBalancerNodePorts === null))
    s.allocateLoadBalancerNodePorts = true;
  if (s.type === 'LoadBalancer') for (const ing of svc.status?.loadBalancer?.ingress ?? []) if (ing.ip && !ing.ipMode) ing.ipMode = 'VIP';
  normalizeClusterIPs(svc);
  initServiceIPFamilies(svc);
}

/**
 * The registry's initIPFamilyFields: what `kubectl get svc -o yaml` shows as ipFamilyPolicy and
 * ipFamilies. Single-stack unless asked otherwise; a headless Service without a selector asks
 * for every cluster family (RequireDualStack). ExternalName Services have no families.
 */
export function initServiceIPFamilies(svc: KubeObject, clusterFamilies: ('IPv4' | 'IPv6')[] = ['IPv4']): void {
  const s = svc.spec;
  if (!s || s.type === 'ExternalName') return;
  const ips: string[] = s.clusterIPs ?? [];
  const headless = ips.length === 1 && ips[0] === 'None';
  if (headless && Object.keys(s.selector ?? {}).length === 0) {
    s.ipFamilyPolicy ??= 'RequireDualStack';
    if (!s.ipFamilies?.length) s.ipFamilies = s.ipFamilyPolicy === 'SingleStack' ? [clusterFamilies[0]] : [...clusterFamilies];
    return;
  }
  s.ipFamilyPolicy ??= 'SingleStack';
  if (!s.ipFamilies?.length) {
    const given = headless ? [] : ips.map((ip) => parseIP(ip)).filter((ip) => ip !== undefined);
    const families = given.length ? given.map((ip) => (ip.family === 4 ? 'IPv4' : 'IPv6')) : [clusterFamilies[0]];
    if (s.ipFamilyPolicy !== 'SingleStack' && families.length === 1 && clusterFamilies.length > 1)
      families.push(clusterFamilies.find((f) => f !== families[0]) ?? clusterFamilies[1]);
    s.ipFamilies = families;
  }
}

/**
 * The strategy's NormalizeClusterIPs: keeps the singular `clusterIP` and plural `clusterIPs` in
 * step for old clients that send only one of them.
 */
export function normalizeClusterIPs(svc: KubeObject, old?: KubeObject): void {
  svc.spec ??= {};
  const n = svc.spec;
  if (!old) {
    if (n.clusterIP && !n.clusterIPs?.length) n.clusterIPs = [n.clusterIP];
    return;
  }
  const o = old.spec ?? {};
  const same = (a?: string[], b?: string[]) => (a ?? []).length === (b ?? []).length && (a ?? []).every((x, i) => x === b?.[i]);
  if (o.clusterIPs?.length && !n.clusterIPs?.length && (o.clusterIP ?? '') === (n.clusterIP ?? '')) n.clusterIPs = o.clusterIPs;
  if ((o.clusterIP ?? '') !== (n.clusterIP ?? '')) {
    if (o.clusterIP && !n.clusterIP) {
      delete n.clusterIPs;
      return;
    }
    if (same(o.clusterIPs, n.clusterIPs)) delete n.clusterIPs;
    if (n.clusterIP && !n.clusterIPs?.length) n.clusterIPs = [n.clusterIP];
  }
}

/**
 * The strategy's PatchAllocatedValues for updates: a full replace (PUT) that omits clusterIP,
 * nodePorts or healthCheckNodePort keeps the ones already allocated, where the type still uses them.
 */
export function patchAllocatedValues(svc: KubeObject, old: KubeObject): void {
  svc.spec ??= {};
  const n = svc.spec;
  const o = old.spec ?? {};
  const needsClusterIP = (t: string) => t !== 'ExternalName';
  if (needsClusterIP(n.type) && needsClusterIP(o.type) && !n.clusterIP && o.clusterIP) {
    n.clusterIP = o.clusterIP;
    if (!n.clusterIPs?.length) n.clusterIPs = o.clusterIPs;
  }
  const needsNodePorts = (t: string) => t === 'NodePort' || t === 'LoadBalancer';
  if (needsNodePorts(n.type) && needsNodePorts(o.type)) {
    for (const p of n.ports ?? []) {
      if (p.nodePort) continue;
      const prev = (o.ports ?? []).find((q: Json) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (prev?.nodePort) p.nodePort = prev.nodePort;
    }
  }
  if (n.type === 'LoadBalancer' && n.externalTrafficPolicy === 'Local' && !n.healthCheckNodePort && o.healthCheckNodePort)
    n.healthCheckNodePort = o.healthCheckNodePort;
}

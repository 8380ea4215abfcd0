/** Service validation as pkg/apis/core/validation does it (ValidateService / ValidateServiceUpdate). */

import { type FieldError, fieldErr } from '../errors.js';
import type { IntOrString } from '../intstr.js';
import type { KubeObject } from '../meta.js';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  isIPv6String,
  isQualifiedName,
  isValidCIDR,
  isValidIP,
  isValidPortName,
  isValidPortNum,
  nameIsDNS1035Label,
  nonSpecialIPErrors,
  parseIP,
} from '../names.js';
import {
  child,
  duplicateRendered,
  goStringSlice,
  idx,
  invalidRendered,
  validateLabels,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './meta.js';

export interface ServicePortLike {
  name?: string;
  protocol?: string;
  appProtocol?: string;
  port: number;
  targetPort?: IntOrString;
  nodePort?: number;
}

export interface ServiceSpecLike {
  type?: string;
  ports?: ServicePortLike[];
  selector?: Record<string, string> | null;
  clusterIP?: string;
  clusterIPs?: string[];
  externalIPs?: string[];
  externalName?: string;
  sessionAffinity?: string;
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } } | null;
  loadBalancerIP?: string;
  loadBalancerSourceRanges?: string[];
  loadBalancerClass?: string | null;
  externalTrafficPolicy?: string;
  internalTrafficPolicy?: string;
  healthCheckNodePort?: number;
  ipFamilies?: string[];
  ipFamilyPolicy?: string | null;
  allocateLoadBalancerNodePorts?: boolean | null;
  publishNotReadyAddresses?: boolean;
  trafficDistribution?: string | null;
}

export const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
export const PORT_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const SESSION_AFFINITIES = ['ClientIP', 'None'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const IP_FAMILIES = ['IPv4', 'IPv6'];
const IP_FAMILY_POLICIES = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
/** core.MaxClientIPServiceAffinitySeconds */
export const MAX_CLIENT_IP_AFFINITY_SECONDS = 86400;

function spec(svc: KubeObject): ServiceSpecLike {
  return (svc.spec ?? {}) as ServiceSpecLike;
}

export function isHeadlessService(svc: KubeObject): boolean {
  const ips = spec(svc).clusterIPs ?? [];
  return ips.length === 1 && ips[0] === 'None';
}

/** apiservice.ExternallyAccessible: reachable from outside the cluster network. */
export function externallyAccessible(s: ServiceSpecLike): boolean {
  return s.type === 'LoadBalancer' || s.type === 'NodePort' || (s.type === 'ClusterIP' && (s.externalIPs?.length ?? 0) > 0);
}

/** apiservice.NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local. */
export function needsHealthCheck(s: ServiceSpecLike): boolean {
  return s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';
}

/** ValidatePortNumOrName: an int port in range, or an IANA service name. */
export function validatePortNumOrName(port: IntOrString | undefined, field: string): FieldError[] {
  if (typeof port === 'number') return isValidPortNum(port).map((m) => fieldErr.invalid(field, port, m));
  if (typeof port === 'string') return isValidPortName(port).map((m) => fieldErr.invalid(field, port, m));
  return [{ type: 'InternalError', field, value: port, detail: 'unknown type: 0' }];
}

function validateServicePort(sp: ServicePortLike, requireName: boolean, names: Set<string>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (requireName && !sp.name) errs.push(fieldErr.required(child(path, 'name')));
  else if (sp.name) {
    for (const m of isDNS1123Label(sp.name)) errs.push(fieldErr.invalid(child(path, 'name'), sp.name, m));
    if (names.has(sp.name)) errs.push(fieldErr.duplicate(child(path, 'name'), sp.name));
    else names.add(sp.name);
  }
  for (const m of isValidPortNum(sp.port ?? 0)) errs.push(fieldErr.invalid(child(path, 'port'), sp.port ?? 0, m));
  if (!sp.protocol) errs.push(fieldErr.required(child(path, 'protocol')));
  else if (!PORT_PROTOCOLS.includes(sp.protocol)) errs.push(fieldErr.notSupported(child(path, 'protocol'), sp.protocol, PORT_PROTOCOLS));
  errs.push(...validatePortNumOrName(sp.targetPort, child(path, 'targetPort')));
  if (sp.appProtocol !== undefined && sp.appProtocol !== null)
    for (const m of isQualifiedName(sp.appProtocol)) errs.push(fieldErr.invalid(child(path, 'appProtocol'), sp.appProtocol, m));
  return errs;
}

function goServicePortKey(protocol: string | undefined, port: number): string {
  return `core.ServicePort{Name:"", Protocol:${JSON.stringify(protocol ?? '')}, AppProtocol:(*string)(nil), Port:${port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`;
}

function validateClusterIPsRelated(svc: KubeObject): FieldError[] {
  const s = spec(svc);
  if (s.type === 'ExternalName') return [];
  const errs: FieldError[] = [];
  const ipsField = 'spec.clusterIPs';
  const ips = s.clusterIPs ?? [];
  const families = s.ipFamilies ?? [];
  if (s.clusterIP) {
    if (ips.length === 0) errs.push(fieldErr.required(ipsField));
    else if (ips[0] !== s.clusterIP) errs.push(fieldErr.invalid(ipsField, ips, 'first value must match `clusterIP`'));
  } else if (ips.length !== 0) {
    errs.push(fieldErr.invalid(ipsField, ips, 'must be empty when `clusterIP` is not specified'));
  }
  const seen = new Set<string>();
  families.forEach((f, i) => {
    if (!IP_FAMILIES.includes(f)) errs.push(fieldErr.notSupported(idx('spec.ipFamilies', i), f, IP_FAMILIES));
    if (seen.has(f)) errs.push(fieldErr.duplicate(idx('spec.ipFamilies', i), f));
    seen.add(f);
  });
  if (s.ipFamilyPolicy !== undefined && s.ipFamilyPolicy !== null && !IP_FAMILY_POLICIES.includes(s.ipFamilyPolicy))
    errs.push(fieldErr.notSupported('spec.ipFamilyPolicy', s.ipFamilyPolicy, IP_FAMILY_POLICIES));
  let badIPs = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        badIPs = true;
        errs.push(fieldErr.invalid(ipsField, ips, "'None' must be the first and only value"));
      }
      return;
    }
    const msgs = isValidIP(ip);
    if (msgs.length) badIPs = true;
    for (const m of msgs) errs.push(fieldErr.invalid(idx(ipsField, i), ip, m));
  });
  if (ips.length > 2) errs.push(fieldErr.invalid(ipsField, ips, 'may only hold up to 2 values'));
  if (badIPs) return errs;
  if (ips.length > 1) {
    const fams = new Set(ips.map((ip) => parseIP(ip)?.family));
    if (fams.size !== ips.length) errs.push(fieldErr.invalid(ipsField, ips, 'may specify no more than one IP for each IP family'));
  }
  if (!isHeadlessService(svc) && ips.length > 0 && families.length > 0) {
    ips.forEach((ip, i) => {
      if (i > families.length - 1) return;
      if (families[i] === 'IPv4' && isIPv6String(ip))
        errs.push(fieldErr.invalid(idx(ipsField, i), ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (families[i] === 'IPv6' && !isIPv6String(ip))
        errs.push(fieldErr.invalid(idx(ipsField, i), ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
  }
  return errs;
}

function validateClientIPAffinityConfig(cfg: ServiceSpecLike['sessionAffinityConfig'], path: string): FieldError[] {
  const why = 'when session affinity type is ClientIP';
  if (!cfg) return [fieldErr.required(path, why)];
  if (!cfg.clientIP) return [fieldErr.required(child(path, 'clientIP'), why)];
  const t = cfg.clientIP.timeoutSeconds;
  const p = child(path, 'clientIP', 'timeoutSeconds');
  if (t === undefined || t === null) return [fieldErr.required(p, why)];
  if (t <= 0 || t > MAX_CLIENT_IP_AFFINITY_SECONDS)
    return [fieldErr.invalid(p, t, `must be greater than 0 and less than ${MAX_CLIENT_IP_AFFINITY_SECONDS}`)];
  return [];
}

function validateLoadBalancerClass(svc: KubeObject, old?: KubeObject): FieldError[] {
  const s = spec(svc);
  const errs: FieldError[] = [];
  const field = 'spec.loadBalancerClass';
  if (
    old &&
    spec(old).type === 'LoadBalancer' &&
    s.type === 'LoadBalancer' &&
    (spec(old).loadBalancerClass ?? null) !== (s.loadBalancerClass ?? null)
  )
    errs.push(fieldErr.invalid(field, s.loadBalancerClass ?? null, 'may not change once set'));
  if (s.type === 'LoadBalancer') {
    if (s.loadBalancerClass !== undefined && s.loadBalancerClass !== null)
      for (const m of isQualifiedName(s.loadBalancerClass)) errs.push(fieldErr.invalid(field, s.loadBalancerClass, m));
  } else if (s.loadBalancerClass !== undefined && s.loadBalancerClass !== null) {
    errs.push(fieldErr.forbidden(field, "may only be used when `type` is 'LoadBalancer'"));
  }
  return errs;
}

function validateTrafficPolicies(s: ServiceSpecLike): FieldError[] {
  const errs: FieldError[] = [];
  if (!externallyAccessible(s)) {
    if (s.externalTrafficPolicy)
      errs.push(
        fieldErr.invalid('spec.externalTrafficPolicy', s.externalTrafficPolicy, 'may only be set for externally-accessible services'),
      );
  } else if (!s.externalTrafficPolicy) {
    errs.push(fieldErr.required('spec.externalTrafficPolicy'));
  } else if (!TRAFFIC_POLICIES.includes(s.externalTrafficPolicy)) {
    errs.push(fieldErr.notSupported('spec.externalTrafficPolicy', s.externalTrafficPolicy, TRAFFIC_POLICIES));
  }
  if (!needsHealthCheck(s)) {
    if (s.healthCheckNodePort)
      errs.push(
        fieldErr.invalid(
          'spec.healthCheckNodePort',
          s.healthCheckNodePort,
          "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        ),
      );
  } else if (!s.healthCheckNodePort) {
    errs.push(fieldErr.required('spec.healthCheckNodePort'));
  } else {
    for (const m of isValidPortNum(s.healthCheckNodePort))
      errs.push(fieldErr.invalid('spec.healthCheckNodePort', s.healthCheckNodePort, m));
  }
  // Not forbidden on ExternalName (backwards compatibility), but required on the proxied types.
  if (!s.internalTrafficPolicy) {
    if (s.type === 'NodePort' || s.type === 'LoadBalancer' || s.type === 'ClusterIP')
      errs.push(fieldErr.required('spec.internalTrafficPolicy', 'must be specified'));
  } else if (!TRAFFIC_POLICIES.includes(s.internalTrafficPolicy)) {
    errs.push(fieldErr.notSupported('spec.internalTrafficPolicy', s.internalTrafficPolicy, TRAFFIC_POLICIES));
  }
  if (s.trafficDistribution !== undefined && s.trafficDistribution !== null && s.trafficDistribution !== 'PreferClose')
    errs.push(fieldErr.notSupported('spec.trafficDistribution', s.trafficDistribution, ['PreferClose']));
  return errs;
}

/**
 * ValidateService. It runs after defaulting and after the registry has synced clusterIP/clusterIPs
 * and allocated IPs and node ports (kube allocates before validating), so a Service without a
 * clusterIPs list here has none on purpose.
 */
export function validateService(svc: KubeObject): FieldError[] {
  const errs = validateObjectMeta(svc.metadata, true, nameIsDNS1035Label);
  const s = spec(svc);
  const ports = s.ports ?? [];
  const headless = isHeadlessService(svc);
  if (ports.length === 0 && !headless && s.type !== 'ExternalName') errs.push(fieldErr.required('spec.ports'));
  switch (s.type) {
    case 'LoadBalancer':
      if (headless) errs.push(fieldErr.invalid('spec.clusterIPs[0]', 'None', "may not be set to 'None' for LoadBalancer services"));
      break;
    case 'NodePort':
      if (headless) errs.push(fieldErr.invalid('spec.clusterIPs[0]', 'None', "may not be set to 'None' for NodePort services"));
      break;
    case 'ExternalName': {
      if ((s.clusterIPs ?? []).length > 0) errs.push(fieldErr.forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
      if ((s.ipFamilies ?? []).length > 0) errs.push(fieldErr.forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
      if (s.ipFamilyPolicy !== undefined && s.ipFamilyPolicy !== null)
        errs.push(fieldErr.forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
      // A trailing dot marks the CNAME as fully qualified.
      const cname = (s.externalName ?? '').replace(/\.$/, '');
      if (cname) for (const m of isDNS1123Subdomain(cname)) errs.push(fieldErr.invalid('spec.externalName', cname, m));
      else errs.push(fieldErr.required('spec.externalName'));
      break;
    }
  }
  const names = new Set<string>();
  ports.forEach((p, i) => {
    errs.push(...validateServicePort(p, ports.length > 1, names, idx('spec.ports', i)));
  });
  if (s.selector) errs.push(...validateLabels(s.selector, 'spec.selector'));
  if (!s.sessionAffinity) errs.push(fieldErr.required('spec.sessionAffinity'));
  else if (!SESSION_AFFINITIES.includes(s.sessionAffinity))
    errs.push(fieldErr.notSupported('spec.sessionAffinity', s.sessionAffinity, SESSION_AFFINITIES));
  if (s.sessionAffinity === 'ClientIP') errs.push(...validateClientIPAffinityConfig(s.sessionAffinityConfig, 'spec.sessionAffinityConfig'));
  else if (s.sessionAffinity === 'None' && s.sessionAffinityConfig)
    errs.push(fieldErr.forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  errs.push(...validateClusterIPsRelated(svc));
  (s.externalIPs ?? []).forEach((ip, i) => {
    const p = idx('spec.externalIPs', i);
    const msgs = isValidIP(ip);
    if (msgs.length) for (const m of msgs) errs.push(fieldErr.invalid(p, ip, m));
    else for (const m of nonSpecialIPErrors(ip)) errs.push(fieldErr.invalid(p, ip, m));
  });
  if (!s.type) errs.push(fieldErr.required('spec.type'));
  else if (!SERVICE_TYPES.includes(s.type)) errs.push(fieldErr.notSupported('spec.type', s.type, SERVICE_TYPES));
  if (s.type === 'ClusterIP')
    ports.forEach((p, i) => {
      if (p.nodePort) errs.push(fieldErr.forbidden(`${idx('spec.ports', i)}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    if (!p.nodePort) return;
    const key = `${p.protocol}/${p.nodePort}`;
    if (nodePorts.has(key)) errs.push(fieldErr.duplicate(`${idx('spec.ports', i)}.nodePort`, p.nodePort));
    nodePorts.add(key);
  });
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    const key = `${p.protocol}/${p.port}`;
    // kube keys the check by a ServicePort struct and prints that struct.
    if (portKeys.has(key)) errs.push(duplicateRendered(idx('spec.ports', i), goServicePortKey(p.protocol, p.port)));
    portKeys.add(key);
  });
  if ((s.loadBalancerSourceRanges ?? []).length > 0) {
    const p = 'spec.LoadBalancerSourceRanges';
    if (s.type !== 'LoadBalancer') errs.push(fieldErr.forbidden(p, "may only be used when `type` is 'LoadBalancer'"));
    (s.loadBalancerSourceRanges ?? []).forEach((r, i) => {
      const v = r.trim();
      for (const m of isValidCIDR(v)) errs.push(fieldErr.invalid(idx(p, i), v, m));
    });
  }
  if (s.allocateLoadBalancerNodePorts !== undefined && s.allocateLoadBalancerNodePorts !== null && s.type !== 'LoadBalancer')
    errs.push(fieldErr.forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  // Upstream reports this one without the `spec.` prefix.
  if (s.type === 'LoadBalancer' && (s.allocateLoadBalancerNodePorts === undefined || s.allocateLoadBalancerNodePorts === null))
    errs.push(fieldErr.required('allocateLoadBalancerNodePorts'));
  errs.push(...validateLoadBalancerClass(svc));
  errs.push(...validateTrafficPolicies(s));
  return errs;
}

function upgradeDowngradeClusterIPs(old: KubeObject, svc: KubeObject): FieldError[] {
  const s = spec(svc);
  const o = spec(old);
  if (s.type === 'ExternalName' || o.type === 'ExternalName') return [];
  if (isHeadlessService(old) && isHeadlessService(svc)) return [];
  const errs: FieldError[] = [];
  const n = s.clusterIPs ?? [];
  const p = o.clusterIPs ?? [];
  const changed = (i: number) => errs.push(fieldErr.invalid(idx('spec.clusterIPs', i), n, 'may not change once set'));
  if (p.length === n.length) {
    p.forEach((ip, i) => {
      if (ip !== n[i]) changed(i);
    });
  } else if (p.length > n.length) {
    if (n.length === 0) errs.push(fieldErr.invalid('spec.clusterIPs[0]', n, 'primary clusterIP can not be unset'));
    if (p.length > 0 && n.length > 0 && n[0] !== p[0]) changed(0);
    if (n.length === 1 && s.ipFamilyPolicy !== 'SingleStack')
      errs.push(
        fieldErr.invalid(
          'spec.ipFamilyPolicy',
          s.ipFamilyPolicy ?? null,
          "must be set to 'SingleStack' when releasing the secondary clusterIP",
        ),
      );
  } else if (p.length > 0 && n[0] !== p[0]) {
    changed(0);
  }
  return errs;
}

function upgradeDowngradeIPFamilies(old: KubeObject, svc: KubeObject): FieldError[] {
  const s = spec(svc);
  const o = spec(old);
  if (s.type === 'ExternalName' || o.type === 'ExternalName') return [];
  if (isHeadlessService(old) !== isHeadlessService(svc) || isHeadlessService(svc)) return [];
  const errs: FieldError[] = [];
  const n = s.ipFamilies ?? [];
  const p = o.ipFamilies ?? [];
  const familiesText = goStringSlice(n, 'core.IPFamily');
  if (p.length === n.length) {
    p.forEach((f, i) => {
      if (f !== n[i]) errs.push(invalidRendered('spec.ipFamilies[0]', familiesText, 'may not change once set'));
    });
  } else if (p.length > n.length) {
    if ((s.clusterIPs ?? []).length === 0)
      errs.push(invalidRendered('spec.ipFamilies[0]', familiesText, 'primary ipFamily can not be unset'));
    if (n.length > 0 && n[0] !== p[0]) errs.push(fieldErr.invalid('spec.ipFamilies[0]', s.clusterIPs ?? [], 'may not change once set'));
    if (n.length === 1 && s.ipFamilyPolicy !== 'SingleStack')
      errs.push(
        fieldErr.invalid(
          'spec.ipFamilyPolicy',
          s.ipFamilyPolicy ?? null,
          "must be set to 'SingleStack' when releasing the secondary ipFamily",
        ),
      );
  } else if (p.length > 0 && n.length > 0 && n[0] !== p[0]) {
    errs.push(fieldErr.invalid('spec.ipFamilies[0]', s.clusterIPs ?? [], 'may not change once set'));
  }
  return errs;
}

/** ValidateServiceUpdate: metadata identity, clusterIPs/ipFamilies/loadBalancerClass stability, then everything ValidateService checks. */
export function validateServiceUpdate(svc: KubeObject, old: KubeObject): FieldError[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
  errs.push(...upgradeDowngradeClusterIPs(old, svc));
  errs.push(...upgradeDowngradeIPFamilies(old, svc));
  const lbClassErrs = validateLoadBalancerClass(svc, old).filter((e) => e.detail === 'may not change once set');
  errs.push(...lbClassErrs);
  errs.push(...validateService(svc));
  return errs;
}

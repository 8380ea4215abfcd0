/**
 * Allocation for one Service write, as a reversible transaction tied to the store write — the
 * shape of kube-apiserver's service REST (pkg/registry/core/service/storage/alloc.go):
 *
 *   const txn = allocateService(allocs, newSvc, oldSvc);   // throws StatusError (422 / 500)
 *   try { await store.write(newSvc); txn.commit(); } catch (e) { txn.revert(); throw e; }
 *
 * Allocation happens up front (so the write carries the values); releases of what the old
 * object held are deferred to commit(), so a failed write gives back only what it took and
 * never frees what the stored object still holds. For a dry run, call revert() after success.
 *
 * Single-stack IPv4 only: IPv6 families and dual-stack policies get kube's "not configured on
 * this cluster" errors.
 */
import { type FieldError, fieldErr, internalError, invalid, type StatusError } from '../api/errors.js';
import type { Service } from '../api/types/index.js';
import { AllocatorError } from './errors.js';
import type { NodePortAllocator } from './node-port.js';
import type { ServiceIPAllocator } from './service-ip.js';

export interface ServiceAllocators {
  serviceIPs: ServiceIPAllocator;
  nodePorts: NodePortAllocator;
}

/** Finishes an allocation: exactly one of commit/revert takes effect; later calls are no-ops. */
export interface AllocationTransaction {
  commit(): void;
  revert(): void;
}

type Spec = NonNullable<Service['spec']>;
type Port = NonNullable<Spec['ports']>[number];

const NONE = 'None';

/**
 * Allocates what `newSvc` needs and schedules the release of what `oldSvc` held and `newSvc`
 * does not. Create: `oldSvc` undefined. Update: both. Delete: `newSvc` undefined (everything
 * the old object held is released on commit). Mutates `newSvc` (fills clusterIP(s),
 * ipFamilies, ipFamilyPolicy, nodePorts, healthCheckNodePort; clears type-dependent fields on a
 * type change). Throws a StatusError (422 Invalid with kube's field errors, or 500) on failure,
 * having given back anything it took.
 */
export function allocateService(
  allocs: ServiceAllocators,
  newSvc: Service | undefined,
  oldSvc: Service | undefined,
): AllocationTransaction {
  const op = new Operation(allocs);
  try {
    if (!newSvc) {
      if (oldSvc) releaseAll(oldSvc, op);
    } else if (!oldSvc) {
      allocateCreate(newSvc, op);
    } else {
      allocateUpdate(newSvc, oldSvc, op);
    }
  } catch (e) {
    op.revert();
    throw e;
  }
  return { commit: () => op.commit(), revert: () => op.revert() };
}

// ---------------------------------------------------------------------------------------------
// Create, update, delete

function allocateCreate(svc: Service, op: Operation): void {
  const spec = specOf(svc);
  normalizeClusterIPs(svc, undefined);
  initIPFamilyFields(svc, undefined);
  allocClusterIPs(svc, op);
  if (needsNodePort(spec)) initNodePorts(svc, op);
  if (needsHealthCheck(spec)) allocHealthCheckNodePort(svc, op);
}

function allocateUpdate(svc: Service, old: Service, op: Operation): void {
  const spec = specOf(svc);
  const oldSpec = old.spec ?? {};
  dropTypeDependentFields(svc, old);
  patchAllocatedValues(svc, old);
  normalizeClusterIPs(svc, old);
  initIPFamilyFields(svc, old);

  // ClusterIPs: only a change into or out of ExternalName moves anything (clusterIP is immutable).
  if (oldSpec.type === 'ExternalName' && spec.type !== 'ExternalName') {
    allocClusterIPs(svc, op);
  } else if (!isHeadless(oldSpec) && oldSpec.type !== 'ExternalName' && spec.type === 'ExternalName') {
    for (const ip of oldSpec.clusterIPs ?? (oldSpec.clusterIP ? [oldSpec.clusterIP] : [])) op.releaseIPDeferred(ip);
  }

  // NodePorts.
  if (needsNodePort(oldSpec) && (spec.type === 'ExternalName' || spec.type === 'ClusterIP' || spec.type === undefined)) {
    for (const np of collectNodePorts(oldSpec)) op.releasePortDeferred(np);
  }
  if (needsNodePort(spec)) updateNodePorts(svc, old, op);

  // Health check node port.
  const needed = needsHealthCheck(oldSpec);
  const needs = needsHealthCheck(spec);
  if (!needed && needs) allocHealthCheckNodePort(svc, op);
  else if (needed && !needs && oldSpec.healthCheckNodePort) op.releasePortDeferred(oldSpec.healthCheckNodePort);
}

function releaseAll(svc: Service, op: Operation): void {
  const spec = svc.spec ?? {};
  if (spec.type !== 'ExternalName' && !isHeadless(spec)) {
    for (const ip of spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])) op.releaseIPDeferred(ip);
  }
  for (const np of collectNodePorts(spec)) op.releasePortDeferred(np);
  if (needsHealthCheck(spec) && spec.healthCheckNodePort) op.releasePortDeferred(spec.healthCheckNodePort);
}

// ---------------------------------------------------------------------------------------------
// Cluster IPs

function allocClusterIPs(svc: Service, op: Operation): void {
  const spec = specOf(svc);
  if (spec.type === 'ExternalName' || isHeadless(spec)) return;
  const requested = spec.clusterIPs?.[0] ?? '';
  if (requested === '') {
    let ip: string;
    try {
      ip = op.allocateNextIP();
    } catch (e) {
      throw internalError(`failed to allocate a serviceIP: ${messageOf(e)}`);
    }
    spec.clusterIPs = [ip, ...(spec.clusterIPs ?? []).slice(1)];
    spec.clusterIP = ip;
    return;
  }
  try {
    op.allocateIP(requested);
  } catch (e) {
    throw invalidService(svc, [
      fieldErr.invalid('spec.clusterIPs', spec.clusterIPs, `failed to allocate IP ${requested}: ${messageOf(e)}`),
    ]);
  }
  spec.clusterIP = requested;
}

/**
 * Defaults ipFamilyPolicy and ipFamilies the way kube-apiserver does on a single-stack IPv4
 * cluster (so `kubectl describe svc` shows "IP Family Policy: SingleStack / IP Families: IPv4"),
 * and rejects what such a cluster cannot serve.
 */
function initIPFamilyFields(svc: Service, old: Service | undefined): void {
  const spec = specOf(svc);
  if (spec.type === 'ExternalName') return;
  const oldSpec = old?.spec;
  const headlessSelectorless = spec.clusterIP === NONE && Object.keys(spec.selector ?? {}).length === 0;

  if (!spec.ipFamilyPolicy) {
    if (oldSpec?.ipFamilyPolicy) spec.ipFamilyPolicy = oldSpec.ipFamilyPolicy;
    else spec.ipFamilyPolicy = headlessSelectorless ? 'RequireDualStack' : 'SingleStack';
  }

  const errs: FieldError[] = [];
  if (spec.ipFamilyPolicy === 'SingleStack') {
    if ((spec.clusterIPs ?? []).length === 2) {
      errs.push(
        fieldErr.invalid(
          'spec.ipFamilyPolicy',
          spec.ipFamilyPolicy,
          "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
        ),
      );
    }
    if ((spec.ipFamilies ?? []).length === 2) {
      errs.push(
        fieldErr.invalid(
          'spec.ipFamilyPolicy',
          spec.ipFamilyPolicy,
          "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
        ),
      );
    }
  }
  const families = [...(spec.ipFamilies ?? [])];
  (spec.clusterIPs ?? []).forEach((ip, i) => {
    if (ip === NONE || errs.length) return;
    if (i < families.length) return;
    const fam = ip.includes(':') ? 'IPv6' : 'IPv4';
    if (fam === 'IPv6') errs.push(fieldErr.invalid(`spec.clusterIPs[${i}]`, spec.clusterIPs, 'IPv6 is not configured on this cluster'));
    else families.push(fam);
  });
  if (errs.length) throw invalidService(svc, errs);
  if (families.length) spec.ipFamilies = families;

  if (headlessSelectorless) {
    if (!spec.ipFamilies?.length) spec.ipFamilies = ['IPv4'];
    if (spec.ipFamilies.length < 2 && spec.ipFamilyPolicy !== 'SingleStack') {
      spec.ipFamilies = [...spec.ipFamilies, spec.ipFamilies[0] === 'IPv4' ? 'IPv6' : 'IPv4'];
    }
    return;
  }

  if (spec.ipFamilyPolicy === 'RequireDualStack') {
    errs.push(fieldErr.invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy, 'this cluster is not configured for dual-stack services'));
  }
  (spec.ipFamilies ?? []).forEach((fam, i) => {
    if (fam !== 'IPv4') errs.push(fieldErr.invalid(`spec.ipFamilies[${i}]`, fam, 'not configured on this cluster'));
  });
  if (errs.length) throw invalidService(svc, errs);
  if (!spec.ipFamilies?.length) spec.ipFamilies = ['IPv4'];
}

// ---------------------------------------------------------------------------------------------
// Node ports

function initNodePorts(svc: Service, op: Operation): void {
  const spec = specOf(svc);
  const ports = spec.ports ?? [];
  const allocate = shouldAllocateNodePorts(spec);
  // Ports with the same number (e.g. 53/TCP and 53/UDP) share one node port.
  const byServicePort = new Map<number, number>();
  ports.forEach((p, i) => {
    if (!p.nodePort && !allocate) return;
    const shared = byServicePort.get(p.port);
    if (shared === undefined) {
      const requested = ports.find((q) => q.port === p.port && q.nodePort)?.nodePort;
      if (requested) {
        allocatePortOrInvalid(svc, op, i, requested);
        p.nodePort = requested;
        byServicePort.set(p.port, requested);
      } else {
        p.nodePort = allocateNextPort(op);
        byServicePort.set(p.port, p.nodePort);
      }
    } else if (p.nodePort !== shared) {
      if (!p.nodePort) p.nodePort = shared;
      else allocatePortOrInvalid(svc, op, i, p.nodePort);
    }
  });
}

function updateNodePorts(svc: Service, old: Service, op: Operation): void {
  const spec = specOf(svc);
  const oldNodePorts = collectNodePorts(old.spec ?? {});
  const allocate = shouldAllocateNodePorts(spec);
  const taken = new Set<number>();
  const seen = new Set<string>();
  (spec.ports ?? []).forEach((p, i) => {
    if (!p.nodePort && !allocate) return;
    if (p.nodePort) {
      if (!oldNodePorts.includes(p.nodePort) && !taken.has(p.nodePort)) {
        allocatePortOrInvalid(svc, op, i, p.nodePort);
        taken.add(p.nodePort);
      }
    } else {
      p.nodePort = allocateNextPort(op);
    }
    const key = `${p.protocol ?? 'TCP'} ${p.nodePort}`;
    if (seen.has(key)) throw internalError(`duplicate nodePort: {${key}}`);
    seen.add(key);
  });
  const newNodePorts = collectNodePorts(spec);
  for (const np of oldNodePorts) if (!newNodePorts.includes(np)) op.releasePortDeferred(np);
}

function allocHealthCheckNodePort(svc: Service, op: Operation): void {
  const spec = specOf(svc);
  const requested = spec.healthCheckNodePort;
  if (requested) {
    try {
      op.allocatePort(requested);
    } catch (e) {
      throw internalError(`failed to allocate requested HealthCheck NodePort ${requested}: ${messageOf(e)}`);
    }
    return;
  }
  try {
    spec.healthCheckNodePort = op.allocateNextPort();
  } catch (e) {
    throw internalError(`failed to allocate a HealthCheck NodePort 0: ${messageOf(e)}`);
  }
}

function allocatePortOrInvalid(svc: Service, op: Operation, index: number, port: number): void {
  try {
    op.allocatePort(port);
  } catch (e) {
    throw invalidService(svc, [fieldErr.invalid(`spec.ports[${index}].nodePort`, port, messageOf(e))]);
  }
}

function allocateNextPort(op: Operation): number {
  try {
    return op.allocateNextPort();
  } catch (e) {
    throw internalError(`failed to allocate a nodePort: ${messageOf(e)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Field fix-ups kube-apiserver does around allocation (exported for the services strategy)

/**
 * On a type change, clears the fields the new type does not use, when the user left them as they
 * were (they were most likely allocated for the old type): clusterIP(s)/ipFamilies/policy into
 * ExternalName, nodePorts out of NodePort/LoadBalancer, healthCheckNodePort, and the LB-only
 * fields. Upstream this is the strategy's PrepareForUpdate; it is idempotent.
 */
export function dropTypeDependentFields(svc: Service, old: Service): void {
  const spec = specOf(svc);
  const oldSpec = old.spec ?? {};
  if (needsClusterIP(oldSpec) && !needsClusterIP(spec)) {
    if (sameClusterIPs(oldSpec, spec)) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (sameList(oldSpec.ipFamilies, spec.ipFamilies)) delete spec.ipFamilies;
    if (oldSpec.ipFamilyPolicy === spec.ipFamilyPolicy) delete spec.ipFamilyPolicy;
  }
  if (needsNodePort(oldSpec) && !needsNodePort(spec) && sameNodePorts(oldSpec, spec)) {
    for (const p of spec.ports ?? []) delete p.nodePort;
  }
  if (needsHealthCheck(oldSpec) && !needsHealthCheck(spec) && oldSpec.healthCheckNodePort === spec.healthCheckNodePort) {
    delete spec.healthCheckNodePort;
  }
  if (oldSpec.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (spec.allocateLoadBalancerNodePorts !== undefined && spec.allocateLoadBalancerNodePorts === oldSpec.allocateLoadBalancerNodePorts) {
      delete spec.allocateLoadBalancerNodePorts;
    }
    if (spec.loadBalancerClass === oldSpec.loadBalancerClass) delete spec.loadBalancerClass;
  }
  if (externallyAccessible(oldSpec) && !externallyAccessible(spec) && oldSpec.externalTrafficPolicy === spec.externalTrafficPolicy) {
    delete spec.externalTrafficPolicy;
  }
  if (spec.type !== 'LoadBalancer' && svc.status?.loadBalancer) svc.status.loadBalancer = {};
}

/**
 * Carries allocated values over from the stored object when the new one leaves them empty, so
 * re-applying the same manifest (without clusterIP/nodePort) succeeds.
 */
export function patchAllocatedValues(svc: Service, old: Service): void {
  const spec = specOf(svc);
  const oldSpec = old.spec ?? {};
  if (needsClusterIP(oldSpec) && needsClusterIP(spec)) {
    if (!spec.clusterIP && oldSpec.clusterIP) spec.clusterIP = oldSpec.clusterIP;
    if (!spec.clusterIPs?.length && oldSpec.clusterIPs?.length) spec.clusterIPs = [...oldSpec.clusterIPs];
  }
  if (needsNodePort(oldSpec) && needsNodePort(spec)) {
    const newUsed = new Set(collectNodePorts(spec));
    const used = new Set(collectNodePorts(oldSpec).filter((p) => newUsed.has(p)));
    const byName = new Map<string, number | undefined>();
    for (const p of oldSpec.ports ?? []) byName.set(p.name ?? '', p.nodePort);
    for (const p of spec.ports ?? []) {
      if (p.nodePort) continue;
      const oldVal = byName.get(p.name ?? '');
      if (oldVal && !used.has(oldVal)) p.nodePort = oldVal;
    }
  }
  if (needsHealthCheck(oldSpec) && needsHealthCheck(spec) && !spec.healthCheckNodePort && oldSpec.healthCheckNodePort) {
    spec.healthCheckNodePort = oldSpec.healthCheckNodePort;
  }
}

/** Keeps clusterIP and clusterIPs in step for clients that only know one of them. */
export function normalizeClusterIPs(svc: Service, old: Service | undefined): void {
  const spec = specOf(svc);
  if (!old) {
    if (spec.clusterIP && !spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
    return;
  }
  const oldSpec = old.spec ?? {};
  if (oldSpec.clusterIPs?.length && !spec.clusterIPs?.length && oldSpec.clusterIP === spec.clusterIP) {
    spec.clusterIPs = oldSpec.clusterIPs;
  }
  if ((oldSpec.clusterIP ?? '') !== (spec.clusterIP ?? '')) {
    if (oldSpec.clusterIP && !spec.clusterIP) {
      if (sameList(oldSpec.clusterIPs, spec.clusterIPs)) delete spec.clusterIPs;
    } else if (sameList(oldSpec.clusterIPs, spec.clusterIPs)) {
      spec.clusterIPs = [spec.clusterIP as string];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Predicates (as in kube's pkg/api/service helpers)

/** Node ports are held by NodePort and LoadBalancer Services. */
export function needsNodePort(spec: Spec): boolean {
  return spec.type === 'NodePort' || spec.type === 'LoadBalancer';
}

/** A health check node port is held by LoadBalancer Services with externalTrafficPolicy Local. */
export function needsHealthCheck(spec: Spec): boolean {
  return spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
}

function needsClusterIP(spec: Spec): boolean {
  return spec.type !== 'ExternalName';
}

function isHeadless(spec: Spec): boolean {
  return spec.clusterIPs?.[0] === NONE || (!spec.clusterIPs?.length && spec.clusterIP === NONE);
}

function shouldAllocateNodePorts(spec: Spec): boolean {
  if (spec.type === 'NodePort') return true;
  if (spec.type === 'LoadBalancer') return spec.allocateLoadBalancerNodePorts !== false;
  return false;
}

function externallyAccessible(spec: Spec): boolean {
  return spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && (spec.externalIPs ?? []).length > 0);
}

/** Node ports a Service holds (each distinct number once; TCP and UDP may share one). */
export function collectNodePorts(spec: Spec): number[] {
  const out: number[] = [];
  for (const p of (spec.ports ?? []) as Port[]) if (p.nodePort && !out.includes(p.nodePort)) out.push(p.nodePort);
  return out;
}

function sameNodePorts(oldSpec: Spec, spec: Spec): boolean {
  const old = new Set(collectNodePorts(oldSpec));
  return collectNodePorts(spec).every((p) => old.has(p));
}

function sameClusterIPs(a: Spec, b: Spec): boolean {
  return (a.clusterIP ?? '') === (b.clusterIP ?? '') && sameList(a.clusterIPs, b.clusterIPs);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function specOf(svc: Service): Spec {
  if (!svc.spec) svc.spec = {};
  return svc.spec;
}

function invalidService(svc: Service, errs: FieldError[]): StatusError {
  return invalid('Service', svc.metadata?.name ?? '', errs);
}

function messageOf(e: unknown): string {
  if (e instanceof AllocatorError || e instanceof Error) return e.message;
  return String(e);
}

// ---------------------------------------------------------------------------------------------
// The operation: what was taken (given back on revert) and what to free (on commit)

class Operation {
  private readonly takenIPs: string[] = [];
  private readonly takenPorts: number[] = [];
  private readonly releaseIPs: string[] = [];
  private readonly releasePorts: number[] = [];
  private done = false;

  constructor(private readonly allocs: ServiceAllocators) {}

  allocateIP(ip: string): void {
    this.allocs.serviceIPs.allocate(ip);
    this.takenIPs.push(ip);
  }

  allocateNextIP(): string {
    const ip = this.allocs.serviceIPs.allocateNext();
    this.takenIPs.push(ip);
    return ip;
  }

  allocatePort(port: number): void {
    this.allocs.nodePorts.allocate(port);
    this.takenPorts.push(port);
  }

  allocateNextPort(): number {
    const port = this.allocs.nodePorts.allocateNext();
    this.takenPorts.push(port);
    return port;
  }

  releaseIPDeferred(ip: string): void {
    if (ip && ip !== NONE) this.releaseIPs.push(ip);
  }

  releasePortDeferred(port: number): void {
    this.releasePorts.push(port);
  }

  commit(): void {
    if (this.done) return;
    this.done = true;
    for (const ip of this.releaseIPs) this.allocs.serviceIPs.release(ip);
    for (const p of this.releasePorts) this.allocs.nodePorts.release(p);
  }

  revert(): void {
    if (this.done) return;
    this.done = true;
    for (const ip of this.takenIPs) this.allocs.serviceIPs.release(ip);
    for (const p of this.takenPorts) this.allocs.nodePorts.release(p);
  }
}

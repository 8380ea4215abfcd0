/**
 * The repair loop: rebuilds the allocators from the stored Services (at start and periodically),
 * as kube-apiserver's ipallocator/portallocator repair controllers do. It reports values held by
 * two Services, values outside the configured ranges, values in use but not marked allocated
 * (repaired), and values marked allocated that no Service holds (leaks).
 *
 * A leak is only freed after it has been seen on `leakGraceRuns` consecutive runs (kube uses 3):
 * an allocation whose store write is still in flight looks exactly like a leak for a moment.
 * Likewise values allocated while the Service list was being read are kept.
 */
import type { Service } from '../api/types/index.js';
import type { NodePortAllocator } from './node-port.js';
import type { ServiceIPAllocator } from './service-ip.js';
import { collectNodePorts, needsHealthCheck } from './transaction.js';

export interface RepairFinding {
  /** What kind of value: a cluster IP or a node port (health check node ports count as node ports). */
  kind: 'ClusterIP' | 'NodePort';
  value: string | number;
  /** `namespace/name` of the Services involved (for duplicates: all holders, first one kept). */
  services: string[];
  /** Human text in the words of kube's repair events. */
  message: string;
}

export interface RepairReport {
  duplicates: RepairFinding[];
  outOfRange: RepairFinding[];
  /** In use by a Service but was not marked allocated; now it is. */
  repaired: RepairFinding[];
  /** Marked allocated, held by no Service, still within the grace period. */
  leaksFlagged: RepairFinding[];
  /** Marked allocated, held by no Service for `leakGraceRuns` runs: released. */
  leaksFreed: RepairFinding[];
}

export interface RepairOptions {
  listServices: () => Service[] | Promise<Service[]>;
  serviceIPs: ServiceIPAllocator;
  nodePorts: NodePortAllocator;
  /** Consecutive runs a leak must be seen before it is freed; 3 as upstream. */
  leakGraceRuns?: number;
}

export class AllocatorRepair {
  private readonly ipLeaks = new Map<string, number>();
  private readonly portLeaks = new Map<number, number>();
  private readonly grace: number;

  constructor(private readonly opts: RepairOptions) {
    this.grace = Math.max(1, opts.leakGraceRuns ?? 3);
  }

  /** One pass. Safe to call at any time; the allocators stay usable throughout. */
  async runOnce(): Promise<RepairReport> {
    const { serviceIPs, nodePorts } = this.opts;
    const ipsBefore = new Set(serviceIPs.values());
    const portsBefore = new Set(nodePorts.values());

    const services = await this.opts.listServices();
    const report: RepairReport = { duplicates: [], outOfRange: [], repaired: [], leaksFlagged: [], leaksFreed: [] };

    // Who holds what, according to the store.
    const ipHolders = new Map<string, string[]>();
    const portHolders = new Map<number, string[]>();
    for (const svc of services) {
      const { namespace, name } = svc.metadata ?? {};
      const key = namespace ? `${namespace}/${name}` : `${name}`;
      const spec = svc.spec ?? {};
      if (spec.type !== 'ExternalName') {
        const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
        for (const ip of ips) if (ip && ip !== 'None') push(ipHolders, ip, key);
      }
      const ports = collectNodePorts(spec);
      if (needsHealthCheck(spec) && spec.healthCheckNodePort && !ports.includes(spec.healthCheckNodePort))
        ports.push(spec.healthCheckNodePort);
      for (const p of ports) push(portHolders, p, key);
    }

    // Values allocated while the list was read belong to writes in flight: keep them.
    const ipsNow = new Set(serviceIPs.values());
    const portsNow = new Set(nodePorts.values());
    const cidr = serviceIPs.cidr.text;

    // Rebuild: everything held, plus in-flight, plus leaks within their grace period.
    const keepIPs = new Set<string>();
    for (const [ip, holders] of ipHolders) {
      if (!serviceIPs.contains(ip)) {
        report.outOfRange.push({
          kind: 'ClusterIP',
          value: ip,
          services: holders,
          message: `Cluster IP [IPv4]: ${ip} is not within the configured Service CIDR ${cidr}; please recreate service`,
        });
        continue;
      }
      keepIPs.add(ip);
      if (holders.length > 1) {
        report.duplicates.push({
          kind: 'ClusterIP',
          value: ip,
          services: holders,
          message: `Cluster IP [IPv4]: ${ip} was assigned to multiple services; please recreate service`,
        });
      }
      if (!ipsBefore.has(ip) && !ipsNow.has(ip)) {
        report.repaired.push({
          kind: 'ClusterIP',
          value: ip,
          services: holders,
          message: `Cluster IP [IPv4]: ${ip} is not allocated; repairing`,
        });
      }
      this.ipLeaks.delete(ip);
    }
    for (const ip of ipsNow) if (!ipsBefore.has(ip)) keepIPs.add(ip);
    for (const ip of ipsBefore) {
      if (keepIPs.has(ip) || !ipsNow.has(ip)) continue;
      const seen = (this.ipLeaks.get(ip) ?? 0) + 1;
      if (seen >= this.grace) {
        this.ipLeaks.delete(ip);
        report.leaksFreed.push({
          kind: 'ClusterIP',
          value: ip,
          services: [],
          message: `Cluster IP [IPv4]: ${ip} appears to have leaked: cleaning up`,
        });
      } else {
        this.ipLeaks.set(ip, seen);
        keepIPs.add(ip);
        report.leaksFlagged.push({
          kind: 'ClusterIP',
          value: ip,
          services: [],
          message: `Cluster IP [IPv4]: ${ip} may have leaked: flagging for later clean up`,
        });
      }
    }
    for (const ip of this.ipLeaks.keys()) if (!keepIPs.has(ip)) this.ipLeaks.delete(ip);

    const keepPorts = new Set<number>();
    for (const [port, holders] of portHolders) {
      if (!nodePorts.contains(port)) {
        report.outOfRange.push({
          kind: 'NodePort',
          value: port,
          services: holders,
          message: `Port ${port} is not within the port range ${nodePorts.rangeText}; please recreate service`,
        });
        continue;
      }
      keepPorts.add(port);
      if (holders.length > 1) {
        report.duplicates.push({
          kind: 'NodePort',
          value: port,
          services: holders,
          message: `Port ${port} was assigned to multiple services; please recreate service`,
        });
      }
      if (!portsBefore.has(port) && !portsNow.has(port)) {
        report.repaired.push({ kind: 'NodePort', value: port, services: holders, message: `Port ${port} is not allocated; repairing` });
      }
      this.portLeaks.delete(port);
    }
    for (const p of portsNow) if (!portsBefore.has(p)) keepPorts.add(p);
    for (const p of portsBefore) {
      if (keepPorts.has(p) || !portsNow.has(p)) continue;
      const seen = (this.portLeaks.get(p) ?? 0) + 1;
      if (seen >= this.grace) {
        this.portLeaks.delete(p);
        report.leaksFreed.push({ kind: 'NodePort', value: p, services: [], message: `Port ${p} appears to have leaked: cleaning up` });
      } else {
        this.portLeaks.set(p, seen);
        keepPorts.add(p);
        report.leaksFlagged.push({
          kind: 'NodePort',
          value: p,
          services: [],
          message: `Port ${p} may have leaked: flagging for later clean up`,
        });
      }
    }
    for (const p of this.portLeaks.keys()) if (!keepPorts.has(p)) this.portLeaks.delete(p);

    // Apply: free what is not kept, take what is kept (no await since the snapshot above).
    for (const ip of ipsNow) if (!keepIPs.has(ip)) serviceIPs.release(ip);
    for (const ip of keepIPs) if (!serviceIPs.has(ip)) serviceIPs.allocate(ip);
    for (const p of portsNow) if (!keepPorts.has(p)) nodePorts.release(p);
    for (const p of keepPorts) if (!nodePorts.has(p)) nodePorts.allocate(p);
    return report;
  }

  /** Runs now and then every `intervalMs` until the signal aborts; reports go to `onReport`. */
  start(intervalMs: number, onReport: (r: RepairReport) => void, onError: (e: unknown) => void, signal?: AbortSignal): Promise<void> {
    const tick = () => this.runOnce().then(onReport, onError);
    const first = tick();
    const timer = setInterval(tick, intervalMs);
    timer.unref?.();
    signal?.addEventListener('abort', () => clearInterval(timer), { once: true });
    return first;
  }
}

function push<K>(m: Map<K, string[]>, k: K, v: string): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

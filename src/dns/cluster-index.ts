/**
 * The cluster data the DNS server answers from: Services, EndpointSlices, Pods and Namespaces
 * as plain Kubernetes JSON, kept in memory and indexed for the lookups DNS needs (by name, by
 * ClusterIP, by endpoint IP, by pod IP). CoreDNS's kubernetes plugin reads through a similar
 * `dnsController` interface fed by informers; here the lead's informers call the upsert/delete
 * methods, so the same index works against the local apiserver or any real one.
 */

/** The parts of a core/v1 Service that DNS reads. */
export interface ServiceObject {
  metadata: { name?: string; namespace?: string };
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
    publishNotReadyAddresses?: boolean;
    ports?: { name?: string; protocol?: string; port: number }[];
  };
}

/** The parts of a discovery.k8s.io/v1 EndpointSlice that DNS reads. */
export interface EndpointSliceObject {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
  addressType?: string;
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    hostname?: string;
  }[];
  ports?: { name?: string; protocol?: string; port?: number }[] | null;
}

/** The parts of a core/v1 Pod that DNS reads (pod records in `verified` mode). */
export interface PodObject {
  metadata: { name?: string; namespace?: string };
  status?: { podIP?: string; podIPs?: { ip: string }[] };
}

/** A named, numbered port of a Service or an endpoint. */
export interface PortEntry {
  name: string;
  /** Lower case, as it appears in SRV names: `tcp`, `udp`, `sctp`. */
  protocol: string;
  port: number;
}

/** A Service as DNS sees it. */
export interface ServiceEntry {
  name: string;
  namespace: string;
  kind: 'ClusterIP' | 'Headless' | 'ExternalName';
  clusterIPs: string[];
  externalName: string;
  publishNotReadyAddresses: boolean;
  ports: PortEntry[];
}

/** One address of an endpoint, with the DNS label it is published under. */
export interface EndpointEntry {
  ip: string;
  /** The endpoint's hostname, or the dashed IP when it has none (CoreDNS's `endpointHostname`). */
  label: string;
  ready: boolean;
  ports: PortEntry[];
}

/** What the answer logic needs from the cluster; `ClusterIndex` implements it. */
export interface ClusterData {
  readonly synced: boolean;
  /** Bumped on every change, so caches of encoded answers can tell when they are stale. */
  readonly generation: number;
  /** Unix seconds of the last change: the SOA serial, as CoreDNS's `Modified()`. */
  readonly lastModified: number;
  namespaceExists(namespace: string): boolean;
  service(namespace: string, name: string): ServiceEntry | undefined;
  /** Every address of every slice of the Service, in a stable order (slice name, then position). */
  endpoints(namespace: string, name: string): EndpointEntry[];
  serviceByClusterIP(ip: string): ServiceEntry | undefined;
  /** The first endpoint (with its Service) that has this address. */
  endpointByIP(ip: string): { namespace: string; service: string; label: string } | undefined;
  podExists(namespace: string, ip: string): boolean;
}

interface SliceEntry {
  name: string;
  namespace: string;
  service: string;
  endpoints: EndpointEntry[];
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/** The label CoreDNS gives an endpoint address: its hostname, or the IP with `.`/`:` turned into `-`. */
export function endpointLabel(ip: string, hostname: string | undefined): string {
  if (hostname) return hostname.toLowerCase();
  return ip.replace(/[.:]/g, '-').toLowerCase();
}

function toPorts(ports: { name?: string; protocol?: string; port?: number }[] | null | undefined): PortEntry[] {
  if (!ports || ports.length === 0) return [];
  return ports.map((p) => ({ name: (p.name ?? '').toLowerCase(), protocol: (p.protocol ?? 'TCP').toLowerCase(), port: p.port ?? -1 }));
}

function toService(svc: ServiceObject): ServiceEntry {
  const spec = svc.spec ?? {};
  const clusterIPs = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  let kind: ServiceEntry['kind'] = 'ClusterIP';
  if (spec.type === 'ExternalName') kind = 'ExternalName';
  else if (clusterIPs.length === 0 || clusterIPs[0] === 'None') kind = 'Headless';
  return {
    name: (svc.metadata.name ?? '').toLowerCase(),
    namespace: (svc.metadata.namespace ?? 'default').toLowerCase(),
    kind,
    clusterIPs: kind === 'ClusterIP' ? clusterIPs.filter((ip) => ip !== 'None') : [],
    externalName: (spec.externalName ?? '').replace(/\.$/, '').toLowerCase(),
    publishNotReadyAddresses: spec.publishNotReadyAddresses === true,
    ports: toPorts(spec.ports),
  };
}

/**
 * In-memory index of the cluster objects DNS serves. Feed it from informers (list, then watch);
 * call `markSynced()` once the initial lists are in, until then the server answers SERVFAIL.
 */
export class ClusterIndex implements ClusterData {
  synced = false;
  generation = 0;
  lastModified = Math.floor(Date.now() / 1000);

  private readonly services = new Map<string, ServiceEntry>();
  private readonly slices = new Map<string, SliceEntry>();
  /** service key → slice keys, sorted on read. */
  private readonly slicesByService = new Map<string, Set<string>>();
  private readonly servicesByIP = new Map<string, string>();
  /** endpoint IP → slice keys that hold it. */
  private readonly slicesByIP = new Map<string, Set<string>>();
  private readonly namespaces = new Set<string>();
  private readonly servicesPerNamespace = new Map<string, number>();
  private readonly pods = new Map<string, { namespace: string; ips: string[] }>();
  /** pod IP → namespace → count of pods with that IP there. */
  private readonly podsByIP = new Map<string, Map<string, number>>();
  private readonly podsPerNamespace = new Map<string, number>();

  /** Mark the initial lists as complete: from now on a missing name is a real NXDOMAIN. */
  markSynced(): void {
    this.synced = true;
    this.changed();
  }

  upsertService(svc: ServiceObject): void {
    const entry = toService(svc);
    const k = key(entry.namespace, entry.name);
    this.removeService(k);
    this.services.set(k, entry);
    for (const ip of entry.clusterIPs) this.servicesByIP.set(ip, k);
    this.servicesPerNamespace.set(entry.namespace, (this.servicesPerNamespace.get(entry.namespace) ?? 0) + 1);
    this.changed();
  }

  deleteService(namespace: string, name: string): void {
    if (this.removeService(key(namespace.toLowerCase(), name.toLowerCase()))) this.changed();
  }

  upsertEndpointSlice(slice: EndpointSliceObject): void {
    const namespace = (slice.metadata.namespace ?? 'default').toLowerCase();
    const name = slice.metadata.name ?? '';
    const service = slice.metadata.labels?.['kubernetes.io/service-name']?.toLowerCase();
    const k = key(namespace, name);
    this.removeSlice(k);
    if (!service || slice.addressType === 'FQDN') {
      this.changed();
      return;
    }
    const ports = toPorts(slice.ports);
    const endpoints: EndpointEntry[] = [];
    for (const ep of slice.endpoints ?? []) {
      const ready = ep.conditions?.ready !== false;
      // A slice endpoint's first address is the one consumers use.
      const ip = ep.addresses[0];
      if (!ip) continue;
      endpoints.push({ ip, label: endpointLabel(ip, ep.hostname), ready, ports });
    }
    const entry: SliceEntry = { name, namespace, service, endpoints };
    this.slices.set(k, entry);
    const sk = key(namespace, service);
    const set = this.slicesByService.get(sk) ?? new Set<string>();
    this.slicesByService.set(sk, set);
    set.add(k);
    for (const ep of endpoints) {
      const byIP = this.slicesByIP.get(ep.ip) ?? new Set<string>();
      this.slicesByIP.set(ep.ip, byIP);
      byIP.add(k);
    }
    this.changed();
  }

  deleteEndpointSlice(namespace: string, name: string): void {
    if (this.removeSlice(key(namespace.toLowerCase(), name))) this.changed();
  }

  upsertPod(pod: PodObject): void {
    const namespace = (pod.metadata.namespace ?? 'default').toLowerCase();
    const k = key(namespace, pod.metadata.name ?? '');
    this.removePod(k);
    const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip) : pod.status?.podIP ? [pod.status.podIP] : [];
    this.pods.set(k, { namespace, ips });
    this.podsPerNamespace.set(namespace, (this.podsPerNamespace.get(namespace) ?? 0) + 1);
    for (const ip of ips) {
      const byNs = this.podsByIP.get(ip) ?? new Map<string, number>();
      this.podsByIP.set(ip, byNs);
      byNs.set(namespace, (byNs.get(namespace) ?? 0) + 1);
    }
    this.changed();
  }

  deletePod(namespace: string, name: string): void {
    if (this.removePod(key(namespace.toLowerCase(), name))) this.changed();
  }

  /** Namespaces are optional input: a namespace with Services or Pods also counts as existing. */
  upsertNamespace(ns: { metadata: { name?: string } }): void {
    this.namespaces.add((ns.metadata.name ?? '').toLowerCase());
    this.changed();
  }

  deleteNamespace(name: string): void {
    if (this.namespaces.delete(name.toLowerCase())) this.changed();
  }

  namespaceExists(namespace: string): boolean {
    return this.namespaces.has(namespace) || this.servicesPerNamespace.has(namespace) || this.podsPerNamespace.has(namespace);
  }

  service(namespace: string, name: string): ServiceEntry | undefined {
    return this.services.get(key(namespace, name));
  }

  endpoints(namespace: string, name: string): EndpointEntry[] {
    const set = this.slicesByService.get(key(namespace, name));
    if (!set) return [];
    const out: EndpointEntry[] = [];
    for (const sliceKey of [...set].sort()) {
      const slice = this.slices.get(sliceKey);
      if (slice) for (const ep of slice.endpoints) out.push(ep);
    }
    return out;
  }

  serviceByClusterIP(ip: string): ServiceEntry | undefined {
    const k = this.servicesByIP.get(ip);
    return k === undefined ? undefined : this.services.get(k);
  }

  endpointByIP(ip: string): { namespace: string; service: string; label: string } | undefined {
    const set = this.slicesByIP.get(ip);
    if (!set) return undefined;
    for (const sliceKey of [...set].sort()) {
      const slice = this.slices.get(sliceKey);
      const ep = slice?.endpoints.find((e) => e.ip === ip);
      if (slice && ep) return { namespace: slice.namespace, service: slice.service, label: ep.label };
    }
    return undefined;
  }

  podExists(namespace: string, ip: string): boolean {
    return (this.podsByIP.get(ip)?.get(namespace) ?? 0) > 0;
  }

  /** Counts, for tests and the memory benchmark. */
  size(): { services: number; slices: number; endpoints: number; pods: number } {
    let endpoints = 0;
    for (const s of this.slices.values()) endpoints += s.endpoints.length;
    return { services: this.services.size, slices: this.slices.size, endpoints, pods: this.pods.size };
  }

  private changed(): void {
    this.generation++;
    this.lastModified = Math.floor(Date.now() / 1000);
  }

  private removeService(k: string): boolean {
    const old = this.services.get(k);
    if (!old) return false;
    this.services.delete(k);
    for (const ip of old.clusterIPs) if (this.servicesByIP.get(ip) === k) this.servicesByIP.delete(ip);
    const n = (this.servicesPerNamespace.get(old.namespace) ?? 1) - 1;
    if (n <= 0) this.servicesPerNamespace.delete(old.namespace);
    else this.servicesPerNamespace.set(old.namespace, n);
    return true;
  }

  private removeSlice(k: string): boolean {
    const old = this.slices.get(k);
    if (!old) return false;
    this.slices.delete(k);
    const sk = key(old.namespace, old.service);
    const set = this.slicesByService.get(sk);
    set?.delete(k);
    if (set?.size === 0) this.slicesByService.delete(sk);
    for (const ep of old.endpoints) {
      const byIP = this.slicesByIP.get(ep.ip);
      byIP?.delete(k);
      if (byIP?.size === 0) this.slicesByIP.delete(ep.ip);
    }
    return true;
  }

  private removePod(k: string): boolean {
    const old = this.pods.get(k);
    if (!old) return false;
    this.pods.delete(k);
    const left = (this.podsPerNamespace.get(old.namespace) ?? 1) - 1;
    if (left <= 0) this.podsPerNamespace.delete(old.namespace);
    else this.podsPerNamespace.set(old.namespace, left);
    for (const ip of old.ips) {
      const byNs = this.podsByIP.get(ip);
      if (!byNs) continue;
      const n = (byNs.get(old.namespace) ?? 1) - 1;
      if (n <= 0) byNs.delete(old.namespace);
      else byNs.set(old.namespace, n);
      if (byNs.size === 0) this.podsByIP.delete(ip);
    }
    return true;
  }
}

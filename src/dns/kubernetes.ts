/**
 * The answer logic of the cluster zone: the Kubernetes DNS-Based Service Discovery
 * specification (schema 1.1.0) with CoreDNS's kubernetes-plugin behaviour where the spec is
 * silent (SRV weights, SRV without port/protocol, dashed-IP endpoint names, NODATA for
 * namespaces, SOA fields). Pure: a question and the cluster data in, the sections out.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Answer as ResourceRecord } from 'dns-packet';
import type { ClusterData, EndpointEntry, ServiceEntry } from './cluster-index.js';

export type { ResourceRecord };

/** How pod records `a-b-c-d.<ns>.pod.<zone>` are served (CoreDNS's `pods` option). */
export type PodMode = 'disabled' | 'insecure' | 'verified';

export interface KubernetesConfig {
  /** The cluster domain, without a trailing dot. */
  domain: string;
  /** TTL of every record and the SOA minimum (kubeadm's Corefile: 30). */
  ttl: number;
  podMode: PodMode;
  /** Addresses of the DNS Service itself, served as `ns.dns.<zone>` (the zone's NS target). */
  nameserverIPs?: string[];
}

export const defaultKubernetesConfig: KubernetesConfig = { domain: 'cluster.local', ttl: 30, podMode: 'insecure' };

export interface Question {
  name: string;
  type: string;
}

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'FORMERR' | 'NOTIMP';

export interface KubernetesAnswer {
  rcode: Rcode;
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
  /**
   * The name is not ours (outside the zones, or a reverse name with no cluster record): the
   * next handler should answer, as CoreDNS's `fallthrough in-addr.arpa ip6.arpa`.
   */
  fallthrough?: boolean;
  /** An ExternalName CNAME to a name outside the zone: resolve `target` upstream and append. */
  chase?: { target: string; type: string };
}

/** The version of the DNS schema this server implements, served at `dns-version.<zone>`. */
export const DNS_SCHEMA_VERSION = '1.1.0';

interface Target {
  /** An address, or (ExternalName) the CNAME target. */
  host: string;
  cname: boolean;
  port: number;
  /** The SRV target / owner name for this address. */
  name: string;
}

type Lookup = { found: false } | { found: true; targets: Target[] };
const NOT_FOUND: Lookup = { found: false };
const EMPTY: Lookup = { found: true, targets: [] };

/** Whether a query name belongs to the cluster zone or one of the reverse zones. */
export function zoneOf(name: string, domain: string): 'cluster' | 'reverse' | undefined {
  const n = normalize(name);
  if (n === domain || n.endsWith(`.${domain}`)) return 'cluster';
  if (n === 'in-addr.arpa' || n.endsWith('.in-addr.arpa') || n === 'ip6.arpa' || n.endsWith('.ip6.arpa')) return 'reverse';
  return undefined;
}

function normalize(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** Answers one question from the cluster data. */
export function answer(question: Question, data: ClusterData, config: KubernetesConfig): KubernetesAnswer {
  const name = normalize(question.name);
  const type = question.type.toUpperCase();
  const zone = zoneOf(name, config.domain);
  if (zone === undefined) return { rcode: 'NOERROR', answers: [], authority: [], additional: [], fallthrough: true };
  if (zone === 'reverse') return reverse(name, type, data, config);
  if (!data.synced) return { rcode: 'SERVFAIL', answers: [], authority: [], additional: [] };
  return new Responder(data, config).respond(name, type, 0);
}

class Responder {
  constructor(
    private readonly data: ClusterData,
    private readonly config: KubernetesConfig,
  ) {}

  respond(name: string, type: string, depth: number): KubernetesAnswer {
    const { domain, ttl } = this.config;
    const rel = name === domain ? '' : name.slice(0, -(domain.length + 1));
    if (rel === '') {
      if (type === 'SOA') return this.positive([soa(this.data, this.config)]);
      if (type === 'NS') {
        const ns = `ns.dns.${domain}`;
        return this.positive([{ name, type: 'NS', class: 'IN', ttl, data: ns }], this.addresses(ns, this.config.nameserverIPs ?? []));
      }
      return this.nodata();
    }
    if (rel === 'dns-version') {
      if (type !== 'TXT') return this.nodata();
      return this.positive([{ name, type: 'TXT', class: 'IN', ttl: 28800, data: [DNS_SCHEMA_VERSION] }]);
    }
    if (rel === 'dns' || rel === 'ns.dns') {
      const ips = rel === 'ns.dns' ? (this.config.nameserverIPs ?? []) : [];
      return this.fromTargets(name, type, { found: true, targets: ips.map((ip) => ({ host: ip, cname: false, port: -1, name })) }, depth);
    }
    const labels = rel.split('.');
    const kind = labels.pop();
    if (kind === 'svc') return this.fromTargets(name, type, this.serviceLookup(labels), depth);
    if (kind === 'pod') return this.fromTargets(name, type, this.podLookup(name, labels), depth);
    return this.nxdomain();
  }

  /** `[[_port, _proto,] | [endpoint,]] service, namespace` — the labels left of `svc`. */
  private serviceLookup(labels: string[]): Lookup {
    if (labels.length === 0) return EMPTY;
    const namespace = labels[labels.length - 1];
    if (!this.data.namespaceExists(namespace)) return NOT_FOUND;
    if (labels.length === 1) return EMPTY;
    const svc = this.data.service(namespace, labels[labels.length - 2]);
    if (!svc) return NOT_FOUND;
    if (labels.length === 2) return this.serviceTargets(svc, undefined, undefined, undefined);
    if (labels.length === 3) return this.serviceTargets(svc, labels[0], undefined, undefined);
    if (labels.length === 4 && labels[0].startsWith('_') && labels[1].startsWith('_')) {
      return this.serviceTargets(svc, undefined, labels[0].slice(1), labels[1].slice(1));
    }
    return NOT_FOUND;
  }

  private serviceTargets(svc: ServiceEntry, endpoint?: string, port?: string, proto?: string): Lookup {
    const svcName = `${svc.name}.${svc.namespace}.svc.${this.config.domain}`;
    const targets: Target[] = [];
    if (svc.kind === 'ExternalName' && endpoint === undefined) {
      if (!svc.externalName || port !== undefined) return NOT_FOUND;
      return { found: true, targets: [{ host: svc.externalName, cname: true, port: -1, name: svcName }] };
    }
    if (svc.kind === 'Headless' || endpoint !== undefined) {
      for (const ep of this.data.endpoints(svc.namespace, svc.name)) {
        if (!publishable(ep, svc)) continue;
        if (endpoint !== undefined && ep.label !== endpoint) continue;
        const ports = ep.ports.length ? ep.ports : SENTINEL_PORTS;
        for (const p of ports) {
          if (!portMatches(p, port, proto)) continue;
          targets.push({ host: ep.ip, cname: false, port: p.port, name: `${ep.label}.${svcName}` });
        }
      }
      return targets.length ? { found: true, targets } : NOT_FOUND;
    }
    const ports = svc.ports.length ? svc.ports : SENTINEL_PORTS;
    for (const p of ports) {
      if (!portMatches(p, port, proto)) continue;
      for (const ip of svc.clusterIPs) targets.push({ host: ip, cname: false, port: p.port, name: svcName });
    }
    return targets.length ? { found: true, targets } : NOT_FOUND;
  }

  /** `a-b-c-d.<ns>.pod.<zone>`: the address is in the name; `verified` checks a pod has it. */
  private podLookup(name: string, labels: string[]): Lookup {
    const mode = this.config.podMode;
    if (mode === 'disabled' || labels.length === 0 || labels.length > 2) return labels.length === 0 ? EMPTY : NOT_FOUND;
    const namespace = labels[labels.length - 1];
    if (!this.data.namespaceExists(namespace)) return NOT_FOUND;
    if (labels.length === 1) return EMPTY;
    const ip = podIP(labels[0]);
    if (!ip) return NOT_FOUND;
    if (mode === 'verified' && !this.data.podExists(namespace, ip)) return NOT_FOUND;
    return { found: true, targets: [{ host: ip, cname: false, port: -1, name }] };
  }

  private fromTargets(name: string, type: string, lookup: Lookup, depth: number): KubernetesAnswer {
    if (!lookup.found) return this.nxdomain();
    const { ttl } = this.config;
    const targets = lookup.targets;
    const cname = targets.find((t) => t.cname);
    if (cname) {
      const record: ResourceRecord = { name, type: 'CNAME', class: 'IN', ttl, data: cname.host };
      if (type === 'CNAME') return this.positive([record]);
      if (type !== 'A' && type !== 'AAAA') return this.nodata();
      // A target inside the zone is answered here; outside, the plugin asks upstream.
      if (zoneOf(cname.host, this.config.domain) === 'cluster' && depth < 8) {
        const inner = this.respond(cname.host, type, depth + 1);
        return { ...inner, rcode: inner.rcode, answers: [record, ...inner.answers] };
      }
      return { ...this.positive([record]), chase: { target: cname.host, type } };
    }
    if (type === 'A' || type === 'AAAA') {
      const answers = this.addresses(
        name,
        targets.map((t) => t.host),
      ).filter((r) => r.type === type);
      return answers.length ? this.positive(answers) : this.nodata();
    }
    if (type === 'SRV') {
      const seen = new Set<string>();
      const srv = targets.filter((t) => {
        const k = `${t.port} ${t.name}`;
        if (t.port < 0 || seen.has(k)) return false;
        seen.add(k);
        return true;
      });
      if (srv.length === 0) return this.nodata();
      const weight = Math.floor(100 / srv.length);
      const answers: ResourceRecord[] = srv.map((t) => ({
        name,
        type: 'SRV',
        class: 'IN',
        ttl,
        data: { priority: 0, weight, port: t.port, target: t.name },
      }));
      const additional: ResourceRecord[] = [];
      const added = new Set<string>();
      for (const t of targets) {
        const k = `${t.name} ${t.host}`;
        if (t.port < 0 || added.has(k)) continue;
        added.add(k);
        additional.push(...this.addresses(t.name, [t.host]));
      }
      return this.positive(answers, additional);
    }
    return this.nodata();
  }

  /** A/AAAA records for `name`, one per distinct address. */
  private addresses(name: string, hosts: string[]): ResourceRecord[] {
    const { ttl } = this.config;
    const out: ResourceRecord[] = [];
    const seen = new Set<string>();
    for (const host of hosts) {
      if (seen.has(host)) continue;
      seen.add(host);
      if (isIPv4(host)) out.push({ name, type: 'A', class: 'IN', ttl, data: host });
      else if (isIPv6(host)) out.push({ name, type: 'AAAA', class: 'IN', ttl, data: host });
    }
    return out;
  }

  private positive(answers: ResourceRecord[], additional: ResourceRecord[] = []): KubernetesAnswer {
    return { rcode: 'NOERROR', answers, authority: [], additional };
  }

  private nodata(): KubernetesAnswer {
    return { rcode: 'NOERROR', answers: [], authority: [soa(this.data, this.config)], additional: [] };
  }

  private nxdomain(): KubernetesAnswer {
    return { rcode: 'NXDOMAIN', answers: [], authority: [soa(this.data, this.config)], additional: [] };
  }
}

/** Endpoints without ports still get address records (CoreDNS adds a port -1 sentinel). */
const SENTINEL_PORTS = [{ name: '', protocol: '', port: -1 }];

function publishable(ep: EndpointEntry, svc: ServiceEntry): boolean {
  return ep.ready || svc.publishNotReadyAddresses;
}

function portMatches(p: { name: string; protocol: string }, port?: string, proto?: string): boolean {
  if (port !== undefined && p.name !== port) return false;
  if (proto !== undefined && p.protocol !== proto) return false;
  return true;
}

/** `10-244-1-5` → `10.244.1.5`; `fd00--1` → `fd00::1`. */
function podIP(label: string): string | undefined {
  const v4 = label.replace(/-/g, '.');
  if (isIPv4(v4)) return v4;
  const v6 = label.replace(/-/g, ':');
  return isIPv6(v6) ? canonicalIPv6(v6) : undefined;
}

function canonicalIPv6(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** The zone's SOA, with CoreDNS's fields: serial = last change, minimum = TTL. */
export function soa(data: ClusterData, config: KubernetesConfig): ResourceRecord {
  return {
    name: config.domain,
    type: 'SOA',
    class: 'IN',
    ttl: config.ttl,
    data: {
      mname: `ns.dns.${config.domain}`,
      rname: `hostmaster.${config.domain}`,
      serial: data.lastModified >>> 0,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: config.ttl,
    },
  };
}

/** PTR for ClusterIPs (→ the Service name) and endpoint IPs (→ the endpoint's name). */
function reverse(name: string, type: string, data: ClusterData, config: KubernetesConfig): KubernetesAnswer {
  const fallthrough: KubernetesAnswer = { rcode: 'NOERROR', answers: [], authority: [], additional: [], fallthrough: true };
  if (type !== 'PTR' || !data.synced) return fallthrough;
  const ip = reverseToIP(name);
  if (!ip) return fallthrough;
  let target: string | undefined;
  const svc = data.serviceByClusterIP(ip);
  if (svc) target = `${svc.name}.${svc.namespace}.svc.${config.domain}`;
  else {
    const ep = data.endpointByIP(ip);
    if (ep) target = `${ep.label}.${ep.service}.${ep.namespace}.svc.${config.domain}`;
  }
  if (!target) return fallthrough;
  return { rcode: 'NOERROR', answers: [{ name, type: 'PTR', class: 'IN', ttl: config.ttl, data: target }], authority: [], additional: [] };
}

function reverseToIP(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4) return undefined;
    const ip = parts.reverse().join('.');
    return isIPv4(ip) ? ip : undefined;
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || nibbles.some((n) => !/^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    const groups = hex.match(/.{4}/g) ?? [];
    return canonicalIPv6(groups.join(':'));
  }
  return undefined;
}

/**
 * The per-pod name-resolution files the kubelet writes: /etc/resolv.conf from the pod's dnsPolicy
 * and dnsConfig, /etc/hosts with the pod's own address and names, and the pod's hostname.
 * Pure text generators; the runtime bind-mounts the files into the pod's mount namespace.
 */
import type { Pod } from '../../api/types/index.js';

/** The cluster's DNS settings, as the kubelet's --cluster-dns and --cluster-domain give them. */
export interface ClusterDnsSettings {
  /** Cluster DNS service addresses; default 10.96.0.10. */
  nameservers: string[];
  /** Default `cluster.local`. */
  domain: string;
}

export const DEFAULT_CLUSTER_DNS: ClusterDnsSettings = { nameservers: ['10.96.0.10'], domain: 'cluster.local' };

/** A parsed resolv.conf. */
export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  /** Options in order, e.g. `ndots:5`, `edns0`. */
  options: string[];
}

/** The limits glibc (and so the kubelet) enforces. */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

/** Parses resolv.conf text (the node's, for dnsPolicy Default). */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const [keyword, ...fields] = raw
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (keyword === 'nameserver' && fields[0]) conf.nameservers.push(fields[0]);
    else if (keyword === 'search' || keyword === 'domain') conf.searches = fields;
    else if (keyword === 'options') conf.options.push(...fields);
  }
  return conf;
}

const unique = (values: string[]) => [...new Set(values)];

/** Merges options by name, later ones overriding (dnsConfig.options override the policy's). */
function mergeOptions(base: string[], extra: { name?: string; value?: string }[]): string[] {
  const byName = new Map<string, string>();
  for (const option of base) byName.set(option.split(':')[0]!, option);
  for (const { name, value } of extra) if (name) byName.set(name, value !== undefined && value !== '' ? `${name}:${value}` : name);
  return [...byName.values()];
}

/**
 * The pod's resolv.conf settings, as the kubelet computes them (pkg/kubelet/network/dns):
 * ClusterFirst (the default) uses the cluster DNS with `<ns>.svc.<domain> svc.<domain> <domain>`
 * and `ndots:5`; a hostNetwork pod with ClusterFirst, and dnsPolicy Default, use the node's file;
 * ClusterFirstWithHostNet uses the cluster DNS; None uses dnsConfig only. dnsConfig is merged on top.
 */
export function podResolvConf(
  pod: Pod,
  cluster: ClusterDnsSettings = DEFAULT_CLUSTER_DNS,
  node: ResolvConf = { nameservers: [], searches: [], options: [] },
): ResolvConf {
  const spec = pod.spec;
  const policy = spec?.dnsPolicy ?? 'ClusterFirst';
  const namespace = pod.metadata?.namespace ?? 'default';
  let conf: ResolvConf;
  const clusterFirst = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !spec?.hostNetwork);
  if (policy === 'None') conf = { nameservers: [], searches: [], options: [] };
  else if (clusterFirst && cluster.nameservers.length > 0) {
    const domain = cluster.domain;
    conf = {
      nameservers: [...cluster.nameservers],
      searches: [`${namespace}.svc.${domain}`, `svc.${domain}`, domain, ...node.searches],
      options: ['ndots:5'],
    };
  } else conf = { nameservers: [...node.nameservers], searches: [...node.searches], options: [...node.options] };
  const extra = spec?.dnsConfig;
  return {
    nameservers: unique([...conf.nameservers, ...(extra?.nameservers ?? [])]).slice(0, MAX_NAMESERVERS),
    searches: unique([...conf.searches, ...(extra?.searches ?? [])]).slice(0, MAX_SEARCHES),
    options: mergeOptions(conf.options, extra?.options ?? []),
  };
}

/** resolv.conf text in the order containerd writes it (and the tutorials print): nameserver, search, options. */
export function formatResolvConf(conf: ResolvConf): string {
  const lines = conf.nameservers.map((ns) => `nameserver ${ns}`);
  if (conf.searches.length > 0) lines.push(`search ${conf.searches.join(' ')}`);
  if (conf.options.length > 0) lines.push(`options ${conf.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** The pod's hostname (spec.hostname, else the pod name, cut to 63 characters as the kubelet does). */
export function podHostname(pod: Pod): string {
  const name = pod.spec?.hostname || pod.metadata?.name || 'localhost';
  return name.slice(0, 63).replace(/[-.]+$/, '');
}

/** The pod's fully qualified name when spec.subdomain is set: `<hostname>.<subdomain>.<ns>.svc.<domain>`. */
export function podFqdn(pod: Pod, domain = DEFAULT_CLUSTER_DNS.domain): string | undefined {
  const subdomain = pod.spec?.subdomain;
  if (!subdomain) return undefined;
  return `${podHostname(pod)}.${subdomain}.${pod.metadata?.namespace ?? 'default'}.svc.${domain}`;
}

/** /etc/hosts as the kubelet writes it ("Kubernetes-managed hosts file."), with hostAliases appended. */
export function hostsFile(pod: Pod, podIPs: string[], domain = DEFAULT_CLUSTER_DNS.domain): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const hostname = podHostname(pod);
  const fqdn = podFqdn(pod, domain);
  for (const ip of podIPs) lines.push(fqdn ? `${ip}\t${fqdn}\t${hostname}` : `${ip}\t${hostname}`);
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length > 0) {
    lines.push('', '# Entries added by HostAliases.');
    for (const alias of aliases) if (alias.ip) lines.push(`${alias.ip}\t${(alias.hostnames ?? []).join('\t')}`);
  }
  return `${lines.join('\n')}\n`;
}

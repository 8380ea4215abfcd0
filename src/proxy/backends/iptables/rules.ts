/**
 * iptables rule generation: proxy state → iptables-restore text, with kube-proxy's layout, chain
 * names, comments and semantics (pkg/proxy/iptables/proxier.go), so `iptables -t nat -L -n` on a
 * node reads like a kubeadm cluster's.
 *
 *  nat:    PREROUTING/OUTPUT → KUBE-SERVICES → (cluster IP) KUBE-SVC-* | KUBE-SVL-*
 *                                          → (external IP, LB IP) KUBE-EXT-* | KUBE-FW-* → KUBE-EXT-*
 *                                          → (last rule, local dst) KUBE-NODEPORTS → KUBE-EXT-*
 *          KUBE-SVC/SVL → (affinity `recent`, then `statistic random`) KUBE-SEP-* → DNAT
 *          POSTROUTING → KUBE-POSTROUTING: MASQUERADE packets marked 0x4000 by KUBE-MARK-MASQ
 *  filter: KUBE-SERVICES / KUBE-EXTERNAL-SERVICES reject (no endpoints) or drop (no local endpoints),
 *          KUBE-NODEPORTS accepts health-check node ports, KUBE-PROXY-FIREWALL enforces
 *          loadBalancerSourceRanges, KUBE-FORWARD accepts marked and established forwarded traffic.
 *
 * Sync design (measured on this kernel, research/dependencies.md §7): with iptables-nft a
 * kube-proxy-style `--noflush` restore that re-declares every chain grows worse than quadratically
 * (24k chains 43 s; 60k chains did not finish in 20 min), while a whole-table replace (no --noflush)
 * of 60k chains takes ~9 s and a small `--noflush` update ~0.3 s. So:
 *  - a FULL sync ({@link renderFull}) rewrites the nat and filter tables whole, without --noflush,
 *    carrying over every rule that is not ours, read with IptablesExecutor.saveForeign (only the
 *    built-in and foreign chains, with nf_tables) and parsed by {@link parseForeignRules};
 *  - a PARTIAL sync ({@link renderPartial}, with --noflush) writes only the chains of services
 *    whose rules changed, flushes and deletes (`-X`) chains that no longer exist, and changes the
 *    dispatch chains (KUBE-SERVICES, …) rule by rule (`-D` by spec, `-I`/`-A`): iptables-nft-restore
 *    fetches only the chains a --noflush restore names, but re-declaring KUBE-SERVICES rewrites
 *    all its rules (~1.8 s at 10k Services; one rule costs what the kernel's ~0.1 s commit costs).
 * {@link buildRuleset} reuses the previous per-service rules of unchanged services, so an
 * endpoint change at 10k services costs one service's generation plus a few string compares.
 */

import { flattenLines } from '../../flat.js';
import { chainHash, cidrContains } from '../../ipv4.js';
import {
  type ChainPlan,
  type EndpointInfo,
  type EndpointsMap,
  endpointString,
  planChains,
  type ServicePortInfo,
  type ServicePortMap,
} from '../../model.js';
import { VersionedMap } from '../../versioned-map.js';
import { chunkLines } from '../chunks.js';

/** Node-wide settings that shape the rules. */
export interface IptablesConfig {
  /** Pod CIDR of the whole cluster (kube-proxy's --cluster-cidr): traffic from outside it is masqueraded. '' disables the check. */
  clusterCIDR: string;
  /** Masquerade all service traffic (--masquerade-all). */
  masqueradeAll?: boolean;
  /** Bit of the fwmark used to request masquerade. Default 14 (0x4000). */
  masqueradeBit?: number;
  /** Addresses that accept NodePort traffic; empty means every local address (`--dst-type LOCAL`). */
  nodePortAddresses?: readonly string[];
  /** This node's IP: LoadBalancer source ranges that contain it also admit the LB IPs as source (VIP hairpin). */
  nodeIP?: string;
  /** Add `--random-fully` to MASQUERADE. */
  randomFully?: boolean;
}

/** Tables and the dispatch chains every service adds rules to. */
export type DispatchChain =
  | 'nat KUBE-SERVICES'
  | 'nat KUBE-NODEPORTS'
  | 'filter KUBE-SERVICES'
  | 'filter KUBE-EXTERNAL-SERVICES'
  | 'filter KUBE-NODEPORTS'
  | 'filter KUBE-PROXY-FIREWALL';

const DISPATCH_CHAINS: readonly DispatchChain[] = [
  'filter KUBE-NODEPORTS',
  'filter KUBE-SERVICES',
  'filter KUBE-EXTERNAL-SERVICES',
  'filter KUBE-PROXY-FIREWALL',
  'nat KUBE-SERVICES',
  'nat KUBE-NODEPORTS',
];

/** The filter table's dispatch chains, in writing order. */
const FILTER_DISPATCH = DISPATCH_CHAINS.filter((d): d is FilterDispatchChain => d.startsWith('filter'));

/** Everything one service port contributes: its own nat chains and its lines in the shared chains. */
export interface ServiceRules {
  readonly key: string;
  readonly namespacedName: string;
  /**
   * Own nat chains (KUBE-SVC/SVL/EXT/FW/SEP) in writing order → their `-A` lines as one text
   * (joined by newlines): one flat string per chain is what a full sync writes and a partial sync
   * compares, and costs a fraction of keeping every rule as a string of its own.
   */
  readonly natChains: ReadonlyMap<string, string>;
  /** Rules in {@link natChains}. */
  readonly natRuleCount: number;
  readonly dispatch: Readonly<Record<DispatchChain, readonly string[]>>;
  /** One string of everything above: equal fingerprints mean equal rules. */
  readonly fingerprint: string;
}

/** The whole desired state: per-service rules plus the config they were built with. */
export interface IptablesRuleset {
  readonly config: IptablesConfig;
  /** By service-port key; in key order only when built whole (partial syncs derive it in place). */
  readonly services: ReadonlyMap<string, ServiceRules>;
}

/** Chains kube-proxy owns outright (besides the per-service ones). */
export const FIXED_CHAINS = {
  filter: ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL'],
  nat: ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'],
} as const;

const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-'];

/** Whether a chain is one this generator owns (and so may flush or delete). */
export function isOwnChain(table: string, chain: string): boolean {
  const fixed = (FIXED_CHAINS as Record<string, readonly string[]>)[table] ?? [];
  return fixed.includes(chain) || (table === 'nat' && SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p)));
}

/** `KUBE-SVC-` + 16 chars of base32(sha256(servicePortName + protocol)), as upstream. */
export function servicePortChainName(
  prefix: 'KUBE-SVC-' | 'KUBE-SVL-' | 'KUBE-EXT-' | 'KUBE-FW-',
  portName: string,
  protocol: string,
): string {
  return prefix + chainHash(portName + protocol.toLowerCase(), 16);
}

/** `KUBE-SEP-` + 16 chars of base32(sha256(servicePortName + protocol + "ip:port")), as upstream. */
export function endpointChainName(portName: string, protocol: string, endpoint: string): string {
  return 'KUBE-SEP-' + chainHash(portName + protocol.toLowerCase() + endpoint, 16);
}

function comment(text: string): string {
  return `-m comment --comment ${/\s/.test(text) ? `"${text}"` : text}`;
}

/** {@link comment} of a text known to hold a space (so always quoted), without the regex. */
function spacedComment(text: string): string {
  return `-m comment --comment "${text}"`;
}

/** The masquerade mark as kube-proxy prints it (0x4000 for bit 14). */
export function masqueradeMark(config: IptablesConfig): string {
  return `0x${(1 << (config.masqueradeBit ?? 14)).toString(16)}`;
}

/** {@link probability} texts by n, made once: every Service with n endpoints repeats them. */
const probabilities: string[] = [];

/** kube-proxy's probability text: 1/n with ten decimals. */
export function probability(n: number): string {
  if (n >= 1024) return (1 / n).toFixed(10);
  probabilities[n] ??= (1 / n).toFixed(10);
  return probabilities[n];
}

type FilterDispatchChain = Extract<DispatchChain, `filter ${string}`>;
type FilterDispatch = Record<FilterDispatchChain, readonly string[]>;

const NO_LINES: readonly string[] = Object.freeze([]);
/** What most ports add to the filter table (endpoints everywhere, no LB firewall, no health check): nothing. */
const NO_FILTER: FilterDispatch = Object.freeze({
  'filter KUBE-SERVICES': NO_LINES,
  'filter KUBE-EXTERNAL-SERVICES': NO_LINES,
  'filter KUBE-NODEPORTS': NO_LINES,
  'filter KUBE-PROXY-FIREWALL': NO_LINES,
});

/**
 * The filter-table rules one service port adds to the dispatch chains (rejects and drops for
 * missing endpoints, health-check ports, the LoadBalancer firewall). They depend only on which
 * endpoints the port has, so a full sync writes the whole filter table — which comes first in the
 * restore text, as kube-proxy writes it — before building any Service's nat chains.
 */
function filterDispatch(info: ServicePortInfo, cat: ChainPlan): FilterDispatch {
  const { hasAnyEndpoints, hasInternal, hasExternal, usesFwChain } = cat;
  const noEndpoints = !hasAnyEndpoints;
  const internalTarget = noEndpoints ? 'REJECT' : !hasInternal ? 'DROP' : undefined;
  const externalTarget = noEndpoints ? 'REJECT' : !hasExternal ? 'DROP' : undefined;
  if (!internalTarget && !externalTarget && !usesFwChain && info.healthCheckNodePort === 0) return NO_FILTER;
  const proto = info.protocol.toLowerCase();
  const name = info.name;
  const services: string[] = [];
  const external: string[] = [];
  const nodePorts: string[] = [];
  const firewall: string[] = [];
  const match = `-m ${proto} -p ${proto}`;
  const filterComment = (target: string) =>
    spacedComment(target === 'REJECT' ? `${name} has no endpoints` : `${name} has no local endpoints`);
  if (internalTarget) {
    services.push(
      `-A KUBE-SERVICES ${filterComment(internalTarget)} ${match} -d ${info.clusterIP} --dport ${info.port} -j ${internalTarget}`,
    );
  }
  if (externalTarget) {
    for (const ip of info.externalIPs) {
      external.push(
        `-A KUBE-EXTERNAL-SERVICES ${filterComment(externalTarget)} ${match} -d ${ip} --dport ${info.port} -j ${externalTarget}`,
      );
    }
  }
  if (usesFwChain) {
    const fwChain = servicePortChainName('KUBE-FW-', name, proto);
    for (const ip of info.loadBalancerVIPs) {
      firewall.push(
        `-A KUBE-PROXY-FIREWALL ${spacedComment(`${name} traffic not accepted by ${fwChain}`)} ${match} -d ${ip} --dport ${info.port} -j DROP`,
      );
    }
  }
  if (externalTarget) {
    for (const ip of info.loadBalancerVIPs) {
      external.push(
        `-A KUBE-EXTERNAL-SERVICES ${filterComment(externalTarget)} ${match} -d ${ip} --dport ${info.port} -j ${externalTarget}`,
      );
    }
    if (info.nodePort !== 0) {
      external.push(
        `-A KUBE-EXTERNAL-SERVICES ${filterComment(externalTarget)} -m addrtype --dst-type LOCAL ${match} --dport ${info.nodePort} -j ${externalTarget}`,
      );
    }
  }
  // Health-check node port: always open, whether or not this node has endpoints.
  if (info.healthCheckNodePort !== 0) {
    nodePorts.push(
      `-A KUBE-NODEPORTS ${spacedComment(`${name} health check node port`)} -m tcp -p tcp --dport ${info.healthCheckNodePort} -j ACCEPT`,
    );
  }
  for (const lines of [services, external, nodePorts, firewall]) flattenLines(lines);
  return {
    'filter KUBE-SERVICES': services,
    'filter KUBE-EXTERNAL-SERVICES': external,
    'filter KUBE-NODEPORTS': nodePorts,
    'filter KUBE-PROXY-FIREWALL': firewall,
  };
}

/** The rules of chain `c` in `chains`, added (empty, in writing order) on first use. */
function natChain(chains: Map<string, string[]>, c: string): string[] {
  let lines = chains.get(c);
  if (!lines) {
    lines = [];
    chains.set(c, lines);
  }
  return lines;
}

/** An endpoint's `ip:port` and KUBE-SEP chain, worked out once per service port. */
interface EndpointNames {
  readonly address: string;
  readonly chain: string;
}

/** One service port's rules: a class, so the lazy fingerprint needs no closure per port. */
class IptServiceRules implements ServiceRules {
  #fingerprint: string | undefined;
  constructor(
    readonly key: string,
    readonly namespacedName: string,
    readonly natChains: ReadonlyMap<string, string>,
    readonly natRuleCount: number,
    readonly dispatch: Readonly<Record<DispatchChain, readonly string[]>>,
  ) {}

  // Built on first use: full syncs never compare, so they skip joining every rule once more.
  get fingerprint(): string {
    this.#fingerprint ??=
      [...this.natChains].map(([c, text]) => `:${c}\n${text}`).join('\n') +
      '\n' +
      DISPATCH_CHAINS.map((d) => this.dispatch[d].join('\n')).join('\n');
    return this.#fingerprint;
  }
}

/**
 * The balancing rules of `svc` over `eps` (affinity checks, then the chained probabilities).
 * Each endpoint's rules share one prefix, `-A svc -m comment --comment "name -> ip:port"`.
 */
function writeBalancing(
  lines: string[],
  svc: string,
  eps: readonly EndpointInfo[],
  names: ReadonlyMap<EndpointInfo, EndpointNames>,
  name: string,
  stickySeconds: number,
): void {
  if (stickySeconds > 0) {
    for (const ep of eps) {
      const { address, chain } = names.get(ep)!;
      lines.push(
        `-A ${svc} -m comment --comment "${name} -> ${address}" -m recent --name ${chain} --rcheck --seconds ${stickySeconds} --reap -j ${chain}`,
      );
    }
  }
  const last = eps.length - 1;
  for (let i = 0; i <= last; i++) {
    const { address, chain } = names.get(eps[i]!)!;
    lines.push(
      i < last
        ? `-A ${svc} -m comment --comment "${name} -> ${address}" -m statistic --mode random --probability ${probability(eps.length - i)} -j ${chain}`
        : `-A ${svc} -m comment --comment "${name} -> ${address}" -j ${chain}`,
    );
  }
}

/** Builds one service port's rules (the heart of kube-proxy's syncProxyRules loop body); `cat` when already planned. */
export function serviceRules(
  info: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
  config: IptablesConfig,
  cat: ChainPlan = planChains(endpoints, info),
  filter: FilterDispatch = filterDispatch(info, cat),
): ServiceRules {
  const proto = info.protocol.toLowerCase();
  const name = info.name;
  const hash = chainHash(name + proto, 16);
  const svcChain = `KUBE-SVC-${hash}`;
  const svlChain = `KUBE-SVL-${hash}`;
  const extChain = `KUBE-EXT-${hash}`;
  const fwChain = `KUBE-FW-${hash}`;
  const { clusterEndpoints, localEndpoints, hasAnyEndpoints } = cat;
  const { usesClusterChain, usesLocalChain, hasInternal, hasExternal, usesExtChain, usesFwChain } = cat;
  const internalChain = cat.internalToLocal ? svlChain : svcChain;
  const externalPolicyChain = cat.externalToLocal ? svlChain : svcChain;
  const lbChain = usesFwChain ? fwChain : extChain;

  const natServices: string[] = [];
  const natNodePorts: string[] = [];
  const natChains = new Map<string, string[]>();
  const match = `-m ${proto} -p ${proto}`;
  const masqChain = 'KUBE-MARK-MASQ';
  // What every one of the port's cluster-IP rules says: `comment(name + " cluster IP")` and the destination.
  const clusterIPMatch = `-m comment --comment "${name} cluster IP" ${match} -d ${info.clusterIP} --dport ${info.port}`;
  const nameComment = comment(name);

  // Cluster IP.
  if (hasInternal) natServices.push(`-A KUBE-SERVICES ${clusterIPMatch} -j ${internalChain}`);

  if (hasAnyEndpoints) {
    // External IPs.
    for (const ip of info.externalIPs) {
      natServices.push(`-A KUBE-SERVICES ${spacedComment(`${name} external IP`)} ${match} -d ${ip} --dport ${info.port} -j ${extChain}`);
    }
    // LoadBalancer ingress IPs.
    for (const ip of info.loadBalancerVIPs) {
      natServices.push(`-A KUBE-SERVICES ${spacedComment(`${name} loadbalancer IP`)} ${match} -d ${ip} --dport ${info.port} -j ${lbChain}`);
    }
    // Node port.
    if (info.nodePort !== 0) natNodePorts.push(`-A KUBE-NODEPORTS ${nameComment} ${match} --dport ${info.nodePort} -j ${extChain}`);
  }

  // Internal traffic: masquerade what comes from outside the pod network (or everything).
  if (hasInternal) {
    if (config.masqueradeAll) natChain(natChains, internalChain).push(`-A ${internalChain} ${clusterIPMatch} -j ${masqChain}`);
    else if (config.clusterCIDR)
      natChain(natChains, internalChain).push(`-A ${internalChain} ${clusterIPMatch} ! -s ${config.clusterCIDR} -j ${masqChain}`);
  }

  // External traffic chain.
  if (usesExtChain) {
    const ext = natChain(natChains, extChain);
    if (!info.externalPolicyLocal) {
      ext.push(`-A ${extChain} ${spacedComment(`masquerade traffic for ${name} external destinations`)} -j ${masqChain}`);
    } else {
      // Pods and the node itself reach external destinations as if from outside and back: Cluster policy, no source kept.
      if (config.clusterCIDR)
        ext.push(
          `-A ${extChain} ${spacedComment(`pod traffic for ${name} external destinations`)} -s ${config.clusterCIDR} -j ${svcChain}`,
        );
      ext.push(
        `-A ${extChain} ${spacedComment(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${masqChain}`,
      );
      ext.push(
        `-A ${extChain} ${spacedComment(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${svcChain}`,
      );
    }
    if (hasExternal) ext.push(`-A ${extChain} -j ${externalPolicyChain}`);
  }

  // LoadBalancer source ranges.
  if (usesFwChain) {
    const fw = natChain(natChains, fwChain);
    const head = `-A ${fwChain} ${spacedComment(`${name} loadbalancer IP`)}`;
    let allowFromNode = false;
    for (const cidr of info.loadBalancerSourceRanges) {
      fw.push(`${head} -s ${cidr} -j ${extChain}`);
      if (config.nodeIP && cidrContains(cidr, config.nodeIP)) allowFromNode = true;
    }
    if (allowFromNode) for (const ip of info.loadBalancerVIPs) fw.push(`${head} -s ${ip} -j ${extChain}`);
    fw.push(`-A ${fwChain} ${spacedComment(`other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL`)}`);
  }

  // Every balancing rule's endpoint is one of allReachableEndpoints (the same objects).
  const names = new Map<EndpointInfo, EndpointNames>();
  for (const ep of cat.allReachableEndpoints) {
    const address = endpointString(ep);
    names.set(ep, { address, chain: `KUBE-SEP-${chainHash(name + proto + address, 16)}` });
  }
  if (usesClusterChain) writeBalancing(natChain(natChains, svcChain), svcChain, clusterEndpoints, names, name, info.stickySeconds);
  if (usesLocalChain) writeBalancing(natChain(natChains, svlChain), svlChain, localEndpoints, names, name, info.stickySeconds);

  // Endpoint chains: hairpin masquerade, affinity bookkeeping, DNAT.
  for (const ep of cat.allReachableEndpoints) {
    const { address, chain: sep } = names.get(ep)!;
    const recent = info.stickySeconds > 0 ? ` -m recent --name ${sep} --set` : '';
    natChains.set(sep, [
      `-A ${sep} ${nameComment} -s ${ep.ip} -j ${masqChain}`,
      `-A ${sep} ${nameComment}${recent} ${match} -j DNAT --to-destination ${address}`,
    ]);
  }

  // Kept until the port changes: flat strings, not ropes of their pieces (see flattenString). A
  // join makes a flat string, so each chain's text is flat without flattening every rule first.
  flattenLines(natServices);
  flattenLines(natNodePorts);
  const chainTexts = new Map<string, string>();
  let natRuleCount = 0;
  for (const [c, lines] of natChains) {
    chainTexts.set(c, lines.join('\n'));
    natRuleCount += lines.length;
  }
  return new IptServiceRules(info.key, info.namespacedName, chainTexts, natRuleCount, {
    'nat KUBE-SERVICES': natServices,
    'nat KUBE-NODEPORTS': natNodePorts,
    'filter KUBE-SERVICES': filter['filter KUBE-SERVICES'],
    'filter KUBE-EXTERNAL-SERVICES': filter['filter KUBE-EXTERNAL-SERVICES'],
    'filter KUBE-NODEPORTS': filter['filter KUBE-NODEPORTS'],
    'filter KUBE-PROXY-FIREWALL': filter['filter KUBE-PROXY-FIREWALL'],
  });
}

/** What changed since the previous ruleset, so unchanged services' rules are reused. */
export interface RulesetDelta {
  previous: IptablesRuleset;
  /** Services (`namespace/name`) whose ports or endpoints changed. */
  changedServices: ReadonlySet<string>;
  /**
   * The service port keys of those Services (UpdateResult.updatedServicePorts): when given, a
   * build derives the new ruleset from `previous` touching only these ports, O(changes) instead
   * of O(services).
   */
  changedPorts?: ReadonlySet<string>;
}

function sameConfig(a: IptablesConfig, b: IptablesConfig): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Builds the desired ruleset. With `delta` (and an unchanged config), services not in
 * `changedServices` keep their previous {@link ServiceRules} object untouched.
 */
export function buildRuleset(
  services: ServicePortMap,
  endpoints: EndpointsMap,
  config: IptablesConfig,
  delta?: RulesetDelta,
): IptablesRuleset {
  const previous = delta?.previous;
  if (delta?.changedPorts && previous?.services instanceof VersionedMap && sameConfig(previous.config, config)) {
    const changes: Array<[string, ServiceRules | undefined]> = [];
    for (const key of delta.changedPorts) {
      const info = services.get(key);
      changes.push([key, info && serviceRules(info, endpoints.get(key) ?? [], config)]);
    }
    const ruleset: IptablesRuleset = { config, services: previous.services.derive(changes) };
    const before = counts.get(previous);
    if (before) {
      const after = { ...before };
      for (const key of delta.changedPorts) {
        addCounts(after, previous.services.get(key), -1);
        addCounts(after, ruleset.services.get(key), 1);
      }
      counts.set(ruleset, after);
    }
    return ruleset;
  }
  const reuse = delta && sameConfig(delta.previous.config, config) ? delta : undefined;
  const out = new Map<string, ServiceRules>();
  // Sorted afresh: rulesets derived by partial syncs keep their keys in no particular order.
  const keys = [...services.keys()].sort();
  for (const key of keys) {
    const info = services.get(key)!;
    const previous = reuse && !reuse.changedServices.has(info.namespacedName) ? reuse.previous.services.get(key) : undefined;
    out.set(key, previous ?? serviceRules(info, endpoints.get(key) ?? [], config));
  }
  return { config, services: new VersionedMap(out) };
}

function dispatchLines(ruleset: IptablesRuleset, which: DispatchChain): string[] {
  const lines: string[] = [];
  for (const rules of ruleset.services.values()) for (const line of rules.dispatch[which]) lines.push(line);
  if (which === 'nat KUBE-SERVICES') {
    const c = comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
    const addrs = ruleset.config.nodePortAddresses ?? [];
    if (addrs.length === 0) lines.push(`-A KUBE-SERVICES ${c} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`);
    else for (const ip of addrs) lines.push(`-A KUBE-SERVICES ${c} -d ${ip} -j KUBE-NODEPORTS`);
  }
  return lines;
}

/** Jump rules from the built-in chains into ours (kube-proxy installs these with `iptables -I`). */
export const JUMP_RULES: Readonly<Record<'filter' | 'nat', readonly string[]>> = {
  filter: [
    `-A INPUT -m conntrack --ctstate NEW ${comment('kubernetes load balancer firewall')} -j KUBE-PROXY-FIREWALL`,
    `-A INPUT ${comment('kubernetes health check service ports')} -j KUBE-NODEPORTS`,
    `-A INPUT -m conntrack --ctstate NEW ${comment('kubernetes externally-visible service portals')} -j KUBE-EXTERNAL-SERVICES`,
    `-A FORWARD -m conntrack --ctstate NEW ${comment('kubernetes load balancer firewall')} -j KUBE-PROXY-FIREWALL`,
    `-A FORWARD ${comment('kubernetes forwarding rules')} -j KUBE-FORWARD`,
    `-A FORWARD -m conntrack --ctstate NEW ${comment('kubernetes service portals')} -j KUBE-SERVICES`,
    `-A FORWARD -m conntrack --ctstate NEW ${comment('kubernetes externally-visible service portals')} -j KUBE-EXTERNAL-SERVICES`,
    `-A OUTPUT -m conntrack --ctstate NEW ${comment('kubernetes load balancer firewall')} -j KUBE-PROXY-FIREWALL`,
    `-A OUTPUT -m conntrack --ctstate NEW ${comment('kubernetes service portals')} -j KUBE-SERVICES`,
  ],
  nat: [
    `-A PREROUTING ${comment('kubernetes service portals')} -j KUBE-SERVICES`,
    `-A OUTPUT ${comment('kubernetes service portals')} -j KUBE-SERVICES`,
    `-A POSTROUTING ${comment('kubernetes postrouting rules')} -j KUBE-POSTROUTING`,
  ],
};

function fixedRules(config: IptablesConfig): Record<'filter' | 'nat', string[]> {
  const mark = masqueradeMark(config);
  return {
    filter: [
      '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
      `-A KUBE-FORWARD ${comment('kubernetes forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`,
      `-A KUBE-FORWARD ${comment('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    ],
    nat: [
      `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
      `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`,
      `-A KUBE-POSTROUTING ${comment('kubernetes service traffic requiring SNAT')} -j MASQUERADE${config.randomFully ? ' --random-fully' : ''}`,
      `-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`,
    ],
  };
}

const BUILTIN_CHAINS: Record<'filter' | 'nat', readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** Rules in the nat and filter tables that belong to someone else, to carry across a full sync. */
export interface ForeignRules {
  /** Per table: chain declaration lines (`:CHAIN POLICY [p:b]`) of built-in and foreign chains. */
  chains: Record<'filter' | 'nat', string[]>;
  /** Per table: `-A` lines of foreign rules, in order. */
  rules: Record<'filter' | 'nat', string[]>;
}

/** Extracts everything not ours from `iptables-save` output (our jump rules are recognised by target). */
export function parseForeignRules(saveText: string): ForeignRules {
  const out: ForeignRules = { chains: { filter: [], nat: [] }, rules: { filter: [], nat: [] } };
  const ownTargets = new Set<string>([...FIXED_CHAINS.filter, ...FIXED_CHAINS.nat]);
  let table: 'filter' | 'nat' | undefined;
  for (const line of saveText.split('\n')) {
    if (line.startsWith('*')) {
      const name = line.slice(1).trim();
      table = name === 'filter' || name === 'nat' ? name : undefined;
      continue;
    }
    if (!table) continue;
    if (line.startsWith(':')) {
      const chainName = line.slice(1, line.indexOf(' '));
      if (!isOwnChain(table, chainName)) out.chains[table].push(line.replace(/\[\d+:\d+\]$/, '[0:0]'));
    } else if (line.startsWith('-A ')) {
      // At 10k Services the save holds ~170k of our own rules: decide on the chain name alone first.
      const end = line.indexOf(' ', 3);
      const chainName = line.slice(3, end < 0 ? undefined : end);
      if (isOwnChain(table, chainName)) continue;
      const target = / -j (\S+)/.exec(line)?.[1] ?? '';
      if (BUILTIN_CHAINS[table].includes(chainName) && ownTargets.has(target)) continue;
      out.rules[table].push(line);
    }
  }
  return out;
}

/**
 * A full sync's services in key order: each port's filter rules known up front, its complete
 * rules built (or reused) when the nat table's text reaches it.
 */
interface FullSource {
  readonly config: IptablesConfig;
  readonly keys: readonly string[];
  filter(key: string): Readonly<Record<FilterDispatchChain, readonly string[]>>;
  rules(key: string): ServiceRules;
}

/** The plan of a full sync: see {@link planFullSync}. */
export interface FullSyncPlan {
  readonly source: FullSource;
}

/**
 * Prepares a full sync: sorts the service ports and works out every port's filter rules (cheap:
 * which endpoints it has), reusing unchanged ports' rules from `delta.previous` as
 * {@link buildRuleset} does. The nat chains are built later, while iptables-restore already
 * parses the text before them ({@link streamFullSync}).
 */
export function planFullSync(
  services: ServicePortMap,
  endpoints: EndpointsMap,
  config: IptablesConfig,
  delta?: RulesetDelta,
): FullSyncPlan {
  const reuse = delta && sameConfig(delta.previous.config, config) ? delta : undefined;
  const keys = [...services.keys()].sort();
  const reused = new Map<string, ServiceRules>();
  const planned = new Map<string, { cat: ChainPlan; filter: FilterDispatch }>();
  for (const key of keys) {
    const info = services.get(key)!;
    const previous = reuse && !reuse.changedServices.has(info.namespacedName) ? reuse.previous.services.get(key) : undefined;
    if (previous) reused.set(key, previous);
    else {
      const cat = planChains(endpoints.get(key) ?? [], info);
      planned.set(key, { cat, filter: filterDispatch(info, cat) });
    }
  }
  return {
    source: {
      config,
      keys,
      filter: (key) => reused.get(key)?.dispatch ?? planned.get(key)!.filter,
      rules: (key) => {
        const previous = reused.get(key);
        if (previous) return previous;
        const { cat, filter } = planned.get(key)!;
        return serviceRules(services.get(key)!, endpoints.get(key) ?? [], config, cat, filter);
      },
    },
  };
}

/**
 * The text of {@link renderFull} for a planned full sync in chunks of about 64 KiB, each built and
 * rendered when pulled: iptables-restore parses the filter table and the first Services' nat
 * chains while later Services are built. `done` receives the complete ruleset after the last chunk.
 */
export function streamFullSync(
  plan: FullSyncPlan,
  foreign: ForeignRules | undefined,
  done: (ruleset: IptablesRuleset) => void,
): Iterable<string> {
  return chunkLines(fullLines(plan.source, foreign, done));
}

/**
 * The complete nat and filter tables, for `iptables-restore` WITHOUT --noflush: replaces both tables
 * atomically; `foreign` (from the current `iptables-save`) keeps other software's rules.
 */
export function renderFull(ruleset: IptablesRuleset, foreign?: ForeignRules): string {
  const source: FullSource = {
    config: ruleset.config,
    keys: [...ruleset.services.keys()].sort(),
    filter: (key) => ruleset.services.get(key)!.dispatch,
    rules: (key) => ruleset.services.get(key)!,
  };
  return [...chunkLines(fullLines(source, foreign))].join('');
}

/**
 * kube-proxy's two tables, filter first. The nat table declares each Service's chains just before
 * their rules, and the dispatch chains' rules (which jump to them) come last: the tables come out
 * as with all declarations first, but the nat text can be written Service by Service as each is built.
 */
function* fullLines(source: FullSource, foreign?: ForeignRules, done?: (ruleset: IptablesRuleset) => void): Generator<string> {
  const fixed = fixedRules(source.config);
  const head = function* (table: 'filter' | 'nat') {
    yield `*${table}`;
    const foreignChains = foreign?.chains[table] ?? [];
    const declared = new Set(foreignChains.map((l) => l.slice(1).split(' ')[0]));
    for (const builtin of BUILTIN_CHAINS[table]) if (!declared.has(builtin)) yield `:${builtin} ACCEPT [0:0]`;
    yield* foreignChains;
    for (const c of FIXED_CHAINS[table]) yield `:${c} - [0:0]`;
    yield* JUMP_RULES[table];
    yield* foreign?.rules[table] ?? [];
  };
  yield* head('filter');
  // Looked up once, not once per dispatch chain: most ports add nothing to any of them.
  const filters = source.keys.map((key) => source.filter(key));
  for (const d of FILTER_DISPATCH) {
    for (const filter of filters) {
      const lines = filter[d];
      if (lines.length) yield* lines;
    }
  }
  yield* fixed.filter;
  yield 'COMMIT';
  yield* head('nat');
  yield* fixed.nat;
  const built = new Map<string, ServiceRules>();
  for (const key of source.keys) {
    const rules = source.rules(key);
    built.set(key, rules);
    if (rules.natChains.size) yield natBlock(rules);
  }
  const ruleset: IptablesRuleset = { config: source.config, services: new VersionedMap(built) };
  for (const d of DISPATCH_CHAINS) if (d.startsWith('nat')) yield* dispatchLines(ruleset, d);
  yield 'COMMIT';
  done?.(ruleset);
}

/** A port's nat chains as one string of lines (one join, one yield): declarations, then rules. */
function natBlock(rules: ServiceRules): string {
  const lines: string[] = [];
  for (const c of rules.natChains.keys()) lines.push(`:${c} - [0:0]`);
  for (const text of rules.natChains.values()) if (text) lines.push(text);
  return lines.join('\n');
}

type Pair = [ServiceRules | undefined, ServiceRules | undefined];

/**
 * Service ports whose rules differ between two rulesets, as [before, after] (undefined = absent):
 * ports changed or removed in key order, then ports added in key order. When `current` was
 * derived from `previous`, only the ports it rebuilt are looked at; otherwise every port is
 * compared, one identity check for each port a build reused.
 */
function changedPairs(previous: IptablesRuleset, current: IptablesRuleset): Pair[] {
  const changed: Pair[] = [];
  const added: Pair[] = [];
  const visit = (before: ServiceRules | undefined, after: ServiceRules | undefined) => {
    if (before === after || before?.fingerprint === after?.fingerprint) return;
    (before ? changed : added).push([before, after]);
  };
  const derived = current.services instanceof VersionedMap ? current.services.keysChangedSince(previous.services) : undefined;
  if (derived) {
    for (const key of derived) visit(previous.services.get(key), current.services.get(key));
  } else {
    for (const [key, before] of previous.services) visit(before, current.services.get(key));
    for (const [key, after] of current.services) if (!previous.services.has(key)) visit(undefined, after);
  }
  // Sorted, so the text does not depend on how the pairs were found or on the maps' order.
  const keyOf = ([before, after]: Pair) => (before ?? after)!.key;
  const byKey = (a: Pair, b: Pair) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);
  return [...changed.sort(byKey), ...added.sort(byKey)];
}

/**
 * The changes from `previous` to `current`, for `iptables-restore --noflush`: rewrites changed
 * services' chains, deletes and inserts their single rules in the dispatch chains (filter rules
 * added before and removed after the nat block; new nat
 * KUBE-SERVICES rules go first, so the KUBE-NODEPORTS rule stays last; a full sync restores
 * kube-proxy's order), deletes chains that went away. A config change rewrites every dispatch
 * chain. Returns '' when nothing changed. Only valid when `previous` is what the kernel holds
 * (i.e. the last sync succeeded).
 */
export function renderPartial(previous: IptablesRuleset, current: IptablesRuleset): string {
  const decl: Record<'filter' | 'nat', string[]> = { filter: [], nat: [] };
  const rules: Record<'filter' | 'nat', string[]> = { filter: [], nat: [] };
  // iptables-restore commits each table block on its own. Filter rules that reject or drop a
  // Service's traffic are added before the nat block and removed after it, so a connection never
  // meets neither the REJECT nor the DNAT (its SYN would vanish and hang until a retry).
  const filterRemovals: string[] = [];
  const pairs = changedPairs(previous, current);
  if (!sameConfig(previous.config, current.config)) {
    for (const d of DISPATCH_CHAINS) {
      const [table, chainName] = d.split(' ') as ['filter' | 'nat', string];
      decl[table].push(`:${chainName} - [0:0]`);
      rules[table].push(...dispatchLines(current, d));
    }
  } else {
    // Re-declaring a dispatch chain rewrites all of its rules (10k at 10k Services: ~1.8 s in
    // iptables-nft-restore); deleting and inserting single rules costs what one rule costs. Their
    // order inside a dispatch chain does not matter (each matches its own destination), except
    // that nat KUBE-SERVICES must end with the KUBE-NODEPORTS rule, so new rules go first there.
    // The next full sync writes kube-proxy's canonical order again.
    const removed: Record<'filter' | 'nat', string[]> = { filter: [], nat: [] };
    const added: Record<'filter' | 'nat', string[]> = { filter: [], nat: [] };
    const diff = (before: ServiceRules | undefined, after: ServiceRules | undefined) => {
      for (const d of DISPATCH_CHAINS) {
        const table = d.startsWith('nat') ? 'nat' : 'filter';
        const old = before?.dispatch[d] ?? [];
        const now = after?.dispatch[d] ?? [];
        for (const line of old) if (!now.includes(line)) removed[table].push(`-D${line.slice(2)}`);
        const fresh = now.filter((line) => !old.includes(line));
        if (d !== 'nat KUBE-SERVICES') added[table].push(...fresh);
        else for (const line of fresh.reverse()) added[table].push(`-I KUBE-SERVICES 1${line.slice('-A KUBE-SERVICES'.length)}`);
      }
    };
    for (const [before, after] of pairs) diff(before, after);
    rules.nat.push(...removed.nat, ...added.nat);
    rules.filter.push(...added.filter);
    filterRemovals.push(...removed.filter);
  }
  const stale = new Set<string>();
  for (const [before, after] of pairs) {
    for (const c of before?.natChains.keys() ?? []) if (!after?.natChains.has(c)) stale.add(c);
  }
  for (const [before, after] of pairs) {
    if (!after) continue;
    for (const [c, text] of after.natChains) {
      stale.delete(c);
      if (before?.natChains.get(c) === text) continue;
      decl.nat.push(`:${c} - [0:0]`);
      if (text) rules.nat.push(text);
    }
  }
  for (const c of [...stale].sort()) {
    decl.nat.push(`:${c} - [0:0]`);
    rules.nat.push(`-X ${c}`);
  }
  const out: string[] = [];
  const block = (table: string, lines: readonly string[]) => {
    if (lines.length) out.push(`*${table}`, ...lines, 'COMMIT');
  };
  block('filter', [...decl.filter, ...rules.filter]);
  block('nat', [...decl.nat, ...rules.nat]);
  block('filter', filterRemovals);
  return out.length ? out.join('\n') + '\n' : '';
}

/** One service's lines (dispatch and own chains), for reading and golden tests. */
export function renderServiceRules(rules: ServiceRules): string {
  const lines: string[] = [];
  for (const d of DISPATCH_CHAINS) for (const l of rules.dispatch[d]) lines.push(`${d.split(' ')[0]}: ${l}`);
  for (const text of rules.natChains.values()) for (const l of text ? text.split('\n') : []) lines.push(`nat: ${l}`);
  return lines.join('\n') + '\n';
}

/** Rule and chain counts per table (for the sync_proxy_rules_iptables_total metric and benchmarks). */
export function countRules(ruleset: IptablesRuleset): RuleCounts {
  let out = counts.get(ruleset);
  if (!out) {
    out = { natRules: 0, filterRules: 0, natChains: FIXED_CHAINS.nat.length };
    for (const r of ruleset.services.values()) addCounts(out, r, 1);
    counts.set(ruleset, out);
  }
  return { ...out };
}

/** Rule and chain counts of a ruleset. */
export interface RuleCounts {
  natRules: number;
  filterRules: number;
  natChains: number;
}

/** Counts per ruleset, carried from one ruleset to the one derived from it. */
const counts = new WeakMap<IptablesRuleset, RuleCounts>();

function addCounts(total: RuleCounts, r: ServiceRules | undefined, sign: 1 | -1): void {
  if (!r) return;
  total.natRules += sign * (r.dispatch['nat KUBE-SERVICES'].length + r.dispatch['nat KUBE-NODEPORTS'].length);
  for (const d of FILTER_DISPATCH) total.filterRules += sign * r.dispatch[d].length;
  total.natRules += sign * r.natRuleCount;
  total.natChains += sign * r.natChains.size;
}

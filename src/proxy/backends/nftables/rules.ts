/**
 * nftables rule generation: proxy state → `nft -f` transactions, following kube-proxy's nftables
 * mode (pkg/proxy/nftables): one table `ip kube-proxy`; verdict maps `service-ips`
 * (`ipv4_addr . inet_proto . inet_service : verdict`) and `service-nodeports` dispatch to
 * per-service chains `service-<hash>-ns/name/proto/port`, `external-…`, `local-…`, `firewall-…` and
 * per-endpoint chains `endpoint-<hash>-ns/name/proto/port__ip/port`; `no-endpoint-services` /
 * `no-endpoint-nodeports` reject or drop; `cluster-ips-check` rejects unknown ports of cluster IPs;
 * masquerade by mark 0x4000 as in iptables mode; affinity through per-endpoint dynamic sets with a
 * timeout (`update @affinity-… { ip saddr }`).
 *
 * Layout choice (measured on this kernel, research/dependencies.md §7): upstream spreads with an
 * anonymous `numgen random mod N vmap { 0 : goto …, … }` per service. Loading 10k of those took
 * 126 s (kernel time grows superlinearly with the number of anonymous sets); named per-service maps
 * took 17 s; the same 60k chains with no per-service set took 5.6 s. So spreading here uses no set
 * at all: chained rules `numgen random mod (n-i) == 0 goto endpoint-i` — each draws a fresh number,
 * giving every endpoint 1/n overall, exactly like iptables' chained `statistic` probabilities.
 *
 * Sync: a full sync recreates the table in one transaction (`add table` + `delete table` + all);
 * a partial sync ({@link renderNftPartial}) only adds/deletes the map elements that differ and
 * flushes/rewrites/deletes the chains of services whose rules changed — proportional to the change.
 */
import { chainHash } from '../../ipv4.js';
import { type EndpointInfo, type EndpointsMap, planChains, type ServicePortInfo, type ServicePortMap } from '../../model.js';

/** The table every rule lives in. */
export const NFT_TABLE = 'ip kube-proxy';

export interface NftablesConfig {
  /** Cluster pod CIDR: traffic to cluster IPs from outside it is masqueraded. '' disables. */
  clusterCIDR: string;
  /** Service CIDRs: traffic to unallocated addresses in them is dropped. */
  serviceCIDRs?: readonly string[];
  masqueradeAll?: boolean;
  /** Default 14 (0x4000). */
  masqueradeBit?: number;
  /** Addresses accepting NodePort traffic; empty = every local address (`fib daddr type local`). */
  nodePortAddresses?: readonly string[];
}

/** One element of a set or map: `key` plus, for maps, ` : verdict`. */
export interface NftElement {
  set: string;
  key: string;
  /** ` comment "…"` inside the element (no-endpoint maps), or ''. */
  comment: string;
  /** Map value (a verdict), or '' for sets. */
  value: string;
}

/** One service port's objects. */
export interface NftServiceRules {
  readonly key: string;
  readonly namespacedName: string;
  /** Affinity sets → declaration body. */
  readonly sets: ReadonlyMap<string, string>;
  /** Chains → their rules (text after `add rule ip kube-proxy CHAIN `). */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  readonly elements: readonly NftElement[];
  readonly fingerprint: string;
}

export interface NftRuleset {
  readonly config: NftablesConfig;
  readonly services: ReadonlyMap<string, NftServiceRules>;
}

/** `HASH8-ns/name/proto/port`, as upstream's servicePortChainNameBase. */
export function serviceChainBase(info: Pick<ServicePortInfo, 'namespace' | 'serviceName' | 'portName' | 'protocol'>): string {
  const name = `${info.namespace}/${info.serviceName}/${info.protocol.toLowerCase()}/${info.portName}`;
  return `${chainHash(name, 8)}-${name}`;
}

/** `HASH8-ns/name/proto/port__ip/port`, as upstream's servicePortEndpointChainNameBase. */
export function endpointChainBase(
  info: Pick<ServicePortInfo, 'namespace' | 'serviceName' | 'portName' | 'protocol'>,
  ep: Pick<EndpointInfo, 'ip' | 'port'>,
): string {
  const name = `${info.namespace}/${info.serviceName}/${info.protocol.toLowerCase()}/${info.portName}__${ep.ip}/${ep.port}`;
  return `${chainHash(name, 8)}-${name}`;
}

const mark = (config: NftablesConfig) => `0x${(1 << (config.masqueradeBit ?? 14)).toString(16)}`;

/** Builds one service port's chains, sets and map elements. */
export function nftServiceRules(info: ServicePortInfo, endpoints: readonly EndpointInfo[], config: NftablesConfig): NftServiceRules {
  const proto = info.protocol.toLowerCase();
  const base = serviceChainBase(info);
  const svcChain = `service-${base}`;
  const localChain = `local-${base}`;
  const extChain = `external-${base}`;
  const fwChain = `firewall-${base}`;
  const cat = planChains(endpoints, info);
  const { clusterEndpoints, localEndpoints, hasAnyEndpoints } = cat;
  const { usesClusterChain, usesLocalChain, hasInternal, hasExternal, usesExtChain, usesFwChain } = cat;
  const internalChain = cat.internalToLocal ? localChain : svcChain;
  const externalPolicyChain = cat.externalToLocal ? localChain : svcChain;

  const chains = new Map<string, string[]>();
  const sets = new Map<string, string>();
  const elements: NftElement[] = [];
  const chain = (c: string) => {
    let rules = chains.get(c);
    if (!rules) {
      rules = [];
      chains.set(c, rules);
    }
    return rules;
  };
  const el = (set: string, key: string, value = '', comment = '') => elements.push({ set, key, value, comment });
  const noEndpointVerdict = hasAnyEndpoints ? 'drop' : 'goto reject-chain';
  const svcComment = ` comment "${info.name}"`;

  el('cluster-ips', info.clusterIP);
  if (hasInternal) el('service-ips', `${info.clusterIP} . ${proto} . ${info.port}`, `goto ${internalChain}`);
  else el('no-endpoint-services', `${info.clusterIP} . ${proto} . ${info.port}`, noEndpointVerdict, svcComment);
  for (const ip of [...info.externalIPs, ...info.loadBalancerVIPs]) {
    if (hasAnyEndpoints) el('service-ips', `${ip} . ${proto} . ${info.port}`, `goto ${extChain}`);
    if (!hasExternal) el('no-endpoint-services', `${ip} . ${proto} . ${info.port}`, noEndpointVerdict, svcComment);
  }
  if (info.nodePort !== 0) {
    if (hasAnyEndpoints) el('service-nodeports', `${proto} . ${info.nodePort}`, `goto ${extChain}`);
    if (!hasExternal) el('no-endpoint-nodeports', `${proto} . ${info.nodePort}`, noEndpointVerdict, svcComment);
  }
  if (usesFwChain) for (const ip of info.loadBalancerVIPs) el('firewall-ips', `${ip} . ${proto} . ${info.port}`, `goto ${fwChain}`);

  if (hasInternal) {
    if (config.masqueradeAll) chain(internalChain).push(`ip daddr ${info.clusterIP} jump mark-for-masquerade`);
    else if (config.clusterCIDR)
      chain(internalChain).push(`ip daddr ${info.clusterIP} ip saddr != ${config.clusterCIDR} jump mark-for-masquerade`);
  }
  if (usesExtChain) {
    const ext = chain(extChain);
    if (!info.externalPolicyLocal) {
      ext.push('jump mark-for-masquerade');
    } else {
      if (config.clusterCIDR) ext.push(`ip saddr ${config.clusterCIDR} goto ${svcChain} comment "short-circuit pod traffic"`);
      ext.push('fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"');
      ext.push(`fib saddr type local goto ${svcChain} comment "short-circuit local traffic"`);
    }
    if (hasExternal) ext.push(`goto ${externalPolicyChain}`);
  }
  if (usesFwChain) chain(fwChain).push(`ip saddr != { ${info.loadBalancerSourceRanges.join(', ')} } drop`);

  const epBases = new Map<EndpointInfo, string>();
  const epBase = (ep: EndpointInfo) => {
    let b = epBases.get(ep);
    if (!b) {
      b = endpointChainBase(info, ep);
      epBases.set(ep, b);
    }
    return b;
  };
  const epChain = (ep: EndpointInfo) => `endpoint-${epBase(ep)}`;
  const affinitySet = (ep: EndpointInfo) => `affinity-${epBase(ep)}`;
  const writeBalancing = (c: string, eps: readonly EndpointInfo[]) => {
    const rules = chain(c);
    if (info.stickySeconds > 0) for (const ep of eps) rules.push(`ip saddr @${affinitySet(ep)} goto ${epChain(ep)}`);
    eps.forEach((ep, i) => {
      rules.push(i < eps.length - 1 ? `numgen random mod ${eps.length - i} == 0 goto ${epChain(ep)}` : `goto ${epChain(ep)}`);
    });
  };
  if (usesClusterChain) writeBalancing(svcChain, clusterEndpoints);
  if (usesLocalChain) writeBalancing(localChain, localEndpoints);

  for (const ep of cat.allReachableEndpoints) {
    const rules = chain(epChain(ep));
    rules.push(`ip saddr ${ep.ip} jump mark-for-masquerade`);
    if (info.stickySeconds > 0) {
      sets.set(affinitySet(ep), `type ipv4_addr ; flags dynamic,timeout ; timeout ${info.stickySeconds}s ;`);
      rules.push(`update @${affinitySet(ep)} { ip saddr }`);
    }
    rules.push(`meta l4proto ${proto} dnat to ${ep.ip}:${ep.port}`);
  }

  const fingerprint = JSON.stringify([[...sets], [...chains], elements]);
  return { key: info.key, namespacedName: info.namespacedName, sets, chains, elements, fingerprint };
}

/** Builds the desired ruleset, reusing unchanged services' rules from `delta.previous`. */
export function buildNftRuleset(
  services: ServicePortMap,
  endpoints: EndpointsMap,
  config: NftablesConfig,
  delta?: { previous: NftRuleset; changedServices: ReadonlySet<string> },
): NftRuleset {
  const reuse = delta && JSON.stringify(delta.previous.config) === JSON.stringify(config) ? delta : undefined;
  const out = new Map<string, NftServiceRules>();
  for (const key of [...services.keys()].sort()) {
    const info = services.get(key)!;
    const previous = reuse && !reuse.changedServices.has(info.namespacedName) ? reuse.previous.services.get(key) : undefined;
    out.set(key, previous ?? nftServiceRules(info, endpoints.get(key) ?? [], config));
  }
  return { config, services: out };
}

const T = NFT_TABLE;

function baseObjects(config: NftablesConfig): string[] {
  const m = mark(config);
  const nodePortMatch = config.nodePortAddresses?.length ? 'ip daddr @nodeport-ips' : 'fib daddr type local';
  const lines = [
    `add table ${T} { comment "rules for kube-proxy" ; }`,
    `add set ${T} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`,
    `add set ${T} nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`,
    `add map ${T} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
    `add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add map ${T} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add chain ${T} cluster-ips-check`,
    `add chain ${T} filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }`,
    `add chain ${T} filter-output-pre-dnat { type filter hook output priority -110 ; }`,
    `add chain ${T} filter-forward { type filter hook forward priority 0 ; }`,
    `add chain ${T} filter-input { type filter hook input priority 0 ; }`,
    `add chain ${T} filter-output { type filter hook output priority 0 ; }`,
    `add chain ${T} firewall-check`,
    `add chain ${T} mark-for-masquerade`,
    `add chain ${T} masquerading`,
    `add chain ${T} nat-output { type nat hook output priority -100 ; }`,
    `add chain ${T} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add chain ${T} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${T} nodeport-endpoints-check`,
    `add chain ${T} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
    `add chain ${T} services`,
    `add chain ${T} service-endpoints-check`,
    `add rule ${T} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
  ];
  if (config.serviceCIDRs?.length) {
    lines.push(
      `add rule ${T} cluster-ips-check ip daddr { ${config.serviceCIDRs.join(', ')} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    );
  }
  lines.push(
    `add rule ${T} filter-prerouting-pre-dnat ct state new jump firewall-check`,
    `add rule ${T} filter-forward ct state new jump service-endpoints-check`,
    `add rule ${T} filter-forward ct state new jump cluster-ips-check`,
    `add rule ${T} filter-input ct state new jump nodeport-endpoints-check`,
    `add rule ${T} filter-input ct state new jump service-endpoints-check`,
    `add rule ${T} filter-output ct state new jump service-endpoints-check`,
    `add rule ${T} filter-output-pre-dnat ct state new jump firewall-check`,
    `add rule ${T} filter-output ct state new jump cluster-ips-check`,
    `add rule ${T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add rule ${T} mark-for-masquerade mark set mark or ${m}`,
    `add rule ${T} masquerading mark and ${m} == 0 return`,
    `add rule ${T} masquerading mark set mark xor ${m}`,
    `add rule ${T} masquerading masquerade fully-random`,
    `add rule ${T} nat-output jump services`,
    `add rule ${T} nat-postrouting jump masquerading`,
    `add rule ${T} nat-prerouting jump services`,
    `add rule ${T} nodeport-endpoints-check ${nodePortMatch} meta l4proto . th dport vmap @no-endpoint-nodeports`,
    // A TCP reset refuses at once whatever the route back looks like; ICMP for the rest, as upstream.
    `add rule ${T} reject-chain meta l4proto tcp reject with tcp reset`,
    `add rule ${T} reject-chain reject`,
    `add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${T} services ${nodePortMatch} meta l4proto . th dport vmap @service-nodeports`,
    `add rule ${T} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
  );
  for (const ip of config.nodePortAddresses ?? []) lines.push(`add element ${T} nodeport-ips { ${ip} }`);
  return lines;
}

function sameRules(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((rule, i) => rule === b[i]);
}

function elementText(verb: 'add' | 'delete', e: NftElement): string {
  if (verb === 'delete') return `delete element ${T} ${e.set} { ${e.key} }`;
  return `add element ${T} ${e.set} { ${e.key}${e.comment}${e.value ? ` : ${e.value}` : ''} }`;
}

const elementMaps = new WeakMap<NftRuleset, Map<string, NftElement>>();

/** Every element of the ruleset by `set key` (shared keys such as a cluster IP appear once). Memoized. */
function allElements(ruleset: NftRuleset): Map<string, NftElement> {
  let map = elementMaps.get(ruleset);
  if (!map) {
    map = new Map();
    for (const r of ruleset.services.values()) for (const e of r.elements) map.set(`${e.set} ${e.key}`, e);
    elementMaps.set(ruleset, map);
  }
  return map;
}

/** The whole table as one transaction: recreates `ip kube-proxy` from scratch. */
export function renderNftFull(ruleset: NftRuleset): string {
  const out = [`add table ${T}`, `delete table ${T}`, ...baseObjects(ruleset.config)];
  for (const r of ruleset.services.values()) {
    for (const [set, body] of r.sets) out.push(`add set ${T} ${set} { ${body} }`);
    for (const c of r.chains.keys()) out.push(`add chain ${T} ${c}`);
  }
  for (const r of ruleset.services.values())
    for (const [c, rules] of r.chains) for (const rule of rules) out.push(`add rule ${T} ${c} ${rule}`);
  for (const e of allElements(ruleset).values()) out.push(elementText('add', e));
  return out.join('\n') + '\n';
}

/**
 * The transaction from `previous` (what the kernel holds) to `current`: element diffs, plus
 * flush/rewrite of changed services' chains and deletion of chains and sets that went away.
 * Returns '' when nothing differs.
 */
export function renderNftPartial(previous: NftRuleset, current: NftRuleset): string {
  const addObjects: string[] = [];
  const rewrite: string[] = [];
  const staleChains = new Set<string>();
  const staleSets = new Set<string>();
  for (const [key, before] of previous.services) {
    const after = current.services.get(key);
    if (after === before || after?.fingerprint === before.fingerprint) continue;
    for (const c of before.chains.keys()) if (!after?.chains.has(c)) staleChains.add(c);
    for (const s of before.sets.keys()) if (!after?.sets.has(s)) staleSets.add(s);
  }
  for (const [key, after] of current.services) {
    const before = previous.services.get(key);
    if (before === after || before?.fingerprint === after.fingerprint) continue;
    for (const [set, body] of after.sets) {
      staleSets.delete(set);
      addObjects.push(`add set ${T} ${set} { ${body} }`);
    }
    for (const [c, rules] of after.chains) {
      staleChains.delete(c);
      if (sameRules(before?.chains.get(c), rules)) continue;
      addObjects.push(`add chain ${T} ${c}`);
      rewrite.push(`flush chain ${T} ${c}`, ...rules.map((rule) => `add rule ${T} ${c} ${rule}`));
    }
  }
  // Elements can only differ where a service changed; shared keys (a cluster IP used by several
  // ports) are resolved against the whole ruleset's element maps.
  const touchedKeys = new Set<string>();
  for (const [key, before] of previous.services) {
    const after = current.services.get(key);
    if (after !== before && after?.fingerprint !== before.fingerprint)
      for (const e of before.elements) touchedKeys.add(`${e.set} ${e.key}`);
  }
  for (const [key, after] of current.services) {
    const before = previous.services.get(key);
    if (before !== after && before?.fingerprint !== after.fingerprint) for (const e of after.elements) touchedKeys.add(`${e.set} ${e.key}`);
  }
  const configChanged = JSON.stringify(previous.config) !== JSON.stringify(current.config);
  const beforeAll = allElements(previous);
  const afterAll = allElements(current);
  const pick = (all: Map<string, NftElement>) =>
    configChanged ? all : new Map([...touchedKeys].filter((k) => all.has(k)).map((k) => [k, all.get(k)!]));
  const beforeEls = pick(beforeAll);
  const afterEls = pick(afterAll);
  const delEls: string[] = [];
  const addEls: string[] = [];
  for (const [id, e] of beforeEls) {
    const now = afterEls.get(id);
    if (!now || now.value !== e.value || now.comment !== e.comment) delEls.push(elementText('delete', e));
  }
  for (const [id, e] of afterEls) {
    const was = beforeEls.get(id);
    if (!was || was.value !== e.value || was.comment !== e.comment) addEls.push(elementText('add', e));
  }
  const removals: string[] = [];
  for (const c of [...staleChains].sort()) removals.push(`flush chain ${T} ${c}`);
  for (const c of [...staleChains].sort()) removals.push(`delete chain ${T} ${c}`);
  for (const s of [...staleSets].sort()) removals.push(`delete set ${T} ${s}`);
  const out = [...addObjects, ...delEls, ...rewrite, ...addEls, ...removals];
  return out.length ? out.join('\n') + '\n' : '';
}

/** Chain, rule and element counts (metrics, benchmarks). */
export function countNft(ruleset: NftRuleset): { chains: number; rules: number; elements: number } {
  let chains = 0;
  let rules = 0;
  for (const r of ruleset.services.values()) {
    chains += r.chains.size;
    for (const c of r.chains.values()) rules += c.length;
  }
  return { chains, rules, elements: allElements(ruleset).size };
}

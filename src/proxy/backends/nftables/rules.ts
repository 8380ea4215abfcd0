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
 * flushes/rewrites the chains of services whose rules changed — proportional to the change. nft
 * 1.0.6 fetches every chain of the table before `add rule`, `add element`, `delete element`,
 * `delete chain` or `delete set` (~0.3 s at 60k chains) but not before `add chain … { rules }`
 * or `add map … { elements = … }`, so partial syncs use those forms and delete emptied chains
 * later (bench/proxy/README.md has the measurements).
 */

import { flattenString } from '../../flat.js';
import { chainHash } from '../../ipv4.js';
import { type EndpointInfo, type EndpointsMap, planChains, type ServicePortInfo, type ServicePortMap } from '../../model.js';
import { VersionedMap } from '../../versioned-map.js';
import { chunkLines } from '../chunks.js';

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
  /** `set key`: identifies the element across rulesets (built once, so maps hash it once). */
  id: string;
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
  /**
   * Chains → their rules (each the text after `add rule ip kube-proxy CHAIN `) joined by
   * {@link RULE_SEPARATOR}: the body of `add chain … { … ; }`, one flat string per chain
   * instead of one per rule ('' for a chain without rules).
   */
  readonly chains: ReadonlyMap<string, string>;
  /** Rules in {@link chains}. */
  readonly ruleCount: number;
  readonly elements: readonly NftElement[];
  readonly fingerprint: string;
}

export interface NftRuleset {
  readonly config: NftablesConfig;
  /** By service-port key; in key order only when built whole (partial syncs derive it in place). */
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

/** One service port's objects: a class, so the lazy fingerprint needs no closure per port. */
class NftPortRules implements NftServiceRules {
  #fingerprint: string | undefined;
  constructor(
    readonly key: string,
    readonly namespacedName: string,
    readonly sets: ReadonlyMap<string, string>,
    readonly chains: ReadonlyMap<string, string>,
    readonly ruleCount: number,
    readonly elements: readonly NftElement[],
  ) {}

  // Built on first use: full syncs never compare, so they skip serializing every rule once more.
  get fingerprint(): string {
    this.#fingerprint ??= JSON.stringify([[...this.sets], [...this.chains], this.elements]);
    return this.#fingerprint;
  }
}

/** The list under `key` in `lists` (a chain's rules, a set's elements), added empty on first use, in writing order. */
function listOf(lists: Map<string, string[]>, key: string): string[] {
  let list = lists.get(key);
  if (!list) {
    list = [];
    lists.set(key, list);
  }
  return list;
}

function element(set: string, key: string, value = '', comment = ''): NftElement {
  return { set, key, id: `${set} ${key}`, value, comment };
}

/** Between the rules of a chain body (no rule of ours contains it: names and CIDRs have no `;`). */
const RULE_SEPARATOR = ' ; ';

/** Prefix of an endpoint's chain name (its affinity set's is `affinity-`). */
const ENDPOINT_CHAIN = 'endpoint-';

/** The balancing rules of chain `c` over `eps`: affinity checks, then the chained `numgen` draws. */
function writeBalancing(rules: string[], eps: readonly EndpointInfo[], bases: ReadonlyMap<EndpointInfo, string>, sticky: boolean): void {
  if (sticky) for (const ep of eps) rules.push(`ip saddr @affinity-${bases.get(ep)!} goto ${ENDPOINT_CHAIN}${bases.get(ep)!}`);
  const last = eps.length - 1;
  for (let i = 0; i <= last; i++) {
    const target = `goto ${ENDPOINT_CHAIN}${bases.get(eps[i]!)!}`;
    rules.push(i < last ? `numgen random mod ${eps.length - i} == 0 ${target}` : target);
  }
}

/** Builds one service port's chains, sets and map elements. */
export function nftServiceRules(info: ServicePortInfo, endpoints: readonly EndpointInfo[], config: NftablesConfig): NftServiceRules {
  const proto = info.protocol.toLowerCase();
  // `ns/name/proto/port`: upstream's chain name base, before the hash.
  const portPath = `${info.namespace}/${info.serviceName}/${proto}/${info.portName}`;
  const base = `${chainHash(portPath, 8)}-${portPath}`;
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
  const noEndpointVerdict = hasAnyEndpoints ? 'drop' : 'goto reject-chain';
  const svcComment = ` comment "${info.name}"`;
  const portSuffix = ` . ${proto} . ${info.port}`;

  elements.push(element('cluster-ips', info.clusterIP));
  if (hasInternal) elements.push(element('service-ips', info.clusterIP + portSuffix, `goto ${internalChain}`));
  else elements.push(element('no-endpoint-services', info.clusterIP + portSuffix, noEndpointVerdict, svcComment));
  for (const ips of [info.externalIPs, info.loadBalancerVIPs]) {
    for (const ip of ips) {
      if (hasAnyEndpoints) elements.push(element('service-ips', ip + portSuffix, `goto ${extChain}`));
      if (!hasExternal) elements.push(element('no-endpoint-services', ip + portSuffix, noEndpointVerdict, svcComment));
    }
  }
  if (info.nodePort !== 0) {
    if (hasAnyEndpoints) elements.push(element('service-nodeports', `${proto} . ${info.nodePort}`, `goto ${extChain}`));
    if (!hasExternal) elements.push(element('no-endpoint-nodeports', `${proto} . ${info.nodePort}`, noEndpointVerdict, svcComment));
  }
  if (usesFwChain) for (const ip of info.loadBalancerVIPs) elements.push(element('firewall-ips', ip + portSuffix, `goto ${fwChain}`));

  if (hasInternal) {
    if (config.masqueradeAll) listOf(chains, internalChain).push(`ip daddr ${info.clusterIP} jump mark-for-masquerade`);
    else if (config.clusterCIDR)
      listOf(chains, internalChain).push(`ip daddr ${info.clusterIP} ip saddr != ${config.clusterCIDR} jump mark-for-masquerade`);
  }
  if (usesExtChain) {
    const ext = listOf(chains, extChain);
    if (!info.externalPolicyLocal) {
      ext.push('jump mark-for-masquerade');
    } else {
      if (config.clusterCIDR) ext.push(`ip saddr ${config.clusterCIDR} goto ${svcChain} comment "short-circuit pod traffic"`);
      ext.push('fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"');
      ext.push(`fib saddr type local goto ${svcChain} comment "short-circuit local traffic"`);
    }
    if (hasExternal) ext.push(`goto ${externalPolicyChain}`);
  }
  if (usesFwChain) listOf(chains, fwChain).push(`ip saddr != { ${info.loadBalancerSourceRanges.join(', ')} } drop`);

  // Every balancing rule's endpoint is one of allReachableEndpoints (the same objects).
  const bases = new Map<EndpointInfo, string>();
  for (const ep of cat.allReachableEndpoints) {
    const path = `${portPath}__${ep.ip}/${ep.port}`;
    bases.set(ep, `${chainHash(path, 8)}-${path}`);
  }
  const sticky = info.stickySeconds > 0;
  if (usesClusterChain) writeBalancing(listOf(chains, svcChain), clusterEndpoints, bases, sticky);
  if (usesLocalChain) writeBalancing(listOf(chains, localChain), localEndpoints, bases, sticky);

  const dnatPrefix = `meta l4proto ${proto} dnat to `;
  for (const ep of cat.allReachableEndpoints) {
    const epBase = bases.get(ep)!;
    const masquerade = `ip saddr ${ep.ip} jump mark-for-masquerade`;
    const dnat = `${dnatPrefix}${ep.ip}:${ep.port}`;
    if (sticky) {
      sets.set(`affinity-${epBase}`, `type ipv4_addr ; flags dynamic,timeout ; timeout ${info.stickySeconds}s ;`);
      chains.set(ENDPOINT_CHAIN + epBase, [masquerade, `update @affinity-${epBase} { ip saddr }`, dnat]);
    } else chains.set(ENDPOINT_CHAIN + epBase, [masquerade, dnat]);
  }

  // Kept until the port changes: flat strings, not ropes of their pieces (see flattenString). A
  // join makes a flat string, so each chain's body is flat without flattening every rule first.
  const bodies = new Map<string, string>();
  let ruleCount = 0;
  for (const [c, rules] of chains) {
    bodies.set(c, rules.join(RULE_SEPARATOR));
    ruleCount += rules.length;
  }
  for (const body of sets.values()) flattenString(body);
  for (const e of elements) {
    flattenString(e.id);
    flattenString(e.key);
    flattenString(e.value);
  }
  return new NftPortRules(info.key, info.namespacedName, sets, bodies, ruleCount, elements);
}

/** What changed since the previous ruleset, so unchanged services' rules are reused. */
export interface NftRulesetDelta {
  previous: NftRuleset;
  /** Services (`namespace/name`) whose ports or endpoints changed. */
  changedServices: ReadonlySet<string>;
  /**
   * The service port keys of those Services (UpdateResult.updatedServicePorts): when given, a
   * build derives the new ruleset from `previous` touching only these ports, O(changes) instead
   * of O(services).
   */
  changedPorts?: ReadonlySet<string>;
}

/** Each service port's rules in key order, built lazily, reusing unchanged services' rules from `delta.previous`. */
function* nftServices(
  services: ServicePortMap,
  endpoints: EndpointsMap,
  config: NftablesConfig,
  delta?: NftRulesetDelta,
): Generator<NftServiceRules> {
  const reuse = delta && sameConfig(delta.previous.config, config) ? delta : undefined;
  for (const key of [...services.keys()].sort()) {
    const info = services.get(key)!;
    const previous = reuse && !reuse.changedServices.has(info.namespacedName) ? reuse.previous.services.get(key) : undefined;
    yield previous ?? nftServiceRules(info, endpoints.get(key) ?? [], config);
  }
}

/** Builds the desired ruleset, reusing unchanged services' rules from `delta.previous`. */
export function buildNftRuleset(
  services: ServicePortMap,
  endpoints: EndpointsMap,
  config: NftablesConfig,
  delta?: NftRulesetDelta,
): NftRuleset {
  const previous = delta?.previous;
  if (delta?.changedPorts && previous?.services instanceof VersionedMap && sameConfig(previous.config, config)) {
    const changes: Array<[string, NftServiceRules | undefined]> = [];
    for (const key of delta.changedPorts) {
      const info = services.get(key);
      changes.push([key, info && nftServiceRules(info, endpoints.get(key) ?? [], config)]);
    }
    const ruleset: NftRuleset = { config, services: previous.services.derive(changes) };
    return ruleset;
  }
  const out = new Map<string, NftServiceRules>();
  for (const rules of nftServices(services, endpoints, config, delta)) out.set(rules.key, rules);
  return { config, services: new VersionedMap(out) };
}

function sameConfig(a: NftablesConfig, b: NftablesConfig): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

const T = NFT_TABLE;

/** Key types of the table's shared sets and maps (what an `add set|map` with elements must repeat). */
const SET_TYPES: Record<string, { kind: 'set' | 'map'; type: string; comment: string }> = {
  'cluster-ips': { kind: 'set', type: 'type ipv4_addr', comment: 'Active ClusterIPs' },
  'nodeport-ips': { kind: 'set', type: 'type ipv4_addr', comment: 'IPs that accept NodePort traffic' },
  'firewall-ips': {
    kind: 'map',
    type: 'type ipv4_addr . inet_proto . inet_service : verdict',
    comment: 'destinations that are subject to LoadBalancerSourceRanges',
  },
  'no-endpoint-nodeports': {
    kind: 'map',
    type: 'type inet_proto . inet_service : verdict',
    comment: 'vmap to drop or reject packets to service nodeports with no endpoints',
  },
  'no-endpoint-services': {
    kind: 'map',
    type: 'type ipv4_addr . inet_proto . inet_service : verdict',
    comment: 'vmap to drop or reject packets to services with no endpoints',
  },
  'service-ips': {
    kind: 'map',
    type: 'type ipv4_addr . inet_proto . inet_service : verdict',
    comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic',
  },
  'service-nodeports': { kind: 'map', type: 'type inet_proto . inet_service : verdict', comment: 'NodePort traffic' },
};

/** The table's fixed objects: declarations, and rules as [chain, rule]. */
function baseObjects(config: NftablesConfig): { objects: string[]; rules: Array<[string, string]> } {
  const m = mark(config);
  const nodePortMatch = config.nodePortAddresses?.length ? 'ip daddr @nodeport-ips' : 'fib daddr type local';
  const objects = [
    `add table ${T} { comment "rules for kube-proxy" ; }`,
    ...Object.entries(SET_TYPES).map(([name, t]) => `add ${t.kind} ${T} ${name} { ${t.type} ; comment "${t.comment}" ; }`),
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
  ];
  const rules: Array<[string, string]> = [
    ['cluster-ips-check', `ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`],
  ];
  if (config.serviceCIDRs?.length) {
    rules.push([
      'cluster-ips-check',
      `ip daddr { ${config.serviceCIDRs.join(', ')} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    ]);
  }
  rules.push(
    ['filter-prerouting-pre-dnat', `ct state new jump firewall-check`],
    ['filter-forward', `ct state new jump service-endpoints-check`],
    ['filter-forward', `ct state new jump cluster-ips-check`],
    ['filter-input', `ct state new jump nodeport-endpoints-check`],
    ['filter-input', `ct state new jump service-endpoints-check`],
    ['filter-output', `ct state new jump service-endpoints-check`],
    ['filter-output-pre-dnat', `ct state new jump firewall-check`],
    ['filter-output', `ct state new jump cluster-ips-check`],
    ['firewall-check', `ip daddr . meta l4proto . th dport vmap @firewall-ips`],
    ['mark-for-masquerade', `mark set mark or ${m}`],
    ['masquerading', `mark and ${m} == 0 return`],
    ['masquerading', `mark set mark xor ${m}`],
    ['masquerading', `masquerade fully-random`],
    ['nat-output', `jump services`],
    ['nat-postrouting', `jump masquerading`],
    ['nat-prerouting', `jump services`],
    ['nodeport-endpoints-check', `${nodePortMatch} meta l4proto . th dport vmap @no-endpoint-nodeports`],
    // A TCP reset refuses at once whatever the route back looks like; ICMP for the rest, as upstream.
    ['reject-chain', `meta l4proto tcp reject with tcp reset`],
    ['reject-chain', `reject`],
    ['services', `ip daddr . meta l4proto . th dport vmap @service-ips`],
    ['services', `${nodePortMatch} meta l4proto . th dport vmap @service-nodeports`],
    ['service-endpoints-check', `ip daddr . meta l4proto . th dport vmap @no-endpoint-services`],
  );
  return { objects, rules };
}

/** One element as written inside `{ … }`: key, comment, and for maps ` : verdict`. */
function elementItem(e: NftElement): string {
  return `${e.key}${e.comment}${e.value ? ` : ${e.value}` : ''}`;
}

/** Service port keys in sorted order: the order full syncs write, which decides between clashing elements. */
function sortedRules(services: ReadonlyMap<string, NftServiceRules>): NftServiceRules[] {
  return [...services.keys()].sort().map((key) => services.get(key)!);
}

/**
 * Every element of one ruleset by `set key`, with chain and rule counts, kept up to date as
 * partial syncs replace service ports instead of being rebuilt (O(services)) for each one. Several
 * ports may provide one element (a cluster IP with several ports; clashing external IPs): each id
 * keeps its providers sorted by service port key, and the last one's element is what the full
 * transaction writes (it adds them in key order, later ones replacing earlier).
 */
export class NftElementIndex {
  readonly #providers = new Map<string, Array<{ key: string; element: NftElement }>>();
  chains = 0;
  rules = 0;

  /** The ruleset the index currently describes; a partial sync moves it to the next ruleset. */
  constructor(public describes: NftRuleset) {}

  /** Builds the index of `ruleset` from scratch. */
  static of(ruleset: NftRuleset): NftElementIndex {
    const index = new NftElementIndex(ruleset);
    for (const r of sortedRules(ruleset.services)) index.add(r);
    return index;
  }

  /** Number of distinct elements. */
  get size(): number {
    return this.#providers.size;
  }

  /** The element the table holds for `id` (`set key`), if any. */
  get(id: string): NftElement | undefined {
    return this.#providers.get(id)?.at(-1)?.element;
  }

  ids(): IterableIterator<string> {
    return this.#providers.keys();
  }

  /** Every element the table holds (one per id), in id insertion order. */
  *elements(): Generator<NftElement> {
    for (const providers of this.#providers.values()) yield providers[providers.length - 1]!.element;
  }

  /** Adds one service port's elements and counts (a port's later element replaces its earlier one with the same id). */
  add(rules: NftServiceRules): void {
    this.chains += rules.chains.size;
    this.rules += rules.ruleCount;
    for (const element of rules.elements) {
      const providers = this.#providers.get(element.id);
      if (!providers) {
        // The common case (a full sync adds each id once): no search, no splice.
        this.#providers.set(element.id, [{ key: rules.key, element }]);
        continue;
      }
      let i = providers.length;
      while (i > 0 && providers[i - 1]!.key > rules.key) i--;
      if (i > 0 && providers[i - 1]!.key === rules.key) providers[i - 1]!.element = element;
      else providers.splice(i, 0, { key: rules.key, element });
    }
  }

  /** Removes what {@link add} added for `rules`. */
  remove(rules: NftServiceRules): void {
    this.chains -= rules.chains.size;
    this.rules -= rules.ruleCount;
    for (const element of rules.elements) {
      const providers = this.#providers.get(element.id);
      const i = providers?.findIndex((p) => p.key === rules.key) ?? -1;
      if (i < 0) continue;
      providers!.splice(i, 1);
      if (providers!.length === 0) this.#providers.delete(element.id);
    }
  }
}

const indexes = new WeakMap<NftRuleset, NftElementIndex>();

/** The element index describing `ruleset`: kept from the sync that produced it, else built now. */
function elementIndex(ruleset: NftRuleset): NftElementIndex {
  let index = indexes.get(ruleset);
  if (index?.describes !== ruleset) {
    index = NftElementIndex.of(ruleset);
    indexes.set(ruleset, index);
  }
  return index;
}

/** The table, its shared sets and maps, and its fixed chains with their rules: how every full transaction begins. */
function* baseLines(config: NftablesConfig): Generator<string> {
  const base = baseObjects(config);
  yield `add table ${T}`;
  yield `delete table ${T}`;
  yield* base.objects;
  const baseRules = new Map<string, string[]>();
  for (const [c, rule] of base.rules) baseRules.set(c, [...(baseRules.get(c) ?? []), rule]);
  for (const [c, rules] of baseRules) yield chainBodyText(c, rules.join(RULE_SEPARATOR));
}

/** Elements as `add set|map … { elements = … }` lines, one per set. */
function* elementLines(bySet: ReadonlyMap<string, readonly string[]>): Generator<string> {
  for (const [set, items] of bySet) if (items.length) yield setWithElements(set, items);
}

/** The ruleset of `built` (filled in key order) with `index` describing it, handed to `done`. */
function finish(
  config: NftablesConfig,
  built: Map<string, NftServiceRules>,
  index: NftElementIndex,
  done?: (ruleset: NftRuleset) => void,
): void {
  const ruleset: NftRuleset = { config, services: new VersionedMap(built) };
  index.describes = ruleset;
  indexes.set(ruleset, index);
  done?.(ruleset);
}

/**
 * The lines of the whole-table transaction for `services` (consumed lazily, so each is built just
 * before its text is written); `done` receives the complete ruleset after the last line.
 */
function* nftFullLines(
  config: NftablesConfig,
  services: Iterable<NftServiceRules>,
  done?: (ruleset: NftRuleset) => void,
): Generator<string> {
  yield* baseLines(config);
  const built = new Map<string, NftServiceRules>();
  // Filled in key order, as the index wants; points at the finished ruleset below.
  const index = new NftElementIndex({ config, services: built });
  for (const r of services) {
    built.set(r.key, r);
    index.add(r);
    const block = serviceBlock(r);
    if (block) yield block;
  }
  const bySet = new Map<string, string[]>([['nodeport-ips', [...(config.nodePortAddresses ?? [])]]]);
  for (const e of index.elements()) listOf(bySet, e.set).push(elementItem(e));
  yield* elementLines(bySet);
  finish(config, built, index, done);
}

/**
 * How an initial load into an absent table is split into transactions: the first holds `first` of
 * the service ports (at least `minFirst`), each next one `growth` times as many, the last the rest.
 * Loads of fewer than `minServicePorts` go as one transaction.
 */
export interface InitialLoadSplit {
  minServicePorts: number;
  first: number;
  minFirst: number;
  growth: number;
}

/**
 * Measured on this kernel (`bench/proxy/rules.bench.ts`, 10k Services × 5 endpoints): nft's cost
 * grows faster than the transaction, so 2 % + 8 % + 32 % + the rest loads in ~0.85× the time of one
 * transaction, and a small first transaction lets nft start at once while the proxy builds the next.
 * At 1k–5k the split loads in about the time of one transaction; below 1,000 service ports (well
 * under a second of nft) a load goes whole.
 */
export const INITIAL_LOAD_SPLIT: InitialLoadSplit = { minServicePorts: 1000, first: 0.02, minFirst: 50, growth: 4 };

/** Service ports per transaction of an initial load of `count` ports (one entry: one transaction). */
export function initialLoadSizes(count: number, split: InitialLoadSplit = INITIAL_LOAD_SPLIT): number[] {
  if (count < split.minServicePorts) return [count];
  const sizes: number[] = [];
  let size = Math.max(split.minFirst, Math.ceil(count * split.first));
  for (let left = count; left > 0; size *= split.growth) {
    // A remainder smaller than this transaction goes with it, not on its own.
    const take = left - size < size ? left : size;
    sizes.push(take);
    left -= take;
  }
  return sizes;
}

/**
 * An initial load into an absent table as several transactions of {@link initialLoadSizes}, each
 * produced lazily (its services built as its text is pulled). The first creates the table and its
 * fixed objects; each holds whole service ports with their elements, so every Service works as
 * soon as its transaction commits. An element a later port takes over from an earlier transaction
 * (clashing external IPs, where the last port in key order wins, as in the whole-table text) is
 * deleted and added again. A consumer must finish one transaction before it takes the next;
 * `done` receives the complete ruleset after the last.
 */
function* nftInitialTransactions(
  config: NftablesConfig,
  services: Iterable<NftServiceRules>,
  sizes: readonly number[],
  done?: (ruleset: NftRuleset) => void,
): Generator<Iterable<string>> {
  const it = services[Symbol.iterator]();
  const built = new Map<string, NftServiceRules>();
  const index = new NftElementIndex({ config, services: built });
  /** What the table holds (or will, once the transactions so far commit) by element id. */
  const written = new Map<string, NftElement>();
  for (let k = 0; k < sizes.length; k++) {
    const last = k === sizes.length - 1;
    yield (function* () {
      const bySet = new Map<string, string[]>();
      if (k === 0) {
        yield* baseLines(config);
        bySet.set('nodeport-ips', [...(config.nodePortAddresses ?? [])]);
      }
      const group: NftServiceRules[] = [];
      for (let n = 0; last || n < sizes[k]!; n++) {
        const next = it.next();
        if (next.done) break;
        const r = next.value;
        built.set(r.key, r);
        index.add(r);
        group.push(r);
        const block = serviceBlock(r);
        if (block) yield block;
      }
      for (const r of group) {
        for (const e of r.elements) {
          const winner = index.get(e.id)!;
          const held = written.get(e.id);
          if (held === winner) continue;
          if (held && (held.value !== winner.value || held.comment !== winner.comment))
            yield `delete element ${T} ${held.set} { ${held.key} }`;
          written.set(e.id, winner);
          listOf(bySet, winner.set).push(elementItem(winner));
        }
      }
      yield* elementLines(bySet);
      if (last) finish(config, built, index, done);
    })();
  }
}

/**
 * One service port's lines of the full transaction, as one string (one join, one yield). Its sets
 * and chains come first: its rules name them (goto, @set) and nft resolves names against what the
 * transaction declared so far.
 */
function serviceBlock(r: NftServiceRules): string {
  const lines: string[] = [];
  for (const [set, body] of r.sets) lines.push(`add set ${T} ${set} { ${body} }`);
  for (const c of r.chains.keys()) lines.push(`add chain ${T} ${c}`);
  for (const [c, body] of r.chains) if (body) lines.push(chainBodyText(c, body));
  return lines.join('\n');
}

/**
 * The whole table as one transaction: recreates `ip kube-proxy` from scratch. Every rule goes in a
 * chain body and every element in an `add set|map … { elements = … }`, so nft fetches no chain
 * cache of the table being replaced (~0.3 s at 60k chains) and parses a quarter fewer bytes than
 * with one command per rule and element. Each service's sets and chains are declared just before
 * its rules, which nft resolves without a cache.
 */
export function renderNftFull(ruleset: NftRuleset): string {
  return [...chunkLines(nftFullLines(ruleset.config, sortedRules(ruleset.services)))].join('');
}

/**
 * {@link renderNftFull} split as an initial load into an absent table goes ({@link initialLoadSizes}):
 * one text per transaction, to be applied in order.
 */
export function renderNftInitial(ruleset: NftRuleset, split: InitialLoadSplit = INITIAL_LOAD_SPLIT): string[] {
  const sizes = initialLoadSizes(ruleset.services.size, split);
  return [...nftInitialTransactions(ruleset.config, sortedRules(ruleset.services), sizes)].map((lines) => [...chunkLines(lines)].join(''));
}

/**
 * A full sync that builds and renders at once: the transaction of {@link renderNftFull} in chunks
 * of about 64 KiB, each service port built (or reused from `delta.previous`) only when
 * the chunk that holds it is pulled — so nft parses the first services while later ones are built.
 * `done` receives the ruleset once the last chunk has been produced.
 */
export function streamNftFull(
  services: ServicePortMap,
  endpoints: EndpointsMap,
  config: NftablesConfig,
  delta: NftRulesetDelta | undefined,
  done: (ruleset: NftRuleset) => void,
): Iterable<string> {
  return chunkLines(nftFullLines(config, nftServices(services, endpoints, config, delta), done));
}

/**
 * {@link renderNftInitial} built lazily, like {@link streamNftFull}: one chunk stream per
 * transaction, each built as it is pulled. Finish each before taking the next.
 */
export function* streamNftInitial(
  services: ServicePortMap,
  endpoints: EndpointsMap,
  config: NftablesConfig,
  delta: NftRulesetDelta | undefined,
  split: InitialLoadSplit,
  done: (ruleset: NftRuleset) => void,
): Generator<Iterable<string>> {
  const sizes = initialLoadSizes(services.size, split);
  for (const lines of nftInitialTransactions(config, nftServices(services, endpoints, config, delta), sizes, done)) yield chunkLines(lines);
}

/**
 * Service ports whose rules differ between two rulesets, as [before, after] (undefined = absent).
 * When `current` was derived from `previous`, only the ports it rebuilt can differ; otherwise
 * every port is compared, which is one identity check for each port a build reused.
 */
function changedPairs(previous: NftRuleset, current: NftRuleset): Array<[NftServiceRules | undefined, NftServiceRules | undefined]> {
  const pairs: Array<[NftServiceRules | undefined, NftServiceRules | undefined]> = [];
  const differ = (before: NftServiceRules | undefined, after: NftServiceRules | undefined) =>
    before !== after && before?.fingerprint !== after?.fingerprint;
  const derived = current.services instanceof VersionedMap ? current.services.keysChangedSince(previous.services) : undefined;
  if (derived) {
    for (const key of derived) {
      const before = previous.services.get(key);
      const after = current.services.get(key);
      if (differ(before, after)) pairs.push([before, after]);
    }
  } else {
    for (const [key, before] of previous.services) {
      const after = current.services.get(key);
      if (differ(before, after)) pairs.push([before, after]);
    }
    for (const [key, after] of current.services) if (!previous.services.has(key)) pairs.push([undefined, after]);
  }
  // In key order, so the transaction's text does not depend on how the pairs were found.
  const keyOf = ([before, after]: (typeof pairs)[number]) => (before ?? after)!.key;
  return pairs.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
}

/** Stale objects left in the kernel (flushed, unreferenced) above which a partial sync deletes them anyway. */
export const LEFTOVER_LIMIT = 500;

/** Options of {@link renderNftPartial}. */
export interface NftPartialOptions {
  /**
   * Delete emptied chains and sets at once while the table has at most this many chains: the
   * chain cache a delete makes nft fetch costs a few ms there, and `nft list` stays tidy.
   * Default 1000.
   */
  eagerDeleteMaxChains?: number;
}

const leftoverSets = new WeakMap<NftRuleset, ReadonlySet<string>>();

/**
 * Chains and sets (`chain NAME` / `set NAME`) that an earlier partial sync emptied but left in the
 * kernel, still to be deleted. A full sync recreates the table, so a fresh ruleset has none.
 */
export function nftLeftovers(ruleset: NftRuleset): ReadonlySet<string> {
  return leftoverSets.get(ruleset) ?? new Set();
}

/**
 * `add chain T c { r1 ; r2 ; }`: rules added this way need no cache of the table's chains, while
 * each `add rule` makes nft 1.0.6 fetch every chain first (~0.3 s at 60k chains). Rules that name
 * a set (`@affinity-…`) need the set cache, which only the `add rule` form loads.
 */
function chainBody(chainName: string, body: string): string[] {
  if (body.includes('@')) return body.split(RULE_SEPARATOR).map((rule) => `add rule ${T} ${chainName} ${rule}`);
  return body ? [chainBodyText(chainName, body)] : [];
}

function chainBodyText(chainName: string, body: string): string {
  return `add chain ${T} ${chainName} { ${body} ; }`;
}

/**
 * `add map T m { type … ; elements = { … } }`: adds elements without the chain cache that
 * `add element` makes nft fetch (see {@link chainBody}).
 */
function setWithElements(set: string, items: readonly string[]): string {
  return `add ${SET_TYPES[set]!.kind} ${T} ${set} { ${SET_TYPES[set]!.type} ; elements = { ${items.join(', ')} } ; }`;
}

/**
 * The transaction from `previous` (what the kernel holds) to `current`: element diffs, plus
 * flush/rewrite of changed services' chains. Proportional to the change, and written so nft
 * need not fetch the table's 10⁴–10⁵ chains: rules go in as chain bodies, new elements as set
 * bodies, and chains and sets that went away are flushed now and deleted later (see
 * {@link nftLeftovers}) — in the first transaction that pays for the chain cache anyway (one that
 * deletes elements), once {@link LEFTOVER_LIMIT} have piled up, or at once in a small table (see
 * {@link NftPartialOptions}). Returns '' when nothing differs.
 */
export function renderNftPartial(previous: NftRuleset, current: NftRuleset, options: NftPartialOptions = {}): string {
  const addObjects: string[] = [];
  const rewrite: string[] = [];
  const staleChains = new Set<string>();
  const staleSets = new Set<string>();
  const pairs = changedPairs(previous, current);
  for (const [before, after] of pairs) {
    if (!before) continue;
    for (const c of before.chains.keys()) if (!after?.chains.has(c)) staleChains.add(c);
    for (const s of before.sets.keys()) if (!after?.sets.has(s)) staleSets.add(s);
  }
  const leftovers = new Set(nftLeftovers(previous));
  for (const [before, after] of pairs) {
    if (!after) continue;
    for (const [set, body] of after.sets) {
      staleSets.delete(set);
      leftovers.delete(`set ${set}`);
      addObjects.push(`add set ${T} ${set} { ${body} }`);
    }
    for (const [c, body] of after.chains) {
      staleChains.delete(c);
      const revived = leftovers.delete(`chain ${c}`);
      if (!revived && before?.chains.get(c) === body) continue;
      addObjects.push(`add chain ${T} ${c}`);
      rewrite.push(`flush chain ${T} ${c}`, ...chainBody(c, body));
    }
  }
  // Elements can only differ where a service changed; shared keys (a cluster IP used by several
  // ports) are resolved against the whole ruleset's element maps.
  const touchedKeys = new Set<string>();
  for (const [before, after] of pairs) {
    for (const e of before?.elements ?? []) touchedKeys.add(e.id);
    for (const e of after?.elements ?? []) touchedKeys.add(e.id);
  }
  // The index of `previous` becomes the index of `current`: touched ids are read before and after.
  const index = elementIndex(previous);
  const ids = sameConfig(previous.config, current.config) ? touchedKeys : new Set([...index.ids(), ...touchedKeys]);
  const pick = () => {
    const picked = new Map<string, NftElement>();
    for (const id of ids) {
      const e = index.get(id);
      if (e) picked.set(id, e);
    }
    return picked;
  };
  const beforeEls = pick();
  for (const [before] of pairs) if (before) index.remove(before);
  for (const [, after] of pairs) if (after) index.add(after);
  index.describes = current;
  indexes.delete(previous);
  indexes.set(current, index);
  const afterEls = pick();
  const delEls: string[] = [];
  const addEls = new Map<string, NftElement[]>();
  for (const [id, e] of beforeEls) {
    const now = afterEls.get(id);
    if (!now || now.value !== e.value || now.comment !== e.comment) delEls.push(`delete element ${T} ${e.set} { ${e.key} }`);
  }
  for (const [id, e] of afterEls) {
    const was = beforeEls.get(id);
    if (!was || was.value !== e.value || was.comment !== e.comment) {
      const list = addEls.get(e.set) ?? [];
      list.push(e);
      addEls.set(e.set, list);
    }
  }
  const removals: string[] = [];
  for (const c of [...staleChains].sort()) removals.push(`flush chain ${T} ${c}`);
  for (const s of [...staleSets].sort()) removals.push(`flush set ${T} ${s}`);
  for (const c of staleChains) leftovers.add(`chain ${c}`);
  for (const s of staleSets) leftovers.add(`set ${s}`);
  // Deleting needs the chain cache: do it when this transaction fetches that cache anyway.
  const fetchesCache = delEls.length > 0 || rewrite.some((line) => line.startsWith('add rule'));
  const small = () => index.chains <= (options.eagerDeleteMaxChains ?? 1000);
  if (leftovers.size > 0 && (fetchesCache || leftovers.size >= LEFTOVER_LIMIT || small())) {
    for (const item of [...leftovers].sort())
      removals.push(`delete ${item.startsWith('chain ') ? 'chain' : 'set'} ${T} ${item.slice(item.indexOf(' ') + 1)}`);
    leftovers.clear();
  }
  leftoverSets.set(current, leftovers);
  const out = [
    ...addObjects,
    ...delEls,
    ...rewrite,
    ...[...addEls].map(([set, els]) => setWithElements(set, els.map(elementItem))),
    ...removals,
  ];
  return out.length ? out.join('\n') + '\n' : '';
}

/** Every element of `ruleset` by id (`set key`), as the table holds them. */
export function nftElements(ruleset: NftRuleset): Map<string, NftElement> {
  const index = elementIndex(ruleset);
  return new Map([...index.ids()].map((id) => [id, index.get(id)!]));
}

/** Chain, rule and element counts (metrics, benchmarks): kept by the sync that produced `ruleset`, else counted. */
export function countNft(ruleset: NftRuleset): { chains: number; rules: number; elements: number } {
  const index = elementIndex(ruleset);
  return { chains: index.chains, rules: index.rules, elements: index.size };
}

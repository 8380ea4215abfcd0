/**
 * The local cluster's node network: one bridge in the current namespace and one network namespace per node,
 * routed host-gw style so pods on different nodes (and the host) reach each other through node addresses.
 *
 * ```
 *  current ns:  svcnet0 172.18.0.1/16 ── <prefix>n1 ══ eth0 172.18.0.2/16  (ns <prefix>node-1, pods 10.244.1.0/24)
 *                                    └── <prefix>n2 ══ eth0 172.18.0.3/16  (ns <prefix>node-2, pods 10.244.2.0/24)
 * ```
 *
 * {@link planTopology} is pure (names, addresses, routes); {@link createTopology} applies a plan with {@link NetnsOps}.
 */
import { type CommandRunner, checkIfname, hostRunner, NetnsOps } from './netns.js';

/** Defaults of the address plan (see DESIGN.md). */
export const DEFAULT_PREFIX = 'svcnet-';
export const DEFAULT_BRIDGE = 'svcnet0';
export const DEFAULT_NODE_NETWORK = '172.18.0.0/16';
export const DEFAULT_POD_NETWORK = '10.244.0.0/16';

export interface TopologyOptions {
  /** Number of nodes, 1 or more. */
  nodes: number;
  /** Starts the name of every namespace and host-side link made, so they can be found and cleaned. Default `svcnet-`. */
  prefix?: string;
  /** The bridge in the current namespace. Default `svcnet0`. */
  bridge?: string;
  /** Node network; the bridge takes its first address, node n the (n+1)th. Default 172.18.0.0/16. */
  nodeNetwork?: string;
  /** Pod network, a /16 or wider; node n gets its nth /24. Default 10.244.0.0/16. */
  podNetwork?: string;
}

/** A route to `dst` through the gateway `via` on `dev`. */
export interface RoutePlan {
  dst: string;
  via: string;
  dev: string;
}

export interface NodePlan {
  /** Kubernetes node name, e.g. `node-1`. */
  name: string;
  /** 1-based node number. */
  index: number;
  /** Network namespace, e.g. `svcnet-node-1`. */
  netns: string;
  /** Node address, e.g. 172.18.0.2. */
  ip: string;
  /** The address with the node network's prefix length, e.g. 172.18.0.2/16. */
  cidr: string;
  /** Pod CIDR, e.g. 10.244.1.0/24. */
  podCIDR: string;
  /** Host end of the node's veth (on the bridge). */
  hostVeth: string;
  /** Node end of the veth, inside the node namespace. */
  nodeVeth: string;
  /** Routes inside the node namespace: the default route, then the other nodes' pod CIDRs. */
  routes: RoutePlan[];
}

export interface TopologyPlan {
  prefix: string;
  bridge: string;
  /** Bridge address, which is every node's default gateway, e.g. 172.18.0.1. */
  gateway: string;
  /** The bridge address with prefix length, e.g. 172.18.0.1/16. */
  bridgeCIDR: string;
  nodes: NodePlan[];
  /** Routes in the current namespace: every pod CIDR via its node. */
  hostRoutes: RoutePlan[];
}

function parseIPv4(ip: string): number {
  const parts = ip.split('.');
  const octets = parts.map(Number);
  if (parts.length !== 4 || octets.some((o, i) => !/^\d{1,3}$/.test(parts[i]!) || o > 255)) throw new Error(`invalid IPv4 address "${ip}"`);
  return octets.reduce((n, o) => n * 256 + o, 0);
}

function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function parseCIDR(cidr: string): { base: number; bits: number } {
  const [ip, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (!ip || !bitsText || !Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`invalid CIDR "${cidr}"`);
  const size = 2 ** (32 - bits);
  return { base: parseIPv4(ip) - (parseIPv4(ip) % size), bits };
}

/** Names, addresses and routes of a topology; throws a clear error for options that cannot work. */
export function planTopology(options: TopologyOptions): TopologyPlan {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const bridge = options.bridge ?? DEFAULT_BRIDGE;
  const nodeNet = parseCIDR(options.nodeNetwork ?? DEFAULT_NODE_NETWORK);
  const podNet = parseCIDR(options.podNetwork ?? DEFAULT_POD_NETWORK);
  const count = options.nodes;
  if (!Number.isInteger(count) || count < 1) throw new Error(`nodes must be a positive integer, got ${count}`);
  if (!prefix) throw new Error('prefix must not be empty: cleanup finds everything by it');
  if (count + 3 > 2 ** (32 - nodeNet.bits))
    throw new Error(`node network ${options.nodeNetwork ?? DEFAULT_NODE_NETWORK} has no room for ${count} nodes`);
  if (podNet.bits > 24 || count > 2 ** (24 - podNet.bits) - 1) {
    throw new Error(`pod network ${options.podNetwork ?? DEFAULT_POD_NETWORK} has no room for ${count} node /24s`);
  }
  checkIfname(bridge);
  checkIfname(`${prefix}n${count}`);

  const gateway = formatIPv4(nodeNet.base + 1);
  const nodes = Array.from({ length: count }, (_, i) => {
    const index = i + 1;
    const ip = formatIPv4(nodeNet.base + index + 1);
    return {
      name: `node-${index}`,
      index,
      netns: `${prefix}node-${index}`,
      ip,
      cidr: `${ip}/${nodeNet.bits}`,
      podCIDR: `${formatIPv4(podNet.base + index * 256)}/24`,
      hostVeth: `${prefix}n${index}`,
      nodeVeth: 'eth0',
      routes: [] as RoutePlan[],
    };
  });
  for (const node of nodes) {
    node.routes.push({ dst: 'default', via: gateway, dev: node.nodeVeth });
    for (const other of nodes) if (other !== node) node.routes.push({ dst: other.podCIDR, via: other.ip, dev: node.nodeVeth });
  }
  return {
    prefix,
    bridge,
    gateway,
    bridgeCIDR: `${gateway}/${nodeNet.bits}`,
    nodes,
    hostRoutes: nodes.map((node) => ({ dst: node.podCIDR, via: node.ip, dev: bridge })),
  };
}

/** What already exists, so that creating a topology again only adds what is missing. */
export interface ExistingNetwork {
  netns: ReadonlySet<string>;
  /** Links in the current namespace. */
  links: ReadonlySet<string>;
}

/** `ip -batch` scripts that build a plan: one for the current namespace, one per node namespace (run with `ip -n`). */
export interface TopologyScript {
  host: string[];
  nodes: { netns: string; lines: string[] }[];
}

/**
 * The `ip -batch` lines that build `plan` given what exists. Creation lines are left out for what exists;
 * addresses and routes use `replace`, so the script can run over a half-made topology.
 */
export function topologyScript(plan: TopologyPlan, existing: ExistingNetwork = { netns: new Set(), links: new Set() }): TopologyScript {
  const host: string[] = [];
  if (!existing.links.has(plan.bridge)) host.push(`link add ${plan.bridge} type bridge`);
  host.push(`addr replace ${plan.bridgeCIDR} dev ${plan.bridge}`, `link set ${plan.bridge} up`);
  for (const node of plan.nodes) {
    if (!existing.netns.has(node.netns)) host.push(`netns add ${node.netns}`);
    if (!existing.links.has(node.hostVeth)) host.push(`link add ${node.hostVeth} type veth peer name ${node.nodeVeth} netns ${node.netns}`);
    host.push(`link set ${node.hostVeth} master ${plan.bridge}`, `link set ${node.hostVeth} up`);
  }
  for (const route of plan.hostRoutes) host.push(`route replace ${route.dst} via ${route.via} dev ${route.dev}`);
  const nodes = plan.nodes.map((node) => ({
    netns: node.netns,
    lines: [
      'link set lo up',
      `addr replace ${node.cidr} dev ${node.nodeVeth}`,
      `link set ${node.nodeVeth} up`,
      ...node.routes.map((route) => `route replace ${route.dst} via ${route.via} dev ${route.dev}`),
    ],
  }));
  return { host, nodes };
}

/**
 * Builds the topology in the namespaces `runner` reaches (the host for `svcnet up`, a sandbox in tests), with one `ip -batch`
 * for the current namespace and one per node. Idempotent: running it over a half-made topology completes it.
 * Returns the plan it applied.
 */
export async function createTopology(options: TopologyOptions, runner: CommandRunner = hostRunner): Promise<TopologyPlan> {
  const plan = planTopology(options);
  const ops = new NetnsOps(runner);
  const [netns, links] = await Promise.all([ops.listNetns(), ops.listLinks()]);
  const script = topologyScript(plan, { netns: new Set(netns), links: new Set(links.map((l) => l.name)) });
  await ops.batch(script.host);
  await Promise.all(
    script.nodes.map((node) =>
      Promise.all([
        ops.batch(node.lines, { netns: node.netns }),
        ops.setSysctl('net.ipv4.ip_forward', 1, { netns: node.netns }),
        // Nodes route service traffic back out of the interface it came in on; ICMP redirects
        // for it would only confuse senders (and delay the REJECT of a Service with no endpoints).
        ops.setSysctl('net.ipv4.conf.all.send_redirects', 0, { netns: node.netns }),
        ops.setSysctl('net.ipv4.conf.default.send_redirects', 0, { netns: node.netns }),
      ]),
    ),
  );
  return plan;
}

/**
 * Removes every namespace (nodes and the pods named under them) and host link whose name starts with `prefix`, and the bridge.
 * Routes via the bridge go with it. Safe after a crash or when nothing is left.
 */
export async function destroyTopology(
  prefix: string = DEFAULT_PREFIX,
  options: { bridge?: string; runner?: CommandRunner } = {},
): Promise<{ netns: string[]; links: string[] }> {
  return new NetnsOps(options.runner ?? hostRunner).cleanupByPrefix(prefix, [options.bridge ?? DEFAULT_BRIDGE]);
}

/**
 * Real nodes for `svcnet up --nodes N`: the svcnet0 bridge and one network namespace per node
 * (topology.ts), and in each a `svcnet agent` process that talks to the API server over HTTPS
 * with its own token, exactly as it would from another machine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { writeKubeconfig } from './kubeconfig.js';
import { netnsPath } from './netns.js';
import { issueServingCert, newToken, type Pki } from './pki.js';
import type { StateDir } from './state-dir.js';
import { childEnv, processAlive } from './state-dir.js';
import { createTopology, DEFAULT_POD_NETWORK, destroyTopology, type NodePlan, type TopologyPlan } from './topology.js';

export interface RealNodes {
  plan: TopologyPlan;
  /** token → user, for the API server's authenticator. */
  tokens: Map<string, string>;
  agentPids(): number[];
  stop(): Promise<void>;
}

function nodeToken(sd: StateDir, node: string): string {
  const file = sd.path('pki', `${node}.token`);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const t = newToken();
  writeFileSync(file, `${t}\n`, { mode: 0o600 });
  return t;
}

/** Kills agents a crashed run left behind (their pids are in run.json's `agents`). */
export function killLeftoverAgents(pids: number[] | undefined): void {
  for (const pid of pids ?? []) {
    if (processAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Creates the network (after removing what a crashed run left) — before the API server listens on the bridge. */
export async function createNodeNetwork(count: number): Promise<TopologyPlan> {
  await destroyTopology();
  return createTopology({ nodes: count });
}

/** Starts one agent per node, inside the node's network namespace. */
export async function startAgents(
  sd: StateDir,
  plan: TopologyPlan,
  apiServer: string,
  pki: Pki,
  kubeletToken: string,
  proxyMode: string,
): Promise<RealNodes> {
  const caPem = pki.caCertPem;
  const tokens = new Map<string, string>();
  const children: ChildProcess[] = [];
  for (const node of plan.nodes) {
    const token = nodeToken(sd, node.name);
    tokens.set(token, `system:node:${node.name}`);
    const dir = sd.path('nodes', node.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const kubeconfig = `${dir}/kubeconfig`;
    writeKubeconfig(kubeconfig, { server: apiServer, caPem, token, userName: `system:node:${node.name}` });
    // The kubelet API: a serving certificate from the cluster CA, and the token the API server presents.
    const serving = await issueServingCert({
      caCertPem: pki.caCertPem,
      caKeyPem: pki.caKeyPem,
      commonName: node.name,
      dnsNames: [node.name],
      ips: [node.ip],
    });
    writeFileSync(`${dir}/kubelet.crt`, serving.certPem, { mode: 0o644 });
    writeFileSync(`${dir}/kubelet.key`, serving.keyPem, { mode: 0o600 });
    writeFileSync(`${dir}/kubelet-client.token`, `${kubeletToken}\n`, { mode: 0o600 });
    children.push(spawnInNode(sd, node, 'agent', agentArgs(node, dir, kubeconfig), AGENT_NODE_FLAGS));
    children.push(spawnInNode(sd, node, 'proxy', proxyArgs(node, kubeconfig, proxyMode, DEFAULT_POD_NETWORK)));
  }
  return {
    plan,
    tokens,
    agentPids: () => children.map((c) => c.pid!).filter(Boolean),
    stop: async () => {
      await Promise.all(children.map((c) => stopChild(c, 20_000)));
      await destroyTopology();
    },
  };
}

function agentArgs(node: NodePlan, dir: string, kubeconfig: string): string[] {
  return [
    'agent',
    '--node-name',
    node.name,
    '--node-ip',
    node.ip,
    '--pod-cidr',
    node.podCIDR,
    '--node-netns',
    node.netns,
    '--state-dir',
    dir,
    '--kubeconfig',
    kubeconfig,
    '--kubelet-cert',
    `${dir}/kubelet.crt`,
    '--kubelet-key',
    `${dir}/kubelet.key`,
    '--kubelet-token-file',
    `${dir}/kubelet-client.token`,
  ];
}

function proxyArgs(node: NodePlan, kubeconfig: string, mode: string, podNetwork: string): string[] {
  // Metrics on the node's own loopback (each node namespace has its own), kube-proxy's default port.
  // --cluster-cidr: traffic from outside the pod network is masqueraded, so replies from pods on
  // other nodes come back through this node's connection tracking.
  return [
    'proxy',
    '--kubeconfig',
    kubeconfig,
    '--mode',
    mode,
    '--hostname-override',
    node.name,
    '--node-ip',
    node.ip,
    '--cluster-cidr',
    podNetwork,
    // kube-proxy's 1 s minimum between syncs guards big clusters; a local one's partial syncs take
    // tens of milliseconds, and a pod turning Ready should reach its Service at once.
    '--min-sync-period',
    '100ms',
  ];
}

/**
 * Node flags of the agents. A small young generation: under the burst of allocation of a hundred
 * pod starts V8 grows its semi-spaces towards 16 MB and keeps them resident (an agent with 100 pods:
 * 38 → 28 MB anonymous memory with 2 MB); the extra scavenges cost no measurable CPU.
 */
const AGENT_NODE_FLAGS = ['--max-semi-space-size=2'];

/** Runs a svcnet component inside the node's network namespace, logging to logs/<node>-<what>.log. */
function spawnInNode(sd: StateDir, node: NodePlan, what: string, args: string[], nodeFlags: readonly string[] = []): ChildProcess {
  const log = openSync(sd.path('logs', `${node.name}-${what}.log`), 'a');
  // nsenter (not `ip netns exec`): the agent must share the host's mount namespace so the pod
  // namespaces it adds under /var/run/netns are visible to `svcnet down` and node shells.
  const argv = [`--net=${netnsPath(node.netns)}`, '--', process.execPath, ...nodeFlags, process.argv[1]!, ...args];
  return spawn('nsenter', argv, { stdio: ['ignore', log, log], env: childEnv() });
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

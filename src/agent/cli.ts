/**
 * The agent's commands, for the lead's CLI to register: `svcnet agent …` (run a node agent
 * against an API server from a kubeconfig) and the hidden `svcnet image <runner> …` that runs a
 * builtin image's process inside a container.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KUBELET_PORT } from './node.js';

export interface AgentCommandOptions {
  kubeconfig?: string;
  nodeName: string;
  nodeIp: string;
  podCidr: string;
  stateDir: string;
  nodeNetns?: string;
  clusterDns: string;
  clusterDomain: string;
  kubeletAddress?: string;
  kubeletPort: string;
  kubeletCert?: string;
  kubeletKey?: string;
  kubeletTokenFile?: string;
}

/** The kubelet API settings from the flags: served only when a token file says whom to accept. */
async function kubeletSettings(options: AgentCommandOptions) {
  if (!options.kubeletTokenFile) return undefined;
  const tokens = readFileSync(options.kubeletTokenFile, 'utf8')
    .split('\n')
    .map((t) => t.trim())
    .filter(Boolean);
  if (Boolean(options.kubeletCert) !== Boolean(options.kubeletKey)) throw new Error('--kubelet-cert and --kubelet-key go together');
  const tls =
    options.kubeletCert && options.kubeletKey
      ? { cert: readFileSync(options.kubeletCert, 'utf8'), key: readFileSync(options.kubeletKey, 'utf8') }
      : await (await import('./kubelet/server.js')).selfSignedKubeletCert(options.nodeName, [options.nodeIp]);
  return { host: options.kubeletAddress ?? options.nodeIp, port: Number(options.kubeletPort), tls, tokens };
}

/** Runs an agent until SIGINT/SIGTERM (then stops its pods and exits). */
export async function agentCommand(options: AgentCommandOptions): Promise<void> {
  // Loaded here, not at the top: every `svcnet` command parses this file's options.
  const [{ HttpClient }, { loadKubeconfig }, { Agent, bundledImageCommand }, { raiseAgentPriority }] = await Promise.all([
    import('../client/http.js'),
    import('../cluster/kubeconfig.js'),
    import('./agent.js'),
    import('./runtime/priority.js'),
  ]);
  const credentials = loadKubeconfig(options.kubeconfig);
  const client = new HttpClient(credentials);
  const log = (message: string) => process.stderr.write(`${new Date().toISOString()} agent ${options.nodeName}: ${message}\n`);
  const boost = raiseAgentPriority();
  if (boost > 0) log(`running ${boost} nice levels above the pods`);
  const agent = new Agent({
    client,
    nodeName: options.nodeName,
    nodeIP: options.nodeIp,
    podCIDR: options.podCidr,
    stateDir: options.stateDir,
    nodeNetns: options.nodeNetns,
    dns: { nameservers: options.clusterDns.split(',').filter(Boolean), domain: options.clusterDomain },
    imageCommand: bundledImageCommand(process.argv[1]!),
    kubelet: await kubeletSettings(options),
    log,
  });
  await agent.start();
  log(`node registered, running pods bound to ${options.nodeName}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await agent.stop();
}

/** Adds `agent` and (hidden) `image` to the svcnet program. */
export function registerAgentCommands(program: Command): void {
  program
    .command('agent')
    .description('Run a node agent: register the node and run the pods bound to it as processes in network namespaces.')
    .option('--kubeconfig <path>', 'kubeconfig of the API server')
    .requiredOption('--node-name <name>', 'name of the Node to register')
    .requiredOption('--node-ip <ip>', "the node's address (InternalIP)")
    .requiredOption('--pod-cidr <cidr>', "the node's pod CIDR, e.g. 10.244.1.0/24")
    .requiredOption('--state-dir <dir>', 'where pod files, logs and CNI state are kept')
    .option('--node-netns <name>', 'name of the network namespace the agent runs in (pod namespaces are named under it)')
    .option('--cluster-dns <ips>', 'cluster DNS server addresses, comma-separated', '10.96.0.10')
    .option('--cluster-domain <domain>', 'cluster domain', 'cluster.local')
    .option(
      '--kubelet-token-file <path>',
      "file with the bearer token(s) the kubelet API accepts (the API server's); without it no kubelet API is served",
    )
    .option('--kubelet-cert <path>', 'serving certificate of the kubelet API (PEM); default a self-signed one')
    .option('--kubelet-key <path>', 'key of --kubelet-cert (PEM)')
    .option('--kubelet-address <ip>', 'address the kubelet API listens on (default --node-ip)')
    .option('--kubelet-port <port>', 'port of the kubelet API', String(KUBELET_PORT))
    .action(agentCommand);
  program
    .command('image <runner> [args...]', { hidden: true })
    .description("Run a builtin image's process (used inside containers).")
    .allowUnknownOption()
    .helpOption(false)
    .action(async (runner: string, args: string[]) => (await import('./images/main.js')).runImage(runner, args));
}

/**
 * The `svcnet` command: argument parsing only; the work happens in cluster/, proxy/, dns/, agent/.
 */
import { Command, Option } from 'commander';
import { registerAgentCommands } from '../agent/cli.js';
import { registerProxyCommand } from '../proxy/cli.js';
import { downCommand, statusCommand, upCommand } from './cluster-commands.js';
import { nodeShellCommand } from './node-commands.js';

const program = new Command();
program
  .name('svcnet')
  .description(
    'Kubernetes Service networking that moves real packets: a local cluster in one command, or a kube-proxy and cluster DNS for any cluster.',
  )
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('up')
  .description('Start a local cluster in the background (API server on an embedded SQLite store, controllers) and write a kubeconfig.')
  .option('--data-dir <dir>', 'where the cluster keeps its state', undefined)
  .option('--foreground', 'stay in the foreground (for service managers and containers)', false)
  .option('--port <port>', 'API server port (0 picks a free one)', '6443')
  .option('--host <address>', 'address the API server listens on', '127.0.0.1')
  .addOption(new Option('--store <kind>', 'storage backend').choices(['sqlite', 'memory']).default('sqlite'))
  .option('--service-cluster-ip-range <cidr>', 'CIDR for Service cluster IPs', '10.96.0.0/12')
  .option('--service-node-port-range <range>', 'port range for NodePort Services', '30000-32767')
  .option('--nodes <n>', 'real nodes: network namespaces on the svcnet0 bridge, pods as processes (needs root)', '0')
  .addOption(
    new Option('--proxy-mode <mode>', 'service proxy mode on real nodes')
      .choices(['iptables', 'nftables', 'userspace'])
      .default('iptables'),
  )
  .option(
    '--simulated-nodes <n>',
    'simulated nodes (kwok-like: pods become Running and Ready without processes); default 1 without --nodes',
  )
  .action(upCommand);

program
  .command('down')
  .description('Stop everything `svcnet up` started and clean up after it. State stays in the data directory.')
  .option('--data-dir <dir>', "the cluster's data directory", undefined)
  .action(downCommand);

program
  .command('status')
  .description('Say whether a local cluster runs, where, and what it runs.')
  .option('--data-dir <dir>', "the cluster's data directory", undefined)
  .action(statusCommand);

program
  .command('node')
  .description('Work with the nodes of a local cluster started with --nodes.')
  .command('shell')
  .description("Open a shell inside a node's network namespace (or run COMMAND there), as on a real node.")
  .argument('<node>', 'node name, e.g. node-1')
  .argument('[command...]', 'command to run instead of a shell (put it after --)')
  .action((node: string, command: string[]) => nodeShellCommand(node, command));

program
  .command('service')
  .description(
    'Say where a Service of the local cluster answers from this host (as `minikube service NAME --url`): its LoadBalancer IP, else a node port.',
  )
  .argument('<name>', 'the Service')
  .option('-n, --namespace <namespace>', "the Service's namespace", 'default')
  .option('--url', 'print only the URLs, one per line', false)
  .option('--data-dir <dir>', "the cluster's data directory", undefined)
  .action(async (name: string, opts) => {
    const { serviceCommand } = await import('./service-command.js');
    await serviceCommand(name, opts);
  });

program
  .command('dns')
  .description('Serve cluster DNS for the API server of a kubeconfig, as CoreDNS with the kubernetes plugin does.')
  .option('--kubeconfig <path>', 'kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)')
  .option('--context <name>', 'kubeconfig context to use')
  .option('--listen <address>', 'address (UDP and TCP) to serve DNS on', '127.0.0.1:53')
  .option('--metrics <address>', 'address of /metrics, /health and /ready ("none" turns it off)', '127.0.0.1:9153')
  .option('--domain <domain>', 'cluster domain', 'cluster.local')
  .option('--ttl <seconds>', 'TTL of cluster records', '30')
  .addOption(new Option('--pods <mode>', 'pod records').choices(['insecure', 'disabled', 'verified']).default('insecure'))
  .addOption(new Option('--upstream <address...>', 'upstream resolvers, IP[:port] (default: from --resolv-conf)').conflicts('resolvConf'))
  .option('--resolv-conf <path>', 'resolv.conf to take upstream resolvers from (default: /etc/resolv.conf)')
  .action(async (opts) => {
    const { runDnsCommand } = await import('../dns/run.js');
    await runDnsCommand(opts);
  });

registerAgentCommands(program);
registerProxyCommand(program);

await program.parseAsync(process.argv);

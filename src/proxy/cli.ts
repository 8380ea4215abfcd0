/**
 * `svcnet proxy`: the proxy as a kube-proxy replacement for any API server. A plain Kubernetes
 * client (kubeconfig + HTTPS), programming the namespace it runs in.
 *
 *     svcnet proxy --kubeconfig ~/.kube/config --mode iptables --hostname-override node-1 \
 *       --cluster-cidr 10.244.0.0/16 --metrics-bind-address 127.0.0.1:10249
 *
 * Flags follow kube-proxy's names and defaults where kube-proxy has them (--proxy-mode is
 * svcnet's alias for --mode, as `svcnet up` spells it; --ipvs-scheduler picks the userspace
 * default scheduler, as kube-proxy's does for IPVS).
 */
import { hostname } from 'node:os';
import { type Command, Option } from 'commander';
import { SCHEDULER_NAMES, type SchedulerName } from './backends/userspace/schedulers.js';
import { PROXY_MODES, type ProxyMode } from './modes.js';
import type { RunningProxy } from './server.js';

/** Options of `svcnet proxy`, as commander hands them over. */
export interface ProxyCommandOptions {
  kubeconfig?: string;
  mode?: string;
  proxyMode?: string;
  hostnameOverride?: string;
  clusterCidr?: string;
  metricsBindAddress?: string;
  ipvsScheduler?: string;
  iptablesBackend?: string;
  nodeportAddresses?: string;
  nodeIp?: string;
  minSyncPeriod?: string;
  syncPeriod?: string;
}

/** Parses a Go-style duration (`500ms`, `1s`, `1m30s`, `0`) into milliseconds. */
export function parseDuration(text: string): number {
  if (/^0+$/.test(text)) return 0;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) throw new Error(`invalid duration "${text}"`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** Starts the proxy from CLI options (without waiting for signals). */
export async function startProxyFromOptions(opts: ProxyCommandOptions): Promise<RunningProxy> {
  const mode = (opts.proxyMode ?? opts.mode ?? 'iptables') as ProxyMode;
  if (!(PROXY_MODES as readonly string[]).includes(mode))
    throw new Error(`invalid proxy mode "${mode}": must be one of ${PROXY_MODES.join(', ')}`);
  const scheduler = opts.ipvsScheduler || 'rr';
  if (!(SCHEDULER_NAMES as readonly string[]).includes(scheduler)) {
    throw new Error(`invalid --ipvs-scheduler "${scheduler}": must be one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  // Loaded here, not at the top: every `svcnet` command parses this file's options.
  const [{ HttpClient }, { loadKubeconfig }, { createKlog }, { startProxy }] = await Promise.all([
    import('../client/http.js'),
    import('../cluster/kubeconfig.js'),
    import('./log.js'),
    import('./server.js'),
  ]);
  const creds = loadKubeconfig(opts.kubeconfig);
  const { namespace: _ns, context: _ctx, ...http } = creds;
  const client = new HttpClient({ ...http, userAgent: 'svcnet-proxy' });
  const nodeIPs = list(opts.nodeIp);
  const nodePortAddresses = list(opts.nodeportAddresses);
  return startProxy(client, {
    nodeName: (opts.hostnameOverride || hostname()).toLowerCase(),
    mode,
    iptablesBackend: opts.iptablesBackend === 'legacy' ? 'legacy' : 'nft',
    clusterCIDR: opts.clusterCidr ?? '',
    ...(nodeIPs.length ? { nodeIPs } : {}),
    ...(nodePortAddresses.length ? { nodePortAddresses } : {}),
    minSyncPeriodMs: parseDuration(opts.minSyncPeriod ?? '1s'),
    syncPeriodMs: parseDuration(opts.syncPeriod ?? '30s'),
    ...(opts.metricsBindAddress !== '' ? { metricsAddress: opts.metricsBindAddress ?? '127.0.0.1:10249' } : {}),
    scheduler: scheduler as SchedulerName,
    log: createKlog(),
  });
}

/** Runs `svcnet proxy` until SIGINT/SIGTERM. */
export async function runProxyCommand(opts: ProxyCommandOptions): Promise<void> {
  const proxy = await startProxyFromOptions(opts);
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await proxy.stop();
}

/** Adds the `proxy` subcommand to the `svcnet` program. */
export function registerProxyCommand(program: Command): Command {
  return program
    .command('proxy')
    .description('Run the Service proxy (a kube-proxy replacement) against any API server, programming this network namespace.')
    .option('--kubeconfig <path>', 'path to a kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .addOption(new Option('--mode <mode>', 'which proxy mode to use').choices([...PROXY_MODES]).default('iptables'))
    .addOption(new Option('--proxy-mode <mode>', 'alias for --mode').choices([...PROXY_MODES]))
    .option('--hostname-override <name>', "the node's name, if not the hostname")
    .option('--cluster-cidr <cidr>', 'the CIDR range of the pods in the cluster; traffic from outside it to Services is masqueraded')
    .option('--metrics-bind-address <host:port>', 'address for /metrics, /healthz and /livez (empty to disable)', '127.0.0.1:10249')
    .addOption(new Option('--ipvs-scheduler <name>', 'userspace mode: default scheduler').choices([...SCHEDULER_NAMES]).default('rr'))
    .addOption(
      new Option('--iptables-backend <kind>', 'iptables mode: nf_tables or legacy binaries').choices(['nft', 'legacy']).default('nft'),
    )
    .option('--nodeport-addresses <list>', 'comma-separated addresses that accept NodePort traffic (default: all local addresses)')
    .option('--node-ip <list>', "this node's IPs (default: the Node object's InternalIP)")
    .option('--min-sync-period <duration>', 'minimum interval between rule syncs', '1s')
    .option('--sync-period <duration>', 'maximum interval between full resyncs', '30s')
    .action((opts: ProxyCommandOptions) => runProxyCommand(opts));
}

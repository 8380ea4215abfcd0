/**
 * The cluster DNS server: the kubernetes plugin's answers for the cluster zone and reverse
 * zones, forwarding (with a cache) for everything else, over UDP and TCP, with CoreDNS's
 * metrics, health and readiness endpoints.
 */
import type { ClusterData } from './cluster-index.js';
import type { KubernetesConfig, PodMode } from './kubernetes.js';
import { DnsMetrics, startMetricsServer } from './metrics.js';
import { CachePlugin, chain, ForwardPlugin, KubernetesPlugin, parseUpstream, type Upstream } from './plugins.js';
import { DnsServer, type UdpMode, type UdpPath } from './server.js';
import type { BatchUdpStats } from './udp-batch.js';

export { type ClusterData, ClusterIndex } from './cluster-index.js';
export { answer, type KubernetesConfig, type PodMode } from './kubernetes.js';
export { chooseUdpPath, describeUdpPath, type UdpMode, type UdpPath } from './server.js';
export type { BatchUdpStats } from './udp-batch.js';
export { toZoneText } from './zone-text.js';

export interface DnsServerConfig {
  /** Cluster domain; default `cluster.local`. */
  domain?: string;
  /** Record TTL in seconds; default 30 (kubeadm's Corefile). */
  ttl?: number;
  /** Pod records; default `insecure` (kubeadm's Corefile). */
  podMode?: PodMode;
  /** Upstream resolvers (`1.2.3.4`, `127.0.0.1:5353`, `[::1]:53`); default: from `resolvConf`. */
  upstreams?: string[];
  /** Where to read upstream nameservers when `upstreams` is not given; default /etc/resolv.conf. */
  resolvConf?: string;
  /** Timeout of one upstream exchange; default 2000 ms. */
  forwardTimeoutMs?: number;
  /** Addresses of the DNS Service itself (served as `ns.dns.<domain>`). */
  nameserverIPs?: string[];
  /** Entries of the forward cache; default 10,000. */
  cacheSize?: number;
}

export interface StartDnsServerOptions {
  listen: { host: string; port: number };
  index: ClusterData;
  config?: DnsServerConfig;
  /** Serve /metrics, /health and /ready here (CoreDNS uses 9153, 8080, 8181). */
  metricsPort?: number;
  metricsHost?: string;
  /** UDP path; default SVCNET_DNS_UDP from the environment, else `auto` (see `DnsServerOptions.udp`). */
  udp?: UdpMode;
}

export interface RunningDnsServer {
  address(): { host: string; port: number };
  /** Port of the metrics/health server, when one was started. */
  metricsPort?: number;
  /** Upstreams refused because they would forward back to this server. */
  loops: Upstream[];
  /** The UDP path in use (batched native I/O or node:dgram). */
  udpPath: UdpPath;
  /** Counters of the batch path (batches, datagrams, dropped replies); undefined on dgram. */
  udpStats(): BatchUdpStats | undefined;
  close(): Promise<void>;
}

/** Starts the DNS server; resolves once UDP, TCP (and the metrics port) are listening. */
export async function startDnsServer(options: StartDnsServerOptions): Promise<RunningDnsServer> {
  const cfg = options.config ?? {};
  const kubernetes: KubernetesConfig = {
    domain: (cfg.domain ?? 'cluster.local').replace(/\.$/, '').toLowerCase(),
    ttl: cfg.ttl ?? 30,
    podMode: cfg.podMode ?? 'insecure',
    nameserverIPs: cfg.nameserverIPs,
  };
  const metrics = new DnsMetrics(`dns://${options.listen.host}:${options.listen.port}`);
  const cache = new CachePlugin({ capacity: cfg.cacheSize ?? 10_000, maxTtl: 3600, stats: metrics });
  // The forward plugin needs our bound port (for loop detection), so build it lazily.
  let forward: ForwardPlugin | undefined;
  const handler = chain([
    cache,
    new KubernetesPlugin(options.index, kubernetes),
    {
      name: 'forward',
      serve: (q) => {
        if (!forward) throw new Error('forward not ready');
        return forward.serve(q);
      },
    },
  ]);
  const server = new DnsServer({
    host: options.listen.host,
    port: options.listen.port,
    handler,
    data: options.index,
    metrics,
    udp: options.udp,
  });
  await server.listen();
  const bound = server.address();
  forward = new ForwardPlugin({
    upstreams: cfg.upstreams?.map(parseUpstream),
    resolvConf: cfg.resolvConf,
    self: [bound],
    timeoutMs: cfg.forwardTimeoutMs,
  });
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  if (options.metricsPort !== undefined) {
    metricsServer = await startMetricsServer(
      metrics,
      () => options.index.synced,
      options.metricsHost ?? options.listen.host,
      options.metricsPort,
    );
  }
  return {
    address: () => server.address(),
    metricsPort: metricsServer?.port,
    loops: forward.loops,
    udpPath: server.udpPath,
    udpStats: () => server.batchStats(),
    close: async () => {
      await server.close();
      await metricsServer?.close();
    },
  };
}

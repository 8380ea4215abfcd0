/**
 * The cluster DNS as a running Kubernetes client: informers for Services, EndpointSlices,
 * Namespaces (and Pods in `verified` pod mode) feed a `ClusterIndex`, and the server answers
 * from it. Like CoreDNS's kubernetes plugin it listens at once and answers SERVFAIL (and
 * /ready says 503) until the initial lists are in, so a half-loaded cache never yields a wrong
 * NXDOMAIN. `runDnsCommand` is the `svcnet dns` command: a plain HTTPS client from a
 * kubeconfig, so it serves any API server.
 */
import net from 'node:net';
import type { KubeObject } from '../api/meta.js';
import { HttpClient } from '../client/http.js';
import { type ResourceEventHandler, SharedInformerFactory } from '../client/informer.js';
import { type Client, R } from '../client/types.js';
import { loadKubeconfig } from '../cluster/kubeconfig.js';
import { ClusterIndex, type EndpointSliceObject, type PodObject, type ServiceObject } from './cluster-index.js';
import { type DnsServerConfig, describeUdpPath, type RunningDnsServer, startDnsServer } from './index.js';
import type { PodMode } from './kubernetes.js';

export interface RunClusterDnsOptions {
  /** Where to serve DNS (UDP and TCP); port 0 picks a free one. */
  listen: { host: string; port: number };
  /** Serve /metrics, /health and /ready on this port (on `metricsHost`, default the listen host). */
  metricsPort?: number;
  metricsHost?: string;
  config?: DnsServerConfig;
  /** Told about list/watch failures (the informers retry regardless). */
  onError?: (err: unknown) => void;
}

export interface RunningClusterDns extends RunningDnsServer {
  /** The data the server answers from. */
  readonly index: ClusterIndex;
  /** Resolves true once the initial lists are in (false if closed first). */
  readonly synced: Promise<boolean>;
}

/** Handlers that keep one kind of object in the index. */
function feed<T extends KubeObject>(upsert: (obj: T) => void, remove: (namespace: string, name: string) => void): ResourceEventHandler<T> {
  return {
    onAdd: upsert,
    onUpdate: (_old, obj) => upsert(obj),
    onDelete: (obj) => remove(obj.metadata.namespace ?? '', obj.metadata.name ?? ''),
  };
}

/**
 * Starts the DNS server and the informers feeding it. Resolves once the server listens (it
 * answers SERVFAIL until `synced`); `close()` stops the informers and the server.
 */
export async function runClusterDns(client: Client, options: RunClusterDnsOptions): Promise<RunningClusterDns> {
  const index = new ClusterIndex();
  const factory = new SharedInformerFactory(client, { onError: options.onError });
  const services = factory.forResource(R.services);
  services.addEventHandler(
    feed<KubeObject>(
      (svc) => index.upsertService(svc as unknown as ServiceObject),
      (ns, name) => index.deleteService(ns, name),
    ),
  );
  const slices = factory.forResource(R.endpointslices);
  slices.addEventHandler(
    feed<KubeObject>(
      (slice) => index.upsertEndpointSlice(slice as unknown as EndpointSliceObject),
      (ns, name) => index.deleteEndpointSlice(ns, name),
    ),
  );
  const namespaces = factory.forResource(R.namespaces);
  namespaces.addEventHandler(
    feed<KubeObject>(
      (ns) => index.upsertNamespace(ns),
      (_ns, name) => index.deleteNamespace(name),
    ),
  );
  // Only verified pod records need to know the pods; a cluster's pods are the bulk of its objects.
  if (options.config?.podMode === 'verified') {
    const pods = factory.forResource(R.pods);
    pods.addEventHandler(
      feed<KubeObject>(
        (pod) => index.upsertPod(pod as unknown as PodObject),
        (ns, name) => index.deletePod(ns, name),
      ),
    );
  }

  const server = await startDnsServer({
    listen: options.listen,
    index,
    config: options.config,
    metricsPort: options.metricsPort,
    metricsHost: options.metricsHost,
  });
  const stopped = new AbortController();
  factory.start();
  const synced = factory.waitForCacheSync(stopped.signal).then((ok) => {
    if (ok && !stopped.signal.aborted) index.markSynced();
    return ok && !stopped.signal.aborted;
  });
  return {
    index,
    synced,
    address: () => server.address(),
    metricsPort: server.metricsPort,
    loops: server.loops,
    udpPath: server.udpPath,
    udpStats: () => server.udpStats(),
    close: async () => {
      stopped.abort();
      factory.stop();
      await server.close();
    },
  };
}

/** Options of `svcnet dns`, as the command line gives them. */
export interface DnsCommandOptions {
  kubeconfig?: string;
  context?: string;
  /** `host:port`, `[v6]:port` or `host` (port 53); default 127.0.0.1:53. */
  listen?: string;
  /** `host:port` of /metrics, /health, /ready; `''` or `none` turns it off. Default 127.0.0.1:9153. */
  metrics?: string;
  domain?: string;
  ttl?: string | number;
  pods?: string;
  /** Upstream resolvers (`IP`, `IP:port`, `[v6]:port`); default: the resolv.conf's nameservers. */
  upstream?: string[];
  resolvConf?: string;
  /** Stops the command (for tests and embedding); SIGINT and SIGTERM stop it too. */
  signal?: AbortSignal;
  /** Where progress lines go; default stderr. */
  log?: (line: string) => void;
}

/** `host:port`, `[v6]:port`, `[v6]`, bare IPv6 or `host` → host and port. */
export function parseHostPort(spec: string, defaultPort: number): { host: string; port: number } {
  const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(spec);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : defaultPort };
  if (net.isIPv6(spec)) return { host: spec, port: defaultPort };
  const colon = spec.lastIndexOf(':');
  if (colon < 0) return { host: spec, port: defaultPort };
  const port = Number(spec.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in "${spec}"`);
  return { host: spec.slice(0, colon) || '0.0.0.0', port };
}

const POD_MODES: readonly PodMode[] = ['disabled', 'insecure', 'verified'];

/** Turns the command line into the server's options; throws a usage error on bad values. */
export function dnsCommandConfig(opts: DnsCommandOptions): Omit<RunClusterDnsOptions, 'onError'> {
  const pods = (opts.pods ?? 'insecure') as PodMode;
  if (!POD_MODES.includes(pods)) throw new Error(`--pods must be one of ${POD_MODES.join(', ')}, not "${opts.pods}"`);
  const ttl = Number(opts.ttl ?? 30);
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600)
    throw new Error(`--ttl must be a number of seconds between 0 and 3600, not "${opts.ttl}"`);
  if (opts.upstream?.length && opts.resolvConf) throw new Error('--upstream and --resolv-conf are mutually exclusive');
  const metrics = opts.metrics ?? '127.0.0.1:9153';
  const metricsAt = metrics === '' || metrics === 'none' ? undefined : parseHostPort(metrics, 9153);
  return {
    listen: parseHostPort(opts.listen ?? '127.0.0.1:53', 53),
    metricsPort: metricsAt?.port,
    metricsHost: metricsAt?.host,
    config: {
      domain: opts.domain ?? 'cluster.local',
      ttl,
      podMode: pods,
      upstreams: opts.upstream?.length ? opts.upstream : undefined,
      resolvConf: opts.resolvConf,
    },
  };
}

/**
 * `svcnet dns`: serve cluster DNS for the API server in the kubeconfig until SIGINT/SIGTERM
 * (or `opts.signal`). Resolves after a clean shutdown.
 */
export async function runDnsCommand(opts: DnsCommandOptions): Promise<void> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const options = dnsCommandConfig(opts);
  const creds = loadKubeconfig(opts.kubeconfig, { context: opts.context });
  const client = new HttpClient({ ...creds, userAgent: 'svcnet-dns' });
  let lastError = '';
  const dns = await runClusterDns(client, {
    ...options,
    onError: (err) => {
      // A down API server fails every retry the same way: say it once.
      const text = err instanceof Error ? err.message : String(err);
      if (text !== lastError) log(`dns: list/watch failed (retrying): ${text}`);
      lastError = text;
    },
  });
  const at = dns.address();
  log(`dns: serving ${options.config?.domain} on ${at.host}:${at.port} (udp, tcp) from ${creds.server}`);
  log(`dns: ${describeUdpPath(dns.udpPath)}`);
  if (dns.metricsPort !== undefined) log(`dns: metrics, health and ready on ${options.metricsHost}:${dns.metricsPort}`);
  for (const loop of dns.loops) log(`dns: upstream ${loop.host}:${loop.port} is this server: refused (forwarding loop)`);
  void dns.synced.then((ok) => ok && log('dns: caches synced, answering'));
  await new Promise<void>((resolve) => {
    const stop = () => {
      opts.signal?.removeEventListener('abort', stop);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    if (opts.signal?.aborted) return resolve();
    opts.signal?.addEventListener('abort', stop, { once: true });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await dns.close();
  log('dns: stopped');
}

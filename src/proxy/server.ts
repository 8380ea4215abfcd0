/**
 * The proxy as a running program, wired as kube-proxy is (cmd/kube-proxy, pkg/proxy/config):
 *
 *   Service / EndpointSlice / Node informers ─▶ change trackers (ProxyState) ─▶ BoundedFrequencyRunner
 *        ─▶ backend sync (iptables-restore | nft -f | userspace listeners) ─▶ UDP conntrack cleanup
 *
 * - Informer handlers only record changes and ask the runner for a sync; the runner merges
 *   requests (minSyncPeriod), resyncs every syncPeriod and retries failures.
 * - Nothing is programmed before the Service, EndpointSlice and Node lists have all synced.
 * - A failed sync makes the next one full (the runner's rule), and the conntrack cleanup and
 *   programming-latency samples of the failed sync are carried to the next successful one.
 * - kube-proxy's log lines go to the injected logger (klog format on stderr by default), its
 *   metrics and health endpoints to the metrics address.
 *
 * The proxy is a plain client: `client` may be the in-process client of `svcnet up` or an
 * HttpClient for any API server.
 */
import { SharedInformerFactory } from '../client/informer.js';
import type { Client } from '../client/types.js';
import { R } from '../client/types.js';
import { type CommandRunner, hostRunner } from '../cluster/netns.js';
import { IptablesExecutor } from './backends/iptables/executor.js';
import { IptablesProxier } from './backends/iptables/proxier.js';
import { NftExecutor, NftProxier } from './backends/nftables/executor.js';
import { hostSpawner, NftSession, type Spawner } from './backends/nftables/session.js';
import { LoopbackAddresses } from './backends/userspace/addresses.js';
import { UserspaceProxier } from './backends/userspace/proxier.js';
import { isSchedulerName, type SchedulerName } from './backends/userspace/schedulers.js';
import { clearConntrack, conntrackCommands } from './conntrack.js';
import { createKlog, type ProxyLogger } from './log.js';
import { type MetricsServer, ProxyHealth, ProxyMetrics, type RuleCounts, startMetricsServer } from './metrics.js';
import type { EndpointSliceLike, ServiceLike } from './model.js';
import { PROXY_MODES, type ProxyMode } from './modes.js';
import { BoundedFrequencyRunner, type SyncRequest, type Timers } from './runner.js';
import { ProxyState } from './tracker.js';

export { PROXY_MODES, type ProxyMode };

export interface StartProxyOptions {
  /** This node's name (`--hostname-override`): decides which endpoints are local. */
  nodeName: string;
  mode: ProxyMode;
  /** iptables mode: the nf_tables binaries (default) or the legacy xtables ones. */
  iptablesBackend?: 'nft' | 'legacy';
  /** The cluster's pod CIDR: traffic to Services from outside it is masqueraded. '' disables that. */
  clusterCIDR: string;
  /** Service CIDRs (nftables mode drops traffic to unallocated addresses in them). */
  serviceCIDRs?: readonly string[];
  /** This node's IPs; default: the Node object's InternalIP addresses. */
  nodeIPs?: readonly string[];
  /** Addresses accepting NodePort traffic; empty/absent = every local address. */
  nodePortAddresses?: readonly string[];
  /** Minimum time between syncs, ms (kube-proxy's minSyncPeriod; its default is 1 s). */
  minSyncPeriodMs: number;
  /** Periodic full resync, ms (kube-proxy's syncPeriod; default 30 s). */
  syncPeriodMs: number;
  /** `host:port` for /metrics, /healthz, /livez (port 0 picks one); absent = no server. */
  metricsAddress?: string;
  /** Userspace mode: scheduler for Services without the `svcnet.io/ipvs-scheduler` annotation. Default rr. */
  scheduler?: SchedulerName;
  /** Userspace mode: UDP session idle timeout, ms. */
  udpIdleTimeoutMs?: number;
  /** Runs iptables-restore, nft, ip and conntrack (in the namespace the proxy programs). Default: the host's. */
  runner?: CommandRunner;
  /**
   * nftables mode: starts the long-lived `nft -i` that small transactions go through, in the same
   * namespace as `runner`. Default: the host's when `runner` is not given; none (every
   * transaction its own `nft -f`) when only `runner` is.
   */
  spawner?: Spawner;
  /** Default: klog lines on stderr. */
  log?: ProxyLogger;
  /** Told about every sync attempt (tests, benchmarks, `svcnet up`'s readiness). */
  onSync?: (report: SyncReport) => void;
  timers?: Timers;
}

/** One sync attempt, as {@link StartProxyOptions.onSync} sees it. */
export interface SyncReport {
  request: SyncRequest;
  /** Wall time of the whole sync, ms. */
  durationMs: number;
  /** Time generating rules / state in the proxy itself, ms. */
  generateMs: number;
  /** Time in iptables-restore / nft / socket setup, ms. */
  applyMs: number;
  counts: RuleCounts;
  error?: unknown;
}

/** A running proxy. */
export interface RunningProxy {
  readonly mode: ProxyMode;
  readonly state: ProxyState;
  readonly metrics: ProxyMetrics;
  readonly health: ProxyHealth;
  /** The bound metrics address, when serving. */
  readonly metricsAddress: string | undefined;
  /** The userspace backend (userspace mode only), for inspection. */
  readonly userspace: UserspaceProxier | undefined;
  /** Resolves after the first successful sync. */
  readonly firstSync: Promise<void>;
  /** Asks for a sync now (subject to minSyncPeriod). */
  syncNow(): void;
  /** Stops informers, runner and servers (rules stay in the kernel, as kube-proxy leaves them; userspace listeners and addresses go). */
  stop(): Promise<void>;
}

interface Backend {
  /** NAT-based modes leave UDP conntrack entries behind; the userspace mode has none. */
  readonly usesConntrack: boolean;
  sync(
    request: SyncRequest,
    state: ProxyState,
    changes: ReturnType<ProxyState['apply']>,
  ): Promise<Omit<SyncReport, 'request' | 'durationMs'>>;
  close(): Promise<void>;
}

function makeBackend(
  opts: StartProxyOptions,
  run: CommandRunner,
  log: ProxyLogger,
  nodeIPs: readonly string[],
): { backend: Backend; userspace?: UserspaceProxier } {
  const nodePortAddresses = opts.nodePortAddresses ?? [];
  switch (opts.mode) {
    case 'iptables': {
      const proxier = new IptablesProxier(new IptablesExecutor({ run, legacy: opts.iptablesBackend === 'legacy' }), {
        clusterCIDR: opts.clusterCIDR,
        nodePortAddresses,
        ...(nodeIPs[0] ? { nodeIP: nodeIPs[0] } : {}),
      });
      return {
        backend: {
          usesConntrack: true,
          async sync(request, state, changes) {
            const s = await proxier.sync(request, state.services, state.endpoints, changes);
            return { generateMs: s.generateMs, applyMs: s.applyMs, counts: { iptables: { nat: s.natRules, filter: s.filterRules } } };
          },
          close: async () => {},
        },
      };
    }
    case 'nftables': {
      const spawner = opts.spawner ?? (opts.runner ? undefined : hostSpawner);
      const session = spawner && new NftSession(spawner);
      const proxier = new NftProxier(new NftExecutor(run, undefined, session), {
        clusterCIDR: opts.clusterCIDR,
        nodePortAddresses,
        ...(opts.serviceCIDRs ? { serviceCIDRs: opts.serviceCIDRs } : {}),
      });
      return {
        backend: {
          usesConntrack: true,
          async sync(request, state, changes) {
            const s = await proxier.sync(request, state.services, state.endpoints, changes);
            return {
              generateMs: s.generateMs,
              applyMs: s.applyMs,
              counts: { nftables: { chains: s.chains, rules: s.rules, elements: s.elements } },
            };
          },
          close: async () => session?.close(),
        },
      };
    }
    case 'userspace': {
      const proxier = new UserspaceProxier({
        defaultScheduler: opts.scheduler ?? 'rr',
        addresses: new LoopbackAddresses(run),
        nodePortAddresses,
        ...(opts.udpIdleTimeoutMs !== undefined ? { udpIdleTimeoutMs: opts.udpIdleTimeoutMs } : {}),
        log,
      });
      return {
        userspace: proxier,
        backend: {
          usesConntrack: false,
          async sync(request, state) {
            const s = await proxier.sync(request, state.services, state.endpoints);
            return { generateMs: s.generateMs, applyMs: s.applyMs, counts: {} };
          },
          close: () => proxier.close(),
        },
      };
    }
  }
}

interface NodeLike {
  metadata: { name?: string };
  status?: { addresses?: Array<{ type: string; address: string }> };
}

/** The Node's InternalIP addresses (then ExternalIP), as kube-proxy detects its node IPs. */
export function nodeAddresses(node: NodeLike | undefined): string[] {
  const addrs = node?.status?.addresses ?? [];
  const internal = addrs.filter((a) => a.type === 'InternalIP').map((a) => a.address);
  return internal.length ? internal : addrs.filter((a) => a.type === 'ExternalIP').map((a) => a.address);
}

const PROXIER_NAMES: Record<ProxyMode, string> = { iptables: 'iptables', nftables: 'nftables', userspace: 'userspace' };

/**
 * Starts the proxy: informers, runner, backend and (optionally) the metrics server. Resolves once
 * everything is started; the first sync happens after the initial lists are in ({@link RunningProxy.firstSync}).
 */
export async function startProxy(client: Client, opts: StartProxyOptions): Promise<RunningProxy> {
  if (!(PROXY_MODES as readonly string[]).includes(opts.mode))
    throw new Error(`invalid proxy mode "${opts.mode}": must be one of ${PROXY_MODES.join(', ')}`);
  if (opts.scheduler !== undefined && !isSchedulerName(opts.scheduler)) throw new Error(`invalid IPVS scheduler "${opts.scheduler}"`);
  const log = opts.log ?? createKlog({ defaultSource: 'proxier.go:1' });
  const run = opts.runner ?? hostRunner;
  const metrics = new ProxyMetrics();
  const health = new ProxyHealth(2 * opts.syncPeriodMs);
  const state = new ProxyState(opts.nodeName, log);

  log.info(`Using ${PROXIER_NAMES[opts.mode]} Proxier.`, {}, 'server_others.go:140');
  if (opts.mode === 'iptables') log.info('Using iptables backend', { backend: opts.iptablesBackend ?? 'nft' }, 'server_others.go:141');
  if (opts.mode === 'userspace') log.info('Using IPVS scheduler by default', { scheduler: opts.scheduler ?? 'rr' }, 'server_others.go:142');

  const factory = new SharedInformerFactory(client, {
    onError: (err) => log.error('Watch failed, retrying', { err: String(err) }, 'reflector.go:147'),
  });
  const services = factory.forResource<ServiceLike & { metadata: { resourceVersion?: string } }>(R.services);
  const slices = factory.forResource<EndpointSliceLike & { metadata: { resourceVersion?: string } }>(R.endpointslices);
  const nodes = factory.forResource<NodeLike>(R.nodes);

  let nodeIPs: readonly string[] = opts.nodeIPs ?? [];
  let backend: Backend | undefined;
  let userspace: UserspaceProxier | undefined;
  // Work of failed syncs, done by the next successful one.
  let pendingConntrack: string[][] = [];
  let pendingTriggers: number[] = [];
  let resolveFirst!: () => void;
  const firstSync = new Promise<void>((resolve) => {
    resolveFirst = resolve;
  });

  const sync = async (request: SyncRequest): Promise<void> => {
    const t0 = performance.now();
    metrics.serviceChangesPending.set(state.serviceChanges.pendingChanges().size);
    metrics.endpointChangesPending.set(state.endpointsChanges.pendingChanges().size);
    const changes = state.apply();
    for (const times of changes.triggerTimes.values()) pendingTriggers.push(...times);
    if (backend!.usesConntrack) pendingConntrack.push(...conntrackCommands(changes, state.services));
    let result: Awaited<ReturnType<Backend['sync']>>;
    try {
      result = await backend!.sync(request, state, changes);
    } catch (error) {
      if (opts.mode === 'iptables') {
        metrics.restoreFailures.inc();
        if (!request.full) metrics.partialRestoreFailures.inc();
      }
      log.error('Failed to sync proxy rules; the next sync will be full', { err: String(error) }, 'proxier.go:1495');
      opts.onSync?.({ request, durationMs: performance.now() - t0, generateMs: 0, applyMs: 0, counts: {}, error });
      throw error;
    }
    const durationMs = performance.now() - t0;
    metrics.observeSync(durationMs / 1000, request.full, result.counts);
    health.updated();
    const now = Date.now();
    for (const t of pendingTriggers) metrics.networkProgramming.observe(Math.max(0, now - t) / 1000);
    pendingTriggers = [];
    const conntrack = pendingConntrack;
    pendingConntrack = [];
    if (conntrack.length) await clearConntrack(run, conntrack, log);
    log.info('SyncProxyRules complete', { elapsed: `${durationMs.toFixed(3)}ms`, full: request.full }, 'proxier.go:800');
    opts.onSync?.({ request, durationMs, ...result });
    resolveFirst();
  };

  const runner = new BoundedFrequencyRunner(sync, {
    minIntervalMs: opts.minSyncPeriodMs,
    maxIntervalMs: opts.syncPeriodMs,
    retryIntervalMs: Math.max(opts.minSyncPeriodMs, 1000),
    ...(opts.timers ? { timers: opts.timers } : {}),
  });
  const queue = (serviceChange: boolean) => {
    (serviceChange ? metrics.serviceChangesTotal : metrics.endpointChangesTotal).inc();
    metrics.lastQueuedTimestamp.set(Date.now() / 1000);
    health.queued();
    runner.run();
  };

  services.addEventHandler({
    onAdd: (svc) => state.onService(undefined, svc) && queue(true),
    onUpdate: (old, svc) => state.onService(old, svc) && queue(true),
    onDelete: (svc) => state.onService(svc, undefined) && queue(true),
  });
  slices.addEventHandler({
    onAdd: (slice) => state.onEndpointSlice(slice) && queue(false),
    onUpdate: (_old, slice) => state.onEndpointSlice(slice) && queue(false),
    onDelete: (slice) => state.onEndpointSlice(slice, true) && queue(false),
  });
  const onNode = (node: NodeLike) => {
    if (node.metadata.name !== opts.nodeName || opts.nodeIPs) return;
    const ips = nodeAddresses(node);
    if (backend && ips.join(',') !== nodeIPs.join(',')) {
      log.warning(
        'NodeIPs changed for the node; restart the proxy to use them',
        { node: opts.nodeName, newIPs: ips.join(',') },
        'node.go:59',
      );
    }
  };
  nodes.addEventHandler({ onAdd: onNode, onUpdate: (_old, node) => onNode(node) });

  let metricsServer: MetricsServer | undefined;
  if (opts.metricsAddress) {
    metricsServer = await startMetricsServer(opts.metricsAddress, metrics, health, opts.mode);
    log.info('Serving metrics', { address: metricsServer.address }, 'server.go:259');
  }

  const abort = new AbortController();
  for (const what of ['service', 'endpoint slice', 'node']) log.info(`Starting ${what} config controller`, {}, 'config.go:97');
  factory.start();
  void factory.waitForCacheSync(abort.signal).then((ok) => {
    if (!ok || abort.signal.aborted) return;
    for (const what of ['service', 'endpoint slice', 'node'])
      log.info(`Caches are synced for ${what} config`, {}, 'shared_informer.go:318');
    if (!opts.nodeIPs) {
      nodeIPs = nodeAddresses(nodes.get(opts.nodeName));
      if (nodeIPs.length === 0) {
        log.info("Can't determine this node's IP, assuming 127.0.0.1", { node: opts.nodeName }, 'server.go:990');
      } else {
        log.info('Successfully retrieved node IP(s)', { IPs: nodeIPs.join(',') }, 'server.go:1000');
      }
    }
    ({ backend, userspace } = makeBackend(opts, run, log, nodeIPs));
    handle.userspace = userspace;
    runner.markSynced();
  });

  const handle: RunningProxy & { userspace: UserspaceProxier | undefined } = {
    mode: opts.mode,
    state,
    metrics,
    health,
    metricsAddress: metricsServer?.address,
    userspace: undefined,
    firstSync,
    syncNow: () => runner.run(),
    async stop() {
      abort.abort();
      factory.stop();
      runner.stop();
      await runner.idle();
      await backend?.close();
      await metricsServer?.close();
    },
  };
  return handle;
}

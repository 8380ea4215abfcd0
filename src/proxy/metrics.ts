/**
 * kube-proxy's Prometheus metrics (pkg/proxy/metrics) and its health endpoints, served on the
 * metrics address (kube-proxy's --metrics-bind-address, default 127.0.0.1:10249):
 *
 * - `/metrics` — the `kubeproxy_*` families below, with upstream's names, types and buckets;
 * - `/healthz` — as kube-proxy's proxier health server: 200 with `{"lastUpdated": …, "currentTime": …}`
 *   while rules are being kept up to date, 503 when a queued change has waited longer than the
 *   health timeout (twice the sync period, as kube-proxy) or no sync has happened yet;
 * - `/livez` — the same check, but a proxy that has not synced yet is alive;
 * - `/proxyMode` — the mode in plain text, as kube-proxy answers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** ExponentialBuckets(0.001, 2, 15): 1 ms … 16 s, upstream's sync-duration buckets. */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

/** Upstream's network-programming buckets: 0.25 s steps, then 1 s to 1 min, then 5 s, then 30 s. */
const PROGRAMMING_BUCKETS = [
  0.25,
  0.5,
  ...Array.from({ length: 59 }, (_, i) => 1 + i),
  ...Array.from({ length: 12 }, (_, i) => 60 + 5 * i),
  ...Array.from({ length: 7 }, (_, i) => 120 + 30 * i),
];

/** Rule counts after a sync: iptables per table, nftables per object kind. */
export type RuleCounts = { iptables?: Record<string, number>; nftables?: Record<string, number> };

/** The proxy's metric families in one registry (one per proxy, so several proxies can share a process in tests). */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly syncDuration: Histogram;
  readonly syncFullDuration: Histogram;
  readonly syncPartialDuration: Histogram;
  readonly lastSyncTimestamp: Gauge;
  readonly lastQueuedTimestamp: Gauge;
  readonly networkProgramming: Histogram;
  readonly iptablesTotal: Gauge;
  readonly nftablesObjects: Gauge;
  readonly restoreFailures: Counter;
  readonly partialRestoreFailures: Counter;
  readonly serviceChangesPending: Gauge;
  readonly serviceChangesTotal: Counter;
  readonly endpointChangesPending: Gauge;
  readonly endpointChangesTotal: Counter;

  constructor() {
    const registers = [this.registry];
    const histogram = (name: string, help: string, buckets = SYNC_BUCKETS) =>
      new Histogram({ name: `kubeproxy_${name}`, help, buckets, registers });
    this.syncDuration = histogram('sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds');
    this.syncFullDuration = histogram('sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs');
    this.syncPartialDuration = histogram(
      'sync_partial_proxy_rules_duration_seconds',
      'SyncProxyRules latency in seconds for partial resyncs',
    );
    this.networkProgramming = histogram(
      'network_programming_duration_seconds',
      'In Cluster Network Programming Latency in seconds',
      PROGRAMMING_BUCKETS,
    );
    this.lastSyncTimestamp = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      help: 'The last time proxy rules were successfully synced',
      registers,
    });
    this.lastQueuedTimestamp = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      help: 'The last time a sync of proxy rules was queued',
      registers,
    });
    this.iptablesTotal = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_iptables_total',
      help: 'Total number of iptables rules owned by kube-proxy',
      labelNames: ['table'],
      registers,
    });
    this.nftablesObjects = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_nftables_objects',
      help: 'Number of nftables chains, rules and map elements owned by the proxy (svcnet)',
      labelNames: ['kind'],
      registers,
    });
    this.restoreFailures = new Counter({
      name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
      help: 'Cumulative proxy iptables restore failures',
      registers,
    });
    this.partialRestoreFailures = new Counter({
      name: 'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
      help: 'Cumulative proxy iptables partial restore failures',
      registers,
    });
    this.serviceChangesPending = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_service_changes_pending',
      help: 'Pending proxy rules Service changes',
      registers,
    });
    this.serviceChangesTotal = new Counter({
      name: 'kubeproxy_sync_proxy_rules_service_changes_total',
      help: 'Cumulative proxy rules Service changes',
      registers,
    });
    this.endpointChangesPending = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
      help: 'Pending proxy rules Endpoint changes',
      registers,
    });
    this.endpointChangesTotal = new Counter({
      name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      help: 'Cumulative proxy rules Endpoint changes',
      registers,
    });
  }

  /** Records a successful sync. */
  observeSync(seconds: number, full: boolean, counts: RuleCounts, nowMs = Date.now()): void {
    this.syncDuration.observe(seconds);
    (full ? this.syncFullDuration : this.syncPartialDuration).observe(seconds);
    this.lastSyncTimestamp.set(nowMs / 1000);
    for (const [table, n] of Object.entries(counts.iptables ?? {})) this.iptablesTotal.set({ table }, n);
    for (const [kind, n] of Object.entries(counts.nftables ?? {})) this.nftablesObjects.set({ kind }, n);
  }
}

/** kube-proxy's proxier health: when updates were queued and when the rules were last synced. */
export class ProxyHealth {
  #lastUpdated: number | undefined;
  #oldestPending: number | undefined;

  constructor(
    /** A queued change older than this makes the proxy unhealthy (kube-proxy: 2 × syncPeriod). */
    readonly healthTimeoutMs: number,
    readonly now: () => number = Date.now,
  ) {}

  /** A change is waiting to be synced. */
  queued(): void {
    this.#oldestPending ??= this.now();
  }

  /** A sync succeeded: everything queued before it is programmed. */
  updated(): void {
    this.#lastUpdated = this.now();
    this.#oldestPending = undefined;
  }

  get lastUpdated(): number | undefined {
    return this.#lastUpdated;
  }

  /** Healthy unless a queued change has waited past the timeout; before the first sync, only `livez` counts it healthy. */
  status(forLivez: boolean): { healthy: boolean; lastUpdated: number; currentTime: number } {
    const now = this.now();
    const stale = this.#oldestPending !== undefined && now - this.#oldestPending > this.healthTimeoutMs;
    const healthy = !stale && (forLivez || this.#lastUpdated !== undefined);
    return { healthy, lastUpdated: this.#lastUpdated ?? 0, currentTime: now };
  }
}

/** The metrics/health HTTP server. */
export interface MetricsServer {
  /** `host:port` really bound (port 0 resolved). */
  readonly address: string;
  close(): Promise<void>;
}

/** Serves /metrics, /healthz, /livez and /proxyMode on `address` (`host:port`). */
export async function startMetricsServer(
  address: string,
  metrics: ProxyMetrics,
  health: ProxyHealth,
  mode: string,
): Promise<MetricsServer> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(address.slice(i + 1));
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
    } else if (path === '/healthz' || path === '/livez') {
      const s = health.status(path === '/livez');
      const body = JSON.stringify({
        lastUpdated: new Date(s.lastUpdated).toISOString(),
        currentTime: new Date(s.currentTime).toISOString(),
      });
      res.writeHead(s.healthy ? 200 : 503, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
      res.end(body);
    } else if (path === '/proxyMode') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(mode);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.address}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

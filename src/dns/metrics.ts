/**
 * CoreDNS's metric names (prometheus, cache plugins) and its health/ready endpoints. Counters
 * are tallied in plain numbers on the query path and handed to prom-client at scrape time,
 * so a query costs a few integer increments rather than label hashing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, type Metric, Registry } from 'prom-client';

const TYPE_LABELS = new Set(['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT', 'HTTPS', 'ANY', 'DS', 'DNSKEY']);
const TYPE_NAMES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  43: 'DS',
  48: 'DNSKEY',
  65: 'HTTPS',
  255: 'ANY',
};

/** CoreDNS's `type` label: common types by name, the rest as "other". */
export function typeLabel(type: number | string): string {
  const name = typeof type === 'number' ? TYPE_NAMES[type] : type.toUpperCase();
  return name && TYPE_LABELS.has(name) ? name : 'other';
}

/** CoreDNS's buckets: prometheus.ExponentialBuckets(0.00025, 2, 16). */
const BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);

export class DnsMetrics {
  readonly registry = new Registry();
  private readonly requests = new Map<string, number>();
  private readonly responses = new Map<string, number>();
  private readonly durations = new Map<string, { buckets: Float64Array; sum: number; count: number }>();
  cacheHits = { success: 0, denial: 0 };
  cacheMisses = 0;

  constructor(server: string) {
    const flush = (map: Map<string, number>, counter: Counter, names: string[]) => {
      for (const [k, v] of map) {
        const values = k.split('\t');
        const labels: Record<string, string> = { server, zone: '.', view: '' };
        names.forEach((n, i) => {
          labels[n] = values[i];
        });
        counter.inc(labels, v);
      }
      map.clear();
    };
    const requests: Counter = new Counter({
      name: 'coredns_dns_requests_total',
      help: 'Counter of DNS requests made per zone, protocol and family.',
      labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'],
      registers: [this.registry],
      collect: () => flush(this.requests, requests, ['proto', 'family', 'type']),
    });
    const responses: Counter = new Counter({
      name: 'coredns_dns_responses_total',
      help: 'Counter of response status codes.',
      labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'],
      registers: [this.registry],
      collect: () => flush(this.responses, responses, ['rcode', 'plugin']),
    });
    const name = 'coredns_dns_request_duration_seconds';
    // A histogram kept in typed arrays (prom-client's hashes labels on every observation).
    const duration = {
      name,
      help: 'Histogram of the time (in seconds) each request took per zone.',
      get: async () => {
        const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
        for (const [type, h] of this.durations) {
          const labels = { server, zone: '.', view: '', type };
          let cumulative = 0;
          BUCKETS.forEach((le, i) => {
            cumulative += h.buckets[i];
            values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
          });
          values.push({ labels: { ...labels, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` });
          values.push({ labels, value: h.sum, metricName: `${name}_sum` });
          values.push({ labels, value: h.count, metricName: `${name}_count` });
        }
        return { name, help: duration.help, type: 'histogram', values, aggregator: 'sum' };
      },
    };
    this.registry.registerMetric(duration as unknown as Metric);
    let flushedHits = { success: 0, denial: 0 };
    const hits: Counter = new Counter({
      name: 'coredns_cache_hits_total',
      help: 'The count of cache hits.',
      labelNames: ['server', 'type', 'zones', 'view'],
      registers: [this.registry],
      collect: () => {
        for (const t of ['success', 'denial'] as const) {
          hits.inc({ server, type: t, zones: '.', view: '' }, this.cacheHits[t] - flushedHits[t]);
        }
        flushedHits = { ...this.cacheHits };
      },
    });
    let flushedMisses = 0;
    const misses: Counter = new Counter({
      name: 'coredns_cache_misses_total',
      help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.',
      labelNames: ['server', 'zones', 'view'],
      registers: [this.registry],
      collect: () => {
        misses.inc({ server, zones: '.', view: '' }, this.cacheMisses - flushedMisses);
        flushedMisses = this.cacheMisses;
      },
    });
  }

  /** One answered query. */
  observe(proto: 'udp' | 'tcp', family: 1 | 2, type: string, rcode: string, plugin: string, seconds: number): void {
    const rk = `${proto}\t${family}\t${type}`;
    this.requests.set(rk, (this.requests.get(rk) ?? 0) + 1);
    const sk = `${rcode}\t${plugin}`;
    this.responses.set(sk, (this.responses.get(sk) ?? 0) + 1);
    let h = this.durations.get(type);
    if (!h) {
      h = { buckets: new Float64Array(BUCKETS.length), sum: 0, count: 0 };
      this.durations.set(type, h);
    }
    h.sum += seconds;
    h.count++;
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= BUCKETS[i]) {
        h.buckets[i]++;
        break;
      }
    }
  }
}

/**
 * `/metrics` (prometheus plugin), `/health` ("OK", health plugin) and `/ready` (200 once the
 * informers have synced, ready plugin) on one port.
 */
export async function startMetricsServer(
  metrics: DnsMetrics,
  isReady: () => boolean,
  host: string,
  port: number,
): Promise<{ close(): Promise<void>; port: number }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
          res.end(text);
        },
        (err) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
    } else if (path === '/health') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('OK');
    } else if (path === '/ready') {
      const ready = isReady();
      res.writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain' });
      res.end(ready ? 'OK' : 'kubernetes');
    } else {
      res.writeHead(404);
      res.end('404 page not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

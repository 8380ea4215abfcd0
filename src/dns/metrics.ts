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

const PROTOS = ['udp', 'tcp'] as const;
/** Every `type` label value, so a type maps to a small integer once. */
const TYPE_SLOTS = [...TYPE_LABELS, 'other'];
const TYPE_INDEX = new Map(TYPE_SLOTS.map((t, i) => [t, i]));
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** The slot of a `type` label (see `typeLabel`) in the per-type counters. */
export function typeSlot(type: number | string): number {
  return TYPE_INDEX.get(typeLabel(type)) as number;
}

/** An rcode's name as CoreDNS labels it (numeric for the rare ones). */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? String(rcode);
}

/**
 * CoreDNS's query metrics. The query path bumps slots of typed arrays (`count`); labels are
 * attached only at scrape time, so a query costs no string building or hashing.
 */
export class DnsMetrics {
  readonly registry = new Registry();
  /** Requests by proto × family × type: see `requestSlot`. */
  private readonly requests = new Float64Array(PROTOS.length * 2 * TYPE_SLOTS.length);
  /** Responses by (rcode, plugin) pair: see `responseSlot`. */
  private responses = new Float64Array(16);
  private readonly responseLabels: { rcode: string; plugin: string }[] = [];
  private readonly responseSlots = new Map<string, number>();
  /** Per type: BUCKETS.length bucket counts, then sum, then count. */
  private readonly durations = new Float64Array(TYPE_SLOTS.length * (BUCKETS.length + 2));
  cacheHits = { success: 0, denial: 0 };
  cacheMisses = 0;

  constructor(server: string) {
    const flushedRequests = new Float64Array(this.requests.length);
    const requests: Counter = new Counter({
      name: 'coredns_dns_requests_total',
      help: 'Counter of DNS requests made per zone, protocol and family.',
      labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'],
      registers: [this.registry],
      collect: () => {
        for (let slot = 0; slot < this.requests.length; slot++) {
          const delta = this.requests[slot] - flushedRequests[slot];
          if (delta === 0) continue;
          flushedRequests[slot] = this.requests[slot];
          const type = TYPE_SLOTS[slot % TYPE_SLOTS.length];
          const rest = Math.floor(slot / TYPE_SLOTS.length);
          const labels = { server, zone: '.', view: '', proto: PROTOS[rest >> 1], family: String((rest & 1) + 1), type };
          requests.inc(labels, delta);
        }
      },
    });
    let flushedResponses = new Float64Array(this.responses.length);
    const responses: Counter = new Counter({
      name: 'coredns_dns_responses_total',
      help: 'Counter of response status codes.',
      labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'],
      registers: [this.registry],
      collect: () => {
        if (flushedResponses.length < this.responses.length) {
          const grown = new Float64Array(this.responses.length);
          grown.set(flushedResponses);
          flushedResponses = grown;
        }
        for (let slot = 0; slot < this.responseLabels.length; slot++) {
          const delta = this.responses[slot] - flushedResponses[slot];
          if (delta === 0) continue;
          flushedResponses[slot] = this.responses[slot];
          responses.inc({ server, zone: '.', view: '', ...this.responseLabels[slot] }, delta);
        }
      },
    });
    const name = 'coredns_dns_request_duration_seconds';
    // A histogram kept in a typed array (prom-client's hashes labels on every observation).
    const stride = BUCKETS.length + 2;
    const duration = {
      name,
      help: 'Histogram of the time (in seconds) each request took per zone.',
      get: async () => {
        const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
        for (let t = 0; t < TYPE_SLOTS.length; t++) {
          const base = t * stride;
          const count = this.durations[base + stride - 1];
          if (count === 0) continue;
          const labels = { server, zone: '.', view: '', type: TYPE_SLOTS[t] };
          let cumulative = 0;
          BUCKETS.forEach((le, i) => {
            cumulative += this.durations[base + i];
            values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
          });
          values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${name}_bucket` });
          values.push({ labels, value: this.durations[base + stride - 2], metricName: `${name}_sum` });
          values.push({ labels, value: count, metricName: `${name}_count` });
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

  /** The first request slot of a (proto, family); add `typeSlot(type)` for the type. */
  requestBase(proto: 'udp' | 'tcp', family: 1 | 2): number {
    return ((proto === 'tcp' ? 2 : 0) + family - 1) * TYPE_SLOTS.length;
  }

  /** The slot of an (rcode, plugin) pair, created on first use. */
  responseSlot(rcode: string, plugin: string): number {
    const key = `${rcode}\t${plugin}`;
    let slot = this.responseSlots.get(key);
    if (slot === undefined) {
      slot = this.responseLabels.length;
      this.responseLabels.push({ rcode, plugin });
      this.responseSlots.set(key, slot);
      if (slot >= this.responses.length) {
        const grown = new Float64Array(this.responses.length * 2);
        grown.set(this.responses);
        this.responses = grown;
      }
    }
    return slot;
  }

  /** One answered query, by precomputed slots: the query path's form. */
  count(requestSlot: number, responseSlot: number, type: number, seconds: number): void {
    this.requests[requestSlot]++;
    this.responses[responseSlot]++;
    const base = type * (BUCKETS.length + 2);
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
    if (i < BUCKETS.length) this.durations[base + i]++;
    this.durations[base + BUCKETS.length] += seconds;
    this.durations[base + BUCKETS.length + 1]++;
  }

  /** One answered query, by label values. */
  observe(proto: 'udp' | 'tcp', family: 1 | 2, type: string, rcode: string, plugin: string, seconds: number): void {
    const t = typeSlot(type);
    this.count(this.requestBase(proto, family) + t, this.responseSlot(rcode, plugin), t, seconds);
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

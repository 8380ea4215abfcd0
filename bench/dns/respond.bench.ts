// The JavaScript cost of one cached query, without sockets: how much of a query's time is ours
// rather than Node's UDP path (compare with dns.bench.ts's CPU µs/query).
//   node --import tsx bench/dns/respond.bench.ts
import type { Answer } from 'dns-packet';
import packet from 'dns-packet';
import { ClusterIndex } from '../../src/dns/index.js';
import { DnsMetrics } from '../../src/dns/metrics.js';
import { CachePlugin, chain, KubernetesPlugin } from '../../src/dns/plugins.js';
import { DnsServer } from '../../src/dns/server.js';

const SERVICES = 1000;
const index = new ClusterIndex();
for (let i = 0; i < SERVICES; i++) {
  index.upsertService({ metadata: { name: `svc-${i}`, namespace: `ns-${i % 50}` }, spec: { clusterIP: `10.96.${i >> 8}.${i & 255}` } });
}
index.markSynced();
const metrics = new DnsMetrics('dns://bench');
const handler = chain([
  new CachePlugin({ capacity: 10_000, maxTtl: 3600, stats: metrics }),
  new KubernetesPlugin(index, { domain: 'cluster.local', ttl: 30, podMode: 'insecure' }),
]);
const server = new DnsServer({ host: '127.0.0.1', port: 0, handler, data: index, metrics });
const queries = Array.from({ length: SERVICES }, (_, i) =>
  packet.encode({
    type: 'query',
    id: i,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name: `svc-${i}.ns-${i % 50}.svc.cluster.local`, type: 'A' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as unknown as Answer],
  }),
);
for (const q of queries) await server.respond(q, 'udp', 1);

const N = 2_000_000;
for (let round = 0; round < 3; round++) {
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < N; i++) bytes += (server.respond(queries[i % SERVICES], 'udp', 1) as Buffer).length;
  const elapsed = performance.now() - started;
  console.log(`${((elapsed * 1000) / N).toFixed(3)} µs per cached query (${bytes} bytes)`);
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClusterIndex, type RunningDnsServer, startDnsServer } from '../../src/dns/index.js';
import { dig, freePort, startFakeUpstream } from './helpers.js';

const SOA_PREFIX = 'cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local.';

function headlessSlice(name: string, service: string, ips: string[]) {
  return {
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
  };
}

// Every dig test runs against both UDP paths: the native batch one and node:dgram.
for (const udp of ['batch', 'dgram'] as const)
  describe(`DNS server over UDP (${udp}) and TCP, queried with dig`, () => {
    const index = new ClusterIndex();
    let server: RunningDnsServer;
    let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
    let port: number;

    before(async () => {
      upstream = await startFakeUpstream();
      index.upsertService({
        metadata: { name: 'webui-svc', namespace: 'default' },
        spec: { clusterIP: '10.100.100.100', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
      });
      index.upsertService({
        metadata: { name: 'db', namespace: 'default' },
        spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] },
      });
      index.upsertEndpointSlice(headlessSlice('db-a', 'db', ['10.244.1.1', '10.244.1.2', '10.244.1.3']));
      index.upsertService({ metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None' } });
      index.upsertEndpointSlice(
        headlessSlice(
          'big-a',
          'big',
          Array.from({ length: 100 }, (_, i) => `10.244.9.${i + 1}`),
        ),
      );
      index.upsertService({
        metadata: { name: 'ext', namespace: 'other' },
        spec: { type: 'ExternalName', externalName: 'www.example.test' },
      });
      index.markSynced();
      server = await startDnsServer({
        listen: { host: '127.0.0.1', port: 0 },
        index,
        config: { upstreams: [`127.0.0.1:${upstream.port}`] },
        metricsPort: 0,
        udp,
      });
      assert.equal(server.udpPath.path, udp);
      port = server.address().port;
    });
    after(async () => {
      await server.close();
      await upstream.close();
    });

    test('ClusterIP A record, over UDP and TCP, any case', async () => {
      const want = ['webui-svc.default.svc.cluster.local. 30 IN A 10.100.100.100'];
      for (const args of [['+notcp'], ['+tcp'], ['+noedns'], ['+bufsize=4096']]) {
        const r = await dig(port, [...args, 'webui-svc.default.svc.cluster.local', 'A']);
        assert.equal(r.status, 'NOERROR');
        assert.ok(r.flags.includes('aa'));
        assert.deepEqual(r.records, want);
      }
      // The owner name is compressed to point at the question, so it comes back as spelled.
      const upper = await dig(port, ['WEBUI-svc.Default.svc.CLUSTER.local', 'A']);
      assert.deepEqual(upper.records, ['WEBUI-svc.Default.svc.CLUSTER.local. 30 IN A 10.100.100.100']);
    });

    test('EDNS: OPT echoed only when the client sent one', async () => {
      assert.equal((await dig(port, ['+bufsize=4096', 'webui-svc.default.svc.cluster.local'])).udpSize, 1232);
      assert.equal((await dig(port, ['+noedns', 'webui-svc.default.svc.cluster.local'])).udpSize, undefined);
    });

    test('SRV, PTR, TXT', async () => {
      assert.deepEqual((await dig(port, ['_http._tcp.webui-svc.default.svc.cluster.local', 'SRV'])).records, [
        '_http._tcp.webui-svc.default.svc.cluster.local. 30 IN SRV 0 100 80 webui-svc.default.svc.cluster.local.',
      ]);
      assert.deepEqual((await dig(port, ['-x', '10.100.100.100'])).records, [
        '100.100.100.10.in-addr.arpa. 30 IN PTR webui-svc.default.svc.cluster.local.',
      ]);
      assert.deepEqual((await dig(port, ['-x', '10.244.1.2'])).records, [
        '2.1.244.10.in-addr.arpa. 30 IN PTR 10-244-1-2.db.default.svc.cluster.local.',
      ]);
      assert.deepEqual((await dig(port, ['dns-version.cluster.local', 'TXT'])).records, [
        'dns-version.cluster.local. 28800 IN TXT "1.1.0"',
      ]);
    });

    test('NXDOMAIN and NODATA carry the SOA', async () => {
      const nx = await dig(port, ['nope.default.svc.cluster.local', 'A']);
      assert.equal(nx.status, 'NXDOMAIN');
      assert.equal(nx.records.length, 1);
      assert.ok(nx.records[0].startsWith(SOA_PREFIX), nx.records[0]);
      const nodata = await dig(port, ['webui-svc.default.svc.cluster.local', 'AAAA']);
      assert.equal(nodata.status, 'NOERROR');
      assert.equal(nodata.records.length, 1);
      assert.ok(nodata.records[0].startsWith(SOA_PREFIX));
    });

    test('a headless Service with 3 pods: A records change as the slice changes', async () => {
      const a = async () => (await dig(port, ['db.default.svc.cluster.local', 'A'])).records.sort();
      assert.deepEqual(await a(), [
        'db.default.svc.cluster.local. 30 IN A 10.244.1.1',
        'db.default.svc.cluster.local. 30 IN A 10.244.1.2',
        'db.default.svc.cluster.local. 30 IN A 10.244.1.3',
      ]);
      index.upsertEndpointSlice(headlessSlice('db-a', 'db', ['10.244.1.1', '10.244.1.3', '10.244.1.4']));
      assert.deepEqual(await a(), [
        'db.default.svc.cluster.local. 30 IN A 10.244.1.1',
        'db.default.svc.cluster.local. 30 IN A 10.244.1.3',
        'db.default.svc.cluster.local. 30 IN A 10.244.1.4',
      ]);
      index.upsertEndpointSlice(headlessSlice('db-a', 'db', ['10.244.1.1', '10.244.1.2', '10.244.1.3']));
    });

    test('a large headless answer is truncated over UDP and complete over TCP', async () => {
      const udp = await dig(port, ['+ignore', '+noedns', 'big.default.svc.cluster.local', 'A']);
      assert.ok(udp.flags.includes('tc'), udp.raw);
      assert.equal(udp.records.length, 0);
      // Without +ignore dig sees TC and retries over TCP by itself.
      const retried = await dig(port, ['big.default.svc.cluster.local', 'A']);
      assert.equal(retried.records.length, 100);
      assert.ok(!retried.flags.includes('tc'));
    });

    test('ExternalName: CNAME, and the target resolved through the upstream', async () => {
      assert.deepEqual((await dig(port, ['ext.other.svc.cluster.local', 'CNAME'])).records, [
        'ext.other.svc.cluster.local. 30 IN CNAME www.example.test.',
      ]);
      assert.deepEqual((await dig(port, ['ext.other.svc.cluster.local', 'A'])).records, [
        'ext.other.svc.cluster.local. 30 IN CNAME www.example.test.',
        'www.example.test. 300 IN A 192.0.2.1',
      ]);
    });

    test('names outside the zone are forwarded, and cached (positive and negative)', async () => {
      const before = upstream.queries.length;
      assert.deepEqual((await dig(port, ['host.example.test', 'A'])).records, ['host.example.test. 300 IN A 192.0.2.1']);
      const again = await dig(port, ['host.example.test', 'A']);
      assert.equal(again.records.length, 1);
      assert.equal((await dig(port, ['nx.example.test', 'A'])).status, 'NXDOMAIN');
      assert.equal((await dig(port, ['nx.example.test', 'A'])).status, 'NXDOMAIN');
      assert.deepEqual(upstream.queries.slice(before), ['host.example.test A', 'nx.example.test A']);
    });

    test('metrics, health and readiness', async () => {
      const base = `http://127.0.0.1:${server.metricsPort}`;
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /coredns_dns_requests_total\{server="[^"]+",zone="\.",view="",proto="udp",family="1",type="A"\} \d+/);
      assert.match(metrics, /coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN"[^}]*\} \d+/);
      assert.match(metrics, /coredns_dns_request_duration_seconds_bucket/);
      assert.match(metrics, /coredns_cache_hits_total\{[^}]*type="success"[^}]*\} [1-9]/);
      assert.match(metrics, /coredns_cache_misses_total/);
      assert.equal(await (await fetch(`${base}/health`)).text(), 'OK');
      assert.equal((await fetch(`${base}/ready`)).status, 200);
    });
  });

describe('DNS server edges', () => {
  test('SERVFAIL and not ready until the informers have synced', async () => {
    const index = new ClusterIndex();
    const server = await startDnsServer({ listen: { host: '127.0.0.1', port: 0 }, index, config: { upstreams: [] }, metricsPort: 0 });
    try {
      const port = server.address().port;
      assert.equal((await dig(port, ['kubernetes.default.svc.cluster.local'])).status, 'SERVFAIL');
      assert.equal((await fetch(`http://127.0.0.1:${server.metricsPort}/ready`)).status, 503);
      index.upsertService({ metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1' } });
      index.markSynced();
      assert.deepEqual((await dig(port, ['kubernetes.default.svc.cluster.local'])).records, [
        'kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1',
      ]);
      assert.equal((await fetch(`http://127.0.0.1:${server.metricsPort}/ready`)).status, 200);
    } finally {
      await server.close();
    }
  });

  test('an upstream that is the server itself is refused (loop)', async () => {
    const port = await freePort();
    const index = new ClusterIndex();
    index.markSynced();
    const server = await startDnsServer({ listen: { host: '127.0.0.1', port }, index, config: { upstreams: [`127.0.0.1:${port}`] } });
    try {
      assert.deepEqual(server.loops, [{ host: '127.0.0.1', port }]);
      assert.equal((await dig(port, ['example.test', 'A'])).status, 'SERVFAIL');
    } finally {
      await server.close();
    }
  });
});

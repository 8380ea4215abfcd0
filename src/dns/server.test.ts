import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Answer } from 'dns-packet';
import packet from 'dns-packet';
import { ClusterIndex } from './cluster-index.js';
import { DnsMetrics } from './metrics.js';
import { KubernetesPlugin, type Query, type Reply } from './plugins.js';
import { DnsServer } from './server.js';

function query(name: string, opts: { id?: number; type?: packet.RecordType; udpSize?: number; rd?: boolean } = {}): Buffer {
  return packet.encode({
    type: 'query',
    id: opts.id ?? 1,
    flags: opts.rd === false ? 0 : packet.RECURSION_DESIRED,
    questions: [{ name, type: opts.type ?? 'A', class: 'IN' }],
    additionals: opts.udpSize ? [{ type: 'OPT', name: '.', udpPayloadSize: opts.udpSize } as unknown as Answer] : [],
  });
}

async function ask(
  server: DnsServer,
  msg: Buffer,
  transport: 'udp' | 'tcp' = 'udp',
): Promise<packet.DecodedPacket & { flag_tc?: boolean; rcode?: string }> {
  const out = await server.respond(msg, transport);
  assert.ok(out, 'an answer');
  return packet.decode(out);
}

/** A chain that answers like the forward plugin, counting how often it is asked. */
function upstream(ttl: number, rcode: 'NOERROR' | 'NXDOMAIN' = 'NOERROR') {
  const asked: string[] = [];
  const handler = async (q: Query): Promise<Reply> => {
    asked.push(`${q.name} ${q.type}`);
    const soa: Answer = {
      name: 'example.test',
      type: 'SOA',
      ttl,
      data: { mname: 'ns.example.test', rname: 'h.example.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: ttl },
    };
    return {
      rcode,
      answers: rcode === 'NOERROR' ? [{ name: q.name, type: 'A', ttl, data: '192.0.2.1' }] : [],
      authority: rcode === 'NXDOMAIN' ? [soa] : [],
      additional: [],
      authoritative: false,
      plugin: 'forward',
    };
  };
  return { asked, handler };
}

/** The TTL of a section's first record. */
function firstTtl(rrs: Answer[] | undefined): number | undefined {
  return (rrs?.[0] as { ttl?: number } | undefined)?.ttl;
}

function synced(): ClusterIndex {
  const index = new ClusterIndex();
  index.markSynced();
  return index;
}

describe('replayed forwarded answers', () => {
  test('kept until their TTL runs out, with TTLs lowered as they age', async () => {
    let now = 1_000;
    const up = upstream(300);
    const server = new DnsServer({ host: '127.0.0.1', port: 0, handler: up.handler, data: synced(), now: () => now });
    const first = await ask(server, query('www.example.test', { id: 7 }));
    assert.equal(first.id, 7);
    assert.equal(firstTtl(first.answers), 300);
    now += 10_500;
    const second = await ask(server, query('WWW.Example.test', { id: 8 }));
    assert.equal(second.id, 8);
    assert.equal(second.questions?.[0].name, 'WWW.Example.test');
    assert.deepEqual(
      second.answers?.map((rr) => `${rr.name} ${(rr as { ttl: number }).ttl} ${rr.type} ${(rr as { data: string }).data}`),
      ['WWW.Example.test 290 A 192.0.2.1'],
    );
    assert.deepEqual(up.asked, ['www.example.test A']);
    now += 289_500; // 300 s after the answer was stored
    const third = await ask(server, query('www.example.test', { id: 9 }));
    assert.equal(firstTtl(third.answers), 300);
    assert.deepEqual(up.asked, ['www.example.test A', 'www.example.test A']);
  });

  test('negative answers are kept for the SOA minimum, and count as cache denials', async () => {
    let now = 0;
    const up = upstream(60, 'NXDOMAIN');
    const metrics = new DnsMetrics('dns://test');
    const server = new DnsServer({ host: '127.0.0.1', port: 0, handler: up.handler, data: synced(), metrics, now: () => now });
    assert.equal((await ask(server, query('nx.example.test'))).rcode, 'NXDOMAIN');
    now += 59_000;
    const again = await ask(server, query('nx.example.test'));
    assert.equal(again.rcode, 'NXDOMAIN');
    assert.equal(firstTtl(again.authorities), 1);
    assert.equal(up.asked.length, 1);
    assert.deepEqual(metrics.cacheHits, { success: 0, denial: 1 });
    now += 1_000;
    await ask(server, query('nx.example.test'));
    assert.equal(up.asked.length, 2);
  });

  test('the EDNS shape is part of the key; RD and CD are copied from each query', async () => {
    const up = upstream(300);
    const server = new DnsServer({ host: '127.0.0.1', port: 0, handler: up.handler, data: synced(), now: () => 0 });
    const plain = await ask(server, query('a.example.test'));
    const edns = await ask(server, query('a.example.test', { udpSize: 1232 }));
    assert.equal(plain.additionals?.length, 0);
    assert.equal(edns.additionals?.[0].type, 'OPT');
    assert.equal(up.asked.length, 2);
    const noRd = await ask(server, query('a.example.test', { rd: false }));
    assert.equal(noRd.flag_rd, false);
    assert.equal(up.asked.length, 2);
  });

  test('SERVFAIL is never kept', async () => {
    let calls = 0;
    const handler = async (): Promise<Reply> => {
      calls++;
      return { rcode: 'SERVFAIL', answers: [], authority: [], additional: [], authoritative: false, plugin: 'forward' };
    };
    const server = new DnsServer({ host: '127.0.0.1', port: 0, handler, data: synced() });
    await ask(server, query('down.example.test'));
    await ask(server, query('down.example.test'));
    assert.equal(calls, 2);
  });
});

describe('replayed cluster answers', () => {
  const big = (index: ClusterIndex, count: number) => {
    index.upsertService({ metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None' } });
    index.upsertEndpointSlice({
      metadata: { name: 'big-a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'big' } },
      addressType: 'IPv4',
      endpoints: Array.from({ length: count }, (_, i) => ({ addresses: [`10.244.9.${i + 1}`] })),
    });
  };

  test('one stored answer serves small and large UDP buffers (TC) and TCP', async () => {
    const index = new ClusterIndex();
    big(index, 60);
    index.markSynced();
    const plugin = new KubernetesPlugin(index, { domain: 'cluster.local', ttl: 30, podMode: 'insecure' });
    let calls = 0;
    const handler = (q: Query) => {
      calls++;
      return plugin.serve(q, async () => assert.fail('no fallthrough'));
    };
    const server = new DnsServer({ host: '127.0.0.1', port: 0, handler, data: index });
    const name = 'big.default.svc.cluster.local';
    assert.equal((await ask(server, query(name, { udpSize: 4096 }))).answers?.length, 60);
    const small = await ask(server, query(name, { udpSize: 512 }));
    assert.equal(small.flag_tc, true);
    assert.equal(small.answers?.length, 0);
    assert.equal((await ask(server, query(name, { udpSize: 1232 }), 'tcp')).answers?.length, 60);
    assert.equal(calls, 1);
    // A change to the cluster data makes the stored answer stale.
    big(index, 3);
    assert.equal((await ask(server, query(name, { udpSize: 512 }))).answers?.length, 3);
    assert.equal(calls, 2);
  });
});

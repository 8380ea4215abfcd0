import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import type { Answer } from 'dns-packet';
import packet from 'dns-packet';
import { ClusterIndex, chooseUdpPath, describeUdpPath, type RunningDnsServer, startDnsServer } from '../../src/dns/index.js';
import { dig, startFakeUpstream } from './helpers.js';

/** The question and expected answer of query `id`: cluster names, misses, forwarded and truncated ones. */
function expected(id: number): {
  name: string;
  udpSize?: number;
  check(reply: packet.DecodedPacket & { flag_tc?: boolean; rcode?: string }): void;
} {
  const kind = id % 5;
  // Mixed case: the reply must carry each query's own spelling, though one stored answer serves all.
  const svc = `svc-${id % 7}`;
  if (kind === 0 || kind === 1) {
    const name = id % 2 ? `${svc}.default.svc.cluster.local` : `${svc.toUpperCase()}.Default.svc.cluster.local`;
    return {
      name,
      check: (r) => {
        assert.equal(r.rcode, 'NOERROR');
        assert.deepEqual(
          r.answers?.map((a) => `${a.name} ${(a as { data: string }).data}`),
          [`${name} 10.96.0.${id % 7}`],
        );
      },
    };
  }
  if (kind === 2) {
    const name = `nope-${id % 3}.default.svc.cluster.local`;
    return { name, check: (r) => assert.equal(r.rcode, 'NXDOMAIN') };
  }
  if (kind === 3) {
    const name = `host-${id % 4}.example.test`;
    return {
      name,
      check: (r) =>
        assert.deepEqual(
          r.answers?.map((a) => `${a.name} ${(a as { data: string }).data}`),
          [`${name} 192.0.2.1`],
        ),
    };
  }
  // 60 endpoints do not fit a 512-byte buffer: TC, no records; in a 4096-byte one they do.
  const udpSize = id % 2 ? 512 : 4096;
  return {
    name: 'big.default.svc.cluster.local',
    udpSize,
    check: (r) => {
      assert.equal(r.flag_tc, udpSize === 512);
      assert.equal(r.answers?.length, udpSize === 512 ? 0 : 60);
    },
  };
}

function encode(id: number): Buffer {
  const { name, udpSize } = expected(id);
  return packet.encode({
    type: 'query',
    id,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name, type: 'A', class: 'IN' }],
    additionals: udpSize ? [{ type: 'OPT', name: '.', udpPayloadSize: udpSize } as unknown as Answer] : [],
  });
}

describe('batched UDP (native recvmmsg/sendmmsg)', () => {
  const index = new ClusterIndex();
  let server: RunningDnsServer;
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;

  before(async () => {
    upstream = await startFakeUpstream();
    for (let i = 0; i < 7; i++)
      index.upsertService({ metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { clusterIP: `10.96.0.${i}` } });
    index.upsertService({ metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None' } });
    index.upsertEndpointSlice({
      metadata: { name: 'big-a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'big' } },
      addressType: 'IPv4',
      endpoints: Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.244.9.${i + 1}`] })),
    });
    index.markSynced();
    server = await startDnsServer({
      listen: { host: '127.0.0.1', port: 0 },
      index,
      config: { upstreams: [`127.0.0.1:${upstream.port}`] },
      udp: 'batch',
    });
  });
  after(async () => {
    await server.close();
    await upstream.close();
  });

  test('is the path in use, and says so', () => {
    assert.equal(server.udpPath.path, 'batch');
    assert.match(describeUdpPath(server.udpPath), /recvmmsg\/sendmmsg/);
    assert.ok(server.udpStats());
  });

  test('200 queries sent at once from one socket: every reply matches its ID and question', async () => {
    const client = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', () => resolve()));
    const replies = new Map<number, packet.DecodedPacket>();
    const all = new Promise<void>((resolve) =>
      client.on('message', (m) => {
        const r = packet.decode(m);
        assert.ok(!replies.has(r.id as number), `one reply to ${r.id}`);
        replies.set(r.id as number, r);
        if (replies.size === 200) resolve();
      }),
    );
    const before = server.udpStats();
    try {
      // Waves of 50: the server's socket buffer holds that many small datagrams with room to spare.
      for (let wave = 0; wave < 4; wave++) {
        for (let id = wave * 50; id < (wave + 1) * 50; id++) client.send(encode(id), server.address().port, '127.0.0.1');
        await new Promise((r) => setImmediate(r));
      }
      await all;
    } finally {
      client.close();
    }
    for (let id = 0; id < 200; id++) {
      const r = replies.get(id) as packet.DecodedPacket;
      assert.equal(r.type, 'response');
      assert.equal(r.questions?.[0].name, expected(id).name, `question of ${id}`);
      expected(id).check(r);
    }
    // Datagrams really came in batches: fewer JavaScript calls than queries.
    const stats = server.udpStats();
    assert.ok(before && stats);
    const datagrams = stats.datagrams - before.datagrams;
    const batches = stats.batches - before.batches;
    assert.equal(datagrams, 200);
    assert.ok(batches < datagrams / 4, `${batches} batches for ${datagrams} datagrams`);
    assert.equal(stats.dropped, 0);
  });

  test('IPv6: answers on ::1', async (t) => {
    const v6 = await startDnsServer({ listen: { host: '::1', port: 0 }, index, config: { upstreams: [] }, udp: 'batch' }).catch(
      (err: NodeJS.ErrnoException) => err,
    );
    if (v6 instanceof Error) {
      // A machine without IPv6 on loopback: dgram cannot bind there either.
      assert.equal(v6.code, 'EADDRNOTAVAIL');
      t.diagnostic('no ::1 here');
      return;
    }
    try {
      const client = dgram.createSocket('udp6');
      const reply = new Promise<Buffer>((resolve) => client.once('message', resolve));
      client.send(encode(1), v6.address().port, '::1');
      const r = packet.decode(await reply);
      client.close();
      assert.equal(r.id, 1);
      expected(1).check(r);
    } finally {
      await v6.close();
    }
  });
});

describe('UDP path choice', () => {
  test('SVCNET_DNS_UDP=dgram (or udp: dgram) falls back to node:dgram, which answers', async () => {
    const saved = process.env.SVCNET_DNS_UDP;
    process.env.SVCNET_DNS_UDP = 'dgram';
    try {
      assert.deepEqual(chooseUdpPath(), { path: 'dgram', reason: 'asked for (SVCNET_DNS_UDP=dgram)' });
    } finally {
      if (saved === undefined) delete process.env.SVCNET_DNS_UDP;
      else process.env.SVCNET_DNS_UDP = saved;
    }
    const index = new ClusterIndex();
    index.upsertService({ metadata: { name: 'a', namespace: 'default' }, spec: { clusterIP: '10.96.0.9' } });
    index.markSynced();
    const server = await startDnsServer({ listen: { host: '127.0.0.1', port: 0 }, index, config: { upstreams: [] }, udp: 'dgram' });
    try {
      assert.equal(server.udpPath.path, 'dgram');
      assert.match(describeUdpPath(server.udpPath), /^UDP via node:dgram/);
      assert.equal(server.udpStats(), undefined);
      assert.deepEqual((await dig(server.address().port, ['+notcp', 'a.default.svc.cluster.local', 'A'])).records, [
        'a.default.svc.cluster.local. 30 IN A 10.96.0.9',
      ]);
    } finally {
      await server.close();
    }
  });

  test('auto picks the batch path when the addon is built', () => {
    assert.deepEqual(chooseUdpPath('auto'), { path: 'batch' });
  });
});

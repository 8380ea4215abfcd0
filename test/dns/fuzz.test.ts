import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import packet from 'dns-packet';
import { ClusterIndex, startDnsServer } from '../../src/dns/index.js';
import { dig } from './helpers.js';

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

for (const udp of ['batch', 'dgram'] as const)
  test(`random and malformed packets (UDP ${udp}): FORMERR or silence, never a crash, still answering`, async () => {
    const index = new ClusterIndex();
    index.upsertService({ metadata: { name: 'webui-svc', namespace: 'default' }, spec: { clusterIP: '10.100.100.100' } });
    index.markSynced();
    const server = await startDnsServer({ listen: { host: '127.0.0.1', port: 0 }, index, config: { upstreams: [] }, udp });
    assert.equal(server.udpPath.path, udp);
    const port = server.address().port;
    const client = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    client.on('message', (m) => replies.push(m));
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', () => resolve()));
    try {
      const random = rng(42);
      const valid = packet.encode({
        type: 'query',
        id: 7,
        flags: packet.RECURSION_DESIRED,
        questions: [{ name: 'webui-svc.default.svc.cluster.local', type: 'A', class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as unknown as packet.Answer],
      });
      const sent: Buffer[] = [];
      for (let i = 0; i < 3000; i++) {
        let msg: Buffer;
        if (i % 3 === 0) msg = randomBytes(Math.floor(random() * 600));
        else {
          // A valid query with a few bytes flipped, or cut short, or both.
          msg = Buffer.from(valid);
          const flips = 1 + Math.floor(random() * 4);
          for (let f = 0; f < flips; f++) msg[Math.floor(random() * msg.length)] = Math.floor(random() * 256);
          if (i % 3 === 2) msg = msg.subarray(0, Math.floor(random() * msg.length));
        }
        sent.push(msg);
        client.send(msg, port, '127.0.0.1');
        if (i % 200 === 0) await new Promise((r) => setImmediate(r));
      }
      // TCP: garbage, a bogus length prefix, and a connection cut mid-message.
      for (const bytes of [randomBytes(300), Buffer.from([0xff, 0xff, 1, 2, 3]), Buffer.from([0, 40, 1])]) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        await new Promise<void>((resolve) => s.on('connect', () => resolve()));
        s.end(bytes);
      }
      const ok = await dig(port, ['webui-svc.default.svc.cluster.local', 'A']);
      assert.deepEqual(ok.records, ['webui-svc.default.svc.cluster.local. 30 IN A 10.100.100.100']);
      assert.equal((await dig(port, ['+tcp', 'webui-svc.default.svc.cluster.local', 'A'])).records.length, 1);
      // Every reply is a response that decodes; error replies are FORMERR, NOTIMP or BADVERS.
      assert.ok(replies.length > 0);
      for (const r of replies) {
        assert.ok(r.length >= 12 && (r[2] & 0x80) !== 0);
        packet.decode(r);
      }
    } finally {
      client.close();
      await server.close();
    }
  });

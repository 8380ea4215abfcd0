import assert from 'node:assert/strict';
import { test } from 'node:test';
import packet from 'dns-packet';
import { CachePlugin, type Reply } from './plugins.js';
import { encodeResponse, type ResponseMessage } from './wire.js';
import { toZoneText } from './zone-text.js';

const name = 'nginx.default.svc.cluster.local';
const message = (count: number): ResponseMessage => ({
  id: 9,
  opcode: 0,
  rcode: 0,
  authoritative: true,
  recursionDesired: true,
  recursionAvailable: true,
  checkingDisabled: false,
  question: { name, type: 1, class: 1 },
  answers: Array.from({ length: count }, (_, i) => ({
    name,
    type: 'A' as const,
    class: 'IN' as const,
    ttl: 30,
    data: `10.244.0.${i + 1}`,
  })),
  authority: [],
  additional: [],
});

test('names are compressed: each extra A record costs 16 bytes', () => {
  const one = encodeResponse(message(1), 65535).length;
  const two = encodeResponse(message(2), 65535).length;
  assert.equal(two - one, 16);
  const decoded = packet.decode(encodeResponse(message(2), 65535));
  assert.deepEqual(toZoneText(decoded.answers ?? []), [`${name}. 30 IN A 10.244.0.1`, `${name}. 30 IN A 10.244.0.2`]);
});

test('an answer over the size limit is sent empty with TC set', () => {
  const out = encodeResponse(message(100), 512);
  assert.ok(out.length <= 512);
  const decoded = packet.decode(out);
  assert.equal(decoded.flag_tc, true);
  assert.equal(decoded.answers?.length, 0);
  assert.equal(decoded.questions?.[0].name, name);
});

test('the cache keeps answers for their TTL, counting it down, and is bounded', async () => {
  let now = 0;
  let calls = 0;
  const reply: Reply = {
    rcode: 'NOERROR',
    answers: [{ name: 'a.test', type: 'A', class: 'IN', ttl: 10, data: '192.0.2.1' }],
    authority: [],
    additional: [],
    authoritative: false,
    plugin: 'forward',
  };
  const next = async () => {
    calls++;
    return reply;
  };
  const cache = new CachePlugin({ capacity: 2, maxTtl: 3600, now: () => now });
  const q = (n: string) => ({ name: n, type: 'A', recursionDesired: true, dnssecOk: false, transport: 'udp' as const });
  await cache.serve(q('a.test'), next);
  now = 4000;
  const hit = await cache.serve(q('A.TEST'), next);
  assert.equal(calls, 1);
  assert.deepEqual(toZoneText(hit.answers), ['a.test. 6 IN A 192.0.2.1']);
  now = 10_001;
  await cache.serve(q('a.test'), next);
  assert.equal(calls, 2);
  await cache.serve(q('b.test'), next);
  await cache.serve(q('c.test'), next);
  await cache.serve(q('a.test'), next);
  assert.equal(calls, 5, 'a.test was evicted by the capacity bound');
  assert.deepEqual(cache.stats, { cacheHits: { success: 1, denial: 0 }, cacheMisses: 5 });
});

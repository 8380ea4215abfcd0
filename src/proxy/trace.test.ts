import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildRuleset, renderFull } from './backends/iptables/rules.js';
import type { EndpointSliceLike, ServiceLike } from './model.js';
import { makeService, makeSlice } from './testing.js';
import { parseIptables, tokenize, traceIptables } from './trace.js';
import { ProxyState } from './tracker.js';

const NODE_IP = '172.18.0.2';
const POD = '10.244.9.9';
const OUTSIDE = '192.168.50.7';
const http = [{ name: 'http', port: 8080 }];
const port80 = (nodePort?: number) => [{ name: 'http', port: 80, protocol: 'TCP', ...(nodePort ? { nodePort } : {}) }];

function rulesFor(services: ServiceLike[], slices: EndpointSliceLike[]) {
  const state = new ProxyState('node-1');
  for (const s of services) state.onService(undefined, s);
  for (const s of slices) state.onEndpointSlice(s);
  state.apply();
  return parseIptables(renderFull(buildRuleset(state.services, state.endpoints, { clusterCIDR: '10.244.0.0/16', nodeIP: NODE_IP })));
}

const eps3 = ['10.244.1.2', '10.244.2.2', '10.244.3.2'];
const web = makeService('default/web', { type: 'NodePort', clusterIP: '10.96.0.20', ports: port80(30080) });
const empty = makeService('default/empty', { type: 'NodePort', clusterIP: '10.96.0.21', ports: port80(30081) });
const rules = rulesFor([web, empty], [makeSlice('default/web', 'web-1', http, eps3)]);
const opts = { nodeIPs: [NODE_IP] };

describe('iptables tracer', () => {
  test('tokenize keeps quoted comments whole', () => {
    assert.deepEqual(tokenize('-A X -m comment --comment "a b" -j Y'), ['-A', 'X', '-m', 'comment', '--comment', 'a b', '-j', 'Y']);
  });

  test('a ClusterIP with 3 endpoints reaches endpoint i for random values in the i-th third', () => {
    const cases: Array<[number, string]> = [
      [0, '10.244.1.2:8080'],
      [0.33, '10.244.1.2:8080'],
      [0.34, '10.244.2.2:8080'],
      [0.66, '10.244.2.2:8080'],
      [0.67, '10.244.3.2:8080'],
      [0.999, '10.244.3.2:8080'],
    ];
    for (const [random, endpoint] of cases) {
      const r = traceIptables(rules, { src: POD, dst: '10.96.0.20', dport: 80 }, { ...opts, random });
      assert.deepEqual([r.verdict, r.endpoint, r.masquerade], ['DNAT', endpoint, false], `random ${random}`);
    }
  });

  test('random spreading is roughly even', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const r = traceIptables(rules, { src: POD, dst: '10.96.0.20', dport: 80 }, { ...opts, random });
      counts.set(r.endpoint!, (counts.get(r.endpoint!) ?? 0) + 1);
    }
    for (const ep of eps3) assert.ok(Math.abs(counts.get(`${ep}:8080`)! - 1000) < 150, `${ep}: ${counts.get(`${ep}:8080`)}`);
  });

  test('masquerade: off-cluster clients and hairpin, not pod-to-service', () => {
    assert.equal(traceIptables(rules, { src: OUTSIDE, dst: '10.96.0.20', dport: 80 }, opts).masquerade, true);
    const hairpin = traceIptables(rules, { src: '10.244.1.2', dst: '10.96.0.20', dport: 80 }, { ...opts, random: 0 });
    assert.deepEqual([hairpin.endpoint, hairpin.masquerade], ['10.244.1.2:8080', true]);
    assert.equal(traceIptables(rules, { src: '10.244.2.2', dst: '10.96.0.20', dport: 80 }, { ...opts, random: 0 }).masquerade, false);
  });

  test('NodePort on a node address is DNATed and masqueraded; on a foreign address it is left alone', () => {
    const r = traceIptables(rules, { src: OUTSIDE, dst: NODE_IP, dport: 30080 }, { ...opts, random: 0.5 });
    assert.deepEqual([r.verdict, r.endpoint, r.masquerade], ['DNAT', '10.244.2.2:8080', true]);
    const local = traceIptables(rules, { src: NODE_IP, dst: '127.0.0.1', dport: 30080, local: true }, opts);
    assert.equal(local.verdict, 'DNAT');
    assert.equal(traceIptables(rules, { src: OUTSIDE, dst: '172.18.0.99', dport: 30080 }, opts).verdict, 'ACCEPT');
  });

  test('no endpoints: cluster IP and node port are rejected, from pods, outside and the node itself', () => {
    assert.equal(traceIptables(rules, { src: POD, dst: '10.96.0.21', dport: 80 }, opts).verdict, 'REJECT');
    assert.equal(traceIptables(rules, { src: NODE_IP, dst: '10.96.0.21', dport: 80, local: true }, opts).verdict, 'REJECT');
    assert.equal(traceIptables(rules, { src: OUTSIDE, dst: NODE_IP, dport: 30081 }, opts).verdict, 'REJECT');
  });

  test('a wrong port or protocol on a cluster IP matches nothing', () => {
    assert.equal(traceIptables(rules, { src: POD, dst: '10.96.0.20', dport: 81 }, opts).verdict, 'ACCEPT');
    assert.equal(traceIptables(rules, { src: POD, dst: '10.96.0.20', dport: 80, protocol: 'UDP' }, opts).verdict, 'ACCEPT');
  });

  test('session affinity: once chosen, a client keeps its endpoint whatever the random value', () => {
    const sticky = makeService('default/sticky', { clusterIP: '10.96.0.30', sessionAffinity: 'ClientIP', ports: port80() });
    const t = rulesFor([sticky], [makeSlice('default/sticky', 's-1', http, eps3)]);
    const recent = new Map<string, Set<string>>();
    const first = traceIptables(t, { src: POD, dst: '10.96.0.30', dport: 80 }, { ...opts, random: 0.9, recent });
    assert.equal(first.endpoint, '10.244.3.2:8080');
    for (const random of [0, 0.4, 0.7]) {
      assert.equal(traceIptables(t, { src: POD, dst: '10.96.0.30', dport: 80 }, { ...opts, random, recent }).endpoint, '10.244.3.2:8080');
    }
    assert.equal(
      traceIptables(t, { src: '10.244.9.10', dst: '10.96.0.30', dport: 80 }, { ...opts, random: 0, recent }).endpoint,
      '10.244.1.2:8080',
    );
  });

  test('externalTrafficPolicy Local: external clients reach only local endpoints, unmasqueraded; pods reach any', () => {
    const svc = makeService('default/local', {
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      clusterIP: '10.96.0.40',
      ports: port80(30090),
    });
    const t = rulesFor(
      [svc],
      [
        makeSlice('default/local', 'l-1', http, [
          { ip: '10.244.1.5', node: 'node-1' },
          { ip: '10.244.2.5', node: 'node-2' },
        ]),
      ],
    );
    for (const random of [0, 0.99]) {
      const r = traceIptables(t, { src: OUTSIDE, dst: NODE_IP, dport: 30090 }, { ...opts, random });
      assert.deepEqual([r.endpoint, r.masquerade], ['10.244.1.5:8080', false]);
    }
    assert.equal(traceIptables(t, { src: POD, dst: NODE_IP, dport: 30090 }, { ...opts, random: 0.99 }).endpoint, '10.244.2.5:8080');
    const fromNode = traceIptables(t, { src: NODE_IP, dst: NODE_IP, dport: 30090, local: true }, { ...opts, random: 0.99 });
    assert.deepEqual([fromNode.endpoint, fromNode.masquerade], ['10.244.2.5:8080', true]);
  });

  test('externalTrafficPolicy Local without a local endpoint drops external traffic to the node port', () => {
    const svc = makeService('default/local', {
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      clusterIP: '10.96.0.40',
      ports: port80(30090),
    });
    const t = rulesFor([svc], [makeSlice('default/local', 'l-1', http, [{ ip: '10.244.2.5', node: 'node-2' }])]);
    assert.equal(traceIptables(t, { src: OUTSIDE, dst: NODE_IP, dport: 30090 }, opts).verdict, 'DROP');
    assert.equal(traceIptables(t, { src: POD, dst: '10.96.0.40', dport: 80 }, opts).endpoint, '10.244.2.5:8080');
  });

  test("internalTrafficPolicy Local: the cluster IP reaches only this node's endpoints, or is dropped without any", () => {
    const svc = makeService('default/itp', { clusterIP: '10.96.0.50', internalTrafficPolicy: 'Local', ports: port80() });
    const both = rulesFor(
      [svc],
      [
        makeSlice('default/itp', 'i-1', http, [
          { ip: '10.244.1.7', node: 'node-1' },
          { ip: '10.244.2.7', node: 'node-2' },
        ]),
      ],
    );
    for (const random of [0, 0.99])
      assert.equal(traceIptables(both, { src: POD, dst: '10.96.0.50', dport: 80 }, { ...opts, random }).endpoint, '10.244.1.7:8080');
    const remoteOnly = rulesFor([svc], [makeSlice('default/itp', 'i-1', http, [{ ip: '10.244.2.7', node: 'node-2' }])]);
    assert.equal(traceIptables(remoteOnly, { src: POD, dst: '10.96.0.50', dport: 80 }, opts).verdict, 'DROP');
  });

  test('LoadBalancer source ranges: allowed sources reach endpoints, others are dropped', () => {
    const svc = makeService(
      'default/lb',
      { type: 'LoadBalancer', clusterIP: '10.96.0.60', loadBalancerSourceRanges: ['192.168.50.0/24'], ports: port80(30100) },
      { loadBalancer: { ingress: [{ ip: '172.18.255.200' }] } },
    );
    const t = rulesFor([svc], [makeSlice('default/lb', 'lb-1', http, ['10.244.1.8'])]);
    const ok = traceIptables(t, { src: OUTSIDE, dst: '172.18.255.200', dport: 80 }, opts);
    assert.deepEqual([ok.endpoint, ok.masquerade], ['10.244.1.8:8080', true]);
    assert.equal(traceIptables(t, { src: '203.0.113.9', dst: '172.18.255.200', dport: 80 }, opts).verdict, 'DROP');
  });
});

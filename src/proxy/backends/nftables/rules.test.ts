import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeService, makeSlice } from '../../testing.js';
import { ProxyState } from '../../tracker.js';
import {
  buildNftRuleset,
  endpointChainBase,
  INITIAL_LOAD_SPLIT,
  initialLoadSizes,
  LEFTOVER_LIMIT,
  nftLeftovers,
  renderNftFull,
  renderNftPartial,
  serviceChainBase,
} from './rules.js';

const config = { clusterCIDR: '10.244.0.0/16' };
const http = [{ name: 'http', port: 8080 }];
const T = 'ip kube-proxy';
/** As in a big table, where deleting a chain costs nft's whole chain cache. */
const deferDeletes = { eagerDeleteMaxChains: 0 };

describe('nftables rules', () => {
  test('an initial load splits 2 % + 8 % + 32 % + the rest from 1,000 service ports on; smaller ones go whole', () => {
    for (const [count, sizes] of [
      [0, [0]],
      [999, [999]],
      [1000, [50, 200, 750]],
      [10_000, [200, 800, 3200, 5800]],
      [50_000, [1000, 4000, 16_000, 29_000]],
    ] as const) {
      assert.deepEqual(initialLoadSizes(count), sizes, `${count}`);
      assert.equal(
        initialLoadSizes(count, INITIAL_LOAD_SPLIT).reduce((a, b) => a + b, 0),
        count,
      );
    }
    // Never a last transaction smaller than the one before it.
    for (let count = 1000; count < 30_000; count += 777) {
      const sizes = initialLoadSizes(count);
      if (sizes.length > 1) assert.ok(sizes.at(-1)! >= sizes.at(-2)!, `${count}: ${sizes}`);
    }
  });

  test("chain names use upstream's hash of ns/name/proto/port", () => {
    const port = { namespace: 'ns1', serviceName: 'svc1', portName: 'p80', protocol: 'TCP' as const };
    assert.equal(serviceChainBase(port), 'ULMVA6XW-ns1/svc1/tcp/p80');
    assert.equal(endpointChainBase(port, { ip: '10.180.0.1', port: 80 }), '5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
  });

  test('golden: a ClusterIP with two endpoints, session affinity, and a Service without endpoints', () => {
    const state = new ProxyState('node-1');
    state.onService(
      undefined,
      makeService('default/web', { clusterIP: '10.96.0.20', sessionAffinity: 'ClientIP', ports: [{ name: 'http', port: 80 }] }),
    );
    state.onService(undefined, makeService('default/empty', { clusterIP: '10.96.0.23', ports: [{ name: 'http', port: 80 }] }));
    state.onEndpointSlice(makeSlice('default/web', 'w', http, ['10.244.1.2', '10.244.2.2']));
    state.apply();
    const text = renderNftFull(buildNftRuleset(state.services, state.endpoints, config));
    const svc = `service-${serviceChainBase({ namespace: 'default', serviceName: 'web', portName: 'http', protocol: 'TCP' })}`;
    const ep = (ip: string) =>
      endpointChainBase({ namespace: 'default', serviceName: 'web', portName: 'http', protocol: 'TCP' }, { ip, port: 8080 });
    const perService = text
      .split('\n')
      .filter((l) => l.includes('default/') || l.includes('10.96.0.'))
      .join('\n');
    assert.equal(
      perService,
      [
        `add set ${T} affinity-${ep('10.244.1.2')} { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }`,
        `add set ${T} affinity-${ep('10.244.2.2')} { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }`,
        `add chain ${T} ${svc}`,
        `add chain ${T} endpoint-${ep('10.244.1.2')}`,
        `add chain ${T} endpoint-${ep('10.244.2.2')}`,
        `add chain ${T} ${svc} { ip daddr 10.96.0.20 ip saddr != 10.244.0.0/16 jump mark-for-masquerade ; ip saddr @affinity-${ep('10.244.1.2')} goto endpoint-${ep('10.244.1.2')} ; ip saddr @affinity-${ep('10.244.2.2')} goto endpoint-${ep('10.244.2.2')} ; numgen random mod 2 == 0 goto endpoint-${ep('10.244.1.2')} ; goto endpoint-${ep('10.244.2.2')} ; }`,
        `add chain ${T} endpoint-${ep('10.244.1.2')} { ip saddr 10.244.1.2 jump mark-for-masquerade ; update @affinity-${ep('10.244.1.2')} { ip saddr } ; meta l4proto tcp dnat to 10.244.1.2:8080 ; }`,
        `add chain ${T} endpoint-${ep('10.244.2.2')} { ip saddr 10.244.2.2 jump mark-for-masquerade ; update @affinity-${ep('10.244.2.2')} { ip saddr } ; meta l4proto tcp dnat to 10.244.2.2:8080 ; }`,
        `add set ${T} cluster-ips { type ipv4_addr ; elements = { 10.96.0.23, 10.96.0.20 } ; }`,
        `add map ${T} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; elements = { 10.96.0.23 . tcp . 80 comment "default/empty:http" : goto reject-chain } ; }`,
        `add map ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; elements = { 10.96.0.20 . tcp . 80 : goto ${svc} } ; }`,
      ].join('\n'),
    );
    assert.match(text, /^add table ip kube-proxy\ndelete table ip kube-proxy\n/);
  });

  test('full: rules without set references are written as chain bodies', () => {
    const state = new ProxyState('node-1');
    state.onService(undefined, makeService('default/web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }] }));
    state.onEndpointSlice(makeSlice('default/web', 'w', http, ['10.244.1.2']));
    state.apply();
    const text = renderNftFull(buildNftRuleset(state.services, state.endpoints, config));
    const svc = `service-${serviceChainBase({ namespace: 'default', serviceName: 'web', portName: 'http', protocol: 'TCP' })}`;
    const ep = `endpoint-${endpointChainBase({ namespace: 'default', serviceName: 'web', portName: 'http', protocol: 'TCP' }, { ip: '10.244.1.2', port: 8080 })}`;
    const lines = text.split('\n');
    assert.ok(
      lines.includes(`add chain ${T} ${svc} { ip daddr 10.96.0.20 ip saddr != 10.244.0.0/16 jump mark-for-masquerade ; goto ${ep} ; }`),
    );
    assert.ok(
      lines.includes(`add chain ${T} ${ep} { ip saddr 10.244.1.2 jump mark-for-masquerade ; meta l4proto tcp dnat to 10.244.1.2:8080 ; }`),
    );
    assert.ok(
      lines.indexOf(`add chain ${T} ${ep}`) <
        lines.indexOf(`add chain ${T} ${svc} { ip daddr 10.96.0.20 ip saddr != 10.244.0.0/16 jump mark-for-masquerade ; goto ${ep} ; }`),
      'chains exist before rules jump to them',
    );
  });

  test('partial: one endpoint removed → service chain rewritten as a chain body, endpoint chain emptied and left for later, no element touched', () => {
    const state = new ProxyState('node-1');
    state.onService(undefined, makeService('default/web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }] }));
    state.onEndpointSlice(makeSlice('default/web', 'w', http, ['10.244.1.2', '10.244.2.2']));
    state.apply();
    const first = buildNftRuleset(state.services, state.endpoints, config);
    state.onEndpointSlice(makeSlice('default/web', 'w', http, ['10.244.1.2']));
    const second = buildNftRuleset(state.services, state.endpoints, config, {
      previous: first,
      changedServices: state.apply().updatedServices,
    });
    const base = serviceChainBase({ namespace: 'default', serviceName: 'web', portName: 'http', protocol: 'TCP' });
    const gone = `endpoint-${endpointChainBase({ namespace: 'default', serviceName: 'web', portName: 'http', protocol: 'TCP' }, { ip: '10.244.2.2', port: 8080 })}`;
    const kept = `endpoint-${endpointChainBase({ namespace: 'default', serviceName: 'web', portName: 'http', protocol: 'TCP' }, { ip: '10.244.1.2', port: 8080 })}`;
    assert.equal(
      renderNftPartial(first, second, deferDeletes),
      [
        `add chain ${T} service-${base}`,
        `flush chain ${T} service-${base}`,
        `add chain ${T} service-${base} { ip daddr 10.96.0.20 ip saddr != 10.244.0.0/16 jump mark-for-masquerade ; goto ${kept} ; }`,
        `flush chain ${T} ${gone}`,
        '',
      ].join('\n'),
    );
    assert.deepEqual([...nftLeftovers(second)], [`chain ${gone}`]);
    assert.equal(renderNftPartial(second, second, deferDeletes), '');
    assert.deepEqual([...nftLeftovers(second)], [`chain ${gone}`], 'an empty transaction keeps the leftovers');

    // The endpoint comes back: its leftover chain is reused, not deleted.
    state.onEndpointSlice(makeSlice('default/web', 'w', http, ['10.244.1.2', '10.244.2.2']));
    const third = buildNftRuleset(state.services, state.endpoints, config, {
      previous: second,
      changedServices: state.apply().updatedServices,
    });
    const text = renderNftPartial(second, third, deferDeletes);
    assert.match(text, new RegExp(`^add chain ${T} ${gone.replace(/[/.]/g, '\\$&')} \\{ ip saddr 10\\.244\\.2\\.2 `, 'm'));
    assert.doesNotMatch(text, /delete chain/);
    assert.equal(nftLeftovers(third).size, 0);
  });

  test('a small table deletes emptied chains at once', () => {
    const state = new ProxyState('node-1');
    state.onService(undefined, makeService('default/web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }] }));
    state.onEndpointSlice(makeSlice('default/web', 'w', http, ['10.244.1.2', '10.244.2.2']));
    state.apply();
    const first = buildNftRuleset(state.services, state.endpoints, config);
    state.onEndpointSlice(makeSlice('default/web', 'w', http, ['10.244.1.2']));
    const second = buildNftRuleset(state.services, state.endpoints, config, {
      previous: first,
      changedServices: state.apply().updatedServices,
    });
    const gone = `endpoint-${endpointChainBase({ namespace: 'default', serviceName: 'web', portName: 'http', protocol: 'TCP' }, { ip: '10.244.2.2', port: 8080 })}`;
    assert.match(renderNftPartial(first, second), new RegExp(`^flush chain ${T} ${gone}\ndelete chain ${T} ${gone}$`, 'm'));
    assert.equal(nftLeftovers(second).size, 0);
  });

  test('last endpoint gone: the cluster IP moves from service-ips to no-endpoint-services', () => {
    const state = new ProxyState('node-1');
    state.onService(undefined, makeService('default/web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }] }));
    state.onEndpointSlice(makeSlice('default/web', 'w', http, ['10.244.1.2']));
    state.apply();
    const first = buildNftRuleset(state.services, state.endpoints, config);
    state.onEndpointSlice(makeSlice('default/web', 'w', http, []));
    const second = buildNftRuleset(state.services, state.endpoints, config, {
      previous: first,
      changedServices: state.apply().updatedServices,
    });
    const text = renderNftPartial(first, second);
    assert.match(text, /^delete element ip kube-proxy service-ips \{ 10\.96\.0\.20 \. tcp \. 80 \}$/m);
    assert.match(
      text,
      /^add map ip kube-proxy no-endpoint-services \{ type ipv4_addr \. inet_proto \. inet_service : verdict ; elements = \{ 10\.96\.0\.20 \. tcp \. 80 comment "default\/web:http" : goto reject-chain \} ; \}$/m,
    );
    assert.doesNotMatch(text, /cluster-ips/);
    // Deleting an element fetches the chain cache anyway, so the emptied chains go in the same transaction.
    assert.match(text, /^delete chain ip kube-proxy endpoint-/m);
    assert.match(text, /^delete chain ip kube-proxy service-/m);
    assert.equal(nftLeftovers(second).size, 0);
  });

  test(`leftovers are deleted once ${LEFTOVER_LIMIT} have piled up`, () => {
    const state = new ProxyState('node-1');
    state.onService(undefined, makeService('default/web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }] }));
    const ips = (gen: number) => Array.from({ length: 100 }, (_, i) => `10.${100 + gen}.${i >> 8}.${i & 255}`);
    state.onEndpointSlice(makeSlice('default/web', 'w', http, ips(0)));
    state.apply();
    let previous = buildNftRuleset(state.services, state.endpoints, config);
    let deletedAt = -1;
    for (let gen = 1; gen <= LEFTOVER_LIMIT / 100 && deletedAt < 0; gen++) {
      state.onEndpointSlice(makeSlice('default/web', 'w', http, ips(gen)));
      const next = buildNftRuleset(state.services, state.endpoints, config, { previous, changedServices: state.apply().updatedServices });
      if (/^delete chain /m.test(renderNftPartial(previous, next, deferDeletes))) deletedAt = gen;
      previous = next;
    }
    assert.equal(deletedAt, LEFTOVER_LIMIT / 100);
    assert.equal(nftLeftovers(previous).size, 0);
  });
});

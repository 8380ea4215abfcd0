import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeService, makeSlice } from '../../testing.js';
import { ProxyState } from '../../tracker.js';
import { buildNftRuleset, endpointChainBase, renderNftFull, renderNftPartial, serviceChainBase } from './rules.js';

const config = { clusterCIDR: '10.244.0.0/16' };
const http = [{ name: 'http', port: 8080 }];
const T = 'ip kube-proxy';

describe('nftables rules', () => {
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
        `add rule ${T} ${svc} ip daddr 10.96.0.20 ip saddr != 10.244.0.0/16 jump mark-for-masquerade`,
        `add rule ${T} ${svc} ip saddr @affinity-${ep('10.244.1.2')} goto endpoint-${ep('10.244.1.2')}`,
        `add rule ${T} ${svc} ip saddr @affinity-${ep('10.244.2.2')} goto endpoint-${ep('10.244.2.2')}`,
        `add rule ${T} ${svc} numgen random mod 2 == 0 goto endpoint-${ep('10.244.1.2')}`,
        `add rule ${T} ${svc} goto endpoint-${ep('10.244.2.2')}`,
        `add rule ${T} endpoint-${ep('10.244.1.2')} ip saddr 10.244.1.2 jump mark-for-masquerade`,
        `add rule ${T} endpoint-${ep('10.244.1.2')} update @affinity-${ep('10.244.1.2')} { ip saddr }`,
        `add rule ${T} endpoint-${ep('10.244.1.2')} meta l4proto tcp dnat to 10.244.1.2:8080`,
        `add rule ${T} endpoint-${ep('10.244.2.2')} ip saddr 10.244.2.2 jump mark-for-masquerade`,
        `add rule ${T} endpoint-${ep('10.244.2.2')} update @affinity-${ep('10.244.2.2')} { ip saddr }`,
        `add rule ${T} endpoint-${ep('10.244.2.2')} meta l4proto tcp dnat to 10.244.2.2:8080`,
        `add element ${T} cluster-ips { 10.96.0.23 }`,
        `add element ${T} no-endpoint-services { 10.96.0.23 . tcp . 80 comment "default/empty:http" : goto reject-chain }`,
        `add element ${T} cluster-ips { 10.96.0.20 }`,
        `add element ${T} service-ips { 10.96.0.20 . tcp . 80 : goto ${svc} }`,
      ].join('\n'),
    );
    assert.match(text, /^add table ip kube-proxy\ndelete table ip kube-proxy\n/);
  });

  test('partial: one endpoint removed → service chain rewritten, endpoint chain deleted, no element touched', () => {
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
      renderNftPartial(first, second),
      [
        `add chain ${T} service-${base}`,
        `flush chain ${T} service-${base}`,
        `add rule ${T} service-${base} ip daddr 10.96.0.20 ip saddr != 10.244.0.0/16 jump mark-for-masquerade`,
        `add rule ${T} service-${base} goto ${kept}`,
        `flush chain ${T} ${gone}`,
        `delete chain ${T} ${gone}`,
        '',
      ].join('\n'),
    );
    assert.equal(renderNftPartial(second, second), '');
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
      /^add element ip kube-proxy no-endpoint-services \{ 10\.96\.0\.20 \. tcp \. 80 comment "default\/web:http" : goto reject-chain \}$/m,
    );
    assert.doesNotMatch(text, /cluster-ips/);
  });
});

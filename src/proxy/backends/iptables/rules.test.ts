import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EndpointSliceLike, ServiceLike } from '../../model.js';
import { makeService, makeSlice } from '../../testing.js';
import { ProxyState } from '../../tracker.js';
import { Churn } from './churn.js';
import {
  buildRuleset,
  endpointChainName,
  type IptablesConfig,
  parseForeignRules,
  planFullSync,
  renderFull,
  renderPartial,
  renderServiceRules,
  servicePortChainName,
  streamFullSync,
} from './rules.js';

const config: IptablesConfig = { clusterCIDR: '10.244.0.0/16' };
const ep3 = ['10.244.1.2', '10.244.2.2', '10.244.3.2'];
const http = [{ name: 'http', port: 8080 }];

/** Feeds objects through the trackers, as the proxy does, and builds the ruleset. */
function rulesetFor(services: ServiceLike[], slices: EndpointSliceLike[], cfg = config) {
  const state = new ProxyState('node-1');
  for (const s of services) state.onService(undefined, s);
  for (const s of slices) state.onEndpointSlice(s);
  state.apply();
  return { state, ruleset: buildRuleset(state.services, state.endpoints, cfg) };
}

function serviceText(service: ServiceLike, endpoints: Parameters<typeof makeSlice>[3]): string {
  const nn = `${service.metadata.namespace}/${service.metadata.name}`;
  const { ruleset } = rulesetFor([service], [makeSlice(nn, `${service.metadata.name}-abc`, http, endpoints)]);
  return renderServiceRules([...ruleset.services.values()][0]!);
}

describe('chain names', () => {
  test("use kube-proxy's hash: base32(sha256(portName + protocol)), 16 characters", () => {
    // Values from upstream kube-proxy clusters.
    assert.equal(servicePortChainName('KUBE-SVC-', 'default/kubernetes:https', 'TCP'), 'KUBE-SVC-NPX46M4PTMTKRN6Y');
    assert.equal(servicePortChainName('KUBE-SVC-', 'kube-system/kube-dns:dns', 'UDP'), 'KUBE-SVC-TCOU7JCQXEZGVUNU');
    assert.equal(servicePortChainName('KUBE-SVC-', 'ns1/svc1:p80', 'tcp'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
    assert.equal(endpointChainName('ns1/svc1:p80', 'tcp', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
  });
});

describe('golden rule text', () => {
  test('ClusterIP with one endpoint: the complete restore text', () => {
    const svc = makeService('default/db-service', {
      clusterIP: '10.103.132.104',
      ports: [{ port: 3306, protocol: 'TCP', targetPort: 3306 }],
    });
    const { ruleset } = rulesetFor([svc], [makeSlice('default/db-service', 'db-1', [{ port: 3306 }], ['10.244.1.2'])]);
    assert.equal(renderFull(ruleset), FULL);
  });

  test('ClusterIP with three endpoints spreads with chained probabilities 1/3, 1/2, rest', () => {
    const svc = makeService('default/webui-svc', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    assert.equal(serviceText(svc, ep3), THREE);
  });

  test('NodePort goes through KUBE-NODEPORTS and a masquerading KUBE-EXT chain', () => {
    const svc = makeService('default/web', {
      type: 'NodePort',
      clusterIP: '10.96.0.21',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }],
    });
    assert.equal(serviceText(svc, ep3.slice(0, 2)), NODEPORT);
  });

  test('ClientIP session affinity checks and sets `recent` lists per endpoint', () => {
    const svc = makeService('default/sticky', {
      clusterIP: '10.96.0.22',
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    });
    assert.equal(serviceText(svc, ep3.slice(0, 2)), AFFINITY);
  });

  test('a Service without endpoints is rejected in the filter table and has no nat chains', () => {
    const svc = makeService('default/empty', { clusterIP: '10.96.0.23', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    assert.equal(serviceText(svc, []), NO_ENDPOINTS);
  });

  test('externalTrafficPolicy Local: KUBE-SVL with local endpoints only, pods and node short-circuit to KUBE-SVC', () => {
    const svc = makeService(
      'default/lb',
      {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32000,
        clusterIP: '10.96.0.24',
        ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30081 }],
      },
      { loadBalancer: { ingress: [{ ip: '172.18.255.200' }] } },
    );
    assert.equal(
      serviceText(svc, [
        { ip: '10.244.1.5', node: 'node-1' },
        { ip: '10.244.2.5', node: 'node-2' },
      ]),
      LOCAL,
    );
  });

  test('LoadBalancer with source ranges goes through KUBE-FW and KUBE-PROXY-FIREWALL', () => {
    const svc = makeService(
      'default/lb2',
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.25',
        loadBalancerSourceRanges: ['192.168.0.0/24'],
        ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30082 }],
      },
      { loadBalancer: { ingress: [{ ip: '172.18.255.201' }] } },
    );
    assert.equal(serviceText(svc, ['10.244.1.6']), LOADBALANCER);
  });

  test('externalTrafficPolicy Local without local endpoints drops external traffic, keeps cluster IP working', () => {
    const svc = makeService('default/lb', {
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      clusterIP: '10.96.0.24',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30081 }],
    });
    const text = serviceText(svc, [{ ip: '10.244.2.5', node: 'node-2' }]);
    assert.match(
      text,
      /KUBE-EXTERNAL-SERVICES -m comment --comment "default\/lb:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30081 -j DROP/,
    );
    assert.match(text, /"default\/lb:http cluster IP" -m tcp -p tcp -d 10.96.0.24 --dport 80 -j KUBE-SVC-/);
    assert.doesNotMatch(text, /KUBE-SVL-/);
  });

  test('serving-terminating endpoints are used only when no endpoint is ready', () => {
    const svc = makeService('default/web', { clusterIP: '10.96.0.26', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    const mixed = serviceText(svc, ['10.244.1.2', { ip: '10.244.2.2', ready: false, serving: true, terminating: true }]);
    assert.doesNotMatch(mixed, /10\.244\.2\.2/);
    const onlyTerminating = serviceText(svc, [
      { ip: '10.244.2.2', ready: false, serving: true, terminating: true },
      { ip: '10.244.3.2', ready: false, serving: false, terminating: true },
    ]);
    assert.match(onlyTerminating, /DNAT --to-destination 10\.244\.2\.2:8080/);
    assert.doesNotMatch(onlyTerminating, /10\.244\.3\.2/);
  });
});

describe('partial sync', () => {
  const svcA = makeService('default/a', { clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
  const svcB = makeService('default/b', { clusterIP: '10.96.1.2', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });

  test('an endpoint change rewrites only the chains that differ and deletes the stale endpoint chain', () => {
    const state = new ProxyState('node-1');
    state.onService(undefined, svcA);
    state.onService(undefined, svcB);
    state.onEndpointSlice(makeSlice('default/a', 'a-1', http, ['10.244.1.2', '10.244.1.3']));
    state.onEndpointSlice(makeSlice('default/b', 'b-1', http, ['10.244.2.2']));
    state.apply();
    const first = buildRuleset(state.services, state.endpoints, config);

    state.onEndpointSlice(makeSlice('default/a', 'a-1', http, ['10.244.1.2']));
    const changes = state.apply();
    assert.deepEqual([...changes.updatedServices], ['default/a']);
    const second = buildRuleset(state.services, state.endpoints, config, { previous: first, changedServices: changes.updatedServices });
    assert.equal(second.services.get('default/b:http/TCP'), first.services.get('default/b:http/TCP'), 'unchanged service reuses its rules');

    const svcChain = servicePortChainName('KUBE-SVC-', 'default/a:http', 'tcp');
    const kept = endpointChainName('default/a:http', 'tcp', '10.244.1.2:8080');
    const gone = endpointChainName('default/a:http', 'tcp', '10.244.1.3:8080');
    assert.equal(
      renderPartial(first, second),
      [
        '*nat',
        `:${svcChain} - [0:0]`,
        `:${gone} - [0:0]`,
        `-A ${svcChain} -m comment --comment "default/a:http cluster IP" -m tcp -p tcp -d 10.96.1.1 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`,
        `-A ${svcChain} -m comment --comment "default/a:http -> 10.244.1.2:8080" -j ${kept}`,
        `-X ${gone}`,
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  test('nothing changed → empty text; last endpoint gone → single dispatch rules swapped, chains deleted', () => {
    const { state, ruleset: first } = rulesetFor([svcA], [makeSlice('default/a', 'a-1', http, ['10.244.1.2'])]);
    assert.equal(renderPartial(first, buildRuleset(state.services, state.endpoints, config)), '');

    state.onEndpointSlice(makeSlice('default/a', 'a-1', http, []));
    const changes = state.apply();
    const second = buildRuleset(state.services, state.endpoints, config, { previous: first, changedServices: changes.updatedServices });
    const svcChain = servicePortChainName('KUBE-SVC-', 'default/a:http', 'tcp');
    const sepChain = endpointChainName('default/a:http', 'tcp', '10.244.1.2:8080');
    assert.equal(
      renderPartial(first, second),
      [
        '*filter',
        '-A KUBE-SERVICES -m comment --comment "default/a:http has no endpoints" -m tcp -p tcp -d 10.96.1.1 --dport 80 -j REJECT',
        'COMMIT',
        '*nat',
        `:${sepChain} - [0:0]`,
        `:${svcChain} - [0:0]`,
        `-D KUBE-SERVICES -m comment --comment "default/a:http cluster IP" -m tcp -p tcp -d 10.96.1.1 --dport 80 -j ${svcChain}`,
        `-X ${sepChain}`,
        `-X ${svcChain}`,
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  test('a new Service inserts its KUBE-SERVICES rule at the top instead of rewriting the chain', () => {
    const { state, ruleset: first } = rulesetFor([svcA], [makeSlice('default/a', 'a-1', http, ['10.244.1.2'])]);
    state.onService(undefined, svcB);
    state.onEndpointSlice(makeSlice('default/b', 'b-1', http, ['10.244.2.2']));
    const second = buildRuleset(state.services, state.endpoints, config, {
      previous: first,
      changedServices: state.apply().updatedServices,
    });
    const text = renderPartial(first, second);
    const svcChain = servicePortChainName('KUBE-SVC-', 'default/b:http', 'tcp');
    assert.doesNotMatch(text, /^:KUBE-SERVICES /m);
    assert.doesNotMatch(text, /^\*filter/m);
    assert.match(
      text,
      new RegExp(
        `^-I KUBE-SERVICES 1 -m comment --comment "default/b:http cluster IP" -m tcp -p tcp -d 10\\.96\\.1\\.2 --dport 80 -j ${svcChain}$`,
        'm',
      ),
    );
  });

  test('first endpoint ready: the DNAT goes in before the REJECT goes away (separate table commits)', () => {
    const { state, ruleset: first } = rulesetFor([svcA], [makeSlice('default/a', 'a-1', http, [])]);
    state.onEndpointSlice(makeSlice('default/a', 'a-1', http, ['10.244.1.2']));
    const second = buildRuleset(state.services, state.endpoints, config, {
      previous: first,
      changedServices: state.apply().updatedServices,
    });
    const text = renderPartial(first, second);
    assert.match(
      text,
      /^\*nat\n[\s\S]*\nCOMMIT\n\*filter\n-D KUBE-SERVICES -m comment --comment "default\/a:http has no endpoints" [^\n]* -j REJECT\nCOMMIT\n$/,
    );
  });

  test('a config change rewrites every dispatch chain', () => {
    const { ruleset: first, state } = rulesetFor([svcA], [makeSlice('default/a', 'a-1', http, ['10.244.1.2'])]);
    const second = buildRuleset(state.services, state.endpoints, { ...config, masqueradeAll: true });
    const text = renderPartial(first, second);
    assert.match(text, /^\*filter\n:KUBE-NODEPORTS - \[0:0\]\n:KUBE-SERVICES /);
    assert.match(text, /^:KUBE-SERVICES - \[0:0\]$/m);
  });
});

describe('streamed full sync', () => {
  test('writes what renderFull writes for the same state, building as it goes and reusing unchanged Services', () => {
    const state = new ProxyState('node-1');
    const churn = new Churn(state, 99, 30);
    let previous: ReturnType<typeof buildRuleset> | undefined;
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 4; k++) churn.step();
      const changes = state.apply();
      const delta = previous && { previous, changedServices: changes.updatedServices };
      let streamed: ReturnType<typeof buildRuleset> | undefined;
      const text = [
        ...streamFullSync(planFullSync(state.services, state.endpoints, config, delta), undefined, (r) => {
          streamed = r;
        }),
      ].join('');
      const eager = buildRuleset(state.services, state.endpoints, config);
      assert.equal(text, renderFull(eager), `round ${round}`);
      assert.deepEqual([...streamed!.services.keys()], [...eager.services.keys()]);
      previous = streamed;
    }
  });

  test('every chain is declared before a rule is added to it or jumps to it', () => {
    const state = new ProxyState('node-1');
    const churn = new Churn(state, 5, 30);
    for (let k = 0; k < 60; k++) churn.step();
    state.apply();
    const declared = new Set<string>();
    for (const line of renderFull(buildRuleset(state.services, state.endpoints, config)).split('\n')) {
      if (line.startsWith('*')) declared.clear();
      if (line.startsWith(':')) declared.add(line.slice(1, line.indexOf(' ')));
      if (!line.startsWith('-A ')) continue;
      const chain = line.split(' ')[1]!;
      const target = / -j (KUBE-\S+)/.exec(line)?.[1];
      assert.ok(declared.has(chain), `${chain} declared before: ${line}`);
      if (target) assert.ok(declared.has(target), `${target} declared before: ${line}`);
    }
  });
});

describe('full sync keeps foreign rules', () => {
  test('rules of other software survive; our old chains and jump rules are not carried over', () => {
    const saved = [
      '*filter',
      ':INPUT DROP [10:600]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':KUBE-SERVICES - [0:0]',
      ':CNI-FORWARD - [0:0]',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A FORWARD -j CNI-FORWARD',
      '-A CNI-FORWARD -d 10.244.0.0/16 -j ACCEPT',
      'COMMIT',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':KUBE-SVC-OLDOLDOLDOLDOLDO - [0:0]',
      '-A POSTROUTING -s 10.244.1.0/24 -j MASQUERADE',
      '-A KUBE-SVC-OLDOLDOLDOLDOLDO -j DNAT --to-destination 1.2.3.4:5',
      'COMMIT',
    ].join('\n');
    const foreign = parseForeignRules(saved);
    assert.deepEqual(foreign.chains.filter, [':INPUT DROP [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':CNI-FORWARD - [0:0]']);
    assert.deepEqual(foreign.rules.filter, ['-A FORWARD -j CNI-FORWARD', '-A CNI-FORWARD -d 10.244.0.0/16 -j ACCEPT']);
    assert.deepEqual(foreign.chains.nat, [':PREROUTING ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]']);
    assert.deepEqual(foreign.rules.nat, ['-A POSTROUTING -s 10.244.1.0/24 -j MASQUERADE']);
    const text = renderFull(buildRuleset(new Map(), new Map(), config), foreign);
    assert.match(text, /:INPUT DROP \[0:0\]\n/);
    assert.match(text, /:OUTPUT ACCEPT \[0:0\]\n/);
    assert.match(text, /-A POSTROUTING -s 10.244.1.0\/24 -j MASQUERADE\n/);
    assert.doesNotMatch(text, /OLDOLD/);
  });
});

const FULL = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
:KUBE-SVC-PKJNZ2BPYAP7WCVG - [0:0]
:KUBE-SEP-HR6IMOEJVBB6KJXA - [0:0]
-A KUBE-SVC-PKJNZ2BPYAP7WCVG -m comment --comment "default/db-service cluster IP" -m tcp -p tcp -d 10.103.132.104 --dport 3306 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-PKJNZ2BPYAP7WCVG -m comment --comment "default/db-service -> 10.244.1.2:3306" -j KUBE-SEP-HR6IMOEJVBB6KJXA
-A KUBE-SEP-HR6IMOEJVBB6KJXA -m comment --comment default/db-service -s 10.244.1.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-HR6IMOEJVBB6KJXA -m comment --comment default/db-service -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:3306
-A KUBE-SERVICES -m comment --comment "default/db-service cluster IP" -m tcp -p tcp -d 10.103.132.104 --dport 3306 -j KUBE-SVC-PKJNZ2BPYAP7WCVG
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
COMMIT
`;
const THREE = `nat: -A KUBE-SERVICES -m comment --comment "default/webui-svc:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 -j KUBE-SVC-XE5BJ75BFCO2IGLH
nat: -A KUBE-SVC-XE5BJ75BFCO2IGLH -m comment --comment "default/webui-svc:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
nat: -A KUBE-SVC-XE5BJ75BFCO2IGLH -m comment --comment "default/webui-svc:http -> 10.244.1.2:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-P6EH4HCJYU2AHYYR
nat: -A KUBE-SVC-XE5BJ75BFCO2IGLH -m comment --comment "default/webui-svc:http -> 10.244.2.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-TURJKNY7GDSDPNA4
nat: -A KUBE-SVC-XE5BJ75BFCO2IGLH -m comment --comment "default/webui-svc:http -> 10.244.3.2:8080" -j KUBE-SEP-2ARYGKTGQAALRBGX
nat: -A KUBE-SEP-P6EH4HCJYU2AHYYR -m comment --comment default/webui-svc:http -s 10.244.1.2 -j KUBE-MARK-MASQ
nat: -A KUBE-SEP-P6EH4HCJYU2AHYYR -m comment --comment default/webui-svc:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080
nat: -A KUBE-SEP-TURJKNY7GDSDPNA4 -m comment --comment default/webui-svc:http -s 10.244.2.2 -j KUBE-MARK-MASQ
nat: -A KUBE-SEP-TURJKNY7GDSDPNA4 -m comment --comment default/webui-svc:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
nat: -A KUBE-SEP-2ARYGKTGQAALRBGX -m comment --comment default/webui-svc:http -s 10.244.3.2 -j KUBE-MARK-MASQ
nat: -A KUBE-SEP-2ARYGKTGQAALRBGX -m comment --comment default/webui-svc:http -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:8080
`;
const NODEPORT = `nat: -A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.21 --dport 80 -j KUBE-SVC-CDGGSHYLG3RE2FKL
nat: -A KUBE-NODEPORTS -m comment --comment default/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-CDGGSHYLG3RE2FKL
nat: -A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.21 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
nat: -A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.1.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-UIQK3OSOSTRHRPBX
nat: -A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.2.2:8080" -j KUBE-SEP-4EX2N4PG4ASNZOBF
nat: -A KUBE-EXT-CDGGSHYLG3RE2FKL -m comment --comment "masquerade traffic for default/web:http external destinations" -j KUBE-MARK-MASQ
nat: -A KUBE-EXT-CDGGSHYLG3RE2FKL -j KUBE-SVC-CDGGSHYLG3RE2FKL
nat: -A KUBE-SEP-UIQK3OSOSTRHRPBX -m comment --comment default/web:http -s 10.244.1.2 -j KUBE-MARK-MASQ
nat: -A KUBE-SEP-UIQK3OSOSTRHRPBX -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080
nat: -A KUBE-SEP-4EX2N4PG4ASNZOBF -m comment --comment default/web:http -s 10.244.2.2 -j KUBE-MARK-MASQ
nat: -A KUBE-SEP-4EX2N4PG4ASNZOBF -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
`;
const AFFINITY = `nat: -A KUBE-SERVICES -m comment --comment "default/sticky:http cluster IP" -m tcp -p tcp -d 10.96.0.22 --dport 80 -j KUBE-SVC-T2ECBIYT2WDZZK45
nat: -A KUBE-SVC-T2ECBIYT2WDZZK45 -m comment --comment "default/sticky:http cluster IP" -m tcp -p tcp -d 10.96.0.22 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
nat: -A KUBE-SVC-T2ECBIYT2WDZZK45 -m comment --comment "default/sticky:http -> 10.244.1.2:8080" -m recent --name KUBE-SEP-KHNL7AWIV4WERVG5 --rcheck --seconds 10800 --reap -j KUBE-SEP-KHNL7AWIV4WERVG5
nat: -A KUBE-SVC-T2ECBIYT2WDZZK45 -m comment --comment "default/sticky:http -> 10.244.2.2:8080" -m recent --name KUBE-SEP-ACTH2TXPKCSKM6J7 --rcheck --seconds 10800 --reap -j KUBE-SEP-ACTH2TXPKCSKM6J7
nat: -A KUBE-SVC-T2ECBIYT2WDZZK45 -m comment --comment "default/sticky:http -> 10.244.1.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-KHNL7AWIV4WERVG5
nat: -A KUBE-SVC-T2ECBIYT2WDZZK45 -m comment --comment "default/sticky:http -> 10.244.2.2:8080" -j KUBE-SEP-ACTH2TXPKCSKM6J7
nat: -A KUBE-SEP-KHNL7AWIV4WERVG5 -m comment --comment default/sticky:http -s 10.244.1.2 -j KUBE-MARK-MASQ
nat: -A KUBE-SEP-KHNL7AWIV4WERVG5 -m comment --comment default/sticky:http -m recent --name KUBE-SEP-KHNL7AWIV4WERVG5 --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080
nat: -A KUBE-SEP-ACTH2TXPKCSKM6J7 -m comment --comment default/sticky:http -s 10.244.2.2 -j KUBE-MARK-MASQ
nat: -A KUBE-SEP-ACTH2TXPKCSKM6J7 -m comment --comment default/sticky:http -m recent --name KUBE-SEP-ACTH2TXPKCSKM6J7 --set -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080
`;
const NO_ENDPOINTS = `filter: -A KUBE-SERVICES -m comment --comment "default/empty:http has no endpoints" -m tcp -p tcp -d 10.96.0.23 --dport 80 -j REJECT
`;
const LOCAL = `filter: -A KUBE-NODEPORTS -m comment --comment "default/lb:http health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT
nat: -A KUBE-SERVICES -m comment --comment "default/lb:http cluster IP" -m tcp -p tcp -d 10.96.0.24 --dport 80 -j KUBE-SVC-JSLCNGWSGB5JPS5Q
nat: -A KUBE-SERVICES -m comment --comment "default/lb:http loadbalancer IP" -m tcp -p tcp -d 172.18.255.200 --dport 80 -j KUBE-EXT-JSLCNGWSGB5JPS5Q
nat: -A KUBE-NODEPORTS -m comment --comment default/lb:http -m tcp -p tcp --dport 30081 -j KUBE-EXT-JSLCNGWSGB5JPS5Q
nat: -A KUBE-SVC-JSLCNGWSGB5JPS5Q -m comment --comment "default/lb:http cluster IP" -m tcp -p tcp -d 10.96.0.24 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
nat: -A KUBE-SVC-JSLCNGWSGB5JPS5Q -m comment --comment "default/lb:http -> 10.244.1.5:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-RZ2QWLR55GE4AFV2
nat: -A KUBE-SVC-JSLCNGWSGB5JPS5Q -m comment --comment "default/lb:http -> 10.244.2.5:8080" -j KUBE-SEP-N66TPYP3IZN44SX2
nat: -A KUBE-EXT-JSLCNGWSGB5JPS5Q -m comment --comment "pod traffic for default/lb:http external destinations" -s 10.244.0.0/16 -j KUBE-SVC-JSLCNGWSGB5JPS5Q
nat: -A KUBE-EXT-JSLCNGWSGB5JPS5Q -m comment --comment "masquerade LOCAL traffic for default/lb:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
nat: -A KUBE-EXT-JSLCNGWSGB5JPS5Q -m comment --comment "route LOCAL traffic for default/lb:http external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-JSLCNGWSGB5JPS5Q
nat: -A KUBE-EXT-JSLCNGWSGB5JPS5Q -j KUBE-SVL-JSLCNGWSGB5JPS5Q
nat: -A KUBE-SVL-JSLCNGWSGB5JPS5Q -m comment --comment "default/lb:http -> 10.244.1.5:8080" -j KUBE-SEP-RZ2QWLR55GE4AFV2
nat: -A KUBE-SEP-RZ2QWLR55GE4AFV2 -m comment --comment default/lb:http -s 10.244.1.5 -j KUBE-MARK-MASQ
nat: -A KUBE-SEP-RZ2QWLR55GE4AFV2 -m comment --comment default/lb:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080
nat: -A KUBE-SEP-N66TPYP3IZN44SX2 -m comment --comment default/lb:http -s 10.244.2.5 -j KUBE-MARK-MASQ
nat: -A KUBE-SEP-N66TPYP3IZN44SX2 -m comment --comment default/lb:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.5:8080
`;
const LOADBALANCER = `filter: -A KUBE-PROXY-FIREWALL -m comment --comment "default/lb2:http traffic not accepted by KUBE-FW-LBYPAOV3RZZSNGQI" -m tcp -p tcp -d 172.18.255.201 --dport 80 -j DROP
nat: -A KUBE-SERVICES -m comment --comment "default/lb2:http cluster IP" -m tcp -p tcp -d 10.96.0.25 --dport 80 -j KUBE-SVC-LBYPAOV3RZZSNGQI
nat: -A KUBE-SERVICES -m comment --comment "default/lb2:http loadbalancer IP" -m tcp -p tcp -d 172.18.255.201 --dport 80 -j KUBE-FW-LBYPAOV3RZZSNGQI
nat: -A KUBE-NODEPORTS -m comment --comment default/lb2:http -m tcp -p tcp --dport 30082 -j KUBE-EXT-LBYPAOV3RZZSNGQI
nat: -A KUBE-SVC-LBYPAOV3RZZSNGQI -m comment --comment "default/lb2:http cluster IP" -m tcp -p tcp -d 10.96.0.25 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
nat: -A KUBE-SVC-LBYPAOV3RZZSNGQI -m comment --comment "default/lb2:http -> 10.244.1.6:8080" -j KUBE-SEP-YPEAV565JZRLLTZN
nat: -A KUBE-EXT-LBYPAOV3RZZSNGQI -m comment --comment "masquerade traffic for default/lb2:http external destinations" -j KUBE-MARK-MASQ
nat: -A KUBE-EXT-LBYPAOV3RZZSNGQI -j KUBE-SVC-LBYPAOV3RZZSNGQI
nat: -A KUBE-FW-LBYPAOV3RZZSNGQI -m comment --comment "default/lb2:http loadbalancer IP" -s 192.168.0.0/24 -j KUBE-EXT-LBYPAOV3RZZSNGQI
nat: -A KUBE-FW-LBYPAOV3RZZSNGQI -m comment --comment "other traffic to default/lb2:http will be dropped by KUBE-PROXY-FIREWALL"
nat: -A KUBE-SEP-YPEAV565JZRLLTZN -m comment --comment default/lb2:http -s 10.244.1.6 -j KUBE-MARK-MASQ
nat: -A KUBE-SEP-YPEAV565JZRLLTZN -m comment --comment default/lb2:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.6:8080
`;

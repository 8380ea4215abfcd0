import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createKlog } from './log.js';
import { categorizeEndpoints, servicePortsFromService } from './model.js';
import { makeService, makeSlice } from './testing.js';
import { ProxyState, ServiceChangeTracker } from './tracker.js';

const svc = makeService('default/db-service', { clusterIP: '10.103.132.104', ports: [{ name: '', port: 3306, protocol: 'TCP' }] });
const http = [{ name: 'http', port: 8080 }];

describe('model', () => {
  test('ExternalName and headless Services produce no ports', () => {
    assert.equal(servicePortsFromService(makeService('a/x', { type: 'ExternalName', ports: [{ port: 80 }] })).size, 0);
    assert.equal(servicePortsFromService(makeService('a/x', { clusterIP: 'None', ports: [{ port: 80 }] })).size, 0);
  });

  test("a port carries the Service's addresses, affinity and policies", () => {
    const info = [
      ...servicePortsFromService(
        makeService(
          'ns/lb',
          {
            type: 'LoadBalancer',
            clusterIP: '10.96.0.9',
            externalIPs: ['1.2.3.4'],
            sessionAffinity: 'ClientIP',
            externalTrafficPolicy: 'Local',
            healthCheckNodePort: 31000,
            ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }],
          },
          { loadBalancer: { ingress: [{ ip: '172.18.255.200' }, { ip: '172.18.255.201', ipMode: 'Proxy' }] } },
        ),
      ).values(),
    ][0]!;
    assert.equal(info.name, 'ns/lb:http');
    assert.deepEqual([info.clusterIP, info.port, info.nodePort, info.protocol], ['10.96.0.9', 80, 30080, 'TCP']);
    assert.deepEqual(info.externalIPs, ['1.2.3.4']);
    assert.deepEqual(info.loadBalancerVIPs, ['172.18.255.200']);
    assert.equal(info.stickySeconds, 10800);
    assert.equal(info.externalPolicyLocal, true);
    assert.equal(info.healthCheckNodePort, 31000);
  });

  test('categorizeEndpoints: ready first, then serving-terminating; Local keeps node-local ones', () => {
    const state = new ProxyState('node-1');
    state.onService(
      undefined,
      makeService('ns/s', { clusterIP: '10.96.0.1', internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80 }] }),
    );
    state.onEndpointSlice(
      makeSlice('ns/s', 's-1', http, [
        { ip: '10.0.0.1', node: 'node-1', ready: false, serving: true, terminating: true },
        { ip: '10.0.0.2', node: 'node-2' },
      ]),
    );
    state.apply();
    const info = state.services.get('ns/s:http/TCP')!;
    const cat = categorizeEndpoints(state.endpoints.get(info.key)!, info);
    assert.deepEqual(
      cat.localEndpoints.map((e) => e.ip),
      ['10.0.0.1'],
    );
    assert.deepEqual(cat.clusterEndpoints, []);
    assert.equal(cat.hasAnyEndpoints, true);
  });
});

describe('change trackers', () => {
  test('an add followed by a delete is no change at all', () => {
    const t = new ServiceChangeTracker();
    assert.equal(t.update(undefined, svc), true);
    assert.equal(t.update(svc, undefined), false);
    assert.equal(t.checkout().size, 0);
  });

  test('an update that changes nothing the proxy uses is dropped', () => {
    const t = new ServiceChangeTracker();
    const relabelled = { ...svc, metadata: { ...svc.metadata, annotations: {} } };
    assert.equal(t.update(svc, relabelled), false);
    const changed = makeService('default/db-service', { clusterIP: '10.103.132.104', ports: [{ port: 3307 }] });
    assert.equal(t.update(svc, changed), true);
    assert.deepEqual([...t.pendingChanges()], ['default/db-service']);
  });

  test('endpoint changes are merged per Service across slices and dropped when they cancel out', () => {
    const state = new ProxyState('node-1');
    state.onService(undefined, makeService('ns/s', { clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80 }] }));
    state.onEndpointSlice(makeSlice('ns/s', 'a', http, ['10.0.0.2']));
    state.onEndpointSlice(makeSlice('ns/s', 'b', http, ['10.0.0.1', '10.0.0.2']));
    state.apply();
    assert.deepEqual(
      state.endpoints.get('ns/s:http/TCP')!.map((e) => e.ip),
      ['10.0.0.1', '10.0.0.2'],
    );
    // Slice b loses 10.0.0.2, which slice a still has: the Service's endpoints do not change.
    assert.equal(state.onEndpointSlice(makeSlice('ns/s', 'b', http, ['10.0.0.1'])), false);
    assert.equal(state.pendingChanges().size, 0);
    assert.equal(state.onEndpointSlice(makeSlice('ns/s', 'a', http, []), true), true);
    assert.deepEqual([...state.apply().updatedServices], ['ns/s']);
    assert.deepEqual(
      state.endpoints.get('ns/s:http/TCP')!.map((e) => e.ip),
      ['10.0.0.1'],
    );
  });

  test('UDP endpoints that go away are reported for conntrack cleanup', () => {
    const state = new ProxyState('node-1');
    const dns = [{ name: 'dns', port: 53, protocol: 'UDP' }];
    state.onService(
      undefined,
      makeService('kube-system/kube-dns', { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
    );
    state.onEndpointSlice(makeSlice('kube-system/kube-dns', 'd', dns, ['10.244.0.5', '10.244.0.6']));
    assert.deepEqual(state.apply().newlyActiveUDPServices, ['kube-system/kube-dns:dns/UDP']);
    state.onEndpointSlice(makeSlice('kube-system/kube-dns', 'd', dns, ['10.244.0.6']));
    assert.deepEqual(state.apply().deletedUDPEndpoints, [
      { servicePortKey: 'kube-system/kube-dns:dns/UDP', clusterIP: '10.96.0.10', endpoint: '10.244.0.5:53' },
    ]);
    state.onService(
      state.services.size
        ? makeService('kube-system/kube-dns', { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] })
        : undefined,
      undefined,
    );
    assert.deepEqual([...state.apply().deletedUDPClusterIPs], ['10.96.0.10']);
  });

  test('logs kube-proxy\'s "Adding new service port" line', () => {
    const lines: string[] = [];
    const log = createKlog({ write: (l) => lines.push(l), now: () => new Date(2024, 2, 7, 4, 29, 30, 50).getTime(), pid: 1 });
    const state = new ProxyState('node-1', log);
    state.onService(
      undefined,
      makeService('default/db-service', { clusterIP: '10.103.132.104', ports: [{ name: '3306', port: 3306, protocol: 'TCP' }] }),
    );
    state.apply();
    assert.deepEqual(lines, [
      'I0307 04:29:30.050000       1 serviceport.go:206] "Adding new service port" portName="default/db-service:3306" servicePort="10.103.132.104:3306/TCP"\n',
    ]);
  });
});

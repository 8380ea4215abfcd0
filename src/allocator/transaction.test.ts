import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatusError } from '../api/errors.js';
import type { Service } from '../api/types/index.js';
import { NodePortAllocator } from './node-port.js';
import { AllocatorRepair } from './repair.js';
import { ServiceIPAllocator } from './service-ip.js';
import { allocateService, type ServiceAllocators } from './transaction.js';

function allocs(): ServiceAllocators {
  return { serviceIPs: new ServiceIPAllocator(), nodePorts: new NodePortAllocator() };
}

function svc(name: string, spec: NonNullable<Service['spec']>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: structuredClone(spec) };
}

const tcp80 = [{ name: 'http', port: 80, protocol: 'TCP' as const }];

function expectStatus(fn: () => unknown, code: number, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StatusError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  });
}

describe('allocateService: create', () => {
  test('ClusterIP gets an IP, families and policy defaulted', () => {
    const a = allocs();
    const s = svc('web', { type: 'ClusterIP', ports: tcp80 });
    allocateService(a, s, undefined).commit();
    assert.ok(a.serviceIPs.has(s.spec?.clusterIP as string));
    assert.deepEqual(s.spec?.clusterIPs, [s.spec?.clusterIP]);
    assert.deepEqual(s.spec?.ipFamilies, ['IPv4']);
    assert.equal(s.spec?.ipFamilyPolicy, 'SingleStack');
    assert.equal(s.spec?.ports?.[0].nodePort, undefined);
  });

  test('user-chosen clusterIP (singular only) is reserved and mirrored into clusterIPs', () => {
    const a = allocs();
    const s = svc('web', { clusterIP: '10.100.100.100', ports: tcp80 });
    allocateService(a, s, undefined).commit();
    assert.deepEqual(s.spec?.clusterIPs, ['10.100.100.100']);
    assert.ok(a.serviceIPs.has('10.100.100.100'));
  });

  const errorCases: [string, NonNullable<Service['spec']>, number, string][] = [
    [
      'clusterIP out of range',
      { clusterIP: '10.0.0.10', ports: tcp80 },
      422,
      'Service "bad" is invalid: spec.clusterIPs: Invalid value: []string{"10.0.0.10"}: failed to allocate IP 10.0.0.10: provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12',
    ],
    [
      'clusterIP taken',
      { clusterIP: '10.96.0.10', ports: tcp80 },
      422,
      'Service "bad" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated',
    ],
    [
      'nodePort out of range',
      { type: 'NodePort', ports: [{ port: 80, nodePort: 40000 }] },
      422,
      'Service "bad" is invalid: spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767',
    ],
    [
      'nodePort taken',
      { type: 'NodePort', ports: [{ port: 80 }, { port: 81, nodePort: 30200 }] },
      422,
      'Service "bad" is invalid: spec.ports[1].nodePort: Invalid value: 30200: provided port is already allocated',
    ],
    [
      'IPv6 family on an IPv4 cluster',
      { ipFamilies: ['IPv6'], ports: tcp80 },
      422,
      'Service "bad" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster',
    ],
    [
      'RequireDualStack on a single-stack cluster',
      { ipFamilyPolicy: 'RequireDualStack', selector: { app: 'x' }, ports: tcp80 },
      422,
      'Service "bad" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services',
    ],
    [
      'health check node port taken',
      { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 30200, ports: tcp80 },
      500,
      'Internal error occurred: failed to allocate requested HealthCheck NodePort 30200: provided port is already allocated',
    ],
  ];
  for (const [name, spec, code, message] of errorCases) {
    test(`error: ${name}, and nothing is left allocated`, () => {
      const a = allocs();
      allocateService(
        a,
        svc('dns', { clusterIP: '10.96.0.10', type: 'NodePort', ports: [{ port: 53, nodePort: 30200 }] }),
        undefined,
      ).commit();
      const ipsBefore = a.serviceIPs.used();
      const portsBefore = a.nodePorts.used();
      expectStatus(() => allocateService(a, svc('bad', spec), undefined), code, message);
      assert.equal(a.serviceIPs.used(), ipsBefore);
      assert.equal(a.nodePorts.used(), portsBefore);
    });
  }

  test('range full is a 500 with kube text', () => {
    const a: ServiceAllocators = { serviceIPs: new ServiceIPAllocator('10.0.0.0/30'), nodePorts: new NodePortAllocator('30000-30000') };
    allocateService(a, svc('a', { ports: tcp80 }), undefined).commit();
    allocateService(a, svc('b', { ports: tcp80 }), undefined).commit();
    expectStatus(
      () => allocateService(a, svc('c', { ports: tcp80 }), undefined),
      500,
      'Internal error occurred: failed to allocate a serviceIP: range is full',
    );
    const b: ServiceAllocators = { serviceIPs: new ServiceIPAllocator(), nodePorts: new NodePortAllocator('30000-30000') };
    expectStatus(
      () => allocateService(b, svc('c', { type: 'NodePort', ports: [{ port: 1 }, { port: 2 }] }), undefined),
      500,
      'Internal error occurred: failed to allocate a nodePort: range is full',
    );
    assert.equal(b.nodePorts.used(), 0);
    assert.equal(b.serviceIPs.used(), 0, 'the clusterIP taken before the failure was given back');
  });

  test('headless and ExternalName take no IP; headless selectorless defaults to RequireDualStack with both families', () => {
    const a = allocs();
    const headless = svc('h', { clusterIP: 'None', selector: { app: 'x' }, ports: tcp80 });
    const selectorless = svc('hs', { clusterIP: 'None', ports: tcp80 });
    const ext = svc('e', { type: 'ExternalName', externalName: 'google.com' });
    for (const s of [headless, selectorless, ext]) allocateService(a, s, undefined).commit();
    assert.equal(a.serviceIPs.used(), 0);
    assert.deepEqual(headless.spec?.clusterIPs, ['None']);
    assert.equal(headless.spec?.ipFamilyPolicy, 'SingleStack');
    assert.equal(selectorless.spec?.ipFamilyPolicy, 'RequireDualStack');
    assert.deepEqual(selectorless.spec?.ipFamilies, ['IPv4', 'IPv6']);
    assert.equal(ext.spec?.clusterIP, undefined);
    assert.equal(ext.spec?.ipFamilies, undefined);
  });

  test('NodePort: static and dynamic; TCP and UDP of the same port share one node port', () => {
    const a = allocs();
    const s = svc('dns', {
      type: 'NodePort',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        { name: 'web', port: 80, nodePort: 30200 },
      ],
    });
    allocateService(a, s, undefined).commit();
    const [udp, tcp, web] = s.spec?.ports ?? [];
    assert.equal(udp.nodePort, tcp.nodePort);
    assert.equal(web.nodePort, 30200);
    assert.equal(a.nodePorts.used(), 2);
  });

  test('LoadBalancer: node ports unless allocateLoadBalancerNodePorts is false; health check port for Local', () => {
    const a = allocs();
    const lb = svc('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: tcp80 });
    allocateService(a, lb, undefined).commit();
    assert.ok(lb.spec?.ports?.[0].nodePort);
    assert.ok(lb.spec?.healthCheckNodePort);
    const noNp = svc('lb2', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: tcp80 });
    allocateService(a, noNp, undefined).commit();
    assert.equal(noNp.spec?.ports?.[0].nodePort, undefined);
    assert.equal(noNp.spec?.healthCheckNodePort, undefined);
    assert.equal(a.nodePorts.used(), 2);
  });

  test('revert gives back everything taken', () => {
    const a = allocs();
    const s = svc('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: tcp80 });
    const txn = allocateService(a, s, undefined);
    assert.equal(a.nodePorts.used(), 2);
    txn.revert();
    txn.commit();
    assert.equal(a.nodePorts.used(), 0);
    assert.equal(a.serviceIPs.used(), 0);
  });
});

describe('allocateService: update and delete', () => {
  function created(a: ServiceAllocators, spec: NonNullable<Service['spec']>): Service {
    const s = svc('web', spec);
    allocateService(a, s, undefined).commit();
    return s;
  }

  test('re-applying a manifest without allocated values keeps them (patchAllocatedValues)', () => {
    const a = allocs();
    const old = created(a, { type: 'NodePort', ports: tcp80 });
    const next = svc('web', { type: 'NodePort', ports: tcp80 });
    allocateService(a, next, old).commit();
    assert.equal(next.spec?.clusterIP, old.spec?.clusterIP);
    assert.equal(next.spec?.ports?.[0].nodePort, old.spec?.ports?.[0].nodePort);
    assert.equal(a.nodePorts.used(), 1);
    assert.equal(a.serviceIPs.used(), 1);
  });

  const typeChanges: [string, NonNullable<Service['spec']>, (old: Service) => NonNullable<Service['spec']>, number, number][] = [
    ['ClusterIP → NodePort allocates a node port', { ports: tcp80 }, (o) => ({ ...o.spec, type: 'NodePort' }), 1, 1],
    ['NodePort → ClusterIP releases node ports', { type: 'NodePort', ports: tcp80 }, (o) => ({ ...o.spec, type: 'ClusterIP' }), 1, 0],
    ['NodePort → LoadBalancer keeps node ports', { type: 'NodePort', ports: tcp80 }, (o) => ({ ...o.spec, type: 'LoadBalancer' }), 1, 1],
    [
      'LoadBalancer(Local) → ClusterIP releases node and health-check ports',
      { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: tcp80 },
      (o) => ({ ...o.spec, type: 'ClusterIP' }),
      1,
      0,
    ],
    [
      'LoadBalancer Local → Cluster releases the health-check port',
      { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: tcp80 },
      (o) => ({ ...o.spec, externalTrafficPolicy: 'Cluster' }),
      1,
      1,
    ],
    [
      'ClusterIP → ExternalName releases the IP',
      { ports: tcp80 },
      (o) => ({ ...o.spec, type: 'ExternalName', externalName: 'example.com' }),
      0,
      0,
    ],
    [
      'NodePort → ExternalName releases everything',
      { type: 'NodePort', ports: tcp80 },
      (o) => ({ ...o.spec, type: 'ExternalName', externalName: 'example.com' }),
      0,
      0,
    ],
    [
      'ExternalName → ClusterIP allocates an IP',
      { type: 'ExternalName', externalName: 'example.com' },
      () => ({ type: 'ClusterIP', ports: tcp80 }),
      1,
      0,
    ],
    [
      'ExternalName → LoadBalancer allocates IP and node port',
      { type: 'ExternalName', externalName: 'example.com' },
      () => ({ type: 'LoadBalancer', ports: tcp80 }),
      1,
      1,
    ],
  ];
  for (const [name, before, after, ips, ports] of typeChanges) {
    test(name, () => {
      const a = allocs();
      const old = created(a, before);
      const next = svc('web', structuredClone(after(old)));
      allocateService(a, next, old).commit();
      assert.equal(a.serviceIPs.used(), ips, 'cluster IPs held');
      assert.equal(a.nodePorts.used(), ports, 'node ports held');
      if (next.spec?.type === 'ExternalName') {
        assert.equal(next.spec.clusterIP, undefined);
        assert.equal(next.spec.clusterIPs, undefined);
        assert.equal(next.spec.ipFamilies, undefined);
      } else {
        assert.ok(a.serviceIPs.has(next.spec?.clusterIP as string));
      }
      if (next.spec?.type === 'ClusterIP') assert.equal(next.spec.ports?.[0].nodePort, undefined, 'nodePort cleared');
      const held = (next.spec?.ports ?? []).map((p) => p.nodePort).filter(Boolean);
      for (const p of held) assert.ok(a.nodePorts.has(p as number));
    });
  }

  test('a failed update write (revert) keeps the old values and frees the new ones', () => {
    const a = allocs();
    const old = created(a, { type: 'NodePort', ports: tcp80 });
    const oldPort = old.spec?.ports?.[0].nodePort as number;
    const next = svc('web', { ...structuredClone(old.spec), type: 'ClusterIP', ports: [{ port: 80 }, { port: 81 }] });
    next.spec = { ...next.spec, type: 'LoadBalancer', externalTrafficPolicy: 'Local' };
    allocateService(a, next, old).revert();
    assert.ok(a.nodePorts.has(oldPort));
    assert.equal(a.nodePorts.used(), 1);
    assert.equal(a.serviceIPs.used(), 1);
  });

  test('changing a node port allocates the new one and frees the old on commit only', () => {
    const a = allocs();
    const old = created(a, { type: 'NodePort', ports: [{ port: 80, nodePort: 30100 }] });
    const next = svc('web', { ...structuredClone(old.spec), ports: [{ port: 80, nodePort: 30101 }] });
    const txn = allocateService(a, next, old);
    assert.ok(a.nodePorts.has(30100) && a.nodePorts.has(30101));
    txn.commit();
    assert.deepEqual([a.nodePorts.has(30100), a.nodePorts.has(30101)], [false, true]);
  });

  test('delete releases everything on commit, nothing on revert', () => {
    const a = allocs();
    const old = created(a, { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: tcp80 });
    allocateService(a, undefined, old).revert();
    assert.equal(a.nodePorts.used(), 2);
    allocateService(a, undefined, old).commit();
    assert.equal(a.nodePorts.used(), 0);
    assert.equal(a.serviceIPs.used(), 0);
  });
});

describe('AllocatorRepair', () => {
  test('rebuilds from stored Services, reports duplicates, out-of-range and repairs', async () => {
    const a = allocs();
    const stored: Service[] = [
      svc('a', { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
      svc('b', { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
      svc('c', { clusterIP: '10.0.0.1', clusterIPs: ['10.0.0.1'] }),
      svc('h', { clusterIP: 'None', clusterIPs: ['None'] }),
      svc('lb', {
        clusterIP: '10.96.0.21',
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 30999,
        ports: [{ port: 80, nodePort: 30081 }],
      }),
    ];
    const r = new AllocatorRepair({ listServices: () => stored, ...a });
    const report = await r.runOnce();
    assert.deepEqual(
      report.duplicates.map((d) => [d.kind, d.value, d.services]),
      [
        ['ClusterIP', '10.96.0.20', ['default/a', 'default/b']],
        ['NodePort', 30080, ['default/a', 'default/b']],
      ],
    );
    assert.deepEqual(
      report.outOfRange.map((d) => d.value),
      ['10.0.0.1'],
    );
    assert.equal(
      report.outOfRange[0].message,
      'Cluster IP [IPv4]: 10.0.0.1 is not within the configured Service CIDR 10.96.0.0/12; please recreate service',
    );
    assert.deepEqual(report.repaired.map((d) => d.value).sort(), ['10.96.0.20', '10.96.0.21', 30080, 30081, 30999].sort());
    assert.deepEqual([a.serviceIPs.used(), a.nodePorts.used()], [2, 3]);
    const again = await r.runOnce();
    assert.equal(again.repaired.length, 0, 'a second pass finds nothing to repair');
  });

  test('leaks are flagged, then freed after the grace runs; a Service reappearing cancels it', async () => {
    const a = allocs();
    a.serviceIPs.allocate('10.96.0.50');
    a.nodePorts.allocate(30500);
    let stored: Service[] = [];
    const r = new AllocatorRepair({ listServices: () => stored, ...a, leakGraceRuns: 2 });
    const first = await r.runOnce();
    assert.deepEqual(
      first.leaksFlagged.map((l) => l.value),
      ['10.96.0.50', 30500],
    );
    assert.ok(a.serviceIPs.has('10.96.0.50'), 'still held during the grace period');
    const second = await r.runOnce();
    assert.deepEqual(
      second.leaksFreed.map((l) => l.value),
      ['10.96.0.50', 30500],
    );
    assert.equal(a.serviceIPs.has('10.96.0.50'), false);
    assert.equal(a.nodePorts.has(30500), false);

    a.serviceIPs.allocate('10.96.0.51');
    await r.runOnce();
    stored = [svc('late', { clusterIP: '10.96.0.51' })];
    const third = await r.runOnce();
    assert.equal(third.leaksFreed.length, 0);
    assert.ok(a.serviceIPs.has('10.96.0.51'));
  });

  test('allocations made while the list is in flight are kept', async () => {
    const a = allocs();
    const r = new AllocatorRepair({
      listServices: async () => {
        a.serviceIPs.allocate('10.96.0.77');
        return [];
      },
      ...a,
    });
    const report = await r.runOnce();
    assert.equal(report.leaksFlagged.length, 0);
    assert.ok(a.serviceIPs.has('10.96.0.77'));
  });
});

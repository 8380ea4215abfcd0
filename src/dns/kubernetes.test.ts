import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterIndex, type EndpointSliceObject } from './cluster-index.js';
import { answer, type KubernetesConfig } from './kubernetes.js';
import { toZoneText } from './zone-text.js';

const config: KubernetesConfig = { domain: 'cluster.local', ttl: 30, podMode: 'insecure', nameserverIPs: ['10.96.0.10'] };
const SOA = 'cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 30';

function slice(
  name: string,
  service: string,
  endpoints: EndpointSliceObject['endpoints'],
  ports = [{ name: 'http', protocol: 'TCP', port: 80 }],
) {
  return {
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}

function cluster(): ClusterIndex {
  const index = new ClusterIndex();
  index.upsertService({
    metadata: { name: 'webui-svc', namespace: 'default' },
    spec: { clusterIP: '10.100.100.100', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
  });
  index.upsertService({
    metadata: { name: 'dual', namespace: 'default' },
    spec: {
      clusterIPs: ['10.96.5.5', 'fd00:10:96::5'],
      ports: [
        { name: 'http', protocol: 'TCP', port: 80 },
        { name: 'dns', protocol: 'UDP', port: 53 },
      ],
    },
  });
  index.upsertService({
    metadata: { name: 'nginx', namespace: 'default' },
    spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] },
  });
  index.upsertEndpointSlice(
    slice('nginx-abc', 'nginx', [
      { addresses: ['10.244.1.2'], conditions: { ready: true }, hostname: 'web-0' },
      { addresses: ['10.244.1.3'], conditions: { ready: true } },
      { addresses: ['10.244.2.4'], conditions: { ready: true } },
      { addresses: ['10.244.2.9'], conditions: { ready: false } },
    ]),
  );
  index.upsertService({ metadata: { name: 'ext', namespace: 'other' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
  index.upsertService({
    metadata: { name: 'alias', namespace: 'other' },
    spec: { type: 'ExternalName', externalName: 'webui-svc.default.svc.cluster.local' },
  });
  index.upsertNamespace({ metadata: { name: 'empty' } });
  index.upsertPod({ metadata: { name: 'p', namespace: 'default' }, status: { podIP: '10.244.1.2' } });
  index.markSynced();
  index.lastModified = 1700000000;
  return index;
}

function ask(index: ClusterIndex, name: string, type: string, cfg = config) {
  const a = answer({ name, type }, index, cfg);
  return {
    rcode: a.rcode,
    answer: toZoneText(a.answers),
    authority: toZoneText(a.authority),
    additional: toZoneText(a.additional),
    chase: a.chase,
    fallthrough: a.fallthrough,
  };
}

describe('kubernetes answer logic', () => {
  const index = cluster();

  const positive: [string, string, string[], string[]?][] = [
    ['dns-version.cluster.local', 'TXT', ['dns-version.cluster.local. 28800 IN TXT "1.1.0"']],
    ['webui-svc.default.svc.cluster.local', 'A', ['webui-svc.default.svc.cluster.local. 30 IN A 10.100.100.100']],
    ['WebUI-Svc.Default.SVC.cluster.LOCAL.', 'A', ['webui-svc.default.svc.cluster.local. 30 IN A 10.100.100.100']],
    ['dual.default.svc.cluster.local', 'AAAA', ['dual.default.svc.cluster.local. 30 IN AAAA fd00:10:96::5']],
    [
      '_http._tcp.webui-svc.default.svc.cluster.local',
      'SRV',
      ['_http._tcp.webui-svc.default.svc.cluster.local. 30 IN SRV 0 100 80 webui-svc.default.svc.cluster.local.'],
      ['webui-svc.default.svc.cluster.local. 30 IN A 10.100.100.100'],
    ],
    [
      'dual.default.svc.cluster.local',
      'SRV',
      [
        'dual.default.svc.cluster.local. 30 IN SRV 0 50 80 dual.default.svc.cluster.local.',
        'dual.default.svc.cluster.local. 30 IN SRV 0 50 53 dual.default.svc.cluster.local.',
      ],
      ['dual.default.svc.cluster.local. 30 IN A 10.96.5.5', 'dual.default.svc.cluster.local. 30 IN AAAA fd00:10:96::5'],
    ],
    [
      '_dns._udp.dual.default.svc.cluster.local',
      'SRV',
      ['_dns._udp.dual.default.svc.cluster.local. 30 IN SRV 0 100 53 dual.default.svc.cluster.local.'],
    ],
    [
      'nginx.default.svc.cluster.local',
      'A',
      [
        'nginx.default.svc.cluster.local. 30 IN A 10.244.1.2',
        'nginx.default.svc.cluster.local. 30 IN A 10.244.1.3',
        'nginx.default.svc.cluster.local. 30 IN A 10.244.2.4',
      ],
    ],
    ['web-0.nginx.default.svc.cluster.local', 'A', ['web-0.nginx.default.svc.cluster.local. 30 IN A 10.244.1.2']],
    ['10-244-1-3.nginx.default.svc.cluster.local', 'A', ['10-244-1-3.nginx.default.svc.cluster.local. 30 IN A 10.244.1.3']],
    [
      '_http._tcp.nginx.default.svc.cluster.local',
      'SRV',
      [
        '_http._tcp.nginx.default.svc.cluster.local. 30 IN SRV 0 33 80 web-0.nginx.default.svc.cluster.local.',
        '_http._tcp.nginx.default.svc.cluster.local. 30 IN SRV 0 33 80 10-244-1-3.nginx.default.svc.cluster.local.',
        '_http._tcp.nginx.default.svc.cluster.local. 30 IN SRV 0 33 80 10-244-2-4.nginx.default.svc.cluster.local.',
      ],
      [
        'web-0.nginx.default.svc.cluster.local. 30 IN A 10.244.1.2',
        '10-244-1-3.nginx.default.svc.cluster.local. 30 IN A 10.244.1.3',
        '10-244-2-4.nginx.default.svc.cluster.local. 30 IN A 10.244.2.4',
      ],
    ],
    ['ext.other.svc.cluster.local', 'CNAME', ['ext.other.svc.cluster.local. 30 IN CNAME example.com.']],
    [
      'alias.other.svc.cluster.local',
      'A',
      [
        'alias.other.svc.cluster.local. 30 IN CNAME webui-svc.default.svc.cluster.local.',
        'webui-svc.default.svc.cluster.local. 30 IN A 10.100.100.100',
      ],
    ],
    ['100.100.100.10.in-addr.arpa', 'PTR', ['100.100.100.10.in-addr.arpa. 30 IN PTR webui-svc.default.svc.cluster.local.']],
    ['2.1.244.10.in-addr.arpa', 'PTR', ['2.1.244.10.in-addr.arpa. 30 IN PTR web-0.nginx.default.svc.cluster.local.']],
    ['4.2.244.10.in-addr.arpa', 'PTR', ['4.2.244.10.in-addr.arpa. 30 IN PTR 10-244-2-4.nginx.default.svc.cluster.local.']],
    [
      '5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa',
      'PTR',
      ['5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 30 IN PTR dual.default.svc.cluster.local.'],
    ],
    ['10-244-7-7.default.pod.cluster.local', 'A', ['10-244-7-7.default.pod.cluster.local. 30 IN A 10.244.7.7']],
    ['cluster.local', 'SOA', [SOA]],
    ['cluster.local', 'NS', ['cluster.local. 30 IN NS ns.dns.cluster.local.'], ['ns.dns.cluster.local. 30 IN A 10.96.0.10']],
  ];
  for (const [name, type, want, additional] of positive) {
    test(`${name} ${type}`, () => {
      const got = ask(index, name, type);
      assert.equal(got.rcode, 'NOERROR');
      assert.deepEqual(got.answer, want);
      assert.deepEqual(got.authority, []);
      if (additional) assert.deepEqual(got.additional, additional);
    });
  }

  const negative: [string, string, 'NXDOMAIN' | 'NOERROR'][] = [
    ['missing.default.svc.cluster.local', 'A', 'NXDOMAIN'],
    ['webui-svc.nonexistent.svc.cluster.local', 'A', 'NXDOMAIN'],
    ['webui-svc.default.svc.cluster.local', 'AAAA', 'NOERROR'],
    ['webui-svc.default.svc.cluster.local', 'TXT', 'NOERROR'],
    ['_http._udp.webui-svc.default.svc.cluster.local', 'SRV', 'NXDOMAIN'],
    ['_nope._tcp.webui-svc.default.svc.cluster.local', 'SRV', 'NXDOMAIN'],
    ['10-244-2-9.nginx.default.svc.cluster.local', 'A', 'NXDOMAIN'],
    ['default.svc.cluster.local', 'A', 'NOERROR'],
    ['empty.svc.cluster.local', 'A', 'NOERROR'],
    ['svc.cluster.local', 'A', 'NOERROR'],
    ['cluster.local', 'A', 'NOERROR'],
    ['dns-version.cluster.local', 'A', 'NOERROR'],
    ['nothing.cluster.local', 'A', 'NXDOMAIN'],
    ['a.b.c.d.e.svc.cluster.local', 'A', 'NXDOMAIN'],
    ['ext.other.svc.cluster.local', 'SRV', 'NOERROR'],
    ['10-244-7-7.nowhere.pod.cluster.local', 'A', 'NXDOMAIN'],
    ['not-an-ip.default.pod.cluster.local', 'A', 'NXDOMAIN'],
  ];
  for (const [name, type, rcode] of negative) {
    test(`${name} ${type} → ${rcode === 'NOERROR' ? 'NODATA' : rcode} with SOA`, () => {
      const got = ask(index, name, type);
      assert.equal(got.rcode, rcode);
      assert.deepEqual(got.answer, []);
      assert.deepEqual(got.authority, [SOA]);
    });
  }

  test('ExternalName outside the zone asks the upstream to resolve its target', () => {
    const got = ask(index, 'ext.other.svc.cluster.local', 'A');
    assert.deepEqual(got.answer, ['ext.other.svc.cluster.local. 30 IN CNAME example.com.']);
    assert.deepEqual(got.chase, { target: 'example.com', type: 'A' });
  });

  test('names outside the cluster zone and unknown reverse names fall through', () => {
    assert.equal(ask(index, 'example.com', 'A').fallthrough, true);
    assert.equal(ask(index, '1.1.168.192.in-addr.arpa', 'PTR').fallthrough, true);
  });

  test('before the informers have synced the zone answers SERVFAIL, not NXDOMAIN', () => {
    const fresh = new ClusterIndex();
    assert.equal(ask(fresh, 'webui-svc.default.svc.cluster.local', 'A').rcode, 'SERVFAIL');
    fresh.markSynced();
    assert.equal(ask(fresh, 'webui-svc.default.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
  });

  test('a headless Service with 3 pods: A records follow the EndpointSlice', () => {
    const idx = new ClusterIndex();
    idx.upsertService({ metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None' } });
    idx.markSynced();
    const a = () => ask(idx, 'db.default.svc.cluster.local', 'A');
    assert.equal(a().rcode, 'NXDOMAIN');
    const ep = (ip: string, ready = true) => ({ addresses: [ip], conditions: { ready } });
    idx.upsertEndpointSlice(slice('db-1', 'db', [ep('10.244.0.1'), ep('10.244.0.2'), ep('10.244.0.3')], []));
    assert.deepEqual(a().answer, [
      'db.default.svc.cluster.local. 30 IN A 10.244.0.1',
      'db.default.svc.cluster.local. 30 IN A 10.244.0.2',
      'db.default.svc.cluster.local. 30 IN A 10.244.0.3',
    ]);
    idx.upsertEndpointSlice(slice('db-1', 'db', [ep('10.244.0.1'), ep('10.244.0.3', false), ep('10.244.0.4')], []));
    assert.deepEqual(a().answer, ['db.default.svc.cluster.local. 30 IN A 10.244.0.1', 'db.default.svc.cluster.local. 30 IN A 10.244.0.4']);
    idx.upsertService({ metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None', publishNotReadyAddresses: true } });
    assert.equal(a().answer.length, 3);
    idx.deleteEndpointSlice('default', 'db-1');
    assert.equal(a().rcode, 'NXDOMAIN');
  });

  test('pod records follow the pod mode', () => {
    const name = '10-244-7-7.default.pod.cluster.local';
    assert.equal(ask(index, name, 'A', { ...config, podMode: 'disabled' }).rcode, 'NXDOMAIN');
    assert.equal(ask(index, name, 'A', { ...config, podMode: 'verified' }).rcode, 'NXDOMAIN');
    assert.deepEqual(ask(index, '10-244-1-2.default.pod.cluster.local', 'A', { ...config, podMode: 'verified' }).answer, [
      '10-244-1-2.default.pod.cluster.local. 30 IN A 10.244.1.2',
    ]);
  });

  test('the TTL is configurable', () => {
    assert.deepEqual(ask(index, 'webui-svc.default.svc.cluster.local', 'A', { ...config, ttl: 5 }).answer, [
      'webui-svc.default.svc.cluster.local. 5 IN A 10.100.100.100',
    ]);
  });

  test('the change counter moves on every change', () => {
    const idx = new ClusterIndex();
    const before = idx.generation;
    idx.upsertService({ metadata: { name: 'a', namespace: 'x' }, spec: { clusterIP: '10.96.0.50' } });
    idx.deleteService('x', 'a');
    assert.equal(idx.generation, before + 2);
    assert.equal(idx.serviceByClusterIP('10.96.0.50'), undefined);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import { startServer } from '../../src/apiserver/server.js';
import { type Client, R } from '../../src/client/types.js';
import { writeKubeconfig } from '../../src/cluster/kubeconfig.js';
import { ensurePki, newToken } from '../../src/cluster/pki.js';
import { dnsCommandConfig, parseHostPort, type RunningClusterDns, runClusterDns, runDnsCommand } from '../../src/dns/run.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';
import { dig, freePort, startFakeUpstream } from './helpers.js';

/** Polls `check` until it stops throwing (informer events arrive asynchronously). */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function slice(name: string, service: string, ips: string[]): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
  } as unknown as KubeObject;
}

function aRecords(name: string, ips: string[]): string[] {
  return ips.map((ip) => `${name}. 30 IN A ${ip}`).sort();
}

describe('runClusterDns against the real API server', () => {
  let api: TestApiServer;
  let dns: RunningClusterDns;
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  let port: number;

  before(async () => {
    api = await startTestApiServer();
    upstream = await startFakeUpstream();
    const client: Client = api.client;
    await client.create(R.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', namespace: 'default' },
      spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'http', port: 80 }] },
    } as unknown as KubeObject);
    await client.create(R.endpointslices, slice('db-abcde', 'db', ['10.244.1.1', '10.244.1.2', '10.244.1.3']));
    dns = await runClusterDns(client, {
      listen: { host: '127.0.0.1', port: 0 },
      metricsPort: 0,
      config: { upstreams: [`127.0.0.1:${upstream.port}`] },
    });
    port = dns.address().port;
    assert.equal(await dns.synced, true);
  });
  after(async () => {
    await dns?.close();
    await upstream?.close();
    await api?.close();
  });

  test('a headless Service with 3 endpoints: 3 A records, then 2 when one goes', async () => {
    const name = 'db.default.svc.cluster.local';
    assert.deepEqual((await dig(port, [name, 'A'])).records.sort(), aRecords(name, ['10.244.1.1', '10.244.1.2', '10.244.1.3']));
    const current = await api.client.get<KubeObject & { endpoints: unknown[] }>(R.endpointslices, 'db-abcde', 'default');
    current.endpoints = current.endpoints.filter((e) => (e as { addresses: string[] }).addresses[0] !== '10.244.1.2');
    await api.client.update(R.endpointslices, current);
    await eventually(async () =>
      assert.deepEqual((await dig(port, [name, 'A'])).records.sort(), aRecords(name, ['10.244.1.1', '10.244.1.3'])),
    );
  });

  test('ClusterIP Service: the allocated address, and NXDOMAIN once deleted', async () => {
    const svc = (await api.client.create(R.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'webui-svc', namespace: 'default' },
      spec: { ports: [{ name: 'http', port: 80 }] },
    } as unknown as KubeObject)) as KubeObject & { spec: { clusterIP: string } };
    const name = 'webui-svc.default.svc.cluster.local';
    await eventually(async () => assert.deepEqual((await dig(port, [name, 'A'])).records, [`${name}. 30 IN A ${svc.spec.clusterIP}`]));
    await api.client.delete(R.services, 'webui-svc', { namespace: 'default' });
    await eventually(async () => assert.equal((await dig(port, [name, 'A'])).status, 'NXDOMAIN'));
  });

  test('ExternalName Service: a CNAME, with the target chased through the upstream', async () => {
    await api.client.create(R.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ext', namespace: 'default' },
      spec: { type: 'ExternalName', externalName: 'www.example.test' },
    } as unknown as KubeObject);
    const name = 'ext.default.svc.cluster.local';
    await eventually(async () => assert.deepEqual((await dig(port, [name, 'CNAME'])).records, [`${name}. 30 IN CNAME www.example.test.`]));
    assert.deepEqual((await dig(port, [name, 'A'])).records, [
      `${name}. 30 IN CNAME www.example.test.`,
      'www.example.test. 300 IN A 192.0.2.1',
    ]);
  });

  test('namespaces come from the Namespace informer: NODATA for an empty one, NXDOMAIN once deleted', async () => {
    await api.client.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'empty' } } as KubeObject);
    await eventually(async () => {
      const r = await dig(port, ['empty.svc.cluster.local', 'A']);
      assert.equal(r.status, 'NOERROR');
      assert.equal(r.records.length, 1); // the SOA
    });
    assert.equal((await dig(port, ['missing.svc.cluster.local', 'A'])).status, 'NXDOMAIN');
  });

  test('ready once synced', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${dns.metricsPort}/ready`)).status, 200);
  });
});

describe('runClusterDns before the initial lists', () => {
  test('SERVFAIL and not ready while the lists hang, answers after', async () => {
    const api = await startTestApiServer();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    // Holds every list until released, as a slow API server would.
    const slow: Client = new Proxy(api.client, {
      get(target, prop, receiver) {
        if (prop === 'list')
          return async (...args: Parameters<Client['list']>) => {
            await gate;
            return target.list(...args);
          };
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const dns = await runClusterDns(slow, { listen: { host: '127.0.0.1', port: 0 }, metricsPort: 0, config: { upstreams: [] } });
    try {
      const port = dns.address().port;
      assert.equal((await dig(port, ['kubernetes.default.svc.cluster.local', 'A'])).status, 'SERVFAIL');
      assert.equal((await fetch(`http://127.0.0.1:${dns.metricsPort}/ready`)).status, 503);
      release();
      assert.equal(await dns.synced, true);
      const r = await dig(port, ['kubernetes.default.svc.cluster.local', 'A']);
      assert.deepEqual(r.records, ['kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1']);
    } finally {
      await dns.close();
      await api.close();
    }
  });

  test('verified pod records come from the Pod informer', async () => {
    const api = await startTestApiServer();
    const dns = await runClusterDns(api.client, {
      listen: { host: '127.0.0.1', port: 0 },
      config: { upstreams: [], podMode: 'verified' },
    });
    try {
      assert.equal(await dns.synced, true);
      const pod = await api.client.create(R.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace: 'default' },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      } as unknown as KubeObject);
      await api.client.update(
        R.pods,
        { ...pod, status: { phase: 'Running', podIP: '10.244.0.7', podIPs: [{ ip: '10.244.0.7' }] } } as KubeObject,
        { subresource: 'status' },
      );
      const name = '10-244-0-7.default.pod.cluster.local';
      await eventually(async () => assert.deepEqual((await dig(port(dns), [name, 'A'])).records, [`${name}. 30 IN A 10.244.0.7`]));
      assert.equal((await dig(port(dns), ['10-244-0-8.default.pod.cluster.local', 'A'])).status, 'NXDOMAIN');
    } finally {
      await dns.close();
      await api.close();
    }
  });
});

function port(dns: RunningClusterDns): number {
  return dns.address().port;
}

describe('svcnet dns (runDnsCommand)', () => {
  test('command-line values', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:5353', 53), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseHostPort('[::1]:5353', 53), { host: '::1', port: 5353 });
    assert.deepEqual(parseHostPort('::1', 53), { host: '::1', port: 53 });
    assert.deepEqual(parseHostPort('10.96.0.10', 53), { host: '10.96.0.10', port: 53 });
    assert.deepEqual(parseHostPort(':53', 53), { host: '0.0.0.0', port: 53 });
    assert.throws(() => parseHostPort('127.0.0.1:99999', 53), /invalid port/);
    const defaults = dnsCommandConfig({});
    assert.deepEqual(defaults, {
      listen: { host: '127.0.0.1', port: 53 },
      metricsPort: 9153,
      metricsHost: '127.0.0.1',
      config: { domain: 'cluster.local', ttl: 30, podMode: 'insecure', upstreams: undefined, resolvConf: undefined },
    });
    assert.equal(dnsCommandConfig({ metrics: 'none' }).metricsPort, undefined);
    assert.deepEqual(dnsCommandConfig({ upstream: ['1.1.1.1', '127.0.0.1:5353'] }).config?.upstreams, ['1.1.1.1', '127.0.0.1:5353']);
    assert.throws(() => dnsCommandConfig({ pods: 'sometimes' }), /--pods must be one of disabled, insecure, verified/);
    assert.throws(() => dnsCommandConfig({ ttl: 'x' }), /--ttl/);
    assert.throws(() => dnsCommandConfig({ upstream: ['1.1.1.1'], resolvConf: '/etc/resolv.conf' }), /mutually exclusive/);
  });

  test('serves the API server of a kubeconfig over HTTPS until stopped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svcnet-dns-run-'));
    const api = await startTestApiServer();
    const pki = await ensurePki(join(dir, 'pki'), { sans: { ips: ['127.0.0.1'] } });
    const token = newToken();
    const https = await startServer(api.handler, {
      host: '127.0.0.1',
      port: 0,
      tls: { cert: pki.certPem, key: pki.keyPem },
      tokens: new Map([[token, 'svcnet-admin']]),
    });
    const kubeconfig = join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${https.port}`, caPem: pki.caCertPem, token });
    const dnsPort = await freePort();
    const stop = new AbortController();
    const lines: string[] = [];
    const done = runDnsCommand({
      kubeconfig,
      listen: `127.0.0.1:${dnsPort}`,
      metrics: 'none',
      upstream: ['127.0.0.1:9'],
      signal: stop.signal,
      log: (l) => lines.push(l),
    });
    try {
      await eventually(async () =>
        assert.deepEqual((await dig(dnsPort, ['kubernetes.default.svc.cluster.local', 'A'])).records, [
          'kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1',
        ]),
      );
      assert.ok(
        lines.some((l) => l.startsWith(`dns: serving cluster.local on 127.0.0.1:${dnsPort}`)),
        lines.join('\n'),
      );
    } finally {
      stop.abort();
      await done;
      await https.close();
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal(lines.at(-1), 'dns: stopped');
  });
});

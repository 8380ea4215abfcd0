/**
 * startProxy wired to the real API server handler (in-process client), with the kernel replaced by
 * a recording command runner: what gets programmed when, the logs, metrics and health endpoints,
 * failure recovery and UDP conntrack cleanup.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import { R } from '../../src/client/types.js';
import { CommandError, type CommandRunner } from '../../src/cluster/netns.js';
import type { ProxyLogger } from '../../src/proxy/log.js';
import { type RunningProxy, type SyncReport, startProxy } from '../../src/proxy/server.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';

interface Call {
  argv: readonly string[];
  input: string;
}

/** A kernel stand-in: records commands; `failNext` makes the next restore fail. */
function recordingRunner() {
  const calls: Call[] = [];
  const control = { failNext: false };
  const run: CommandRunner = async (argv, options) => {
    calls.push({ argv, input: options?.input ?? '' });
    if (argv[0] === 'iptables-restore' && control.failNext) {
      control.failNext = false;
      throw new CommandError(argv, 1, null, '', 'iptables-restore: line 3 failed');
    }
    if (argv[0] === 'conntrack')
      throw new CommandError(argv, 1, null, '', 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.');
    return { stdout: '', stderr: '' };
  };
  return { run, calls, control };
}

function capturingLog(): ProxyLogger & { lines: string[] } {
  const lines: string[] = [];
  const put =
    (sev: string) =>
    (msg: string, kv: Record<string, unknown> = {}) => {
      lines.push(`${sev} ${msg} ${JSON.stringify(kv)}`);
    };
  return { lines, info: put('I'), warning: put('W'), error: put('E') };
}

/** Resolves with the first sync report that satisfies `pred`. */
function nextSync(reports: SyncReport[], pred: (r: SyncReport) => boolean, timeoutMs = 5000): Promise<SyncReport> {
  const seen = reports.length;
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const poll = () => {
      const hit = reports.slice(seen).find(pred);
      if (hit) return resolve(hit);
      if (Date.now() > deadline) return reject(new Error(`no matching sync; saw ${JSON.stringify(reports.slice(seen))}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

const slice = (name: string, svc: string, protocol: string, port: number, ips: string[], annotations: Record<string, string> = {}) =>
  ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc }, annotations },
    addressType: 'IPv4',
    ports: [{ name: svc === 'db-service' ? '3306' : '', port, protocol }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  }) as unknown as KubeObject;

describe('startProxy (iptables mode, recording runner)', () => {
  let api: TestApiServer;
  let proxy: RunningProxy;
  const kernel = recordingRunner();
  const log = capturingLog();
  const reports: SyncReport[] = [];

  before(async () => {
    api = await startTestApiServer();
    // Objects that exist before the proxy starts must be in its very first (full) sync.
    await api.client.create(
      R.services,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'db-service', namespace: 'default' },
        spec: { clusterIP: '10.103.132.104', ports: [{ name: '3306', port: 3306, protocol: 'TCP' }] },
      } as unknown as KubeObject,
      { namespace: 'default' },
    );
    proxy = await startProxy(api.client, {
      nodeName: 'node-1',
      mode: 'iptables',
      clusterCIDR: '10.244.0.0/16',
      minSyncPeriodMs: 0,
      syncPeriodMs: 60_000,
      metricsAddress: '127.0.0.1:0',
      runner: kernel.run,
      log,
      onSync: (r) => reports.push(r),
    });
  });
  after(async () => {
    await proxy?.stop();
    await api?.close();
  });

  test('the first sync is full, comes after the lists synced, and logs like kube-proxy', async () => {
    await proxy.firstSync;
    assert.equal(reports[0]?.request.full, true);
    const restores = kernel.calls.filter((c) => c.argv[0] === 'iptables-restore');
    assert.ok(
      restores[0]!.input.includes('"default/db-service:3306 has no endpoints"'),
      'the pre-existing Service is in the first restore',
    );
    assert.ok(!restores[0]!.argv.includes('--noflush'), 'a full sync replaces the tables');
    assert.match(log.lines[0]!, /^I Using iptables Proxier\./);
    assert.ok(log.lines.some((l) => l.includes('Adding new service port') && l.includes('"portName":"default/db-service:3306"')));
    assert.ok(log.lines.some((l) => l.includes('"servicePort":"10.103.132.104:3306/TCP"')));
  });

  test('an endpoint change is a partial sync; a failed sync is followed by a full one', async () => {
    await proxy.firstSync;
    const restoring = (ep: string) => () => kernel.calls.some((c) => c.argv[0] === 'iptables-restore' && c.input.includes(ep));
    const partial = nextSync(reports, restoring('--to-destination 10.244.1.2:3306'));
    await api.client.create(R.endpointslices, slice('db-1', 'db-service', 'TCP', 3306, ['10.244.1.2']), { namespace: 'default' });
    assert.equal((await partial).request.full, false);
    const last = kernel.calls.filter((c) => c.argv[0] === 'iptables-restore').at(-1)!;
    assert.ok(last.argv.includes('--noflush'), 'a partial sync keeps what it does not rewrite');

    kernel.control.failNext = true;
    const failed = nextSync(reports, (r) => r.error !== undefined);
    const recovered = nextSync(reports, (r) => !r.error && r.request.full, 5000);
    await api.client.create(R.endpointslices, slice('db-2', 'db-service', 'TCP', 3306, ['10.244.2.2']), { namespace: 'default' });
    await failed;
    const retry = await recovered;
    assert.equal(retry.request.reason, 'retry');
    assert.ok(log.lines.some((l) => l.startsWith('E Failed to sync proxy rules')));
  });

  test('a removed UDP endpoint has its conntrack entries deleted', async () => {
    await proxy.firstSync;
    await api.client.create(
      R.services,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'dns', namespace: 'default' },
        spec: { clusterIP: '10.96.0.53', ports: [{ port: 53, protocol: 'UDP' }] },
      } as unknown as KubeObject,
      { namespace: 'default' },
    );
    const programmed = nextSync(reports, () => kernel.calls.some((c) => c.input.includes('10.244.5.3:53')));
    await api.client.create(R.endpointslices, slice('dns-1', 'dns', 'UDP', 53, ['10.244.5.2', '10.244.5.3']), { namespace: 'default' });
    await programmed;
    // The service going from no endpoints to some clears the rejections conntrack may hold.
    assert.ok(kernel.calls.some((c) => c.argv.join(' ') === 'conntrack -D --orig-dst 10.96.0.53 -p udp'));

    const current = await api.client.get(R.endpointslices, 'dns-1', 'default');
    const removed = nextSync(reports, (r) => !r.error);
    await api.client.update(
      R.endpointslices,
      { ...(current as object), endpoints: [{ addresses: ['10.244.5.2'], conditions: { ready: true } }] } as unknown as KubeObject,
      { namespace: 'default' },
    );
    await removed;
    const conntrack = kernel.calls.filter((c) => c.argv[0] === 'conntrack').map((c) => c.argv.join(' '));
    assert.ok(conntrack.includes('conntrack -D --orig-dst 10.96.0.53 --dst-nat 10.244.5.3 -p udp'), conntrack.join('\n'));
    assert.ok(!conntrack.some((c) => c.includes('--dst-nat 10.244.5.2')), 'the remaining endpoint keeps its entries');
    assert.ok(!log.lines.some((l) => l.includes('Failed to delete conntrack')), '"0 flow entries" is not an error');
  });

  test('metrics carry kube-proxy names; /healthz and /livez answer as kube-proxy', async () => {
    await proxy.firstSync;
    const trigger = new Date(Date.now() - 1500).toISOString();
    const programmed = nextSync(reports, (r) => !r.error);
    await api.client.create(
      R.endpointslices,
      slice('db-3', 'db-service', 'TCP', 3306, ['10.244.3.2'], { 'endpoints.kubernetes.io/last-change-trigger-time': trigger }),
      { namespace: 'default' },
    );
    await programmed;
    const base = `http://${proxy.metricsAddress}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/m);
    assert.match(text, /^kubeproxy_sync_full_proxy_rules_duration_seconds_count [1-9]/m);
    assert.match(text, /^kubeproxy_sync_partial_proxy_rules_duration_seconds_count [1-9]/m);
    assert.match(text, /^kubeproxy_sync_proxy_rules_last_timestamp_seconds \d{10}/m);
    assert.match(text, /^kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} [1-9]/m);
    assert.match(text, /^kubeproxy_sync_proxy_rules_iptables_restore_failures_total [1-9]/m);
    // The sample is ~1.5 s: it lands in the 2 s bucket, not the 1 s one.
    assert.match(text, /^kubeproxy_network_programming_duration_seconds_bucket\{le="1"\} 0$/m);
    assert.match(text, /^kubeproxy_network_programming_duration_seconds_bucket\{le="2"\} 1$/m);

    const healthz = await fetch(`${base}/healthz`);
    assert.equal(healthz.status, 200);
    const body = (await healthz.json()) as { lastUpdated: string; currentTime: string };
    assert.ok(Date.parse(body.lastUpdated) > 0 && Date.parse(body.currentTime) >= Date.parse(body.lastUpdated));
    assert.equal((await fetch(`${base}/livez`)).status, 200);
    assert.equal(await (await fetch(`${base}/proxyMode`)).text(), 'iptables');
  });
});

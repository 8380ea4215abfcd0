/**
 * Packet flow through `svcnet proxy` in every mode: the proxy runs as its own process inside a
 * throwaway sandbox (network, mount and PID namespaces), fed over a kubeconfig by this process's
 * API server; Services and EndpointSlices are created by hand; endpoints are HTTP servers on
 * addresses held on the sandbox's loopback; curl inside the sandbox is the client.
 *
 * The same checks run for iptables, nftables and userspace: ClusterIP reaches every endpoint, a
 * Service without endpoints refuses at once, endpoint changes are followed, NodePort answers on
 * the node IP, ClientIP affinity sticks; in userspace mode, a dead endpoint costs no request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import { R } from '../../src/client/types.js';
import { type Sandbox, sandboxExec, sandboxSpawn, startInSandbox, waitForLine } from '../helpers/sandbox.js';
import { type SandboxApi, type SandboxProxy, startProxyInSandbox, startSandboxApi } from './harness.js';

const ENDPOINTS = ['10.244.1.2', '10.244.2.2', '10.244.3.2'];
/** Has an address but no server: connections to it are reset at once. */
const DEAD = '10.244.4.2';
const NODE_IP = '172.18.0.2';

/** Endpoint addresses on lo with one HTTP server each (answering its own address); a veth for the node IP with the service range routed out of it. */
async function setUpNode(sandbox: Sandbox): Promise<void> {
  for (const ip of [...ENDPOINTS, DEAD]) await sandbox.run(['ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
  await sandbox.run(['ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  await sandbox.run(['ip', 'addr', 'add', `${NODE_IP}/24`, 'dev', 'v0']);
  await sandbox.run(['ip', 'link', 'set', 'v0', 'up']);
  await sandbox.run(['ip', 'link', 'set', 'v1', 'up']);
  await sandbox.run(['ip', 'route', 'add', '10.96.0.0/12', 'dev', 'v0']);
  const script = `const http=require('node:http');let n=0;for(const ip of process.argv.slice(1))http.createServer((q,s)=>s.end(ip)).listen(8080,ip,()=>{if(++n===${ENDPOINTS.length})console.log('listening')})`;
  await waitForLine(sandboxSpawn(sandbox, [process.execPath, '-e', script, ...ENDPOINTS]), /listening/);
}

const service = (name: string, clusterIP: string, spec: Record<string, unknown> = {}) =>
  ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { clusterIP, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
  }) as unknown as KubeObject;

const slice = (name: string, svc: string, ips: string[]) =>
  ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: '', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'node-1' })),
  }) as unknown as KubeObject;

/** Which endpoint answered each of `n` requests (failed requests count as "FAIL"). */
async function hits(sandbox: Sandbox, url: string, n: number): Promise<Map<string, number>> {
  const res = await sandboxExec(sandbox, `for i in $(seq ${n}); do curl -s --max-time 2 ${url} || printf FAIL; echo; done`);
  const counts = new Map<string, number>();
  for (const line of res.stdout.split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

const answered = (m: Map<string, number>) => [...m.keys()].sort();

/** Polls `probe` until `done` holds for its value; returns that value. */
async function eventually<T>(probe: () => Promise<T>, done: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await probe();
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  } while (Date.now() < deadline);
  assert.fail(`${what}: still ${JSON.stringify(last instanceof Map ? [...last] : last)}`);
}

for (const mode of ['iptables', 'nftables', 'userspace'] as const) {
  describe(`packet flow through svcnet proxy --mode ${mode}`, () => {
    let api: SandboxApi;
    let sandbox: Sandbox;
    let proxy: SandboxProxy;

    before(async () => {
      api = await startSandboxApi();
      sandbox = await startInSandbox();
      await setUpNode(sandbox);
      const { client } = api.api;
      await client.create(
        R.services,
        service('web', '10.96.0.20', { type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30200 }] }),
        {
          namespace: 'default',
        },
      );
      await client.create(R.services, service('empty', '10.96.0.23'), { namespace: 'default' });
      await client.create(R.services, service('sticky', '10.96.0.21', { sessionAffinity: 'ClientIP' }), { namespace: 'default' });
      await client.create(R.endpointslices, slice('web-1', 'web', ENDPOINTS), { namespace: 'default' });
      await client.create(R.endpointslices, slice('sticky-1', 'sticky', ENDPOINTS), { namespace: 'default' });
      proxy = startProxyInSandbox(sandbox, api, [
        '--mode',
        mode,
        '--hostname-override',
        'node-1',
        '--cluster-cidr',
        '10.244.0.0/16',
        '--metrics-bind-address',
        '127.0.0.1:10249',
      ]);
      await proxy.waitForLog(/SyncProxyRules complete/);
    });
    after(async () => {
      await sandbox?.stop();
      await api?.close();
    });

    test('logs as kube-proxy does', () => {
      assert.match(proxy.logs(), new RegExp(`"Using ${mode} Proxier\\."`));
      assert.match(proxy.logs(), /"Adding new service port" portName="default\/web" servicePort="10\.96\.0\.20:80\/TCP"/);
    });

    test('ClusterIP reaches every endpoint', async () => {
      const counts = await eventually(
        () => hits(sandbox, 'http://10.96.0.20/', 30),
        (m) => answered(m).join() === ENDPOINTS.join(),
        'endpoints answering',
      );
      assert.deepEqual(answered(counts), ENDPOINTS);
    });

    test('a Service without endpoints refuses connections at once', async () => {
      const t0 = Date.now();
      const res = await sandboxExec(sandbox, ['curl', '-s', '--max-time', '3', 'http://10.96.0.23/']);
      assert.equal(res.code, 7, 'curl: connection refused');
      assert.ok(Date.now() - t0 < 1500, `refused in ${Date.now() - t0} ms`);
    });

    test('NodePort answers on the node IP', async () => {
      const counts = await hits(sandbox, `http://${NODE_IP}:30200/`, 12);
      assert.ok(!counts.has('FAIL'), JSON.stringify([...counts]));
      for (const ip of counts.keys()) assert.ok(ENDPOINTS.includes(ip));
      if (mode === 'userspace') {
        // The proxy itself holds the node port, as `netstat -napt | grep 30200` shows on a userspace node.
        const ss = await sandbox.run(['ss', '-Hltnp', 'sport', '= :30200']);
        assert.match(ss.stdout, /0\.0\.0\.0:30200.*"node"/);
      }
    });

    test('sessionAffinity ClientIP sends one client to one endpoint', async () => {
      const counts = await hits(sandbox, 'http://10.96.0.21/', 10);
      assert.equal(counts.size, 1, JSON.stringify([...counts]));
      assert.ok(ENDPOINTS.includes(answered(counts)[0]!));
    });

    test('endpoint changes are followed', async () => {
      const current = await api.api.client.get(R.endpointslices, 'web-1', 'default');
      const two = ENDPOINTS.slice(0, 2);
      await api.api.client.update(
        R.endpointslices,
        { ...current, endpoints: (slice('x', 'web', two) as unknown as { endpoints: unknown }).endpoints } as KubeObject,
        {
          namespace: 'default',
        },
      );
      await eventually(
        () => hits(sandbox, 'http://10.96.0.20/', 12),
        (m) => answered(m).join() === two.join(),
        'only the remaining endpoints answering',
      );
    });

    if (mode === 'userspace') {
      test('userspace: a dead endpoint is retried past, no request fails', async () => {
        const current = await api.api.client.get(R.endpointslices, 'web-1', 'default');
        const withDead = [...ENDPOINTS, DEAD];
        await api.api.client.update(
          R.endpointslices,
          { ...current, endpoints: (slice('x', 'web', withDead) as unknown as { endpoints: unknown }).endpoints } as KubeObject,
          {
            namespace: 'default',
          },
        );
        // Every batch must succeed in full, before and after the proxy starts using (and skipping) the dead endpoint.
        await eventually(
          async () => {
            const counts = await hits(sandbox, 'http://10.96.0.20/', 12);
            assert.ok(!counts.has('FAIL'), JSON.stringify([...counts]));
            return proxy.logs();
          },
          (logs) => logs.includes('trying another'),
          'the proxy retrying past the dead endpoint',
        );
        assert.match(proxy.logs(), /"Failed to connect to endpoint, trying another" service="default\/web" endpoint="10\.244\.4\.2:8080"/);
      });
    }

    test('metrics and health are served on the metrics address', async () => {
      const metrics = (await sandbox.run(['curl', '-sS', 'http://127.0.0.1:10249/metrics'])).stdout;
      assert.match(metrics, /^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/m);
      const healthz = await sandbox.run(['curl', '-sS', '--fail', 'http://127.0.0.1:10249/healthz']);
      assert.match(healthz.stdout, /"lastUpdated":"20\d\d-/);
    });
  });
}

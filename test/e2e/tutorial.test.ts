/**
 * The tutorials' walk-through (shared/tutorials/000, 001, 002) with real kubectl against
 * `svcnet up` on simulated nodes: every manifest in examples/ applies, and `get svc -o wide`,
 * `get endpoints`, `get endpointslices` and `describe svc` print what the tutorials show.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startCluster, type TestCluster } from './cluster.js';

const EX = fileURLToPath(new URL('../../examples/', import.meta.url));
let c: TestCluster;

async function ok(...args: string[]): Promise<string> {
  const r = await c.kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function row(table: string, name: string): string[] {
  const line = table.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no row ${name} in:\n${table}`);
  return line.trim().split(/\s{2,}/);
}

before(async () => {
  c = await startCluster(['--simulated-nodes', '3']);
});
after(async () => {
  await c?.stop();
});

describe('tutorial walk-through on simulated nodes', () => {
  let podIPs: string[] = [];

  test('the nginx Deployment gives 3 Running pods spread over 3 nodes', async () => {
    assert.equal((await ok('create', '-f', `${EX}deploy-nginx.yaml`)).trim(), 'deployment.apps/webui created');
    await ok('rollout', 'status', 'deployment/webui', '--timeout=30s');
    const pods = await ok('get', 'pods', '-o', 'wide');
    assert.match(pods.split('\n')[0], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    const rows = pods
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    assert.equal(rows.length, 3);
    for (const r of rows) {
      assert.match(r[0], /^webui-[a-z0-9]{8,10}-[a-z0-9]{5}$/);
      assert.deepEqual([r[1], r[2], r[3]], ['1/1', 'Running', '0']);
    }
    assert.deepEqual(rows.map((r) => r[6]).sort(), ['node-1', 'node-2', 'node-3']);
    podIPs = rows.map((r) => r[5]).sort();
  });

  test('ClusterIP Service with a fixed address: get -o wide and describe as in the tutorial', async () => {
    assert.equal((await ok('create', '-f', `${EX}clusterip-nginx.yaml`)).trim(), 'service/clusterip-service created');
    const wide = await ok('get', 'svc', '-o', 'wide');
    assert.deepEqual(
      row(wide, 'clusterip-service').filter((_, i) => i !== 5),
      ['clusterip-service', 'ClusterIP', '10.100.100.100', '<none>', '80/TCP', 'app=webui'],
    );
    assert.deepEqual(
      row(wide, 'kubernetes').filter((_, i) => i !== 5),
      ['kubernetes', 'ClusterIP', '10.96.0.1', '<none>', '443/TCP', '<none>'],
    );
    await eventually('endpoints', async () => (await ok('get', 'endpoints', 'clusterip-service')).split(':80').length === 4);
    const d = await ok('describe', 'svc', 'clusterip-service');
    const lines = Object.fromEntries(
      d
        .trim()
        .split('\n')
        .map((l) => /^([A-Za-z ]+):\s+(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => !!m)
        .map((m) => [m[1], m[2]]),
    );
    assert.equal(lines.Name, 'clusterip-service');
    assert.equal(lines.Namespace, 'default');
    assert.equal(lines.Selector, 'app=webui');
    assert.equal(lines.Type, 'ClusterIP');
    assert.equal(lines['IP Family Policy'], 'SingleStack');
    assert.equal(lines['IP Families'], 'IPv4');
    assert.equal(lines.IP, '10.100.100.100');
    assert.equal(lines.IPs, '10.100.100.100');
    assert.equal(lines.Port, '<unset>  80/TCP');
    assert.equal(lines.TargetPort, '80/TCP');
    assert.deepEqual(lines.Endpoints.split(',').sort(), podIPs.map((ip) => `${ip}:80`).sort());
    assert.equal(lines['Session Affinity'], 'None');
    assert.equal(lines.Events, '<none>');
    assert.equal((await ok('delete', 'svc', 'clusterip-service')).trim(), 'service "clusterip-service" deleted');
  });

  test('NodePort 30200', async () => {
    assert.equal((await ok('create', '-f', `${EX}nodeport-nginx.yaml`)).trim(), 'service/nodeport-service created');
    const r = row(await ok('get', 'svc', '-o', 'wide'), 'nodeport-service');
    assert.deepEqual(
      r.filter((_, i) => i !== 5),
      ['nodeport-service', 'NodePort', '10.100.100.200', '<none>', '80:30200/TCP', 'app=webui'],
    );
  });

  test('LoadBalancer gets an external IP from the pool and a node port', async () => {
    await ok('create', '-f', `${EX}loadbalancer-nginx.yaml`);
    await eventually('external IP', async () => !row(await ok('get', 'svc'), 'loadbalancer-service')[3].includes('pending'));
    const r = row(await ok('get', 'svc'), 'loadbalancer-service');
    assert.equal(r[1], 'LoadBalancer');
    assert.match(r[3], /^172\.18\.255\.2\d\d$/);
    assert.match(r[4], /^80:3\d{4}\/TCP$/);
  });

  test('ExternalName', async () => {
    assert.equal((await ok('create', '-f', `${EX}external-name.yaml`)).trim(), 'service/externalname-svc created');
    const r = row(await ok('get', 'svc', '-o', 'wide'), 'externalname-svc');
    assert.deepEqual(
      r.filter((_, i) => i !== 5),
      ['externalname-svc', 'ExternalName', '<none>', 'google.com', '<none>', '<none>'],
    );
  });

  test('headless Service: IP None, endpoints are the pods', async () => {
    assert.equal((await ok('create', '-f', `${EX}headless-service.yaml`)).trim(), 'service/headless-service created');
    const r = row(await ok('get', 'svc', '-o', 'wide'), 'headless-service');
    assert.deepEqual(
      r.filter((_, i) => i !== 5),
      ['headless-service', 'ClusterIP', 'None', '<none>', '80/TCP', 'app=webui'],
    );
    await eventually('endpoints', async () => (await ok('get', 'endpoints', 'headless-service')).split(':80').length === 4);
    const d = await ok('describe', 'svc', 'headless-service');
    assert.match(d, /^IP:\s+None$/m);
    assert.match(d, /^IPs:\s+None$/m);
  });

  test('selector-less Service with hand-written Endpoints', async () => {
    await ok('apply', '-f', `${EX}selectorless-service.yaml`);
    assert.deepEqual(row(await ok('get', 'endpoints'), 'my-service').slice(0, 2), ['my-service', '192.0.2.42:9376']);
    await eventually('mirrored slice', async () =>
      (await ok('get', 'endpointslices', '-l', 'kubernetes.io/service-name=my-service')).includes('192.0.2.42'),
    );
    const slices = await ok('get', 'endpointslices', '-l', 'kubernetes.io/service-name=my-service');
    assert.match(slices, /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE$/m);
    assert.match(slices, /my-service-\S+\s+IPv4\s+9376\s+192\.0\.2\.42\s+/);
  });

  test('relabelling a pod takes it out of the endpoints and the ReplicaSet replaces it', async () => {
    const pod = (await ok('get', 'pods', '-l', 'app=webui', '-o', 'jsonpath={.items[0].metadata.name}')).trim();
    const ip = (await ok('get', 'pod', pod, '-o', 'jsonpath={.status.podIP}')).trim();
    await ok('label', 'pod', pod, 'app=debug', '--overwrite');
    await eventually(
      'replacement',
      async () => (await ok('get', 'pods', '-l', 'app=webui', '--no-headers')).trim().split('\n').length === 3,
    );
    await eventually('endpoint gone', async () => !(await ok('get', 'endpoints', 'nodeport-service')).includes(`${ip}:80`));
    assert.match(await ok('get', 'pod', pod, '--show-labels'), /app=debug/);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../api/meta.js';
import { firstNodeAddress, serviceURLs, urlTable } from './service-command.js';

const node = (name: string, ip: string, ready = true, simulated = false): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, ...(simulated ? { annotations: { 'svcnet.io/simulated-node': 'true' } } : {}) },
  status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

const svc = (type: string, ports: object[], ingress: string[] = []): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'numbers-web', namespace: 'default' },
  spec: { type, ports },
  status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } },
});

test('the first Ready real node by name (node-2 before node-10), never a simulated one', () => {
  assert.equal(
    firstNodeAddress([node('node-10', '172.18.0.11'), node('node-2', '172.18.0.3'), node('node-1', '172.18.0.2', false)]),
    '172.18.0.3',
  );
  assert.equal(firstNodeAddress([node('sim-1', '10.0.0.1', true, true)]), undefined);
  assert.equal(firstNodeAddress([]), undefined);
});

test('URLs: LoadBalancer IPs first, else node ports; minikube-style errors otherwise', () => {
  const lb = svc('LoadBalancer', [{ port: 8080, targetPort: 8080, nodePort: 32002 }], ['172.18.255.200']);
  assert.deepEqual(
    (serviceURLs(lb, '172.18.0.2') as { url: string }[]).map((u) => u.url),
    ['http://172.18.255.200:8080'],
  );
  const pending = svc('LoadBalancer', [{ port: 8080, nodePort: 32002 }]);
  assert.deepEqual(
    (serviceURLs(pending, '172.18.0.2') as { url: string }[]).map((u) => u.url),
    ['http://172.18.0.2:32002'],
  );
  const np = svc('NodePort', [
    { name: 'http', port: 80, nodePort: 30200 },
    { name: 'https', port: 443, nodePort: 30443 },
  ]);
  assert.deepEqual(
    (serviceURLs(np, '172.18.0.2') as { url: string }[]).map((u) => u.url),
    ['http://172.18.0.2:30200', 'http://172.18.0.2:30443'],
  );
  assert.equal(serviceURLs(svc('ClusterIP', [{ port: 80 }]), '172.18.0.2'), 'service default/numbers-web has no node port');
  assert.match(serviceURLs(np, undefined) as string, /no node has an address this host can reach/);
});

test("the table looks like minikube's", () => {
  const np = svc('NodePort', [{ port: 8080, nodePort: 32002 }]);
  assert.equal(
    urlTable(np, serviceURLs(np, '192.168.49.2') as never),
    [
      '|-----------|-------------|-------------|---------------------------|',
      '| NAMESPACE |    NAME     | TARGET PORT |            URL            |',
      '|-----------|-------------|-------------|---------------------------|',
      '| default   | numbers-web |        8080 | http://192.168.49.2:32002 |',
      '|-----------|-------------|-------------|---------------------------|',
      '',
    ].join('\n'),
  );
});

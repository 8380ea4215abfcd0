import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { columnsFor, formatEndpoints, tableFor } from './index.js';

/* biome-ignore-start lint/suspicious/noExplicitAny: test fixtures are loose JSON */
type Json = any;
/* biome-ignore-end lint/suspicious/noExplicitAny: test fixtures are loose JSON */

const now = new Date('2024-05-01T12:00:00Z');
const created = '2024-05-01T08:43:00Z'; // 3h17m before now
const meta = (name: string, extra: Json = {}) => ({ name, namespace: 'default', creationTimestamp: created, ...extra });
const cells = (resource: string, obj: Json) => tableFor(resource, [obj], { now }).rows[0].cells;

describe('services table', () => {
  test('columns, formats and priorities', () => {
    const cols = columnsFor('services');
    assert.deepEqual(
      cols.map((c) => [c.name, c.type, c.format, c.priority]),
      [
        ['Name', 'string', 'name', 0],
        ['Type', 'string', '', 0],
        ['Cluster-IP', 'string', '', 0],
        ['External-IP', 'string', '', 0],
        ['Port(s)', 'string', '', 0],
        ['Age', 'string', '', 0],
        ['Selector', 'string', '', 1],
      ],
    );
  });

  const cases: [string, Json, unknown[]][] = [
    [
      'NodePort',
      {
        spec: {
          type: 'NodePort',
          clusterIPs: ['10.96.12.34'],
          ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }],
          selector: { app: 'web' },
        },
      },
      ['web', 'NodePort', '10.96.12.34', '<none>', '80:30080/TCP', '3h17m', 'app=web'],
    ],
    [
      'ClusterIP with two ports and no selector',
      {
        spec: {
          type: 'ClusterIP',
          clusterIPs: ['10.96.0.1'],
          ports: [
            { port: 443, protocol: 'TCP' },
            { port: 53, protocol: 'UDP' },
          ],
        },
      },
      ['web', 'ClusterIP', '10.96.0.1', '<none>', '443/TCP,53/UDP', '3h17m', '<none>'],
    ],
    [
      'LoadBalancer pending',
      { spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.9'], ports: [{ port: 80, nodePort: 30200, protocol: 'TCP' }] } },
      ['web', 'LoadBalancer', '10.96.0.9', '<pending>', '80:30200/TCP', '3h17m', '<none>'],
    ],
    [
      'LoadBalancer served',
      {
        spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.9'], ports: [{ port: 80, nodePort: 30200, protocol: 'TCP' }] },
        status: { loadBalancer: { ingress: [{ ip: '172.18.255.200' }] } },
      },
      ['web', 'LoadBalancer', '10.96.0.9', '172.18.255.200', '80:30200/TCP', '3h17m', '<none>'],
    ],
    [
      'ExternalName',
      { spec: { type: 'ExternalName', externalName: 'example.com' } },
      ['web', 'ExternalName', '<none>', 'example.com', '<none>', '3h17m', '<none>'],
    ],
    [
      'headless',
      { spec: { type: 'ClusterIP', clusterIPs: ['None'], ports: [{ port: 80, protocol: 'TCP' }], selector: { app: 'db', tier: 'x' } } },
      ['web', 'ClusterIP', 'None', '<none>', '80/TCP', '3h17m', 'app=db,tier=x'],
    ],
    [
      'external IPs',
      {
        spec: { type: 'ClusterIP', clusterIPs: ['10.96.0.5'], externalIPs: ['1.2.3.4', '5.6.7.8'], ports: [{ port: 80, protocol: 'TCP' }] },
      },
      ['web', 'ClusterIP', '10.96.0.5', '1.2.3.4,5.6.7.8', '80/TCP', '3h17m', '<none>'],
    ],
  ];
  for (const [name, obj, want] of cases) test(name, () => assert.deepEqual(cells('services', { metadata: meta('web'), ...obj }), want));

  test('rows embed PartialObjectMetadata; noHeaders drops columns', () => {
    const t = tableFor('services', [{ metadata: meta('web'), spec: { type: 'ClusterIP', ports: [] } }], {
      now,
      noHeaders: true,
      resourceVersion: '42',
    });
    assert.equal(t.columnDefinitions, null);
    assert.deepEqual(t.metadata, { resourceVersion: '42' });
    assert.deepEqual(t.rows[0].object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta('web') });
  });

  test('includeObject: Object carries the whole object (kubectl --sort-by), None no object', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: meta('web'), spec: { type: 'ClusterIP', ports: [] } };
    assert.deepEqual(tableFor('services', [svc], { now, includeObject: 'Object' }).rows[0].object, svc);
    assert.equal('object' in tableFor('services', [svc], { now, includeObject: 'None' }).rows[0], false);
  });
});

describe('pods table', () => {
  const running = (cs: Json = {}) => ({ name: 'c', ready: true, restartCount: 0, state: { running: { startedAt: created } }, ...cs });
  const cases: [string, Json, unknown[]][] = [
    [
      'running',
      {
        spec: { containers: [{ name: 'c' }], nodeName: 'node-1' },
        status: { phase: 'Running', podIP: '10.244.0.143', podIPs: [{ ip: '10.244.0.143' }], containerStatuses: [running()] },
      },
      ['web-1', '1/1', 'Running', '0', '3h17m', '10.244.0.143', 'node-1', '<none>', '<none>'],
    ],
    [
      'pending unscheduled',
      { spec: { containers: [{ name: 'c' }] }, status: { phase: 'Pending' } },
      ['web-1', '0/1', 'Pending', '0', '3h17m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'container creating',
      {
        spec: { containers: [{ name: 'c' }], nodeName: 'n' },
        status: {
          phase: 'Pending',
          containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }],
        },
      },
      ['web-1', '0/1', 'ContainerCreating', '0', '3h17m', '<none>', 'n', '<none>', '<none>'],
    ],
    [
      'crash loop with last restart',
      {
        spec: { containers: [{ name: 'c' }] },
        status: {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'c',
              ready: false,
              restartCount: 5,
              state: { waiting: { reason: 'CrashLoopBackOff' } },
              lastState: { terminated: { exitCode: 1, finishedAt: '2024-05-01T11:55:00Z' } },
            },
          ],
        },
      },
      ['web-1', '0/1', 'CrashLoopBackOff', '5 (5m ago)', '3h17m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'completed',
      {
        spec: { containers: [{ name: 'c' }] },
        status: {
          phase: 'Succeeded',
          containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
        },
      },
      ['web-1', '0/1', 'Completed', '0', '3h17m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'init container running',
      {
        spec: { initContainers: [{ name: 'i' }], containers: [{ name: 'c' }] },
        status: { phase: 'Pending', initContainerStatuses: [{ name: 'i', ready: false, restartCount: 0, state: { running: {} } }] },
      },
      ['web-1', '0/1', 'Init:0/1', '0', '3h17m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'init container failing',
      {
        spec: { initContainers: [{ name: 'i' }], containers: [{ name: 'c' }] },
        status: {
          phase: 'Pending',
          initContainerStatuses: [{ name: 'i', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }],
        },
      },
      ['web-1', '0/1', 'Init:CrashLoopBackOff', '2', '3h17m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'terminating',
      { spec: { containers: [{ name: 'c' }] }, status: { phase: 'Running', containerStatuses: [running()] } },
      ['web-1', '1/1', 'Terminating', '0', '3h17m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'readiness gates',
      {
        spec: { containers: [{ name: 'c' }], readinessGates: [{ conditionType: 'x/ready' }] },
        status: { phase: 'Running', conditions: [{ type: 'x/ready', status: 'True' }], containerStatuses: [running()] },
      },
      ['web-1', '1/1', 'Running', '0', '3h17m', '<none>', '<none>', '<none>', '1/1'],
    ],
  ];
  for (const [name, obj, want] of cases)
    test(name, () => {
      const m = name === 'terminating' ? meta('web-1', { deletionTimestamp: '2024-05-01T11:59:00Z' }) : meta('web-1');
      assert.deepEqual(cells('pods', { metadata: m, ...obj }), want);
    });

  test('succeeded pods carry the Completed row condition', () => {
    const t = tableFor('pods', [{ metadata: meta('p'), spec: { containers: [] }, status: { phase: 'Succeeded' } }], { now });
    assert.deepEqual(t.rows[0].conditions, [
      { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
    ]);
  });
});

describe('other tables', () => {
  test('endpoints', () => {
    const ep = (subsets: Json) => ({ metadata: meta('web'), subsets });
    assert.equal(formatEndpoints(ep(undefined)), '<none>');
    assert.equal(
      formatEndpoints(ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80 }] }])),
      '10.0.0.1:80,10.0.0.2:80',
    );
    assert.equal(
      formatEndpoints(
        ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }], ports: [{ port: 80 }] }]),
      ),
      '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...',
    );
    assert.deepEqual(cells('endpoints', ep([{ addresses: [{ ip: '192.168.1.10' }], ports: [{ port: 6443 }] }])), [
      'web',
      '192.168.1.10:6443',
      '3h17m',
    ]);
  });

  test('endpointslices', () => {
    const slice = {
      metadata: meta('web-abc'),
      addressType: 'IPv4',
      ports: [{ port: 80, name: 'http' }],
      endpoints: [{ addresses: ['10.244.1.5'] }, { addresses: ['10.244.2.5'] }],
    };
    assert.deepEqual(cells('endpointslices', slice), ['web-abc', 'IPv4', '80', '10.244.1.5,10.244.2.5', '3h17m']);
    assert.deepEqual(cells('endpointslices', { ...slice, endpoints: [] }), ['web-abc', 'IPv4', '80', '<unset>', '3h17m']);
  });

  test('deployments and replicasets', () => {
    const tmpl = {
      spec: {
        containers: [
          { name: 'nginx', image: 'nginx:1.25' },
          { name: 'side', image: 'busybox' },
        ],
      },
    };
    const d = {
      metadata: meta('web'),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: tmpl },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    };
    assert.deepEqual(cells('deployments', d), ['web', '2/3', 3, 2, '3h17m', 'nginx,side', 'nginx:1.25,busybox', 'app=web']);
    const rs = {
      metadata: meta('web-5d8'),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d8' } }, template: tmpl },
      status: { replicas: 3, readyReplicas: 1 },
    };
    assert.deepEqual(cells('replicasets', rs), [
      'web-5d8',
      3,
      3,
      1,
      '3h17m',
      'nginx,side',
      'nginx:1.25,busybox',
      'app=web,pod-template-hash=5d8',
    ]);
  });

  test('nodes', () => {
    const node = {
      metadata: { name: 'node-1', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '' } },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '172.18.0.2' }],
        nodeInfo: {
          kubeletVersion: 'v1.32.0',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          kernelVersion: '6.1.0',
          containerRuntimeVersion: 'svcnet://0.1.0',
        },
      },
    };
    assert.deepEqual(cells('nodes', node), [
      'node-1',
      'Ready,SchedulingDisabled',
      'control-plane',
      '3h17m',
      'v1.32.0',
      '172.18.0.2',
      '<none>',
      'Debian GNU/Linux 12 (bookworm)',
      '6.1.0',
      'svcnet://0.1.0',
    ]);
  });

  test('events', () => {
    const ev = {
      metadata: meta('web.17a'),
      involvedObject: { kind: 'Service', name: 'web', namespace: 'default' },
      reason: 'Type',
      message: 'ClusterIP -> NodePort ',
      type: 'Normal',
      source: { component: 'service-controller' },
      firstTimestamp: '2024-05-01T11:00:00Z',
      lastTimestamp: '2024-05-01T11:59:15Z',
      count: 2,
    };
    assert.deepEqual(cells('events', ev), [
      '45s',
      'Normal',
      'Type',
      'service/web',
      '',
      'service-controller',
      'ClusterIP -> NodePort',
      '60m',
      2,
      'web.17a',
    ]);
  });

  test('ingresses, classes, config, leases and the default', () => {
    const ing = {
      metadata: meta('web'),
      spec: { ingressClassName: 'svcnet', rules: [{ host: 'a.com' }, { host: 'b.com' }], tls: [{}] },
      status: { loadBalancer: { ingress: [{ ip: '172.18.255.201' }] } },
    };
    assert.deepEqual(cells('ingresses', ing), ['web', 'svcnet', 'a.com,b.com', '172.18.255.201', '80, 443', '3h17m']);
    assert.deepEqual(cells('ingresses', { metadata: meta('x'), spec: { rules: [{}] } }), ['x', '<none>', '*', '', '80', '3h17m']);
    assert.deepEqual(cells('ingressclasses', { metadata: meta('svcnet'), spec: { controller: 'svcnet.io/ingress' } }), [
      'svcnet',
      'svcnet.io/ingress',
      '<none>',
      '3h17m',
    ]);
    assert.deepEqual(cells('configmaps', { metadata: meta('c'), data: { a: '1', b: '2' } }), ['c', 2, '3h17m']);
    assert.deepEqual(cells('secrets', { metadata: meta('s'), type: 'Opaque', data: { a: 'eA==' } }), ['s', 'Opaque', 1, '3h17m']);
    assert.deepEqual(cells('serviceaccounts', { metadata: meta('default') }), ['default', 0, '3h17m']);
    assert.deepEqual(cells('leases', { metadata: meta('node-1'), spec: { holderIdentity: 'node-1' } }), ['node-1', 'node-1', '3h17m']);
    assert.deepEqual(cells('namespaces', { metadata: meta('default'), status: { phase: 'Active' } }), ['default', 'Active', '3h17m']);
    assert.deepEqual(cells('widgets', { metadata: meta('w') }), ['w', '3h17m']);
    assert.deepEqual(
      columnsFor('widgets').map((c) => c.name),
      ['Name', 'Age'],
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StatusError } from '../../api/errors.js';
import { deploymentSchema, serviceSchema } from './fixtures.js';
import type { JsonObject } from './json.js';
import { applyStrategicMergePatch } from './strategic.js';

const LAST = 'kubectl.kubernetes.io/last-applied-configuration';

function liveService(): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'demo', namespace: 'default', labels: { app: 'demo' }, annotations: { [LAST]: 'old\n' } },
    spec: {
      clusterIP: '10.96.0.12',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      selector: { app: 'demo' },
      type: 'ClusterIP',
    },
  };
}

const ports = (...ps: number[]) => ps.map((port) => ({ port, protocol: 'TCP' }));
const svcWithPorts = (...ps: number[]): JsonObject => ({ spec: { ports: ports(...ps) } });
const portNumbers = (o: JsonObject) => ((o.spec as JsonObject).ports as JsonObject[]).map((p) => p.port);

describe('applyStrategicMergePatch: kubectl apply bodies (kubectl-protocol.md §3.4)', () => {
  test('second apply: changes targetPort, adds a port and a label, sets type', () => {
    const patch = {
      metadata: { annotations: { [LAST]: 'new\n' }, labels: { tier: 'web' } },
      spec: {
        '$setElementOrder/ports': [{ port: 80 }, { port: 9090 }],
        ports: [
          { port: 80, targetPort: 8081 },
          { name: 'metrics', port: 9090 },
        ],
        type: 'NodePort',
      },
    };
    const out = applyStrategicMergePatch(liveService(), patch, serviceSchema);
    assert.deepEqual(out, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'demo', namespace: 'default', labels: { app: 'demo', tier: 'web' }, annotations: { [LAST]: 'new\n' } },
      spec: {
        clusterIP: '10.96.0.12',
        ports: [
          { name: 'http', port: 80, protocol: 'TCP', targetPort: 8081 },
          { name: 'metrics', port: 9090 },
        ],
        selector: { app: 'demo' },
        type: 'NodePort',
      },
    });
  });

  test('applying the original back: deletes the label, the port and the type', () => {
    const live = applyStrategicMergePatch(
      liveService(),
      {
        metadata: { labels: { tier: 'web' } },
        spec: {
          '$setElementOrder/ports': [{ port: 80 }, { port: 9090 }],
          ports: [
            { port: 80, targetPort: 8081 },
            { name: 'metrics', port: 9090 },
          ],
          type: 'NodePort',
        },
      },
      serviceSchema,
    );
    const back = {
      metadata: { annotations: { [LAST]: 'orig\n' }, labels: { tier: null } },
      spec: {
        '$setElementOrder/ports': [{ port: 80 }],
        ports: [
          { port: 80, targetPort: 8080 },
          { $patch: 'delete', port: 9090 },
        ],
        type: null,
      },
    };
    const out = applyStrategicMergePatch(live, back, serviceSchema);
    assert.deepEqual(out.metadata, { name: 'demo', namespace: 'default', labels: { app: 'demo' }, annotations: { [LAST]: 'orig\n' } });
    assert.deepEqual(out.spec, {
      clusterIP: '10.96.0.12',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      selector: { app: 'demo' },
    });
  });

  test('does not modify its inputs', () => {
    const live = liveService();
    const patch = { metadata: { labels: { app: null } } };
    const before = structuredClone({ live, patch });
    applyStrategicMergePatch(live, patch, serviceSchema);
    assert.deepEqual({ live, patch }, before);
  });
});

describe('applyStrategicMergePatch: list order', () => {
  const cases: { name: string; live: number[]; patch: JsonObject; want: number[] }[] = [
    { name: 'a new item without $setElementOrder goes first (kube)', live: [80], patch: { ports: [{ port: 9090 }] }, want: [9090, 80] },
    { name: 'a merged item keeps its place', live: [80, 443], patch: { ports: [{ port: 443, name: 'https' }] }, want: [80, 443] },
    {
      name: '$setElementOrder alone reorders',
      live: [80, 443],
      patch: { '$setElementOrder/ports': [{ port: 443 }, { port: 80 }] },
      want: [443, 80],
    },
    {
      name: '$setElementOrder places a new item in the middle',
      live: [80, 443],
      patch: { '$setElementOrder/ports': [{ port: 80 }, { port: 8080 }, { port: 443 }], ports: [{ port: 8080 }] },
      want: [80, 8080, 443],
    },
    {
      name: 'server-only items stay before the patch items that followed them live',
      live: [80, 53, 443],
      patch: { '$setElementOrder/ports': [{ port: 443 }, { port: 80 }] },
      want: [53, 443, 80],
    },
    { name: '$patch: delete removes the item', live: [80, 9090], patch: { ports: [{ $patch: 'delete', port: 9090 }] }, want: [80] },
    { name: '$patch: replace replaces the list', live: [80, 443], patch: { ports: [{ $patch: 'replace' }, { port: 1 }] }, want: [1] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const out = applyStrategicMergePatch(svcWithPorts(...c.live), { spec: c.patch }, serviceSchema);
      assert.deepEqual(portNumbers(out), c.want);
    });
  }
});

describe('applyStrategicMergePatch: maps and directives', () => {
  const base = (): JsonObject => ({
    metadata: { labels: { a: '1', b: '2' }, finalizers: ['a', 'b'] },
    spec: { externalIPs: ['1.1.1.1', '2.2.2.2'] },
  });
  const cases: { name: string; patch: JsonObject; want: (o: JsonObject) => unknown; expect: unknown }[] = [
    {
      name: 'null deletes a label',
      patch: { metadata: { labels: { a: null } } },
      want: (o) => (o.metadata as JsonObject).labels,
      expect: { b: '2' },
    },
    {
      name: '$patch: replace on a map',
      patch: { metadata: { labels: { $patch: 'replace', c: '3' } } },
      want: (o) => (o.metadata as JsonObject).labels,
      expect: { c: '3' },
    },
    {
      name: '$patch: delete on a map',
      patch: { metadata: { labels: { $patch: 'delete' } } },
      want: (o) => (o.metadata as JsonObject).labels,
      expect: undefined,
    },
    {
      name: 'primitive merge list is a set union (new items first)',
      patch: { metadata: { finalizers: ['c', 'a'] } },
      want: (o) => (o.metadata as JsonObject).finalizers,
      expect: ['c', 'a', 'b'],
    },
    {
      name: '$deleteFromPrimitiveList removes values',
      patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      want: (o) => (o.metadata as JsonObject).finalizers,
      expect: ['b'],
    },
    {
      name: '$setElementOrder on a primitive list',
      patch: { metadata: { '$setElementOrder/finalizers': ['b', 'a', 'c'], finalizers: ['c'] } },
      want: (o) => (o.metadata as JsonObject).finalizers,
      expect: ['b', 'a', 'c'],
    },
    {
      name: 'a list without merge strategy is replaced',
      patch: { spec: { externalIPs: ['3.3.3.3'] } },
      want: (o) => (o.spec as JsonObject).externalIPs,
      expect: ['3.3.3.3'],
    },
    {
      name: 'a new map is added without its directives and nulls',
      patch: { spec: { selector: { app: 'x', gone: null } } },
      want: (o) => (o.spec as JsonObject).selector,
      expect: { app: 'x' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(c.want(applyStrategicMergePatch(base(), c.patch, serviceSchema)), c.expect);
    });
  }
});

describe('applyStrategicMergePatch: retainKeys and nested merge lists (Deployment)', () => {
  const deployment = (): JsonObject => ({
    spec: {
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        spec: {
          containers: [
            {
              name: 'web',
              image: 'nginx:1',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
            },
            { name: 'side', image: 'busybox' },
          ],
        },
      },
    },
  });
  const strategy = (o: JsonObject) => (o.spec as JsonObject).strategy;

  test('switching to Recreate with $retainKeys and a null rollingUpdate', () => {
    const patch = { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } };
    assert.deepEqual(strategy(applyStrategicMergePatch(deployment(), patch, deploymentSchema)), { type: 'Recreate' });
  });

  test('$retainKeys clears unlisted keys even without a null', () => {
    const patch = { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } };
    assert.deepEqual(strategy(applyStrategicMergePatch(deployment(), patch, deploymentSchema)), { type: 'Recreate' });
  });

  test('a patched key missing from $retainKeys is 400', () => {
    const patch = { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: { maxSurge: 1 } } } };
    assert.throws(
      () => applyStrategicMergePatch(deployment(), patch, deploymentSchema),
      (e: StatusError) => e.code === 400 && e.message === 'invalid patch format of retainKeys',
    );
  });

  test('containers merge by name and their env by name', () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2', env: [{ name: 'B', value: '3' }] }] } } } };
    const out = applyStrategicMergePatch(deployment(), patch, deploymentSchema);
    assert.deepEqual(((out.spec as JsonObject).template as JsonObject).spec, {
      containers: [
        {
          name: 'web',
          image: 'nginx:2',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '3' },
          ],
        },
        { name: 'side', image: 'busybox' },
      ],
    });
  });
});

describe('applyStrategicMergePatch: errors as kube words them', () => {
  const cases: { name: string; patch: unknown; code: number; message: string | RegExp }[] = [
    {
      name: 'body is not an object',
      patch: [1],
      code: 400,
      message: 'json: cannot unmarshal array into Go value of type map[string]interface {}',
    },
    {
      name: 'list item without its merge key',
      patch: { spec: { ports: [{ targetPort: 1 }] } },
      code: 500,
      message: 'map: map[targetPort:1] does not contain declared merge key: port',
    },
    {
      name: 'unknown $patch directive',
      patch: { metadata: { labels: { $patch: 'frob' } } },
      code: 500,
      message: 'unknown patch type: frob in map: map[$patch:frob]',
    },
    {
      name: 'list of lists',
      patch: { metadata: { finalizers: [['x']] } },
      code: 422,
      message: 'the server rejected our request due to an error in our request',
    },
    {
      name: '$setElementOrder that is not a list',
      patch: { spec: { '$setElementOrder/ports': 1 } },
      code: 400,
      message: 'invalid patch format of setElementOrder list',
    },
    {
      name: '$setElementOrder that contradicts the patch order',
      patch: { spec: { '$setElementOrder/ports': [{ port: 443 }], ports: [{ port: 80 }] } },
      code: 500,
      message: /^The order in patch list:\n/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => applyStrategicMergePatch({ ...svcWithPorts(80, 443), metadata: { finalizers: [] } }, c.patch, serviceSchema),
        (e: StatusError) => {
          assert.equal(e.code, c.code);
          if (typeof c.message === 'string') assert.equal(e.message, c.message);
          else assert.match(e.message, c.message);
          return true;
        },
      );
    });
  }
});

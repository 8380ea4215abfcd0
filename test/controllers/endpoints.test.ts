/**
 * The endpoint controllers against the real API server handler: EndpointSlices and Endpoints
 * follow pods as they become ready, not ready, relabelled and deleted; a selector-less Service's
 * hand-written Endpoints are mirrored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import { R } from '../../src/client/types.js';
import { SharedInformers } from '../../src/controllers/controller.js';
import { startEndpointsController } from '../../src/controllers/endpoints/index.js';
import { startEndpointSliceController } from '../../src/controllers/endpointslice/index.js';
import { startEndpointSliceMirroringController } from '../../src/controllers/endpointslicemirroring/index.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('endpoint controllers', () => {
  let api: TestApiServer;
  const stops: (() => Promise<void>)[] = [];
  const ns = 'default';

  before(async () => {
    api = await startTestApiServer();
    await api.client.create(R.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
    });
    // One set of informers for the three, as the controller manager runs them.
    const informers = new SharedInformers(api.client);
    const controllers = [
      startEndpointSliceController(api.client, { informers }),
      startEndpointsController(api.client, { informers }),
      startEndpointSliceMirroringController(api.client, { informers }),
    ];
    for (const c of controllers) stops.push(() => c.stop());
    stops.push(async () => informers.stop());
    await Promise.all(controllers.map((c) => c.ready));
  });
  after(async () => {
    for (const s of stops) await s();
    await api.close();
  });

  const slicesOf = async (svc: string) =>
    (await api.client.list(R.endpointslices, { namespace: ns, labelSelector: `kubernetes.io/service-name=${svc}` })).items;
  const endpointsOf = (svc: string) => api.client.get(R.endpoints, svc, ns);

  async function makePod(name: string, ip: string, labels: Record<string, string>): Promise<KubeObject> {
    await api.client.create(
      R.pods,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns, labels },
        spec: { nodeName: 'node-1', containers: [{ name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
      { namespace: ns },
    );
    return setReady(name, ip, true);
  }

  async function setReady(name: string, ip: string, ready: boolean): Promise<KubeObject> {
    const pod = await api.client.get(R.pods, name, ns);
    pod.status = {
      ...pod.status,
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
      ],
    };
    return api.client.update(R.pods, pod, { namespace: ns, subresource: 'status' });
  }

  test('slices and Endpoints follow the pods of a selector Service', async () => {
    const svc = await api.client.create<KubeObject>(
      R.services,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] },
      },
      { namespace: ns },
    );

    // No pods yet: one empty placeholder slice, and an Endpoints without subsets.
    await eventually('placeholder slice', async () => {
      const s = await slicesOf('web');
      return s.length === 1 && (s[0].endpoints ?? []).length === 0 ? s : undefined;
    });

    await makePod('web-a', '10.244.1.10', { app: 'web' });
    await makePod('web-b', '10.244.1.11', { app: 'web' });

    const slice = await eventually('slice with two ready endpoints', async () => {
      const s = await slicesOf('web');
      return s.length === 1 &&
        s[0].endpoints?.length === 2 &&
        s[0].endpoints.every((e: { conditions: { ready: boolean } }) => e.conditions.ready)
        ? s[0]
        : undefined;
    });
    assert.equal(slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(slice.metadata.ownerReferences?.[0].uid, svc.metadata.uid);
    assert.match(slice.metadata.name ?? '', /^web-/);
    assert.deepEqual(slice.ports, [{ name: '', port: 8080, protocol: 'TCP' }]);
    assert.ok(slice.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']);
    const epA = slice.endpoints.find((e: { targetRef: { name: string } }) => e.targetRef.name === 'web-a');
    assert.deepEqual(
      { nodeName: epA.nodeName, zone: epA.zone, addresses: epA.addresses },
      { nodeName: 'node-1', zone: 'zone-a', addresses: ['10.244.1.10'] },
    );

    const ep = await eventually('Endpoints with two addresses', async () => {
      const e = await endpointsOf('web');
      return e.subsets?.[0]?.addresses?.length === 2 ? e : undefined;
    });
    assert.deepEqual(
      ep.subsets[0].addresses.map((a: { ip: string }) => a.ip),
      ['10.244.1.10', '10.244.1.11'],
    );
    assert.deepEqual(ep.subsets[0].ports, [{ name: '', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(ep.metadata.labels, { app: 'web' });

    // Not ready: the slice keeps it with ready=false; the Endpoints move it to notReadyAddresses.
    await setReady('web-b', '10.244.1.11', false);
    await eventually('web-b not ready in the slice', async () => {
      const s = await slicesOf('web');
      const b = s[0]?.endpoints?.find((e: { targetRef: { name: string } }) => e.targetRef.name === 'web-b');
      return b && b.conditions.ready === false && b.conditions.serving === false ? true : undefined;
    });
    await eventually('web-b in notReadyAddresses', async () => {
      const e = await endpointsOf('web');
      return e.subsets?.[0]?.notReadyAddresses?.[0]?.ip === '10.244.1.11' ? true : undefined;
    });

    // No write when nothing changed: after an irrelevant Service edit, the next write to the slice
    // and to the Endpoints is the one a real change (relabelling web-a out) causes.
    const sliceList = await api.client.list(R.endpointslices, { namespace: ns, labelSelector: 'kubernetes.io/service-name=web' });
    const epList = await api.client.list(R.endpoints, { namespace: ns, fieldSelector: 'metadata.name=web' });
    const sliceWatch = await api.client.watch(R.endpointslices, {
      namespace: ns,
      labelSelector: 'kubernetes.io/service-name=web',
      resourceVersion: sliceList.metadata.resourceVersion,
    });
    const epWatch = await api.client.watch(R.endpoints, {
      namespace: ns,
      fieldSelector: 'metadata.name=web',
      resourceVersion: epList.metadata.resourceVersion,
    });
    await api.client.patch(R.services, 'web', 'merge', { metadata: { annotations: { touch: '1' } } }, { namespace: ns });
    await setReady('web-b', '10.244.1.11', false); // same state again: nothing to write

    // Relabelled out of the selector: gone from both.
    const a = await api.client.get(R.pods, 'web-a', ns);
    a.metadata.labels = { app: 'elsewhere' };
    await api.client.update(R.pods, a, { namespace: ns });
    const firstWrite = async (stream: AsyncIterable<{ object: KubeObject }>) => {
      for await (const ev of stream) return ev.object;
      throw new Error('watch ended');
    };
    const nextSlice = await firstWrite(sliceWatch);
    sliceWatch.close();
    assert.deepEqual(
      nextSlice.endpoints.map((e: { targetRef: { name: string } }) => e.targetRef.name),
      ['web-b'],
    );
    const nextEp = await firstWrite(epWatch);
    epWatch.close();
    assert.equal(nextEp.subsets[0].addresses, undefined);
    assert.deepEqual(
      nextEp.subsets[0].notReadyAddresses.map((x: { ip: string }) => x.ip),
      ['10.244.1.11'],
    );

    // Deleted (graceful, its node still running it): terminating in the slice, gone from Endpoints.
    await setReady('web-b', '10.244.1.11', true);
    await api.client.delete(R.pods, 'web-b', { namespace: ns });
    await eventually('web-b terminating', async () => {
      const b = (await slicesOf('web'))[0]?.endpoints?.[0];
      return b?.conditions.terminating === true && b.conditions.ready === false && b.conditions.serving === true ? true : undefined;
    });
    await eventually('Endpoints empty', async () => ((await endpointsOf('web')).subsets?.length ? undefined : true));

    // Service deleted: its slices and Endpoints go.
    await api.client.delete(R.services, 'web', { namespace: ns });
    await eventually('slices deleted', async () => ((await slicesOf('web')).length === 0 ? true : undefined));
    await eventually('Endpoints deleted', async () => {
      try {
        await endpointsOf('web');
        return undefined;
      } catch (e) {
        return (e as { code?: number }).code === 404 ? true : undefined;
      }
    });
  });

  test('a headless Service publishes hostnames of pods in its subdomain', async () => {
    await api.client.create(
      R.services,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'db', namespace: ns },
        spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] },
      },
      { namespace: ns },
    );
    await api.client.create(
      R.pods,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'db-0', namespace: ns, labels: { app: 'db' } },
        spec: { nodeName: 'node-1', hostname: 'db-0', subdomain: 'db', containers: [{ name: 'db', image: 'postgres' }] },
      },
      { namespace: ns },
    );
    await setReady('db-0', '10.244.1.20', true);
    const slice = await eventually('headless slice', async () => (await slicesOf('db')).find((s) => s.endpoints?.length === 1));
    assert.equal(slice.endpoints[0].hostname, 'db-0');
    assert.equal(slice.metadata.labels?.['service.kubernetes.io/headless'], '');
    const ep = await eventually('headless Endpoints', async () => (await endpointsOf('db')).subsets?.[0]);
    assert.equal(ep.addresses[0].hostname, 'db-0');
  });

  test("a selector-less Service's Endpoints are mirrored, and left alone", async () => {
    await api.client.create(
      R.services,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'my-service', namespace: ns },
        spec: { ports: [{ protocol: 'TCP', port: 80, targetPort: 9376 }] },
      },
      { namespace: ns },
    );
    await api.client.create(
      R.endpoints,
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'my-service', namespace: ns },
        subsets: [{ addresses: [{ ip: '192.0.2.42' }], ports: [{ port: 9376 }] }],
      },
      { namespace: ns },
    );
    const slice = await eventually('mirrored slice', async () => (await slicesOf('my-service'))[0]);
    assert.equal(slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslicemirroring-controller.k8s.io');
    assert.deepEqual(slice.endpoints, [{ addresses: ['192.0.2.42'], conditions: { ready: true } }]);
    assert.deepEqual(slice.ports, [{ name: '', port: 9376, protocol: 'TCP' }]);
    assert.equal(slice.metadata.ownerReferences?.[0].kind, 'Endpoints');

    const ep = await endpointsOf('my-service');
    assert.deepEqual(ep.subsets, [{ addresses: [{ ip: '192.0.2.42' }], ports: [{ port: 9376, protocol: 'TCP' }] }]);

    ep.subsets = [{ addresses: [{ ip: '192.0.2.43' }], ports: [{ port: 9376 }] }];
    await api.client.update(R.endpoints, ep, { namespace: ns });
    await eventually('mirror follows the edit', async () => {
      const s = await slicesOf('my-service');
      return s.length === 1 && s[0].metadata.name === slice.metadata.name && s[0].endpoints?.[0]?.addresses[0] === '192.0.2.43'
        ? true
        : undefined;
    });

    await api.client.delete(R.endpoints, 'my-service', { namespace: ns });
    await eventually('mirror removed', async () => ((await slicesOf('my-service')).length === 0 ? true : undefined));
  });
});

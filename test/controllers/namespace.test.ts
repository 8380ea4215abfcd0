/** The namespace controller against the real API server handler: deleting a namespace empties and removes it. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { R } from '../../src/client/types.js';
import { deletionConditions, startNamespaceController } from '../../src/controllers/namespace/index.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';
import { eventually } from '../helpers/eventually.js';

describe('namespace controller', () => {
  let api: TestApiServer;
  let stop: () => Promise<void>;

  before(async () => {
    api = await startTestApiServer();
    const c = startNamespaceController(api.client, { recheckMs: 20 });
    stop = () => c.stop();
    await c.ready;
  });
  after(async () => {
    await stop();
    await api.close();
  });

  const getNs = async (name: string) => {
    try {
      return await api.client.get(R.namespaces, name);
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  };

  test('a deleted namespace is emptied, waits for finalizers, then goes', async () => {
    await api.client.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    await api.client.create(
      R.configmaps,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plain', namespace: 'team-a' } },
      { namespace: 'team-a' },
    );
    await api.client.create(
      R.configmaps,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: 'team-a', finalizers: ['example.com/hold'] } },
      { namespace: 'team-a' },
    );
    await api.client.create(
      R.services,
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'team-a' }, spec: { ports: [{ port: 80 }] } },
      { namespace: 'team-a' },
    );
    await api.client.delete(R.namespaces, 'team-a');

    const waiting = await eventually('content-remaining condition', async () => {
      const ns = await getNs('team-a');
      const c = ns?.status?.conditions?.find((x: { type: string }) => x.type === 'NamespaceContentRemaining');
      return c?.status === 'True' ? ns : undefined;
    });
    assert.equal(waiting?.status?.phase, 'Terminating');
    const fin = waiting?.status?.conditions?.find((x: { type: string }) => x.type === 'NamespaceFinalizersRemaining');
    assert.equal(fin.message, 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances');
    assert.equal((await api.client.list(R.services, { namespace: 'team-a' })).items.length, 0);
    assert.deepEqual(
      (await api.client.list(R.configmaps, { namespace: 'team-a' })).items.map((c) => c.metadata.name),
      ['held'],
    );

    const held = await api.client.get(R.configmaps, 'held', 'team-a');
    held.metadata.finalizers = [];
    await api.client.update(R.configmaps, held, { namespace: 'team-a' });
    await eventually('namespace removed', async () => ((await getNs('team-a')) ? undefined : true));
  });
});

describe('deletionConditions', () => {
  test('all clear reads as upstream', () => {
    const c = deletionConditions({ remaining: new Map(), finalizers: new Map(), failures: new Map() });
    assert.deepEqual(
      c.map((x) => [x.type, x.status, x.reason]),
      [
        ['NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered'],
        ['NamespaceDeletionGroupVersionParsingFailure', 'False', 'ParsedGroupVersions'],
        ['NamespaceDeletionContentFailure', 'False', 'ContentDeleted'],
        ['NamespaceContentRemaining', 'False', 'ContentRemoved'],
        ['NamespaceFinalizersRemaining', 'False', 'ContentHasNoFinalizers'],
      ],
    );
  });
  test('remaining pods are reported by resource', () => {
    const c = deletionConditions({ remaining: new Map([['pods.', 2]]), finalizers: new Map(), failures: new Map() });
    assert.equal(c[3].message, 'Some resources are remaining: pods. has 2 resource instances');
  });
});

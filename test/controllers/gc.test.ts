/** The garbage collector against the real API server handler: background, foreground and orphan deletion. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import { R } from '../../src/client/types.js';
import { startGarbageCollector } from '../../src/controllers/garbagecollector/index.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';
import { eventually } from '../helpers/eventually.js';

describe('garbage collector', () => {
  let api: TestApiServer;
  let stop: () => Promise<void>;
  const ns = 'default';

  before(async () => {
    api = await startTestApiServer();
    const gc = startGarbageCollector(api.client);
    stop = () => gc.stop();
    await gc.ready;
  });
  after(async () => {
    await stop();
    await api.close();
  });

  const cm = (name: string, owners: KubeObject[] = [], extra: Partial<KubeObject['metadata']> = {}, block = false) =>
    api.client.create(
      R.configmaps,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name,
          namespace: ns,
          ...extra,
          ownerReferences: owners.map((o) => ({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: o.metadata.name ?? '',
            uid: o.metadata.uid ?? '',
            ...(block ? { blockOwnerDeletion: true } : {}),
          })),
        },
      },
      { namespace: ns },
    );
  const get = async (name: string) => {
    try {
      return await api.client.get(R.configmaps, name, ns);
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  };
  const gone = (name: string) => eventually(`${name} gone`, async () => ((await get(name)) ? undefined : true));

  test('dependents of a deleted owner are deleted, down the chain', async () => {
    const owner = await cm('bg-owner');
    const child = await cm('bg-child', [owner]);
    await cm('bg-grandchild', [child]);
    await api.client.delete(R.configmaps, 'bg-owner', { namespace: ns });
    await gone('bg-child');
    await gone('bg-grandchild');
  });

  test('a reference whose UID does not match the named object counts as gone', async () => {
    await cm('uid-owner');
    await cm('uid-dep', [{ metadata: { name: 'uid-owner', uid: 'not-the-real-uid' } }]);
    await gone('uid-dep');
    assert.ok(await get('uid-owner'));
  });

  test('a dependent with one live owner only loses the dead reference', async () => {
    const alive = await cm('multi-alive');
    await cm('multi-dep', [alive, { metadata: { name: 'multi-dead', uid: 'dead-uid' } }]);
    const dep = await eventually('dead reference dropped', async () => {
      const d = await get('multi-dep');
      return d?.metadata.ownerReferences?.length === 1 ? d : undefined;
    });
    assert.equal(dep.metadata.ownerReferences?.[0].uid, alive.metadata.uid);
  });

  test('foreground: the owner stays until its blocking dependents are gone', async () => {
    const owner = await cm('fg-owner');
    await cm('fg-dep', [owner], { finalizers: ['example.com/hold'] }, true);
    await api.client.delete(R.configmaps, 'fg-owner', { namespace: ns, propagationPolicy: 'Foreground' });
    const held = await eventually('dependent marked for deletion', async () => {
      const d = await get('fg-dep');
      return d?.metadata.deletionTimestamp ? d : undefined;
    });
    const ownerNow = await get('fg-owner');
    assert.ok(ownerNow?.metadata.finalizers?.includes('foregroundDeletion'), 'owner waits with foregroundDeletion');
    held.metadata.finalizers = [];
    await api.client.update(R.configmaps, held, { namespace: ns });
    await gone('fg-dep');
    await gone('fg-owner');
  });

  test('orphan: dependents keep living without the reference, then the owner goes', async () => {
    const owner = await cm('or-owner');
    const other = await cm('or-other');
    await cm('or-dep', [owner, other]);
    await api.client.delete(R.configmaps, 'or-owner', { namespace: ns, propagationPolicy: 'Orphan' });
    await gone('or-owner');
    const dep = await get('or-dep');
    assert.deepEqual(
      dep?.metadata.ownerReferences?.map((r) => r.name),
      ['or-other'],
    );
  });
});

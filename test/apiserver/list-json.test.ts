/**
 * Lists served pre-serialized (GenericStorage.listJson through the handler): the same objects as
 * the parsed list, with each item's resourceVersion, and every write visible at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import type { GenericStorage } from '../../src/apiserver/registry/generic.js';
import { R } from '../../src/client/types.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';

function configMap(name: string, data: Record<string, string>, labels?: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels }, data };
}

async function rawList(api: TestApiServer, query = ''): Promise<{ status: number; body: string }> {
  const res = await api.handler.handle({
    method: 'GET',
    path: '/api/v1/namespaces/default/configmaps',
    query: new URLSearchParams(query),
    headers: {},
    user: 'test',
  });
  assert.equal(res.kind, 'raw');
  assert.equal(res.kind === 'raw' && res.contentType, 'application/json');
  return { status: res.status, body: res.kind === 'raw' ? String(res.body) : '' };
}

describe('pre-serialized lists', () => {
  let api: TestApiServer;
  let storage: GenericStorage;
  before(async () => {
    api = await startTestApiServer();
    storage = api.registry.find('', 'v1', 'configmaps')!.storage;
  });
  after(() => api.close());

  test('items carry apiVersion, kind and their own resourceVersion, as a get does', async () => {
    for (const n of ['a', 'b', 'c']) await api.client.create(R.configmaps, configMap(n, { k: n }));
    const { status, body } = await rawList(api);
    assert.equal(status, 200);
    const list = JSON.parse(body);
    assert.equal(list.apiVersion, 'v1');
    assert.equal(list.kind, 'ConfigMapList');
    const names = list.items.map((i: KubeObject) => i.metadata.name);
    assert.deepEqual(names, ['a', 'b', 'c']);
    for (const item of list.items) {
      assert.deepEqual(item, await api.client.get(R.configmaps, item.metadata.name, 'default'));
      assert.equal(item.apiVersion, 'v1');
      assert.equal(item.kind, 'ConfigMap');
    }
    assert.deepEqual(list, await storage.list('default'));
  });

  test('reflects updates and deletes immediately (read-your-writes)', async () => {
    await api.client.create(R.configmaps, configMap('ryw', { v: '1' }));
    const cm = await api.client.get(R.configmaps, 'ryw', 'default');
    const listed = await api.client.list(R.configmaps, { namespace: 'default' });
    assert.deepEqual(listed.items.find((i) => i.metadata.name === 'ryw')?.data, { v: '1' });
    const updated = await api.client.update(R.configmaps, { ...cm, data: { v: '2' } });
    assert.notEqual(updated.metadata.resourceVersion, cm.metadata.resourceVersion);
    let list = await api.client.list(R.configmaps, { namespace: 'default' });
    const item = list.items.find((i) => i.metadata.name === 'ryw');
    assert.deepEqual(item?.data, { v: '2' });
    assert.equal(item?.metadata.resourceVersion, updated.metadata.resourceVersion);
    assert.ok(Number(list.metadata.resourceVersion) >= Number(updated.metadata.resourceVersion));

    await api.client.delete(R.configmaps, 'ryw', { namespace: 'default' });
    list = await api.client.list(R.configmaps, { namespace: 'default' });
    assert.equal(
      list.items.find((i) => i.metadata.name === 'ryw'),
      undefined,
    );

    const again = await api.client.create(R.configmaps, configMap('ryw', { v: '3' }));
    list = await api.client.list(R.configmaps, { namespace: 'default' });
    const recreated = list.items.find((i) => i.metadata.name === 'ryw');
    assert.deepEqual(recreated?.data, { v: '3' });
    assert.equal(recreated?.metadata.uid, again.metadata.uid);
    assert.equal(recreated?.metadata.resourceVersion, again.metadata.resourceVersion);
  });

  test('a list at an older resourceVersion serves that revision, and later lists the current one', async () => {
    const cm = await api.client.create(R.configmaps, configMap('old-rv', { v: '1' }));
    const first = await api.client.list(R.configmaps, { namespace: 'default' });
    await api.client.update(R.configmaps, { ...cm, data: { v: '2' } });
    const exact = await api.client.list(R.configmaps, {
      namespace: 'default',
      resourceVersion: first.metadata.resourceVersion,
      resourceVersionMatch: 'Exact',
    });
    assert.deepEqual(exact.items.find((i) => i.metadata.name === 'old-rv')?.data, { v: '1' });
    const now = await api.client.list(R.configmaps, { namespace: 'default' });
    assert.deepEqual(now.items.find((i) => i.metadata.name === 'old-rv')?.data, { v: '2' });
  });

  test('selectors, limit and continue give the same pages as the parsed list', async () => {
    for (const n of ['s1', 's2', 's3']) await api.client.create(R.configmaps, configMap(n, { k: n }, { tier: 'sel' }));
    const first = JSON.parse((await rawList(api, 'labelSelector=tier%3Dsel&limit=2')).body);
    assert.deepEqual(
      first.items.map((i: KubeObject) => i.metadata.name),
      ['s1', 's2'],
    );
    assert.ok(first.metadata.continue);
    const rest = JSON.parse((await rawList(api, `labelSelector=tier%3Dsel&limit=2&continue=${first.metadata.continue}`)).body);
    assert.deepEqual(
      rest.items.map((i: KubeObject) => i.metadata.name),
      ['s3'],
    );
    const filter = { matches: (o: KubeObject) => o.metadata.labels?.tier === 'sel' };
    assert.deepEqual(JSON.parse(String(await storage.listJson('default', { filter }))), await storage.list('default', { filter }));
  });

  test('values stored in another key order, or with empty metadata, are served right', async () => {
    const store = api.registry.store;
    await store.create(
      storage.key('legacy', 'old'),
      JSON.stringify({ data: { x: '1' }, metadata: { name: 'old', namespace: 'legacy' }, kind: 'ConfigMap', apiVersion: 'v1' }),
    );
    const bare = await store.create(storage.key('legacy', 'bare'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }));
    const list = JSON.parse(String(await storage.listJson('legacy')));
    assert.deepEqual(list.items[0], { apiVersion: 'v1', kind: 'ConfigMap', metadata: { resourceVersion: String(bare.modRevision) } });
    assert.equal(list.items[1].metadata.name, 'old');
    assert.deepEqual(list.items[1].data, { x: '1' });
    assert.deepEqual(list, await storage.list('legacy'));
  });
});

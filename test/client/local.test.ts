/** The client conformance suite in-process: LocalClient through the API server's own handler. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject, WatchEvent } from '../../src/api/meta.js';
import { R } from '../../src/client/types.js';
import { startTestApiServer } from '../helpers/apiserver.js';
import { clientConformance } from './conformance.js';

clientConformance('in-process LocalClient (memory store)', async () => {
  const api = await startTestApiServer();
  const store = api.registry.store;
  return {
    client: api.client,
    compact: async () => store.compact(await store.currentRevision()),
    close: () => api.close(),
  };
});

describe('LocalClient hands out objects nobody else holds (it makes no copies of its own)', () => {
  test('request bodies, responses and each watcher’s events are never shared', async () => {
    const api = await startTestApiServer();
    try {
      const { client } = api;
      const body: KubeObject = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'shared', namespace: 'default', labels: { a: '1' } },
        data: { k: 'v' },
      };
      const w1 = await client.watch(R.configmaps, { namespace: 'default' });
      const w2 = await client.watch(R.configmaps, { namespace: 'default' });
      const created = await client.create(R.configmaps, body);
      // The server's defaults and metadata went into its own object, not into the caller's body.
      assert.equal(body.metadata.uid, undefined);
      assert.equal(body.metadata.resourceVersion, undefined);
      // Changing what the caller sent or got back changes nothing stored.
      (body.metadata.labels as Record<string, string>).a = 'changed-body';
      (created.metadata.labels as Record<string, string>).a = 'changed-response';
      (created as unknown as { data: Record<string, string> }).data.k = 'changed-response';
      const got = await client.get(R.configmaps, 'shared', 'default');
      assert.equal(got.metadata.labels?.a, '1');
      assert.equal((got as unknown as { data: Record<string, string> }).data.k, 'v');
      const next = async (w: AsyncIterable<WatchEvent>) => {
        for await (const ev of w) if (ev.object.metadata.name === 'shared') return ev.object;
        throw new Error('watch ended');
      };
      const [e1, e2] = await Promise.all([next(w1), next(w2)]);
      assert.notEqual(e1, e2);
      assert.notEqual(e1.metadata, e2.metadata);
      (e1.metadata.labels as Record<string, string>).a = 'changed-event';
      assert.equal(e2.metadata.labels?.a, '1');
      assert.equal((await client.get(R.configmaps, 'shared', 'default')).metadata.labels?.a, '1');
      w1.close();
      w2.close();
    } finally {
      await api.close();
    }
  });
});

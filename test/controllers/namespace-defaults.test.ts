/**
 * The service account controller and the root CA publisher against the real API server handler:
 * every namespace gets the ServiceAccount `default` and the ConfigMap `kube-root-ca.crt`, they come
 * back when deleted or changed, and a namespace being deleted is left alone (together with the
 * namespace controller, it still goes away).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import { R } from '../../src/client/types.js';
import { SharedInformers } from '../../src/controllers/controller.js';
import { startNamespaceController } from '../../src/controllers/namespace/index.js';
import { ROOT_CA_CONFIGMAP, startRootCACertPublisher } from '../../src/controllers/rootcacertpublisher/controller.js';
import { startServiceAccountController } from '../../src/controllers/serviceaccount/controller.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';
import { eventually } from '../helpers/eventually.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('default ServiceAccount and kube-root-ca.crt in every namespace', () => {
  let api: TestApiServer;
  let stop: () => Promise<void>;

  before(async () => {
    api = await startTestApiServer();
    const informers = new SharedInformers(api.client);
    const controllers = [
      startServiceAccountController(api.client, { informers }),
      startRootCACertPublisher(api.client, { informers, caPem: CA }),
      startNamespaceController(api.client, { informers, recheckMs: 20 }),
    ];
    stop = async () => {
      await Promise.all(controllers.map((c) => c.stop()));
      informers.stop();
    };
    await Promise.all(controllers.map((c) => c.ready));
  });
  after(async () => {
    await stop();
    await api.close();
  });

  const get = async (gvr: (typeof R)[keyof typeof R], name: string, namespace?: string): Promise<KubeObject | undefined> => {
    try {
      return await api.client.get(gvr, name, namespace);
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  };

  test('the namespaces that exist at start, and a new one, get both', async () => {
    await api.client.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    for (const ns of ['default', 'kube-system', 'team-a']) {
      await eventually(`default SA in ${ns}`, () => get(R.serviceaccounts, 'default', ns));
      const cm = (await eventually(`CA in ${ns}`, () => get(R.configmaps, ROOT_CA_CONFIGMAP, ns))) as KubeObject & {
        data?: Record<string, string>;
      };
      assert.deepEqual(cm.data, { 'ca.crt': CA });
      assert.match(cm.metadata.annotations?.['kubernetes.io/description'] ?? '', /^Contains a CA bundle/);
    }
  });

  test('deleted, they come back; a changed CA ConfigMap is put back', async () => {
    await api.client.delete(R.serviceaccounts, 'default', { namespace: 'team-a' });
    await api.client.delete(R.configmaps, ROOT_CA_CONFIGMAP, { namespace: 'default' });
    await eventually('SA recreated', () => get(R.serviceaccounts, 'default', 'team-a'));
    await eventually('CA recreated', () => get(R.configmaps, ROOT_CA_CONFIGMAP, 'default'));
    const cm = (await get(R.configmaps, ROOT_CA_CONFIGMAP, 'team-a')) as KubeObject & { data?: Record<string, string> };
    await api.client.update(R.configmaps, { ...cm, data: { 'ca.crt': 'tampered', extra: 'x' } }, { namespace: 'team-a' });
    await eventually('CA restored', async () => {
      const now = (await get(R.configmaps, ROOT_CA_CONFIGMAP, 'team-a')) as (KubeObject & { data?: Record<string, string> }) | undefined;
      return now?.data?.['ca.crt'] === CA && Object.keys(now.data).length === 1 ? now : undefined;
    });
  });

  test('a namespace being deleted is not refilled, and goes away', async () => {
    await api.client.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' } });
    await eventually('SA in team-b', () => get(R.serviceaccounts, 'default', 'team-b'));
    await eventually('CA in team-b', () => get(R.configmaps, ROOT_CA_CONFIGMAP, 'team-b'));
    await api.client.delete(R.namespaces, 'team-b');
    await eventually('team-b gone', async () => ((await get(R.namespaces, 'team-b')) ? undefined : true));
    assert.equal((await api.client.list(R.serviceaccounts, { namespace: 'team-b' })).items.length, 0);
    assert.equal((await api.client.list(R.configmaps, { namespace: 'team-b' })).items.length, 0);
  });
});

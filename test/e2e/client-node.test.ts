/**
 * The official JavaScript client, @kubernetes/client-node, against a real `svcnet up`: loaded from
 * the generated kubeconfig, it creates, lists and watches Services (CoreV1Api, Watch, and an
 * informer from makeInformer) with nothing svcnet-specific.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig, makeInformer, type V1Service, Watch } from '@kubernetes/client-node';
import { startCluster, type TestCluster } from './cluster.js';

const NS = 'client-node';
let cluster: TestCluster;
let kc: KubeConfig;
let core: CoreV1Api;

function service(name: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

/** Resolves when `cond()` holds (polling the event loop), failing after `ms`. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('@kubernetes/client-node against svcnet up', () => {
  before(async () => {
    cluster = await startCluster();
    kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    // (client-node 1.x sends every patch as a JSON patch, application/json-patch+json.)
  });
  after(() => cluster?.stop());

  test('CoreV1Api creates, reads and lists Services; errors carry the Status', async () => {
    const made = await core.createNamespacedService({ namespace: NS, body: service('listed') });
    assert.match(made.spec?.clusterIP ?? '', /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    assert.deepEqual(made.spec?.ipFamilies, ['IPv4']);

    const got = await core.readNamespacedService({ name: 'listed', namespace: NS });
    assert.equal(got.metadata?.uid, made.metadata?.uid);

    const list = await core.listNamespacedService({ namespace: NS });
    assert.deepEqual(
      list.items.map((s) => s.metadata?.name),
      ['listed'],
    );
    const byLabel = await core.listServiceForAllNamespaces({ labelSelector: 'app=listed' });
    assert.deepEqual(
      byLabel.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`),
      [`${NS}/listed`],
    );
    const kubernetes = await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
    assert.equal(kubernetes.spec?.clusterIP, '10.96.0.1');

    await assert.rejects(core.readNamespacedService({ name: 'missing', namespace: NS }), (e: { code?: number; body?: string }) => {
      assert.equal(e.code, 404);
      const status = JSON.parse(e.body ?? '{}');
      assert.deepEqual([status.kind, status.reason, status.message], ['Status', 'NotFound', 'services "missing" not found']);
      return true;
    });
  });

  test('Watch delivers ADDED, MODIFIED and DELETED from a resourceVersion', async () => {
    const from = (await core.listNamespacedService({ namespace: NS })).metadata?.resourceVersion;
    const events: string[] = [];
    let ended = false;
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${NS}/services`,
      { resourceVersion: from, allowWatchBookmarks: true },
      (phase, obj: V1Service) => events.push(`${phase} ${obj.metadata?.name}`),
      () => {
        ended = true;
      },
    );
    try {
      await core.createNamespacedService({ namespace: NS, body: service('watched') });
      await core.patchNamespacedService({
        name: 'watched',
        namespace: NS,
        body: [{ op: 'add', path: '/metadata/labels/changed', value: 'yes' }],
      });
      await core.deleteNamespacedService({ name: 'watched', namespace: NS });
      await until(() => events.length >= 3, 'three watch events');
      assert.deepEqual(events, ['ADDED watched', 'MODIFIED watched', 'DELETED watched']);
    } finally {
      controller.abort();
    }
    await until(() => ended, 'the watch to end after abort');
  });

  test('an informer from makeInformer lists, then follows adds, updates and deletes', async () => {
    const informer = makeInformer(kc, `/api/v1/namespaces/${NS}/services`, () => core.listNamespacedService({ namespace: NS }));
    const log: string[] = [];
    informer.on('add', (s: V1Service) => log.push(`add ${s.metadata?.name}`));
    informer.on('update', (s: V1Service) => log.push(`update ${s.metadata?.name} ${s.metadata?.labels?.v ?? ''}`));
    informer.on('delete', (s: V1Service) => log.push(`delete ${s.metadata?.name}`));
    const errors: unknown[] = [];
    informer.on('error', (e: unknown) => errors.push(e));
    await informer.start();
    try {
      await until(() => log.includes('add listed'), 'the initial list');
      await core.createNamespacedService({ namespace: NS, body: service('informed') });
      await core.patchNamespacedService({ name: 'informed', namespace: NS, body: [{ op: 'add', path: '/metadata/labels/v', value: '2' }] });
      await core.deleteNamespacedService({ name: 'informed', namespace: NS });
      await until(() => log.includes('delete informed'), 'the informer to see the delete');
      assert.deepEqual(log, ['add listed', 'add informed', 'update informed 2', 'delete informed']);
      assert.deepEqual(
        informer.list(NS).map((s) => s.metadata?.name),
        ['listed'],
      );
      assert.equal(informer.get('listed', NS)?.spec?.ports?.[0]?.port, 80);
      assert.deepEqual(errors, []);
    } finally {
      await informer.stop();
    }
  });
});

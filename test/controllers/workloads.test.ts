/**
 * Integration: the workload controllers (simulated nodes, scheduler, ReplicaSet and Deployment
 * controllers) against the real API server (in-memory store, in-process client). Waits are
 * driven by watches, never by sleeps.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import { SharedInformer } from '../../src/client/informer.js';
import { type Client, type GroupVersionResource, R } from '../../src/client/types.js';
import { isPodReady, SharedInformers } from '../../src/controllers/controller.js';
import { startDeploymentController } from '../../src/controllers/deployment/controller.js';
import { startReplicaSetController } from '../../src/controllers/replicaset/controller.js';
import { startScheduler } from '../../src/controllers/scheduler/scheduler.js';
import { SIM_READY_ANNOTATION } from '../../src/controllers/simnode/objects.js';
import { startSimulatedNodes } from '../../src/controllers/simnode/simnode.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';

const NS = { namespace: 'default' };

/** Objects as the tests read them: plain JSON, every field optional. */
// biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary fields
type Loose = any;

/** Resolves with `check`'s value once it is truthy for the objects of `gvr`, re-checked on every watch event. */
async function waitFor<T>(
  client: Client,
  gvr: GroupVersionResource,
  check: (items: Loose[]) => T | undefined | false,
  what: string,
  ms = 10_000,
): Promise<T> {
  const inf = new SharedInformer(client, gvr, { namespace: 'default' });
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(inf.list().map((o) => [o.metadata.name, o.status]))}`)),
        ms,
      );
      const evaluate = () => {
        if (!inf.hasSynced()) return;
        const v = check(inf.list());
        if (v) {
          clearTimeout(timer);
          resolve(v);
        }
      };
      inf.addEventHandler({ onAdd: evaluate, onUpdate: evaluate, onDelete: evaluate });
      inf.run();
      void inf.waitForSync().then(evaluate);
    });
  } finally {
    inf.stop();
  }
}

function webui(replicas: number, image = 'nginx:1.25'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'webui', namespace: 'default', labels: { app: 'webui' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'webui' } },
      template: {
        metadata: { labels: { app: 'webui' } },
        spec: { containers: [{ name: 'nginx', image, ports: [{ containerPort: 80 }] }] },
      },
    },
  };
}

const live = (pods: Loose[]): Loose[] => pods.filter((p) => !p.metadata.deletionTimestamp);
const allReady =
  (n: number, also: (ps: Loose[]) => boolean = () => true) =>
  (pods: Loose[]) => {
    const ps = live(pods);
    return ps.length === n && ps.every((p) => p.status?.phase === 'Running' && isPodReady(p)) && also(ps) && ps;
  };
const rolledOut = (n: number, revision?: string) => (ds: Loose[]) => {
  const d = ds.find((x) => x.metadata.name === 'webui');
  const s = d?.status ?? {};
  const done =
    d &&
    s.replicas === n &&
    s.updatedReplicas === n &&
    s.availableReplicas === n &&
    s.observedGeneration === d.metadata.generation &&
    (s.conditions ?? []).some((c: { type: string; reason: string }) => c.reason === 'NewReplicaSetAvailable') &&
    (!revision || d.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision);
  return done && d;
};

describe('workload controllers through the API server', () => {
  let api: TestApiServer;
  let client: Client;
  let stop: () => Promise<void>;
  const errors: unknown[] = [];

  beforeEach(async () => {
    api = await startTestApiServer();
    client = api.client;
    const informers = new SharedInformers(client);
    // Conflicts are normal optimistic-concurrency retries; anything else is a bug.
    const onError = (key: string, e: unknown) => {
      if ((e as { code?: number }).code !== 409) errors.push(`${key}: ${e}`);
    };
    const parts = [
      startSimulatedNodes(client, { count: 3, informers, onError }),
      startScheduler(client, { informers, onError }),
      startReplicaSetController(client, { informers, onError }),
      startDeploymentController(client, { informers, onError }),
    ];
    stop = async () => {
      await Promise.all(parts.map((p) => p.stop()));
      informers.stop();
    };
    await Promise.all(parts.map((p) => p.ready));
  });
  afterEach(async () => {
    await stop();
    await api.close();
    assert.deepEqual(errors.splice(0), []);
  });

  test('Deployment webui with 3 replicas → 3 Running, Ready pods spread over 3 nodes, with events', async () => {
    await client.create(R.deployments, webui(3), NS);
    const pods = await waitFor(client, R.pods, allReady(3), '3 ready pods');
    assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ['node-1', 'node-2', 'node-3']);
    for (const p of pods) {
      assert.equal(p.status.podIP, p.status.podIPs[0].ip);
      assert.ok(p.status.podIP.startsWith(`10.244.${p.spec.nodeName.slice('node-'.length)}.`));
      assert.equal(p.status.hostIP, `172.18.0.${Number(p.spec.nodeName.slice('node-'.length)) + 1}`);
      assert.equal(p.metadata.labels['pod-template-hash'], p.metadata.name.split('-')[1]);
      const owner = p.metadata.ownerReferences[0];
      assert.deepEqual([owner.kind, owner.controller, owner.blockOwnerDeletion], ['ReplicaSet', true, true]);
    }
    const d = await waitFor(client, R.deployments, rolledOut(3, '1'), 'rollout');
    assert.deepEqual(
      d.status.conditions.map((c: { type: string; reason: string }) => `${c.type}/${c.reason}`),
      ['Available/MinimumReplicasAvailable', 'Progressing/NewReplicaSetAvailable'],
    );
    const rsName = pods[0].metadata.ownerReferences[0].name;
    const events = await waitFor(
      client,
      R.events,
      (es) => es.filter((e) => e.reason === 'Scheduled' || e.reason === 'SuccessfulCreate').length === 6 && es,
      'events',
    );
    const messages = events.map((e) => `${e.source.component} ${e.reason} ${e.message}`);
    assert.ok(
      messages.includes(`deployment-controller ScalingReplicaSet Scaled up replica set ${rsName} from 0 to 3`),
      messages.join('\n'),
    );
    for (const p of pods) {
      assert.ok(messages.includes(`replicaset-controller SuccessfulCreate Created pod: ${p.metadata.name}`));
      assert.ok(messages.includes(`default-scheduler Scheduled Successfully assigned default/${p.metadata.name} to ${p.spec.nodeName}`));
    }
    const nodes = (await client.list(R.nodes)).items;
    assert.deepEqual(nodes.map((n) => n.spec.podCIDR).sort(), ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24']);
    const leases = (await client.list(R.leases, { namespace: 'kube-node-lease' })).items;
    assert.deepEqual(leases.map((l) => l.metadata.name).sort(), ['node-1', 'node-2', 'node-3']);
  });

  test('a deleted pod is replaced; a relabelled pod is released and replaced', async () => {
    await client.create(R.deployments, webui(3), NS);
    const pods = await waitFor(client, R.pods, allReady(3), '3 ready pods');
    const gone = pods[0].metadata.name;
    await client.delete(R.pods, gone, NS);
    await waitFor(
      client,
      R.pods,
      allReady(3, (ps) => !ps.some((p) => p.metadata.name === gone)),
      'replacement',
    );

    const current = await waitFor(client, R.pods, allReady(3), '3 ready pods');
    const relabelled = current[1].metadata.name;
    await client.patch(R.pods, relabelled, 'merge', { metadata: { labels: { app: 'debug' } } }, NS);
    const after = await waitFor(
      client,
      R.pods,
      (ps) => {
        const freed = ps.find((p) => p.metadata.name === relabelled);
        const webuiPods = live(ps).filter((p) => p.metadata.labels.app === 'webui' && isPodReady(p));
        return freed && !(freed.metadata.ownerReferences ?? []).length && webuiPods.length === 3 && ps;
      },
      'release and replacement',
    );
    assert.equal(live(after).length, 4);
  });

  test('kubectl scale 3 → 5 → 1 through the scale subresource', async () => {
    await client.create(R.deployments, webui(3), NS);
    await waitFor(client, R.deployments, rolledOut(3), 'rollout of 3');
    await client.patch(R.deployments, 'webui', 'merge', { spec: { replicas: 5 } }, { ...NS, subresource: 'scale' });
    const five = await waitFor(client, R.pods, allReady(5), '5 ready pods');
    const perNode = new Map<string, number>();
    for (const p of five) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
    assert.deepEqual([...perNode.values()].sort(), [1, 2, 2]);
    await waitFor(client, R.deployments, rolledOut(5), 'status of 5');
    await client.patch(R.deployments, 'webui', 'merge', { spec: { replicas: 1 } }, { ...NS, subresource: 'scale' });
    await waitFor(client, R.pods, allReady(1), '1 pod');
    await waitFor(client, R.deployments, rolledOut(1), 'status of 1');
    const events = (await client.list(R.events, NS)).items.filter((e) => e.reason === 'SuccessfulDelete');
    assert.equal(events.length, 4);
  });

  test('an image change rolls out revision 2; rollout undo and restart make revisions 3 and 4', async () => {
    await client.create(R.deployments, webui(4), NS);
    await waitFor(client, R.deployments, rolledOut(4, '1'), 'revision 1');
    const [first]: Loose[] = (await client.list(R.replicasets, NS)).items;

    await client.patch(
      R.deployments,
      'webui',
      'strategic',
      { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } } } },
      NS,
    );
    await waitFor(client, R.deployments, rolledOut(4, '2'), 'revision 2');
    await waitFor(
      client,
      R.pods,
      allReady(4, (ps) => ps.every((p) => p.spec.containers[0].image === 'nginx:1.27')),
      'new pods',
    );
    const sets = (await client.list(R.replicasets, NS)).items;
    assert.equal(sets.length, 2);
    assert.equal(sets.find((s) => s.metadata.name === first.metadata.name)?.spec.replicas, 0);

    // kubectl rollout undo: the previous ReplicaSet's template (hash label removed) replaces the Deployment's.
    const template = structuredClone(first.spec.template);
    delete template.metadata.labels['pod-template-hash'];
    await client.patch(R.deployments, 'webui', 'json', [{ op: 'replace', path: '/spec/template', value: template }], NS);
    await waitFor(client, R.deployments, rolledOut(4, '3'), 'revision 3');
    const restored: Loose = await client.get(R.replicasets, first.metadata.name, 'default');
    assert.equal(restored.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    assert.equal(restored.metadata.annotations['deployment.kubernetes.io/revision-history'], '1');

    // kubectl rollout restart: an annotation on the template.
    const at = '2025-01-01T00:00:00Z';
    await client.patch(
      R.deployments,
      'webui',
      'strategic',
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at } } } } },
      NS,
    );
    await waitFor(client, R.deployments, rolledOut(4, '4'), 'revision 4');
    await waitFor(
      client,
      R.pods,
      allReady(4, (ps) => ps.every((p) => p.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] === at)),
      'restarted pods',
    );
  });

  test('readiness follows the sim-ready annotation and Available follows readiness', async () => {
    await client.create(R.deployments, webui(2), NS);
    const pods = await waitFor(client, R.pods, allReady(2), '2 ready pods');
    await client.patch(R.pods, pods[0].metadata.name, 'merge', { metadata: { annotations: { [SIM_READY_ANNOTATION]: 'false' } } }, NS);
    const d = await waitFor(client, R.deployments, (ds) => ds[0]?.status?.readyReplicas === 1 && ds[0], 'readyReplicas 1');
    assert.equal(d.status.unavailableReplicas, 1);
    const pod: Loose = await client.get(R.pods, pods[0].metadata.name, 'default');
    const ready = pod.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.deepEqual(
      [ready.status, ready.reason, ready.message],
      ['False', 'ContainersNotReady', 'containers with unready status: [nginx]'],
    );
  });

  test('a pod whose nodeSelector matches no node stays Pending with FailedScheduling', async () => {
    await client.create(
      R.pods,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'picky', namespace: 'default' },
        spec: { nodeSelector: { disk: 'ssd' }, containers: [{ name: 'c', image: 'nginx' }] },
      },
      NS,
    );
    const pod = await waitFor(
      client,
      R.pods,
      (ps) =>
        ps.find((p) =>
          p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'PodScheduled' && c.status === 'False'),
        ),
      'unschedulable',
    );
    const cond = pod.status.conditions.find((c: { type: string }) => c.type === 'PodScheduled');
    const msg =
      "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    assert.deepEqual([cond.reason, cond.message], ['Unschedulable', msg]);
    const ev = await waitFor(client, R.events, (es) => es.find((e) => e.reason === 'FailedScheduling'), 'FailedScheduling event');
    assert.deepEqual([ev.type, ev.message], ['Warning', msg]);
    assert.equal(pod.spec.nodeName, undefined);
  });
});

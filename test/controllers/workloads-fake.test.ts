/**
 * The workload controllers together (simulated nodes, scheduler, ReplicaSet and Deployment
 * controllers) against the in-memory FakeClient: Deployments become Running, Ready pods spread
 * over the nodes; pods are replaced, released, scaled and rolled.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import { R } from '../../src/client/types.js';
import { isPodReady, SharedInformers } from '../../src/controllers/controller.js';
import { startDeploymentController } from '../../src/controllers/deployment/controller.js';
import { EventRecorder } from '../../src/controllers/events.js';
import { startReplicaSetController } from '../../src/controllers/replicaset/controller.js';
import { startScheduler } from '../../src/controllers/scheduler/scheduler.js';
import { SIM_READY_ANNOTATION } from '../../src/controllers/simnode/objects.js';
import { startSimulatedNodes } from '../../src/controllers/simnode/simnode.js';
import { FakeClient, until } from './fake-client.js';

function deployment(replicas: number, image = 'nginx:1.25'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'webui', namespace: 'default', labels: { app: 'webui' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'webui' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: { metadata: { labels: { app: 'webui' } }, spec: { containers: [{ name: 'nginx', image }] } },
    },
  };
}

describe('workload controllers (fake API)', () => {
  let client: FakeClient;
  let stops: (() => unknown)[];
  const errors: unknown[] = [];

  beforeEach(async () => {
    client = new FakeClient();
    const informers = new SharedInformers(client);
    const onError = (_k: string, e: unknown) => {
      if (!String(e).includes('modified')) errors.push(e);
    };
    const nodes = startSimulatedNodes(client, { count: 3, informers, onError });
    const sched = startScheduler(client, { informers, onError });
    const rs = startReplicaSetController(client, { informers, onError });
    const dep = startDeploymentController(client, { informers, onError });
    stops = [nodes.stop, sched.stop, rs.stop, dep.stop, () => informers.stop()];
    await Promise.all([nodes.ready, sched.ready, rs.ready, dep.ready]);
  });
  afterEach(async () => {
    for (const s of stops) await s();
    assert.deepEqual(errors.splice(0), []);
  });

  const pods = () => client.all(R.pods).filter((p) => !p.metadata.deletionTimestamp);
  const readyPods =
    // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary fields
      (n: number, extra: (p: any[]) => boolean = () => true) =>
      () => {
        const ps = pods();
        return ps.length === n && ps.every((p) => p.status?.phase === 'Running' && isPodReady(p)) && extra(ps) && ps;
      };
  const deploymentDone = (n: number) => () => {
    const d = client.all(R.deployments)[0];
    const s = d?.status ?? {};
    return s.replicas === n && s.updatedReplicas === n && s.availableReplicas === n && s.observedGeneration === d.metadata.generation && d;
  };

  test('a Deployment of 3 becomes 3 Running Ready pods spread over 3 nodes', async () => {
    await client.create(R.deployments, deployment(3), { namespace: 'default' });
    const ps = await until(client, readyPods(3), '3 ready pods');
    assert.deepEqual(new Set(ps.map((p) => p.spec.nodeName)), new Set(['node-1', 'node-2', 'node-3']));
    const ips = ps.map((p) => p.status.podIP);
    assert.equal(new Set(ips).size, 3);
    for (const p of ps) assert.match(p.status.podIP, new RegExp(`^10\\.244\\.${p.spec.nodeName.slice(5)}\\.\\d+$`));
    const rs = client.all(R.replicasets);
    assert.equal(rs.length, 1);
    assert.match(rs[0].metadata.name, /^webui-[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    assert.ok(ps.every((p) => p.metadata.name.startsWith(`${rs[0].metadata.name}-`)));
    const d = await until(client, deploymentDone(3), 'deployment status');
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    const conds = await until(
      client,
      () => {
        const c = client.all(R.deployments)[0].status?.conditions;
        return c?.length === 2 && c[1].reason === 'NewReplicaSetAvailable' && c;
      },
      'conditions',
    );
    assert.deepEqual(
      conds.map((c: { type: string; status: string; reason: string; message: string }) => [c.type, c.status, c.reason, c.message]),
      [
        ['Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'],
        ['Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rs[0].metadata.name}" has successfully progressed.`],
      ],
    );
  });

  test('a deleted pod is replaced, a relabelled pod is released and replaced', async () => {
    await client.create(R.deployments, deployment(3), { namespace: 'default' });
    const ps = await until(client, readyPods(3), '3 ready pods');
    await client.delete(R.pods, ps[0].metadata.name, { namespace: 'default' });
    await until(
      client,
      readyPods(3, (now) => !now.some((p) => p.metadata.name === ps[0].metadata.name)),
      'replacement',
    );
    const victim = pods()[0];
    await client.patch(R.pods, victim.metadata.name, 'merge', { metadata: { labels: { app: 'debug' } } }, { namespace: 'default' });
    const released = await until(
      client,
      () => {
        const p = client.all(R.pods).find((x) => x.metadata.name === victim.metadata.name);
        return p && !(p.metadata.ownerReferences ?? []).some((r: { controller?: boolean }) => r.controller) && p;
      },
      'release',
    );
    assert.equal(released.metadata.labels.app, 'debug');
    await until(client, () => pods().filter((p) => p.metadata.labels.app === 'webui' && isPodReady(p)).length === 3, '3 webui pods again');
  });

  test('scale 3 → 5 → 1', async () => {
    await client.create(R.deployments, deployment(3), { namespace: 'default' });
    await until(client, readyPods(3), '3 ready pods');
    await client.patch(R.deployments, 'webui', 'merge', { spec: { replicas: 5 } }, { namespace: 'default' });
    await until(client, readyPods(5), '5 ready pods');
    await until(client, deploymentDone(5), 'status 5');
    await client.patch(R.deployments, 'webui', 'merge', { spec: { replicas: 1 } }, { namespace: 'default' });
    await until(client, readyPods(1), '1 ready pod');
    await until(client, deploymentDone(1), 'status 1');
    const rs = client.all(R.replicasets)[0];
    assert.equal(rs.metadata.annotations['deployment.kubernetes.io/desired-replicas'], '1');
    assert.equal(rs.metadata.annotations['deployment.kubernetes.io/max-replicas'], '2');
  });

  test('an image change rolls to a new ReplicaSet with revision 2; a rollback brings revision 3 back to the first', async () => {
    await client.create(R.deployments, deployment(4), { namespace: 'default' });
    await until(client, readyPods(4), '4 ready pods');
    const first = client.all(R.replicasets)[0];
    await client.patch(
      R.deployments,
      'webui',
      'merge',
      { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } } } },
      { namespace: 'default' },
    );
    await until(
      client,
      readyPods(4, (ps) => ps.every((p) => p.spec.containers[0].image === 'nginx:1.27')),
      'rolled pods',
    );
    const d = await until(client, deploymentDone(4), 'status after rollout');
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '2');
    const sets = client.all(R.replicasets);
    assert.equal(sets.length, 2);
    const second = sets.find((s) => s.metadata.name !== first.metadata.name);
    assert.equal(second.metadata.annotations['deployment.kubernetes.io/revision'], '2');
    assert.equal(client.all(R.replicasets).find((s) => s.metadata.name === first.metadata.name)?.spec.replicas, 0);
    // Events name the scaling steps as upstream words them.
    const recorderDone = client.all(R.events).map((e) => e.message);
    assert.ok(recorderDone.includes(`Scaled up replica set ${first.metadata.name} from 0 to 4`), recorderDone.join('\n'));
    assert.ok(recorderDone.some((m) => m.startsWith(`Scaled down replica set ${first.metadata.name} from 4 to `)));

    // kubectl rollout undo: the old template comes back (without the hash label).
    const template = structuredClone(first.spec.template);
    delete template.metadata.labels['pod-template-hash'];
    const cur = await client.get(R.deployments, 'webui', 'default');
    await client.update(R.deployments, { ...cur, spec: { ...cur.spec, template } }, { namespace: 'default' });
    await until(
      client,
      readyPods(4, (ps) => ps.every((p) => p.spec.containers[0].image === 'nginx:1.25')),
      'rolled back pods',
    );
    const back = await until(
      client,
      () => {
        const x = client.all(R.deployments)[0];
        return deploymentDone(4)() && x.metadata.annotations['deployment.kubernetes.io/revision'] === '3' && x;
      },
      'revision 3',
    );
    assert.ok(back);
    const restored = client.all(R.replicasets).find((s) => s.metadata.name === first.metadata.name);
    assert.equal(restored.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    assert.equal(restored.metadata.annotations['deployment.kubernetes.io/revision-history'], '1');
  });

  test('Recreate scales the old ReplicaSet to 0 before the new one comes up', async () => {
    const d = deployment(2);
    d.spec.strategy = { type: 'Recreate' };
    await client.create(R.deployments, d, { namespace: 'default' });
    await until(client, readyPods(2), '2 ready pods');
    const mark = client.actions.length;
    await client.patch(
      R.deployments,
      'webui',
      'merge',
      { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } } } },
      { namespace: 'default' },
    );
    await until(
      client,
      readyPods(2, (ps) => ps.every((p) => p.spec.containers[0].image === 'nginx:1.27')),
      'recreated pods',
    );
    const later = client.actions.slice(mark);
    const lastOldDelete = later.map((a, i) => (a.startsWith('delete pods') ? i : -1)).reduce((m, i) => Math.max(m, i), -1);
    const firstNewCreate = later.findIndex((a) => a.startsWith('create pods'));
    assert.ok(lastOldDelete < firstNewCreate, later.join('\n'));
  });

  test('the sim-ready annotation toggles readiness and the ReplicaSet status follows', async () => {
    await client.create(R.deployments, deployment(2), { namespace: 'default' });
    const ps = await until(client, readyPods(2), '2 ready pods');
    await client.patch(
      R.pods,
      ps[0].metadata.name,
      'merge',
      { metadata: { annotations: { [SIM_READY_ANNOTATION]: 'false' } } },
      { namespace: 'default' },
    );
    await until(client, () => client.all(R.replicasets)[0].status?.readyReplicas === 1, 'readyReplicas 1');
    const d = await until(
      client,
      () => client.all(R.deployments)[0].status?.unavailableReplicas === 1 && client.all(R.deployments)[0],
      'unavailable 1',
    );
    assert.equal(d.status.availableReplicas, 1);
  });
});

describe('EventRecorder', () => {
  test('a repeated event bumps count on the existing Event', async () => {
    const client = new FakeClient();
    const recorder = new EventRecorder(client, { component: 'deployment-controller' });
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'webui', namespace: 'default', uid: 'u1', resourceVersion: '7' },
    };
    recorder.event(d, 'Normal', 'ScalingReplicaSet', 'Scaled up replica set webui-5d4c8b7f9c from 0 to 3');
    recorder.event(d, 'Normal', 'ScalingReplicaSet', 'Scaled up replica set webui-5d4c8b7f9c from 0 to 3');
    recorder.event(d, 'Normal', 'ScalingReplicaSet', 'Scaled down replica set webui-5d4c8b7f9c from 3 to 1');
    await recorder.flush();
    const events = client.all(R.events);
    assert.equal(events.length, 2);
    const up = events.find((e) => e.message.includes('up'));
    assert.equal(up.count, 2);
    assert.deepEqual(up.involvedObject, {
      kind: 'Deployment',
      namespace: 'default',
      name: 'webui',
      uid: 'u1',
      apiVersion: 'apps/v1',
      resourceVersion: '7',
    });
    assert.deepEqual(up.source, { component: 'deployment-controller' });
    assert.equal(up.reportingComponent, 'deployment-controller');
    assert.equal(up.type, 'Normal');
    assert.match(up.metadata.name, /^webui\.[0-9a-f]+$/);
  });
});

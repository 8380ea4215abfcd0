import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PodLike } from '../controller.js';
import { podFromTemplate, podsToDelete, replicaSetStatus } from './decisions.js';
import { Expectations } from './expectations.js';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString().replace('.000Z', 'Z');

function pod(
  name: string,
  o: {
    node?: string;
    phase?: string;
    ready?: boolean;
    readyFor?: number;
    age?: number;
    restarts?: number;
    cost?: string;
    uid?: string;
  } = {},
): PodLike {
  return {
    metadata: {
      name,
      uid: o.uid ?? name,
      creationTimestamp: ago(o.age ?? 1000),
      annotations: o.cost ? { 'controller.kubernetes.io/pod-deletion-cost': o.cost } : {},
    },
    spec: { nodeName: o.node },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: ago(o.readyFor ?? 900) }],
      containerStatuses: [{ restartCount: o.restarts ?? 0 }],
    },
  };
}

describe('scale-down victims (ActivePodsWithRanks)', () => {
  const cases: { name: string; pods: PodLike[]; want: string }[] = [
    { name: 'unassigned before assigned', pods: [pod('a', { node: 'n1' }), pod('b')], want: 'b' },
    {
      name: 'pending before unknown before running',
      pods: [pod('run', { node: 'n1' }), pod('unk', { node: 'n2', phase: 'Unknown' }), pod('pend', { node: 'n3', phase: 'Pending' })],
      want: 'pend',
    },
    { name: 'not ready before ready', pods: [pod('r', { node: 'n1' }), pod('nr', { node: 'n2', ready: false })], want: 'nr' },
    {
      name: 'lower deletion cost first',
      pods: [pod('cheap', { node: 'n1', cost: '-5' }), pod('dear', { node: 'n2', cost: '10' })].reverse(),
      want: 'cheap',
    },
    {
      name: 'doubled-up node first',
      pods: [pod('alone', { node: 'n1' }), pod('pair1', { node: 'n2', age: 5000 }), pod('pair2', { node: 'n2', age: 5000 })],
      want: 'pair1',
    },
    {
      name: 'ready for less time first (log buckets)',
      pods: [pod('long', { node: 'n1', readyFor: 4000 }), pod('short', { node: 'n2', readyFor: 10 })],
      want: 'short',
    },
    { name: 'more restarts first', pods: [pod('calm', { node: 'n1' }), pod('crashy', { node: 'n2', restarts: 7 })], want: 'crashy' },
    {
      name: 'newer first',
      pods: [pod('old', { node: 'n1', age: 80000, readyFor: 900 }), pod('new', { node: 'n2', age: 60, readyFor: 900 })],
      want: 'new',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const [victim] = podsToDelete(c.pods, c.pods, 1, NOW);
      assert.equal(victim.metadata.name, c.want);
    });
  }

  test('ages in the same power-of-two bucket tie-break by UID', () => {
    const pods = [pod('x', { node: 'n1', readyFor: 1000, uid: 'b' }), pod('y', { node: 'n2', readyFor: 1010, uid: 'a' })];
    assert.equal(podsToDelete(pods, pods, 1, NOW)[0].metadata.name, 'y');
  });

  test('diff ≥ pods deletes them all', () => {
    const pods = [pod('a'), pod('b')];
    assert.equal(podsToDelete(pods, pods, 5, NOW).length, 2);
  });
});

describe('ReplicaSet status', () => {
  const rs = {
    metadata: { name: 'web', generation: 4 },
    spec: { replicas: 3, minReadySeconds: 0, template: { metadata: { labels: { app: 'web', tier: 'fe' } } } },
  };

  test('counts replicas, fully labelled, ready and available pods', () => {
    const pods = [pod('a'), pod('b', { ready: false }), pod('c')];
    pods[0].metadata.labels = { app: 'web', tier: 'fe' };
    pods[1].metadata.labels = { app: 'web', tier: 'fe' };
    pods[2].metadata.labels = { app: 'web' };
    assert.deepEqual(replicaSetStatus(rs, pods, undefined, NOW), {
      replicas: 3,
      fullyLabeledReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      observedGeneration: 4,
    });
  });

  test('minReadySeconds holds back availability', () => {
    const slow = { ...rs, spec: { ...rs.spec, minReadySeconds: 60 } };
    const s = replicaSetStatus(slow, [pod('a', { readyFor: 10 }), pod('b', { readyFor: 120 })], undefined, NOW);
    assert.deepEqual([s.readyReplicas, s.availableReplicas], [2, 1]);
  });

  test('a failed create sets ReplicaFailure/FailedCreate; success clears it', () => {
    const failed = replicaSetStatus(rs, [pod('a')], new Error('pods "web-x" is forbidden: exceeded quota'), NOW);
    assert.deepEqual(
      failed.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      [['ReplicaFailure', 'True', 'FailedCreate', 'pods "web-x" is forbidden: exceeded quota']],
    );
    const healed = replicaSetStatus({ ...rs, status: failed }, [pod('a'), pod('b'), pod('c')], undefined, NOW);
    assert.equal(healed.conditions, undefined);
  });
});

describe('pods from the template', () => {
  test('generateName, labels, annotations, spec and a controller reference', () => {
    const rs = {
      metadata: { name: 'webui-6d4c4cc4b8', namespace: 'default', uid: 'rs-uid' },
      spec: {
        template: {
          metadata: { labels: { app: 'webui', 'pod-template-hash': '6d4c4cc4b8' }, annotations: { a: 'b' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
        },
      },
    };
    const p = podFromTemplate(rs, 'apps/v1', 'ReplicaSet');
    assert.equal(p.metadata.generateName, 'webui-6d4c4cc4b8-');
    assert.equal(p.metadata.name, undefined);
    assert.deepEqual(p.metadata.labels, { app: 'webui', 'pod-template-hash': '6d4c4cc4b8' });
    assert.deepEqual(p.metadata.annotations, { a: 'b' });
    assert.deepEqual(p.metadata.ownerReferences, [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'webui-6d4c4cc4b8', uid: 'rs-uid', controller: true, blockOwnerDeletion: true },
    ]);
    assert.deepEqual(p.spec, rs.spec.template.spec);
    assert.notEqual(p.spec, rs.spec.template.spec);
  });
});

describe('expectations', () => {
  test('a sync waits until its creations and deletions are observed, or they expire', () => {
    let now = 0;
    const e = new Expectations(() => now);
    assert.ok(e.satisfied('ns/rs'));
    e.expectCreations('ns/rs', 2);
    assert.ok(!e.satisfied('ns/rs'));
    e.creationObserved('ns/rs');
    assert.ok(!e.satisfied('ns/rs'));
    e.creationObserved('ns/rs');
    assert.ok(e.satisfied('ns/rs'));
    e.expectDeletions('ns/rs', ['ns/p1']);
    e.deletionObserved('ns/rs', 'ns/other');
    assert.ok(!e.satisfied('ns/rs'));
    now += 6 * 60 * 1000;
    assert.ok(e.satisfied('ns/rs'), 'expired');
  });
});

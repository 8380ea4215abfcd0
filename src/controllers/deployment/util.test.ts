import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  availableScaleDown,
  calculateStatus,
  computeHash,
  type DeploymentCondition,
  equalIgnoreHash,
  fnv32a,
  newRSNewReplicas,
  type Obj,
  oldReplicasScaleDownBudget,
  proportionalSizes,
  resolveFenceposts,
  safeEncodeString,
  setCondition,
  setNewReplicaSetAnnotations,
  unhealthyScaleDown,
} from './util.js';

const dep = (
  replicas: number,
  maxSurge: number | string = '25%',
  maxUnavailable: number | string = '25%',
  extra: Record<string, unknown> = {},
): Obj => ({
  metadata: { name: 'webui', generation: 1, annotations: {} },
  spec: {
    replicas,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } },
    template: { metadata: { labels: { app: 'webui' } } },
  },
  status: extra,
});

let created = 0;
const rs = (name: string, replicas: number, available = replicas, annotations: Record<string, string> = {}): Obj => ({
  metadata: { name, creationTimestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, created++)).toISOString(), annotations },
  spec: { replicas },
  status: { replicas, availableReplicas: available, readyReplicas: available },
});

describe('pod-template-hash', () => {
  test('FNV-32a matches the reference vectors', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    assert.equal(fnv32a(enc('')), 0x811c9dc5);
    assert.equal(fnv32a(enc('a')), 0xe40c292c);
    assert.equal(fnv32a(enc('foobar')), 0xbf9cf968);
  });

  test('SafeEncodeString maps digits onto the vowel-free alphabet', () => {
    assert.equal(safeEncodeString('0123456789'), '456789bcdf');
    assert.equal(safeEncodeString('1234567890'), '56789bcdf4');
  });

  test('hashes are stable, safe-encoded, key-order independent and change with the template and collision count', () => {
    const a = { metadata: { labels: { app: 'webui', tier: 'fe' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } };
    const b = { spec: { containers: [{ image: 'nginx', name: 'nginx' }] }, metadata: { labels: { tier: 'fe', app: 'webui' } } };
    assert.equal(computeHash(a), computeHash(b));
    assert.match(computeHash(a), /^[456789bcdf]{1,10}$/);
    assert.notEqual(computeHash(a), computeHash({ ...a, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } }));
    assert.notEqual(computeHash(a), computeHash(a, 1));
    assert.notEqual(computeHash(a, 1), computeHash(a, 2));
  });

  test('templates compare equal apart from the hash label, with unset and empty alike', () => {
    const t = { metadata: { labels: { app: 'webui' } }, spec: { containers: [{ name: 'nginx' }] } };
    assert.ok(
      equalIgnoreHash(t, {
        metadata: { labels: { app: 'webui', 'pod-template-hash': 'abc' }, annotations: {} },
        spec: { containers: [{ name: 'nginx' }] },
      }),
    );
    assert.ok(!equalIgnoreHash(t, { metadata: { labels: { app: 'other' } }, spec: { containers: [{ name: 'nginx' }] } }));
  });
});

describe('rolling update arithmetic', () => {
  test('fenceposts: surge rounds up, unavailable rounds down, never both zero', () => {
    const cases: [number | string, number | string, number, [number, number]][] = [
      ['25%', '25%', 3, [1, 0]],
      ['25%', '25%', 4, [1, 1]],
      ['25%', '25%', 10, [3, 2]],
      [0, 0, 5, [0, 1]],
      ['0%', '0%', 5, [0, 1]],
      [2, '50%', 5, [2, 2]],
      ['100%', 0, 3, [3, 0]],
    ];
    for (const [surge, unavail, desired, want] of cases)
      assert.deepEqual(resolveFenceposts(surge, unavail, desired), want, `${surge}/${unavail} of ${desired}`);
  });

  test('the new ReplicaSet grows up to desired + maxSurge', () => {
    const cases: [Obj, Obj[], number, number][] = [
      // [deployment, all sets (new last), new set size, expected new size]
      [dep(3), [rs('old', 3), rs('new', 0)], 0, 1],
      [dep(4), [rs('old', 4), rs('new', 0)], 0, 1],
      [dep(10), [rs('old', 10), rs('new', 0)], 0, 3],
      [dep(10), [rs('old', 8), rs('new', 3)], 3, 5],
      [dep(10), [rs('old', 10), rs('new', 3)], 3, 3],
      [dep(3, 3, 0), [rs('old', 3), rs('new', 0)], 0, 3],
      [dep(5), [rs('new', 0)], 0, 5],
    ];
    for (const [d, all, _size, want] of cases) {
      const newRS = all[all.length - 1];
      assert.equal(newRSNewReplicas(d, all, newRS), want, JSON.stringify(all.map((r) => r.spec.replicas)));
    }
    const recreate: Obj = { metadata: {}, spec: { replicas: 4, strategy: { type: 'Recreate' } } };
    assert.equal(newRSNewReplicas(recreate, [rs('old', 4), rs('new', 0)], rs('new', 0)), 4);
  });

  test('old pods come down only as far as maxUnavailable allows', () => {
    // 10 desired, 25%/25%: min available 8.
    const d = dep(10);
    const newRS = rs('new', 3, 0);
    const old = rs('old', 10);
    assert.equal(oldReplicasScaleDownBudget(d, [old, newRS], newRS), 13 - 8 - 3);
    assert.deepEqual([...availableScaleDown(d, [old, newRS], [old])], [['old', 8]]);
    // Once the new pods are available, more old ones may go.
    const newAvail = rs('new', 3, 3);
    assert.deepEqual([...availableScaleDown(d, [rs('old2', 8), newAvail], [rs('old2', 8)])], [['old2', 5]]);
    // Nothing to take when availability is already at the minimum.
    assert.deepEqual([...availableScaleDown(d, [rs('old3', 8), rs('new3', 3, 0)], [rs('old3', 8)])], []);
  });

  test('unhealthy old pods are scaled away first, oldest set first, within the budget', () => {
    const a = rs('a', 3, 1);
    const b = rs('b', 4, 2);
    assert.deepEqual(
      [...unhealthyScaleDown([b, a], 3)],
      [
        ['a', 1],
        ['b', 3],
      ],
    );
    assert.deepEqual([...unhealthyScaleDown([rs('c', 3, 3)], 5)], []);
  });

  test('proportional scaling spreads a resize over active ReplicaSets, leftovers to the largest', () => {
    // Mid-rollout 10 → 20 (25% surge → allowed 25); sets annotated with the old max of 13.
    const d = dep(20);
    const sizes = proportionalSizes(d, [
      rs('old', 8, 8, { 'deployment.kubernetes.io/max-replicas': '13' }),
      rs('new', 5, 0, { 'deployment.kubernetes.io/max-replicas': '13' }),
    ]);
    assert.deepEqual(Object.fromEntries(sizes), { old: 15, new: 10 });
    // Scale down 10 → 5 (allowed 7): sizes shrink proportionally.
    const down = proportionalSizes(dep(5), [
      rs('old', 8, 8, { 'deployment.kubernetes.io/max-replicas': '13' }),
      rs('new', 5, 0, { 'deployment.kubernetes.io/max-replicas': '13' }),
    ]);
    assert.equal(
      [...down.values()].reduce((a, b) => a + b, 0),
      7,
    );
    assert.deepEqual(Object.fromEntries(down), { old: 4, new: 3 });
  });
});

describe('revisions and conditions', () => {
  test('a rolled-back ReplicaSet gets the new revision and remembers the old one', () => {
    const d: Obj = {
      metadata: {
        annotations: { 'kubernetes.io/change-cause': 'kubectl set image', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      },
      spec: { replicas: 3 },
    };
    const old = rs('webui-a', 0, 0, { 'deployment.kubernetes.io/revision': '1' });
    assert.ok(setNewReplicaSetAnnotations(d, old, 3, true));
    assert.equal(old.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(old.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(old.metadata.annotations?.['kubernetes.io/change-cause'], 'kubectl set image');
    assert.equal(old.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
    assert.ok(!setNewReplicaSetAnnotations(d, old, 3, true), 'idempotent');
    const fresh = rs('webui-b', 0, 0);
    setNewReplicaSetAnnotations(d, fresh, 1, false);
    assert.deepEqual(
      [
        fresh.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'],
        fresh.metadata.annotations?.['deployment.kubernetes.io/max-replicas'],
      ],
      ['3', '4'],
    );
  });

  test('a changed condition moves last and keeps its transition time when the status holds', () => {
    const s: { conditions?: DeploymentCondition[] } = {};
    setCondition(s, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', lastTransitionTime: 't1' });
    setCondition(s, { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', lastTransitionTime: 't1' });
    setCondition(s, { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', lastTransitionTime: 't2' });
    setCondition(s, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', lastTransitionTime: 't3' });
    assert.deepEqual(
      s.conditions?.map((c) => [c.type, c.reason, c.lastTransitionTime]),
      [
        ['Available', 'MinimumReplicasAvailable', 't2'],
        ['Progressing', 'NewReplicaSetAvailable', 't1'],
      ],
    );
  });

  test('status counts come from the ReplicaSets; Available needs desired − maxUnavailable', () => {
    const d = dep(4);
    const s = calculateStatus(d, [rs('old', 1, 1), rs('new', 4, 2)], rs('new', 4, 2));
    assert.deepEqual([s.replicas, s.updatedReplicas, s.availableReplicas, s.unavailableReplicas], [5, 4, 3, 2]);
    assert.equal(s.conditions?.[0].status, 'True');
    const low = calculateStatus(d, [rs('new', 4, 2)], rs('new', 4, 2));
    assert.deepEqual(
      [low.conditions?.[0].reason, low.conditions?.[0].message],
      ['MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'],
    );
  });
});

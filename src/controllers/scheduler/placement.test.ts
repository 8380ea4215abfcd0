import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/meta.js';
import type { PodLike } from '../controller.js';
import { filterNode, needsScheduling, placePod, tolerates } from './placement.js';

const node = (
  name: string,
  o: { ready?: string; unschedulable?: boolean; taints?: object[]; labels?: Record<string, string> } = {},
): KubeObject => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
  spec: { unschedulable: o.unschedulable, taints: o.taints },
  status: { conditions: [{ type: 'Ready', status: o.ready ?? 'True' }] },
});
const pod = (name: string, spec: Record<string, unknown> = {}, owner?: string): PodLike => ({
  metadata: {
    name,
    namespace: 'default',
    ownerReferences: owner ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: owner, controller: true }] : [],
  },
  spec: { containers: [{ name: 'c' }], ...spec },
  status: { phase: 'Pending' },
});

describe('node filters', () => {
  const cases: [string, KubeObject, PodLike, string | undefined][] = [
    ['a Ready node fits', node('n'), pod('p'), undefined],
    ['cordoned', node('n', { unschedulable: true }), pod('p'), 'node(s) were unschedulable'],
    ['not ready', node('n', { ready: 'False' }), pod('p'), 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }'],
    ['unreachable', node('n', { ready: 'Unknown' }), pod('p'), 'node(s) had untolerated taint {node.kubernetes.io/unreachable: }'],
    [
      'NoSchedule taint',
      node('n', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
      pod('p'),
      'node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }',
    ],
    [
      'tolerated taint',
      node('n', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
      pod('p', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] }),
      undefined,
    ],
    ['PreferNoSchedule does not filter', node('n', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }), pod('p'), undefined],
    ['nodeSelector mismatch', node('n'), pod('p', { nodeSelector: { disk: 'ssd' } }), "node(s) didn't match Pod's node affinity/selector"],
    ['nodeSelector match', node('n', { labels: { disk: 'ssd' } }), pod('p', { nodeSelector: { disk: 'ssd' } }), undefined],
  ];
  for (const [name, n, p, want] of cases) test(name, () => assert.equal(filterNode(p, n), want));

  test('toleration matching follows v1.Toleration.ToleratesTaint', () => {
    const taint = { key: 'k', value: 'v', effect: 'NoSchedule' };
    assert.ok(tolerates({ operator: 'Exists' }, taint), 'empty key + Exists tolerates everything');
    assert.ok(tolerates({ key: 'k', operator: 'Exists' }, taint));
    assert.ok(!tolerates({ key: 'k', value: 'w' }, taint));
    assert.ok(!tolerates({ key: 'k', operator: 'Exists', effect: 'NoExecute' }, taint));
  });
});

describe('placement', () => {
  const nodes = [node('node-1'), node('node-2'), node('node-3')];

  test("a ReplicaSet's pods spread: fewest same-owner pods, then fewest pods, then name", () => {
    const bound = [
      { node: 'node-1', pod: pod('a', {}, 'rs1') },
      { node: 'node-2', pod: pod('x', {}, 'other') },
      { node: 'node-2', pod: pod('y', {}, 'other') },
    ];
    assert.deepEqual(placePod(pod('b', {}, 'rs1'), nodes, bound), { node: 'node-3' });
    assert.deepEqual(placePod(pod('c', {}, 'rs1'), nodes, [...bound, { node: 'node-3', pod: pod('b', {}, 'rs1') }]), { node: 'node-2' });
    assert.deepEqual(placePod(pod('solo'), nodes, []), { node: 'node-1' });
  });

  test('no fitting node: kube-scheduler’s message, reasons counted and sorted', () => {
    const mixed = [node('node-1', { unschedulable: true }), node('node-2'), node('node-3', { ready: 'False' })];
    assert.deepEqual(placePod(pod('p', { nodeSelector: { disk: 'ssd' } }), mixed, []), {
      unschedulable:
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    });
    assert.deepEqual(placePod(pod('p'), [], []), { unschedulable: 'no nodes available to schedule pods' });
  });

  test('only unbound pods of this scheduler, not deleted or gated, are scheduled', () => {
    assert.ok(needsScheduling(pod('p')));
    assert.ok(!needsScheduling(pod('p', { nodeName: 'node-1' })));
    assert.ok(!needsScheduling(pod('p', { schedulerName: 'my-scheduler' })));
    assert.ok(!needsScheduling(pod('p', { schedulingGates: [{ name: 'wait' }] })));
    assert.ok(!needsScheduling({ ...pod('p'), metadata: { name: 'p', deletionTimestamp: '2025-01-01T00:00:00Z' } }));
  });
});

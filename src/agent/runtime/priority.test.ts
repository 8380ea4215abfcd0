import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { containerArgv, execArgv } from './container.js';
import { atContainerPriority, type PriorityOps, raiseAgentPriority } from './priority.js';

function fakeOps(start: number, allowed = true): PriorityOps & { now: number } {
  const ops = {
    now: start,
    get: () => ops.now,
    set: (p: number) => {
      if (!allowed) throw new Error('EACCES');
      ops.now = p;
    },
  };
  return ops;
}

const launch = {
  argv: ['node', 'image.cjs', 'nginx'],
  netnsPath: '/var/run/netns/p',
  mounts: { overlays: [], mkdirs: [], touches: [], binds: [] },
  hostname: 'web',
};

describe('agent priority over its pods', () => {
  afterEach(() => raiseAgentPriority(0, fakeOps(0)));

  test('the agent runs 5 nice levels up and container commands run at the priority it started with', () => {
    const ops = fakeOps(0);
    assert.equal(raiseAgentPriority(undefined, ops), 5);
    assert.equal(ops.now, -5);
    assert.deepEqual(atContainerPriority(['sleep', '1']), ['nice', '-n', '5', 'sleep', '1']);
    assert.deepEqual(containerArgv(launch).slice(-7), ['svcnet-init', 'nice', '-n', '5', 'node', 'image.cjs', 'nginx']);
    assert.deepEqual(execArgv(42, ['cat', '/etc/hosts']).slice(-6), ['--', 'nice', '-n', '5', 'cat', '/etc/hosts']);
  });

  test('the boost stops at the highest priority (-20)', () => {
    const ops = fakeOps(-18);
    assert.equal(raiseAgentPriority(5, ops), 2);
    assert.equal(ops.now, -20);
  });

  test('without the right to raise it, everything runs at one priority and commands are not wrapped', () => {
    assert.equal(raiseAgentPriority(5, fakeOps(0, false)), 0);
    assert.deepEqual(atContainerPriority(['sleep', '1']), ['sleep', '1']);
    assert.deepEqual(containerArgv(launch).slice(-4), ['svcnet-init', 'node', 'image.cjs', 'nginx']);
  });
});

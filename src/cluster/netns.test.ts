import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandError, type CommandRunner, NetnsOps, spawnRunner } from './netns.js';

/** A runner that records commands and answers from a table of `argv.join(' ') → stdout | Error`. */
function fakeRunner(answers: Record<string, string | CommandError> = {}) {
  const calls: string[] = [];
  const run: CommandRunner = async (argv) => {
    const line = argv.join(' ');
    calls.push(line);
    const answer = answers[line];
    if (answer instanceof CommandError) throw answer;
    return { stdout: answer ?? '', stderr: '' };
  };
  return { run, calls };
}

const failed = (argv: string[], stderr: string) => new CommandError(argv, 1, null, '', stderr);

describe('spawnRunner', () => {
  test('passes stdin and env, returns output', async () => {
    const run = spawnRunner();
    const { stdout } = await run(['sh', '-c', 'cat; echo "$SVCNET_X"'], { input: 'in\n', env: { SVCNET_X: 'x' } });
    assert.equal(stdout, 'in\nx\n');
  });

  test('a non-zero exit rejects with the command, its stderr and status', async () => {
    const run = spawnRunner();
    await assert.rejects(run(['sh', '-c', 'echo nope >&2; exit 4']), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.message, 'sh -c echo nope >&2; exit 4: nope (exit status 4)');
      assert.equal(err.code, 4);
      assert.equal(err.stderr, 'nope\n');
      return true;
    });
  });

  test('a missing binary says so', async () => {
    await assert.rejects(spawnRunner()(['svcnet-no-such-binary']), /svcnet-no-such-binary: svcnet-no-such-binary not found/);
  });

  test('wrap rewrites the argv that is spawned', async () => {
    const run = spawnRunner((argv) => ['echo', 'wrapped', ...argv]);
    assert.equal((await run(['a', 'b'])).stdout, 'wrapped a b\n');
  });
});

describe('NetnsOps', () => {
  test('addNetns tolerates an existing namespace and brings lo up unless told not to', async () => {
    const { run, calls } = fakeRunner({
      'ip netns add n1': failed(['ip'], 'Cannot create namespace file "/var/run/netns/n1": File exists\n'),
    });
    const ops = new NetnsOps(run);
    await ops.addNetns('n1');
    await ops.addNetns('n2', { loopbackUp: false });
    assert.deepEqual(calls, ['ip netns add n1', 'ip -n n1 link set lo up', 'ip netns add n2']);
  });

  test('other failures are not swallowed', async () => {
    const { run } = fakeRunner({
      'ip netns add n1': failed(['ip', 'netns', 'add', 'n1'], 'mount --make-shared /run/netns failed: Operation not permitted'),
    });
    await assert.rejects(new NetnsOps(run).addNetns('n1'), /ip netns add n1: mount --make-shared/);
  });

  test('deletions tolerate what is already gone', async () => {
    const { run } = fakeRunner({
      'ip netns delete n1': failed(['ip'], 'Cannot remove namespace file "/var/run/netns/n1": No such file or directory'),
      'ip link delete v1': failed(['ip'], 'Cannot find device "v1"'),
      'ip route delete 10.0.0.0/8': failed(['ip'], 'RTNETLINK answers: No such process'),
    });
    const ops = new NetnsOps(run);
    await ops.deleteNetns('n1');
    await ops.deleteLink('v1');
    await ops.deleteRoute('10.0.0.0/8');
  });

  test('commands in a namespace use ip -n, or nsenter for non-ip tools', async () => {
    const { run, calls } = fakeRunner({
      'ip -n n1 -j -d link show': '[{"ifname":"lo"},{"ifname":"eth0","linkinfo":{"info_kind":"veth"}}]',
    });
    const ops = new NetnsOps(run);
    await ops.addVethPair('v1', 'eth0', { peerNetns: 'n1' });
    await ops.addRoute('default', { via: '10.0.0.1', dev: 'eth0', netns: 'n1' });
    await ops.setSysctl('net.ipv4.ip_forward', 1, { netns: 'n1' });
    assert.deepEqual(await ops.listLinks({ netns: 'n1' }), [
      { name: 'lo', kind: undefined },
      { name: 'eth0', kind: 'veth' },
    ]);
    assert.deepEqual(calls, [
      'ip -j -d link show',
      'ip link add v1 type veth peer name eth0 netns n1',
      'ip -n n1 route replace default via 10.0.0.1 dev eth0',
      'nsenter --net=/var/run/netns/n1 -- sysctl -q -w net.ipv4.ip_forward=1',
      'ip -n n1 -j -d link show',
    ]);
  });

  test('interface names the kernel would reject are refused up front', async () => {
    await assert.rejects(new NetnsOps(fakeRunner().run).addBridge('sixteen-chars-xx'), /invalid interface name "sixteen-chars-xx"/);
  });

  test('cleanupByPrefix removes matching links, then matching namespaces, and nothing else', async () => {
    const { run, calls } = fakeRunner({
      'ip -j netns list': '[{"name":"svcnet-node-1"},{"name":"svcnet-node-1-pod-u1"},{"name":"other"}]',
      'ip -j -d link show': '[{"ifname":"lo"},{"ifname":"eth0"},{"ifname":"svcnet0"},{"ifname":"svcnet-n1"},{"ifname":"svcnet-n2"}]',
      'ip link delete svcnet-n2': failed(['ip'], 'Cannot find device "svcnet-n2"'),
    });
    const removed = await new NetnsOps(run).cleanupByPrefix('svcnet-', ['svcnet0']);
    assert.deepEqual(removed, { netns: ['svcnet-node-1', 'svcnet-node-1-pod-u1'], links: ['svcnet0', 'svcnet-n1', 'svcnet-n2'] });
    assert.deepEqual(calls.slice(2), [
      'ip link delete svcnet0',
      'ip link delete svcnet-n1',
      'ip link delete svcnet-n2',
      'ip netns delete svcnet-node-1',
      'ip netns delete svcnet-node-1-pod-u1',
    ]);
    await assert.rejects(new NetnsOps(run).cleanupByPrefix(''), /empty prefix/);
  });
});

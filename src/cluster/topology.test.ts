import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CommandRunner, RunOptions } from './netns.js';
import { createTopology, planTopology, topologyScript } from './topology.js';

describe('planTopology', () => {
  test('names, addresses and host-gw routes for 2 nodes', () => {
    assert.deepEqual(planTopology({ nodes: 2 }), {
      prefix: 'svcnet-',
      bridge: 'svcnet0',
      gateway: '172.18.0.1',
      bridgeCIDR: '172.18.0.1/16',
      nodes: [
        {
          name: 'node-1',
          index: 1,
          netns: 'svcnet-node-1',
          ip: '172.18.0.2',
          cidr: '172.18.0.2/16',
          podCIDR: '10.244.1.0/24',
          hostVeth: 'svcnet-n1',
          nodeVeth: 'eth0',
          routes: [
            { dst: 'default', via: '172.18.0.1', dev: 'eth0' },
            { dst: '10.244.2.0/24', via: '172.18.0.3', dev: 'eth0' },
          ],
        },
        {
          name: 'node-2',
          index: 2,
          netns: 'svcnet-node-2',
          ip: '172.18.0.3',
          cidr: '172.18.0.3/16',
          podCIDR: '10.244.2.0/24',
          hostVeth: 'svcnet-n2',
          nodeVeth: 'eth0',
          routes: [
            { dst: 'default', via: '172.18.0.1', dev: 'eth0' },
            { dst: '10.244.1.0/24', via: '172.18.0.2', dev: 'eth0' },
          ],
        },
      ],
      hostRoutes: [
        { dst: '10.244.1.0/24', via: '172.18.0.2', dev: 'svcnet0' },
        { dst: '10.244.2.0/24', via: '172.18.0.3', dev: 'svcnet0' },
      ],
    });
  });

  test('other networks, prefix and bridge', () => {
    const plan = planTopology({ nodes: 1, prefix: 'x-', bridge: 'br9', nodeNetwork: '192.168.7.0/24', podNetwork: '10.8.0.0/16' });
    assert.equal(plan.bridgeCIDR, '192.168.7.1/24');
    assert.deepEqual(
      plan.nodes.map((n) => [n.netns, n.hostVeth, n.cidr, n.podCIDR]),
      [['x-node-1', 'x-n1', '192.168.7.2/24', '10.8.1.0/24']],
    );
    assert.deepEqual(plan.hostRoutes, [{ dst: '10.8.1.0/24', via: '192.168.7.2', dev: 'br9' }]);
  });

  test('rejects options that cannot work, saying why', () => {
    const cases: [Parameters<typeof planTopology>[0], RegExp][] = [
      [{ nodes: 0 }, /nodes must be a positive integer, got 0/],
      [{ nodes: 1.5 }, /nodes must be a positive integer/],
      [{ nodes: 1, prefix: '' }, /prefix must not be empty/],
      [{ nodes: 1, prefix: 'a-very-long-prefix-' }, /invalid interface name "a-very-long-prefix-n1"/],
      [{ nodes: 1, bridge: 'bridge/0' }, /invalid interface name "bridge\/0"/],
      [{ nodes: 256 }, /pod network 10\.244\.0\.0\/16 has no room for 256 node \/24s/],
      [{ nodes: 6, nodeNetwork: '10.0.0.0/29' }, /node network 10\.0\.0\.0\/29 has no room for 6 nodes/],
      [{ nodes: 1, podNetwork: '10.244.0.0/25' }, /has no room for 1 node \/24s/],
      [{ nodes: 1, nodeNetwork: '300.1.0.0/16' }, /invalid IPv4 address "300\.1\.0\.0"/],
      [{ nodes: 1, podNetwork: '10.244.0.0' }, /invalid CIDR "10\.244\.0\.0"/],
    ];
    for (const [options, error] of cases) assert.throws(() => planTopology(options), error, JSON.stringify(options));
    assert.equal(planTopology({ nodes: 5, nodeNetwork: '10.0.0.0/29' }).nodes[4]!.ip, '10.0.0.6');
  });
});

describe('topologyScript', () => {
  const plan = planTopology({ nodes: 2 });

  test('a fresh topology: host script, then one per node', () => {
    assert.deepEqual(topologyScript(plan), {
      host: [
        'link add svcnet0 type bridge',
        'addr replace 172.18.0.1/16 dev svcnet0',
        'link set svcnet0 up',
        'netns add svcnet-node-1',
        'link add svcnet-n1 type veth peer name eth0 netns svcnet-node-1',
        'link set svcnet-n1 master svcnet0',
        'link set svcnet-n1 up',
        'netns add svcnet-node-2',
        'link add svcnet-n2 type veth peer name eth0 netns svcnet-node-2',
        'link set svcnet-n2 master svcnet0',
        'link set svcnet-n2 up',
        'route replace 10.244.1.0/24 via 172.18.0.2 dev svcnet0',
        'route replace 10.244.2.0/24 via 172.18.0.3 dev svcnet0',
      ],
      nodes: [
        {
          netns: 'svcnet-node-1',
          lines: [
            'link set lo up',
            'addr replace 172.18.0.2/16 dev eth0',
            'link set eth0 up',
            'route replace default via 172.18.0.1 dev eth0',
            'route replace 10.244.2.0/24 via 172.18.0.3 dev eth0',
          ],
        },
        {
          netns: 'svcnet-node-2',
          lines: [
            'link set lo up',
            'addr replace 172.18.0.3/16 dev eth0',
            'link set eth0 up',
            'route replace default via 172.18.0.1 dev eth0',
            'route replace 10.244.1.0/24 via 172.18.0.2 dev eth0',
          ],
        },
      ],
    });
  });

  test('over a half-made topology only the missing parts are created', () => {
    const script = topologyScript(plan, { netns: new Set(['svcnet-node-1', 'svcnet-node-2']), links: new Set(['svcnet0', 'svcnet-n1']) });
    assert.deepEqual(
      script.host.filter((line) => / add /.test(` ${line}`)),
      ['link add svcnet-n2 type veth peer name eth0 netns svcnet-node-2'],
    );
  });
});

test('createTopology lists what exists, runs the host batch, then each node batch, ip_forward and no ICMP redirects', async () => {
  const calls: { argv: readonly string[]; input?: string }[] = [];
  const runner: CommandRunner = async (argv, options: RunOptions = {}) => {
    calls.push({ argv, input: options.input });
    if (argv.join(' ') === 'ip -j netns list') return { stdout: '', stderr: '' };
    if (argv.join(' ') === 'ip -j -d link show') return { stdout: '[{"ifname":"lo"}]', stderr: '' };
    return { stdout: '', stderr: '' };
  };
  const plan = await createTopology({ nodes: 1 }, runner);
  assert.equal(plan.nodes.length, 1);
  assert.deepEqual(
    calls.map((c) => c.argv.join(' ')),
    [
      'ip -j netns list',
      'ip -j -d link show',
      'ip -batch -',
      'ip -n svcnet-node-1 -batch -',
      'nsenter --net=/var/run/netns/svcnet-node-1 -- sysctl -q -w net.ipv4.ip_forward=1',
      'nsenter --net=/var/run/netns/svcnet-node-1 -- sysctl -q -w net.ipv4.conf.all.send_redirects=0',
      'nsenter --net=/var/run/netns/svcnet-node-1 -- sysctl -q -w net.ipv4.conf.default.send_redirects=0',
    ],
  );
  assert.match(calls[2]!.input!, /^link add svcnet0 type bridge\n/);
  assert.match(calls[3]!.input!, /^link set lo up\naddr replace 172\.18\.0\.2\/16 dev eth0\n/);
});

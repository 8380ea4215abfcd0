import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  checkPodSandbox,
  createPodSandbox,
  destroyPodSandbox,
  type PodSandbox,
  type PodSandboxOptions,
} from '../../src/agent/sandbox/pod-sandbox.js';
import { inNetns, NetnsOps } from '../../src/cluster/netns.js';
import { createTopology, destroyTopology, type NodePlan, type TopologyPlan } from '../../src/cluster/topology.js';
import { type Sandbox, startInSandbox } from '../helpers/sandbox.js';
import { curl, startHttpServer } from '../helpers/servers.js';

describe('cluster topology and pod sandboxes (inside a network sandbox)', () => {
  let sandbox: Sandbox;
  let ops: NetnsOps;
  let plan: TopologyPlan;
  let stateRoot: string;
  const pods = new Map<string, { options: PodSandboxOptions; pod: PodSandbox }>();

  before(async () => {
    sandbox = await startInSandbox();
    ops = new NetnsOps(sandbox.run);
    stateRoot = mkdtempSync(join(tmpdir(), 'svcnet-cni-'));
  });

  after(async () => {
    await sandbox?.stop();
    rmSync(stateRoot, { recursive: true, force: true });
  });

  const inNode = (node: NodePlan, argv: string[]) => sandbox.run(inNetns(node.netns, argv));

  function podOptions(node: NodePlan, name: string, hostPorts?: PodSandboxOptions['hostPorts']): PodSandboxOptions {
    return {
      runner: sandbox.run,
      nodeNetns: node.netns,
      podUid: `00000000-0000-4000-8000-${name.padStart(12, '0')}`,
      namespace: 'default',
      name,
      podCIDR: node.podCIDR,
      stateDir: join(stateRoot, node.name),
      hostPorts,
    };
  }

  async function addPod(node: NodePlan, name: string, hostPorts?: PodSandboxOptions['hostPorts']): Promise<PodSandbox> {
    const options = podOptions(node, name, hostPorts);
    const pod = await createPodSandbox(options);
    pods.set(name, { options, pod });
    return pod;
  }

  test('createTopology wires 2 node namespaces to the svcnet0 bridge with host-gw routes', async (t) => {
    const started = performance.now();
    plan = await createTopology({ nodes: 2 }, sandbox.run);
    t.diagnostic(`createTopology(2 nodes): ${(performance.now() - started).toFixed(1)} ms`);
    const [node1, node2] = plan.nodes as [NodePlan, NodePlan];

    assert.deepEqual((await ops.listNetns()).sort(), ['svcnet-node-1', 'svcnet-node-2']);
    const hostAddr = await sandbox.run(['ip', '-br', '-4', 'addr', 'show', 'svcnet0']);
    assert.match(hostAddr.stdout, /^svcnet0\s+UP\s+172\.18\.0\.1\/16/);
    const hostRoutes = (await sandbox.run(['ip', 'route'])).stdout;
    assert.match(hostRoutes, /^10\.244\.1\.0\/24 via 172\.18\.0\.2 dev svcnet0/m);
    assert.match(hostRoutes, /^10\.244\.2\.0\/24 via 172\.18\.0\.3 dev svcnet0/m);

    const node2Addr = await inNode(node2, ['ip', '-br', '-4', 'addr', 'show', 'eth0']);
    assert.match(node2Addr.stdout, /^eth0@\S+\s+UP\s+172\.18\.0\.3\/16/);
    const node1Routes = (await inNode(node1, ['ip', 'route'])).stdout;
    assert.match(node1Routes, /^default via 172\.18\.0\.1 dev eth0/m);
    assert.match(node1Routes, /^10\.244\.2\.0\/24 via 172\.18\.0\.3 dev eth0/m);
    assert.equal(await ops.getSysctl('net.ipv4.ip_forward', { netns: node1.netns }), '1');

    // Running it again over the finished topology changes nothing and does not fail.
    await createTopology({ nodes: 2 }, sandbox.run);
    assert.equal((await ops.listLinks()).filter((l) => l.kind === 'veth').length, 2);
  });

  test('pods get addresses from their node pod CIDR on the node cni0 bridge', async (t) => {
    const [node1, node2] = plan.nodes as [NodePlan, NodePlan];
    const a = await addPod(node1, 'a');
    const b = await addPod(node1, 'b');
    const c = await addPod(node2, 'c');
    t.diagnostic(`createPodSandbox: ${[a, b, c].map((p) => p.durationMs.toFixed(1)).join(', ')} ms`);

    assert.deepEqual([a.ip, b.ip, c.ip], ['10.244.1.2', '10.244.1.3', '10.244.2.2']);
    assert.deepEqual([a.gateway, c.gateway, a.prefixLength], ['10.244.1.1', '10.244.2.1', 24]);
    assert.equal(a.netnsName, 'svcnet-node-1-pod-00000000-0000-4000-8000-00000000000a');
    assert.equal(a.netnsPath, `/var/run/netns/${a.netnsName}`);

    const podLinks = (await sandbox.run(inNetns(a.netnsName, ['ip', '-br', '-4', 'addr']))).stdout;
    assert.match(podLinks, /^lo\s+UNKNOWN\s+127\.0\.0\.1\/8/m);
    assert.match(podLinks, /^eth0@\S+\s+UP\s+10\.244\.1\.2\/24/m);
    assert.match((await sandbox.run(inNetns(a.netnsName, ['ip', 'route']))).stdout, /^default via 10\.244\.1\.1 dev eth0/m);
    // The bridge lives in the node namespace, not in the host's.
    assert.match((await inNode(node1, ['ip', '-br', '-4', 'addr', 'show', 'cni0'])).stdout, /^cni0\s+UP\s+10\.244\.1\.1\/24/);
    assert.equal(await ops.hasLink('cni0'), false);

    await checkPodSandbox(podOptions(node1, 'a'));
  });

  test('a pod is reached from a pod on the same node, a pod on another node and the host', async () => {
    const a = pods.get('a')!.pod;
    const server = await startHttpServer(sandbox, { netns: a.netnsName, host: a.ip, port: 8080, body: 'hello from a' });
    try {
      const url = `http://${a.ip}:8080/`;
      assert.equal(await curl(sandbox, url, pods.get('b')!.pod.netnsName), 'hello from a');
      assert.equal(await curl(sandbox, url, pods.get('c')!.pod.netnsName), 'hello from a');
      assert.equal(await curl(sandbox, url), 'hello from a');
    } finally {
      await server.stop();
    }
  });

  test('hostPort: portmap forwards the node address port to the pod', async () => {
    const node2 = plan.nodes[1]!;
    const d = await addPod(node2, 'd', [{ hostPort: 8081, containerPort: 8080, protocol: 'TCP' }]);
    const server = await startHttpServer(sandbox, { netns: d.netnsName, host: d.ip, port: 8080, body: 'hello from d' });
    try {
      const url = `http://${node2.ip}:8081/`;
      assert.equal(await curl(sandbox, url), 'hello from d', 'from the host');
      assert.equal(await curl(sandbox, url, pods.get('a')!.pod.netnsName), 'hello from d', 'from a pod on another node');
      assert.equal(await curl(sandbox, url, pods.get('c')!.pod.netnsName), 'hello from d', 'from a pod on the same node');
    } finally {
      await server.stop();
    }
    const nat = (await inNode(node2, ['iptables', '-t', 'nat', '-S'])).stdout;
    assert.match(nat, /^-N CNI-DN-/m);
  });

  test('destroying pods and the topology removes every namespace, veth, route, rule and IP allocation', async () => {
    const node2 = plan.nodes[1]!;
    for (const { options } of pods.values()) await destroyPodSandbox(options);
    await destroyPodSandbox(pods.get('a')!.options); // again: idempotent

    assert.deepEqual((await ops.listNetns()).sort(), ['svcnet-node-1', 'svcnet-node-2']);
    for (const node of plan.nodes) {
      const kinds = (await ops.listLinks({ netns: node.netns })).map((l) => l.kind ?? l.name);
      assert.deepEqual(
        kinds.filter((k) => k === 'veth'),
        ['veth'],
        `only the node uplink is left in ${node.netns}: ${kinds}`,
      );
      const allocations = readdirSync(join(stateRoot, node.name, 'ipam', 'svcnet')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
      assert.deepEqual(allocations, [], `IPs released on ${node.name}`);
      assert.deepEqual(readdirSync(join(stateRoot, node.name, 'results')), []);
    }
    assert.doesNotMatch((await inNode(node2, ['iptables', '-t', 'nat', '-S'])).stdout, /CNI-DN-/);

    // A pod left behind, as after a crash, goes with the topology: its namespace is named under its node's.
    const leftover = await addPod(plan.nodes[0]!, 'e');
    const removed = await destroyTopology('svcnet-', { runner: sandbox.run });
    assert.deepEqual(removed.netns.sort(), [leftover.netnsName, 'svcnet-node-1', 'svcnet-node-2'].sort());
    assert.deepEqual(await ops.listNetns(), []);
    assert.deepEqual(
      (await ops.listLinks()).map((l) => l.name),
      ['lo'],
    );
    assert.doesNotMatch((await sandbox.run(['ip', 'route'])).stdout, /10\.244\./);
    assert.deepEqual(await destroyTopology('svcnet-', { runner: sandbox.run }), { netns: [], links: [] });
  });
});

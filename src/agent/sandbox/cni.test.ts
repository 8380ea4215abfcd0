import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CommandError, type CommandRunner, type RunOptions } from '../../cluster/netns.js';
import {
  addNetworkList,
  type CniAttachment,
  CniError,
  CniResultCache,
  cniEnv,
  cniErrorFrom,
  delNetworkList,
  formatCniArgs,
  pluginConfig,
  podNetworkConfig,
} from './cni.js';
import { ADD_POD_NETNS_SCRIPT, createPodSandbox, podAddress, portMappings } from './pod-sandbox.js';

const attachment: CniAttachment = { containerId: 'c1', netnsPath: '/var/run/netns/p1', ifName: 'eth0', args: { K8S_POD_NAME: 'web' } };
const bridgeResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cni0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/var/run/netns/p1' }],
  ips: [{ address: '10.244.1.2/24', gateway: '10.244.1.1', interface: 2 }],
};

/** Records plugin runs; answers by plugin type with a result object or a CommandError. */
function fakePlugins(answers: Record<string, object | CommandError> = {}) {
  const runs: { argv: readonly string[]; env: Record<string, string>; config: Record<string, unknown> }[] = [];
  const runner: CommandRunner = async (argv, options: RunOptions = {}) => {
    runs.push({ argv, env: options.env ?? {}, config: options.input ? JSON.parse(options.input) : {} });
    const type = argv.at(-1)!.split('/').at(-1)!;
    const answer = answers[type];
    if (answer instanceof CommandError) throw answer;
    return { stdout: answer ? JSON.stringify(answer) : '', stderr: '' };
  };
  return { runner, runs };
}

describe('CNI runtime', () => {
  test('environment and CNI_ARGS as the spec and containerd spell them', () => {
    assert.equal(
      formatCniArgs({ K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web' }),
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web',
    );
    assert.deepEqual(cniEnv('ADD', attachment, '/usr/lib/cni'), {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/var/run/netns/p1',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
      CNI_PATH: '/usr/lib/cni',
    });
  });

  test('the node pod network: bridge cni0 (gateway, hairpin, no masquerade) with host-local, then portmap', () => {
    assert.deepEqual(podNetworkConfig({ podCIDR: '10.244.1.0/24', ipamDataDir: '/state/ipam' }), {
      cniVersion: '1.0.0',
      name: 'svcnet',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: '/state/ipam' },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    });
  });

  test('pluginConfig injects name, version, prevResult, and runtimeConfig only for declared capabilities', () => {
    const list = podNetworkConfig({ podCIDR: '10.244.1.0/24', ipamDataDir: '/d' });
    const mappings = [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' as const }];
    const bridge = pluginConfig(list, list.plugins[0]!, { portMappings: mappings });
    assert.equal(bridge.name, 'svcnet');
    assert.equal(bridge.cniVersion, '1.0.0');
    assert.equal(bridge.runtimeConfig, undefined);
    assert.equal(bridge.prevResult, undefined);
    const portmap = pluginConfig(list, list.plugins[1]!, { portMappings: mappings }, bridgeResult);
    assert.deepEqual(portmap.runtimeConfig, { portMappings: mappings });
    assert.deepEqual(portmap.prevResult, bridgeResult);
  });

  test('ADD chains each result into the next plugin, running them inside the host namespace', async () => {
    const { runner, runs } = fakePlugins({ bridge: bridgeResult, portmap: bridgeResult });
    const list = podNetworkConfig({ podCIDR: '10.244.1.0/24', ipamDataDir: '/d' });
    const result = await addNetworkList(list, attachment, { portMappings: [] }, { runner, hostNetns: 'node-1', cniPath: '/opt/cni' });
    assert.deepEqual(result, bridgeResult);
    assert.deepEqual(
      runs.map((r) => r.argv.join(' ')),
      ['nsenter --net=/var/run/netns/node-1 -- /opt/cni/bridge', 'nsenter --net=/var/run/netns/node-1 -- /opt/cni/portmap'],
    );
    assert.equal(runs[0]!.env.CNI_COMMAND, 'ADD');
    assert.equal(runs[0]!.env.CNI_PATH, '/opt/cni');
    assert.equal(runs[0]!.config.prevResult, undefined);
    assert.deepEqual(runs[1]!.config.prevResult, bridgeResult);
  });

  test('DEL walks the list backwards, tries every plugin, and reports the first failure', async () => {
    const error = new CommandError(
      ['portmap'],
      1,
      null,
      '{"cniVersion":"1.0.0","code":999,"msg":"could not teardown","details":"iptables: x"}',
      '',
    );
    const { runner, runs } = fakePlugins({ portmap: error });
    const list = podNetworkConfig({ podCIDR: '10.244.1.0/24', ipamDataDir: '/d' });
    await assert.rejects(delNetworkList(list, attachment, {}, { runner }), (err: unknown) => {
      assert.ok(err instanceof CniError);
      assert.equal(err.message, 'CNI plugin portmap DEL failed (code 999): could not teardown: iptables: x');
      return true;
    });
    assert.deepEqual(
      runs.map((r) => [r.argv.join(' '), r.env.CNI_COMMAND]),
      [
        ['/usr/lib/cni/portmap', 'DEL'],
        ['/usr/lib/cni/bridge', 'DEL'],
      ],
    );
  });

  test('errors without CNI JSON fall back to the raw output', () => {
    const err = cniErrorFrom('bridge', 'ADD', new CommandError(['bridge'], 2, null, '', 'panic: boom\n'));
    assert.equal(err.message, 'CNI plugin bridge ADD failed (code 999): panic: boom');
  });

  test('the result cache keeps one file per attachment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'svcnet-cni-cache-'));
    try {
      const cache = new CniResultCache(join(dir, 'results'));
      const list = podNetworkConfig({ podCIDR: '10.244.1.0/24', ipamDataDir: '/d' });
      assert.equal(cache.load('svcnet', 'c1', 'eth0'), undefined);
      cache.save({ network: list, attachment, runtime: {}, result: bridgeResult });
      assert.deepEqual(cache.load('svcnet', 'c1', 'eth0')?.result, bridgeResult);
      cache.remove('svcnet', 'c1', 'eth0');
      assert.equal(cache.load('svcnet', 'c1', 'eth0'), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pod sandbox', () => {
  test('hostPorts become CNI portMappings', () => {
    assert.deepEqual(
      portMappings([
        { hostPort: 8081, containerPort: 80 },
        { hostPort: 53, containerPort: 53, protocol: 'UDP', hostIP: '172.18.0.2' },
      ]),
      [
        { hostPort: 8081, containerPort: 80, protocol: 'tcp' },
        { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '172.18.0.2' },
      ],
    );
  });

  test('the pod address comes from the IPv4 entry of the result', () => {
    assert.deepEqual(podAddress(bridgeResult), { ip: '10.244.1.2', prefixLength: 24, gateway: '10.244.1.1' });
    assert.throws(() => podAddress({ cniVersion: '1.0.0', ips: [] }), /no IPv4 address/);
  });

  test('a failed ADD removes what it made and reports the plugin error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svcnet-pod-'));
    try {
      const error = new CommandError(
        ['bridge'],
        1,
        null,
        '{"code":11,"msg":"failed to allocate for range 0","details":"no IP addresses available"}',
        '',
      );
      const { runner, runs } = fakePlugins({ bridge: error });
      const options = { runner, nodeNetns: 'n1', podUid: 'u1', namespace: 'default', name: 'web', podCIDR: '10.244.1.0/24', stateDir: dir };
      await assert.rejects(
        createPodSandbox(options),
        /CNI plugin bridge ADD failed \(code 11\): failed to allocate for range 0: no IP addresses available/,
      );
      const commands = runs.map((r) =>
        `${r.argv.join(' ').replace('nsenter --net=/var/run/netns/n1 -- ', '').replace(ADD_POD_NETNS_SCRIPT, '<add netns, lo up>')} ${r.env.CNI_COMMAND ?? ''}`.trim(),
      );
      assert.deepEqual(commands, [
        'sh -c <add netns, lo up> svcnet-netns /var/run/netns/n1-pod-u1 n1-pod-u1 /var/run/netns',
        '/usr/lib/cni/bridge ADD',
        '/usr/lib/cni/portmap DEL',
        '/usr/lib/cni/bridge DEL',
        'ip netns delete n1-pod-u1',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

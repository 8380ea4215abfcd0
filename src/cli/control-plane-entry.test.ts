import assert from 'node:assert/strict';
import type { realpathSync } from 'node:fs';
import { describe, test } from 'node:test';
import { foregroundArgs, type UpOptions, upChildScript } from './cluster-commands.js';
import { parseUpArgs } from './control-plane-entry.js';

const defaults: UpOptions = {
  foreground: false,
  port: '6443',
  host: '127.0.0.1',
  store: 'sqlite',
  serviceClusterIpRange: '10.96.0.0/12',
  serviceNodePortRange: '30000-32767',
  nodes: '0',
  proxyMode: 'iptables',
};

describe('the background control plane gets the options `svcnet up` was given', () => {
  const cases: [string, UpOptions][] = [
    ['defaults', defaults],
    [
      'every option',
      {
        ...defaults,
        port: '0',
        host: '0.0.0.0',
        store: 'memory',
        serviceClusterIpRange: '10.0.0.0/16',
        serviceNodePortRange: '31000-31100',
        nodes: '2',
        proxyMode: 'nftables',
        simulatedNodes: '3',
      },
    ],
    ['no simulated nodes', { ...defaults, simulatedNodes: '0' }],
  ];
  for (const [name, opts] of cases) {
    test(name, () => {
      const [command, ...args] = foregroundArgs('/data', opts);
      assert.equal(command, 'up');
      assert.deepEqual(parseUpArgs(args), { simulatedNodes: undefined, ...opts, dataDir: '/data', foreground: true });
    });
  }

  test('an option it does not know is an error, not ignored', () => {
    assert.throws(() => parseUpArgs(['--foreground', '--bogus', 'x']), /bogus/);
  });
});

describe('upChildScript', () => {
  test('the lean child of the bundle, given the CLI script', () => {
    const exists = (path: string) => path === '/app/dist/up-child.cjs';
    assert.deepEqual(upChildScript('/app/bin/svcnet.js', exists), ['/app/dist/up-child.cjs', '/app/bin/svcnet.js']);
    assert.deepEqual(upChildScript('/app/dist/svcnet.js', exists), ['/app/dist/up-child.cjs', '/app/dist/svcnet.js']);
  });
  test('found through a symlink to the CLI script (a global install), which the agents keep getting', () => {
    const exists = (path: string) => path === '/lib/node_modules/svcnet/dist/up-child.cjs';
    const realpath = ((path: string) =>
      path === '/usr/bin/svcnet' ? '/lib/node_modules/svcnet/bin/svcnet.js' : path) as typeof realpathSync;
    assert.deepEqual(upChildScript('/usr/bin/svcnet', exists, realpath), ['/lib/node_modules/svcnet/dist/up-child.cjs', '/usr/bin/svcnet']);
  });
  test('the CLI script itself without it (a bundle of an earlier build)', () => {
    assert.deepEqual(
      upChildScript('/app/bin/svcnet.js', () => false),
      ['/app/bin/svcnet.js'],
    );
  });
});

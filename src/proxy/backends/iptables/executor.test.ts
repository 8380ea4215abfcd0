/**
 * IptablesExecutor.saveForeign with a fake runner: which commands it runs and the iptables-save
 * text it makes of their output; the kernel equivalence is in kernel-sync.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandError, type CommandRunner } from '../../../cluster/netns.js';
import { chainsByTable, IptablesExecutor } from './executor.js';
import { isOwnChain } from './rules.js';

const LISTING = `table ip filter {
\tchain INPUT {
\t\ttype filter hook input priority filter; policy accept;
\t}
\tchain KUBE-SERVICES {
\t}
\tchain FORWARD {
\t\ttype filter hook forward priority filter; policy drop;
\t}
\tchain CNI-FORWARD {
\t}
}
table ip nat {
\tchain KUBE-SVC-ABCDEFGHIJKLMNOP {
\t}
\tchain POSTROUTING {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t}
}
table ip kube-proxy {
\tchain services {
\t}
}
`;

const SPECS: Record<string, string> = {
  'filter INPUT': '-P INPUT ACCEPT\n',
  'filter FORWARD': '-P FORWARD DROP\n-A FORWARD -j CNI-FORWARD\n',
  'filter CNI-FORWARD': '-N CNI-FORWARD\n-A CNI-FORWARD -d 10.244.0.0/16 -m comment --comment "pod traffic" -j ACCEPT\n',
  'nat POSTROUTING': '-P POSTROUTING ACCEPT\n-A POSTROUTING -s 10.244.1.0/24 -j MASQUERADE\n',
};

function fake(fail?: string) {
  const calls: string[] = [];
  const run: CommandRunner = async (argv) => {
    const line = argv.join(' ');
    calls.push(line);
    if (line === 'iptables-save --version') return { stdout: 'iptables-save v1.8.9 (nf_tables)\n', stderr: '' };
    if (line === 'iptables-legacy-save --version') return { stdout: 'iptables-legacy-save v1.8.9 (legacy)\n', stderr: '' };
    if (line === 'nft list chains ip') return { stdout: LISTING, stderr: '' };
    if (line === 'iptables-save' || line === 'iptables-legacy-save') return { stdout: 'WHOLE SAVE\n', stderr: '' };
    const m = /^iptables -w 5 -t (\w+) -S (\S+)$/.exec(line);
    if (m && `${m[1]} ${m[2]}` !== fail && SPECS[`${m[1]} ${m[2]}`]) return { stdout: SPECS[`${m[1]} ${m[2]}`]!, stderr: '' };
    throw new CommandError([...argv], 1, null, '', 'iptables: No chain/target/match by that name.');
  };
  return { run, calls };
}

test('chainsByTable reads table and chain names from `nft list chains`', () => {
  assert.deepEqual(
    [...chainsByTable(LISTING)],
    [
      ['filter', ['INPUT', 'KUBE-SERVICES', 'FORWARD', 'CNI-FORWARD']],
      ['nat', ['KUBE-SVC-ABCDEFGHIJKLMNOP', 'POSTROUTING']],
      ['kube-proxy', ['services']],
    ],
  );
});

test('with nf_tables, only built-in and foreign chains of nat and filter are read, as iptables-save text', async () => {
  const { run, calls } = fake();
  const text = await new IptablesExecutor({ run }).saveForeign(isOwnChain);
  assert.equal(
    text,
    [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD DROP [0:0]',
      ':CNI-FORWARD - [0:0]',
      '-A FORWARD -j CNI-FORWARD',
      '-A CNI-FORWARD -d 10.244.0.0/16 -m comment --comment "pod traffic" -j ACCEPT',
      'COMMIT',
      '*nat',
      ':POSTROUTING ACCEPT [0:0]',
      '-A POSTROUTING -s 10.244.1.0/24 -j MASQUERADE',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.ok(!calls.some((c) => c.includes('KUBE-')), 'our chains are never read');
  assert.ok(!calls.includes('iptables-save'), 'no whole-table save');
});

test('legacy saves every table at once; a chain gone between listing and read falls back to a save', async () => {
  const legacy = fake();
  assert.equal(await new IptablesExecutor({ run: legacy.run, legacy: true }).saveForeign(isOwnChain), 'WHOLE SAVE\n');
  assert.deepEqual(legacy.calls, ['iptables-legacy-save --version', 'iptables-legacy-save']);
  const racing = fake('filter CNI-FORWARD');
  assert.equal(await new IptablesExecutor({ run: racing.run }).saveForeign(isOwnChain), 'WHOLE SAVE\n');
});

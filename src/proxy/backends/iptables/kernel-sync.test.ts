/**
 * Partial syncs on a real kernel (in a throwaway sandbox): after a random sequence of changes
 * applied as partial `--noflush` restores, the nat and filter tables must hold what one full sync
 * of the final state writes. Partial syncs insert new dispatch rules at the top of KUBE-SERVICES
 * rather than in kube-proxy's order, so rules inside the dispatch chains are compared as sets; a
 * full sync must then restore the canonical order.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withNetSandbox } from '../../../../test/helpers/sandbox.js';
import { ProxyState } from '../../tracker.js';
import { Churn } from './churn.js';
import { IptablesExecutor } from './executor.js';
import { IptablesProxier } from './proxier.js';
import { buildRuleset, FIXED_CHAINS, isOwnChain, parseForeignRules } from './rules.js';

const config = { clusterCIDR: '10.244.0.0/16', nodeIP: '172.18.0.2' };
const DISPATCH = new Set(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-EXTERNAL-SERVICES', 'KUBE-PROXY-FIREWALL']);

/** `iptables-save` without counters, with each chain's rules sorted where order is free. */
function normalize(save: string): string {
  const out: string[] = [];
  let table = '';
  let chains: string[] = [];
  const rules = new Map<string, string[]>();
  const flush = () => {
    if (!table) return;
    out.push(`*${table}`, ...chains.sort());
    for (const [chain, lines] of [...rules].sort(([a], [b]) => a.localeCompare(b)))
      out.push(...(DISPATCH.has(chain) ? [...lines].sort() : lines));
    rules.clear();
    chains = [];
  };
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) {
      flush();
      table = line.slice(1);
    } else if (line.startsWith(':')) chains.push(line.replace(/\[\d+:\d+\]$/, ''));
    else if (line.startsWith('-A ')) {
      const chain = line.split(' ')[1]!;
      rules.set(chain, [...(rules.get(chain) ?? []), line]);
    }
  }
  flush();
  return out.join('\n');
}

/** The comments of nat KUBE-SERVICES rules in kernel order. */
function natServicesOrder(save: string): string[] {
  // The nat table's block alone: the save holds every table, in the order iptables-save chose.
  const start = save.indexOf('*nat');
  const nat = save.slice(start, save.indexOf('COMMIT', start));
  return nat
    .split('\n')
    .filter((line) => line.startsWith('-A KUBE-SERVICES '))
    .map(commentOf);
}

function commentOf(rule: string): string {
  const m = /--comment (?:"([^"]*)"|(\S+))/.exec(rule);
  return m?.[1] ?? m?.[2] ?? '';
}

for (const legacy of [false, true]) {
  describe(`iptables${legacy ? '-legacy' : ''} partial syncs on the kernel`, () => {
    test('a random sequence of partial syncs leaves what one full sync writes', { timeout: 120_000 }, async () => {
      await withNetSandbox(async (sandbox) => {
        const executor = new IptablesExecutor({ run: sandbox.run, legacy });
        const proxier = new IptablesProxier(executor, config);
        const state = new ProxyState('node-1');
        const churn = new Churn(state, legacy ? 7 : 42);
        for (let i = 0; i < 6; i++) churn.step();
        await proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints, state.apply());
        for (let round = 0; round < 25; round++) {
          for (let k = 0; k <= round % 3; k++) churn.step();
          const stats = await proxier.sync({ full: false, reason: 'requested' }, state.services, state.endpoints, state.apply());
          assert.equal(stats.full, false);
        }
        const afterPartials = await executor.save();
        await proxier.sync({ full: true, reason: 'periodic' }, state.services, state.endpoints, state.apply());
        const afterFull = await executor.save();
        assert.equal(normalize(afterPartials), normalize(afterFull));
        // The full sync above reused cached per-service rules; one built from nothing must agree.
        await new IptablesProxier(executor, config).sync({ full: true, reason: 'initial' }, state.services, state.endpoints);
        const withoutStamps = (save: string) => save.replace(/^#.*\n/gm, '');
        assert.equal(withoutStamps(await executor.save()), withoutStamps(afterFull));
        assert.ok(state.services.size > 0, 'the sequence leaves some Services');

        const ruleset = buildRuleset(state.services, state.endpoints, config);
        const canonical = [...ruleset.services.values()].flatMap((r) => r.dispatch['nat KUBE-SERVICES'].map(commentOf));
        canonical.push('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
        assert.deepEqual(natServicesOrder(afterFull), canonical, 'a full sync writes the canonical order');
        assert.ok(FIXED_CHAINS.nat.every((c) => afterFull.includes(`:${c} `)));
      });
    });

    test("full syncs keep other software's chains, rules and policies, referenced or not", { timeout: 60_000 }, async () => {
      await withNetSandbox(async (sandbox) => {
        const ipt = legacy ? 'iptables-legacy' : 'iptables';
        const run = (...args: string[]) => sandbox.run([ipt, '-w', '5', ...args]);
        await run('-t', 'nat', '-N', 'CNI-HOSTPORT-DNAT');
        await run('-t', 'nat', '-A', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT');
        await run(
          '-t',
          'nat',
          '-A',
          'CNI-HOSTPORT-DNAT',
          '-p',
          'tcp',
          '--dport',
          '8080',
          '-m',
          'comment',
          '--comment',
          'hostport web',
          '-j',
          'DNAT',
          '--to-destination',
          '10.244.9.9:80',
        );
        await run('-t', 'filter', '-N', 'UNREFERENCED');
        await run('-t', 'filter', '-A', 'UNREFERENCED', '-s', '192.0.2.0/24', '-j', 'ACCEPT');
        await run('-t', 'filter', '-P', 'FORWARD', 'DROP');
        const executor = new IptablesExecutor({ run: sandbox.run, legacy });
        const proxier = new IptablesProxier(executor, config);
        const state = new ProxyState('node-1');
        const churn = new Churn(state, 3);
        for (let i = 0; i < 8; i++) churn.step();
        await proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints, state.apply());
        // What a full sync reads instead of a whole-table save must be what the save says of others.
        // (Declarations in any order; each chain's rules in their order.)
        const byChain = (save: string) => {
          const f = parseForeignRules(save);
          const group = (rules: string[]) => {
            const m = new Map<string, string[]>();
            for (const r of rules) m.set(r.split(' ')[1]!, [...(m.get(r.split(' ')[1]!) ?? []), r]);
            return [...m].sort(([a], [b]) => a.localeCompare(b));
          };
          return {
            chains: { filter: [...f.chains.filter].sort(), nat: [...f.chains.nat].sort() },
            rules: { filter: group(f.rules.filter), nat: group(f.rules.nat) },
          };
        };
        assert.deepEqual(byChain(await executor.saveForeign(isOwnChain)), byChain(await executor.save()));
        await proxier.sync({ full: true, reason: 'periodic' }, state.services, state.endpoints, state.apply());
        const save = await executor.save();
        for (const kept of [
          ':CNI-HOSTPORT-DNAT - [0:0]',
          '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
          '-A CNI-HOSTPORT-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "hostport web" -j DNAT --to-destination 10.244.9.9:80',
          ':UNREFERENCED - [0:0]',
          '-A UNREFERENCED -s 192.0.2.0/24 -j ACCEPT',
        ]) {
          assert.ok(save.includes(kept), `${kept} kept:\n${save}`);
        }
        assert.match(save, /^:FORWARD DROP \[\d+:\d+\]$/m);
        assert.equal(save.match(/-A PREROUTING .*-j KUBE-SERVICES/g)?.length, 1, 'our jump once');
      });
    });
  });
}

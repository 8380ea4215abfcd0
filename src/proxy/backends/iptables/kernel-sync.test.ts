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
import { buildRuleset, FIXED_CHAINS } from './rules.js';

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
  const nat = save.slice(save.indexOf('*nat'));
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
  });
}

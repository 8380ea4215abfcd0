/**
 * Partial syncs on a real kernel (in a throwaway sandbox): after a random sequence of changes
 * applied as partial nft transactions, table `ip kube-proxy` must hold what one full sync of the
 * final state writes. Partial syncs may leave emptied chains and sets behind for a later
 * transaction to delete (see nftLeftovers); those are the only difference allowed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withNetSandbox } from '../../../../test/helpers/sandbox.js';
import { makeService, makeSlice, nsenterSpawner } from '../../testing.js';
import { ProxyState } from '../../tracker.js';
import { Churn } from '../iptables/churn.js';
import { NftExecutor, NftProxier } from './executor.js';
import { NftSession } from './session.js';

const config = { clusterCIDR: '10.244.0.0/16', serviceCIDRs: ['10.96.0.0/12'] };

/** `nft list table` as blocks (`chain X`, `set Y`, …) → body, set elements sorted. */
function blocks(listing: string): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | undefined;
  let body: string[] = [];
  for (const line of listing.split('\n')) {
    const head = /^\t(chain|set|map) (\S+) \{$/.exec(line);
    if (head) {
      name = `${head[1]} ${head[2]}`;
      body = [];
    } else if (name && line === '\t}') {
      const text = body.join(' ').replace(/\s+/g, ' ').trim();
      const elements = /elements = \{ (.*) \}/.exec(text);
      out.set(name, elements ? text.replace(elements[1]!, elements[1]!.split(/, /).sort().join(', ')) : text);
      name = undefined;
    } else if (name) body.push(line.trim());
  }
  return out;
}

/** Differences between the tables beyond emptied chains and affinity sets left for later deletion. */
function differences(partial: string, full: string): string[] {
  const a = blocks(partial);
  const b = blocks(full);
  const diffs: string[] = [];
  for (const [name, body] of b) if (a.get(name) !== body) diffs.push(`${name}: partial ${a.get(name)} / full ${body}`);
  for (const [name, body] of a) {
    if (b.has(name)) continue;
    const leftover = (name.startsWith('chain ') && body === '') || (name.startsWith('set affinity-') && !body.includes('elements'));
    if (!leftover) diffs.push(`${name} only after partial syncs: ${body}`);
  }
  return diffs;
}

describe('nftables partial syncs on the kernel', () => {
  for (const [label, options, viaSession] of [
    ['emptied chains deleted at once (small table)', {}, false],
    ['emptied chains deleted later (as in a big table)', { eagerDeleteMaxChains: 0 }, false],
    ['partial transactions through one long-lived nft -i', { eagerDeleteMaxChains: 0 }, true],
  ] as const) {
    test(`a random sequence of partial syncs leaves what one full sync writes: ${label}`, { timeout: 120_000 }, async () => {
      await withNetSandbox(async (sandbox) => {
        const session = viaSession ? new NftSession(nsenterSpawner(sandbox.pid)) : undefined;
        const executor = new NftExecutor(sandbox.run, undefined, session);
        try {
          const proxier = new NftProxier(executor, config, options);
          const state = new ProxyState('node-1');
          const churn = new Churn(state, 1234);
          for (let i = 0; i < 6; i++) churn.step();
          await proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints, state.apply());
          let partials = 0;
          for (let round = 0; round < 30; round++) {
            for (let k = 0; k <= round % 3; k++) churn.step();
            const stats = await proxier.sync({ full: false, reason: 'requested' }, state.services, state.endpoints, state.apply());
            if (!stats.full && stats.bytes > 0) partials++;
          }
          assert.ok(partials > 20, `partial syncs ran (${partials})`);
          const afterPartials = await executor.list();
          await proxier.sync({ full: true, reason: 'periodic' }, state.services, state.endpoints, state.apply());
          const afterFull = await executor.list();
          assert.ok(state.services.size > 0, 'the sequence leaves some Services');
          assert.deepEqual(differences(afterPartials, afterFull), []);
          // The full sync above reused cached per-service rules; one built from nothing must agree.
          await new NftProxier(executor, config).sync({ full: true, reason: 'initial' }, state.services, state.endpoints);
          assert.equal(await executor.list(), afterFull);
        } finally {
          session?.close();
        }
      });
    });
  }
});

describe('nftables initial load split into transactions, on the kernel', () => {
  /** Churned Services plus two that claim one external IP, the later (in key order) winning it. */
  function clashingState(): ProxyState {
    const state = new ProxyState('node-1');
    const churn = new Churn(state, 99, 40);
    for (let i = 0; i < 60; i++) churn.step();
    for (const name of ['aaa-clash', 'zzz-clash']) {
      const nn = `default/${name}`;
      const ip = name === 'aaa-clash' ? '10.96.1.1' : '10.96.1.2';
      state.onService(
        undefined,
        makeService(nn, { clusterIP: ip, externalIPs: ['192.0.2.250'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
      );
      state.onEndpointSlice(
        makeSlice(nn, `${name}-abcde`, [{ name: 'http', port: 8080 }], [name === 'aaa-clash' ? '10.244.9.1' : '10.244.9.2']),
      );
    }
    return state;
  }
  const split = { minServicePorts: 1, first: 0.1, minFirst: 3, growth: 2 };

  test('leaves what one whole-table transaction writes, clashing elements included; over an existing table it stays one', {
    timeout: 120_000,
  }, async () => {
    await withNetSandbox(async (sandbox) => {
      const executor = new NftExecutor(sandbox.run);
      const state = clashingState();
      const changes = state.apply();
      assert.ok(state.services.size > 20, `enough service ports (${state.services.size})`);
      const split1 = await new NftProxier(executor, config, { initialLoadSplit: split }).sync(
        { full: true, reason: 'initial' },
        state.services,
        state.endpoints,
        changes,
      );
      assert.ok(split1.transactions >= 3, `split into ${split1.transactions} transactions`);
      const afterSplit = await executor.list();
      assert.match(afterSplit, /192\.0\.2\.250 \. tcp \. 80 : goto external-\w+-default\/zzz-clash\/tcp\/http/);
      // A restarted proxy finds the table and replaces it in one transaction.
      const restart = await new NftProxier(executor, config, { initialLoadSplit: split }).sync(
        { full: true, reason: 'initial' },
        state.services,
        state.endpoints,
      );
      assert.equal(restart.transactions, 1);
      const afterWhole = await executor.list();
      assert.deepEqual(differences(afterSplit, afterWhole), []);
      assert.deepEqual(differences(afterWhole, afterSplit), []);
    });
  });
});

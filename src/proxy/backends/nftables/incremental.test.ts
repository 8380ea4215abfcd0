/**
 * Partial syncs keep their indexes incrementally (the ruleset's service map, the element index,
 * chain and rule counts): after random change sequences they must agree with what a build from
 * scratch says, and the partial transaction must be the one computed without any kept state.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceLike } from '../../model.js';
import { makeService, makeSlice } from '../../testing.js';
import { ProxyState } from '../../tracker.js';
import { seededRandom } from '../iptables/churn.js';
import { buildNftRuleset, countNft, type NftRuleset, nftElements, renderNftPartial } from './rules.js';

const config = { clusterCIDR: '10.244.0.0/16', serviceCIDRs: ['10.96.0.0/12'] };

/** Random Services with one or two ports (two ports share their cluster-ips element) whose external IPs clash. */
function churn(state: ProxyState, seed: number) {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const services = new Map<number, ServiceLike>();
  return () => {
    const i = int(10);
    const roll = int(6);
    const nn = `default/svc-${i}`;
    if (roll === 0 && services.has(i)) {
      state.onService(services.get(i), undefined);
      services.delete(i);
      return;
    }
    if (roll <= 2 || !services.has(i)) {
      const ports = [{ name: 'http', port: 80, protocol: 'TCP' }];
      if (int(2)) ports.push({ name: 'dns', port: 53, protocol: 'UDP' });
      const svc = makeService(nn, {
        clusterIP: `10.96.0.${10 + i}`,
        ports,
        ...(int(3) === 0 ? { externalIPs: [`192.0.2.${int(3)}`] } : {}),
        ...(int(4) === 0 ? { sessionAffinity: 'ClientIP' } : {}),
      });
      state.onService(services.get(i), svc);
      services.set(i, svc);
    }
    const endpoints = Array.from({ length: int(4) }, (_, k) => `10.244.${i}.${1 + k + int(3)}`);
    state.onEndpointSlice(
      makeSlice(
        nn,
        `svc-${i}-x`,
        [
          { name: 'http', port: 8080 },
          { name: 'dns', port: 5353, protocol: 'UDP' },
        ],
        [...new Set(endpoints)],
      ),
    );
  };
}

/** The same ruleset as plain maps: no derivation and no kept index to lean on. */
const plain = (r: NftRuleset): NftRuleset => ({ config: r.config, services: new Map(r.services) });

for (const seed of [1, 2, 3, 4]) {
  test(`after random partial syncs, the kept indexes equal ones rebuilt from scratch (seed ${seed})`, () => {
    const state = new ProxyState('node-1');
    const step = churn(state, seed);
    for (let k = 0; k < 5; k++) step();
    state.apply();
    let previous = buildNftRuleset(state.services, state.endpoints, config);
    countNft(previous);
    for (let round = 0; round < 200; round++) {
      for (let k = seed % 3; k >= 0; k--) step();
      const changes = state.apply();
      const current = buildNftRuleset(state.services, state.endpoints, config, {
        previous,
        changedServices: changes.updatedServices,
        changedPorts: changes.updatedServicePorts,
      });
      const reference = renderNftPartial(plain(previous), plain(current));
      assert.equal(renderNftPartial(previous, current), reference, `round ${round}: the transaction`);
      const scratch = buildNftRuleset(state.services, state.endpoints, config);
      const fingerprints = (r: NftRuleset) => new Map([...r.services].map(([key, rules]) => [key, rules.fingerprint]));
      assert.deepEqual(fingerprints(current), fingerprints(scratch), `round ${round}: the service ports`);
      assert.deepEqual(countNft(current), countNft(scratch), `round ${round}: the counts`);
      assert.deepEqual(nftElements(current), nftElements(scratch), `round ${round}: the elements`);
      previous = current;
    }
  });
}

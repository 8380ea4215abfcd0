/**
 * Partial syncs derive each ruleset from the last one (only the changed service ports rebuilt,
 * counts carried over): after random change sequences it must equal a build from scratch, and the
 * partial restore text must be the one computed without any derivation to lean on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProxyState } from '../../tracker.js';
import { Churn } from './churn.js';
import { buildRuleset, countRules, type IptablesRuleset, renderPartial } from './rules.js';

const config = { clusterCIDR: '10.244.0.0/16' };

/** The same ruleset as a plain map: no derivation and no carried counts. */
const plain = (r: IptablesRuleset): IptablesRuleset => ({ config: r.config, services: new Map(r.services) });

for (const seed of [11, 12, 13]) {
  test(`after random partial syncs, the derived ruleset and its counts equal ones built from scratch (seed ${seed})`, () => {
    const state = new ProxyState('node-1');
    const churn = new Churn(state, seed, 15);
    for (let k = 0; k < 8; k++) churn.step();
    state.apply();
    let previous = buildRuleset(state.services, state.endpoints, config);
    countRules(previous);
    for (let round = 0; round < 150; round++) {
      for (let k = seed % 3; k >= 0; k--) churn.step();
      const changes = state.apply();
      const current = buildRuleset(state.services, state.endpoints, config, {
        previous,
        changedServices: changes.updatedServices,
        changedPorts: changes.updatedServicePorts,
      });
      assert.equal(renderPartial(previous, current), renderPartial(plain(previous), plain(current)), `round ${round}: the restore text`);
      const scratch = buildRuleset(state.services, state.endpoints, config);
      const fingerprints = (r: IptablesRuleset) => new Map([...r.services].map(([key, rules]) => [key, rules.fingerprint]));
      assert.deepEqual(fingerprints(current), fingerprints(scratch), `round ${round}: the service ports`);
      assert.deepEqual(countRules(current), countRules(plain(scratch)), `round ${round}: the counts`);
      previous = current;
    }
  });
}

/**
 * The iptables proxier: one sync = build the desired ruleset, render it full or partial, apply it.
 * Keeps the ruleset that is known to be in the kernel; any failure forgets it, so the next sync
 * (which the runner makes full) starts from scratch.
 */

import type { EndpointsMap, ServicePortMap } from '../../model.js';
import type { SyncRequest } from '../../runner.js';
import type { UpdateResult } from '../../tracker.js';
import type { IptablesExecutor } from './executor.js';
import {
  buildRuleset,
  countRules,
  type IptablesConfig,
  type IptablesRuleset,
  parseForeignRules,
  renderFull,
  renderPartial,
} from './rules.js';

/** Timings of one sync, for metrics and benchmarks. */
export interface IptablesSyncStats {
  full: boolean;
  /** Time spent generating rules and text (ms). */
  generateMs: number;
  /** Time spent in iptables-save/-restore (ms). */
  applyMs: number;
  /** Bytes of restore text. */
  bytes: number;
  natRules: number;
  natChains: number;
  filterRules: number;
}

export class IptablesProxier {
  /** What the kernel holds (unknown after a failure). */
  #applied: IptablesRuleset | undefined;
  /** The last ruleset built, applied or not: unchanged services' rules are reused from it, in full syncs too. */
  #built: IptablesRuleset | undefined;

  constructor(
    readonly executor: IptablesExecutor,
    readonly config: IptablesConfig,
  ) {}

  /** Programs the kernel for the given state; `changes` (from ProxyState.apply) scopes a partial sync. */
  async sync(request: SyncRequest, services: ServicePortMap, endpoints: EndpointsMap, changes?: UpdateResult): Promise<IptablesSyncStats> {
    const t0 = performance.now();
    const previous = request.full ? undefined : this.#applied;
    const built = this.#built;
    // Forgotten until the new build completes: a build that throws has consumed `changes`.
    this.#built = undefined;
    const ruleset = buildRuleset(
      services,
      endpoints,
      this.config,
      built && changes && { previous: built, changedServices: changes.updatedServices },
    );
    this.#built = ruleset;
    let text: string;
    let applyMs = 0;
    this.#applied = undefined;
    if (previous) {
      text = renderPartial(previous, ruleset);
    } else {
      const s0 = performance.now();
      const saved = await this.executor.save();
      applyMs += performance.now() - s0;
      text = renderFull(ruleset, parseForeignRules(saved));
    }
    const generateMs = performance.now() - t0 - applyMs;
    const a0 = performance.now();
    await this.executor.restore(text, { noflush: previous !== undefined });
    applyMs += performance.now() - a0;
    this.#applied = ruleset;
    return { full: !previous, generateMs, applyMs, bytes: Buffer.byteLength(text), ...countRules(ruleset) };
  }
}

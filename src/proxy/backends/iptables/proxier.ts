/**
 * The iptables proxier: one sync = build the desired ruleset, render it full or partial, apply it.
 * Keeps the ruleset that is known to be in the kernel; any failure forgets it, so the next sync
 * (which the runner makes full) starts from scratch.
 */

import type { EndpointsMap, ServicePortMap } from '../../model.js';
import type { SyncRequest } from '../../runner.js';
import type { UpdateResult } from '../../tracker.js';
import { type ChunkTiming, timedChunks } from '../chunks.js';
import type { IptablesExecutor } from './executor.js';
import {
  buildRuleset,
  countRules,
  type IptablesConfig,
  type IptablesRuleset,
  isOwnChain,
  parseForeignRules,
  planFullSync,
  renderPartial,
  streamFullSync,
} from './rules.js';

/** Timings of one sync, for metrics and benchmarks. */
export interface IptablesSyncStats {
  full: boolean;
  /**
   * CPU time spent generating rules and text (ms). A full sync renders while iptables-restore
   * parses the chunks already written, so part of it overlaps {@link applyMs}.
   */
  generateMs: number;
  /** Wall time of iptables-save/-restore, start to exit (ms): includes any wait for chunks still being rendered. */
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
    const delta = built &&
      changes && { previous: built, changedServices: changes.updatedServices, changedPorts: changes.updatedServicePorts };
    // Forgotten until the new build completes: a build that throws has consumed `changes`.
    this.#built = undefined;
    this.#applied = undefined;
    const timing: ChunkTiming = { ms: 0, chars: 0 };
    let ruleset: IptablesRuleset | undefined;
    let generateMs = 0;
    let applyMs = 0;
    if (previous) {
      ruleset = buildRuleset(services, endpoints, this.config, delta);
      this.#built = ruleset;
      const text = renderPartial(previous, ruleset);
      generateMs = performance.now() - t0;
      timing.chars = text.length;
      const a0 = performance.now();
      await this.executor.restore(text, { noflush: true });
      applyMs = performance.now() - a0;
    } else {
      // Other software's rules are read (saveForeign) while the filter rules are planned; the nat
      // chains are built while iptables-restore parses the text before them.
      // Starting iptables-save is the command's time, not the proxy's (a spawn holds the thread for
      // 4–8 ms, the first one in a process ~30 ms): only the plan counts as generation.
      const saving = this.executor.saveForeign(isOwnChain);
      saving.catch(() => undefined); // awaited below; a plan that throws first must not leave it unhandled
      const g0 = performance.now();
      const plan = planFullSync(services, endpoints, this.config, delta);
      generateMs = performance.now() - g0;
      const saved = await saving;
      applyMs = performance.now() - t0 - generateMs;
      const p0 = performance.now();
      const foreign = parseForeignRules(saved);
      generateMs += performance.now() - p0;
      const done = (complete: IptablesRuleset) => {
        ruleset = complete;
        this.#built = complete;
      };
      const a0 = performance.now();
      await this.executor.restoreChunks(timedChunks(streamFullSync(plan, foreign, done), timing), { noflush: false });
      applyMs += performance.now() - a0;
      generateMs += timing.ms;
    }
    if (!ruleset) throw new Error('iptables-restore finished before the ruleset was complete');
    this.#applied = ruleset;
    return { full: !previous, generateMs, applyMs, bytes: timing.chars, ...countRules(ruleset) };
  }
}

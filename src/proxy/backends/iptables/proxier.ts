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
  parseForeignRules,
  renderFullChunks,
  renderPartial,
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
    // A full sync reads other software's rules (iptables-save, its own process) while it builds ours.
    const saving = previous ? undefined : this.executor.save().then((text) => ({ text, ms: performance.now() - t0 }));
    saving?.catch(() => undefined); // awaited below; a build that throws first must not leave it unhandled
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
    let applyMs = 0;
    let generateMs = performance.now() - t0;
    this.#applied = undefined;
    const timing: ChunkTiming = { ms: 0, chars: 0 };
    if (previous) {
      const r0 = performance.now();
      const text = renderPartial(previous, ruleset);
      generateMs += performance.now() - r0;
      timing.chars = text.length;
      const a0 = performance.now();
      await this.executor.restore(text, { noflush: true });
      applyMs += performance.now() - a0;
    } else {
      const saved = await (saving as NonNullable<typeof saving>);
      applyMs += saved.ms;
      const p0 = performance.now();
      const foreign = parseForeignRules(saved.text);
      generateMs += performance.now() - p0;
      // Rendered while iptables-restore parses the chunks already written.
      const a0 = performance.now();
      await this.executor.restoreChunks(timedChunks(renderFullChunks(ruleset, foreign), timing), { noflush: false });
      applyMs += performance.now() - a0;
      generateMs += timing.ms;
    }
    this.#applied = ruleset;
    return { full: !previous, generateMs, applyMs, bytes: timing.chars, ...countRules(ruleset) };
  }
}

/**
 * The nftables edge: feeds a transaction to `nft -f -` (atomic: all of it applies or none).
 * Thin on purpose; the command runner is injected.
 */
import type { CommandRunner } from '../../../cluster/netns.js';
import type { EndpointsMap, ServicePortMap } from '../../model.js';
import type { SyncRequest } from '../../runner.js';
import type { UpdateResult } from '../../tracker.js';
import {
  buildNftRuleset,
  countNft,
  type NftablesConfig,
  type NftPartialOptions,
  type NftRuleset,
  renderNftFull,
  renderNftPartial,
} from './rules.js';

/** Runs `nft`. */
export class NftExecutor {
  constructor(
    readonly run: CommandRunner,
    readonly timeoutMs = 600_000,
  ) {}

  /** Applies one transaction. */
  async apply(text: string): Promise<void> {
    if (text === '') return;
    await this.run(['nft', '-f', '-'], { input: text, timeoutMs: this.timeoutMs });
  }

  /** `nft list table ip kube-proxy`. */
  async list(): Promise<string> {
    return (await this.run(['nft', 'list', 'table', 'ip', 'kube-proxy'], { timeoutMs: this.timeoutMs })).stdout;
  }
}

/** Timings of one sync. */
export interface NftSyncStats {
  full: boolean;
  generateMs: number;
  applyMs: number;
  bytes: number;
  chains: number;
  rules: number;
  elements: number;
}

/** One sync = build, render full or partial, apply; any failure forgets what the kernel holds. */
export class NftProxier {
  /** What the kernel holds (unknown after a failure). */
  #applied: NftRuleset | undefined;
  /** The last ruleset built, applied or not: unchanged services' rules are reused from it, in full syncs too. */
  #built: NftRuleset | undefined;

  constructor(
    readonly executor: NftExecutor,
    readonly config: NftablesConfig,
    readonly partialOptions: NftPartialOptions = {},
  ) {}

  async sync(request: SyncRequest, services: ServicePortMap, endpoints: EndpointsMap, changes?: UpdateResult): Promise<NftSyncStats> {
    const t0 = performance.now();
    const previous = request.full ? undefined : this.#applied;
    const built = this.#built;
    // Forgotten until the new build completes: a build that throws has consumed `changes`.
    this.#built = undefined;
    const ruleset = buildNftRuleset(
      services,
      endpoints,
      this.config,
      built && changes && { previous: built, changedServices: changes.updatedServices },
    );
    this.#built = ruleset;
    const text = previous ? renderNftPartial(previous, ruleset, this.partialOptions) : renderNftFull(ruleset);
    const generateMs = performance.now() - t0;
    this.#applied = undefined;
    const a0 = performance.now();
    await this.executor.apply(text);
    const applyMs = performance.now() - a0;
    this.#applied = ruleset;
    return { full: !previous, generateMs, applyMs, bytes: Buffer.byteLength(text), ...countNft(ruleset) };
  }
}

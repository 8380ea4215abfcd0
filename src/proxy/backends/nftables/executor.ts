/**
 * The nftables edge: feeds a transaction to `nft -f -` (atomic: all of it applies or none).
 * Thin on purpose; the command runner is injected.
 */
import { type CommandRunner, runWithChunks } from '../../../cluster/netns.js';
import type { EndpointsMap, ServicePortMap } from '../../model.js';
import type { SyncRequest } from '../../runner.js';
import type { UpdateResult } from '../../tracker.js';
import { type ChunkTiming, timedChunks } from '../chunks.js';
import {
  buildNftRuleset,
  countNft,
  type NftablesConfig,
  type NftPartialOptions,
  type NftRuleset,
  renderNftPartial,
  streamNftFull,
} from './rules.js';
import type { NftSession } from './session.js';

/**
 * Transactions up to this size go through the {@link NftSession} when there is one: the ~15 ms a
 * new nft process costs matters next to a small transaction, not next to a large one (which then
 * need not be written as one line).
 */
export const SESSION_MAX_CHARS = 256 * 1024;

/** Runs `nft`. */
export class NftExecutor {
  constructor(
    readonly run: CommandRunner,
    readonly timeoutMs = 600_000,
    /** A long-lived `nft -i` for small transactions; without it each transaction is its own `nft -f -`. */
    readonly session?: NftSession,
  ) {}

  /** Applies one transaction. */
  async apply(text: string): Promise<void> {
    if (text === '') return;
    // The session joins the lines into one, where a `#` would comment out the rest: such text (none
    // of ours has one) goes to its own process.
    if (this.session && text.length <= SESSION_MAX_CHARS && !text.includes('#')) await this.session.apply(text);
    else await this.run(['nft', '-f', '-'], { input: text, timeoutMs: this.timeoutMs });
  }

  /** Applies one transaction streamed in chunks as they are produced (see {@link runWithChunks}). */
  async applyChunks(chunks: Iterable<string>): Promise<void> {
    await runWithChunks(this.run, ['nft', '-f', '-'], chunks, { timeoutMs: this.timeoutMs });
  }

  /** `nft list table ip kube-proxy`. */
  async list(): Promise<string> {
    return (await this.run(['nft', 'list', 'table', 'ip', 'kube-proxy'], { timeoutMs: this.timeoutMs })).stdout;
  }
}

/** Timings of one sync. */
export interface NftSyncStats {
  full: boolean;
  /**
   * CPU time the proxy spent building and rendering (ms). In a full sync most of it runs while nft
   * is already parsing the earlier chunks, so it overlaps {@link applyMs}.
   */
  generateMs: number;
  /** Wall time from starting `nft` to its exit (ms): includes any wait for chunks still being generated. */
  applyMs: number;
  bytes: number;
  chains: number;
  rules: number;
  elements: number;
}

/**
 * One sync = build, render full or partial, apply; any failure forgets what the kernel holds.
 * A full sync streams: nft starts at once and each service's rules are built as nft takes the text
 * before them, so generation hides behind nft's own parsing instead of preceding it.
 */
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
    const previous = request.full ? undefined : this.#applied;
    const built = this.#built;
    const delta = built &&
      changes && { previous: built, changedServices: changes.updatedServices, changedPorts: changes.updatedServicePorts };
    // Forgotten until the new build completes: a build that throws has consumed `changes`.
    this.#built = undefined;
    this.#applied = undefined;
    let ruleset: NftRuleset | undefined;
    const timing: ChunkTiming = { ms: 0, chars: 0 };
    const a0 = performance.now();
    if (previous) {
      const t0 = performance.now();
      ruleset = buildNftRuleset(services, endpoints, this.config, delta);
      this.#built = ruleset;
      const text = renderNftPartial(previous, ruleset, this.partialOptions);
      timing.ms = performance.now() - t0;
      timing.chars = text.length;
      await this.executor.apply(text);
    } else {
      const done = (complete: NftRuleset) => {
        ruleset = complete;
        this.#built = complete;
      };
      await this.executor.applyChunks(timedChunks(streamNftFull(services, endpoints, this.config, delta, done), timing));
    }
    const applyMs = performance.now() - a0 - (previous ? timing.ms : 0);
    if (!ruleset) throw new Error('nft transaction applied before the ruleset was complete');
    this.#applied = ruleset;
    return { full: !previous, generateMs: timing.ms, applyMs, bytes: timing.chars, ...countNft(ruleset) };
  }
}

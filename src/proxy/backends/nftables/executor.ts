/**
 * The nftables edge: feeds a transaction to `nft -f -` (atomic: all of it applies or none).
 * Thin on purpose; the command runner is injected.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandRunner, runWithChunks } from '../../../cluster/netns.js';
import type { EndpointsMap, ServicePortMap } from '../../model.js';
import type { SyncRequest } from '../../runner.js';
import type { UpdateResult } from '../../tracker.js';
import { type ChunkTiming, timedChunks } from '../chunks.js';
import {
  buildNftRuleset,
  countNft,
  INITIAL_LOAD_SPLIT,
  type InitialLoadSplit,
  NFT_TABLE,
  type NftablesConfig,
  type NftPartialOptions,
  type NftRuleset,
  renderNftPartial,
  streamNftFull,
  streamNftInitial,
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

  /**
   * Applies transactions in order: while nft applies one, the next is built and written to a file
   * for the next `nft -f`. (Not piped: nft reads all of its input before acting on it, and a
   * waiting nft that has been handed its input early slows the one at work — measured, 10k
   * Services: +0.5 s.) The build yields to the event loop every few milliseconds. Stops at the
   * first failure, which it rejects with.
   */
  async applyInOrder(transactions: Iterable<Iterable<string>>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'svcnet-nft-'));
    let running: Promise<unknown> | undefined;
    try {
      let n = 0;
      for (const chunks of transactions) {
        const file = join(dir, `${++n}.nft`);
        writeFileSync(file, await collect(chunks));
        await running;
        running = this.run(['nft', '-f', file], { timeoutMs: this.timeoutMs });
        running.catch(() => {}); // awaited once the next transaction is built
      }
      await running;
    } finally {
      // An nft still reading its file (the build of the next one threw) finishes first.
      await running?.catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Whether table `ip kube-proxy` exists (`nft list tables`, which lists names only). */
  async tableExists(): Promise<boolean> {
    const { stdout } = await this.run(['nft', 'list', 'tables', 'ip'], { timeoutMs: this.timeoutMs });
    return stdout.split('\n').some((line) => line.trim() === `table ${NFT_TABLE}`);
  }

  /** `nft list table ip kube-proxy`. */
  async list(): Promise<string> {
    return (await this.run(['nft', 'list', 'table', 'ip', 'kube-proxy'], { timeoutMs: this.timeoutMs })).stdout;
  }
}

/** Joins `chunks`, letting the event loop run every {@link YIELD_EVERY_MS} of building. */
async function collect(chunks: Iterable<string>): Promise<string> {
  const parts: string[] = [];
  let since = performance.now();
  for (const chunk of chunks) {
    parts.push(chunk);
    if (performance.now() - since > YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
  return parts.join('');
}

/** How long a transaction's build may hold the event loop at a time. */
const YIELD_EVERY_MS = 10;

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
  /** nft transactions the sync took: more than one for a large initial load (see {@link initialLoadSizes}). */
  transactions: number;
  bytes: number;
  chains: number;
  rules: number;
  elements: number;
}

/** How the proxier syncs: partial transactions' options, and how an initial load is split. */
export interface NftSyncOptions extends NftPartialOptions {
  /** Default {@link INITIAL_LOAD_SPLIT}. */
  initialLoadSplit?: InitialLoadSplit;
}

/**
 * One sync = build, render full or partial, apply; any failure forgets what the kernel holds.
 * A full sync streams: nft starts at once and each service's rules are built as nft takes the text
 * before them, so generation hides behind nft's own parsing instead of preceding it. A large full
 * sync into an absent table (a new node) goes as several transactions, built while nft applies the
 * one before; a full sync over an existing table is always one transaction, so a restarted proxy
 * replaces the rules atomically.
 */
export class NftProxier {
  /** What the kernel holds (unknown after a failure). */
  #applied: NftRuleset | undefined;
  /** The last ruleset built, applied or not: unchanged services' rules are reused from it, in full syncs too. */
  #built: NftRuleset | undefined;

  constructor(
    readonly executor: NftExecutor,
    readonly config: NftablesConfig,
    readonly options: NftSyncOptions = {},
  ) {}

  async sync(request: SyncRequest, services: ServicePortMap, endpoints: EndpointsMap, changes?: UpdateResult): Promise<NftSyncStats> {
    const known = this.#applied;
    const previous = request.full ? undefined : known;
    const built = this.#built;
    const delta = built &&
      changes && { previous: built, changedServices: changes.updatedServices, changedPorts: changes.updatedServicePorts };
    // Forgotten until the new build completes: a build that throws has consumed `changes`.
    this.#built = undefined;
    this.#applied = undefined;
    let ruleset: NftRuleset | undefined;
    const timing: ChunkTiming = { ms: 0, chars: 0 };
    let transactions = 1;
    const a0 = performance.now();
    const done = (complete: NftRuleset) => {
      ruleset = complete;
      this.#built = complete;
    };
    const split = this.options.initialLoadSplit ?? INITIAL_LOAD_SPLIT;
    if (previous) {
      const t0 = performance.now();
      ruleset = buildNftRuleset(services, endpoints, this.config, delta);
      this.#built = ruleset;
      const text = renderNftPartial(previous, ruleset, this.options);
      timing.ms = performance.now() - t0;
      timing.chars = text.length;
      await this.executor.apply(text);
    } else if (!known && services.size >= split.minServicePorts && !(await this.executor.tableExists())) {
      transactions = 0;
      const each = function* (all: Iterable<Iterable<string>>) {
        for (const chunks of all) {
          transactions++;
          yield timedChunks(chunks, timing);
        }
      };
      await this.executor.applyInOrder(each(streamNftInitial(services, endpoints, this.config, delta, split, done)));
    } else {
      await this.executor.applyChunks(timedChunks(streamNftFull(services, endpoints, this.config, delta, done), timing));
    }
    const applyMs = performance.now() - a0 - (previous ? timing.ms : 0);
    if (!ruleset) throw new Error('nft transaction applied before the ruleset was complete');
    this.#applied = ruleset;
    return { full: !previous, generateMs: timing.ms, applyMs, transactions, bytes: timing.chars, ...countNft(ruleset) };
  }
}

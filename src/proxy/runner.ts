/**
 * The bounded-frequency runner (kube-proxy's async.BoundedFrequencyRunner): decides *when* the
 * proxy syncs its rules.
 *
 * - Requests are rate-limited by a token bucket, as kube-proxy's: `burstRuns` runs may follow each
 *   other at once (default 2 — a pod appearing not-ready and turning ready a moment later are two
 *   syncs, and the second should not wait), then one per `minIntervalMs`; requests arriving while
 *   no token is left are merged into one later run.
 * - Without requests, a run still happens every `maxIntervalMs` (a periodic full resync that
 *   repairs rules someone else changed).
 * - A failed run is retried after `retryIntervalMs`, and the run after a failure is full.
 * - Nothing runs before {@link BoundedFrequencyRunner.markSynced} (the initial lists are in);
 *   the first run is full.
 * - Runs never overlap; a request during a run schedules one more run after it.
 *
 * Clocks and timers are injected ({@link Timers}); {@link ManualTimers} lets tests step time.
 */

/** Time source and timers (milliseconds). */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers. */
export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Why a sync runs. */
export type SyncReason = 'initial' | 'requested' | 'periodic' | 'retry';

/** What the runner asks of one sync. */
export interface SyncRequest {
  /** Rewrite everything (first run, after a failure, periodic resync) rather than only what changed. */
  full: boolean;
  reason: SyncReason;
}

/** The work: resolves on success, rejects (or throws) on failure. */
export type SyncFn = (request: SyncRequest) => Promise<void> | void;

export interface RunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Delay before retrying a failed run. Default: minIntervalMs, at least 1 s. */
  retryIntervalMs?: number;
  /** Runs allowed back to back before `minIntervalMs` applies (kube-proxy's burstSyncs). Default 2. */
  burstRuns?: number;
  /** Whether periodic runs are full. Default true. */
  periodicFull?: boolean;
  timers?: Timers;
  /** Called with each failure (the runner itself only retries). */
  onError?: (err: unknown) => void;
}

export class BoundedFrequencyRunner {
  readonly #fn: SyncFn;
  readonly #min: number;
  readonly #max: number;
  readonly #retry: number;
  readonly #periodicFull: boolean;
  readonly #timers: Timers;
  readonly #onError: (err: unknown) => void;

  #synced = false;
  #stopped = false;
  #running: Promise<void> | undefined;
  #requested = false;
  #needFull = true;
  #ranOnce = false;
  #lastRun = Number.NEGATIVE_INFINITY;
  readonly #burst: number;
  #tokens: number;
  #tokensAt = Number.NEGATIVE_INFINITY;
  #retryAt: number | undefined;
  #timer: unknown;
  #timerDue: number | undefined;

  constructor(fn: SyncFn, options: RunnerOptions) {
    this.#fn = fn;
    this.#min = options.minIntervalMs;
    this.#max = options.maxIntervalMs;
    this.#retry = options.retryIntervalMs ?? Math.max(options.minIntervalMs, 1000);
    this.#periodicFull = options.periodicFull ?? true;
    this.#burst = Math.max(1, options.burstRuns ?? 2);
    this.#tokens = this.#burst;
    this.#timers = options.timers ?? realTimers;
    this.#onError = options.onError ?? (() => {});
  }

  /** Requests a sync: runs now if the last one was at least minInterval ago, else as soon as allowed. */
  run(): void {
    this.#requested = true;
    this.#schedule();
  }

  /** Makes the next run full (e.g. after the node's addresses changed). */
  requestFull(): void {
    this.#needFull = true;
    this.run();
  }

  /** The initial lists are in: syncing may start. */
  markSynced(): void {
    this.#synced = true;
    this.#requested = true;
    this.#schedule();
  }

  /** Stops all future runs (a run in progress finishes). */
  stop(): void {
    this.#stopped = true;
    this.#clearTimer();
  }

  /** Resolves when no run is in progress (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** When the next run is due, if one is scheduled (tests and metrics). */
  get nextRunAt(): number | undefined {
    return this.#timerDue;
  }

  /** Tokens available at `now` (refilling one per minInterval, up to the burst). */
  #tokensNow(now: number): number {
    if (this.#min <= 0) return this.#burst;
    return Math.min(this.#burst, this.#tokens + (now - this.#tokensAt) / this.#min);
  }

  /** When the next token is there: now if one is left. */
  #nextTokenAt(now: number): number {
    const tokens = this.#tokensNow(now);
    return tokens >= 1 ? now : now + (1 - tokens) * this.#min;
  }

  #takeToken(now: number): void {
    this.#tokens = Math.max(0, this.#tokensNow(now) - 1);
    this.#tokensAt = now;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = undefined;
  }

  #schedule(): void {
    if (!this.#synced || this.#stopped || this.#running) return;
    const now = this.#timers.now();
    let due = this.#lastRun + this.#max;
    if (this.#requested) due = Math.min(due, this.#nextTokenAt(now));
    if (this.#retryAt !== undefined) due = Math.min(due, this.#retryAt);
    if (this.#timerDue === due) return;
    this.#clearTimer();
    this.#timerDue = due;
    this.#timer = this.#timers.setTimeout(() => this.#fire(), Math.max(0, due - now));
  }

  #fire(): void {
    // Timers may fire a fraction of a millisecond before the clock reaches their due time.
    const due = this.#timerDue ?? Number.NEGATIVE_INFINITY;
    this.#timer = undefined;
    this.#timerDue = undefined;
    if (this.#stopped || this.#running) return;
    const now = this.#timers.now();
    const retrying = this.#retryAt !== undefined && Math.max(now, due) >= this.#retryAt;
    const periodic = !this.#requested && !retrying;
    const reason: SyncReason = !this.#ranOnce ? 'initial' : retrying ? 'retry' : periodic ? 'periodic' : 'requested';
    const full = this.#needFull || (periodic && this.#periodicFull);
    this.#requested = false;
    this.#retryAt = undefined;
    this.#lastRun = now;
    this.#takeToken(now);
    this.#ranOnce = true;
    // The work starts now (so it sees this moment's state); settling always waits a microtask, so
    // #running is assigned before the finally below clears it, even when the work throws at once.
    let outcome: { value: Promise<void> | void } | { error: unknown };
    try {
      outcome = { value: this.#fn({ full, reason }) };
    } catch (error) {
      outcome = { error };
    }
    this.#running = (async () => {
      try {
        await ('value' in outcome ? outcome.value : undefined);
        if ('error' in outcome) throw outcome.error;
        this.#needFull = false;
      } catch (err) {
        this.#needFull = true;
        this.#retryAt = this.#timers.now() + this.#retry;
        this.#onError(err);
      } finally {
        this.#running = undefined;
        this.#schedule();
      }
    })();
  }
}

/** Timers driven by hand: {@link advance} moves the clock and fires what is due, in order. */
export class ManualTimers implements Timers {
  #now = 0;
  #seq = 0;
  readonly #pending = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#pending.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** Moves the clock forward by `ms`, firing each timer due on the way at its own time. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#pending) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.#pending.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
  }

  /** Number of armed timers. */
  get size(): number {
    return this.#pending.size;
  }
}

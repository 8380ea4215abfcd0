/**
 * A rate-limited work queue of string keys, with client-go's workqueue semantics:
 * - a key queued several times before a worker takes it is processed once (dedup);
 * - a key is never handed to two workers at once: re-added while it is processing, it is queued
 *   again when the worker calls done();
 * - addRateLimited() re-adds after a per-key exponential backoff (5 ms doubling up to 1000 s, as
 *   client-go's default item limiter) until forget() resets it;
 * - addAfter() delays an add; shutDown() wakes every waiting worker with `undefined`.
 */

export interface RateLimit {
  /** First retry delay; 5 ms by default. */
  baseMs?: number;
  /** Longest delay; 1000 s by default. */
  maxMs?: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys waiting to be processed (in `queue`, or processing and re-added). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<NodeJS.Timeout, string>();
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(limit: RateLimit = {}) {
    this.baseMs = limit.baseMs ?? 5;
    this.maxMs = limit.maxMs ?? 1_000_000;
  }

  /** Queues `key` unless it is already waiting. Ignored after shutDown(). */
  add(key: string): void {
    if (this.closed || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.waiters.shift()?.();
  }

  /** Queues `key` after `ms` milliseconds. */
  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    t.unref?.();
    this.timers.set(t, key);
  }

  /** Queues `key` after its backoff: baseMs · 2^failures, capped at maxMs. */
  addRateLimited(key: string): void {
    this.addAfter(key, this.when(key));
  }

  /** The backoff the next addRateLimited(key) would wait, counting this call as a failure. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  /** Clears the key's failure count (call after a successful sync). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many times the key has been rate-limited since its last forget(). */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waiting keys (not counting ones being processed or delayed). */
  len(): number {
    return this.queue.length;
  }

  get shuttingDown(): boolean {
    return this.closed;
  }

  /**
   * The next key to process, waiting for one; `undefined` once the queue is shut down and
   * drained. Every key returned must be given back with done(key).
   */
  async get(): Promise<string | undefined> {
    while (!this.queue.length) {
      if (this.closed) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const key = this.queue.shift() as string;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  /** Marks `key` processed; if it was re-added meanwhile, it goes back in the queue. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.waiters.shift()?.();
    }
  }

  /** Stops accepting keys, cancels delayed adds and wakes waiting workers. */
  shutDown(): void {
    this.closed = true;
    for (const t of this.timers.keys()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * Runs `workers` loops taking keys from the queue and calling `sync(key)`: success forgets the
 * key's backoff, failure re-adds it rate-limited (and reports it to `onError`). Resolves when the
 * queue is shut down and every worker has finished its current key.
 */
export function runWorkers(
  queue: WorkQueue,
  workers: number,
  sync: (key: string) => Promise<void>,
  onError?: (key: string, err: unknown) => void,
): Promise<void> {
  const loop = async () => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      try {
        await sync(key);
        queue.forget(key);
      } catch (err) {
        onError?.(key, err);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  return Promise.all(Array.from({ length: Math.max(1, workers) }, loop)).then(() => undefined);
}

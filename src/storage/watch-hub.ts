import { StoreError, type StoreEvent, type Watcher, type WatchOptions } from './types.js';

/** Events one watcher may have queued but not yet delivered before it is ended with an error. */
export const DEFAULT_MAX_PENDING = 1_000_000;
/** Events delivered per turn before yielding to the event loop, so a long replay doesn't starve I/O. */
const BATCH = 1000;

/**
 * Fans store events out to watchers. The store's history and its live events form one ordered
 * pipeline: {@link watch} takes the replay from history and registers the watcher in the same
 * synchronous step, and writes publish synchronously right after they are applied, so no event can
 * fall between replay and live delivery or arrive twice.
 *
 * Delivery is asynchronous, through a queue per watcher, so a watcher that writes from its callback
 * only appends behind the events it has not seen yet. A slow consumer never blocks writers; each queue
 * holds at most `maxPending` events, after which that watcher ends with an error (the client re-lists,
 * as with kube-apiserver's slow-watcher termination). Because onEvent is synchronous the queue only
 * holds what arrived since the last turn; consumers that buffer further (an HTTP stream) bound their own.
 */
export class WatchHub {
  private readonly watchers = new Set<QueuedWatcher>();

  constructor(private readonly maxPending = DEFAULT_MAX_PENDING) {}

  /**
   * Starts a watcher. `history(fromRevision)` returns the already-written events under prefix after
   * fromRevision (or throws, e.g. CompactedError, which becomes the watcher's error); it must be
   * called in the same synchronous step as this, which the hub guarantees by calling it here.
   */
  watch(prefix: string, opts: WatchOptions, history: (fromRevision: number) => StoreEvent[]): Watcher {
    const watcher = new QueuedWatcher(prefix, opts, this.maxPending, () => this.watchers.delete(watcher));
    let backlog: StoreEvent[];
    try {
      backlog = history(opts.fromRevision);
    } catch (err) {
      watcher.fail(err as Error);
      return watcher;
    }
    for (const ev of backlog) watcher.enqueue(ev);
    this.watchers.add(watcher);
    return watcher;
  }

  /** Queues a just-applied event for every matching watcher; never calls a watcher synchronously. */
  publish(ev: StoreEvent): void {
    for (const w of this.watchers) w.offer(ev);
  }

  /** Ends every watcher with err (e.g. the store is closing). */
  failAll(err: Error): void {
    for (const w of this.watchers) w.fail(err);
  }

  get size(): number {
    return this.watchers.size;
  }
}

class QueuedWatcher implements Watcher {
  private queue: StoreEvent[] = [];
  private head = 0;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly prefix: string,
    private readonly opts: WatchOptions,
    private readonly maxPending: number,
    private readonly detach: () => void,
  ) {}

  offer(ev: StoreEvent): void {
    if (ev.revision > this.opts.fromRevision && ev.kv.key.startsWith(this.prefix)) this.enqueue(ev);
  }

  enqueue(ev: StoreEvent): void {
    if (this.closed) return;
    if (this.queue.length - this.head >= this.maxPending) {
      this.fail(new StoreError(`watcher fell behind by more than ${this.maxPending} events`));
      return;
    }
    this.queue.push(ev);
    this.schedule(queueMicrotask);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.detach();
  }

  /** Closes the watcher and reports err asynchronously (never from inside the caller's stack). */
  fail(err: Error): void {
    if (this.closed) return;
    this.close();
    const { onError } = this.opts;
    if (onError) queueMicrotask(() => onError(err));
  }

  private schedule(defer: (fn: () => void) => void): void {
    if (this.scheduled) return;
    this.scheduled = true;
    defer(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    for (let budget = BATCH; !this.closed && this.head < this.queue.length; budget--) {
      if (budget === 0) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
        this.schedule(setImmediate);
        return;
      }
      const ev = this.queue[this.head++];
      try {
        this.opts.onEvent(ev);
      } catch (err) {
        // A throwing consumer is broken; end its watch rather than skip events silently.
        this.fail(err as Error);
        return;
      }
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
  }
}

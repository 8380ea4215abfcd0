/**
 * A small informer + work queue for the endpoint, garbage-collector and namespace controllers,
 * shaped like client-go's (list, then watch from the list's resourceVersion, relist when the
 * watch ends or expires; a queue that never hands one key to two workers and retries with
 * backoff). Kept private to these controllers until the shared src/client informer lands.
 */
import { StatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';
import { objectKey } from '../../api/meta.js';
import type { Client, GroupVersionResource } from '../../client/types.js';

export type EventKind = 'ADDED' | 'MODIFIED' | 'DELETED';
export type Handler<T> = (kind: EventKind, obj: T, old: T | undefined) => void;

/** A cache of one resource kept current by list + watch, with change handlers. */
export class Informer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly handlers: Handler<T>[] = [];
  private readonly abort = new AbortController();
  private resolveSynced!: () => void;
  /** Resolves once the first list has been loaded into the cache. */
  readonly synced = new Promise<void>((r) => {
    this.resolveSynced = r;
  });

  constructor(
    private readonly client: Client,
    readonly gvr: GroupVersionResource,
    private readonly opts: { namespace?: string; labelSelector?: string } = {},
  ) {}

  on(handler: Handler<T>): this {
    this.handlers.push(handler);
    return this;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(filter?: (obj: T) => boolean): T[] {
    const all = [...this.items.values()];
    return filter ? all.filter(filter) : all;
  }

  start(): this {
    void this.run();
    return this;
  }

  stop(): void {
    this.abort.abort();
  }

  private emit(kind: EventKind, obj: T, old: T | undefined): void {
    for (const h of this.handlers) {
      try {
        h(kind, obj, old);
      } catch (e) {
        console.error(`informer ${this.gvr.resource}: handler failed:`, e);
      }
    }
  }

  private async run(): Promise<void> {
    let backoff = 50;
    while (!this.abort.signal.aborted) {
      try {
        const list = await this.client.list<T>(this.gvr, this.opts);
        const fresh = new Map(list.items.map((o) => [objectKey(o), o]));
        for (const [key, old] of this.items) {
          if (!fresh.has(key)) {
            this.items.delete(key);
            this.emit('DELETED', old, old);
          }
        }
        for (const [key, obj] of fresh) {
          const old = this.items.get(key);
          this.items.set(key, obj);
          if (!old) this.emit('ADDED', obj, undefined);
          else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('MODIFIED', obj, old);
        }
        this.resolveSynced();
        backoff = 50;
        let rv = list.metadata.resourceVersion;
        const stream = await this.client.watch<T>(this.gvr, {
          ...this.opts,
          resourceVersion: rv,
          allowWatchBookmarks: true,
          signal: this.abort.signal,
        });
        for await (const ev of stream) {
          if (this.abort.signal.aborted) break;
          if (ev.type === 'ERROR') break; // e.g. 410 Gone: relist
          rv = ev.object.metadata.resourceVersion ?? rv;
          if (ev.type === 'BOOKMARK') continue;
          const key = objectKey(ev.object);
          const old = this.items.get(key);
          if (ev.type === 'DELETED') {
            this.items.delete(key);
            this.emit('DELETED', ev.object, old);
          } else {
            this.items.set(key, ev.object);
            this.emit(old ? 'MODIFIED' : 'ADDED', ev.object, old);
          }
        }
        stream.close();
      } catch (e) {
        if (this.abort.signal.aborted) return;
        if (!(e instanceof StatusError)) console.error(`informer ${this.gvr.resource}:`, e);
        await sleep(backoff, this.abort.signal);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * A de-duplicating work queue: a key added while waiting is queued once; a key added while being
 * processed is processed again afterwards, never by two workers at once. Failed keys come back
 * after an exponential backoff.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters: (() => void)[] = [];
  private stopped = false;

  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.waiters.shift()?.();
  }

  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    this.timers.add(t);
  }

  /** Runs `workers` loops calling `sync(key)` until stopped. */
  run(sync: (key: string) => Promise<void>, workers = 1, name = 'controller'): void {
    for (let i = 0; i < workers; i++) void this.worker(sync, name);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const w of this.waiters.splice(0)) w();
  }

  /** True when nothing is queued, running or waiting to be retried. */
  get idle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0 && this.timers.size === 0;
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopped) {
      const key = this.queue.shift();
      if (key !== undefined) return key;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return undefined;
  }

  private async worker(sync: (key: string) => Promise<void>, name: string): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      this.dirty.delete(key);
      this.processing.add(key);
      try {
        await sync(key);
        this.failures.delete(key);
      } catch (e) {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        if (n <= 15) this.addAfter(key, Math.min(5 * 2 ** n, 30_000));
        else console.error(`${name}: dropping ${key} after ${n} failures:`, e);
      } finally {
        this.processing.delete(key);
        if (this.dirty.has(key)) {
          this.queue.push(key);
          this.waiters.shift()?.();
        }
      }
    }
  }
}

/** Whether an error is the API's 404. */
export function isNotFound(e: unknown): boolean {
  return e instanceof StatusError && e.code === 404;
}

/** Whether an error is the API's 409 (conflict or already exists). */
export function isConflict(e: unknown): boolean {
  return e instanceof StatusError && e.code === 409;
}

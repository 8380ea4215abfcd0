/**
 * A shared informer for one resource type, like client-go's: list, then watch from the list's
 * resourceVersion, keeping an indexed cache (lister.ts) and telling handlers what changed.
 *
 * - When the watch stream ends (server timeout, connection drop) it resumes from the last
 *   resourceVersion seen — events or BOOKMARKs — without listing again.
 * - When the server says that version is gone (410 Gone/Expired, as a thrown StatusError or an
 *   ERROR event carrying a Status with code 410) it lists again; objects that vanished meanwhile
 *   get synthesized delete events, and objects still present get update events.
 * - An optional resync re-delivers every cached object as an update (old === new), so level-driven
 *   controllers revisit everything periodically.
 * - Other errors back off exponentially (capped) and retry.
 */
import { StatusError } from '../api/errors.js';
import type { KubeObject, WatchEvent } from '../api/meta.js';
import { objectKey } from '../api/meta.js';
import { Indexer, type IndexFunc } from './lister.js';
import type { Client, GroupVersionResource, WatchStream } from './types.js';

export interface ResourceEventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** For deletes found by a re-list, the last state the cache knew. */
  onDelete?(obj: T): void;
}

export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every object as an update this often; 0 (default) disables resync. */
  resyncMs?: number;
  /** Extra cache indexes (a `namespace` index is always there). */
  indexers?: Record<string, IndexFunc<T>>;
  /** Backoff after errors: starts at `initialMs` (100), doubles to `maxMs` (5000). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Server-side watch timeout; client-go picks 5–10 minutes at random per watch. */
  watchTimeoutSeconds?: () => number;
  /** Told about list/watch failures (they are retried regardless). */
  onError?: (err: unknown) => void;
}

export class SharedInformer<T extends KubeObject = KubeObject> {
  /** The cache; read it through get/list/byIndex once hasSynced(). */
  readonly store: Indexer<T>;
  private readonly handlers: ResourceEventHandler<T>[] = [];
  private readonly abort = new AbortController();
  private stream: WatchStream<T> | undefined;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private running = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private rv = '';

  constructor(
    private readonly client: Client,
    readonly gvr: GroupVersionResource,
    private readonly opts: InformerOptions<T> = {},
  ) {
    this.store = new Indexer<T>(opts.indexers ?? {});
  }

  /** Registers handlers; objects already cached are delivered to them as adds. Returns an unregister function. */
  addEventHandler(h: ResourceEventHandler<T>): () => void {
    this.handlers.push(h);
    for (const obj of this.store.list()) safe(() => h.onAdd?.(obj), this.opts.onError);
    return () => {
      const i = this.handlers.indexOf(h);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(namespace?: string): T[] {
    return this.store.list(namespace);
  }

  byIndex(indexName: string, value: string): T[] {
    return this.store.byIndex(indexName, value);
  }

  /** The resourceVersion of the last list, event or bookmark processed. */
  get lastSyncResourceVersion(): string {
    return this.rv;
  }

  /** True once the first list has been delivered to the handlers. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves when synced; resolves false if the informer is stopped (or `signal` aborts) first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.abort.signal.aborted || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = () => done(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => done(this.synced));
    });
  }

  /** Starts list+watch in the background (idempotent). */
  run(): void {
    if (this.running || this.abort.signal.aborted) return;
    this.running = true;
    void this.loop();
    if (this.opts.resyncMs && this.opts.resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncMs);
      this.resyncTimer.unref?.();
    }
  }

  /** Stops watching; handlers get nothing more. */
  stop(): void {
    this.abort.abort();
    this.stream?.close();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.wakeSyncWaiters();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async loop(): Promise<void> {
    const initial = this.opts.backoff?.initialMs ?? 100;
    const max = this.opts.backoff?.maxMs ?? 5000;
    let delay = initial;
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.listAndReplace();
          needList = false;
        }
        const outcome = await this.watchOnce();
        if (outcome === 'expired') needList = true;
        if (outcome !== 'idle') {
          delay = initial;
          continue;
        }
        // A watch that ends without delivering anything (a server closing at once) must not spin.
      } catch (err) {
        if (this.stopped) return;
        if (isExpired(err)) {
          needList = true;
          continue;
        }
        this.opts.onError?.(err);
      }
      await sleep(delay, this.abort.signal);
      delay = Math.min(delay * 2, max);
    }
  }

  private async listAndReplace(): Promise<void> {
    const { namespace, labelSelector, fieldSelector } = this.opts;
    const list = await this.client.list<T>(this.gvr, { namespace, labelSelector, fieldSelector });
    if (this.stopped) return;
    this.replace(list.items);
    this.rv = list.metadata.resourceVersion ?? '';
    if (!this.synced) {
      this.synced = true;
      this.wakeSyncWaiters();
    }
  }

  /**
   * One watch until the stream ends: 'ended' (resume from rv), 'idle' (ended without any event:
   * resume after a backoff) or 'expired' (list again).
   */
  private async watchOnce(): Promise<'ended' | 'idle' | 'expired'> {
    const { namespace, labelSelector, fieldSelector } = this.opts;
    const timeoutSeconds = this.opts.watchTimeoutSeconds?.() ?? 300 + Math.floor(Math.random() * 300);
    const stream = await this.client.watch<T>(this.gvr, {
      namespace,
      labelSelector,
      fieldSelector,
      resourceVersion: this.rv,
      allowWatchBookmarks: true,
      timeoutSeconds,
      signal: this.abort.signal,
    });
    this.stream = stream;
    let events = 0;
    try {
      for await (const ev of stream) {
        if (this.stopped) break;
        events++;
        if (ev.type === 'ERROR') {
          const status = ev.object as unknown as { code?: number; reason?: string; message?: string };
          if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') return 'expired';
          throw StatusError.fromStatus(status as never);
        }
        this.handle(ev);
      }
    } finally {
      stream.close();
      this.stream = undefined;
    }
    return events ? 'ended' : 'idle';
  }

  private handle(ev: WatchEvent<T>): void {
    const obj = ev.object;
    const rv = obj.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      return;
    }
    const key = objectKey(obj);
    if (ev.type === 'DELETED') {
      this.store.remove(key);
      this.emit((h) => h.onDelete?.(obj));
    } else {
      const old = this.store.upsert(obj);
      if (old) this.emit((h) => h.onUpdate?.(old, obj));
      else this.emit((h) => h.onAdd?.(obj));
    }
    if (rv) this.rv = rv;
  }

  /** Makes the cache equal to a fresh list, telling handlers the difference. */
  private replace(items: T[]): void {
    const fresh = new Set<string>();
    for (const obj of items) {
      fresh.add(objectKey(obj));
      const old = this.store.upsert(obj);
      if (old) this.emit((h) => h.onUpdate?.(old, obj));
      else this.emit((h) => h.onAdd?.(obj));
    }
    for (const key of this.store.listKeys()) {
      if (fresh.has(key)) continue;
      const gone = this.store.remove(key) as T;
      this.emit((h) => h.onDelete?.(gone));
    }
  }

  private resync(): void {
    if (!this.synced || this.stopped) return;
    for (const obj of this.store.list()) this.emit((h) => h.onUpdate?.(obj, obj));
  }

  private emit(call: (h: ResourceEventHandler<T>) => void): void {
    for (const h of this.handlers) safe(() => call(h), this.opts.onError);
  }

  private wakeSyncWaiters(): void {
    for (const w of this.syncWaiters.splice(0)) w();
  }
}

/**
 * One informer per resource type (and namespace), shared by all the controllers made from one
 * factory, so the process lists and watches each type once.
 */
export class SharedInformerFactory {
  private readonly informers = new Map<string, SharedInformer>();

  constructor(
    readonly client: Client,
    private readonly defaults: Pick<InformerOptions<KubeObject>, 'resyncMs' | 'backoff' | 'onError'> = {},
  ) {}

  /** The shared informer for `gvr` (created, not yet running, on first use). */
  forResource<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, opts: { namespace?: string } = {}): SharedInformer<T> {
    const key = `${gvr.group}/${gvr.version}/${gvr.resource}/${opts.namespace ?? ''}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new SharedInformer(this.client, gvr, { ...this.defaults, namespace: opts.namespace });
      this.informers.set(key, inf);
    }
    return inf as unknown as SharedInformer<T>;
  }

  /** Runs every informer made so far. */
  start(): void {
    for (const inf of this.informers.values()) inf.run();
  }

  /** Resolves true when every informer has synced (false if one was stopped first). */
  async waitForCacheSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  stop(): void {
    for (const inf of this.informers.values()) inf.stop();
  }
}

function isExpired(err: unknown): boolean {
  return err instanceof StatusError ? err.code === 410 : (err as { code?: unknown })?.code === 410;
}

function safe(fn: () => void, onError?: (err: unknown) => void): void {
  try {
    fn();
  } catch (err) {
    onError?.(err);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

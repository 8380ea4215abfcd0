import { FutureRevisionError, MvccIndex } from './mvcc.js';
import {
  KeyExistsError,
  KeyNotFoundError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  RevisionMismatchError,
  type Store,
  StoreError,
  type StoreEvent,
  type Watcher,
  type WatchOptions,
} from './types.js';
import { WatchHub } from './watch-hub.js';

/**
 * Where a store makes writes durable. append() runs before the write becomes visible; if it throws,
 * the write fails and nothing changed.
 */
export interface Journal {
  append(ev: StoreEvent): void;
  /** Drops history in (previous, revision]; see MvccIndex.compact. */
  compact(revision: number, previous: number): void;
  close(): void;
}

/**
 * The Store logic shared by every backend that keeps its state in memory: an {@link MvccIndex}
 * answers every read, a {@link WatchHub} fans events out, and an optional {@link Journal} persists.
 * Everything between the precondition check and the publish is synchronous, which is what makes
 * writes atomic and watch ordering exact without locks.
 */
export class IndexedStore implements Store {
  private readonly hub = new WatchHub();
  private closed = false;

  constructor(
    protected readonly index: MvccIndex = new MvccIndex(),
    private readonly journal?: Journal,
  ) {}

  async currentRevision(): Promise<number> {
    this.assertOpen();
    return this.index.revision;
  }

  async compactedRevision(): Promise<number> {
    this.assertOpen();
    return this.index.compacted;
  }

  async get(key: string, revision?: number): Promise<KeyValue | undefined> {
    this.assertOpen();
    return this.index.get(key, revision);
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    this.assertOpen();
    return this.index.list(prefix, opts);
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    return this.index.count(prefix);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.assertOpen();
    if (this.index.current(key)) throw new KeyExistsError(key);
    return this.commit('put', key, value).kv;
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    const current = this.expect(key, expectedModRevision);
    return this.commit('put', key, value, current).kv;
  }

  /** Returns the deleted value with modRevision set to the delete's revision (as kube-apiserver reports it). */
  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const current = this.expect(key, expectedModRevision);
    return this.commit('delete', key, current.value, current).kv;
  }

  watch(prefix: string, opts: WatchOptions): Watcher {
    this.assertOpen();
    return this.hub.watch(prefix, opts, (from) => this.index.eventsAfter(from, prefix));
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    const previous = this.index.compacted;
    if (revision <= previous) return;
    if (revision > this.index.revision) throw new FutureRevisionError(revision, this.index.revision);
    this.journal?.compact(revision, previous);
    this.index.compact(revision);
  }

  /** Ends open watchers with an error (their consumers should stop) and closes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.failAll(new StoreError('store is closed'));
    this.journal?.close();
  }

  private expect(key: string, expectedModRevision: number | undefined): KeyValue {
    this.assertOpen();
    const current = this.index.current(key);
    if (!current) throw new KeyNotFoundError(key);
    if (expectedModRevision !== undefined && current.modRevision !== expectedModRevision) {
      throw new RevisionMismatchError(key, current);
    }
    return current;
  }

  private commit(type: StoreEvent['type'], key: string, value: string, prevKv?: KeyValue): StoreEvent {
    const revision = this.index.revision + 1;
    // Frozen because the same objects are the stored history and are handed to every reader and watcher.
    const kv = Object.freeze({ key, value, createRevision: prevKv?.createRevision ?? revision, modRevision: revision });
    const ev: StoreEvent = Object.freeze(prevKv ? { type, kv, prevKv, revision } : { type, kv, revision });
    this.journal?.append(ev);
    this.index.apply(ev);
    this.hub.publish(ev);
    return ev;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('store is closed');
  }
}

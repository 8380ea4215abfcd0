import { CompactedError, type KeyValue, type ListOptions, type ListResult, StoreError, type StoreEvent } from './types.js';

/** A read asked for a revision the store has not reached yet (etcd: "mvcc: required revision is a future revision"). */
export class FutureRevisionError extends StoreError {
  constructor(
    readonly requested: number,
    readonly current: number,
  ) {
    super(`required revision ${requested} is a future revision (current revision ${current})`);
    this.name = 'FutureRevisionError';
  }
}

/**
 * The whole versioned state in memory, shaped like etcd's MVCC index: every key keeps its own chain
 * of events (oldest first), and one log holds every event after the compacted revision, in revision
 * order, for watch replay. It is pure and synchronous, so a store can check a precondition, persist
 * the write and apply it in one tick, with no other write able to slip in between.
 *
 * Invariant kept by {@link compact}: a key's chain holds at most one event at or below the compacted
 * revision, and that event is a put. Keys are ordered by JavaScript string order (UTF-16 code units),
 * which equals etcd's byte order for the ASCII keys the API server writes.
 */
export class MvccIndex {
  /** Revision of the last write (or the compacted revision, if that is higher). */
  revision = 0;
  /** History at and below this revision has been forgotten; reading at it still works. */
  compacted = 0;
  private readonly chains = new Map<string, StoreEvent[]>();
  /** Every key that has a chain, live or deleted-but-not-yet-compacted, sorted. */
  private sortedKeys: string[] = [];
  private log: StoreEvent[] = [];

  /** The current value of key, if it exists. */
  current(key: string): KeyValue | undefined {
    const last = this.chains.get(key)?.at(-1);
    return last?.type === 'put' ? last.kv : undefined;
  }

  /** Appends a write; its revision must be later than every earlier one. */
  apply(ev: StoreEvent): void {
    if (ev.revision <= this.revision) throw new StoreError(`revision ${ev.revision} is not after ${this.revision}`);
    const key = ev.kv.key;
    let chain = this.chains.get(key);
    if (!chain) {
      chain = [];
      this.chains.set(key, chain);
      this.sortedKeys.splice(lowerBound(this.sortedKeys, key), 0, key);
    }
    chain.push(ev);
    this.log.push(ev);
    this.revision = ev.revision;
  }

  /** Maps 0/absent to the current revision; rejects compacted and future revisions. */
  readRevision(revision?: number): number {
    if (!revision) return this.revision;
    if (revision < this.compacted) throw new CompactedError(revision, this.compacted);
    if (revision > this.revision) throw new FutureRevisionError(revision, this.revision);
    return revision;
  }

  get(key: string, revision?: number): KeyValue | undefined {
    return this.valueAt(key, this.readRevision(revision));
  }

  list(prefix: string, opts: ListOptions = {}): ListResult {
    const revision = this.readRevision(opts.revision);
    const { limit, startAfter } = opts;
    const keys = this.sortedKeys;
    let i = lowerBound(keys, startAfter !== undefined && startAfter >= prefix ? startAfter : prefix);
    if (startAfter !== undefined && keys[i] === startAfter) i++;
    const items: KeyValue[] = [];
    let remaining = 0;
    for (; i < keys.length && keys[i].startsWith(prefix); i++) {
      const kv = this.valueAt(keys[i], revision);
      if (!kv) continue;
      if (limit && items.length >= limit) remaining++;
      else items.push(kv);
    }
    return remaining > 0 ? { items, revision, more: true, remaining } : { items, revision, more: false };
  }

  count(prefix: string): number {
    let n = 0;
    for (let i = lowerBound(this.sortedKeys, prefix); i < this.sortedKeys.length && this.sortedKeys[i].startsWith(prefix); i++) {
      if (this.current(this.sortedKeys[i])) n++;
    }
    return n;
  }

  /** Events under prefix with revision > fromRevision, oldest first; CompactedError if some are gone. */
  eventsAfter(fromRevision: number, prefix: string): StoreEvent[] {
    if (fromRevision < this.compacted) throw new CompactedError(fromRevision, this.compacted);
    const out: StoreEvent[] = [];
    for (let i = this.firstAfter(fromRevision); i < this.log.length; i++) {
      if (this.log[i].kv.key.startsWith(prefix)) out.push(this.log[i]);
    }
    return out;
  }

  /**
   * Forgets history at and below revision. Only keys written since the last compaction can have
   * anything to drop, so the cost is proportional to the events being dropped, not to the key count.
   */
  compact(revision: number): void {
    if (revision > this.revision) throw new FutureRevisionError(revision, this.revision);
    if (revision <= this.compacted) return;
    const cut = this.firstAfter(revision);
    const touched = new Set(this.log.slice(0, cut).map((ev) => ev.kv.key));
    this.log = this.log.slice(cut);
    const removed = new Set<string>();
    for (const key of touched) {
      const chain = this.chains.get(key)!;
      let last = chain.length - 1;
      while (chain[last].revision > revision) last--;
      // Keep the value the key had at `revision` (so reads at it still work), unless it was deleted.
      chain.splice(0, chain[last].type === 'put' ? last : last + 1);
      if (chain.length === 0) {
        this.chains.delete(key);
        removed.add(key);
      }
    }
    if (removed.size > 0) this.sortedKeys = this.sortedKeys.filter((k) => !removed.has(k));
    this.compacted = revision;
  }

  private valueAt(key: string, revision: number): KeyValue | undefined {
    const chain = this.chains.get(key);
    if (!chain) return undefined;
    // Chains are short between compactions and reads are mostly current, so scan from the newest.
    for (let i = chain.length - 1; i >= 0; i--) {
      if (chain[i].revision <= revision) return chain[i].type === 'put' ? chain[i].kv : undefined;
    }
    return undefined;
  }

  /** Index of the first log event with revision > revision. */
  private firstAfter(revision: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid].revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Index of the first element >= key in a sorted array. */
function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

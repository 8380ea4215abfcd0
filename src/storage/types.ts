/**
 * An etcd-shaped revisioned key-value store (kine is the model). One global revision counts
 * every write; each key remembers the revision that created it and the one that last changed it.
 * Values are opaque strings (the API server stores JSON).
 *
 * Every backend (memory, sqlite, later etcd) implements this and passes test/storage conformance.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that created this key (since its last deletion). */
  createRevision: number;
  /** Revision of the last write to this key. */
  modRevision: number;
}

export interface StoreEvent {
  type: 'put' | 'delete';
  /** For put: the new value. For delete: the last value, with modRevision = the delete's revision. */
  kv: KeyValue;
  /** The value before this event, if the key existed. */
  prevKv?: KeyValue;
  /** The revision of this event (equals kv.modRevision). */
  revision: number;
}

export interface ListOptions {
  /** Read as of this revision (0 or absent: current). Older than the compacted revision → CompactedError. */
  revision?: number;
  /** At most this many items; `more` tells whether any remain. */
  limit?: number;
  /** Start after this key (exclusive); used for `continue` tokens. */
  startAfter?: string;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** True when `limit` cut the list short. */
  more: boolean;
  /** Number of keys after the returned ones (when `more`). */
  remaining?: number;
}

export interface Watcher {
  /** Stops delivering events; idempotent. */
  close(): void;
}

export interface WatchOptions {
  /** Deliver every event with revision > fromRevision, in order, none twice. */
  fromRevision: number;
  onEvent: (ev: StoreEvent) => void;
  /** Called once if the watch can no longer continue (e.g. compacted before delivery). */
  onError?: (err: Error) => void;
}

export interface Store {
  /** Current (latest) revision of the store. */
  currentRevision(): Promise<number>;
  /** The revision before which history has been compacted away. */
  compactedRevision(): Promise<number>;

  get(key: string, revision?: number): Promise<KeyValue | undefined>;
  /** Keys starting with prefix, in key order. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Counts keys with the prefix at the current revision. */
  count(prefix: string): Promise<number>;

  /** Creates key; throws KeyExistsError if present. */
  create(key: string, value: string): Promise<KeyValue>;
  /**
   * Replaces key's value. With expectedModRevision, fails with RevisionMismatchError unless the key's
   * modRevision equals it. Throws KeyNotFoundError if the key is absent.
   */
  update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue>;
  /** Deletes key; the returned KeyValue is the deleted value. Same preconditions as update. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;

  /** Watches keys with the prefix. Events older than the compacted revision → onError(CompactedError). */
  watch(prefix: string, opts: WatchOptions): Watcher;

  /** Forgets history up to and including revision (current values are kept). */
  compact(revision: number): Promise<void>;

  close(): Promise<void>;
}

export class StoreError extends Error {}

export class KeyExistsError extends StoreError {
  constructor(readonly key: string) {
    super(`key exists: ${key}`);
    this.name = 'KeyExistsError';
  }
}

export class KeyNotFoundError extends StoreError {
  constructor(readonly key: string) {
    super(`key not found: ${key}`);
    this.name = 'KeyNotFoundError';
  }
}

export class RevisionMismatchError extends StoreError {
  constructor(
    readonly key: string,
    readonly current: KeyValue,
  ) {
    super(`revision mismatch for ${key}`);
    this.name = 'RevisionMismatchError';
  }
}

export class CompactedError extends StoreError {
  constructor(
    readonly requested: number,
    readonly compacted: number,
  ) {
    super(`required revision ${requested} has been compacted (compacted revision ${compacted})`);
    this.name = 'CompactedError';
  }
}

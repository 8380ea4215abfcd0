/**
 * A read-only map with cheap successor versions. A partial sync derives the next ruleset from the
 * last one by replacing a few service ports' rules; copying a 10k-entry Map for that costs ~2 ms,
 * more than the change itself. {@link VersionedMap.derive} instead moves the one live `Map` to the
 * new version and leaves the old version an undo log of the keys it changed (Baker's trick), so
 * deriving costs O(changes) and both versions stay readable: reads of a changed key in the old
 * version are answered by its log, the rest by the newer version. Iterating an old version (or
 * deriving from it) first rebuilds its own map, O(size); syncs only ever derive from the newest.
 */

const ABSENT: unique symbol = Symbol('absent');

export class VersionedMap<K, V> implements ReadonlyMap<K, V> {
  /** The newest version owns the live map. */
  #live: Map<K, V> | undefined;
  /** An older version: for each key it changed, the value it had here (or ABSENT). */
  #undo: Map<K, V | typeof ABSENT> | undefined;
  /** The version derived from this one (older versions only). */
  #next: VersionedMap<K, V> | undefined;
  #size: number;

  /** A first version holding `map`, which it owns from now on: the caller must not change it. */
  constructor(map: Map<K, V> = new Map()) {
    this.#live = map;
    this.#size = map.size;
  }

  /**
   * The next version: this one with `changes` applied (value `undefined` deletes the key). O(changes)
   * when this is the newest version; this version keeps reading as it did.
   */
  derive(changes: Iterable<readonly [K, V | undefined]>): VersionedMap<K, V> {
    const live = this.#liveMap();
    const undo = new Map<K, V | typeof ABSENT>();
    for (const [key, value] of changes) {
      if (!undo.has(key)) undo.set(key, live.has(key) ? (live.get(key) as V) : ABSENT);
      if (value === undefined) live.delete(key);
      else live.set(key, value);
    }
    const next = new VersionedMap<K, V>(live);
    this.#live = undefined;
    this.#undo = undo;
    this.#next = next;
    return next;
  }

  /**
   * The keys that may differ between `older` and this version, when this version was derived
   * directly from it (and `older` has not rebuilt its own map since); undefined otherwise, when
   * only comparing every key can tell.
   */
  keysChangedSince(older: ReadonlyMap<K, V>): Iterable<K> | undefined {
    return older instanceof VersionedMap && older.#next === this ? older.#undo!.keys() : undefined;
  }

  /** Whether this is the newest version (derive is O(changes), iteration free). */
  get isNewest(): boolean {
    return this.#live !== undefined;
  }

  get size(): number {
    return this.#size;
  }

  get(key: K): V | undefined {
    for (let v: VersionedMap<K, V> | undefined = this; v; v = v.#next) {
      if (v.#live) return v.#live.get(key);
      if (v.#undo!.has(key)) {
        const value = v.#undo!.get(key)!;
        return value === ABSENT ? undefined : value;
      }
    }
    return undefined;
  }

  has(key: K): boolean {
    for (let v: VersionedMap<K, V> | undefined = this; v; v = v.#next) {
      if (v.#live) return v.#live.has(key);
      if (v.#undo!.has(key)) return v.#undo!.get(key) !== ABSENT;
    }
    return false;
  }

  /**
   * This version's own map: the live one when newest, otherwise rebuilt from the newest version's
   * map and the undo logs in between, and kept, so this version no longer reads through newer ones.
   */
  #liveMap(): Map<K, V> {
    if (this.#live) return this.#live;
    const chain: VersionedMap<K, V>[] = [];
    let v: VersionedMap<K, V> = this;
    while (!v.#live) {
      chain.push(v);
      v = v.#next!;
    }
    const map = new Map(v.#live);
    for (let i = chain.length - 1; i >= 0; i--) {
      for (const [key, value] of chain[i]!.#undo!) {
        if (value === ABSENT) map.delete(key);
        else map.set(key, value);
      }
    }
    this.#live = map;
    this.#undo = undefined;
    this.#next = undefined;
    return map;
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#liveMap()) callback.call(thisArg, value, key, this);
  }

  entries(): MapIterator<[K, V]> {
    return this.#liveMap().entries();
  }

  keys(): MapIterator<K> {
    return this.#liveMap().keys();
  }

  values(): MapIterator<V> {
    return this.#liveMap().values();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}

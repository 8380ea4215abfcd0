/**
 * An allocation bitmap over `size` items (offsets 0..size-1), the core under the service IP and
 * node port allocators, modelled on kube-apiserver's pkg/registry/core/service/allocator.
 *
 * Dynamic allocation (`allocateNext`) follows KEP-3070: the range is split at `offset` into a
 * lower band [0, offset) and an upper band [offset, size). Dynamic picks start at a random point
 * of the upper band and scan forward (wrapping inside the band); only when the upper band is full
 * do they fall back to the lower band. That leaves the lower band to users who choose values
 * themselves (a clusterIP or nodePort written in a manifest), so they rarely collide with
 * addresses handed out automatically.
 */

/** Picks an integer in [0, n); injectable so tests are deterministic. */
export type RandomInt = (n: number) => number;

export const randomInt: RandomInt = (n) => Math.floor(Math.random() * n);

export interface BitmapOptions {
  /** Size of the lower band reserved for user-chosen values; 0 (default) means no split. */
  offset?: number;
  /** Where the scan starts: random (kube's default) or always the band's first item. */
  strategy?: 'random' | 'contiguous';
  rand?: RandomInt;
}

/** A captured bitmap state: the range it belongs to and the set bits, little-endian by offset. */
export interface BitmapSnapshot {
  range: string;
  data: Uint8Array;
}

export class AllocationBitmap {
  private bits: Uint8Array;
  private count = 0;
  private readonly offset: number;
  private readonly rand: RandomInt;

  /**
   * @param size number of items
   * @param range a description of the range ("10.96.0.0/12", "30000-32767") that snapshots must match
   */
  constructor(
    readonly size: number,
    readonly range: string,
    opts: BitmapOptions = {},
  ) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`invalid bitmap size ${size}`);
    this.bits = new Uint8Array(Math.ceil(size / 8));
    this.offset = Math.min(Math.max(0, opts.offset ?? 0), size);
    const rand = opts.rand ?? randomInt;
    this.rand = opts.strategy === 'contiguous' ? () => 0 : rand;
  }

  /** Reserves `offset`; false when it is already taken. Throws RangeError outside [0, size). */
  allocate(offset: number): boolean {
    this.check(offset);
    if (this.has(offset)) return false;
    this.set(offset, true);
    return true;
  }

  /** Reserves a free item (upper band first, then lower); undefined when the range is full. */
  allocateNext(): number | undefined {
    if (this.count >= this.size) return undefined;
    const found = this.scan(this.offset, this.size) ?? this.scan(0, this.offset);
    if (found !== undefined) this.set(found, true);
    return found;
  }

  /** Frees `offset`; releasing a free or out-of-range item is a no-op, as upstream. */
  release(offset: number): void {
    if (Number.isInteger(offset) && offset >= 0 && offset < this.size && this.has(offset)) this.set(offset, false);
  }

  has(offset: number): boolean {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size) return false;
    return (this.bits[offset >> 3] & (1 << (offset & 7))) !== 0;
  }

  /** Number of free items. */
  free(): number {
    return this.size - this.count;
  }

  /** Number of allocated items. */
  used(): number {
    return this.count;
  }

  /** Every allocated offset, in increasing order. Do not allocate or release while iterating. */
  *values(): IterableIterator<number> {
    for (let byte = 0; byte < this.bits.length; byte++) {
      const b = this.bits[byte];
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) yield byte * 8 + bit;
    }
  }

  snapshot(): BitmapSnapshot {
    return { range: this.range, data: this.bits.slice() };
  }

  /** Replaces the state with a snapshot of the same range (throws when the range differs). */
  restore(snap: BitmapSnapshot): void {
    if (snap.range !== this.range) throw new Error('the provided range does not match the current range');
    const bits = new Uint8Array(this.bits.length);
    bits.set(snap.data.subarray(0, bits.length));
    // Bits past `size` in the last byte are not items; never count them.
    const tail = this.size & 7;
    if (tail && bits.length) bits[bits.length - 1] &= (1 << tail) - 1;
    this.bits = bits;
    this.count = 0;
    for (const b of bits) this.count += popcount(b);
  }

  private scan(from: number, to: number): number | undefined {
    const n = to - from;
    if (n <= 0) return undefined;
    const start = this.rand(n);
    for (let i = 0; i < n; i++) {
      const at = from + ((start + i) % n);
      if (!this.has(at)) return at;
    }
    return undefined;
  }

  private set(offset: number, on: boolean): void {
    if (on) {
      this.bits[offset >> 3] |= 1 << (offset & 7);
      this.count++;
    } else {
      this.bits[offset >> 3] &= ~(1 << (offset & 7));
      this.count--;
    }
  }

  private check(offset: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size) {
      throw new RangeError(`offset ${offset} out of range [0,${this.size}]`);
    }
  }
}

function popcount(b: number): number {
  let n = 0;
  for (let x = b; x; x &= x - 1) n++;
  return n;
}

/**
 * Size of the lower ("static") band: `min(max(lo, size/step), hi)`, 0 when the range is no larger
 * than `lo`. Kubernetes uses lo=16, step=16, hi=256 for service CIDRs (size counted over the whole
 * CIDR) and lo=16, step=32, hi=128 for node port ranges.
 */
export function bandOffset(size: number, lo: number, step: number, hi: number): number {
  if (size <= lo) return 0;
  return Math.min(Math.max(lo, Math.floor(size / step)), hi);
}

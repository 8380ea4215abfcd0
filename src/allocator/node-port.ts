/**
 * NodePort allocation over `--service-node-port-range` (default 30000-32767), as kube-apiserver's
 * portallocator does it: one bitmap for all protocols (a port number is taken for TCP and UDP
 * alike), and dynamic allocation prefers the upper band, leaving the first
 * min(max(16, size/32), 128) ports to user-chosen nodePorts.
 */
import { AllocationBitmap, type BitmapOptions, type BitmapSnapshot, bandOffset } from './bitmap.js';
import { AllocatorError, errFull, errPortAllocated, errPortNotInRange } from './errors.js';

export interface PortRange {
  base: number;
  size: number;
}

export const DEFAULT_NODE_PORT_RANGE = '30000-32767';

/** Parses "30000-32767" (or a single port "30000"), as apimachinery's net.ParsePortRange. */
export function parsePortRange(text: string): PortRange {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  if (!m) throw new Error(`unable to parse port range: ${text}`);
  const low = Number(m[1]);
  const high = m[2] === undefined ? low : Number(m[2]);
  if (low > 65535 || high > 65535 || high < low) throw new Error(`unable to parse port range: ${text}`);
  return { base: low, size: high - low + 1 };
}

export function formatPortRange(r: PortRange): string {
  return r.size === 1 ? `${r.base}` : `${r.base}-${r.base + r.size - 1}`;
}

export class NodePortAllocator {
  readonly range: PortRange;
  readonly rangeText: string;
  private readonly bitmap: AllocationBitmap;

  constructor(range: string = DEFAULT_NODE_PORT_RANGE, opts: Omit<BitmapOptions, 'offset'> = {}) {
    this.range = parsePortRange(range);
    this.rangeText = formatPortRange(this.range);
    this.bitmap = new AllocationBitmap(this.range.size, this.rangeText, { ...opts, offset: bandOffset(this.range.size, 16, 32, 128) });
  }

  /** Reserves a specific port. Throws AllocatorError (NotInRange, Allocated). */
  allocate(port: number): void {
    if (!this.contains(port)) throw errPortNotInRange(this.rangeText);
    if (!this.bitmap.allocate(port - this.range.base)) throw errPortAllocated();
  }

  /** Reserves any free port (upper band first). Throws AllocatorError Full. */
  allocateNext(): number {
    const offset = this.bitmap.allocateNext();
    if (offset === undefined) throw errFull();
    return this.range.base + offset;
  }

  /** Frees a port; unallocated or out-of-range ports are ignored. */
  release(port: number): void {
    if (this.contains(port)) this.bitmap.release(port - this.range.base);
  }

  has(port: number): boolean {
    return this.contains(port) && this.bitmap.has(port - this.range.base);
  }

  contains(port: number): boolean {
    return Number.isInteger(port) && port >= this.range.base && port < this.range.base + this.range.size;
  }

  free(): number {
    return this.bitmap.free();
  }

  used(): number {
    return this.bitmap.used();
  }

  /** Every allocated port, in increasing order. */
  *values(): IterableIterator<number> {
    for (const o of this.bitmap.values()) yield this.range.base + o;
  }

  snapshot(): BitmapSnapshot {
    return this.bitmap.snapshot();
  }

  restore(snap: BitmapSnapshot): void {
    if (snap.range !== this.rangeText) throw new AllocatorError('Invalid', 'the provided port range does not match the current port range');
    this.bitmap.restore(snap);
  }
}

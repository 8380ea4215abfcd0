/**
 * ClusterIP allocation over the service CIDR (`--service-cluster-ip-range`), as kube-apiserver's
 * ipallocator.Range does it for IPv4: the network address and the broadcast address are never
 * handed out, offsets count from network+1, and dynamic allocation prefers the upper band
 * (see bitmap.ts), leaving the first min(max(16, size/16), 256) addresses to user-chosen IPs.
 */
import { AllocationBitmap, type BitmapOptions, type BitmapSnapshot, bandOffset } from './bitmap.js';
import { AllocatorError, errFull, errIPAllocated, errIPNotInRange } from './errors.js';

/** A parsed IPv4 CIDR: the network address as an unsigned 32-bit number and the prefix length. */
export interface Ipv4Cidr {
  network: number;
  prefix: number;
  /** Canonical text, e.g. "10.96.0.0/12". */
  text: string;
}

/** Parses dotted-quad IPv4 into an unsigned number; undefined when it is not one. */
export function parseIPv4(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses "a.b.c.d/n" (host bits are masked off, as Go's net.ParseCIDR does). Throws on bad input. */
export function parseCidr(cidr: string): Ipv4Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr.trim());
  const ip = m ? parseIPv4(m[1]) : undefined;
  const prefix = m ? Number(m[2]) : Number.NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) throw new Error(`invalid CIDR address: ${cidr}`);
  const size = 2 ** (32 - prefix);
  const network = ip - (ip % size);
  return { network, prefix, text: `${formatIPv4(network)}/${prefix}` };
}

/**
 * The n-th address of a CIDR, counting the network address as 0: `nthAddress('10.96.0.0/12', 1)`
 * is the `kubernetes` Service's 10.96.0.1, `nthAddress(..., 10)` is kube-dns' 10.96.0.10.
 */
export function nthAddress(cidr: string, n: number): string {
  const c = parseCidr(cidr);
  const size = 2 ** (32 - c.prefix);
  if (!Number.isInteger(n) || n < 0 || n >= size) throw new RangeError(`address index ${n} is outside ${c.text}`);
  return formatIPv4(c.network + n);
}

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';

/** Thrown/returned errors of this allocator are AllocatorErrors; see errors.ts. */
export class ServiceIPAllocator {
  readonly cidr: Ipv4Cidr;
  private readonly base: number;
  private readonly bitmap: AllocationBitmap;

  constructor(cidr: string = DEFAULT_SERVICE_CIDR, opts: Omit<BitmapOptions, 'offset'> = {}) {
    this.cidr = parseCidr(cidr);
    const size = 2 ** (32 - this.cidr.prefix);
    this.base = this.cidr.network + 1;
    // Minus the network and the broadcast address.
    const max = Math.max(0, size - 2);
    this.bitmap = new AllocationBitmap(max, this.cidr.text, { ...opts, offset: bandOffset(size, 16, 16, 256) });
  }

  /** Reserves a specific IP. Throws AllocatorError (NotInRange, Allocated). */
  allocate(ip: string): void {
    const offset = this.offsetOf(ip);
    if (offset === undefined) throw errIPNotInRange(this.cidr.text);
    if (!this.bitmap.allocate(offset)) throw errIPAllocated();
  }

  /** Reserves any free IP (upper band first). Throws AllocatorError Full. */
  allocateNext(): string {
    const offset = this.bitmap.allocateNext();
    if (offset === undefined) throw errFull();
    return formatIPv4(this.base + offset);
  }

  /** Frees an IP; unallocated or out-of-range IPs are ignored. */
  release(ip: string): void {
    const offset = this.offsetOf(ip);
    if (offset !== undefined) this.bitmap.release(offset);
  }

  has(ip: string): boolean {
    const offset = this.offsetOf(ip);
    return offset !== undefined && this.bitmap.has(offset);
  }

  /** True when `ip` may be allocated here (inside the CIDR, not network/broadcast). */
  contains(ip: string): boolean {
    return this.offsetOf(ip) !== undefined;
  }

  free(): number {
    return this.bitmap.free();
  }

  used(): number {
    return this.bitmap.used();
  }

  /** Every allocated IP, in increasing order. */
  *values(): IterableIterator<string> {
    for (const o of this.bitmap.values()) yield formatIPv4(this.base + o);
  }

  snapshot(): BitmapSnapshot {
    return this.bitmap.snapshot();
  }

  restore(snap: BitmapSnapshot): void {
    if (snap.range !== this.cidr.text) throw new AllocatorError('Invalid', 'the provided network does not match the current range');
    this.bitmap.restore(snap);
  }

  private offsetOf(ip: string): number | undefined {
    const n = parseIPv4(ip);
    if (n === undefined) return undefined;
    const offset = n - this.base;
    return offset >= 0 && offset < this.bitmap.size ? offset : undefined;
  }
}

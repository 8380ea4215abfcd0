/**
 * The LoadBalancer address pool (pure): which Service holds which external IP, as a cloud
 * provider's or MetalLB's IPAM would keep it. Holders are `namespace/name` keys.
 */
import { formatIPv4, parseIPv4 } from '../../allocator/service-ip.js';

export const DEFAULT_LB_POOL = '172.18.255.200-172.18.255.250';

export class AddressPool {
  private readonly first: number;
  private readonly last: number;
  private readonly byIP = new Map<string, string>();
  private readonly byService = new Map<string, string>();

  constructor(range: string = DEFAULT_LB_POOL) {
    const [a, b] = range.split('-');
    const first = parseIPv4(a ?? '');
    const last = parseIPv4(b ?? a ?? '');
    if (first === undefined || last === undefined || last < first) throw new Error(`invalid address pool "${range}" (want FIRST-LAST)`);
    this.first = first;
    this.last = last;
  }

  contains(ip: string): boolean {
    const n = parseIPv4(ip);
    return n !== undefined && n >= this.first && n <= this.last;
  }

  holderOf(ip: string): string | undefined {
    return this.byIP.get(ip);
  }

  addressOf(service: string): string | undefined {
    return this.byService.get(service);
  }

  /**
   * The address for `service`: the one it holds, else the requested one (spec.loadBalancerIP)
   * when it is in the pool and free, else the lowest free one. Undefined when none can be had.
   */
  assign(service: string, requested?: string): string | undefined {
    const held = this.byService.get(service);
    if (held && (!requested || requested === held)) return held;
    if (held) this.release(service);
    if (requested) {
      if (!this.contains(requested) || this.byIP.has(requested)) return undefined;
      return this.take(service, requested);
    }
    for (let n = this.first; n <= this.last; n++) {
      const ip = formatIPv4(n);
      if (!this.byIP.has(ip)) return this.take(service, ip);
    }
    return undefined;
  }

  /** Records an address a Service already shows in its status (rebuilding state after a restart). */
  adopt(service: string, ip: string): boolean {
    if (!this.contains(ip)) return false;
    const holder = this.byIP.get(ip);
    if (holder && holder !== service) return false;
    this.take(service, ip);
    return true;
  }

  release(service: string): void {
    const ip = this.byService.get(service);
    if (ip === undefined) return;
    this.byService.delete(service);
    this.byIP.delete(ip);
  }

  private take(service: string, ip: string): string {
    this.byIP.set(ip, service);
    this.byService.set(service, ip);
    return ip;
  }
}

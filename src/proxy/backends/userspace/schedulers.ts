/**
 * IPVS's schedulers, as pure classes for the userspace proxy (this kernel has no IPVS):
 *
 * - rr  round robin: next server in turn.
 * - wrr weighted round robin: servers in turn, each `weight` times per cycle, interleaved (IPVS's gcd/cw walk).
 * - lc  least connection: least overhead, overhead = active·256 + inactive.
 * - wlc weighted least connection: least overhead/weight.
 * - sh  source hashing: a 256-bucket table filled with servers by weight; the client address picks the bucket.
 * - dh  destination hashing: the same table, keyed by the destination address.
 * - sed shortest expected delay: least (active + 1)/weight.
 * - nq  never queue: an idle server if there is one, else sed.
 *
 * Servers with weight 0 are never picked (IPVS's quiesced servers). Ties go to the first server in
 * list order, as IPVS walks its list. `rr`/`wrr` keep their position across calls.
 */
import { ipToInt } from '../../ipv4.js';

/** One real server as the scheduler sees it. */
export interface Backend {
  /** `ip:port`. */
  readonly id: string;
  readonly weight: number;
  /** Established connections. */
  readonly activeConns: number;
  /** Connections in other states (IPVS's inactconns). */
  readonly inactiveConns: number;
}

/** The connection being scheduled. */
export interface ConnInfo {
  src: string;
  dst: string;
}

export interface Scheduler {
  readonly name: SchedulerName;
  pick(backends: readonly Backend[], conn: ConnInfo): Backend | undefined;
}

export const SCHEDULER_NAMES = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'sed', 'nq'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

const usable = (b: Backend) => b.weight > 0;
/** IPVS's ip_vs_dest_conn_overhead. */
const overhead = (b: Backend) => b.activeConns * 256 + b.inactiveConns;

class RoundRobin implements Scheduler {
  readonly name = 'rr';
  #last: string | undefined;
  pick(backends: readonly Backend[]): Backend | undefined {
    const n = backends.length;
    const start = this.#last === undefined ? 0 : backends.findIndex((b) => b.id === this.#last) + 1;
    for (let i = 0; i < n; i++) {
      const b = backends[(start + i) % n]!;
      if (usable(b)) {
        this.#last = b.id;
        return b;
      }
    }
    return undefined;
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr';
  #index = -1;
  #cw = 0;
  pick(backends: readonly Backend[]): Backend | undefined {
    const weights = backends.map((b) => Math.max(0, b.weight));
    const max = Math.max(0, ...weights);
    if (max === 0) return undefined;
    const step = weights.filter((w) => w > 0).reduce(gcd);
    for (;;) {
      this.#index = (this.#index + 1) % backends.length;
      if (this.#index === 0) {
        this.#cw -= step;
        if (this.#cw <= 0) this.#cw = max;
      }
      if (weights[this.#index]! >= this.#cw) return backends[this.#index];
    }
  }
}

/** Picks the usable backend minimising `cost` (a fraction num/den, compared by cross-multiplying as IPVS does). */
function leastBy(backends: readonly Backend[], num: (b: Backend) => number, den: (b: Backend) => number): Backend | undefined {
  let best: Backend | undefined;
  for (const b of backends) {
    if (!usable(b)) continue;
    if (!best || num(b) * den(best) < num(best) * den(b)) best = b;
  }
  return best;
}

class LeastConnection implements Scheduler {
  readonly name = 'lc';
  pick(backends: readonly Backend[]): Backend | undefined {
    return leastBy(backends, overhead, () => 1);
  }
}

class WeightedLeastConnection implements Scheduler {
  readonly name = 'wlc';
  pick(backends: readonly Backend[]): Backend | undefined {
    return leastBy(backends, overhead, (b) => b.weight);
  }
}

class ShortestExpectedDelay implements Scheduler {
  readonly name: SchedulerName = 'sed';
  pick(backends: readonly Backend[]): Backend | undefined {
    return leastBy(
      backends,
      (b) => b.activeConns + 1,
      (b) => b.weight,
    );
  }
}

class NeverQueue extends ShortestExpectedDelay {
  override readonly name = 'nq';
  override pick(backends: readonly Backend[]): Backend | undefined {
    return backends.find((b) => usable(b) && b.activeConns === 0) ?? super.pick(backends);
  }
}

const TABLE_BITS = 8;
const TABLE_SIZE = 1 << TABLE_BITS;

/** IPVS's hash of an address into the 256-bucket table (multiplicative hashing by the golden ratio). */
export function addressBucket(ip: string): number {
  const n = ipToInt(ip);
  return Number((BigInt(Number.isNaN(n) ? 0 : n) * 2654435761n) & 0xffffffffn) >>> (32 - TABLE_BITS);
}

class AddressHashing implements Scheduler {
  constructor(
    readonly name: 'sh' | 'dh',
    readonly key: (conn: ConnInfo) => string,
  ) {}
  #table: Backend[] = [];
  #signature = '';

  #rebuild(backends: readonly Backend[]): void {
    const signature = backends.map((b) => `${b.id}*${b.weight}`).join(',');
    if (signature === this.#signature) return;
    this.#signature = signature;
    const live = backends.filter(usable);
    this.#table = [];
    // Fill buckets in server order, each server taking `weight` consecutive turns, as ip_vs_sh_reassign does.
    let i = 0;
    let repeat = 0;
    for (let bucket = 0; bucket < TABLE_SIZE && live.length > 0; bucket++) {
      const b = live[i]!;
      this.#table.push(b);
      if (++repeat >= b.weight) {
        repeat = 0;
        i = (i + 1) % live.length;
      }
    }
  }

  pick(backends: readonly Backend[], conn: ConnInfo): Backend | undefined {
    this.#rebuild(backends);
    if (this.#table.length === 0) return undefined;
    const chosen = this.#table[addressBucket(this.key(conn))]!;
    return backends.find((b) => b.id === chosen.id);
  }
}

/** A fresh scheduler of the given kind. */
export function createScheduler(name: SchedulerName): Scheduler {
  switch (name) {
    case 'rr':
      return new RoundRobin();
    case 'wrr':
      return new WeightedRoundRobin();
    case 'lc':
      return new LeastConnection();
    case 'wlc':
      return new WeightedLeastConnection();
    case 'sed':
      return new ShortestExpectedDelay();
    case 'nq':
      return new NeverQueue();
    case 'sh':
      return new AddressHashing('sh', (c) => c.src);
    case 'dh':
      return new AddressHashing('dh', (c) => c.dst);
  }
}

/** Whether `s` names a scheduler (for the per-Service annotation and the default flag). */
export function isSchedulerName(s: string): s is SchedulerName {
  return (SCHEDULER_NAMES as readonly string[]).includes(s);
}

/**
 * Random Service/EndpointSlice churn for the kernel-equivalence tests of both rule backends: a
 * seeded sequence of the changes a proxy sees (Services added and removed, endpoints replaced,
 * added, all gone, moved between nodes, session affinity and NodePorts switched on and off), so a
 * failing sequence can be replayed from its seed.
 */
import type { EndpointSliceLike, ServiceLike } from '../../model.js';
import { makeService, makeSlice, type SliceEndpoint } from '../../testing.js';
import type { ProxyState } from '../../tracker.js';

/** A small deterministic PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HTTP = [{ name: 'http', port: 8080 }];

/** Feeds random changes to a {@link ProxyState}, remembering what it sent so removals are exact. */
export class Churn {
  readonly #services = new Map<number, ServiceLike>();
  readonly #slices = new Map<number, EndpointSliceLike>();
  readonly #random: () => number;

  constructor(
    readonly state: ProxyState,
    seed: number,
    /** How many distinct Services the churn draws from. */
    readonly pool = 12,
  ) {
    this.#random = seededRandom(seed);
  }

  #int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  #service(i: number): ServiceLike {
    const nodePort = this.#int(3) === 0;
    const local = nodePort && this.#int(2) === 0;
    return makeService(`default/svc-${i}`, {
      type: nodePort ? 'NodePort' : 'ClusterIP',
      clusterIP: `10.96.0.${10 + i}`,
      ports: [{ name: 'http', port: 80, protocol: 'TCP', ...(nodePort ? { nodePort: 30000 + i } : {}) }],
      ...(this.#int(4) === 0 ? { sessionAffinity: 'ClientIP' } : {}),
      ...(this.#int(5) === 0 ? { externalIPs: [`192.0.2.${10 + i}`] } : {}),
      ...(local ? { externalTrafficPolicy: 'Local' } : {}),
    });
  }

  #slice(i: number): EndpointSliceLike {
    const endpoints: SliceEndpoint[] = [];
    const count = this.#int(5);
    for (let k = 0; k < count; k++) endpoints.push({ ip: `10.244.${i}.${1 + this.#int(8)}`, node: this.#int(2) ? 'node-1' : 'node-2' });
    const unique = [...new Map(endpoints.map((e) => [e.ip, e])).values()];
    return makeSlice(`default/svc-${i}`, `svc-${i}-x`, HTTP, unique);
  }

  /** Applies one random change (not yet {@link ProxyState.apply}'d). */
  step(): void {
    const i = this.#int(this.pool);
    const existing = this.#services.get(i);
    const roll = this.#int(10);
    if (!existing || roll === 0) {
      // Add the Service, or replace it with a different spec.
      const svc = this.#service(i);
      this.state.onService(existing, svc);
      this.#services.set(i, svc);
      if (!this.#slices.has(i) || this.#int(2)) this.#setSlice(i, this.#slice(i));
    } else if (roll === 1) {
      this.state.onService(existing, undefined);
      this.#services.delete(i);
      const slice = this.#slices.get(i);
      if (slice) this.state.onEndpointSlice(slice, true);
      this.#slices.delete(i);
    } else {
      this.#setSlice(i, this.#slice(i));
    }
  }

  #setSlice(i: number, slice: EndpointSliceLike): void {
    this.state.onEndpointSlice(slice);
    this.#slices.set(i, slice);
  }
}

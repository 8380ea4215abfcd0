/**
 * Change trackers, as kube-proxy's ServiceChangeTracker and EndpointsChangeTracker: informer events
 * are folded into one pending `{previous, current}` per Service (by `namespace/name`), and a change
 * that ends where it started is dropped, so a sync only touches Services whose proxy state really
 * differs. {@link ProxyState} applies pending changes to the maps the backends read and reports
 * what changed (for partial syncs and UDP conntrack cleanup).
 */
import { flattenString } from './flat.js';
import { type ProxyLogger, silentLogger } from './log.js';
import {
  type EndpointInfo,
  type EndpointSliceLike,
  type EndpointsMap,
  endpointString,
  endpointsFromSlice,
  mergeEndpoints,
  SERVICE_NAME_LABEL,
  type ServiceLike,
  type ServicePortMap,
  servicePortString,
  servicePortsFromService,
} from './model.js';

/** A Service's state before its first pending event and after its latest one. */
export interface Change<T> {
  previous: T;
  current: T;
}

/**
 * Whether two per-Service maps (service ports, or endpoints by port) hold the same state. Informers
 * deliver every object as an add at start, so the common case (an empty map against a full one)
 * is settled by the sizes without serializing anything.
 */
function sameState(a: ReadonlyMap<string, unknown> | undefined, b: ReadonlyMap<string, unknown>): boolean {
  if ((a?.size ?? 0) !== b.size) return false;
  if (!a) return true;
  for (const [key, value] of a) {
    const other = b.get(key);
    if (other === undefined || JSON.stringify(value) !== JSON.stringify(other)) return false;
  }
  return true;
}

function namespacedName(meta: { namespace?: string; name?: string }): string {
  const nn = `${meta.namespace ?? 'default'}/${meta.name ?? ''}`;
  flattenString(nn); // a key of several maps, looked up with equal keys built elsewhere
  return nn;
}

/** Tracks pending Service changes: one {previous, current} set of ports per Service. */
export class ServiceChangeTracker {
  #items = new Map<string, Change<ServicePortMap>>();

  /**
   * Records an add (previous undefined), update, or delete (current undefined). Returns whether the
   * Service now has a pending change.
   */
  update(previous: ServiceLike | undefined, current: ServiceLike | undefined): boolean {
    const svc = current ?? previous;
    if (!svc) return false;
    const nn = namespacedName(svc.metadata);
    let change = this.#items.get(nn);
    if (!change) {
      change = { previous: previous ? servicePortsFromService(previous) : new Map(), current: new Map() };
      this.#items.set(nn, change);
    }
    change.current = current ? servicePortsFromService(current) : new Map();
    if (sameState(change.previous, change.current)) this.#items.delete(nn);
    return this.#items.has(nn);
  }

  /** Services (`namespace/name`) with a pending change. */
  pendingChanges(): Set<string> {
    return new Set(this.#items.keys());
  }

  /** Returns the pending changes and forgets them. */
  checkout(): Map<string, Change<ServicePortMap>> {
    // Handed over, not copied: an initial sync checks out every Service.
    const out = this.#items;
    this.#items = new Map();
    return out;
  }
}

/** Annotation EndpointSlices carry with the time of the change that triggered them. */
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

/** Tracks pending endpoint changes per Service from EndpointSlice events (kube-proxy's EndpointSliceCache). */
export class EndpointsChangeTracker {
  /** Latest endpoints of every slice, per Service: nn → slice name → endpoints. */
  readonly #slices = new Map<string, Map<string, EndpointsMap>>();
  /** Per Service with a pending change: its merged endpoints before the first pending event. */
  #previous = new Map<string, EndpointsMap>();
  /** Per Service with a pending change: its merged endpoints after the latest event (merged once, reused by checkout). */
  #current = new Map<string, EndpointsMap>();
  #triggerTimes = new Map<string, number[]>();

  constructor(readonly nodeName: string) {}

  /** Records a slice add/update, or its removal. Returns whether the Service now has a pending change. */
  endpointSliceUpdate(slice: EndpointSliceLike & { metadata: { annotations?: Record<string, string> } }, removed: boolean): boolean {
    const serviceName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!serviceName) return false;
    const nn = `${slice.metadata.namespace ?? 'default'}/${serviceName}`;
    flattenString(nn);
    if (!this.#previous.has(nn)) this.#previous.set(nn, this.#merged(nn));
    let slices = this.#slices.get(nn);
    if (!slices) {
      slices = new Map();
      this.#slices.set(nn, slices);
    }
    const sliceName = slice.metadata.name ?? '';
    if (removed) {
      slices.delete(sliceName);
      if (slices.size === 0) this.#slices.delete(nn);
    } else {
      slices.set(sliceName, endpointsFromSlice(slice, this.nodeName));
      const trigger = Date.parse(slice.metadata.annotations?.[LAST_CHANGE_TRIGGER_TIME] ?? '');
      if (!Number.isNaN(trigger)) this.#triggerTimes.set(nn, [...(this.#triggerTimes.get(nn) ?? []), trigger]);
    }
    const merged = this.#merged(nn);
    if (sameState(this.#previous.get(nn), merged)) {
      this.#previous.delete(nn);
      this.#current.delete(nn);
      this.#triggerTimes.delete(nn);
    } else {
      this.#current.set(nn, merged);
    }
    return this.#previous.has(nn);
  }

  #merged(nn: string): EndpointsMap {
    return mergeEndpoints(this.#slices.get(nn)?.values() ?? []);
  }

  /** Services (`namespace/name`) with a pending change. */
  pendingChanges(): Set<string> {
    return new Set(this.#previous.keys());
  }

  /** Returns the pending changes (with the trigger times seen, for network-programming latency) and forgets them. */
  checkout(): { changes: Map<string, Change<EndpointsMap>>; triggerTimes: Map<string, number[]> } {
    const changes = new Map<string, Change<EndpointsMap>>();
    for (const [nn, previous] of this.#previous) changes.set(nn, { previous, current: this.#current.get(nn) ?? this.#merged(nn) });
    // Handed over, not copied: an initial sync checks out every Service.
    const triggerTimes = this.#triggerTimes;
    this.#previous = new Map();
    this.#current = new Map();
    this.#triggerTimes = new Map();
    return { changes, triggerTimes };
  }
}

/** A UDP endpoint that went away: its conntrack entries must be cleared or clients keep hitting it. */
export interface StaleUDPEndpoint {
  servicePortKey: string;
  clusterIP: string;
  endpoint: string;
}

/** What {@link ProxyState.apply} changed. */
export interface UpdateResult {
  /** Services (`namespace/name`) whose ports or endpoints changed: their chains need rewriting. */
  updatedServices: Set<string>;
  /**
   * Service port keys (see servicePortKey) of those Services whose port or endpoints may have
   * changed, including ports that went away: a partial sync rebuilds only these ports' rules.
   */
  updatedServicePorts?: Set<string>;
  /** Cluster IPs of removed UDP ports (conntrack entries to clear). */
  deletedUDPClusterIPs: Set<string>;
  deletedUDPEndpoints: StaleUDPEndpoint[];
  /** UDP ports that went from no endpoints to some (clear entries that cached the rejection). */
  newlyActiveUDPServices: string[];
  /** Endpoint-change trigger times per Service, for network_programming_duration_seconds. */
  triggerTimes: Map<string, number[]>;
}

const NO_ENDPOINTS: readonly EndpointInfo[] = Object.freeze([]);

const serves = (eps: readonly EndpointInfo[] | undefined) => (eps ?? []).some((ep) => ep.ready || (ep.serving && ep.terminating));

/**
 * The proxy's state: the service-port and endpoints maps the backends read, fed by the two trackers.
 * Informer handlers call {@link onService}/{@link onEndpointSlice}; a sync calls {@link apply}.
 */
export class ProxyState {
  readonly services: ServicePortMap = new Map();
  readonly endpoints: EndpointsMap = new Map();
  readonly serviceChanges = new ServiceChangeTracker();
  readonly endpointsChanges: EndpointsChangeTracker;

  constructor(
    readonly nodeName: string,
    readonly log: ProxyLogger = silentLogger,
  ) {
    this.endpointsChanges = new EndpointsChangeTracker(nodeName);
  }

  onService(previous: ServiceLike | undefined, current: ServiceLike | undefined): boolean {
    return this.serviceChanges.update(previous, current);
  }

  onEndpointSlice(slice: EndpointSliceLike, removed = false): boolean {
    return this.endpointsChanges.endpointSliceUpdate(slice, removed);
  }

  /** Services with changes not yet applied. */
  pendingChanges(): Set<string> {
    return new Set([...this.serviceChanges.pendingChanges(), ...this.endpointsChanges.pendingChanges()]);
  }

  /** Applies every pending change to {@link services}/{@link endpoints} and reports what changed. */
  apply(): UpdateResult {
    const ports = new Set<string>();
    const result: UpdateResult = {
      updatedServices: new Set(),
      updatedServicePorts: ports,
      deletedUDPClusterIPs: new Set(),
      deletedUDPEndpoints: [],
      newlyActiveUDPServices: [],
      triggerTimes: new Map(),
    };
    const oldEndpoints = new Map<string, readonly EndpointInfo[]>();
    for (const [nn, change] of this.serviceChanges.checkout()) {
      result.updatedServices.add(nn);
      for (const key of change.previous.keys()) ports.add(key);
      for (const key of change.current.keys()) ports.add(key);
      for (const [key, info] of change.previous) {
        if (change.current.has(key)) continue;
        this.services.delete(key);
        this.log.info('Removing service port', { portName: info.name }, 'serviceport.go:222');
        if (info.protocol === 'UDP') result.deletedUDPClusterIPs.add(info.clusterIP);
      }
      for (const [key, info] of change.current) {
        const verb = this.services.has(key) ? 'Updating existing service port' : 'Adding new service port';
        this.log.info(verb, { portName: info.name, servicePort: servicePortString(info) }, 'serviceport.go:206');
        this.services.set(key, info);
      }
    }
    const { changes, triggerTimes } = this.endpointsChanges.checkout();
    result.triggerTimes = triggerTimes;
    for (const [nn, change] of changes) {
      result.updatedServices.add(nn);
      for (const key of change.previous.keys()) ports.add(key);
      for (const key of change.current.keys()) ports.add(key);
      // Only UDP ports need their old endpoints (conntrack cleanup); the services are final here.
      for (const key of change.previous.keys()) {
        if (this.services.get(key)?.protocol === 'UDP') oldEndpoints.set(key, this.endpoints.get(key) ?? NO_ENDPOINTS);
        this.endpoints.delete(key);
      }
      for (const [key, eps] of change.current) {
        if (!oldEndpoints.has(key) && this.services.get(key)?.protocol === 'UDP') oldEndpoints.set(key, NO_ENDPOINTS);
        this.endpoints.set(key, eps);
      }
    }
    for (const [key, before] of oldEndpoints) {
      const info = this.services.get(key)!;
      const after = this.endpoints.get(key) ?? [];
      const still = new Set(after.map(endpointString));
      for (const ep of before) {
        if (!still.has(endpointString(ep)))
          result.deletedUDPEndpoints.push({ servicePortKey: key, clusterIP: info.clusterIP, endpoint: endpointString(ep) });
      }
      if (!serves(before) && serves(after)) result.newlyActiveUDPServices.push(key);
    }
    return result;
  }
}

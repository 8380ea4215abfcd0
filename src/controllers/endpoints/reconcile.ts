/**
 * The core/v1 Endpoints controller's pure part (kube's pkg/controller/endpoint and
 * pkg/api/v1/endpoints): one subset per (pod, port) folded by RepackSubsets into subsets of
 * addresses sharing the same ports, truncated at 1000 addresses with the over-capacity annotation.
 */
import type { KubeObject } from '../../api/meta.js';
import type { Endpoints } from '../../api/types/index.js';
import { isPodReady, semanticEqual } from '../controller.js';
import {
  ANNOTATION_OVER_CAPACITY,
  ANNOTATION_TRIGGER_TIME,
  findPort,
  formatTriggerTime,
  isServiceIPSet,
  LABEL_HEADLESS,
  type PodObject,
  podAddresses,
  type ServiceObject,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from '../endpointslice/util.js';

export type EndpointsObject = KubeObject & Pick<Endpoints, 'subsets'>;
export type Subset = NonNullable<Endpoints['subsets']>[number];
export type Address = NonNullable<Subset['addresses']>[number];
export type Port = NonNullable<Subset['ports']>[number];

/** Endpoints hold at most this many addresses (maxCapacity). */
export const MAX_CAPACITY = 1000;

/** podToEndpointAddressForService, plus the hostname for a headless Service's subdomain. */
export function podToAddress(pod: PodObject, service: ServiceObject): Address | undefined {
  const ip = podAddresses(pod, 'IPv4')[0];
  if (!ip) return undefined;
  const addr: Address = { ip };
  if (shouldSetHostname(pod, service)) addr.hostname = pod.spec?.hostname;
  if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
  addr.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
  return addr;
}

/** The subsets for a Service over its selected pods, before truncation (syncService's loop + RepackSubsets). */
export function computeSubsets(service: ServiceObject, pods: PodObject[]): Subset[] {
  const tolerateUnready = !!service.spec?.publishNotReadyAddresses;
  const raw: Subset[] = [];
  const add = (pod: PodObject, addr: Address, port: Port | undefined) => {
    const ports = port ? [port] : [];
    if (tolerateUnready || isPodReady(pod as KubeObject)) raw.push({ addresses: [addr], ports });
    else raw.push({ notReadyAddresses: [addr], ports });
  };
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, tolerateUnready)) continue;
    const addr = podToAddress(pod, service);
    if (!addr) continue;
    const ports = service.spec?.ports ?? [];
    if (ports.length === 0) {
      // A headless Service may have no ports.
      if (service.spec?.clusterIP === 'None') add(pod, addr, undefined);
      continue;
    }
    for (const sp of ports) {
      const num = findPort(pod, sp);
      if (num === undefined) continue;
      const port: Port = { name: sp.name ?? '', port: num, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol !== undefined) port.appProtocol = sp.appProtocol;
      add(pod, addr, port);
    }
  }
  return repackSubsets(raw);
}

const addressKey = (a: Address) => `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
const portKey = (p: Port) => JSON.stringify([p.name ?? '', p.port, p.protocol ?? '', p.appProtocol ?? null]);

function compareAddresses(a: Address, b: Address): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const ua = a.targetRef?.uid ?? '';
  const ub = b.targetRef?.uid ?? '';
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/**
 * RepackSubsets: maps every (address, port) pair, then groups ports that are served by exactly
 * the same addresses into one subset; an address ready on a port wins over not-ready. Output is
 * sorted (addresses by IP then pod UID, ports and subsets by a stable key) so equal inputs compare
 * equal.
 */
export function repackSubsets(subsets: Subset[]): Subset[] {
  const addresses = new Map<string, Address>();
  const ports = new Map<string, Port>();
  // port key → address key → ready
  const byPort = new Map<string, Map<string, boolean>>();
  const NO_PORT = '';
  for (const s of subsets) {
    const entries: [Address, boolean][] = [
      ...(s.addresses ?? []).map((a): [Address, boolean] => [a, true]),
      ...(s.notReadyAddresses ?? []).map((a): [Address, boolean] => [a, false]),
    ];
    const subsetPorts = s.ports?.length ? s.ports : [undefined];
    for (const port of subsetPorts) {
      const pk = port ? portKey(port) : NO_PORT;
      if (port) ports.set(pk, port);
      let m = byPort.get(pk);
      if (!m) {
        m = new Map();
        byPort.set(pk, m);
      }
      for (const [addr, ready] of entries) {
        const ak = addressKey(addr);
        if (!addresses.has(ak)) addresses.set(ak, addr);
        if (ready || !m.has(ak)) m.set(ak, ready || (m.get(ak) ?? false));
      }
    }
  }
  // Group ports by the exact address set (with readiness) they are served by.
  const groups = new Map<string, { ready: Address[]; notReady: Address[]; ports: Port[] }>();
  for (const [pk, m] of byPort) {
    const setKey = JSON.stringify([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let g = groups.get(setKey);
    if (!g) {
      g = { ready: [], notReady: [], ports: [] };
      for (const [ak, ready] of m) (ready ? g.ready : g.notReady).push(addresses.get(ak) as Address);
      groups.set(setKey, g);
    }
    if (pk !== NO_PORT) g.ports.push(ports.get(pk) as Port);
  }
  const out: Subset[] = [];
  for (const g of groups.values()) {
    const s: Subset = {};
    if (g.ready.length) s.addresses = g.ready.sort(compareAddresses);
    if (g.notReady.length) s.notReadyAddresses = g.notReady.sort(compareAddresses);
    if (g.ports.length) s.ports = g.ports.sort((a, b) => (portKey(a) < portKey(b) ? -1 : portKey(a) > portKey(b) ? 1 : 0));
    out.push(s);
  }
  const subsetKey = (s: Subset) =>
    JSON.stringify([s.ports?.map(portKey) ?? [], (s.addresses ?? s.notReadyAddresses ?? []).map(addressKey)]);
  return out.sort((a, b) => (subsetKey(a) < subsetKey(b) ? -1 : subsetKey(a) > subsetKey(b) ? 1 : 0));
}

/**
 * truncateEndpoints: over 1000 addresses, keeps ready addresses first and shares what fits among
 * the subsets in proportion to their size. Returns whether anything was cut.
 */
export function truncateSubsets(subsets: Subset[]): boolean {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= MAX_CAPACITY) return false;
  const truncateReady = totalReady > MAX_CAPACITY;
  const max = truncateReady ? MAX_CAPACITY : MAX_CAPACITY - totalReady;
  const total = truncateReady ? totalReady : totalNotReady;
  let room = max;
  for (const s of subsets) {
    const inSubset = (truncateReady ? s.addresses?.length : s.notReadyAddresses?.length) ?? 0;
    const share = Math.min(Math.ceil((inSubset / total) * max), room);
    if (truncateReady) {
      s.addresses = (s.addresses ?? []).slice(0, share);
      delete s.notReadyAddresses;
      room -= s.addresses.length;
      if (!s.addresses.length) delete s.addresses;
    } else {
      s.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, share);
      room -= s.notReadyAddresses.length;
      if (!s.notReadyAddresses.length) delete s.notReadyAddresses;
    }
  }
  return true;
}

function withoutRefVersions(subsets: Subset[] | undefined): unknown {
  const strip = (a: Address) => (a.targetRef?.resourceVersion ? { ...a, targetRef: { ...a.targetRef, resourceVersion: undefined } } : a);
  return (subsets ?? []).map((s) => ({ ...s, addresses: s.addresses?.map(strip), notReadyAddresses: s.notReadyAddresses?.map(strip) }));
}

/** capacityAnnotationSetCorrectly: under capacity and no annotation (over capacity is never "correct" before truncation). */
function capacityAnnotationCorrect(current: EndpointsObject): boolean {
  let n = 0;
  for (const s of current.subsets ?? []) n += (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0);
  if (n > MAX_CAPACITY) return false;
  return !(ANNOTATION_OVER_CAPACITY in (current.metadata.annotations ?? {}));
}

/**
 * The Endpoints object to write for a selector Service, or undefined when `current` already
 * matches (subsets, labels and the capacity annotation), as syncService decides.
 */
export function desiredEndpoints(
  service: ServiceObject,
  pods: PodObject[],
  current: EndpointsObject | undefined,
  triggerTime: number | undefined,
): EndpointsObject | undefined {
  const subsets = computeSubsets(service, pods);
  const currentLabels = { ...(current?.metadata.labels ?? {}) };
  delete currentLabels[LABEL_HEADLESS];
  if (
    current &&
    semanticEqual(withoutRefVersions(current.subsets), withoutRefVersions(subsets)) &&
    semanticEqual(currentLabels, service.metadata.labels ?? {}) &&
    capacityAnnotationCorrect(current)
  ) {
    return undefined;
  }
  const next: EndpointsObject = current
    ? structuredClone(current)
    : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: service.metadata.name, namespace: service.metadata.namespace } };
  next.subsets = subsets;
  const labels = { ...(service.metadata.labels ?? {}) };
  if (!isServiceIPSet(service)) labels[LABEL_HEADLESS] = '';
  else delete labels[LABEL_HEADLESS];
  if (Object.keys(labels).length) next.metadata.labels = labels;
  else delete next.metadata.labels;
  const annotations = { ...(next.metadata.annotations ?? {}) };
  if (triggerTime !== undefined) annotations[ANNOTATION_TRIGGER_TIME] = formatTriggerTime(triggerTime);
  else delete annotations[ANNOTATION_TRIGGER_TIME];
  if (truncateSubsets(subsets)) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
  else delete annotations[ANNOTATION_OVER_CAPACITY];
  if (Object.keys(annotations).length) next.metadata.annotations = annotations;
  else delete next.metadata.annotations;
  return next;
}

/**
 * The EndpointSlice reconciler as a pure function (kube's staging/src/k8s.io/endpointslice
 * reconciler.go): given a Service, the pods its selector matches and the slices that exist, it
 * decides which slices to create, update and delete — keeping endpoints where they already are,
 * filling the fullest changed slices first, and reusing slices instead of churning them.
 */
import type { KubeObject } from '../../api/meta.js';
import { isPodReady, newControllerRef, semanticEqual } from '../controller.js';
import {
  ENDPOINTSLICE_CONTROLLER,
  findPort,
  isServiceIPSet,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_ZONE,
  type PodObject,
  podAddresses,
  type ServiceObject,
  type SliceObject,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './util.js';

export type SliceEndpoint = SliceObject['endpoints'][number];
export type SlicePort = NonNullable<SliceObject['ports']>[number];
type NodeObject = KubeObject;

/** `--max-endpoints-per-slice` default. */
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

export interface SliceChanges {
  create: SliceObject[];
  update: SliceObject[];
  delete: SliceObject[];
  /** Pods left out because their node is unknown (the sync should be retried). */
  missingNodes: string[];
}

export interface ReconcileInput {
  service: ServiceObject;
  pods: PodObject[];
  existing: SliceObject[];
  nodeByName: (name: string) => NodeObject | undefined;
  maxEndpointsPerSlice?: number;
  controllerName?: string;
}

/** getEndpointPorts: the Service's ports as this pod serves them (ports a pod lacks are left out). */
export function endpointPorts(service: ServiceObject, pod: PodObject): SlicePort[] {
  const ports: SlicePort[] = [];
  if (!service.spec?.ports?.length && service.spec?.clusterIP === 'None') return ports;
  for (const sp of service.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: SlicePort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
    ports.push(ep);
  }
  return ports;
}

/** podToEndpoint: the endpoint for one pod, with upstream's ready/serving/terminating rules. */
export function podToEndpoint(pod: PodObject, node: NodeObject | undefined, service: ServiceObject): SliceEndpoint {
  const serving = isPodReady(pod as KubeObject);
  const terminating = !!pod.metadata.deletionTimestamp;
  // Compatibility: a terminating pod is never ready, unless not-ready addresses are published.
  const ready = !!service.spec?.publishNotReadyAddresses || (serving && !terminating);
  const ep: SliceEndpoint = {
    addresses: podAddresses(pod, 'IPv4'),
    conditions: { ready, serving, terminating },
  };
  if (shouldSetHostname(pod, service)) ep.hostname = pod.spec?.hostname;
  ep.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata.labels?.[LABEL_ZONE];
  if (zone) ep.zone = zone;
  return ep;
}

/** An endpoint's identity (hashEndpoint): addresses, hostname and the pod it stands for. */
export function endpointKey(ep: SliceEndpoint): string {
  return JSON.stringify([[...ep.addresses].sort(), ep.hostname ?? '', ep.targetRef?.namespace ?? '', ep.targetRef?.name ?? '']);
}

/** The key slices are grouped by: their set of ports, order-insensitive. */
export function portMapKey(ports: SlicePort[] | undefined): string {
  const norm = (ports ?? []).map((p) => JSON.stringify([p.name ?? '', p.protocol ?? '', p.port ?? null, p.appProtocol ?? null]));
  return JSON.stringify(norm.sort());
}

function isReservedLabel(key: string): boolean {
  return key === LABEL_SERVICE_NAME || key === LABEL_MANAGED_BY || key === LABEL_HEADLESS;
}

/**
 * setEndpointSliceLabels: the Service's labels (minus reserved keys) plus the service-name,
 * managed-by and headless labels; `changed` when the slice's own non-reserved labels differ.
 */
export function sliceLabels(
  slice: SliceObject | undefined,
  service: ServiceObject,
  controllerName: string,
): { labels: Record<string, string>; changed: boolean } {
  const current: Record<string, string> = {};
  for (const [k, v] of Object.entries(slice?.metadata.labels ?? {})) if (!isReservedLabel(k)) current[k] = v;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(service.metadata.labels ?? {})) if (!isReservedLabel(k)) labels[k] = v;
  const changed = !semanticEqual(current, labels);
  if (!isServiceIPSet(service)) labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = service.metadata.name ?? '';
  labels[LABEL_MANAGED_BY] = controllerName;
  return { labels, changed };
}

/** Whether the slice belongs to this incarnation of the Service (ownedBy). */
export function ownedBy(slice: SliceObject, service: ServiceObject): boolean {
  return (slice.metadata.ownerReferences ?? []).some(
    (r) => r.uid === service.metadata.uid && r.kind === 'Service' && r.apiVersion === 'v1',
  );
}

/** newEndpointSlice: an unnamed slice (generateName `<service>-`) owned by the Service. */
export function newEndpointSlice(service: ServiceObject, ports: SlicePort[], controllerName: string): SliceObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${service.metadata.name}-`,
      namespace: service.metadata.namespace,
      labels: sliceLabels(undefined, service, controllerName).labels,
      ownerReferences: [newControllerRef(service, 'v1', 'Service')],
    },
    addressType: 'IPv4',
    endpoints: [],
    ports,
  };
}

/** Insertion-ordered set of desired endpoints keyed by identity (EndpointSet). */
class EndpointSet {
  private readonly byKey = new Map<string, SliceEndpoint>();
  insert(ep: SliceEndpoint): void {
    this.byKey.set(endpointKey(ep), ep);
  }
  get(ep: SliceEndpoint): SliceEndpoint | undefined {
    return this.byKey.get(endpointKey(ep));
  }
  delete(ep: SliceEndpoint): void {
    this.byKey.delete(endpointKey(ep));
  }
  pop(): SliceEndpoint {
    const [key, ep] = this.byKey.entries().next().value as [string, SliceEndpoint];
    this.byKey.delete(key);
    return ep;
  }
  get size(): number {
    return this.byKey.size;
  }
}

/** Computes the slice writes that bring `existing` to the desired state (Reconcile, IPv4 only). */
export function reconcileSlices(input: ReconcileInput): SliceChanges {
  const { service, pods, nodeByName } = input;
  const max = input.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
  const controllerName = input.controllerName ?? ENDPOINTSLICE_CONTROLLER;
  const changes: SliceChanges = { create: [], update: [], delete: [], missingNodes: [] };

  // Slices of another address type, or of an older Service with this name, go.
  const existingByPorts = new Map<string, SliceObject[]>();
  const mine: SliceObject[] = [];
  for (const slice of input.existing) {
    if (slice.addressType !== 'IPv4' || !ownedBy(slice, service)) {
      changes.delete.push(slice);
      continue;
    }
    mine.push(slice);
    const key = portMapKey(slice.ports);
    existingByPorts.set(key, [...(existingByPorts.get(key) ?? []), slice]);
  }
  const toDeleteBefore = changes.delete.length;

  const desiredByPorts = new Map<string, { ports: SlicePort[]; set: EndpointSet }>();
  const sorted = [...pods].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  for (const pod of sorted) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports = endpointPorts(service, pod);
    const key = portMapKey(ports);
    let desired = desiredByPorts.get(key);
    if (!desired) {
      desired = { ports, set: new EndpointSet() };
      desiredByPorts.set(key, desired);
    }
    const nodeName = pod.spec?.nodeName ?? '';
    const node = nodeByName(nodeName);
    if (!node && !service.spec?.publishNotReadyAddresses) {
      // A pod on an unknown node is left out, and the sync retried, rather than stuck forever.
      changes.missingNodes.push(`${pod.metadata.name}@${nodeName}`);
      continue;
    }
    const ep = podToEndpoint(pod, node, service);
    if (ep.addresses.length) desired.set.insert(ep);
  }

  for (const [key, desired] of desiredByPorts) {
    const r = reconcileByPortMapping(service, existingByPorts.get(key) ?? [], desired.set, desired.ports, max, controllerName);
    changes.create.push(...r.create);
    changes.update.push(...r.update);
    changes.delete.push(...r.delete);
  }
  for (const [key, slices] of existingByPorts) if (!desiredByPorts.has(key)) changes.delete.push(...slices);

  // A Service without endpoints keeps one empty placeholder slice.
  const deletedMine = changes.delete.length - toDeleteBefore;
  if (mine.length === deletedMine && changes.create.length === 0) {
    const placeholder = newEndpointSlice(service, [], controllerName);
    const mineDeleted = changes.delete.slice(toDeleteBefore);
    if (mineDeleted.length === 1 && isPlaceholderFor(mineDeleted[0], placeholder)) changes.delete.splice(toDeleteBefore, 1);
    else changes.create.push(placeholder);
  }

  recycle(changes, service);
  return changes;
}

function isPlaceholderFor(slice: SliceObject, placeholder: SliceObject): boolean {
  return (
    !slice.endpoints?.length &&
    !slice.ports?.length &&
    slice.addressType === placeholder.addressType &&
    semanticEqual(slice.metadata.labels ?? {}, placeholder.metadata.labels ?? {}) &&
    semanticEqual(slice.metadata.ownerReferences ?? [], placeholder.metadata.ownerReferences ?? [])
  );
}

function reconcileByPortMapping(
  service: ServiceObject,
  existing: SliceObject[],
  desired: EndpointSet,
  ports: SlicePort[],
  max: number,
  controllerName: string,
): { create: SliceObject[]; update: SliceObject[]; delete: SliceObject[] } {
  const byName = new Map<string, SliceObject>();
  const unchanged = new Set<string>();
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();

  // 1. Keep desired endpoints where they are; drop the rest; refresh labels.
  for (const slice of existing) {
    const name = slice.metadata.name ?? '';
    byName.set(name, slice);
    const kept: SliceEndpoint[] = [];
    let endpointChanged = false;
    for (const ep of slice.endpoints ?? []) {
      const want = desired.get(ep);
      if (!want) continue;
      kept.push(want);
      if (!semanticEqual(stripRefVersion(want), stripRefVersion(ep))) endpointChanged = true;
      desired.delete(ep);
    }
    const { labels, changed: labelsChanged } = sliceLabels(slice, service, controllerName);
    if (endpointChanged || kept.length !== (slice.endpoints ?? []).length) {
      if (kept.length === 0) toDelete.add(name);
      else {
        const copy = structuredClone(slice);
        copy.endpoints = kept;
        copy.metadata.labels = labels;
        byName.set(name, copy);
        toUpdate.add(name);
      }
    } else if (labelsChanged) {
      const copy = structuredClone(slice);
      copy.metadata.labels = labels;
      byName.set(name, copy);
      toUpdate.add(name);
    } else unchanged.add(name);
  }

  // 2. Top up the slices being updated anyway, fullest first.
  if (desired.size > 0 && toUpdate.size > 0) {
    const slices = [...toUpdate].map((n) => byName.get(n) as SliceObject).sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const slice of slices) while (desired.size > 0 && slice.endpoints.length < max) slice.endpoints.push(desired.pop());
  }

  // 3. Put what is left into the unchanged slice that fits it best, else into new slices.
  const create: SliceObject[] = [];
  while (desired.size > 0) {
    let fill: SliceObject | undefined;
    if (desired.size < max && unchanged.size > 0) {
      const candidate = sliceToFill(
        [...unchanged].map((n) => byName.get(n) as SliceObject),
        desired.size,
        max,
      );
      if (candidate) {
        fill = structuredClone(candidate);
        byName.set(fill.metadata.name ?? '', fill);
      }
    }
    if (!fill) fill = newEndpointSlice(service, ports, controllerName);
    while (desired.size > 0 && fill.endpoints.length < max) fill.endpoints.push(desired.pop());
    if (fill.metadata.name) {
      toUpdate.add(fill.metadata.name);
      unchanged.delete(fill.metadata.name);
    } else create.push(fill);
  }

  return {
    create,
    update: [...toUpdate].map((n) => byName.get(n) as SliceObject),
    delete: [...toDelete].map((n) => byName.get(n) as SliceObject),
  };
}

/** getSliceToFill: the fullest slice that still has room for all `count` endpoints. */
function sliceToFill(slices: SliceObject[], count: number, max: number): SliceObject | undefined {
  let best: SliceObject | undefined;
  for (const s of slices) {
    const len = s.endpoints?.length ?? 0;
    if (len + count <= max && (!best || len > (best.endpoints?.length ?? 0))) best = s;
  }
  return best;
}

function stripRefVersion(ep: SliceEndpoint): SliceEndpoint {
  if (!ep.targetRef?.resourceVersion) return ep;
  const { resourceVersion: _rv, ...ref } = ep.targetRef;
  return { ...ep, targetRef: ref };
}

/**
 * finalize's recycling: a slice about to be created takes the name of one about to be deleted
 * (same Service, same address type), so the change is one update instead of a create and a delete.
 */
function recycle(changes: SliceChanges, service: ServiceObject): void {
  for (let i = 0; i < changes.delete.length && changes.create.length > 0; ) {
    const victim = changes.delete[i];
    const slice = changes.create[changes.create.length - 1];
    if (victim.addressType === slice.addressType && ownedBy(victim, service)) {
      slice.metadata.name = victim.metadata.name;
      slice.metadata.resourceVersion = victim.metadata.resourceVersion;
      delete slice.metadata.generateName;
      changes.create.pop();
      changes.update.push(slice);
      changes.delete.splice(i, 1);
    } else i++;
  }
}

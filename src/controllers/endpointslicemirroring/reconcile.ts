/**
 * EndpointSlice mirroring, pure part (kube's pkg/controller/endpointslicemirroring): the
 * Endpoints a user wrote for a selector-less Service become EndpointSlices — one slice per
 * (address type, port set), at most 1000 addresses per subset — so consumers that only read
 * EndpointSlices (the proxy, DNS) see them too.
 */
import { isIP } from 'node:net';
import { newControllerRef, semanticEqual } from '../controller.js';
import type { EndpointsObject, Port } from '../endpoints/reconcile.js';
import { endpointKey, portMapKey, type SliceEndpoint, type SlicePort } from '../endpointslice/reconcile.js';
import {
  ANNOTATION_LAST_APPLIED,
  ANNOTATION_TRIGGER_TIME,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  MIRRORING_CONTROLLER,
  type SliceObject,
} from '../endpointslice/util.js';

/** `--mirroring-max-endpoints-per-subset` default. */
export const DEFAULT_MAX_ENDPOINTS_PER_SUBSET = 1000;

export interface MirrorChanges {
  create: SliceObject[];
  update: SliceObject[];
  delete: SliceObject[];
  /** Addresses that are not IPs, left out (upstream reports them as an InvalidIPAddress event). */
  invalid: number;
  /** Addresses beyond the per-subset maximum, left out (TooManyAddressesToMirror). */
  skipped: number;
}

type AddressType = 'IPv4' | 'IPv6';

/** addressToEndpoint: the endpoint for one address, or undefined when it is not an IP. */
export function addressToEndpoint(
  address: { ip: string; hostname?: string; nodeName?: string; targetRef?: SliceEndpoint['targetRef'] },
  ready: boolean,
): { endpoint: SliceEndpoint; addressType: AddressType } | undefined {
  const family = isIP(address.ip);
  if (!family) return undefined;
  const endpoint: SliceEndpoint = { addresses: [address.ip], conditions: { ready } };
  if (address.targetRef) endpoint.targetRef = address.targetRef;
  if (address.nodeName) endpoint.nodeName = address.nodeName;
  if (address.hostname) endpoint.hostname = address.hostname;
  return { endpoint, addressType: family === 6 ? 'IPv6' : 'IPv4' };
}

function slicePorts(ports: Port[] | undefined): SlicePort[] {
  return (ports ?? []).map((p) => {
    const out: SlicePort = { name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' };
    if (p.appProtocol !== undefined) out.appProtocol = p.appProtocol;
    return out;
  });
}

/** newEndpointSlice (mirroring): labels and annotations cloned from the Endpoints, owned by it. */
export function newMirroredSlice(endpoints: EndpointsObject, ports: SlicePort[], addressType: AddressType, name?: string): SliceObject {
  const labels: Record<string, string> = { ...(endpoints.metadata.labels ?? {}) };
  labels[LABEL_SERVICE_NAME] = endpoints.metadata.name ?? '';
  labels[LABEL_MANAGED_BY] = MIRRORING_CONTROLLER;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(endpoints.metadata.annotations ?? {})) {
    if (k !== ANNOTATION_TRIGGER_TIME && k !== ANNOTATION_LAST_APPLIED) annotations[k] = v;
  }
  const slice: SliceObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      namespace: endpoints.metadata.namespace,
      labels,
      ownerReferences: [newControllerRef(endpoints, 'v1', 'Endpoints')],
    },
    addressType,
    endpoints: [],
    ports,
  };
  if (Object.keys(annotations).length) slice.metadata.annotations = annotations;
  if (name) slice.metadata.name = name;
  else slice.metadata.generateName = `${endpoints.metadata.name}-`;
  return slice;
}

const sliceKey = (addressType: string, ports: SlicePort[] | undefined) => `${addressType}/${portMapKey(ports)}`;

/** Computes the slice writes that mirror `endpoints` (reconcile + reconcileByPortMapping + finalize). */
export function reconcileMirror(
  endpoints: EndpointsObject,
  existing: SliceObject[],
  maxPerSubset = DEFAULT_MAX_ENDPOINTS_PER_SUBSET,
): MirrorChanges {
  const changes: MirrorChanges = { create: [], update: [], delete: [], invalid: 0, skipped: 0 };
  const desired = new Map<string, { addressType: AddressType; ports: SlicePort[]; endpoints: Map<string, SliceEndpoint> }>();
  for (const subset of endpoints.subsets ?? []) {
    const ports = slicePorts(subset.ports);
    let added = 0;
    const all = [
      ...(subset.addresses ?? []).map((a) => [a, true] as const),
      ...(subset.notReadyAddresses ?? []).map((a) => [a, false] as const),
    ];
    for (const [address, ready] of all) {
      if (added >= maxPerSubset) {
        changes.skipped++;
        continue;
      }
      const converted = addressToEndpoint(address, ready);
      if (!converted) {
        changes.invalid++;
        continue;
      }
      const key = sliceKey(converted.addressType, ports);
      let d = desired.get(key);
      if (!d) {
        d = { addressType: converted.addressType, ports, endpoints: new Map() };
        desired.set(key, d);
      }
      d.endpoints.set(endpointKey(converted.endpoint), converted.endpoint);
      added++;
    }
  }

  const existingByKey = new Map<string, SliceObject[]>();
  for (const s of existing) {
    const key = sliceKey(s.addressType, s.ports);
    existingByKey.set(key, [...(existingByKey.get(key) ?? []), s]);
  }
  for (const [key, d] of desired) {
    const slices = existingByKey.get(key) ?? [];
    changes.delete.push(...slices.slice(1));
    const want = newMirroredSlice(endpoints, d.ports, d.addressType, slices[0]?.metadata.name);
    want.endpoints = [...d.endpoints.values()].slice(0, maxPerSubset);
    const have = slices[0];
    if (have) {
      const same =
        semanticEqual(have.endpoints ?? [], want.endpoints) &&
        semanticEqual(have.metadata.labels ?? {}, want.metadata.labels ?? {}) &&
        semanticEqual(have.metadata.annotations ?? {}, want.metadata.annotations ?? {}) &&
        semanticEqual(have.metadata.ownerReferences ?? [], want.metadata.ownerReferences ?? []);
      if (same) continue;
      want.metadata.resourceVersion = have.metadata.resourceVersion;
      changes.update.push(want);
    } else changes.create.push(want);
  }
  for (const [key, slices] of existingByKey) if (!desired.has(key)) changes.delete.push(...slices);

  // Recycle slices about to be deleted instead of creating new ones (same address type only).
  for (let i = 0; i < changes.delete.length && changes.create.length > 0; ) {
    const victim = changes.delete[i];
    const slice = changes.create[changes.create.length - 1];
    if (victim.addressType === slice.addressType) {
      slice.metadata.name = victim.metadata.name;
      delete slice.metadata.generateName;
      changes.create.pop();
      changes.update.push(slice);
      changes.delete.splice(i, 1);
    } else i++;
  }
  return changes;
}

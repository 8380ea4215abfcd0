/** Endpoints (core/v1) and EndpointSlice (discovery.k8s.io/v1) validation. */

import { type FieldError, fieldErr } from '../errors.js';
import type { KubeObject } from '../meta.js';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidIP,
  isValidPortNum,
  nameIsDNSSubdomain,
  nonSpecialIPErrors,
  parseIP,
} from '../names.js';
import { child, idx, validateImmutable, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { PORT_PROTOCOLS } from './service.js';

/* biome-ignore-start lint/suspicious/noExplicitAny: endpoint bodies are loosely typed JSON here */
type Json = any;
/* biome-ignore-end lint/suspicious/noExplicitAny: endpoint bodies are loosely typed JSON here */

export const MAX_SLICE_ENDPOINTS = 1000;
const MAX_SLICE_ADDRESSES = 100;
const MAX_SLICE_PORTS = 20000;
const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

function validateEndpointAddress(a: Json, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const ip = a?.ip ?? '';
  for (const m of isValidIP(ip)) errs.push(fieldErr.invalid(child(path, 'ip'), ip, m));
  if (a?.hostname) for (const m of isDNS1123Label(a.hostname)) errs.push(fieldErr.invalid(child(path, 'hostname'), a.hostname, m));
  if (a?.nodeName)
    for (const m of nameIsDNSSubdomain(a.nodeName, false)) errs.push(fieldErr.invalid(child(path, 'nodeName'), a.nodeName, m));
  for (const m of nonSpecialIPErrors(ip)) errs.push(fieldErr.invalid(child(path, 'ip'), ip, m));
  return errs;
}

function validateProtocol(protocol: string | undefined, path: string): FieldError[] {
  if (!protocol) return [fieldErr.required(path)];
  return PORT_PROTOCOLS.includes(protocol) ? [] : [fieldErr.notSupported(path, protocol, PORT_PROTOCOLS)];
}

export function validateEndpoints(ep: KubeObject): FieldError[] {
  const errs = validateObjectMeta(ep.metadata, true, nameIsDNSSubdomain);
  (ep.subsets ?? []).forEach((ss: Json, i: number) => {
    const p = idx('subsets', i);
    if (!(ss?.addresses?.length > 0) && !(ss?.notReadyAddresses?.length > 0))
      errs.push(fieldErr.required(p, 'must specify `addresses` or `notReadyAddresses`'));
    (ss?.addresses ?? []).forEach((a: Json, j: number) => {
      errs.push(...validateEndpointAddress(a, idx(child(p, 'addresses'), j)));
    });
    (ss?.notReadyAddresses ?? []).forEach((a: Json, j: number) => {
      errs.push(...validateEndpointAddress(a, idx(child(p, 'notReadyAddresses'), j)));
    });
    const ports: Json[] = ss?.ports ?? [];
    ports.forEach((port, j) => {
      const pp = idx(child(p, 'ports'), j);
      if (ports.length > 1 && !port?.name) errs.push(fieldErr.required(child(pp, 'name')));
      else if (port?.name) for (const m of isDNS1123Label(port.name)) errs.push(fieldErr.invalid(child(pp, 'name'), port.name, m));
      for (const m of isValidPortNum(port?.port ?? 0)) errs.push(fieldErr.invalid(child(pp, 'port'), port?.port ?? 0, m));
      errs.push(...validateProtocol(port?.protocol, child(pp, 'protocol')));
      if (port?.appProtocol)
        for (const m of isQualifiedName(port.appProtocol)) errs.push(fieldErr.invalid(child(pp, 'appProtocol'), port.appProtocol, m));
    });
  });
  return errs;
}

export function validateEndpointsUpdate(ep: KubeObject, old: KubeObject): FieldError[] {
  return [...validateObjectMetaUpdate(ep.metadata, old.metadata), ...validateEndpoints(ep).filter((e) => !e.field.startsWith('metadata.'))];
}

function validateSliceAddress(address: string, type: string, path: string): FieldError[] {
  switch (type) {
    case 'IPv4':
    case 'IPv6': {
      const ip = parseIP(address);
      const want = type === 'IPv4' ? 4 : 6;
      if (!ip || ip.family !== want) return [fieldErr.invalid(path, address, `must be a valid ${type} address`)];
      return nonSpecialIPErrors(address).map((m) => fieldErr.invalid(path, address, m));
    }
    case 'FQDN': {
      if (!address) return [fieldErr.required(path)];
      const errs = isDNS1123Subdomain(address).map((m) => fieldErr.invalid(path, address, m));
      if (address.split('.').length < 2)
        errs.push(fieldErr.invalid(path, address, 'should be a domain with at least two segments separated by dots'));
      return errs;
    }
  }
  return [];
}

/** ValidateEndpointSlice (+ addressType on create). Paths are top-level (`endpoints[0]...`), as in kube. */
export function validateEndpointSlice(slice: KubeObject, old?: KubeObject): FieldError[] {
  const errs = validateObjectMeta(slice.metadata, true, nameIsDNSSubdomain);
  const type: string = slice.addressType ?? '';
  const endpoints: Json[] = slice.endpoints ?? [];
  if (endpoints.length > MAX_SLICE_ENDPOINTS) errs.push(fieldErr.tooMany('endpoints', endpoints.length, MAX_SLICE_ENDPOINTS));
  else
    endpoints.forEach((e, i) => {
      const p = idx('endpoints', i);
      const addrs: string[] = e?.addresses ?? [];
      if (addrs.length === 0) errs.push(fieldErr.required(child(p, 'addresses'), 'must contain at least 1 address'));
      else if (addrs.length > MAX_SLICE_ADDRESSES) errs.push(fieldErr.tooMany(child(p, 'addresses'), addrs.length, MAX_SLICE_ADDRESSES));
      addrs.forEach((a, j) => {
        errs.push(...validateSliceAddress(a, type, idx(child(p, 'addresses'), j)));
      });
      if (e?.nodeName)
        for (const m of nameIsDNSSubdomain(e.nodeName, false)) errs.push(fieldErr.invalid(child(p, 'nodeName'), e.nodeName, m));
      if (e?.hostname) for (const m of isDNS1123Label(e.hostname)) errs.push(fieldErr.invalid(child(p, 'hostname'), e.hostname, m));
    });
  const ports: Json[] = slice.ports ?? [];
  if (ports.length > MAX_SLICE_PORTS) errs.push(fieldErr.tooMany('ports', ports.length, MAX_SLICE_PORTS));
  else {
    const names = new Set<string>();
    ports.forEach((port, i) => {
      const p = idx('ports', i);
      const name: string = port?.name ?? '';
      if (name) for (const m of isDNS1123Label(name)) errs.push(fieldErr.invalid(child(p, 'name'), name, m));
      if (names.has(name)) errs.push(fieldErr.duplicate(child(p, 'name'), name));
      names.add(name);
      errs.push(...validateProtocol(port?.protocol, child(p, 'protocol')));
      if (port?.appProtocol)
        for (const m of isQualifiedName(port.appProtocol)) errs.push(fieldErr.invalid(child(p, 'appProtocol'), port.appProtocol, m));
    });
  }
  if (old) {
    errs.unshift(...validateObjectMetaUpdate(slice.metadata, old.metadata));
    errs.push(...validateImmutable(slice.addressType, old.addressType, 'addressType'));
  } else if (!type) errs.push(fieldErr.required('addressType'));
  else if (!ADDRESS_TYPES.includes(type)) errs.push(fieldErr.notSupported('addressType', type, ADDRESS_TYPES));
  return errs;
}

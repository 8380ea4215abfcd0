/** Ingress and IngressClass validation (pkg/apis/networking/validation). */

import { type FieldError, fieldErr } from '../errors.js';
import type { KubeObject } from '../meta.js';
import {
  isDNS1123Subdomain,
  isValidPortName,
  isValidPortNum,
  nameIsDNS1035Label,
  nameIsDNSSubdomain,
  parseIP,
  regexError,
} from '../names.js';
import { child, idx, validateImmutable, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';

/* biome-ignore-start lint/suspicious/noExplicitAny: ingress bodies are loosely typed JSON here */
type Json = any;
/* biome-ignore-end lint/suspicious/noExplicitAny: ingress bodies are loosely typed JSON here */

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];
const wildcardFmt = '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';

function isWildcardDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!new RegExp(`^${wildcardFmt}$`).test(value))
    errs.push(
      regexError(
        "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character",
        wildcardFmt,
        '*.example.com',
      ),
    );
  return errs;
}

function validateBackend(b: Json, path: string): FieldError[] {
  const hasResource = !!b?.resource;
  const hasService = !!b?.service;
  if (hasResource && hasService) return [fieldErr.invalid(path, '', 'cannot set both resource and service backends')];
  if (hasResource) {
    const errs: FieldError[] = [];
    if (!b.resource.kind) errs.push(fieldErr.required(child(path, 'resource', 'kind')));
    if (!b.resource.name) errs.push(fieldErr.required(child(path, 'resource', 'name')));
    return errs;
  }
  if (!hasService) return [fieldErr.invalid(path, '', 'resource or service backend is required')];
  const errs: FieldError[] = [];
  const svc = b.service;
  if (!svc.name) errs.push(fieldErr.required(child(path, 'service', 'name')));
  else for (const m of nameIsDNS1035Label(svc.name, false)) errs.push(fieldErr.invalid(child(path, 'service', 'name'), svc.name, m));
  const portName: string = svc.port?.name ?? '';
  const portNumber: number = svc.port?.number ?? 0;
  if (portName && portNumber) errs.push(fieldErr.invalid(path, '', 'cannot set both port name & port number'));
  else if (portName)
    for (const m of isValidPortName(portName)) errs.push(fieldErr.invalid(child(path, 'service', 'port', 'name'), portName, m));
  else if (portNumber)
    for (const m of isValidPortNum(portNumber)) errs.push(fieldErr.invalid(child(path, 'service', 'port', 'number'), portNumber, m));
  else errs.push(fieldErr.required(path, 'port name or number is required'));
  return errs;
}

function validatePath(p: Json, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!p?.pathType) return [fieldErr.required(child(path, 'pathType'), 'pathType must be specified')];
  const value: string = p.path ?? '';
  switch (p.pathType) {
    case 'Exact':
    case 'Prefix':
      if (!value.startsWith('/')) errs.push(fieldErr.invalid(child(path, 'path'), value, 'must be an absolute path'));
      if (value) {
        for (const seq of INVALID_PATH_SEQUENCES)
          if (value.includes(seq)) errs.push(fieldErr.invalid(child(path, 'path'), value, `must not contain '${seq}'`));
        for (const suf of INVALID_PATH_SUFFIXES)
          if (value.endsWith(suf)) errs.push(fieldErr.invalid(child(path, 'path'), value, `cannot end with '${suf}'`));
      }
      break;
    case 'ImplementationSpecific':
      if (value && !value.startsWith('/')) errs.push(fieldErr.invalid(child(path, 'path'), value, 'must be an absolute path'));
      break;
    default:
      errs.push(fieldErr.notSupported(child(path, 'pathType'), p.pathType, PATH_TYPES));
  }
  errs.push(...validateBackend(p.backend, child(path, 'backend')));
  return errs;
}

export function validateIngress(ing: KubeObject): FieldError[] {
  const errs = validateObjectMeta(ing.metadata, true, nameIsDNSSubdomain);
  const spec = ing.spec ?? {};
  const rules: Json[] = spec.rules ?? [];
  if (rules.length === 0 && !spec.defaultBackend)
    errs.push(fieldErr.invalid('spec', rules, 'either `defaultBackend` or `rules` must be specified'));
  if (spec.defaultBackend) errs.push(...validateBackend(spec.defaultBackend, 'spec.defaultBackend'));
  rules.forEach((r, i) => {
    const p = idx('spec.rules', i);
    const host: string = r?.host ?? '';
    if (host) {
      if (parseIP(host)) errs.push(fieldErr.invalid(child(p, 'host'), host, 'must be a DNS name, not an IP address'));
      const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
      for (const m of msgs) errs.push(fieldErr.invalid(child(p, 'host'), host, m));
    }
    if (r?.http) {
      const paths: Json[] = r.http.paths ?? [];
      if (paths.length === 0) errs.push(fieldErr.required(child(p, 'http', 'paths')));
      paths.forEach((hp, j) => {
        errs.push(...validatePath(hp, idx(child(p, 'http', 'paths'), j)));
      });
    }
  });
  (spec.tls ?? []).forEach((t: Json, i: number) => {
    (t?.hosts ?? []).forEach((h: string, j: number) => {
      const msgs = h.includes('*') ? isWildcardDNS1123Subdomain(h) : isDNS1123Subdomain(h);
      for (const m of msgs) errs.push(fieldErr.invalid(idx(child(idx('spec.tls', i), 'hosts'), j), h, m));
    });
  });
  if (spec.ingressClassName !== undefined && spec.ingressClassName !== null)
    for (const m of nameIsDNSSubdomain(spec.ingressClassName, false))
      errs.push(fieldErr.invalid('spec.ingressClassName', spec.ingressClassName, m));
  return errs;
}

export function validateIngressUpdate(ing: KubeObject, old: KubeObject): FieldError[] {
  return [...validateObjectMetaUpdate(ing.metadata, old.metadata), ...validateIngress(ing).filter((e) => !e.field.startsWith('metadata.'))];
}

export function validateIngressClass(ic: KubeObject, old?: KubeObject): FieldError[] {
  const errs = validateObjectMeta(ic.metadata, false, nameIsDNSSubdomain);
  const controller: string = ic.spec?.controller ?? '';
  const p = 'spec.controller';
  if (controller.length > 250) errs.push(fieldErr.tooLong(p, controller, 250));
  if (!controller) errs.push(fieldErr.required(p));
  else {
    const slash = controller.indexOf('/');
    const host = slash < 0 ? '' : controller.slice(0, slash);
    const rest = slash < 0 ? '' : controller.slice(slash + 1);
    if (!host || !rest) errs.push(fieldErr.invalid(p, controller, 'must be a domain-prefixed path (such as "acme.io/foo")'));
    else {
      for (const m of isDNS1123Subdomain(host)) errs.push(fieldErr.invalid(p, host, m));
      if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(rest)) errs.push(fieldErr.invalid(p, rest, 'Invalid path'));
    }
  }
  const params = ic.spec?.parameters;
  if (params) {
    if (!params.kind) errs.push(fieldErr.required('spec.parameters.kind'));
    if (!params.name) errs.push(fieldErr.required('spec.parameters.name'));
    if (params.scope && !['Cluster', 'Namespace'].includes(params.scope))
      errs.push(fieldErr.notSupported('spec.parameters.scope', params.scope, ['Cluster', 'Namespace']));
  }
  if (old) {
    errs.unshift(...validateObjectMetaUpdate(ic.metadata, old.metadata));
    errs.push(...validateImmutable(ic.spec?.controller, old.spec?.controller, 'spec.controller'));
  }
  return errs;
}

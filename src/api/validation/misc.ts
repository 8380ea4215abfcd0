/** Namespace, Node, ConfigMap, Secret, ServiceAccount, Lease and Event validation. */

import { type FieldError, fieldErr } from '../errors.js';
import type { KubeObject } from '../meta.js';
import { isConfigMapKey, isValidCIDR, nameIsDNSLabel, nameIsDNSSubdomain, nameIsPathSegment } from '../names.js';
import { deepEqual, idx, validateImmutable, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';

/** core.MaxSecretSize, also the ConfigMap limit. */
export const MAX_SECRET_SIZE = 1024 * 1024;

const withUpdate = (obj: KubeObject, old: KubeObject | undefined, create: FieldError[]): FieldError[] =>
  old ? [...validateObjectMetaUpdate(obj.metadata, old.metadata), ...create.filter((e) => !e.field.startsWith('metadata.'))] : create;

export function validateNamespace(ns: KubeObject, old?: KubeObject): FieldError[] {
  const errs = validateObjectMeta(ns.metadata, false, nameIsDNSLabel);
  (ns.spec?.finalizers ?? []).forEach((f: string, i: number) => {
    if (!f.includes('/') && f !== 'kubernetes')
      errs.push(fieldErr.invalid(idx('spec.finalizers', i), f, 'name is neither a standard finalizer name nor is it fully qualified'));
  });
  return withUpdate(ns, old, errs);
}

export function validateNode(node: KubeObject, old?: KubeObject): FieldError[] {
  const errs = validateObjectMeta(node.metadata, false, nameIsDNSSubdomain);
  const cidrs: string[] = node.spec?.podCIDRs ?? [];
  cidrs.forEach((c, i) => {
    for (const m of isValidCIDR(c)) errs.push(fieldErr.invalid(idx('spec.podCIDRs', i), c, m));
  });
  if (cidrs.length > 2) errs.push(fieldErr.invalid('spec.podCIDRs', cidrs, 'may specify no more than one CIDR for each IP family'));
  if (node.spec?.podCIDR && cidrs.length && cidrs[0] !== node.spec.podCIDR)
    errs.push(fieldErr.invalid('spec.podCIDRs', cidrs, 'first value must match `podCIDR`'));
  if (old) {
    const oldCIDRs: string[] = old.spec?.podCIDRs ?? [];
    if (oldCIDRs.length > 0 && !deepEqual(oldCIDRs, cidrs))
      errs.push(fieldErr.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
    const oldProvider = old.spec?.providerID ?? '';
    if (oldProvider && oldProvider !== (node.spec?.providerID ?? ''))
      errs.push(fieldErr.forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  return withUpdate(node, old, errs);
}

function validateDataKeys(
  data: Record<string, string> | undefined,
  path: string,
  other: Record<string, string> | undefined,
  otherName: string,
): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of Object.keys(data ?? {}).sort()) {
    for (const m of isConfigMapKey(key)) errs.push(fieldErr.invalid(idx(path, key), key, m));
    if (other && Object.hasOwn(other, key)) errs.push(fieldErr.invalid(idx(path, key), key, `duplicate of key present in ${otherName}`));
  }
  return errs;
}

function immutableData(obj: KubeObject, old: KubeObject | undefined, fields: string[]): FieldError[] {
  if (!old?.immutable) return [];
  const errs: FieldError[] = [];
  if (!obj.immutable) errs.push(fieldErr.forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of fields)
    if (!deepEqual(obj[f] ?? null, old[f] ?? null)) errs.push(fieldErr.forbidden(f, 'field is immutable when `immutable` is set'));
  return errs;
}

export function validateConfigMap(cm: KubeObject, old?: KubeObject): FieldError[] {
  const errs = validateObjectMeta(cm.metadata, true, nameIsDNSSubdomain);
  errs.push(...validateDataKeys(cm.data, 'data', cm.binaryData, 'binaryData'));
  errs.push(...validateDataKeys(cm.binaryData, 'binaryData', cm.data, 'data'));
  let total = 0;
  for (const v of Object.values<string>(cm.data ?? {})) total += Buffer.byteLength(v ?? '');
  for (const v of Object.values<string>(cm.binaryData ?? {})) total += Buffer.from(v ?? '', 'base64').length;
  if (total > MAX_SECRET_SIZE) errs.push(fieldErr.tooLong('', '', MAX_SECRET_SIZE));
  errs.push(...immutableData(cm, old, ['data', 'binaryData']));
  return withUpdate(cm, old, errs);
}

export function validateSecret(secret: KubeObject, old?: KubeObject): FieldError[] {
  const errs = validateObjectMeta(secret.metadata, true, nameIsDNSSubdomain);
  const data: Record<string, string> = secret.data ?? {};
  errs.push(...validateDataKeys(data, 'data', undefined, ''));
  let total = 0;
  for (const v of Object.values(data)) total += Buffer.from(v ?? '', 'base64').length;
  if (total > MAX_SECRET_SIZE) errs.push(fieldErr.tooLong('data', '', MAX_SECRET_SIZE));
  const has = (k: string) => Object.hasOwn(data, k);
  switch (secret.type) {
    case 'kubernetes.io/service-account-token':
      if (!secret.metadata?.annotations?.['kubernetes.io/service-account.name'])
        errs.push(fieldErr.required('metadata.annotations[kubernetes.io/service-account.name]'));
      break;
    case 'kubernetes.io/dockercfg':
      if (!has('.dockercfg')) errs.push(fieldErr.required('data[.dockercfg]'));
      break;
    case 'kubernetes.io/dockerconfigjson':
      if (!has('.dockerconfigjson')) errs.push(fieldErr.required('data[.dockerconfigjson]'));
      break;
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) errs.push(fieldErr.required('data[username]'));
      break;
    case 'kubernetes.io/ssh-auth':
      if (!has('ssh-privatekey')) errs.push(fieldErr.required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) errs.push(fieldErr.required('data[tls.crt]'));
      if (!has('tls.key')) errs.push(fieldErr.required('data[tls.key]'));
      break;
  }
  if (old) {
    errs.push(...validateImmutable(secret.type ?? '', old.type ?? '', 'type'));
    errs.push(...immutableData(secret, old, ['data']));
  }
  return withUpdate(secret, old, errs);
}

export function validateServiceAccount(sa: KubeObject, old?: KubeObject): FieldError[] {
  return withUpdate(sa, old, validateObjectMeta(sa.metadata, true, nameIsDNSSubdomain));
}

export function validateLease(lease: KubeObject, old?: KubeObject): FieldError[] {
  const errs = validateObjectMeta(lease.metadata, true, nameIsDNSSubdomain);
  const spec = lease.spec ?? {};
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds !== null && spec.leaseDurationSeconds <= 0)
    errs.push(fieldErr.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions !== null && spec.leaseTransitions < 0)
    errs.push(fieldErr.invalid('spec.leaseTransitions', spec.leaseTransitions, 'must be greater than or equal to 0'));
  return withUpdate(lease, old, errs);
}

/** core/v1 Event: the involved object's namespace must be the event's (cluster-scoped objects: default or none). */
export function validateEvent(ev: KubeObject, old?: KubeObject): FieldError[] {
  const errs = validateObjectMeta(ev.metadata, true, nameIsDNSSubdomain);
  const involvedNs: string = ev.involvedObject?.namespace ?? '';
  const ns = ev.metadata?.namespace ?? '';
  if (!involvedNs) {
    if (ns && ns !== 'default') errs.push(fieldErr.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
  } else if (ns !== involvedNs) {
    errs.push(fieldErr.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
  }
  if (ev.type && !['Normal', 'Warning'].includes(ev.type)) errs.push(fieldErr.notSupported('type', ev.type, ['Normal', 'Warning']));
  if (old) errs.push(...validateImmutable(ev.involvedObject, old.involvedObject, 'involvedObject'));
  return withUpdate(ev, old, errs);
}

/** events.k8s.io/v1 Events have a different shape; reportingController and action are required there. */
export function validateEventsV1(ev: KubeObject, old?: KubeObject): FieldError[] {
  const errs = validateObjectMeta(ev.metadata, true, nameIsPathSegment);
  if (!ev.reportingController) errs.push(fieldErr.required('reportingController'));
  if (!ev.action) errs.push(fieldErr.required('action'));
  if (!ev.reason) errs.push(fieldErr.required('reason'));
  if (ev.type && !['Normal', 'Warning'].includes(ev.type)) errs.push(fieldErr.notSupported('type', ev.type, ['Normal', 'Warning']));
  if (old) errs.push(...validateImmutable(ev.regarding, old.regarding, 'regarding'));
  return withUpdate(ev, old, errs);
}

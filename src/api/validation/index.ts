/**
 * One entry point for API validation: `validate(kind, obj, old?)` returns kube-apiserver's field
 * errors for a create (no `old`) or an update. The registry turns a non-empty list into
 * `invalid(kind, name, errs)` (HTTP 422). Objects are expected defaulted, with allocations done.
 */

import type { FieldError } from '../errors.js';
import type { KubeObject } from '../meta.js';
import { nameIsDNSSubdomain } from '../names.js';
import { validateDeployment, validateDeploymentUpdate, validateReplicaSet, validateReplicaSetUpdate } from './apps.js';
import { validateEndpointSlice, validateEndpoints, validateEndpointsUpdate } from './endpoints.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import {
  validateConfigMap,
  validateEvent,
  validateEventsV1,
  validateLease,
  validateNamespace,
  validateNode,
  validateSecret,
  validateServiceAccount,
} from './misc.js';
import { validateIngress, validateIngressClass, validateIngressUpdate } from './networking.js';
import { validatePod, validatePodUpdate } from './pod.js';
import { validateService, validateServiceUpdate } from './service.js';

export * from './apps.js';
export * from './endpoints.js';
export * from './meta.js';
export * from './misc.js';
export * from './networking.js';
export * from './pod.js';
export * from './service.js';

type Validator = (obj: KubeObject, old?: KubeObject) => FieldError[];

const validators: Record<string, Validator> = {
  Service: (o, old) => (old ? validateServiceUpdate(o, old) : validateService(o)),
  Pod: (o, old) => (old ? validatePodUpdate(o, old) : validatePod(o)),
  Deployment: (o, old) => (old ? validateDeploymentUpdate(o, old) : validateDeployment(o)),
  ReplicaSet: (o, old) => (old ? validateReplicaSetUpdate(o, old) : validateReplicaSet(o)),
  Endpoints: (o, old) => (old ? validateEndpointsUpdate(o, old) : validateEndpoints(o)),
  EndpointSlice: validateEndpointSlice,
  Ingress: (o, old) => (old ? validateIngressUpdate(o, old) : validateIngress(o)),
  IngressClass: validateIngressClass,
  Namespace: validateNamespace,
  Node: validateNode,
  ConfigMap: validateConfigMap,
  Secret: validateSecret,
  ServiceAccount: validateServiceAccount,
  Lease: validateLease,
  Event: (o, old) => (o.apiVersion === 'events.k8s.io/v1' ? validateEventsV1(o, old) : validateEvent(o, old)),
};

/** Kinds that live outside namespaces; everything else is namespaced. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'IngressClass',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'StorageClass',
  'PriorityClass',
]);

/**
 * Validates `obj` of `kind` (create when `old` is absent). Unknown kinds get ObjectMeta checks
 * only (DNS-1123 subdomain names).
 */
export function validate(kind: string, obj: KubeObject, old?: KubeObject): FieldError[] {
  const v = validators[kind];
  if (v) return v(obj, old);
  const namespaced = !CLUSTER_SCOPED.has(kind);
  if (old)
    return [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validateObjectMeta(obj.metadata, namespaced, nameIsDNSSubdomain).filter((e) => e.field !== 'metadata.labels'),
    ];
  return validateObjectMeta(obj.metadata, namespaced, nameIsDNSSubdomain);
}

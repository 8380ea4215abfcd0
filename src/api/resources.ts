/**
 * The registry of served resources. Discovery, routing, OpenAPI, decoding and field selectors are
 * all driven by this one table, so adding a kind means adding one entry here (plus its schema in
 * src/api/types/ and its strategy in the registry).
 */
import type { TSchema } from '@sinclair/typebox';
import type { KubeObject } from './meta.js';
import { Deployment, DeploymentList, ReplicaSet, ReplicaSetList, Scale } from './types/apps.js';
import { SelfSubjectReview, TokenReview } from './types/authentication.js';
import { LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview } from './types/authorization.js';
import { Lease, LeaseList } from './types/coordination.js';
import {
  Binding,
  ConfigMap,
  ConfigMapList,
  Endpoints,
  EndpointsList,
  Event,
  EventList,
  Namespace,
  NamespaceList,
  Node,
  NodeList,
  Pod,
  PodList,
  Secret,
  SecretList,
  Service,
  ServiceAccount,
  ServiceAccountList,
  ServiceList,
} from './types/core.js';
import { EndpointSlice, EndpointSliceList } from './types/discovery.js';
import { EventsV1Event, EventsV1EventList } from './types/events.js';
import { Ingress, IngressClass, IngressClassList, IngressList } from './types/networking.js';

/** A group/version/kind triple; `group` is '' for the core group. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** A subresource such as `pods/status` or `deployments/scale`. */
export interface SubresourceInfo {
  /** Path segment after the object name: `status`, `scale`, `log`, `exec`, … */
  name: string;
  /** Kind of the object the subresource takes and returns (`Scale` for scale, the parent kind for status). */
  responseKind: GroupVersionKind;
  /** Schema of that object when it has a body we decode (status, scale, binding); absent for streams. */
  schema?: TSchema;
  verbs: string[];
}

/** Everything the API server needs to know about one served resource. */
export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name used in URLs, e.g. `services`. */
  resource: string;
  /** Singular name, accepted by kubectl (`kubectl get service`). */
  singular: string;
  /** Short aliases (`svc`); kubectl only learns them from discovery. */
  shortNames: string[];
  namespaced: boolean;
  /** Groupings for `kubectl get <category>`; `all` is the one that matters. */
  categories: string[];
  verbs: string[];
  subresources: SubresourceInfo[];
  /** The object schema (src/api/types): decoding, OpenAPI, patch metadata. */
  schema: TSchema;
  /** `ServiceList`; empty for virtual resources, which have no list. */
  listKind: string;
  listSchema?: TSchema;
  /**
   * A create-only review (SelfSubjectAccessReview, SelfSubjectReview, …): computed per request,
   * never stored, served by src/apiserver/reviews.ts rather than by generic storage.
   */
  virtual: boolean;
  /** Field labels usable in `fieldSelector`, as upstream supports them for this resource. */
  fieldSelectors: string[];
}

const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];
const NAMESPACED_META = ['metadata.name', 'metadata.namespace'];
const CLUSTER_META = ['metadata.name'];

interface Entry {
  group?: string;
  version?: string;
  kind: string;
  resource: string;
  shortNames?: string[];
  namespaced: boolean;
  categories?: string[];
  subresources?: SubresourceInfo[];
  schema: TSchema;
  listSchema?: TSchema;
  fieldSelectors?: string[];
  verbs?: string[];
  virtual?: boolean;
}

function resourceInfo(e: Entry): ResourceInfo {
  const meta = e.namespaced ? NAMESPACED_META : CLUSTER_META;
  return {
    group: e.group ?? '',
    version: e.version ?? 'v1',
    kind: e.kind,
    resource: e.resource,
    singular: e.kind.toLowerCase(),
    shortNames: e.shortNames ?? [],
    namespaced: e.namespaced,
    categories: e.categories ?? [],
    verbs: e.verbs ?? STANDARD_VERBS,
    subresources: e.subresources ?? [],
    schema: e.schema,
    listKind: e.listSchema ? `${e.kind}List` : '',
    listSchema: e.listSchema,
    virtual: e.virtual ?? false,
    fieldSelectors: [...meta, ...(e.fieldSelectors ?? [])],
  };
}

const gvk = (group: string, version: string, kind: string): GroupVersionKind => ({ group, version, kind });
const statusOf = (group: string, kind: string, schema: TSchema): SubresourceInfo => ({
  name: 'status',
  responseKind: gvk(group, 'v1', kind),
  schema,
  verbs: STATUS_VERBS,
});
const scale: SubresourceInfo = { name: 'scale', responseKind: gvk('autoscaling', 'v1', 'Scale'), schema: Scale, verbs: STATUS_VERBS };
const stream = (name: string, kind: string, verbs: string[]): SubresourceInfo => ({ name, responseKind: gvk('', 'v1', kind), verbs });
const PROXY_VERBS = ['create', 'delete', 'get', 'patch', 'update'];
/** A cluster-scoped, create-only review kind that nothing stores (kube-apiserver serves these the same way). */
const review = (group: string, kind: string, schema: TSchema): Entry => ({
  group,
  kind,
  resource: `${kind.toLowerCase()}s`,
  namespaced: false,
  schema,
  verbs: ['create'],
  virtual: true,
});

/** Every served resource, in discovery order. */
export const RESOURCES: ResourceInfo[] = [
  resourceInfo({
    kind: 'Namespace',
    resource: 'namespaces',
    shortNames: ['ns'],
    namespaced: false,
    schema: Namespace,
    listSchema: NamespaceList,
    subresources: [
      statusOf('', 'Namespace', Namespace),
      { name: 'finalize', responseKind: gvk('', 'v1', 'Namespace'), schema: Namespace, verbs: ['update'] },
    ],
    fieldSelectors: ['status.phase'],
  }),
  resourceInfo({
    kind: 'Pod',
    resource: 'pods',
    shortNames: ['po'],
    namespaced: true,
    categories: ['all'],
    schema: Pod,
    listSchema: PodList,
    subresources: [
      statusOf('', 'Pod', Pod),
      stream('log', 'Pod', ['get']),
      stream('exec', 'PodExecOptions', ['create', 'get']),
      stream('attach', 'PodAttachOptions', ['create', 'get']),
      stream('portforward', 'PodPortForwardOptions', ['create', 'get']),
      stream('proxy', 'PodProxyOptions', PROXY_VERBS),
      { name: 'binding', responseKind: gvk('', 'v1', 'Binding'), schema: Binding, verbs: ['create'] },
      { name: 'eviction', responseKind: gvk('policy', 'v1', 'Eviction'), verbs: ['create'] },
    ],
    fieldSelectors: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  }),
  resourceInfo({
    kind: 'Service',
    resource: 'services',
    shortNames: ['svc'],
    namespaced: true,
    categories: ['all'],
    schema: Service,
    listSchema: ServiceList,
    subresources: [statusOf('', 'Service', Service), stream('proxy', 'ServiceProxyOptions', PROXY_VERBS)],
    fieldSelectors: ['spec.clusterIP', 'spec.type'],
  }),
  resourceInfo({
    kind: 'Endpoints',
    resource: 'endpoints',
    shortNames: ['ep'],
    namespaced: true,
    schema: Endpoints,
    listSchema: EndpointsList,
  }),
  resourceInfo({
    kind: 'Event',
    resource: 'events',
    shortNames: ['ev'],
    namespaced: true,
    schema: Event,
    listSchema: EventList,
    fieldSelectors: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  }),
  resourceInfo({
    kind: 'Node',
    resource: 'nodes',
    shortNames: ['no'],
    namespaced: false,
    schema: Node,
    listSchema: NodeList,
    subresources: [statusOf('', 'Node', Node), stream('proxy', 'NodeProxyOptions', PROXY_VERBS)],
    fieldSelectors: ['spec.unschedulable'],
  }),
  resourceInfo({
    kind: 'ConfigMap',
    resource: 'configmaps',
    shortNames: ['cm'],
    namespaced: true,
    schema: ConfigMap,
    listSchema: ConfigMapList,
  }),
  resourceInfo({ kind: 'Secret', resource: 'secrets', namespaced: true, schema: Secret, listSchema: SecretList, fieldSelectors: ['type'] }),
  resourceInfo({
    kind: 'ServiceAccount',
    resource: 'serviceaccounts',
    shortNames: ['sa'],
    namespaced: true,
    schema: ServiceAccount,
    listSchema: ServiceAccountList,
    subresources: [{ name: 'token', responseKind: gvk('authentication.k8s.io', 'v1', 'TokenRequest'), verbs: ['create'] }],
  }),
  resourceInfo({
    group: 'apps',
    kind: 'Deployment',
    resource: 'deployments',
    shortNames: ['deploy'],
    namespaced: true,
    categories: ['all'],
    schema: Deployment,
    listSchema: DeploymentList,
    subresources: [statusOf('apps', 'Deployment', Deployment), scale],
  }),
  resourceInfo({
    group: 'apps',
    kind: 'ReplicaSet',
    resource: 'replicasets',
    shortNames: ['rs'],
    namespaced: true,
    categories: ['all'],
    schema: ReplicaSet,
    listSchema: ReplicaSetList,
    subresources: [statusOf('apps', 'ReplicaSet', ReplicaSet), scale],
    fieldSelectors: ['status.replicas'],
  }),
  resourceInfo({
    group: 'discovery.k8s.io',
    kind: 'EndpointSlice',
    resource: 'endpointslices',
    namespaced: true,
    schema: EndpointSlice,
    listSchema: EndpointSliceList,
  }),
  resourceInfo({
    group: 'networking.k8s.io',
    kind: 'Ingress',
    resource: 'ingresses',
    shortNames: ['ing'],
    namespaced: true,
    schema: Ingress,
    listSchema: IngressList,
    subresources: [statusOf('networking.k8s.io', 'Ingress', Ingress)],
  }),
  resourceInfo({
    group: 'networking.k8s.io',
    kind: 'IngressClass',
    resource: 'ingressclasses',
    namespaced: false,
    schema: IngressClass,
    listSchema: IngressClassList,
  }),
  resourceInfo({ group: 'coordination.k8s.io', kind: 'Lease', resource: 'leases', namespaced: true, schema: Lease, listSchema: LeaseList }),
  resourceInfo({
    group: 'events.k8s.io',
    kind: 'Event',
    resource: 'events',
    shortNames: ['ev'],
    namespaced: true,
    schema: EventsV1Event,
    listSchema: EventsV1EventList,
    fieldSelectors: [
      'regarding.kind',
      'regarding.namespace',
      'regarding.name',
      'regarding.uid',
      'regarding.apiVersion',
      'regarding.resourceVersion',
      'regarding.fieldPath',
      'reason',
      'reportingController',
      'type',
    ],
  }),
  resourceInfo(review('authentication.k8s.io', 'SelfSubjectReview', SelfSubjectReview)),
  resourceInfo(review('authentication.k8s.io', 'TokenReview', TokenReview)),
  resourceInfo({ ...review('authorization.k8s.io', 'LocalSubjectAccessReview', LocalSubjectAccessReview), namespaced: true }),
  resourceInfo(review('authorization.k8s.io', 'SelfSubjectAccessReview', SelfSubjectAccessReview)),
  resourceInfo(review('authorization.k8s.io', 'SelfSubjectRulesReview', SelfSubjectRulesReview)),
  resourceInfo(review('authorization.k8s.io', 'SubjectAccessReview', SubjectAccessReview)),
];

/** `v1` for the core group, `group/version` otherwise: the apiVersion objects carry. */
export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Splits an apiVersion string (`apps/v1`, `v1`) into group and version. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** The URL prefix of a group/version: `/api/v1` or `/apis/apps/v1`. */
export function groupVersionPath(r: { group: string; version: string }): string {
  return r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
}

/** The resource served at `group/version/plural`, if any. */
export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

/** The resource serving `kind` in `group` (any version; we serve one per group). */
export function resourceByKind(group: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.kind === kind);
}

/** The resource for an object's apiVersion and kind. */
export function resourceForObject(obj: { apiVersion?: string; kind?: string }): ResourceInfo | undefined {
  if (!obj.apiVersion || !obj.kind) return undefined;
  const { group, version } = parseApiVersion(obj.apiVersion);
  return RESOURCES.find((r) => r.group === group && r.version === version && r.kind === obj.kind);
}

/**
 * Resolves what a user typed (`svc`, `service`, `services`, `services.networking.k8s.io`-style
 * `resource.group` is also accepted), the way kubectl's RESTMapper does: plural, singular, short
 * name, case-insensitively; the core group wins ties (as `ev` → core events).
 */
export function resolveShortName(name: string): ResourceInfo | undefined {
  const lower = name.toLowerCase();
  const dot = lower.indexOf('.');
  const [word, group] = dot < 0 ? [lower, undefined] : [lower.slice(0, dot), lower.slice(dot + 1)];
  const candidates = group === undefined ? RESOURCES : RESOURCES.filter((r) => r.group === group);
  return candidates.find((r) => r.resource === word || r.singular === word || r.shortNames.includes(word));
}

/** Every served group/version with its resources, in registry order (core first). */
export function groupVersions(): { group: string; version: string; resources: ResourceInfo[] }[] {
  const out: { group: string; version: string; resources: ResourceInfo[] }[] = [];
  for (const r of RESOURCES) {
    let gv = out.find((g) => g.group === r.group && g.version === r.version);
    if (!gv) {
      gv = { group: r.group, version: r.version, resources: [] };
      out.push(gv);
    }
    gv.resources.push(r);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Field selectors

function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Go's zero-value-aware string form: absent strings are "", absent bools "false", numbers decimal. */
function asString(v: unknown, zero: string): string {
  if (v === undefined || v === null) return zero;
  return String(v);
}

/** Field labels whose value is not simply the field at that path. */
const SPECIAL: Record<string, (obj: KubeObject) => string> = {
  'spec.hostNetwork': (o) => asString(o.spec?.hostNetwork, 'false'),
  'spec.unschedulable': (o) => asString(o.spec?.unschedulable, 'false'),
  'status.podIP': (o) => asString(o.status?.podIPs?.[0]?.ip ?? o.status?.podIP, ''),
  'status.replicas': (o) => asString(o.status?.replicas, '0'),
  source: (o) => asString(o.source?.component, ''),
};

/**
 * The value of a field label on an object, as kube-apiserver computes it for fieldSelector
 * matching (`spec.hostNetwork` → "true"/"false", absent strings → ""). Undefined when the resource
 * does not support that label, which the server reports as `field label not supported`.
 */
export function fieldValue(info: ResourceInfo, obj: KubeObject, fieldPath: string): string | undefined {
  if (!info.fieldSelectors.includes(fieldPath)) return undefined;
  const special = SPECIAL[fieldPath];
  if (special) return special(obj);
  return asString(at(obj, fieldPath), '');
}

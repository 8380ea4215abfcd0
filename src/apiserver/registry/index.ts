/**
 * The registry: one GenericStorage per served resource, wired with its strategy, validation and
 * defaulting; discovery facts; the namespace lifecycle checks; and the objects a new cluster starts
 * with (the four namespaces, the `kubernetes` and `kube-dns` Services).
 */

import { applyDefaults } from '../../api/defaults/index.js';
import { forbidden, notFound, StatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';
import { fieldValue, RESOURCES, type ResourceInfo } from '../../api/resources.js';
import { validate } from '../../api/validation/index.js';
import type { Client, GroupVersionResource } from '../../client/types.js';
import { R } from '../../client/types.js';
import type { Store } from '../../storage/types.js';
import type { DiscoveryResource } from '../discovery.js';
import { coreToEventsV1, eventsV1ToCore } from './events-conversion.js';
import { GenericStorage, type ResourceDef, type StoredAs } from './generic.js';
import { ServiceAllocation } from './services.js';
import { defaultStrategy, strategies } from './strategies.js';
import type { Strategy } from './strategy.js';

/** events.k8s.io/v1 Events are the core/v1 Events, seen through a conversion (as in Kubernetes). */
const EVENTS_V1_STORED_AS_CORE: StoredAs = {
  prefixRoot: '/registry/core/events/',
  toStored: eventsV1ToCore,
  fromStored: coreToEventsV1,
};

export interface ServedResource {
  info: ResourceInfo;
  discovery: DiscoveryResource;
  storage: GenericStorage;
  /** Label selector string of a scalable resource, for its Scale subresource. */
  scaleSelector?(obj: KubeObject): string;
}

export interface RegistryOptions {
  serviceCIDR: string;
  nodePortRange: string;
}

export const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function discoveryOf(info: ResourceInfo): DiscoveryResource {
  return {
    group: info.group,
    version: info.version,
    kind: info.kind,
    resource: info.resource,
    singular: info.singular,
    namespaced: info.namespaced,
    shortNames: info.shortNames,
    categories: info.categories,
    verbs: info.verbs,
    subresources: info.subresources.map((s) => ({
      name: s.name,
      kind: s.responseKind.kind,
      group: s.responseKind.group,
      version: s.responseKind.version,
      verbs: s.verbs,
    })),
  };
}

function matchLabelsString(
  sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined,
): string {
  if (!sel) return '';
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const vals = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${vals})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${vals})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export class Registry {
  private readonly byPath = new Map<string, ServedResource>();
  readonly resources: ServedResource[] = [];
  readonly discovery: DiscoveryResource[] = [];
  readonly services: ServiceAllocation;

  constructor(
    readonly store: Store,
    readonly opts: RegistryOptions,
  ) {
    this.services = new ServiceAllocation(opts.serviceCIDR, opts.nodePortRange);
    for (const info of RESOURCES) {
      // Reviews are answered per request (../reviews.ts); only discovery needs to know them.
      if (info.virtual) {
        this.discovery.push(discoveryOf(info));
        continue;
      }
      const def: ResourceDef = {
        group: info.group,
        version: info.version,
        kind: info.kind,
        resource: info.resource,
        namespaced: info.namespaced,
        listKind: info.listKind,
        fieldValue: (obj, field) => fieldValue(info, obj, field),
      };
      let strategy: Strategy = strategies[info.resource] ?? defaultStrategy;
      if (info.group === '' && info.resource === 'services') strategy = { ...strategy, ...this.services.strategy() };
      const storage = new GenericStorage(
        def,
        store,
        strategy,
        (obj, old) => validate(info.kind, obj, old),
        (obj) => applyDefaults(info.kind, obj),
        info.group === 'events.k8s.io' ? EVENTS_V1_STORED_AS_CORE : undefined,
      );
      const served: ServedResource = { info, discovery: discoveryOf(info), storage };
      if (info.resource === 'deployments' || info.resource === 'replicasets') {
        served.scaleSelector = (obj) => matchLabelsString(obj.spec?.selector);
      }
      this.resources.push(served);
      this.discovery.push(served.discovery);
      this.byPath.set(`${info.group}/${info.version}/${info.resource}`, served);
    }
  }

  find(group: string, version: string, resource: string): ServedResource | undefined {
    return this.byPath.get(`${group}/${version}/${resource}`);
  }

  mustFind(group: string, resource: string): ServedResource {
    const r = this.resources.find((x) => x.info.group === group && x.info.resource === resource);
    if (!r) throw new Error(`resource ${resource}.${group} is not served`);
    return r;
  }

  /** Creating in a namespace needs the namespace to exist and not be terminating (kube's NamespaceLifecycle). */
  async checkNamespaceWritable(namespace: string, res: ServedResource, name: string): Promise<void> {
    const ns = await this.mustFind('', 'namespaces').storage.tryGet(undefined, namespace);
    if (!ns) throw notFound({ group: '', resource: 'namespaces' }, namespace);
    if (ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') {
      throw forbidden(
        { group: res.info.group, resource: res.info.resource },
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  /** Rebuilds allocator state from the stored Services (the repair loop), before serving. */
  async start(): Promise<void> {
    await this.services.repair(() =>
      this.mustFind('', 'services')
        .storage.list(undefined)
        .then((l) => l.items),
    );
    this.services.startRepairLoop(() =>
      this.mustFind('', 'services')
        .storage.list(undefined)
        .then((l) => l.items),
    );
  }

  stop(): void {
    this.services.stopRepairLoop();
  }

  publishApiServerEndpoint(client: Client, ip: string, port: number): Promise<void> {
    return publishEndpoints(client, 'default', 'kubernetes', ip, [{ name: 'https', port, protocol: 'TCP' }]);
  }

  /** The `kube-dns` Service's endpoints: the cluster DNS served by the control plane. */
  publishClusterDnsEndpoint(client: Client, ip: string): Promise<void> {
    return publishEndpoints(client, 'kube-system', 'kube-dns', ip, [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      { name: 'metrics', port: 9153, protocol: 'TCP' },
    ]);
  }

  /** Objects every cluster has. Idempotent: runs at every start. */
  async bootstrap(client: Client): Promise<void> {
    for (const name of DEFAULT_NAMESPACES) {
      await ensure(client, R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
    await ensure(client, R.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: {
        type: 'ClusterIP',
        clusterIP: this.services.reservedIP(1),
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
        sessionAffinity: 'None',
      },
    });
    await ensure(client, R.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kube-dns',
        namespace: 'kube-system',
        labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
        annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
      },
      // No selector: the cluster DNS runs in the control plane, which writes its Endpoints.
      spec: {
        type: 'ClusterIP',
        clusterIP: this.services.reservedIP(10),
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
    });
  }
}

/**
 * Endpoints (and the matching EndpointSlice) for a Service served by the control plane itself —
 * the API server and the cluster DNS — as kube-apiserver's endpoint reconciler writes its own.
 */
async function publishEndpoints(
  client: Client,
  namespace: string,
  name: string,
  ip: string,
  ports: { name: string; port: number; protocol: string }[],
): Promise<void> {
  const endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip }], ports }],
  };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    ports,
  };
  for (const [gvr, obj] of [
    [R.endpoints, endpoints],
    [R.endpointslices, slice],
  ] as const) {
    try {
      const cur = await client.get(gvr, name, namespace);
      await client.update(gvr, { ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata.resourceVersion } } as KubeObject);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
      await client.create(gvr, obj as KubeObject);
    }
  }
}

/** Creates the object unless it exists (checked first: a Service's allocation runs before the store says "exists"). */
async function ensure(client: Client, gvr: GroupVersionResource, obj: KubeObject): Promise<void> {
  try {
    await client.get(gvr, obj.metadata.name!, obj.metadata.namespace);
    return;
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 404)) throw e;
  }
  try {
    await client.create(gvr, obj);
  } catch (e) {
    if (!(e instanceof StatusError && e.reason === 'AlreadyExists')) throw e;
  }
}

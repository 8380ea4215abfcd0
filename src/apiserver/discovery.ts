/**
 * API discovery documents, built from the served resources: aggregated (apidiscovery.k8s.io/v2,
 * what kubectl 1.32 asks for) and legacy (APIVersions / APIGroupList / APIResourceList, for
 * older clients). See shared/research/kubectl-protocol.md §1.
 */

export const AGGREGATED_DISCOVERY_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** The discovery-relevant facts of one served resource. */
export interface DiscoveryResource {
  group: string;
  version: string;
  kind: string;
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Subresources with their kind and verbs, e.g. {name:'status', kind:'Service', verbs:['get','patch','update']}. */
  subresources: { name: string; kind: string; group?: string; version?: string; verbs: string[] }[];
}

/** Preferred order of groups in /apis, as kube-apiserver lists them. */
const GROUP_ORDER = [
  'apps',
  'events.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'networking.k8s.io',
];

function groupsOf(resources: DiscoveryResource[]): string[] {
  const groups = [...new Set(resources.map((r) => r.group).filter((g) => g !== ''))];
  return groups.sort((a, b) => {
    const ia = GROUP_ORDER.indexOf(a);
    const ib = GROUP_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
}

function versionsOf(resources: DiscoveryResource[], group: string): string[] {
  return [...new Set(resources.filter((r) => r.group === group).map((r) => r.version))];
}

function aggregatedGroup(resources: DiscoveryResource[], group: string) {
  return {
    metadata: { name: group, creationTimestamp: null },
    versions: versionsOf(resources, group).map((version) => ({
      version,
      freshness: 'Current',
      resources: resources
        .filter((r) => r.group === group && r.version === version)
        .map((r) => ({
          resource: r.resource,
          responseKind: { group: r.group, version: r.version, kind: r.kind },
          scope: r.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: r.singular,
          verbs: r.verbs,
          ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
          ...(r.categories.length ? { categories: r.categories } : {}),
          ...(r.subresources.length
            ? {
                subresources: r.subresources.map((s) => ({
                  subresource: s.name,
                  responseKind: { group: s.group ?? r.group, version: s.version ?? r.version, kind: s.kind },
                  verbs: s.verbs,
                })),
              }
            : {}),
        })),
    })),
  };
}

/** GET /api (aggregated): the core group. */
export function aggregatedCore(resources: DiscoveryResource[]) {
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items: [aggregatedGroup(resources, '')] };
}

/** GET /apis (aggregated): every named group. */
export function aggregatedGroups(resources: DiscoveryResource[]) {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groupsOf(resources).map((g) => aggregatedGroup(resources, g)),
  };
}

/** GET /api (legacy). */
export function legacyApiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function legacyGroup(resources: DiscoveryResource[], group: string) {
  const versions = versionsOf(resources, group).map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** GET /apis (legacy). */
export function legacyGroupList(resources: DiscoveryResource[]) {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groupsOf(resources).map((g) => legacyGroup(resources, g)) };
}

/** GET /apis/{group} (legacy). */
export function legacyGroupDoc(resources: DiscoveryResource[], group: string) {
  if (!resources.some((r) => r.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...legacyGroup(resources, group) };
}

/** GET /api/v1 or /apis/{group}/{version} (legacy APIResourceList). */
export function legacyResourceList(resources: DiscoveryResource[], group: string, version: string) {
  const rs = resources.filter((r) => r.group === group && r.version === version);
  if (!rs.length) return undefined;
  const list: Record<string, unknown>[] = [];
  for (const r of rs) {
    list.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    });
    for (const s of r.subresources) {
      list.push({
        name: `${r.resource}/${s.name}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(s.group !== undefined ? { group: s.group, version: s.version } : {}),
        kind: s.kind,
        verbs: s.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources: list };
}

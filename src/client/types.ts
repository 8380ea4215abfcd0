/**
 * The Kubernetes client contract every component (controllers, proxy, DNS, agent) uses.
 * Two implementations: http/ (any API server, from a kubeconfig) and local/ (calls the
 * apiserver's own request handler in-process, through the same validation and allocation).
 */
import type { KubeList, KubeObject, WatchEvent } from '../api/meta.js';

/** Identifies a resource type, e.g. {group:'', version:'v1', resource:'services'}. */
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  /** Aborting ends the watch. */
  signal?: AbortSignal;
}

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** A stream of watch events; iterate with `for await`, stop with `close()` (or the signal). */
export interface WatchStream<T extends KubeObject = KubeObject> extends AsyncIterable<WatchEvent<T>> {
  close(): void;
}

/**
 * Errors are thrown as StatusError (src/api/errors.ts) carrying the server's Status, so callers
 * can test `err.code === 409` / `err.reason === 'NotFound'` the same way for every implementation.
 */
export interface Client {
  get<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, name: string, namespace?: string): Promise<T>;
  list<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, opts?: ListOptions): Promise<KubeList<T>>;
  watch<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, opts?: WatchOptions): Promise<WatchStream<T>>;
  /**
   * Creates (POST). With `subresource`, posts `obj` to that subresource of the object named by
   * obj.metadata.name, e.g. a Binding to pods/<name>/binding.
   */
  create<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    obj: T,
    opts?: WriteOptions & { namespace?: string; subresource?: string },
  ): Promise<T>;
  /** Replaces the object (PUT); `subresource` is e.g. 'status' or 'scale'. Optimistic concurrency via metadata.resourceVersion. */
  update<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    obj: T,
    opts?: WriteOptions & { namespace?: string; subresource?: string },
  ): Promise<T>;
  patch<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    name: string,
    type: PatchType,
    patch: unknown,
    opts?: WriteOptions & { namespace?: string; subresource?: string; force?: boolean },
  ): Promise<T>;
  delete<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    name: string,
    opts?: DeleteOptions & { namespace?: string },
  ): Promise<T | undefined>;
}

/** GVRs of the resources svcnet serves, for callers' convenience. */
export const R = {
  namespaces: { group: '', version: 'v1', resource: 'namespaces' },
  pods: { group: '', version: 'v1', resource: 'pods' },
  services: { group: '', version: 'v1', resource: 'services' },
  endpoints: { group: '', version: 'v1', resource: 'endpoints' },
  events: { group: '', version: 'v1', resource: 'events' },
  nodes: { group: '', version: 'v1', resource: 'nodes' },
  configmaps: { group: '', version: 'v1', resource: 'configmaps' },
  secrets: { group: '', version: 'v1', resource: 'secrets' },
  serviceaccounts: { group: '', version: 'v1', resource: 'serviceaccounts' },
  deployments: { group: 'apps', version: 'v1', resource: 'deployments' },
  replicasets: { group: 'apps', version: 'v1', resource: 'replicasets' },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' },
  ingresses: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' },
  ingressclasses: { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses' },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
  eventsV1: { group: 'events.k8s.io', version: 'v1', resource: 'events' },
} as const satisfies Record<string, GroupVersionResource>;

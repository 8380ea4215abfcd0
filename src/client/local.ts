/**
 * In-process client: builds ApiRequests and calls the API server's handler directly (no socket,
 * no TLS, no JSON round trip for watch events), so co-located components go through the same
 * validation, defaulting and allocation as remote ones.
 */
import { StatusError } from '../api/errors.js';
import type { KubeList, KubeObject, WatchEvent } from '../api/meta.js';
import type { ApiHandler } from '../apiserver/handler.js';
import type { ApiRequest, ApiResponse } from '../apiserver/request.js';
import { resourcePath } from './http.js';
import {
  type Client,
  type DeleteOptions,
  type GroupVersionResource,
  type ListOptions,
  PATCH_CONTENT_TYPES,
  type PatchType,
  type WatchOptions,
  type WatchStream,
  type WriteOptions,
} from './types.js';

function query(entries: Record<string, string | number | boolean | undefined>): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(entries)) if (v !== undefined && v !== '') q.set(k, String(v));
  return q;
}

function listParams(o?: ListOptions) {
  return {
    labelSelector: o?.labelSelector,
    fieldSelector: o?.fieldSelector,
    limit: o?.limit,
    continue: o?.continue,
    resourceVersion: o?.resourceVersion,
    resourceVersionMatch: o?.resourceVersionMatch,
  };
}

function writeParams(o?: WriteOptions & { force?: boolean }) {
  return { fieldManager: o?.fieldManager, dryRun: o?.dryRun ? 'All' : undefined, fieldValidation: o?.fieldValidation, force: o?.force };
}

export class LocalClient implements Client {
  constructor(
    private readonly handler: ApiHandler,
    private readonly user = 'system:svcnet',
  ) {}

  private async call<T>(req: Omit<ApiRequest, 'headers' | 'user'> & { headers?: ApiRequest['headers'] }): Promise<T> {
    const res: ApiResponse = await this.handler.handle({ headers: {}, user: this.user, ...req });
    if (res.kind === 'watch') throw new Error('unexpected watch response');
    if (res.kind !== 'json') {
      // A pre-serialized body (lists): parsing it already gives the caller objects of its own.
      const body = JSON.parse(String(res.body));
      if (res.status >= 400) throw StatusError.fromStatus(body as never);
      return body as T;
    }
    if (res.status >= 400) throw StatusError.fromStatus(res.body as never);
    // No copy: the registry builds every resource response afresh (decoded from the stored JSON,
    // or the object it just decoded from the request and wrote), and keeps no reference to it.
    // test/client/local.test.ts checks that callers never share objects with the server or each other.
    return res.body as T;
  }

  get<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, name: string, namespace?: string): Promise<T> {
    return this.call({ method: 'GET', path: resourcePath(gvr, namespace, name), query: new URLSearchParams() });
  }

  list<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, opts?: ListOptions): Promise<KubeList<T>> {
    return this.call({ method: 'GET', path: resourcePath(gvr, opts?.namespace), query: query(listParams(opts)) });
  }

  async watch<T extends KubeObject = KubeObject>(gvr: GroupVersionResource, opts?: WatchOptions): Promise<WatchStream<T>> {
    const q = query({
      ...listParams(opts),
      watch: true,
      allowWatchBookmarks: opts?.allowWatchBookmarks,
      timeoutSeconds: opts?.timeoutSeconds,
    });
    const res = await this.handler.handle({
      method: 'GET',
      path: resourcePath(gvr, opts?.namespace),
      query: q,
      headers: {},
      user: this.user,
    });
    if (res.kind !== 'watch') {
      const body = res.kind === 'json' ? res.body : JSON.parse(String(res.body));
      throw StatusError.fromStatus(body as never);
    }
    opts?.signal?.addEventListener('abort', () => res.close(), { once: true });
    // Each watcher's events are decoded for it alone by the registry: no copy needed.
    const it = res.events[Symbol.asyncIterator]() as AsyncIterator<WatchEvent<T>>;
    return { [Symbol.asyncIterator]: () => it, close: () => res.close() };
  }

  create<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    obj: T,
    opts?: WriteOptions & { namespace?: string; subresource?: string },
  ): Promise<T> {
    return this.call({
      method: 'POST',
      path: resourcePath(gvr, opts?.namespace ?? obj.metadata.namespace, opts?.subresource && obj.metadata.name, opts?.subresource),
      query: query(writeParams(opts)),
      bodyObject: obj, // decoded into a new object by the registry: the caller's stays untouched
    });
  }

  update<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    obj: T,
    opts?: WriteOptions & { namespace?: string; subresource?: string },
  ): Promise<T> {
    return this.call({
      method: 'PUT',
      path: resourcePath(gvr, opts?.namespace ?? obj.metadata.namespace, obj.metadata.name, opts?.subresource),
      query: query(writeParams(opts)),
      bodyObject: obj, // decoded into a new object by the registry: the caller's stays untouched
    });
  }

  patch<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    name: string,
    type: PatchType,
    patch: unknown,
    opts?: WriteOptions & { namespace?: string; subresource?: string; force?: boolean },
  ): Promise<T> {
    return this.call({
      method: 'PATCH',
      path: resourcePath(gvr, opts?.namespace, name, opts?.subresource),
      query: query(writeParams(opts)),
      headers: { 'content-type': PATCH_CONTENT_TYPES[type] },
      body: typeof patch === 'string' ? patch : JSON.stringify(patch),
    });
  }

  async delete<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    name: string,
    opts?: DeleteOptions & { namespace?: string },
  ): Promise<T | undefined> {
    const res = await this.call<T | { kind: 'Status' }>({
      method: 'DELETE',
      path: resourcePath(gvr, opts?.namespace, name),
      query: new URLSearchParams(),
      bodyObject: {
        gracePeriodSeconds: opts?.gracePeriodSeconds,
        propagationPolicy: opts?.propagationPolicy,
        preconditions: opts?.preconditions,
        dryRun: opts?.dryRun ? ['All'] : undefined,
      },
    });
    return (res as { kind?: string })?.kind === 'Status' ? undefined : (res as T);
  }
}

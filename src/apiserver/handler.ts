/**
 * The API server's request handler: routes a transport-neutral request to discovery, OpenAPI,
 * health, or a resource verb, and renders Status errors. Used by the HTTPS front and, without a
 * socket, by the in-process client.
 */
import { badRequest, methodNotAllowed, notFound, StatusError } from '../api/errors.js';
import type { KubeObject, WatchEvent } from '../api/meta.js';
import { decodeProtobufObject, PROTOBUF_CONTENT_TYPE } from '../api/protobuf/decode.js';
import {
  AGGREGATED_DISCOVERY_CONTENT_TYPE,
  aggregatedCore,
  aggregatedGroups,
  legacyApiVersions,
  legacyGroupDoc,
  legacyGroupList,
  legacyResourceList,
} from './discovery.js';
import { decodeBody, patchObject, selectorFilter, tableFor, trackManagedFields, wantsTable } from './machinery.js';
import { openapiDocumentResponse, openapiIndexResponse } from './openapi-routes.js';
import { openapiV2Response } from './openapi-v2.js';
import { type DeleteParams, MATCH_ALL, rfc3339 } from './registry/generic.js';
import type { Registry, ServedResource } from './registry/index.js';
import type { ApiRequest, ApiResponse, JsonResponse, WatchResponse } from './request.js';
import { json, parseResourcePath } from './request.js';
import { reviewRequest } from './reviews.js';

/** Where kubectl lists CustomResourceDefinitions (see ApiHandler.customResourceDefinitions). */
const CRD_LIST_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-svcnet',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-23T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** A handler for pods/log, exec, attach, portforward and the like (filled in by the agent work). */
export type ConnectHandler = (req: ApiRequest, res: ServedResource, namespace: string, name: string) => Promise<ApiResponse>;

export interface HandlerOptions {
  /** Address that legacy discovery advertises (host:port). */
  serverAddress: string;
  /** Readiness: false until the server's start-up hooks ran. */
  isReady?: () => boolean;
  connect?: Partial<Record<string, ConnectHandler>>;
  /** For TokenReview: the user a bearer token names, if any, and the audiences of this API's tokens. */
  authenticateToken?: (token: string) => Promise<string | undefined>;
  apiAudiences?: readonly string[];
}

function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return n;
}

export class ApiHandler {
  constructor(
    readonly registry: Registry,
    readonly opts: HandlerOptions,
  ) {}

  async handle(req: ApiRequest): Promise<ApiResponse> {
    try {
      return await this.route(req);
    } catch (e) {
      return errorResponse(e);
    }
  }

  private async route(req: ApiRequest): Promise<ApiResponse> {
    // Typed clients (kubectl create service/deployment/configmap…) send protobuf bodies.
    const bodyType = (req.headers['content-type'] ?? '').split(';')[0].trim();
    if (bodyType === PROTOBUF_CONTENT_TYPE && req.bodyBytes && req.bodyObject === undefined) {
      req = { ...req, bodyObject: decodeProtobufObject(req.bodyBytes).object, body: undefined };
    }
    const path = req.path.length > 1 ? req.path.replace(/\/+$/, '') : req.path;
    switch (path) {
      case '/version':
        return json(200, SERVER_VERSION);
      case '/healthz':
      case '/livez':
        return { kind: 'raw', status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok' };
      case '/readyz': {
        const ready = this.opts.isReady?.() ?? true;
        return { kind: 'raw', status: ready ? 200 : 500, contentType: 'text/plain; charset=utf-8', body: ready ? 'ok' : 'not ready' };
      }
      case '/api':
        return this.discovery(
          req,
          () => aggregatedCore(this.registry.discovery),
          () => legacyApiVersions(this.opts.serverAddress),
        );
      case '/apis':
        return this.discovery(
          req,
          () => aggregatedGroups(this.registry.discovery),
          () => legacyGroupList(this.registry.discovery),
        );
      case '/openapi/v3':
        return openapiIndexResponse();
      case '/openapi/v2':
        return openapiV2Response(req);
      case CRD_LIST_PATH:
        return this.customResourceDefinitions(req);
    }
    if (path.startsWith('/openapi/v3/')) return openapiDocumentResponse(path.slice('/openapi/v3/'.length), req);
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts.length === 2) {
      const doc = legacyResourceList(this.registry.discovery, '', parts[1]);
      if (doc) return json(200, doc);
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const doc = legacyGroupDoc(this.registry.discovery, parts[1]);
      if (doc) return json(200, doc);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const doc = legacyResourceList(this.registry.discovery, parts[1], parts[2]);
      if (doc) return json(200, doc);
    }
    const info = parseResourcePath(path);
    if (!info) throw pageNotFound();
    const review = await reviewRequest(req, info, { authenticateToken: this.opts.authenticateToken, apiAudiences: this.opts.apiAudiences });
    if (review) return review;
    const res = this.registry.find(info.group, info.version, info.resource);
    if (!res) throw pageNotFound();
    if (!res.info.namespaced && info.namespace !== undefined) throw pageNotFound();
    return this.resourceRequest(req, res, info.namespace, info.name, info.subresource);
  }

  private discovery(req: ApiRequest, aggregated: () => unknown, legacy: () => unknown): ApiResponse {
    if ((req.headers.accept ?? '').includes('as=APIGroupDiscoveryList')) {
      return { kind: 'raw', status: 200, contentType: AGGREGATED_DISCOVERY_CONTENT_TYPE, body: JSON.stringify(aggregated()) };
    }
    return json(200, legacy());
  }

  private async resourceRequest(
    req: ApiRequest,
    res: ServedResource,
    namespace: string | undefined,
    name: string | undefined,
    subresource: string | undefined,
  ): Promise<ApiResponse> {
    const q = req.query;
    const storage = res.storage;
    const method = req.method.toUpperCase();
    const dryRun = q.getAll('dryRun').includes('All');
    const table = wantsTable(req.headers.accept);

    if (subresource === 'binding' && res.info.resource === 'pods' && name && method === 'POST') {
      return this.bind(req, res, namespace, name, dryRun);
    }
    if (subresource && !['status', 'scale', 'finalize'].includes(subresource)) {
      const connect = this.opts.connect?.[`${res.info.resource}/${subresource}`];
      if (!connect || !name) throw pageNotFound();
      return connect(req, res, namespace ?? '', name);
    }

    if (!name) {
      // Collection verbs.
      const filter = selectorFilter(res, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined);
      if (method === 'GET' && queryBool(q, 'watch')) {
        return this.watchResponse(res, namespace, req, filter, table);
      }
      if (method === 'GET') {
        const params = {
          filter,
          limit: queryInt(q, 'limit'),
          continue: q.get('continue') ?? undefined,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
        };
        if (table) {
          const list = await storage.list(namespace, params);
          return json(200, tableFor(res, list.items, list.metadata, q));
        }
        // Large lists are the hot path: serve them pre-serialized rather than parse and re-stringify.
        return { kind: 'raw', status: 200, contentType: 'application/json', body: await storage.listJson(namespace, params) };
      }
      if (method === 'POST') {
        const { object, warnings } = decodeBody(req, res);
        if (res.info.namespaced && namespace) await this.registry.checkNamespaceWritable(namespace, res, object.metadata?.name ?? '');
        const created = await storage.create(namespace, object, {
          dryRun,
          user: req.user,
          finalize: (obj) => trackManagedFieldsForWrite(obj, undefined, req, res),
        });
        return json(201, created, warnings);
      }
      if (method === 'DELETE') {
        const list = await storage.deleteCollection(namespace, filter ?? MATCH_ALL, deleteParams(req, dryRun));
        return json(200, list);
      }
      throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }

    if (subresource === 'scale') return this.scale(req, res, namespace, name, dryRun);

    switch (method) {
      case 'GET': {
        if (queryBool(q, 'watch')) {
          const filter = selectorFilter(res, q.get('labelSelector') ?? undefined, `metadata.name=${name}`);
          return this.watchResponse(res, namespace, req, filter, table);
        }
        const obj = await storage.get(namespace, name);
        if (table) return json(200, tableFor(res, [obj], { resourceVersion: obj.metadata.resourceVersion }, req.query));
        return json(200, obj);
      }
      case 'PUT': {
        const { object, warnings } = decodeBody(req, res);
        if (object.metadata?.name && object.metadata.name !== name) {
          throw badRequest(`the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`);
        }
        const { object: updated } = await storage.update(namespace, name, () => object, {
          dryRun,
          subresource,
          user: req.user,
          finalize: (obj, old) => trackManagedFieldsForWrite(obj, old, req, res, subresource),
        });
        return json(200, updated, warnings);
      }
      case 'PATCH': {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim();
        const isApply = contentType === 'application/apply-patch+yaml';
        const manager = q.get('fieldManager') ?? undefined;
        if (isApply && !manager)
          throw badRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
        const force = queryBool(q, 'force');
        const warnings: string[] = [];
        const { object, created } = await storage.update(
          namespace,
          name,
          async (current) => {
            const patched = patchObject(res, contentType, current(), req, { manager, force, subresource, warnings });
            return patched;
          },
          {
            dryRun,
            subresource,
            user: req.user,
            finalize: isApply ? undefined : (obj, old) => trackManagedFieldsForWrite(obj, old, req, res, subresource),
            createIfMissing:
              isApply && !subresource
                ? async (ns) => {
                    if (res.info.namespaced && ns) await this.registry.checkNamespaceWritable(ns, res, name);
                    const obj = patchObject(res, contentType, undefined, req, {
                      manager,
                      force,
                      subresource,
                      warnings,
                      name,
                      namespace: ns,
                    });
                    return storage.create(ns, obj, { dryRun, user: req.user });
                  }
                : undefined,
          },
        );
        return json(created ? 201 : 200, object, warnings);
      }
      case 'DELETE': {
        const deleted = await storage.delete(namespace, name, deleteParams(req, dryRun));
        return json(200, deleted);
      }
      case 'POST':
        throw methodNotAllowed('the server does not allow this method on the requested resource');
    }
    throw methodNotAllowed('the server does not allow this method on the requested resource');
  }

  /** pods/binding: the scheduler's way to assign a pod to a node (kube's BindingREST). */
  private async bind(
    req: ApiRequest,
    res: ServedResource,
    namespace: string | undefined,
    name: string,
    dryRun: boolean,
  ): Promise<ApiResponse> {
    let binding: { metadata?: { name?: string }; target?: { kind?: string; name?: string } };
    try {
      binding = (req.bodyObject as typeof binding) ?? JSON.parse(req.body ?? '{}');
    } catch {
      throw badRequest('the body of the request was in an unknown format');
    }
    const node = binding.target?.name;
    if (!node) throw invalidBinding(name, 'target.name', 'Required value');
    if (binding.target?.kind && binding.target.kind !== 'Node')
      throw invalidBinding(name, 'target.kind', `Unsupported value: "${binding.target.kind}"`);
    await res.storage.update(
      namespace,
      name,
      (current) => {
        const pod = current();
        if (pod.metadata.deletionTimestamp) throw conflictOn(name, `pod ${name} is being deleted, cannot be assigned to a host`);
        if (pod.spec?.nodeName) throw conflictOn(name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
        pod.spec.nodeName = node;
        const conditions = (pod.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled');
        conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339() });
        pod.status = { ...pod.status, conditions };
        return pod;
      },
      { raw: true, dryRun, user: req.user },
    );
    return json(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }

  /**
   * svcnet serves no custom resources, so the list of CustomResourceDefinitions is always empty;
   * it is served because kubectl asks for it (to tell a CRD's kind from an unknown one) before it
   * creates any kind it cannot patch, such as TokenReview, and before saying a kind is unknown.
   */
  private async customResourceDefinitions(req: ApiRequest): Promise<ApiResponse> {
    if (req.method.toUpperCase() !== 'GET' || queryBool(req.query, 'watch')) {
      throw methodNotAllowed('the server does not allow this method on the requested resource');
    }
    return json(200, {
      kind: 'CustomResourceDefinitionList',
      apiVersion: 'apiextensions.k8s.io/v1',
      metadata: { resourceVersion: String(await this.registry.store.currentRevision()) },
      items: [],
    });
  }

  /** The autoscaling/v1 Scale subresource of deployments and replicasets. */
  private async scale(
    req: ApiRequest,
    res: ServedResource,
    namespace: string | undefined,
    name: string,
    dryRun: boolean,
  ): Promise<ApiResponse> {
    const toScale = (obj: KubeObject) => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: obj.spec?.replicas ?? 0 },
      status: { replicas: obj.status?.replicas ?? 0, selector: res.scaleSelector?.(obj) ?? '' },
    });
    const method = req.method.toUpperCase();
    if (method === 'GET') return json(200, toScale(await res.storage.get(namespace, name)));
    if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed('the server does not allow this method on the requested resource');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim();
    const { object } = await res.storage.update(
      namespace,
      name,
      (stored) => {
        const current = stored();
        const scale = toScale(current);
        const desired =
          method === 'PUT'
            ? ((req.bodyObject as KubeObject | undefined) ?? (JSON.parse(req.body ?? '{}') as KubeObject))
            : patchObject(res, contentType, scale as unknown as KubeObject, req, { warnings: [], scale: true });
        const replicas = desired.spec?.replicas;
        if (typeof replicas !== 'number') throw badRequest('spec.replicas is required');
        current.spec = { ...current.spec, replicas };
        if (desired.metadata?.resourceVersion) current.metadata.resourceVersion = desired.metadata.resourceVersion;
        return current;
      },
      { dryRun, user: req.user },
    );
    return json(200, toScale(object));
  }

  private watchResponse(
    res: ServedResource,
    namespace: string | undefined,
    req: ApiRequest,
    filter: ReturnType<typeof selectorFilter>,
    table: boolean,
  ): WatchResponse {
    const q = req.query;
    const w = res.storage.watch(namespace, {
      filter,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      allowWatchBookmarks: queryBool(q, 'allowWatchBookmarks'),
      timeoutSeconds: queryInt(q, 'timeoutSeconds'),
      sendInitialEvents: q.has('sendInitialEvents') ? queryBool(q, 'sendInitialEvents') : undefined,
    });
    if (!table) return { kind: 'watch', status: 200, events: w.events, close: w.close };
    let first = true;
    const events = (async function* () {
      for await (const ev of w.events) {
        if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') {
          yield ev as WatchEvent<unknown>;
          continue;
        }
        const t = tableFor(res, [ev.object], { resourceVersion: ev.object.metadata.resourceVersion }, q, !first);
        first = false;
        yield { type: ev.type, object: t } as WatchEvent<unknown>;
      }
    })();
    return { kind: 'watch', status: 200, events, close: w.close };
  }
}

function trackManagedFieldsForWrite(
  obj: KubeObject,
  old: KubeObject | undefined,
  req: ApiRequest,
  res: ServedResource,
  subresource?: string,
): void {
  const manager = req.query.get('fieldManager') ?? undefined;
  trackManagedFields(obj, old, manager, 'Update', subresource, res.info.schema as never, req.headers['user-agent']);
}

function deleteParams(req: ApiRequest, dryRun: boolean): DeleteParams {
  const q = req.query;
  let body: Record<string, unknown> = {};
  if (req.bodyObject && typeof req.bodyObject === 'object') body = req.bodyObject as Record<string, unknown>;
  else if (req.body?.trim()) {
    try {
      body = JSON.parse(req.body);
    } catch {
      throw badRequest('the body of the request was in an unknown format');
    }
  }
  let propagationPolicy = (q.get('propagationPolicy') ?? body.propagationPolicy) as DeleteParams['propagationPolicy'];
  const orphan = q.get('orphanDependents') ?? body.orphanDependents;
  if (!propagationPolicy && (orphan === true || orphan === 'true')) propagationPolicy = 'Orphan';
  const grace = queryInt(q, 'gracePeriodSeconds') ?? (body.gracePeriodSeconds as number | undefined);
  return {
    gracePeriodSeconds: grace,
    propagationPolicy,
    preconditions: body.preconditions as DeleteParams['preconditions'],
    dryRun: dryRun || (Array.isArray(body.dryRun) && body.dryRun.includes('All')),
  };
}

function conflictOn(name: string, why: string): StatusError {
  return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": ${why}`, {
    name,
    kind: 'pods/binding',
  });
}

function invalidBinding(name: string, field: string, what: string): StatusError {
  return new StatusError(422, 'Invalid', `Binding "${name}" is invalid: ${field}: ${what}`, {
    name,
    kind: 'Binding',
    causes: [{ reason: 'FieldValueRequired', message: what, field }],
  });
}

function pageNotFound(): StatusError {
  return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function errorResponse(e: unknown): JsonResponse {
  if (e instanceof StatusError) return json(e.code, e.toStatus());
  const err = e as Error;
  const status = new StatusError(500, 'InternalError', `Internal error occurred: ${err?.message ?? String(e)}`, {
    causes: [{ message: err?.message ?? String(e) }],
  });
  if (process.env.SVCNET_DEBUG) console.error(err);
  return json(500, status.toStatus());
}

export { notFound };

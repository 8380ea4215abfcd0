/**
 * OpenAPI v3 documents, one per group/version, built from the type schemas and the resource
 * registry. Real kubectl depends on them for three things:
 * - `kubectl explain` walks `components.schemas` (found by `x-kubernetes-group-version-kind`,
 *   nested types through `$ref`);
 * - `kubectl apply`/`create` use server-side field validation only when the kind's PATCH
 *   operation carries the GVK extension and a `fieldValidation` query parameter
 *   (kubectl-protocol.md §3.2); otherwise they fall back to OpenAPI v2 protobuf and fail;
 * - client-side `kubectl apply` builds its strategic merge patch from the schemas' patch
 *   extensions when the PATCH operation accepts `application/strategic-merge-patch+json`.
 * Components are named like upstream (`io.k8s.api.core.v1.Service`), and fields that use a named
 * type are written `{allOf: [{$ref}], description}` as upstream does, so the field's own
 * description survives next to the reference.
 */
import { createHash } from 'node:crypto';
import type { TSchema } from '@sinclair/typebox';
import { groupVersionPath, groupVersions, type ResourceInfo, type SubresourceInfo } from '../api/resources.js';
import { DeleteOptions, Status } from '../api/types/meta.js';
import { INT_OR_STRING_ID, NAMED, QUANTITY_ID } from '../api/types/schema.js';

type Json = Record<string, unknown>;

/** The OpenAPI v3 discovery document served at `/openapi/v3`. */
export interface OpenAPIV3Index {
  paths: Record<string, { serverRelativeURL: string }>;
}

interface Built {
  document: Json;
  body: string;
  hash: string;
}

const PATCH_SCHEMA_ID = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';
const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

// ---------------------------------------------------------------------------------------------
// Schemas

/** Converts our internal schemas to OpenAPI components, collecting every named type reached. */
class ComponentBuilder {
  readonly components: Record<string, Json> = {};

  /** Adds a named type (and everything it references) and returns its reference. */
  named(id: string): Json {
    if (!(id in this.components)) {
      const canonical = NAMED.get(id);
      if (!canonical) throw new Error(`openapi: unknown named type ${id}`);
      this.components[id] = {}; // placeholder: guards against cycles
      this.components[id] = this.component(id, canonical);
    }
    return ref(id);
  }

  private component(id: string, s: TSchema): Json {
    if (id === INT_OR_STRING_ID) return { format: 'int-or-string', description: s.description, 'x-kubernetes-int-or-string': true };
    // No `type`: kubectl explain then names the field by its type (`<IntOrString>`, `map[string]Quantity`).
    if (id === QUANTITY_ID) return { description: s.description };
    return this.inline(s);
  }

  /** A schema as it appears in a property, array item or map value. */
  convert(s: TSchema, asProperty: boolean): Json {
    if (typeof s.$id === 'string' && NAMED.has(s.$id)) {
      const r = this.named(s.$id);
      if (!asProperty) return r;
      // A field without its own description shows the type's (kubectl explain prints both otherwise).
      const own = s.description && s.description !== NAMED.get(s.$id)?.description;
      return { allOf: [r], ...(own ? { description: s.description } : {}) };
    }
    return this.inline(s);
  }

  private inline(s: TSchema): Json {
    const out: Json = {};
    for (const [k, v] of Object.entries(s)) {
      if (k === '$id' || k === 'anyOf') continue;
      if (k === 'properties') {
        const props: Json = {};
        for (const [name, p] of Object.entries(v as Record<string, TSchema>)) props[name] = this.convert(p, true);
        out.properties = props;
      } else if (k === 'items') {
        out.items = this.convert(v as TSchema, false);
      } else if (k === 'additionalProperties') {
        out.additionalProperties = typeof v === 'object' ? this.convert(v as TSchema, false) : v;
      } else if (k === 'required') {
        if (Array.isArray(v) && v.length) out.required = v;
      } else {
        out[k] = v;
      }
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Paths and operations

const GROUP_IDS: Record<string, string> = {
  '': 'Core',
  apps: 'Apps',
  autoscaling: 'Autoscaling',
  'discovery.k8s.io': 'Discovery',
  'networking.k8s.io': 'Networking',
  'coordination.k8s.io': 'Coordination',
  'events.k8s.io': 'Events',
};

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const queryParam = (name: string, description: string, type = 'string'): Json => ({
  name,
  in: 'query',
  description,
  schema: { type, ...(type === 'integer' ? {} : { uniqueItems: true }) },
});

const P = {
  pretty: queryParam('pretty', "If 'true', the output is indented."),
  dryRun: queryParam('dryRun', '`All` runs every stage of the request except persisting it.'),
  fieldManager: queryParam('fieldManager', 'Name of the actor making the change, recorded in managedFields.'),
  fieldValidation: queryParam(
    'fieldValidation',
    'What to do with unknown or duplicate fields in the body: `Ignore` drops them, `Warn` drops them and returns a warning per field, `Strict` (the default) fails the request.',
  ),
  force: queryParam('force', 'For apply patches: take ownership of fields other managers own.', 'boolean'),
  labelSelector: queryParam('labelSelector', 'Only return objects whose labels match this selector.'),
  fieldSelector: queryParam('fieldSelector', 'Only return objects whose fields match this selector.'),
  limit: queryParam('limit', 'Return at most this many items, with a continue token for the rest.', 'integer'),
  continue: queryParam('continue', 'Token from a previous limited list to fetch the next page.'),
  resourceVersion: queryParam('resourceVersion', 'The resource version to serve the list or start the watch from.'),
  resourceVersionMatch: queryParam('resourceVersionMatch', 'How resourceVersion is applied to a list: `Exact` or `NotOlderThan`.'),
  watch: queryParam('watch', 'Stream add, update and delete events instead of returning a list.', 'boolean'),
  allowWatchBookmarks: queryParam('allowWatchBookmarks', 'Allow BOOKMARK events in the watch.', 'boolean'),
  timeoutSeconds: queryParam('timeoutSeconds', 'Timeout of the list or watch call.', 'integer'),
  sendInitialEvents: queryParam('sendInitialEvents', 'Start a watch with synthetic events for existing objects.', 'boolean'),
  gracePeriodSeconds: queryParam('gracePeriodSeconds', 'Seconds before the object is deleted.', 'integer'),
  propagationPolicy: queryParam('propagationPolicy', 'Garbage collection of dependents: `Orphan`, `Background` or `Foreground`.'),
};

const pathParam = (name: string, description: string): Json => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', uniqueItems: true },
});

const jsonBody = (id: string): Json => {
  const schema = ref(id);
  return { content: { '*/*': { schema } }, required: true };
};

const patchBody: Json = {
  content: Object.fromEntries(
    [
      'application/apply-patch+yaml',
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
    ].map((t) => [t, { schema: ref(PATCH_SCHEMA_ID) }]),
  ),
  required: true,
};

const response = (description: string, id: string): Json => ({
  description,
  content: Object.fromEntries(['application/json', 'application/yaml'].map((t) => [t, { schema: ref(id) }])),
});

interface OpTarget {
  gvk: { group: string; version: string; kind: string };
  schemaId: string;
  /** e.g. `NamespacedService`, `NamespacedDeploymentScale`, `Node`. */
  suffix: string;
}

function operation(action: string, verb: string, t: OpTarget, r: ResourceInfo, extra: Json): Json {
  const gv = `${GROUP_IDS[r.group] ?? capitalize(r.group.split('.')[0])}${capitalize(r.version)}`;
  return {
    tags: [`${r.group ? r.group.split('.')[0] : 'core'}_${r.version}`],
    description: extra.description,
    operationId: `${verb}${gv}${t.suffix}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': t.gvk,
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'description')),
  };
}

function resourcePaths(r: ResourceInfo, ids: Map<TSchema, string>, builder: ComponentBuilder): Record<string, Json> {
  const paths: Record<string, Json> = {};
  const base = groupVersionPath(r);
  const ns = r.namespaced ? 'Namespaced' : '';
  const collection = r.namespaced ? `${base}/namespaces/{namespace}/${r.resource}` : `${base}/${r.resource}`;
  const nsParams = r.namespaced ? [pathParam('namespace', 'Namespace of the objects.')] : [];
  const kindId = idOf(r.schema, ids, builder);
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const item: OpTarget = { gvk, schemaId: kindId, suffix: `${ns}${r.kind}` };
  const create = operation('post', 'create', item, r, {
    description: `create a ${r.kind}`,
    parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
    requestBody: jsonBody(kindId),
    responses: { '200': response('OK', kindId), '201': response('Created', kindId), '202': response('Accepted', kindId) },
  });
  // A review (SelfSubjectAccessReview, …) is only ever created: one POST, as upstream documents it.
  if (r.virtual || !r.listSchema) return { [collection]: { parameters: [...nsParams, P.pretty], post: create } };
  const listId = idOf(r.listSchema, ids, builder);
  const list = (suffix: string) => ({
    description: `list or watch objects of kind ${r.kind}`,
    parameters: [
      P.allowWatchBookmarks,
      P.continue,
      P.fieldSelector,
      P.labelSelector,
      P.limit,
      P.resourceVersion,
      P.resourceVersionMatch,
      P.sendInitialEvents,
      P.timeoutSeconds,
      P.watch,
    ],
    responses: { '200': response('OK', listId) },
    suffix,
  });
  const listOp = (suffix: string) => {
    const { suffix: _s, ...extra } = list(suffix);
    return operation('list', 'list', { gvk, schemaId: listId, suffix }, r, extra);
  };

  paths[collection] = {
    parameters: [...nsParams, P.pretty],
    get: listOp(`${ns}${r.kind}`),
    post: create,
    delete: operation('deletecollection', 'deleteCollection', item, r, {
      description: `delete collection of ${r.kind}`,
      parameters: [
        P.continue,
        P.dryRun,
        P.fieldSelector,
        P.gracePeriodSeconds,
        P.labelSelector,
        P.limit,
        P.propagationPolicy,
        P.resourceVersion,
        P.timeoutSeconds,
      ],
      requestBody: { content: { '*/*': { schema: builder.named(DELETE_OPTIONS_ID) } } },
      responses: { '200': response('OK', STATUS_ID) },
    }),
  };
  if (r.namespaced) {
    paths[`${base}/${r.resource}`] = { parameters: [P.pretty], get: listOp(`${r.kind}ForAllNamespaces`) };
  }

  const objectPath = `${collection}/{name}`;
  const nameParam = pathParam('name', `name of the ${r.kind}`);
  paths[objectPath] = {
    parameters: [nameParam, ...nsParams, P.pretty],
    get: operation('get', 'read', item, r, { description: `read the specified ${r.kind}`, responses: { '200': response('OK', kindId) } }),
    put: operation('put', 'replace', item, r, {
      description: `replace the specified ${r.kind}`,
      parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
      requestBody: jsonBody(kindId),
      responses: { '200': response('OK', kindId), '201': response('Created', kindId) },
    }),
    delete: operation('delete', 'delete', item, r, {
      description: `delete a ${r.kind}`,
      parameters: [P.dryRun, P.gracePeriodSeconds, P.propagationPolicy],
      requestBody: { content: { '*/*': { schema: builder.named(DELETE_OPTIONS_ID) } } },
      responses: { '200': response('OK', STATUS_ID), '202': response('Accepted', STATUS_ID) },
    }),
    patch: operation('patch', 'patch', item, r, {
      description: `partially update the specified ${r.kind}`,
      parameters: [P.dryRun, P.fieldManager, P.fieldValidation, P.force],
      requestBody: patchBody,
      responses: { '200': response('OK', kindId), '201': response('Created', kindId) },
    }),
  };

  for (const sub of r.subresources) {
    const path = `${objectPath}/${sub.name}`;
    const params = [pathParam('name', `name of the ${sub.responseKind.kind}`), ...nsParams, P.pretty];
    if (sub.name === 'status' || sub.name === 'scale') {
      paths[path] = { parameters: params, ...subresourceOps(r, sub, ns, ids, builder) };
    } else if (sub.schema) {
      const schemaId = idOf(sub.schema, ids, builder);
      const t: OpTarget = { gvk: sub.responseKind, schemaId, suffix: `${ns}${r.kind}${capitalize(sub.name)}` };
      paths[path] = {
        parameters: params,
        post: operation('post', 'create', t, r, {
          description: `create ${sub.name} of a ${r.kind}`,
          parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
          requestBody: jsonBody(schemaId),
          responses: { '200': response('OK', schemaId), '201': response('Created', schemaId) },
        }),
      };
    }
  }
  return paths;
}

function subresourceOps(r: ResourceInfo, sub: SubresourceInfo, ns: string, ids: Map<TSchema, string>, builder: ComponentBuilder): Json {
  const schemaId = idOf(sub.schema as TSchema, ids, builder);
  const t: OpTarget = { gvk: sub.responseKind, schemaId, suffix: `${ns}${r.kind}${capitalize(sub.name)}` };
  return {
    get: operation('get', 'read', t, r, {
      description: `read ${sub.name} of the specified ${r.kind}`,
      responses: { '200': response('OK', schemaId) },
    }),
    put: operation('put', 'replace', t, r, {
      description: `replace ${sub.name} of the specified ${r.kind}`,
      parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
      requestBody: jsonBody(schemaId),
      responses: { '200': response('OK', schemaId), '201': response('Created', schemaId) },
    }),
    patch: operation('patch', 'patch', t, r, {
      description: `partially update ${sub.name} of the specified ${r.kind}`,
      parameters: [P.dryRun, P.fieldManager, P.fieldValidation, P.force],
      requestBody: patchBody,
      responses: { '200': response('OK', schemaId), '201': response('Created', schemaId) },
    }),
  };
}

const STATUS_ID = Status.$id as string;
const DELETE_OPTIONS_ID = DeleteOptions.$id as string;

function idOf(s: TSchema, ids: Map<TSchema, string>, builder: ComponentBuilder): string {
  const id = s.$id as string;
  builder.named(id);
  ids.set(s, id);
  return id;
}

// ---------------------------------------------------------------------------------------------
// Documents

function build(group: string, version: string, resources: ResourceInfo[]): Built {
  const builder = new ComponentBuilder();
  const ids = new Map<TSchema, string>();
  builder.named(STATUS_ID);
  builder.named(DELETE_OPTIONS_ID);
  let paths: Record<string, Json> = {};
  for (const r of resources) paths = { ...paths, ...resourcePaths(r, ids, builder) };

  const schemas = builder.components;
  schemas[PATCH_SCHEMA_ID] = {
    type: 'object',
    description: 'A patch body; its format is given by the Content-Type (JSON patch, merge patch, strategic merge patch or apply).',
  };
  for (const r of resources) {
    const gvk = [{ group: r.group, kind: r.kind, version: r.version }];
    schemas[r.schema.$id as string]['x-kubernetes-group-version-kind'] = gvk;
    if (r.listSchema) {
      schemas[r.listSchema.$id as string]['x-kubernetes-group-version-kind'] = [{ group: r.group, kind: r.listKind, version: r.version }];
    }
    for (const sub of r.subresources) {
      if (sub.schema && sub.responseKind.kind !== r.kind) {
        schemas[sub.schema.$id as string]['x-kubernetes-group-version-kind'] = [sub.responseKind];
      }
    }
  }
  const gvKinds = [
    { group, kind: 'Status', version },
    { group, kind: 'DeleteOptions', version },
  ];
  schemas[STATUS_ID]['x-kubernetes-group-version-kind'] = [{ group: '', kind: 'Status', version: 'v1' }];
  schemas[DELETE_OPTIONS_ID]['x-kubernetes-group-version-kind'] = group
    ? gvKinds.slice(1)
    : [{ group: '', kind: 'DeleteOptions', version: 'v1' }];

  const sorted = Object.fromEntries(
    Object.keys(schemas)
      .sort()
      .map((k) => [k, schemas[k]]),
  );
  const document: Json = {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: {
      schemas: sorted,
      securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer token authentication', name: 'authorization', in: 'header' } },
    },
    security: [{ BearerToken: [] }],
  };
  const body = JSON.stringify(document);
  const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
  return { document, body, hash };
}

let cache: Map<string, Built> | undefined;

function documents(): Map<string, Built> {
  if (!cache) {
    cache = new Map();
    for (const gv of groupVersions()) cache.set(groupVersionPath(gv).slice(1), build(gv.group, gv.version, gv.resources));
  }
  return cache;
}

function key(groupVersionPathOrKey: string): string {
  return groupVersionPathOrKey.replace(/^\/?(openapi\/v3\/)?/, '').replace(/\/$/, '');
}

/** The `/openapi/v3` index: one entry per served group/version, with its content hash in the URL. */
export function openapiV3Index(): OpenAPIV3Index {
  const paths: OpenAPIV3Index['paths'] = {};
  for (const [k, d] of documents()) paths[k] = { serverRelativeURL: `/openapi/v3/${k}?hash=${d.hash}` };
  return { paths };
}

/** The OpenAPI v3 document for `api/v1` or `apis/<group>/<version>` (leading `/` optional), or undefined. */
export function openapiV3Document(groupVersionPath: string): Record<string, unknown> | undefined {
  return documents().get(key(groupVersionPath))?.document;
}

/**
 * The serialized document with its hash, for the HTTP handler: send `body` with
 * `ETag: "<hash>"`, answer 304 when `If-None-Match` matches, and (as kube-apiserver does when the
 * URL carries the matching `?hash=`) allow long-lived caching.
 */
export function openapiV3Response(groupVersionPath: string): { body: string; hash: string; etag: string } | undefined {
  const d = documents().get(key(groupVersionPath));
  return d && { body: d.body, hash: d.hash, etag: `"${d.hash}"` };
}

/** The content hash of a group/version document (the `hash` query parameter and ETag). */
export function openapiV3Hash(groupVersionPath: string): string | undefined {
  return documents().get(key(groupVersionPath))?.hash;
}

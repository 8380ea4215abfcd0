/**
 * The handler's bindings to the API machinery: body decoding with field validation, selectors,
 * patching, managed-fields bookkeeping and Table output — each a pure module elsewhere, bound
 * here to a served resource.
 */

import { decodeObject, type FieldValidation } from '../api/decode.js';
import { applyDefaults } from '../api/defaults/index.js';
import { badRequest, notFound } from '../api/errors.js';
import { fieldsMatch, parseFieldSelector } from '../api/fields.js';
import { matches, parseSelector } from '../api/labels.js';
import type { KubeObject, ListMeta } from '../api/meta.js';
import { fieldValue } from '../api/resources.js';
import { type IncludeObject, tableFor as renderTable } from '../api/tables/index.js';
import { applyPatch, type JsonSchema, managerOrUserAgent, updateManagedFields } from './patch/index.js';
import type { ObjectFilter } from './registry/generic.js';
import type { ServedResource } from './registry/index.js';
import type { ApiRequest } from './request.js';

/** kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io` when it prints. */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && accept.includes('as=Table') && accept.includes('g=meta.k8s.io');
}

function fieldValidationMode(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === 'Strict' || v === 'Ignore' || v === 'Warn') return v;
  if (v) throw badRequest(`fieldValidation parameter unsupported: ${v}`);
  return 'Warn'; // kube-apiserver's default when the client says nothing
}

/** Decodes a create/update body into the resource's kind, as the query's fieldValidation asks. */
export function decodeBody(req: ApiRequest, res: Pick<ServedResource, 'info'>): { object: KubeObject; warnings: string[] } {
  const body = req.bodyObject ?? req.body;
  if (body === undefined || (typeof body === 'string' && !body.trim())) throw badRequest('the body of the request was empty');
  const target = { group: res.info.group, version: res.info.version, kind: res.info.kind, schema: res.info.schema };
  const { object, warnings } = decodeObject<KubeObject>(body as string | object, target, fieldValidationMode(req.query));
  object.metadata ??= {};
  return { object, warnings };
}

/** A filter for labelSelector and fieldSelector query parameters (undefined when both are absent). */
export function selectorFilter(res: ServedResource, labelSelector?: string, fieldSelector?: string): ObjectFilter | undefined {
  let labels: ReturnType<typeof parseSelector> | undefined;
  let fields: ReturnType<typeof parseFieldSelector> | undefined;
  try {
    if (labelSelector) labels = parseSelector(labelSelector);
  } catch (e) {
    throw badRequest(`unable to parse requirement: ${(e as Error).message}`);
  }
  try {
    if (fieldSelector) fields = parseFieldSelector(fieldSelector);
  } catch (e) {
    throw badRequest((e as Error).message);
  }
  for (const r of fields ?? []) {
    if (!res.info.fieldSelectors.includes(r.field)) {
      throw badRequest(`field label not supported: ${r.field}`);
    }
  }
  if (!labels && !fields) return undefined;
  return {
    matches: (obj) =>
      (!labels || matches(labels, obj.metadata.labels)) && (!fields || fieldsMatch(fields, (f) => fieldValue(res.info, obj, f))),
  };
}

export interface PatchOptions {
  manager?: string;
  force?: boolean;
  subresource?: string;
  warnings: string[];
  /** Name and namespace from the URL, for an apply that creates. */
  name?: string;
  namespace?: string;
  /** Patching a Scale (no schema-driven merge needed beyond plain objects). */
  scale?: boolean;
}

/** Applies a PATCH body to the current object (undefined: an apply that creates). */
export function patchObject(
  res: ServedResource,
  contentType: string,
  current: KubeObject | undefined,
  req: ApiRequest,
  o: PatchOptions,
): KubeObject {
  const apiVersion = res.info.group ? `${res.info.group}/${res.info.version}` : res.info.version;
  const manager = o.manager ?? managerOrUserAgent(undefined, req.headers['user-agent']);
  const q = req.query;
  const result = applyPatch(contentType, current, req.body ?? (req.bodyObject ? JSON.stringify(req.bodyObject) : ''), {
    schema: o.scale ? undefined : (res.info.schema as JsonSchema),
    fieldManager: contentType === 'application/apply-patch+yaml' ? o.manager : manager,
    userAgent: req.headers['user-agent'],
    force: q.has('force') ? q.get('force') === 'true' : undefined,
    subresource: o.subresource,
    apiVersion: o.scale ? undefined : apiVersion,
    normalize: (obj) => {
      if (!o.scale) applyDefaults(res.info.kind, obj);
      return obj;
    },
    notFound: () => notFound({ group: res.info.group, resource: res.info.resource }, o.name ?? ''),
  });
  const obj = result.object;
  if (!o.scale) {
    obj.metadata ??= {};
    if (current === undefined) {
      if (obj.metadata.name && o.name && obj.metadata.name !== o.name) {
        throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${o.name})`);
      }
      obj.metadata.name = o.name;
      if (res.info.namespaced) obj.metadata.namespace = o.namespace;
    }
    // The patched object is decoded like a body: a patch may not smuggle in unknown fields or wrong types.
    const target = { group: res.info.group, version: res.info.version, kind: res.info.kind, schema: res.info.schema };
    const { object, warnings } = decodeObject<KubeObject>(obj, target, fieldValidationMode(q));
    o.warnings.push(...warnings);
    return object;
  }
  return obj;
}

/** Records field ownership for an ordinary write (create/update/non-apply patch). */
export function trackManagedFields(
  obj: KubeObject,
  old: KubeObject | undefined,
  fieldManager: string | undefined,
  _operation: 'Update',
  subresource: string | undefined,
  schema?: JsonSchema,
  userAgent?: string,
): void {
  const manager = managerOrUserAgent(fieldManager, userAgent);
  if (!manager) return;
  const { managedFields } = updateManagedFields({ old, new: obj, manager, subresource, schema });
  obj.metadata.managedFields = managedFields;
}

/**
 * A meta.k8s.io/v1 Table of the objects, with the columns kube-apiserver prints for the resource;
 * `query` gives includeObject (None, Metadata — the default — or Object).
 */
export function tableFor(res: ServedResource, objects: KubeObject[], meta: ListMeta, query: URLSearchParams, noHeaders = false): unknown {
  const includeObject = includeObjectOf(query);
  const t = renderTable(res.info.resource, objects, { now: new Date(), noHeaders, includeObject }) as unknown as Record<string, unknown>;
  t.metadata = { resourceVersion: meta.resourceVersion, ...(meta.continue ? { continue: meta.continue } : {}) };
  return t;
}

/** metav1.TableOptions' includeObject (kube's ValidateTableOptions allows these three or empty). */
function includeObjectOf(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject');
  if (v === null || v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw badRequest(`includeObject: Invalid value: ${JSON.stringify(v)}: must be 'Metadata', 'Object', 'None', or empty`);
}

import YAML from 'yaml';
import { badRequest, fieldErr, invalid, StatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';
import { parseJsonBody } from './errors.js';
import { isObject } from './json.js';
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import type { JsonSchema } from './schema.js';
import { serverSideApply, updateManagedFields } from './ssa.js';
import { applyStrategicMergePatch } from './strategic.js';

/** The PATCH Content-Types kube-apiserver accepts, in the order its 415 message lists them. */
export const PATCH_CONTENT_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export type PatchKind = keyof typeof PATCH_CONTENT_TYPES;

/** kube limits field manager names to 128 bytes. */
export const FIELD_MANAGER_MAX_LENGTH = 128;

/**
 * kube's 415 for an unsupported PATCH Content-Type. `strategic` is false for kinds without
 * strategic merge support (custom resources), which drops it from the accepted list as kube does.
 */
export function unsupportedPatchType(strategic = true): StatusError {
  const accepted = Object.entries(PATCH_CONTENT_TYPES)
    .filter(([k]) => strategic || k !== 'strategic')
    .map(([, v]) => v);
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

/** Maps a Content-Type header (parameters ignored, e.g. `; charset=utf-8`) to a patch kind. */
export function patchKindOf(contentType: string | undefined, strategic = true): PatchKind {
  const base = (contentType ?? '').split(';')[0].trim();
  const kind = (Object.keys(PATCH_CONTENT_TYPES) as PatchKind[]).find((k) => PATCH_CONTENT_TYPES[k] === base);
  if (!kind || (kind === 'strategic' && !strategic)) throw unsupportedPatchType(strategic);
  return kind;
}

/**
 * The manager recorded for a write: `?fieldManager=`, else the User-Agent up to its first `/`
 * (so kubectl without a field manager is "kubectl"), printable characters only, at most 128 bytes.
 */
export function managerOrUserAgent(fieldManager: string | undefined, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  let out = '';
  for (const ch of (userAgent ?? '').split('/')[0]) {
    if (/\p{C}/u.test(ch)) continue;
    if (Buffer.byteLength(out + ch) > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
  }
  return out;
}

export interface PatchContext {
  /** The kind's JSON Schema (with Kubernetes' x-kubernetes-* extensions). */
  schema?: JsonSchema;
  /** `?fieldManager=` (required for apply). */
  fieldManager?: string;
  /** The request's User-Agent, naming the manager when `fieldManager` is absent. */
  userAgent?: string;
  /** `?force=` exactly as sent (undefined when absent): only allowed for apply. */
  force?: boolean;
  subresource?: string;
  /** The API version served at this URL; an apply body with another apiVersion is refused. */
  apiVersion?: string;
  /** False for kinds without strategic merge patch (custom resources). Default true. */
  strategicMerge?: boolean;
  now?: Date | string;
  /** Runs on the patched object before ownership is recorded (kube runs defaulting here). */
  normalize?: (obj: KubeObject) => KubeObject;
  /** The 404 to throw when a non-apply patch targets a missing object. */
  notFound?: () => StatusError;
}

export interface PatchResult {
  object: KubeObject;
  /** True when an apply patch created the object (kube answers 201). */
  created: boolean;
}

function validatePatchOptions(kind: PatchKind, ctx: PatchContext): void {
  const errs = [];
  if (kind !== 'apply' && ctx.force !== undefined) errs.push(fieldErr.forbidden('force', 'may not be specified for non-apply patch'));
  if (kind === 'apply' && !ctx.fieldManager) errs.push(fieldErr.required('fieldManager', 'is required for apply patch'));
  if (ctx.fieldManager && Buffer.byteLength(ctx.fieldManager) > FIELD_MANAGER_MAX_LENGTH) {
    errs.push(fieldErr.tooLong('fieldManager', ctx.fieldManager, FIELD_MANAGER_MAX_LENGTH));
  }
  if (errs.length > 0) throw invalid('PatchOptions', '', errs, 'meta.k8s.io');
}

function parseApplyBody(body: string): unknown {
  try {
    return YAML.parse(body);
  } catch (e) {
    throw badRequest(`error decoding YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Handles a PATCH body the way kube-apiserver's patch handler does: picks the algorithm by
 * Content-Type, applies it to `live`, and records field ownership (Update for json/merge/
 * strategic, Apply for apply). Only apply may create (`live` undefined); the caller still checks
 * name/namespace, validates, and stores.
 */
export function applyPatch(
  contentType: string | undefined,
  live: KubeObject | undefined,
  patchBody: string,
  ctx: PatchContext = {},
): PatchResult {
  const kind = patchKindOf(contentType, ctx.strategicMerge ?? true);
  validatePatchOptions(kind, ctx);
  const normalize = ctx.normalize ?? ((o: KubeObject) => o);

  if (kind === 'apply') {
    const applied = parseApplyBody(patchBody);
    if (!isObject(applied)) throw badRequest('error decoding YAML: the body must be a single YAML or JSON object');
    if (ctx.apiVersion !== undefined && applied.apiVersion !== ctx.apiVersion) {
      const specified = typeof applied.apiVersion === 'string' ? applied.apiVersion : '';
      throw badRequest(`Incorrect version specified in apply patch. Specified patch version: ${specified}, expected: ${ctx.apiVersion}`);
    }
    const { object } = serverSideApply({
      live,
      applied,
      manager: ctx.fieldManager as string,
      schema: ctx.schema,
      force: ctx.force,
      subresource: ctx.subresource,
      now: ctx.now,
    });
    return { object: normalize(object), created: live === undefined };
  }

  if (!live) {
    if (ctx.notFound) throw ctx.notFound();
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
  }
  let patched: KubeObject;
  if (kind === 'json') patched = applyJsonPatch(live, parseJsonBody(patchBody));
  else if (kind === 'merge') patched = applyMergePatch(live, parseJsonBody(patchBody, 'error decoding patch: '));
  else patched = applyStrategicMergePatch(live, parseJsonBody(patchBody), ctx.schema);
  if (!isObject(patched)) throw badRequest('the patch did not produce an object');

  const { object } = updateManagedFields({
    old: live,
    new: normalize(patched),
    manager: managerOrUserAgent(ctx.fieldManager, ctx.userAgent),
    subresource: ctx.subresource,
    schema: ctx.schema,
    now: ctx.now,
  });
  return { object, created: false };
}

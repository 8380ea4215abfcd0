import jsonpatch from 'fast-json-patch';
import { StatusError } from '../../api/errors.js';
import { goUnmarshalTypeError, patchNotApplicable } from './errors.js';
import { clone, isObject } from './json.js';

/** kube-apiserver refuses JSON patches with more operations than this (413). */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/**
 * Applies an RFC 6902 JSON patch to a copy of `doc`.
 *
 * Errors match kube-apiserver: a body that is not an array of objects is 400 BadRequest (Go's
 * decoder text), more than 10000 operations is 413, and any operation that does not apply
 * (failed `test`, missing path, malformed operation) is 422 Invalid with kube's generic
 * "the server rejected our request due to an error in our request" and empty details.
 */
export function applyJsonPatch<T>(doc: T, ops: unknown): T {
  if (!Array.isArray(ops)) throw new StatusError(400, 'BadRequest', goUnmarshalTypeError(ops, 'jsonpatch.Patch'));
  const bad = ops.find((op) => !isObject(op));
  if (bad !== undefined) throw new StatusError(400, 'BadRequest', goUnmarshalTypeError(bad, 'jsonpatch.Operation'));
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new StatusError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`,
    );
  }
  try {
    return jsonpatch.applyPatch(clone(doc), ops as jsonpatch.Operation[], true, true).newDocument;
  } catch (e) {
    throw patchNotApplicable(e instanceof Error ? e.message : String(e));
  }
}

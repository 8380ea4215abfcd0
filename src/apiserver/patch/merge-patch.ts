import { StatusError } from '../../api/errors.js';
import { goUnmarshalTypeError } from './errors.js';
import { clone, isObject, type Json, type JsonObject } from './json.js';

/**
 * Applies an RFC 7386 JSON merge patch: objects merge recursively, `null` removes a member,
 * anything else (lists included) replaces. Nulls inside newly added objects are dropped, as
 * Kubernetes' decoding into typed objects does. A patch that is not a JSON object is 400,
 * as kube-apiserver's decoder rejects it.
 */
export function applyMergePatch<T>(doc: T, patch: unknown): T {
  if (!isObject(patch)) {
    throw new StatusError(400, 'BadRequest', `error decoding patch: ${goUnmarshalTypeError(patch, 'map[string]interface {}')}`);
  }
  return mergeValue(clone(doc) as Json, patch) as T;
}

function mergeValue(target: Json | undefined, patch: Json): Json {
  if (Array.isArray(patch)) return patch.map((el) => (isObject(el) ? mergeValue(undefined, el) : el));
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergeValue(out[k], v);
  }
  return out;
}

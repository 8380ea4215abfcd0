/**
 * PATCH algorithms of the API server — JSON patch, JSON merge patch, strategic merge patch and
 * server-side apply with managedFields — as pure functions over JSON objects and JSON Schemas.
 */
export {
  applyPatch,
  managerOrUserAgent,
  PATCH_CONTENT_TYPES,
  type PatchContext,
  type PatchKind,
  type PatchResult,
  patchKindOf,
  unsupportedPatchType,
} from './dispatch.js';
export { patchNotApplicable } from './errors.js';
export { FieldSet, pathString } from './fieldpath.js';
export { applyJsonPatch } from './json-patch.js';
export { applyMergePatch } from './merge-patch.js';
export { childSchema, type JsonSchema, listSemantics, patchMeta } from './schema.js';
export {
  compareObjects,
  LAST_APPLIED_ANNOTATION,
  type ServerSideApplyInput,
  serverSideApply,
  toFieldSet,
  type UpdateManagedFieldsInput,
  updateManagedFields,
} from './ssa.js';
export { applyStrategicMergePatch } from './strategic.js';

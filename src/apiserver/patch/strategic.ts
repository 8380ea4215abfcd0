/**
 * Kubernetes strategic merge patch (apimachinery/pkg/util/strategicpatch), driven by JSON Schema
 * extensions instead of Go struct tags. The list ordering rules are kube's: items already in the
 * live list keep their relative order, patch items keep the patch's order, the two are
 * interleaved by live position, and `$setElementOrder/<field>` overrides both.
 *
 * Deliberate differences from kube (kube's behaviour there is an artefact of Go typing that the
 * typed decode later hides, or is order-dependent on Go map iteration):
 * - Values added where the live object has nothing are cleaned as if merged into an empty value,
 *   so directives and nulls never end up stored.
 * - `$patch: delete` on a nested map removes the field (kube leaves an empty map, which its typed
 *   round trip then drops).
 * - `$deleteFromPrimitiveList/<f>` when the live object has no `<f>` does nothing.
 */
import { StatusError } from '../../api/errors.js';
import { goUnmarshalTypeError, mergepatchErrors, unconvertedError } from './errors.js';
import { clone, goFormat, isObject, type Json, type JsonObject } from './json.js';
import { childSchema, type JsonSchema, patchMeta } from './schema.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

type ElementKind = 'map' | 'scalar';

/**
 * Applies a strategic merge patch to a copy of `doc`, using `schema` for each field's
 * `x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key`. Fields without a schema
 * behave as kube's defaults: maps merge, lists are replaced.
 */
export function applyStrategicMergePatch<T>(doc: T, patch: unknown, schema?: JsonSchema): T {
  if (!isObject(patch)) throw new StatusError(400, 'BadRequest', goUnmarshalTypeError(patch, 'map[string]interface {}'));
  const original = isObject(doc) ? (clone(doc) as JsonObject) : {};
  return mergeMap(original, clone(patch), schema) as T;
}

const badRequest = (msg: string) => new StatusError(400, 'BadRequest', msg);
const noMergeKey = (m: unknown, key: string) => unconvertedError(`map: ${goFormat(m)} does not contain declared merge key: ${key}`);
const badPatchType = (t: unknown, m: unknown) => unconvertedError(`unknown patch type: ${goFormat(t)} in map: ${goFormat(m)}`);
const badArgType = (expected: string, actual: unknown) => unconvertedError(`expected a ${expected}, but received a ${goTypeName(actual)}`);

function goTypeName(v: unknown): string {
  if (Array.isArray(v)) return '[]interface {}';
  if (isObject(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return 'float64';
  if (v === null || v === undefined) return '<nil>';
  return typeof v;
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: JsonSchema | undefined): JsonObject {
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    if (directive === 'replace') {
      const { [DIRECTIVE]: _, ...rest } = patch;
      return mergeMap({}, rest, schema);
    }
    if (directive === 'delete') return {};
    throw badPatchType(directive, patch);
  }
  applyRetainKeys(original, patch);
  applySetElementOrder(original, patch, schema);

  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      deleteFromPrimitiveList(original, extractKey(key, DELETE_FROM_PRIMITIVE_LIST), value);
      continue;
    }
    if (value === null) {
      delete original[key];
      continue;
    }
    const child = childSchema(schema, key);
    const current = original[key];
    if (current === undefined || kindOf(current) !== kindOf(value)) {
      setOrDelete(original, key, fromPatch(value, child));
      continue;
    }
    const meta = patchMeta(child);
    if (isObject(value)) {
      if (value[DIRECTIVE] === 'delete') delete original[key];
      else original[key] = meta.replace ? mergeMap({}, value, child) : mergeMap(current as JsonObject, value, child);
    } else if (Array.isArray(value)) {
      original[key] = meta.merge ? mergeSlice(current as Json[], value, child, meta.mergeKey) : fromPatch(value, child)!;
    } else {
      original[key] = value;
    }
  }
  return original;
}

function setOrDelete(obj: JsonObject, key: string, value: Json | undefined): void {
  if (value === undefined) delete obj[key];
  else obj[key] = value;
}

function kindOf(v: Json): 'object' | 'array' | 'scalar' {
  return Array.isArray(v) ? 'array' : isObject(v) ? 'object' : 'scalar';
}

/** A patch value landing where the live object has nothing: merged into an empty value, so directives and nulls vanish. */
function fromPatch(value: Json, schema: JsonSchema | undefined): Json | undefined {
  if (isObject(value)) return value[DIRECTIVE] === 'delete' ? undefined : mergeMap({}, value, schema);
  if (Array.isArray(value)) {
    const meta = patchMeta(schema);
    if (meta.merge) return mergeSlice([], value, schema, meta.mergeKey);
    const items = childSchema(schema, 0);
    return value.map((v) => (isObject(v) ? mergeMap({}, v, items) : v));
  }
  return value;
}

function extractKey(key: string, prefix: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    throw badRequest(
      prefix === DELETE_FROM_PRIMITIVE_LIST
        ? mergepatchErrors.badPatchFormatForPrimitiveList
        : mergepatchErrors.badPatchFormatForSetElementOrderList,
    );
  }
  return key.slice(slash + 1);
}

function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw badRequest(mergepatchErrors.badPatchFormatForRetainKeys);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith(DELETE_FROM_PRIMITIVE_LIST) || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!retain.includes(key)) throw badRequest(mergepatchErrors.badPatchFormatForRetainKeys);
  }
  for (const key of Object.keys(original)) {
    if (!retain.includes(key)) delete original[key];
  }
}

function deleteFromPrimitiveList(original: JsonObject, field: string, toDelete: Json): void {
  if (!Array.isArray(toDelete)) throw badRequest(mergepatchErrors.badPatchFormatForPrimitiveList);
  const current = original[field];
  if (!Array.isArray(current)) return;
  original[field] = current.filter((v) => isObject(v) || Array.isArray(v) || !toDelete.includes(v));
}

/** `$setElementOrder/<field>`: merges `<field>` (if patched) and then imposes the given order. */
function applySetElementOrder(original: JsonObject, patch: JsonObject, schema: JsonSchema | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw badRequest(mergepatchErrors.badPatchFormatForSetElementOrderList);
    const field = extractKey(key, SET_ELEMENT_ORDER);
    const originalList = original[field];
    const patchList = patch[field];
    if (originalList !== undefined && !Array.isArray(originalList)) throw badArgType('[]interface {}', originalList);
    if (patchList !== undefined && patchList !== null && !Array.isArray(patchList)) throw badArgType('[]interface {}', patchList);
    if (patchList === null) continue; // the field itself is being deleted; the loop over keys does it
    const child = childSchema(schema, field);
    const { merge, mergeKey } = patchMeta(child);
    validatePatchWithSetOrderList(patchList ?? [], order, mergeKey);

    let merged: Json[];
    if (originalList && !patchList) merged = originalList;
    else if (!originalList && patchList) merged = fromPatch(patchList, child) as Json[];
    else if (originalList && patchList)
      merged = merge ? mergeSlice(originalList, patchList, child, mergeKey) : (fromPatch(patchList, child) as Json[]);
    else continue;
    delete patch[field];

    const all = [...(originalList ?? []), ...(patchList ?? [])];
    if (all.length === 0) {
      original[field] = merged;
      continue;
    }
    const kind = elementKind(originalList ?? [], patchList ?? []);
    const [patchItems, serverOnly] = partition(merged, order, mergeKey, kind);
    original[field] = normalizeElementOrder(patchItems, serverOnly, order, originalList ?? [], mergeKey, kind);
  }
}

function validatePatchWithSetOrderList(patchList: Json[], order: Json[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey
    ? patchList.filter((v) => {
        if (!isObject(v)) throw badArgType('map[string]interface {}', v);
        return v[DIRECTIVE] !== 'delete';
      })
    : patchList;
  let p = 0;
  let o = 0;
  while (p < nonDelete.length && o < order.length) {
    const item = nonDelete[p];
    if (isObject(item) && Object.hasOwn(item, DIRECTIVE)) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(item, order[o], mergeKey)) p++;
    o++;
  }
  if (p < nonDelete.length && o >= order.length) {
    throw unconvertedError(
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFormat(order)}\n`,
    );
  }
}

function mergeKeyValueEqual(left: Json, right: Json, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isObject(left)) throw badArgType('map[string]interface {}', left);
  if (!isObject(right)) throw badArgType('map[string]interface {}', right);
  if (!Object.hasOwn(left, mergeKey)) throw noMergeKey(left, mergeKey);
  if (!Object.hasOwn(right, mergeKey)) throw noMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

/** All elements must share one kind, and lists of lists are refused (kube: 422). */
function elementKind(...lists: Json[][]): ElementKind {
  let kind: 'map' | 'list' | string | undefined;
  for (const list of lists) {
    for (const v of list) {
      const k = Array.isArray(v) ? 'list' : isObject(v) ? 'map' : v === null ? 'nil' : typeof v;
      if (kind === undefined) {
        kind = k;
        if (k === 'list') throw new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
      } else if (kind !== k) {
        throw unconvertedError(`list element types are not identical: ${goFormat(lists)}`);
      }
    }
  }
  if (kind === undefined) throw unconvertedError('no elements in any of the given slices');
  return kind === 'map' ? 'map' : 'scalar';
}

function mergeSlice(original: Json[], patch: Json[], listSchema: JsonSchema | undefined, mergeKey: string): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind(original, patch);
  const itemSchema = childSchema(listSchema, 0);
  let merged: Json[];
  if (kind === 'scalar') {
    merged = [];
    for (const v of [...original, ...patch]) if (!merged.includes(v)) merged.push(v);
  } else {
    if (!mergeKey) throw unconvertedError('cannot merge lists without merge key for type struct');
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey, itemSchema);
    merged = mergeSliceWithoutSpecialElements(original, patch, mergeKey, itemSchema);
  }
  const [patchItems, serverOnly] = partition(merged, patch, mergeKey, kind);
  return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, kind);
}

/** Applies `$patch: delete` / `$patch: replace` list items; returns the new original and the plain patch items. */
function mergeSliceWithSpecialElements(
  original: Json[],
  patch: Json[],
  mergeKey: string,
  itemSchema: JsonSchema | undefined,
): [Json[], Json[]] {
  const plain: Json[] = [];
  let replace = false;
  for (const v of patch) {
    const item = v as JsonObject;
    if (!Object.hasOwn(item, DIRECTIVE)) {
      plain.push(item);
      continue;
    }
    const directive = item[DIRECTIVE];
    if (directive === 'delete') {
      if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
      original = original.filter((o) => !(isObject(o) && Object.hasOwn(o, mergeKey) && o[mergeKey] === item[mergeKey]));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw unconvertedError('merging lists cannot yet be specified in the patch');
    } else {
      throw badPatchType(directive, item);
    }
  }
  if (replace) return [plain.map((v) => mergeMap({}, v as JsonObject, itemSchema)), []];
  return [original, plain];
}

function mergeSliceWithoutSpecialElements(original: Json[], patch: Json[], mergeKey: string, itemSchema: JsonSchema | undefined): Json[] {
  const out = [...original];
  for (const v of patch) {
    const item = v as JsonObject;
    if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
    const at = out.findIndex((o) => isObject(o) && Object.hasOwn(o, mergeKey) && o[mergeKey] === item[mergeKey]);
    if (at >= 0) out[at] = mergeMap(out[at] as JsonObject, item, itemSchema);
    else out.push(mergeMap({}, item, itemSchema));
  }
  return out;
}

function keyOf(item: Json, mergeKey: string, kind: ElementKind): Json | undefined {
  if (kind === 'scalar') return item;
  return isObject(item) ? item[mergeKey] : undefined;
}

function indexIn(list: Json[], item: Json, mergeKey: string, kind: ElementKind): number {
  const key = keyOf(item, mergeKey, kind);
  return list.findIndex((v) => keyOf(v, mergeKey, kind) === key);
}

/** Splits `items` into those present in `by` (by merge key, or by value for scalars) and the rest. */
function partition(items: Json[], by: Json[], mergeKey: string, kind: ElementKind): [Json[], Json[]] {
  const present: Json[] = [];
  const absent: Json[] = [];
  for (const item of items) {
    if (kind === 'map' && mergeKey) {
      if (!isObject(item)) throw badArgType('map[string]interface {}', item);
      if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
    }
    (indexIn(by, item, mergeKey, kind) >= 0 ? present : absent).push(item);
  }
  return [present, absent];
}

function normalizeElementOrder(
  patchItems: Json[],
  serverOnly: Json[],
  patchOrder: Json[],
  serverOrder: Json[],
  mergeKey: string,
  kind: ElementKind,
): Json[] {
  const sortedPatch = normalizeSliceOrder(patchItems, patchOrder, mergeKey, kind);
  const sortedServer = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(sortedServer, sortedPatch, serverOrder, mergeKey, kind);
}

function normalizeSliceOrder(toSort: Json[], order: Json[], mergeKey: string, kind: ElementKind): Json[] {
  let toDelete: Json[] = [];
  if (kind === 'map') {
    for (const item of [...toSort, ...order]) {
      if (!isObject(item)) throw badArgType('map[string]interface {}', item);
      if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
    }
    toDelete = toSort.filter((v) => (v as JsonObject)[DIRECTIVE] === 'delete');
    toSort = toSort.filter((v) => (v as JsonObject)[DIRECTIVE] !== 'delete');
  }
  const position = (v: Json) => {
    const i = indexIn(order, v, mergeKey, kind);
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  };
  const sorted = toSort
    .map((v, i) => ({ v, i, p: position(v) }))
    .sort((a, b) => (a.p === b.p ? a.i - b.i : a.p < b.p ? -1 : 1))
    .map((e) => e.v);
  return [...sorted, ...toDelete];
}

/**
 * Interleaves server-only items (`left`) into the patch items (`right`), keeping each list's own
 * order: a server-only item goes first only when the live list had it before the next patch
 * item. So new patch items (not in the live list) come before the remaining server-only items.
 */
function mergeSortedSlice(left: Json[], right: Json[], serverOrder: Json[], mergeKey: string, kind: ElementKind): Json[] {
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, kind);
      const ri = indexIn(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

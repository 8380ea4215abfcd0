/**
 * Server-side apply and field ownership (`metadata.managedFields`), modelled on
 * structured-merge-diff's Updater and kube-apiserver's field manager stack.
 *
 * Simplifications (documented, deliberate):
 * - one API version per kind: no conversion between versions of a manager's field set;
 * - no cap on the number of Update managers (kube folds the oldest into "ancient-changes");
 * - no strategy "reset fields" (e.g. status on the main resource is not excluded);
 * - `null` in an applied configuration is treated as absent;
 * - objects are compared as JSON: a struct field absent from the old object counts as added
 *   only when its schema is a map or list, mirroring what Go's zero-valued structs produce.
 */
import { badRequest, StatusError } from '../../api/errors.js';
import type { KubeObject, ManagedFieldsEntry } from '../../api/meta.js';
import { type FieldPath, FieldSet, fieldElement, keyElement, type PathElement, pathString, valueElement } from './fieldpath.js';
import { clone, deepEqual, isObject, type Json, type JsonObject, sortedJson } from './json.js';
import { childSchema, isAtomicMap, isNamedField, isStruct, type JsonSchema, listSemantics } from './schema.js';

/** The annotation `kubectl apply` (client side) keeps; SSA by manager "kubectl" keeps it in sync. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Fields nobody owns (kube's stripMetaManager). */
const STRIPPED = FieldSet.of(
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map(
    (f) => ['f:metadata', fieldElement(f)],
  ),
);

interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  subresource?: string;
  set: FieldSet;
}

/** kube's manager identifier: Apply entries are one manager across API versions, Update entries are per version. */
function identity(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([m.manager, m.operation, m.operation === 'Update' ? m.apiVersion : '', m.subresource ?? '']);
}

function formatTime(now: Date | string | undefined): string {
  const d = now === undefined ? new Date() : typeof now === 'string' ? new Date(now) : now;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// Schema-driven walks over JSON values.

type Shape = 'leaf' | 'map' | 'list';

function shapeOf(v: Json | undefined, schema: JsonSchema | undefined): Shape {
  if (Array.isArray(v)) return listSemantics(schema).type === 'atomic' ? 'leaf' : 'list';
  if (isObject(v)) return isAtomicMap(schema) ? 'leaf' : 'map';
  return 'leaf';
}

function isEmptyContainer(v: Json | undefined): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/** The path element of a list item, or undefined when the item lacks its keys. */
function itemElement(item: Json, listSchema: JsonSchema | undefined): PathElement | undefined {
  const sem = listSemantics(listSchema);
  if (sem.type === 'set') return valueElement(item);
  if (!isObject(item)) return undefined;
  const itemSchema = childSchema(listSchema, 0);
  const keys: Record<string, Json> = {};
  for (const k of sem.keys) {
    const v = item[k] ?? (childSchema(itemSchema, k)?.default as Json | undefined);
    if (v !== undefined && v !== null) keys[k] = v;
  }
  return Object.keys(keys).length > 0 ? keyElement(keys) : undefined;
}

/** Items of a keyed/set list by path element; items without keys get a unique positional element. */
function indexItems(list: Json[], listSchema: JsonSchema | undefined): [PathElement, Json][] {
  return list.map((item, i) => [itemElement(item, listSchema) ?? `i:${i}`, item]);
}

/** The fields an applied configuration sets (structured-merge-diff's ToFieldSet). */
export function toFieldSet(value: Json, schema: JsonSchema | undefined): FieldSet {
  const set = new FieldSet();
  const walk = (v: Json, s: JsonSchema | undefined, path: FieldPath) => {
    const shape = shapeOf(v, s);
    if (shape === 'leaf') {
      set.insert(path);
    } else if (shape === 'list') {
      for (const [pe, item] of indexItems(v as Json[], s)) {
        walk(item, childSchema(s, 0), [...path, pe]);
        set.insert([...path, pe]);
      }
    } else {
      for (const [k, child] of Object.entries(v as JsonObject)) {
        const p = [...path, fieldElement(k)];
        walk(child, childSchema(s, k), p);
        if (!isStruct(s) && !isNamedField(s, k)) set.insert(p);
      }
    }
  };
  walk(value, schema, []);
  return set;
}

/** Validates an applied configuration's keyed lists: every item needs its keys, and no key twice. */
function validateApplied(value: Json, schema: JsonSchema | undefined, path: FieldPath = []): void {
  const shape = shapeOf(value, schema);
  if (shape === 'map') {
    for (const [k, v] of Object.entries(value as JsonObject)) validateApplied(v, childSchema(schema, k), [...path, fieldElement(k)]);
  } else if (shape === 'list') {
    const seen = new Set<string>();
    (value as Json[]).forEach((item, i) => {
      const pe = itemElement(item, schema);
      const where = `${pathString(path)}: element ${i}`;
      if (!pe) {
        const missing = listSemantics(schema).keys.join('", "');
        throw badRequest(
          `failed to create typed patch object: ${where}: associative list with keys has an element that omits key field "${missing}" (and doesn't have default value)`,
        );
      }
      if (seen.has(pe))
        throw badRequest(`failed to create typed patch object: ${pathString(path)}: duplicate entries for key ${pathString([pe])}`);
      seen.add(pe);
      validateApplied(item, childSchema(schema, 0), [...path, pe]);
    });
  }
}

interface Comparison {
  added: FieldSet;
  removed: FieldSet;
  modified: FieldSet;
}

/** What changed between two objects, per field path (structured-merge-diff's Compare). */
export function compareObjects(oldValue: Json | undefined, newValue: Json | undefined, schema: JsonSchema | undefined): Comparison {
  const c: Comparison = { added: new FieldSet(), removed: new FieldSet(), modified: new FieldSet() };
  const walk = (l: Json | undefined, r: Json | undefined, s: JsonSchema | undefined, path: FieldPath) => {
    if (l === undefined && r === undefined) return;
    const ls = l === undefined ? undefined : shapeOf(l, s);
    const rs = r === undefined ? undefined : shapeOf(r, s);
    const shape = ls ?? rs;
    if (shape === 'leaf' || (ls && rs && ls !== rs)) {
      if (l === undefined) c.added.insert(path);
      else if (r === undefined) c.removed.insert(path);
      else if (!deepEqual(l, r)) c.modified.insert(path);
      return;
    }
    if (isEmptyContainer(l) && isEmptyContainer(r)) return;
    const ownsNode = path.length > 0 && (shape === 'list' || !isStruct(s));
    if (ownsNode && isEmptyContainer(l)) c.added.insert(path);
    if (ownsNode && isEmptyContainer(r)) c.removed.insert(path);
    if (shape === 'list') {
      const left = new Map(indexItems((l as Json[] | undefined) ?? [], s));
      const right = new Map(indexItems((r as Json[] | undefined) ?? [], s));
      const items = childSchema(s, 0);
      for (const [pe, item] of right) {
        if (!left.has(pe)) c.added.insert([...path, pe]);
        walk(left.get(pe), item, items, [...path, pe]);
      }
      for (const [pe, item] of left) {
        if (right.has(pe)) continue;
        c.removed.insert([...path, pe]);
        walk(item, undefined, items, [...path, pe]);
      }
    } else {
      const lo = (l as JsonObject | undefined) ?? {};
      const ro = (r as JsonObject | undefined) ?? {};
      for (const k of new Set([...Object.keys(lo), ...Object.keys(ro)])) {
        walk(lo[k], ro[k], childSchema(s, k), [...path, fieldElement(k)]);
      }
    }
  };
  walk(oldValue, newValue, schema, []);
  return c;
}

/** Merges an applied configuration into the live object (structured-merge-diff's Merge). */
export function mergeApplied(live: Json | undefined, applied: Json | undefined, schema: JsonSchema | undefined): Json | undefined {
  if (applied === undefined) return live;
  if (live === undefined) return applied;
  const ls = shapeOf(live, schema);
  if (ls !== shapeOf(applied, schema) || ls === 'leaf') return applied;
  if (ls === 'map') {
    const out: JsonObject = { ...(live as JsonObject) };
    for (const [k, v] of Object.entries(applied as JsonObject)) {
      out[k] = mergeApplied(out[k], v, childSchema(schema, k)) as Json;
    }
    return out;
  }
  return mergeLists(live as Json[], applied as Json[], schema);
}

/**
 * Keyed-list merge with structured-merge-diff's ordering: items shared by both lists follow the
 * applied order, live-only items stay next to the shared items they followed, applied-only items
 * land where the applied list puts them.
 */
function mergeLists(live: Json[], applied: Json[], schema: JsonSchema | undefined): Json[] {
  const items = childSchema(schema, 0);
  const lhs = indexItems(live, schema);
  const rhs = indexItems(applied, schema);
  const lhsByPe = new Map(lhs);
  const rhsByPe = new Map(rhs);
  const mergeItem = (pe: PathElement) => mergeApplied(lhsByPe.get(pe), rhsByPe.get(pe), items) as Json;
  const shared = rhs.map(([pe]) => pe).filter((pe) => lhsByPe.has(pe));
  let nextShared = shared.shift();
  const advanceShared = () => {
    nextShared = shared.shift();
  };
  const merged = new Set<PathElement>();
  const out: Json[] = [];
  let li = 0;
  let ri = 0;
  while (li < lhs.length || ri < rhs.length) {
    if (li < lhs.length && ri < rhs.length) {
      const pe = lhs[li][0];
      if (pe === rhs[ri][0]) {
        merged.add(pe);
        out.push(mergeItem(pe));
        li++;
        ri++;
        advanceShared();
        continue;
      }
      if (rhsByPe.has(pe) && nextShared !== undefined && nextShared !== pe) {
        li++;
        continue;
      }
    }
    if (li < lhs.length) {
      const [pe, item] = lhs[li];
      if (!rhsByPe.has(pe)) {
        out.push(item);
        li++;
        continue;
      }
      if (merged.has(pe)) {
        li++;
        continue;
      }
    }
    if (ri < rhs.length) {
      const pe = rhs[ri][0];
      merged.add(pe);
      out.push(mergeItem(pe));
      ri++;
      if (nextShared === pe) advanceShared();
    }
  }
  return out;
}

/** Removes the values at `set`'s member paths; containers emptied by the removal go too. */
export function removeFields(value: Json, set: FieldSet, schema: JsonSchema | undefined, keep?: FieldSet): Json {
  // A node in `set` that still has owned fields beneath it in `keep` stays (only its unowned
  // fields go), as structured-merge-diff adds owned items back after pruning: dropping a
  // manager's `f:data: {".": {}}` must not take `data.x` that someone still owns with it.
  const owned = (pe: PathElement) => {
    const k = keep?.children.get(pe);
    return k && !k.isEmpty() ? k : undefined;
  };
  const shape = shapeOf(value, schema);
  if (shape === 'map') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value as JsonObject)) {
      const pe = fieldElement(k);
      const keepChild = owned(pe);
      if (set.members.has(pe) && !keepChild) continue;
      const child = set.children.get(pe);
      if (!child) {
        out[k] = v;
        continue;
      }
      const pruned = removeFields(v, child, childSchema(schema, k), keepChild);
      if (!isEmptyContainer(pruned) || isEmptyContainer(v)) out[k] = pruned;
    }
    return out;
  }
  if (shape === 'list') {
    const out: Json[] = [];
    for (const [pe, item] of indexItems(value as Json[], schema)) {
      const keepChild = owned(pe);
      if (set.members.has(pe) && !keepChild) continue;
      const child = set.children.get(pe);
      out.push(child ? removeFields(item, child, childSchema(schema, 0), keepChild) : item);
    }
    return out;
  }
  return value;
}

function dropNulls(v: Json): Json {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
  return out;
}

// ---------------------------------------------------------------------------------------------
// managedFields encoding.

function decodeManagedFields(entries: unknown): Manager[] {
  if (!Array.isArray(entries)) return [];
  const byId = new Map<string, Manager>();
  for (const raw of entries as unknown[]) {
    if (!isObject(raw)) continue;
    const e = raw as ManagedFieldsEntry;
    if (e.operation !== 'Apply' && e.operation !== 'Update') continue;
    const m: Manager = {
      manager: e.manager ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion ?? '',
      time: e.time,
      subresource: e.subresource || undefined,
      set: FieldSet.fromFieldsV1(e.fieldsV1),
    };
    const prev = byId.get(identity(m));
    if (prev) prev.set = prev.set.union(m.set);
    else byId.set(identity(m), m);
  }
  return [...byId.values()];
}

function epochSeconds(t: string | undefined): number {
  return t ? Math.floor(Date.parse(t) / 1000) : 0;
}

/** Encodes managers as kube stores them: stripped of meta fields, empty ones dropped, sorted. */
function encodeManagedFields(managers: Manager[]): ManagedFieldsEntry[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return managers
    .map((m) => ({ ...m, set: m.set.difference(STRIPPED) }))
    .filter((m) => !m.set.isEmpty())
    .sort(
      (p, q) =>
        cmp(p.operation, q.operation) ||
        epochSeconds(p.time) - epochSeconds(q.time) ||
        cmp(p.manager, q.manager) ||
        cmp(p.apiVersion, q.apiVersion) ||
        cmp(p.subresource ?? '', q.subresource ?? ''),
    )
    .map((m) => {
      const e: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
      if (m.time) e.time = m.time;
      e.fieldsType = 'FieldsV1';
      e.fieldsV1 = m.set.toFieldsV1();
      if (m.subresource) e.subresource = m.subresource;
      return e;
    });
}

function withoutManagedFields(obj: KubeObject): JsonObject {
  const copy = clone(obj) as unknown as JsonObject;
  const meta = copy.metadata;
  if (isObject(meta)) delete meta.managedFields;
  return copy;
}

/**
 * The object seen without its managed fields, for reading only: a copy of the top level and of
 * metadata, sharing everything else (an ordinary write only compares old and new).
 */
function viewWithoutManagedFields(obj: KubeObject): JsonObject {
  const { managedFields: _m, ...meta } = obj.metadata ?? {};
  return { ...(obj as unknown as JsonObject), metadata: meta as JsonObject };
}

function withManagedFields(obj: JsonObject, entries: ManagedFieldsEntry[]): KubeObject {
  const out = obj as unknown as KubeObject;
  out.metadata = isObject(out.metadata) ? out.metadata : {};
  if (entries.length > 0) out.metadata.managedFields = entries;
  else delete out.metadata.managedFields;
  return out;
}

/**
 * Records a non-apply write by `manager` (kube's managedFieldsUpdater + Updater.Update): the
 * fields it added or changed become its own and are taken from every other manager, removed
 * fields leave every manager.
 */
function recordUpdate(
  managers: Manager[],
  oldObj: JsonObject,
  newObj: JsonObject,
  who: { manager: string; apiVersion: string; subresource?: string },
  schema: JsonSchema | undefined,
  now: string,
): Manager[] {
  const c = compareObjects(oldObj, newObj, schema);
  const changed = c.modified.union(c.added);
  const rest = managers.map((m) => ({ ...m, set: m.set.difference(changed).difference(c.removed) })).filter((m) => !m.set.isEmpty());
  const current = changed.difference(STRIPPED);
  if (current.isEmpty()) return rest;
  const self: Manager = { ...who, operation: 'Update', time: now, set: current };
  const prev = rest.find((m) => identity(m) === identity(self));
  if (prev) {
    prev.set = prev.set.union(current);
    prev.time = now;
    return rest;
  }
  return [...rest, self];
}

// ---------------------------------------------------------------------------------------------
// Public API.

export interface UpdateManagedFieldsInput {
  /** The object before the write; undefined on create. */
  old?: KubeObject;
  /** The object about to be stored (after defaulting, before allocation, as kube records it). */
  new: KubeObject;
  manager: string;
  operation?: 'Update';
  subresource?: string;
  schema?: JsonSchema;
  now?: Date | string;
}

/**
 * Records ownership for an ordinary write (create, update, non-apply patch) and returns the object
 * with its new `metadata.managedFields`. Managed fields sent in `new` (non-empty) replace the old
 * ones before recording, which is how clients edit them directly.
 */
export function updateManagedFields(input: UpdateManagedFieldsInput): { object: KubeObject; managedFields: ManagedFieldsEntry[] } {
  const sent = input.new.metadata?.managedFields;
  const base = Array.isArray(sent) && sent.length > 0 ? decodeManagedFields(sent) : decodeManagedFields(input.old?.metadata?.managedFields);
  const oldObj = input.old ? viewWithoutManagedFields(input.old) : {};
  const newObj = viewWithoutManagedFields(input.new);
  const who = {
    manager: input.manager,
    apiVersion: input.new.apiVersion ?? input.old?.apiVersion ?? '',
    subresource: input.subresource || undefined,
  };
  const managers = recordUpdate(base, oldObj, newObj, who, input.schema, formatTime(input.now));
  const managedFields = encodeManagedFields(managers);
  return { object: withManagedFields(newObj, managedFields), managedFields };
}

export interface ServerSideApplyInput {
  /** The stored object; undefined when the apply creates it. */
  live?: KubeObject;
  /** The applied configuration (the request body). */
  applied: unknown;
  manager: string;
  schema?: JsonSchema;
  force?: boolean;
  subresource?: string;
  now?: Date | string;
}

function printManager(m: Manager): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion}`;
  return s;
}

/** kube's 409 for apply conflicts (fieldmanager's NewConflictError). */
function conflictError(conflicts: [Manager, FieldSet][]): StatusError {
  const sorted = [...conflicts].sort(([a], [b]) => (identity(a) < identity(b) ? -1 : identity(a) > identity(b) ? 1 : 0));
  const flat = sorted.flatMap(([m, set]) => set.paths().map((p) => ({ m, path: pathString(p) })));
  const causes = flat.map(({ m, path }) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(m)}`, field: path }));
  let message: string;
  if (flat.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(flat[0].m)}: ${flat[0].path}`;
  } else {
    const lines = sorted.flatMap(([m, set]) => [`conflicts with ${printManager(m)}:`, ...set.paths().map((p) => `- ${pathString(p)}`)]);
    message = `Apply failed with ${flat.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

/**
 * Server-side apply (`application/apply-patch+yaml`): merges `applied` into `live` (or creates
 * from it), makes `manager` the owner of exactly the applied fields, removes fields this manager
 * applied before but no longer applies (unless someone else owns them), and refuses with kube's
 * 409 FieldManagerConflict when the apply would change a field another manager owns — unless
 * `force`, which takes those fields over.
 */
export function serverSideApply(input: ServerSideApplyInput): { object: KubeObject; managedFields: ManagedFieldsEntry[] } {
  const { applied, manager, schema } = input;
  if (!isObject(applied)) throw badRequest('error decoding YAML: the applied configuration must be an object');
  if (isObject(applied.metadata) && applied.metadata.managedFields !== undefined && applied.metadata.managedFields !== null) {
    throw badRequest('metadata.managedFields must be nil');
  }
  const config = dropNulls(applied) as JsonObject;
  validateApplied(config, schema);
  const now = formatTime(input.now);
  const liveObj: JsonObject = input.live ? withoutManagedFields(input.live) : {};

  let managers = input.live ? decodeManagedFields(input.live.metadata?.managedFields) : [];
  if (input.live && managers.length === 0) {
    const who = { manager: 'before-first-apply', apiVersion: input.live.apiVersion ?? '' };
    managers = recordUpdate([], {}, liveObj, who, schema, now);
  }

  const self: Manager = {
    manager,
    operation: 'Apply',
    apiVersion: typeof config.apiVersion === 'string' ? config.apiVersion : (input.live?.apiVersion ?? ''),
    subresource: input.subresource || undefined,
    set: toFieldSet(config, schema),
  };
  const previous = managers.find((m) => identity(m) === identity(self));
  const others = managers.filter((m) => m !== previous);

  let merged = mergeApplied(liveObj, config, schema) as JsonObject;
  if (previous && !previous.set.isEmpty()) {
    const owned = others.reduce((acc, m) => acc.union(m.set), self.set);
    merged = removeFields(merged, previous.set.difference(owned), schema, owned) as JsonObject;
  }

  const c = compareObjects(liveObj, merged, schema);
  const changed = c.modified.union(c.added);
  const conflicts: [Manager, FieldSet][] = [];
  for (const m of others) {
    const overlap = m.set.intersection(changed);
    if (!overlap.isEmpty()) conflicts.push([m, overlap]);
  }
  if (conflicts.length > 0 && !input.force) throw conflictError(conflicts);

  const objectChanged = !deepEqual(liveObj, merged);
  self.time = objectChanged || !previous ? now : previous.time;
  const rest = others.map((m) => ({ ...m, set: m.set.difference(changed).difference(c.removed) }));
  const managedFields = encodeManagedFields([...rest, self]);

  if (manager === 'kubectl') syncLastApplied(merged, applied);
  return { object: withManagedFields(merged, managedFields), managedFields };
}

/**
 * kube's lastAppliedUpdater: `kubectl apply --server-side` keeps an existing client-side
 * last-applied annotation current, so a later client-side apply diffs against the right thing.
 */
function syncLastApplied(obj: JsonObject, applied: JsonObject): void {
  const annotations = isObject(obj.metadata) ? obj.metadata.annotations : undefined;
  if (!isObject(annotations) || typeof annotations[LAST_APPLIED_ANNOTATION] !== 'string') return;
  const copy = clone(applied);
  if (isObject(copy.metadata) && isObject(copy.metadata.annotations)) delete copy.metadata.annotations[LAST_APPLIED_ANNOTATION];
  obj.metadata = { ...(obj.metadata as JsonObject), annotations: { ...annotations, [LAST_APPLIED_ANNOTATION]: `${sortedJson(copy)}\n` } };
}

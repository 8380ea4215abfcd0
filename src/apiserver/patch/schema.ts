/**
 * Reading Kubernetes list/map semantics off plain JSON Schema objects (what @sinclair/typebox
 * produces). The schemas are inlined (no `$ref`); Kubernetes' OpenAPI extensions carry the
 * patch semantics, exactly as in kube-apiserver's published OpenAPI.
 */

/** A JSON Schema node; only the keys the patch code reads are named. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  [extra: string]: unknown;
}

function branches(schema: JsonSchema): JsonSchema[] {
  return [...(schema.allOf ?? []), ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
}

/**
 * The schema of `schema`'s child at `key`: a property, a map value (`additionalProperties` or
 * typebox's `patternProperties` for Records), or an array element (numeric key). Composite
 * schemas (`allOf`/`anyOf`/`oneOf`, as typebox emits for Intersect/Union) are searched branch by
 * branch. Returns undefined when nothing describes the child, and callers then fall back to
 * Kubernetes' defaults (maps merge, lists are atomic).
 */
export function childSchema(schema: JsonSchema | undefined, key: string | number): JsonSchema | undefined {
  if (!schema) return undefined;
  if (typeof key === 'number') {
    if (schema.items) return schema.items;
  } else {
    const prop = schema.properties?.[key];
    if (prop) return prop;
    if (schema.patternProperties) {
      for (const [pattern, s] of Object.entries(schema.patternProperties)) {
        if (new RegExp(pattern).test(key)) return s;
      }
    }
    if (typeof schema.additionalProperties === 'object') return schema.additionalProperties;
  }
  for (const b of branches(schema)) {
    const found = childSchema(b, key);
    if (found) return found;
  }
  return undefined;
}

/** Whether `key` is a declared struct field of `schema` (as opposed to an entry of a map). */
export function isNamedField(schema: JsonSchema | undefined, key: string): boolean {
  if (!schema) return false;
  if (schema.properties && Object.hasOwn(schema.properties, key)) return true;
  return branches(schema).some((b) => isNamedField(b, key));
}

/** Whether `schema` describes a struct (declared properties) rather than a free-form map. */
export function isStruct(schema: JsonSchema | undefined): boolean {
  if (!schema) return true;
  if (schema.properties) return true;
  if (schema.additionalProperties !== undefined || schema.patternProperties) return false;
  return branches(schema).some((b) => b.properties !== undefined);
}

function extension<K extends keyof JsonSchema>(schema: JsonSchema | undefined, name: K): JsonSchema[K] | undefined {
  if (!schema) return undefined;
  if (schema[name] !== undefined) return schema[name];
  for (const b of branches(schema)) {
    const v = extension(b, name);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Strategic-merge-patch metadata of a field (`patchStrategy`/`patchMergeKey` struct tags in Go). */
export interface PatchMeta {
  /** `merge`: lists merge (by `mergeKey` for objects, as a set for primitives). */
  merge: boolean;
  /** `replace`: maps are replaced wholesale instead of merged. */
  replace: boolean;
  /** `retainKeys`: kubectl sends `$retainKeys` for this map (applying it needs no flag). */
  retainKeys: boolean;
  mergeKey: string;
}

export function patchMeta(schema: JsonSchema | undefined): PatchMeta {
  const strategies = (extension(schema, 'x-kubernetes-patch-strategy') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    merge: strategies.includes('merge'),
    replace: strategies.includes('replace'),
    retainKeys: strategies.includes('retainKeys'),
    mergeKey: extension(schema, 'x-kubernetes-patch-merge-key') ?? '',
  };
}

/** Server-side-apply semantics of a list: atomic (one value), set (of scalars), or map (keyed items). */
export interface ListSemantics {
  type: 'atomic' | 'set' | 'map';
  keys: string[];
}

/**
 * The list type used by server-side apply. Without `x-kubernetes-list-type`, a strategic-merge
 * `merge` list is keyed by its merge key (or is a set when it has none), and anything else is
 * atomic — the same fallback Kubernetes applies to its built-in types.
 */
export function listSemantics(schema: JsonSchema | undefined): ListSemantics {
  const declared = extension(schema, 'x-kubernetes-list-type');
  const keys = extension(schema, 'x-kubernetes-list-map-keys');
  if (declared === 'map') return { type: 'map', keys: keys ?? [patchMeta(schema).mergeKey].filter(Boolean) };
  if (declared === 'set' || declared === 'atomic') return { type: declared, keys: [] };
  const meta = patchMeta(schema);
  if (meta.merge) return meta.mergeKey ? { type: 'map', keys: [meta.mergeKey] } : { type: 'set', keys: [] };
  return { type: 'atomic', keys: [] };
}

/** Whether a map/struct is owned and replaced as one value by server-side apply. */
export function isAtomicMap(schema: JsonSchema | undefined): boolean {
  return extension(schema, 'x-kubernetes-map-type') === 'atomic';
}

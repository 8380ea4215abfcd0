/**
 * Building blocks for the API type schemas. Every kind is described once, as plain JSON Schema
 * (TypeBox), and that one description feeds the TypeScript types (`Static<>`), server-side
 * decoding with Kubernetes' field validation (src/api/decode.ts), the OpenAPI v3 documents that
 * `kubectl explain` and client-side strategic merge read (src/apiserver/openapi.ts), and the
 * patch metadata (`x-kubernetes-patch-*`, `x-kubernetes-list-*`) the strategic-merge code uses.
 *
 * Conventions:
 * - A schema with `$id` is a named Go struct; the id is the upstream OpenAPI component name
 *   (`io.k8s.api.core.v1.ServicePort`), so error messages can say `ServicePort` / `v1.ServicePort`
 *   and OpenAPI can `$ref` it.
 * - Maps use `additionalProperties` (as upstream OpenAPI does), never `patternProperties`.
 * - `x-kubernetes-preserve-unknown-fields: true` marks loosely typed structs whose contents we
 *   keep verbatim without checking (securityContext, affinity, …).
 */
import {
  type SchemaOptions,
  type Static,
  type TArray,
  type TObject,
  type TOptional,
  type TSchema,
  type TUnsafe,
  Type,
} from '@sinclair/typebox';

export type { Static };

/** Kubernetes' list and patch extensions, exactly as they appear in upstream OpenAPI. */
export interface ListExtensions {
  'x-kubernetes-patch-strategy'?: 'merge' | 'retainKeys' | 'merge,retainKeys';
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
}

/** Every named struct, by component name, as first declared (its own description, not a field's). */
export const NAMED = new Map<string, TSchema>();

type Fields = Record<string, TSchema>;
type OptionalExcept<P extends Fields, R extends keyof P> = { [K in keyof P]: K extends R ? P[K] : TOptional<P[K]> };

/**
 * A named Go struct. All fields are optional (as in Go, where absent means zero value) except the
 * ones listed in `required`, which upstream OpenAPI also lists as required.
 */
export function struct<P extends Fields, R extends keyof P & string = never>(
  id: string,
  description: string,
  props: P,
  required: readonly R[] = [],
  extra: SchemaOptions = {},
): TObject<OptionalExcept<P, R>> {
  const wrapped: Fields = {};
  for (const [k, v] of Object.entries(props)) wrapped[k] = (required as readonly string[]).includes(k) ? v : Type.Optional(v);
  const schema = Type.Object(wrapped, { $id: id, description, ...extra }) as unknown as TObject<OptionalExcept<P, R>>;
  NAMED.set(id, schema);
  return schema;
}

/**
 * A struct whose fields we do not model: any object is accepted and kept as is. Used for large
 * upstream structs that do not matter to Service networking (security contexts, affinity, …), so
 * that real manifests using them are not rejected.
 */
export function looseStruct(id: string, description: string): TUnsafe<Record<string, unknown>> {
  const schema = Type.Unsafe<Record<string, unknown>>({
    $id: id,
    type: 'object',
    description,
    'x-kubernetes-preserve-unknown-fields': true,
  });
  NAMED.set(id, schema);
  return schema;
}

/** The same schema with the description of the field that uses it. */
export function doc<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description };
}

export const str = (description?: string, extra: SchemaOptions = {}) => Type.String({ ...(description ? { description } : {}), ...extra });
export const i32 = (description?: string) => Type.Integer({ format: 'int32', ...(description ? { description } : {}) });
export const i64 = (description?: string) => Type.Integer({ format: 'int64', ...(description ? { description } : {}) });
export const bool = (description?: string) => Type.Boolean(description ? { description } : {});
export const num = (description?: string) => Type.Number({ format: 'double', ...(description ? { description } : {}) });

/** `map[string]T`; `atomic` maps are replaced wholesale by patches (`x-kubernetes-map-type: atomic`). */
export function mapOf<T extends TSchema>(value: T, description?: string, atomic = false): TUnsafe<Record<string, Static<T>>> {
  return Type.Unsafe<Record<string, Static<T>>>({
    type: 'object',
    additionalProperties: value,
    ...(description ? { description } : {}),
    ...(atomic ? { 'x-kubernetes-map-type': 'atomic' } : {}),
  });
}

export const stringMap = (description?: string, atomic = false) => mapOf(Type.String(), description, atomic);

/** `[]T`, carrying the list's patch and list-type extensions. */
export function list<T extends TSchema>(items: T, description?: string, ext: ListExtensions = {}): TArray<T> {
  return Type.Array(items, { ...(description ? { description } : {}), ...ext });
}

export const atomic: ListExtensions = { 'x-kubernetes-list-type': 'atomic' };
export const set: ListExtensions = { 'x-kubernetes-list-type': 'set' };
/** A list merged by key: `patchStrategy=merge`, `patchMergeKey=key`, `listType=map` keyed by `keys`. */
export function mergeBy(key: string, keys: string[] = [key]): ListExtensions {
  return {
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-patch-merge-key': key,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': keys,
  };
}

export const stringList = (description?: string, ext: ListExtensions = atomic) => list(Type.String(), description, ext);

/** An enum-like string; upstream documents the values in the description, we do too. */
export function oneOf(values: string[], description: string) {
  return Type.String({
    description: `${description}\n\nPossible enum values:\n${values.map((v) => ` - \`"${v}"\``).join('\n')}`,
    enum: values,
  });
}

// ---------------------------------------------------------------------------------------------
// apimachinery scalar types with custom JSON handling.

export const INT_OR_STRING_ID = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
export const QUANTITY_ID = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
export const TIME_ID = 'io.k8s.apimachinery.pkg.apis.meta.v1.Time';
export const MICRO_TIME_ID = 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime';

/** A number or a name (`targetPort: 8080` or `targetPort: http`). */
export const IntOrString = Type.Unsafe<number | string>({
  $id: INT_OR_STRING_ID,
  description: 'A value that is either a 32-bit integer or a string, such as a port number or a port name.',
  anyOf: [{ type: 'integer', format: 'int32' }, { type: 'string' }],
  'x-kubernetes-int-or-string': true,
});
NAMED.set(INT_OR_STRING_ID, IntOrString);

/** A resource amount such as `100m`, `128Mi` or `2`. */
export const Quantity = Type.Unsafe<string | number>({
  $id: QUANTITY_ID,
  description: 'A fixed-point amount with an optional suffix: `100m` (milli), `128Mi` (binary), `1G` (decimal), `2` (plain).',
  anyOf: [{ type: 'string' }, { type: 'number' }],
  'x-kubernetes-int-or-string': true,
});
NAMED.set(QUANTITY_ID, Quantity);

/** An RFC 3339 timestamp with second precision. */
export const Time = Type.Unsafe<string>({
  $id: TIME_ID,
  type: 'string',
  format: 'date-time',
  description: 'A timestamp in RFC 3339 form, with second precision.',
});
NAMED.set(TIME_ID, Time);

/** An RFC 3339 timestamp with microsecond precision. */
export const MicroTime = Type.Unsafe<string>({
  $id: MICRO_TIME_ID,
  type: 'string',
  format: 'date-time',
  description: 'A timestamp in RFC 3339 form, with microsecond precision.',
});
NAMED.set(MICRO_TIME_ID, MicroTime);

/** Base64 text in JSON (`[]byte` in Go), as in Secret `data`. */
export const Bytes = Type.String({ format: 'byte' });

/** Any JSON value. */
export const Any = Type.Unknown();

/**
 * Decodes `application/vnd.kubernetes.protobuf` request bodies into the JSON object a JSON
 * client would have sent for the same Go value, so the rest of the server sees one format.
 *
 * The body is the 4-byte magic `k8s\0` followed by a `runtime.Unknown` whose `typeMeta` names the
 * kind and whose `raw` holds the object's message. Field numbers come from ./tables.ts; what a
 * field holds comes from the TypeBox schema of its struct (src/api/types), walked in step.
 *
 * Zero values follow Go's encoding/json: gogo protobuf writes every non-pointer field, even when
 * empty, so an empty string, 0 or false is dropped (`omitempty`) unless the field is a Go pointer
 * (marked `*` in the tables) or one the schema lists as required (no `omitempty` upstream).
 * Nested structs are always written (`{}` when empty), a zero `Time` is `null`, and lists and maps
 * appear only when they have elements.
 */
import type { TSchema } from '@sinclair/typebox';
import { badRequest, StatusError } from '../errors.js';
import { INT_OR_STRING_ID, MICRO_TIME_ID, NAMED, QUANTITY_ID, TIME_ID } from '../types/index.js';
import { FIELDS, type FieldTable, INLINE, parseTable } from './tables.js';
import { isZeroField, readFields, readPackedVarints, WireError, type WireField, WireType } from './wire.js';

/** Content-Type of Kubernetes protobuf bodies. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** The magic prefix of every Kubernetes protobuf body. */
export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** A decoded request body. */
export interface DecodedObject {
  apiVersion: string;
  kind: string;
  /** The object as JSON: `kind`, `apiVersion`, then the decoded fields. */
  object: Record<string, unknown>;
}

const FIELDS_V1_ID = 'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1';
/** Go's zero `time.Time` (year 1) as Unix seconds, which a `Time` may carry instead of an empty message. */
const GO_ZERO_TIME_SECONDS = -62135596800n;

const tables = new Map<string, FieldTable>();

function tableFor(id: string, inline: boolean): FieldTable | undefined {
  const key = inline ? `&${id}` : id;
  let table = tables.get(key);
  if (!table) {
    const spec = inline ? INLINE[id] : FIELDS[id];
    if (spec === undefined) return undefined;
    table = parseTable(spec);
    tables.set(key, table);
  }
  return table;
}

function unsupported(what: string): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf decoding of ${what} is not supported)`,
  );
}

/** The component name of a top-level kind, e.g. `apps/v1` `Deployment` → `io.k8s.api.apps.v1.Deployment`. */
export function schemaIdForKind(apiVersion: string, kind: string): string {
  // Options kinds live in apimachinery whatever group version the client tags them with.
  if (kind === 'DeleteOptions') return 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions';
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const pkg = group === '' ? 'core' : group.replace(/\.k8s\.io$/, '').split('.')[0];
  return `io.k8s.api.${pkg}.${version}.${kind}`;
}

/**
 * Decodes a Kubernetes protobuf body into `{ apiVersion, kind, object }`.
 *
 * Throws a 400 `StatusError` for malformed bytes and a 415 `StatusError` for kinds or fields this
 * server cannot decode from protobuf (the client should send JSON instead).
 */
export function decodeProtobufObject(buf: Buffer): DecodedObject {
  if (buf.length < PROTOBUF_MAGIC.length || !buf.subarray(0, PROTOBUF_MAGIC.length).equals(PROTOBUF_MAGIC)) {
    throw badRequest('the body of the request does not start with the Kubernetes protobuf prefix "k8s\\x00"');
  }
  try {
    const unknown = decodeUnknown(buf.subarray(PROTOBUF_MAGIC.length));
    if (unknown.contentEncoding) throw unsupported(`contentEncoding ${JSON.stringify(unknown.contentEncoding)}`);
    const { apiVersion, kind } = unknown;
    const id = schemaIdForKind(apiVersion, kind);
    const schema = NAMED.get(id);
    if (!schema || !tableFor(id, false)) throw unsupported(`${apiVersion} ${kind}`);
    return { apiVersion, kind, object: { kind, apiVersion, ...decodeStruct(unknown.raw, id, schema) } };
  } catch (e) {
    if (e instanceof WireError) throw badRequest(`the body of the request could not be decoded as protobuf: ${e.message}`);
    throw e;
  }
}

/** `runtime.Unknown`: typeMeta=1 {apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4. */
function decodeUnknown(buf: Buffer) {
  const out: { apiVersion: string; kind: string; raw: Buffer; contentEncoding: string; contentType: string } = {
    apiVersion: '',
    kind: '',
    raw: Buffer.alloc(0),
    contentEncoding: '',
    contentType: '',
  };
  for (const f of readFields(buf)) {
    if (f.wireType !== WireType.Bytes) continue;
    if (f.number === 1) {
      for (const t of readFields(f.bytes)) {
        if (t.wireType !== WireType.Bytes) continue;
        if (t.number === 1) out.apiVersion = t.bytes.toString('utf8');
        if (t.number === 2) out.kind = t.bytes.toString('utf8');
      }
    } else if (f.number === 2) out.raw = f.bytes;
    else if (f.number === 3) out.contentEncoding = f.bytes.toString('utf8');
    else if (f.number === 4) out.contentType = f.bytes.toString('utf8');
  }
  if (!out.kind || !out.apiVersion) throw badRequest('the protobuf body does not name its apiVersion and kind');
  return out;
}

interface ObjectSchema {
  $id?: string;
  properties?: Record<string, TSchema>;
  required?: string[];
}

/** Decodes one struct message, described by its table id and its schema. */
function decodeStruct(buf: Buffer, id: string, schema: TSchema): Record<string, unknown> {
  const table = tableFor(id, false);
  if (!table) {
    // A struct we hold no numbers for is fine when empty (gogo writes empty value structs).
    if (buf.length === 0) return {};
    throw unsupported(`field type ${id.split('.').pop()}`);
  }
  const out: Record<string, unknown> = {};
  decodeInto(out, buf, table, schema as ObjectSchema, id);
  return out;
}

function decodeInto(out: Record<string, unknown>, buf: Buffer, table: FieldTable, schema: ObjectSchema, where: string): void {
  for (const f of readFields(buf)) {
    const entry = table.get(f.number);
    // Fields we do not know are skipped, as gogo's generated Unmarshal does.
    if (!entry) continue;
    if ('inline' in entry) {
      const inline = tableFor(entry.inline, true);
      if (!inline || f.wireType !== WireType.Bytes) throw new WireError(`${where}: bad inlined field ${f.number}`);
      decodeInto(out, f.bytes, inline, schema, where);
      continue;
    }
    const { property, pointer } = entry;
    const prop = schema.properties?.[property];
    if (!prop) throw new Error(`protobuf table ${where} names ${property}, which its schema lacks`);
    const context = `${where.split('.').pop()}.${property}`;
    if (prop.type === 'array') {
      const list = (out[property] as unknown[] | undefined) ?? [];
      list.push(...decodeRepeated(f, prop.items as TSchema, context));
      out[property] = list;
    } else if (prop.type === 'object' && prop.additionalProperties && !prop.properties) {
      const map = (out[property] as Record<string, unknown> | undefined) ?? {};
      const [key, value] = decodeMapEntry(f, prop.additionalProperties as TSchema, context);
      map[key] = value;
      out[property] = map;
    } else {
      const value = decodeValue(f, prop, context);
      const keep = pointer || schema.required?.includes(property) || !isZeroScalar(value);
      if (keep) out[property] = value;
    }
  }
}

function isZeroScalar(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

/** A non-scalar field (struct, IntOrString, Time, …) is never "zero": Go's JSON always writes structs. */
function decodeValue(f: WireField, schema: TSchema, context: string): unknown {
  const id = schema.$id as string | undefined;
  switch (id) {
    case INT_OR_STRING_ID:
      return decodeIntOrString(bytesOf(f, context));
    case QUANTITY_ID:
      return decodeQuantity(bytesOf(f, context));
    case TIME_ID:
      return decodeTime(bytesOf(f, context), false);
    case MICRO_TIME_ID:
      return decodeTime(bytesOf(f, context), true);
    case FIELDS_V1_ID:
      return decodeFieldsV1(bytesOf(f, context));
  }
  if (schema['x-kubernetes-preserve-unknown-fields'] || (schema.type === undefined && id === undefined)) {
    if (isZeroField(f)) return {};
    throw unsupported(context);
  }
  switch (schema.type) {
    case 'string':
      return schema.format === 'byte' ? bytesOf(f, context).toString('base64') : bytesOf(f, context).toString('utf8');
    case 'integer':
      return Number(BigInt.asIntN(64, varintOf(f, context)));
    case 'boolean':
      return varintOf(f, context) !== 0n;
    case 'number':
      if (f.wireType !== WireType.Fixed64) throw new WireError(`${context}: expected a double`);
      return f.bytes.readDoubleLE(0);
    case 'object':
      if (!id) throw unsupported(context);
      return decodeStruct(bytesOf(f, context), id, schema);
  }
  throw unsupported(context);
}

function decodeRepeated(f: WireField, item: TSchema, context: string): unknown[] {
  const packable = item.type === 'integer' || item.type === 'boolean';
  if (packable && f.wireType === WireType.Bytes) {
    return readPackedVarints(f.bytes).map((v) => (item.type === 'boolean' ? v !== 0n : Number(BigInt.asIntN(64, v))));
  }
  return [decodeValue(f, item, context)];
}

/** Map entries are messages {key=1, value=2}; a missing value is the value type's zero. */
function decodeMapEntry(f: WireField, valueSchema: TSchema, context: string): [string, unknown] {
  let key = '';
  let value: unknown;
  for (const e of readFields(bytesOf(f, context))) {
    if (e.number === 1) key = bytesOf(e, context).toString('utf8');
    else if (e.number === 2) value = decodeValue(e, valueSchema, context);
  }
  if (value === undefined) value = decodeValue({ number: 2, wireType: WireType.Bytes, bytes: Buffer.alloc(0) }, valueSchema, context);
  return [key, value];
}

/** IntOrString: type=1 (0 int, 1 string), intVal=2, strVal=3 → a JSON number or string. */
function decodeIntOrString(buf: Buffer): number | string {
  let type = 0n;
  let intVal = 0;
  let strVal = '';
  for (const f of readFields(buf)) {
    if (f.number === 1) type = varintOf(f, 'IntOrString.type');
    else if (f.number === 2) intVal = Number(BigInt.asIntN(32, varintOf(f, 'IntOrString.intVal')));
    else if (f.number === 3) strVal = bytesOf(f, 'IntOrString.strVal').toString('utf8');
  }
  return type === 1n ? strVal : intVal;
}

/** Quantity: string=1, its canonical text. */
function decodeQuantity(buf: Buffer): string {
  let text = '';
  for (const f of readFields(buf)) if (f.number === 1) text = bytesOf(f, 'Quantity.string').toString('utf8');
  return text;
}

/** Time / MicroTime: seconds=1, nanos=2; empty (Go's zero time) is JSON `null`. */
function decodeTime(buf: Buffer, micro: boolean): string | null {
  let seconds = 0n;
  let nanos = 0;
  for (const f of readFields(buf)) {
    if (f.number === 1) seconds = BigInt.asIntN(64, varintOf(f, 'Time.seconds'));
    else if (f.number === 2) nanos = Number(BigInt.asIntN(32, varintOf(f, 'Time.nanos')));
  }
  if ((seconds === 0n && nanos === 0 && buf.length === 0) || (seconds === GO_ZERO_TIME_SECONDS && nanos === 0)) return null;
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return micro ? `${whole}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${whole}Z`;
}

/** FieldsV1: Raw=1, the JSON of the field set. */
function decodeFieldsV1(buf: Buffer): unknown {
  for (const f of readFields(buf)) {
    if (f.number !== 1) continue;
    try {
      return JSON.parse(bytesOf(f, 'FieldsV1.Raw').toString('utf8'));
    } catch {
      throw new WireError('FieldsV1.Raw is not JSON');
    }
  }
  return {};
}

function bytesOf(f: WireField, context: string): Buffer {
  if (f.wireType !== WireType.Bytes) throw new WireError(`${context}: expected length-delimited data, got wire type ${f.wireType}`);
  return f.bytes;
}

function varintOf(f: WireField, context: string): bigint {
  if (f.wireType !== WireType.Varint) throw new WireError(`${context}: expected a varint, got wire type ${f.wireType}`);
  return f.value;
}

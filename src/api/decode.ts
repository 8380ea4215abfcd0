/**
 * Server-side decoding of request bodies with Kubernetes' field validation.
 *
 * kube-apiserver decodes JSON into Go structs with a case-sensitive fork of encoding/json
 * (sigs.k8s.io/json). What users see when a manifest is wrong comes straight out of that decoder,
 * so we reproduce its behaviour from the schema instead of the Go types:
 * - type mismatches: `json: cannot unmarshal string into Go struct field ServiceSpec.spec.selector
 *   of type map[string]string` (Go names the innermost struct and the dotted path of struct
 *   fields, without list indices or map keys; the first such error wins and is fatal);
 * - strict errors: `unknown field "spec.ports[0].foo"`, `duplicate field "metadata.name"` (full
 *   paths with indices), which fieldValidation=Strict turns into a 400, Warn into warnings, and
 *   Ignore drops (unknown fields are pruned either way).
 * Duplicates cannot be seen after JSON.parse, so bodies are parsed by the small parser below,
 * which also reports syntax errors the way Go's scanner words them.
 */
import type { TSchema } from '@sinclair/typebox';
import { badRequest, type StatusError } from './errors.js';
import type { KubeObject } from './meta.js';
import { apiVersionOf, parseApiVersion, RESOURCES } from './resources.js';
import { MICRO_TIME_ID, QUANTITY_ID, TIME_ID } from './types/schema.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** What a body must decode into: a kind and its schema (a ResourceInfo, or a subresource's kind). */
export interface DecodeTarget {
  group: string;
  version: string;
  kind: string;
  schema: TSchema;
}

export interface DecodeResult<T = KubeObject> {
  object: T;
  /** Strict-decoding problems to report as `Warning` headers (fieldValidation=Warn). */
  warnings: string[];
}

/**
 * Decodes a request body (raw JSON text, or an already parsed object from an in-process client)
 * into `target`'s kind. Unknown fields are pruned; `apiVersion`/`kind` default to the target's.
 * Throws StatusError 400 BadRequest with kube-apiserver's wording on any failure.
 */
export function decodeObject<T = KubeObject>(
  body: string | object,
  target: DecodeTarget,
  mode: FieldValidation = 'Strict',
): DecodeResult<T> {
  const object = decodeClean(body, target);
  return object ? { object: object as T, warnings: [] } : decodeExactly<T>(body, target, mode);
}

/**
 * The exact decoder alone: parses with the Go-worded parser and walks nodes. {@link decodeObject}
 * uses it only for bodies the fast path gives up on; exported so tests can compare the two.
 */
export function decodeExactly<T = KubeObject>(
  body: string | object,
  target: DecodeTarget,
  mode: FieldValidation = 'Strict',
): DecodeResult<T> {
  const raw = typeof body === 'string' ? body : undefined;
  let root: JNode;
  try {
    root = raw !== undefined ? parseJson(raw) : toNode(body);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw unrecognized(target, e.message, raw ?? '');
    throw e;
  }
  const gvk = interpretKind(root, target, raw ?? JSON.stringify(body));

  const cannotHandle = (why: string) =>
    badRequest(`${gvk.kind} in version ${JSON.stringify(gvk.version)} cannot be handled as a ${target.kind}: ${why}`);

  if (gvk.group !== target.group || gvk.version !== target.version || gvk.kind !== target.kind) {
    const registered = isRegistered(gvk);
    if (!registered) {
      throw cannotHandle(
        `no kind ${JSON.stringify(gvk.kind)} is registered for version ${JSON.stringify(apiVersionOf(gvk))} in scheme "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"`,
      );
    }
    if (gvk.kind !== target.kind) {
      throw cannotHandle(
        `converting (${gvk.version}.${gvk.kind}) to (${internalPackage(target.group)}.${target.kind}): unknown conversion`,
      );
    }
    throw badRequest(
      `the API version in the data (${apiVersionOf(gvk)}) does not match the expected API version (${apiVersionOf(target)})`,
    );
  }

  const d = new Decoder(mode !== 'Ignore');
  let object: unknown;
  try {
    object = d.decode(root, target.schema, '', structName(target.schema));
  } catch (e) {
    if (e instanceof AbortDecode) throw cannotHandle(e.message);
    throw e;
  }
  if (d.typeError) throw cannotHandle(d.typeError);
  const out = object as Record<string, unknown>;
  out.apiVersion = apiVersionOf(gvk);
  out.kind = gvk.kind;
  if (mode === 'Strict' && d.strictErrors.length) throw cannotHandle(`strict decoding error: ${d.strictErrors.join(', ')}`);
  return { object: out as T, warnings: mode === 'Warn' ? d.strictErrors : [] };
}

// ---------------------------------------------------------------------------------------------
// apiVersion/kind (runtime's SimpleMetaFactory.Interpret plus defaulting from the URL)

const FIND_KIND_TYPE = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }';

function interpretKind(root: JNode, target: DecodeTarget, raw: string): { group: string; version: string; kind: string } {
  const parseError = (msg: string) => unrecognized(target, msg, raw);
  if (root.t !== 'obj') {
    if (root.t === 'null') return { group: target.group, version: target.version, kind: target.kind };
    throw parseError(`json: cannot unmarshal ${jsonKind(root)} into Go value of type ${FIND_KIND_TYPE}`);
  }
  const field = (name: string): string => {
    let value = '';
    for (const [k, v] of root.entries) {
      if (k.toLowerCase() !== name.toLowerCase()) continue; // encoding/json matches keys case-insensitively here
      if (v.t === 'null') continue;
      if (v.t !== 'str') throw parseError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field .${name} of type string`);
      value = v.v;
    }
    return value;
  };
  const apiVersion = field('apiVersion');
  const kind = field('kind') || target.kind;
  if (!apiVersion) return { group: target.group, version: target.version, kind };
  const { group, version } = parseApiVersion(apiVersion);
  return { group, version: version || (group === target.group ? target.version : ''), kind };
}

function unrecognized(target: DecodeTarget, why: string, raw: string): StatusError {
  return badRequest(
    `the object provided is unrecognized (must be of type ${target.kind}): couldn't get version/kind; json parse error: ${why} (${summarize(raw, 30)})`,
  );
}

/** apiserver's summary of an undecodable body: the first bytes as text for objects, hex otherwise. */
function summarize(raw: string, max: number): string {
  const bytes = Buffer.from(raw, 'utf8');
  if (bytes.length === 0) return '<empty>';
  const head = bytes.subarray(0, max);
  const more = bytes.length > max ? ' ...' : '';
  return bytes[0] === 0x7b ? `${head.toString('utf8')}${more}` : `${head.toString('hex')}${more}`;
}

function isRegistered(gvk: { group: string; version: string; kind: string }): boolean {
  return RESOURCES.some((r) => r.group === gvk.group && r.version === gvk.version && (r.kind === gvk.kind || r.listKind === gvk.kind));
}

/** The Go package of the apiserver's internal types for a group (`core.Service`, `apps.Deployment`). */
function internalPackage(group: string): string {
  if (group === '' || group === 'events.k8s.io') return 'core';
  return group.split('.')[0];
}

// ---------------------------------------------------------------------------------------------
// The typed decoder

class AbortDecode extends Error {}

type SchemaKind =
  | 'intstr'
  | 'quantity'
  | 'time'
  | 'struct'
  | 'loose'
  | 'map'
  | 'array'
  | 'string'
  | 'bytes'
  | 'int'
  | 'float'
  | 'bool'
  | 'any';

const SCHEMA_KINDS = new WeakMap<TSchema, SchemaKind>();

function schemaKind(s: TSchema): SchemaKind {
  let kind = SCHEMA_KINDS.get(s);
  if (kind === undefined) {
    kind = classify(s);
    SCHEMA_KINDS.set(s, kind);
  }
  return kind;
}

function classify(s: TSchema): SchemaKind {
  if (s.$id === QUANTITY_ID) return 'quantity';
  if (s['x-kubernetes-int-or-string']) return 'intstr';
  if (s.$id === TIME_ID || s.$id === MICRO_TIME_ID) return 'time';
  switch (s.type) {
    case 'object':
      if (s['x-kubernetes-preserve-unknown-fields']) return 'loose';
      if (s.properties) return 'struct';
      return s.additionalProperties ? 'map' : 'loose';
    case 'array':
      return 'array';
    case 'string':
      return s.format === 'byte' ? 'bytes' : 'string';
    case 'integer':
      return 'int';
    case 'number':
      return 'float';
    case 'boolean':
      return 'bool';
    default:
      return 'any';
  }
}

/** Go's `reflect.Type.String()` for the type a schema stands for. */
function goType(s: TSchema): string {
  switch (schemaKind(s)) {
    case 'intstr':
      return 'intstr.IntOrString';
    case 'quantity':
      return 'resource.Quantity';
    case 'time':
    case 'struct':
    case 'loose':
      return s.$id ? goNamed(s.$id) : 'map[string]interface {}';
    case 'map':
      return `map[string]${goType(s.additionalProperties as TSchema)}`;
    case 'array':
      return `[]${goType(s.items as TSchema)}`;
    case 'string':
      return 'string';
    case 'bytes':
      return '[]uint8';
    case 'int':
      return s.format === 'int32' ? 'int32' : 'int64';
    case 'float':
      return 'float64';
    case 'bool':
      return 'bool';
    default:
      return 'interface {}';
  }
}

/** `io.k8s.api.core.v1.ServicePort` → `v1.ServicePort` (Go package name + type name). */
function goNamed(id: string): string {
  const parts = id.split('.');
  return `${parts[parts.length - 2]}.${parts[parts.length - 1]}`;
}

function structName(s: TSchema): string {
  return typeof s.$id === 'string' ? s.$id.slice(s.$id.lastIndexOf('.') + 1) : '';
}

const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const QUANTITY_RE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const QUANTITY_SUFFIX_RE = /^(|[numkMGTPE]|[KMGTPE]i|[eE][-+]?[0-9]+)$/;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const BASE64_CHAR = /[A-Za-z0-9+/]/;

/**
 * Walks the parsed JSON against a schema, mirroring encoding/json's decodeState: `fields` is the
 * stack of Go struct field names and `struct` the innermost struct, which is what Go puts in
 * UnmarshalTypeError; `path` is the strict-error path (with `[i]` and map keys).
 */
class Decoder {
  typeError: string | undefined;
  readonly strictErrors: string[] = [];
  private readonly seenStrict = new Set<string>();
  private readonly fields: string[] = [];
  private struct = '';

  constructor(private readonly strict: boolean) {}

  decode(node: JNode, schema: TSchema, path: string, struct: string): unknown {
    this.struct = struct;
    return this.value(node, schema, path);
  }

  private saveStrict(msg: string): void {
    if (!this.strict || this.seenStrict.has(msg) || this.strictErrors.length >= 100) return;
    this.seenStrict.add(msg);
    this.strictErrors.push(msg);
  }

  /** encoding/json keeps the first type error and goes on decoding the rest. */
  private mismatch(node: JNode, schema: TSchema, value = jsonKind(node), type = goType(schema)): undefined {
    this.typeError ??= this.unmarshalMessage(value, type);
    return undefined;
  }

  private unmarshalMessage(value: string, type: string): string {
    if (this.fields.length === 0 && !this.struct) return `json: cannot unmarshal ${value} into Go value of type ${type}`;
    return `json: cannot unmarshal ${value} into Go struct field ${this.struct}.${this.fields.join('.')} of type ${type}`;
  }

  private value(node: JNode, schema: TSchema, path: string): unknown {
    const kind = schemaKind(schema);
    if (node.t === 'null') return undefined;
    switch (kind) {
      case 'struct':
        return node.t === 'obj' ? this.object(node, schema, path) : this.mismatch(node, schema);
      case 'loose':
        return node.t === 'obj' ? plain(node) : this.mismatch(node, schema);
      case 'map': {
        if (node.t !== 'obj') return this.mismatch(node, schema);
        const out: Record<string, unknown> = {};
        const seen = new Set<string>();
        for (const [key, child] of node.entries) {
          if (seen.has(key)) this.saveStrict(`duplicate field ${JSON.stringify(`${path}.${key}`)}`);
          seen.add(key);
          const v = this.value(child, schema.additionalProperties as TSchema, `${path}.${key}`);
          out[key] = v === undefined ? zeroOf(schema.additionalProperties as TSchema) : v;
        }
        return out;
      }
      case 'array': {
        if (node.t !== 'arr') return this.mismatch(node, schema);
        return node.items.map((item, i) => {
          const v = this.value(item, schema.items as TSchema, `${path}[${i}]`);
          return v === undefined ? zeroOf(schema.items as TSchema) : v;
        });
      }
      case 'string':
        return node.t === 'str' ? node.v : this.mismatch(node, schema);
      case 'bytes':
        if (node.t !== 'str') return this.mismatch(node, schema);
        this.checkBase64(node.v);
        return node.v;
      case 'bool':
        return node.t === 'bool' ? node.v : this.mismatch(node, schema);
      case 'int': {
        if (node.t !== 'num') return this.mismatch(node, schema);
        const n = parseGoInt(node.raw, schema.format === 'int32' ? 32 : 64);
        return n === undefined ? this.mismatch(node, schema, `number ${node.raw}`) : n;
      }
      case 'float':
        return node.t === 'num' ? Number(node.raw) : this.mismatch(node, schema);
      case 'intstr':
        return this.intOrString(node);
      case 'quantity':
        return this.quantity(node);
      case 'time':
        return this.time(node);
      default:
        return plain(node);
    }
  }

  private object(node: JObj, schema: TSchema, path: string): Record<string, unknown> {
    const props = schema.properties as Record<string, TSchema>;
    const name = structName(schema);
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    for (const [key, child] of node.entries) {
      const childPath = path ? `${path}.${key}` : key;
      const prop = Object.hasOwn(props, key) ? props[key] : undefined;
      if (!prop) {
        this.saveStrict(`unknown field ${JSON.stringify(childPath)}`);
        continue;
      }
      if (seen.has(key)) this.saveStrict(`duplicate field ${JSON.stringify(childPath)}`);
      seen.add(key);
      const outer = this.struct;
      this.fields.push(key);
      this.struct = name;
      const v = this.value(child, prop, childPath);
      this.fields.pop();
      this.struct = outer;
      if (v === undefined) delete out[key];
      else out[key] = v;
    }
    return out;
  }

  /** IntOrString's UnmarshalJSON: strings as is, anything else into an int32 (errors are fatal). */
  private intOrString(node: JNode): number | string {
    if (node.t === 'str') return node.v;
    if (node.t === 'num') {
      const n = parseGoInt(node.raw, 32);
      if (n !== undefined) return n;
      throw new AbortDecode(this.unmarshalMessage(`number ${node.raw}`, 'int32'));
    }
    throw new AbortDecode(this.unmarshalMessage(jsonKind(node), 'int32'));
  }

  /** resource.Quantity's UnmarshalJSON parses the text (quoted or not); errors are fatal. */
  private quantity(node: JNode): string | number {
    const text = node.t === 'str' ? node.v : node.t === 'num' ? node.raw : node.t === 'bool' ? String(node.v) : '{';
    const m = QUANTITY_RE.exec(text.trim());
    if (!m) throw new AbortDecode(QUANTITY_FORMAT_ERROR);
    if ((m[1].match(/\./g) ?? []).length > 1 || /^[+-]?\.?$/.test(m[1])) throw new AbortDecode('unable to parse numeric part of quantity');
    if (!QUANTITY_SUFFIX_RE.test(m[2])) throw new AbortDecode("unable to parse quantity's suffix");
    return node.t === 'num' ? Number(node.raw) : text;
  }

  /** metav1.Time: a JSON string holding RFC 3339; a non-string fails as a string would. */
  private time(node: JNode): string {
    if (node.t !== 'str') throw new AbortDecode(this.unmarshalMessage(jsonKind(node), 'string'));
    if (!RFC3339_RE.test(node.v)) {
      throw new AbortDecode(
        `parsing time ${JSON.stringify(node.v)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(node.v)} as "2006"`,
      );
    }
    return node.v;
  }

  /** []byte fields hold standard base64; Go reports the offset of the first bad byte. */
  private checkBase64(s: string): void {
    const bad = base64ErrorOffset(s);
    if (bad !== undefined) this.typeError ??= `illegal base64 data at input byte ${bad}`;
  }
}

/** Where Go's base64.StdEncoding.Decode reports corrupt input (CorruptInputError), if anywhere. */
function base64ErrorOffset(src: string): number | undefined {
  const n = src.length;
  const skipNewlines = (at: number) => {
    let k = at;
    while (k < n && (src[k] === '\n' || src[k] === '\r')) k++;
    return k;
  };
  let si = 0;
  for (;;) {
    for (let j = 0; j < 4; ) {
      if (si === n) return j === 0 ? undefined : si - j;
      const c = src[si++];
      if (c === '\n' || c === '\r') continue;
      if (c === '=') {
        if (j < 2) return si - 1;
        if (j === 2) {
          si = skipNewlines(si);
          if (si === n) return n;
          if (src[si] !== '=') return si - 1;
          si++;
        }
        si = skipNewlines(si);
        return si < n ? si : undefined;
      }
      if (!BASE64_CHAR.test(c)) return si - 1;
      j++;
    }
  }
}

function zeroOf(s: TSchema): unknown {
  switch (schemaKind(s)) {
    case 'struct':
      return {};
    case 'string':
    case 'bytes':
      return '';
    case 'int':
    case 'float':
      return 0;
    case 'bool':
      return false;
    default:
      return null;
  }
}

/** Go's ParseInt(raw, 10, 64) plus the overflow check for the target width. */
function parseGoInt(raw: string, bits: 32 | 64): number | undefined {
  if (!/^-?\d+$/.test(raw)) return undefined;
  const n = BigInt(raw);
  const limit = 1n << BigInt(bits - 1);
  if (n < -limit || n >= limit) return undefined;
  return Number(n);
}

// ---------------------------------------------------------------------------------------------
// The fast path: JSON.parse and a walk that gives up at the first thing that is not clean

/** Why the fast path gave up; the exact decoder then decodes the body from scratch. */
class NotClean extends Error {}
const NOT_CLEAN = new NotClean();

/**
 * Decodes a body that needs no error, warning or Go-specific number handling: valid JSON with no
 * duplicate key, no unknown field, no type mismatch, no fraction or exponent in any number, no
 * case-variant `apiVersion`/`kind` key and the target's own kind. Returns undefined for anything
 * else, so that the exact decoder words the error. Almost every request kubectl and controllers
 * send is clean, and JSON.parse plus this walk is several times cheaper than the exact parser.
 */
export function decodeClean(body: string | object, target: DecodeTarget): Record<string, unknown> | undefined {
  let value: unknown = body;
  let rawKeys = -1;
  if (typeof body === 'string') {
    // Every string token in order (outside strings JSON has no quotes, so the scan stays in step);
    // those followed by a colon are keys. A digit followed by `.`/`e`/`E` outside strings is a
    // number with a fraction or exponent, which Go rejects for integer fields.
    rawKeys = 0;
    for (const m of body.matchAll(TOKENS)) {
      if (m[1] !== undefined) rawKeys++;
      else if (m[0][0] !== '"') return undefined;
    }
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const root = value as Record<string, unknown>;
  for (const k of Object.keys(root)) {
    const lower = k.toLowerCase();
    if ((lower === 'apiversion' && k !== 'apiVersion') || (lower === 'kind' && k !== 'kind')) return undefined;
  }
  const { apiVersion, kind } = root;
  if ((apiVersion !== undefined && typeof apiVersion !== 'string') || (kind !== undefined && typeof kind !== 'string')) return undefined;
  if (apiVersion && apiVersion !== apiVersionOf(target)) return undefined;
  if (kind && kind !== target.kind) return undefined;
  const walk = new CleanWalk();
  let out: Record<string, unknown>;
  try {
    out = walk.struct(root, target.schema);
  } catch (e) {
    if (e === NOT_CLEAN) return undefined;
    throw e;
  }
  if (rawKeys >= 0 && walk.keys !== rawKeys) return undefined; // a duplicate key somewhere
  out.apiVersion = apiVersionOf(target);
  out.kind = target.kind;
  return out;
}

const TOKENS = /"(?:[^"\\]|\\.)*"(\s*:)?|\d[.eE]/g;

/** Builds a fresh object from a parsed value, as the exact decoder would, or throws NOT_CLEAN. */
class CleanWalk {
  /** Keys seen, to compare with the keys in the raw text. */
  keys = 0;

  value(v: unknown, schema: TSchema): unknown {
    switch (schemaKind(schema)) {
      case 'struct':
        return this.struct(v, schema);
      case 'map': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw NOT_CLEAN;
        const item = schema.additionalProperties as TSchema;
        const out: Record<string, unknown> = {};
        for (const k in v) {
          const x = (v as Record<string, unknown>)[k];
          if (x === undefined) continue;
          this.keys++;
          out[k] = x === null ? zeroOf(item) : this.value(x, item);
        }
        return out;
      }
      case 'array': {
        if (!Array.isArray(v)) throw NOT_CLEAN;
        const item = schema.items as TSchema;
        return v.map((x) => (x === null || x === undefined ? zeroOf(item) : this.value(x, item)));
      }
      case 'string':
        if (typeof v !== 'string') throw NOT_CLEAN;
        return v;
      case 'bytes':
        if (typeof v !== 'string' || base64ErrorOffset(v) !== undefined) throw NOT_CLEAN;
        return v;
      case 'bool':
        if (typeof v !== 'boolean') throw NOT_CLEAN;
        return v;
      case 'int': {
        const limit = schema.format === 'int32' ? 2 ** 31 : 2 ** 63;
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < -limit || v >= limit) throw NOT_CLEAN;
        return v === 0 ? 0 : v; // Go has no -0
      }
      case 'float':
        if (typeof v !== 'number') throw NOT_CLEAN;
        return v;
      case 'intstr':
        if (typeof v === 'string') return v;
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw NOT_CLEAN;
        return v === 0 ? 0 : v;
      case 'quantity': {
        if (typeof v !== 'string') throw NOT_CLEAN;
        const m = QUANTITY_RE.exec(v.trim());
        if (!m || (m[1].match(/\./g) ?? []).length > 1 || /^[+-]?\.?$/.test(m[1]) || !QUANTITY_SUFFIX_RE.test(m[2])) throw NOT_CLEAN;
        return v;
      }
      case 'time':
        if (typeof v !== 'string' || !RFC3339_RE.test(v)) throw NOT_CLEAN;
        return v;
      default:
        return this.copy(v);
    }
  }

  struct(v: unknown, schema: TSchema): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw NOT_CLEAN;
    const props = schema.properties as Record<string, TSchema>;
    const out: Record<string, unknown> = {};
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined) continue;
      this.keys++;
      if (!Object.hasOwn(props, k)) throw NOT_CLEAN;
      if (x !== null) out[k] = this.value(x, props[k]);
    }
    return out;
  }

  /** A schemaless value (preserve-unknown-fields, `any`): a deep copy, undefined dropped as JSON would. */
  copy(v: unknown): unknown {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : this.copy(x)));
    const out: Record<string, unknown> = {};
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined) continue;
      this.keys++;
      out[k] = this.copy(x);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON parsing that keeps what JSON.parse loses: duplicate keys, number text, Go's error wording

type JObj = { t: 'obj'; entries: [string, JNode][] };
export type JNode =
  | JObj
  | { t: 'arr'; items: JNode[] }
  | { t: 'str'; v: string }
  | { t: 'num'; raw: string }
  | { t: 'bool'; v: boolean }
  | { t: 'null' };

/** A JSON syntax error, worded like Go's encoding/json scanner. */
export class JsonSyntaxError extends Error {}

function jsonKind(n: JNode): string {
  switch (n.t) {
    case 'obj':
      return 'object';
    case 'arr':
      return 'array';
    case 'str':
      return 'string';
    case 'num':
      return 'number';
    case 'bool':
      return 'bool';
    default:
      return 'null';
  }
}

/** Converts a node to a plain JS value (last duplicate wins, as in Go). */
function plain(n: JNode): unknown {
  switch (n.t) {
    case 'obj': {
      const o: Record<string, unknown> = {};
      for (const [k, v] of n.entries) o[k] = plain(v);
      return o;
    }
    case 'arr':
      return n.items.map(plain);
    case 'str':
      return n.v;
    case 'num':
      return Number(n.raw);
    case 'bool':
      return n.v;
    default:
      return null;
  }
}

function toNode(v: unknown): JNode {
  if (v === null || v === undefined) return { t: 'null' };
  if (Array.isArray(v)) return { t: 'arr', items: v.map(toNode) };
  switch (typeof v) {
    case 'string':
      return { t: 'str', v };
    case 'number':
      return { t: 'num', raw: String(v) };
    case 'boolean':
      return { t: 'bool', v };
    case 'object':
      return {
        t: 'obj',
        entries: Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .map(([k, x]) => [k, toNode(x)]),
      };
    default:
      return { t: 'null' };
  }
}

/** Go's quoteChar: how the scanner shows an offending byte. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  const q = JSON.stringify(c).slice(1, -1);
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) {
    const named: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
    return `'${named[c] ?? `\\x${code.toString(16).padStart(2, '0')}`}'`;
  }
  return `'${q}'`;
}

/** Parses JSON text into nodes, throwing JsonSyntaxError with Go's messages. */
export function parseJson(text: string): JNode {
  let i = 0;
  const eof = () => new JsonSyntaxError('unexpected end of JSON input');
  const invalid = (context: string) => new JsonSyntaxError(`invalid character ${quoteChar(text[i])} ${context}`);
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };

  const literal = (word: string, node: JNode): JNode => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (i >= text.length) throw eof();
      if (text[i] !== word[k]) throw invalid(`in literal ${word} (expecting '${word[k]}')`);
    }
    i++;
    return node;
  };

  const digits = (context: string) => {
    if (i >= text.length) throw eof();
    if (text[i] < '0' || text[i] > '9') throw invalid(context);
    while (i < text.length && text[i] >= '0' && text[i] <= '9') i++;
  };

  const number = (): JNode => {
    const start = i;
    if (text[i] === '-') {
      i++;
      if (i >= text.length) throw eof();
      if (text[i] < '0' || text[i] > '9') throw invalid('in numeric literal');
    }
    if (text[i] === '0') i++;
    else digits('in numeric literal');
    if (text[i] === '.') {
      i++;
      digits('after decimal point in numeric literal');
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits('in exponent of numeric literal');
    }
    return { t: 'num', raw: text.slice(start, i) };
  };

  const string = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) throw eof();
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c < ' ') throw invalid('in string literal');
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      i++;
      if (i >= text.length) throw eof();
      const e = text[i];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) {
        out += simple[e];
        i++;
      } else if (e === 'u') {
        i++;
        for (let k = 0; k < 4; k++) {
          if (i + k >= text.length) throw eof();
          if (!/[0-9a-fA-F]/.test(text[i + k])) {
            i += k;
            throw invalid('in \\u hexadecimal character escape');
          }
        }
        out += String.fromCharCode(Number.parseInt(text.slice(i, i + 4), 16));
        i += 4;
      } else {
        throw invalid('in string escape code');
      }
    }
  };

  const value = (): JNode => {
    ws();
    if (i >= text.length) throw eof();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, JNode][] = [];
      ws();
      if (i >= text.length) throw eof();
      if (text[i] === '}') {
        i++;
        return { t: 'obj', entries };
      }
      for (;;) {
        ws();
        if (i >= text.length) throw eof();
        if (text[i] !== '"') throw invalid('looking for beginning of object key string');
        const key = string();
        ws();
        if (i >= text.length) throw eof();
        if (text[i] !== ':') throw invalid('after object key');
        i++;
        entries.push([key, value()]);
        ws();
        if (i >= text.length) throw eof();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { t: 'obj', entries };
        }
        throw invalid('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      const items: JNode[] = [];
      ws();
      if (i >= text.length) throw eof();
      if (text[i] === ']') {
        i++;
        return { t: 'arr', items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (i >= text.length) throw eof();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { t: 'arr', items };
        }
        throw invalid('after array element');
      }
    }
    if (c === '"') return { t: 'str', v: string() };
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    if (c === 't') return literal('true', { t: 'bool', v: true });
    if (c === 'f') return literal('false', { t: 'bool', v: false });
    if (c === 'n') return literal('null', { t: 'null' });
    throw invalid('looking for beginning of value');
  };

  const root = value();
  ws();
  if (i < text.length) throw invalid('after top-level value');
  return root;
}

/**
 * Protobuf encoding of an OpenAPI v2 (Swagger 2.0) document as gnostic's `openapi.v2.Document`
 * message (github.com/google/gnostic, openapiv2/OpenAPIv2.proto), the only form kubectl accepts
 * from `/openapi/v2`. The input is the JSON document; every message below writes the fields
 * kubectl's parsers read (kube-openapi `proto.NewOpenAPIData`, the query-parameter verifier and
 * the patch-type lookup), with gnostic's field numbers.
 *
 * Vendor extensions (`x-…`), `default`, `enum` and `example` are gnostic `Any` values whose `yaml`
 * field carries the value as text; JSON is valid YAML, and kube-openapi unmarshals it with a YAML
 * parser, so the JSON text is written there.
 */

type Json = Record<string, unknown>;

/** Appends protobuf fields (proto3: scalars at their zero value are left out). */
export class ProtoWriter {
  private readonly chunks: Buffer[] = [];

  private key(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  private varint(n: number): void {
    const bytes: number[] = [];
    let v = BigInt.asUintN(64, BigInt(Math.trunc(n)));
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    this.chunks.push(Buffer.from(bytes));
  }

  /** A length-delimited field holding raw bytes (an encoded message or UTF-8 text). */
  bytes(field: number, data: Buffer): this {
    this.key(field, 2);
    this.varint(data.length);
    this.chunks.push(data);
    return this;
  }

  string(field: number, s: unknown): this {
    if (typeof s === 'string' && s !== '') this.bytes(field, Buffer.from(s, 'utf8'));
    return this;
  }

  strings(field: number, list: unknown): this {
    if (Array.isArray(list)) for (const s of list) if (typeof s === 'string') this.bytes(field, Buffer.from(s, 'utf8'));
    return this;
  }

  /** A bool; `always` writes `false` too (a member of a oneof is present even at its zero value). */
  bool(field: number, b: unknown, always = false): this {
    if (typeof b === 'boolean' && (b || always)) {
      this.key(field, 0);
      this.varint(b ? 1 : 0);
    }
    return this;
  }

  int64(field: number, n: unknown): this {
    if (typeof n === 'number' && n !== 0) {
      this.key(field, 0);
      this.varint(n);
    }
    return this;
  }

  double(field: number, n: unknown): this {
    if (typeof n === 'number' && n !== 0) {
      this.key(field, 1);
      const b = Buffer.alloc(8);
      b.writeDoubleLE(n);
      this.chunks.push(b);
    }
    return this;
  }

  /** An embedded message; written (even when empty) whenever `value` is present. */
  message<T>(field: number, value: T | undefined, encode: (w: ProtoWriter, v: T) => void): this {
    if (value === undefined || value === null) return this;
    const w = new ProtoWriter();
    encode(w, value);
    return this.bytes(field, w.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (v: unknown): [string, unknown][] => (isObject(v) ? Object.entries(v) : []);

/** gnostic `Any`: the value as YAML text (field 2). */
function any(w: ProtoWriter, value: unknown): void {
  w.string(2, JSON.stringify(value));
}

/** gnostic `NamedAny` list: every `x-` key of `obj`, in order. */
function vendorExtensions(w: ProtoWriter, field: number, obj: Json): void {
  for (const [name, value] of Object.entries(obj)) {
    if (!name.startsWith('x-') || value === undefined) continue;
    w.message(field, value, (n, v) => {
      n.string(1, name);
      n.message(2, v, any);
    });
  }
}

/** `openapi.v2.Schema`. */
export function encodeSchema(w: ProtoWriter, s: Json): void {
  w.string(1, s.$ref)
    .string(2, s.format)
    .string(3, s.title)
    .string(4, s.description)
    .message(5, s.default, any)
    .double(6, s.multipleOf)
    .double(7, s.maximum)
    .bool(8, s.exclusiveMaximum)
    .double(9, s.minimum)
    .bool(10, s.exclusiveMinimum)
    .int64(11, s.maxLength)
    .int64(12, s.minLength)
    .string(13, s.pattern)
    .int64(14, s.maxItems)
    .int64(15, s.minItems)
    .bool(16, s.uniqueItems)
    .int64(17, s.maxProperties)
    .int64(18, s.minProperties)
    .strings(19, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) w.message(20, e, any);
  // AdditionalPropertiesItem: oneof { Schema schema = 1; bool boolean = 2; }
  const ap = s.additionalProperties;
  if (isObject(ap)) w.message(21, ap, (m, v) => m.message(1, v, encodeSchema));
  else if (typeof ap === 'boolean') w.message(21, ap, (m, v) => m.bool(2, v, true));
  // TypeItem { repeated string value = 1; }
  if (s.type !== undefined) w.message(22, Array.isArray(s.type) ? s.type : [s.type], (m, v) => m.strings(1, v));
  // ItemsItem { repeated Schema schema = 1; }
  if (s.items !== undefined) {
    const items = (Array.isArray(s.items) ? s.items : [s.items]).filter(isObject);
    w.message(23, items, (m, list) => {
      for (const item of list) m.message(1, item, encodeSchema);
    });
  }
  if (Array.isArray(s.allOf)) for (const a of s.allOf.filter(isObject)) w.message(24, a, encodeSchema);
  // Properties { repeated NamedSchema additional_properties = 1; }
  if (isObject(s.properties)) w.message(25, s.properties, namedSchemas);
  w.string(26, s.discriminator).bool(27, s.readOnly).message(30, s.example, any);
  vendorExtensions(w, 31, s);
}

/** A JSON object of schemas as repeated `NamedSchema` (field 1 of Properties / Definitions). */
function namedSchemas(w: ProtoWriter, map: Json): void {
  for (const [name, schema] of entries(map)) {
    if (!isObject(schema)) continue;
    w.message(1, schema, (n, v) => {
      n.string(1, name);
      n.message(2, v, encodeSchema);
    });
  }
}

/** `openapi.v2.ParametersItem` → `Parameter` → body or non-body (query/path/header) parameter. */
function encodeParameter(w: ProtoWriter, p: Json): void {
  w.message(1, p, (param, v) => {
    if (v.in === 'body') {
      param.message(1, v, (b, x) => {
        b.string(1, x.description).string(2, x.name).string(3, x.in).bool(4, x.required);
        if (isObject(x.schema)) b.message(5, x.schema, encodeSchema);
        vendorExtensions(b, 6, x);
      });
      return;
    }
    // NonBodyParameter oneof: header = 1, formData = 2, query = 3, path = 4.
    const which = { header: 1, formData: 2, query: 3, path: 4 }[v.in as string];
    if (!which) return;
    param.message(2, v, (nb, x) =>
      nb.message(which, x, (sub, y) => {
        // Path and header sub-schemas lack allow_empty_value, so their later fields sit one lower.
        const shift = which === 2 || which === 3 ? 0 : -1;
        sub.bool(1, y.required).string(2, y.in).string(3, y.description).string(4, y.name);
        if (shift === 0) sub.bool(5, y.allowEmptyValue);
        sub
          .string(6 + shift, y.type)
          .string(7 + shift, y.format)
          .string(9 + shift, y.collectionFormat)
          .message(10 + shift, y.default, any)
          .bool(20 + shift, y.uniqueItems);
        vendorExtensions(sub, 23 + shift, y);
      }),
    );
  });
}

/** `openapi.v2.Operation`. */
function encodeOperation(w: ProtoWriter, op: Json): void {
  w.strings(1, op.tags)
    .string(2, op.summary)
    .string(3, op.description)
    .string(5, op.operationId)
    .strings(6, op.produces)
    .strings(7, op.consumes);
  if (Array.isArray(op.parameters)) for (const p of op.parameters.filter(isObject)) w.message(8, p, encodeParameter);
  if (isObject(op.responses)) {
    w.message(9, op.responses, (rs, responses) => {
      for (const [code, r] of entries(responses)) {
        if (!isObject(r)) continue;
        // NamedResponseValue { name = 1; ResponseValue value = 2 } → ResponseValue.response = 1.
        rs.message(1, r, (named, resp) => {
          named.string(1, code);
          named.message(2, resp, (rv, x) =>
            rv.message(1, x, (out, y) => {
              out.string(1, y.description);
              if (isObject(y.schema)) out.message(2, y.schema, (si, s) => si.message(1, s, encodeSchema));
              vendorExtensions(out, 5, y);
            }),
          );
        });
      }
    });
  }
  w.strings(10, op.schemes).bool(11, op.deprecated);
  vendorExtensions(w, 13, op);
}

const PATH_ITEM_OPERATIONS: [string, number][] = [
  ['get', 2],
  ['put', 3],
  ['post', 4],
  ['delete', 5],
  ['options', 6],
  ['head', 7],
  ['patch', 8],
];

function encodePathItem(w: ProtoWriter, item: Json): void {
  w.string(1, item.$ref);
  for (const [verb, field] of PATH_ITEM_OPERATIONS) if (isObject(item[verb])) w.message(field, item[verb] as Json, encodeOperation);
  if (Array.isArray(item.parameters)) for (const p of item.parameters.filter(isObject)) w.message(9, p, encodeParameter);
  vendorExtensions(w, 10, item);
}

/** `openapi.v2.Document` for a Swagger 2.0 JSON document. */
export function encodeOpenAPIV2Document(doc: Json): Buffer {
  const w = new ProtoWriter();
  w.string(1, doc.swagger);
  if (isObject(doc.info)) {
    w.message(2, doc.info, (i, info) => {
      i.string(1, info.title).string(2, info.version).string(3, info.description);
      vendorExtensions(i, 7, info);
    });
  }
  w.string(3, doc.host).string(4, doc.basePath).strings(5, doc.schemes).strings(6, doc.consumes).strings(7, doc.produces);
  if (isObject(doc.paths)) {
    w.message(8, doc.paths, (ps, paths) => {
      vendorExtensions(ps, 1, paths);
      for (const [name, item] of entries(paths)) {
        if (name.startsWith('x-') || !isObject(item)) continue;
        ps.message(2, item, (n, v) => {
          n.string(1, name);
          n.message(2, v, encodePathItem);
        });
      }
    });
  }
  if (isObject(doc.definitions)) w.message(9, doc.definitions, namedSchemas);
  if (Array.isArray(doc.security)) {
    // SecurityRequirement { repeated NamedStringArray additional_properties = 1 }
    for (const req of doc.security.filter(isObject)) {
      w.message(12, req, (r, v) => {
        for (const [name, scopes] of entries(v)) {
          r.message(1, scopes, (n, s) => {
            n.string(1, name);
            n.message(2, s, (arr, list) => arr.strings(1, list));
          });
        }
      });
    }
  }
  if (isObject(doc.securityDefinitions)) {
    w.message(13, doc.securityDefinitions, (sd, defs) => {
      for (const [name, def] of entries(defs)) {
        if (!isObject(def) || def.type !== 'apiKey') continue;
        // NamedSecurityDefinitionsItem → SecurityDefinitionsItem.api_key_security = 2.
        sd.message(1, def, (n, v) => {
          n.string(1, name);
          n.message(2, v, (item, x) =>
            item.message(2, x, (k, y) => {
              k.string(1, y.type).string(2, y.name).string(3, y.in).string(4, y.description);
              vendorExtensions(k, 5, y);
            }),
          );
        });
      }
    });
  }
  vendorExtensions(w, 16, doc);
  return w.finish();
}

/**
 * The OpenAPI v2 (Swagger 2.0) document at `/openapi/v2`, derived from the OpenAPI v3 documents
 * (which come from the type schemas), so both versions always describe the same types.
 *
 * kubectl needs it for one thing the v3 documents cannot answer: a file holding a `kind: List`
 * (what `kubectl get … -o yaml` writes). kubectl's field-validation check treats `v1/List` as not
 * supporting server-side validation (cli-runtime `queryParamVerifierV3.HasSupport`), so with the
 * default `--validate=strict` it validates the file client-side: it fetches `/openapi/v2` as
 * protobuf (gnostic `openapi.v2.Document`), finds each item's definition by its
 * `x-kubernetes-group-version-kind` extension, and checks the item against it (kubectl
 * `schemaValidation.validateList`). Without the document it stops with "the server could not
 * find the requested resource". Items are then sent one by one with `fieldValidation=Strict`.
 *
 * Served like kube-apiserver: protobuf for `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
 * (and the `.v1.0+protobuf` spelling), JSON for `application/json`, each with a quoted ETag and a
 * 304 for a matching `If-None-Match`, 406 when the Accept header allows neither.
 */
import { createHash } from 'node:crypto';
import { openapiV3Document, openapiV3Index } from './openapi.js';
import { encodeOpenAPIV2Document } from './openapi-v2-proto.js';
import type { ApiRequest, ApiResponse } from './request.js';

type Json = Record<string, unknown>;

const V3_REF = '#/components/schemas/';
const V2_REF = '#/definitions/';
const GVK = 'x-kubernetes-group-version-kind';

/** The media type kube-apiserver answers protobuf requests with. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
const PROTOBUF_SUBTYPES = ['com.github.proto-openapi.spec.v2@v1.0+protobuf', 'com.github.proto-openapi.spec.v2.v1.0+protobuf'];

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A v3 schema in v2 form: references point into `#/definitions/`, and a field written
 * `{allOf: [{$ref}], description}` becomes `{$ref, description}` as upstream's v2 has it
 * (kubectl's v2 parser reads only the reference, and rejects a reference with a type).
 */
export function toV2Schema(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toV2Schema);
  if (!isObject(v)) return v;
  const { allOf, ...rest } = v;
  if (Array.isArray(allOf) && allOf.length === 1 && isObject(allOf[0]) && typeof allOf[0].$ref === 'string') {
    const extra = Object.keys(rest).filter((k) => k !== 'description');
    if (extra.length === 0) return { $ref: v2Ref(allOf[0].$ref), ...rest };
  }
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) out[k] = k === '$ref' && typeof x === 'string' ? v2Ref(x) : toV2Schema(x);
  return out;
}

const v2Ref = (ref: string) => (ref.startsWith(V3_REF) ? V2_REF + ref.slice(V3_REF.length) : ref);

/** A v3 parameter (`schema` holds its type) as a v2 non-body parameter (type inline). */
function toV2Parameter(p: Json): Json {
  const { schema, ...rest } = p;
  return { ...(isObject(schema) ? schema : {}), ...rest };
}

const OPERATIONS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

function toV2Operation(op: Json): Json {
  const { requestBody, responses, parameters, ...rest } = op;
  const out: Json = {};
  const produces = new Set<string>();
  const v2Responses: Json = {};
  for (const [code, r] of Object.entries(isObject(responses) ? responses : {})) {
    if (!isObject(r)) continue;
    const content = isObject(r.content) ? r.content : {};
    for (const type of Object.keys(content)) produces.add(type);
    const first = Object.values(content)[0];
    v2Responses[code] = {
      description: r.description,
      ...(isObject(first) && first.schema ? { schema: toV2Schema(first.schema) } : {}),
    };
  }
  const params: Json[] = [];
  if (isObject(requestBody)) {
    const content = isObject(requestBody.content) ? requestBody.content : {};
    out.consumes = Object.keys(content);
    const first = Object.values(content)[0];
    params.push({
      name: 'body',
      in: 'body',
      required: requestBody.required === true,
      ...(isObject(first) && first.schema ? { schema: toV2Schema(first.schema) } : {}),
    });
  }
  if (Array.isArray(parameters)) for (const p of parameters) if (isObject(p)) params.push(toV2Parameter(p));
  return {
    description: rest.description,
    ...(out.consumes ? { consumes: out.consumes } : {}),
    produces: [...produces],
    schemes: ['https'],
    tags: rest.tags,
    operationId: rest.operationId,
    ...(params.length ? { parameters: params } : {}),
    responses: v2Responses,
    ...Object.fromEntries(Object.entries(rest).filter(([k]) => k.startsWith('x-'))),
  };
}

function toV2PathItem(item: Json): Json {
  const out: Json = {};
  for (const verb of OPERATIONS) if (isObject(item[verb])) out[verb] = toV2Operation(item[verb] as Json);
  if (Array.isArray(item.parameters)) out.parameters = item.parameters.filter(isObject).map(toV2Parameter);
  return out;
}

/** Adds GVKs from `more` to the definition's list (shared types like DeleteOptions name every group). */
function mergeGVKs(into: Json, more: Json): void {
  const list = Array.isArray(into[GVK]) ? [...(into[GVK] as Json[])] : [];
  const seen = new Set(list.map((g) => JSON.stringify(g)));
  for (const g of Array.isArray(more[GVK]) ? (more[GVK] as Json[]) : []) {
    if (!seen.has(JSON.stringify(g))) list.push(g);
  }
  if (list.length) into[GVK] = list;
}

/** Builds the whole Swagger 2.0 document from every served group/version's v3 document. */
export function buildOpenAPIV2Document(): Json {
  const definitions: Json = {};
  const paths: Json = {};
  let info: unknown;
  for (const gv of Object.keys(openapiV3Index().paths)) {
    const doc = openapiV3Document(gv) as Json;
    info ??= doc.info;
    for (const [path, item] of Object.entries(doc.paths as Json)) if (isObject(item)) paths[path] = toV2PathItem(item);
    const schemas = (doc.components as Json).schemas as Json;
    for (const [id, schema] of Object.entries(schemas)) {
      const v2 = toV2Schema(schema) as Json;
      if (isObject(definitions[id])) mergeGVKs(definitions[id] as Json, v2);
      else definitions[id] = v2;
    }
  }
  const sorted = (o: Json) =>
    Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]),
    );
  return {
    swagger: '2.0',
    info,
    paths: sorted(paths),
    definitions: sorted(definitions),
    securityDefinitions: {
      BearerToken: { description: 'Bearer Token authentication', type: 'apiKey', name: 'authorization', in: 'header' },
    },
    security: [{ BearerToken: [] }],
  };
}

interface Served {
  body: Buffer;
  etag: string;
}

let cache: { json: Served; protobuf: Served } | undefined;

const served = (body: Buffer): Served => ({ body, etag: `"${createHash('sha512').update(body).digest('hex').toUpperCase()}"` });

/** The document in both encodings, built once (the schemas are fixed for the process' life). */
export function openapiV2Bodies(): { json: Served; protobuf: Served } {
  if (!cache) {
    const doc = buildOpenAPIV2Document();
    cache = { json: served(Buffer.from(JSON.stringify(doc))), protobuf: served(encodeOpenAPIV2Document(doc)) };
  }
  return cache;
}

interface AcceptClause {
  type: string;
  subtype: string;
  q: number;
}

/** Accept header clauses, best first (by q; equal q keeps the client's order). */
export function parseAccept(header: string | undefined): AcceptClause[] {
  const clauses: AcceptClause[] = [];
  for (const part of (header ?? '').split(',')) {
    const [range, ...params] = part.split(';').map((s) => s.trim());
    const slash = range.indexOf('/');
    if (slash < 0) continue;
    let q = 1;
    for (const p of params) {
      const m = /^q=([0-9.]+)$/.exec(p);
      if (m) q = Number(m[1]);
    }
    if (q > 0) clauses.push({ type: range.slice(0, slash), subtype: range.slice(slash + 1), q });
  }
  return clauses.sort((a, b) => b.q - a.q);
}

/** GET /openapi/v2: JSON or gnostic protobuf by Accept, with ETag / If-None-Match. */
export function openapiV2Response(req: ApiRequest): ApiResponse {
  const offers: { subtype: string; contentType: string; pick: () => Served }[] = [
    { subtype: 'json', contentType: 'application/json', pick: () => openapiV2Bodies().json },
    ...PROTOBUF_SUBTYPES.map((subtype) => ({ subtype, contentType: OPENAPI_V2_PROTOBUF, pick: () => openapiV2Bodies().protobuf })),
  ];
  for (const clause of parseAccept(req.headers.accept)) {
    for (const offer of offers) {
      if (clause.type !== 'application' && clause.type !== '*') continue;
      if (clause.subtype !== offer.subtype && clause.subtype !== '*') continue;
      const doc = offer.pick();
      const headers = { ETag: doc.etag, Vary: 'Accept' };
      if (req.headers['if-none-match'] === doc.etag) return { kind: 'raw', status: 304, contentType: offer.contentType, body: '', headers };
      return { kind: 'raw', status: 200, contentType: offer.contentType, body: doc.body, headers };
    }
  }
  return { kind: 'raw', status: 406, contentType: 'text/plain; charset=utf-8', body: '' };
}

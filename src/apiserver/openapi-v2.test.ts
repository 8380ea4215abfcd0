import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readFields, type WireField, WireType } from '../api/protobuf/wire.js';
import { buildOpenAPIV2Document, OPENAPI_V2_PROTOBUF, openapiV2Bodies, openapiV2Response, parseAccept, toV2Schema } from './openapi-v2.js';
import { encodeOpenAPIV2Document, encodeSchema, ProtoWriter } from './openapi-v2-proto.js';
import type { ApiRequest } from './request.js';

// biome-ignore lint/suspicious/noExplicitAny: walking arbitrary generated JSON documents
type Json = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// A tiny reader for the gnostic messages, by field number (openapiv2/OpenAPIv2.proto).

const text = (f: WireField) => (f.wireType === WireType.Bytes ? f.bytes.toString('utf8') : assert.fail(`field ${f.number} is not bytes`));
const bytes = (f: WireField) => (f.wireType === WireType.Bytes ? f.bytes : assert.fail(`field ${f.number} is not bytes`));
const fields = (buf: Buffer, n: number) => [...readFields(buf)].filter((f) => f.number === n);
const one = (buf: Buffer, n: number) => fields(buf, n)[0];

/** Any { yaml = 2 } → the value (we write JSON, which is YAML). */
const anyValue = (buf: Buffer) => JSON.parse(text(one(buf, 2)));

/** NamedAny list → object. */
function extensions(buf: Buffer, n: number): Json {
  const out: Json = {};
  for (const f of fields(buf, n)) out[text(one(bytes(f), 1))] = anyValue(bytes(one(bytes(f), 2)));
  return out;
}

/** openapi.v2.Schema back to JSON, for the fields our documents use. */
function decodeSchema(buf: Buffer): Json {
  const s: Json = {};
  for (const f of readFields(buf)) {
    switch (f.number) {
      case 1:
        s.$ref = text(f);
        break;
      case 2:
        s.format = text(f);
        break;
      case 4:
        s.description = text(f);
        break;
      case 5:
        s.default = anyValue(bytes(f));
        break;
      case 19:
        s.required = [...(s.required ?? []), text(f)];
        break;
      case 20:
        s.enum = [...(s.enum ?? []), anyValue(bytes(f))];
        break;
      case 21: {
        const item = one(bytes(f), 1) ?? one(bytes(f), 2);
        s.additionalProperties = item.number === 1 ? decodeSchema(bytes(item)) : item.wireType === WireType.Varint && item.value === 1n;
        break;
      }
      case 22: {
        const types = fields(bytes(f), 1).map(text);
        s.type = types.length === 1 ? types[0] : types;
        break;
      }
      case 23:
        s.items = decodeSchema(bytes(one(bytes(f), 1)));
        break;
      case 25:
        s.properties = Object.fromEntries(fields(bytes(f), 1).map((p) => [text(one(bytes(p), 1)), decodeSchema(bytes(one(bytes(p), 2)))]));
        break;
      case 31:
        break; // vendor extensions, below
      default:
        assert.fail(`unexpected Schema field ${f.number}`);
    }
  }
  return { ...s, ...extensions(buf, 31) };
}

// ---------------------------------------------------------------------------------------------

describe('protobuf writer', () => {
  test('varints, strings, bools, doubles and messages decode back with wire.ts', () => {
    const w = new ProtoWriter()
      .int64(1, 300)
      .string(2, 'héllo')
      .bool(3, true)
      .bool(4, false) // proto3: a false bool is left out ...
      .bool(5, false, true) // ... unless it is a oneof member
      .double(6, 1.5)
      .string(7, '') // empty strings are left out
      .message(8, {}, () => {}); // a present message is written even when empty
    const got = [...readFields(w.finish())];
    assert.deepEqual(
      got.map((f) => f.number),
      [1, 2, 3, 5, 6, 8],
    );
    assert.deepEqual(got[0], { number: 1, wireType: WireType.Varint, value: 300n });
    assert.equal(text(got[1]), 'héllo');
    assert.deepEqual(got[2], { number: 3, wireType: WireType.Varint, value: 1n });
    assert.deepEqual(got[3], { number: 5, wireType: WireType.Varint, value: 0n });
    assert.equal(got[4].wireType === WireType.Fixed64 && got[4].bytes.readDoubleLE(), 1.5);
    assert.equal(bytes(got[5]).length, 0);
  });

  test('Schema uses gnostic field numbers', () => {
    const w = new ProtoWriter();
    encodeSchema(w, {
      $ref: '#/definitions/X',
      description: 'd',
      required: ['a'],
      type: 'object',
      properties: { a: { type: 'string' } },
      additionalProperties: false,
      items: { type: 'integer' },
      'x-kubernetes-list-type': 'atomic',
    });
    const buf = w.finish();
    assert.deepEqual(
      [...readFields(buf)].map((f) => f.number),
      // _ref=1, description=4, required=19, additional_properties=21, type=22, items=23, properties=25, vendor_extension=31
      [1, 4, 19, 21, 22, 23, 25, 31],
    );
    // AdditionalPropertiesItem { boolean = 2 } keeps an explicit false.
    assert.deepEqual(one(bytes(one(buf, 21)), 2), { number: 2, wireType: WireType.Varint, value: 0n });
    // NamedAny { name = 1; Any value = 2 { yaml = 2 } }
    assert.deepEqual(extensions(buf, 31), { 'x-kubernetes-list-type': 'atomic' });
  });

  test('Document, paths, operations and parameters use gnostic field numbers', () => {
    const doc = {
      swagger: '2.0',
      info: { title: 'Kubernetes', version: 'v1.32.0' },
      paths: {
        '/api/v1/namespaces/{namespace}/services/{name}': {
          parameters: [{ name: 'name', in: 'path', required: true, type: 'string', uniqueItems: true }],
          patch: {
            consumes: ['application/strategic-merge-patch+json'],
            parameters: [
              { name: 'body', in: 'body', required: true, schema: { $ref: '#/definitions/P' } },
              { name: 'fieldValidation', in: 'query', type: 'string', uniqueItems: true },
            ],
            responses: { '200': { description: 'OK', schema: { $ref: '#/definitions/S' } } },
            'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind: 'Service' },
          },
        },
      },
      definitions: { S: { type: 'object', properties: {} } },
      securityDefinitions: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header' } },
      security: [{ BearerToken: [] }],
    };
    const buf = encodeOpenAPIV2Document(doc);
    // swagger=1, info=2, paths=8, definitions=9, security=12, security_definitions=13
    assert.deepEqual(
      [...readFields(buf)].map((f) => f.number),
      [1, 2, 8, 9, 12, 13],
    );
    assert.equal(text(one(buf, 1)), '2.0');
    assert.equal(text(one(bytes(one(buf, 2)), 2)), 'v1.32.0'); // Info.version = 2
    const namedPath = bytes(one(bytes(one(buf, 8)), 2)); // Paths.path = 2
    assert.equal(text(one(namedPath, 1)), '/api/v1/namespaces/{namespace}/services/{name}');
    const item = bytes(one(namedPath, 2));
    // PathItem.parameters = 9 → ParametersItem.parameter = 1 → Parameter.non_body_parameter = 2 → path_parameter_sub_schema = 4
    const pathParam = bytes(one(bytes(one(bytes(one(bytes(one(item, 9)), 1)), 2)), 4));
    assert.equal(text(one(pathParam, 4)), 'name'); // PathParameterSubSchema.name = 4
    assert.equal(text(one(pathParam, 5)), 'string'); // .type = 5
    assert.deepEqual(one(pathParam, 19), { number: 19, wireType: WireType.Varint, value: 1n }); // .unique_items = 19
    const patch = bytes(one(item, 8)); // PathItem.patch = 8
    assert.deepEqual(fields(patch, 7).map(text), ['application/strategic-merge-patch+json']); // Operation.consumes = 7
    const [body, query] = fields(patch, 8).map((p) => bytes(one(bytes(p), 1)));
    const bodyParam = bytes(one(body, 1)); // Parameter.body_parameter = 1
    assert.equal(text(one(bodyParam, 2)), 'body');
    assert.equal(decodeSchema(bytes(one(bodyParam, 5))).$ref, '#/definitions/P');
    const queryParam = bytes(one(bytes(one(query, 2)), 3)); // NonBodyParameter.query_parameter_sub_schema = 3
    assert.equal(text(one(queryParam, 4)), 'fieldValidation');
    assert.equal(text(one(queryParam, 2)), 'query');
    assert.equal(text(one(queryParam, 6)), 'string'); // QueryParameterSubSchema.type = 6
    assert.deepEqual(extensions(patch, 13), { 'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind: 'Service' } });
    // Responses.response_code = 1 → NamedResponseValue{name=1, value=2} → ResponseValue.response = 1 → Response.schema = 2 → SchemaItem.schema = 1
    const named = bytes(one(bytes(one(patch, 9)), 1));
    assert.equal(text(one(named, 1)), '200');
    const response = bytes(one(bytes(one(named, 2)), 1));
    assert.equal(text(one(response, 1)), 'OK');
    assert.equal(decodeSchema(bytes(one(bytes(one(response, 2)), 1))).$ref, '#/definitions/S');
    // SecurityDefinitions → NamedSecurityDefinitionsItem → SecurityDefinitionsItem.api_key_security = 2
    const sec = bytes(one(bytes(one(bytes(one(bytes(one(buf, 13)), 1)), 2)), 2));
    assert.deepEqual([text(one(sec, 1)), text(one(sec, 2)), text(one(sec, 3))], ['apiKey', 'authorization', 'header']);
    // SecurityRequirement → NamedStringArray { name = 1 }
    assert.equal(text(one(bytes(one(bytes(one(buf, 12)), 1)), 1)), 'BearerToken');
  });
});

describe('openapi v2 document', () => {
  const doc = buildOpenAPIV2Document() as Json;
  const defs = doc.definitions as Json;

  test('fields written allOf-$ref in v3 are plain $ref with description in v2', () => {
    assert.deepEqual(toV2Schema({ allOf: [{ $ref: '#/components/schemas/io.k8s.api.core.v1.ServiceSpec' }], description: 'Spec.' }), {
      $ref: '#/definitions/io.k8s.api.core.v1.ServiceSpec',
      description: 'Spec.',
    });
    assert.deepEqual(defs['io.k8s.api.core.v1.Service'].properties.spec.$ref, '#/definitions/io.k8s.api.core.v1.ServiceSpec');
  });

  test('kinds carry their GVK; shared types name every group', () => {
    assert.deepEqual(defs['io.k8s.api.core.v1.Service']['x-kubernetes-group-version-kind'], [
      { group: '', kind: 'Service', version: 'v1' },
    ]);
    assert.deepEqual(defs['io.k8s.api.apps.v1.Deployment']['x-kubernetes-group-version-kind'], [
      { group: 'apps', kind: 'Deployment', version: 'v1' },
    ]);
    const groups = defs['io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions']['x-kubernetes-group-version-kind'].map((g: Json) => g.group);
    assert.ok(groups.includes('') && groups.includes('apps'), `DeleteOptions groups: ${groups}`);
    assert.equal(defs['io.k8s.api.core.v1.List'], undefined, 'v1/List has no definition (kubectl special-cases it)');
  });

  test("every schema passes kube-openapi's v2 parser rules", () => {
    // proto.NewOpenAPIData: references resolve and carry no type or properties; arrays have exactly
    // one item schema; one type at most, and only the five JSON types.
    const problems: string[] = [];
    const walk = (s: Json, path: string) => {
      if (s.$ref) {
        const target = String(s.$ref).replace('#/definitions/', '');
        if (!String(s.$ref).startsWith('#/definitions/') || !(target in defs)) problems.push(`${path}: dangling ${s.$ref}`);
        if (s.type || s.properties) problems.push(`${path}: reference with type or properties`);
        return;
      }
      if (s.type !== undefined && !['object', 'array', 'string', 'integer', 'number', 'boolean'].includes(s.type)) {
        problems.push(`${path}: type ${JSON.stringify(s.type)}`);
      }
      if (s.type === 'array' && (typeof s.items !== 'object' || Array.isArray(s.items)))
        problems.push(`${path}: array without one item schema`);
      for (const [k, p] of Object.entries(s.properties ?? {})) walk(p as Json, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
      if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${path}{}`);
    };
    for (const [id, s] of Object.entries(defs)) walk(s as Json, id);
    assert.deepEqual(problems, []);
  });

  test('the protobuf document decodes back to the JSON definitions', () => {
    const buf = openapiV2Bodies().protobuf.body;
    const named = fields(bytes(one(buf, 9)), 1);
    assert.equal(named.length, Object.keys(defs).length);
    for (const n of named) {
      const name = text(one(bytes(n), 1));
      assert.deepEqual(decodeSchema(bytes(one(bytes(n), 2))), defs[name], name);
    }
  });

  test('every PATCH carries its GVK and the fieldValidation query parameter (the v2 verifier)', () => {
    const patches = Object.values(doc.paths as Json)
      .map((p: Json) => p.patch)
      .filter(Boolean);
    assert.ok(patches.length > 10);
    for (const p of patches) {
      assert.ok(p['x-kubernetes-group-version-kind'].kind);
      assert.ok(p.parameters.some((x: Json) => x.name === 'fieldValidation' && x.in === 'query' && x.type === 'string'));
      assert.ok(p.consumes.includes('application/strategic-merge-patch+json'));
      assert.deepEqual(p.parameters[0], {
        name: 'body',
        in: 'body',
        required: true,
        schema: { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' },
      });
    }
  });
});

describe('GET /openapi/v2', () => {
  const get = (headers: Record<string, string>): ReturnType<typeof openapiV2Response> =>
    openapiV2Response({ method: 'GET', path: '/openapi/v2', query: new URLSearchParams(), headers } as ApiRequest);

  test('kubectl gets protobuf with an ETag, then 304 for If-None-Match', () => {
    const accept = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
    const r = get({ accept });
    assert.ok(r.kind === 'raw');
    assert.equal(r.status, 200);
    assert.equal(r.contentType, OPENAPI_V2_PROTOBUF);
    assert.ok(Buffer.isBuffer(r.body) && r.body.equals(openapiV2Bodies().protobuf.body));
    const etag = r.headers?.ETag ?? '';
    assert.match(etag, /^"[0-9A-F]{128}"$/);
    const again = get({ accept, 'if-none-match': etag });
    assert.ok(again.kind === 'raw');
    assert.equal(again.status, 304);
  });

  test('JSON for application/json and */*; 406 when neither is acceptable', () => {
    for (const accept of ['application/json', '*/*', 'text/html;q=0.9, application/json;q=0.5']) {
      const r = get({ accept });
      assert.ok(r.kind === 'raw');
      assert.equal(r.contentType, 'application/json', accept);
      assert.equal(JSON.parse(String(r.body)).swagger, '2.0');
      assert.notEqual(r.headers?.ETag, openapiV2Bodies().protobuf.etag);
    }
    const r = get({ accept: 'text/html' });
    assert.ok(r.kind === 'raw');
    assert.equal(r.status, 406);
  });

  test('Accept clauses are ordered by q, q=0 dropped', () => {
    assert.deepEqual(
      parseAccept('a/b;q=0.2, c/d, e/f;q=0').map((c) => `${c.type}/${c.subtype}`),
      ['c/d', 'a/b'],
    );
  });
});

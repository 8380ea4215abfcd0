import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { type DecodeTarget, decodeClean, decodeExactly, decodeObject, type FieldValidation } from './decode.js';
import { findResource } from './resources.js';

const target = (group: string, version: string, plural: string): DecodeTarget => findResource(group, version, plural)!;
const services = target('', 'v1', 'services');
const pods = target('', 'v1', 'pods');
const deployments = target('apps', 'v1', 'deployments');
const secrets = target('', 'v1', 'secrets');
const configmaps = target('', 'v1', 'configmaps');

const outcome = (fn: () => unknown) => {
  try {
    return { ok: fn() };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

/** The fast path must be invisible: same object, same warnings, same error text as the exact decoder. */
function assertSame(body: string | object, t: DecodeTarget) {
  for (const mode of ['Strict', 'Warn', 'Ignore'] as FieldValidation[]) {
    assert.deepEqual(
      outcome(() => decodeObject(body, t, mode)),
      outcome(() => decodeExactly(body, t, mode)),
      `${mode}: ${typeof body === 'string' ? body : JSON.stringify(body)}`,
    );
  }
}

const pod = (spec: string, meta = '{"name":"p","creationTimestamp":null}') =>
  `{"apiVersion":"v1","kind":"Pod","metadata":${meta},"spec":${spec}}`;

describe('decodeObject fast path', () => {
  test('agrees with the exact decoder on the example manifests, as text and as objects', () => {
    const dir = join(import.meta.dirname, '..', '..', 'examples');
    let n = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
        const obj = doc.toJS() as { apiVersion: string; kind: string };
        const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
        const plural = { Service: 'services', Deployment: 'deployments', Endpoints: 'endpoints', Pod: 'pods' }[obj.kind];
        assert.ok(plural, obj.kind);
        const t = target(group, version, plural);
        assertSame(JSON.stringify(obj), t);
        assertSame(obj, t);
        assert.ok(decodeClean(JSON.stringify(obj), t), `${file}: a clean manifest takes the fast path`);
        n++;
      }
    }
    assert.ok(n >= 8);
  });

  const cases: [string, string, DecodeTarget][] = [
    [
      'clean pod with nulls and quantities',
      pod(
        '{"containers":[{"name":"a","image":"nginx","resources":{"limits":{"cpu":"500m","memory":"128Mi"}},"ports":[{"containerPort":80}]}]}',
      ),
      pods,
    ],
    ['duplicate key', pod('{"containers":[{"name":"a","name":"b","image":"x"}]}'), pods],
    ['duplicate key in a map', `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1","a":"2"}}`, configmaps],
    ['unknown field', pod('{"containers":[{"name":"a","image":"x","bogus":1}]}'), pods],
    ['fraction for an int', pod('{"containers":[{"name":"a","image":"x","ports":[{"containerPort":80.0}]}]}'), pods],
    ['exponent for an int', pod('{"containers":[{"name":"a","image":"x","ports":[{"containerPort":8e1}]}]}'), pods],
    ['fraction inside a string is fine', pod('{"containers":[{"name":"a","image":"x:1.5e3"}]}'), pods],
    ['escaped quote and colon in a string', pod('{"containers":[{"name":"a","image":"x\\\\\\":y\\":"}]}'), pods],
    ['int too big', pod('{"containers":[{"name":"a","image":"x","ports":[{"containerPort":2147483648}]}]}'), pods],
    ['huge int64', pod('{"activeDeadlineSeconds":123456789012345678901,"containers":[]}'), pods],
    ['string for a map', `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"selector":"app:web"}}`, services],
    ['null list item', `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[null]}}`, services],
    ['null map value', `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"selector":{"a":null}}}`, services],
    [
      'named targetPort and int targetPort',
      `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"name":"a","port":80,"targetPort":"http"},{"name":"b","port":81,"targetPort":8081}]}}`,
      services,
    ],
    ['bad quantity', pod('{"containers":[{"name":"a","image":"x","resources":{"limits":{"cpu":"lots"}}}]}'), pods],
    ['bad time', `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","creationTimestamp":"yesterday"}}`, pods],
    ['bad base64', `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"!!"}}`, secrets],
    ['good base64', `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"aGk="}}`, secrets],
    ['wrong kind', `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"s"}}`, services],
    ['wrong version', `{"apiVersion":"apps/v1beta1","kind":"Deployment","metadata":{"name":"d"}}`, deployments],
    ['case-variant apiVersion key', `{"ApiVersion":"v1","kind":"Service","metadata":{"name":"s"}}`, services],
    ['no apiVersion or kind', `{"metadata":{"name":"s"}}`, services],
    ['syntax error', `{"metadata":{"name":"s"}`, services],
    ['not an object', `[1,2]`, services],
    ['null body', `null`, services],
    [
      'schemaless fields kept as they are',
      `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","annotations":{"a":"1"}},"spec":{"selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[{"name":"c","image":"x","env":[{"name":"E","value":"1"}]}]}}}}`,
      deployments,
    ],
  ];
  for (const [name, body, t] of cases) {
    test(`agrees with the exact decoder: ${name}`, () => {
      assertSame(body, t);
      if (name !== 'syntax error') assertSame(JSON.parse(body) ?? {}, t); // as an in-process client sends it
    });
  }

  test('clean bodies take the fast path; unclean ones do not', () => {
    assert.ok(decodeClean(cases[0][1], pods));
    for (const i of [1, 2, 3, 4, 5, 8]) assert.equal(decodeClean(cases[i][1], cases[i][2]), undefined, cases[i][0]);
  });

  test('an in-process body is copied, never shared or changed', () => {
    const body = JSON.parse(pod('{"containers":[{"name":"a","image":"x","env":[{"name":"E","value":"1"}]}]}'));
    const before = structuredClone(body);
    const out = decodeObject(body, pods).object as unknown as typeof body;
    assert.deepEqual(body, before);
    assert.notEqual(out.spec, body.spec);
    assert.notEqual(out.spec.containers[0].env, body.spec.containers[0].env);
  });
});

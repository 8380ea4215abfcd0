import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryStore } from '../storage/memory.js';
import { ApiHandler } from './handler.js';
import { Registry } from './registry/index.js';
import type { ApiRequest, JsonResponse } from './request.js';
import { userInfoFor } from './reviews.js';

// A tiny protobuf writer, enough to build the bodies kubectl's typed clients send.
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}
const len = (field: number, v: string | Buffer) => {
  const bytes = typeof v === 'string' ? Buffer.from(v) : v;
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
};
const bool = (field: number, v: boolean) => Buffer.concat([varint(field << 3), varint(v ? 1 : 0)]);
const msg = (...parts: Buffer[]) => Buffer.concat(parts);
const protobuf = (apiVersion: string, kind: string, raw: Buffer) =>
  msg(Buffer.from('k8s\0'), len(1, msg(len(1, apiVersion), len(2, kind))), len(2, raw), len(3, ''), len(4, ''));
/** An empty ObjectMeta as gogo writes it: every non-pointer field, a zero creationTimestamp. */
const emptyMeta = len(
  1,
  msg(len(1, ''), len(2, ''), len(3, ''), len(4, ''), len(5, ''), len(6, ''), varint(7 << 3), varint(0), len(8, '')),
);

type KubeObjectLike = { metadata?: unknown; status?: unknown };

const AUTHZ = '/apis/authorization.k8s.io/v1';
const AUTHN = '/apis/authentication.k8s.io/v1';

let handler: ApiHandler;
let store: MemoryStore;
before(async () => {
  store = new MemoryStore();
  handler = new ApiHandler(new Registry(store, { serviceCIDR: '10.96.0.0/12', nodePortRange: '30000-32767' }), {
    serverAddress: '127.0.0.1:6443',
  });
});
after(() => store.close());

async function call(req: Partial<ApiRequest> & { path: string }): Promise<JsonResponse> {
  const res = await handler.handle({ method: 'POST', query: new URLSearchParams(), headers: {}, user: 'svcnet-admin', ...req });
  assert.equal(res.kind, 'json');
  return res as JsonResponse;
}

const postJson = (path: string, body: unknown, user = 'svcnet-admin') =>
  call({ path, body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, user });
const postProtobuf = (path: string, bytes: Buffer, user = 'svcnet-admin') =>
  call({ path, bodyBytes: bytes, headers: { 'content-type': 'application/vnd.kubernetes.protobuf' }, user });

const ssar = (spec: unknown, metadata: unknown = {}) => ({
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SelfSubjectAccessReview',
  metadata,
  spec,
});

describe('userInfoFor', () => {
  test('names the groups kube gives such users', () => {
    const cases: [string, string[]][] = [
      ['svcnet-admin', ['system:masters', 'system:authenticated']],
      ['system:svcnet', ['system:masters', 'system:authenticated']],
      ['system:node:node-1', ['system:nodes', 'system:authenticated']],
      ['someone', ['system:authenticated']],
      ['system:serviceaccount:ns1:robot', ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated']],
    ];
    for (const [user, groups] of cases) assert.deepEqual(userInfoFor(user), { username: user, groups }, user);
  });
});

describe('SelfSubjectAccessReview', () => {
  test('the protobuf body of `kubectl auth can-i get pods` is allowed, spec echoed', async () => {
    const spec = len(2, len(1, msg(len(1, 'default'), len(2, 'get'), len(3, ''), len(4, ''), len(5, 'pods'), len(6, ''), len(7, ''))));
    const status = len(3, msg(bool(1, false), len(2, ''), len(3, ''), bool(4, false)));
    const res = await postProtobuf(
      `${AUTHZ}/selfsubjectaccessreviews`,
      protobuf('authorization.k8s.io/v1', 'SelfSubjectAccessReview', msg(emptyMeta, spec, status)),
    );
    assert.equal(res.status, 201);
    assert.deepEqual(res.body, {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' } },
      status: { allowed: true },
    });
  });

  test('JSON bodies work, non-resource URLs too', async () => {
    const res = await postJson(`${AUTHZ}/selfsubjectaccessreviews`, ssar({ nonResourceAttributes: { path: '/healthz', verb: 'get' } }));
    assert.equal(res.status, 201);
    assert.deepEqual((res.body as { status: unknown }).status, { allowed: true });
  });

  test('validation errors are worded as kube-apiserver words them', async () => {
    const cases: [unknown, unknown, string][] = [
      [
        {},
        {},
        '.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ],
      [
        { resourceAttributes: { verb: 'get' }, nonResourceAttributes: { path: '/x', verb: 'get' } },
        {},
        '.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/x", Verb:"get"}: cannot be specified in combination with resourceAttributes',
      ],
      [
        { resourceAttributes: { verb: 'get' } },
        { name: 'x' },
        '.authorization.k8s.io "" is invalid: metadata: Invalid value: v1.ObjectMeta{Name:"x", GenerateName:"", Namespace:"", SelfLink:"", UID:"", ' +
          'ResourceVersion:"", Generation:0, CreationTimestamp:time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC), DeletionTimestamp:<nil>, ' +
          'DeletionGracePeriodSeconds:(*int64)(nil), Labels:map[string]string(nil), Annotations:map[string]string(nil), ' +
          'OwnerReferences:[]v1.OwnerReference(nil), Finalizers:[]string(nil), ManagedFields:[]v1.ManagedFieldsEntry(nil)}: must be empty',
      ],
    ];
    for (const [spec, metadata, message] of cases) {
      const res = await postJson(`${AUTHZ}/selfsubjectaccessreviews`, ssar(spec, metadata));
      assert.equal(res.status, 422);
      assert.equal((res.body as { message: string }).message, message);
    }
  });

  test('unknown fields are warnings (fieldValidation=Warn), as for stored kinds', async () => {
    const res = await postJson(`${AUTHZ}/selfsubjectaccessreviews`, ssar({ resourceAttributes: { verb: 'get', bogus: 1 } }));
    assert.equal(res.status, 201);
    assert.deepEqual(res.warnings, ['unknown field "spec.resourceAttributes.bogus"']);
  });

  test('only POST to the collection exists', async () => {
    assert.equal((await call({ method: 'GET', path: `${AUTHZ}/selfsubjectaccessreviews` })).status, 405);
    assert.equal((await call({ path: `${AUTHZ}/selfsubjectaccessreviews/x`, body: '{}' })).status, 404);
    assert.equal((await call({ path: `${AUTHZ}/namespaces/default/selfsubjectaccessreviews`, body: '{}' })).status, 404);
  });
});

describe('SubjectAccessReview', () => {
  test('needs a user or group besides the attributes', async () => {
    const res = await postJson(`${AUTHZ}/subjectaccessreviews`, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {},
    });
    assert.equal(res.status, 422);
    assert.equal(
      (res.body as { message: string }).message,
      '.authorization.k8s.io "" is invalid: [spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified, ' +
        'spec.user: Invalid value: "": at least one of user or group must be specified]',
    );
    const ok = await postJson(`${AUTHZ}/subjectaccessreviews`, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: 'jane', resourceAttributes: { verb: 'list', resource: 'services' } },
    });
    assert.equal(ok.status, 201);
    assert.deepEqual((ok.body as { status: unknown }).status, { allowed: true });
  });
});

describe('LocalSubjectAccessReview', () => {
  const lsar = (spec: unknown, metadata: unknown = {}) => ({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'LocalSubjectAccessReview',
    metadata,
    spec,
  });
  test('is asked of one namespace, which the attributes must name', async () => {
    const ok = await postJson(
      `${AUTHZ}/namespaces/ns1/localsubjectaccessreviews`,
      lsar({ user: 'jane', resourceAttributes: { namespace: 'ns1', verb: 'get', resource: 'pods' } }),
    );
    assert.equal(ok.status, 201);
    assert.deepEqual((ok.body as KubeObjectLike).metadata, { namespace: 'ns1', creationTimestamp: null });
    assert.deepEqual((ok.body as KubeObjectLike).status, { allowed: true });
    const other = await postJson(
      `${AUTHZ}/namespaces/ns1/localsubjectaccessreviews`,
      lsar({ user: 'jane', resourceAttributes: { namespace: 'ns2', verb: 'get', resource: 'pods' } }),
    );
    assert.equal(other.status, 422);
    assert.equal(
      (other.body as { message: string }).message,
      'LocalSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: Invalid value: "ns2": must match metadata.namespace',
    );
    const urls = await postJson(
      `${AUTHZ}/namespaces/ns1/localsubjectaccessreviews`,
      lsar({ user: 'jane', nonResourceAttributes: { path: '/x', verb: 'get' } }),
    );
    assert.equal(urls.status, 422);
    assert.match(
      (urls.body as { message: string }).message,
      /spec\.nonResourceAttributes: Invalid value: .*disallowed on this kind of request/,
    );
    const body = await postJson(
      `${AUTHZ}/namespaces/ns1/localsubjectaccessreviews`,
      lsar({ user: 'jane', resourceAttributes: { namespace: 'ns1', verb: 'get' } }, { namespace: 'ns2' }),
    );
    assert.equal(body.status, 400);
    const cluster = await postJson(`${AUTHZ}/localsubjectaccessreviews`, lsar({ user: 'jane', resourceAttributes: { verb: 'get' } }));
    assert.equal(cluster.status, 404);
  });
});

describe('TokenReview', () => {
  const API = 'https://kubernetes.default.svc.cluster.local';
  let withTokens: ApiHandler;
  before(() => {
    withTokens = new ApiHandler(new Registry(store, { serviceCIDR: '10.96.0.0/12', nodePortRange: '30000-32767' }), {
      serverAddress: '127.0.0.1:6443',
      authenticateToken: async (t) => (t === 'good' ? 'system:serviceaccount:ns1:robot' : undefined),
      apiAudiences: [API],
    });
  });
  const review = async (spec: unknown) => {
    const res = await withTokens.handle({
      method: 'POST',
      path: `${AUTHN}/tokenreviews`,
      query: new URLSearchParams(),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec }),
      user: 'svcnet-admin',
    });
    assert.equal(res.kind, 'json');
    return res as JsonResponse;
  };
  test('a valid token names its user, groups and audiences; others are not authenticated', async () => {
    const good = await review({ token: 'good' });
    assert.equal(good.status, 201);
    assert.deepEqual((good.body as KubeObjectLike).status, {
      authenticated: true,
      user: {
        username: 'system:serviceaccount:ns1:robot',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'],
      },
      audiences: [API],
    });
    assert.deepEqual(((await review({ token: 'bad' })).body as KubeObjectLike).status, { user: {} });
    assert.deepEqual(
      ((await review({ token: 'good', audiences: ['vault'] })).body as KubeObjectLike).status,
      { user: {} },
      'not for this audience',
    );
    const none = await review({});
    assert.equal(none.status, 400);
    assert.equal((none.body as { message: string }).message, 'token is required for TokenReview in authentication');
  });
});

describe('SelfSubjectRulesReview', () => {
  const rules = (namespace: string) => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } });

  test('everything is allowed: one * rule each for resources and URLs', async () => {
    const res = await postProtobuf(
      `${AUTHZ}/selfsubjectrulesreviews`,
      protobuf('authorization.k8s.io/v1', 'SelfSubjectRulesReview', msg(emptyMeta, len(2, len(1, 'default')), len(3, bool(3, false)))),
    );
    assert.equal(res.status, 201);
    assert.deepEqual(res.body, {
      kind: 'SelfSubjectRulesReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: {},
      status: {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        incomplete: false,
      },
    });
  });

  test('a namespace is required', async () => {
    const res = await postJson(`${AUTHZ}/selfsubjectrulesreviews`, rules(''));
    assert.equal(res.status, 400);
    assert.equal((res.body as { message: string }).message, 'no namespace on request');
  });
});

describe('SelfSubjectReview', () => {
  test('answers with the caller', async () => {
    for (const [user, groups] of [
      ['svcnet-admin', ['system:masters', 'system:authenticated']],
      ['system:node:node-2', ['system:nodes', 'system:authenticated']],
    ] as const) {
      const res = await postProtobuf(
        `${AUTHN}/selfsubjectreviews`,
        protobuf('authentication.k8s.io/v1', 'SelfSubjectReview', msg(emptyMeta, len(2, len(1, '')))),
        user,
      );
      assert.equal(res.status, 201);
      const body = res.body as { kind: string; metadata: { creationTimestamp: string }; status: unknown };
      assert.equal(body.kind, 'SelfSubjectReview');
      assert.match(body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.deepEqual(body.status, { userInfo: { username: user, groups } });
    }
  });
});

describe('discovery', () => {
  test('aggregated and legacy discovery list the reviews as create-only, cluster-scoped but LocalSubjectAccessReview', async () => {
    const agg = await handler.handle({
      method: 'GET',
      path: '/apis',
      query: new URLSearchParams(),
      headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' },
    });
    assert.equal(agg.kind, 'raw');
    const groups = JSON.parse(String(agg.kind === 'raw' && agg.body)).items as {
      metadata: { name: string };
      versions: { resources: { resource: string; scope: string; verbs: string[] }[] }[];
    }[];
    const served = (group: string) =>
      groups.find((g) => g.metadata.name === group)?.versions[0].resources.map((r) => `${r.resource} ${r.scope} ${r.verbs.join(',')}`);
    assert.deepEqual(served('authentication.k8s.io'), ['selfsubjectreviews Cluster create', 'tokenreviews Cluster create']);
    assert.deepEqual(served('authorization.k8s.io'), [
      'localsubjectaccessreviews Namespaced create',
      'selfsubjectaccessreviews Cluster create',
      'selfsubjectrulesreviews Cluster create',
      'subjectaccessreviews Cluster create',
    ]);
    const legacy = await call({ method: 'GET', path: `${AUTHZ}` });
    const names = (legacy.body as { resources: { name: string; namespaced: boolean; verbs: string[] }[] }).resources;
    assert.deepEqual(names[1], {
      name: 'selfsubjectaccessreviews',
      singularName: 'selfsubjectaccessreview',
      namespaced: false,
      kind: 'SelfSubjectAccessReview',
      verbs: ['create'],
    });
  });
});

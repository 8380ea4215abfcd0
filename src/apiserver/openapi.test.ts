import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { groupVersionPath, RESOURCES } from '../api/resources.js';
import { openapiV3Document, openapiV3Hash, openapiV3Index, openapiV3Response } from './openapi.js';

// biome-ignore lint/suspicious/noExplicitAny: walking arbitrary generated JSON documents
type Json = Record<string, any>;
const doc = (p: string) => openapiV3Document(p) as Json;

describe('openapi v3', () => {
  test('the index lists every group/version with its hash', () => {
    const index = openapiV3Index();
    assert.deepEqual(Object.keys(index.paths), [
      'api/v1',
      'apis/apps/v1',
      'apis/discovery.k8s.io/v1',
      'apis/networking.k8s.io/v1',
      'apis/coordination.k8s.io/v1',
      'apis/events.k8s.io/v1',
      'apis/authentication.k8s.io/v1',
      'apis/authorization.k8s.io/v1',
    ]);
    const hash = openapiV3Hash('api/v1');
    assert.match(hash ?? '', /^[0-9A-F]{128}$/);
    assert.equal(index.paths['api/v1'].serverRelativeURL, `/openapi/v3/api/v1?hash=${hash}`);
    assert.equal(openapiV3Response('/openapi/v3/api/v1')?.etag, `"${hash}"`);
    assert.equal(openapiV3Document('apis/nope/v1'), undefined);
  });

  test('every kind has a PATCH with its GVK and fieldValidation (what kubectl checks)', () => {
    for (const r of RESOURCES.filter((x) => !x.virtual)) {
      const d = doc(groupVersionPath(r));
      const base = groupVersionPath(r);
      const path = r.namespaced ? `${base}/namespaces/{namespace}/${r.resource}/{name}` : `${base}/${r.resource}/{name}`;
      const patch = d.paths[path]?.patch;
      assert.ok(patch, `${path} has patch`);
      assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: r.group, version: r.version, kind: r.kind });
      assert.ok(
        patch.parameters.some((p: Json) => p.name === 'fieldValidation' && p.in === 'query'),
        `${path} fieldValidation`,
      );
      assert.ok('application/strategic-merge-patch+json' in patch.requestBody.content);
      for (const verb of ['post']) {
        const collection = d.paths[path.replace('/{name}', '')][verb];
        assert.ok(collection.parameters.some((p: Json) => p.name === 'fieldValidation'));
      }
      assert.ok(d.paths[path].put.parameters.some((p: Json) => p.name === 'fieldValidation'));
    }
  });

  test('reviews are create-only: one POST on the collection, as upstream', () => {
    const d = doc('apis/authorization.k8s.io/v1');
    const paths = Object.keys(d.paths).sort();
    assert.deepEqual(paths, [
      '/apis/authorization.k8s.io/v1/namespaces/{namespace}/localsubjectaccessreviews',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    ]);
    const item = d.paths[paths[1]];
    assert.deepEqual(Object.keys(item).sort(), ['parameters', 'post']);
    assert.equal(item.post.operationId, 'createAuthorizationV1SelfSubjectAccessReview');
    const local = d.paths[paths[0]];
    assert.deepEqual(Object.keys(local).sort(), ['parameters', 'post']);
    assert.equal(local.post.operationId, 'createAuthorizationV1NamespacedLocalSubjectAccessReview');
  });

  test('kinds are named components with GVK, nested types by $ref', () => {
    const d = doc('api/v1');
    const schemas = d.components.schemas as Json;
    const service = schemas['io.k8s.api.core.v1.Service'];
    assert.deepEqual(service['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Service', version: 'v1' }]);
    assert.deepEqual(service.properties.metadata, {
      allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }],
    });
    assert.equal(service.properties.spec.allOf[0].$ref, '#/components/schemas/io.k8s.api.core.v1.ServiceSpec');
    assert.equal(typeof service.properties.spec.description, 'string');
    for (const id of Object.keys(schemas)) assert.ok(!JSON.stringify(schemas[id]).includes('"$id"'), `${id} has no $id left`);
    const refs = JSON.stringify(d).match(/#\/components\/schemas\/[\w.]+/g) ?? [];
    for (const r of refs) assert.ok(r.slice('#/components/schemas/'.length) in schemas, `${r} resolves`);
  });

  test('patch metadata is on the list fields as upstream has it', () => {
    const schemas = doc('api/v1').components.schemas as Json;
    const pick = (s: Json) => Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith('x-kubernetes-')));
    assert.deepEqual(pick(schemas['io.k8s.api.core.v1.ServiceSpec'].properties.ports), {
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-patch-merge-key': 'port',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['port', 'protocol'],
    });
    assert.deepEqual(pick(schemas['io.k8s.api.core.v1.ServiceSpec'].properties.selector), { 'x-kubernetes-map-type': 'atomic' });
    assert.deepEqual(pick(schemas['io.k8s.api.core.v1.Container'].properties.ports), {
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-patch-merge-key': 'containerPort',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
    });
    assert.equal(schemas['io.k8s.api.core.v1.PodSpec'].properties.containers['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(schemas['io.k8s.api.core.v1.PodSpec'].properties.volumes['x-kubernetes-patch-strategy'], 'merge,retainKeys');
    assert.equal(schemas['io.k8s.api.core.v1.Container'].properties.env['x-kubernetes-patch-merge-key'], 'name');
    const meta = schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties;
    assert.equal(meta.finalizers['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(meta.ownerReferences['x-kubernetes-patch-merge-key'], 'uid');
    assert.equal(schemas['io.k8s.api.core.v1.PodStatus'].properties.conditions['x-kubernetes-patch-merge-key'], 'type');
  });

  test('scale subresource paths carry the autoscaling/v1 Scale GVK', () => {
    const d = doc('apis/apps/v1');
    const patch = d.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'].patch;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'autoscaling', version: 'v1', kind: 'Scale' });
    assert.deepEqual(d.components.schemas['io.k8s.api.autoscaling.v1.Scale']['x-kubernetes-group-version-kind'], [
      { group: 'autoscaling', kind: 'Scale', version: 'v1' },
    ]);
  });
});

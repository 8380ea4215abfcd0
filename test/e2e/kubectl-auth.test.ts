/**
 * `kubectl auth can-i` and `kubectl auth whoami` against a real `svcnet up`. kubectl posts the
 * reviews as protobuf; svcnet has no RBAC, so every answer is what a cluster-admin user gets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, type TestCluster } from './cluster.js';

let c: TestCluster;

before(async () => {
  c = await startCluster();
});
after(async () => {
  await c?.stop();
});

async function ok(args: string[]): Promise<string> {
  const r = await c.kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  assert.equal(r.stderr, '');
  return r.stdout;
}

describe('kubectl auth', () => {
  test('can-i answers yes for resources, subresources and URLs', async () => {
    assert.equal(await ok(['auth', 'can-i', 'get', 'pods']), 'yes\n');
    assert.equal(await ok(['auth', 'can-i', 'create', 'deployments', '--subresource=scale', '-n', 'kube-system']), 'yes\n');
    assert.equal(await ok(['auth', 'can-i', '*', '*', '--all-namespaces']), 'yes\n');
    assert.equal(await ok(['auth', 'can-i', 'get', '/healthz']), 'yes\n');
  });

  test('can-i --list shows the * rules', async () => {
    assert.equal(
      await ok(['auth', 'can-i', '--list']),
      'Resources   Non-Resource URLs   Resource Names   Verbs\n' +
        '*.*         []                  []               [*]\n' +
        '            [*]                 []               [*]\n',
    );
  });

  test('whoami names the admin and its groups', async () => {
    assert.equal(
      await ok(['auth', 'whoami']),
      'ATTRIBUTE   VALUE\nUsername    svcnet-admin\nGroups      [system:masters system:authenticated]\n',
    );
    const review = JSON.parse(await ok(['auth', 'whoami', '-o', 'json']));
    assert.equal(review.apiVersion, 'authentication.k8s.io/v1');
    assert.deepEqual(review.status.userInfo, { username: 'svcnet-admin', groups: ['system:masters', 'system:authenticated'] });
  });

  test('kubectl create -f takes a review (kinds without PATCH make kubectl look for a CRD first); an unknown kind is refused as in kube', async () => {
    const ssar = JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: 'get', resource: 'pods' } },
    });
    const created = await c.kubectl(['create', '-f', '-', '-o', 'jsonpath={.status.allowed}'], ssar);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'true');
    const unknown = await c.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Foo', metadata: { name: 'x' } }));
    assert.notEqual(unknown.code, 0);
    assert.equal(
      unknown.stderr,
      'error: resource mapping not found for name: "x" namespace: "" from "STDIN": no matches for kind "Foo" in version "v1"\nensure CRDs are installed first\n',
    );
  });

  test('reviews are listed by api-resources and cannot be listed', async () => {
    const resources = await ok(['api-resources', '--api-group=authorization.k8s.io', '-o', 'name']);
    assert.equal(
      resources,
      'localsubjectaccessreviews.authorization.k8s.io\nselfsubjectaccessreviews.authorization.k8s.io\nselfsubjectrulesreviews.authorization.k8s.io\nsubjectaccessreviews.authorization.k8s.io\n',
    );
    const r = await c.kubectl(['get', 'selfsubjectaccessreviews']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim(), 'Error from server (MethodNotAllowed): the server does not allow this method on the requested resource');
  });
});

/**
 * Real kubectl with files holding a `kind: List` (what `kubectl get … -o yaml` writes), with the
 * default `--validate=strict`: kubectl validates List items client-side against `/openapi/v2`
 * (protobuf), then sends each item. Outputs and error texts are the ones kubectl prints against a
 * real kube-apiserver (the validation messages are kubectl's own, built from the v2 definitions).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCluster, type TestCluster } from './cluster.js';

let c: TestCluster;
let dir: string;

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function ok(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await c.kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r;
}

async function fails(args: string[]): Promise<string> {
  const r = await c.kubectl(args);
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail:\n${r.stdout}`);
  assert.equal(r.stdout, '');
  return r.stderr.trim();
}

const list = (items: string[]) => `apiVersion: v1\nkind: List\nitems:\n${items.map((i) => `- ${i}\n`).join('')}`;
const cm = (name: string, extra = '') => `{apiVersion: v1, kind: ConfigMap, metadata: {name: ${name}}, data: {x: "1"}${extra}}`;
const STOP = '; if you choose to ignore these errors, turn validation off with --validate=false';
const MISSING_ANNOTATION = (r: string) =>
  `Warning: resource ${r} is missing the kubectl.kubernetes.io/last-applied-configuration annotation which is required by kubectl apply. kubectl apply should only be used on resources created declaratively by either kubectl create --save-config or kubectl apply. The missing annotation will be patched automatically.`;

before(async () => {
  c = await startCluster();
  dir = join(c.home, 'manifests');
  mkdirSync(dir, { recursive: true });
});
after(async () => {
  await c?.stop();
});

describe('kubectl -f with a List', () => {
  test('create, replace, delete', async () => {
    const f = file('list.yaml', list([cm('a'), cm('b')]));
    assert.equal((await ok(['create', '-f', f])).stdout, 'configmap/a created\nconfigmap/b created\n');
    assert.equal((await ok(['replace', '-f', f])).stdout, 'configmap/a replaced\nconfigmap/b replaced\n');
    assert.equal((await ok(['delete', '-f', f])).stdout, 'configmap "a" deleted\nconfigmap "b" deleted\n');
  });

  test('apply (client-side) creates, then is unchanged, then configures', async () => {
    const f = file('apply.yaml', list([cm('c'), cm('d')]));
    assert.equal((await ok(['apply', '-f', f])).stdout, 'configmap/c created\nconfigmap/d created\n');
    assert.equal((await ok(['apply', '-f', f])).stdout, 'configmap/c unchanged\nconfigmap/d unchanged\n');
    file('apply.yaml', list([cm('c', ', metadata: {name: c, labels: {v: "2"}}'), cm('d')]));
    assert.equal((await ok(['apply', '-f', f])).stdout, 'configmap/c configured\nconfigmap/d unchanged\n');
    assert.equal((await ok(['get', 'cm', 'c', '-o', 'jsonpath={.metadata.labels.v}'])).stdout, '2');
    await ok(['delete', '-f', f]);
  });

  test('apply --server-side', async () => {
    const f = file('ssa.yaml', list([cm('e'), cm('f')]));
    assert.equal(
      (await ok(['apply', '--server-side', '-f', f])).stdout,
      'configmap/e serverside-applied\nconfigmap/f serverside-applied\n',
    );
    assert.equal(
      (await ok(['apply', '--server-side', '-f', f])).stdout,
      'configmap/e serverside-applied\nconfigmap/f serverside-applied\n',
    );
    await ok(['delete', '-f', f]);
  });
});

describe('List validation errors (kubectl validates items against /openapi/v2)', () => {
  test('an unknown field in an item stops create, apply and apply --server-side before any request', async () => {
    const f = file('unknown.yaml', list([cm('g'), '{apiVersion: v1, kind: ConfigMap, metadata: {name: h}, datax: {x: "1"}}']));
    const want = `error: error validating "${f}": error validating data: ValidationError(ConfigMap): unknown field "datax" in io.k8s.api.core.v1.ConfigMap${STOP}`;
    assert.equal(await fails(['create', '-f', f]), want);
    assert.equal(await fails(['apply', '-f', f]), want);
    assert.equal(await fails(['apply', '--server-side', '-f', f]), want);
    assert.equal(await fails(['replace', '-f', f]), want);
    // Nothing was created: validation failed before the first item was sent.
    const r = await c.kubectl(['get', 'cm', 'g']);
    assert.equal(r.stderr.trim(), 'Error from server (NotFound): configmaps "g" not found');
  });

  test('type errors, missing required fields and nested unknown fields, all reported together', async () => {
    const f = file(
      'bad.yaml',
      list([
        '{apiVersion: v1, kind: Service, metadata: {name: s, foo: 1}, spec: {ports: [{port: "80"}, {name: x}]}}',
        '{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i, bogus: 1}]}}}}',
      ]),
    );
    const err = await fails(['create', '-f', f]);
    const prefix = `error: error validating "${f}": error validating data: [`;
    assert.ok(err.startsWith(prefix) && err.endsWith(`]${STOP}`), err);
    // Go map order decides the order of errors within one object, as against a real cluster.
    const errors = err
      .slice(prefix.length, -`]${STOP}`.length)
      .split(', ValidationError')
      .map((e, i) => (i ? `ValidationError${e}` : e));
    assert.deepEqual(errors.sort(), [
      'ValidationError(Deployment.spec.template.spec.containers[0]): unknown field "bogus" in io.k8s.api.core.v1.Container',
      'ValidationError(Service.metadata): unknown field "foo" in io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
      'ValidationError(Service.spec.ports[0].port): invalid type for io.k8s.api.core.v1.ServicePort.port: got "string", expected "integer"',
      'ValidationError(Service.spec.ports[1]): missing required field "port" in io.k8s.api.core.v1.ServicePort',
    ]);
  });

  test('an item without kind', async () => {
    const f = file('nokind.yaml', list(['{apiVersion: v1, metadata: {name: k}}']));
    assert.equal(await fails(['create', '-f', f]), `error: error validating "${f}": error validating data: kind not set${STOP}`);
  });

  test('--validate=false sends the items; the server drops unknown fields', async () => {
    const f = file('novalidate.yaml', list(['{apiVersion: v1, kind: ConfigMap, metadata: {name: nv}, datax: {x: "1"}}']));
    assert.equal((await ok(['create', '--validate=false', '-f', f])).stdout, 'configmap/nv created\n');
    await ok(['delete', '-f', f]);
  });
});

describe('export and re-apply: kubectl get -o yaml > f.yaml', () => {
  test('apply, replace, apply --server-side and delete of what get -o yaml wrote', async () => {
    await ok(['create', 'service', 'clusterip', 'web', '--tcp=80:8080']);
    await ok(['create', 'service', 'nodeport', 'np', '--tcp=81:8080']);
    await ok(['create', 'deployment', 'dep', '--image=nginx', '--replicas=0']);
    const exported = (await ok(['get', 'svc,deploy', '-o', 'yaml'])).stdout;
    assert.match(exported, /^apiVersion: v1\nitems:\n/);
    assert.match(exported, /resourceVersion:/);
    assert.match(exported, /\nkind: List\n/);
    const f = file('export.yaml', exported);

    const applied = await ok(['apply', '-f', f]);
    assert.equal(
      applied.stdout,
      'service/kubernetes configured\nservice/np configured\nservice/web configured\ndeployment.apps/dep configured\n',
    );
    assert.equal(
      applied.stderr.trim(),
      ['services/kubernetes', 'services/np', 'services/web', 'deployments/dep'].map(MISSING_ANNOTATION).join('\n'),
    );

    // Fresh exports carry the current resourceVersion, so replace and server-side apply accept them.
    const again = file('again.yaml', (await ok(['get', 'svc', 'web', 'np', '-o', 'yaml'])).stdout);
    assert.equal((await ok(['replace', '-f', again])).stdout, 'service/web replaced\nservice/np replaced\n');
    await ok(['create', 'service', 'clusterip', 'fresh', '--tcp=82:8080']);
    // A label selector makes get print a List even for one object.
    const fresh = file('fresh.yaml', (await ok(['get', 'svc', '-l', 'app=fresh', '-o', 'yaml'])).stdout);
    assert.equal((await ok(['apply', '--server-side', '-f', fresh])).stdout, 'service/fresh serverside-applied\n');
    assert.equal((await ok(['delete', '-f', again])).stdout, 'service "web" deleted\nservice "np" deleted\n');
  });
});

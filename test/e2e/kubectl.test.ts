/**
 * The real kubectl against `svcnet up`, with only what a user would type: every verb from the
 * API server issue, and the error texts kubectl prints against a real cluster.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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

async function ok(args: string[], input?: string): Promise<string> {
  const r = await c.kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[], input?: string): Promise<string> {
  const r = await c.kubectl(args, input);
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail:\n${r.stdout}`);
  return r.stderr.trim();
}

const SVC = `apiVersion: v1
kind: Service
metadata:
  name: demo
  labels:
    app: demo
spec:
  selector:
    app: demo
  ports:
  - name: http
    port: 80
    targetPort: 8080
`;

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: webui
spec:
  replicas: 3
  selector:
    matchLabels:
      app: webui
  template:
    metadata:
      name: nginx-pod
      labels:
        app: webui
    spec:
      containers:
      - name: nginx-container
        image: nginx:1.14
`;

before(async () => {
  c = await startCluster();
  dir = c.dataDir;
});

after(async () => {
  await c?.stop();
});

describe('kubectl against svcnet', () => {
  test('the cluster starts with the kubernetes Service and the four namespaces', async () => {
    const out = await ok(['get', 'svc']);
    assert.match(out, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\n/);
    assert.match(out, /kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+\d+s/);
    const ns = await ok(['get', 'ns', '-o', 'name']);
    assert.deepEqual(ns.trim().split('\n').sort(), [
      'namespace/default',
      'namespace/kube-node-lease',
      'namespace/kube-public',
      'namespace/kube-system',
    ]);
  });

  test('apply creates, configures and reports unchanged', async () => {
    const f = file('svc.yaml', SVC);
    assert.equal((await ok(['apply', '-f', f])).trim(), 'service/demo created');
    assert.equal((await ok(['apply', '-f', f])).trim(), 'service/demo unchanged');
    const f2 = file(
      'svc2.yaml',
      SVC.replace('targetPort: 8080', 'targetPort: 8081\n  - name: metrics\n    port: 9090').replace(
        '  labels:\n    app: demo',
        '  labels:\n    app: demo\n    tier: web',
      ),
    );
    assert.equal((await ok(['apply', '-f', f2])).trim(), 'service/demo configured');
    const svc = JSON.parse(await ok(['get', 'svc', 'demo', '-o', 'json']));
    assert.deepEqual(
      svc.spec.ports.map((p: { port: number; targetPort: number }) => [p.port, p.targetPort]),
      [
        [80, 8081],
        [9090, 9090],
      ],
    );
    assert.equal(svc.metadata.labels.tier, 'web');
    // Back to the first file: the port and the label go away again.
    assert.equal((await ok(['apply', '-f', f])).trim(), 'service/demo configured');
    const back = JSON.parse(await ok(['get', 'svc', 'demo', '-o', 'json']));
    assert.equal(back.spec.ports.length, 1);
    assert.equal(back.metadata.labels.tier, undefined);
  });

  test('create -f, and AlreadyExists as kubectl prints it', async () => {
    const f = file('deploy.yaml', DEPLOY);
    assert.equal((await ok(['create', '-f', f])).trim(), 'deployment.apps/webui created');
    const err = await fails(['create', '-f', f]);
    assert.equal(err, `Error from server (AlreadyExists): error when creating "${f}": deployments.apps "webui" already exists`);
  });

  test('get: wide, yaml, json, jsonpath, show-labels, -A, -l', async () => {
    const wide = await ok(['get', 'svc', '-o', 'wide']);
    assert.match(wide, /NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR/);
    assert.match(wide, /demo\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP\s+\S+\s+app=demo/);
    const yaml = await ok(['get', 'svc', 'demo', '-o', 'yaml']);
    assert.match(yaml, /^apiVersion: v1\nkind: Service\n/);
    assert.match(yaml, /ipFamilyPolicy: SingleStack/);
    const ip = await ok(['get', 'svc', 'demo', '-o', 'jsonpath={.spec.clusterIP}']);
    assert.match(ip, /^10\.\d+\.\d+\.\d+$/);
    const labels = await ok(['get', 'svc', '--show-labels']);
    assert.match(labels, /demo\s+.*app=demo/);
    const all = await ok(['get', 'svc', '-A']);
    assert.match(all, /^NAMESPACE\s+NAME\s+TYPE/);
    assert.match(all, /kube-system\s+kube-dns\s+ClusterIP\s+10\.96\.0\.10\s+<none>\s+53\/UDP,53\/TCP,9153\/TCP/);
    const sel = await ok(['get', 'svc', '-l', 'app=demo', '-o', 'name']);
    assert.equal(sel.trim(), 'service/demo');
    const json = JSON.parse(await ok(['get', 'deploy', '-o', 'json']));
    assert.equal(json.kind, 'List');
    assert.equal(json.items[0].kind, 'Deployment');
  });

  test('get --sort-by a field outside metadata (kubectl asks for whole objects in the Table)', async () => {
    const out = await ok(['get', 'svc', '-A', '--sort-by=.spec.clusterIP']);
    assert.match(out, /^NAMESPACE\s+NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
    const ips = out
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/\s+/)[3]);
    assert.ok(ips.includes('10.96.0.1'), out);
    assert.deepEqual(ips, [...ips].sort(), 'sorted by cluster IP');
  });

  test('get -w prints new rows as they come', async () => {
    const child = spawn('kubectl', ['get', 'svc', '-w'], { env: c.env });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const seen = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${out}`)), 15_000);
        const check = () => {
          if (re.test(out)) {
            clearTimeout(t);
            child.stdout.off('data', check);
            resolve();
          }
        };
        child.stdout.on('data', check);
        check();
      });
    try {
      await seen(/kubernetes\s+ClusterIP/);
      await ok(['apply', '-f', '-'], SVC.replace(/demo/g, 'watched').replace('port: 80', 'port: 8080'));
      await seen(/watched\s+ClusterIP\s+10\.\S+\s+<none>\s+8080\/TCP/);
    } finally {
      child.kill();
    }
  });

  test('describe service and deployment', async () => {
    const svc = await ok(['describe', 'svc', 'demo']);
    assert.match(svc, /^Name:\s+demo$/m);
    assert.match(svc, /^IP Family Policy:\s+SingleStack$/m);
    assert.match(svc, /^IP Families:\s+IPv4$/m);
    assert.match(svc, /^Port:\s+http\s+80\/TCP$/m);
    assert.match(svc, /^TargetPort:\s+8080\/TCP$/m);
    assert.match(svc, /^Session Affinity:\s+None$/m);
    const dep = await ok(['describe', 'deployment', 'webui']);
    assert.match(dep, /^Replicas:\s+3 desired/m);
    assert.match(dep, /^StrategyType:\s+RollingUpdate$/m);
  });

  test('patch: strategic, merge, json', async () => {
    await ok(['patch', 'svc', 'demo', '-p', '{"spec":{"ports":[{"port":80,"targetPort":9999}]}}']);
    let svc = JSON.parse(await ok(['get', 'svc', 'demo', '-o', 'json']));
    assert.equal(svc.spec.ports[0].targetPort, 9999);
    assert.equal(svc.spec.ports[0].name, 'http', 'strategic merge keeps the other fields of the merged port');
    await ok(['patch', 'svc', 'demo', '--type', 'merge', '-p', '{"metadata":{"annotations":{"team":"blue"}}}']);
    await ok(['patch', 'svc', 'demo', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/ports/0/targetPort","value":8080}]']);
    svc = JSON.parse(await ok(['get', 'svc', 'demo', '-o', 'json']));
    assert.equal(svc.metadata.annotations.team, 'blue');
    assert.equal(svc.spec.ports[0].targetPort, 8080);
  });

  test('label, annotate, scale', async () => {
    assert.equal((await ok(['label', 'svc', 'demo', 'env=test'])).trim(), 'service/demo labeled');
    assert.equal((await ok(['annotate', 'svc', 'demo', 'note=hi'])).trim(), 'service/demo annotated');
    assert.equal((await ok(['scale', 'deployment', 'webui', '--replicas=5'])).trim(), 'deployment.apps/webui scaled');
    const d = JSON.parse(await ok(['get', 'deploy', 'webui', '-o', 'json']));
    assert.equal(d.spec.replicas, 5);
    const svc = JSON.parse(await ok(['get', 'svc', 'demo', '-o', 'json']));
    assert.equal(svc.metadata.labels.env, 'test');
    assert.equal(svc.metadata.annotations.note, 'hi');
  });

  test('apply --server-side creates and updates', async () => {
    const f = file('ssa.yaml', SVC.replace(/demo/g, 'ssa'));
    assert.equal((await ok(['apply', '--server-side', '-f', f])).trim(), 'service/ssa serverside-applied');
    const f2 = file('ssa2.yaml', SVC.replace(/demo/g, 'ssa').replace('targetPort: 8080', 'targetPort: 8082'));
    assert.equal((await ok(['apply', '--server-side', '-f', f2])).trim(), 'service/ssa serverside-applied');
    const svc = JSON.parse(await ok(['get', 'svc', 'ssa', '-o', 'json']));
    assert.equal(svc.spec.ports[0].targetPort, 8082);
  });

  test('apply --server-side after client-side apply migrates field ownership to kubectl', async () => {
    const f = file('mig.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mig\ndata:\n  x: "1"\n');
    assert.equal((await ok(['apply', '-f', f])).trim(), 'configmap/mig created');
    // kubectl replaces managedFields with a JSON patch after the apply; that patch must be a write.
    const r = await c.kubectl(['apply', '--server-side', '-f', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'configmap/mig serverside-applied');
    assert.doesNotMatch(r.stderr, /Warning/);
    const cm = JSON.parse(await ok(['get', 'cm', 'mig', '-o', 'json', '--show-managed-fields']));
    const managers = cm.metadata.managedFields.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`);
    assert.ok(managers.includes('kubectl/Apply'), managers.join());
    assert.ok(!managers.includes('kubectl-client-side-apply/Update'), managers.join());
    assert.deepEqual(cm.data, { x: '1' }, 'the migration keeps the fields it hands over');
    // A repeated identical apply is a no-op: no new resourceVersion.
    await ok(['apply', '--server-side', '-f', f]);
    const again = JSON.parse(await ok(['get', 'cm', 'mig', '-o', 'json']));
    assert.equal(again.metadata.resourceVersion, cm.metadata.resourceVersion);
  });

  test('explain service.spec.ports', async () => {
    const out = await ok(['explain', 'service.spec.ports']);
    assert.match(out, /^KIND:\s+Service$/m);
    assert.match(out, /^FIELD:\s+ports/m);
    assert.match(out, /targetPort\s+<IntOrString>/);
  });

  test('errors: invalid value, unknown field, not found, conflict', async () => {
    const bad = file(
      'bad.yaml',
      SVC.replace(/demo/g, 'bad')
        .replace('spec:\n', 'spec:\n  type: NodePort\n')
        .replace('targetPort: 8080', 'targetPort: 8080\n    nodePort: 40000'),
    );
    assert.equal(
      await fails(['apply', '-f', bad]),
      'The Service "bad" is invalid: spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767',
    );
    const unknown = file('unknown.yaml', SVC.replace(/demo/g, 'unk').replace('spec:\n', 'spec:\n  foo: bar\n'));
    assert.equal(
      await fails(['create', '-f', unknown]),
      `Error from server (BadRequest): error when creating "${unknown}": Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.foo"`,
    );
    assert.equal(await fails(['get', 'svc', 'nope']), 'Error from server (NotFound): services "nope" not found');
    const cur = JSON.parse(await ok(['get', 'svc', 'demo', '-o', 'json']));
    const stale = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(Number(cur.metadata.resourceVersion) - 1) } };
    const f = file('stale.json', JSON.stringify(stale));
    assert.equal(
      await fails(['replace', '-f', f]),
      `Error from server (Conflict): error when replacing "${f}": Operation cannot be fulfilled on services "demo": the object has been modified; please apply your changes to the latest version and try again`,
    );
  });

  test('the tutorial typo `app:webui` gets the error Kubernetes gives', async () => {
    const f = file(
      'typo.yaml',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: webui-svc\nspec:\n  clusterIP: 10.100.100.100\n  selector:\n    app:webui\n  ports:\n  - protocol: TCP\n    port: 80\n    targetPort: 80\n',
    );
    assert.equal(
      await fails(['create', '-f', f]),
      `Error from server (BadRequest): error when creating "${f}": Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServiceSpec.spec.selector of type map[string]string`,
    );
  });

  test('delete by name, by file and by label', async () => {
    assert.equal((await ok(['delete', 'svc', 'watched'])).trim(), 'service "watched" deleted');
    assert.equal((await ok(['delete', '-f', join(dir, 'ssa.yaml')])).trim(), 'service "ssa" deleted');
    assert.equal((await ok(['delete', 'svc', '-l', 'app=demo'])).trim(), 'service "demo" deleted');
    const out = await ok(['get', 'svc', '-o', 'name']);
    assert.equal(out.trim(), 'service/kubernetes');
  });
});

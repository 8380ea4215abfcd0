/**
 * Real kubectl → the real API server (HTTPS) → the node agent's kubelet API (HTTPS) → pods.
 * Runs INSIDE a network sandbox (test/agent/kubelet.test.ts starts it there): the sandbox's
 * network namespace plays the node (its address 172.18.0.2 on a dummy link), pods are CNI
 * sandboxes in it, and kubectl runs in it too. Not named *.test.ts so the runner never starts it
 * outside a sandbox.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent } from '../../src/agent/agent.js';
import { NGINX_INDEX_HTML } from '../../src/agent/images/nginx.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Pod } from '../../src/api/types/index.js';
import { ApiHandler, type HandlerOptions } from '../../src/apiserver/handler.js';
import { podProxy } from '../../src/apiserver/podproxy/index.js';
import { Registry } from '../../src/apiserver/registry/index.js';
import { type RunningServer, startServer } from '../../src/apiserver/server.js';
import { LocalClient } from '../../src/client/local.js';
import { R } from '../../src/client/types.js';
import { writeKubeconfig } from '../../src/cluster/kubeconfig.js';
import { ensurePki, issueServingCert, newToken } from '../../src/cluster/pki.js';
import type { RunningController } from '../../src/controllers/controller.js';
import { startScheduler } from '../../src/controllers/scheduler/scheduler.js';
import { SIM_NODE_ANNOTATION } from '../../src/controllers/simnode/objects.js';
import { MemoryStore } from '../../src/storage/memory.js';

type PodObject = Pod & KubeObject;

if (!process.env.SVCNET_IN_SANDBOX) throw new Error('kubelet cases must run inside a network sandbox (see test/agent/kubelet.test.ts)');

const NODE_IP = '172.18.0.2';
const PTYDRIVE = fileURLToPath(new URL('../streaming/ptydrive.py', import.meta.url));

let dir: string;
let store: MemoryStore;
let registry: Registry;
let client: LocalClient;
let server: RunningServer;
let agent: Agent;
let scheduler: RunningController;
let kubeconfig: string;
let adminToken: string;
let kubeletToken: string;
const children = new Set<ChildProcess>();

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const getPod = (name: string) => client.get<PodObject>(R.pods, name, 'default');

async function createPod(name: string, spec: PodObject['spec']): Promise<void> {
  await client.create(R.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: 'node-1', ...spec },
  });
}

function runningPod(name: string): Promise<PodObject> {
  return waitFor(`pod ${name} Running`, async () => {
    const pod = await getPod(name);
    return pod.status?.phase === 'Running' && pod.status.containerStatuses?.every((c) => c.state?.running) ? pod : undefined;
  });
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.once('close', () => children.delete(child));
  return child;
}

async function finished(child: ChildProcess, timeoutMs = 30_000): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const kubectlArgs = (args: string[]) => [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, 'cache')}`, ...args];

function kubectl(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  const child = start('kubectl', kubectlArgs(args), opts.env);
  child.stdin?.end(opts.input ?? '');
  return finished(child);
}

/** Resolves with the first match of `pattern` in what the child has printed on stdout so far or prints next. */
function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; saw ${JSON.stringify(seen)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d;
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.once('close', () => reject(new Error(`exited before printing ${pattern}; saw ${JSON.stringify(seen)}`)));
  });
}

/** Runs kubectl in a pseudo-terminal, playing a dialogue with it (test/streaming/ptydrive.py). */
function drive(args: string[], steps: { expect: string; send?: string }[]): Promise<Result> {
  const child = start('python3', [PTYDRIVE, 'kubectl', ...kubectlArgs(args)], { PTY_STEPS: JSON.stringify(steps), PTY_TIMEOUT: '25' });
  child.stdin?.end();
  return finished(child);
}

/** A GET with the admin token against the API server, or with `token` against any HTTPS address. */
function httpsGet(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('kubectl through the API server to the kubelet (inside a network sandbox)', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'svcnet-kubelet-'));
    // The node's address (svcnet0 would carry it): the API server dials the kubelet there.
    execFileSync('ip', ['addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);

    const pki = await ensurePki(join(dir, 'pki'));
    const kubeletCert = await issueServingCert({ caCertPem: pki.caCertPem, caKeyPem: pki.caKeyPem, commonName: 'node-1', ips: [NODE_IP] });
    adminToken = newToken();
    kubeletToken = newToken();

    store = new MemoryStore();
    registry = new Registry(store, { serviceCIDR: '10.96.0.0/12', nodePortRange: '30000-32767' });
    await registry.start();
    const handlerOptions: HandlerOptions = { serverAddress: '127.0.0.1:6443' };
    const handler = new ApiHandler(registry, handlerOptions);
    client = new LocalClient(handler);
    await registry.bootstrap(client);
    const proxy = podProxy({ client, kubeletToken, kubeletCA: pki.caCertPem });
    handlerOptions.connect = proxy.connect;
    server = await startServer(handler, {
      host: '127.0.0.1',
      port: 0,
      tls: { cert: pki.certPem, key: pki.keyPem },
      tokens: new Map([[adminToken, 'admin']]),
      onUpgrade: proxy.onUpgrade,
    });
    kubeconfig = join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${server.port}`, caPem: pki.caCertPem, token: adminToken });

    agent = new Agent({
      client,
      nodeName: 'node-1',
      nodeIP: NODE_IP,
      podCIDR: '10.244.1.0/24',
      stateDir: join(dir, 'node'),
      nodeResolvConf: 'nameserver 192.0.2.53\n',
      backoff: { initialMs: 200, maxMs: 1000 },
      kubelet: { tls: { cert: kubeletCert.certPem, key: kubeletCert.keyPem }, tokens: [kubeletToken] },
      log: (m) => process.env.SVCNET_AGENT_DEBUG && console.error(m),
    });
    await agent.start();
    scheduler = startScheduler(client);
    await scheduler.ready;

    await createPod('web', { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }] });
    await createPod('talker', {
      // Prints what the test drops into `more` (the container sees the host's files outside its mounts).
      containers: [
        {
          name: 'c',
          image: 'busybox',
          command: [
            'sh',
            '-c',
            `echo one; echo two; echo three >&2; while sleep 0.05; do [ -f ${dir}/more ] && cat ${dir}/more && rm ${dir}/more; done`,
          ],
        },
      ],
    });
    await createPod('shell', { containers: [{ name: 'shell', image: 'busybox', command: ['sh'], stdin: true, tty: true }] });
    await createPod('crasher', {
      containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo run $(date +%s%N); sleep 0.2; exit 1'] }],
    });
    await createPod('mystery', { containers: [{ name: 'c', image: 'example.com/mystery:1' }] });
    await createPod('multi', {
      containers: [
        { name: 'a', image: 'busybox', command: ['sleep', '3600'] },
        { name: 'b', image: 'busybox', command: ['sleep', '3600'] },
      ],
    });
    await Promise.all(['web', 'talker', 'shell', 'multi'].map(runningPod));
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await scheduler?.stop();
    await agent?.stop();
    await server?.close();
    registry?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the Node publishes the kubelet endpoint; the kubelet refuses callers without the token', async () => {
    const node = await client.get(R.nodes, 'node-1');
    assert.deepEqual((node as { status?: { daemonEndpoints?: unknown } }).status?.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
    const denied = await httpsGet(`https://${NODE_IP}:10250/containerLogs/default/talker/c`, 'wrong');
    assert.deepEqual(denied, { status: 401, body: 'Unauthorized' });
  });

  test('kubectl logs prints the container log; --tail and --timestamps', async () => {
    const r = await kubectl(['logs', 'talker']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'one\ntwo\nthree\n');
    const tail = await kubectl(['logs', 'talker', '--tail=1', '--timestamps']);
    assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z three\n$/);
  });

  test('kubectl logs -f follows what the container writes', async () => {
    const child = start('kubectl', kubectlArgs(['logs', '-f', 'talker']));
    try {
      await waitForOutput(child, /three\n/);
      writeFileSync(join(dir, 'more'), 'appended later\n');
      await waitForOutput(child, /appended later\n/);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
  });

  test('kubectl logs --previous prints the run before the last restart', async () => {
    await waitFor(
      'crasher restarted twice',
      async () => ((await getPod('crasher')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2,
    );
    // The previous run first: runs only move forward, so it can never be newer than the current
    // one read after it. A run that has just started may not have written its line yet: read the
    // current log until it has.
    const previous = await kubectl(['logs', 'crasher', '--previous']);
    assert.match(previous.stdout, /^run \d+\n$/);
    let current = { stdout: '' };
    await waitFor('the current run has written its line', async () => {
      current = await kubectl(['logs', 'crasher']);
      return /^run \d+\n$/.test(current.stdout);
    });
    // During the back-off the run that just ended is both the current and the previous one, as with the kubelet.
    assert.ok(Number(previous.stdout.split(' ')[1]) <= Number(current.stdout.split(' ')[1]), `${previous.stdout} then ${current.stdout}`);
    const never = await kubectl(['logs', 'talker', '--previous']);
    assert.equal(never.stderr, 'Error from server (BadRequest): previous terminated container "c" in pod "talker" not found\n');
  });

  test('kubectl logs errors come from the API server and the kubelet, worded as Kubernetes words them', async () => {
    const waiting = await waitFor('mystery waiting', async () => {
      const r = await kubectl(['logs', 'mystery']);
      return /image can't be pulled/.test(r.stderr) ? r : undefined;
    });
    assert.equal(waiting.code, 1);
    assert.equal(
      waiting.stderr,
      `Error from server (BadRequest): container "c" in pod "mystery" is waiting to start: image can't be pulled\n`,
    );
    const base = `https://127.0.0.1:${server.port}/api/v1/namespaces/default/pods`;
    const missing = await httpsGet(`${base}/nope/log`, adminToken);
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).message, 'pods "nope" not found');
    const noContainer = await httpsGet(`${base}/multi/log`, adminToken);
    assert.equal(noContainer.status, 400);
    assert.equal(JSON.parse(noContainer.body).message, 'a container name must be specified for pod multi, choose one of: [a b]');
    const wrongContainer = await httpsGet(`${base}/multi/log?container=z`, adminToken);
    assert.equal(JSON.parse(wrongContainer.body).message, 'container z is not valid for pod multi');
  });

  test('kubectl exec prints the pod’s resolv.conf; exit codes and stderr come through', async () => {
    const r = await kubectl(['exec', 'web', '--', 'cat', '/etc/resolv.conf']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    const failed = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo oops >&2; exit 3']);
    assert.equal(failed.code, 3);
    assert.equal(failed.stderr, 'oops\ncommand terminated with exit code 3\n');
    const piped = await kubectl(['exec', '-i', 'web', '--', 'sh', '-c', 'cat > /usr/share/nginx/html/index.html'], { input: 'edited\n' });
    assert.equal(piped.code, 0, piped.stderr);
    const spdy = await kubectl(['exec', 'web', '--', 'cat', '/usr/share/nginx/html/index.html'], {
      env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' },
    });
    assert.equal(spdy.stdout, 'edited\n');
    // Put the page back for the port-forward case.
    await kubectl(['exec', '-i', 'web', '--', 'sh', '-c', 'cat > /usr/share/nginx/html/index.html'], { input: NGINX_INDEX_HTML });
  });

  for (const [transport, env] of [
    ['WebSocket-tunnelled SPDY', {}],
    ['SPDY', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
  ] as const) {
    test(`kubectl port-forward pod/web 8000:80 (${transport}), then curl localhost:8000 returns the nginx page`, async () => {
      const child = start('kubectl', kubectlArgs(['port-forward', 'pod/web', '8000:80']), env);
      try {
        await waitForOutput(child, /Forwarding from 127\.0\.0\.1:8000 -> 80/);
        // Not execFileSync: the API server and the kubelet run in this process's event loop.
        const curl = await finished(start('curl', ['-sS', '--fail', '--max-time', '5', 'http://localhost:8000/']));
        assert.equal(curl.stdout, NGINX_INDEX_HTML, curl.stderr);
      } finally {
        child.kill('SIGTERM');
        await once(child, 'close');
      }
    });
  }

  test('kubectl exec -it runs a shell on a terminal and reports its exit code', async () => {
    const r = await drive(
      ['exec', '-it', 'web', '--', 'sh'],
      [
        { expect: '', send: 'echo $((6*7))-answer; tty\r' },
        { expect: '42-answer', send: 'exit 5\r' },
      ],
    );
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r$/m);
    assert.match(r.stdout, /command terminated with exit code 5/);
    assert.equal(r.code, 5, r.stdout);
  });

  test('kubectl attach -it joins the container’s terminal', async () => {
    const r = await drive(
      ['attach', '-it', 'shell'],
      [
        { expect: "If you don't see a command prompt, try pressing enter.", send: '\r' },
        { expect: '# ', send: 'echo attached-$((1+1))\r' },
        { expect: 'attached-2', send: 'exit\r' },
      ],
    );
    assert.match(r.stdout, /attached-2/);
    assert.equal(r.code, 0, r.stdout);
  });

  test('kubectl run -it --rm gives an interactive shell, then removes the pod', async () => {
    const r = await drive(
      ['run', 'testpod', '-it', '--rm', '--image=busybox', '--', 'sh'],
      [
        { expect: "If you don't see a command prompt, try pressing enter.", send: '\r' },
        { expect: '# ', send: 'echo $((6*7))-answer; tty\r' },
        { expect: '42-answer', send: 'exit\r' },
      ],
    );
    assert.match(r.stdout, /42-answer\r\n/);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r$/m, 'the shell runs on a terminal');
    assert.match(r.stdout, /pod "testpod" deleted/);
    assert.equal(r.code, 0, r.stdout);
    const pod = await getPod('testpod').catch((err) => err);
    assert.ok(pod instanceof Error || pod.metadata.deletionTimestamp, 'testpod is deleted');
  });

  test('a node without a kubelet answers as an unreachable one', async () => {
    await client.create(R.nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'sim-1', annotations: { [SIM_NODE_ANNOTATION]: 'true' } },
      spec: { unschedulable: true },
    });
    await client.patch(
      R.nodes,
      'sim-1',
      'merge',
      { status: { addresses: [{ type: 'InternalIP', address: '172.18.0.9' }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } } },
      { subresource: 'status' },
    );
    await client.create(R.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'far', namespace: 'default' },
      spec: { nodeName: 'sim-1', containers: [{ name: 'c', image: 'busybox' }] },
    });
    const logs = await kubectl(['logs', 'far']);
    assert.equal(
      logs.stderr,
      'Error from server: Get "https://172.18.0.9:10250/containerLogs/default/far/c": dial tcp 172.18.0.9:10250: connect: connection refused\n',
    );
    const exec = await kubectl(['exec', 'far', '--', 'true']);
    assert.equal(exec.code, 1);
    assert.match(exec.stderr, /error dialing backend: dial tcp 172\.18\.0\.9:10250: connect: connection refused/);
  });
});

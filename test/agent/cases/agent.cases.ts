/**
 * Agent integration cases. They run INSIDE a network sandbox (test/agent/agent.test.ts starts
 * them there): the sandbox's own network namespace plays the node, pods are CNI sandboxes in it,
 * and the API server is the in-process test server. Not named *.test.ts so the runner never
 * starts them outside a sandbox.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent } from '../../../src/agent/agent.js';
import { findHostNginx } from '../../../src/agent/images/host-nginx.js';
import { NGINX_INDEX_HTML } from '../../../src/agent/images/nginx.js';
import { execArgv, processEnv } from '../../../src/agent/runtime/container.js';
import type { KubeObject } from '../../../src/api/meta.js';
import type { Lease, Node, Pod, Service } from '../../../src/api/types/index.js';
import { R } from '../../../src/client/types.js';
import { inNetns } from '../../../src/cluster/netns.js';
import { startTestApiServer, type TestApiServer } from '../../helpers/apiserver.js';

type PodObject = Pod & KubeObject;

/** Whether the `nginx` image runs the node's nginx here (test/agent/agent.test.ts runs these cases once more with SVCNET_NGINX=builtin). */
const expectHostNginx = process.env.SVCNET_NGINX !== 'builtin';

if (!process.env.SVCNET_IN_SANDBOX) throw new Error('agent cases must run inside a network sandbox (see test/agent/agent.test.ts)');

let api: TestApiServer;
let agent: Agent;
let stateDir: string;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
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

const getPod = (name: string) => api.client.get<PodObject>(R.pods, name, 'default');
const condition = (pod: PodObject, type: string) => pod.status?.conditions?.find((c) => c.type === type)?.status;

async function createPod(name: string, spec: PodObject['spec'], metadata: Partial<PodObject['metadata']> = {}): Promise<PodObject> {
  return api.client.create<PodObject>(R.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...metadata },
    spec: { nodeName: 'node-1', ...spec },
  } as PodObject);
}

async function readyPod(name: string): Promise<PodObject> {
  return waitFor(`pod ${name} Running and Ready`, async () => {
    const pod = await getPod(name);
    return pod.status?.phase === 'Running' && condition(pod, 'Ready') === 'True' ? pod : undefined;
  });
}

function readFileOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Runs a command inside a container's namespaces (what kubectl exec does). */
function execIn(name: string, command: string[], input?: string): { stdout: string; code: number | null } {
  const pid = agent.worker('default', name)?.containerPid();
  assert.ok(pid, `pod ${name} has a running container`);
  const [file, ...args] = execArgv(pid, command);
  const result = spawnSync(file!, args, { env: processEnv(pid), input, encoding: 'utf8' });
  return { stdout: result.stdout, code: result.status };
}

/** GETs `url` from inside another pod's network namespace; retries while the server is still binding (Ready does not mean listening without a probe). */
function curlFrom(pod: PodObject, url: string, options: string[] = []): Promise<string> {
  const netns = `svcnet-pod-${pod.metadata.uid}`;
  const [file, ...args] = inNetns(netns, ['curl', '-sS', '--fail', '--max-time', '5', ...options, url]);
  return waitFor(`curl ${url}`, async () => {
    const result = spawnSync(file!, args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(result.stderr);
    return result.stdout;
  });
}

describe('node agent (inside a network sandbox)', () => {
  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'svcnet-agent-'));
    api = await startTestApiServer();
    agent = new Agent({
      client: api.client,
      nodeName: 'node-1',
      nodeIP: '172.18.0.2',
      podCIDR: '10.244.1.0/24',
      stateDir,
      nodeResolvConf: 'nameserver 192.0.2.53\nsearch example.test\n',
      backoff: { initialMs: 300, maxMs: 2000 },
      log: (m) => process.env.SVCNET_AGENT_DEBUG && console.error(m),
    });
    await agent.start();
  });

  after(async () => {
    await agent?.stop();
    await api?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  test('registers a Ready node with a heartbeat lease', async () => {
    const node = await api.client.get<Node & KubeObject>(R.nodes, 'node-1');
    assert.equal(node.spec?.podCIDR, '10.244.1.0/24');
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    assert.deepEqual([ready?.status, ready?.reason, ready?.message], ['True', 'KubeletReady', 'kubelet is posting ready status']);
    assert.equal(node.status?.nodeInfo?.containerRuntimeVersion, 'svcnet://0.1.0');
    assert.equal(node.status?.nodeInfo?.kubeletVersion, 'v1.32.0');
    assert.deepEqual(node.status?.addresses, [
      { type: 'InternalIP', address: '172.18.0.2' },
      { type: 'Hostname', address: 'node-1' },
    ]);
    const lease = await api.client.get<Lease & KubeObject>(R.leases, 'node-1', 'kube-node-lease');
    assert.equal(lease.spec?.holderIdentity, 'node-1');
  });

  test('nginx runs with an address; another pod curls the welcome page; editing index.html through exec changes it', async () => {
    await createPod('web', { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] });
    await createPod('client', { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] });
    const web = await readyPod('web');
    const client = await readyPod('client');
    assert.match(web.status?.podIP ?? '', /^10\.244\.1\.\d+$/);
    assert.notEqual(web.status?.podIP, client.status?.podIP);
    assert.equal(web.status?.hostIP, '172.18.0.2');
    const status = web.status?.containerStatuses?.[0];
    assert.equal(status?.ready, true);
    assert.equal(status?.started, true);
    assert.equal(status?.restartCount, 0);
    assert.match(status?.containerID ?? '', /^svcnet:\/\/[0-9a-f]{64}$/);
    assert.ok(status?.state?.running?.startedAt);

    assert.equal(await curlFrom(client, `http://${web.status?.podIP}/`), NGINX_INDEX_HTML);
    assert.equal(execIn('web', ['sh', '-c', 'echo hello from exec > /usr/share/nginx/html/index.html']).code, 0);
    assert.equal(await curlFrom(client, `http://${web.status?.podIP}/`), 'hello from exec\n');
    // The host's filesystem is untouched: the pod's html directory is its own (bound over the
    // host's, which the node's nginx package may have installed).
    assert.notEqual(readFileOr('/usr/share/nginx/html/index.html'), 'hello from exec\n');
    // The access log went to the container log file, in CRI format.
    const logPath = agent.worker('default', 'web')!.logPath('nginx')!;
    const log = await waitFor('access log', async () =>
      readFileSync(logPath, 'utf8').includes(' stdout F ') ? readFileSync(logPath, 'utf8') : undefined,
    );
    assert.match(log, /^\S+ stdout F 10\.244\.1\.\d+ - - \[.+\] "GET \/ HTTP\/1\.1" 200 615 "-" "curl\//m);
  });

  test(`the nginx image runs ${expectHostNginx ? "the node's nginx" : 'the builtin server'} as the container's process; it logs, serves the 50x page, and exits 0 on SIGTERM`, async () => {
    await createPod('nginx-stop', { restartPolicy: 'Never', containers: [{ name: 'nginx', image: 'docker.io/library/nginx:1.14' }] });
    await createPod('nginx-client', { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] });
    const web = await readyPod('nginx-stop');
    const client = await readyPod('nginx-client');
    const pid = agent.worker('default', 'nginx-stop')!.containerPid()!;
    if (expectHostNginx) assert.ok(findHostNginx(), 'the node has nginx (scripts/setup.sh installs it)');
    const expectedExe = realpathSync(expectHostNginx ? findHostNginx()! : process.execPath);
    // The agent counts the container as started once its mounts are made, just before the exec.
    const exe = await waitFor('the container process exec’d', async () => {
      const current = readlinkSync(`/proc/${pid}/exe`);
      return current.endsWith('/sh') || current.endsWith('/dash') || current.endsWith('/nice') ? undefined : current;
    });
    assert.equal(exe, expectedExe);
    const headers = await curlFrom(client, `http://${web.status?.podIP}/`, ['-I']);
    assert.match(headers, /^Server: nginx\/1\.\d+\.\d+\r$/m);
    assert.match(headers, /^Content-Length: 615\r$/m);
    assert.match(await curlFrom(client, `http://${web.status?.podIP}/50x.html`), /<h1>An error occurred\.<\/h1>/);
    const logPath = agent.worker('default', 'nginx-stop')!.logPath('nginx')!;
    await waitFor(
      'access log line of the HEAD request',
      async () =>
        /^\S+ stdout F 10\.244\.1\.\d+ - - \[.+\] "HEAD \/ HTTP\/1\.1" 200 0 "-" "curl\/[^"]+" "-"$/m.test(readFileOr(logPath) ?? '') ||
        undefined,
    );
    // What the kubelet sends first when it stops a container.
    const signalled = Date.now();
    process.kill(pid, 'SIGTERM');
    const stopped = await waitFor('nginx-stop terminated', async () => {
      const pod = await getPod('nginx-stop');
      return pod.status?.containerStatuses?.[0]?.state?.terminated ? pod : undefined;
    });
    assert.ok(Date.now() - signalled < 5000, 'nginx exits on SIGTERM, well within the default 30 s grace period');
    assert.equal(stopped.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    assert.equal(stopped.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
    assert.equal(stopped.status?.phase, 'Succeeded');
  });

  test('the pod sees its own resolv.conf, hosts and hostname', async () => {
    await createPod('dns', {
      hostname: 'db-0',
      subdomain: 'db',
      containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }],
    });
    const pod = await readyPod('dns');
    assert.equal(
      execIn('dns', ['cat', '/etc/resolv.conf']).stdout,
      'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local example.test\noptions ndots:5\n',
    );
    assert.match(
      execIn('dns', ['cat', '/etc/hosts']).stdout,
      new RegExp(`^${(pod.status?.podIP ?? '').replace(/\./g, '\\.')}\\tdb-0\\.db\\.default\\.svc\\.cluster\\.local\\tdb-0$`, 'm'),
    );
    assert.equal(execIn('dns', ['hostname']).stdout, 'db-0\n');
  });

  test('environment: values, fieldRef, configMap and secret refs, envFrom, and service links', async () => {
    await api.client.create(R.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'webui-svc', namespace: 'default' },
      spec: { selector: { app: 'webui' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    await api.client.create(R.configmaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg', namespace: 'default' },
      data: { mode: 'fast', color: 'blue' },
    });
    await api.client.create(R.secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sec', namespace: 'default' },
      data: { password: Buffer.from('s3cret').toString('base64') },
    });
    const svc = await api.client.get<Service & KubeObject>(R.services, 'webui-svc', 'default');
    const clusterIP = svc.spec?.clusterIP ?? '';
    await waitFor('services informer', async () => agent.services.list().some((s) => s.metadata.name === 'webui-svc'));
    await createPod(
      'env',
      {
        containers: [
          {
            name: 'c',
            image: 'busybox',
            command: ['sleep', '3600'],
            envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
            env: [
              { name: 'GREETING', value: 'hi $(CFG_mode)' },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
              { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
            ],
          },
        ],
      },
      { labels: { app: 'demo' } },
    );
    const pod = await readyPod('env');
    const env = processEnv(agent.worker('default', 'env')!.containerPid()!);
    assert.equal(env.GREETING, 'hi fast');
    assert.equal(env.POD_NAME, 'env');
    assert.equal(env.POD_IP, pod.status?.podIP);
    assert.equal(env.APP, 'demo');
    assert.equal(env.MODE, 'fast');
    assert.equal(env.PASSWORD, 's3cret');
    assert.equal(env.CFG_color, 'blue');
    assert.equal(env.WEBUI_SVC_SERVICE_HOST, clusterIP);
    assert.equal(env.WEBUI_SVC_SERVICE_PORT, '80');
    assert.equal(env.WEBUI_SVC_SERVICE_PORT_HTTP, '80');
    assert.equal(env.WEBUI_SVC_PORT, `tcp://${clusterIP}:80`);
    assert.equal(env.WEBUI_SVC_PORT_80_TCP_ADDR, clusterIP);
    assert.equal(env.KUBERNETES_SERVICE_HOST, '10.96.0.1');
    assert.equal(env.HOSTNAME, 'env');
  });

  test('a readiness probe takes the pod out of Ready and puts it back', async () => {
    await createPod('probed', {
      containers: [
        {
          name: 'nginx',
          image: 'nginx',
          readinessProbe: { httpGet: { path: '/healthy.html', port: 80 }, periodSeconds: 1, failureThreshold: 1 },
        },
      ],
    });
    await waitFor('probed running, not ready', async () => {
      const pod = await getPod('probed');
      return pod.status?.containerStatuses?.[0]?.state?.running && condition(pod, 'Ready') === 'False' ? pod : undefined;
    });
    const notReady = await getPod('probed');
    assert.equal(notReady.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'ContainersNotReady');
    assert.equal(notReady.status?.conditions?.find((c) => c.type === 'Ready')?.message, 'containers with unready status: [nginx]');
    assert.equal(execIn('probed', ['sh', '-c', 'echo ok > /usr/share/nginx/html/healthy.html']).code, 0);
    await readyPod('probed');
    execIn('probed', ['rm', '/usr/share/nginx/html/healthy.html']);
    await waitFor('probed not ready again', async () =>
      (await getPod('probed')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False' ? true : undefined,
    );
  });

  test('a crashing container restarts with CrashLoopBackOff back-off; restartPolicy Never leaves it Failed', async () => {
    await createPod('crash', { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo boom; exit 3'] }] });
    const looping = await waitFor('CrashLoopBackOff', async () => {
      const pod = await getPod('crash');
      const s = pod.status?.containerStatuses?.[0];
      return s?.state?.waiting?.reason === 'CrashLoopBackOff' && (s.restartCount ?? 0) >= 1 ? pod : undefined;
    });
    const s = looping.status!.containerStatuses![0]!;
    assert.match(s.state!.waiting!.message!, /^back-off \d+s restarting failed container=c pod=crash_default\(/);
    assert.equal(s.lastState?.terminated?.exitCode, 3);
    assert.equal(s.lastState?.terminated?.reason, 'Error');
    assert.equal(looping.status?.phase, 'Running');
    await waitFor('restartCount 3', async () =>
      ((await getPod('crash')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 3 ? true : undefined,
    );

    await createPod('once', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 2'] }] });
    const failed = await waitFor('Failed', async () => {
      const pod = await getPod('once');
      return pod.status?.phase === 'Failed' ? pod : undefined;
    });
    assert.equal(failed.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 2);
    assert.equal(failed.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  });

  test('deleting a pod sends SIGTERM, waits for the grace period, then SIGKILL, and removes the pod', async () => {
    // A hostPath volume at the same path: what the container writes outlives the pod's own directory.
    const out = join(stateDir, 'out');
    await createPod('polite', {
      volumes: [{ name: 'out', hostPath: { path: out, type: 'DirectoryOrCreate' } }],
      containers: [
        {
          name: 'c',
          image: 'busybox',
          command: ['sh', '-c', `trap "echo got TERM > ${out}/term; exit 0" TERM; while true; do sleep 0.05; done`],
          volumeMounts: [{ name: 'out', mountPath: out }],
        },
      ],
    });
    await createPod('stubborn', {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.05; done'] }],
    });
    await readyPod('polite');
    await readyPod('stubborn');
    const stubbornPid = agent.worker('default', 'stubborn')!.containerPid()!;
    const started = Date.now();
    await api.client.delete(R.pods, 'polite', { namespace: 'default' });
    await api.client.delete(R.pods, 'stubborn', { namespace: 'default' });
    await waitFor('polite gone', async () =>
      getPod('polite').then(
        () => undefined,
        (err) => (err.code === 404 ? true : undefined),
      ),
    );
    assert.equal(readFileSync(join(out, 'term'), 'utf8'), 'got TERM\n');
    await waitFor('stubborn gone', async () =>
      getPod('stubborn').then(
        () => undefined,
        (err) => (err.code === 404 ? true : undefined),
      ),
    );
    assert.ok(Date.now() - started >= 900, 'the stubborn container got its grace period');
    assert.throws(() => process.kill(stubbornPid, 0), /ESRCH/);
  });

  test('an image that is not builtin and has no command reports an image error', async () => {
    await createPod('mystery', { containers: [{ name: 'c', image: 'example.com/mystery:1' }] });
    const pod = await waitFor('ErrImagePull', async () => {
      const p = await getPod('mystery');
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull' ? p : undefined;
    });
    assert.equal(pod.status?.phase, 'Pending');
    assert.match(pod.status!.containerStatuses![0]!.state!.waiting!.message!, /not a svcnet builtin image.*give the container a command/);
  });
});

/**
 * Real kubectl against the streaming protocols: a throwaway HTTP API server (aggregated discovery
 * from the resource registry, Running pods) whose exec/attach/portforward/log subresources are
 * served by src/streaming with test backends — exec runs real processes, port-forward dials a TCP
 * server on 127.0.0.1, logs read a CRI log file.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { groupVersions, type ResourceInfo } from '../../src/api/resources.js';
import { CriLogWriter, formatCriLine, serveLogs } from '../../src/streaming/logs.js';
import { dialErrorMessage, servePortForward } from '../../src/streaming/portforward.js';
import {
  type RemoteCommandBackend,
  type RemoteCommandOptions,
  serveRemoteCommand,
  type TerminalSize,
} from '../../src/streaming/remotecommand.js';

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const PTYDRIVE = fileURLToPath(new URL('./ptydrive.py', import.meta.url));

function discoveryResource(r: ResourceInfo) {
  return {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    shortNames: r.shortNames,
    categories: r.categories,
  };
}

function aggregated(core: boolean) {
  const byGroup = new Map<string, { metadata: { name: string }; versions: unknown[] }>();
  for (const gv of groupVersions()) {
    if ((gv.group === '') !== core) continue;
    const entry = byGroup.get(gv.group) ?? { metadata: { name: gv.group }, versions: [] };
    entry.versions.push({ version: gv.version, resources: gv.resources.map(discoveryResource), freshness: 'Current' });
    byGroup.set(gv.group, entry);
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items: [...byGroup.values()] };
}

function runningPod(name: string, interactive: boolean) {
  const now = new Date().toISOString();
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '10', creationTimestamp: now },
    spec: {
      nodeName: 'node-1',
      containers: [{ name: 'main', image: 'busybox', ports: [{ containerPort: 80 }], stdin: interactive, tty: interactive }],
    },
    status: {
      phase: 'Running',
      podIP: '127.0.0.1',
      startTime: now,
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        {
          name: 'main',
          ready: true,
          started: true,
          restartCount: 0,
          image: 'busybox',
          imageID: '',
          state: { running: { startedAt: now } },
        },
      ],
    },
  };
}

/** Exec/attach backend: a real child process; a TTY comes from `script`, which runs the command in a pseudo-terminal. */
function processBackend(resizes: TerminalSize[], seen: RemoteCommandOptions[]): RemoteCommandBackend {
  return {
    async start(options) {
      seen.push(options);
      const command = options.command.length > 0 ? options.command : ['sh'];
      const quoted = command.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
      const argv = options.tty ? ['script', '-qfec', quoted, '/dev/null'] : command;
      const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const exited = new Promise<{ exitCode: number }>((resolve) =>
        child.once('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 + 9 : 1) })),
      );
      await Promise.race([once(child, 'spawn'), once(child, 'error').then(([err]) => Promise.reject(err))]);
      if (!options.stdin) child.stdin.end();
      if (!options.stderr) child.stderr.resume();
      return {
        stdin: options.stdin ? child.stdin : undefined,
        stdout: child.stdout,
        stderr: options.stderr ? child.stderr : undefined,
        resize: (size) => resizes.push(size),
        wait: () => exited,
        abort: () => child.kill('SIGKILL'),
      };
    },
  };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let api: Server;
let apiUrl: string;
let httpPod: Server;
let closedPort: number;
let dir: string;
let kubeconfig: string;
let logPath: string;
const transports: string[] = [];
const resizes: TerminalSize[] = [];
const seenOptions: RemoteCommandOptions[] = [];
const children = new Set<ChildProcess>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'svcnet-streaming-'));
  logPath = join(dir, 'main.log');
  const t0 = new Date(Date.now() - 60_000);
  await writeFile(
    logPath,
    ['line one', 'line two', 'line three'].map((l, i) => formatCriLine(new Date(t0.getTime() + i), 'stdout', l)).join(''),
  );

  // The "pod" behind port-forward: answers with the request path, so concurrent requests can be told apart.
  httpPod = createServer((req, res) => res.end(`pod says ${req.url}`));
  await new Promise<void>((resolve) => httpPod.listen(0, '127.0.0.1', resolve));
  const podPort = (httpPod.address() as AddressInfo).port;
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const targets: Record<number, number> = { 80: podPort, 81: closedPort };

  const exec = processBackend(resizes, seenOptions);
  api = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (body: unknown, type = 'application/json') => {
      res.writeHead(200, { 'Content-Type': type });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/api' || url.pathname === '/apis') return json(aggregated(url.pathname === '/api'), AGGREGATED);
    if (url.pathname === '/version') return json({ major: '1', minor: '32', gitVersion: 'v1.32.0' });
    const pod = /^\/api\/v1\/namespaces\/default\/pods\/([^/]+)(\/log)?$/.exec(url.pathname);
    if (pod?.[2]) return void serveLogs(req, res, logPath);
    if (pod) return json(runningPod(pod[1] as string, pod[1] === 'shell'));
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'not found',
        reason: 'NotFound',
        code: 404,
      }),
    );
  });
  api.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const sub = /^\/api\/v1\/namespaces\/default\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(url.pathname);
    transports.push(`${sub?.[2]}:${(req.headers.upgrade ?? '').toLowerCase()}`);
    if (sub?.[2] === 'portforward') {
      return servePortForward(
        req,
        socket,
        head,
        {
          connect: (port) =>
            new Promise((resolve, reject) => {
              const conn = connect(targets[port] ?? closedPort, '127.0.0.1');
              conn.once('connect', () => resolve(conn));
              conn.once('error', (err) => reject(new Error(dialErrorMessage(err, '127.0.0.1', port))));
            }),
        },
        { pod: sub[1] as string },
      );
    }
    serveRemoteCommand(req, socket, head, exec);
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: t, cluster: {server: "' + apiUrl + '"}}]',
      'users: [{name: t, user: {}}]',
      'contexts: [{name: t, context: {cluster: t, user: t, namespace: default}}]',
      'current-context: t',
      '',
    ].join('\n'),
  );
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  api.closeAllConnections();
  httpPod.closeAllConnections();
  await Promise.all([new Promise((r) => api.close(r)), new Promise((r) => httpPod.close(r))]);
  await rm(dir, { recursive: true, force: true });
});

function kubectlArgs(args: string[]): string[] {
  return [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, 'cache')}`, ...args];
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

async function kubectl(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  const child = start('kubectl', kubectlArgs(args), opts.env);
  child.stdin?.end(opts.input ?? '');
  return finished(child);
}

/** Resolves with the first match of `pattern` in the child's stdout. */
function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d;
      const m = pattern.exec(seen);
      if (m) {
        child.stdout?.off('data', onData);
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.once('close', () => reject(new Error(`exited before printing ${pattern}; saw ${JSON.stringify(seen)}`)));
  });
}

function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

const SPDY_EXEC = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };

describe('kubectl exec', () => {
  test('prints the command output over WebSocket v5.channel.k8s.io', async () => {
    const before = transports.length;
    const r = await kubectl(['exec', 'web', '--', 'echo', 'hello']);
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(transports.slice(before), ['exec:websocket']);
    assert.deepEqual(seenOptions.at(-1), {
      command: ['echo', 'hello'],
      container: 'main',
      stdin: false,
      stdout: true,
      stderr: true,
      tty: false,
    });
  });

  test('keeps stdout and stderr apart', async () => {
    const r = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.code, 0);
  });

  test('a non-zero exit prints "command terminated with exit code 3" and exits 3', async () => {
    const r = await kubectl(['exec', 'web', '--', 'sh', '-c', 'exit 3']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^command terminated with exit code 3$/m);
  });

  test('-i feeds stdin to the command until EOF (v5 close of channel 0)', async () => {
    const r = await kubectl(['exec', '-i', 'web', '--', 'cat'], { input: 'abc\nxyz\n' });
    assert.equal(r.stdout, 'abc\nxyz\n');
    assert.equal(r.code, 0, r.stderr);
  });

  test('a command that cannot start is reported as an error', async () => {
    const r = await kubectl(['exec', 'web', '--', '/nonexistent/binary']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ENOENT/);
  });

  test('works over the SPDY/3.1 fallback (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)', async () => {
    const before = transports.length;
    const r = await kubectl(['exec', 'web', '--', 'echo', 'via spdy'], { env: SPDY_EXEC });
    assert.equal(r.stdout, 'via spdy\n');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(transports.slice(before), ['exec:spdy/3.1']);
  });

  test('SPDY: stdin, stderr and the exit code', async () => {
    const cat = await kubectl(['exec', '-i', 'web', '--', 'cat'], { input: 'over spdy\n', env: SPDY_EXEC });
    assert.equal(cat.stdout, 'over spdy\n');
    assert.equal(cat.code, 0, cat.stderr);
    const fail = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo e >&2; exit 7'], { env: SPDY_EXEC });
    assert.equal(fail.code, 7);
    assert.match(fail.stderr, /^e$/m);
    assert.match(fail.stderr, /^command terminated with exit code 7$/m);
  });
});

describe('interactive sessions through a pseudo-terminal', () => {
  async function drive(args: string[], steps: { expect: string; send?: string }[], env: Record<string, string> = {}) {
    const child = start('python3', [PTYDRIVE, 'kubectl', ...kubectlArgs(args)], { ...env, PTY_STEPS: JSON.stringify(steps) });
    child.stdin?.end();
    return finished(child);
  }

  test('kubectl exec -it runs an interactive shell, resizes it and reports its exit code', async () => {
    const before = resizes.length;
    const r = await drive(
      ['exec', '-it', 'shell', '--', 'sh'],
      [
        { expect: '', send: 'echo $((6*7))-answer\r' },
        { expect: '42-answer', send: 'exit 5\r' },
      ],
    );
    assert.match(r.stdout, /42-answer/);
    assert.match(r.stdout, /command terminated with exit code 5/);
    assert.equal(r.code, 5, r.stderr);
    assert.deepEqual(resizes.slice(before)[0], { width: 100, height: 30 });
    assert.equal(seenOptions.at(-1)?.tty, true);
  });

  test('kubectl exec -it over SPDY', async () => {
    const r = await drive(
      ['exec', '-it', 'shell', '--', 'sh'],
      [
        { expect: '', send: 'echo spdy-$((2+3))\r' },
        { expect: 'spdy-5', send: 'exit\r' },
      ],
      SPDY_EXEC,
    );
    assert.match(r.stdout, /spdy-5/);
    assert.equal(r.code, 0, r.stderr);
  });

  test('kubectl attach -it connects to the container terminal', async () => {
    const before = transports.length;
    const r = await drive(
      ['attach', '-it', 'shell'],
      [
        { expect: "If you don't see a command prompt, try pressing enter.", send: '\r' },
        { expect: '', send: 'echo attached-$((1+1))\r' },
        { expect: 'attached-2', send: 'exit\r' },
      ],
    );
    assert.match(r.stdout, /attached-2/);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(transports.slice(before), ['attach:websocket']);
    assert.deepEqual(seenOptions.at(-1), { command: [], container: 'main', stdin: true, stdout: true, stderr: false, tty: true });
  });
});

describe('kubectl port-forward', () => {
  async function forward(target: string, env: Record<string, string> = {}) {
    const child = start('kubectl', kubectlArgs(['port-forward', 'pod/web', `:${target}`]), env);
    const m = await waitForOutput(child, /Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/);
    return { child, port: Number(m[1]) };
  }

  for (const [name, env, transport] of [
    ['WebSocket-tunnelled SPDY', {}, 'portforward:websocket'],
    ['SPDY fallback (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, 'portforward:spdy/3.1'],
  ] as const) {
    test(`${name}: concurrent connections reach the pod port`, async () => {
      const before = transports.length;
      const { child, port } = await forward('80', env);
      try {
        const paths = ['/a', '/b', '/c', '/d', '/e'];
        const bodies = await Promise.all(paths.map((p) => httpGet(port, p)));
        assert.deepEqual(
          bodies,
          paths.map((p) => `pod says ${p}`),
        );
        assert.equal(await httpGet(port, '/again'), 'pod says /again');
        assert.ok(
          transports.slice(before).every((t) => t === transport),
          transports.slice(before).join(','),
        );
      } finally {
        child.kill('SIGTERM');
        await once(child, 'close');
      }
    });
  }

  test('a refused pod port is reported on the error stream', async () => {
    const { child, port } = await forward('81');
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    try {
      await httpGet(port, '/').catch(() => '');
      await new Promise<void>((resolve) => {
        const check = () => (/connection refused/.test(stderr) ? resolve() : child.stderr?.once('data', check));
        check();
      });
      assert.match(stderr, /error forwarding port 81 to pod web, uid : dial tcp4 127\.0\.0\.1:81: connect: connection refused/);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close').catch(() => {});
    }
  });
});

describe('kubectl logs', () => {
  test('prints the container log', async () => {
    const r = await kubectl(['logs', 'web']);
    assert.equal(r.stdout, 'line one\nline two\nline three\n');
    assert.equal(r.code, 0, r.stderr);
  });

  test('--tail and --timestamps', async () => {
    const tail = await kubectl(['logs', 'web', '--tail=2']);
    assert.equal(tail.stdout, 'line two\nline three\n');
    const stamped = await kubectl(['logs', 'web', '--tail=1', '--timestamps']);
    assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line three\n$/);
  });

  test('--limit-bytes and --since', async () => {
    const limited = await kubectl(['logs', 'web', '--limit-bytes=12']);
    assert.equal(limited.stdout, 'line one\nlin');
    const recent = await kubectl(['logs', 'web', '--since=10s']);
    assert.equal(recent.stdout, '');
  });

  test('-f prints appended lines as they are written', async () => {
    const child = start('kubectl', kubectlArgs(['logs', '-f', 'web', '--tail=1']));
    try {
      await waitForOutput(child, /line three\n/);
      const writer = new CriLogWriter(logPath);
      writer.write('stdout', 'appended ');
      writer.write('stdout', 'line\n');
      await writer.close();
      await waitForOutput(child, /appended line\n/);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
  });
});

/**
 * Network programming latency, end to end (issue 5): how long after a real pod turns Ready the
 * first request through its Service's cluster IP succeeds, in a real `svcnet up --nodes 2`
 * cluster already carrying 1,000 other Services, for each proxy mode.
 *
 * - Background load: N selectorless Services, each with an EndpointSlice of 3 endpoints (addresses
 *   in the pod CIDR that nothing answers on), so every proxy programs N Services × 3 endpoints.
 * - Each sample: a fresh Service `lat-<i>` and a real agnhost pod pinned to node-2 (readiness
 *   probe on /readyz, period 1 s). A prober in node-1's namespace sends GETs to the cluster IP
 *   every 2 ms (each on a new connection; the Service rejects them until it has an endpoint).
 *   Latency = first successful answer − the moment a watch on the pod delivers Ready=True (the
 *   kubelet writes lastTransitionTime with one-second precision, so the watch is the clock; it
 *   runs in the same sandbox, a few ms behind the agent's write).
 * - Samples follow each other as fast as pods start, so syncs also meet the proxy's
 *   --min-sync-period (1 s, kube-proxy's default) as they would under real churn.
 *
 * Everything runs in a sandbox (its own network, mount and pid namespaces): the bench re-executes
 * itself inside one.
 *
 *     node --import tsx bench/proxy/latency.bench.ts [modes=iptables,nftables,userspace] [services=1000] [samples=40]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HttpClient } from '../../src/client/http.js';
import { R } from '../../src/client/types.js';
import { loadKubeconfig } from '../../src/cluster/kubeconfig.js';
import { runNodeInSandbox } from '../../test/helpers/sandbox.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const INNER = 'SVCNET_LATENCY_BENCH_INNER';
const PROBER = 'SVCNET_LATENCY_BENCH_PROBER';

const modes = (process.argv[2] ?? 'iptables,nftables,userspace').split(',');
const serviceCount = Number(process.argv[3] ?? 1000);
const samples = Number(process.argv[4] ?? 40);

/** One mode's result. */
interface ModeResult {
  mode: string;
  services: number;
  /** Seconds from creating the N Services until node-1 forwards to a Service created after them. */
  bulkProgramSeconds: number;
  latenciesMs: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}${out}`))));
    child.stdin.end(input ?? '');
  });
}

/** Creates the N background Services with their EndpointSlices (20 requests in flight). */
async function createBackground(client: HttpClient, n: number): Promise<void> {
  const createOne = async (i: number) => {
    const name = `bg-${i}`;
    await client.create(
      R.services,
      { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } } as never,
      { namespace: 'default' },
    );
    await client.create(
      R.endpointslices,
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [0, 1, 2].map((k) => ({ addresses: [`10.244.${100 + k * 40 + (i >> 8)}.${i & 255}`], conditions: { ready: true } })),
      } as never,
      { namespace: 'default' },
    );
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < n) await createOne(next++);
    }),
  );
}

function probePod(name: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name } },
    spec: {
      nodeName: 'node-2',
      containers: [
        {
          name: 'agnhost',
          image: 'registry.k8s.io/e2e-test-images/agnhost:2.53',
          args: ['netexec', '--http-port=8080'],
          readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

/**
 * The prober, in node-1's namespace: reads `<url>` lines, GETs each every 2 ms until one answers
 * 200, and prints `<url> <epoch ms>` for the first success.
 */
async function prober(): Promise<void> {
  const get = (url: string) =>
    new Promise<boolean>((resolve) => {
      const req = http.get(url, { agent: false, timeout: 200 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
  for await (const url of createInterface({ input: process.stdin })) {
    void (async () => {
      for (;;) {
        if (await get(url)) {
          process.stdout.write(`${url} ${Date.now()}\n`);
          return;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
  }
}

/** Starts the prober in node-1's namespace; `wait(url)` resolves with the first success time. */
function startProber(): { wait(url: string): Promise<number>; stop(): void } {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', 'svcnet-node-1', process.execPath, '--import', 'tsx', SELF], {
    cwd: ROOT,
    env: { ...process.env, [PROBER]: '1', [INNER]: '' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const pending = new Map<string, (t: number) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [url, t] = line.split(' ');
    pending.get(url!)?.(Number(t));
    pending.delete(url!);
  });
  return {
    wait: (url) =>
      new Promise((resolve) => {
        pending.set(url, resolve);
        child.stdin!.write(`${url}\n`);
      }),
    stop: () => child.kill('SIGKILL'),
  };
}

async function measureMode(mode: string): Promise<ModeResult> {
  const root = mkdtempSync(join(tmpdir(), `svcnet-latency-${mode}-`));
  const dataDir = join(root, 'data');
  const env = { ...process.env, KUBECONFIG: join(dataDir, 'kubeconfig'), HOME: join(root, 'home') };
  const svcnet = (...args: string[]) => run(process.execPath, [join(ROOT, 'bin/svcnet.js'), ...args], env);
  const kubectl = (args: readonly string[], input?: string) => run('kubectl', args, env, input);
  let proberHandle: ReturnType<typeof startProber> | undefined;
  try {
    await svcnet('up', '--nodes', '2', '--proxy-mode', mode, '--data-dir', dataDir, '--port', '0');
    const creds = loadKubeconfig(env.KUBECONFIG);
    const client = new HttpClient(creds);
    for (let i = 0; ; i++) {
      const nodes = await kubectl(['get', 'nodes', '--no-headers']);
      if ((nodes.match(/ Ready /g) ?? []).length === 2) break;
      if (i > 200) throw new Error(`nodes not Ready: ${nodes}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    proberHandle = startProber();
    const prober = proberHandle;

    // Background Services; done once node-1 forwards to a Service created after all of them.
    const bulkStart = Date.now();
    await createBackground(client, serviceCount);
    const warm = await createSample(client, 'lat-warmup');
    await waitReady(client, 'lat-warmup');
    await prober.wait(warm);
    const bulkProgramSeconds = (Date.now() - bulkStart) / 1000;

    const latenciesMs: number[] = [];
    for (let i = 0; i < samples; i++) {
      const name = `lat-${i}`;
      const url = await createSample(client, name);
      const [readyAt, reachedAt] = await Promise.all([waitReady(client, name), prober.wait(url)]);
      latenciesMs.push(reachedAt - readyAt);
    }
    return { mode, services: serviceCount, bulkProgramSeconds, latenciesMs };
  } finally {
    proberHandle?.stop();
    await svcnet('down', '--data-dir', dataDir).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}

/** Creates Service + pod `name`; resolves with the URL of the Service's cluster IP. */
async function createSample(client: HttpClient, name: string): Promise<string> {
  const svc = await client.create(
    R.services,
    { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } },
    { namespace: 'default' },
  );
  await client.create(R.pods, probePod(name) as never, { namespace: 'default' });
  return `http://${(svc as { spec?: { clusterIP?: string } }).spec?.clusterIP}/hostname`;
}

/** Resolves with the time a watch delivers the pod as Ready. */
async function waitReady(client: HttpClient, name: string): Promise<number> {
  const isReady = (pod: { status?: { conditions?: { type: string; status: string }[] } }) =>
    pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const stream = await client.watch(R.pods, { namespace: 'default', fieldSelector: `metadata.name=${name}` });
  try {
    for await (const event of stream) {
      if (isReady(event.object as never)) return Date.now();
    }
    throw new Error(`watch on pod ${name} ended before it was Ready`);
  } finally {
    stream.close();
  }
}

function table(results: readonly ModeResult[]): string {
  const rows = results.map((r) => {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const cells = [50, 90, 99].map((p) => `${percentile(sorted, p)} ms`);
    return `| ${r.mode} | ${r.services} | ${r.bulkProgramSeconds.toFixed(1)} s | ${sorted.length} | ${cells.join(' | ')} | ${sorted.at(0)}–${sorted.at(-1)} ms |`;
  });
  return [
    `| mode | Services | ${serviceCount} Services programmed | samples | p50 | p90 | p99 | min–max |`,
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (process.env[PROBER]) {
  await prober();
} else if (process.env[INNER]) {
  const results: ModeResult[] = [];
  for (const mode of modes) {
    const result = await measureMode(mode);
    results.push(result);
    process.stdout.write(`${mode}: ${JSON.stringify(result.latenciesMs)}\n`);
  }
  process.stdout.write(`\n${table(results)}\n`);
} else {
  const started = loadavg()[0]!.toFixed(1);
  process.stdout.write(
    `network programming latency (pod Ready → first answer through its Service), ${serviceCount} background Services, ` +
      `${samples} samples per mode, ${cpus().length} cores, load average ${started}\n`,
  );
  const r = await runNodeInSandbox(SELF, process.argv.slice(2), { env: { [INNER]: '1' }, timeoutMs: 30 * 60_000 });
  process.stdout.write(r.stdout);
  if (r.code !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
}

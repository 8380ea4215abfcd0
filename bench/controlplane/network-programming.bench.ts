/**
 * Control-plane network-programming latency and convergence, measured as a node's proxy would see
 * it: `svcnet up --foreground` runs as its own process (SQLite store, controllers, simulated
 * nodes) and this process talks to it over HTTPS only.
 *
 * 1. Convergence: from an empty cluster, create N Services and N×P pods (pods pinned to simulated
 *    nodes) and time until a watcher has seen, for every Service, EndpointSlices with P ready
 *    endpoints.
 * 2. Latency: flip one pod at a time NotReady → Ready with the `svcnet.io/sim-ready` annotation;
 *    one watcher on pods and one on EndpointSlices (both HTTPS) record when the pod is seen Ready
 *    and when an EndpointSlice first shows its address ready. Reports p50/p99 of the difference.
 *
 *   node --import tsx bench/controlplane/network-programming.bench.ts [--services 1000] [--pods 10] [--samples 200]
 *
 * Profile the server with SVCNET_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject, WatchEvent } from '../../src/api/meta.js';
import { HttpClient } from '../../src/client/http.js';
import { R } from '../../src/client/types.js';
import { loadKubeconfig } from '../../src/cluster/kubeconfig.js';

const SVCNET = join(import.meta.dirname, '..', '..', 'bin', 'svcnet.js');
const NS = 'bench';
const SIM_READY = 'svcnet.io/sim-ready';
/** Pods per simulated node: a node's /24 pod CIDR has 253 usable addresses. */
const PODS_PER_NODE = 250;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const SERVICES = arg('services', 1000);
const PODS = arg('pods', 10);
const SAMPLES = arg('samples', 200);
const CONCURRENCY = arg('concurrency', 32);
const NODES = Math.ceil((SERVICES * PODS) / PODS_PER_NODE);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function runConcurrent(total: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) await op(i);
    }),
  );
}

const svcName = (i: number) => `svc-${i}`;

function service(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: svcName(i), namespace: NS },
    spec: { selector: { app: svcName(i) }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

function pod(i: number): KubeObject {
  const s = Math.floor(i / PODS);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${svcName(s)}-${i % PODS}`, namespace: NS, labels: { app: svcName(s) } },
    spec: {
      nodeName: `node-${(i % NODES) + 1}`,
      containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 8080, name: 'http' }] }],
    },
  };
}

interface Slice extends KubeObject {
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; targetRef?: { name?: string } }[];
}

const podReady = (p: KubeObject) =>
  (p.status?.conditions as { type: string; status: string }[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Consumes a watch in the background, calling `on` for each event. */
function follow<T extends KubeObject>(stream: AsyncIterable<WatchEvent<T>>, on: (ev: WatchEvent<T>) => void): Promise<void> {
  return (async () => {
    try {
      for await (const ev of stream) on(ev);
    } catch {
      // closed
    }
  })();
}

async function startSvcnet(dataDir: string): Promise<{ child: ChildProcess; client: HttpClient }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.SVCNET_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      SVCNET,
      'up',
      '--foreground',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--simulated-nodes',
      String(NODES),
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: `--max-old-space-size=8192 ${process.env.SVCNET_NODE_OPTIONS ?? ''}` },
    },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      log += d;
      if (log.includes('API server listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`svcnet exited (${code}): ${log}`)));
  });
  child.stderr!.on('data', (d: string) => process.stderr.write(d));
  return { child, client: new HttpClient(loadKubeconfig(join(dataDir, 'kubeconfig'))) };
}

function rssMB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

const root = mkdtempSync(join(tmpdir(), 'svcnet-bench-cp-'));
const rows: [string, string][] = [];
const { child, client } = await startSvcnet(join(root, 'data'));
try {
  // Wait for the simulated nodes to register.
  for (;;) {
    const nodes = await client.list(R.nodes);
    if (nodes.items.length >= NODES) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ns = await client.create<KubeObject>(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });

  // Ready endpoints per Service, as a watcher of EndpointSlices sees them.
  const sliceReady = new Map<string, number>();
  const readyBySvc = new Map<string, number>();
  let convergedServices = 0;
  let onConverged: (() => void) | undefined;
  /** Sample pod name → time its address was first seen ready in a slice (during the latency phase). */
  const sliceSeen = new Map<string, number>();
  let sampling: Set<string> | undefined;
  const slices = await client.watch<Slice>(R.endpointslices, { namespace: NS, resourceVersion: ns.metadata.resourceVersion });
  const slicesDone = follow(slices, (ev) => {
    const now = performance.now();
    const s = ev.object;
    const svc = s.metadata.labels?.['kubernetes.io/service-name'];
    if (!svc || ev.type === 'BOOKMARK' || ev.type === 'ERROR') return;
    const ready = ev.type === 'DELETED' ? 0 : (s.endpoints ?? []).filter((e) => e.conditions?.ready).length;
    const before = readyBySvc.get(svc) ?? 0;
    const total = before - (sliceReady.get(s.metadata.name ?? '') ?? 0) + ready;
    sliceReady.set(s.metadata.name ?? '', ready);
    readyBySvc.set(svc, total);
    if (before < PODS && total >= PODS && ++convergedServices === SERVICES) onConverged?.();
    if (sampling) {
      for (const e of s.endpoints ?? []) {
        const name = e.targetRef?.name;
        if (name && e.conditions?.ready && sampling.has(name) && !sliceSeen.has(name)) sliceSeen.set(name, now);
      }
    }
  });

  const converged = new Promise<void>((resolve) => {
    onConverged = resolve;
  });
  const t0 = performance.now();
  await runConcurrent(SERVICES, CONCURRENCY, (i) => client.create(R.services, service(i)));
  const tServices = performance.now();
  process.stderr.write(`${SERVICES} Services created in ${((tServices - t0) / 1000).toFixed(1)} s\n`);
  await runConcurrent(SERVICES * PODS, CONCURRENCY, (i) => client.create(R.pods, pod(i)));
  const tPods = performance.now();
  process.stderr.write(`${SERVICES * PODS} pods created in ${((tPods - tServices) / 1000).toFixed(1)} s (load ${load()})\n`);
  const progress = setInterval(
    () => process.stderr.write(`  ${convergedServices}/${SERVICES} Services converged (load ${load()})\n`),
    10_000,
  );
  await converged;
  clearInterval(progress);
  const tConverged = performance.now();
  rows.push([
    `converge ${SERVICES} Services × ${PODS} pods from empty (${NODES} simulated nodes)`,
    `${((tConverged - t0) / 1000).toFixed(1)} s (Services created in ${((tServices - t0) / 1000).toFixed(1)} s, pods in ${((tPods - tServices) / 1000).toFixed(1)} s; load ${load()})`,
  ]);
  rows.push(['svcnet RSS after convergence', `${rssMB(child.pid!).toFixed(0)} MB`]);

  // Latency: one pod at a time, NotReady → Ready.
  const podSeenReady = new Map<string, number>();
  const podSeenUnready = new Set<string>();
  sampling = new Set();
  const podsNow = (await client.list(R.pods, { namespace: NS, limit: 1 })).metadata.resourceVersion;
  const pods = await client.watch(R.pods, { namespace: NS, resourceVersion: podsNow });
  const podsDone = follow(pods, (ev) => {
    const name = ev.object.metadata.name ?? '';
    if (!sampling?.has(name)) return;
    if (!podReady(ev.object)) podSeenUnready.add(name);
    else if (podSeenUnready.has(name) && !podSeenReady.has(name)) podSeenReady.set(name, performance.now());
  });
  const until = async (cond: () => boolean) => {
    const deadline = Date.now() + 30_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  const latencies: number[] = [];
  /** From sending the readiness flip (the simulated kubelet still has to write the pod status). */
  const endToEnd: number[] = [];
  const loadStart = load();
  for (let k = 0; k < SAMPLES; k++) {
    const i = Math.floor((k / SAMPLES) * SERVICES * PODS);
    const name = pod(i).metadata.name ?? '';
    sampling.add(name);
    await client.patch(R.pods, name, 'merge', { metadata: { annotations: { [SIM_READY]: 'false' } } }, { namespace: NS });
    await until(() => podSeenUnready.has(name));
    // The slice shows the pod not ready before it is flipped back, so "first ready" is the new one.
    await until(() => readyBySvc.get(svcName(Math.floor(i / PODS)))! < PODS);
    const flippedAt = performance.now();
    await client.patch(R.pods, name, 'merge', { metadata: { annotations: { [SIM_READY]: 'true' } } }, { namespace: NS });
    await until(() => sliceSeen.has(name) && podSeenReady.has(name));
    latencies.push(sliceSeen.get(name)! - podSeenReady.get(name)!);
    endToEnd.push(sliceSeen.get(name)! - flippedAt);
  }
  latencies.sort((a, b) => a - b);
  endToEnd.sort((a, b) => a - b);
  rows.push([
    `network programming latency, pod Ready → EndpointSlice seen (${SERVICES} Services × ${PODS} pods, ${SAMPLES} samples)`,
    `p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms (load ${loadStart} → ${load()})`,
  ]);
  rows.push([
    'readiness flip sent (PATCH sim-ready=true) → EndpointSlice seen, incl. the simulated kubelet',
    `p50 ${pct(endToEnd, 50).toFixed(1)} ms, p99 ${pct(endToEnd, 99).toFixed(1)} ms, max ${endToEnd[endToEnd.length - 1].toFixed(1)} ms`,
  ]);
  slices.close();
  pods.close();
  await Promise.all([slicesDone, podsDone]);
} finally {
  client.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(root, { recursive: true, force: true });
}

const w = Math.max(...rows.map(([k]) => k.length));
console.log(`\nControl plane over HTTPS (svcnet up --foreground, SQLite store, simulated nodes), ${new Date().toISOString()}`);
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);

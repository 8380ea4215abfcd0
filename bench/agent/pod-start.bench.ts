/**
 * Pod start latency on real nodes: `svcnet up --nodes N` inside a test sandbox (its own network,
 * mount and PID namespaces), then pods of the builtin nginx image created through the API over
 * HTTPS, as `kubectl apply` would. For each pod it records, from the moment its create request
 * is sent:
 * - Ready: a pods watch shows the Ready condition True (the scheduler bound it, the agent made the
 *   sandbox, started the container and wrote the status);
 * - HTTP: the first answer of `GET http://<podIP>/` from the sandbox's host namespace (Ready
 *   comes first when a pod has no readiness probe: the server may not listen yet).
 * Scenarios: 1 pod at a time (many rounds), 10 and 100 pods at once; with 100 pods running, the
 * agent's RSS (VmRSS of each agent process) and the summed RSS of the container processes. Then
 * `kubectl apply -f examples/deploy-nginx.yaml` until 3 pods are Ready and answer.
 * The agents' own per-pod timings (log lines "pod … started in …") give the breakdown.
 *
 *   node --import tsx bench/agent/pod-start.bench.ts [--nodes 1,3] [--rounds 15] [--root DIR]
 *
 * `--root` runs another checkout's bin/svcnet.js (e.g. a build before a change).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { KubeObject, WatchEvent } from '../../src/api/meta.js';
import { HttpClient } from '../../src/client/http.js';
import { R } from '../../src/client/types.js';
import { loadKubeconfig } from '../../src/cluster/kubeconfig.js';
import { runNodeInSandbox } from '../../test/helpers/sandbox.js';

const INSIDE = '--inside-sandbox';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

const ROOT = resolve(arg('root', join(import.meta.dirname, '..', '..')));
const ROUNDS = Number(arg('rounds', '15'));
const NS = 'default';

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} ms` : '–');

interface Sample {
  ready: number;
  http: number;
}

function summary(samples: readonly Sample[]): string {
  const ready = samples.map((s) => s.ready).sort((a, b) => a - b);
  const web = samples.map((s) => s.http).sort((a, b) => a - b);
  return `| ${ms(pct(ready, 50))} | ${ms(pct(ready, 99))} | ${ms(pct(web, 50))} | ${ms(pct(web, 99))} |`;
}

/** `GET http://ip/` until it answers; resolves with the time it first did. */
async function firstAnswer(ip: string, deadline: number): Promise<number> {
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const req = http.get({ host: ip, port: 80, path: '/', timeout: 1000 }, (res) => {
        res.resume();
        done(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => done(false));
    });
    if (ok) return performance.now();
    if (Date.now() > deadline) throw new Error(`no HTTP answer from ${ip}`);
    await new Promise((r) => setTimeout(r, 3));
  }
}

type Pod = KubeObject & {
  spec?: { nodeName?: string };
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
};
const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Follows pods in the namespace, resolving per-name waits for Ready (with the IP) and for deletion. */
class PodWatch {
  private readonly readyWaiters = new Map<string, (pod: Pod) => void>();
  private readonly goneWaiters = new Map<string, () => void>();
  private readonly seenReady = new Map<string, Pod>();
  private readonly prefixWaiters: { prefix: string; count: number; done: (pods: Pod[]) => void; at: Map<string, number> }[] = [];
  readonly readyAt = new Map<string, number>();

  constructor(stream: AsyncIterable<WatchEvent<Pod>>) {
    void (async () => {
      try {
        for await (const ev of stream) this.on(ev);
      } catch {
        // closed
      }
    })();
  }

  private on(ev: WatchEvent<Pod>): void {
    const now = performance.now();
    const name = ev.object.metadata?.name ?? '';
    if (ev.type === 'DELETED') {
      this.seenReady.delete(name);
      this.goneWaiters.get(name)?.();
      this.goneWaiters.delete(name);
      return;
    }
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') return;
    if (!isReady(ev.object) || this.seenReady.has(name)) return;
    this.seenReady.set(name, ev.object);
    this.readyAt.set(name, now);
    this.readyWaiters.get(name)?.(ev.object);
    this.readyWaiters.delete(name);
    for (const w of this.prefixWaiters) {
      if (!name.startsWith(w.prefix)) continue;
      w.at.set(name, now);
      if (w.at.size === w.count) w.done([...this.seenReady].filter(([n]) => n.startsWith(w.prefix)).map(([, p]) => p));
    }
  }

  ready(name: string): Promise<Pod> {
    const seen = this.seenReady.get(name);
    if (seen) return Promise.resolve(seen);
    return new Promise((r) => this.readyWaiters.set(name, r));
  }

  gone(name: string): Promise<void> {
    return new Promise((r) => this.goneWaiters.set(name, r));
  }

  /** Resolves when `count` pods whose names start with `prefix` have become Ready. */
  readyWithPrefix(prefix: string, count: number): { promise: Promise<Pod[]>; at: Map<string, number> } {
    const at = new Map<string, number>();
    const promise = new Promise<Pod[]>((done) => this.prefixWaiters.push({ prefix, count, done, at }));
    return { promise, at };
  }
}

function nginxPod(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { bench: 'pod-start' } },
    spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }] },
  };
}

async function runConcurrent(total: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      for (let i = next++; i < total; i = next++) await op(i);
    }),
  );
}

/** Host PIDs (of this PID namespace) → parent PID. */
function processTree(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  return parents;
}

/** A memory figure of a process in KB: `VmRSS`/`RssAnon`/`RssFile` from /proc/<pid>/status, or `Pss` from smaps_rollup. */
function memKB(pid: number, field: 'VmRSS' | 'RssAnon' | 'RssFile' | 'Pss' = 'VmRSS'): number {
  try {
    const file = field === 'Pss' ? `/proc/${pid}/smaps_rollup` : `/proc/${pid}/status`;
    return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(file, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
const rssKB = (pid: number) => memKB(pid);

/** RSS of each agent, and of all processes below the agents (the containers). */
function memory(agentPids: readonly number[]): {
  agentsMB: number[];
  agentsAnonMB: number[];
  agentsFileMB: number[];
  containersMB: number;
  containersPssMB: number;
  containerProcesses: number;
} {
  const parents = processTree();
  const below = (pid: number): number[] => [...parents].filter(([, ppid]) => ppid === pid).flatMap(([child]) => [child, ...below(child)]);
  const descendants = agentPids.flatMap(below);
  return {
    agentsMB: agentPids.map((p) => rssKB(p) / 1024),
    agentsAnonMB: agentPids.map((p) => memKB(p, 'RssAnon') / 1024),
    // File-backed: mostly node's own code pages, shared with every other node process.
    agentsFileMB: agentPids.map((p) => memKB(p, 'RssFile') / 1024),
    containersMB: descendants.reduce((sum, p) => sum + rssKB(p), 0) / 1024,
    // Proportional set size: shared pages (node's code) split among the processes sharing them.
    containersPssMB: descendants.reduce((sum, p) => sum + memKB(p, 'Pss'), 0) / 1024,
    containerProcesses: descendants.length,
  };
}

/** CPU seconds of a process: its own, and that of its children it has reaped (short-lived helpers: CNI plugins, `ip`, `mount`). */
function cpuSeconds(pid: number): { own: number; sys: number; reaped: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // Fields 14–17 of /proc/<pid>/stat (utime, stime, cutime, cstime) are at 11–14 after the command name.
    return { own: (f[11]! + f[12]!) / 100, sys: f[12]! / 100, reaped: (f[13]! + f[14]!) / 100 };
  } catch {
    return { own: 0, sys: 0, reaped: 0 };
  }
}

/** CPU used so far by each part of the cluster. */
function cpuByComponent(apiServerPid: number, agentPids: readonly number[], proxyPids: readonly number[]): Map<string, number> {
  const parents = processTree();
  const below = (pid: number): number[] => [...parents].filter(([, ppid]) => ppid === pid).flatMap(([child]) => [child, ...below(child)]);
  const sum = (pids: readonly number[], pick: (c: { own: number; sys: number; reaped: number }) => number) =>
    pids.reduce((total, p) => total + pick(cpuSeconds(p)), 0);
  return new Map([
    ['API server + controllers', sum([apiServerPid], (c) => c.own)],
    ['agent', sum(agentPids, (c) => c.own)],
    ['agent helpers (CNI, ip, nsenter, mount…)', sum(agentPids, (c) => c.reaped)],
    // A container's own time covers nsenter, unshare and sh before they exec its command (same PID);
    // what sh started and reaped (mount, mkdir, hostname) is its init.
    ['containers (processes)', sum(agentPids.flatMap(below), (c) => c.own)],
    ['of which in the kernel', sum(agentPids.flatMap(below), (c) => c.sys)],
    ['containers (init: mount, hostname…)', sum(agentPids.flatMap(below), (c) => c.reaped)],
    ['proxy (+ iptables)', sum(proxyPids, (c) => c.own + c.reaped)],
  ]);
}

/** CPU per component between two readings, in all and per pod. */
function cpuDelta(before: Map<string, number>, after: Map<string, number>, pods: number): string {
  const parts = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const);
  const total = parts.filter(([k]) => !k.startsWith('of which')).reduce((sum, [, v]) => sum + v, 0);
  return `${[...parts, ['total', total] as const].map(([k, v]) => `${k} ${v.toFixed(2)} s (${((v / pods) * 1000).toFixed(1)} ms/pod)`).join(', ')}`;
}

/** Per-pod phases the agent logs: "pod ns/name started in 45 ms (sandbox 28 ms, …)". */
function agentBreakdown(dataDir: string, prefix: string): string {
  const phases = new Map<string, number[]>();
  for (const file of readdirSync(join(dataDir, 'logs')).filter((f) => f.endsWith('-agent.log'))) {
    for (const line of readFileSync(join(dataDir, 'logs', file), 'utf8').split('\n')) {
      const m = /pod [^/]+\/(\S+) started in (\d+) ms \(([^)]*)\)/.exec(line);
      if (!m || !m[1]!.startsWith(prefix)) continue;
      const parts: [string, number][] = [['total', Number(m[2])]];
      for (const p of m[3]!.split(', ')) {
        const pm = /^(.+) (\d+) ms$/.exec(p);
        if (pm) parts.push([pm[1]!, Number(pm[2])]);
      }
      for (const [k, v] of parts) phases.set(k, [...(phases.get(k) ?? []), v]);
    }
  }
  if (phases.size === 0) return '';
  return [...phases]
    .map(([k, v]) => {
      const sorted = v.sort((a, b) => a - b);
      return `${k} ${pct(sorted, 50)}/${pct(sorted, 99)}`;
    })
    .join(', ');
}

async function inside(nodes: number): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'svcnet-bench-pods-'));
  const svcnet = join(ROOT, 'bin', 'svcnet.js');
  const out: string[] = [];
  const log = (line: string) => {
    out.push(line);
    process.stderr.write(`${line}\n`);
  };
  const t0 = performance.now();
  const up = spawnSync(process.execPath, [svcnet, 'up', '--nodes', String(nodes), '--data-dir', data, '--port', '0'], {
    encoding: 'utf8',
  });
  if (up.status !== 0) throw new Error(`svcnet up failed: ${up.stderr}`);
  const client = new HttpClient(loadKubeconfig(join(data, 'kubeconfig')));
  try {
    for (;;) {
      const list = await client.list<Pod>(R.nodes);
      if (list.items.filter(isReady).length === nodes) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    process.stderr.write(`${nodes} node(s) Ready ${ms(performance.now() - t0)} after svcnet up started (load ${load()})\n`);
    const run = JSON.parse(readFileSync(join(data, 'run.json'), 'utf8')) as { pid: number; agents: number[] };
    // run.json lists each node's agent and then its proxy.
    const agents = run.agents.filter((_, i) => i % 2 === 0);
    const proxies = run.agents.filter((_, i) => i % 2 === 1);
    const cpu = () => cpuByComponent(run.pid, agents, proxies);
    const rv = (await client.list(R.pods, { namespace: NS, limit: 1 })).metadata.resourceVersion;
    const stream = await client.watch<Pod>(R.pods, { namespace: NS, resourceVersion: rv });
    const watch = new PodWatch(stream);
    /** Deletes the pods (default grace period, as kubectl does) and waits until the API has none left. */
    const deleteAll = async (names: readonly string[]) => {
      await runConcurrent(names.length, 10, (i) => client.delete(R.pods, names[i]!, { namespace: NS }));
      const deadline = Date.now() + 120_000;
      for (;;) {
        const left = (await client.list(R.pods, { namespace: NS, labelSelector: 'bench=pod-start' })).items.length;
        if (left === 0) return;
        if (Date.now() > deadline) throw new Error(`${left} pods still there 120 s after deletion`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    /** Creates `count` pods concurrently; returns per-pod samples and the wall time until every pod answered. */
    const scenario = async (prefix: string, count: number) => {
      const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
      const created = new Map<string, number>();
      const deadline = Date.now() + 120_000;
      const start = performance.now();
      const waits = names.map(async (name) => {
        const pod = await watch.ready(name);
        const answered = await firstAnswer(pod.status?.podIP ?? '', deadline);
        return { name, answered, node: pod.spec?.nodeName ?? '' };
      });
      await runConcurrent(count, 10, async (i) => {
        created.set(names[i]!, performance.now());
        await client.create(R.pods, nginxPod(names[i]!), { namespace: NS });
      });
      const results = await Promise.all(waits);
      const end = performance.now();
      process.stderr.write(`${count} pods (${prefix}) answered in ${ms(end - start)} (load ${load()})\n`);
      const samples: Sample[] = results.map((r) => ({
        ready: watch.readyAt.get(r.name)! - created.get(r.name)!,
        http: r.answered - created.get(r.name)!,
      }));
      const allReady = Math.max(...names.map((n) => watch.readyAt.get(n)!)) - start;
      return { names, samples, allReady, allAnswered: end - start, nodes: new Set(results.map((r) => r.node)).size };
    };

    log(`\n### ${nodes} node${nodes > 1 ? 's' : ''}\n`);
    log('| pods at once | rounds | Ready p50 | Ready p99 | HTTP p50 | HTTP p99 | all Ready | all answer | agent (p50/p99 ms) | load |');
    log('|---|---|---|---|---|---|---|---|---|---|');
    const loadBefore = load();
    // The first pod of a node also creates its cni0 bridge: reported on its own.
    const cold = await scenario('cold', 1);
    log(
      `| 1 (first pod) | 1 ${summary(cold.samples)} ${ms(cold.allReady)} | ${ms(cold.allAnswered)} | ${agentBreakdown(data, 'cold')} | ${loadBefore} |`,
    );
    await deleteAll(cold.names);
    for (const [count, rounds] of [
      [1, ROUNDS],
      [10, Math.max(1, Math.round(ROUNDS / 5))],
    ] as const) {
      const loadStart = load();
      const all: Sample[] = [];
      const allReady: number[] = [];
      const allAnswered: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const s = await scenario(`p${count}-r${r}`, count);
        all.push(...s.samples);
        allReady.push(s.allReady);
        allAnswered.push(s.allAnswered);
        await deleteAll(s.names);
      }
      const med = (v: number[]) =>
        pct(
          [...v].sort((a, b) => a - b),
          50,
        );
      log(
        `| ${count} | ${rounds} ${summary(all)} ${ms(med(allReady))} | ${ms(med(allAnswered))} | ${agentBreakdown(data, `p${count}-`)} | ${loadStart} → ${load()} |`,
      );
    }
    const loadStart = load();
    const cpuBefore = cpu();
    const big = await scenario('p100', 100);
    const cpuUsed = cpuDelta(cpuBefore, cpu(), 100);
    log(
      `| 100 | 1 ${summary(big.samples)} ${ms(big.allReady)} | ${ms(big.allAnswered)} | ${agentBreakdown(data, 'p100')} | ${loadStart} → ${load()} |`,
    );
    // Memory with 100 pods running, once the start-up garbage has had a moment to be collected.
    await new Promise((r) => setTimeout(r, 2000));
    const mem = memory(agents);
    const proxyMB = proxies.map((p) => rssKB(p) / 1024);
    log('');
    log(`CPU used while 100 pods started: ${cpuUsed}.`);
    log('');
    log(
      `With 100 pods running (on ${big.nodes} node${big.nodes > 1 ? 's' : ''}): agent RSS ${mem.agentsMB.map((m, i) => `${m.toFixed(0)} MB (${mem.agentsAnonMB[i]!.toFixed(0)} MB anonymous, ${mem.agentsFileMB[i]!.toFixed(0)} MB file)`).join(', ')} (proxy ${proxyMB.map((m) => `${m.toFixed(0)} MB`).join(', ')}); ` +
        `container processes: ${mem.containerProcesses}, ${mem.containersMB.toFixed(0)} MB RSS in all (${(mem.containersMB / Math.max(1, mem.containerProcesses)).toFixed(1)} MB each), ${mem.containersPssMB.toFixed(0)} MB PSS.`,
    );
    await deleteAll(big.names);
    process.stderr.write(`100 pods deleted (load ${load()})\n`);

    // The functional target: kubectl apply of the tutorial Deployment, 3 pods Ready and answering.
    const env = { ...process.env, KUBECONFIG: join(data, 'kubeconfig') };
    const webui = watch.readyWithPrefix('webui-', 3);
    const applyStart = performance.now();
    const kubectl = spawn('kubectl', ['apply', '-f', join(ROOT, 'examples', 'deploy-nginx.yaml')], { env, stdio: 'ignore' });
    const applied = new Promise((r) => kubectl.once('close', r));
    const pods = await webui.promise;
    const readyTime = Math.max(...webui.at.values()) - applyStart;
    const deadline = Date.now() + 60_000;
    const answered = await Promise.all(pods.map((p) => firstAnswer(p.status?.podIP ?? '', deadline)));
    await applied;
    log(
      `\`kubectl apply -f examples/deploy-nginx.yaml\`: 3 pods Ready in ${ms(readyTime)}, all answering HTTP in ${ms(Math.max(...answered) - applyStart)} ` +
        `(on ${new Set(pods.map((p) => p.spec?.nodeName)).size} node(s); load ${load()}).`,
    );
    stream.close();
  } finally {
    client.close();
    spawnSync(process.execPath, [svcnet, 'down', '--data-dir', data], { stdio: 'ignore' });
    rmSync(data, { recursive: true, force: true });
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

if (process.argv.includes(INSIDE)) {
  await inside(Number(arg('nodes', '1')));
} else {
  const counts = arg('nodes', '1,3').split(',').map(Number);
  console.log(`# Pod start latency (root ${ROOT}, ${new Date().toISOString()}, load ${load()})`);
  for (const nodes of counts) {
    const args = [INSIDE, '--nodes', String(nodes), '--rounds', String(ROUNDS), '--root', ROOT];
    const r = await runNodeInSandbox(import.meta.filename, args, { timeoutMs: 600_000 });
    if (r.code !== 0) {
      process.stderr.write(r.stderr);
      throw new Error(`benchmark with ${nodes} node(s) failed (exit ${r.code})`);
    }
    process.stdout.write(r.stdout);
  }
}

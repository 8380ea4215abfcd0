/**
 * Data-path benchmark (issue 5): requests/s, latency and bulk throughput through a ClusterIP, for
 * the userspace proxier next to HAProxy (TCP mode) and kernel DNAT (iptables mode), on the same
 * backends, measured one after another in the same run. Direct to one backend is the baseline for
 * "added latency".
 *
 * Topology, all inside a sandbox (its own network, mount and pid namespaces; the bench re-executes
 * itself inside one). The sandbox's own namespace is the node; every pod is a netns on a veth pair
 * with its own /24, so all traffic is routed through the node (no bridge, so kernel DNAT needs no
 * br_netfilter and, every address being in the cluster CIDR, no masquerade):
 *
 *     client 10.244.0.2 ──veth── node (forwarder; service IPs 10.96.0.100, .101) ──veth── be1 10.244.1.2
 *                                                                                  ├─veth── be2 10.244.2.2
 *                                                                                  └─veth── be3 10.244.3.2
 *
 * - Service `web` 10.96.0.100:80 → be1..3:8080. Each backend is HAProxy in HTTP mode answering every
 *   request itself (`http-request return`, 2-byte body, keep-alive): a C event loop that does far
 *   more requests/s per core than any Node or Python server, so the backends are not what is measured.
 * - Service `iperf` 10.96.0.101:5201 → be1:5201 only (`iperf3 -s`): an iperf3 test's control and
 *   data connections must all reach the same server, which round robin over 3 would break.
 * - Forwarders: `userspace` (the real UserspaceProxier in its own process, fed a Service and an
 *   EndpointSlice through ProxyState, holding the service IPs on lo as the proxy does, with the
 *   relay it picks by default: native splice when native/tcp-relay is built; its row names the
 *   relay), `userspace-js` and `userspace-copy` (the same with SVCNET_PROXY_RELAY=js, the Node
 *   streams relay, and =copy, the native relay with recv/send instead of splice), `haproxy`
 *   (`mode tcp`, roundrobin, nbthread 1), `iptables` (the rules IptablesProxier generates for the same
 *   Services, applied with iptables-restore), and `direct` (client → be1:8080, routed by the node).
 * - Pinning (2 cores): the forwarder process on core 0 alone; wrk, the iperf3 client and every
 *   backend on core 1 (`taskset -c`). Kernel DNAT runs in softirq on the sending CPU.
 * - wrk: keep-alive, `-t1 -c<connections> -d<seconds>s --latency` after a 2 s warm-up; iperf3:
 *   5 s with 1 and with 4 streams. "forwarder CPU" is the forwarder process's CPU time during the
 *   wrk run, as a share of one core, and "CPU µs/req" that time per request: the forwarder's
 *   efficiency, which stays steady when other work on the machine moves req/s and p99 around.
 * - With rounds > 1 the forwarders take turns (so a noisy moment hits all alike) and the table shows
 *   each figure's median over the rounds.
 *
 *     node --import tsx bench/proxy/throughput.bench.ts [forwarders=direct,haproxy,userspace,iptables] [seconds=10] [connections=32] [rounds=1]
 *
 * (forwarders: any of direct, haproxy, userspace, userspace-js, userspace-copy, iptables)
 *
 * SVCNET_BENCH_CPU_PROF=<dir> runs the userspace proxier with `--cpu-prof` into that directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostRunner } from '../../src/cluster/netns.js';
import { IptablesExecutor } from '../../src/proxy/backends/iptables/executor.js';
import { IptablesProxier } from '../../src/proxy/backends/iptables/proxier.js';
import { LoopbackAddresses } from '../../src/proxy/backends/userspace/addresses.js';
import { UserspaceProxier } from '../../src/proxy/backends/userspace/proxier.js';
import { makeService, makeSlice } from '../../src/proxy/testing.js';
import { ProxyState } from '../../src/proxy/tracker.js';
import { runNodeInSandbox, waitForLine } from '../../test/helpers/sandbox.js';

const loads = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const INNER = 'SVCNET_THROUGHPUT_BENCH_INNER';
const PROXY = 'SVCNET_THROUGHPUT_BENCH_PROXY';
const CPU_PROF = process.env.SVCNET_BENCH_CPU_PROF;

type Forwarder = 'direct' | 'haproxy' | 'userspace' | 'userspace-js' | 'userspace-copy' | 'iptables';
/** The SVCNET_PROXY_RELAY each userspace forwarder runs with (`userspace`: none, the proxier's own choice). */
const USERSPACE_RELAY: Partial<Record<Forwarder, string>> = { userspace: '', 'userspace-js': 'js', 'userspace-copy': 'copy' };
const forwarders = (process.argv[2] ?? 'direct,haproxy,userspace,iptables').split(',') as Forwarder[];
const seconds = Number(process.argv[3] ?? 10);
const connections = Number(process.argv[4] ?? 32);
const rounds = Number(process.argv[5] ?? 1);

const WEB_IP = '10.96.0.100';
const IPERF_IP = '10.96.0.101';
const BACKENDS = [1, 2, 3].map((i) => ({ name: `be${i}`, ip: `10.244.${i}.2` }));
const FORWARDER_CPU = '0';
const WORLD_CPU = '1';

/** The Services and EndpointSlices every forwarder serves, as the proxy's informers would deliver them. */
function proxyState(): ProxyState {
  const state = new ProxyState('node-1');
  state.onService(undefined, makeService('default/web', { clusterIP: WEB_IP, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
  state.onEndpointSlice(
    makeSlice(
      'default/web',
      'web-abcde',
      [{ name: 'http', port: 8080 }],
      BACKENDS.map((b) => b.ip),
    ),
  );
  state.onService(
    undefined,
    makeService('default/iperf', { clusterIP: IPERF_IP, ports: [{ name: 'iperf', port: 5201, protocol: 'TCP' }] }),
  );
  state.onEndpointSlice(makeSlice('default/iperf', 'iperf-abcde', [{ name: 'iperf', port: 5201 }], [BACKENDS[0]!.ip]));
  state.apply();
  return state;
}

const sh = (script: string) => hostRunner(['sh', '-c', script]);

/** Client and backend namespaces, each on its own routed veth pair to the node (this namespace). */
async function buildTopology(): Promise<void> {
  const pods = [{ name: 'client', subnet: 0 }, ...BACKENDS.map((b, i) => ({ name: b.name, subnet: i + 1 }))];
  const lines = ['set -e', 'sysctl -qw net.ipv4.ip_forward=1'];
  for (const { name, subnet } of pods) {
    lines.push(
      `ip netns add ${name}`,
      `ip link add v-${name} type veth peer name eth0 netns ${name}`,
      `ip addr add 10.244.${subnet}.1/24 dev v-${name}`,
      `ip link set v-${name} up`,
      `ip -n ${name} link set lo up`,
      `ip -n ${name} addr add 10.244.${subnet}.2/24 dev eth0`,
      `ip -n ${name} link set eth0 up`,
      `ip -n ${name} route add default via 10.244.${subnet}.1`,
    );
  }
  await sh(lines.join('\n'));
}

const children: ChildProcess[] = [];

/** Starts a long-running process pinned to `cpu`, in netns `ns` (or the node's). */
function start(cpu: string, argv: readonly string[], ns?: string, env?: NodeJS.ProcessEnv): ChildProcess {
  const full = [...(ns ? ['ip', 'netns', 'exec', ns] : []), 'taskset', '-c', cpu, ...argv];
  const child = spawn(full[0]!, full.slice(1), { cwd: ROOT, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  // Drained so a chatty child (iperf3 -s prints every test) never blocks on a full pipe; kept for errors.
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    stderr = (stderr + c).slice(-2000);
  });
  child.on('exit', (code, signal) => {
    if (!stopping.has(child)) process.stderr.write(`${argv[0]} exited early (${code ?? signal}): ${stderr}\n`);
  });
  if (!env) child.stdout!.resume();
  return child;
}

const stopping = new WeakSet<ChildProcess>();

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  stopping.add(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Resolves once something accepts TCP connections on ip:port (from the node's namespace). */
async function waitListening(ip: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: ip, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${ip}:${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function run(argv: readonly string[], ns?: string): Promise<string> {
  return hostRunner([...(ns ? ['ip', 'netns', 'exec', ns] : []), ...argv], { timeoutMs: 120_000 }).then((r) => r.stdout);
}

function writeConfig(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const HAPROXY_DEFAULTS = `global
  nbthread 1
  maxconn 4000
defaults
  timeout connect 2s
  timeout client 60s
  timeout server 60s
`;

async function startBackends(dir: string): Promise<void> {
  for (const b of BACKENDS) {
    // Each answers with its own name, so a check can see the forwarder spread over all three.
    const cfg = writeConfig(
      dir,
      `${b.name}.cfg`,
      `${HAPROXY_DEFAULTS}  mode http
  timeout http-keep-alive 60s
frontend web
  bind :8080
  http-request return status 200 content-type text/plain string ${b.name}
`,
    );
    start(WORLD_CPU, ['haproxy', '-db', '-f', cfg], b.name);
  }
  start(WORLD_CPU, ['iperf3', '-s', '-p', '5201'], BACKENDS[0]!.name);
  for (const b of BACKENDS) await waitListening(b.ip, 8080);
  await waitListening(BACKENDS[0]!.ip, 5201);
}

/** A running forwarder: the process to account CPU to (if any) and how to take it down. */
interface Running {
  pid?: number;
  /** What the forwarder says it is, when more than its name (the userspace proxier's relay). */
  label?: string;
  stop(): Promise<void>;
}

async function startForwarder(kind: Forwarder, dir: string): Promise<Running> {
  switch (kind) {
    case 'direct':
      return { stop: async () => {} };
    case 'haproxy': {
      const cfg = writeConfig(
        dir,
        'forwarder.cfg',
        `${HAPROXY_DEFAULTS}  mode tcp
frontend web
  bind ${WEB_IP}:80
  default_backend web
backend web
  balance roundrobin
${BACKENDS.map((b) => `  server ${b.name} ${b.ip}:8080\n`).join('')}frontend iperf
  bind ${IPERF_IP}:5201
  default_backend iperf
backend iperf
  server ${BACKENDS[0]!.name} ${BACKENDS[0]!.ip}:5201
`,
      );
      // The service IPs on lo, where the userspace proxier holds them too.
      await sh(`ip addr add ${WEB_IP}/32 dev lo && ip addr add ${IPERF_IP}/32 dev lo`);
      const child = start(FORWARDER_CPU, ['haproxy', '-db', '-f', cfg]);
      await waitListening(WEB_IP, 80);
      return {
        pid: child.pid,
        stop: async () => {
          await stop(child);
          await sh(`ip addr del ${WEB_IP}/32 dev lo && ip addr del ${IPERF_IP}/32 dev lo`);
        },
      };
    }
    case 'userspace':
    case 'userspace-js':
    case 'userspace-copy': {
      const nodeArgs = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
      const env: NodeJS.ProcessEnv = { ...process.env, [PROXY]: '1', [INNER]: '' };
      delete env.SVCNET_PROXY_RELAY;
      if (USERSPACE_RELAY[kind]) env.SVCNET_PROXY_RELAY = USERSPACE_RELAY[kind];
      const child = start(FORWARDER_CPU, [process.execPath, ...nodeArgs, '--import', 'tsx', SELF], undefined, env);
      const ready = await waitForLine(child, /^ready /, 30_000);
      return {
        pid: child.pid,
        label: `${kind} (${ready.slice('ready '.length).trim()} relay)`,
        // SIGTERM lets the proxier close (removing its addresses) and --cpu-prof write its profile.
        stop: () => stop(child, 'SIGTERM'),
      };
    }
    case 'iptables': {
      const state = proxyState();
      const proxier = new IptablesProxier(new IptablesExecutor({ run: hostRunner }), { clusterCIDR: '10.244.0.0/16' });
      await proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints);
      return {
        stop: async () => {
          await proxier.sync({ full: true, reason: 'periodic' }, new Map(), new Map());
        },
      };
    }
  }
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** `180.00us` / `1.20ms` / `1.00s` → ms. */
function wrkDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) throw new Error(`unexpected wrk duration ${text}`);
  return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as const)[m[2] as 'us' | 'ms' | 's'];
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: string;
}

async function wrk(url: string, durationS: number): Promise<WrkResult> {
  const out = await run(['taskset', '-c', WORLD_CPU, 'wrk', '-t1', `-c${connections}`, `-d${durationS}s`, '--latency', url], 'client');
  const pct = (p: string) => wrkDuration(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? 'NaNs');
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const errors = [/Socket errors:.*/.exec(out)?.[0], /Non-2xx.*/.exec(out)?.[0]].filter(Boolean).join('; ');
  return { rps, p50: pct('50'), p99: pct('99'), errors };
}

async function iperf(ip: string, streams: number): Promise<number> {
  const out = await run(['taskset', '-c', WORLD_CPU, 'iperf3', '-c', ip, '-p', '5201', '-t', '5', '-P', String(streams), '-J'], 'client');
  return (JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e9;
}

/** Which backends answer 6 fresh connections (checks the forwarder really spreads over all three). */
async function backendsSeen(url: string): Promise<string> {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(await run(['curl', '-sf', url], 'client'));
  return [...seen].sort().join(',');
}

interface Result extends WrkResult {
  forwarder: Forwarder;
  label: string;
  backends: string;
  cpu: number | undefined;
  gbit1: number;
  gbit4: number;
}

async function measure(kind: Forwarder, dir: string): Promise<Result> {
  const running = await startForwarder(kind, dir);
  try {
    const url = kind === 'direct' ? `http://${BACKENDS[0]!.ip}:8080/` : `http://${WEB_IP}/`;
    const iperfIP = kind === 'direct' ? BACKENDS[0]!.ip : IPERF_IP;
    const backends = await backendsSeen(url);
    await wrk(url, 2);
    const cpu0 = running.pid ? cpuSeconds(running.pid) : 0;
    const t0 = performance.now();
    const w = await wrk(url, seconds);
    const cpu = running.pid ? (cpuSeconds(running.pid) - cpu0) / ((performance.now() - t0) / 1000) : undefined;
    const gbit1 = await iperf(iperfIP, 1);
    const gbit4 = await iperf(iperfIP, 4);
    return { forwarder: kind, label: running.label ?? kind, backends, ...w, cpu, gbit1, gbit4 };
  } finally {
    await running.stop();
  }
}

/** Forwarder CPU time per request (µs): its efficiency, steadier than req/s on a busy machine. */
function cpuPerRequest(r: Result): string {
  return r.cpu === undefined ? '—' : ((1e6 * r.cpu) / r.rps).toFixed(1);
}

/** Each figure's median over the rounds (rounds are interleaved, so a noisy moment hits every forwarder alike). */
function medianResult(results: readonly Result[]): Result {
  const median = (pick: (r: Result) => number | undefined) => {
    const v = results
      .map(pick)
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    return v.length ? v[(v.length - 1) >> 1]! : undefined;
  };
  const first = results[0]!;
  return {
    ...first,
    rps: median((r) => r.rps)!,
    p50: median((r) => r.p50)!,
    p99: median((r) => r.p99)!,
    cpu: median((r) => r.cpu),
    gbit1: median((r) => r.gbit1)!,
    gbit4: median((r) => r.gbit4)!,
    errors: [...new Set(results.map((r) => r.errors).filter(Boolean))].join('; '),
  };
}

function table(results: readonly Result[]): string {
  const haproxy = results.find((r) => r.forwarder === 'haproxy');
  const direct = results.find((r) => r.forwarder === 'direct');
  const ms = (v: number) => `${v.toFixed(3)} ms`;
  const rows = results.map((r) =>
    [
      r.label,
      Math.round(r.rps).toLocaleString('en-US'),
      haproxy ? `${((100 * r.rps) / haproxy.rps).toFixed(0)} %` : '—',
      ms(r.p50),
      ms(r.p99),
      direct ? `${r.p99 - direct.p99 >= 0 ? '+' : ''}${ms(r.p99 - direct.p99)}` : '—',
      r.cpu === undefined ? '—' : `${(100 * r.cpu).toFixed(0)} %`,
      cpuPerRequest(r),
      r.gbit1.toFixed(1),
      r.gbit4.toFixed(1),
      r.backends,
      r.errors || '',
    ].join(' | '),
  );
  return [
    '| forwarder | req/s | % of HAProxy | p50 | p99 | added p99 vs direct | forwarder CPU | CPU µs/req | iperf3 1 stream Gbit/s | 4 streams Gbit/s | answered by | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n');
}

/** The userspace proxier process: the real class, synced once, until SIGTERM. */
async function proxyMain(): Promise<void> {
  const state = proxyState();
  const proxier = new UserspaceProxier({ addresses: new LoopbackAddresses(hostRunner) });
  await proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints);
  process.on('SIGTERM', () => {
    void proxier.close().finally(() => process.exit(0));
  });
  process.stdout.write(`ready ${proxier.relay}\n`);
}

if (process.env[PROXY]) {
  await proxyMain();
} else if (process.env[INNER]) {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-throughput-'));
  try {
    await buildTopology();
    await startBackends(dir);
    const all: Result[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const kind of forwarders) {
        const r = await measure(kind, dir);
        all.push(r);
        const cost = r.cpu === undefined ? '' : `, ${cpuPerRequest(r)} CPU µs/req`;
        process.stdout.write(`round ${round + 1} ${r.label}: ${Math.round(r.rps)} req/s, p99 ${r.p99} ms${cost}, load ${loads()}\n`);
      }
    }
    process.stdout.write(`${table(forwarders.map((kind) => medianResult(all.filter((r) => r.forwarder === kind))))}\n`);
  } finally {
    await Promise.all(children.map((c) => stop(c)));
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  process.stdout.write(
    `# data path through a ClusterIP — wrk -t1 -c${connections} -d${seconds}s, iperf3 5 s; ` +
      `${cpus().length} cores, load average at start ${loads()}\n`,
  );
  const r = await runNodeInSandbox(SELF, process.argv.slice(2), { env: { [INNER]: '1' }, timeoutMs: 15 * 60_000 });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.stdout.write(`load average at end ${loads()}\n`);
  if (r.code !== 0) process.exit(1);
}

// Cluster DNS benchmark: our server (one process, pinned to one core; once with the native
// batched UDP path, once with node:dgram), unbound (one thread, same core) serving an equivalent
// cluster.local zone and a bare Node dgram echo, measured side by side with dnsperf, for cluster
// names and for cached external names; then RSS with 10,000 Services / 100,000 endpoints.
//   node --import tsx bench/dns/dns.bench.ts [seconds]
// Needs dnsperf and unbound (scripts/setup.sh bench). Everything listens on 127.0.0.1.
//
// On a shared machine the QPS a server reaches depends on how much of its core it gets, so each
// run also reads the server's CPU time from /proc: queries per CPU-second is what one core of
// our own would do, and the load average is printed beside every run.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BatchUdpStats, ClusterIndex, describeUdpPath, startDnsServer, type UdpMode } from '../../src/dns/index.js';
import { freePort, startFakeUpstream } from '../../test/dns/helpers.js';

const SERVICES = 1000;
const CORE = '0';
const DNSPERF_CORE = '1';

function buildIndex(services: number, endpointsPerService: number): ClusterIndex {
  const index = new ClusterIndex();
  for (let i = 0; i < services; i++) {
    const ns = `ns-${i % 50}`;
    index.upsertService({
      metadata: { name: `svc-${i}`, namespace: ns },
      spec: { clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`, ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
    });
    if (endpointsPerService > 0) {
      index.upsertEndpointSlice({
        metadata: { name: `svc-${i}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
        addressType: 'IPv4',
        endpoints: Array.from({ length: endpointsPerService }, (_, e) => ({
          addresses: [`10.${128 + ((i >> 12) & 63)}.${(i >> 4) & 255}.${((i & 15) << 4) | e}`],
          conditions: { ready: true },
        })),
        ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
      });
    }
  }
  index.markSynced();
  return index;
}

// Child mode: serve, print the port, report RSS on stdin input.
if (process.argv[2] === 'serve') {
  const services = Number(process.argv[3]);
  const endpoints = Number(process.argv[4]);
  const upstreamPort = Number(process.argv[5]);
  const udp = process.argv[6] as UdpMode;
  const index = buildIndex(services, endpoints);
  globalThis.gc?.();
  const server = await startDnsServer({
    listen: { host: '127.0.0.1', port: 0 },
    index,
    config: { upstreams: [`127.0.0.1:${upstreamPort}`] },
    udp,
  });
  process.stdout.write(`${JSON.stringify({ port: server.address().port, size: index.size(), udp: describeUdpPath(server.udpPath) })}\n`);
  process.stdin.on('data', () => {
    globalThis.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ rss, heap: heapUsed, udp: server.udpStats() })}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
  // Exit normally on a signal too, so `--cpu-prof` can write its profile.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
} else {
  await main();
}

function lines(child: ChildProcess): AsyncIterator<string> {
  let buf = '';
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  child.stdout?.on('data', (d) => {
    buf += d;
    let i = buf.indexOf('\n');
    while (i >= 0) {
      queue.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
    wake?.();
  });
  return {
    async next() {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      return { value: queue.shift() as string, done: false };
    },
  };
}

async function startOurs(services: number, endpoints: number, upstreamPort: number, udp: UdpMode) {
  const child = spawn(
    'taskset',
    [
      '-c',
      CORE,
      process.execPath,
      '--expose-gc',
      '--import',
      'tsx',
      import.meta.filename,
      'serve',
      String(services),
      String(endpoints),
      String(upstreamPort),
      udp,
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const out = lines(child);
  const { port, udp: path } = JSON.parse((await out.next()).value);
  console.log(`svcnet (${udp}): ${path}`);
  return {
    port: port as number,
    pid: child.pid as number,
    memory: async () => {
      child.stdin?.write('x');
      return JSON.parse((await out.next()).value) as { rss: number; heap: number; udp?: BatchUdpStats };
    },
    stop: async () => {
      child.stdin?.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function startUnbound(dir: string, upstreamPort: number) {
  const port = await freePort();
  const data = Array.from(
    { length: SERVICES },
    (_, i) => `  local-data: "svc-${i}.ns-${i % 50}.svc.cluster.local. 30 IN A 10.96.${(i >> 8) & 255}.${i & 255}"`,
  );
  const conf = join(dir, 'unbound.conf');
  await writeFile(
    conf,
    [
      'server:',
      `  interface: 127.0.0.1@${port}`,
      '  num-threads: 1',
      '  do-daemonize: no',
      '  chroot: ""',
      '  username: ""',
      `  directory: "${dir}"`,
      '  pidfile: ""',
      '  use-syslog: no',
      '  do-not-query-localhost: no',
      '  module-config: "iterator"',
      '  access-control: 127.0.0.0/8 allow',
      '  local-zone: "cluster.local." static',
      ...data,
      'forward-zone:',
      '  name: "example.test."',
      `  forward-addr: 127.0.0.1@${upstreamPort}`,
      'remote-control:',
      '  control-enable: no',
    ].join('\n'),
  );
  const child = spawn('taskset', ['-c', CORE, 'unbound', '-d', '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  // Ready when it answers.
  for (let i = 0; i < 100; i++) {
    const r = await runDnsperf(port, join(dir, 'one.txt'), 1, 0).catch(() => undefined);
    if (r && r.qps > 0 && r.lost === 0) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return { port, pid: child.pid as number, stop: () => child.kill('SIGTERM') };
}

/**
 * The floor of node:dgram: a socket that sends each query straight back with QR set. Whatever a
 * dgram server spends above this per query is its own; the batch path goes below it.
 */
async function startEcho() {
  // (Declared here: the module's top-level await runs main() before later top-level constants exist.)
  const echo = `
const s = require('node:dgram').createSocket({ type: 'udp4', lookup: (a, o, cb) => cb(null, a, 4) });
s.on('message', (m, r) => { m[2] |= 0x80; s.send(m, r.port, r.address); });
s.bind(0, '127.0.0.1', () => console.log(s.address().port));
`;
  const child = spawn('taskset', ['-c', CORE, process.execPath, '-e', echo], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number((await lines(child).next()).value);
  return { port, pid: child.pid as number, stop: () => child.kill('SIGTERM') };
}

interface PerfResult {
  qps: number;
  completed: number;
  avgMs: number;
  lost: number;
  p99Ms?: number;
}

/** User + system CPU seconds a process has used (Linux /proc, clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function runDnsperf(port: number, file: string, seconds: number, rate: number, verbose = false): Promise<PerfResult> {
  const args = [
    '-c',
    DNSPERF_CORE,
    'dnsperf',
    '-s',
    '127.0.0.1',
    '-p',
    String(port),
    '-d',
    file,
    '-l',
    String(seconds),
    '-c',
    '1',
    '-T',
    '1',
  ];
  if (rate > 0) args.push('-Q', String(rate));
  if (verbose) args.push('-v');
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const latencies: number[] = [];
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const text = partial + d.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        const m = verbose ? /^> \S+ .* ([\d.]+)$/.exec(line) : null;
        if (m) latencies.push(Number(m[1]));
        else out += `${line}\n`;
      }
    });
    child.on('error', reject);
    child.on('exit', () => {
      const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const avg = Number(/Average Latency \(s\):\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      const lost = Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0);
      latencies.sort((a, b) => a - b);
      const p99 = latencies.length ? latencies[Math.floor(latencies.length * 0.99)] * 1000 : undefined;
      resolve({ qps, completed, avgMs: avg * 1000, lost, p99Ms: p99 });
    });
  });
}

async function main() {
  const seconds = Number(process.argv[2] ?? 10);
  const dir = await mkdtemp(join(tmpdir(), 'svcnet-dns-bench-'));
  const upstream = await startFakeUpstream();
  const stops: (() => unknown)[] = [() => upstream.close()];
  try {
    const cluster = join(dir, 'cluster.txt');
    await writeFile(cluster, `${Array.from({ length: SERVICES }, (_, i) => `svc-${i}.ns-${i % 50}.svc.cluster.local A`).join('\n')}\n`);
    const external = join(dir, 'external.txt');
    await writeFile(external, `${Array.from({ length: 100 }, (_, i) => `host-${i}.example.test A`).join('\n')}\n`);
    await writeFile(join(dir, 'one.txt'), 'svc-1.ns-1.svc.cluster.local A\n');

    const ours = await startOurs(SERVICES, 0, upstream.port, 'batch');
    stops.push(() => ours.stop());
    const oursDgram = await startOurs(SERVICES, 0, upstream.port, 'dgram');
    stops.push(() => oursDgram.stop());
    const unbound = await startUnbound(dir, upstream.port);
    stops.push(() => unbound.stop());
    const echo = await startEcho();
    stops.push(() => echo.stop());

    const rows: Record<string, string | number>[] = [];
    for (const [label, file] of [
      ['cluster names', cluster],
      ['cached external names', external],
    ] as const) {
      for (const [server, port, pid] of [
        ['svcnet (batch)', ours.port, ours.pid],
        ['svcnet (dgram)', oursDgram.port, oursDgram.pid],
        ['unbound', unbound.port, unbound.pid],
        ['node dgram echo', echo.port, echo.pid],
      ] as const) {
        await runDnsperf(port, file, 2, 0); // warm caches and the JIT
        const load = loadavg()[0];
        const cpuBefore = cpuSeconds(pid);
        const r = await runDnsperf(port, file, seconds, 0);
        const cpu = cpuSeconds(pid) - cpuBefore;
        const lat = await runDnsperf(port, file, 3, 10_000, true);
        rows.push({
          queries: label,
          server,
          QPS: Math.round(r.qps),
          'QPS per CPU-second': Math.round(r.completed / cpu),
          'CPU µs/query': ((cpu / r.completed) * 1e6).toFixed(1),
          'avg latency (ms)': r.avgMs.toFixed(3),
          'p99 at 10k QPS (ms)': lat.p99Ms?.toFixed(3) ?? '-',
          lost: r.lost,
          'load avg': load.toFixed(2),
        });
      }
    }
    console.log(
      `dnsperf -c 1 -T 1, ${seconds} s per run, each server pinned to one core (taskset -c ${CORE}), dnsperf on core ${DNSPERF_CORE}`,
    );
    console.table(rows);
    const pct = (a: number, b: number, column: string) => `${((100 * Number(rows[a][column])) / Number(rows[b][column])).toFixed(0)}%`;
    for (const base of [0, 4]) {
      const [batch, dgram, unboundRow, floor] = [base, base + 1, base + 2, base + 3];
      for (const ours of [batch, dgram]) {
        console.log(
          `${rows[ours].queries}: ${rows[ours].server}/unbound = ${pct(ours, unboundRow, 'QPS')} of QPS, ` +
            `${pct(ours, unboundRow, 'QPS per CPU-second')} per CPU-second; ` +
            `/dgram echo = ${pct(ours, floor, 'QPS per CPU-second')} per CPU-second`,
        );
      }
      console.log(`${rows[batch].queries}: batch/dgram = ${pct(batch, dgram, 'QPS')} of QPS`);
    }
    const udp = (await ours.memory()).udp;
    if (udp)
      console.log(
        `svcnet (batch): ${udp.datagrams} datagrams in ${udp.batches} batches (${(udp.datagrams / udp.batches).toFixed(1)} per batch), ` +
          `${udp.dropped} replies dropped (EAGAIN), ${udp.sendErrors} send errors`,
      );
    echo.stop();
    unbound.stop();
    await oursDgram.stop();
    await ours.stop();
    stops.length = 1;

    // Memory: 10,000 Services with 10 endpoints each.
    const big = await startOurs(10_000, 10, upstream.port, 'auto');
    const mem = await big.memory();
    await big.stop();
    console.log(
      `memory with 10,000 Services and 100,000 endpoints: RSS ${(mem.rss / 2 ** 20).toFixed(0)} MB, heap used ${(mem.heap / 2 ** 20).toFixed(0)} MB`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop();
    await rm(dir, { recursive: true, force: true });
  }
}

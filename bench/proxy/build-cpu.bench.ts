/**
 * The proxy's own work in an INITIAL full sync, without a kernel: N ClusterIP Services × 5
 * endpoints fed to a fresh `ProxyState` and proxier, then `apply()` and one full sync whose
 * command is a no-op fake that pulls every chunk. This is the "proxy" part of an initial sync in
 * `rules.bench.ts` (change tracking + rule generation + rendering), with nothing else on the clock.
 *
 * Each (mode, size) runs in child processes of its own, so round 1 is "cold" (the first sync in a
 * process: V8 still compiling the code) and rounds 3 on are "warm"; medians over processes. Per round a
 * fresh state and proxier are built; "events" is the informer handlers' time (onService /
 * onEndpointSlice, not part of a sync), "sync" is apply() + proxier.sync() in wall ms, "cpu"
 * the process's CPU time over the sync (GC helper threads included) and "gc" the main thread's GC
 * pauses within it.
 *
 *     node --import tsx bench/proxy/build-cpu.bench.ts [sizes=1000,10000] [modes=iptables,nftables] [rounds=7] [processes=3]
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { CommandRunner } from '../../src/cluster/netns.js';
import { IptablesExecutor } from '../../src/proxy/backends/iptables/executor.js';
import { IptablesProxier } from '../../src/proxy/backends/iptables/proxier.js';
import { NftExecutor, NftProxier } from '../../src/proxy/backends/nftables/executor.js';
import { makeService, makeSlice } from '../../src/proxy/testing.js';
import { ProxyState } from '../../src/proxy/tracker.js';

const port = [{ name: 'http', port: 8080 }];
const serviceIP = (i: number) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const endpointIPs = (i: number) =>
  Array.from({ length: 5 }, (_, k) => `10.${244 + (k >> 1)}.${(i >> 8) & 255}.${((i & 255) * 2 + (k & 1)) % 256}`);

/** A runner that accepts everything: pulls every chunk (so lazy builds run) and prints nothing. */
const fakeRun: CommandRunner = Object.assign(
  async (_argv: readonly string[], options?: { inputChunks?: Iterable<string> }) => {
    if (options?.inputChunks) for (const _ of options.inputChunks);
    return { stdout: '', stderr: '' };
  },
  { streamsInput: true },
);

interface Round {
  eventsMs: number;
  syncMs: number;
  cpuMs: number;
  /** Main-thread GC pauses during the sync. */
  gcMs: number;
  bytes: number;
}

/** GC pauses seen so far, as [start, duration] in performance.now() time. */
const gcPauses: Array<[number, number]> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push([e.startTime, e.duration]);
}).observe({ entryTypes: ['gc'] });

async function round(mode: string, n: number): Promise<Round> {
  const e0 = performance.now();
  const state = new ProxyState('node-1');
  for (let i = 0; i < n; i++) {
    const nn = `default/svc-${i}`;
    state.onService(undefined, makeService(nn, { clusterIP: serviceIP(i), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
    state.onEndpointSlice(makeSlice(nn, `svc-${i}-abcde`, port, endpointIPs(i)));
  }
  const eventsMs = performance.now() - e0;
  const proxier =
    mode === 'nftables'
      ? new NftProxier(new NftExecutor(fakeRun), { clusterCIDR: '10.244.0.0/16', serviceCIDRs: ['10.96.0.0/12'] })
      : new IptablesProxier(new IptablesExecutor({ run: fakeRun }), { clusterCIDR: '10.244.0.0/16' });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const stats = await proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints, state.apply());
  const syncMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await new Promise((resolve) => setTimeout(resolve, 20)); // lets the GC observer report
  let gcMs = 0;
  for (const [start, duration] of gcPauses) if (start >= t0 && start < t0 + syncMs) gcMs += duration;
  return { eventsMs, syncMs, cpuMs: (c.user + c.system) / 1000, gcMs, bytes: stats.bytes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (process.argv[2] === '--child') {
  const [mode, n, rounds] = [process.argv[3]!, Number(process.argv[4]), Number(process.argv[5])];
  const out: Round[] = [];
  for (let r = 0; r < rounds; r++) out.push(await round(mode, n));
  process.stdout.write(JSON.stringify(out));
} else {
  const sizes = (process.argv[2] ?? '1000,10000').split(',').map(Number);
  const modes = (process.argv[3] ?? 'iptables,nftables').split(',');
  const rounds = Number(process.argv[4] ?? 7);
  const processes = Number(process.argv[5] ?? 3);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(`# initial full sync, proxy work only (no kernel) — load average ${load()}`);
  console.log(`# ${processes} processes × ${rounds} rounds each; cold = round 1 of each process, warm = rounds 3.. (medians)`);
  console.log('| mode | services | cold: cpu ms (wall, gc) | warm: cpu ms (wall, gc) | events ms cold / warm | text MB |');
  console.log('|---|---:|---|---|---|---:|');
  const self = fileURLToPath(import.meta.url);
  const configs = sizes.flatMap((n) => modes.map((mode) => ({ n, mode, cold: [] as Round[], warm: [] as Round[] })));
  // Processes take turns across configurations, so a change in the machine's load spreads over all of them.
  for (let p = 0; p < processes; p++) {
    for (const c of configs) {
      const text = execFileSync(process.execPath, [...process.execArgv, self, '--child', c.mode, String(c.n), String(rounds)], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      const rs = JSON.parse(text) as Round[];
      c.cold.push(rs[0]!);
      c.warm.push(...(rs.length > 2 ? rs.slice(2) : rs.slice(1)));
    }
  }
  const cell = (rs: Round[]) =>
    `${median(rs.map((r) => r.cpuMs)).toFixed(0)} (${median(rs.map((r) => r.syncMs)).toFixed(0)}, gc ${median(rs.map((r) => r.gcMs)).toFixed(0)})`;
  for (const c of configs) {
    console.log(
      `| ${c.mode} | ${c.n} | ${cell(c.cold)} | ${cell(c.warm)} | ${median(c.cold.map((r) => r.eventsMs)).toFixed(0)} / ${median(
        c.warm.map((r) => r.eventsMs),
      ).toFixed(0)} | ${(c.cold[0]!.bytes / 1e6).toFixed(1)} |`,
    );
  }
  console.log(`# load average at end ${load()}`);
}

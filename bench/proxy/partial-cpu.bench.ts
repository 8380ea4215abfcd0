/**
 * The proxy's own work in partial syncs, without a kernel: N ClusterIP Services × 5 endpoints,
 * a full sync, then `changes` one-endpoint changes (each on a different Service) and as many new
 * Services, each as a partial sync whose command is a no-op fake. Reports the median and p90 of
 * the whole sync call (change tracking, build, render, counting) — what `rules.bench.ts` calls
 * "proxy", here with nothing else on the clock. Needs no privileges.
 *
 *     node --import tsx bench/proxy/partial-cpu.bench.ts [sizes=1000,10000] [modes=iptables,nftables] [changes=30]
 */
import { loadavg } from 'node:os';
import type { CommandRunner } from '../../src/cluster/netns.js';
import { IptablesExecutor } from '../../src/proxy/backends/iptables/executor.js';
import { IptablesProxier } from '../../src/proxy/backends/iptables/proxier.js';
import { NftExecutor, NftProxier } from '../../src/proxy/backends/nftables/executor.js';
import { makeService, makeSlice } from '../../src/proxy/testing.js';
import { ProxyState } from '../../src/proxy/tracker.js';

const sizes = (process.argv[2] ?? '1000,10000').split(',').map(Number);
const modes = (process.argv[3] ?? 'iptables,nftables').split(',');
const changes = Number(process.argv[4] ?? 30);
const port = [{ name: 'http', port: 8080 }];

const serviceIP = (i: number) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const endpointIPs = (i: number, generation = 0) =>
  Array.from({ length: 5 }, (_, k) => `10.${244 + (k >> 1)}.${(i >> 8) & 255}.${((i & 255) * 2 + (k & 1) + generation) % 256}`);

function addService(state: ProxyState, i: number): void {
  const nn = `default/svc-${i}`;
  state.onService(undefined, makeService(nn, { clusterIP: serviceIP(i), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
  state.onEndpointSlice(makeSlice(nn, `svc-${i}-abcde`, port, endpointIPs(i)));
}

/** A runner that accepts everything and prints nothing: the kernel side costs nothing here. */
const fakeRun: CommandRunner = Object.assign(
  async (_argv: readonly string[], options?: { inputChunks?: Iterable<string> }) => {
    if (options?.inputChunks) for (const _ of options.inputChunks);
    return { stdout: '', stderr: '' };
  },
  { streamsInput: true },
);

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)]!.toFixed(2)} ms (p90 ${s[Math.floor(s.length * 0.9)]!.toFixed(2)})`;
};

console.log(
  `# partial-sync proxy work, no kernel — load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('| mode | services | full sync | one-endpoint change, median (p90) | new Service, median (p90) |');
console.log('|---|---|---|---|---|');
for (const n of sizes) {
  for (const mode of modes) {
    const state = new ProxyState('node-1');
    for (let i = 0; i < n; i++) addService(state, i);
    const proxier =
      mode === 'nftables'
        ? new NftProxier(new NftExecutor(fakeRun), { clusterCIDR: '10.244.0.0/16', serviceCIDRs: ['10.96.0.0/12'] })
        : new IptablesProxier(new IptablesExecutor({ run: fakeRun }), { clusterCIDR: '10.244.0.0/16' });
    const sync = async (full: boolean, mutate?: () => void) => {
      const t0 = performance.now();
      mutate?.();
      await proxier.sync({ full, reason: full ? 'initial' : 'requested' }, state.services, state.endpoints, state.apply());
      return performance.now() - t0;
    };
    const fullMs = await sync(true);
    const changeMs: number[] = [];
    const addMs: number[] = [];
    for (let c = 0; c < changes; c++) {
      const target = Math.floor((n * (c + 0.5)) / changes);
      changeMs.push(
        await sync(false, () => {
          const ips = endpointIPs(target);
          ips[2] = `10.250.${(target >> 8) & 255}.${target & 255}`;
          state.onEndpointSlice(makeSlice(`default/svc-${target}`, `svc-${target}-abcde`, port, ips));
        }),
      );
      addMs.push(await sync(false, () => addService(state, n + c)));
    }
    console.log(`| ${mode} | ${n} | ${(fullMs / 1000).toFixed(2)} s | ${stat(changeMs)} | ${stat(addMs)} |`);
  }
}

/**
 * Rule programming benchmark (issue 5): N ClusterIP Services × 5 endpoints, for
 * iptables mode (nf_tables and legacy binaries) and nftables mode, each in a fresh sandbox
 * network namespace on the real kernel:
 *
 * - initial full sync (empty tables), then a full resync over the loaded rules (the periodic one),
 * - a one-endpoint change (one endpoint of one Service replaced) as a partial sync,
 * - a new Service with 5 endpoints as a partial sync,
 * - "plain load": the same full ruleset text fed straight to iptables-restore / nft in a fresh
 *   sandbox, no proxy involved — the floor a full sync of this layout can reach: once into empty
 *   tables (the floor of an initial sync), then again over what it loaded (the floor of a resync,
 *   which also makes the kernel delete the old rules). For nftables also "split": the initial
 *   load's transactions (renderNftInitial, as the proxy splits a large load into an absent table)
 *   fed one after another to `nft -f` into empty tables, the floor of the proxy's split initial sync.
 *
 * "proxy" is the proxy's own work as CPU time (change tracking, rule generation, rendering); "kernel"
 * is the wall time of iptables-save/iptables-restore or nft (including the nsenter that runs them
 * in the sandbox). Full syncs stream their text into the command while generating it, so the two
 * overlap; "added" is the sync's wall time outside the kernel commands (total − kernel), the time
 * the proxy adds on top of the kernel's. "proxy share" gives both as a share of the sync: CPU
 * (proxy ÷ total) and added wall (added ÷ total).
 *
 * Modes: iptables-nft, iptables-legacy, nftables (partial transactions through one long-lived
 * `nft -i`, as the proxy runs them), nftables-exec (one `nft -f` process per transaction).
 *
 *     node --import tsx bench/proxy/rules.bench.ts [sizes=1000,5000,10000] [modes=iptables-nft,iptables-legacy,nftables]
 */
import { cpus, loadavg } from 'node:os';
import { IptablesExecutor } from '../../src/proxy/backends/iptables/executor.js';
import { IptablesProxier } from '../../src/proxy/backends/iptables/proxier.js';
import { buildRuleset, renderFull } from '../../src/proxy/backends/iptables/rules.js';
import { NftExecutor, NftProxier } from '../../src/proxy/backends/nftables/executor.js';
import { buildNftRuleset, renderNftFull, renderNftInitial } from '../../src/proxy/backends/nftables/rules.js';
import { NftSession } from '../../src/proxy/backends/nftables/session.js';
import type { SyncRequest } from '../../src/proxy/runner.js';
import { makeService, makeSlice, nsenterSpawner } from '../../src/proxy/testing.js';
import { ProxyState, type UpdateResult } from '../../src/proxy/tracker.js';
import { startInSandbox } from '../../test/helpers/sandbox.js';

/** `nftables` sends partial syncs through a long-lived `nft -i` (as the proxy does); `nftables-exec` starts one `nft -f` per transaction. */
type Mode = 'iptables-nft' | 'iptables-legacy' | 'nftables' | 'nftables-exec';
const sizes = (process.argv[2] ?? '1000,5000,10000').split(',').map(Number);
const modes = (process.argv[3] ?? 'iptables-nft,iptables-legacy,nftables').split(',') as Mode[];
const ENDPOINTS = 5;
const port = [{ name: 'http', port: 8080 }];

/** Service i: cluster IP 10.96.x.y, endpoints 10.244.x.(y*5+k) — all distinct. */
function serviceIP(i: number): string {
  return `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}
function endpointIPs(i: number, generation = 0): string[] {
  return Array.from(
    { length: ENDPOINTS },
    (_, k) => `10.${244 + (k >> 1)}.${(i >> 8) & 255}.${((i & 255) * 2 + (k & 1) + generation) % 256}`,
  );
}

function buildState(n: number): ProxyState {
  const state = new ProxyState('node-1');
  for (let i = 0; i < n; i++) {
    const nn = `default/svc-${i}`;
    state.onService(undefined, makeService(nn, { clusterIP: serviceIP(i), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
    state.onEndpointSlice(makeSlice(nn, `svc-${i}-abcde`, port, endpointIPs(i)));
  }
  return state;
}

interface Timing {
  totalMs: number;
  proxyMs: number;
  kernelMs: number;
}

type Proxier = {
  sync(
    r: SyncRequest,
    s: ProxyState['services'],
    e: ProxyState['endpoints'],
    c?: UpdateResult,
  ): Promise<{ generateMs: number; applyMs: number }>;
};

async function timed(state: ProxyState, proxier: Proxier, request: SyncRequest, mutate?: () => void): Promise<Timing> {
  const t0 = performance.now();
  mutate?.();
  const changes = state.apply();
  const trackMs = performance.now() - t0;
  const stats = await proxier.sync(request, state.services, state.endpoints, changes);
  return { totalMs: performance.now() - t0, proxyMs: trackMs + stats.generateMs, kernelMs: stats.applyMs };
}

const fmt = (t: Timing) =>
  `${(t.totalMs / 1000).toFixed(2)} s (proxy ${(t.proxyMs / 1000).toFixed(2)} / kernel ${(t.kernelMs / 1000).toFixed(2)} / added ${((t.totalMs - t.kernelMs) / 1000).toFixed(2)})`;
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;
/** CPU share and added-wall share of one sync. */
const shares = (t: Timing) => `${pct(t.proxyMs, t.totalMs)} cpu, ${pct(t.totalMs - t.kernelMs, t.totalMs)} added`;
const fmtMs = (t: Timing) => `${t.totalMs.toFixed(0)} ms (proxy ${t.proxyMs.toFixed(1)} / kernel ${t.kernelMs.toFixed(0)})`;

console.log(
  `# rule programming — ${cpus().length} CPUs, load average at start ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(
  '| mode | services | initial full sync | full resync | one-endpoint change | new Service | plain load (empty / replace / split) | proxy share initial / resync | full sync ÷ plain load (initial ÷ empty (÷ split) / resync ÷ replace) |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
const IPT_CONFIG = { clusterCIDR: '10.244.0.0/16' };
const NFT_CONFIG = { clusterCIDR: '10.244.0.0/16', serviceCIDRs: ['10.96.0.0/12'] };

/**
 * Kernel time of loading the mode's full ruleset text for `state` into a fresh sandbox (no proxy
 * work counted): `empty` is the first load, what an initial sync does; `replace` the same text
 * again over the loaded table, what a resync does (the kernel then also deletes the old table).
 */
async function plainLoad(mode: Mode, state: ProxyState): Promise<{ empty: number; replace: number; split?: number }> {
  const nftRuleset = mode.startsWith('nftables') ? buildNftRuleset(state.services, state.endpoints, NFT_CONFIG) : undefined;
  const text = nftRuleset ? renderNftFull(nftRuleset) : renderFull(buildRuleset(state.services, state.endpoints, IPT_CONFIG));
  const sandbox = await startInSandbox();
  let times: { empty: number; replace: number };
  try {
    const load = async () => {
      const t0 = performance.now();
      if (nftRuleset) await new NftExecutor(sandbox.run).apply(text);
      else await new IptablesExecutor({ run: sandbox.run, legacy: mode === 'iptables-legacy' }).restore(text, { noflush: false });
      return performance.now() - t0;
    };
    const empty = await load();
    times = { empty, replace: await load() };
  } finally {
    await sandbox.stop();
  }
  if (!nftRuleset) return times;
  const transactions = renderNftInitial(nftRuleset);
  const fresh = await startInSandbox();
  try {
    const t0 = performance.now();
    for (const t of transactions) await new NftExecutor(fresh.run).apply(t);
    return { ...times, split: performance.now() - t0 };
  } finally {
    await fresh.stop();
  }
}
for (const n of sizes) {
  for (const mode of modes) {
    const sandbox = await startInSandbox();
    let stopSession = () => {};
    try {
      const session = mode === 'nftables' ? new NftSession(nsenterSpawner(sandbox.pid)) : undefined;
      stopSession = () => session?.close();
      const proxier: Proxier = mode.startsWith('nftables')
        ? new NftProxier(new NftExecutor(sandbox.run, undefined, session), NFT_CONFIG)
        : new IptablesProxier(new IptablesExecutor({ run: sandbox.run, legacy: mode === 'iptables-legacy' }), IPT_CONFIG);
      const state = buildState(n);
      const initial = await timed(state, proxier, { full: true, reason: 'initial' });
      const resync = await timed(state, proxier, { full: true, reason: 'periodic' });
      const target = Math.floor(n / 2);
      const change = await timed(state, proxier, { full: false, reason: 'requested' }, () => {
        const ips = endpointIPs(target);
        ips[2] = `10.250.${(target >> 8) & 255}.${target & 255}`;
        state.onEndpointSlice(makeSlice(`default/svc-${target}`, `svc-${target}-abcde`, port, ips));
      });
      const added = await timed(state, proxier, { full: false, reason: 'requested' }, () => {
        const nn = `default/svc-${n}`;
        state.onService(undefined, makeService(nn, { clusterIP: serviceIP(n), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
        state.onEndpointSlice(makeSlice(nn, `svc-${n}-abcde`, port, endpointIPs(n)));
      });
      stopSession();
      await sandbox.stop();
      const plain = await plainLoad(mode, state);
      const share = `${shares(initial)} / ${shares(resync)}`;
      const split = plain.split === undefined ? '' : ` (÷ split ${(initial.totalMs / plain.split).toFixed(2)})`;
      const ratio = `${(initial.totalMs / plain.empty).toFixed(2)}${split} / ${(resync.totalMs / plain.replace).toFixed(2)}`;
      const plainText = `${(plain.empty / 1000).toFixed(2)} s / ${(plain.replace / 1000).toFixed(2)} s${
        plain.split === undefined ? '' : ` / split ${(plain.split / 1000).toFixed(2)} s`
      }`;
      console.log(
        `| ${mode} | ${n} | ${fmt(initial)} | ${fmt(resync)} | ${fmtMs(change)} | ${fmtMs(added)} | ${plainText} | ${share} | ${ratio} |`,
      );
    } catch (err) {
      console.log(`| ${mode} | ${n} | failed: ${String(err).slice(0, 200)} | | |`);
    } finally {
      stopSession();
      await sandbox.stop();
    }
  }
}
console.log(
  `load average at end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

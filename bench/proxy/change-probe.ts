/**
 * Where the kernel side of a one-endpoint change goes (issue 5): loads N Services × 5 endpoints
 * into a fresh sandbox (nftables or iptables-nft), then times variants of the same change, each
 * `reps` times (alternating between two endpoint generations, so every run is a real change), as
 * wall / user / sys from `/usr/bin/time` inside the sandbox:
 *
 * - `start`: the command with an empty input — process start, netlink socket, no transaction;
 * - `change`: the transaction the proxy sends;
 * - `check`: the same with `nft -c` (parsed, cached and evaluated, no commit) — nftables only;
 * - further variants, see below.
 *
 *     node --import tsx bench/proxy/change-probe.ts [nftables|iptables] [services=10000] [reps=5]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { CommandRunner, RunOptions } from '../../src/cluster/netns.js';
import { IptablesExecutor } from '../../src/proxy/backends/iptables/executor.js';
import { IptablesProxier } from '../../src/proxy/backends/iptables/proxier.js';
import { NftExecutor, NftProxier } from '../../src/proxy/backends/nftables/executor.js';
import { NftSession } from '../../src/proxy/backends/nftables/session.js';
import { makeService, makeSlice, nsenterSpawner } from '../../src/proxy/testing.js';
import { ProxyState } from '../../src/proxy/tracker.js';
import { startInSandbox } from '../../test/helpers/sandbox.js';

const mode = process.argv[2] ?? 'nftables';
const n = Number(process.argv[3] ?? 10000);
const reps = Number(process.argv[4] ?? 5);
const port = [{ name: 'http', port: 8080 }];
const serviceIP = (i: number) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const endpointIPs = (i: number) =>
  Array.from({ length: 5 }, (_, k) => `10.${244 + (k >> 1)}.${(i >> 8) & 255}.${((i & 255) * 2 + (k & 1)) % 256}`);

const sandbox = await startInSandbox();
const session = new NftSession(nsenterSpawner(sandbox.pid));
try {
  /** Records the last transaction text instead of only running it. */
  let lastInput = '';
  const recording: CommandRunner = Object.assign(
    (argv: readonly string[], options?: RunOptions) => {
      if (options?.input !== undefined) lastInput = options.input;
      return sandbox.run(argv, options);
    },
    { streamsInput: sandbox.run.streamsInput },
  );
  const state = new ProxyState('node-1');
  for (let i = 0; i < n; i++) {
    const nn = `default/svc-${i}`;
    state.onService(undefined, makeService(nn, { clusterIP: serviceIP(i), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
    state.onEndpointSlice(makeSlice(nn, `svc-${i}-abcde`, port, endpointIPs(i)));
  }
  const config = { clusterCIDR: '10.244.0.0/16', serviceCIDRs: ['10.96.0.0/12'] };
  // nftables: partial transactions go through a long-lived `nft -i` or one `nft -f` each, switched per variant.
  let viaSession = false;
  const switching = {
    apply: (text: string) => {
      lastInput = text;
      return viaSession ? session.apply(text) : sandbox.run(['nft', '-f', '-'], { input: text }).then(() => undefined);
    },
  } as NftSession;
  const proxier =
    mode === 'nftables'
      ? new NftProxier(new NftExecutor(recording, undefined, switching), config, { eagerDeleteMaxChains: 0 })
      : new IptablesProxier(new IptablesExecutor({ run: recording }), config);
  await proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints, state.apply());
  let generation = 0;
  /** The next one-endpoint change's transaction, applied by the proxy itself (so the proxy's view stays true). */
  const nextChange = async (): Promise<string> => {
    generation++;
    const target = Math.floor(n / 2) + (generation % 7);
    const ips = endpointIPs(target);
    ips[2] = `10.250.${generation & 255}.${target & 255}`;
    state.onEndpointSlice(makeSlice(`default/svc-${target}`, `svc-${target}-abcde`, port, ips));
    await proxier.sync({ full: false, reason: 'requested' }, state.services, state.endpoints, state.apply());
    return lastInput;
  };
  const timeCmd = async (argv: string[], input: string): Promise<number[]> => {
    const file = `/tmp/svcnet-probe-${process.pid}.txt`;
    writeFileSync(file, input);
    const out = await sandbox.run(['/usr/bin/time', '-f', '%e %U %S', ...argv, file], {});
    const line = out.stderr.trim().split('\n').at(-1)!;
    return line.split(' ').map((x) => Number(x) * 1000);
  };
  const restore = mode === 'nftables' ? ['nft', '-f'] : ['iptables-restore', '-w', '5', '--noflush'];
  const variants: Array<[string, () => Promise<number[]>]> = [
    ['start (empty input)', () => timeCmd(restore, mode === 'nftables' ? '' : '*nat\nCOMMIT\n')],
    [
      'change (the whole partial sync, one nft -f / iptables-restore per transaction; wall only)',
      async () => {
        viaSession = false;
        const t0 = performance.now();
        await nextChange();
        return [performance.now() - t0, Number.NaN, Number.NaN];
      },
    ],
  ];
  if (mode === 'nftables') {
    variants.push([
      'change (the whole partial sync, through one long-lived nft -i; wall only)',
      async () => {
        viaSession = true;
        const t0 = performance.now();
        await nextChange();
        viaSession = false;
        return [performance.now() - t0, Number.NaN, Number.NaN];
      },
    ]);
  }
  // The last change replayed: for a one-endpoint change the same transaction applies again (chains
  // flushed and rewritten, no element deleted), with the same kernel work, under /usr/bin/time.
  variants.push(['replay of the last change', () => timeCmd(restore, lastInput)]);
  if (mode === 'nftables') variants.push(['replay, check only (nft -c)', () => timeCmd(['nft', '-c', '-f'], lastInput)]);
  console.log(
    `# ${mode}, ${n} Services: one-endpoint change variants — load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log('| variant | wall ms (median) | user ms | sys ms |');
  console.log('|---|---|---|---|');
  // Variants take turns, so a change in the machine's load touches them all alike.
  const samples = variants.map((): number[][] => []);
  for (let r = 0; r < reps; r++) for (const [i, [, run]] of variants.entries()) samples[i]!.push(await run());
  for (const [i, [label]] of variants.entries()) {
    const med = (k: number) => {
      const xs = samples[i]!.map((s) => s[k]!).sort((a, b) => a - b);
      return xs[Math.floor(xs.length / 2)]!.toFixed(0);
    };
    console.log(`| ${label} | ${med(0)} | ${med(1)} | ${med(2)} |`);
  }
  if (process.env.PROBE_PERF) {
    // Where the replay's time goes, kernel included (perf_event_paranoid ≤ 2 is enough for one's own process).
    const file = `/tmp/svcnet-probe-${process.pid}.txt`;
    writeFileSync(file, lastInput);
    const data = `/tmp/svcnet-probe-${process.pid}.perf`;
    await sandbox.run(['perf', 'record', '-q', '-g', '-o', data, ...restore, file], { timeoutMs: 60_000 });
    const report = await sandbox.run(
      [
        'perf',
        'report',
        '-i',
        data,
        '--stdio',
        '--no-children',
        '--percent-limit',
        '1.5',
        '-g',
        'caller,0.5,callee,function,percent',
        '--max-stack',
        '8',
      ],
      {
        timeoutMs: 60_000,
      },
    );
    console.log(report.stdout.split('\n').slice(0, 120).join('\n'));
  }
  console.log(
    `load average at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  session.close();
  await sandbox.stop();
}

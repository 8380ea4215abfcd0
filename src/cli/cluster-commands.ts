/**
 * `svcnet up | down | status`: the local cluster's life cycle. `up` starts a detached copy of
 * itself in the foreground mode and returns as soon as that copy reports the API server ready.
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { childEnv, processAlive, type RuntimeInfo, StateDir } from '../cluster/state-dir.js';

interface UpOptions {
  dataDir?: string;
  foreground: boolean;
  port: string;
  host: string;
  store: 'sqlite' | 'memory';
  serviceClusterIpRange: string;
  serviceNodePortRange: string;
  simulatedNodes?: string;
  nodes: string;
  proxyMode: 'iptables' | 'nftables' | 'userspace';
}

type ChildMessage = { type: 'ready'; info: RuntimeInfo } | { type: 'error'; message: string };

function printUp(sd: StateDir, info: RuntimeInfo, already: boolean): void {
  const out = process.stdout;
  if (already) out.write(`svcnet is already running (pid ${info.pid}); nothing changed.\n`);
  else out.write(`svcnet is up: API server ${info.server}\n`);
  out.write(`kubeconfig: ${sd.kubeconfig}\n`);
  if (!already) out.write(`  export KUBECONFIG=${sd.kubeconfig}\n`);
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function upCommand(opts: UpOptions): Promise<void> {
  const sd = new StateDir(opts.dataDir);
  sd.ensure();
  const running = sd.running();
  if (running) {
    printUp(sd, running, true);
    return;
  }
  if (opts.foreground) {
    const { runForeground } = await import('../cluster/control-plane.js');
    await runForeground(sd, {
      host: opts.host,
      port: Number(opts.port),
      store: opts.store,
      serviceCIDR: opts.serviceClusterIpRange,
      nodePortRange: opts.serviceNodePortRange,
      nodes: Number(opts.nodes),
      proxyMode: opts.proxyMode,
      simulatedNodes: opts.simulatedNodes !== undefined ? Number(opts.simulatedNodes) : Number(opts.nodes) > 0 ? 0 : 1,
      notify: (m: ChildMessage) => process.send?.(m),
    });
    return;
  }
  const log = openSync(sd.logFile, 'a');
  const args = [
    process.argv[1],
    'up',
    '--foreground',
    '--data-dir',
    sd.root,
    '--port',
    opts.port,
    '--host',
    opts.host,
    '--store',
    opts.store,
  ];
  args.push('--service-cluster-ip-range', opts.serviceClusterIpRange, '--service-node-port-range', opts.serviceNodePortRange);
  args.push('--nodes', opts.nodes, '--proxy-mode', opts.proxyMode);
  if (opts.simulatedNodes !== undefined) args.push('--simulated-nodes', opts.simulatedNodes);
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log, 'ipc'], env: childEnv() });
  const msg = await new Promise<ChildMessage>((resolve) => {
    child.once('message', (m) => resolve(m as ChildMessage));
    child.once('exit', (code) => resolve({ type: 'error', message: `svcnet exited during start-up (code ${code})` }));
  });
  if (msg.type === 'error') {
    process.stderr.write(`error: ${msg.message}\n`);
    const t = tail(sd.logFile);
    if (t) process.stderr.write(`last lines of ${sd.logFile}:\n${t}\n`);
    process.exitCode = 1;
    return;
  }
  child.disconnect();
  child.unref();
  printUp(sd, msg.info, false);
}

export async function downCommand(opts: { dataDir?: string }): Promise<void> {
  const sd = new StateDir(opts.dataDir);
  const info = sd.running();
  if (!info) {
    process.stdout.write('svcnet is not running.\n');
    return;
  }
  process.kill(info.pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (processAlive(info.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (processAlive(info.pid)) {
    process.kill(info.pid, 'SIGKILL');
    process.stdout.write(`svcnet (pid ${info.pid}) did not stop in 15 s and was killed.\n`);
  }
  sd.clearRuntime();
  process.stdout.write(`svcnet is down. State is kept in ${sd.root}.\n`);
}

export async function statusCommand(opts: { dataDir?: string }): Promise<void> {
  const sd = new StateDir(opts.dataDir);
  const info = sd.running();
  if (!info) {
    process.stdout.write(`svcnet is not running (data directory ${sd.root}).\n`);
    process.exitCode = 3;
    return;
  }
  const up = Math.round((Date.now() - Date.parse(info.startedAt)) / 1000);
  process.stdout.write(`svcnet is running (pid ${info.pid}, up ${up}s)\n`);
  process.stdout.write(`  API server:  ${info.server}\n`);
  process.stdout.write(`  kubeconfig:  ${sd.kubeconfig}\n`);
  process.stdout.write(`  components:  ${info.components.join(', ')}\n`);
  process.stdout.write(`  data:        ${sd.root}\n`);
}

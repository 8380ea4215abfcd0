/**
 * `svcnet up | down | status`: the local cluster's life cycle. `up` starts a detached copy of
 * itself in the foreground mode and returns as soon as that copy reports the API server ready.
 * From the bundle, that copy is dist/up-child.cjs: the control plane alone, without the CLI, loaded
 * through V8's code cache (see up-child.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { childEnv, processAlive, type RuntimeInfo, StateDir } from '../cluster/state-dir.js';

/** The options of `svcnet up`, as commander gives them. */
export interface UpOptions {
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
  const args = foregroundArgs(sd.root, opts);
  const child = spawn(process.execPath, [...upChildScript(process.argv[1]!), ...args], {
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
    env: childEnv(),
  });
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

/** The arguments of the background `svcnet up --foreground` that `svcnet up` starts: every option explicit. */
export function foregroundArgs(dataDir: string, opts: UpOptions): string[] {
  const args = ['up', '--foreground', '--data-dir', dataDir, '--port', opts.port, '--host', opts.host, '--store', opts.store];
  args.push('--service-cluster-ip-range', opts.serviceClusterIpRange, '--service-node-port-range', opts.serviceNodePortRange);
  args.push('--nodes', opts.nodes, '--proxy-mode', opts.proxyMode);
  if (opts.simulatedNodes !== undefined) args.push('--simulated-nodes', opts.simulatedNodes);
  return args;
}

/**
 * What runs the background control plane, before the `up --foreground …` arguments: the lean
 * dist/up-child.cjs (given the CLI script, which the control plane starts agents with) when the
 * bundle has it, else the CLI script itself.
 */
export function upChildScript(cliScript: string, exists: (path: string) => boolean = existsSync, realpath = realpathSync): string[] {
  let script = cliScript;
  try {
    script = realpath(cliScript); // a global install runs bin/svcnet.js through a symlink
  } catch {
    // as given
  }
  const lean = join(dirname(script), '..', 'dist', 'up-child.cjs');
  return exists(lean) ? [lean, cliScript] : [cliScript];
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

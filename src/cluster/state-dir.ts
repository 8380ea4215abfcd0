/**
 * The data directory of a local cluster (default ~/.svcnet): where the database, certificates,
 * kubeconfig, logs and the pid file of the running cluster live.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface RuntimeInfo {
  pid: number;
  /** API server URL, e.g. https://127.0.0.1:6443 */
  server: string;
  startedAt: string;
  components: string[];
  /** Pids of node agents, so a crashed run's agents can be found and stopped. */
  agents?: number[];
}

export class StateDir {
  readonly root: string;

  constructor(dir?: string) {
    this.root = resolve(dir ?? process.env.SVCNET_DATA_DIR ?? join(homedir(), '.svcnet'));
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  get kubeconfig(): string {
    return this.path('kubeconfig');
  }
  get database(): string {
    return this.path('state.db');
  }
  get logFile(): string {
    return this.path('logs', 'svcnet.log');
  }
  get runtimeFile(): string {
    return this.path('run.json');
  }

  ensure(): void {
    mkdirSync(this.path('logs'), { recursive: true, mode: 0o700 });
  }

  readRuntime(): RuntimeInfo | undefined {
    if (!existsSync(this.runtimeFile)) return undefined;
    try {
      return JSON.parse(readFileSync(this.runtimeFile, 'utf8')) as RuntimeInfo;
    } catch {
      return undefined;
    }
  }

  /** The running cluster's info, or undefined when its process is gone (a stale file is removed). */
  running(): RuntimeInfo | undefined {
    const info = this.readRuntime();
    if (!info) return undefined;
    if (processAlive(info.pid)) return info;
    this.clearRuntime();
    return undefined;
  }

  writeRuntime(info: RuntimeInfo): void {
    writeFileSync(this.runtimeFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  }

  clearRuntime(): void {
    rmSync(this.runtimeFile, { force: true });
  }
}

/**
 * The environment for svcnet's own child processes (control plane, agents, proxies). They speak
 * TLS only to this cluster's API server, with its CA given explicitly, so a system-wide
 * NODE_EXTRA_CA_CERTS (which makes every Node process load the whole CA bundle at start, ~80 ms
 * here) is dropped.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _drop, ...env } = process.env;
  return env;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

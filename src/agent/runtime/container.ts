/**
 * A container as a process: `nsenter --net=<pod netns>` then `unshare --mount --uts` into a mount
 * and UTS namespace of its own, where an init script binds the pod's files and execs the
 * container's command, so the process the agent holds is the container's main process. It leads
 * its own process group, which is what stop signals are sent to. Its output goes to a CRI log file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CriLogWriter } from '../../streaming/logs.js';
import { TTY_RESIZE_FD, ttyArgv } from '../kubelet/pty.js';
import { containerInitScript, type MountPlan } from './mounts.js';
import { atContainerPriority } from './priority.js';

/** What one run of a container needs. */
export interface ContainerLaunch {
  argv: string[];
  env: [string, string][];
  netnsPath: string;
  mounts: MountPlan;
  hostname: string;
  workingDir?: string;
  /** CRI log file for this run. */
  logPath: string;
  /** Keep a stdin pipe open (container.stdin). */
  stdin?: boolean;
  /** Run the main process on a pseudo-terminal of its own (container.tty), for `kubectl attach -t`. */
  tty?: boolean;
  /**
   * A FIFO path (in a directory of the container's own): the main process's stdout becomes a pipe
   * through it, as under containerd, for programs that open /dev/stdout (see {@link containerInitScript}).
   */
  stdoutPipe?: string;
}

/** How a container's run ended. */
export interface ContainerExit {
  exitCode: number;
  /** Signal number, when a signal ended it. */
  signal?: number;
  finishedAt: Date;
}

/** The environment every container starts from, as an image's config would give it. */
export const BASE_ENV: [string, string][] = [['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']];

/** The argv the agent spawns for a container. */
export function containerArgv(
  launch: Pick<ContainerLaunch, 'argv' | 'netnsPath' | 'mounts' | 'hostname' | 'workingDir' | 'stdoutPipe'>,
): string[] {
  const script = containerInitScript(launch.mounts, {
    hostname: launch.hostname,
    workingDir: launch.workingDir,
    stdoutPipe: launch.stdoutPipe,
  });
  return [
    'nsenter',
    `--net=${launch.netnsPath}`,
    '--',
    'unshare',
    '--mount',
    '--uts',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    script,
    'svcnet-init',
    // The init (mounts) runs at the agent's priority; the container's command at the pods' one.
    ...atContainerPriority(launch.argv),
  ];
}

export class ContainerProcess {
  /** `svcnet://<64 hex>`. */
  readonly containerID: string;
  readonly startedAt = new Date();
  readonly child: ChildProcess;
  readonly exited: Promise<ContainerExit>;
  /** Resolves once the mounts are in place and the command is being exec'd (or the init failed). */
  readonly initialized: Promise<void>;
  /** The main process runs on a pseudo-terminal (its stdout is the terminal's output). */
  readonly tty: boolean;
  private readonly resizePipe: Writable | undefined;
  private exit: ContainerExit | undefined;

  constructor(launch: ContainerLaunch) {
    this.containerID = `svcnet://${randomBytes(32).toString('hex')}`;
    mkdirSync(dirname(launch.logPath), { recursive: true });
    const log = new CriLogWriter(launch.logPath);
    this.tty = launch.tty ?? false;
    const [file, ...args] = this.tty
      ? containerArgv({ ...launch, argv: ttyArgv(launch.argv), stdoutPipe: undefined })
      : containerArgv(launch);
    // A runtime sets TERM for a container with a terminal, as Docker and containerd do.
    const termEnv: [string, string][] = this.tty ? [['TERM', 'xterm']] : [];
    const env = Object.fromEntries([...BASE_ENV, ['HOSTNAME', launch.hostname], ['HOME', '/root'], ...termEnv, ...launch.env]);
    const stdio: ('pipe' | 'ignore')[] = [launch.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'];
    if (this.tty) stdio[TTY_RESIZE_FD] = 'pipe';
    this.child = spawn(file!, args, { env, detached: true, stdio });
    this.resizePipe = this.tty ? (this.child.stdio[TTY_RESIZE_FD] as Writable) : undefined;
    this.resizePipe?.on('error', () => {});
    this.child.stdin?.on('error', () => {});
    const initPipe = this.child.stdio[3] as Readable;
    this.initialized = new Promise((resolve) => {
      initPipe.once('data', () => resolve());
      initPipe.once('close', () => resolve());
      initPipe.once('error', () => resolve());
    });
    this.child.stdout!.on('data', (chunk: Buffer) => log.write('stdout', chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => log.write('stderr', chunk));
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exit) return;
        const signo = signal ? constants.signals[signal] : undefined;
        this.exit = { exitCode: code ?? 128 + (signo ?? 0), signal: signo, finishedAt: new Date() };
        void log.close().then(() => resolve(this.exit!));
      };
      this.child.on('error', (err) => {
        log.write('stderr', `${err.message}\n`);
        done(128, null);
      });
      this.child.on('close', done);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Sets the terminal size of a `tty` container (what `kubectl attach -t` sends on resize). */
  resize(size: { width: number; height: number }): void {
    if (this.resizePipe?.writable && size.width > 0 && size.height > 0) this.resizePipe.write(`${size.width} ${size.height}\n`);
  }

  /** Signals the container's process group (its main process and what it started). */
  signal(signal: NodeJS.Signals): void {
    if (!this.exit && this.child.pid) {
      try {
        process.kill(-this.child.pid, signal);
      } catch {
        this.child.kill(signal);
      }
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  async stop(graceMs: number): Promise<ContainerExit> {
    if (this.exit) return this.exit;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), Math.max(0, graceMs));
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
      // Whatever the main process left behind in its group goes too.
      this.signal('SIGKILL');
    }
  }
}

/** The argv that runs `command` inside a running container's namespaces, in its working directory. */
export function execArgv(pid: number, command: readonly string[]): string[] {
  return ['nsenter', '--target', String(pid), '--net', '--mount', '--uts', '--wd', '--', ...atContainerPriority(command)];
}

/** The container's environment (its main process's), for commands exec'd into it. */
export function processEnv(pid: number): Record<string, string> {
  try {
    const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  } catch {
    return Object.fromEntries(BASE_ENV);
  }
}

/** Runs a command in the container to completion (exec probes); resolves with its exit code, -1 on timeout. */
export function execInContainer(pid: number, command: readonly string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const [file, ...args] = execArgv(pid, command);
    const child = spawn(file!, args, { env: processEnv(pid), stdio: 'ignore' });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(-1);
    }, timeoutMs);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(127);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

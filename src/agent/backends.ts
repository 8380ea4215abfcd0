/**
 * The agent's side of the kubelet streaming API (src/streaming/ serves the protocols):
 * exec runs a command in a container's namespaces, port-forward connects to the pod's IP from
 * the node's namespace, logs are the container's CRI log files.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { constants } from 'node:os';
import type { Duplex } from 'node:stream';
import type { PortForwardBackend } from '../streaming/portforward.js';
import type { RemoteCommandBackend, RemoteCommandOptions, RemoteCommandProcess, TerminalSize } from '../streaming/remotecommand.js';
import { ttyArgv } from './kubelet/pty.js';
import type { PodWorker } from './pod-worker.js';
import { execArgv, processEnv } from './runtime/container.js';

/** The argv of an exec: into the container's namespaces, through the pty helper when a TTY is asked for. */
export function execCommandArgv(pid: number, command: readonly string[], tty: boolean): string[] {
  // The exec's terminal sizes arrive on fd 3 (the fourth stdio pipe of the spawn below).
  const inner = tty ? ttyArgv(command, 3) : [...command];
  return execArgv(pid, inner);
}

/** `kubectl exec`: runs the command in the pod's container. */
export function execBackend(worker: PodWorker): RemoteCommandBackend {
  return {
    start(options: RemoteCommandOptions): RemoteCommandProcess {
      const container = options.container ?? worker.containerNames()[0];
      const pid = worker.containerPid(container);
      if (!pid) throw new Error(`container ${container} is not valid for pod ${worker.pod.metadata?.name}`);
      const [file, ...args] = execCommandArgv(pid, options.command, options.tty);
      const env = { ...processEnv(pid), ...(options.tty ? { TERM: 'xterm' } : {}) };
      const child = spawn(file!, args, { env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
      const resizePipe = child.stdio[3] as NodeJS.WritableStream;
      const exit = new Promise<{ exitCode: number }>((resolve, reject) => {
        child.once('error', reject);
        // A command killed by a signal: the helper re-raises it, and the shell convention is 128 + n.
        child.once('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 + (constants.signals[signal] ?? 9) : 1) }));
      });
      return {
        stdin: options.stdin ? child.stdin : undefined,
        stdout: child.stdout,
        stderr: options.tty ? undefined : child.stderr,
        resize: (size: TerminalSize) => {
          if (options.tty) resizePipe.write(`${size.width} ${size.height}\n`);
        },
        wait: () => exit,
        abort: () => child.kill('SIGKILL'),
      };
    },
  };
}

/** `kubectl port-forward`: a TCP connection to the pod's IP, from the node's network namespace. */
export function portForwardBackend(worker: PodWorker): PortForwardBackend {
  return {
    connect(port: number): Promise<Duplex> {
      const ip = worker.podIP;
      if (!ip) return Promise.reject(new Error(`pod ${worker.pod.metadata?.name} has no IP address yet`));
      return new Promise((resolve, reject) => {
        const socket = connect({ host: ip, port });
        socket.once('connect', () => resolve(socket));
        socket.once('error', reject);
      });
    },
  };
}

/** `kubectl logs`: the CRI log file of the container's current or previous run. */
export function containerLogPath(worker: PodWorker, container: string | undefined, previous: boolean): string {
  const names = worker.containerNames();
  const name = container ?? (names.length === 1 ? names[0] : undefined);
  if (!name)
    throw new Error(`a container name must be specified for pod ${worker.pod.metadata?.name}, choose one of: [${names.join(' ')}]`);
  if (!names.includes(name)) throw new Error(`container ${name} is not valid for pod ${worker.pod.metadata?.name}`);
  const path = worker.logPath(name, previous);
  if (!path) {
    throw new Error(
      previous
        ? `previous terminated container "${name}" in pod "${worker.pod.metadata?.name}" not found`
        : `container "${name}" in pod "${worker.pod.metadata?.name}" is waiting to start: ContainerCreating`,
    );
  }
  return path;
}

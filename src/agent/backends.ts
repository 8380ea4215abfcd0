/**
 * The agent's side of the kubelet streaming API (src/streaming/ serves the protocols):
 * exec runs a command in a container's namespaces, port-forward connects to the pod's IP from
 * the node's namespace, logs are the container's CRI log files.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PortForwardBackend } from '../streaming/portforward.js';
import type { RemoteCommandBackend, RemoteCommandOptions, RemoteCommandProcess, TerminalSize } from '../streaming/remotecommand.js';
import type { PodWorker } from './pod-worker.js';
import { execArgv, processEnv } from './runtime/container.js';

/**
 * A pseudo-terminal for exec with a TTY, without a native module: python's pty module runs the
 * command on a new terminal, copies bytes both ways, and applies window sizes sent on fd 3 as
 * "cols rows" lines.
 */
const PTY_HELPER = `
import os, pty, sys, select, fcntl, termios, struct, signal
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
ctl = os.fdopen(3, 'rb', 0) if os.path.exists('/proc/self/fd/3') else None
inputs = [0, fd] + ([ctl] if ctl else [])
buf = b''
while True:
    try:
        r, _, _ = select.select(inputs, [], [])
    except InterruptedError:
        continue
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in r:
        data = os.read(0, 65536)
        if data:
            os.write(fd, data)
        else:
            inputs.remove(0)
    if ctl and ctl in r:
        chunk = ctl.read(256)
        if not chunk:
            inputs.remove(ctl)
        buf += chunk or b''
        while b'\\n' in buf:
            line, buf = buf.split(b'\\n', 1)
            cols, rows = (int(x) for x in line.split())
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else status >> 8)
`;

/** The argv of an exec: into the container's namespaces, through the pty helper when a TTY is asked for. */
export function execCommandArgv(pid: number, command: readonly string[], tty: boolean): string[] {
  const inner = tty ? ['python3', '-c', PTY_HELPER, ...command] : [...command];
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
        child.once('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 + 9 : 1) }));
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

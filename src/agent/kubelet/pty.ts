/**
 * A container's main process on a terminal (`tty: true`), without a native module: python's pty
 * module starts the command on a new pseudo-terminal and the helper stays in front of it, the way
 * a container runtime's shim holds the terminal's master side. The agent sees one process whose
 * stdin goes to the terminal and whose stdout is the terminal's output; terminal sizes arrive on
 * a control fd as "cols rows" lines. Stop signals are passed on to the command's process group,
 * and the helper ends with the command's exit status (re-raising a fatal signal), so the
 * container's exit code is the command's.
 */

/** The fd the helper reads "cols rows" lines from (fd 3 is the container init's ready pipe). */
export const TTY_RESIZE_FD = 4;

const HELPER = `
import os, pty, sys, select, fcntl, termios, struct, signal
ctl_fd = int(sys.argv.pop(1))
pid, fd = pty.fork()
if pid == 0:
    os.closerange(3, 1024)
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    except OSError as e:
        sys.stderr.write('exec: %s: %s\\r\\n' % (sys.argv[1], e.strerror))
        os._exit(127)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
def forward(sig, _frame):
    try:
        os.killpg(pid, sig)
    except OSError:
        pass
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(s, forward)
inputs = [0, fd]
if ctl_fd >= 0:
    try:
        os.fstat(ctl_fd)
        inputs.append(ctl_fd)
    except OSError:
        pass
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
    if ctl_fd in r:
        chunk = os.read(ctl_fd, 256)
        if not chunk:
            inputs.remove(ctl_fd)
        buf += chunk
        while b'\\n' in buf:
            line, buf = buf.split(b'\\n', 1)
            try:
                cols, rows = (int(x) for x in line.split())
                fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
            except ValueError:
                pass
while True:
    try:
        _, status = os.waitpid(pid, 0)
        break
    except InterruptedError:
        continue
if os.WIFSIGNALED(status):
    sig = os.WTERMSIG(status)
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
sys.exit(os.WEXITSTATUS(status))
`;

/**
 * Wraps an argv so it runs on a pseudo-terminal of its own, sized through "cols rows" lines on
 * `resizeFd` ({@link TTY_RESIZE_FD} for a container's main process; `kubectl exec -t` uses 3).
 */
export function ttyArgv(argv: readonly string[], resizeFd = TTY_RESIZE_FD): string[] {
  return ['python3', '-c', HELPER, String(resizeFd), ...argv];
}

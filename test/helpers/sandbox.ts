/**
 * Network sandboxes for tests: the safety mechanism every test that touches networking uses.
 *
 * A sandbox is a process tree in brand-new network, mount and PID namespaces
 * (`unshare --net --mount --pid --fork --kill-child --mount-proc --propagation private`):
 * - interfaces, routes and iptables/nft rules made inside it live in its own network namespace;
 * - `ip netns add` works, but its bind mounts land on a private tmpfs over /var/run/netns,
 *   visible only inside the sandbox's mount namespace;
 * - every process started inside it (however deeply backgrounded) is in its PID namespace.
 *
 * When the sandbox's init process dies the kernel kills everything in the PID namespace, which
 * releases the mount namespace, the /var/run/netns tmpfs with its bind mounts, and so every network
 * namespace with all its links and rules. `setpriv --pdeathsig KILL` ties `unshare` to the test
 * process and `--kill-child` ties the init to `unshare`, so this also happens when the test crashes.
 *
 * The one trace left on the host is an empty /var/run/netns directory (the mount point), which
 * iproute2 creates there anyway on first use.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { type CommandRunner, spawnRunner } from '../../src/cluster/netns.js';

/** The shell that prepares a fresh sandbox before running the real command. */
const SETUP = ['set -e', 'mkdir -p /var/run/netns', 'mount -t tmpfs -o mode=0755 svcnet-sandbox /var/run/netns', 'ip link set lo up'].join(
  '\n',
);

/** The argv that runs `argv` as the init of a new sandbox; with `readyFd`, "ready" is written to that fd once set up. */
function sandboxArgv(argv: readonly string[], readyFd?: number): string[] {
  const ready = readyFd ? `\necho ready >&${readyFd}\nexec ${readyFd}>&-` : '';
  return [
    'setpriv',
    '--pdeathsig',
    'KILL',
    'unshare',
    '--net',
    '--mount',
    '--pid',
    '--fork',
    '--kill-child',
    '--mount-proc',
    '--propagation',
    'private',
    'sh',
    '-c',
    `${SETUP}${ready}\nexec "$@"`,
    'svcnet-sandbox',
    ...argv,
  ];
}

/** How a command ended, with what it printed. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when killed by a signal. */
  code: number | null;
}

export interface SandboxRunOptions {
  env?: Record<string, string>;
  input?: string;
  /** SIGKILL the sandbox after this long. Default 60 s. */
  timeoutMs?: number;
}

function collect(child: ChildProcess, options: SandboxRunOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

function spawnEnv(options: SandboxRunOptions): NodeJS.ProcessEnv {
  return options.env ? { ...process.env, ...options.env } : process.env;
}

/** Runs a shell script (`sh -c script sh ...args`) in a new sandbox and returns how it ended; the sandbox is gone when this resolves. */
export function runInSandbox(script: string, args: readonly string[] = [], options: SandboxRunOptions = {}): Promise<ExecResult> {
  return runCommandInSandbox(['sh', '-c', script, 'sh', ...args], options);
}

/** Runs a command in a new sandbox; the sandbox is gone when this resolves. */
export function runCommandInSandbox(argv: readonly string[], options: SandboxRunOptions = {}): Promise<ExecResult> {
  const [file, ...args] = sandboxArgv(argv);
  return collect(spawn(file!, args, { env: spawnEnv(options), stdio: ['pipe', 'pipe', 'pipe'] }), options);
}

/** Runs a TypeScript or JavaScript module with node (+tsx) in a new sandbox; the sandbox is gone when this resolves. */
export function runNodeInSandbox(modulePath: string, args: readonly string[] = [], options: SandboxRunOptions = {}): Promise<ExecResult> {
  return runCommandInSandbox([process.execPath, '--import', 'tsx', modulePath, ...args], options);
}

/** A running sandbox. */
export interface Sandbox {
  /** Host PID of the sandbox's init (PID 1 inside): the target for `nsenter`. */
  readonly pid: number;
  /** The `unshare` process. */
  readonly process: ChildProcess;
  /** Runs commands inside the sandbox; rejects on a non-zero exit like any {@link CommandRunner}. */
  readonly run: CommandRunner;
  /** Kills the sandbox and waits until its init (and so every process inside) is gone. Safe to call twice. */
  stop(): Promise<void>;
}

/** `nsenter` into all of the sandbox's namespaces that matter (PID too, so /proc/self works under its /proc). */
function nsenterArgv(pid: number, argv: readonly string[]): string[] {
  return ['nsenter', '--target', String(pid), '--net', '--mount', '--pid', '--', ...argv];
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Whether a host PID is alive (a zombie counts as gone: it holds no namespaces). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves once `pid` is gone; rejects after `timeoutMs`. */
export async function waitForProcessGone(pid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still alive after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Starts a long-running sandbox whose init runs `argv` (default: sleep forever).
 * Resolves once the sandbox is set up (lo up, /var/run/netns private).
 */
export async function startInSandbox(argv: readonly string[] = ['sleep', 'infinity'], options: SandboxRunOptions = {}): Promise<Sandbox> {
  const [file, ...args] = sandboxArgv(argv, 3);
  const child = spawn(file!, args, { env: spawnEnv(options), stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout!.resume();
  const readyPipe = child.stdio[3] as Readable;
  await new Promise<void>((resolve, reject) => {
    let ready = '';
    // unshare itself keeps the pipe open, so readiness is the word arriving, not the pipe closing.
    readyPipe.setEncoding('utf8').on('data', (chunk: string) => {
      ready += chunk;
      if (ready.includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`sandbox failed to start (exit ${code}): ${stderr.trim()}`)));
    child.on('error', reject);
  });
  const unsharePid = child.pid!;
  const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/);
  const pid = Number(children[0]);
  if (!pid) throw new Error(`sandbox init not found under unshare pid ${unsharePid}`);
  return {
    pid,
    process: child,
    run: spawnRunner((cmd) => nsenterArgv(pid, cmd)),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await waitForExit(child);
      await waitForProcessGone(pid);
    },
  };
}

/** Runs `fn` with a fresh sandbox and always tears it down afterwards. */
export async function withNetSandbox<T>(fn: (sandbox: Sandbox) => Promise<T>): Promise<T> {
  const sandbox = await startInSandbox();
  try {
    return await fn(sandbox);
  } finally {
    await sandbox.stop();
  }
}

/** Runs a command (argv, or a string for `sh -c`) inside an existing sandbox; resolves with how it ended, whatever the exit status. */
export function sandboxExec(sandbox: Sandbox, cmd: string | readonly string[], options: SandboxRunOptions = {}): Promise<ExecResult> {
  const argv = typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
  const [file, ...args] = nsenterArgv(sandbox.pid, argv);
  return collect(spawn(file!, args, { env: spawnEnv(options), stdio: ['pipe', 'pipe', 'pipe'] }), options);
}

/** Starts a long-running command inside an existing sandbox (e.g. a server); it dies with the sandbox at the latest. */
export function sandboxSpawn(sandbox: Sandbox, argv: readonly string[], options: Pick<SandboxRunOptions, 'env'> = {}): ChildProcess {
  const [file, ...args] = nsenterArgv(sandbox.pid, argv);
  return spawn(file!, args, { env: spawnEnv(options), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with the first stdout line of `child` that matches; rejects when it exits first or after `timeoutMs`. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(
      () => done(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderr.trim()}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) done(undefined, line);
    };
    const onErr = (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    };
    const onExit = (code: number | null) => done(new Error(`exited (${code}) before printing ${pattern}; stderr: ${stderr.trim()}`));
    function done(err?: Error, line?: string) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(line!);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.on('exit', onExit);
  });
}

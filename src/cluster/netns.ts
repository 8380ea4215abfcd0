/**
 * Network-namespace primitives: the thin edge between svcnet and the kernel's network stack.
 *
 * Everything goes through iproute2 (`ip`), `nsenter` and `sysctl`, run by an injected
 * {@link CommandRunner}, so the same code drives the host (for `svcnet up`), a test sandbox
 * (commands wrapped in `nsenter` into the sandbox) or a fake in unit tests.
 */
import { spawn } from 'node:child_process';

/** Options for one command run. */
export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /**
   * Written to stdin chunk by chunk, each pulled only when the pipe has room, then stdin is closed:
   * a generator producing the chunks runs while the command consumes the earlier ones. Only runners
   * with {@link CommandRunner.streamsInput} read it; {@link runWithChunks} picks the right option.
   * When the iterator throws, the command is killed (so it never sees a truncated input as complete)
   * and the run rejects with that error.
   */
  inputChunks?: Iterable<string>;
  /** Added to (and overriding) the inherited environment. */
  env?: Record<string, string>;
  /** Kill the command (SIGKILL) when it runs longer than this. Default 30 s. */
  timeoutMs?: number;
}

/** What a command printed. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs `argv` to completion; rejects with {@link CommandError} when it exits non-zero.
 * `streamsInput` marks runners that honour {@link RunOptions.inputChunks} (fakes need not).
 */
export type CommandRunner = ((argv: readonly string[], options?: RunOptions) => Promise<RunResult>) & {
  readonly streamsInput?: boolean;
};

/**
 * Runs `argv` with `chunks` as its stdin: streamed while they are produced when the runner can,
 * joined into one `input` string otherwise.
 */
export function runWithChunks(
  run: CommandRunner,
  argv: readonly string[],
  chunks: Iterable<string>,
  options: Omit<RunOptions, 'input' | 'inputChunks'> = {},
): Promise<RunResult> {
  if (run.streamsInput) return run(argv, { ...options, inputChunks: chunks });
  return run(argv, { ...options, input: [...chunks].join('') });
}

/** A command that failed: keeps the command line, exit status and output for the message and for callers that inspect them. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stdout: string,
    readonly stderr: string,
    detail?: string,
  ) {
    const status = code !== null ? `exit status ${code}` : `killed by ${signal}`;
    const output = stderr.trim() || stdout.trim();
    super(`${argv.join(' ')}: ${detail ?? (output ? `${output} (${status})` : status)}`);
  }
}

/**
 * A runner that spawns processes directly. `wrap` turns the argv into the one really spawned,
 * e.g. prefixing `nsenter --target <pid> --net --mount --pid --` to run inside a sandbox.
 */
export function spawnRunner(wrap: (argv: readonly string[]) => readonly string[] = (argv) => argv): CommandRunner {
  const run = (argv: readonly string[], options: RunOptions = {}) =>
    new Promise<RunResult>((resolve, reject) => {
      const [file, ...args] = wrap(argv);
      const child = spawn(file!, args, {
        env: options.env ? { ...process.env, ...options.env } : process.env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let inputError: unknown;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const detail = err.code === 'ENOENT' ? `${file} not found (is it installed and on PATH?)` : err.message;
        reject(new CommandError(argv, null, null, stdout, stderr, detail));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (inputError !== undefined) reject(inputError);
        else if (code === 0) resolve({ stdout, stderr });
        else reject(new CommandError(argv, code, signal, stdout, stderr));
      });
      // A command that exits without reading stdin makes the write fail with EPIPE; its exit status tells the story.
      child.stdin.on('error', () => {});
      if (!options.inputChunks) {
        child.stdin.end(options.input ?? '');
        return;
      }
      const chunks = options.inputChunks[Symbol.iterator]();
      const pump = () => {
        try {
          for (;;) {
            if (child.stdin.destroyed) return;
            const next = chunks.next();
            if (next.done) {
              child.stdin.end();
              return;
            }
            // Backpressure: produce the next chunk only once the command has taken this one.
            if (!child.stdin.write(next.value)) {
              child.stdin.once('drain', pump);
              return;
            }
          }
        } catch (err) {
          inputError = err;
          child.kill('SIGKILL');
        }
      };
      pump();
    });
  return Object.assign(run, { streamsInput: true });
}

/** Runs commands in the namespaces of the current process. */
export const hostRunner: CommandRunner = spawnRunner();

/** Where iproute2 keeps the bind mount that names a network namespace. */
export function netnsPath(name: string): string {
  return `/var/run/netns/${name}`;
}

/** The argv that runs `argv` inside the named network namespace (network only: mounts and /sys stay as they are, which is cheaper than `ip netns exec`). */
export function inNetns(name: string, argv: readonly string[]): string[] {
  return ['nsenter', `--net=${netnsPath(name)}`, '--', ...argv];
}

/** Longest interface name the kernel accepts (IFNAMSIZ - 1). */
export const MAX_IFNAME = 15;

/** Throws a clear error for a name the kernel would reject with a terse "Invalid argument". */
export function checkIfname(name: string): void {
  if (name.length === 0 || name.length > MAX_IFNAME || /[\s/:]/.test(name)) {
    throw new Error(`invalid interface name "${name}": must be 1-${MAX_IFNAME} characters without spaces, '/' or ':'`);
  }
}

/** Where a command runs: a named network namespace, or (when undefined) the current one. */
export interface Where {
  netns?: string;
}

interface IpLink {
  ifname: string;
  link_type?: string;
  linkinfo?: { info_kind?: string };
}

/** A link as `listLinks` reports it. */
export interface LinkInfo {
  name: string;
  /** veth, bridge, … (undefined for plain devices such as lo). */
  kind?: string;
}

/**
 * The network-namespace operations svcnet needs, each one `ip`/`sysctl` call.
 * Creation is idempotent (`replace`, or "exists" tolerated) so `svcnet up` can be run again over a half-made topology,
 * and deletion tolerates things already gone so cleanup can always run to the end.
 */
export class NetnsOps {
  constructor(readonly run: CommandRunner = hostRunner) {}

  private ip(where: Where, args: readonly string[], options?: RunOptions): Promise<RunResult> {
    return this.run(where.netns ? ['ip', '-n', where.netns, ...args] : ['ip', ...args], options);
  }

  /**
   * Creates the named network namespace (no error when it exists), by default with `lo` up.
   * Pass `loopbackUp: false` when something else (the CNI loopback plugin) brings it up, to save a command.
   */
  async addNetns(name: string, options: { loopbackUp?: boolean } = {}): Promise<void> {
    try {
      await this.run(['ip', 'netns', 'add', name]);
    } catch (err) {
      if (!(err instanceof CommandError && /File exists/.test(err.stderr))) throw err;
    }
    if (options.loopbackUp ?? true) await this.ip({ netns: name }, ['link', 'set', 'lo', 'up']);
  }

  /**
   * Runs many `ip` commands (one per line, without the leading `ip`, e.g. `link set eth0 up`) in a single `ip -batch` process:
   * one process start instead of one per command. Stops at the first failing line, which the error names.
   */
  async batch(lines: readonly string[], where: Where = {}): Promise<void> {
    if (lines.length === 0) return;
    await this.ip(where, ['-batch', '-'], { input: `${lines.join('\n')}\n` });
  }

  /** Deletes the named network namespace; no error when it does not exist. */
  async deleteNetns(name: string): Promise<void> {
    try {
      await this.run(['ip', 'netns', 'delete', name]);
    } catch (err) {
      if (!(err instanceof CommandError && /No such file/.test(err.stderr))) throw err;
    }
  }

  /** Names of all named network namespaces. */
  async listNetns(): Promise<string[]> {
    const { stdout } = await this.run(['ip', '-j', 'netns', 'list']);
    if (!stdout.trim()) return [];
    return (JSON.parse(stdout) as { name: string }[]).map((ns) => ns.name);
  }

  /** Runs a command inside a named network namespace. */
  exec(netns: string, argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return this.run(inNetns(netns, argv), options);
  }

  /** Links in a namespace, with their kind. */
  async listLinks(where: Where = {}): Promise<LinkInfo[]> {
    const { stdout } = await this.ip(where, ['-j', '-d', 'link', 'show']);
    return (JSON.parse(stdout || '[]') as IpLink[]).map((l) => ({ name: l.ifname, kind: l.linkinfo?.info_kind }));
  }

  /** Whether a link exists. */
  async hasLink(name: string, where: Where = {}): Promise<boolean> {
    return (await this.listLinks(where)).some((l) => l.name === name);
  }

  /**
   * Creates a veth pair `name` (in `where`) ↔ `peer` (in `peerNetns`, default the same namespace).
   * When `name` already exists the pair is left as it is.
   */
  async addVethPair(name: string, peer: string, options: Where & { peerNetns?: string } = {}): Promise<void> {
    checkIfname(name);
    checkIfname(peer);
    if (await this.hasLink(name, options)) return;
    const peerWhere = options.peerNetns ? ['netns', options.peerNetns] : [];
    await this.ip(options, ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer, ...peerWhere]);
  }

  /** Creates a bridge and sets it up; no error when it exists. */
  async addBridge(name: string, where: Where = {}): Promise<void> {
    checkIfname(name);
    if (!(await this.hasLink(name, where))) await this.ip(where, ['link', 'add', name, 'type', 'bridge']);
    await this.linkUp(name, where);
  }

  /** Enslaves a link to a bridge. */
  async setMaster(link: string, bridge: string, where: Where = {}): Promise<void> {
    await this.ip(where, ['link', 'set', link, 'master', bridge]);
  }

  /** Sets a link up. */
  async linkUp(link: string, where: Where = {}): Promise<void> {
    await this.ip(where, ['link', 'set', link, 'up']);
  }

  /** Deletes a link (a veth takes its peer with it); no error when it does not exist. */
  async deleteLink(name: string, where: Where = {}): Promise<void> {
    try {
      await this.ip(where, ['link', 'delete', name]);
    } catch (err) {
      if (!(err instanceof CommandError && /Cannot find device|does not exist/.test(err.stderr))) throw err;
    }
  }

  /** Assigns `cidr` (e.g. 172.18.0.1/16) to a link; idempotent. */
  async addAddress(link: string, cidr: string, where: Where = {}): Promise<void> {
    await this.ip(where, ['addr', 'replace', cidr, 'dev', link]);
  }

  /** Adds or replaces a route to `dst` (a CIDR or `default`). */
  async addRoute(dst: string, route: { via?: string; dev?: string } & Where): Promise<void> {
    const args = ['route', 'replace', dst];
    if (route.via) args.push('via', route.via);
    if (route.dev) args.push('dev', route.dev);
    await this.ip(route, args);
  }

  /** Removes a route; no error when it is not there. */
  async deleteRoute(dst: string, where: Where = {}): Promise<void> {
    try {
      await this.ip(where, ['route', 'delete', dst]);
    } catch (err) {
      if (!(err instanceof CommandError && /No such process|not found/i.test(err.stderr))) throw err;
    }
  }

  /** Sets a sysctl such as `net.ipv4.ip_forward`; under `net.` it applies to the namespace it runs in. */
  async setSysctl(key: string, value: string | number, where: Where = {}): Promise<void> {
    const argv = ['sysctl', '-q', '-w', `${key}=${value}`];
    await this.run(where.netns ? inNetns(where.netns, argv) : argv);
  }

  /** Reads a sysctl. */
  async getSysctl(key: string, where: Where = {}): Promise<string> {
    const argv = ['sysctl', '-n', key];
    const { stdout } = await this.run(where.netns ? inNetns(where.netns, argv) : argv);
    return stdout.trim();
  }

  /**
   * Removes every named namespace and every link of the current namespace whose name starts with `prefix`,
   * plus the links named in `links`. Safe to run at any time, e.g. after a crash: whatever is already gone is skipped.
   * Returns what it removed.
   */
  async cleanupByPrefix(prefix: string, links: readonly string[] = []): Promise<{ netns: string[]; links: string[] }> {
    if (!prefix) throw new Error('cleanupByPrefix: an empty prefix would match everything');
    const wanted = new Set(links);
    const [allNetns, allLinks] = await Promise.all([this.listNetns(), this.listLinks()]);
    const namespaces = allNetns.filter((name) => name.startsWith(prefix));
    const present = allLinks.map((l) => l.name).filter((name) => name.startsWith(prefix) || wanted.has(name));
    // Links first: deleting a veth end here removes its peer at once, whereas a deleted namespace is torn down
    // asynchronously by the kernel, and its veth peers here could linger for a moment and clash with a new `up`.
    await Promise.all(present.map((name) => this.deleteLink(name)));
    await Promise.all(namespaces.map((name) => this.deleteNetns(name)));
    return { netns: namespaces, links: present };
  }
}

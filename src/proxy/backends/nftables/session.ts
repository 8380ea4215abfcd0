/**
 * A long-lived `nft -i` for small transactions. Each `nft` process costs ~15–18 ms of wall time
 * against ~3 ms of CPU (measured: `perf stat -r 30 nft -f` of a one-chain transaction): most of it
 * is spent asleep in the kernel while the process's netlink socket is torn down. A partial sync at
 * 1,000 Services takes ~30 ms in all, so one process kept open for them saves about half of it.
 *
 * Protocol: in interactive mode nft runs each input line as one transaction (atomic: a line that
 * fails applies nothing), so the transaction's commands go on one line separated by `;`. After it
 * comes a sentinel line, a bare word, which fails to parse with an error echoing the line; stderr
 * is merged into stdout (`2>&1`), so everything before the sentinel's error is the transaction's
 * output, and any `Error:` there means it failed. The sentinel never reaches the kernel: a
 * `list table ip <missing>` sentinel made nft fetch the whole ruleset each time (~0.7 s at 10k
 * Services).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CommandError } from '../../../cluster/netns.js';

/** Starts a process with piped stdin and stdout (e.g. inside a node's network namespace). */
export type Spawner = (argv: readonly string[]) => ChildProcess;

/** Spawns in the namespaces of the current process (as `hostRunner` runs commands). */
export const hostSpawner: Spawner = (argv) => spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });

/** The command the session runs: nft's stderr merged into its stdout, so the two arrive in order. */
export const NFT_SESSION_ARGV: readonly string[] = ['sh', '-c', 'exec nft -i 2>&1'];

interface Pending {
  marker: string;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** One `nft -i` process, started on first use and again after it fails; transactions run one at a time. */
export class NftSession {
  #child: ChildProcess | undefined;
  #output = '';
  #pending: Pending | undefined;
  #sequence = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly spawn: Spawner,
    readonly timeoutMs = 60_000,
  ) {}

  /** Applies one transaction (the text `nft -f` would take, one command per line); rejects with nft's error. */
  apply(text: string): Promise<void> {
    const run = this.#queue.then(() => this.#apply(text));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Ends the process (a later apply starts a new one). */
  close(): void {
    const child = this.#child;
    this.#child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.#fail(new Error('nft session closed'));
  }

  #apply(text: string): Promise<void> {
    const commands = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .join(' ; ');
    if (commands === '') return Promise.resolve();
    const child = this.#start();
    const name = `svcnet-sync-end-${++this.#sequence}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
        reject(new Error(`nft -i: no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.#pending = { marker: `\n${name}\n`, resolve, reject, timer };
      this.#output = '';
      child.stdin!.write(`${commands}\n${name}\n`);
    });
  }

  #start(): ChildProcess {
    if (this.#child) return this.#child;
    const child = this.spawn(NFT_SESSION_ARGV);
    this.#child = child;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#output += chunk;
      this.#check();
    });
    child.stdin!.on('error', () => {}); // a dead process shows up as 'exit'
    child.on('error', (err) => this.#lost(child, err));
    child.on('exit', (code, signal) => this.#lost(child, new CommandError(NFT_SESSION_ARGV, code, signal, this.#output, '')));
    return child;
  }

  #lost(child: ChildProcess, err: Error): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    this.#fail(err);
  }

  #fail(err: Error): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.reject(err);
  }

  /** Settles the transaction in flight once the sentinel's error (echo and caret line) has arrived. */
  #check(): void {
    const pending = this.#pending;
    if (!pending) return;
    const at = this.#output.indexOf(pending.marker);
    if (at < 0 || this.#output.indexOf('\n', at + pending.marker.length) < 0) return;
    // Drop the sentinel's own "Error: …" line, just before its echo.
    const before = this.#output.slice(0, at);
    const ownOutput = before.slice(0, before.lastIndexOf('\n') + 1);
    this.#pending = undefined;
    this.#output = '';
    clearTimeout(pending.timer);
    if (ownOutput.includes('Error:')) pending.reject(new CommandError(['nft', '-i'], 1, null, '', ownOutput.trim()));
    else pending.resolve();
  }
}

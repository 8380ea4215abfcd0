/**
 * The iptables edge: feeds restore text to `iptables-restore` on stdin and reads `iptables-save`.
 * Thin on purpose; the command runner is injected (host, a node's netns, a test sandbox, a fake).
 */
import { type CommandRunner, runWithChunks } from '../../../cluster/netns.js';

export interface IptablesExecutorOptions {
  run: CommandRunner;
  /** Use the legacy xtables binaries (`iptables-legacy-restore`) instead of the nf_tables ones. */
  legacy?: boolean;
  /** Seconds to wait for the xtables lock (`-w`). Default 5. */
  lockWaitSeconds?: number;
  /** Kill a restore that runs longer than this. Default 10 minutes (a 10k-service full load takes seconds). */
  timeoutMs?: number;
}

/** Runs iptables-restore / iptables-save. */
export class IptablesExecutor {
  readonly #run: CommandRunner;
  readonly #restoreBin: string;
  readonly #saveBin: string;
  readonly #wait: string;
  readonly #timeoutMs: number;

  constructor(options: IptablesExecutorOptions) {
    this.#run = options.run;
    this.#restoreBin = options.legacy ? 'iptables-legacy-restore' : 'iptables-restore';
    this.#saveBin = options.legacy ? 'iptables-legacy-save' : 'iptables-save';
    this.#wait = String(options.lockWaitSeconds ?? 5);
    this.#timeoutMs = options.timeoutMs ?? 600_000;
  }

  /** Applies restore text atomically per table; `noflush` keeps chains the text does not declare. */
  async restore(text: string, options: { noflush: boolean }): Promise<void> {
    if (text === '') return;
    const argv = [this.#restoreBin, '-w', this.#wait, ...(options.noflush ? ['--noflush'] : [])];
    await this.#run(argv, { input: text, timeoutMs: this.#timeoutMs });
  }

  /** Like {@link restore}, with the text streamed in chunks as they are produced (see {@link runWithChunks}). */
  async restoreChunks(chunks: Iterable<string>, options: { noflush: boolean }): Promise<void> {
    const argv = [this.#restoreBin, '-w', this.#wait, ...(options.noflush ? ['--noflush'] : [])];
    await runWithChunks(this.#run, argv, chunks, { timeoutMs: this.#timeoutMs });
  }

  /** `iptables-save` of the nat and filter tables. */
  async save(): Promise<string> {
    const nat = await this.#run([this.#saveBin, '-t', 'nat'], { timeoutMs: this.#timeoutMs });
    const filter = await this.#run([this.#saveBin, '-t', 'filter'], { timeoutMs: this.#timeoutMs });
    return `${filter.stdout}\n${nat.stdout}`;
  }
}

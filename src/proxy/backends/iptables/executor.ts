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
  /** `iptables` of the same variant as the restore and save binaries. */
  readonly #listBin: string;
  readonly #wait: string;
  readonly #timeoutMs: number;

  constructor(options: IptablesExecutorOptions) {
    this.#run = options.run;
    this.#restoreBin = options.legacy ? 'iptables-legacy-restore' : 'iptables-restore';
    this.#saveBin = options.legacy ? 'iptables-legacy-save' : 'iptables-save';
    this.#listBin = options.legacy ? 'iptables-legacy' : 'iptables';
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

  /**
   * `iptables-save` of every table (callers read nat and filter). One run, not one per table:
   * iptables-nft-save fetches the whole ruleset either way, so `-t filter` after `-t nat` cost
   * another 2.1 s at 10k Services.
   */
  async save(): Promise<string> {
    return (await this.#run([this.#saveBin], { timeoutMs: this.#timeoutMs })).stdout;
  }

  /** Whether the binaries run are the nf_tables variants (`iptables-save --version` says which). */
  #nft: Promise<boolean> | undefined;
  #nfTables(): Promise<boolean> {
    this.#nft ??= this.#run([this.#saveBin, '--version'], { timeoutMs: this.#timeoutMs }).then(
      (r) => r.stdout.includes('nf_tables'),
      () => false,
    );
    return this.#nft;
  }

  /**
   * What a full sync must carry over: the nat and filter tables' built-in chains and every chain
   * `isOwn` does not claim, as iptables-save text. With the nf_tables backend it lists the chain
   * names (`nft list chains ip`, no rules) and reads only those chains (`iptables -S CHAIN`, which
   * fetches one chain): 1.1 s instead of iptables-save's 3.2 s at 10k Services, whose 170k rules
   * are all ours. Legacy always saves; so does anything that goes wrong on the way (nft missing, a
   * chain deleted between the listing and its read).
   */
  async saveForeign(isOwn: (table: string, chain: string) => boolean): Promise<string> {
    if (!(await this.#nfTables())) return this.save();
    try {
      return await this.#readForeign(isOwn);
    } catch {
      return this.save();
    }
  }

  async #readForeign(isOwn: (table: string, chain: string) => boolean): Promise<string> {
    const listing = (await this.#run(['nft', 'list', 'chains', 'ip'], { timeoutMs: this.#timeoutMs })).stdout;
    const out: string[] = [];
    for (const [table, chains] of chainsByTable(listing)) {
      if (table !== 'nat' && table !== 'filter') continue;
      // Built-in chains first, in hook order, as iptables-save writes them; then the others.
      const builtin = BUILTIN_ORDER.filter((c) => chains.includes(c));
      const wanted = [...builtin, ...chains.filter((c) => !BUILTIN_CHAINS.has(c) && !isOwn(table, c))];
      const specs = await mapLimited(
        wanted,
        READ_CONCURRENCY,
        async (c) => (await this.#run([this.#listBin, '-w', this.#wait, '-t', table, '-S', c], { timeoutMs: this.#timeoutMs })).stdout,
      );
      out.push(`*${table}`);
      const rules: string[] = [];
      for (const spec of specs) {
        for (const line of spec.split('\n')) {
          const policy = /^-P (\S+) (\S+)$/.exec(line);
          if (policy) out.push(`:${policy[1]} ${policy[2]} [0:0]`);
          else if (line.startsWith('-N ')) out.push(`:${line.slice(3).trim()} - [0:0]`);
          else if (line.startsWith('-A ')) rules.push(line);
        }
      }
      out.push(...rules, 'COMMIT');
    }
    return `${out.join('\n')}\n`;
  }
}

/** `iptables -S CHAIN` processes at once (a node with many CNI chains must not fork hundreds). */
const READ_CONCURRENCY = 8;

/** `fn` over `items` with at most `limit` calls in flight; results in `items` order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** iptables' built-in chains (in any table): their policy and rules are always read. */
const BUILTIN_ORDER = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];
const BUILTIN_CHAINS = new Set(BUILTIN_ORDER);

/** `nft list chains ip` → table name → chain names, in listing order. */
export function chainsByTable(listing: string): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of listing.split('\n')) {
    const table = /^table ip (\S+) \{$/.exec(line);
    if (table) {
      current = [];
      tables.set(table[1]!, current);
      continue;
    }
    const chain = /^\tchain (\S+) \{$/.exec(line);
    if (chain && current) current.push(chain[1]!);
  }
  return tables;
}

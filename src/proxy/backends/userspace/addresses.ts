/**
 * Service IPs held on the node namespace's loopback, so the userspace proxy can bind them.
 *
 * This kernel has neither IPVS nor the `dummy` link type that kube-proxy's IPVS mode puts its
 * `kube-ipvs0` addresses on, so svcnet holds them on `lo` instead, as `/32`s labelled `lo:svcnet`:
 * the label marks them as ours (a full sync lists them back and removes strays left by a crash),
 * and `ip addr show dev lo` shows what the proxy serves, as `ip addr show kube-ipvs0` does on an
 * IPVS node. Addresses in 127.0.0.0/8 are already local and are never added.
 */
import type { CommandRunner } from '../../../cluster/netns.js';

/** The label on every address this module adds. */
export const LOOPBACK_LABEL = 'lo:svcnet';

/** Keeps a set of addresses present on the loopback. */
export interface AddressPlumber {
  /** Makes the held set equal `desired`; `full` re-reads the kernel instead of trusting memory. */
  sync(desired: ReadonlySet<string>, full: boolean): Promise<void>;
  /** Removes every address this plumber holds. */
  clear(): Promise<void>;
}

/** Parses `ip -4 -o addr show` lines into addresses. */
export function parseAddrShow(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\/32\b/g)) out.add(m[1]!);
  return out;
}

/** `ip -batch` lines that turn `current` into `desired`. */
export function addressBatch(current: ReadonlySet<string>, desired: ReadonlySet<string>, label = LOOPBACK_LABEL): string {
  const lines: string[] = [];
  for (const ip of [...current].sort()) if (!desired.has(ip)) lines.push(`address del ${ip}/32 dev lo label ${label}`);
  for (const ip of [...desired].sort()) if (!current.has(ip)) lines.push(`address add ${ip}/32 dev lo label ${label}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The {@link AddressPlumber} for `lo`, through `ip` run by the injected runner (the proxy's own namespace). */
export class LoopbackAddresses implements AddressPlumber {
  #held: Set<string> | undefined;

  constructor(
    readonly run: CommandRunner,
    readonly label = LOOPBACK_LABEL,
  ) {}

  async #list(): Promise<Set<string>> {
    const { stdout } = await this.run(['ip', '-4', '-o', 'addr', 'show', 'dev', 'lo', 'label', this.label]);
    return parseAddrShow(stdout);
  }

  async sync(desired: ReadonlySet<string>, full: boolean): Promise<void> {
    const wanted = new Set([...desired].filter((ip) => !ip.startsWith('127.')));
    const current = full || !this.#held ? await this.#list() : this.#held;
    const batch = addressBatch(current, wanted, this.label);
    this.#held = undefined;
    if (batch) await this.run(['ip', '-batch', '-'], { input: batch });
    this.#held = wanted;
  }

  async clear(): Promise<void> {
    await this.sync(new Set(), true);
  }
}

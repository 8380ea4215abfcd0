/**
 * The kubelet's container restart back-off (flowcontrol.Backoff keyed per pod container): the first
 * restart is immediate, then the container waits 10 s after it last exited, doubling to 5 minutes.
 * An entry left alone for twice the maximum is forgotten, so a container that ran well for a long
 * time starts over at 10 s.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
}

export const DEFAULT_BACKOFF_INITIAL_MS = 10_000;
export const DEFAULT_BACKOFF_MAX_MS = 300_000;

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

export class CrashBackoff {
  private readonly entries = new Map<string, Entry>();
  readonly initialMs: number;
  readonly maxMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  }

  /**
   * How long the container `key`, which exited at `finishedAt`, must still wait before it may be
   * restarted at `now` (0: restart now; the restart is then recorded and the next wait doubles),
   * and the back-off period that applies (for the CrashLoopBackOff message).
   */
  check(key: string, finishedAt: number, now: number): { waitMs: number; backoffMs: number } {
    let entry = this.entries.get(key);
    if (entry && now - entry.lastUpdate > 2 * this.maxMs) {
      this.entries.delete(key);
      entry = undefined;
    }
    if (entry) {
      const waitMs = finishedAt + entry.backoffMs - now;
      if (waitMs > 0) return { waitMs, backoffMs: entry.backoffMs };
      entry.backoffMs = Math.min(entry.backoffMs * 2, this.maxMs);
      entry.lastUpdate = now;
      return { waitMs: 0, backoffMs: entry.backoffMs };
    }
    this.entries.set(key, { backoffMs: this.initialMs, lastUpdate: now });
    return { waitMs: 0, backoffMs: this.initialMs };
  }

  forget(keyPrefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(keyPrefix)) this.entries.delete(key);
  }
}

/** "5m0s", "40s": Go's time.Duration text for whole seconds, as the kubelet's back-off message prints it. */
export function goDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

import type { Store } from './types.js';

export interface CompactorOptions {
  /** How often to compact; kube-apiserver uses 5 minutes. */
  intervalMs?: number;
  /** How many of the newest revisions to keep watchable and readable. */
  keepRevisions?: number;
  /** Called when a compaction fails; the compactor keeps running. */
  onError?: (err: unknown) => void;
}

/**
 * Compacts store periodically so history (and memory) stays bounded while recent revisions stay
 * watchable. kube-apiserver compacts every 5 minutes to the revision it saw one interval earlier; a
 * revision count is simpler and bounds history by writes rather than by time.
 */
export function startCompactor(store: Store, opts: CompactorOptions = {}): { stop(): void; compactNow(): Promise<void> } {
  const { intervalMs = 5 * 60_000, keepRevisions = 10_000, onError = () => {} } = opts;
  const compactNow = async () => {
    const target = (await store.currentRevision()) - keepRevisions;
    if (target > (await store.compactedRevision())) await store.compact(target);
  };
  const timer = setInterval(() => compactNow().catch(onError), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), compactNow };
}

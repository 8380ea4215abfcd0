/**
 * Events expire, as kube-apiserver's `--event-ttl` (1 h) makes them: etcd drops each event an hour
 * after its last write. This store has no leases, so a periodic sweep deletes the events whose
 * newest timestamp (lastTimestamp, series.lastObservedTime, eventTime, creationTimestamp — the
 * last write stamps one of them) is older than the TTL.
 */
import { StatusError } from '../api/errors.js';
import type { KubeObject } from '../api/meta.js';
import type { GenericStorage } from './registry/generic.js';

export interface EventTTLOptions {
  /** How long an event lives after its last write (default 1 h, kube's default). */
  ttlMs?: number;
  /** How often to sweep (default 1 min). */
  everyMs?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

type EventLike = KubeObject & {
  lastTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string };
};

/** When the event was last written, as far as its own timestamps tell. */
export function lastWrite(ev: EventLike): number {
  const times = [ev.lastTimestamp, ev.series?.lastObservedTime, ev.eventTime, ev.metadata.creationTimestamp].map((t) =>
    t ? Date.parse(t) : Number.NaN,
  );
  return Math.max(...times.filter((t) => !Number.isNaN(t)), Number.NEGATIVE_INFINITY);
}

/** Events read per step of a sweep. */
const PAGE = 500;

/** Starts sweeping `events` (the core/v1 Event storage, which events.k8s.io shares). */
export function startEventTTL(events: GenericStorage, opts: EventTTLOptions = {}): { stop(): void; sweepNow(): Promise<number> } {
  const { ttlMs = 60 * 60_000, everyMs = 60_000, now = Date.now, onError = () => {} } = opts;
  const sweepNow = async (): Promise<number> => {
    const cutoff = now() - ttlMs;
    let deleted = 0;
    // In pages, so a cluster with many events never holds the event loop for a whole list.
    let next: string | undefined;
    do {
      const page = await events.list(undefined, { limit: PAGE, continue: next });
      for (const ev of page.items as EventLike[]) {
        if (lastWrite(ev) >= cutoff) continue;
        try {
          // Only the version that was seen expired: an event updated meanwhile lives on.
          await events.delete(ev.metadata.namespace, ev.metadata.name ?? '', {
            preconditions: { resourceVersion: ev.metadata.resourceVersion },
          });
          deleted++;
        } catch (e) {
          if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
        }
      }
      next = page.metadata.continue;
    } while (next);
    return deleted;
  };
  const timer = setInterval(() => sweepNow().catch(onError), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer), sweepNow };
}

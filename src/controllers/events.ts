/**
 * EventRecorder, shaped like client-go's tools/record: controllers report what they did as
 * core/v1 Events about an object, and `kubectl describe` lists them. A repeat of the same event
 * (same object, type, reason, message and source) bumps `count` and `lastTimestamp` on the
 * existing Event instead of creating another, as client-go's correlator does.
 *
 * Recording never throws and never blocks the caller: events are best effort, like upstream.
 */
import type { KubeObject } from '../api/meta.js';
import { type Client, R } from '../client/types.js';
import { timestamp } from './controller.js';

export type EventType = 'Normal' | 'Warning';

/** Who reports: `source.component` (e.g. `deployment-controller`) and, for node agents, `source.host`. */
export interface EventSource {
  component: string;
  host?: string;
}

/** The reference an Event keeps to the object it is about. */
export interface InvolvedObject {
  kind?: string;
  apiVersion?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

/** How many distinct events the aggregation cache remembers (client-go keeps 4096). */
const CACHE_SIZE = 4096;

/** The object reference an Event carries; `kind`/`apiVersion` must be on the object. */
export function referenceTo(obj: KubeObject): InvolvedObject {
  return {
    kind: obj.kind,
    namespace: obj.metadata.namespace,
    name: obj.metadata.name,
    uid: obj.metadata.uid,
    apiVersion: obj.apiVersion,
    resourceVersion: obj.metadata.resourceVersion,
  };
}

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  /** Writes per aggregation key run one after another, so a repeat never races its create. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<void>>();
  /** Keeps names unique when two events are created in the same millisecond. */
  private sequence = 0;

  constructor(
    private readonly client: Client,
    private readonly source: EventSource,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records an event about `obj` (which must carry `kind` and `apiVersion`). */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    this.record(referenceTo(obj), type, reason, message);
  }

  /** Records an event about an object reference. */
  record(ref: InvolvedObject, type: EventType, reason: string, message: string): void {
    const key = [
      ref.kind,
      ref.apiVersion,
      ref.namespace,
      ref.name,
      ref.uid,
      type,
      reason,
      message,
      this.source.component,
      this.source.host,
    ].join('\u0000');
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.write(key, ref, type, reason, message)).catch(() => {});
    this.chains.set(key, next);
    this.pending.add(next);
    void next.finally(() => {
      this.pending.delete(next);
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  /** Resolves once every event recorded so far has been written (or has failed). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private async write(key: string, ref: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = timestamp(this.clock());
    const seen = this.seen.get(key);
    if (seen) {
      try {
        await this.client.patch(R.events, seen.name, 'merge', { count: seen.count + 1, lastTimestamp: now }, { namespace: seen.namespace });
        seen.count++;
        this.remember(key, seen);
        return;
      } catch {
        // The event expired or was deleted: start a new one.
        this.seen.delete(key);
      }
    }
    // Events of cluster-scoped objects live in `default`, as client-go puts them.
    const namespace = ref.namespace || 'default';
    // client-go names events `<object>.<unix nanoseconds in hex>`.
    this.sequence = (this.sequence + 1) % 1_000_000;
    const name = `${ref.name}.${(BigInt(this.clock()) * 1_000_000n + BigInt(this.sequence)).toString(16)}`;
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: Object.fromEntries(Object.entries(ref).filter(([, v]) => v !== undefined && v !== '')),
      reason,
      message,
      source: this.source.host ? { component: this.source.component, host: this.source.host } : { component: this.source.component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      reportingComponent: this.source.component,
      reportingInstance: this.source.host ?? '',
    };
    const created = await this.client.create(R.events, event, { namespace });
    this.remember(key, { name: created.metadata.name ?? name, namespace, count: 1, firstTimestamp: now });
  }

  private remember(key: string, seen: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, seen);
    if (this.seen.size > CACHE_SIZE) this.seen.delete(this.seen.keys().next().value as string);
  }
}

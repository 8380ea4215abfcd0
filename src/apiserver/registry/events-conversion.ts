/**
 * core/v1 Events and events.k8s.io/v1 Events are two views of the same objects, as in Kubernetes:
 * both APIs read and write the core form, and the events.k8s.io view renames its fields (kube's
 * pkg/apis/events/v1 conversions). An event recorded through either API is listed by both.
 */
import type { KubeObject } from '../../api/meta.js';

/** events.k8s.io/v1 field → core/v1 field, for the fields whose names differ. */
const RENAMED: [string, string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];
const TO_CORE = new Map(RENAMED);
const TO_EVENTS_V1 = new Map(RENAMED.map(([v1, core]) => [core, v1]));

function rename(obj: KubeObject, names: Map<string, string>, apiVersion: string): KubeObject {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[names.get(k) ?? k] = v;
  out.apiVersion = apiVersion;
  out.kind = 'Event';
  return out as KubeObject;
}

/** An events.k8s.io/v1 Event in its stored (core/v1) form. */
export function eventsV1ToCore(ev: KubeObject): KubeObject {
  return rename(ev, TO_CORE, 'v1');
}

/** A stored (core/v1) Event as events.k8s.io/v1 serves it. */
export function coreToEventsV1(ev: KubeObject): KubeObject {
  return rename(ev, TO_EVENTS_V1, 'events.k8s.io/v1');
}

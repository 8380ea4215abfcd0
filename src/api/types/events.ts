/** events.k8s.io/v1 Event (the newer event API, stored alongside core/v1 Events). */
import { EventSource, ObjectReference } from './core.js';
import { listOf, objectHeader } from './meta.js';
import { doc, i32, MicroTime, type Static, str, struct, Time } from './schema.js';

const EV = 'io.k8s.api.events.v1';

export const EventsV1Event = struct(
  `${EV}.Event`,
  'A report of something that happened in the cluster.',
  {
    ...objectHeader,
    eventTime: doc(MicroTime, 'When the event first happened.'),
    series: struct(
      `${EV}.EventSeries`,
      'A series of repeated events.',
      { count: i32('Occurrences so far.'), lastObservedTime: doc(MicroTime, 'When the last occurrence was seen.') },
      ['count', 'lastObservedTime'],
    ),
    reportingController: str('Controller that emitted the event, e.g. `kubernetes.io/kubelet`.'),
    reportingInstance: str('Instance of that controller.'),
    action: str('What was done or failed.'),
    reason: str('Short CamelCase reason.'),
    regarding: doc(ObjectReference, 'The object the event is about.'),
    related: doc(ObjectReference, 'A second object involved.'),
    note: str('Human-readable description.'),
    type: str('`Normal` or `Warning`.'),
    deprecatedSource: doc(EventSource, 'Deprecated: source of a core/v1 event.'),
    deprecatedFirstTimestamp: Time,
    deprecatedLastTimestamp: Time,
    deprecatedCount: i32('Deprecated: count of a core/v1 event.'),
  },
  ['eventTime'],
);
export type EventsV1Event = Static<typeof EventsV1Event>;
export const EventsV1EventList = listOf(`${EV}.EventList`, 'Event', EventsV1Event);

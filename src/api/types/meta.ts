/** meta/v1 (apimachinery) types: object and list metadata, selectors, Status, DeleteOptions. */
import type { TObject, TSchema } from '@sinclair/typebox';
import {
  Any,
  atomic,
  bool,
  i32,
  i64,
  list,
  looseStruct,
  mergeBy,
  oneOf,
  type Static,
  set,
  str,
  stringList,
  stringMap,
  struct,
  Time,
} from './schema.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

const apiVersion = str('The versioned schema of this object, `group/version` (`v1` for the core group).');
const kind = str('The REST resource type this object represents, in CamelCase.');

export const OwnerReference = struct(
  `${META}.OwnerReference`,
  'Names the object that owns this one; owned objects are garbage-collected when every owner is gone.',
  {
    apiVersion: str('API version of the owner.'),
    kind: str('Kind of the owner.'),
    name: str('Name of the owner.'),
    uid: str('UID of the owner.'),
    controller: bool('True if the owner is the managing controller; at most one owner may be.'),
    blockOwnerDeletion: bool('If true, foreground deletion of the owner waits until this object is gone.'),
  },
  ['apiVersion', 'kind', 'name', 'uid'],
  { 'x-kubernetes-map-type': 'atomic' },
);

export const FieldsV1 = looseStruct(`${META}.FieldsV1`, 'A set of field paths in the trie form server-side apply uses.');

export const ManagedFieldsEntry = struct(`${META}.ManagedFieldsEntry`, 'Records which manager owns which fields, for server-side apply.', {
  apiVersion: str('The version of the resource the fields are expressed in.'),
  fieldsType: str('Format of `fieldsV1`; only `FieldsV1` exists.'),
  fieldsV1: FieldsV1,
  manager: str('Name of the workflow that manages these fields.'),
  operation: str('`Apply` or `Update`: the kind of request that set these fields.'),
  subresource: str('The subresource the fields were written through, if any.'),
  time: Time,
});

export const ObjectMeta = struct(
  `${META}.ObjectMeta`,
  'Metadata every persisted object has: identity, labels, annotations, ownership and lifecycle.',
  {
    name: str('Unique name within a namespace; cannot be changed once set.'),
    generateName: str('Prefix the server uses to generate a unique name when `name` is empty.'),
    namespace: str('The namespace the object lives in; empty for cluster-scoped objects.'),
    selfLink: str('Deprecated and no longer set.'),
    uid: str('Unique identifier for the lifetime of the object, set by the server.'),
    resourceVersion: str('Opaque version of this object, changed on every write; used for optimistic concurrency and watches.'),
    generation: i64('Sequence number of changes to the desired state, set by the server.'),
    creationTimestamp: Time,
    deletionTimestamp: Time,
    deletionGracePeriodSeconds: i64('Seconds allowed for graceful termination before the object is removed.'),
    labels: stringMap('Key/value pairs used to organize and select objects (Services select Pods by labels).'),
    annotations: stringMap('Arbitrary non-identifying metadata for tools and people.'),
    ownerReferences: list(OwnerReference, 'Objects this one depends on; when all are gone it is garbage-collected.', mergeBy('uid')),
    finalizers: stringList('Names that must be removed before the object is deleted from storage.', {
      'x-kubernetes-patch-strategy': 'merge',
      ...set,
    }),
    managedFields: list(ManagedFieldsEntry, 'Which manager owns which fields (server-side apply bookkeeping).', atomic),
  },
);
export type ObjectMeta = Static<typeof ObjectMeta>;

export const ListMeta = struct(`${META}.ListMeta`, 'Metadata of a list response.', {
  selfLink: str('Deprecated and no longer set.'),
  resourceVersion: str('The version of the collection this list reflects; start a watch from here.'),
  continue: str('Token for the next page when the list was limited.'),
  remainingItemCount: i64('How many items follow this page, when known.'),
});

export const LabelSelectorRequirement = struct(
  `${META}.LabelSelectorRequirement`,
  'One label test: a key, an operator and values.',
  {
    key: str('The label key the requirement applies to.'),
    operator: str('`In`, `NotIn`, `Exists` or `DoesNotExist`.'),
    values: stringList('Values for `In`/`NotIn`; empty for `Exists`/`DoesNotExist`.'),
  },
  ['key', 'operator'],
);

export const LabelSelector = struct(
  `${META}.LabelSelector`,
  'Selects objects by labels; all requirements must match. An empty selector matches everything, a null one nothing.',
  {
    matchLabels: stringMap('Labels that must be present with exactly these values.'),
    matchExpressions: list(LabelSelectorRequirement, 'Set-based label requirements.', atomic),
  },
  [],
  { 'x-kubernetes-map-type': 'atomic' },
);
export type LabelSelector = Static<typeof LabelSelector>;

export const Condition = struct(
  `${META}.Condition`,
  'One aspect of the current state of an object, as the controllers observe it.',
  {
    type: str('Condition type in CamelCase, e.g. `Available`.'),
    status: oneOf(['True', 'False', 'Unknown'], 'Whether the condition holds.'),
    observedGeneration: i64('The `.metadata.generation` this condition was computed from.'),
    lastTransitionTime: Time,
    reason: str('Machine-readable CamelCase reason for the last transition.'),
    message: str('Human-readable detail about the last transition.'),
  },
  ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
);

export const StatusCause = struct(`${META}.StatusCause`, 'One reason an operation failed, often tied to a field.', {
  reason: str('Machine-readable cause, e.g. `FieldValueInvalid`.'),
  message: str('Human-readable description of the cause.'),
  field: str('The field that caused the error, as a JSON path such as `spec.ports[0].port`.'),
});

export const StatusDetails = struct(`${META}.StatusDetails`, 'Extra data about a failure, used by clients to build messages.', {
  name: str('Name of the object the status is about.'),
  group: str('API group of the object.'),
  kind: str('Kind (or resource) of the object.'),
  uid: str('UID of the object.'),
  causes: list(StatusCause, 'The individual causes, e.g. one per invalid field.', atomic),
  retryAfterSeconds: i32('Seconds to wait before retrying.'),
});

export const Status = struct(`${META}.Status`, 'Result of an operation that does not return an object, usually an error.', {
  apiVersion,
  kind,
  metadata: ListMeta,
  status: str('`Success` or `Failure`.'),
  message: str('Human-readable description of the result.'),
  reason: str('Machine-readable reason, e.g. `NotFound`; empty when unknown.'),
  details: StatusDetails,
  code: i32('HTTP status code.'),
});

export const Preconditions = struct(`${META}.Preconditions`, 'Conditions the object must meet for the operation to proceed.', {
  uid: str('The object must have this UID.'),
  resourceVersion: str('The object must have this resource version.'),
});

export const DeleteOptions = struct(`${META}.DeleteOptions`, 'Options for a delete request.', {
  apiVersion,
  kind,
  gracePeriodSeconds: i64('Seconds before the object is deleted; 0 means immediately.'),
  preconditions: Preconditions,
  orphanDependents: bool('Deprecated: use propagationPolicy.'),
  propagationPolicy: str('`Orphan`, `Background` or `Foreground` garbage collection of dependents.'),
  dryRun: stringList('`All` to run every stage except persisting.'),
  ignoreStoreReadErrorWithClusterBreakingPotential: bool('Delete even if the stored object cannot be read.'),
});

/** The `XxxList` wrapper for a kind: apiVersion, kind, list metadata and items. */
export function listOf<T extends TSchema>(id: string, itemKind: string, item: T) {
  return struct(
    id,
    `A list of ${itemKind} objects.`,
    { apiVersion, kind, metadata: ListMeta, items: list(item, `The ${itemKind} objects.`) },
    ['items'],
  );
}

/** Common top-level fields of every kind (the GVK and metadata). */
export const objectHeader = { apiVersion, kind, metadata: ObjectMeta };

/** Arbitrary embedded object (runtime.RawExtension). */
export const RawExtension = Any;

/** True when `s` is one of our object schemas (used by the registry's sanity checks). */
export function isObjectSchema(s: TSchema): s is TObject {
  return s.type === 'object' && typeof s.properties === 'object';
}

/**
 * authorization.k8s.io/v1 reviews: the create-only, never-stored kinds a client posts to ask the
 * API server what a user may do (`kubectl auth can-i`, `kubectl auth can-i --list`).
 */
import { LabelSelectorRequirement, objectHeader } from './meta.js';
import { atomic, bool, list, mapOf, type Static, str, stringList, struct } from './schema.js';

const AUTHZ = 'io.k8s.api.authorization.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

export const FieldSelectorRequirement = struct(
  `${META}.FieldSelectorRequirement`,
  'A selector requirement on a field: a key, an operator, and values.',
  {
    key: str('The field selector key the requirement applies to.'),
    operator: str('How the key relates to the values: `In`, `NotIn`, `Exists` or `DoesNotExist`.'),
    values: stringList('The values; non-empty for `In` and `NotIn`, empty for `Exists` and `DoesNotExist`.'),
  },
  ['key', 'operator'],
);

export const ResourceAttributes = struct(`${AUTHZ}.ResourceAttributes`, 'The attributes of a resource request the authorizer judges.', {
  namespace: str('Namespace of the action; empty means all namespaces for namespaced resources.'),
  verb: str('A resource API verb (`get`, `list`, `watch`, `create`, …); `*` means all.'),
  group: str('API group of the resource; `*` means all.'),
  version: str('API version of the resource; `*` means all.'),
  resource: str('The resource type; `*` means all.'),
  subresource: str('The subresource; empty means none.'),
  name: str('Name of the object for `get` or `delete`; empty means all.'),
  fieldSelector: struct(`${AUTHZ}.FieldSelectorAttributes`, 'The field selector of a list or watch request.', {
    rawSelector: str('The selector as written in a query string.'),
    requirements: list(FieldSelectorRequirement, 'The parsed requirements.', atomic),
  }),
  labelSelector: struct(`${AUTHZ}.LabelSelectorAttributes`, 'The label selector of a list or watch request.', {
    rawSelector: str('The selector as written in a query string.'),
    requirements: list(LabelSelectorRequirement, 'The parsed requirements.', atomic),
  }),
});

export const NonResourceAttributes = struct(`${AUTHZ}.NonResourceAttributes`, 'The attributes of a non-resource request.', {
  path: str('URL path of the request.'),
  verb: str('The HTTP verb, lower-case.'),
});

export const SubjectAccessReviewStatus = struct(
  `${AUTHZ}.SubjectAccessReviewStatus`,
  'Whether the request is allowed.',
  {
    allowed: bool('True if the action would be allowed.'),
    denied: bool('True if the action would be denied; never true together with `allowed`.'),
    reason: str('Why the request was allowed or denied.'),
    evaluationError: str('An error that occurred during the authorization check.'),
  },
  ['allowed'],
);

export const SelfSubjectAccessReview = struct(
  `${AUTHZ}.SelfSubjectAccessReview`,
  'Asks whether the current user can perform an action. An empty spec.resourceAttributes.namespace means all namespaces.',
  {
    ...objectHeader,
    spec: struct(
      `${AUTHZ}.SelfSubjectAccessReviewSpec`,
      'The access request; exactly one of resourceAttributes and nonResourceAttributes must be set.',
      {
        resourceAttributes: ResourceAttributes,
        nonResourceAttributes: NonResourceAttributes,
      },
    ),
    status: SubjectAccessReviewStatus,
  },
  ['spec'],
);
export type SelfSubjectAccessReview = Static<typeof SelfSubjectAccessReview>;

const ExtraValue = stringList('Values of one extra attribute.');

const SubjectAccessReviewSpec = struct(
  `${AUTHZ}.SubjectAccessReviewSpec`,
  'The access request; exactly one of resourceAttributes and nonResourceAttributes must be set.',
  {
    resourceAttributes: ResourceAttributes,
    nonResourceAttributes: NonResourceAttributes,
    user: str('The user to test for.'),
    groups: stringList('The groups to test for.'),
    extra: mapOf(ExtraValue, 'Extra attributes of the user, as the authenticator reports them.'),
    uid: str('UID of the user to test for.'),
  },
);

export const SubjectAccessReview = struct(
  `${AUTHZ}.SubjectAccessReview`,
  'Asks whether a given user or group can perform an action.',
  { ...objectHeader, spec: SubjectAccessReviewSpec, status: SubjectAccessReviewStatus },
  ['spec'],
);
export type SubjectAccessReview = Static<typeof SubjectAccessReview>;

/** The namespaced SubjectAccessReview: the same question, asked of one namespace. */
export const LocalSubjectAccessReview = struct(
  `${AUTHZ}.LocalSubjectAccessReview`,
  'Checks whether or not a user or group can perform an action in a given namespace.',
  { ...objectHeader, spec: SubjectAccessReviewSpec, status: SubjectAccessReviewStatus },
  ['spec'],
);

export const ResourceRule = struct(
  `${AUTHZ}.ResourceRule`,
  'Actions the subject may perform on resources.',
  {
    verbs: stringList('API verbs; `*` means all.'),
    apiGroups: stringList('API groups of the resources; `*` means all.'),
    resources: stringList('Resources the rule applies to; `*` means all.'),
    resourceNames: stringList('Object names the rule is limited to; empty means all.'),
  },
  ['verbs'],
);

export const NonResourceRule = struct(
  `${AUTHZ}.NonResourceRule`,
  'Actions the subject may perform on non-resource URLs.',
  {
    verbs: stringList('HTTP verbs; `*` means all.'),
    nonResourceURLs: stringList('Partial URLs; `*` is allowed only as the final step, `*` alone means all.'),
  },
  ['verbs'],
);

export const SelfSubjectRulesReview = struct(
  `${AUTHZ}.SelfSubjectRulesReview`,
  'Lists the actions the current user can perform within a namespace.',
  {
    ...objectHeader,
    spec: struct(`${AUTHZ}.SelfSubjectRulesReviewSpec`, 'The namespace to evaluate.', {
      namespace: str('Namespace to evaluate rules for. Required.'),
    }),
    status: struct(
      `${AUTHZ}.SubjectRulesReviewStatus`,
      'The rules the subject has; may be incomplete.',
      {
        resourceRules: list(ResourceRule, 'Actions allowed on resources.'),
        nonResourceRules: list(NonResourceRule, 'Actions allowed on non-resource URLs.'),
        incomplete: bool('True when the rules are incomplete.'),
        evaluationError: str('An error that occurred during rule evaluation.'),
      },
      ['resourceRules', 'nonResourceRules', 'incomplete'],
    ),
  },
  ['spec'],
);
export type SelfSubjectRulesReview = Static<typeof SelfSubjectRulesReview>;

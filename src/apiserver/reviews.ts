/**
 * The review kinds kube-apiserver answers per request and never stores: SelfSubjectAccessReview
 * and SelfSubjectRulesReview (`kubectl auth can-i`, `can-i --list`), SubjectAccessReview and its
 * namespaced LocalSubjectAccessReview, SelfSubjectReview (`kubectl auth whoami`) and TokenReview
 * (is this bearer token valid, and whose is it). Only `create` exists; the answer is the posted
 * object with its status filled in.
 *
 * svcnet has no RBAC: every authenticated user may do everything, which is kube-apiserver's
 * `--authorization-mode=AlwaysAllow`, so decisions are "allowed" with an empty reason and the rules
 * are one `*` rule for resources and one for non-resource URLs, as that authorizer reports them.
 */
import { badRequest, type FieldError, fieldErr, invalid, methodNotAllowed, OMIT_VALUE, StatusError } from '../api/errors.js';
import type { KubeObject } from '../api/meta.js';
import { findResource, type ResourceInfo } from '../api/resources.js';
import type { UserInfo } from '../api/types/authentication.js';
import { decodeBody } from './machinery.js';
import type { ApiRequest, ApiResponse, ResourceRequestInfo } from './request.js';
import { json } from './request.js';
import { parseServiceAccountUser } from './serviceaccount-token.js';

/** The group every user svcnet authenticates belongs to, as in kube. */
const AUTHENTICATED = 'system:authenticated';

/**
 * The user attributes svcnet's authentication gives a user name. Bearer tokens name three kinds of
 * user: the admin (`svcnet-admin`, the kubeconfig `svcnet up` writes), each node's agent
 * (`system:node:<name>`, as a kubelet's client certificate names it) and the in-process
 * controllers (`system:svcnet`). The admin is a member of `system:masters`, the group kubeadm-style
 * clusters bind to cluster-admin; nodes are in `system:nodes`. Service account tokens (`kubectl
 * create token`) name `system:serviceaccount:<namespace>:<name>`, in kube's service account groups.
 */
export function userInfoFor(user: string): UserInfo {
  const sa = parseServiceAccountUser(user);
  if (sa) return { username: user, groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, AUTHENTICATED] };
  if (user.startsWith('system:node:')) return { username: user, groups: ['system:nodes', AUTHENTICATED] };
  if (user === 'svcnet-admin' || user === 'system:svcnet') return { username: user, groups: ['system:masters', AUTHENTICATED] };
  return { username: user, groups: [AUTHENTICATED] };
}

/** What an answer may need besides the review: the request's namespace, and the token authenticator. */
export interface ReviewContext {
  namespace?: string;
  /** The user a bearer token names (static tokens and service account tokens), if any. */
  authenticateToken?: (token: string) => Promise<string | undefined>;
  /** The audience of this API server's own tokens. */
  apiAudiences?: readonly string[];
}

type Answer = (object: KubeObject, user: string, ctx: ReviewContext) => KubeObject | Promise<KubeObject>;

/** kube's SubjectAccessReview spec checks, plus LocalSubjectAccessReview's namespace rules. */
function subjectAccessErrors(review: KubeObject, namespace?: string): FieldError[] {
  const spec = review.spec ?? {};
  const errs = accessSpecErrors(spec);
  if (!spec.user && !spec.groups?.length)
    errs.push(fieldErr.invalid('spec.user', spec.user ?? '', 'at least one of user or group must be specified'));
  if (namespace === undefined) {
    metadataMustBeEmpty(review, errs);
    return errs;
  }
  const attrs = spec.resourceAttributes as { namespace?: string } | undefined | null;
  if (attrs && (attrs.namespace ?? '') !== namespace) {
    errs.push(fieldErr.invalid('spec.resourceAttributes.namespace', attrs.namespace ?? '', 'must match metadata.namespace'));
  }
  if (spec.nonResourceAttributes) {
    const n = spec.nonResourceAttributes as { path?: string; verb?: string };
    errs.push(
      invalidGo(
        'spec.nonResourceAttributes',
        `&authorization.NonResourceAttributes{Path:${goString(n.path)}, Verb:${goString(n.verb)}}`,
        'disallowed on this kind of request',
      ),
    );
  }
  return errs;
}

const ANSWERS: Record<string, Answer> = {
  'authorization.k8s.io/selfsubjectaccessreviews': (review) => {
    const errs = accessSpecErrors(review.spec ?? {});
    metadataMustBeEmpty(review, errs);
    if (errs.length) throw invalid('', '', errs, 'authorization.k8s.io');
    return allowed(review);
  },
  'authorization.k8s.io/subjectaccessreviews': (review) => {
    const errs = subjectAccessErrors(review);
    if (errs.length) throw invalid('', '', errs, 'authorization.k8s.io');
    return allowed(review);
  },
  'authorization.k8s.io/localsubjectaccessreviews': (review, _user, { namespace }) => {
    const bodyNamespace = review.metadata?.namespace;
    if (bodyNamespace && bodyNamespace !== namespace) {
      throw badRequest(
        `namespace of the provided object (${bodyNamespace}) does not match the namespace sent on the request (${namespace})`,
      );
    }
    const errs = subjectAccessErrors(review, namespace);
    if (errs.length) throw invalid('LocalSubjectAccessReview', '', errs, 'authorization.k8s.io');
    return { ...allowed(review), metadata: { namespace, creationTimestamp: null } };
  },
  'authorization.k8s.io/selfsubjectrulesreviews': (review) => {
    if (!review.spec?.namespace) throw badRequest('no namespace on request');
    // kube answers with a fresh object: the spec is not echoed.
    return {
      kind: review.kind,
      apiVersion: review.apiVersion,
      metadata: { creationTimestamp: null },
      spec: {},
      status: {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        incomplete: false,
      },
    };
  },
  'authentication.k8s.io/tokenreviews': async (review, _user, { authenticateToken, apiAudiences = [] }) => {
    const token = review.spec?.token;
    if (!token) throw badRequest('token is required for TokenReview in authentication');
    const requested: string[] = review.spec?.audiences ?? [];
    // A token for this API answers for the audiences asked for that are the API's own.
    const audiences = requested.length ? requested.filter((a) => apiAudiences.includes(a)) : [...apiAudiences];
    const user = audiences.length ? await authenticateToken?.(token) : undefined;
    return {
      kind: review.kind,
      apiVersion: review.apiVersion,
      metadata: { creationTimestamp: null },
      spec: review.spec,
      status: user ? { authenticated: true, user: userInfoFor(user), audiences } : { user: {} },
    };
  },
  'authentication.k8s.io/selfsubjectreviews': (review, user) => ({
    kind: review.kind,
    apiVersion: review.apiVersion,
    metadata: { creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
    status: { userInfo: userInfoFor(user) },
  }),
};

/** The review echoed back with kube's field order and an allowing status. */
function allowed(review: KubeObject): KubeObject {
  return {
    kind: review.kind,
    apiVersion: review.apiVersion,
    metadata: { creationTimestamp: null },
    spec: review.spec,
    status: { allowed: true },
  };
}

/**
 * Serves a request for a review resource; undefined when `path` names another resource. The
 * resources are cluster-scoped collections with the `create` verb alone, so anything but a POST to
 * the collection is answered as kube-apiserver does: 404 for other paths, 405 for other methods.
 */
export async function reviewRequest(req: ApiRequest, path: ResourceRequestInfo, ctx: ReviewContext = {}): Promise<ApiResponse | undefined> {
  const info = findResource(path.group, path.version, path.resource);
  const answer = info?.virtual ? ANSWERS[`${info.group}/${info.resource}`] : undefined;
  if (!info || !answer) return undefined;
  if (path.name !== undefined || (path.namespace !== undefined) !== info.namespaced) {
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
  }
  if (req.method.toUpperCase() !== 'POST') throw methodNotAllowed('the server does not allow this method on the requested resource');
  if (!req.user) throw badRequest('no user present on request');
  const { object, warnings } = decodeBody(req, { info: info as ResourceInfo });
  return json(201, await answer(object, req.user, { ...ctx, namespace: path.namespace }), warnings);
}

interface AccessSpec {
  resourceAttributes?: unknown;
  nonResourceAttributes?: { path?: string; verb?: string };
}

/** kube's ValidateSubjectAccessReviewSpec: exactly one of the two attribute sets. */
function accessSpecErrors(spec: AccessSpec): FieldError[] {
  const errs: FieldError[] = [];
  const hasResource = spec.resourceAttributes !== undefined && spec.resourceAttributes !== null;
  const nonResource = spec.nonResourceAttributes ?? undefined;
  if (hasResource && nonResource) {
    errs.push(
      invalidGo(
        'spec.nonResourceAttributes',
        `authorization.NonResourceAttributes{Path:${goString(nonResource.path)}, Verb:${goString(nonResource.verb)}}`,
        'cannot be specified in combination with resourceAttributes',
      ),
    );
  }
  if (!hasResource && !nonResource) {
    // kube passes the nil attributes pointer, which its field errors print as the string "null".
    errs.push(
      fieldErr.invalid('spec.resourceAttributes', 'null', 'exactly one of nonResourceAttributes or resourceAttributes must be specified'),
    );
  }
  return errs;
}

/** Reviews carry no metadata: kube rejects any (a zero ObjectMeta is the only valid one). */
function metadataMustBeEmpty(review: KubeObject, errs: FieldError[]): void {
  const meta = (review.metadata ?? {}) as Record<string, unknown>;
  if (Object.values(meta).every(isEmpty)) return;
  errs.push(invalidGo('metadata', goObjectMeta(meta), 'must be empty'));
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v as object).length === 0;
}

/** An Invalid field error whose value is a struct, which kube prints with Go's `%#v`, unquoted. */
function invalidGo(field: string, goText: string, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, value: OMIT_VALUE, detail: `${goText}: ${detail}` };
}

function goString(s: string | undefined): string {
  return JSON.stringify(s ?? '');
}

function goStringMap(m: unknown): string {
  const entries = Object.entries((m as Record<string, string> | undefined) ?? {});
  if (!entries.length) return 'map[string]string(nil)';
  return `map[string]string{${entries
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${goString(k)}:${goString(v)}`)
    .join(', ')}}`;
}

/** Go's `%#v` of a metav1.ObjectMeta, for the fields a client can set. */
function goObjectMeta(m: Record<string, unknown>): string {
  const s = (k: string) => goString(m[k] as string | undefined);
  const finalizers = (m.finalizers as string[] | undefined) ?? [];
  return (
    `v1.ObjectMeta{Name:${s('name')}, GenerateName:${s('generateName')}, Namespace:${s('namespace')}, SelfLink:${s('selfLink')}, ` +
    `UID:${s('uid')}, ResourceVersion:${s('resourceVersion')}, Generation:${Number(m.generation ?? 0)}, ` +
    'CreationTimestamp:time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC), DeletionTimestamp:<nil>, ' +
    `DeletionGracePeriodSeconds:(*int64)(nil), Labels:${goStringMap(m.labels)}, Annotations:${goStringMap(m.annotations)}, ` +
    `OwnerReferences:[]v1.OwnerReference(nil), Finalizers:${finalizers.length ? `[]string{${finalizers.map(goString).join(', ')}}` : '[]string(nil)'}, ` +
    'ManagedFields:[]v1.ManagedFieldsEntry(nil)}'
  );
}

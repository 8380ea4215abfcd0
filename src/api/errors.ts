/**
 * API errors shaped exactly as kube-apiserver's Status objects, because kubectl builds its
 * messages from their parts (details.kind, details.name, details.causes[].field/message).
 * See shared/research/kubectl-protocol.md §5.
 */

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'Expired'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'TooManyRequests'
  | 'InternalError'
  | 'Timeout'
  | 'ServiceUnavailable';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { resourceVersion?: string; continue?: string };
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** An error that the API server turns into a Status response. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'StatusError';
  }

  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }

  static fromStatus(s: Partial<Status>): StatusError {
    return new StatusError(s.code ?? 500, s.reason ?? 'InternalError', s.message ?? 'unknown error', s.details);
  }
}

/** Resource identity used in messages: `services "x" not found` uses the plural resource, with `.group` when not core. */
export interface ResourceRef {
  group: string;
  resource: string; // plural, e.g. "services", "deployments"
}

function qualified(r: ResourceRef): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

export function notFound(r: ResourceRef, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(r)} "${name}" not found`, {
    name,
    group: r.group || undefined,
    kind: r.resource,
  });
}

export function alreadyExists(r: ResourceRef, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, {
    name,
    group: r.group || undefined,
    kind: r.resource,
  });
}

export function conflict(r: ResourceRef, name: string, why: string): StatusError {
  return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, {
    name,
    group: r.group || undefined,
    kind: r.resource,
  });
}

/** The optimistic-concurrency failure text kube-apiserver uses. */
export const CONFLICT_MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function gone(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function methodNotAllowed(message: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', message);
}

export function internalError(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

export function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

export function forbidden(r: ResourceRef, name: string, why: string): StatusError {
  const what = name ? `${qualified(r)} "${name}"` : qualified(r);
  return new StatusError(403, 'Forbidden', `${what} is forbidden: ${why}`, {
    name: name || undefined,
    group: r.group || undefined,
    kind: r.resource,
  });
}

// ---------------------------------------------------------------------------------------------
// Field errors (apimachinery's validation/field package): the building block of 422 Invalid.

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid';

const typeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
};

/** Sentinel for "print no value" (Forbidden, Required and friends omit it). */
export const OMIT_VALUE = Symbol('omit');

export interface FieldError {
  type: FieldErrorType;
  field: string;
  value: unknown;
  detail: string;
}

/** Formats a value as Go's `%#v`-like printing that kube uses in field errors: strings quoted, numbers bare. */
export function formatFieldValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[]${typeof v[0] === 'string' ? 'string' : 'interface {}'}{${v.map(formatFieldValue).join(', ')}}`;
  return JSON.stringify(v);
}

/** The message without the field path, as kube puts it in a StatusCause ("Invalid value: 40000: ..."). */
export function fieldErrorBody(e: FieldError): string {
  let s = typeText[e.type];
  const omit =
    e.value === OMIT_VALUE ||
    e.type === 'FieldValueRequired' ||
    e.type === 'FieldValueForbidden' ||
    e.type === 'FieldValueTooMany' ||
    e.type === 'InternalError';
  if (!omit) s += `: ${formatFieldValue(e.value)}`;
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

export function fieldErrorString(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

export const fieldErr = {
  invalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, detail }),
  required: (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, value: OMIT_VALUE, detail }),
  duplicate: (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value, detail: '' }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, value: OMIT_VALUE, detail }),
  notFound: (field: string, value: unknown): FieldError => ({ type: 'FieldValueNotFound', field, value, detail: '' }),
  tooLong: (field: string, _value: unknown, max: number): FieldError => ({
    type: 'FieldValueTooLong',
    field,
    value: OMIT_VALUE,
    detail: `may not be more than ${max} bytes`,
  }),
  tooMany: (field: string, _actual: number, max: number): FieldError => ({
    type: 'FieldValueTooMany',
    field,
    value: OMIT_VALUE,
    detail: `must have at most ${max} items`,
  }),
  /** `Unsupported value: "ClusterIp": supported values: "ClusterIP", "ExternalName", ...` */
  notSupported: (field: string, value: unknown, supported: string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    value,
    detail: supported.length ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` : '',
  }),
  immutable: (field: string, value: unknown): FieldError => ({ type: 'FieldValueInvalid', field, value, detail: 'field is immutable' }),
};

/**
 * 422 Invalid, as kube-apiserver's errors.NewInvalid builds it: message
 * `Service "x" is invalid: <field>: <body>` (several errors joined as `[a, b]`), details.kind is the Kind.
 */
export function invalid(kind: string, name: string, errs: FieldError[], group = ''): StatusError {
  const strs = errs.map(fieldErrorString);
  const agg = strs.length === 1 ? strs[0] : `[${strs.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${agg}`, {
    name,
    group: group || undefined,
    kind,
    causes: errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
  });
}

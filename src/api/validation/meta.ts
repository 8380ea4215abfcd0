/**
 * apimachinery's ObjectMeta, label, annotation and LabelSelector validation, plus the small helpers
 * the per-kind validators share. Maps are walked in sorted key order so errors come out stable
 * (Go's map order is random; kube's order for a single error is therefore the same as ours).
 */

import { type FieldError, fieldErr, OMIT_VALUE } from '../errors.js';
import type { LabelSelector } from '../labels.js';
import type { ObjectMeta } from '../meta.js';
import { isDNS1123Label, isQualifiedName, isValidLabelValue, type NameValidator, TOTAL_ANNOTATION_SIZE_LIMIT } from '../names.js';

export const IS_NEGATIVE_ERROR_MSG = 'must be greater than or equal to 0';
export const FIELD_IMMUTABLE_ERROR_MSG = 'field is immutable';

/** `spec.ports` + 0 → `spec.ports[0]`; `metadata.labels` + key → `metadata.labels[key]`. */
export const idx = (path: string, i: number | string): string => `${path}[${i}]`;
export const child = (path: string, ...names: string[]): string => [path, ...names].filter(Boolean).join('.');

/**
 * An Invalid error whose value prints as Go's `%#v` would (maps, structs) — errors.ts would print
 * such values as JSON, so the rendered value travels in the detail instead.
 */
export function invalidRendered(field: string, rendered: string, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, value: OMIT_VALUE, detail: `${rendered}: ${detail}` };
}

export function duplicateRendered(field: string, rendered: string): FieldError {
  return { type: 'FieldValueDuplicate', field, value: OMIT_VALUE, detail: rendered };
}

export function notSupportedRendered(field: string, rendered: string, supported: string[]): FieldError {
  return {
    type: 'FieldValueNotSupported',
    field,
    value: OMIT_VALUE,
    detail: `${rendered}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  };
}

/** Go `%#v` of a map[string]string: `map[string]string{"a":"b", "c":"d"}`. */
export function goStringMap(m: Record<string, string> | null | undefined): string {
  if (m === null || m === undefined) return 'map[string]string(nil)';
  const keys = Object.keys(m).sort();
  return `map[string]string{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`).join(', ')}}`;
}

export function goStringSlice(v: string[] | null | undefined, type = 'string'): string {
  if (!v) return `[]${type}(nil)`;
  return `[]${type}{${v.map((s) => JSON.stringify(s)).join(', ')}}`;
}

/** Go `%#v` of a metav1.LabelSelector, as in the famous `spec.selector: ... field is immutable`. */
export function goLabelSelector(s: LabelSelector | null | undefined): string {
  if (!s) return 'null';
  const exprs = s.matchExpressions?.length
    ? `[]v1.LabelSelectorRequirement{${s.matchExpressions
        .map(
          (e) =>
            `v1.LabelSelectorRequirement{Key:${JSON.stringify(e.key)}, Operator:${JSON.stringify(e.operator)}, Values:${goStringSlice(e.values ?? null)}}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${goStringMap(s.matchLabels ?? null)}, MatchExpressions:${exprs}}`;
}

export function validateNonnegative(value: number | undefined | null, field: string): FieldError[] {
  return typeof value === 'number' && value < 0 ? [fieldErr.invalid(field, value, IS_NEGATIVE_ERROR_MSG)] : [];
}

/** Structural equality for JSON-shaped values (key order ignored, undefined/absent alike). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}

export function validateImmutable(newVal: unknown, oldVal: unknown, field: string): FieldError[] {
  return deepEqual(newVal ?? null, oldVal ?? null) ? [] : [fieldErr.invalid(field, newVal ?? null, FIELD_IMMUTABLE_ERROR_MSG)];
}

const sortedEntries = (m: Record<string, string> | null | undefined) =>
  Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Label keys and values; errors are reported on the map's path, as kube does. */
export function validateLabels(labels: Record<string, string> | null | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of sortedEntries(labels)) {
    for (const msg of isQualifiedName(k)) errs.push(fieldErr.invalid(field, k, msg));
    for (const msg of isValidLabelValue(v)) errs.push(fieldErr.invalid(field, v, msg));
  }
  return errs;
}

export function validateAnnotations(annotations: Record<string, string> | null | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of sortedEntries(annotations)) {
    for (const msg of isQualifiedName(k.toLowerCase())) errs.push(fieldErr.invalid(field, k, msg));
    total += Buffer.byteLength(k) + Buffer.byteLength(v ?? '');
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(fieldErr.tooLong(field, '', TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

const standardFinalizers = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

export function validateFinalizers(finalizers: string[] | null | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  (finalizers ?? []).forEach((f) => {
    const msgs = isQualifiedName(f);
    for (const msg of msgs) errs.push(fieldErr.invalid(field, f, msg));
    if (!msgs.length && !f.includes('/') && !standardFinalizers.has(f))
      errs.push(fieldErr.invalid(field, f, 'name is neither a standard finalizer name nor is it fully qualified'));
    if (seen.has(f)) errs.push(fieldErr.duplicate(field, f));
    seen.add(f);
  });
  return errs;
}

/** Validators for a namespace name (DNS-1123 label). */
export const validateNamespaceName: NameValidator = (name) => isDNS1123Label(name);

/**
 * ValidateObjectMeta for create: name (or generateName) in the kind's format, namespace present for
 * namespaced kinds and absent otherwise, labels/annotations/finalizers syntax.
 */
export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  namespaced: boolean,
  nameFn: NameValidator,
  path = 'metadata',
): FieldError[] {
  const m = meta ?? {};
  const errs: FieldError[] = [];
  if (m.generateName)
    for (const msg of nameFn(m.generateName, true)) errs.push(fieldErr.invalid(child(path, 'generateName'), m.generateName, msg));
  if (!m.name) errs.push(fieldErr.required(child(path, 'name'), 'name or generateName is required'));
  else for (const msg of nameFn(m.name, false)) errs.push(fieldErr.invalid(child(path, 'name'), m.name, msg));
  if (namespaced) {
    if (!m.namespace) errs.push(fieldErr.required(child(path, 'namespace')));
    else
      for (const msg of validateNamespaceName(m.namespace, false)) errs.push(fieldErr.invalid(child(path, 'namespace'), m.namespace, msg));
  } else if (m.namespace) {
    errs.push(fieldErr.forbidden(child(path, 'namespace'), 'not allowed on this type'));
  }
  errs.push(...validateNonnegative(m.generation, child(path, 'generation')));
  errs.push(...validateLabels(m.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(m.annotations, child(path, 'annotations')));
  for (const [i, ref] of (m.ownerReferences ?? []).entries()) {
    const p = idx(child(path, 'ownerReferences'), i);
    if (!ref.apiVersion) errs.push(fieldErr.invalid(child(p, 'apiVersion'), ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) errs.push(fieldErr.invalid(child(p, 'kind'), ref.kind ?? '', 'kind must not be empty'));
    if (!ref.name) errs.push(fieldErr.invalid(child(p, 'name'), ref.name ?? '', 'name must not be empty'));
    if (!ref.uid) errs.push(fieldErr.invalid(child(p, 'uid'), ref.uid ?? '', 'uid must not be empty'));
  }
  const controllers = (m.ownerReferences ?? []).filter((r) => r.controller);
  if (controllers.length > 1)
    errs.push(
      fieldErr.invalid(
        child(path, 'ownerReferences'),
        OMIT_VALUE,
        `Only one reference can have Controller set to true. Found "true" in references for ${controllers.map((r) => `${r.kind}/${r.name}`).join(' and ')}`,
      ),
    );
  errs.push(...validateFinalizers(m.finalizers, child(path, 'finalizers')));
  return errs;
}

/** ValidateObjectMetaUpdate: identity fields are immutable; syntax rules apply to the new labels. */
export function validateObjectMetaUpdate(meta: ObjectMeta | undefined, old: ObjectMeta | undefined, path = 'metadata'): FieldError[] {
  const m = meta ?? {};
  const o = old ?? {};
  const errs: FieldError[] = [];
  if (o.deletionTimestamp) {
    const before = new Set(o.finalizers ?? []);
    for (const f of m.finalizers ?? [])
      if (!before.has(f))
        errs.push(
          fieldErr.forbidden(
            child(path, 'finalizers'),
            `no new finalizers can be added if the object is being deleted, found new finalizers []string{${JSON.stringify(f)}}`,
          ),
        );
  }
  if (!m.resourceVersion)
    errs.push(fieldErr.invalid(child(path, 'resourceVersion'), m.resourceVersion ?? '', 'must be specified for an update'));
  if ((m.generation ?? 0) < (o.generation ?? 0))
    errs.push(fieldErr.invalid(child(path, 'generation'), m.generation ?? 0, 'must not be decremented'));
  errs.push(...validateImmutable(m.name ?? '', o.name ?? '', child(path, 'name')));
  errs.push(...validateImmutable(m.namespace ?? '', o.namespace ?? '', child(path, 'namespace')));
  errs.push(...validateImmutable(m.uid ?? '', o.uid ?? '', child(path, 'uid')));
  errs.push(...validateImmutable(m.creationTimestamp ?? null, o.creationTimestamp ?? null, child(path, 'creationTimestamp')));
  errs.push(...validateImmutable(m.deletionTimestamp ?? null, o.deletionTimestamp ?? null, child(path, 'deletionTimestamp')));
  errs.push(
    ...validateImmutable(
      m.deletionGracePeriodSeconds ?? null,
      o.deletionGracePeriodSeconds ?? null,
      child(path, 'deletionGracePeriodSeconds'),
    ),
  );
  errs.push(...validateLabels(m.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(m.annotations, child(path, 'annotations')));
  return errs;
}

/** unversioned ValidateLabelSelector (strict: label values must be valid). */
export function validateLabelSelector(sel: LabelSelector | null | undefined, path: string): FieldError[] {
  if (!sel) return [];
  const errs: FieldError[] = [];
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const p = idx(child(path, 'matchExpressions'), i);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errs.push(fieldErr.required(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          errs.push(fieldErr.forbidden(child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(fieldErr.invalid(child(p, 'operator'), e.operator, 'not a valid selector operator'));
    }
    for (const msg of isQualifiedName(e.key ?? '')) errs.push(fieldErr.invalid(child(p, 'key'), e.key ?? '', msg));
    values.forEach((v, j) => {
      for (const msg of isValidLabelValue(v)) errs.push(fieldErr.invalid(idx(child(p, 'values'), j), v, msg));
    });
  });
  errs.push(...validateLabels(sel.matchLabels, child(path, 'matchLabels')));
  return errs;
}

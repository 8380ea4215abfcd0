/** Deployment and ReplicaSet validation (pkg/apis/apps/validation). */

import { type FieldError, fieldErr } from '../errors.js';
import { percentValue } from '../intstr.js';
import { isEmpty, type LabelSelector, labelSelectorAsSelector, matches, type Selector } from '../labels.js';
import type { KubeObject } from '../meta.js';
import { nameIsDNSSubdomain, regexError } from '../names.js';
import {
  child,
  goLabelSelector,
  goStringMap,
  invalidRendered,
  notSupportedRendered,
  validateImmutable,
  validateLabelSelector,
  validateNonnegative,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './meta.js';
import { validatePodTemplateSpec } from './pod.js';

/* biome-ignore-start lint/suspicious/noExplicitAny: workload bodies are loosely typed JSON here */
type Json = any;
/* biome-ignore-end lint/suspicious/noExplicitAny: workload bodies are loosely typed JSON here */

/** ValidatePodTemplateSpecForReplicaSet: the selector must select the template; pods restart Always. */
function validateTemplateForReplicaSet(template: Json, selector: Selector, path: string): FieldError[] {
  if (!template) return [fieldErr.required(path)];
  const errs: FieldError[] = [];
  const labels = template.metadata?.labels ?? {};
  if (!isEmpty(selector) && !matches(selector, labels))
    errs.push(invalidRendered(child(path, 'metadata', 'labels'), goStringMap(labels), '`selector` does not match template `labels`'));
  errs.push(...validatePodTemplateSpec(template, path));
  const restart = template.spec?.restartPolicy;
  if (restart !== 'Always' && restart) errs.push(fieldErr.notSupported(child(path, 'spec', 'restartPolicy'), restart, ['Always']));
  if (template.spec?.activeDeadlineSeconds !== undefined && template.spec?.activeDeadlineSeconds !== null)
    errs.push(fieldErr.forbidden(child(path, 'spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicaSet is not Supported'));
  return errs;
}

function selectorAndTemplate(spec: Json, kind: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const sel: LabelSelector | undefined = spec.selector ?? undefined;
  if (!sel) errs.push(fieldErr.required(child(path, 'selector')));
  else {
    errs.push(...validateLabelSelector(sel, child(path, 'selector')));
    if (Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0)
      errs.push(invalidRendered(child(path, 'selector'), goLabelSelector(sel), `empty selector is invalid for ${kind}`));
  }
  let selector: Selector | undefined;
  try {
    selector = labelSelectorAsSelector(sel);
  } catch {
    errs.push(invalidRendered(child(path, 'selector'), goLabelSelector(sel), 'invalid label selector'));
  }
  if (selector) errs.push(...validateTemplateForReplicaSet(spec.template, selector, child(path, 'template')));
  return errs;
}

/** IntOrString printed as kube's IntOrString.String() does (no quotes). */
const intOrStringText = (v: unknown) => String(v);

function validatePositiveIntOrPercent(v: Json, path: string): FieldError[] {
  if (typeof v === 'string') {
    return /^[0-9]+%$/.test(v)
      ? []
      : [
          invalidRendered(
            path,
            v,
            regexError("a valid percent string must be a numeric string followed by an ending '%'", '[0-9]+%', '1%', '93%'),
          ),
        ];
  }
  if (typeof v === 'number') return v < 0 ? [invalidRendered(path, String(v), 'must be greater than or equal to 0')] : [];
  return [];
}

function validateStrategy(strategy: Json, path: string): FieldError[] {
  const s = strategy ?? {};
  switch (s.type) {
    case 'Recreate':
      return s.rollingUpdate
        ? [fieldErr.forbidden(child(path, 'rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'")]
        : [];
    case 'RollingUpdate': {
      const ru = s.rollingUpdate;
      if (!ru) return [fieldErr.required(child(path, 'rollingUpdate'), 'this should be defaulted and never be nil')];
      const p = child(path, 'rollingUpdate');
      const errs = [
        ...validatePositiveIntOrPercent(ru.maxUnavailable, child(p, 'maxUnavailable')),
        ...validatePositiveIntOrPercent(ru.maxSurge, child(p, 'maxSurge')),
      ];
      const value = (v: Json) => (typeof v === 'number' ? v : (percentValue(v) ?? 0));
      if (value(ru.maxUnavailable) === 0 && value(ru.maxSurge) === 0)
        errs.push(invalidRendered(child(p, 'maxUnavailable'), intOrStringText(ru.maxUnavailable), 'may not be 0 when `maxSurge` is 0'));
      const pct = percentValue(ru.maxUnavailable);
      if (pct !== undefined && pct > 100)
        errs.push(invalidRendered(child(p, 'maxUnavailable'), intOrStringText(ru.maxUnavailable), 'must not be greater than 100%'));
      return errs;
    }
    default:
      return [
        notSupportedRendered(
          path,
          `apps.DeploymentStrategy{Type:${JSON.stringify(s.type ?? '')}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}`,
          ['Recreate', 'RollingUpdate'],
        ),
      ];
  }
}

export function validateDeployment(d: KubeObject): FieldError[] {
  const errs = validateObjectMeta(d.metadata, true, nameIsDNSSubdomain);
  const spec = d.spec ?? {};
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...selectorAndTemplate(spec, 'deployment', 'spec'));
  errs.push(...validateStrategy(spec.strategy, 'spec.strategy'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (spec.progressDeadlineSeconds !== undefined && spec.progressDeadlineSeconds !== null) {
    errs.push(...validateNonnegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0))
      errs.push(fieldErr.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
  return errs;
}

/** apps/v1 makes the selector immutable. */
export function validateDeploymentUpdate(d: KubeObject, old: KubeObject): FieldError[] {
  const errs = validateObjectMetaUpdate(d.metadata, old.metadata);
  errs.push(...validateDeployment(d).filter((e) => !e.field.startsWith('metadata.')));
  errs.push(...selectorImmutable(d, old));
  return errs;
}

function selectorImmutable(n: KubeObject, o: KubeObject): FieldError[] {
  return validateImmutable(n.spec?.selector, o.spec?.selector, 'spec.selector').map(() =>
    invalidRendered('spec.selector', goLabelSelector(n.spec?.selector), 'field is immutable'),
  );
}

export function validateReplicaSet(rs: KubeObject): FieldError[] {
  const errs = validateObjectMeta(rs.metadata, true, nameIsDNSSubdomain);
  const spec = rs.spec ?? {};
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...selectorAndTemplate(spec, 'replicaset', 'spec'));
  return errs;
}

export function validateReplicaSetUpdate(rs: KubeObject, old: KubeObject): FieldError[] {
  const errs = validateObjectMetaUpdate(rs.metadata, old.metadata);
  errs.push(...validateReplicaSet(rs).filter((e) => !e.field.startsWith('metadata.')));
  errs.push(...selectorImmutable(rs, old));
  return errs;
}

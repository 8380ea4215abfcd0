/** Pod and PodTemplate validation (the parts of pkg/apis/core/validation that manifests hit). */

import { VOLUME_SOURCE_KEYS } from '../defaults/pod.js';
import { type FieldError, fieldErr } from '../errors.js';
import type { IntOrString } from '../intstr.js';
import type { KubeObject } from '../meta.js';
import { isDNS1123Label, isEnvVarName, isValidPortName, isValidPortNum, nameIsDNSSubdomain } from '../names.js';
import {
  child,
  deepEqual,
  idx,
  validateAnnotations,
  validateLabels,
  validateNonnegative,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './meta.js';
import { PORT_PROTOCOLS, validatePortNumOrName } from './service.js';

/* biome-ignore-start lint/suspicious/noExplicitAny: pod bodies are loosely typed JSON here */
type Json = any;
/* biome-ignore-end lint/suspicious/noExplicitAny: pod bodies are loosely typed JSON here */

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
/** The fields a Pod update may change, in the order and words of kube's Forbidden message. */
const UPDATABLE_POD_SPEC_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

function validateVolumes(volumes: Json[], path: string): { errs: FieldError[]; names: Set<string> } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  volumes.forEach((v, i) => {
    const p = idx(path, i);
    const name = v?.name ?? '';
    if (!name) errs.push(fieldErr.required(child(p, 'name')));
    else for (const m of isDNS1123Label(name)) errs.push(fieldErr.invalid(child(p, 'name'), name, m));
    if (name && names.has(name)) errs.push(fieldErr.duplicate(child(p, 'name'), name));
    else if (name) names.add(name);
    const sources = VOLUME_SOURCE_KEYS.filter((s) => v?.[s] !== undefined && v?.[s] !== null);
    if (sources.length === 0) errs.push(fieldErr.required(p, 'must specify a volume type'));
    for (const extra of sources.slice(1)) errs.push(fieldErr.forbidden(child(p, extra), 'may not specify more than 1 volume type'));
    if (v?.hostPath && !v.hostPath.path) errs.push(fieldErr.required(child(p, 'hostPath', 'path')));
    if (v?.configMap && !v.configMap.name) errs.push(fieldErr.required(child(p, 'configMap', 'name')));
    if (v?.secret && !v.secret.secretName) errs.push(fieldErr.required(child(p, 'secret', 'secretName')));
    if (v?.persistentVolumeClaim && !v.persistentVolumeClaim.claimName)
      errs.push(fieldErr.required(child(p, 'persistentVolumeClaim', 'claimName')));
  });
  return { errs, names };
}

function validateContainerPorts(ports: Json[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = idx(path, i);
    if (port?.name) {
      const msgs = isValidPortName(port.name);
      if (msgs.length) for (const m of msgs) errs.push(fieldErr.invalid(child(p, 'name'), port.name, m));
      else if (names.has(port.name)) errs.push(fieldErr.duplicate(child(p, 'name'), port.name));
      else names.add(port.name);
    }
    if (!port?.containerPort) errs.push(fieldErr.required(child(p, 'containerPort')));
    else for (const m of isValidPortNum(port.containerPort)) errs.push(fieldErr.invalid(child(p, 'containerPort'), port.containerPort, m));
    if (port?.hostPort) for (const m of isValidPortNum(port.hostPort)) errs.push(fieldErr.invalid(child(p, 'hostPort'), port.hostPort, m));
    if (!port?.protocol) errs.push(fieldErr.required(child(p, 'protocol')));
    else if (!PORT_PROTOCOLS.includes(port.protocol)) errs.push(fieldErr.notSupported(child(p, 'protocol'), port.protocol, PORT_PROTOCOLS));
  });
  return errs;
}

function validateEnv(env: Json[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  env.forEach((ev, i) => {
    const p = idx(path, i);
    if (!ev?.name) errs.push(fieldErr.required(child(p, 'name')));
    else for (const m of isEnvVarName(ev.name)) errs.push(fieldErr.invalid(child(p, 'name'), ev.name, m));
    if (ev?.valueFrom) {
      const src = ev.valueFrom;
      const n = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].filter((k) => src[k]).length;
      if (ev.value) errs.push(fieldErr.invalid(child(p, 'valueFrom'), '', 'may not be specified when `value` is not empty'));
      if (n === 0)
        errs.push(
          fieldErr.invalid(
            child(p, 'valueFrom'),
            '',
            'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
          ),
        );
      else if (n > 1) errs.push(fieldErr.invalid(child(p, 'valueFrom'), '', 'may not have more than one field specified at a time'));
    }
  });
  return errs;
}

function validateHandler(h: Json, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const kinds = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((k) => h?.[k]);
  if (kinds.length === 0) return [fieldErr.required(path, 'must specify a handler type')];
  for (const extra of kinds.slice(1)) errs.push(fieldErr.forbidden(child(path, extra), 'may not specify more than 1 handler type'));
  if (h.exec && !(h.exec.command?.length > 0)) errs.push(fieldErr.required(child(path, 'exec', 'command')));
  if (h.httpGet) {
    if (!h.httpGet.path) errs.push(fieldErr.required(child(path, 'httpGet', 'path')));
    errs.push(...validatePortNumOrName(h.httpGet.port as IntOrString, child(path, 'httpGet', 'port')));
    if (h.httpGet.scheme && !['HTTP', 'HTTPS'].includes(h.httpGet.scheme))
      errs.push(fieldErr.notSupported(child(path, 'httpGet', 'scheme'), h.httpGet.scheme, ['HTTP', 'HTTPS']));
  }
  if (h.tcpSocket) errs.push(...validatePortNumOrName(h.tcpSocket.port as IntOrString, child(path, 'tcpSocket', 'port')));
  if (h.grpc)
    for (const m of isValidPortNum(h.grpc.port ?? 0)) errs.push(fieldErr.invalid(child(path, 'grpc', 'port'), h.grpc.port ?? 0, m));
  return errs;
}

function validateProbe(probe: Json, path: string, mustSucceedOnce: boolean): FieldError[] {
  if (!probe) return [];
  const errs = validateHandler(probe, path);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'])
    errs.push(...validateNonnegative(probe[f], child(path, f)));
  if (
    probe.terminationGracePeriodSeconds !== undefined &&
    probe.terminationGracePeriodSeconds !== null &&
    probe.terminationGracePeriodSeconds <= 0
  )
    errs.push(
      fieldErr.invalid(child(path, 'terminationGracePeriodSeconds'), probe.terminationGracePeriodSeconds, 'must be greater than 0'),
    );
  if (mustSucceedOnce && probe.successThreshold !== undefined && probe.successThreshold !== 1)
    errs.push(fieldErr.invalid(child(path, 'successThreshold'), probe.successThreshold, 'must be 1'));
  return errs;
}

function validateContainer(c: Json, path: string, volumes: Set<string>, isInit: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (c.image === undefined || c.image === null || c.image === '') errs.push(fieldErr.required(child(path, 'image')));
  else if (c.image.trim() !== c.image)
    errs.push(fieldErr.invalid(child(path, 'image'), c.image, 'must not have leading or trailing whitespace'));
  errs.push(...validateContainerPorts(c.ports ?? [], child(path, 'ports')));
  errs.push(...validateEnv(c.env ?? [], child(path, 'env')));
  (c.volumeMounts ?? []).forEach((vm: Json, i: number) => {
    const p = idx(child(path, 'volumeMounts'), i);
    if (!vm?.name) errs.push(fieldErr.required(child(p, 'name')));
    else if (!volumes.has(vm.name)) errs.push(fieldErr.notFound(child(p, 'name'), vm.name));
    if (!vm?.mountPath) errs.push(fieldErr.required(child(p, 'mountPath')));
  });
  if (!c.terminationMessagePolicy) errs.push(fieldErr.required(child(path, 'terminationMessagePolicy')));
  else if (!['File', 'FallbackToLogsOnError'].includes(c.terminationMessagePolicy))
    errs.push(
      fieldErr.invalid(child(path, 'terminationMessagePolicy'), c.terminationMessagePolicy, "must be 'File' or 'FallbackToLogsOnError'"),
    );
  if (!c.imagePullPolicy) errs.push(fieldErr.required(child(path, 'imagePullPolicy')));
  else if (!PULL_POLICIES.includes(c.imagePullPolicy))
    errs.push(fieldErr.notSupported(child(path, 'imagePullPolicy'), c.imagePullPolicy, PULL_POLICIES));
  if (isInit && c.restartPolicy !== 'Always') {
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'])
      if (c[probe]) errs.push(fieldErr.forbidden(child(path, probe), 'may not be set for init containers without restartPolicy=Always'));
  } else {
    errs.push(...validateProbe(c.livenessProbe, child(path, 'livenessProbe'), true));
    errs.push(...validateProbe(c.readinessProbe, child(path, 'readinessProbe'), false));
    errs.push(...validateProbe(c.startupProbe, child(path, 'startupProbe'), true));
  }
  return errs;
}

/** ValidatePodSpec (after defaulting): containers, volumes, policies. */
export function validatePodSpec(spec: Json, path: string): FieldError[] {
  const s = spec ?? {};
  const { errs, names: volumes } = validateVolumes(s.volumes ?? [], child(path, 'volumes'));
  const containerNames = new Set<string>();
  const checkName = (c: Json, p: string) => {
    const name = c?.name ?? '';
    if (!name) errs.push(fieldErr.required(child(p, 'name')));
    else for (const m of isDNS1123Label(name)) errs.push(fieldErr.invalid(child(p, 'name'), name, m));
    if (name && containerNames.has(name)) errs.push(fieldErr.duplicate(child(p, 'name'), name));
    else if (name) containerNames.add(name);
  };
  (s.initContainers ?? []).forEach((c: Json, i: number) => {
    const p = idx(child(path, 'initContainers'), i);
    checkName(c, p);
    errs.push(...validateContainer(c ?? {}, p, volumes, true));
  });
  const containers: Json[] = s.containers ?? [];
  if (containers.length === 0) errs.push(fieldErr.required(child(path, 'containers')));
  containers.forEach((c, i) => {
    const p = idx(child(path, 'containers'), i);
    checkName(c, p);
    errs.push(...validateContainer(c ?? {}, p, volumes, false));
  });
  if (!s.restartPolicy) errs.push(fieldErr.required(child(path, 'restartPolicy')));
  else if (!RESTART_POLICIES.includes(s.restartPolicy))
    errs.push(fieldErr.notSupported(child(path, 'restartPolicy'), s.restartPolicy, RESTART_POLICIES));
  if (!s.dnsPolicy) errs.push(fieldErr.required(child(path, 'dnsPolicy')));
  else if (!DNS_POLICIES.includes(s.dnsPolicy)) errs.push(fieldErr.notSupported(child(path, 'dnsPolicy'), s.dnsPolicy, DNS_POLICIES));
  if (s.dnsPolicy === 'None' && !s.dnsConfig)
    errs.push(fieldErr.required(child(path, 'dnsConfig'), 'must provide `dnsConfig` when `dnsPolicy` is None'));
  if (s.nodeSelector) errs.push(...validateLabels(s.nodeSelector, child(path, 'nodeSelector')));
  if (s.serviceAccountName)
    for (const m of nameIsDNSSubdomain(s.serviceAccountName, false))
      errs.push(fieldErr.invalid(child(path, 'serviceAccountName'), s.serviceAccountName, m));
  if (s.nodeName)
    for (const m of nameIsDNSSubdomain(s.nodeName, false)) errs.push(fieldErr.invalid(child(path, 'nodeName'), s.nodeName, m));
  if (s.hostname) for (const m of isDNS1123Label(s.hostname)) errs.push(fieldErr.invalid(child(path, 'hostname'), s.hostname, m));
  if (s.subdomain) for (const m of isDNS1123Label(s.subdomain)) errs.push(fieldErr.invalid(child(path, 'subdomain'), s.subdomain, m));
  if (s.activeDeadlineSeconds !== undefined && s.activeDeadlineSeconds !== null && s.activeDeadlineSeconds <= 0)
    errs.push(
      fieldErr.invalid(child(path, 'activeDeadlineSeconds'), s.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'),
    );
  errs.push(...validateNonnegative(s.terminationGracePeriodSeconds, child(path, 'terminationGracePeriodSeconds')));
  return errs;
}

export function validatePod(pod: KubeObject): FieldError[] {
  const errs = validateObjectMeta(pod.metadata, true, nameIsDNSSubdomain);
  errs.push(...validatePodSpec(pod.spec, 'spec'));
  return errs;
}

/** ValidatePodTemplateSpec: template labels/annotations and the pod spec under `<path>.spec`. */
export function validatePodTemplateSpec(template: Json, path: string): FieldError[] {
  const t = template ?? {};
  const errs = [
    ...validateLabels(t.metadata?.labels, child(path, 'metadata', 'labels')),
    ...validateAnnotations(t.metadata?.annotations, child(path, 'metadata', 'annotations')),
  ];
  errs.push(...validatePodSpec(t.spec, child(path, 'spec')));
  return errs;
}

/**
 * ValidatePodUpdate: a running pod's spec is frozen except container images, activeDeadlineSeconds,
 * added tolerations and a negative grace period becoming 1.
 */
export function validatePodUpdate(pod: KubeObject, old: KubeObject): FieldError[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  errs.push(...validatePod(pod));
  const n = pod.spec ?? {};
  const o = old.spec ?? {};
  if ((n.containers ?? []).length !== (o.containers ?? []).length) {
    errs.push(fieldErr.forbidden('spec.containers', 'pod updates may not add or remove containers'));
    return errs;
  }
  if ((n.initContainers ?? []).length !== (o.initContainers ?? []).length) {
    errs.push(fieldErr.forbidden('spec.initContainers', 'pod updates may not add or remove containers'));
    return errs;
  }
  if (o.activeDeadlineSeconds && !n.activeDeadlineSeconds)
    errs.push(
      fieldErr.invalid(
        'spec.activeDeadlineSeconds',
        n.activeDeadlineSeconds ?? null,
        'must not update from a positive integer to nil value',
      ),
    );
  else if (o.activeDeadlineSeconds && n.activeDeadlineSeconds > o.activeDeadlineSeconds)
    errs.push(fieldErr.invalid('spec.activeDeadlineSeconds', n.activeDeadlineSeconds, 'must be less than or equal to previous value'));
  // Copy the updatable fields from the new spec onto the old one: any remaining difference is forbidden.
  const munged = structuredClone(n);
  munged.containers = (n.containers ?? []).map((c: Json, i: number) => ({ ...c, image: o.containers[i]?.image }));
  munged.initContainers = n.initContainers?.map((c: Json, i: number) => ({ ...c, image: o.initContainers[i]?.image }));
  if (n.initContainers === undefined) delete munged.initContainers;
  munged.activeDeadlineSeconds = o.activeDeadlineSeconds;
  if (o.activeDeadlineSeconds === undefined) delete munged.activeDeadlineSeconds;
  const oldTol: Json[] = o.tolerations ?? [];
  const keepsOldTolerations = oldTol.every((t) => (n.tolerations ?? []).some((u: Json) => deepEqual(t, u)));
  if (keepsOldTolerations) {
    munged.tolerations = o.tolerations;
    if (o.tolerations === undefined) delete munged.tolerations;
  }
  if ((o.terminationGracePeriodSeconds ?? 0) < 0 && n.terminationGracePeriodSeconds === 1)
    munged.terminationGracePeriodSeconds = o.terminationGracePeriodSeconds;
  if (!deepEqual(munged, o)) {
    errs.push(
      fieldErr.forbidden(
        'spec',
        `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(',')}\n${specDiff(o, munged)}`,
      ),
    );
  }
  return errs;
}

/** A compact stand-in for the cmp.Diff kube appends: one `-`/`+` line per changed top-level field. */
function specDiff(oldSpec: Json, newSpec: Json): string {
  const keys = [...new Set([...Object.keys(oldSpec ?? {}), ...Object.keys(newSpec ?? {})])].sort();
  const lines = ['  core.PodSpec{'];
  for (const k of keys) {
    if (deepEqual(oldSpec?.[k], newSpec?.[k])) continue;
    if (oldSpec?.[k] !== undefined) lines.push(`- \t${k}: ${JSON.stringify(oldSpec[k])},`);
    if (newSpec?.[k] !== undefined) lines.push(`+ \t${k}: ${JSON.stringify(newSpec[k])},`);
  }
  lines.push('  }');
  return lines.join('\n');
}

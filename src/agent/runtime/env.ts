/**
 * A container's environment, as the kubelet builds it (pkg/kubelet/kubelet_pods.go
 * makeEnvironmentVariables): envFrom, then env with `$(VAR)` expansion and valueFrom sources, then
 * the docker-link variables of the Services the pod may see.
 */
import type { Container, Pod, Service } from '../../api/types/index.js';

/** Reads the ConfigMaps and Secrets a container refers to (undefined: not found). */
export interface ConfigSource {
  configMap(namespace: string, name: string): Promise<{ data?: Record<string, string>; binaryData?: Record<string, string> } | undefined>;
  /** Secret data is base64, as the API serves it. */
  secret(namespace: string, name: string): Promise<{ data?: Record<string, string>; stringData?: Record<string, string> } | undefined>;
}

/** A container whose configuration cannot be built yet: the kubelet's CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
  readonly reason = 'CreateContainerConfigError';
}

/** `WEBUI-SVC` → `WEBUI_SVC`: how a name becomes part of an environment variable name. */
export function envName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/**
 * The docker-link variables of one Service (pkg/kubelet/envvars): `<NAME>_SERVICE_HOST`,
 * `<NAME>_SERVICE_PORT`, `<NAME>_SERVICE_PORT_<PORTNAME>`, `<NAME>_PORT` and, per port,
 * `<NAME>_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}`.
 */
export function serviceEnv(service: Service): [string, string][] {
  const ip = service.spec?.clusterIP;
  const ports = service.spec?.ports ?? [];
  if (!ip || ip === 'None' || ports.length === 0) return [];
  const name = envName(service.metadata?.name ?? '');
  const env: [string, string][] = [
    [`${name}_SERVICE_HOST`, ip],
    [`${name}_SERVICE_PORT`, String(ports[0]!.port)],
  ];
  for (const port of ports) if (port.name) env.push([`${name}_SERVICE_PORT_${envName(port.name)}`, String(port.port)]);
  const first = ports[0]!;
  env.push([`${name}_PORT`, `${(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`]);
  for (const port of ports) {
    const protocol = port.protocol ?? 'TCP';
    const prefix = `${name}_PORT_${port.port}_${protocol.toUpperCase()}`;
    env.push(
      [prefix, `${protocol.toLowerCase()}://${ip}:${port.port}`],
      [`${prefix}_PROTO`, protocol.toLowerCase()],
      [`${prefix}_PORT`, String(port.port)],
      [`${prefix}_ADDR`, ip],
    );
  }
  return env;
}

/**
 * The Services whose variables a pod gets: those of its namespace with a cluster IP when
 * enableServiceLinks is not false, and always the `kubernetes` Service of `default`.
 */
export function serviceLinkEnv(pod: Pod, services: readonly Service[]): [string, string][] {
  const namespace = pod.metadata?.namespace ?? 'default';
  const links = pod.spec?.enableServiceLinks !== false;
  const chosen = new Map<string, Service>();
  for (const service of services) {
    const ns = service.metadata?.namespace ?? 'default';
    const name = service.metadata?.name ?? '';
    const hasIP = service.spec?.clusterIP && service.spec.clusterIP !== 'None';
    if (!hasIP || service.spec?.type === 'ExternalName') continue;
    if (ns === 'default' && name === 'kubernetes') chosen.set(name, service);
    else if (links && ns === namespace && !chosen.has(name)) chosen.set(name, service);
  }
  return [...chosen.values()].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')).flatMap(serviceEnv);
}

/** Expands `$(VAR)` from `vars` as Kubernetes does: `$$` escapes, unknown references stay as written. */
export function expandVars(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return vars.get(name!) ?? match;
  });
}

/** The value of a downward-API fieldRef. */
export function fieldRefValue(pod: Pod, fieldPath: string): string {
  const meta = pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) return meta[keyed[1] as 'labels' | 'annotations']?.[keyed[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
    case 'metadata.annotations':
      return Object.entries(meta[fieldPath.slice(9) as 'labels' | 'annotations'] ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .join('\n');
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
    case 'status.hostIPs':
      return (pod.status?.hostIPs ?? []).map((h) => h.ip).join(',');
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((p) => p.ip).join(',');
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
  }
}

const decodeSecret = (value: string) => Buffer.from(value, 'base64').toString('utf8');

/**
 * The container's environment as ordered name/value pairs. `pod` should carry the status the
 * container will see (podIP, hostIP), as the kubelet fills those in before starting containers.
 */
export async function containerEnv(
  pod: Pod,
  container: Container,
  services: readonly Service[],
  source: ConfigSource,
): Promise<[string, string][]> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = await source.configMap(namespace, from.configMapRef.name ?? '');
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env.set(prefix + k, v);
    }
    if (from.secretRef) {
      const secret = await source.secret(namespace, from.secretRef.name ?? '');
      if (!secret) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(secret.data ?? {})) env.set(prefix + k, decodeSecret(v));
    }
  }
  const links = serviceLinkEnv(pod, services);
  const expansionVars = () => new Map([...links, ...env]);
  for (const item of container.env ?? []) {
    const name = item.name ?? '';
    const from = item.valueFrom;
    if (!from) {
      env.set(name, expandVars(item.value ?? '', expansionVars()));
      continue;
    }
    if (from.fieldRef) env.set(name, fieldRefValue(pod, from.fieldRef.fieldPath ?? ''));
    else if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const cm = await source.configMap(namespace, ref.name ?? '');
      const value = cm?.data?.[ref.key ?? ''];
      if (value !== undefined) env.set(name, value);
      else if (!ref.optional) {
        throw new ContainerConfigError(
          cm ? `couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}` : `configmap "${ref.name}" not found`,
        );
      }
    } else if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      const secret = await source.secret(namespace, ref.name ?? '');
      const value = secret?.data?.[ref.key ?? ''];
      if (value !== undefined) env.set(name, decodeSecret(value));
      else if (!ref.optional) {
        throw new ContainerConfigError(
          secret ? `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}` : `secret "${ref.name}" not found`,
        );
      }
    } else if (from.resourceFieldRef) {
      const resource = from.resourceFieldRef.resource ?? '';
      const [kind, res] = resource.split('.') as ['limits' | 'requests', string];
      env.set(name, String(container.resources?.[kind]?.[res] ?? (res === 'cpu' ? '1' : '0')));
    }
  }
  // Service variables fill in only names the container did not set itself.
  for (const [k, v] of links) if (!env.has(k)) env.set(k, v);
  return [...env];
}

/** The container's argv with `$(VAR)` expanded from its environment: command (or the image's) then args. */
export function expandCommand(argv: readonly string[], env: readonly [string, string][]): string[] {
  const vars = new Map(env);
  return argv.map((arg) => expandVars(arg, vars));
}

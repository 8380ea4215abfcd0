/**
 * The files a pod's containers see: the kubelet-managed /etc/hosts, /etc/resolv.conf and
 * /etc/hostname, and the pod's volumes (emptyDir, configMap, secret, downwardAPI, projected,
 * hostPath), laid out under the pod's directory and turned into bind mounts per container.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Container, Pod } from '../../api/types/index.js';
import type { ImageDir } from '../images/catalog.js';
import { type ClusterDnsSettings, formatResolvConf, hostsFile, podHostname, podResolvConf, type ResolvConf } from './dns.js';
import { type ConfigSource, ContainerConfigError, fieldRefValue } from './env.js';
import type { BindMount } from './mounts.js';

type Volume = NonNullable<NonNullable<Pod['spec']>['volumes']>[number];

/** Writes the pod's /etc files into `podDir/etc/`; returns their paths. */
export function writePodEtcFiles(
  podDir: string,
  pod: Pod,
  podIPs: string[],
  dns: ClusterDnsSettings,
  nodeResolv: ResolvConf,
): { hosts: string; resolvConf: string; hostname: string } {
  const dir = join(podDir, 'etc');
  mkdirSync(dir, { recursive: true });
  const files = { hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf'), hostname: join(dir, 'hostname') };
  writeFileSync(files.hosts, hostsFile(pod, podIPs, dns.domain));
  writeFileSync(files.resolvConf, formatResolvConf(podResolvConf(pod, dns, nodeResolv)));
  writeFileSync(files.hostname, `${podHostname(pod)}\n`);
  return files;
}

function writeKeys(dir: string, entries: [string, string | Buffer][]): void {
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of entries) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/** Keys to files, honouring `items` (key → path) when given. */
function keyFiles(
  data: Record<string, string | Buffer>,
  items: readonly { key?: string; path?: string }[] | undefined,
  what: string,
): [string, string | Buffer][] {
  if (!items || items.length === 0) return Object.entries(data);
  return items.map((item) => {
    const value = data[item.key ?? ''];
    if (value === undefined) throw new ContainerConfigError(`couldn't find key ${item.key} in ${what}`);
    return [item.path ?? item.key ?? '', value];
  });
}

/**
 * Materializes the pod's volumes under `podDir/volumes/<name>`; returns each volume's host path.
 * A missing ConfigMap or Secret that is not optional throws {@link ContainerConfigError}.
 */
export async function prepareVolumes(podDir: string, pod: Pod, source: ConfigSource): Promise<Map<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const paths = new Map<string, string>();
  for (const volume of (pod.spec?.volumes ?? []) as Volume[]) {
    const name = volume.name ?? '';
    if (volume.hostPath) {
      const path = volume.hostPath.path ?? '/';
      if (volume.hostPath.type === 'DirectoryOrCreate') mkdirSync(path, { recursive: true });
      paths.set(name, path);
      continue;
    }
    const dir = join(podDir, 'volumes', name);
    paths.set(name, dir);
    mkdirSync(dir, { recursive: true });
    const writeSources = async (sources: NonNullable<NonNullable<Volume['projected']>['sources']>) => {
      for (const s of sources) {
        if (s.configMap) await writeConfigMap(dir, namespace, s.configMap, source);
        if (s.secret) await writeSecret(dir, namespace, s.secret, source);
        if (s.downwardAPI) writeDownward(dir, pod, s.downwardAPI.items ?? []);
      }
    };
    if (volume.configMap) await writeConfigMap(dir, namespace, volume.configMap, source);
    else if (volume.secret) await writeSecret(dir, namespace, { ...volume.secret, name: volume.secret.secretName }, source);
    else if (volume.downwardAPI) writeDownward(dir, pod, volume.downwardAPI.items ?? []);
    else if (volume.projected) await writeSources(volume.projected.sources ?? []);
  }
  return paths;
}

async function writeConfigMap(
  dir: string,
  namespace: string,
  ref: { name?: string; items?: { key?: string; path?: string }[]; optional?: boolean },
  source: ConfigSource,
) {
  const cm = await source.configMap(namespace, ref.name ?? '');
  if (!cm) {
    if (ref.optional) return;
    throw new ContainerConfigError(`configmap "${ref.name}" not found`);
  }
  const data: Record<string, string | Buffer> = { ...cm.data };
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
  writeKeys(dir, keyFiles(data, ref.items, `ConfigMap ${namespace}/${ref.name}`));
}

async function writeSecret(
  dir: string,
  namespace: string,
  ref: { name?: string; items?: { key?: string; path?: string }[]; optional?: boolean },
  source: ConfigSource,
) {
  const secret = await source.secret(namespace, ref.name ?? '');
  if (!secret) {
    if (ref.optional) return;
    throw new ContainerConfigError(`secret "${ref.name}" not found`);
  }
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  writeKeys(dir, keyFiles(data, ref.items, `Secret ${namespace}/${ref.name}`));
}

function writeDownward(dir: string, pod: Pod, items: readonly { path?: string; fieldRef?: { fieldPath?: string } }[]) {
  writeKeys(
    dir,
    items.filter((i) => i.fieldRef).map((i) => [i.path ?? '', fieldRefValue(pod, i.fieldRef!.fieldPath ?? '')]),
  );
}

/** Seeds a builtin image's writable directories (once per pod and container) and returns their host paths. */
export function prepareImageDirs(podDir: string, containerName: string, dirs: readonly ImageDir[]): { path: string; source: string }[] {
  return dirs.map((d, i) => {
    const source = join(podDir, 'image-dirs', containerName, String(i));
    mkdirSync(source, { recursive: true });
    for (const [file, content] of Object.entries(d.files)) {
      try {
        writeFileSync(join(source, file), content, { flag: 'wx' });
      } catch {
        // Already there (kept across restarts, as a container's writable layer is).
      }
    }
    return { path: d.path, source };
  });
}

/**
 * The container's bind mounts: image directories first, the pod's /etc files, then its
 * volumeMounts (which win over image directories at the same path, as a volume hides image content).
 */
export function containerBinds(
  container: Container,
  etc: { hosts: string; resolvConf: string; hostname: string },
  volumes: ReadonlyMap<string, string>,
  imageDirs: readonly { path: string; source: string }[],
): BindMount[] {
  const mounts = container.volumeMounts ?? [];
  const byTarget = new Map<string, BindMount>();
  for (const d of imageDirs) byTarget.set(d.path, { source: d.source, target: d.path, directory: true });
  byTarget.set('/etc/hosts', { source: etc.hosts, target: '/etc/hosts', directory: false });
  byTarget.set('/etc/resolv.conf', { source: etc.resolvConf, target: '/etc/resolv.conf', directory: false });
  byTarget.set('/etc/hostname', { source: etc.hostname, target: '/etc/hostname', directory: false });
  for (const m of mounts) {
    const base = volumes.get(m.name ?? '');
    if (base === undefined) throw new ContainerConfigError(`volume "${m.name}" not found in the pod spec`);
    const source = m.subPath ? join(base, m.subPath) : base;
    if (m.subPath) mkdirSync(source, { recursive: true });
    const target = (m.mountPath ?? '/').replace(/\/+$/, '') || '/';
    byTarget.set(target, { source, target, directory: true, readOnly: m.readOnly ?? false });
  }
  return [...byTarget.values()];
}

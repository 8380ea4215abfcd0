/**
 * A small CNI runtime (what libcni does for containerd): builds the network configuration for a node,
 * executes plugin binaries with the CNI_* environment and the config on stdin, chains `prevResult`
 * through a plugin list on ADD/CHECK and walks it backwards on DEL, and caches ADD results for DEL/CHECK.
 *
 * Plugins run inside the node's network namespace (`nsenter --net`), so the `cni0` bridge, the gateway
 * address and portmap's iptables rules all live in the node namespace, as on a real node.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, type CommandRunner, hostRunner, inNetns } from '../../cluster/netns.js';

/** The CNI spec version svcnet speaks (the Debian plugins 1.1.1 support 0.1.0–1.0.0). */
export const CNI_VERSION = '1.0.0';
/** Where Debian's containernetworking-plugins install the binaries. */
export const DEFAULT_CNI_PATH = '/usr/lib/cni';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/** One plugin's configuration, as written to its stdin. */
export interface CniPluginConfig {
  type: string;
  cniVersion?: string;
  name?: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network configuration list (a `.conflist`). */
export interface CniNetworkConfigList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConfig[];
}

/** The parts of a CNI result svcnet reads; other fields are kept as they came. */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A `portMappings` runtime-config entry (the CNI convention for hostPort). */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/** Values the runtime supplies per invocation; plugins that declare the matching capability receive them as `runtimeConfig`. */
export interface CniRuntimeConfig {
  portMappings?: CniPortMapping[];
}

/** Identifies one attachment: a container's interface in a network namespace. */
export interface CniAttachment {
  containerId: string;
  /** Path of the container's network namespace (CNI_NETNS). */
  netnsPath: string;
  /** Interface name inside it (CNI_IFNAME). */
  ifName: string;
  /** CNI_ARGS key/value pairs, e.g. K8S_POD_NAMESPACE. */
  args?: Record<string, string>;
}

/** Where and how plugins run. */
export interface CniExecOptions {
  runner?: CommandRunner;
  /** Directory of the plugin binaries (CNI_PATH). */
  cniPath?: string;
  /** Named network namespace the plugins run in (the node); undefined: the runner's own. */
  hostNetns?: string;
}

/** A plugin's failure, carrying the CNI error code and message the plugin printed. */
export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(
    readonly plugin: string,
    readonly command: CniCommand,
    /** CNI error code (e.g. 7 invalid network config, 11 try again later); 999 when the plugin printed no CNI error. */
    readonly code: number,
    readonly msg: string,
    readonly details?: string,
  ) {
    super(`CNI plugin ${plugin} ${command} failed (code ${code}): ${msg}${details ? `: ${details}` : ''}`);
  }
}

/** CNI_ARGS text: `K=V;K=V`, led by IgnoreUnknown=1 so plugins accept keys they do not know (as containerd sends). */
export function formatCniArgs(args: Record<string, string> = {}): string {
  return Object.entries({ IgnoreUnknown: '1', ...args })
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
}

/** The environment a plugin is executed with. */
export function cniEnv(command: CniCommand, attachment: CniAttachment, cniPath: string): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: attachment.containerId,
    CNI_NETNS: attachment.netnsPath,
    CNI_IFNAME: attachment.ifName,
    CNI_ARGS: formatCniArgs(attachment.args),
    CNI_PATH: cniPath,
  };
}

/** Turns a failed plugin run into a {@link CniError}, using the CNI error JSON the plugin printed when there is one. */
export function cniErrorFrom(plugin: string, command: CniCommand, err: unknown): CniError {
  if (err instanceof CommandError) {
    try {
      const parsed = JSON.parse(err.stdout) as { code?: number; msg?: string; details?: string };
      if (typeof parsed.msg === 'string') return new CniError(plugin, command, parsed.code ?? 999, parsed.msg, parsed.details || undefined);
    } catch {
      // not JSON: fall through to the raw output
    }
    return new CniError(plugin, command, 999, err.stderr.trim() || err.stdout.trim() || `exit status ${err.code}`);
  }
  return new CniError(plugin, command, 999, err instanceof Error ? err.message : String(err));
}

/** Executes one plugin; returns its parsed result (ADD), or undefined when it printed nothing (DEL, CHECK). */
export async function execPlugin(
  command: CniCommand,
  config: CniPluginConfig,
  attachment: CniAttachment,
  options: CniExecOptions = {},
): Promise<CniResult | undefined> {
  const cniPath = options.cniPath ?? DEFAULT_CNI_PATH;
  const binary = join(cniPath, config.type);
  const argv = options.hostNetns ? inNetns(options.hostNetns, [binary]) : [binary];
  let stdout: string;
  try {
    ({ stdout } = await (options.runner ?? hostRunner)(argv, { input: JSON.stringify(config), env: cniEnv(command, attachment, cniPath) }));
  } catch (err) {
    throw cniErrorFrom(config.type, command, err);
  }
  if (!stdout.trim()) return undefined;
  try {
    return JSON.parse(stdout) as CniResult;
  } catch {
    throw new CniError(config.type, command, 999, `result is not JSON: ${stdout.slice(0, 200)}`);
  }
}

/**
 * The config one plugin of a list receives, as libcni derives it: the list's name and cniVersion,
 * the previous plugin's result, and runtimeConfig entries for the capabilities the plugin declares.
 */
export function pluginConfig(
  list: CniNetworkConfigList,
  plugin: CniPluginConfig,
  runtime: CniRuntimeConfig = {},
  prevResult?: CniResult,
): CniPluginConfig {
  const config: CniPluginConfig = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const runtimeConfig = Object.fromEntries(
    Object.entries(runtime).filter(([key, value]) => value !== undefined && plugin.capabilities?.[key]),
  );
  if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
  if (prevResult) config.prevResult = prevResult;
  return config;
}

/** ADD through a plugin list, each plugin getting the previous one's result; returns the last result. */
export async function addNetworkList(
  list: CniNetworkConfigList,
  attachment: CniAttachment,
  runtime: CniRuntimeConfig = {},
  options: CniExecOptions = {},
): Promise<CniResult> {
  let result: CniResult | undefined;
  for (const plugin of list.plugins) {
    result = (await execPlugin('ADD', pluginConfig(list, plugin, runtime, result), attachment, options)) ?? result;
  }
  if (!result) throw new CniError(list.plugins.at(-1)?.type ?? '(none)', 'ADD', 999, `network ${list.name} returned no result`);
  return result;
}

/** CHECK through a plugin list against the result ADD returned. */
export async function checkNetworkList(
  list: CniNetworkConfigList,
  attachment: CniAttachment,
  prevResult: CniResult,
  runtime: CniRuntimeConfig = {},
  options: CniExecOptions = {},
): Promise<void> {
  for (const plugin of list.plugins) await execPlugin('CHECK', pluginConfig(list, plugin, runtime, prevResult), attachment, options);
}

/**
 * DEL through a plugin list in reverse order. Every plugin is tried even when one fails (so an IP is not leaked
 * because an iptables rule was already gone); the first failure is thrown at the end.
 */
export async function delNetworkList(
  list: CniNetworkConfigList,
  attachment: CniAttachment,
  runtime: CniRuntimeConfig = {},
  options: CniExecOptions & { prevResult?: CniResult } = {},
): Promise<void> {
  let failure: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await execPlugin('DEL', pluginConfig(list, plugin, runtime, options.prevResult), attachment, options);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure) throw failure;
}

/** Inputs for a node's pod network configuration. */
export interface PodNetworkOptions {
  /** The node's pod CIDR, e.g. 10.244.1.0/24; the gateway (on the bridge) is its first address. */
  podCIDR: string;
  /** Directory where host-local keeps its allocations (one per node). */
  ipamDataDir: string;
  /** Network name. Default `svcnet`. */
  name?: string;
  /** Bridge inside the node namespace. Default `cni0`. */
  bridge?: string;
}

/** The node's pod network: bridge + host-local IPAM, then portmap for hostPorts. */
export function podNetworkConfig(options: PodNetworkOptions): CniNetworkConfigList {
  return {
    cniVersion: CNI_VERSION,
    name: options.name ?? 'svcnet',
    plugins: [
      {
        type: 'bridge',
        bridge: options.bridge ?? 'cni0',
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: options.podCIDR }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: options.ipamDataDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
}

/** The loopback network every pod gets first (`lo` up). */
export function loopbackConfig(): CniNetworkConfigList {
  return { cniVersion: CNI_VERSION, name: 'cni-loopback', plugins: [{ type: 'loopback' }] };
}

/** What svcnet remembers of an ADD, so DEL and CHECK get the same config, runtime values and previous result. */
export interface CachedAttachment {
  network: CniNetworkConfigList;
  attachment: CniAttachment;
  runtime: CniRuntimeConfig;
  result: CniResult;
}

/** Cache of ADD results, one JSON file per attachment, like libcni's /var/lib/cni/results. */
export class CniResultCache {
  constructor(readonly dir: string) {}

  private file(network: string, containerId: string, ifName: string): string {
    return join(this.dir, `${network}-${containerId}-${ifName}.json`);
  }

  save(entry: CachedAttachment): void {
    mkdirSync(this.dir, { recursive: true });
    const file = this.file(entry.network.name, entry.attachment.containerId, entry.attachment.ifName);
    writeFileSync(`${file}.tmp`, JSON.stringify(entry));
    renameSync(`${file}.tmp`, file);
  }

  load(network: string, containerId: string, ifName: string): CachedAttachment | undefined {
    try {
      return JSON.parse(readFileSync(this.file(network, containerId, ifName), 'utf8')) as CachedAttachment;
    } catch {
      return undefined;
    }
  }

  remove(network: string, containerId: string, ifName: string): void {
    rmSync(this.file(network, containerId, ifName), { force: true });
  }
}

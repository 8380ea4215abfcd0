/**
 * UDP conntrack cleanup after a sync, as kube-proxy does it (pkg/proxy/conntrack): UDP has no
 * connection to end, so a client keeps hitting the conntrack entry of an endpoint that is gone (or of
 * the rejection cached while a Service had no endpoints) until the entry ages out. After rules change:
 *
 * - a removed UDP endpoint: `conntrack -D --orig-dst <serviceIP> --dst-nat <endpointIP> -p udp` for
 *   the cluster IP, external IPs and LoadBalancer IPs, and `-p udp --dport <nodePort> --dst-nat <endpointIP>`;
 * - a UDP Service that went from no endpoints to some, or a removed UDP service port:
 *   `conntrack -D --orig-dst <serviceIP> -p udp` and `-p udp --dport <nodePort>`.
 *
 * {@link conntrackCommands} is pure; {@link clearConntrack} runs the commands through the injected
 * runner, where "0 flow entries have been deleted" (conntrack's exit status 1) is not an error.
 */
import type { CommandRunner } from '../cluster/netns.js';
import type { ProxyLogger } from './log.js';
import type { ServicePortInfo, ServicePortMap } from './model.js';
import type { UpdateResult } from './tracker.js';

const forIP = (ip: string) => ['conntrack', '-D', '--orig-dst', ip, '-p', 'udp'];
const forPort = (port: number) => ['conntrack', '-D', '-p', 'udp', '--dport', String(port)];
const forNAT = (origin: string, dest: string) => ['conntrack', '-D', '--orig-dst', origin, '--dst-nat', dest, '-p', 'udp'];
const forPortNAT = (dest: string, port: number) => ['conntrack', '-D', '-p', 'udp', '--dport', String(port), '--dst-nat', dest];

const serviceIPs = (info: ServicePortInfo) => [info.clusterIP, ...info.externalIPs, ...info.loadBalancerVIPs];

/** The conntrack invocations a sync's changes call for (deduplicated, in a stable order). */
export function conntrackCommands(changes: UpdateResult, services: ServicePortMap): string[][] {
  const out = new Map<string, string[]>();
  const add = (argv: string[]) => out.set(argv.join(' '), argv);
  for (const ip of [...changes.deletedUDPClusterIPs].sort()) add(forIP(ip));
  for (const key of changes.newlyActiveUDPServices) {
    const info = services.get(key);
    if (!info) continue;
    for (const ip of serviceIPs(info)) add(forIP(ip));
    if (info.nodePort) add(forPort(info.nodePort));
  }
  for (const stale of changes.deletedUDPEndpoints) {
    const endpointIP = stale.endpoint.slice(0, stale.endpoint.lastIndexOf(':'));
    const info = services.get(stale.servicePortKey);
    for (const ip of info ? serviceIPs(info) : [stale.clusterIP]) add(forNAT(ip, endpointIP));
    if (info?.nodePort) add(forPortNAT(endpointIP, info.nodePort));
  }
  return [...out.values()];
}

/** Runs the commands; failures are logged, never thrown (a sync does not fail over stale entries). */
export async function clearConntrack(run: CommandRunner, commands: readonly string[][], log: ProxyLogger): Promise<void> {
  for (const argv of commands) {
    try {
      await run(argv, { timeoutMs: 10_000 });
    } catch (err) {
      const output = `${(err as { stderr?: string }).stderr ?? ''}${(err as { stdout?: string }).stdout ?? ''}`;
      if (output.includes('0 flow entries have been deleted')) continue;
      log.error('Failed to delete conntrack entries', { command: argv.join(' '), err: String(err) }, 'conntrack.go:75');
    }
  }
}

/**
 * `svcnet service NAME [--url]`: where a Service of the local cluster answers from this host, as
 * `minikube service NAME --url` says it. A LoadBalancer's external IPs (routed through the first
 * node), else a NodePort on the first real node's address. Simulated nodes have no address the
 * host can reach, and a ClusterIP Service has no node port: both are said plainly.
 */
import type { KubeObject } from '../api/meta.js';
import { SIM_NODE_ANNOTATION } from '../controllers/simnode/objects.js';

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
  protocol?: string;
}

/** One reachable address of a Service port. */
export interface ServiceURL {
  port: ServicePort;
  url: string;
}

/** The InternalIP of the first Ready real (not simulated) node, by name. */
export function firstNodeAddress(nodes: readonly KubeObject[]): string | undefined {
  const real = nodes
    .filter((n) => n.metadata.annotations?.[SIM_NODE_ANNOTATION] === undefined)
    .filter((n) => (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'))
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '', 'en', { numeric: true }));
  for (const node of real) {
    const ip = (node.status?.addresses ?? []).find((a: { type: string }) => a.type === 'InternalIP')?.address;
    if (ip) return ip;
  }
  return undefined;
}

/**
 * The URLs of `svc` from the host: `http://<LB IP>:<port>` for each LoadBalancer ingress IP, else
 * `http://<node>:<nodePort>`. An error text (minikube's wording) when there is none.
 */
export function serviceURLs(svc: KubeObject, nodeIP: string | undefined): ServiceURL[] | string {
  const ns = svc.metadata.namespace ?? 'default';
  const name = svc.metadata.name ?? '';
  const ports = (svc.spec?.ports ?? []) as ServicePort[];
  const ingress = ((svc.status?.loadBalancer?.ingress ?? []) as { ip?: string }[]).map((i) => i.ip).filter((ip): ip is string => !!ip);
  if (svc.spec?.type === 'LoadBalancer' && ingress.length && nodeIP) {
    return ingress.flatMap((ip) => ports.map((port) => ({ port, url: `http://${ip}:${port.port}` })));
  }
  const withNodePort = ports.filter((p) => p.nodePort);
  if (!withNodePort.length) return `service ${ns}/${name} has no node port`;
  if (!nodeIP)
    return `service ${ns}/${name}: no node has an address this host can reach (simulated nodes have none; start the cluster with --nodes N)`;
  return withNodePort.map((port) => ({ port, url: `http://${nodeIP}:${port.nodePort}` }));
}

/** minikube's table: NAMESPACE, NAME, TARGET PORT, URL, in a box. */
export function urlTable(svc: KubeObject, urls: readonly ServiceURL[]): string {
  const rows = urls.map((u) => [
    svc.metadata.namespace ?? 'default',
    svc.metadata.name ?? '',
    u.port.name ? `${u.port.name}/${u.port.port}` : String(u.port.port),
    u.url,
  ]);
  const head = ['NAMESPACE', 'NAME', 'TARGET PORT', 'URL'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const center = (t: string, w: number) => {
    const left = Math.floor((w - t.length) / 2);
    return ' '.repeat(left) + t + ' '.repeat(w - t.length - left);
  };
  // The target port is right-aligned, as minikube prints it.
  const cell = (t: string, i: number) => (i === 2 ? t.padStart(widths[i]!) : t.padEnd(widths[i]!));
  return [
    rule,
    `| ${head.map((h, i) => center(h, widths[i]!)).join(' | ')} |`,
    rule,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    rule,
    '',
  ].join('\n');
}

export async function serviceCommand(name: string, opts: { dataDir?: string; namespace?: string; url?: boolean }): Promise<void> {
  const [{ StateDir }, { loadKubeconfig }, { HttpClient }, { R }] = await Promise.all([
    import('../cluster/state-dir.js'),
    import('../cluster/kubeconfig.js'),
    import('../client/http.js'),
    import('../client/types.js'),
  ]);
  const sd = new StateDir(opts.dataDir);
  if (!sd.running()) {
    process.stderr.write(`svcnet is not running (data directory ${sd.root}).\n`);
    process.exitCode = 3;
    return;
  }
  const client = new HttpClient(loadKubeconfig(sd.kubeconfig));
  try {
    const namespace = opts.namespace ?? 'default';
    const svc = await client.get(R.services, name, namespace).catch((e: Error) => {
      throw new Error(`service ${namespace}/${name}: ${e.message}`);
    });
    const urls = serviceURLs(svc, firstNodeAddress((await client.list(R.nodes)).items));
    if (typeof urls === 'string') {
      process.stderr.write(`svcnet: ${urls}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(opts.url ? urls.map((u) => `${u.url}\n`).join('') : urlTable(svc, urls));
  } catch (e) {
    process.stderr.write(`svcnet: ${(e as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    client.close();
  }
}

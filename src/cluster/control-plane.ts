/**
 * Starts the local control plane in this process: store, API server (HTTPS), and the controllers
 * (through the in-process client). Start order is expressed as readiness, not sleeps.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { startEventTTL } from '../apiserver/event-ttl.js';
import { ApiHandler, type HandlerOptions } from '../apiserver/handler.js';
import { podProxy } from '../apiserver/podproxy/index.js';
import { Registry } from '../apiserver/registry/index.js';
import { startServer } from '../apiserver/server.js';
import { ServiceAccountTokens } from '../apiserver/serviceaccount-token.js';
import { LocalClient } from '../client/local.js';
import { startControllers } from '../controllers/manager.js';
import { type RunningClusterDns, runClusterDns } from '../dns/run.js';
import { openStore, startCompactor } from '../storage/index.js';
import type { Store } from '../storage/types.js';
import { writeKubeconfig } from './kubeconfig.js';
import { hostRunner } from './netns.js';
import { createNodeNetwork, killLeftoverAgents, type RealNodes, startAgents } from './nodes.js';
import { ensurePki, ensureServiceAccountKey, newToken } from './pki.js';
import type { RuntimeInfo, StateDir } from './state-dir.js';

export interface ControlPlaneOptions {
  host: string;
  port: number;
  store: 'sqlite' | 'memory';
  serviceCIDR: string;
  nodePortRange: string;
  /** Simulated nodes (pods become Running without processes). */
  simulatedNodes?: number;
  /** Real nodes: network namespaces on the svcnet0 bridge, each running an agent (needs root). */
  nodes?: number;
  /** The service proxy's mode on real nodes. */
  proxyMode?: 'iptables' | 'nftables' | 'userspace';
}

export interface ControlPlane {
  server: string;
  port: number;
  handler: ApiHandler;
  client: LocalClient;
  store: Store;
  components: string[];
  agentPids(): number[];
  close(): Promise<void>;
}

/** The admin token: created once per data directory, then reused so kubeconfigs stay valid. */
function adminToken(sd: StateDir): string {
  const file = sd.path('pki', 'admin.token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const t = newToken();
  writeFileSync(file, `${t}\n`, { mode: 0o600 });
  return t;
}

/** The token the API server presents to kubelets: created once per data directory. */
function kubeletClientToken(sd: StateDir): string {
  const file = sd.path('pki', 'kubelet-client.token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const t = newToken();
  writeFileSync(file, `${t}\n`, { mode: 0o600 });
  return t;
}

export async function startControlPlane(sd: StateDir, opts: ControlPlaneOptions): Promise<ControlPlane> {
  sd.ensure();
  // Real nodes reach the API server on the bridge address, so the network comes first.
  const plan = opts.nodes ? await createNodeNetwork(opts.nodes) : undefined;
  const hosts = plan ? [opts.host, plan.gateway] : [opts.host];
  const pki = await ensurePki(sd.path('pki'), { sans: { ips: [...hosts.filter((h) => h !== '0.0.0.0'), '10.96.0.1'] } });
  const token = adminToken(sd);
  const store = await openStore(opts.store === 'memory' ? { kind: 'memory' } : { kind: 'sqlite', path: sd.database });
  const registry = new Registry(store, { serviceCIDR: opts.serviceCIDR, nodePortRange: opts.nodePortRange });
  await registry.start();
  let ready = false;
  const handlerOptions: HandlerOptions = { serverAddress: `${opts.host}:${opts.port}`, isReady: () => ready };
  const handler = new ApiHandler(registry, handlerOptions);
  // kubectl logs/exec/attach/port-forward: the pod subresources the node's kubelet serves.
  const kubeletToken = kubeletClientToken(sd);
  const proxy = podProxy({ client: new LocalClient(handler), kubeletToken, kubeletCA: pki.caCertPem });
  // `kubectl create token`: service account tokens, signed here and accepted as bearer tokens.
  const saTokens = new ServiceAccountTokens(ensureServiceAccountKey(sd.path('pki')), new LocalClient(handler));
  handlerOptions.connect = { ...proxy.connect, 'serviceaccounts/token': saTokens.connect };
  const tokens = new Map([[token, 'svcnet-admin']]);
  handlerOptions.authenticateToken = async (t) => tokens.get(t) ?? (await saTokens.authenticate(t));
  handlerOptions.apiAudiences = [saTokens.issuer];
  const running = await startServer(handler, {
    host: hosts,
    port: opts.port,
    tls: { cert: pki.certPem, key: pki.keyPem },
    tokens,
    authenticateToken: (t) => saTokens.authenticate(t),
    onUpgrade: proxy.onUpgrade,
  });
  const connectHost = opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  const server = `https://${connectHost}:${running.port}`;
  writeKubeconfig(sd.kubeconfig, { server, caPem: pki.caCertPem, token });
  const client = new LocalClient(handler);
  await registry.bootstrap(client);
  const compactor = startCompactor(store);
  const eventTTL = startEventTTL(registry.find('', 'v1', 'events')!.storage, {
    onError: (e) => process.stderr.write(`svcnet: expiring events: ${(e as Error).message ?? e}\n`),
  });
  const controllers = startControllers(client, {
    simulatedNodes: opts.simulatedNodes,
    // With real nodes, the host reaches LoadBalancer addresses through the first node (as `minikube tunnel`).
    announceLoadBalancerIP: plan ? hostRouteVia(plan.nodes[0].ip, plan.bridge) : undefined,
    rootCAPem: pki.caCertPem,
  });
  let nodes: RealNodes | undefined;
  let dns: RunningClusterDns | undefined;
  if (plan) {
    nodes = await startAgents(sd, plan, `https://${plan.gateway}:${running.port}`, pki, kubeletToken, opts.proxyMode ?? 'iptables');
    for (const [t, user] of nodes.tokens) tokens.set(t, user);
    await registry.publishApiServerEndpoint(client, plan.gateway, running.port);
    // Cluster DNS on the bridge address, behind the kube-dns Service (10.96.0.10) that pods' resolv.conf names.
    dns = await runClusterDns(client, {
      listen: { host: plan.gateway, port: 53 },
      metricsHost: plan.gateway,
      metricsPort: 9153,
      config: { nameserverIPs: [registry.services.reservedIP(10)] },
    });
    await registry.publishClusterDnsEndpoint(client, plan.gateway);
    // The host is not a node: it reaches cluster IPs through the first node's proxy (masqueraded there).
    await hostRunner(['ip', 'route', 'replace', opts.serviceCIDR, 'via', plan.nodes[0].ip, 'dev', plan.bridge]);
  }
  ready = true;
  return {
    server,
    port: running.port,
    handler,
    client,
    store,
    components: [
      'apiserver',
      ...controllers.names,
      ...(plan ? [`cluster-dns(${plan.gateway}:53)`] : []),
      ...(plan ? plan.nodes.map((n) => `agent+proxy(${n.name} ${n.ip}, ${opts.proxyMode ?? 'iptables'})`) : []),
    ],
    agentPids: () => nodes?.agentPids() ?? [],
    close: async () => {
      await nodes?.stop();
      await dns?.close();
      await controllers.stop();
      compactor.stop();
      eventTTL.stop();
      await running.close();
      registry.stop();
      await store.close();
    },
  };
}

function hostRouteVia(nodeIP: string, bridge: string) {
  return {
    add: async (ip: string) => void (await hostRunner(['ip', 'route', 'replace', `${ip}/32`, 'via', nodeIP, 'dev', bridge])),
    remove: async (ip: string) => void (await hostRunner(['ip', 'route', 'del', `${ip}/32`]).catch(() => undefined)),
  };
}

/** `svcnet up --foreground`: run until SIGTERM/SIGINT, reporting readiness to a parent `svcnet up`. */
export async function runForeground(
  sd: StateDir,
  opts: ControlPlaneOptions & { notify: (m: { type: 'ready'; info: RuntimeInfo } | { type: 'error'; message: string }) => void },
): Promise<void> {
  killLeftoverAgents(sd.readRuntime()?.agents);
  let cp: ControlPlane;
  try {
    cp = await startControlPlane(sd, opts);
  } catch (e) {
    const message =
      (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? `port ${opts.port} is already in use (try --port)`
        : String((e as Error).message ?? e);
    // Logged first: a parent `svcnet up` shows the log's last lines as soon as it hears of the error.
    process.stderr.write(`svcnet: ${message}\n`);
    opts.notify({ type: 'error', message });
    process.exit(1);
  }
  const info: RuntimeInfo = {
    pid: process.pid,
    server: cp.server,
    startedAt: new Date().toISOString(),
    components: cp.components,
    agents: cp.agentPids(),
  };
  sd.writeRuntime(info);
  process.stderr.write(`svcnet: API server listening on ${cp.server}\n`);
  opts.notify({ type: 'ready', info });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`svcnet: ${signal}, shutting down\n`);
    try {
      await cp.close();
    } finally {
      sd.clearRuntime();
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * `svcnet agent`: the node agent (a kubelet). It registers its Node and heartbeats through a Lease,
 * watches the pods bound to it (fieldSelector spec.nodeName=<node>) and runs each through a
 * {@link PodWorker}: sandbox, containers, probes, restarts, graceful termination, and the status
 * written back through pods/status only when it changed. Level-driven: informer events only
 * enqueue `namespace/name`; `syncPod(key)` looks at the cache and the runtime and acts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StatusError } from '../api/errors.js';
import type { KubeObject } from '../api/meta.js';
import type { Pod as ApiPod, Service as ApiService } from '../api/types/index.js';
import { SharedInformer } from '../client/informer.js';
import { type Client, R } from '../client/types.js';
import { runWorkers, WorkQueue } from '../client/workqueue.js';
import { type CommandRunner, hostRunner, NetnsOps } from '../cluster/netns.js';
import { findHostNginx } from './images/host-nginx.js';
import { type RunningKubelet, startKubeletServer } from './kubelet/server.js';
import { detectNodeInfo, NodeHeartbeat, type NodeHeartbeatOptions, type NodeInfo } from './node.js';
import { PodWorker, podStartLine, type SandboxManager } from './pod-worker.js';
import { type BackoffOptions, CrashBackoff } from './runtime/backoff.js';
import { type ClusterDnsSettings, DEFAULT_CLUSTER_DNS, parseResolvConf } from './runtime/dns.js';
import type { ConfigSource } from './runtime/env.js';
import { createPodSandbox, destroyPodSandbox, podNetnsName } from './sandbox/pod-sandbox.js';
import { computePodStatus, statusEqual } from './status.js';

export interface AgentOptions {
  client: Client;
  nodeName: string;
  /** The node's address (InternalIP, status.hostIP of its pods). */
  nodeIP: string;
  /** The node's pod CIDR, e.g. 10.244.1.0/24. */
  podCIDR: string;
  /** Where pods' files, logs and CNI state live. */
  stateDir: string;
  /** Named network namespace of the node, under whose name pod namespaces are named; the agent runs inside it. */
  nodeNetns?: string;
  /** Runs CNI plugins and `ip`; default the agent's own namespaces. */
  runner?: CommandRunner;
  dns?: ClusterDnsSettings;
  /** resolv.conf text for dnsPolicy Default; default the agent's /etc/resolv.conf. */
  nodeResolvConf?: string;
  /** argv prefix that runs a builtin image runner (`svcnet image`); see {@link defaultImageCommand}. */
  imageCommand?: string[];
  /**
   * The nginx binary the `nginx` image runs on; `null` runs the builtin server. Default
   * {@link findHostNginx}: the node's nginx when installed, unless `SVCNET_NGINX=builtin`.
   */
  hostNginx?: string | null;
  backoff?: BackoffOptions;
  heartbeat?: NodeHeartbeatOptions;
  /** Pod sync workers; default 8. */
  workers?: number;
  /**
   * The kubelet API (logs, exec, attach, port-forward) for the API server: HTTPS on `host`
   * (default the node IP) and `port` (default 10250; 0 picks one, published in the Node's
   * daemonEndpoints), accepting the bearer tokens given. Without it no kubelet API is served.
   */
  kubelet?: { host?: string; port?: number; tls: { cert: string; key: string }; tokens: readonly string[] };
  /** Replaces the CNI sandboxes (tests of the runtime without networking). */
  sandboxes?: SandboxManager;
  log?: (message: string) => void;
}

/**
 * How the svcnet bundle runs a builtin image: the lean `dist/image.cjs` beside the bundle when it
 * was built (one CommonJS file with only the image servers: the cheapest node start-up), else the
 * ESM `dist/image.js` of an earlier build, else `node <svcnet> image`. `svcnetScript` is the
 * script node was started with (bin/svcnet.js or dist/svcnet.js).
 */
export function bundledImageCommand(svcnetScript: string, exists: (path: string) => boolean = existsSync): string[] {
  const dist = join(dirname(svcnetScript), '..', 'dist');
  const lean = ['image.cjs', 'image.js'].map((file) => join(dist, file)).find((path) => exists(path));
  return lean ? [process.execPath, lean] : [process.execPath, svcnetScript, 'image'];
}

/**
 * How to run a builtin image: `node --import tsx src/agent/images/entry.ts` when running from
 * source, {@link bundledImageCommand} from the svcnet bundle.
 */
export function defaultImageCommand(): string[] {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const tsx = fileURLToPath(import.meta.resolve('tsx'));
    return [process.execPath, '--import', tsx.replace(/dist\/.*$/, 'dist/loader.mjs'), fileURLToPath(new URL('./images/entry.ts', self))];
  }
  return bundledImageCommand(process.argv[1] ?? fileURLToPath(self));
}

type Pod = ApiPod & KubeObject;
type Service = ApiService & KubeObject;

const isCode = (err: unknown, ...codes: number[]) => err instanceof StatusError && codes.includes(err.code);
const podKey = (pod: Pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`;

export class Agent {
  readonly info: NodeInfo;
  readonly pods: SharedInformer<Pod>;
  readonly services: SharedInformer<Service>;
  private readonly queue = new WorkQueue({ baseMs: 100, maxMs: 10_000 });
  private readonly workers = new Map<string, PodWorker>();
  private readonly heartbeat: NodeHeartbeat;
  private readonly backoff: CrashBackoff;
  private readonly config: ConfigSource;
  private readonly sandboxes: SandboxManager;
  private readonly log: (message: string) => void;
  /** The nginx binary of the `nginx` image, undefined for the builtin server. */
  private readonly hostNginx: string | undefined;
  private workersDone: Promise<void> = Promise.resolve();
  private kubelet: RunningKubelet | undefined;
  /** When a pod new to this node was first seen (performance.now()), for the start log line. */
  private readonly seenAt = new Map<string, number>();

  constructor(readonly options: AgentOptions) {
    const { client } = options;
    this.log = options.log ?? (() => {});
    this.hostNginx = options.hostNginx === undefined ? findHostNginx() : (options.hostNginx ?? undefined);
    this.info = detectNodeInfo({
      name: options.nodeName,
      internalIP: options.nodeIP,
      podCIDR: options.podCIDR,
      stateDir: options.stateDir,
      kubeletPort: options.kubelet?.port,
    });
    this.heartbeat = new NodeHeartbeat(client, this.info, { onError: (err) => this.log(`heartbeat: ${err}`), ...options.heartbeat });
    this.backoff = new CrashBackoff(options.backoff);
    this.pods = new SharedInformer<Pod>(client, R.pods, { fieldSelector: `spec.nodeName=${options.nodeName}` });
    this.services = new SharedInformer<Service>(client, R.services);
    const optionalGet = async <T>(gvr: typeof R.configmaps | typeof R.secrets, namespace: string, name: string): Promise<T | undefined> => {
      try {
        return (await client.get(gvr, name, namespace)) as T;
      } catch (err) {
        if (isCode(err, 404)) return undefined;
        throw err;
      }
    };
    this.config = { configMap: (ns, name) => optionalGet(R.configmaps, ns, name), secret: (ns, name) => optionalGet(R.secrets, ns, name) };
    const cniState = join(options.stateDir, 'cni');
    const ref = (pod: ApiPod) => ({
      podUid: pod.metadata?.uid ?? '',
      podCIDR: options.podCIDR,
      stateDir: cniState,
      nodeNetns: options.nodeNetns,
      enterNodeNetns: false,
      runner: options.runner ?? hostRunner,
    });
    this.sandboxes = options.sandboxes ?? {
      create: async (pod) => {
        const hostPorts = (pod.spec?.containers ?? []).flatMap((c) =>
          (c.ports ?? [])
            .filter((p) => p.hostPort)
            .map((p) => ({
              hostPort: p.hostPort!,
              containerPort: p.containerPort!,
              protocol: p.protocol as 'TCP' | 'UDP' | 'SCTP' | undefined,
              hostIP: p.hostIP,
            })),
        );
        const sandbox = await createPodSandbox({
          ...ref(pod),
          namespace: pod.metadata?.namespace ?? '',
          name: pod.metadata?.name ?? '',
          hostPorts,
        });
        return { ip: sandbox.ip, netnsPath: sandbox.netnsPath };
      },
      destroy: (pod) => destroyPodSandbox(ref(pod)),
    };
    const enqueue = (pod: Pod) => this.queue.add(podKey(pod));
    const added = (pod: Pod) => {
      if (!this.workers.has(podKey(pod))) this.seenAt.set(podKey(pod), performance.now());
      enqueue(pod);
    };
    this.pods.addEventHandler({ onAdd: added, onUpdate: (_old, pod) => enqueue(pod), onDelete: enqueue });
  }

  /** Registers the node, lists pods, removes sandboxes left by an earlier run, and starts the workers. */
  async start(): Promise<void> {
    const kubelet = this.options.kubelet;
    if (kubelet) {
      this.kubelet = await startKubeletServer({
        pods: this,
        host: kubelet.host ?? this.options.nodeIP,
        port: kubelet.port ?? this.info.kubeletPort,
        tls: kubelet.tls,
        tokens: kubelet.tokens,
        log: this.log,
      });
      // The Node publishes the port actually bound (port 0 picks one).
      this.info.kubeletPort = this.kubelet.port;
    }
    this.log(
      this.hostNginx
        ? `image nginx runs the node's ${this.hostNginx}`
        : 'image nginx runs the builtin server (no nginx binary on this node, or SVCNET_NGINX=builtin)',
    );
    await this.heartbeat.start();
    this.pods.run();
    this.services.run();
    await Promise.all([this.pods.waitForSync(), this.services.waitForSync()]);
    await this.cleanupOrphans().catch((err) => this.log(`orphan cleanup: ${err}`));
    this.workersDone = runWorkers(
      this.queue,
      this.options.workers ?? 8,
      (key) => this.syncPod(key),
      (key, err) => this.log(`sync ${key}: ${err}`),
    );
  }

  /** Stops watching; with `killPods` (default true) also stops every pod's processes and sandbox. */
  async stop(options: { killPods?: boolean } = {}): Promise<void> {
    this.heartbeat.stop();
    await this.kubelet?.close();
    this.queue.shutDown();
    this.pods.stop();
    this.services.stop();
    await this.workersDone;
    if (options.killPods ?? true) await Promise.all([...this.workers.values()].map((w) => w.terminate(0).catch(() => {})));
  }

  /** The worker of a pod on this node. */
  worker(namespace: string, name: string): PodWorker | undefined {
    return this.workers.get(`${namespace}/${name}`);
  }

  private workerDeps(key: string) {
    const o = this.options;
    return {
      hostIP: o.nodeIP,
      stateDir: o.stateDir,
      dns: o.dns ?? DEFAULT_CLUSTER_DNS,
      nodeResolv: parseResolvConf(o.nodeResolvConf ?? readFileOr('/etc/resolv.conf')),
      imageCommand: o.imageCommand ?? defaultImageCommand(),
      hostNginx: this.hostNginx,
      services: () => this.services.list(),
      config: this.config,
      sandboxes: this.sandboxes,
      backoff: this.backoff,
      resync: (delayMs = 0) => this.queue.addAfter(key, delayMs),
      log: this.log,
    };
  }

  /** Level-driven sync of one pod key. */
  async syncPod(key: string): Promise<void> {
    const pod = this.pods.get(key);
    let worker = this.workers.get(key);
    if (worker && (!pod || pod.metadata?.uid !== worker.uid)) {
      // The pod is gone from the API (or replaced by a new one of the same name): stop the old one.
      if (!worker.terminated) {
        this.terminateInBackground(key, worker, pod ? undefined : 0);
        return;
      }
      this.forget(key, worker);
      worker = undefined;
    }
    if (!pod) return;
    if (pod.metadata?.deletionTimestamp) {
      if (worker && !worker.terminated) {
        this.terminateInBackground(key, worker);
        return;
      }
      try {
        await this.options.client.delete(R.pods, pod.metadata.name ?? '', {
          namespace: pod.metadata.namespace,
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid },
        });
      } catch (err) {
        if (!isCode(err, 404, 409)) throw err;
      }
      if (worker) this.forget(key, worker);
      return;
    }
    const phase = pod.status?.phase;
    if (!worker && (phase === 'Succeeded' || phase === 'Failed')) return;
    if (!worker) {
      worker = new PodWorker(pod, this.workerDeps(key));
      this.workers.set(key, worker);
    }
    await worker.sync(pod);
    const statusStart = performance.now();
    const status = await this.writeStatus(pod, worker);
    if (!worker.startLogged && status?.phase === 'Running') {
      worker.startLogged = true;
      const seen = Math.min(this.seenAt.get(key) ?? worker.createdAt, worker.createdAt);
      this.seenAt.delete(key);
      const phases: [string, number][] = [
        ['queue', worker.createdAt - seen],
        ...worker.startPhases,
        ['status', performance.now() - statusStart],
      ];
      this.log(podStartLine(key, performance.now() - seen, phases));
    }
    // A finished pod's network goes, as the kubelet tears down the sandbox of a terminal pod.
    if ((status?.phase === 'Succeeded' || status?.phase === 'Failed') && !worker.isTerminating)
      void worker.terminate(0).catch((err) => this.log(`${key}: ${err}`));
  }

  private terminateInBackground(key: string, worker: PodWorker, graceMs?: number): void {
    if (worker.isTerminating) return;
    void worker
      .terminate(graceMs)
      .catch((err) => this.log(`terminate ${key}: ${err}`))
      .finally(() => this.queue.add(key));
  }

  private forget(key: string, worker: PodWorker): void {
    if (this.workers.get(key) === worker) this.workers.delete(key);
    this.seenAt.delete(key);
    // In the background: removing a pod's files (overlay scratch, logs) takes milliseconds of
    // metadata I/O that would otherwise stall the event loop, and every other pod's sync with it.
    for (const dir of [worker.podDir, worker.logDir])
      void rm(dir, { recursive: true, force: true }).catch((err: unknown) => this.log(`removing ${dir}: ${err}`));
  }

  private async writeStatus(pod: Pod, worker: PodWorker): Promise<Pod['status']> {
    const desired = computePodStatus(pod, worker.runtimeState(), new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const text = JSON.stringify(desired);
    if (statusEqual(desired, pod.status) || text === worker.lastWrittenStatus) return desired;
    try {
      await this.options.client.update(R.pods, { ...pod, apiVersion: 'v1', kind: 'Pod', status: desired } as never, {
        namespace: pod.metadata?.namespace,
        subresource: 'status',
      });
      worker.lastWrittenStatus = text;
    } catch (err) {
      if (isCode(err, 409)) this.queue.add(podKey(pod));
      else if (!isCode(err, 404)) throw err;
    }
    return desired;
  }

  /** Deletes pod network namespaces of this node that no known pod owns (left by a crashed agent). */
  private async cleanupOrphans(): Promise<void> {
    if (this.options.sandboxes) return;
    const prefix = podNetnsName(this.options.nodeNetns, '');
    const known = new Set(this.pods.list().map((p) => p.metadata?.uid));
    const names = await new NetnsOps(this.options.runner ?? hostRunner).listNetns();
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const uid = name.slice(prefix.length);
      if (known.has(uid)) continue;
      this.log(`removing orphaned pod sandbox ${name}`);
      await destroyPodSandbox({
        podUid: uid,
        podCIDR: this.options.podCIDR,
        stateDir: join(this.options.stateDir, 'cni'),
        nodeNetns: this.options.nodeNetns,
        enterNodeNetns: false,
        runner: this.options.runner,
      });
    }
  }
}

function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

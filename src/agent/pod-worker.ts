/**
 * One pod on this node, keyed by its UID: its sandbox (network namespace), files, volumes and
 * containers, their restarts with back-off, and their probes. `sync(pod)` is level-driven: it
 * brings the runtime towards the spec and may be called any number of times; whatever changes
 * asynchronously (a process exits, a probe flips, a back-off ends) asks for another sync.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, Pod, Service } from '../api/types/index.js';
import { type ImageResolution, resolveImage } from './images/catalog.js';
import { prepareHostNginx } from './images/host-nginx.js';
import { NGINX_HTML_ROOT } from './images/nginx.js';
import { type ProbeKind, ProbeWorker } from './probes.js';
import { type CrashBackoff, goDuration } from './runtime/backoff.js';
import { type ContainerExit, ContainerProcess, execInContainer } from './runtime/container.js';
import { type ClusterDnsSettings, podHostname, type ResolvConf } from './runtime/dns.js';
import { type ConfigSource, ContainerConfigError, containerEnv, expandCommand } from './runtime/env.js';
import { type PathKind, planMounts } from './runtime/mounts.js';
import { containerBinds, prepareImageDirs, prepareVolumes, writePodEtcFiles } from './runtime/volumes.js';
import { type ContainerRuntimeState, type PodRuntimeState, type TerminatedState, terminatedReason } from './status.js';

/** A pod's network sandbox as the worker needs it. */
export interface SandboxHandle {
  ip: string;
  netnsPath: string;
}

/** Creates and destroys pod sandboxes (src/agent/sandbox/ in production; injectable for tests). */
export interface SandboxManager {
  create(pod: Pod): Promise<SandboxHandle>;
  destroy(pod: Pod): Promise<void>;
}

export interface PodWorkerDeps {
  hostIP: string;
  stateDir: string;
  dns: ClusterDnsSettings;
  nodeResolv: ResolvConf;
  /** argv prefix that runs a builtin image runner: `[...imageCommand, runner, ...args]`. */
  imageCommand: string[];
  /** The node's nginx binary, which the `nginx` image then runs on (see images/host-nginx.ts); undefined: the builtin server. */
  hostNginx?: string;
  services(): Service[];
  config: ConfigSource;
  sandboxes: SandboxManager;
  backoff: CrashBackoff;
  /** Asks for this pod to be synced again (after `delayMs`). */
  resync(delayMs?: number): void;
  log(message: string): void;
}

/**
 * The agent's log line for a pod's first start, with where the time went (bench/agent parses it):
 * `pod default/web started in 52 ms (queue 0 ms, sandbox 26 ms, files 1 ms, containers 15 ms, status 9 ms)`.
 */
export function podStartLine(key: string, totalMs: number, phases: Iterable<readonly [string, number]>): string {
  const parts = [...phases].map(([name, ms]) => `${name} ${Math.round(ms)} ms`);
  return `pod ${key} started in ${Math.round(totalMs)} ms (${parts.join(', ')})`;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function pathKind(path: string): PathKind {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** The imageID a container status shows: the repository and a digest derived from the reference. */
function imageID(imageRef: string): string {
  const repo = imageRef.replace(/:[^:/]+$/, '');
  const digest = Buffer.from(imageRef).toString('hex').padEnd(64, '0').slice(0, 64);
  return `${repo}@sha256:${digest}`;
}

class ContainerRecord {
  process: ContainerProcess | undefined;
  restartCount = 0;
  runs = 0;
  lastTerminated: TerminatedState | undefined;
  /** Set when the last run ended and no restart followed (yet). */
  terminated: TerminatedState | undefined;
  waiting: { reason: string; message?: string } = { reason: 'ContainerCreating' };
  probes: ProbeWorker[] = [];
  started = false;
  ready = false;
  imageRef = '';

  constructor(public spec: Container) {}

  stopProbes(): void {
    for (const p of this.probes) p.stop();
    this.probes = [];
  }
}

export class PodWorker {
  readonly uid: string;
  readonly podDir: string;
  readonly logDir: string;
  pod: Pod;
  private sandbox: SandboxHandle | undefined;
  /** The pod's address, kept after the sandbox is gone (a finished pod still reports it). */
  private ip: string | undefined;
  private readonly startTime = new Date();
  private readonly containers = new Map<string, ContainerRecord>();
  private etc: { hosts: string; resolvConf: string; hostname: string } | undefined;
  private volumes: Map<string, string> | undefined;
  private terminating: Promise<void> | undefined;
  /** True once every container is stopped and the sandbox is gone. */
  terminated = false;
  /** The status last written to the API, so a server-side normalization cannot cause endless rewrites. */
  lastWrittenStatus: string | undefined;
  /** How long the phases of the pod's first start took (ms), for the agent's "started in" log line. */
  readonly startPhases = new Map<string, number>();
  /** When the worker was made (performance.now()). */
  readonly createdAt = performance.now();
  /** Whether the agent has logged the pod's start. */
  startLogged = false;

  constructor(
    pod: Pod,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.podDir = join(deps.stateDir, 'pods', this.uid);
    this.logDir = join(deps.stateDir, 'logs', 'pods', `${pod.metadata?.namespace}_${pod.metadata?.name}_${this.uid}`);
  }

  get podIP(): string | undefined {
    return this.ip;
  }

  /** The PID of a running container's main process (first container when `name` is undefined). */
  containerPid(name?: string): number | undefined {
    const rec = name ? this.containers.get(name) : this.containers.values().next().value;
    return rec?.process?.running ? rec.process.pid : undefined;
  }

  /** A container's running process: attach and `logs -f` need its streams and its end. */
  containerProcess(name: string): ContainerProcess | undefined {
    const proc = this.containers.get(name)?.process;
    return proc?.running ? proc : undefined;
  }

  /** The CRI log file of a container's current (or, with `previous`, last finished) run. */
  logPath(name: string, previous = false): string | undefined {
    const rec = this.containers.get(name);
    if (!rec || rec.runs === 0) return undefined;
    const run = previous ? rec.restartCount - 1 : rec.restartCount;
    return run < 0 ? undefined : join(this.logDir, name, `${run}.log`);
  }

  containerNames(): string[] {
    return (this.pod.spec?.containers ?? []).map((c) => c.name ?? '');
  }

  /** Brings the pod's runtime towards its spec. */
  async sync(pod: Pod): Promise<void> {
    this.pod = pod;
    if (this.terminating) return;
    for (const spec of pod.spec?.containers ?? []) {
      const rec = this.containers.get(spec.name ?? '');
      if (rec) rec.spec = spec;
      else this.containers.set(spec.name ?? '', new ContainerRecord(spec));
    }
    const phase = this.phaseTimer();
    if (!this.sandbox) {
      this.sandbox = await this.deps.sandboxes.create(pod);
      this.ip = this.sandbox.ip;
      phase('sandbox');
      this.deps.log(`pod ${pod.metadata?.namespace}/${pod.metadata?.name}: sandbox ${this.sandbox.netnsPath} ip ${this.sandbox.ip}`);
    }
    const withIPs = this.podWithIPs(pod);
    if (!this.etc) this.etc = writePodEtcFiles(this.podDir, withIPs, [this.sandbox.ip], this.deps.dns, this.deps.nodeResolv);
    if (!this.volumes) {
      try {
        this.volumes = await prepareVolumes(this.podDir, withIPs, this.deps.config);
        phase('files');
      } catch (err) {
        if (!(err instanceof ContainerConfigError)) throw err;
        for (const rec of this.containers.values()) rec.waiting = { reason: 'ContainerCreating', message: err.message };
        this.deps.resync(2000);
        return;
      }
    }
    const policy = pod.spec?.restartPolicy ?? 'Always';
    for (const rec of this.containers.values()) {
      if (rec.process?.running) continue;
      if (rec.terminated) {
        const restart = policy === 'Always' || (policy === 'OnFailure' && rec.terminated.exitCode !== 0);
        if (!restart) continue;
        const key = `${this.uid}/${rec.spec.name}`;
        const { waitMs, backoffMs } = this.deps.backoff.check(key, Date.parse(rec.terminated.finishedAt), Date.now());
        if (waitMs > 0) {
          rec.waiting = {
            reason: 'CrashLoopBackOff',
            message: `back-off ${goDuration(backoffMs)} restarting failed container=${rec.spec.name} pod=${pod.metadata?.name}_${pod.metadata?.namespace}(${this.uid})`,
          };
          rec.lastTerminated = rec.terminated;
          this.deps.resync(waitMs);
          continue;
        }
        rec.lastTerminated = rec.terminated;
        rec.terminated = undefined;
        rec.restartCount++;
      }
      await this.startContainer(rec, withIPs);
    }
    phase('containers');
  }

  /** Records how long each phase of the first start took: `phase(name)` notes the time since the previous one. */
  private phaseTimer(): (name: string) => void {
    let last = performance.now();
    return (name) => {
      const now = performance.now();
      if (!this.startPhases.has(name)) this.startPhases.set(name, now - last);
      last = now;
    };
  }

  private podWithIPs(pod: Pod): Pod {
    const ip = this.sandbox?.ip;
    return {
      ...pod,
      status: {
        ...pod.status,
        hostIP: this.deps.hostIP,
        hostIPs: [{ ip: this.deps.hostIP }],
        ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
      },
    };
  }

  private async startContainer(rec: ContainerRecord, pod: Pod): Promise<void> {
    const spec = rec.spec;
    const resolved: ImageResolution = resolveImage(spec);
    if (!resolved.ok) {
      rec.waiting = { reason: resolved.reason, message: resolved.message };
      return;
    }
    rec.imageRef = resolved.imageRef;
    let env: [string, string][];
    let binds: ReturnType<typeof containerBinds>;
    try {
      env = await containerEnv(pod, spec, this.deps.services(), this.deps.config);
      const imageDirs = prepareImageDirs(this.podDir, spec.name ?? '', resolved.dirs);
      binds = containerBinds(spec, this.etc!, this.volumes!, imageDirs);
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      rec.waiting = { reason: err.reason, message: err.message };
      this.deps.resync(5000);
      return;
    }
    const scratch = (n: number) => join(this.podDir, 'containers', spec.name ?? '', 'overlay', String(n));
    const mounts = planMounts(binds, pathKind, scratch);
    for (const o of mounts.overlays) {
      mkdirSync(o.upper, { recursive: true });
      mkdirSync(o.work, { recursive: true });
    }
    const expanded = expandCommand(resolved.argv, env);
    let argv = resolved.runner ? [...this.deps.imageCommand, ...expanded] : expanded;
    let stdoutPipe: string | undefined;
    if (resolved.runner === 'nginx' && this.deps.hostNginx) {
      const runDir = join(this.podDir, 'containers', spec.name ?? '', 'nginx');
      const port = Number(new Map(env).get('SVCNET_NGINX_PORT') ?? 80);
      argv = prepareHostNginx(this.deps.hostNginx, { port, root: NGINX_HTML_ROOT, runDir });
      // Its access log is /dev/stdout, as in the official image.
      stdoutPipe = join(runDir, 'stdout');
    }
    const proc = new ContainerProcess({
      argv,
      env,
      netnsPath: this.sandbox!.netnsPath,
      mounts,
      hostname: podHostname(pod),
      workingDir: spec.workingDir,
      logPath: join(this.logDir, spec.name ?? '', `${rec.restartCount}.log`),
      stdin: spec.stdin,
      tty: spec.tty,
      stdoutPipe,
    });
    rec.runs++;
    rec.waiting = { reason: 'ContainerCreating' };
    await proc.initialized;
    rec.process = proc;
    rec.started = !spec.startupProbe;
    rec.ready = false;
    this.startProbes(rec, proc);
    void proc.exited.then((exit) => this.onExit(rec, proc, exit));
  }

  private startProbes(rec: ContainerRecord, proc: ContainerProcess): void {
    const spec = rec.spec;
    const target = {
      podIP: this.sandbox!.ip,
      container: spec,
      exec: (command: string[], timeoutMs: number) => (proc.pid ? execInContainer(proc.pid, command, timeoutMs) : Promise.resolve(-1)),
    };
    const make = (kind: ProbeKind, probe: Container['readinessProbe']) => {
      if (probe) rec.probes.push(new ProbeWorker(kind, probe, target, (k, ok) => this.onProbe(rec, proc, k, ok)));
    };
    if (spec.startupProbe) make('startup', spec.startupProbe);
    else this.startAfterStartup(rec, proc);
    // Without a readiness probe a started container is ready.
    if (!spec.readinessProbe) rec.ready = rec.started;
  }

  /** Liveness and readiness probes run once the container has started (the startup probe passed). */
  private startAfterStartup(rec: ContainerRecord, proc: ContainerProcess): void {
    const spec = rec.spec;
    const target = {
      podIP: this.sandbox!.ip,
      container: spec,
      exec: (command: string[], timeoutMs: number) => (proc.pid ? execInContainer(proc.pid, command, timeoutMs) : Promise.resolve(-1)),
    };
    if (spec.livenessProbe)
      rec.probes.push(new ProbeWorker('liveness', spec.livenessProbe, target, (k, ok) => this.onProbe(rec, proc, k, ok)));
    if (spec.readinessProbe)
      rec.probes.push(new ProbeWorker('readiness', spec.readinessProbe, target, (k, ok) => this.onProbe(rec, proc, k, ok)));
  }

  private onProbe(rec: ContainerRecord, proc: ContainerProcess, kind: ProbeKind, ok: boolean): void {
    if (rec.process !== proc || !proc.running) return;
    if (kind === 'readiness') rec.ready = ok && rec.started;
    else if (kind === 'startup' && ok) {
      rec.started = true;
      if (!rec.spec.readinessProbe) rec.ready = true;
      this.startAfterStartup(rec, proc);
    } else if (!ok) {
      this.deps.log(`container ${rec.spec.name} of pod ${this.pod.metadata?.name} failed ${kind} probe, will be restarted`);
      void proc.stop(this.graceMs());
    }
    this.deps.resync();
  }

  private onExit(rec: ContainerRecord, proc: ContainerProcess, exit: ContainerExit): void {
    if (rec.process !== proc) return;
    rec.stopProbes();
    rec.ready = false;
    rec.terminated = {
      exitCode: exit.exitCode,
      ...(exit.signal !== undefined ? { signal: exit.signal } : {}),
      reason: terminatedReason(exit.exitCode),
      startedAt: iso(proc.startedAt),
      finishedAt: iso(exit.finishedAt),
      containerID: proc.containerID,
    };
    this.deps.resync();
  }

  private graceMs(): number {
    const meta = this.pod.metadata;
    const seconds = meta?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    return seconds * 1000;
  }

  /**
   * Stops every container (SIGTERM, SIGKILL after the grace period) and removes the sandbox.
   * Idempotent; resolves when done.
   */
  terminate(graceMs = this.graceMs()): Promise<void> {
    this.terminating ??= (async () => {
      await Promise.all(
        [...this.containers.values()].map(async (rec) => {
          rec.stopProbes();
          if (rec.process?.running) await rec.process.stop(graceMs);
        }),
      );
      this.deps.backoff.forget(`${this.uid}/`);
      if (this.sandbox) await this.deps.sandboxes.destroy(this.pod);
      this.sandbox = undefined;
      this.terminated = true;
    })();
    return this.terminating;
  }

  get isTerminating(): boolean {
    return this.terminating !== undefined;
  }

  /** What the runtime knows, for the status. */
  runtimeState(): PodRuntimeState {
    const containers: ContainerRuntimeState[] = (this.pod.spec?.containers ?? []).map((spec) => {
      const rec = this.containers.get(spec.name ?? '');
      const image = spec.image ?? '';
      const ref = rec?.imageRef ?? '';
      const base = { name: spec.name ?? '', image, imageID: ref ? imageID(ref) : '', restartCount: rec?.restartCount ?? 0 };
      if (!rec) return { ...base, state: { kind: 'waiting', reason: 'ContainerCreating' }, ready: false, started: false };
      let state: ContainerRuntimeState['state'];
      if (rec.process?.running) state = { kind: 'running', startedAt: iso(rec.process.startedAt), containerID: rec.process.containerID };
      else if (rec.terminated && rec.waiting.reason !== 'CrashLoopBackOff') state = { kind: 'terminated', terminated: rec.terminated };
      else state = { kind: 'waiting', reason: rec.waiting.reason, ...(rec.waiting.message ? { message: rec.waiting.message } : {}) };
      const lastTerminated = rec.lastTerminated;
      return {
        ...base,
        state,
        ...(lastTerminated ? { lastTerminated } : {}),
        ready: rec.ready && state.kind === 'running',
        started: rec.started && state.kind === 'running',
      };
    });
    return {
      hostIP: this.deps.hostIP,
      ...(this.ip ? { podIP: this.ip } : {}),
      startTime: iso(this.startTime),
      sandboxReady: this.sandbox !== undefined,
      containers,
    };
  }
}

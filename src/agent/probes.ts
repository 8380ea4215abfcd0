/**
 * Container probes as the kubelet runs them (pkg/kubelet/prober): one worker per container and
 * probe kind, probing every periodSeconds after initialDelaySeconds, with a result that flips only
 * after successThreshold consecutive successes or failureThreshold consecutive failures.
 *
 * {@link ProbeTracker} is the pure core (thresholds and initial values); {@link runProbe} is the
 * edge that performs one httpGet / tcpSocket / exec check; {@link ProbeWorker} schedules them.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Container } from '../api/types/index.js';

export type ProbeKind = 'readiness' | 'liveness' | 'startup';
/** The subset of a v1.Probe the agent reads. */
export type ProbeSpec = NonNullable<Container['readinessProbe']>;

/** Probe timing with the API defaults filled in. */
export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

export function probeTiming(probe: ProbeSpec): ProbeTiming {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: (probe.periodSeconds || 10) * 1000,
    timeoutMs: (probe.timeoutSeconds || 1) * 1000,
    successThreshold: probe.successThreshold || 1,
    failureThreshold: probe.failureThreshold || 3,
  };
}

/**
 * Counts consecutive results and tells when the probe's verdict changes. Readiness starts failed,
 * liveness starts passed (a container is alive until proven otherwise), startup starts unknown.
 */
export class ProbeTracker {
  private verdict: boolean | undefined;
  private successes = 0;
  private failures = 0;

  constructor(
    readonly kind: ProbeKind,
    readonly timing: Pick<ProbeTiming, 'successThreshold' | 'failureThreshold'>,
  ) {
    this.verdict = kind === 'readiness' ? false : kind === 'liveness' ? true : undefined;
  }

  /** The current verdict: true passing, false failing, undefined not known yet (startup only). */
  get result(): boolean | undefined {
    return this.verdict;
  }

  /** Records one probe outcome; returns true when the verdict changed. */
  record(ok: boolean): boolean {
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (this.verdict !== true && this.successes >= this.timing.successThreshold) return this.set(true);
    } else {
      this.successes = 0;
      this.failures++;
      if (this.verdict !== false && this.failures >= this.timing.failureThreshold) return this.set(false);
    }
    return false;
  }

  private set(value: boolean): boolean {
    this.verdict = value;
    // A liveness/startup failure restarts the container; counting starts over for the new one.
    if (!value) this.failures = 0;
    return true;
  }
}

/** What a probe runs against. */
export interface ProbeTarget {
  /** The pod's IP (httpGet without host, tcpSocket without host). */
  podIP: string;
  container: Container;
  /** Runs `command` in the container, resolving with its exit code (exec probes). */
  exec(command: string[], timeoutMs: number): Promise<number>;
}

/** Resolves a probe's port (a number, or the name of one of the container's ports). */
export function probePort(port: number | string | undefined, container: Container): number {
  if (typeof port === 'number') return port;
  if (port !== undefined && /^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`couldn't find port ${port} in container ${container.name}`);
  return named.containerPort!;
}

/** Performs one check; resolves true on success (HTTP 200-399, TCP connect, exit code 0). Never rejects. */
export async function runProbe(probe: ProbeSpec, target: ProbeTarget, timeoutMs: number): Promise<boolean> {
  try {
    if (probe.httpGet) {
      const get = probe.httpGet;
      const port = probePort(get.port as number | string | undefined, target.container);
      const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
      for (const h of get.httpHeaders ?? []) if (h.name) headers[h.name] = h.value ?? '';
      return await new Promise<boolean>((resolve) => {
        const req = request(
          { host: get.host || target.podIP, port, path: get.path || '/', method: 'GET', headers, timeout: timeoutMs },
          (res) => {
            res.resume();
            resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => resolve(false));
        req.end();
      });
    }
    if (probe.tcpSocket) {
      const port = probePort(probe.tcpSocket.port as number | string | undefined, target.container);
      return await new Promise<boolean>((resolve) => {
        const socket = connect({ host: probe.tcpSocket!.host || target.podIP, port, timeout: timeoutMs });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('timeout', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(false));
      });
    }
    if (probe.exec) return (await target.exec(probe.exec.command ?? [], timeoutMs)) === 0;
    return false;
  } catch {
    return false;
  }
}

/**
 * Runs one probe of one container on its schedule, calling `onChange` when the verdict flips.
 * Starts probing after initialDelaySeconds (counted from when the worker is created, i.e. the
 * container start).
 */
export class ProbeWorker {
  readonly tracker: ProbeTracker;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly kind: ProbeKind,
    private readonly probe: ProbeSpec,
    private readonly target: ProbeTarget,
    private readonly onChange: (kind: ProbeKind, result: boolean) => void,
  ) {
    const timing = probeTiming(probe);
    this.tracker = new ProbeTracker(kind, timing);
    this.schedule(timing.initialDelayMs, timing);
  }

  private schedule(delayMs: number, timing: ProbeTiming): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      const ok = await runProbe(this.probe, this.target, timing.timeoutMs);
      if (this.stopped) return;
      if (this.tracker.record(ok)) this.onChange(this.kind, this.tracker.result === true);
      // Once a startup probe has passed it is done, as the kubelet stops its worker.
      if (this.kind === 'startup' && this.tracker.result === true) return;
      this.schedule(timing.periodMs, timing);
    }, delayMs);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

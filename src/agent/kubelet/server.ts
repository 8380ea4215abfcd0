/**
 * The node agent's kubelet API (HTTPS, port 10250 by default), which the API server calls for
 * `kubectl logs`, `exec`, `attach`, `run -it` and `port-forward`:
 *
 * - `GET /containerLogs/{ns}/{pod}/{container}?follow&tailLines&timestamps&previous&limitBytes&sinceSeconds`
 * - `/exec/{ns}/{pod}/{container}?command=…&input&output&error&tty` and `/attach/{ns}/{pod}/{container}`
 *   (WebSocket v5/v4.channel.k8s.io, or SPDY/3.1)
 * - `/portForward/{ns}/{pod}` (WebSocket-tunnelled SPDY, or SPDY)
 *
 * The protocols are src/streaming's; the agent's pods supply the backends. Callers authenticate
 * with a bearer token (the API server's); anything else gets 401, as the kubelet answers.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { createCa, issueServingCert } from '../../cluster/pki.js';
import { serveLogs } from '../../streaming/logs.js';
import { dialErrorMessage, type PortForwardBackend, servePortForward } from '../../streaming/portforward.js';
import { serveRemoteCommand } from '../../streaming/remotecommand.js';
import { rejectUpgrade } from '../../streaming/upgrade.js';
import { execBackend, portForwardBackend } from '../backends.js';
import type { PodWorker } from '../pod-worker.js';
import { attachBackend } from './attach.js';
import { parseKubeletPath, remoteCommandQuery, selectContainerLog } from './routes.js';

/** Finds the worker of a pod on this node (the {@link Agent} is one). */
export interface PodLookup {
  worker(namespace: string, name: string): PodWorker | undefined;
}

export interface KubeletServerOptions {
  pods: PodLookup;
  /** Address to listen on (the node's IP). */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Serving certificate and key (PEM). */
  tls: { cert: string; key: string };
  /** Bearer tokens accepted (the API server's). With none, every request is refused. */
  tokens: readonly string[];
  log?: (message: string) => void;
}

export interface RunningKubelet {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** A self-signed CA and a serving certificate for the node's address, for a kubelet given none (as the kubelet makes its own). */
export async function selfSignedKubeletCert(nodeName: string, ips: string[]): Promise<{ cert: string; key: string }> {
  const ca = await createCa(`${nodeName}-ca@${Math.floor(Date.now() / 1000)}`);
  const serving = await issueServingCert({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, commonName: nodeName, dnsNames: [nodeName], ips });
  return { cert: serving.certPem, key: serving.keyPem };
}

function authorized(req: IncomingMessage, tokens: readonly string[]): boolean {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7).trim());
  return tokens.some((t) => {
    const want = Buffer.from(t);
    return want.length === given.length && timingSafeEqual(want, given);
  });
}

function text(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Starts the kubelet API server. */
export async function startKubeletServer(options: KubeletServerOptions): Promise<RunningKubelet> {
  const log = options.log ?? (() => {});
  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    void serveRequest(options, req, res).catch((err) => {
      log(`kubelet ${req.url}: ${err}`);
      if (!res.headersSent) text(res, 500, String((err as Error)?.message ?? err));
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      serveUpgrade(options, req, socket, head);
    } catch (err) {
      log(`kubelet ${req.url}: ${err}`);
      rejectUpgrade(socket, 500, String((err as Error)?.message ?? err));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serveRequest(options: KubeletServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://kubelet');
  if (url.pathname === '/healthz') return text(res, 200, 'ok');
  if (!authorized(req, options.tokens)) return text(res, 401, 'Unauthorized');
  const route = parseKubeletPath(url.pathname);
  if (!route) return text(res, 404, '404 page not found\n');
  if (route.kind !== 'containerLogs') return text(res, 400, 'Upgrade request required');
  if (req.method !== 'GET') return text(res, 405, 'Method Not Allowed');
  const worker = options.pods.worker(route.namespace, route.pod);
  if (!worker) return text(res, 404, `pod "${route.pod}" does not exist\n`);
  if (!worker.containerNames().includes(route.container))
    return text(res, 404, `container "${route.container}" not found in pod "${route.pod}"\n`);
  const previous = ['true', '1'].includes(url.searchParams.get('previous') ?? '');
  const state = worker.runtimeState().containers.find((c) => c.name === route.container);
  const selection = selectContainerLog(route.pod, state, route.container, previous);
  if ('error' in selection) return text(res, 400, selection.error);
  const running = worker.containerProcess(route.container);
  // Following stops when the run being read is over: at once for a finished run.
  const followingCurrent = !previous && state?.state.kind === 'running' && running;
  await serveLogs(req, res, join(worker.logDir, route.container, `${selection.run}.log`), {
    containerStopped: followingCurrent ? running.exited : Promise.resolve(),
  });
}

function serveUpgrade(options: KubeletServerOptions, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const refusal = upgradeRefusal(options, req);
  if (refusal) {
    rejectUpgrade(socket, refusal.code, refusal.message);
    return;
  }
  const url = new URL(req.url ?? '/', 'https://kubelet');
  const route = parseKubeletPath(url.pathname)!;
  const worker = options.pods.worker(route.namespace, route.pod)!;
  if (route.kind === 'portForward') {
    const backend = dialingErrors(portForwardBackend(worker), () => worker.podIP ?? '');
    servePortForward(req, socket, head, backend, { pod: route.pod, uid: route.uid ?? '' });
  } else if (route.kind !== 'containerLogs') {
    // src/streaming reads the client-side names; the API server sends the kubelet's.
    req.url = `${url.pathname}?${remoteCommandQuery(url.searchParams, route.container)}`;
    serveRemoteCommand(req, socket, head, route.kind === 'exec' ? execBackend(worker) : attachBackend(worker));
  }
}

/** Why an upgrade cannot be served (the caller, the path, the pod or the container), if it cannot. */
function upgradeRefusal(options: KubeletServerOptions, req: IncomingMessage): { code: number; message: string } | undefined {
  if (!authorized(req, options.tokens)) return { code: 401, message: 'Unauthorized' };
  const route = parseKubeletPath(new URL(req.url ?? '/', 'https://kubelet').pathname);
  if (!route || route.kind === 'containerLogs') return { code: 404, message: '404 page not found' };
  const worker = options.pods.worker(route.namespace, route.pod);
  if (!worker) return { code: 404, message: `pod "${route.pod}" does not exist` };
  if (route.kind !== 'portForward' && !worker.containerProcess(route.container))
    return { code: 404, message: `container not found ("${route.container}")` };
  return undefined;
}

/** Port-forward dial failures worded as Go's (`dial tcp4 10.244.1.5:81: connect: connection refused`). */
function dialingErrors(backend: PortForwardBackend, podIP: () => string): PortForwardBackend {
  return {
    connect: (port) =>
      backend.connect(port).catch((err: NodeJS.ErrnoException) => {
        throw new Error(err.code ? dialErrorMessage(err, podIP(), port) : err.message);
      }),
  };
}

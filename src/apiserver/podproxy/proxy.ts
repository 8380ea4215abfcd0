/**
 * The API server's side of `kubectl logs`, `exec`, `attach`, `run -it` and `port-forward`: it finds
 * the pod's node and hands the request to that node's kubelet, as kube-apiserver does.
 *
 * - pods/log is an ordinary GET: the kubelet's response body is streamed through
 *   (kube-apiserver's LocationStreamer), its errors turned into Status objects.
 * - pods/exec, pods/attach and pods/portforward are connection upgrades (WebSocket or SPDY): the
 *   request is rewritten to the kubelet's path and sent on a fresh TLS connection, then bytes are
 *   piped both ways untouched (kube-apiserver's UpgradeAwareHandler), so every protocol the kubelet
 *   speaks passes through.
 *
 * The API server authenticates to kubelets with a bearer token they share. Nodes run by the
 * simulated-node controller have no kubelet: they answer as a real node whose kubelet is down.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { methodNotAllowed, StatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/meta.js';
import type { Node, Pod } from '../../api/types/index.js';
import { type Client, R } from '../../client/types.js';
import { SIM_NODE_ANNOTATION } from '../../controllers/simnode/objects.js';
import type { ConnectHandler } from '../handler.js';
import type { ApiRequest, ApiResponse } from '../request.js';
import { parseResourcePath } from '../request.js';
import {
  dialError,
  joinHostPort,
  type KubeletAddress,
  kubeletAddress,
  kubeletLogError,
  kubeletLogPath,
  kubeletStreamingPath,
  resolveContainer,
  type StreamingSubresource,
  UnknownStatusError,
} from './location.js';

export interface PodProxyOptions {
  /** Reads pods and nodes (the control plane's in-process client). */
  client: Client;
  /** The bearer token kubelets accept from the API server (the agent's --kubelet-token-file). */
  kubeletToken: string;
  /** CA that signed the kubelets' serving certificates; without it they are not verified (kube-apiserver's default). */
  kubeletCA?: string;
}

/** What the API server needs: the pods/log connect handler and the upgrade handler for exec/attach/portforward. */
export interface PodProxy {
  connect: Record<'pods/log', ConnectHandler>;
  onUpgrade(req: ApiRequest, socket: Duplex, head: Buffer, raw: IncomingMessage): void;
}

type PodObject = Pod & KubeObject;
type NodeObject = Node & KubeObject;

const STREAMING = new Set<string>(['exec', 'attach', 'portforward']);
/** How much of a kubelet error body is read (kube-apiserver's maxReadLength is 50 KB). */
const MAX_ERROR_BODY = 50_000;

/** Builds the pods/log handler and the upgrade handler. */
export function podProxy(options: PodProxyOptions): PodProxy {
  return { connect: { 'pods/log': podLogHandler(options) }, onUpgrade: podUpgradeHandler(options) };
}

interface Target {
  address: KubeletAddress;
  /** A node of the simulated-node controller: no kubelet listens there. */
  simulated: boolean;
}

async function nodeTarget(client: Client, pod: PodObject): Promise<Target> {
  const node = await client.get<NodeObject>(R.nodes, pod.spec?.nodeName ?? '');
  return { address: kubeletAddress(node), simulated: node.metadata.annotations?.[SIM_NODE_ANNOTATION] === 'true' };
}

function tlsOptions(options: PodProxyOptions) {
  return options.kubeletCA ? { ca: options.kubeletCA } : { rejectUnauthorized: false };
}

const refused = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });

/** `GET pods/{name}/log`: streams the container's log from the pod's kubelet. */
export function podLogHandler(options: PodProxyOptions): ConnectHandler {
  return (req, _res, namespace, name) =>
    streamLog(options, req, namespace, name).catch((err) => {
      // The handler renders API errors; this one has no reason, as kube-apiserver's for non-API errors.
      if (err instanceof UnknownStatusError) return { kind: 'json', status: err.code, body: err.toStatus() };
      throw err;
    });
}

async function streamLog(options: PodProxyOptions, req: ApiRequest, namespace: string, name: string): Promise<ApiResponse> {
  if (req.method.toUpperCase() !== 'GET') throw methodNotAllowed('the server does not allow this method on the requested resource');
  const pod = await options.client.get<PodObject>(R.pods, name, namespace);
  const container = resolveContainer(pod, req.query.get('container'));
  // An unscheduled pod has no logs yet: kube-apiserver answers with an empty body.
  if (!pod.spec?.nodeName) return { kind: 'raw', status: 200, contentType: 'text/plain', body: '' };
  const target = await nodeTarget(options.client, pod);
  const path = kubeletLogPath(pod, container, req.query);
  const url = `https://${joinHostPort(target.address)}${path}`;
  let response: IncomingMessage;
  try {
    if (target.simulated) throw refused;
    response = await new Promise<IncomingMessage>((resolve, reject) => {
      const out = httpsRequest({
        host: target.address.host,
        port: target.address.port,
        path,
        method: 'GET',
        headers: { authorization: `Bearer ${options.kubeletToken}` },
        agent: false,
        ...tlsOptions(options),
      });
      out.once('response', resolve);
      out.once('error', reject);
      out.end();
    });
  } catch (err) {
    throw new UnknownStatusError(`Get "${url}": ${dialError(err as NodeJS.ErrnoException, target.address)}`);
  }
  const status = response.statusCode ?? 500;
  if (status < 200 || status > 206) throw kubeletLogError(status, await readLimited(response), name);
  return { kind: 'stream', status: 200, contentType: response.headers['content-type'] ?? 'text/plain', body: response };
}

async function readLimited(stream: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += chunk;
    if (text.length >= MAX_ERROR_BODY) {
      stream.destroy();
      break;
    }
  }
  return text.slice(0, MAX_ERROR_BODY);
}

/** Writes an API error as the HTTP response of a refused upgrade and closes the connection. */
function writeStatus(socket: Duplex, err: unknown): void {
  let code: number;
  let status: object;
  if (err instanceof StatusError || err instanceof UnknownStatusError) {
    code = err.code;
    status = err.toStatus();
  } else {
    const message = `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`;
    code = 500;
    status = new StatusError(500, 'InternalError', message).toStatus();
  }
  const body = JSON.stringify(status);
  socket.end(
    [
      `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Error'}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}

/** Headers that are the API server's business, not the kubelet's. */
const DROPPED_HEADERS = new Set(['authorization', 'host', 'proxy-authorization']);

/** The request line and headers sent to the kubelet: the client's own, with the kubelet's path, host and credentials. */
export function rewriteUpgradeRequest(
  raw: Pick<IncomingMessage, 'method' | 'rawHeaders'>,
  path: string,
  host: string,
  token: string,
): string {
  const lines = [`${raw.method ?? 'GET'} ${path} HTTP/1.1`, `Host: ${host}`, `Authorization: Bearer ${token}`];
  for (let i = 0; i + 1 < raw.rawHeaders.length; i += 2) {
    const name = raw.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (DROPPED_HEADERS.has(lower) || lower.startsWith('impersonate-')) continue;
    lines.push(`${name}: ${raw.rawHeaders[i + 1]}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Handles WebSocket/SPDY upgrades for pods/exec, pods/attach and pods/portforward by proxying them to the kubelet. */
export function podUpgradeHandler(options: PodProxyOptions): PodProxy['onUpgrade'] {
  return (req, socket, head, raw) => {
    socket.on('error', () => socket.destroy());
    void proxyUpgrade(options, req, socket, head, raw).catch((err) => writeStatus(socket, err));
  };
}

async function proxyUpgrade(options: PodProxyOptions, req: ApiRequest, socket: Duplex, head: Buffer, raw: IncomingMessage): Promise<void> {
  const info = parseResourcePath(req.path);
  const sub = info?.subresource ?? '';
  if (info?.group !== '' || info.resource !== 'pods' || !info.namespace || !info.name || !STREAMING.has(sub)) {
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
  }
  const pod = await options.client.get<PodObject>(R.pods, info.name, info.namespace);
  const container = sub === 'portforward' ? undefined : resolveContainer(pod, req.query.get('container'), { listInitContainers: true });
  if (!pod.spec?.nodeName) throw new StatusError(400, 'BadRequest', `pod ${info.name} does not have a host assigned`);
  const target = await nodeTarget(options.client, pod);
  const path = kubeletStreamingPath(sub as StreamingSubresource, pod, container, req.query);
  if (target.simulated) throw new UnknownStatusError(`error dialing backend: ${dialError(refused, target.address)}`);
  const backend = await new Promise<TLSSocket>((resolve, reject) => {
    const conn = tlsConnect({ host: target.address.host, port: target.address.port, ...tlsOptions(options) });
    conn.once('secureConnect', () => {
      conn.off('error', reject);
      resolve(conn);
    });
    conn.once('error', reject);
  }).catch((err: NodeJS.ErrnoException) => {
    throw new UnknownStatusError(`error dialing backend: ${err.code ? dialError(err, target.address) : err.message}`);
  });
  if (socket.destroyed) {
    backend.destroy();
    return;
  }
  backend.write(rewriteUpgradeRequest(raw, path, joinHostPort(target.address), options.kubeletToken));
  if (head.length > 0) backend.write(head);
  // From here on the bytes are the client's and the kubelet's: the protocol passes through untouched.
  backend.on('error', () => socket.destroy());
  socket.on('close', () => backend.destroy());
  backend.on('close', () => socket.destroy());
  backend.pipe(socket);
  socket.pipe(backend);
}

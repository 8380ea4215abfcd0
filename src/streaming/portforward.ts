/**
 * Server side of `kubectl port-forward`: the `portforward.k8s.io` protocol over SPDY/3.1, either
 * inside WebSocket binary messages (subprotocol `SPDY/3.1+portforward.k8s.io`, what kubectl 1.32
 * tries first) or directly on a POST upgrade (its fallback).
 *
 * Each forwarded local connection is a pair of client-opened streams sharing a `requestid`
 * header: `streamtype: error` (the server writes failure text there) and `streamtype: data` (the
 * connection's bytes), both carrying the pod `port`. Pairs are independent, so many connections
 * may be forwarded at once over one session.
 */

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { SpdySession, type SpdyStream } from './spdy/session.js';
import { acceptSpdyUpgrade, isSpdyUpgrade, isWebSocketUpgrade, rejectUpgrade } from './upgrade.js';

/** Opens a connection to a port of the pod (e.g. a TCP socket to podIP:port). */
export interface PortForwardBackend {
  connect(port: number): Promise<Duplex>;
}

export interface PortForwardOptions {
  /** How the pod is named in error text (the kubelet prints its sandbox id or name here). */
  pod: string;
  /** The pod UID, printed after `uid` in error text (the kubelet leaves it empty). */
  uid?: string;
}

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
export const WEBSOCKET_PORT_FORWARD_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;

/** How long the kubelet waits for the second stream of a pair. */
const PAIR_CREATION_TIMEOUT_MS = 30_000;

/**
 * `ws` rejects `SPDY/3.1+portforward.k8s.io` as a subprotocol because `/` is not a token character,
 * yet it is what kubectl offers and must see echoed. So the offer is taken out of the request
 * before `ws` parses it, and the answer is put back through the handshake's `headers` event.
 */
const tunnelRequests = new WeakSet<IncomingMessage>();
const webSocketServer = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false });
webSocketServer.on('headers', (headers, req) => {
  if (tunnelRequests.has(req)) headers.push(`Sec-WebSocket-Protocol: ${WEBSOCKET_PORT_FORWARD_PROTOCOL}`);
});

/**
 * Serves a port-forward upgrade request (WebSocket-tunnelled SPDY on GET, or SPDY on POST).
 * Call it from an HTTP server's `upgrade` event.
 */
export function servePortForward(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  backend: PortForwardBackend,
  options: PortForwardOptions,
): void {
  if (isWebSocketUpgrade(req)) {
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(WEBSOCKET_PORT_FORWARD_PROTOCOL)) {
      rejectUpgrade(
        socket,
        400,
        `unable to upgrade: no supported subprotocol in [${offered.join(', ')}], server supports [${WEBSOCKET_PORT_FORWARD_PROTOCOL}]`,
      );
      return;
    }
    tunnelRequests.add(req);
    delete req.headers['sec-websocket-protocol'];
    webSocketServer.handleUpgrade(req, socket, head, (ws) => {
      const tunnel = createWebSocketStream(ws);
      // A close frame or reset from kubectl ends the tunnel; that is not worth an unhandled error.
      tunnel.on('error', () => tunnel.destroy());
      servePortForwardSession(new SpdySession(tunnel), backend, options);
    });
    return;
  }
  if (isSpdyUpgrade(req)) {
    const accepted = acceptSpdyUpgrade(req, socket, head, [PORT_FORWARD_PROTOCOL]);
    if (accepted) servePortForwardSession(accepted.session, backend, options);
    return;
  }
  rejectUpgrade(socket, 400, 'Upgrade request required');
}

interface StreamPair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * The key that pairs a data stream with its error stream. Old clients send no `requestid`; the
 * kubelet then derives one from the stream ids (error = n, data = n + 2), and so do we.
 */
export function pairKey(stream: { id: number; header(name: string): string | undefined }): string {
  const requestId = stream.header('requestid');
  if (requestId !== undefined && requestId !== '') return requestId;
  return String(stream.header('streamtype') === 'data' ? stream.id - 2 : stream.id);
}

/** Runs the port-forward protocol on an established SPDY session. */
export function servePortForwardSession(session: SpdySession, backend: PortForwardBackend, options: PortForwardOptions): void {
  const pairs = new Map<string, StreamPair>();
  const connections = new Set<Duplex>();
  session.on('close', () => {
    for (const pair of pairs.values()) clearTimeout(pair.timer);
    pairs.clear();
    for (const conn of connections) conn.destroy();
  });
  session.on('stream', (stream) => {
    void stream.reply();
    const type = stream.header('streamtype');
    if (type !== 'data' && type !== 'error') {
      stream.reset();
      return;
    }
    const key = pairKey(stream);
    let pair = pairs.get(key);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(key);
        pair?.error?.end('timed out waiting for streams');
        pair?.data?.reset();
      }, PAIR_CREATION_TIMEOUT_MS);
      pair = { timer };
      pairs.set(key, pair);
    }
    if (pair[type]) {
      stream.reset();
      return;
    }
    pair[type] = stream;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(key);
      void forward(pair.data, pair.error);
    }
  });

  const forward = async (data: SpdyStream, errorStream: SpdyStream) => {
    const portText = data.header('port') ?? '';
    const port = Number(portText);
    const fail = (message: string) => {
      errorStream.end(message);
      data.end();
    };
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
      return fail(
        portText === ''
          ? 'port header is required'
          : `error forwarding port ${portText} to pod ${options.pod}, uid ${options.uid ?? ''}: invalid port: ${portText}`,
      );
    }
    const prefix = `error forwarding port ${port} to pod ${options.pod}, uid ${options.uid ?? ''}: `;
    let conn: Duplex;
    try {
      conn = await backend.connect(port);
    } catch (err) {
      return fail(prefix + (err instanceof Error ? err.message : String(err)));
    }
    if (data.destroyed) {
      conn.destroy();
      return;
    }
    connections.add(conn);
    let failed = false;
    conn.on('error', (err) => {
      failed = true;
      if (!errorStream.writableEnded) errorStream.end(prefix + err.message);
      data.reset();
    });
    conn.on('close', () => {
      connections.delete(conn);
      if (!data.writableEnded && !data.destroyed) data.end();
      if (!failed && !errorStream.writableEnded) errorStream.end();
    });
    data.on('close', () => conn.destroy());
    data.pipe(conn);
    conn.pipe(data);
  };
}

/** Go's wording for a failed TCP dial (`dial tcp4 10.0.0.1:80: connect: connection refused`), from a Node socket error. */
export function dialErrorMessage(err: NodeJS.ErrnoException, host: string, port: number): string {
  const family = host.includes(':') ? 'tcp6' : 'tcp4';
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connect: connection refused',
    EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable',
    ETIMEDOUT: 'i/o timeout',
  };
  return `dial ${family} ${address}: ${reasons[err.code ?? ''] ?? err.message}`;
}

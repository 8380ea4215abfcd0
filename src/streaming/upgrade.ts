/**
 * Shared pieces of the streaming upgrades: telling WebSocket from SPDY requests, the SPDY/3.1
 * handshake with `X-Stream-Protocol-Version` negotiation (as Kubernetes' httpstream.Handshake does),
 * and refusing an upgrade with a plain HTTP response on the raw socket.
 */

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SpdySession } from './spdy/session.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
};

/** True when the request asks for a WebSocket (`Upgrade: websocket`). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** True when the request asks for SPDY/3.1 (`Upgrade: SPDY/3.1`). */
export function isSpdyUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase().startsWith('spdy/3.1');
}

/** Answers an upgrade request with a non-101 plain-text response and closes the socket. */
export function rejectUpgrade(socket: Duplex, code: number, message: string, headers: Record<string, string> = {}): void {
  const body = `${message}\n`;
  const lines = [
    `HTTP/1.1 ${code} ${REASONS[code] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** The protocols a client offers in `X-Stream-Protocol-Version` (repeated or comma-separated), in its order. */
export function clientStreamProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['x-stream-protocol-version'];
  const values = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** The first protocol in the client's order that the server supports, as Kubernetes negotiates it. */
export function negotiateStreamProtocol(clientProtocols: string[], serverProtocols: readonly string[]): string | undefined {
  return clientProtocols.find((p) => serverProtocols.includes(p));
}

/**
 * Completes a SPDY/3.1 upgrade: negotiates the stream protocol, writes the 101 and returns a
 * session over the socket. On failure it answers 403 the way the kubelet does and returns undefined.
 */
export function acceptSpdyUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  serverProtocols: readonly string[],
): { session: SpdySession; protocol: string } | undefined {
  const offered = clientStreamProtocols(req);
  const protocol = negotiateStreamProtocol(offered, serverProtocols);
  if (!protocol) {
    rejectUpgrade(
      socket,
      403,
      `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${serverProtocols.join(' ')}]`,
      { 'X-Accepted-Stream-Protocol-Versions': serverProtocols.join(', ') },
    );
    return undefined;
  }
  socket.write(
    ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1', `X-Stream-Protocol-Version: ${protocol}`, '', ''].join(
      '\r\n',
    ),
  );
  const session = new SpdySession(socket);
  if (head.length > 0) socket.unshift(head);
  return { session, protocol };
}

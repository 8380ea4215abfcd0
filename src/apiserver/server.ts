/**
 * The HTTPS front of the API server: TLS, bearer-token authentication, body reading, and writing
 * ApiResponses (JSON, raw, chunked watch streams). Everything else happens in ApiHandler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { unauthorized } from '../api/errors.js';
import { type ApiHandler, errorResponse } from './handler.js';
import { SERIALIZED_EVENT } from './registry/generic.js';
import type { ApiRequest, ApiResponse } from './request.js';

/** Paths anyone may read without a token, as kube-apiserver's system:public-info-viewer role. */
const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

const MAX_BODY = 3 * 1024 * 1024; // kube-apiserver's request size limit

export interface ServerOptions {
  /** Address(es) to listen on; every address gets the same port. */
  host: string | string[];
  port: number;
  tls: { cert: string; key: string };
  /** token → user name */
  tokens: Map<string, string>;
  /** Tokens not in `tokens` (service account JWTs): the user they name, or undefined. */
  authenticateToken?: (token: string) => Promise<string | undefined>;
  /** Connection upgrades (exec/attach/port-forward over WebSocket or SPDY), added by the agent work. */
  onUpgrade?: (req: ApiRequest, socket: Duplex, head: Buffer, raw: IncomingMessage) => void;
}

export interface RunningServer {
  servers: Server[];
  port: number;
  close(): Promise<void>;
}

/** The user a request's bearer token names: a static token, else whatever `opts.authenticateToken` says. */
async function authenticate(req: IncomingMessage, opts: Pick<ServerOptions, 'tokens' | 'authenticateToken'>): Promise<string | undefined> {
  const h = req.headers.authorization;
  if (!h?.startsWith('Bearer ')) return undefined;
  const token = h.slice(7).trim();
  return opts.tokens.get(token) ?? (await opts.authenticateToken?.(token));
}

function toApiRequest(req: IncomingMessage, raw: Buffer | undefined, user: string | undefined): ApiRequest {
  const url = new URL(req.url ?? '/', 'https://localhost');
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  const binary = (headers['content-type'] ?? '').startsWith('application/vnd.kubernetes.protobuf');
  const body = raw && !binary ? raw.toString('utf8') : undefined;
  return {
    method: req.method ?? 'GET',
    path: decodeURI(url.pathname),
    query: url.searchParams,
    headers,
    body,
    bodyBytes: binary ? raw : undefined,
    user,
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function warningHeader(warnings: string[] | undefined): Record<string, string[]> {
  if (!warnings?.length) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) };
}

/** Writes an ApiResponse to a Node response. Watch streams run until either side closes. */
export async function writeResponse(res: ServerResponse, r: ApiResponse): Promise<void> {
  switch (r.kind) {
    case 'json': {
      // Encoded once: the length and the socket write share the bytes.
      const body = Buffer.from(JSON.stringify(r.body));
      res.writeHead(r.status, {
        'Content-Type': 'application/json',
        'Content-Length': body.length,
        ...r.headers,
        ...warningHeader(r.warnings),
      });
      res.end(body);
      return;
    }
    case 'raw': {
      const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
      // A 304 must not announce a length other than the full document's: leave it out there.
      const length = r.status === 304 ? {} : { 'Content-Length': body.length };
      res.writeHead(r.status, { 'Content-Type': r.contentType, ...length, ...r.headers });
      res.end(body);
      return;
    }
    case 'stream': {
      res.writeHead(r.status, { 'Content-Type': r.contentType, ...r.headers });
      res.flushHeaders(); // `kubectl logs -f` shows lines as they come, not when the response ends
      const body = r.body;
      const stop = () => body.destroy();
      res.on('close', stop);
      try {
        for await (const chunk of body) {
          if (res.destroyed) break;
          if (!res.write(chunk)) await drainOrClose(res);
        }
      } catch {
        // The source broke off (e.g. the kubelet went away): end what was sent.
      } finally {
        res.off('close', stop);
        body.destroy();
        res.end();
      }
      return;
    }
    case 'watch': {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', ...warningHeader(r.warnings) });
      res.flushHeaders(); // kubectl waits for the headers before it reports the watch as started
      const stop = () => r.close();
      res.on('close', stop);
      try {
        for await (const ev of r.events) {
          if (res.destroyed) break;
          const serialized = (ev as { [SERIALIZED_EVENT]?: () => string })[SERIALIZED_EVENT];
          if (!res.write(`${serialized ? serialized() : JSON.stringify(ev)}\n`)) await drainOrClose(res);
        }
      } finally {
        res.off('close', stop);
        r.close();
        res.end();
      }
      return;
    }
  }
}

export async function startServer(handler: ApiHandler, opts: ServerOptions): Promise<RunningServer> {
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let apiRes: ApiResponse;
    try {
      const path = new URL(req.url ?? '/', 'https://localhost').pathname;
      const user = await authenticate(req, opts);
      if (!user && !PUBLIC_PATHS.has(path)) {
        req.resume();
        apiRes = errorResponse(unauthorized());
      } else {
        const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
        apiRes = await handler.handle(toApiRequest(req, body, user));
      }
    } catch (e) {
      apiRes = errorResponse(e);
    }
    try {
      await writeResponse(res, apiRes);
    } catch {
      res.destroy();
    }
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const user = await authenticate(req, opts).catch(() => undefined);
    if (!user || !opts.onUpgrade) {
      socket.end(`HTTP/1.1 ${user ? 400 : 401} ${user ? 'Bad Request' : 'Unauthorized'}\r\nConnection: close\r\n\r\n`);
      return;
    }
    opts.onUpgrade(toApiRequest(req, undefined, user), socket, head, req);
  }

  // One listener per address (e.g. loopback for the user, the node bridge for agents), all on one port.
  const hosts = Array.isArray(opts.host) ? opts.host : [opts.host];
  const servers: Server[] = [];
  let port = opts.port;
  for (const host of hosts) {
    const server = createServer({ cert: opts.tls.cert, key: opts.tls.key, keepAliveTimeout: 120_000 }, (req, res) => {
      void serve(req, res);
    });
    server.headersTimeout = 60_000;
    server.requestTimeout = 0; // watches are long-lived
    server.on('upgrade', onUpgrade);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    servers,
    port,
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}

/**
 * Resolves when a backed-up response drains or closes, removing both listeners either way: a long
 * watch backs up many times, and a listener left behind per episode would pile up on the response.
 */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

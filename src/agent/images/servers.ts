/**
 * The small servers behind the other builtin images: hashicorp/http-echo, traefik/whoami and
 * agnhost's netexec / serve-hostname / pause, with the flags and answers tutorials rely on.
 */
import { createServer, type Server } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { printOut } from './output.js';

/** Reads `-flag=value` / `--flag=value` / `--flag value` arguments. */
export function parseFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const match = /^--?([^=]+)(?:=(.*))?$/s.exec(args[i]!);
    if (!match) continue;
    if (match[2] !== undefined) flags.set(match[1]!, match[2]);
    else if (i + 1 < args.length && !args[i + 1]!.startsWith('-')) flags.set(match[1]!, args[++i]!);
    else flags.set(match[1]!, 'true');
  }
  return flags;
}

function listen(server: Server, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** `-listen=:5678` → {host: undefined, port: 5678}. */
function parseListen(value: string): { host?: string; port: number } {
  const colon = value.lastIndexOf(':');
  return { host: value.slice(0, colon) || undefined, port: Number(value.slice(colon + 1)) };
}

/** hashicorp/http-echo: answers every request with `-text` and a newline. */
export function startHttpEcho(args: readonly string[]): Promise<Server> {
  const flags = parseFlags(args);
  const text = flags.get('text') ?? process.env.ECHO_TEXT;
  if (text === undefined) throw new Error('Missing -text option!');
  const status = Number(flags.get('status-code') ?? 200);
  const { host, port } = parseListen(flags.get('listen') ?? ':5678');
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}\n');
      return;
    }
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-App-Name': 'http-echo', 'X-App-Version': '1.0.0' });
    res.end(`${text}\n`);
    printOut(
      `${new Date().toISOString()} ${req.headers.host ?? ''} ${(req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')} "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} ${text.length + 1} "${req.headers['user-agent'] ?? ''}"\n`,
    );
  });
  printOut(`[INFO] server is listening on ${flags.get('listen') ?? ':5678'}\n`);
  return listen(server, port, host);
}

function ipAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined)
    .map((a) => a.address);
}

/** traefik/whoami: prints the hostname, the addresses and the request. */
export function startWhoami(args: readonly string[]): Promise<Server> {
  const flags = parseFlags(args);
  const port = Number(flags.get('port') ?? process.env.WHOAMI_PORT_NUMBER ?? 80);
  const name = flags.get('name') ?? process.env.WHOAMI_NAME;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/health') return void res.writeHead(200).end();
    const lines: string[] = [];
    if (name) lines.push(`Name: ${name}`);
    lines.push(`Hostname: ${hostname()}`);
    for (const ip of ipAddresses()) lines.push(`IP: ${ip}`);
    lines.push(`RemoteAddr: ${(req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')}:${req.socket.remotePort}`);
    lines.push(`${req.method} ${req.url} HTTP/${req.httpVersion}`);
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${lines.join('\n')}\n`);
  });
  printOut(`${new Date().toISOString().replace('T', ' ').slice(0, 19)} Starting up on port ${port}\n`);
  return listen(server, port);
}

/** agnhost netexec: /hostname, /echo?msg=, /clientip, /healthz, /exit?code=. */
function startNetexec(args: readonly string[]): Promise<Server> {
  const flags = parseFlags(args);
  const port = Number(flags.get('http-port') ?? 8080);
  // --delay-shutdown: after SIGTERM keep serving for that many seconds with /readyz failing, so the
  // pod leaves its Services' endpoints before it stops answering (graceful termination).
  const delayShutdownSeconds = Number(flags.get('delay-shutdown') ?? 0);
  let sigTermReceived = false;
  if (delayShutdownSeconds > 0) {
    process.removeAllListeners('SIGTERM');
    process.once('SIGTERM', () => {
      sigTermReceived = true;
      printOut(`Sleeping ${delayShutdownSeconds} seconds before terminating...\n`);
      setTimeout(() => process.exit(0), delayShutdownSeconds * 1000);
    });
  }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const client = `${(req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')}:${req.socket.remotePort}`;
    switch (url.pathname) {
      case '/':
        return void res.end(`NOW: ${new Date().toISOString()}`);
      case '/hostname':
        return void res.end(hostname());
      case '/echo':
        return void res.end(url.searchParams.get('msg') ?? '');
      case '/clientip':
        return void res.end(client);
      case '/healthz':
        return void res.end('ok');
      case '/readyz':
        if (sigTermReceived) return void res.writeHead(503).end('shutting down');
        return void res.end('ok');
      case '/exit':
        res.end();
        setImmediate(() => process.exit(Number(url.searchParams.get('code') ?? 0)));
        return;
      default:
        return void res.writeHead(404).end('404 page not found\n');
    }
  });
  printOut(`Started HTTP server on port ${port}\n`);
  return listen(server, port);
}

/** agnhost serve-hostname: answers with the hostname on port 9376. */
function startServeHostname(args: readonly string[]): Promise<Server> {
  const flags = parseFlags(args);
  const port = Number(flags.get('port') ?? 9376);
  const server = createServer((_req, res) => res.end(hostname()));
  printOut(`Serving on port ${port}.\n`);
  return listen(server, port);
}

/** Sleeps until signalled, like the pause container. */
export function pause(): Promise<void> {
  return new Promise(() => setInterval(() => {}, 1 << 30));
}

/** agnhost: the subcommand decides what to run. */
export async function runAgnhost(args: readonly string[]): Promise<void> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'netexec':
      await startNetexec(rest);
      return;
    case 'serve-hostname':
      await startServeHostname(rest);
      return;
    case 'pause':
    case undefined:
      return pause();
    default:
      throw new Error(`agnhost: unknown command "${sub}" (svcnet supports netexec, serve-hostname, pause)`);
  }
}

/**
 * Server side of `kubectl exec`, `kubectl attach` and `kubectl run -it`: the remote command
 * protocols, mapped onto a backend that runs (or attaches to) a process.
 *
 * Two transports, as kubectl 1.32 uses them (shared/research/kubectl-protocol.md §4.4, §4.6):
 * - WebSocket, subprotocol `v5.channel.k8s.io` (or `v4.channel.k8s.io`): binary messages whose
 *   first byte is the channel (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize, 255 close);
 *   `0xFF 0x00` closes stdin. The `ws` package answers kubectl's 5-second pings.
 * - SPDY/3.1 on a POST upgrade, negotiated through `X-Stream-Protocol-Version` (we speak
 *   `v4.channel.k8s.io`): the client opens one stream per `streamtype` (error, stdin, stdout,
 *   stderr, resize).
 * Either way the end of the command is a Status JSON on the status channel / error stream.
 */

import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable, Writable } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { SpdySession, SpdyStream } from './spdy/session.js';
import { acceptSpdyUpgrade, isSpdyUpgrade, isWebSocketUpgrade, rejectUpgrade } from './upgrade.js';

/** What the client asked for, from the exec/attach query string. */
export interface RemoteCommandOptions {
  /** `command=` repeated once per argv element (empty for attach). */
  command: string[];
  container: string | undefined;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** A running command (or an attachment to one) as the backend exposes it. */
export interface RemoteCommandProcess {
  /** Where the client's stdin goes; ended when the client closes stdin. */
  stdin?: Writable;
  stdout?: Readable;
  /** Absent with a TTY: the terminal merges it into stdout. */
  stderr?: Readable;
  /** The client's terminal changed size (only with a TTY). */
  resize?(size: TerminalSize): void;
  /** Settles when the command is over; a non-zero exit code is reported to kubectl as such. */
  wait(): Promise<{ exitCode: number }>;
  /** The client went away before the command finished (exec: kill it; attach: just detach). */
  abort?(): void;
}

/** Runs the command. Throwing (or rejecting) reports the error's message to kubectl as a Failure. */
export interface RemoteCommandBackend {
  start(options: RemoteCommandOptions): Promise<RemoteCommandProcess> | RemoteCommandProcess;
}

/** The WebSocket subprotocols we accept, best first. */
export const WEBSOCKET_REMOTE_COMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
/** The SPDY stream protocols we accept (v4 is the one with Status JSON on the error stream). */
export const SPDY_REMOTE_COMMAND_PROTOCOLS = ['v4.channel.k8s.io'] as const;

const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;

/** Streams buffered in a WebSocket beyond this pause the producing process. */
const WS_HIGH_WATER = 1 << 20;

/** Reads the exec/attach query parameters the way the kubelet does (`true`/`1` mean yes). */
export function parseRemoteCommandOptions(url: string | URL): RemoteCommandOptions {
  const params = (typeof url === 'string' ? new URL(url, 'http://localhost') : url).searchParams;
  const flag = (name: string) => ['true', '1'].includes((params.get(name) ?? '').toLowerCase());
  const tty = flag('tty');
  return {
    command: params.getAll('command'),
    container: params.get('container') ?? undefined,
    stdin: flag('stdin'),
    stdout: flag('stdout'),
    // A terminal has one output stream; the kubelet never opens stderr with a TTY.
    stderr: flag('stderr') && !tty,
    tty,
  };
}

/** The Status the status channel carries for a finished command (the kubelet's v4 wording). */
export function commandStatus(command: string[], result: { exitCode: number } | { error: string }): object {
  if ('error' in result) return { metadata: {}, status: 'Failure', message: result.error, reason: 'InternalError' };
  if (result.exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${result.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
  };
}

/** Splits newline-delimited resize JSON (`{"Width":80,"Height":24}`) into sizes, keeping partial lines. */
export class ResizeDecoder {
  private pending = '';

  push(chunk: Buffer | string): TerminalSize[] {
    this.pending += chunk.toString();
    const sizes: TerminalSize[] = [];
    let at = this.pending.search(/\}/);
    while (at >= 0) {
      const text = this.pending.slice(0, at + 1).trim();
      this.pending = this.pending.slice(at + 1);
      try {
        const parsed = JSON.parse(text) as { Width?: number; Height?: number };
        sizes.push({ width: parsed.Width ?? 0, height: parsed.Height ?? 0 });
      } catch {
        // A malformed size is ignored, as the kubelet logs and ignores it.
      }
      at = this.pending.search(/\}/);
    }
    return sizes;
  }
}

const webSocketServer = new WebSocketServer({
  noServer: true,
  clientTracking: false,
  perMessageDeflate: false,
  handleProtocols: (offered) => WEBSOCKET_REMOTE_COMMAND_PROTOCOLS.find((p) => offered.has(p)) ?? false,
});

/**
 * Serves an exec/attach upgrade request: WebSocket (GET) or SPDY/3.1 (POST). Call it from an HTTP
 * server's `upgrade` event. Options come from the request URL; the backend runs the command.
 */
export function serveRemoteCommand(req: IncomingMessage, socket: Duplex, head: Buffer, backend: RemoteCommandBackend): void {
  const options = parseRemoteCommandOptions(req.url ?? '/');
  if (!options.stdin && !options.stdout && !options.stderr) {
    rejectUpgrade(socket, 400, 'you must specify at least 1 of stdin, stdout, stderr');
    return;
  }
  if (isWebSocketUpgrade(req)) {
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!WEBSOCKET_REMOTE_COMMAND_PROTOCOLS.some((p) => offered.includes(p))) {
      rejectUpgrade(
        socket,
        400,
        `unable to upgrade: no supported subprotocol in [${offered.join(', ')}], server supports [${WEBSOCKET_REMOTE_COMMAND_PROTOCOLS.join(', ')}]`,
      );
      return;
    }
    webSocketServer.handleUpgrade(req, socket, head, (ws) => runOverWebSocket(ws, options, backend));
    return;
  }
  if (isSpdyUpgrade(req)) {
    const accepted = acceptSpdyUpgrade(req, socket, head, SPDY_REMOTE_COMMAND_PROTOCOLS);
    if (accepted) runOverSpdy(accepted.session, options, backend);
    return;
  }
  rejectUpgrade(socket, 400, 'Upgrade request required');
}

/** Resolves when a readable has delivered everything (or is gone). */
function drained(stream: Readable | undefined): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

async function startProcess(
  backend: RemoteCommandBackend,
  options: RemoteCommandOptions,
): Promise<{ process: RemoteCommandProcess } | { error: string }> {
  try {
    return { process: await backend.start(options) };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** Waits for the command and its output, then yields the Status to report. */
async function finish(options: RemoteCommandOptions, process: RemoteCommandProcess): Promise<object> {
  try {
    const [result] = await Promise.all([process.wait(), drained(process.stdout), drained(process.stderr)]);
    return commandStatus(options.command, result);
  } catch (err) {
    return commandStatus(options.command, { error: err instanceof Error ? err.message : String(err) });
  }
}

async function runOverWebSocket(ws: WebSocket, options: RemoteCommandOptions, backend: RemoteCommandBackend): Promise<void> {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const send = (channel: number, data: Buffer | string) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.of(channel), Buffer.from(data)]));
  };
  const resize = new ResizeDecoder();
  let process: RemoteCommandProcess | undefined;
  let finished = false;
  // Messages may arrive while the backend is still starting; keep them in order until it is up.
  const early: Buffer[] = [];
  const onMessage = (message: Buffer) => {
    if (!process) return void early.push(message);
    const channel = message[0];
    const payload = message.subarray(1);
    if (channel === CHANNEL.stdin) process.stdin?.write(payload);
    else if (channel === CHANNEL.resize) for (const size of resize.push(payload)) process.resize?.(size);
    else if (channel === CHANNEL.close && v5 && payload[0] === CHANNEL.stdin) process.stdin?.end();
  };
  ws.on('message', (data) => onMessage(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)));
  ws.on('close', () => {
    if (!process || finished) return;
    process.stdin?.end();
    process.abort?.();
  });

  const started = await startProcess(backend, options);
  if ('error' in started) {
    send(CHANNEL.status, JSON.stringify(commandStatus(options.command, started)));
    ws.close(1000);
    return;
  }
  process = started.process;
  process.stdin?.on('error', () => {}); // a process that exits before reading its stdin is not an error
  if (ws.readyState !== WebSocket.OPEN) {
    // The client left while the backend was starting.
    process.stdin?.end();
    process.abort?.();
    return;
  }
  for (const message of early.splice(0)) onMessage(message);
  pumpToWebSocket(ws, process.stdout, (d) => send(CHANNEL.stdout, d));
  pumpToWebSocket(ws, process.stderr, (d) => send(CHANNEL.stderr, d));
  const status = await finish(options, process);
  finished = true;
  send(CHANNEL.status, JSON.stringify(status));
  ws.close(1000);
}

function pumpToWebSocket(ws: WebSocket, from: Readable | undefined, send: (data: Buffer) => void): void {
  if (!from) return;
  from.on('data', (chunk: Buffer) => {
    send(chunk);
    if (ws.bufferedAmount > WS_HIGH_WATER) {
      from.pause();
      const resume = setInterval(() => {
        if (ws.bufferedAmount <= WS_HIGH_WATER || ws.readyState !== WebSocket.OPEN) {
          clearInterval(resume);
          from.resume();
        }
      }, 10);
    }
  });
}

/** The stream types the client will open for these options, as the kubelet expects them. */
export function expectedSpdyStreams(options: RemoteCommandOptions): string[] {
  const types = ['error'];
  if (options.stdin) types.push('stdin');
  if (options.stdout) types.push('stdout');
  if (options.stderr) types.push('stderr');
  if (options.tty) types.push('resize');
  return types;
}

/** How long the kubelet waits for the client to open all its streams. */
const STREAM_CREATION_TIMEOUT_MS = 30_000;

function runOverSpdy(session: SpdySession, options: RemoteCommandOptions, backend: RemoteCommandBackend): void {
  const expected = new Set(expectedSpdyStreams(options));
  const streams = new Map<string, SpdyStream>();
  let done = false;
  const timer = setTimeout(() => {
    if (streams.size < expected.size) void session.close();
  }, STREAM_CREATION_TIMEOUT_MS);
  session.on('stream', (stream) => {
    const type = stream.header('streamtype') ?? '';
    void stream.reply();
    if (!expected.has(type) || streams.has(type)) return;
    streams.set(type, stream);
    if (streams.size === expected.size) {
      clearTimeout(timer);
      void run();
    }
  });
  session.on('close', () => clearTimeout(timer));

  const run = async () => {
    const errorStream = streams.get('error') as SpdyStream;
    const report = async (status: object) => {
      errorStream.end(JSON.stringify(status));
      await new Promise<void>((resolve) => errorStream.once('finish', resolve).once('close', resolve));
      await session.close();
    };
    const started = await startProcess(backend, options);
    if ('error' in started) return report(commandStatus(options.command, started));
    const process = started.process;
    session.on('close', () => {
      if (!done) process.abort?.();
    });
    const stdin = streams.get('stdin');
    if (stdin && process.stdin) {
      process.stdin.on('error', () => {});
      stdin.pipe(process.stdin);
    }
    const resizeStream = streams.get('resize');
    if (resizeStream) {
      const decoder = new ResizeDecoder();
      resizeStream.on('data', (chunk: Buffer) => {
        for (const size of decoder.push(chunk)) process.resize?.(size);
      });
    }
    for (const type of ['stdout', 'stderr'] as const) {
      const out = streams.get(type);
      const source = process[type];
      if (!out) continue;
      if (source) source.pipe(out);
      else out.end();
    }
    const status = await finish(options, process);
    done = true;
    await Promise.all(
      (['stdout', 'stderr'] as const).map((t) => {
        const s = streams.get(t);
        return s && !s.writableFinished ? new Promise<void>((r) => s.once('finish', r).once('close', r)) : undefined;
      }),
    );
    await report(status);
  };
}

/**
 * The native byte relay (native/tcp-relay): once a proxied connection is ESTABLISHED on both sides,
 * its bytes are moved inside the libuv loop, both ways, with backpressure and half-close, without a
 * JavaScript call or a Buffer per read: recv/send through a 16 KiB buffer per direction for small
 * messages, `splice(2)` through a pipe for bulk transfers. The proxy logic
 * (accept, scheduling, dialing, retries, connection counts) stays in TypeScript; only the shovelling
 * moves. Without the addon (or with SVCNET_PROXY_RELAY=js) the proxier relays through Node streams.
 */

import type net from 'node:net';
import { type LoadedAddon, loadNativeAddon } from '../../../native.js';

interface Addon {
  relay(
    clientFd: number,
    backendFd: number,
    splice: boolean,
    onClose: (bytesUp: number, bytesDown: number, error: string | null) => void,
  ): object;
  abort(handle: object): void;
}

function load(): LoadedAddon<Addon> {
  return loadNativeAddon<Addon>('tcp-relay');
}

/**
 * How established connections are relayed: `splice` (native: recv/send for small reads, splice for
 * bulk ones, like HAProxy's splice-auto), `copy` (native, recv/send only), `js` (Node streams).
 */
export type RelayKind = 'splice' | 'copy' | 'js';

/**
 * The relay to use: `wanted` (config), else SVCNET_PROXY_RELAY (`js`, `copy`, `splice`/`native`),
 * else splice; a native kind falls back to `js` when the addon is not available, with the reason.
 */
export function chooseRelay(wanted: string | undefined = process.env.SVCNET_PROXY_RELAY): { kind: RelayKind; reason?: string } {
  const asked = wanted === 'native' || !wanted ? 'splice' : wanted;
  if (asked === 'js') return { kind: 'js', reason: 'asked for' };
  if (asked !== 'splice' && asked !== 'copy') return { kind: 'js', reason: `unknown relay ${JSON.stringify(wanted)}` };
  if (process.platform !== 'linux') return { kind: 'js', reason: 'the native relay is Linux only' };
  const l = load();
  return 'addon' in l ? { kind: asked } : { kind: 'js', reason: l.error };
}

/**
 * The kernel fd under a connected Node TCP socket. Node keeps it on the libuv handle (`_handle.fd`,
 * Linux/Unix only) without typing it; undefined when there is none (closed, or not a TCP handle).
 */
function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Bytes moved by a finished relay, and why it ended if not by both sides closing. */
export interface RelayResult {
  /** Client → backend. */
  bytesUp: number;
  /** Backend → client. */
  bytesDown: number;
  /** `ECONNRESET`, `EPIPE`, … or `ECANCELED` after {@link NativeRelay.abort}; null for a clean end. */
  error: string | null;
}

/** A running native relay. */
export interface NativeRelay {
  /** Ends it at once (both connections close); `onDone` still follows. */
  abort(): void;
}

/**
 * Hands an established client/backend pair to the native relay. Node must not have read anything
 * from either socket (the proxier accepts with pauseOnConnect and hands over in the backend's
 * `connect` handler, before Node's first read); both are paused here, so from then on only the
 * relay watches the connections. Node's sockets stay open and idle until `onDone`, when the caller
 * destroys them: the relay works on dup()s, so a connection ends once both have closed their fds.
 * Returns undefined (nothing handed over) when a socket has no fd, has buffered bytes, or the
 * addon refuses (e.g. out of fds): the caller relays that connection in JavaScript.
 */
export function startNativeRelay(
  kind: 'splice' | 'copy',
  client: net.Socket,
  backend: net.Socket,
  onDone: (result: RelayResult) => void,
): NativeRelay | undefined {
  const l = load();
  const clientFd = socketFd(client);
  const backendFd = socketFd(backend);
  if (!('addon' in l) || clientFd === undefined || backendFd === undefined) return undefined;
  if (client.readableLength > 0 || backend.readableLength > 0) return undefined;
  client.pause();
  backend.pause();
  let handle: object;
  try {
    handle = l.addon.relay(clientFd, backendFd, kind === 'splice', (bytesUp, bytesDown, error) => onDone({ bytesUp, bytesDown, error }));
  } catch {
    return undefined;
  }
  return { abort: () => l.addon.abort(handle) };
}

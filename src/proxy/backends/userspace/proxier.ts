/**
 * The userspace proxy: a real TCP and UDP proxy in Node, with IPVS's schedulers.
 *
 * How packets reach it (the kernel here has no IPVS and no `dummy` links): every Service IP
 * (cluster IP, external IPs, LoadBalancer IPs) is held on the node namespace's `lo`
 * ({@link AddressPlumber}) and the proxy binds `ip:port` for each service port directly, like
 * IPVS mode binds its VIPs to kube-ipvs0; node ports are bound on `0.0.0.0:<nodePort>` (or on each
 * --nodeport-addresses address), so `netstat -napt | grep 30200` shows the proxy (`node`) LISTENing.
 * No iptables or nft rules are involved, and the client's own address is what the proxy sees
 * (session affinity and `sh` hash on it).
 *
 * - A port with no usable endpoints has no listener, so a connection is refused at once (TCP RST;
 *   ICMP port unreachable for UDP), as kube-proxy's REJECT rules do.
 * - Each Service picks its scheduler with the annotation `svcnet.io/ipvs-scheduler` (rr, wrr, lc,
 *   wlc, sh, dh, sed, nq); the default comes from --ipvs-scheduler. Every endpoint has weight 1.
 *   Active connections per endpoint feed lc/wlc/sed/nq.
 * - sessionAffinity ClientIP sends a client back to its endpoint until timeoutSeconds of idleness.
 * - A TCP connection that cannot reach an endpoint (refused, unreachable, dial timeout) is retried
 *   on the next one the scheduler picks, as the old userspace kube-proxy did; when none is left the
 *   client's connection is reset.
 * - Established connections belong to their sockets, not to the endpoint list: endpoint changes and
 *   even Service deletion leave them running until either side closes.
 * - Data is relayed with backpressure both ways and allowHalfOpen, so a FIN from one side is passed
 *   on while the other direction keeps flowing. Both sockets set TCP_NODELAY (as Go, and so the old
 *   userspace kube-proxy, does). Once both sides are connected the bytes are moved by the native
 *   relay (native/tcp-relay: recv/send, splice(2) for bulk, inside the libuv loop; ./native-relay.ts).
 *   Without the addon, or with SVCNET_PROXY_RELAY=js, Node streams move them, replies read into a
 *   buffer each connection owns rather than a fresh Buffer per read (see
 *   bench/proxy/throughput.bench.ts for what each buys).
 * - UDP: one session per client address:port, with its own upstream socket, closed after
 *   `udpIdleTimeoutMs` without traffic (kube-proxy's old --udp-timeout, 250 ms).
 * - Traffic policies: internal traffic (cluster IP) uses Cluster or, with internalTrafficPolicy
 *   Local, node-local endpoints; external traffic (node ports, external and LB IPs) likewise with
 *   externalTrafficPolicy. The source address is always kept (it is a new connection anyway).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { type ProxyLogger, silentLogger } from '../../log.js';
import {
  categorizeEndpoints,
  type EndpointInfo,
  type EndpointsMap,
  endpointString,
  type ServicePortInfo,
  type ServicePortMap,
} from '../../model.js';
import type { SyncRequest } from '../../runner.js';
import type { AddressPlumber } from './addresses.js';
import { chooseRelay, type NativeRelay, type RelayKind, startNativeRelay } from './native-relay.js';
import { type Backend, createScheduler, isSchedulerName, type Scheduler, type SchedulerName } from './schedulers.js';

/** The Service annotation that picks the scheduler for all its ports. */
export const SCHEDULER_ANNOTATION = 'svcnet.io/ipvs-scheduler';

export interface UserspaceConfig {
  /** Scheduler for Services without the annotation (or with an unknown value). Default rr. */
  defaultScheduler?: SchedulerName;
  /** Holds service IPs on lo; omit when they are already local (tests on 127.0.0.0/8). */
  addresses?: AddressPlumber;
  /** Where node ports listen; empty = 0.0.0.0. */
  nodePortAddresses?: readonly string[];
  /** Per-endpoint dial timeout before trying the next (ms). Default 2000. */
  connectTimeoutMs?: number;
  /** UDP session idle timeout (ms). Default 250. */
  udpIdleTimeoutMs?: number;
  /**
   * How established TCP connections are relayed: `splice` (native; splice(2) for bulk transfers,
   * recv/send for small messages), `copy` (native, recv/send only) or `js` (Node streams). Default: SVCNET_PROXY_RELAY, else splice; a native kind
   * without the addon built falls back to js.
   */
  relay?: RelayKind;
  log?: ProxyLogger;
}

/** What one sync did. */
export interface UserspaceSyncStats {
  full: boolean;
  generateMs: number;
  applyMs: number;
  listeners: number;
  addresses: number;
}

type TrafficKind = 'internal' | 'external';

/** One service port's live state: the endpoint lists the listeners read at accept time. */
class PortState {
  scheduler: Scheduler;
  internal: EndpointInfo[] = [];
  external: EndpointInfo[] = [];
  constructor(
    public info: ServicePortInfo,
    readonly schedulerName: SchedulerName,
    /** Connections (TCP) or sessions (UDP) open per endpoint `ip:port`; carried over when the scheduler changes. */
    readonly active = new Map<string, number>(),
    /** Client IP → endpoint and when the affinity lapses. */
    readonly affinity = new Map<string, { endpoint: string; expires: number }>(),
  ) {
    this.scheduler = createScheduler(schedulerName);
  }

  opened(id: string): void {
    this.active.set(id, (this.active.get(id) ?? 0) + 1);
  }

  closed(id: string): void {
    const n = (this.active.get(id) ?? 1) - 1;
    if (n > 0) this.active.set(id, n);
    else this.active.delete(id);
  }

  /** The endpoint for a new connection from `client` to `dst`, skipping `tried`; records nothing. */
  choose(kind: TrafficKind, client: string, dst: string, tried: ReadonlySet<string>, now: number): EndpointInfo | undefined {
    const candidates = (kind === 'internal' ? this.internal : this.external).filter((ep) => !tried.has(endpointString(ep)));
    if (candidates.length === 0) return undefined;
    if (this.info.stickySeconds > 0) {
      const sticky = this.affinity.get(client);
      const ep = sticky && sticky.expires > now ? candidates.find((c) => endpointString(c) === sticky.endpoint) : undefined;
      if (ep) return ep;
    }
    const backends: Backend[] = candidates.map((ep) => {
      const id = endpointString(ep);
      return { id, weight: 1, activeConns: this.active.get(id) ?? 0, inactiveConns: 0 };
    });
    const picked = this.scheduler.pick(backends, { src: client, dst });
    return picked && candidates.find((ep) => endpointString(ep) === picked.id);
  }

  /** Remembers (or refreshes) a client's endpoint under ClientIP affinity. */
  stick(client: string, id: string, now: number): void {
    if (this.info.stickySeconds > 0) this.affinity.set(client, { endpoint: id, expires: now + this.info.stickySeconds * 1000 });
  }

  forget(client: string, id: string): void {
    if (this.affinity.get(client)?.endpoint === id) this.affinity.delete(client);
  }
}

/** One UDP client's flow: its own upstream socket, so replies find their way back. */
interface UdpSession {
  upstream: dgram.Socket;
  endpoint: EndpointInfo;
  idle: NodeJS.Timeout;
}

interface Listener {
  readonly key: string;
  /** Which port state and which endpoint list a connection to this address uses. */
  target: { portKey: string; kind: TrafficKind };
  close(): void;
}

/**
 * Copies `from` into `to` until `from` ends, then half-closes `to`; pauses `from` while `to`'s
 * buffer is full. Leaner per chunk than `pipe` (no pipe bookkeeping), which shows in requests/s.
 */
function forward(from: net.Socket, to: net.Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.once('end', () => to.end());
}

/** Bytes of the read buffer each upstream connection owns (Go's io.Copy, which the userspace kube-proxy used, takes 32 KiB too). */
const REPLY_BUFFER_BYTES = 32 * 1024;

/**
 * Upstream → client without a Buffer allocated per read: the upstream socket reads (`onread`) into
 * a buffer this connection owns and each read is written on to the client at once. A write that
 * does not complete on the spot still references the buffer, so reading stops until it has gone
 * out; that is also the backpressure.
 */
class ReplyRelay {
  readonly #buffer = Buffer.allocUnsafe(REPLY_BUFFER_BYTES);
  #waiting = false;
  /** Set once the socket built with {@link onread} exists. */
  upstream: net.Socket | undefined;
  readonly onread: net.OnReadOpts = { buffer: this.#buffer, callback: (n) => this.#relay(n) };

  constructor(readonly client: net.Socket) {}

  #relay(bytes: number): boolean {
    this.client.write(this.#buffer.subarray(0, bytes), this.#written);
    if (this.client.writableLength === 0) return true;
    this.#waiting = true;
    return false;
  }

  readonly #written = (): void => {
    if (!this.#waiting) return;
    this.#waiting = false;
    this.upstream?.resume();
  };
}

/** `proto ip:port`: one socket address the proxy listens on. */
function listenKey(protocol: string, ip: string, port: number): string {
  return `${protocol} ${ip}:${port}`;
}

function schedulerFor(info: ServicePortInfo, fallback: SchedulerName): SchedulerName {
  const wanted = info.annotations[SCHEDULER_ANNOTATION]?.trim() ?? '';
  return isSchedulerName(wanted) ? wanted : fallback;
}

/** The userspace backend: same `sync` contract as the iptables and nftables proxiers. */
export class UserspaceProxier {
  readonly #ports = new Map<string, PortState>();
  readonly #listeners = new Map<string, Listener>();
  /** Every open socket (TCP client and backend sides, UDP sessions), so {@link close} can end them. */
  readonly #sockets = new Set<net.Socket | dgram.Socket>();
  /** Connections the native relay is moving, so {@link close} can end them (destroying Node's sockets would not: the relay holds dups). */
  readonly #relays = new Set<NativeRelay>();
  readonly #defaultScheduler: SchedulerName;
  readonly #connectTimeoutMs: number;
  readonly #udpIdleMs: number;
  readonly #log: ProxyLogger;
  /** How established TCP connections are relayed (see {@link UserspaceConfig.relay}). */
  readonly relay: RelayKind;

  constructor(readonly config: UserspaceConfig = {}) {
    this.#defaultScheduler = config.defaultScheduler ?? 'rr';
    this.#connectTimeoutMs = config.connectTimeoutMs ?? 2000;
    this.#udpIdleMs = config.udpIdleTimeoutMs ?? 250;
    this.#log = config.log ?? silentLogger;
    const relay = chooseRelay(config.relay ?? process.env.SVCNET_PROXY_RELAY);
    this.relay = relay.kind;
    this.#log.info(
      'Userspace proxy TCP relay',
      relay.kind === 'js'
        ? { relay: 'js (Node streams)', reason: relay.reason }
        : { relay: `native ${relay.kind === 'splice' ? 'recv/send + splice(2) for bulk' : 'recv/send'} (native/tcp-relay)` },
      'proxier.go:173',
    );
  }

  /** Open TCP connections plus UDP sessions per endpoint of a service port (tests, metrics). */
  activeConnections(portKey: string): ReadonlyMap<string, number> {
    return this.#ports.get(portKey)?.active ?? new Map();
  }

  /** The socket addresses listened on, as `PROTO ip:port`. */
  listening(): string[] {
    return [...this.#listeners.keys()].sort();
  }

  async sync(request: SyncRequest, services: ServicePortMap, endpoints: EndpointsMap): Promise<UserspaceSyncStats> {
    const t0 = performance.now();
    const now = Date.now();
    const desired = new Map<string, Listener['target'] & { protocol: string; ip: string; port: number }>();
    const addresses = new Set<string>();
    for (const [key, info] of services) {
      const schedName = schedulerFor(info, this.#defaultScheduler);
      let state = this.#ports.get(key);
      if (!state || state.schedulerName !== schedName) {
        // Open connections still count against (and are counted down on) the same map.
        state = new PortState(info, schedName, state?.active, state?.affinity);
        this.#ports.set(key, state);
      }
      state.info = info;
      const cat = categorizeEndpoints(endpoints.get(key) ?? [], info);
      state.internal = info.internalPolicyLocal ? cat.localEndpoints : cat.clusterEndpoints;
      state.external = info.externalPolicyLocal ? cat.localEndpoints : cat.clusterEndpoints;
      for (const [client, a] of state.affinity) if (a.expires <= now) state.affinity.delete(client);

      for (const ip of [info.clusterIP, ...info.externalIPs, ...info.loadBalancerVIPs]) addresses.add(ip);
      const want = (ip: string, port: number, kind: TrafficKind) =>
        desired.set(listenKey(info.protocol, ip, port), { portKey: key, kind, protocol: info.protocol, ip, port });
      if (state.internal.length > 0) want(info.clusterIP, info.port, 'internal');
      if (state.external.length > 0) {
        for (const ip of [...info.externalIPs, ...info.loadBalancerVIPs]) want(ip, info.port, 'external');
        if (info.nodePort) {
          const nodeAddrs = this.config.nodePortAddresses?.length ? this.config.nodePortAddresses : ['0.0.0.0'];
          for (const ip of nodeAddrs) want(ip, info.nodePort, 'external');
        }
      }
    }
    for (const key of this.#ports.keys()) if (!services.has(key)) this.#ports.delete(key);
    const generateMs = performance.now() - t0;

    const a0 = performance.now();
    // Stop accepting where nothing is served any more (established connections carry on).
    for (const [key, listener] of this.#listeners) {
      if (desired.has(key)) continue;
      listener.close();
      this.#listeners.delete(key);
    }
    await this.config.addresses?.sync(addresses, request.full);
    const failures: string[] = [];
    await Promise.all(
      [...desired].map(async ([key, want]) => {
        const existing = this.#listeners.get(key);
        if (existing) {
          existing.target = { portKey: want.portKey, kind: want.kind };
          return;
        }
        try {
          const target = { portKey: want.portKey, kind: want.kind };
          const listener =
            want.protocol === 'UDP'
              ? await this.#listenUdp(key, want.ip, want.port, target)
              : await this.#listenTcp(key, want.ip, want.port, target);
          this.#listeners.set(key, listener);
        } catch (err) {
          failures.push(`${key}: ${(err as Error).message}`);
        }
      }),
    );
    if (failures.length) throw new Error(`userspace proxy could not listen on ${failures.sort().join('; ')}`);
    return {
      full: request.full,
      generateMs,
      applyMs: performance.now() - a0,
      listeners: this.#listeners.size,
      addresses: addresses.size,
    };
  }

  /** Stops every listener and connection and releases the held addresses. */
  async close(): Promise<void> {
    for (const listener of this.#listeners.values()) listener.close();
    this.#listeners.clear();
    for (const relay of this.#relays) relay.abort();
    this.#relays.clear();
    for (const s of this.#sockets) {
      if (s instanceof net.Socket) s.destroy();
      else s.close();
    }
    this.#sockets.clear();
    await this.config.addresses?.clear();
  }

  #listenTcp(key: string, ip: string, port: number, target: Listener['target']): Promise<Listener> {
    const listener: Listener = { key, target, close: () => server.close() };
    // noDelay (as Go's net package sets on every TCP conn): a relayed small write leaves at once
    // instead of waiting on Nagle for the previous segment's ACK.
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) =>
      this.#onTcpConnection(listener, client),
    );
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: ip, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.#log.error('Listener failed', { address: key, err: err.message }, 'proxysocket.go:99'));
        resolve(listener);
      });
    });
  }

  #onTcpConnection(listener: Listener, client: net.Socket): void {
    const state = this.#ports.get(listener.target.portKey);
    const kind = listener.target.kind;
    const clientIP = client.remoteAddress ?? '';
    const dst = client.localAddress ?? '';
    client.on('error', () => {});
    if (!state) {
      client.destroy();
      return;
    }
    this.#sockets.add(client);
    client.once('close', () => this.#sockets.delete(client));
    const tried = new Set<string>();

    const dial = (): void => {
      if (client.destroyed) return;
      const ep = state.choose(kind, clientIP, dst, tried, Date.now());
      if (!ep) {
        this.#log.error(
          'Failed to connect to any endpoint',
          { service: state.info.name, client: `${clientIP}:${client.remotePort}`, tried: tried.size },
          'proxysocket.go:126',
        );
        client.resetAndDestroy();
        return;
      }
      const id = endpointString(ep);
      tried.add(id);
      state.opened(id);
      let connected = false;
      const replies = new ReplyRelay(client);
      const upstream = net.connect({ host: ep.ip, port: ep.port, allowHalfOpen: true, noDelay: true, onread: replies.onread });
      replies.upstream = upstream;
      // Listed too, so close() ends the backend side of a JS-relayed connection, not just the client's.
      this.#sockets.add(upstream);
      const timer = setTimeout(() => upstream.destroy(new Error('dial timeout')), this.#connectTimeoutMs);
      upstream.on('error', () => {});
      upstream.once('connect', () => {
        clearTimeout(timer);
        connected = true;
        state.stick(clientIP, id, Date.now());
        // Handed over here, before Node's first read of the new connection (it starts right
        // after this handler unless the socket is paused, which handing over does).
        if (this.relay !== 'js' && this.#relayNatively(this.relay, client, upstream)) return;
        forward(client, upstream);
        upstream.once('end', () => client.end());
        client.resume();
        upstream.resume();
      });
      upstream.once('close', (hadError) => {
        clearTimeout(timer);
        this.#sockets.delete(upstream);
        state.closed(id);
        if (!connected) {
          state.forget(clientIP, id);
          this.#log.info('Failed to connect to endpoint, trying another', { service: state.info.name, endpoint: id }, 'proxysocket.go:114');
          dial();
        } else if (hadError) {
          client.destroy();
        }
      });
      client.once('close', (hadError) => {
        if (hadError || !connected) upstream.destroy();
      });
    };
    dial();
  }

  /**
   * Moves an established pair's bytes in the native relay; false when it could not take them (the
   * caller relays in JavaScript). Node's sockets are destroyed when the relay ends, which fires
   * the `close` handlers that count the connection down.
   */
  #relayNatively(kind: 'splice' | 'copy', client: net.Socket, upstream: net.Socket): boolean {
    const relay = startNativeRelay(kind, client, upstream, () => {
      this.#relays.delete(relay!);
      client.destroy();
      upstream.destroy();
    });
    if (!relay) return false;
    this.#relays.add(relay);
    // The client socket going away otherwise (the proxier closing) ends the relay too.
    client.once('close', () => relay.abort());
    return true;
  }

  #listenUdp(key: string, ip: string, port: number, target: Listener['target']): Promise<Listener> {
    const socket = dgram.createSocket({ type: 'udp4' });
    const sessions = new Map<string, UdpSession>();
    const listener: Listener = {
      key,
      target,
      close: () => {
        // Replies of open sessions would have no socket to leave by, so sessions end with the listener.
        for (const s of sessions.values()) s.upstream.close();
        sessions.clear();
        socket.close();
      },
    };
    const open = (client: dgram.RemoteInfo): UdpSession | undefined => {
      const clientKey = `${client.address}:${client.port}`;
      const state = this.#ports.get(listener.target.portKey);
      const ep = state?.choose(listener.target.kind, client.address, ip, new Set(), Date.now());
      if (!state || !ep) return undefined;
      const id = endpointString(ep);
      state.opened(id);
      state.stick(client.address, id, Date.now());
      const upstream = dgram.createSocket('udp4');
      const session: UdpSession = { upstream, endpoint: ep, idle: setTimeout(() => upstream.close(), this.#udpIdleMs) };
      this.#sockets.add(upstream);
      upstream.on('error', () => {});
      upstream.on('message', (reply, from) => {
        if (from.address !== ep.ip || from.port !== ep.port) return;
        session.idle.refresh();
        socket.send(reply, client.port, client.address);
      });
      upstream.once('close', () => {
        clearTimeout(session.idle);
        this.#sockets.delete(upstream);
        state.closed(id);
        if (sessions.get(clientKey) === session) sessions.delete(clientKey);
      });
      sessions.set(clientKey, session);
      return session;
    };
    socket.on('message', (msg, client) => {
      const session = sessions.get(`${client.address}:${client.port}`) ?? open(client);
      if (!session) return;
      session.idle.refresh();
      session.upstream.send(msg, session.endpoint.port, session.endpoint.ip);
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: ip, port, exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.#log.error('Listener failed', { address: key, err: err.message }, 'proxysocket.go:99'));
        resolve(listener);
      });
    });
  }
}

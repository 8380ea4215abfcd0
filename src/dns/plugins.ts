/**
 * The handler chain, after CoreDNS: each plugin gets the query and `next`, and either answers
 * or passes it on. Order: cache → kubernetes (cluster zone + reverse zones) → forward.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Answer as ResourceRecord } from 'dns-packet';
import packet from 'dns-packet';
import type { ClusterData } from './cluster-index.js';
import { answer, type KubernetesConfig, type Rcode } from './kubernetes.js';

/** A question as the chain sees it. */
export interface Query {
  /** As asked (case kept). */
  name: string;
  type: string;
  recursionDesired: boolean;
  dnssecOk: boolean;
  transport: 'udp' | 'tcp';
}

export interface Reply {
  rcode: Rcode;
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
  authoritative: boolean;
  /** Which plugin wrote it (the `plugin` label of coredns_dns_responses_total). */
  plugin: string;
  /**
   * Set when the reply depends only on the cluster data at this generation, so its encoding
   * may be reused until the data changes.
   */
  generation?: number;
}

export type Next = (query: Query) => Promise<Reply>;

/** A link of the chain: answer, or call `next`. */
export interface Plugin {
  readonly name: string;
  serve(query: Query, next: Next): Promise<Reply>;
}

const refused: Next = async () => ({ rcode: 'REFUSED', answers: [], authority: [], additional: [], authoritative: false, plugin: '' });

/** Composes plugins into one handler; a query nobody answers is REFUSED, as in CoreDNS. */
export function chain(plugins: readonly Plugin[]): Next {
  return plugins.reduceRight<Next>((next, plugin) => (query) => plugin.serve(query, next), refused);
}

/** Serves the cluster zone and the reverse zones from the cluster data. */
export class KubernetesPlugin implements Plugin {
  readonly name = 'kubernetes';
  constructor(
    private readonly data: ClusterData,
    private readonly config: KubernetesConfig,
  ) {}

  async serve(query: Query, next: Next): Promise<Reply> {
    const generation = this.data.generation;
    const a = answer(query, this.data, this.config);
    if (a.fallthrough) return next(query);
    const reply: Reply = { ...a, authoritative: true, plugin: this.name, generation };
    if (!a.chase) return reply;
    // The ExternalName target lives outside: resolve it through the rest of the chain.
    const upstream = await next({ ...query, name: a.chase.target, type: a.chase.type });
    return { ...reply, answers: [...a.answers, ...upstream.answers], generation: undefined };
  }
}

export interface CacheStats {
  cacheHits: { success: number; denial: number };
  cacheMisses: number;
}

/** Positive and negative answers of the plugins behind it, kept for their TTL (capped). */
export class CachePlugin implements Plugin {
  readonly name = 'cache';
  /** Hit and miss tallies; pass `DnsMetrics` here to export them. */
  readonly stats: CacheStats;
  private readonly entries = new Map<string, { reply: Reply; stored: number; expires: number }>();

  constructor(
    private readonly options: { capacity: number; maxTtl: number; now?: () => number; stats?: CacheStats } = {
      capacity: 10_000,
      maxTtl: 3600,
    },
  ) {
    this.stats = options.stats ?? { cacheHits: { success: 0, denial: 0 }, cacheMisses: 0 };
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  async serve(query: Query, next: Next): Promise<Reply> {
    const key = `${query.name.toLowerCase()}|${query.type}|${query.dnssecOk ? 1 : 0}`;
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) {
      const age = Math.floor((now - hit.stored) / 1000);
      this.stats.cacheHits[hit.reply.answers.length > 0 ? 'success' : 'denial']++;
      return aged(hit.reply, age);
    }
    if (hit) this.entries.delete(key);
    this.stats.cacheMisses++;
    const reply = await next(query);
    // Cluster answers are kept by the server's generation-checked cache instead, so they are never stale.
    if (reply.generation !== undefined) return reply;
    const ttl = cacheTtl(reply);
    if (ttl > 0) {
      if (this.entries.size >= this.options.capacity) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.set(key, { reply, stored: now, expires: now + Math.min(ttl, this.options.maxTtl) * 1000 });
    }
    return reply;
  }
}

function ttlOf(rr: ResourceRecord): number {
  return 'ttl' in rr && typeof rr.ttl === 'number' ? rr.ttl : 0;
}

/** How long a reply may be cached, in seconds. Positive: the smallest answer TTL; negative: the SOA's TTL and minimum (RFC 2308). */
export function cacheTtl(reply: Reply): number {
  if (reply.rcode !== 'NOERROR' && reply.rcode !== 'NXDOMAIN') return 0;
  if (reply.answers.length > 0) return Math.min(...reply.answers.map(ttlOf));
  const soa = reply.authority.find((rr) => rr.type === 'SOA');
  if (soa?.type !== 'SOA') return 0;
  return Math.min(ttlOf(soa), soa.data.minimum ?? 0);
}

function aged(reply: Reply, age: number): Reply {
  const dec = (rrs: ResourceRecord[]) =>
    rrs.map((rr) => (rr.type === 'OPT' ? rr : { ...rr, ttl: Math.max(0, ttlOf(rr) - age) }) as ResourceRecord);
  return { ...reply, answers: dec(reply.answers), authority: dec(reply.authority), additional: dec(reply.additional), plugin: 'cache' };
}

export interface Upstream {
  host: string;
  port: number;
}

/** The `nameserver` lines of a resolv.conf, as upstreams on port 53. */
export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && net.isIP(m[1].split('%')[0])) out.push({ host: m[1].split('%')[0], port: 53 });
  }
  return out;
}

/** `1.2.3.4`, `1.2.3.4:5353`, `[::1]:5353` → an upstream. */
export function parseUpstream(spec: string): Upstream {
  const v6 = /^\[(.+)\](?::(\d+))?$/.exec(spec);
  if (v6) return { host: v6[1], port: Number(v6[2] ?? 53) };
  if (net.isIPv6(spec)) return { host: spec, port: 53 };
  const [host, port] = spec.split(':');
  return { host, port: Number(port ?? 53) };
}

export interface ForwardOptions {
  upstreams?: Upstream[];
  /** Read upstreams from this resolv.conf when `upstreams` is not given. */
  resolvConf?: string;
  /** Our own listen addresses: forwarding there would loop, so those upstreams are refused. */
  self?: Upstream[];
  timeoutMs?: number;
}

function isLoop(up: Upstream, self: Upstream[]): boolean {
  const loopback = (h: string) => h.startsWith('127.') || h === '::1';
  const any = (h: string) => h === '0.0.0.0' || h === '::';
  return self.some((s) => s.port === up.port && (s.host === up.host || (any(s.host) && (loopback(up.host) || net.isIP(up.host) > 0))));
}

/** Everything outside the cluster zones goes to the node's resolvers: UDP first, TCP when truncated. */
export class ForwardPlugin implements Plugin {
  readonly name = 'forward';
  readonly upstreams: Upstream[];
  /** Upstreams dropped because they point back at this server. */
  readonly loops: Upstream[];
  private readonly timeoutMs: number;

  constructor(options: ForwardOptions) {
    const all = options.upstreams ?? parseResolvConf(readFileSync(options.resolvConf ?? '/etc/resolv.conf', 'utf8'));
    const self = options.self ?? [];
    this.loops = all.filter((u) => isLoop(u, self));
    this.upstreams = all.filter((u) => !isLoop(u, self));
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  async serve(query: Query): Promise<Reply> {
    for (const up of this.upstreams) {
      try {
        let res = await exchangeUdp(up, query, this.timeoutMs);
        if (res.flag_tc) res = await exchangeTcp(up, query, this.timeoutMs);
        return {
          rcode: ((res as { rcode?: Rcode }).rcode ?? 'SERVFAIL') as Rcode,
          answers: res.answers ?? [],
          authority: res.authorities ?? [],
          additional: (res.additionals ?? []).filter((rr) => rr.type !== 'OPT'),
          authoritative: false,
          plugin: this.name,
        };
      } catch {
        // Try the next upstream.
      }
    }
    return { rcode: 'SERVFAIL', answers: [], authority: [], additional: [], authoritative: false, plugin: this.name };
  }
}

function upstreamQuery(query: Query): { id: number; buf: Buffer } {
  const id = Math.floor(Math.random() * 65536);
  const buf = packet.encode({
    type: 'query',
    id,
    flags: query.recursionDesired ? packet.RECURSION_DESIRED : 0,
    questions: [{ name: query.name, type: query.type as packet.RecordType, class: 'IN' }],
    additionals: [
      { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: query.dnssecOk ? packet.DNSSEC_OK : 0 } as unknown as packet.Answer,
    ],
  });
  return { id, buf };
}

function matches(res: packet.DecodedPacket, id: number, query: Query): boolean {
  const q = res.questions?.[0];
  return (
    res.id === id && res.type === 'response' && q !== undefined && q.name.toLowerCase() === query.name.replace(/\.$/, '').toLowerCase()
  );
}

function exchangeUdp(up: Upstream, query: Query, timeoutMs: number): Promise<packet.DecodedPacket> {
  const { id, buf } = upstreamQuery(query);
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(up.host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new Error('upstream timeout')), timeoutMs);
    const finish = (err: Error | null, res?: packet.DecodedPacket) => {
      clearTimeout(timer);
      socket.close();
      if (err || !res) reject(err);
      else resolve(res);
    };
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg) => {
      try {
        const res = packet.decode(msg);
        if (matches(res, id, query)) finish(null, res);
      } catch {
        // A garbled datagram: keep waiting for the real answer.
      }
    });
    socket.send(buf, up.port, up.host);
  });
}

function exchangeTcp(up: Upstream, query: Query, timeoutMs: number): Promise<packet.DecodedPacket> {
  const { id, buf } = upstreamQuery(query);
  return new Promise((resolve, reject) => {
    const socket = net.connect(up.port, up.host);
    let data = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('upstream timeout')));
    socket.on('error', reject);
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(buf.length);
      socket.write(Buffer.concat([len, buf]));
    });
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 2 || data.length < 2 + data.readUInt16BE(0)) return;
      socket.end();
      try {
        const res = packet.decode(data.subarray(2, 2 + data.readUInt16BE(0)));
        if (matches(res, id, query)) resolve(res);
        else reject(new Error('mismatched upstream answer'));
      } catch (err) {
        reject(err);
      }
    });
    socket.on('close', () => reject(new Error('upstream closed')));
  });
}

/**
 * UDP and TCP front of the DNS server. Plain queries whose answer depends only on the cluster
 * data are answered from a cache of fully encoded responses, keyed by the lower-cased
 * question bytes and the client's EDNS shape; a hit copies the bytes and patches the ID, the
 * RD/CD bits and the question's case. Any change to the cluster data (its generation) empties
 * that cache. Everything else is decoded by dns-packet and goes through the plugin chain.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import packet from 'dns-packet';
import type { ClusterData } from './cluster-index.js';
import type { DnsMetrics } from './metrics.js';
import { typeLabel } from './metrics.js';
import type { Next, Reply } from './plugins.js';
import { encodeResponse, RCODES, type ResponseMessage, type ScannedQuery, scanQuery } from './wire.js';

export interface DnsServerOptions {
  host: string;
  port: number;
  handler: Next;
  data: ClusterData;
  metrics?: DnsMetrics;
}

const MAX_WIRE_CACHE = 50_000;
const TCP_IDLE_MS = 10_000;

export class DnsServer {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly wireCache = new Map<string, Buffer>();
  private wireGeneration = -1;
  private readonly scan: ScannedQuery = {
    questionEnd: 0,
    type: 0,
    qclass: 0,
    hasOpt: false,
    udpSize: 512,
    dnssecOk: false,
    key: Buffer.alloc(300),
    keyLength: 0,
  };

  constructor(private readonly options: DnsServerOptions) {}

  /** Binds UDP and TCP on the same port (port 0 picks a free one for both). */
  async listen(): Promise<void> {
    const { host } = this.options;
    for (let attempt = 0; ; attempt++) {
      // Replies go to the literal address the query came from: skip dgram's async lookup step.
      const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', lookup: literalLookup });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.options.port, host, () => resolve());
      });
      const port = udp.address().port;
      const tcp = net.createServer((socket) => this.serveTcp(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, host, () => resolve());
        });
      } catch (err) {
        udp.close();
        if (this.options.port !== 0 || attempt > 10) throw err;
        continue;
      }
      udp.on('error', () => {});
      udp.on('message', (msg, rinfo) => this.serveUdp(udp, msg, rinfo));
      this.udp = udp;
      this.tcp = tcp;
      return;
    }
  }

  address(): { host: string; port: number } {
    const a = this.udp?.address();
    return { host: a?.address ?? this.options.host, port: a?.port ?? 0 };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
  }

  private serveUdp(udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo) {
    const family = rinfo.family === 'IPv6' ? 2 : 1;
    let out: Buffer | null | Promise<Buffer | null>;
    try {
      out = this.respond(msg, 'udp', family);
    } catch {
      return;
    }
    if (out === null) return;
    if (out instanceof Promise) {
      out.then(
        (b) => b && udp.send(b, rinfo.port, rinfo.address),
        () => {},
      );
    } else udp.send(out, rinfo.port, rinfo.address);
  }

  private serveTcp(socket: net.Socket) {
    this.sockets.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    const family = socket.remoteFamily === 'IPv6' ? 2 : 1;
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const send = (b: Buffer | null) => {
          if (!b) return;
          const framed = Buffer.allocUnsafe(b.length + 2);
          framed.writeUInt16BE(b.length, 0);
          b.copy(framed, 2);
          if (!socket.destroyed) socket.write(framed);
        };
        try {
          const out = this.respond(msg, 'tcp', family);
          if (out instanceof Promise) out.then(send, () => {});
          else send(out);
        } catch {
          socket.destroy();
          return;
        }
      }
    });
  }

  /** Answers one message: bytes now (fast path), bytes later (chain), or null to stay silent. */
  respond(msg: Buffer, transport: 'udp' | 'tcp', family: 1 | 2 = 1): Buffer | null | Promise<Buffer | null> {
    if (msg.length < 12) return null;
    const started = performance.now();
    const scan = this.scan;
    let key: string | undefined;
    if (scanQuery(msg, scan)) {
      const nameEnd = scan.questionEnd - 4;
      // The key ends with the client's shape: transport, OPT or not, UDP size, DO bit.
      const k = scan.key;
      let n = scan.keyLength;
      k[n++] = transport === 'tcp' ? 0x74 : scan.hasOpt ? (scan.dnssecOk ? 0x64 : 0x75) : 0x6e;
      k[n++] = scan.udpSize >> 8;
      k[n++] = scan.udpSize & 0xff;
      key = k.toString('latin1', 0, n);
      const generation = this.options.data.generation;
      if (this.wireGeneration !== generation) {
        this.wireCache.clear();
        this.wireGeneration = generation;
      }
      const cached = this.wireCache.get(key);
      if (cached) {
        const out = Buffer.allocUnsafe(cached.length);
        cached.copy(out);
        out[0] = msg[0];
        out[1] = msg[1];
        out[2] = (cached[2] & 0xfe) | (msg[2] & 0x01);
        out[3] = (cached[3] & 0xef) | (msg[3] & 0x10);
        msg.copy(out, 12, 12, nameEnd);
        if (this.options.metrics) {
          this.options.metrics.cacheHits[(out[3] & 0xf) === 0 && out.readUInt16BE(6) > 0 ? 'success' : 'denial']++;
          this.options.metrics.observe(
            transport,
            family,
            typeLabel(scan.type),
            rcodeName(out[3] & 0xf),
            'cache',
            (performance.now() - started) / 1000,
          );
        }
        return out;
      }
    }
    return this.slowPath(msg, transport, family, started, key, scan.type);
  }

  private async slowPath(
    msg: Buffer,
    transport: 'udp' | 'tcp',
    family: 1 | 2,
    started: number,
    key: string | undefined,
    scannedType: number,
  ): Promise<Buffer | null> {
    // Never answer a response: that is how reflection loops start.
    if (msg[2] & 0x80) return null;
    let decoded: packet.DecodedPacket;
    try {
      decoded = packet.decode(msg);
    } catch {
      return this.finish(bare(msg, RCODES.FORMERR), transport, family, 'other', 'FORMERR', '', started);
    }
    const opcode = (msg[2] >> 3) & 0xf;
    const rawOpt = decoded.additionals?.find((rr) => rr.type === 'OPT');
    const opt = rawOpt as { udpPayloadSize?: number; flag_do?: boolean; ednsVersion?: number } | undefined;
    const edns = opt ? { udpSize: Math.max(512, opt.udpPayloadSize ?? 512), dnssecOk: opt.flag_do === true } : undefined;
    const q = decoded.questions?.[0];
    const base = {
      id: decoded.id ?? 0,
      opcode,
      authoritative: false,
      recursionDesired: (msg[2] & 0x01) !== 0,
      recursionAvailable: true,
      checkingDisabled: (msg[3] & 0x10) !== 0,
      answers: [],
      authority: [],
      additional: [],
      edns,
    };
    const max = transport === 'tcp' ? 65535 : (edns?.udpSize ?? 512);
    if (opcode !== 0)
      return this.finish(encodeResponse({ ...base, rcode: RCODES.NOTIMP }, max), transport, family, 'other', 'NOTIMP', '', started);
    if (decoded.questions?.length !== 1 || !q)
      return this.finish(encodeResponse({ ...base, rcode: RCODES.FORMERR }, max), transport, family, 'other', 'FORMERR', '', started);
    const question = { name: q.name, ...rawTypeClass(msg) };
    const type = typeLabel(question.type);
    if (opt && (opt.ednsVersion ?? 0) !== 0) {
      return this.finish(
        encodeResponse({ ...base, question, rcode: RCODES.BADVERS }, max),
        transport,
        family,
        type,
        'BADVERS',
        '',
        started,
      );
    }
    let reply: Reply;
    if (question.class !== 1) {
      reply = { rcode: 'REFUSED', answers: [], authority: [], additional: [], authoritative: false, plugin: '' };
    } else {
      try {
        reply = await this.options.handler({
          name: q.name,
          type: q.type,
          recursionDesired: base.recursionDesired,
          dnssecOk: edns?.dnssecOk ?? false,
          transport,
        });
      } catch {
        reply = { rcode: 'SERVFAIL', answers: [], authority: [], additional: [], authoritative: false, plugin: '' };
      }
    }
    const response: ResponseMessage = {
      ...base,
      rcode: RCODES[reply.rcode],
      authoritative: reply.authoritative,
      question,
      answers: reply.answers,
      authority: reply.authority,
      additional: reply.additional,
    };
    let out: Buffer;
    try {
      out = encodeResponse(response, max);
    } catch {
      out = encodeResponse({ ...base, question, rcode: RCODES.SERVFAIL }, max);
      reply = { ...reply, rcode: 'SERVFAIL', generation: undefined };
    }
    if (
      key !== undefined &&
      scannedType === question.type &&
      reply.generation !== undefined &&
      reply.generation === this.options.data.generation
    ) {
      if (this.wireCache.size >= MAX_WIRE_CACHE) this.wireCache.clear();
      this.wireCache.set(key, out);
    }
    return this.finish(out, transport, family, type, reply.rcode, reply.plugin, started);
  }

  private finish(
    out: Buffer,
    transport: 'udp' | 'tcp',
    family: 1 | 2,
    type: string,
    rcode: string,
    plugin: string,
    started: number,
  ): Buffer {
    this.options.metrics?.observe(transport, family, type, rcode, plugin, (performance.now() - started) / 1000);
    return out;
  }
}

function literalLookup(address: string, _options: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  callback(null, address, net.isIPv6(address) ? 6 : 4);
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? String(rcode);
}

/** A header-only reply (FORMERR for what we cannot parse), keeping the ID and opcode. */
function bare(msg: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out[0] = msg[0];
  out[1] = msg[1];
  out[2] = 0x80 | (msg[2] & 0x79);
  out[3] = rcode;
  return out;
}

/** QTYPE and QCLASS as numbers, read from the bytes after the first question's name. */
function rawTypeClass(msg: Buffer): { type: number; class: number } {
  let off = 12;
  for (;;) {
    const l = msg[off];
    if (l === 0) {
      off++;
      break;
    }
    if ((l & 0xc0) === 0xc0) {
      off += 2;
      break;
    }
    off += l + 1;
  }
  return { type: msg.readUInt16BE(off), class: msg.readUInt16BE(off + 2) };
}

/**
 * UDP and TCP front of the DNS server. Answers are encoded once and replayed: a query whose
 * lower-cased question and EDNS shape match a stored answer gets those bytes with its ID, RD/CD
 * bits and question spelling patched in. Cluster answers stay valid while the cluster data keeps
 * its generation; forwarded answers until their TTL runs out, with TTLs lowered as they age (as
 * CoreDNS's cache does). Everything else is decoded by dns-packet and goes through the plugin chain.
 *
 * UDP goes through the native batch path (native/udp-batch: recvmmsg/sendmmsg, one JavaScript
 * call per batch of datagrams) when the addon is built, else through node:dgram.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import packet from 'dns-packet';
import type { ClusterData } from './cluster-index.js';
import { type DnsMetrics, typeLabel, typeSlot } from './metrics.js';
import { cacheTtl, type Next, type Reply } from './plugins.js';
import { BatchUdpSocket, type BatchUdpStats, batchUdpAvailable, SLOTS, type UdpBatch } from './udp-batch.js';
import { encodeResponse, encodeTruncated, RCODES, type ResponseMessage, type ScannedQuery, scanQuery } from './wire.js';

export interface DnsServerOptions {
  host: string;
  port: number;
  handler: Next;
  data: ClusterData;
  metrics?: DnsMetrics;
  /** Encoded answers kept for replay; default 50,000 (the oldest goes first). */
  answerCacheSize?: number;
  /** Upper bound (seconds) on how long a forwarded answer is replayed; default 3600. */
  maxForwardTtl?: number;
  /** Monotonic milliseconds; tests inject a clock to age forwarded answers. */
  now?: () => number;
  /**
   * How UDP is read and written: `batch` (native recvmmsg/sendmmsg; fails if the addon is not
   * built), `dgram` (node:dgram), or `auto` (batch when available). Default: the environment's
   * SVCNET_DNS_UDP, else `auto`.
   */
  udp?: UdpMode;
}

export type UdpMode = 'auto' | 'batch' | 'dgram';

/** Which UDP path a server uses, and why not the batch one when it does not. */
export interface UdpPath {
  path: 'batch' | 'dgram';
  reason?: string;
}

/** The UDP path `mode` resolves to on this machine. */
export function chooseUdpPath(mode: UdpMode = udpModeFromEnv()): UdpPath {
  if (mode === 'dgram') return { path: 'dgram', reason: 'asked for (SVCNET_DNS_UDP=dgram)' };
  const available = batchUdpAvailable();
  if (available.ok) return { path: 'batch' };
  if (mode === 'batch') throw new Error(`batched UDP asked for but unavailable: ${available.reason}`);
  return { path: 'dgram', reason: available.reason };
}

function udpModeFromEnv(): UdpMode {
  const v = process.env.SVCNET_DNS_UDP;
  return v === 'batch' || v === 'dgram' ? v : 'auto';
}

/** One line for the log: which UDP path is in use. */
export function describeUdpPath(p: UdpPath): string {
  return p.path === 'batch'
    ? `UDP via native recvmmsg/sendmmsg, up to ${SLOTS} datagrams per batch (native/udp-batch)`
    : `UDP via node:dgram${p.reason ? ` (${p.reason})` : ''}`;
}

const TCP_IDLE_MS = 10_000;
/** Classic DNS's UDP limit: answers longer than this also get a truncated form stored. */
const CLASSIC_UDP_SIZE = 512;
const noop = () => {};

/** An encoded answer to one question asked with one EDNS shape. */
interface StoredAnswer {
  /** Lower-cased question name, QTYPE, QCLASS, then the EDNS shape byte: confirms a hash match. */
  key: Uint8Array;
  full: Buffer;
  /** Header, question and OPT with TC set, for UDP clients whose buffer `full` exceeds. */
  truncated: Buffer | undefined;
  /** Cluster answers: the data generation they were computed at; -1 for forwarded answers. */
  generation: number;
  /** Forwarded answers: clock time they expire (Infinity for cluster answers). */
  expires: number;
  stored: number;
  /** Where the TTLs sit in `full`, and their values when stored (forwarded answers only). */
  ttlOffsets: number[];
  ttls: number[];
  /** Whole seconds the TTLs in `full` currently have been lowered by. */
  aged: number;
  typeSlot: number;
  responseSlot: number;
  positive: boolean;
}

/** FNV-1a over the first `n` bytes. */
function hashBytes(bytes: Uint8Array, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h;
}

/** Lowers the TTLs of a stored forwarded answer to what they are `age` seconds after it was stored. */
function ageAnswer(entry: StoredAnswer, age: number): void {
  const { full, ttlOffsets, ttls } = entry;
  for (let i = 0; i < ttlOffsets.length; i++) full.writeUInt32BE(Math.max(0, ttls[i] - age), ttlOffsets[i]);
  entry.aged = age;
}

export class DnsServer {
  private udp?: dgram.Socket;
  private batchUdp?: BatchUdpSocket;
  /** 1 for an IPv4 socket, 2 for IPv6 (the metrics' `family`: v4-mapped peers count as IPv6). */
  private family: 1 | 2 = 1;
  /** The UDP path chosen; set by `listen`. */
  udpPath: UdpPath = { path: 'dgram' };
  private tcp?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly answers = new Map<number, StoredAnswer>();
  private readonly capacity: number;
  private readonly maxForwardTtl: number;
  private readonly now: () => number;
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
  /** Set by `replay`: whether `scan` holds the current query, and its key's hash. */
  private scanned = false;
  private scanHash = 0;
  /** The stored answer the last replay handed out (its own bytes, patched in place). */
  private replayed: StoredAnswer | undefined;

  constructor(private readonly options: DnsServerOptions) {
    this.capacity = options.answerCacheSize ?? 50_000;
    this.maxForwardTtl = options.maxForwardTtl ?? 3600;
    this.now = options.now ?? performance.now.bind(performance);
  }

  /** Binds UDP and TCP on the same port (port 0 picks a free one for both). */
  async listen(): Promise<void> {
    const { host } = this.options;
    const family = net.isIPv6(host) ? 6 : 4;
    this.family = family === 6 ? 2 : 1;
    this.udpPath = chooseUdpPath(this.options.udp);
    if (this.udpPath.path === 'batch') return this.listenBatch(host);
    for (let attempt = 0; ; attempt++) {
      // Replies go to the literal address the query came from: skip dgram's async lookup step.
      const udp = dgram.createSocket({
        type: family === 6 ? 'udp6' : 'udp4',
        lookup: (address: string, _options: unknown, callback: (err: Error | null, address: string, family: number) => void) =>
          callback(null, address, family),
      });
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
      udp.on('error', noop);
      udp.on('message', (msg, rinfo) => this.serveUdp(udp, msg, rinfo));
      this.udp = udp;
      this.tcp = tcp;
      return;
    }
  }

  private async listenBatch(host: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const udp: BatchUdpSocket = new BatchUdpSocket(host, this.options.port, (batch, count) => this.serveBatch(udp, batch, count));
      const tcp = net.createServer((socket) => this.serveTcp(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(udp.port, host, () => resolve());
        });
      } catch (err) {
        udp.close();
        if (this.options.port !== 0 || attempt > 10) throw err;
        continue;
      }
      this.batchUdp = udp;
      this.tcp = tcp;
      return;
    }
  }

  /** Counters of the batch path (undefined on the dgram path). */
  batchStats(): BatchUdpStats | undefined {
    return this.batchUdp?.stats();
  }

  address(): { host: string; port: number } {
    if (this.batchUdp) return { host: this.options.host, port: this.batchUdp.port };
    const a = this.udp?.address();
    return { host: a?.address ?? this.options.host, port: a?.port ?? 0 };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.batchUdp?.close();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
  }

  private serveUdp(udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo) {
    this.replayed = undefined;
    const out = this.respond(msg, 'udp', rinfo.family === 'IPv6' ? 2 : 1);
    if (out === null) return;
    // The (msg, port, address) form: the (msg, offset, length, …) one slices a new Buffer per send.
    if (out instanceof Promise) {
      out.then((b) => b && udp.send(b, rinfo.port, rinfo.address), noop);
      return;
    }
    udp.send(out, rinfo.port, rinfo.address);
    // Normally the kernel took the bytes already. If the send was queued instead, the queue holds
    // the stored answer's own buffer: give the entry a fresh copy so the next replay cannot patch
    // bytes still waiting to go out.
    const entry = this.replayed as StoredAnswer | undefined;
    if (entry !== undefined && udp.getSendQueueCount() > 0) {
      if (out === entry.full) entry.full = Buffer.from(out);
      else entry.truncated = Buffer.from(out);
    }
  }

  /**
   * Answers one batch: replayed answers are copied into the batch's reply buffer and leave in one
   * sendmmsg after this returns; answers that need the chain go out on their own when ready.
   */
  private serveBatch(udp: BatchUdpSocket, batch: UdpBatch, count: number) {
    const family = this.family;
    for (let i = 0; i < count; i++) {
      const msg = batch.message(i);
      if (msg === undefined) continue;
      // `msg` is a view of the batch buffer, reused by the next batch: the chain reads it only
      // before its first await.
      const out = this.respond(msg, 'udp', family);
      if (out === null) continue;
      if (out instanceof Promise) {
        const peer = batch.peer(i);
        out.then((b) => b && udp.sendTo(b, peer), noop);
        continue;
      }
      batch.reply(i, out);
    }
  }

  private serveTcp(socket: net.Socket) {
    this.sockets.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    const family = socket.remoteFamily === 'IPv6' ? 2 : 1;
    const send = (b: Buffer | null) => {
      if (!b || socket.destroyed) return;
      const framed = Buffer.allocUnsafe(b.length + 2);
      framed.writeUInt16BE(b.length, 0);
      framed.set(b, 2);
      socket.write(framed);
    };
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const out = this.respond(msg, 'tcp', family);
        if (out instanceof Promise) out.then(send, () => socket.destroy());
        else send(out);
      }
    });
  }

  /**
   * Answers one message: bytes now (a stored answer), bytes later (the chain), or null to stay
   * silent. Bytes returned at once belong to the answer store: use them before the next call.
   */
  respond(msg: Buffer, transport: 'udp' | 'tcp', family: 1 | 2 = 1): Buffer | null | Promise<Buffer | null> {
    if (msg.length < 12) return null;
    const started = this.now();
    const out = this.replay(msg, transport, family, started);
    if (out !== undefined) return out;
    const key = this.scanned ? this.scan.key.subarray(0, this.scan.keyLength + 1) : undefined;
    // Copied: `scan` is reused by the next query while this one awaits the chain.
    return this.slowPath(msg, transport, family, started, key && new Uint8Array(key), this.scanHash, this.scan.type);
  }

  /** The stored answer for this query, patched for it; undefined when there is none (or it is stale). */
  private replay(msg: Buffer, transport: 'udp' | 'tcp', family: 1 | 2, started: number): Buffer | undefined {
    const scan = this.scan;
    this.scanned = scanQuery(msg, scan);
    if (!this.scanned) return undefined;
    // The key ends with the client's EDNS shape: no OPT, OPT, OPT with DO.
    const key = scan.key;
    const n = scan.keyLength;
    key[n] = scan.hasOpt ? (scan.dnssecOk ? 3 : 2) : 1;
    const hash = hashBytes(key, n + 1);
    this.scanHash = hash;
    const entry = this.answers.get(hash);
    if (entry === undefined) return undefined;
    const stored = entry.key;
    if (stored.length !== n + 1) return undefined;
    for (let i = 0; i <= n; i++) if (stored[i] !== key[i]) return undefined;
    if (entry.generation >= 0) {
      if (entry.generation !== this.options.data.generation) return undefined;
    } else {
      if (started >= entry.expires) {
        this.answers.delete(hash);
        return undefined;
      }
      const age = Math.floor((started - entry.stored) / 1000);
      if (age !== entry.aged) ageAnswer(entry, age);
    }
    // Patched in place, not copied: ID, RD, CD and the question's spelling are rewritten on
    // every replay, so the stored bytes need not stay pristine.
    const out = transport === 'udp' && entry.full.length > scan.udpSize && entry.truncated ? entry.truncated : entry.full;
    out[0] = msg[0];
    out[1] = msg[1];
    out[2] = (out[2] & 0xfe) | (msg[2] & 0x01);
    out[3] = (out[3] & 0xef) | (msg[3] & 0x10);
    const nameEnd = scan.questionEnd - 4;
    for (let i = 12; i < nameEnd; i++) out[i] = msg[i];
    this.replayed = entry;
    const metrics = this.options.metrics;
    if (metrics !== undefined) {
      if (entry.positive) metrics.cacheHits.success++;
      else metrics.cacheHits.denial++;
      metrics.count(
        metrics.requestBase(transport, family) + entry.typeSlot,
        entry.responseSlot,
        entry.typeSlot,
        (this.now() - started) / 1000,
      );
    }
    return out;
  }

  /** Keeps an answer for replay, evicting the oldest when full. */
  private store(key: Uint8Array, hash: number, entry: Omit<StoredAnswer, 'key'>): void {
    if (!this.answers.has(hash) && this.answers.size >= this.capacity) {
      const oldest = this.answers.keys().next().value;
      if (oldest !== undefined) this.answers.delete(oldest);
    }
    this.answers.delete(hash);
    this.answers.set(hash, { key, ...entry });
  }

  private async slowPath(
    msg: Buffer,
    transport: 'udp' | 'tcp',
    family: 1 | 2,
    started: number,
    key: Uint8Array | undefined,
    hash: number,
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
    // Cluster answers are replayed while the data stands still; forwarded ones for their TTL.
    const storable = key !== undefined && scannedType === question.type;
    const cluster = reply.generation !== undefined && reply.generation === this.options.data.generation;
    const forwardTtl =
      reply.generation === undefined && (reply.plugin === 'forward' || reply.plugin === 'cache')
        ? Math.min(cacheTtl(reply), this.maxForwardTtl)
        : 0;
    const ttlOffsets: number[] = [];
    let out: Buffer;
    try {
      out = encodeResponse(response, storable && (cluster || forwardTtl > 0) ? 65535 : max, ttlOffsets);
    } catch {
      out = encodeResponse({ ...base, question, rcode: RCODES.SERVFAIL }, max);
      reply = { ...reply, rcode: 'SERVFAIL', generation: undefined };
      return this.finish(out, transport, family, type, reply.rcode, reply.plugin, started);
    }
    if (storable && (cluster || forwardTtl > 0)) {
      const full = out;
      const truncated = full.length > CLASSIC_UDP_SIZE ? encodeTruncated(response) : undefined;
      const now = this.now();
      const metrics = this.options.metrics;
      this.store(key, hash, {
        full,
        truncated,
        generation: cluster ? (reply.generation as number) : -1,
        expires: cluster ? Number.POSITIVE_INFINITY : now + forwardTtl * 1000,
        stored: now,
        ttlOffsets: cluster ? [] : ttlOffsets,
        ttls: cluster ? [] : ttlOffsets.map((off) => full.readUInt32BE(off)),
        aged: 0,
        typeSlot: typeSlot(question.type),
        responseSlot: metrics ? metrics.responseSlot(reply.rcode, 'cache') : 0,
        positive: reply.rcode === 'NOERROR' && reply.answers.length > 0,
      });
      // A copy: the stored bytes get patched by later replays, maybe before this one is sent.
      out = Buffer.from(full.length > max && truncated ? truncated : full);
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
    this.options.metrics?.observe(transport, family, type, rcode, plugin, (this.now() - started) / 1000);
    return out;
  }
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

/**
 * DNS wire format for responses, with name compression (RFC 1035 §4.1.4), which dns-packet
 * does not do on encode, and with truncation to the client's UDP size (TC bit). Queries are
 * decoded by dns-packet; `scanQuery` reads the common one-question query without allocating
 * objects, for the server's fast path.
 */
import { isIPv4 } from 'node:net';
import type { Answer as ResourceRecord } from 'dns-packet';
import packet from 'dns-packet';
import type { Rcode } from './kubernetes.js';

/** dns-packet's single-record codec (exported at runtime, missing from its type definitions). */
const answerCodec = (packet as unknown as { answer: { encode(rr: ResourceRecord): Buffer } }).answer;

export const RCODES: Record<Rcode | 'BADVERS', number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
};

const TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41 };

/** Everything needed to write a response. */
export interface ResponseMessage {
  id: number;
  opcode: number;
  rcode: number;
  authoritative: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  checkingDisabled: boolean;
  /** The question exactly as asked (case kept): its bytes are echoed. */
  question?: { name: string; type: number; class: number };
  answers: readonly ResourceRecord[];
  authority: readonly ResourceRecord[];
  additional: readonly ResourceRecord[];
  /** Present when the client sent OPT: we answer with our own OPT. */
  edns?: { udpSize: number; dnssecOk: boolean };
}

/** Our advertised EDNS buffer size (the DNS Flag Day 2020 value). */
export const SERVER_UDP_SIZE = 1232;

class Writer {
  buf: Buffer;
  off = 0;
  private readonly names = new Map<string, number>();
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number) {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }
  u8(v: number) {
    this.ensure(1);
    this.buf[this.off++] = v;
  }
  u16(v: number) {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.off);
    this.off += 2;
  }
  u32(v: number) {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.off);
    this.off += 4;
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
  }
  /** Writes a name, pointing at an earlier copy of its longest known suffix when `compress`. */
  name(name: string, compress = true) {
    const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
    const labels = trimmed === '' ? [] : trimmed.split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = this.names.get(suffix);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.off < 0x3fff && at === undefined) this.names.set(suffix, this.off);
      const label = Buffer.from(labels[i], 'latin1');
      if (label.length === 0 || label.length > 63) throw new RangeError(`bad label in ${name}`);
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }
}

function ipv6Bytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let s = ip;
  let tail4: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (isIPv4(s.slice(lastColon + 1))) {
    tail4 = s
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  if (tail4.length) out.set(tail4, 12);
  return out;
}

/** Offset of the TTL field in an encoded record starting at `at` (after its uncompressed owner name). */
function ttlOffset(buf: Buffer, at: number): number {
  let off = at;
  while (buf[off] !== 0) off += buf[off] + 1;
  return off + 1 + 4;
}

function record(w: Writer, rr: ResourceRecord, ttlOffsets: number[] | undefined) {
  const type = TYPES[rr.type];
  if (type === undefined || rr.type === 'OPT') {
    // Types we never produce ourselves (forwarded answers): dns-packet writes them uncompressed.
    const at = w.off;
    w.bytes(answerCodec.encode(rr));
    if (ttlOffsets && rr.type !== 'OPT') ttlOffsets.push(ttlOffset(w.buf, at));
    return;
  }
  const r = rr as { name: string; ttl?: number; class?: string; data: unknown };
  w.name(r.name);
  w.u16(type);
  w.u16(r.class === 'CH' ? 3 : 1);
  ttlOffsets?.push(w.off);
  w.u32(r.ttl ?? 0);
  const lenAt = w.off;
  w.u16(0);
  // biome-ignore lint/suspicious/noExplicitAny: rdata shape depends on type
  const d = r.data as any;
  switch (rr.type) {
    case 'A':
      for (const o of String(d).split('.')) w.u8(Number(o));
      break;
    case 'AAAA':
      w.bytes(ipv6Bytes(String(d)));
      break;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      w.name(String(d));
      break;
    case 'SRV':
      w.u16(d.priority ?? 0);
      w.u16(d.weight ?? 0);
      w.u16(d.port);
      // RFC 2782: the target is not compressed.
      w.name(d.target, false);
      break;
    case 'SOA':
      w.name(d.mname);
      w.name(d.rname);
      w.u32(d.serial);
      w.u32(d.refresh);
      w.u32(d.retry);
      w.u32(d.expire);
      w.u32(d.minimum);
      break;
    case 'TXT':
      for (const part of Array.isArray(d) ? d : [d]) {
        const b = Buffer.isBuffer(part) ? part : Buffer.from(String(part));
        w.u8(b.length);
        w.bytes(b);
      }
      break;
  }
  w.buf.writeUInt16BE(w.off - lenAt - 2, lenAt);
}

function header(w: Writer, m: ResponseMessage, counts: [number, number, number, number], truncated: boolean) {
  w.u16(m.id);
  let flags = 0x8000 | ((m.opcode & 0xf) << 11) | (m.rcode & 0xf);
  if (m.authoritative) flags |= 0x0400;
  if (truncated) flags |= 0x0200;
  if (m.recursionDesired) flags |= 0x0100;
  if (m.recursionAvailable) flags |= 0x0080;
  if (m.checkingDisabled) flags |= 0x0010;
  w.u16(flags);
  for (const c of counts) w.u16(c);
}

function opt(w: Writer, m: ResponseMessage) {
  if (!m.edns) return;
  w.u8(0);
  w.u16(41);
  w.u16(SERVER_UDP_SIZE);
  w.u8(m.rcode >> 4);
  w.u8(0);
  w.u16(m.edns.dnssecOk ? 0x8000 : 0);
  w.u16(0);
}

/**
 * Encodes a response no longer than `maxSize`. When the full answer does not fit, sends the
 * header, question and OPT with TC set and no records, so the client retries over TCP.
 * `ttlOffsets`, when given, receives where each record's TTL was written (in the full form),
 * so a cache can age the encoded answer in place.
 */
export function encodeResponse(m: ResponseMessage, maxSize: number, ttlOffsets?: number[]): Buffer {
  const full = write(m, false, ttlOffsets);
  if (full.length <= maxSize) return full;
  if (ttlOffsets) ttlOffsets.length = 0;
  return write(m, true);
}

/** The truncated form of a response: header, question and OPT, with TC set. */
export function encodeTruncated(m: ResponseMessage): Buffer {
  return write(m, true);
}

function write(m: ResponseMessage, truncated: boolean, ttlOffsets?: number[]): Buffer {
  const w = new Writer(512);
  const sections = truncated ? [[], [], []] : [m.answers, m.authority, m.additional];
  header(w, m, [m.question ? 1 : 0, sections[0].length, sections[1].length, sections[2].length + (m.edns ? 1 : 0)], truncated);
  if (m.question) {
    w.name(m.question.name);
    w.u16(m.question.type);
    w.u16(m.question.class);
  }
  for (const section of sections) for (const rr of section) record(w, rr, ttlOffsets);
  opt(w, m);
  return Buffer.from(w.buf.subarray(0, w.off));
}

/** What `scanQuery` found in a plain query. */
export interface ScannedQuery {
  /** Offset just past the question's QTYPE and QCLASS. */
  questionEnd: number;
  type: number;
  qclass: number;
  hasOpt: boolean;
  udpSize: number;
  dnssecOk: boolean;
  /** Scratch space: the lower-cased question name, then QTYPE and QCLASS (`keyLength` bytes). */
  key: Buffer;
  keyLength: number;
}

/**
 * Reads a standard query with one question and at most one OPT record, without allocating
 * beyond the result object. Returns undefined for anything else (the slow path decodes it).
 */
export function scanQuery(buf: Buffer, out: ScannedQuery): boolean {
  // Plain byte reads: this runs for every query, and readUInt16BE's checks show in profiles.
  const len = buf.length;
  if (len < 17) return false;
  // QR must be 0, opcode QUERY; one question, no answers or authority, at most one additional.
  if ((buf[2] & 0xf8) !== 0 || buf[4] !== 0 || buf[5] !== 1 || buf[6] !== 0 || buf[7] !== 0 || buf[8] !== 0 || buf[9] !== 0) return false;
  if (buf[10] !== 0 || buf[11] > 1) return false;
  const arcount = buf[11];
  let off = 12;
  let nameLen = 0;
  for (;;) {
    if (off >= len) return false;
    const l = buf[off];
    if (l === 0) {
      off++;
      break;
    }
    if (l > 63) return false;
    nameLen += l + 1;
    if (nameLen > 254 || off + 1 + l > len) return false;
    const key = out.key;
    key[nameLen - l - 1] = l;
    for (let i = 1; i <= l; i++) {
      const c = buf[off + i];
      if (c >= 0x80 || c === 0x2e) return false;
      key[nameLen - l - 1 + i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    off += l + 1;
  }
  if (off + 4 > len) return false;
  const key = out.key;
  key[nameLen] = buf[off];
  key[nameLen + 1] = buf[off + 1];
  key[nameLen + 2] = buf[off + 2];
  key[nameLen + 3] = buf[off + 3];
  out.keyLength = nameLen + 4;
  out.type = (buf[off] << 8) | buf[off + 1];
  out.qclass = (buf[off + 2] << 8) | buf[off + 3];
  off += 4;
  out.questionEnd = off;
  out.hasOpt = false;
  out.udpSize = 512;
  out.dnssecOk = false;
  if (arcount === 1) {
    // Root owner name, type OPT, version 0.
    if (off + 11 > len || buf[off] !== 0 || buf[off + 1] !== 0 || buf[off + 2] !== 41 || buf[off + 6] !== 0) return false;
    const rdlen = (buf[off + 9] << 8) | buf[off + 10];
    if (off + 11 + rdlen !== len) return false;
    out.hasOpt = true;
    out.udpSize = Math.max(512, (buf[off + 3] << 8) | buf[off + 4]);
    out.dnssecOk = (buf[off + 7] & 0x80) !== 0;
    return true;
  }
  return off === len;
}

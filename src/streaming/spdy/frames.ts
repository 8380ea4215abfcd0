/**
 * SPDY/3.1 frame encoding and decoding (pure, no I/O).
 *
 * Control frames: `1 | version(15) | type(16) | flags(8) | length(24) | payload`.
 * Data frames:    `0 | stream-id(31) | flags(8) | length(24) | data`.
 * Header blocks inside SYN_STREAM, SYN_REPLY and HEADERS are zlib-compressed by the session;
 * this module only sees them as opaque bytes (see {@link encodeHeaderBlock} for their plain form).
 */

export const SPDY_VERSION = 3;

/** Control frame types of SPDY/3.1. */
export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

/** FLAG_FIN on data frames and on SYN_STREAM / SYN_REPLY / HEADERS. */
export const FLAG_FIN = 0x01;
/** FLAG_UNIDIRECTIONAL on SYN_STREAM. */
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** The largest payload a frame's 24-bit length can describe. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export type RawFrame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; version: number; type: number; flags: number; payload: Buffer };

/** Headers as SPDY carries them: lowercase names, each with one or more values. */
export type HeaderMap = Record<string, string[]>;

/** Encodes a DATA frame. */
export function encodeDataFrame(streamId: number, flags: number, data: Buffer = Buffer.alloc(0)): Buffer {
  if (data.length > MAX_FRAME_PAYLOAD) throw new RangeError(`DATA payload of ${data.length} bytes is too large`);
  const frame = Buffer.alloc(8 + data.length);
  frame.writeUInt32BE(streamId & 0x7fffffff, 0);
  frame.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  data.copy(frame, 8);
  return frame;
}

/** Encodes a control frame around an already-built payload. */
export function encodeControlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError(`control payload of ${payload.length} bytes is too large`);
  const frame = Buffer.alloc(8 + payload.length);
  frame.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  frame.writeUInt16BE(type, 2);
  frame.writeUInt32BE((((flags & 0xff) << 24) | payload.length) >>> 0, 4);
  payload.copy(frame, 8);
  return frame;
}

function words(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    out.writeUInt32BE(v >>> 0, i * 4);
  });
  return out;
}

/** SYN_REPLY: stream id, then the compressed header block. */
export function encodeSynReply(streamId: number, flags: number, compressedHeaders: Buffer): Buffer {
  return encodeControlFrame(FrameType.SYN_REPLY, flags, Buffer.concat([words(streamId & 0x7fffffff), compressedHeaders]));
}

/** SYN_STREAM: stream id, associated stream id, priority (3 bits) and slot, then the compressed header block. */
export function encodeSynStream(
  streamId: number,
  flags: number,
  compressedHeaders: Buffer,
  opts: { associatedStreamId?: number; priority?: number } = {},
): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE((opts.associatedStreamId ?? 0) & 0x7fffffff, 4);
  head.writeUInt8(((opts.priority ?? 0) & 0x7) << 5, 8);
  return encodeControlFrame(FrameType.SYN_STREAM, flags, Buffer.concat([head, compressedHeaders]));
}

/** HEADERS: stream id, then the compressed header block. */
export function encodeHeaders(streamId: number, flags: number, compressedHeaders: Buffer): Buffer {
  return encodeControlFrame(FrameType.HEADERS, flags, Buffer.concat([words(streamId & 0x7fffffff), compressedHeaders]));
}

export function encodeRstStream(streamId: number, status: number): Buffer {
  return encodeControlFrame(FrameType.RST_STREAM, 0, words(streamId & 0x7fffffff, status));
}

export function encodePing(id: number): Buffer {
  return encodeControlFrame(FrameType.PING, 0, words(id));
}

export function encodeGoAway(lastGoodStreamId: number, status = 0): Buffer {
  return encodeControlFrame(FrameType.GOAWAY, 0, words(lastGoodStreamId & 0x7fffffff, status));
}

export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  return encodeControlFrame(FrameType.WINDOW_UPDATE, 0, words(streamId & 0x7fffffff, delta & 0x7fffffff));
}

export function encodeSettings(entries: { id: number; value: number; flags?: number }[]): Buffer {
  const payload = Buffer.alloc(4 + entries.length * 8);
  payload.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    payload.writeUInt32BE(((((e.flags ?? 0) & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + i * 8);
    payload.writeUInt32BE(e.value >>> 0, 8 + i * 8);
  });
  return encodeControlFrame(FrameType.SETTINGS, 0, payload);
}

/** Accumulates bytes (from a socket or WebSocket messages, which need not align with frames) and yields whole frames. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Adds bytes and returns every frame that is now complete, in order. */
  push(chunk: Buffer): RawFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: RawFrame[] = [];
    while (this.pending.length >= 8) {
      const length = this.pending.readUInt32BE(4) & 0xffffff;
      if (this.pending.length < 8 + length) break;
      const flags = this.pending[4] ?? 0;
      const body = this.pending.subarray(8, 8 + length);
      const first = this.pending.readUInt32BE(0);
      if (first & 0x80000000) {
        frames.push({ kind: 'control', version: (first >>> 16) & 0x7fff, type: first & 0xffff, flags, payload: Buffer.from(body) });
      } else {
        frames.push({ kind: 'data', streamId: first & 0x7fffffff, flags, data: Buffer.from(body) });
      }
      this.pending = this.pending.subarray(8 + length);
    }
    return frames;
  }
}

/** Decoded fixed fields of the control frames a server acts on; header blocks stay compressed. */
export type ControlFrame =
  | { type: 'SYN_STREAM'; flags: number; streamId: number; associatedStreamId: number; priority: number; headerBlock: Buffer }
  | { type: 'SYN_REPLY'; flags: number; streamId: number; headerBlock: Buffer }
  | { type: 'HEADERS'; flags: number; streamId: number; headerBlock: Buffer }
  | { type: 'RST_STREAM'; streamId: number; status: number }
  | { type: 'SETTINGS'; entries: { flags: number; id: number; value: number }[] }
  | { type: 'PING'; id: number }
  | { type: 'GOAWAY'; lastGoodStreamId: number; status: number }
  | { type: 'WINDOW_UPDATE'; streamId: number; delta: number }
  | { type: 'UNKNOWN'; frameType: number };

/** Decodes a control frame's payload. Throws on a truncated payload. */
export function decodeControlFrame(type: number, flags: number, p: Buffer): ControlFrame {
  const need = (n: number) => {
    if (p.length < n) throw new Error(`control frame type ${type} too short: ${p.length} < ${n} bytes`);
  };
  switch (type) {
    case FrameType.SYN_STREAM:
      need(10);
      return {
        type: 'SYN_STREAM',
        flags,
        streamId: p.readUInt32BE(0) & 0x7fffffff,
        associatedStreamId: p.readUInt32BE(4) & 0x7fffffff,
        priority: (p[8] ?? 0) >> 5,
        headerBlock: p.subarray(10),
      };
    case FrameType.SYN_REPLY:
    case FrameType.HEADERS:
      need(4);
      return {
        type: type === FrameType.SYN_REPLY ? 'SYN_REPLY' : 'HEADERS',
        flags,
        streamId: p.readUInt32BE(0) & 0x7fffffff,
        headerBlock: p.subarray(4),
      };
    case FrameType.RST_STREAM:
      need(8);
      return { type: 'RST_STREAM', streamId: p.readUInt32BE(0) & 0x7fffffff, status: p.readUInt32BE(4) };
    case FrameType.SETTINGS: {
      need(4);
      const count = p.readUInt32BE(0);
      need(4 + count * 8);
      const entries = [];
      for (let i = 0; i < count; i++) {
        const idWord = p.readUInt32BE(4 + i * 8);
        entries.push({ flags: idWord >>> 24, id: idWord & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
      }
      return { type: 'SETTINGS', entries };
    }
    case FrameType.PING:
      need(4);
      return { type: 'PING', id: p.readUInt32BE(0) };
    case FrameType.GOAWAY:
      need(8);
      return { type: 'GOAWAY', lastGoodStreamId: p.readUInt32BE(0) & 0x7fffffff, status: p.readUInt32BE(4) };
    case FrameType.WINDOW_UPDATE:
      need(8);
      return { type: 'WINDOW_UPDATE', streamId: p.readUInt32BE(0) & 0x7fffffff, delta: p.readUInt32BE(4) & 0x7fffffff };
    default:
      return { type: 'UNKNOWN', frameType: type };
  }
}

/**
 * Serialises headers into the uncompressed SPDY/3 name/value block: a 32-bit pair count, then per
 * pair a 32-bit length-prefixed lowercase name and value; several values join with NUL.
 */
export function encodeHeaderBlock(headers: Record<string, string | string[]>): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [words(entries.length)];
  for (const [name, value] of entries) {
    const nameBytes = Buffer.from(name.toLowerCase(), 'utf8');
    const valueBytes = Buffer.from(Array.isArray(value) ? value.join('\0') : value, 'utf8');
    parts.push(words(nameBytes.length), nameBytes, words(valueBytes.length), valueBytes);
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed SPDY/3 name/value block. Names are lowercased; NUL-joined values are split. */
export function decodeHeaderBlock(block: Buffer): HeaderMap {
  const headers: HeaderMap = {};
  let at = 0;
  const readU32 = () => {
    if (at + 4 > block.length) throw new Error('truncated SPDY header block');
    const v = block.readUInt32BE(at);
    at += 4;
    return v;
  };
  const readString = () => {
    const length = readU32();
    if (at + length > block.length) throw new Error('truncated SPDY header block');
    const s = block.toString('utf8', at, at + length);
    at += length;
    return s;
  };
  const count = readU32();
  for (let i = 0; i < count; i++) {
    const name = readString().toLowerCase();
    const values = readString().split('\0');
    headers[name] = [...(headers[name] ?? []), ...values];
  }
  return headers;
}

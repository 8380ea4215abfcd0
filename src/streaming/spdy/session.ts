/**
 * A server-side SPDY/3.1 session over any byte Duplex: a raw upgraded socket, or the Duplex that
 * `ws.createWebSocketStream` makes of a WebSocket carrying SPDY (kubectl's tunnelled port-forward).
 *
 * What Go's spdystream (kubectl's side) needs, and why the session is shaped this way:
 * - header blocks use ONE zlib stream per direction for the whole session, seeded with the SPDY/3
 *   dictionary, each block ending in a sync flush; compressing blocks separately breaks the second
 *   one. Compression is asynchronous in Node, so every outgoing frame goes through one ordered queue
 *   (a SYN_REPLY must precede the stream's DATA), and incoming frames are handled in order too.
 * - spdystream drops DATA on a stream it has not seen a SYN_REPLY for, so writing to a stream
 *   replies first when the owner has not.
 * - spdystream neither sends nor honours WINDOW_UPDATE, so no flow-control windows are kept.
 */

import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';
import {
  decodeControlFrame,
  decodeHeaderBlock,
  encodeDataFrame,
  encodeGoAway,
  encodeHeaderBlock,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  FLAG_FIN,
  FrameReader,
  type HeaderMap,
  type RawFrame,
  RstStatus,
} from './frames.js';

/** DATA frames are cut to this size so one large write does not hold up other streams. */
const MAX_DATA_CHUNK = 32 * 1024;

/** Runs async steps strictly one after another. */
class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(step: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(step);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/** One persistent zlib stream (deflate or inflate); each call feeds one header block and sync-flushes it. */
class HeaderCodec {
  private readonly chunks: Buffer[] = [];
  private failure: Error | undefined;

  constructor(private readonly stream: zlib.Deflate | zlib.Inflate) {
    stream.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    stream.on('error', (err) => {
      this.failure = err;
    });
  }

  /** Callers must not overlap calls; the session's serial queues guarantee that. */
  process(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.stream.write(input);
      this.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.failure) return reject(this.failure);
        resolve(Buffer.concat(this.chunks.splice(0)));
      });
    });
  }

  close(): void {
    this.stream.destroy();
  }
}

export interface SpdySessionEvents {
  /** A peer opened a stream (SYN_STREAM); reply to it with {@link SpdyStream.reply}. */
  stream: [SpdyStream];
  /** The peer sent GOAWAY: it will open no more streams. */
  goaway: [lastGoodStreamId: number];
  /** The transport is gone; every stream has been closed. */
  close: [];
  error: [Error];
}

/** A server-side SPDY/3.1 session. Streams the peer opens arrive as `stream` events. */
export class SpdySession extends EventEmitter<SpdySessionEvents> {
  private readonly reader = new FrameReader();
  private readonly outgoing = new SerialQueue();
  private readonly incoming = new SerialQueue();
  private readonly compressor = new HeaderCodec(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }));
  private readonly decompressor = new HeaderCodec(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));
  private readonly streams = new Map<number, SpdyStream>();
  private lastPeerStreamId = 0;
  private closed = false;

  constructor(private readonly transport: Duplex) {
    super();
    transport.on('data', (chunk: Buffer) => this.receive(chunk));
    transport.on('end', () => this.shutdown());
    transport.on('close', () => this.shutdown());
    transport.on('error', (err) => this.shutdown(err));
  }

  /** Streams that are still open. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Sends GOAWAY, waits until everything queued before it is written, then ends the transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.outgoing.run(() => this.writeRaw(encodeGoAway(this.lastPeerStreamId)));
    this.transport.end();
    this.shutdown();
  }

  /** Drops the transport at once. */
  destroy(err?: Error): void {
    this.transport.destroy();
    this.shutdown(err);
  }

  /** Queues a frame that needs no header compression. */
  sendFrame(frame: Buffer): Promise<void> {
    return this.outgoing.run(() => this.writeRaw(frame));
  }

  /** @internal Queues a frame whose header block must be compressed first, in queue order. */
  sendWithHeaders(headers: Record<string, string | string[]>, build: (compressed: Buffer) => Buffer): Promise<void> {
    return this.outgoing.run(async () => {
      const compressed = await this.compressor.process(encodeHeaderBlock(headers));
      await this.writeRaw(build(compressed));
    });
  }

  /** @internal */
  forget(stream: SpdyStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
  }

  private async writeRaw(frame: Buffer): Promise<void> {
    if (this.closed || this.transport.destroyed || this.transport.writableEnded) return;
    if (!this.transport.write(frame)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.transport.off('drain', done);
          this.transport.off('close', done);
          resolve();
        };
        this.transport.on('drain', done);
        this.transport.on('close', done);
      });
    }
  }

  private receive(chunk: Buffer): void {
    let frames: RawFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    for (const frame of frames) {
      this.incoming.run(() => this.handle(frame)).catch((err: Error) => this.destroy(err));
    }
  }

  private async handle(frame: RawFrame): Promise<void> {
    if (this.closed) return;
    if (frame.kind === 'data') {
      const stream = this.streams.get(frame.streamId);
      if (!stream) {
        if (frame.streamId > this.lastPeerStreamId) await this.sendFrame(encodeRstStream(frame.streamId, RstStatus.INVALID_STREAM));
        return;
      }
      stream.receiveData(frame.data, (frame.flags & FLAG_FIN) !== 0);
      return;
    }
    const control = decodeControlFrame(frame.type, frame.flags, frame.payload);
    switch (control.type) {
      case 'SYN_STREAM': {
        // Always inflate, even for a stream we refuse: the zlib stream must see every block.
        const headers = decodeHeaderBlock(await this.decompressor.process(control.headerBlock));
        if (control.streamId <= this.lastPeerStreamId || control.streamId % 2 === 0) {
          await this.sendFrame(encodeRstStream(control.streamId, RstStatus.PROTOCOL_ERROR));
          return;
        }
        this.lastPeerStreamId = control.streamId;
        const stream = new SpdyStream(this, control.streamId, headers);
        this.streams.set(stream.id, stream);
        if (control.flags & FLAG_FIN) stream.receiveData(Buffer.alloc(0), true);
        this.emit('stream', stream);
        return;
      }
      case 'SYN_REPLY':
      case 'HEADERS': {
        await this.decompressor.process(control.headerBlock);
        if (control.flags & FLAG_FIN) this.streams.get(control.streamId)?.receiveData(Buffer.alloc(0), true);
        return;
      }
      case 'RST_STREAM':
        this.streams.get(control.streamId)?.receiveReset(control.status);
        return;
      case 'PING':
        // Odd ids come from the client; answering them is what keeps kubectl's pinger happy.
        if (control.id % 2 === 1) await this.sendFrame(encodePing(control.id));
        return;
      case 'GOAWAY':
        this.emit('goaway', control.lastGoodStreamId);
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE and unknown frames need no action here.
    }
  }

  private shutdown(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of [...this.streams.values()]) stream.receiveReset(RstStatus.CANCEL);
    this.streams.clear();
    this.compressor.close();
    this.decompressor.close();
    if (err && this.listenerCount('error') > 0) this.emit('error', err);
    this.emit('close');
  }
}

/**
 * One SPDY stream opened by the peer. Reading yields its DATA; writing sends DATA; `end()` half-closes
 * (DATA with FIN); `reset()` aborts it with RST_STREAM. A peer reset ends the readable side and
 * destroys the stream, emitting `reset` with the status first.
 */
export class SpdyStream extends Duplex {
  private replied: Promise<void> | undefined;
  private localFinished = false;
  private remoteFinished = false;
  private resetSeen = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: HeaderMap,
  ) {
    super({ allowHalfOpen: true });
  }

  /** The first value of a request header (names are lowercase). */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** Sends SYN_REPLY (once); `fin` also half-closes our side. */
  reply(headers: Record<string, string | string[]> = {}, fin = false): Promise<void> {
    if (!this.replied) {
      if (fin) this.localFinished = true;
      this.replied = this.session.sendWithHeaders(headers, (block) => encodeSynReply(this.id, fin ? FLAG_FIN : 0, block));
    }
    return this.replied;
  }

  /** Aborts the stream with RST_STREAM (CANCEL unless told otherwise). */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.resetSeen) return;
    this.resetSeen = true;
    void this.session.sendFrame(encodeRstStream(this.id, status));
    this.destroy();
  }

  /** @internal */
  receiveData(data: Buffer, fin: boolean): void {
    if (this.remoteFinished) return;
    if (data.length > 0) this.push(data);
    if (fin) {
      this.remoteFinished = true;
      this.push(null);
      this.forgetIfDone();
    }
  }

  /** @internal */
  receiveReset(status: number): void {
    if (this.resetSeen) return;
    this.resetSeen = true;
    this.emit('reset', status);
    if (!this.remoteFinished) {
      this.remoteFinished = true;
      this.push(null);
    }
    this.destroy();
  }

  override _read(): void {
    // Data is pushed as frames arrive; spdystream has no flow control to apply back-pressure with.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sendData(chunk, false).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendData(Buffer.alloc(0), true).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.resetSeen && !(this.localFinished && this.remoteFinished)) {
      this.resetSeen = true;
      void this.session.sendFrame(encodeRstStream(this.id, RstStatus.CANCEL));
    }
    this.session.forget(this);
    callback(error);
  }

  private async sendData(data: Buffer, fin: boolean): Promise<void> {
    if (this.resetSeen) return;
    await this.reply();
    if (fin) this.localFinished = true;
    let offset = 0;
    do {
      const piece = data.subarray(offset, offset + MAX_DATA_CHUNK);
      offset += piece.length;
      const last = offset >= data.length;
      await this.session.sendFrame(encodeDataFrame(this.id, fin && last ? FLAG_FIN : 0, piece));
    } while (offset < data.length);
    if (fin) this.forgetIfDone();
  }

  private forgetIfDone(): void {
    if (this.localFinished && this.remoteFinished) this.session.forget(this);
  }
}

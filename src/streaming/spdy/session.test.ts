import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';
import {
  type ControlFrame,
  decodeControlFrame,
  decodeHeaderBlock,
  encodeDataFrame,
  encodeHeaderBlock,
  encodePing,
  encodeRstStream,
  encodeSynStream,
  FLAG_FIN,
  FrameReader,
  type HeaderMap,
  type RawFrame,
} from './frames.js';
import { SpdySession, type SpdyStream } from './session.js';

/** A minimal client end: one persistent zlib stream per direction, like Go's spdy framer. */
class TestClient {
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  private readonly inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private readonly reader = new FrameReader();
  private readonly frames: RawFrame[] = [];
  private waiter: (() => void) | undefined;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(...this.reader.push(chunk));
      this.waiter?.();
    });
  }

  private zlibStep(stream: zlib.Deflate | zlib.Inflate, input: Buffer): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => chunks.push(c);
    stream.on('data', onData);
    stream.write(input);
    return new Promise((resolve) =>
      stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        stream.off('data', onData);
        resolve(Buffer.concat(chunks));
      }),
    );
  }

  async open(id: number, headers: Record<string, string>, flags = 0): Promise<void> {
    const block = await this.zlibStep(this.deflate, encodeHeaderBlock(headers));
    this.socket.write(encodeSynStream(id, flags, block));
  }

  /** The next frame from the server, with header blocks inflated. */
  async next(): Promise<{ raw: RawFrame; control?: ControlFrame; headers?: HeaderMap }> {
    while (this.frames.length === 0) await new Promise<void>((resolve) => (this.waiter = resolve));
    const raw = this.frames.shift() as RawFrame;
    if (raw.kind === 'data') return { raw };
    const control = decodeControlFrame(raw.type, raw.flags, raw.payload);
    if ('headerBlock' in control)
      return { raw, control, headers: decodeHeaderBlock(await this.zlibStep(this.inflate, control.headerBlock)) };
    return { raw, control };
  }
}

let server: ReturnType<typeof createServer>;
let port: number;
const sessions: SpdySession[] = [];

before(async () => {
  server = createServer((socket) => sessions.push(new SpdySession(socket)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  for (const s of sessions) s.destroy();
  await new Promise((r) => server.close(r));
});

async function pair(): Promise<{ client: TestClient; session: SpdySession }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  while (sessions.length === 0) await new Promise((r) => setImmediate(r));
  return { client: new TestClient(socket), session: sessions.shift() as SpdySession };
}

describe('SpdySession', () => {
  test('decodes and answers many header blocks over one zlib stream per direction', async () => {
    const { client, session } = await pair();
    const streams: SpdyStream[] = [];
    session.on('stream', (s) => streams.push(s));
    await client.open(1, { streamtype: 'error', port: '80', requestid: '0' });
    await client.open(3, { streamtype: 'data', port: '80', requestid: '0' });
    await client.open(5, { streamtype: 'data', port: '80', requestid: '1' });
    while (streams.length < 3) await once(session, 'stream');
    assert.deepEqual(
      streams.map((s) => [s.id, s.header('streamtype'), s.header('requestid')]),
      [
        [1, 'error', '0'],
        [3, 'data', '0'],
        [5, 'data', '1'],
      ],
    );
    for (const s of streams) void s.reply({ seen: String(s.id) });
    for (const id of [1, 3, 5]) {
      const { control, headers } = await client.next();
      assert.equal(control?.type, 'SYN_REPLY');
      assert.equal(control && 'streamId' in control ? control.streamId : 0, id);
      assert.deepEqual(headers, { seen: [String(id)] });
    }
    client.socket.destroy();
  });

  test('writing replies first, then sends DATA and a FIN on end()', async () => {
    const { client, session } = await pair();
    const [stream] = (await Promise.all([once(session, 'stream'), client.open(1, { streamtype: 'stdout' })]))[0] as [SpdyStream];
    stream.end(Buffer.from('out'));
    assert.equal((await client.next()).control?.type, 'SYN_REPLY');
    assert.deepEqual((await client.next()).raw, { kind: 'data', streamId: 1, flags: 0, data: Buffer.from('out') });
    assert.deepEqual((await client.next()).raw, { kind: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.alloc(0) });
    client.socket.destroy();
  });

  test('delivers client DATA and ends the readable side on FIN', async () => {
    const { client, session } = await pair();
    const [stream] = (await Promise.all([once(session, 'stream'), client.open(1, { streamtype: 'stdin' })]))[0] as [SpdyStream];
    client.socket.write(encodeDataFrame(1, 0, Buffer.from('ab')));
    client.socket.write(encodeDataFrame(1, FLAG_FIN, Buffer.from('c')));
    let text = '';
    for await (const chunk of stream) text += chunk;
    assert.equal(text, 'abc');
    client.socket.destroy();
  });

  test('echoes client PINGs (odd ids) only', async () => {
    const { client } = await pair();
    client.socket.write(encodePing(2));
    client.socket.write(encodePing(7));
    const { control } = await client.next();
    assert.deepEqual(control, { type: 'PING', id: 7 });
    client.socket.destroy();
  });

  test('a client RST_STREAM emits reset and closes the stream', async () => {
    const { client, session } = await pair();
    const [stream] = (await Promise.all([once(session, 'stream'), client.open(1, { streamtype: 'data' })]))[0] as [SpdyStream];
    const reset = once(stream, 'reset');
    client.socket.write(encodeRstStream(1, 5));
    assert.deepEqual(await reset, [5]);
    await once(stream, 'close');
    assert.equal(session.openStreams, 0);
    client.socket.destroy();
  });

  test('close() sends GOAWAY naming the last stream and ends the connection', async () => {
    const { client, session } = await pair();
    await Promise.all([once(session, 'stream'), client.open(1, { a: 'b' })]);
    await session.close();
    assert.deepEqual((await client.next()).control, { type: 'GOAWAY', lastGoodStreamId: 1, status: 0 });
    await once(client.socket, 'end');
    client.socket.destroy();
  });
});

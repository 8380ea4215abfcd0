import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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
  encodeSettings,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  FrameReader,
  FrameType,
} from './frames.js';

function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

describe('SPDY/3 dictionary', () => {
  test('is the 1423-byte spec dictionary (zlib dictionary id e3c6a7c2)', () => {
    assert.equal(SPDY3_DICTIONARY.length, 1423);
    assert.equal(adler32(SPDY3_DICTIONARY).toString(16), 'e3c6a7c2');
    assert.equal(SPDY3_DICTIONARY.subarray(0, 11).toString('latin1'), '\0\0\0\x07options');
    assert.ok(SPDY3_DICTIONARY.toString('latin1').endsWith(',*,enq=0.'));
  });

  test('a deflate seeded with it announces that dictionary id', () => {
    const out = zlib.deflateSync(Buffer.from('x'), { dictionary: SPDY3_DICTIONARY });
    assert.equal(out.subarray(2, 6).toString('hex'), 'e3c6a7c2');
  });
});

describe('frame encoding', () => {
  const table: [string, Buffer, string][] = [
    ['DATA with FIN', encodeDataFrame(3, 1, Buffer.from('hi')), '00000003 01000002 6869'],
    ['empty DATA', encodeDataFrame(1, 0), '00000001 00000000'],
    ['SYN_REPLY', encodeSynReply(5, 0, Buffer.from([0xaa])), '80030002 00000005 00000005 aa'],
    ['SYN_STREAM', encodeSynStream(1, 0, Buffer.from([0xbb]), { priority: 2 }), '80030001 0000000b 00000001 00000000 4000 bb'],
    ['RST_STREAM CANCEL', encodeRstStream(3, 5), '80030003 00000008 00000003 00000005'],
    ['PING', encodePing(1), '80030006 00000004 00000001'],
    ['GOAWAY', encodeGoAway(7), '80030007 00000008 00000007 00000000'],
    ['WINDOW_UPDATE', encodeWindowUpdate(1, 65536), '80030009 00000008 00000001 00010000'],
    ['SETTINGS', encodeSettings([{ id: 7, value: 65536 }]), '80030004 0000000c 00000001 00000007 00010000'],
  ];
  for (const [name, frame, hex] of table) {
    test(name, () => assert.equal(frame.toString('hex'), hex.replaceAll(' ', '')));
  }
});

describe('FrameReader', () => {
  test('reassembles frames split at any byte and returns several at once', () => {
    const bytes = Buffer.concat([encodeDataFrame(1, 0, Buffer.from('abc')), encodePing(3), encodeRstStream(1, 5)]);
    const reader = new FrameReader();
    const frames = [...bytes].flatMap((b) => reader.push(Buffer.of(b)));
    assert.equal(frames.length, 3);
    assert.deepEqual(frames[0], { kind: 'data', streamId: 1, flags: 0, data: Buffer.from('abc') });
    assert.equal(frames[1]?.kind, 'control');
    const whole = new FrameReader().push(bytes);
    assert.equal(whole.length, 3);
  });

  test('decodes control payloads', () => {
    const [frame] = new FrameReader().push(encodeSynStream(9, 1, Buffer.from('hdr'), { associatedStreamId: 1, priority: 7 }));
    assert.ok(frame?.kind === 'control');
    assert.equal(frame.type, FrameType.SYN_STREAM);
    assert.deepEqual(decodeControlFrame(frame.type, frame.flags, frame.payload), {
      type: 'SYN_STREAM',
      flags: 1,
      streamId: 9,
      associatedStreamId: 1,
      priority: 7,
      headerBlock: Buffer.from('hdr'),
    });
    assert.deepEqual(decodeControlFrame(FrameType.RST_STREAM, 0, encodeRstStream(3, 5).subarray(8)), {
      type: 'RST_STREAM',
      streamId: 3,
      status: 5,
    });
    assert.throws(() => decodeControlFrame(FrameType.PING, 0, Buffer.alloc(2)), /too short/);
  });
});

describe('header blocks', () => {
  test('round-trip with lowercase names and NUL-joined values', () => {
    const block = encodeHeaderBlock({ StreamType: 'data', port: '80', multi: ['a', 'b'] });
    assert.equal(block.readUInt32BE(0), 3);
    assert.deepEqual(decodeHeaderBlock(block), { streamtype: ['data'], port: ['80'], multi: ['a', 'b'] });
  });

  test('an empty block is four zero bytes', () => {
    assert.equal(encodeHeaderBlock({}).toString('hex'), '00000000');
  });

  test('a truncated block is rejected', () => {
    assert.throws(() => decodeHeaderBlock(encodeHeaderBlock({ a: 'b' }).subarray(0, 9)), /truncated/);
  });
});

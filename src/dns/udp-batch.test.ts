import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { BatchUdpSocket, batchUdpAvailable } from './udp-batch.js';

/** A client socket on 127.0.0.1 that collects what comes back. */
async function client() {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const got: Buffer[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  socket.on('message', (m) => {
    got.push(m);
    if (waiter && got.length >= waiter.n) waiter.resolve();
  });
  return {
    socket,
    got,
    /** Resolves once `n` datagrams have arrived. */
    received: (n: number) =>
      new Promise<void>((resolve) => {
        if (got.length >= n) resolve();
        else waiter = { n, resolve };
      }),
    send: (bytes: Buffer, port: number) => socket.send(bytes, port, '127.0.0.1'),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('BatchUdpSocket', () => {
  let c: Awaited<ReturnType<typeof client>>;
  before(async () => {
    assert.deepEqual(batchUdpAvailable(), { ok: true });
    c = await client();
  });
  after(() => c.socket.close());

  test('one call per batch; only the datagrams given a reply get one', async () => {
    const calls: number[] = [];
    const socket = new BatchUdpSocket('127.0.0.1', 0, (batch, count) => {
      calls.push(count);
      for (let i = 0; i < count; i++) {
        const msg = batch.message(i) as Buffer;
        if (msg[0] % 2 === 0) batch.reply(i, Buffer.concat([Buffer.from('re:'), msg]));
      }
    });
    try {
      c.got.length = 0;
      for (let n = 0; n < 10; n++) c.send(Buffer.from([n, 0xaa, n]), socket.port);
      await c.received(5);
      await tick();
      assert.deepEqual(
        c.got.map((m) => m.toString('hex')).sort(),
        ['00', '02', '04', '06', '08'].map((n) => `72653a${n}aa${n}`),
      );
      assert.equal(
        calls.reduce((a, b) => a + b, 0),
        10,
      );
      assert.ok(calls.length < 10, `${calls.length} calls`);
      assert.deepEqual(socket.stats(), { batches: calls.length, datagrams: 10, dropped: 0, sendErrors: 0 });
    } finally {
      socket.close();
    }
  });

  test('replies that do not fit the reply buffer go out on their own', async () => {
    const socket = new BatchUdpSocket(
      '127.0.0.1',
      0,
      (batch, count) => {
        for (let i = 0; i < count; i++) batch.reply(i, Buffer.alloc(300, (batch.message(i) as Buffer)[0]));
      },
      1000,
    );
    try {
      c.got.length = 0;
      for (let n = 0; n < 10; n++) c.send(Buffer.from([n]), socket.port);
      await c.received(10);
      assert.deepEqual(
        c.got.map((m) => `${m.length}:${m[0]}`).sort(),
        Array.from({ length: 10 }, (_, n) => `300:${n}`),
      );
    } finally {
      socket.close();
    }
  });

  test('later replies by peer; closing inside a batch; the port is free once closed', async () => {
    const peers: Buffer[] = [];
    const socket: BatchUdpSocket = new BatchUdpSocket('127.0.0.1', 0, (batch, count) => {
      for (let i = 0; i < count; i++) peers.push(batch.peer(i));
      if (peers.length === 2) socket.close();
    });
    try {
      const port = socket.port;
      c.got.length = 0;
      c.send(Buffer.from('a'), port);
      while (peers.length < 1) await tick();
      assert.equal(socket.sendTo(Buffer.from('later'), peers[0]), true);
      await c.received(1);
      assert.equal(c.got[0].toString(), 'later');
      c.send(Buffer.from('b'), port);
      while (peers.length < 2) await tick();
      assert.equal(socket.sendTo(Buffer.from('after close'), peers[0]), false);
      // Closed from inside its own batch: the port can be bound again at once.
      const again = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.bind(port, '127.0.0.1', () => resolve());
      });
      again.close();
    } finally {
      socket.close();
    }
  });

  test('binding a port in use fails with EADDRINUSE, like dgram', async () => {
    const first = new BatchUdpSocket('127.0.0.1', 0, () => {});
    try {
      assert.throws(() => new BatchUdpSocket('127.0.0.1', first.port, () => {}), { code: 'EADDRINUSE', syscall: 'bind' });
    } finally {
      first.close();
    }
  });
});

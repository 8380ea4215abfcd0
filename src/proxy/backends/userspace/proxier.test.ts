/**
 * The userspace proxy on real sockets, in this process: service IPs are picked in 127.0.0.0/8
 * (already local, so nothing is added to any interface) and endpoints are servers on 127.0.0.1.
 * Every TCP test runs with each relay: native splice, native recv/send, and Node streams.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import type { EndpointsMap, ServiceLike, ServicePortMap } from '../../model.js';
import { makeService, makeSlice } from '../../testing.js';
import { ProxyState } from '../../tracker.js';
import type { RelayKind } from './native-relay.js';
import { SCHEDULER_ANNOTATION, UserspaceProxier } from './proxier.js';

/** A TCP endpoint: greets each connection with its name, then echoes (and answers a FIN with "bye" and its own FIN). */
async function tcpEndpoint(name: string): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sock.write(`${name}\n`);
    sock.on('data', (d) => sock.write(d));
    sock.on('end', () => sock.end('bye\n'));
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, server };
}

/** A port on 127.0.0.1 nobody listens on (connections to it are refused). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A fresh service IP in 127.0.0.0/8 and a port, unlikely to clash with anything else on the machine. */
function serviceAddress(): { ip: string; port: number } {
  const b = () => 1 + Math.floor(Math.random() * 250);
  return { ip: `127.${b()}.${b()}.${b()}`, port: 20000 + Math.floor(Math.random() * 20000) };
}

/** Proxy state for one Service whose endpoints all live on 127.0.0.1 at the given ports. */
function stateFor(svc: ServiceLike, protocol: string, ports: number[]): { services: ServicePortMap; endpoints: EndpointsMap } {
  const state = new ProxyState('node-1');
  state.onService(undefined, svc);
  // One slice per endpoint port: endpoints are told apart by port here, all on 127.0.0.1.
  for (const [i, port] of ports.entries()) {
    state.onEndpointSlice(makeSlice(`${svc.metadata.namespace}/${svc.metadata.name}`, `s${i}`, [{ port, protocol }], ['127.0.0.1']));
  }
  state.apply();
  return { services: state.services, endpoints: state.endpoints };
}

/** Connects and resolves with everything received until the proxy side ends; `send` is written then half-closed. */
function exchange(ip: string, port: number, send = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: ip, port, allowHalfOpen: true }, () => sock.end(send));
    let got = '';
    sock.setEncoding('utf8').on('data', (d: string) => {
      got += d;
    });
    sock.on('end', () => resolve(got));
    sock.on('error', reject);
  });
}

const full = { full: true, reason: 'initial' as const };
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setUp(
  relay: RelayKind,
  spec: Partial<NonNullable<ServiceLike['spec']>>,
  names: string[],
  annotations: Record<string, string> = {},
) {
  const endpoints = await Promise.all(names.map(tcpEndpoint));
  for (const e of endpoints) cleanups.push(() => e.server.close());
  return setUpWith(
    relay,
    spec,
    endpoints.map((e) => e.port),
    annotations,
  );
}

/** A proxier (with the given relay) serving one TCP Service whose endpoints are 127.0.0.1 at `ports`. */
async function setUpWith(
  relay: RelayKind,
  spec: Partial<NonNullable<ServiceLike['spec']>>,
  ports: number[],
  annotations: Record<string, string> = {},
) {
  const addr = serviceAddress();
  const svc = makeService('default/web', { clusterIP: addr.ip, ports: [{ port: addr.port, protocol: 'TCP' }], ...spec });
  svc.metadata.annotations = annotations;
  const proxier = new UserspaceProxier({ connectTimeoutMs: 500, relay });
  cleanups.push(() => proxier.close());
  // The native kinds must really be in use (the addon is built by scripts/setup.sh), not fallen back.
  assert.equal(proxier.relay, relay);
  const maps = stateFor(svc, 'TCP', ports);
  await proxier.sync(full, maps.services, maps.endpoints);
  return { addr, svc, proxier, ports, key: [...maps.services.keys()][0]! };
}

/** Resolves once no connection is counted open on the port (they are counted down as sockets close). */
async function allClosed(proxier: UserspaceProxier, key: string): Promise<void> {
  while (proxier.activeConnections(key).size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Reads `sock` to its end, pausing after every chunk so the sender backs up (backpressure). */
function readSlowly(sock: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  sock.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    sock.pause();
    setTimeout(() => sock.resume(), 1);
  });
  return once(sock, 'end').then(() => Buffer.concat(chunks));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const relay of ['splice', 'copy', 'js'] as const)
  describe(`userspace proxy (TCP, ${relay} relay)`, () => {
    test('round robin spreads connections over every endpoint and the data flows both ways', async () => {
      const { addr } = await setUp(relay, {}, ['a', 'b', 'c']);
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await exchange(addr.ip, addr.port, 'ping\n'));
      for (const a of answers) assert.match(a, /^[abc]\nping\nbye\n$/);
      assert.deepEqual(answers.map((a) => a[0]).sort(), ['a', 'a', 'b', 'b', 'c', 'c']);
    });

    test('a connection that cannot reach one endpoint is retried on another', async () => {
      const { addr, svc, proxier, ports } = await setUp(relay, {}, ['alive']);
      // Two dead endpoints and one live one: round robin lands on a dead one first for most connections.
      const maps = stateFor(svc, 'TCP', [await deadPort(), await deadPort(), ports[0]!]);
      await proxier.sync(full, maps.services, maps.endpoints);
      for (let i = 0; i < 6; i++) assert.equal((await exchange(addr.ip, addr.port)).split('\n')[0], 'alive');
    });

    test('half-close: the client FIN reaches the endpoint while its reply still flows back', async () => {
      const { addr } = await setUp(relay, {}, ['a']);
      // The endpoint answers "bye" only after it sees the FIN, so the reply proves the write side stayed open.
      assert.equal(await exchange(addr.ip, addr.port, 'data-before-fin\n'), 'a\ndata-before-fin\nbye\n');
    });

    test('bulk data crosses intact both ways while the client reads slowly (backpressure)', async () => {
      const { addr } = await setUp(relay, {}, ['a']);
      const payload = randomBytes(8 << 20);
      const sock = net.connect({ host: addr.ip, port: addr.port, allowHalfOpen: true }, () => sock.end(payload));
      const chunks: Buffer[] = [];
      // Pausing after every chunk keeps the proxy's writes to the client backed up, so its upstream
      // reads must stop and resume many times over.
      sock.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        sock.pause();
        setTimeout(() => sock.resume(), 1);
      });
      await once(sock, 'end');
      const got = Buffer.concat(chunks);
      assert.equal(got.length, 2 + payload.length + 4);
      assert.equal(got.subarray(0, 2).toString(), 'a\n');
      assert.ok(got.subarray(2, 2 + payload.length).equals(payload), 'echoed payload differs');
      assert.equal(got.subarray(2 + payload.length).toString(), 'bye\n');
    });

    test('established connections survive their endpoints leaving; new ones are refused at once', async () => {
      const { addr, svc, proxier } = await setUp(relay, {}, ['a']);
      const sock = net.connect(addr.port, addr.ip);
      sock.setEncoding('utf8');
      const lines: string[] = [];
      const nextLine = () =>
        new Promise<string>((resolve) => {
          const check = (): void => {
            if (lines.length) {
              resolve(lines.shift()!);
              return;
            }
            sock.once('data', (d: string) => {
              lines.push(...d.split('\n').filter(Boolean));
              check();
            });
          };
          check();
        });
      assert.equal(await nextLine(), 'a');
      const none = stateFor(svc, 'TCP', []);
      await proxier.sync(full, none.services, none.endpoints);
      assert.deepEqual(proxier.listening(), []);
      sock.write('still-here\n');
      assert.equal(await nextLine(), 'still-here');
      await assert.rejects(exchange(addr.ip, addr.port), { code: 'ECONNREFUSED' });
      sock.destroy();
    });

    test('lc sends a new connection to the endpoint with the fewest active connections', async () => {
      const { addr, proxier, key } = await setUp(relay, {}, ['a', 'b'], { [SCHEDULER_ANNOTATION]: 'lc' });
      const first = net.connect(addr.port, addr.ip);
      const firstName = await new Promise<string>((resolve) => first.once('data', (d) => resolve(d.toString().trim())));
      assert.deepEqual([...proxier.activeConnections(key).values()], [1]);
      // While the first stays open, lc must pick the other endpoint every time.
      for (let i = 0; i < 3; i++) assert.notEqual((await exchange(addr.ip, addr.port)).split('\n')[0], firstName);
      first.destroy();
    });

    test('sessionAffinity ClientIP keeps a client on one endpoint', async () => {
      const { addr } = await setUp(relay, { sessionAffinity: 'ClientIP' }, ['a', 'b', 'c']);
      const names = new Set<string>();
      for (let i = 0; i < 6; i++) names.add((await exchange(addr.ip, addr.port)).split('\n')[0]!);
      assert.equal(names.size, 1);
    });

    test('8 MB each way at once, both readers slow: intact, and both FINs passed on', async () => {
      const up = randomBytes(8 << 20);
      const down = randomBytes(8 << 20);
      let received: Promise<Buffer> | undefined;
      const server = net.createServer({ allowHalfOpen: true }, (sock) => {
        received = readSlowly(sock);
        sock.end(down);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => server.close());
      const { addr, proxier, key } = await setUpWith(relay, {}, [(server.address() as net.AddressInfo).port]);
      const sock = net.connect({ host: addr.ip, port: addr.port, allowHalfOpen: true }, () => sock.end(up));
      const got = await readSlowly(sock);
      assert.equal(sha(got), sha(down), `client got ${got.length} bytes`);
      const atBackend = await received!;
      assert.equal(sha(atBackend), sha(up), `backend got ${atBackend.length} bytes`);
      sock.destroy();
      await allClosed(proxier, key);
    });

    test('a backend reset closes the client connection and counts it closed', async () => {
      const server = net.createServer((sock) => {
        sock.once('data', () => sock.resetAndDestroy());
        sock.on('error', () => {});
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => server.close());
      const { addr, proxier, key } = await setUpWith(relay, {}, [(server.address() as net.AddressInfo).port]);
      const sock = net.connect({ host: addr.ip, port: addr.port }, () => sock.write('boom\n'));
      sock.on('error', () => {});
      sock.resume();
      await once(sock, 'close');
      await allClosed(proxier, key);
    });

    test('200 concurrent connections all get their own answers; the counts return to 0', async () => {
      const { addr, proxier, key } = await setUp(relay, {}, ['a', 'b'], { [SCHEDULER_ANNOTATION]: 'lc' });
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => exchange(addr.ip, addr.port, `req-${i}\n`)));
      for (const [i, a] of answers.entries()) assert.match(a, new RegExp(`^[ab]\nreq-${i}\nbye\n$`));
      await allClosed(proxier, key);
    });

    test('closing the proxier ends relayed connections', async () => {
      const { addr, proxier } = await setUp(relay, {}, ['a']);
      const sock = net.connect(addr.port, addr.ip);
      sock.on('error', () => {});
      await once(sock, 'data');
      await proxier.close();
      sock.resume();
      await once(sock, 'close');
    });
  });

describe('userspace proxy (UDP)', () => {
  test('per-client sessions: replies come back from the service address; idle sessions close', async () => {
    const echo = dgram.createSocket('udp4');
    echo.on('message', (msg, from) => echo.send(Buffer.concat([Buffer.from('echo:'), msg]), from.port, from.address));
    await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => echo.close());
    const addr = serviceAddress();
    const svc = makeService('default/dns', { clusterIP: addr.ip, ports: [{ port: addr.port, protocol: 'UDP' }] });
    const proxier = new UserspaceProxier({ udpIdleTimeoutMs: 100 });
    cleanups.push(() => proxier.close());
    const maps = stateFor(svc, 'UDP', [echo.address().port]);
    await proxier.sync(full, maps.services, maps.endpoints);
    const key = [...maps.services.keys()][0]!;

    const client = dgram.createSocket('udp4');
    cleanups.push(() => client.close());
    const reply = new Promise<{ msg: string; from: dgram.RemoteInfo }>((resolve) =>
      client.once('message', (msg, from) => resolve({ msg: msg.toString(), from })),
    );
    client.send('hello', addr.port, addr.ip);
    const { msg, from } = await reply;
    assert.equal(msg, 'echo:hello');
    assert.equal(`${from.address}:${from.port}`, `${addr.ip}:${addr.port}`);
    assert.deepEqual([...proxier.activeConnections(key).values()], [1]);
    // The session's idle timer closes it; wait for that condition.
    while (proxier.activeConnections(key).size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  });
});

/** Test helpers: run real `dig` against a local server; a tiny fake upstream resolver. */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';
import packet from 'dns-packet';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  /** Answer and authority records as zone-file lines with single spaces. */
  records: string[];
  udpSize?: number;
  raw: string;
}

/** Runs dig against 127.0.0.1:port (never anything else) and parses its sections. */
export async function dig(port: number, args: string[]): Promise<DigResult> {
  const { stdout } = await run('dig', [
    '@127.0.0.1',
    '-p',
    String(port),
    '+time=2',
    '+tries=1',
    '+noall',
    '+comments',
    '+answer',
    '+authority',
    ...args,
  ]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? '';
  const flags = (/flags: ([a-z ]+);/.exec(stdout)?.[1] ?? '').trim().split(' ');
  const udp = /udp: (\d+)/.exec(stdout)?.[1];
  const records = stdout
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith(';'))
    .map((l) => l.trim().split(/\s+/).join(' '));
  return { status, flags, records, udpSize: udp ? Number(udp) : undefined, raw: stdout };
}

/** An upstream on 127.0.0.1 that answers every A question with 192.0.2.1 (NXDOMAIN for `nx.*`). */
export async function startFakeUpstream(): Promise<{ port: number; queries: string[]; close(): Promise<void> }> {
  const queries: string[] = [];
  const reply = (msg: Buffer): Buffer => {
    const q = packet.decode(msg);
    const question = q.questions?.[0];
    queries.push(`${question?.name} ${question?.type}`);
    const nx = question?.name.startsWith('nx.');
    return packet.encode({
      type: 'response',
      id: q.id,
      flags: packet.RECURSION_AVAILABLE | packet.RECURSION_DESIRED | (nx ? 3 : 0),
      questions: q.questions,
      answers: !nx && question?.type === 'A' ? [{ name: question.name, type: 'A', class: 'IN', ttl: 300, data: '192.0.2.1' }] : [],
      authorities: nx
        ? [
            {
              name: 'test',
              type: 'SOA',
              ttl: 60,
              data: { mname: 'ns.test', rname: 'h.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 },
            },
          ]
        : [],
    });
  };
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  udp.on('message', (msg, rinfo) => udp.send(reply(msg), rinfo.port, rinfo.address));
  const port = udp.address().port;
  const tcp = net.createServer((s) => {
    s.on('data', (d) => {
      const out = reply(d.subarray(2));
      const len = Buffer.alloc(2);
      len.writeUInt16BE(out.length);
      s.end(Buffer.concat([len, out]));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', () => resolve()));
  return {
    port,
    queries,
    close: async () => {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

/** A free TCP+UDP port on 127.0.0.1 (for tests that must know the port before starting). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

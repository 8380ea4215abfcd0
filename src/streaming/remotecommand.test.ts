import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { commandStatus, expectedSpdyStreams, parseRemoteCommandOptions, ResizeDecoder, serveRemoteCommand } from './remotecommand.js';

describe('parseRemoteCommandOptions', () => {
  test('reads repeated command args and flags as kubectl sends them', () => {
    assert.deepEqual(
      parseRemoteCommandOptions(
        '/api/v1/namespaces/d/pods/p/exec?command=sh&command=-c&command=echo+hi&container=c&stdin=true&stdout=true&stderr=true',
      ),
      {
        command: ['sh', '-c', 'echo hi'],
        container: 'c',
        stdin: true,
        stdout: true,
        stderr: true,
        tty: false,
      },
    );
  });

  test('a TTY never has a separate stderr', () => {
    const o = parseRemoteCommandOptions('/x/attach?container=c&stdin=1&stdout=true&stderr=true&tty=true');
    assert.equal(o.tty, true);
    assert.equal(o.stderr, false);
    assert.deepEqual(o.command, []);
  });
});

describe('commandStatus', () => {
  test('success', () => {
    assert.equal(JSON.stringify(commandStatus(['true'], { exitCode: 0 })), '{"metadata":{},"status":"Success"}');
  });

  test('non-zero exit carries the ExitCode cause kubectl turns into its exit status', () => {
    assert.equal(
      JSON.stringify(commandStatus(['sh', '-c', 'exit 3'], { exitCode: 3 })),
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
    );
  });

  test('other failures carry the message', () => {
    assert.deepEqual(commandStatus(['x'], { error: 'boom' }), {
      metadata: {},
      status: 'Failure',
      message: 'boom',
      reason: 'InternalError',
    });
  });
});

describe('ResizeDecoder', () => {
  test('splits newline-delimited sizes and keeps partial ones for later', () => {
    const d = new ResizeDecoder();
    assert.deepEqual(d.push('{"Width":100,"Height":30}\n{"Width":8'), [{ width: 100, height: 30 }]);
    assert.deepEqual(d.push('0,"Height":24}\n'), [{ width: 80, height: 24 }]);
  });
});

test('expectedSpdyStreams follows the requested streams', () => {
  assert.deepEqual(expectedSpdyStreams(parseRemoteCommandOptions('/?stdout=true&stderr=true')), ['error', 'stdout', 'stderr']);
  assert.deepEqual(expectedSpdyStreams(parseRemoteCommandOptions('/?stdin=true&stdout=true&tty=true')), [
    'error',
    'stdin',
    'stdout',
    'resize',
  ]);
});

describe('serveRemoteCommand over WebSocket', () => {
  async function withServer(fn: (url: string) => Promise<void>) {
    const server = createServer();
    server.on('upgrade', (req, socket, head) =>
      serveRemoteCommand(req, socket, head, {
        start: () => {
          const stdin = new PassThrough();
          const stdout = new PassThrough();
          stdin.pipe(stdout);
          return {
            stdin,
            stdout,
            wait: async () => {
              await once(stdout, 'end');
              return { exitCode: 2 };
            },
          };
        },
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await fn(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/exec?command=cat&stdin=true&stdout=true`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }

  test('v4.channel.k8s.io: channel-prefixed stdin/stdout and the status on channel 3', async () => {
    await withServer(async (url) => {
      const ws = new WebSocket(url, ['v4.channel.k8s.io']);
      const messages: Buffer[] = [];
      ws.on('message', (m: Buffer) => messages.push(m));
      await once(ws, 'open');
      assert.equal(ws.protocol, 'v4.channel.k8s.io');
      ws.send(Buffer.from('\x00hello'));
      while (messages.length === 0) await once(ws, 'message');
      assert.equal(messages[0]?.toString(), '\x01hello');
      ws.terminate();
    });
  });

  test('v5.channel.k8s.io: 0xFF 0x00 closes stdin and the exit code is reported', async () => {
    await withServer(async (url) => {
      const ws = new WebSocket(url, ['v5.channel.k8s.io']);
      const messages: Buffer[] = [];
      ws.on('message', (m: Buffer) => messages.push(m));
      await once(ws, 'open');
      ws.send(Buffer.from('\x00bye'));
      ws.send(Buffer.from([255, 0]));
      await once(ws, 'close');
      assert.equal(messages[0]?.toString(), '\x01bye');
      const status = JSON.parse(messages.at(-1)?.subarray(1).toString() ?? '');
      assert.equal(messages.at(-1)?.[0], 3);
      assert.equal(status.reason, 'NonZeroExitCode');
      assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '2' }]);
    });
  });

  test('an unknown subprotocol is refused so kubectl falls back to SPDY', async () => {
    await withServer(async (url) => {
      const ws = new WebSocket(url, ['base64.channel.k8s.io']);
      const [err] = (await once(ws, 'error')) as [Error];
      assert.match(err.message, /Unexpected server response: 400/);
    });
  });
});

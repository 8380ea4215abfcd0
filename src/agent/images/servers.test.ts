import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./entry.ts', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

test('agnhost netexec --delay-shutdown keeps serving after SIGTERM with /readyz failing, then exits', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'agnhost', 'netexec', `--http-port=${port}`, '--delay-shutdown=1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('Started HTTP server')) resolve();
      }),
    );
    // The server may start listening just after printing.
    for (let i = 0; i < 50; i++) {
      if ((await get(port, '/readyz').catch(() => undefined))?.status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(await get(port, '/readyz'), { status: 200, body: 'ok' });
    const terminatedAt = Date.now();
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    for (let i = 0; i < 50 && (await get(port, '/readyz')).status === 200; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(await get(port, '/readyz'), { status: 503, body: 'shutting down' });
    assert.equal((await get(port, '/clientip')).status, 200, 'still serving during the delay');
    const [code] = await exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - terminatedAt >= 900, 'exits only after the delay');
  } finally {
    child.kill('SIGKILL');
  }
});

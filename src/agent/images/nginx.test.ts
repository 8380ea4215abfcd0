import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { accessLogLine, NGINX_VERSION, startNginx } from './nginx.js';

describe('builtin nginx', () => {
  test('access-log lines in the combined format with English month names in every month', () => {
    const req = {
      socket: { remoteAddress: '::ffff:10.244.1.1' },
      method: 'GET',
      url: '/',
      httpVersion: '1.1',
      headers: { 'user-agent': 'curl/8.5.0' },
    } as unknown as IncomingMessage;
    const months = Array.from(
      { length: 12 },
      (_, m) => /\[\d\d\/(\w+)\//.exec(accessLogLine(req, 200, 615, new Date(Date.UTC(2024, m, 5))))?.[1],
    );
    assert.deepEqual(months, ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']);
    assert.equal(
      accessLogLine(req, 200, 615, new Date(Date.UTC(2024, 2, 5, 7, 8, 9))),
      '10.244.1.1 - - [05/Mar/2024:07:08:09 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0" "-"',
    );
  });

  test('serves small pages whole and large files streamed, with their length, and logs each request', async () => {
    const root = mkdtempSync(join(tmpdir(), 'svcnet-nginx-'));
    const lines: string[] = [];
    const big = 'x'.repeat(3 << 20);
    writeFileSync(join(root, 'index.html'), '<h1>hi</h1>\n');
    writeFileSync(join(root, 'big.txt'), big);
    const server = await startNginx({ root, port: 0, log: (line) => lines.push(line) });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const index = await fetch(`${base}/`);
      assert.equal(index.status, 200);
      assert.equal(index.headers.get('server'), `nginx/${NGINX_VERSION}`);
      assert.equal(index.headers.get('content-length'), '12');
      assert.equal(await index.text(), '<h1>hi</h1>\n');
      const large = await fetch(`${base}/big.txt`);
      assert.equal(large.headers.get('content-type'), 'text/plain');
      assert.equal((await large.text()).length, big.length);
      assert.equal((await fetch(`${base}/missing`)).status, 404);
      assert.deepEqual(
        lines.map((l) => / "(GET \S+) HTTP\/1\.1" (\d+) (\d+)/.exec(l)?.slice(1).join(' ')),
        ['GET / 200 12', `GET /big.txt 200 ${big.length}`, 'GET /missing 404 153'],
      );
    } finally {
      server.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

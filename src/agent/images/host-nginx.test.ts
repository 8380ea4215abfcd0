import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { findHostNginx, nginxConfig, prepareHostNginx } from './host-nginx.js';

describe('the nginx image on the node’s nginx', () => {
  test('which nginx: the first installed one, a path SVCNET_NGINX names, or none with SVCNET_NGINX=builtin', () => {
    const installed =
      (...paths: string[]) =>
      (path: string) =>
        paths.includes(path);
    const cases: [Record<string, string>, (path: string) => boolean, string | undefined][] = [
      [{}, installed('/usr/sbin/nginx', '/usr/local/sbin/nginx'), '/usr/sbin/nginx'],
      [{}, installed('/usr/local/sbin/nginx'), '/usr/local/sbin/nginx'],
      [{}, installed(), undefined],
      [{ SVCNET_NGINX: 'builtin' }, installed('/usr/sbin/nginx'), undefined],
      [{ SVCNET_NGINX: '/opt/nginx/sbin/nginx' }, installed('/usr/sbin/nginx', '/opt/nginx/sbin/nginx'), '/opt/nginx/sbin/nginx'],
      [{ SVCNET_NGINX: '/opt/nginx/sbin/nginx' }, installed('/usr/sbin/nginx'), undefined],
      [{ SVCNET_NGINX: '' }, installed('/usr/sbin/nginx'), '/usr/sbin/nginx'],
    ];
    for (const [env, exists, want] of cases) assert.equal(findHostNginx(env, exists), want, JSON.stringify(env));
  });

  test('the configuration is the official image’s, in the foreground as one process, writing only in its own directory', () => {
    const conf = nginxConfig({
      port: 80,
      root: '/usr/share/nginx/html',
      runDir: '/pods/p/containers/web/nginx',
      mimeTypes: '/etc/nginx/mime.types',
    });
    const directives = conf
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.endsWith(';') && !line.startsWith("'"));
    for (const want of [
      'daemon off;',
      'master_process off;',
      'pid /pods/p/containers/web/nginx/nginx.pid;',
      'error_log stderr notice;',
      'include /etc/nginx/mime.types;',
      'access_log /dev/stdout main;',
      'keepalive_timeout 65;',
      'client_body_temp_path /pods/p/containers/web/nginx/client_body;',
      'proxy_temp_path /pods/p/containers/web/nginx/proxy;',
      'fastcgi_temp_path /pods/p/containers/web/nginx/fastcgi;',
      'uwsgi_temp_path /pods/p/containers/web/nginx/uwsgi;',
      'scgi_temp_path /pods/p/containers/web/nginx/scgi;',
      'listen 80;',
      'root /usr/share/nginx/html;',
      'index index.html index.htm;',
      'error_page 500 502 503 504 /50x.html;',
    ])
      assert.ok(directives.includes(want), `${want} in\n${conf}`);
    assert.match(
      conf,
      /log_format main '\$remote_addr - \$remote_user \[\$time_local\] "\$request" '\n\s+'\$status \$body_bytes_sent "\$http_referer" '\n\s+'"\$http_user_agent" "\$http_x_forwarded_for"';/,
    );
    const bare = nginxConfig({ port: 8080, root: '/srv', runDir: '/run/x' });
    assert.match(bare, /^ {4}types \{\n {8}text\/html html htm shtml;$/m);
    assert.doesNotMatch(bare, /include/);
    assert.match(bare, /listen 8080;/);
  });

  test('the node’s nginx accepts the configuration written for a container', () => {
    const nginx = findHostNginx({});
    assert.ok(nginx, 'the node has nginx (scripts/setup.sh installs it)');
    const runDir = mkdtempSync(join(tmpdir(), 'svcnet-nginx-conf-'));
    try {
      const argv = prepareHostNginx(nginx, { port: 80, root: '/usr/share/nginx/html', runDir });
      assert.deepEqual(argv, [nginx, '-e', 'stderr', '-c', join(runDir, 'nginx.conf')]);
      assert.equal(
        readFileSync(join(runDir, 'nginx.conf'), 'utf8'),
        nginxConfig({ port: 80, root: '/usr/share/nginx/html', runDir, mimeTypes: '/etc/nginx/mime.types' }),
      );
      // stdout is /dev/null here: `-t` opens the access log, and a socket (the test runner's pipe) cannot be opened.
      const check = spawnSync(argv[0]!, [...argv.slice(1), '-t', '-q'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
      assert.equal(check.status, 0, check.stderr);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});

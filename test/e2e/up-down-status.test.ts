/**
 * `svcnet up | status | down` through the built CLI (bin/svcnet.js → dist/, as a user runs it): the
 * background control plane is dist/up-child.cjs, and the messages, run.json and the state kept
 * across a restart are the contract users and scripts rely on.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run, SVCNET_BIN } from './cluster.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

describe('svcnet up, status and down', () => {
  const root = mkdtempSync(join(tmpdir(), 'svcnet-cli-'));
  const dataDir = join(root, 'data');
  const env = { ...process.env, HOME: join(root, 'home'), KUBECONFIG: join(dataDir, 'kubeconfig') };
  const svcnet = (...args: string[]) => run(process.execPath, [SVCNET_BIN, ...args], { env });
  const kubectl = (...args: string[]) => run('kubectl', args, { env });
  after(async () => {
    await svcnet('down', '--data-dir', dataDir);
    rmSync(root, { recursive: true, force: true });
  });

  test('the life cycle, twice on the same data directory', async () => {
    const up = await svcnet('up', '--data-dir', dataDir, '--port', '0');
    assert.equal(up.code, 0, up.stderr);
    const info = JSON.parse(readFileSync(join(dataDir, 'run.json'), 'utf8'));
    assert.equal(
      up.stdout,
      `svcnet is up: API server ${info.server}\nkubeconfig: ${dataDir}/kubeconfig\n  export KUBECONFIG=${dataDir}/kubeconfig\n`,
    );
    assert.match(info.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(info.components.slice(0, 2), ['apiserver', 'endpointslice-controller']);
    assert.ok(info.components.includes('simulated-nodes(1)'));
    assert.deepEqual(info.agents, []);
    assert.equal((await kubectl('create', 'configmap', 'kept', '--from-literal=a=1')).code, 0);

    const again = await svcnet('up', '--data-dir', dataDir, '--port', '0');
    assert.equal(again.stdout, `svcnet is already running (pid ${info.pid}); nothing changed.\nkubeconfig: ${dataDir}/kubeconfig\n`);

    const status = await svcnet('status', '--data-dir', dataDir);
    assert.equal(status.code, 0);
    assert.match(status.stdout, new RegExp(`^svcnet is running \\(pid ${info.pid}, up \\d+s\\)\\n  API server:  ${info.server}\\n`));
    assert.match(
      status.stdout,
      new RegExp(`  components:  ${info.components.join(', ').replace(/[()]/g, '\\$&')}\\n  data:        ${dataDir}\\n$`),
    );

    const down = await svcnet('down', '--data-dir', dataDir);
    assert.equal(down.stdout, `svcnet is down. State is kept in ${dataDir}.\n`);
    assert.equal(existsSync(join(dataDir, 'run.json')), false);
    const stopped = await svcnet('status', '--data-dir', dataDir);
    assert.deepEqual([stopped.code, stopped.stdout], [3, `svcnet is not running (data directory ${dataDir}).\n`]);
    assert.equal((await svcnet('down', '--data-dir', dataDir)).stdout, 'svcnet is not running.\n');

    const restarted = await svcnet('up', '--data-dir', dataDir, '--port', '0');
    assert.equal(restarted.code, 0, restarted.stderr);
    const got = await kubectl('get', 'configmap', 'kept', '-o', 'jsonpath={.data.a}');
    assert.deepEqual([got.code, got.stdout], [0, '1']);
    const log = readFileSync(join(dataDir, 'logs', 'svcnet.log'), 'utf8');
    assert.equal(log.match(/svcnet: API server listening on https:\/\/127\.0\.0\.1:\d+\n/g)?.length, 2);
    assert.match(log, /svcnet: SIGTERM, shutting down\n/);
    // The control plane's code cache was made by the first run: beside the bundle, or in the data directory.
    assert.ok(existsSync(join(DIST, 'control-plane.cjs.cache')) || existsSync(join(dataDir, 'cache', 'control-plane.cjs.cache')));
  });

  test('a control plane that cannot start: the error, the log, exit code 1', async () => {
    const busy = await svcnet('up', '--data-dir', join(root, 'other'), '--port', '0', '--store', 'memory');
    assert.equal(busy.code, 0, busy.stderr);
    const port = new URL(JSON.parse(readFileSync(join(root, 'other', 'run.json'), 'utf8')).server).port;
    const failed = await svcnet('up', '--data-dir', join(root, 'third'), '--port', port);
    await svcnet('down', '--data-dir', join(root, 'other'));
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, new RegExp(`^error: port ${port} is already in use \\(try --port\\)\\nlast lines of .*svcnet\\.log:\\n`));
  });
});

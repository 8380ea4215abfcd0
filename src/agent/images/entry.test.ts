import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bundledImageCommand, defaultImageCommand } from '../agent.js';

describe('builtin image command', () => {
  test('the bundle runs builtin images through the lean dist/image.cjs when it was built', () => {
    const seen: string[] = [];
    const argv = bundledImageCommand('/opt/svcnet/bin/svcnet.js', (path) => {
      seen.push(path);
      return true;
    });
    assert.deepEqual(argv, [process.execPath, '/opt/svcnet/dist/image.cjs']);
    assert.deepEqual(seen, ['/opt/svcnet/dist/image.cjs']);
    assert.deepEqual(
      bundledImageCommand('/opt/svcnet/dist/svcnet.js', () => true),
      [process.execPath, '/opt/svcnet/dist/image.cjs'],
    );
  });

  test('a build without dist/image.cjs uses its ESM dist/image.js', () => {
    assert.deepEqual(
      bundledImageCommand('/opt/svcnet/bin/svcnet.js', (path) => path.endsWith('image.js')),
      [process.execPath, '/opt/svcnet/dist/image.js'],
    );
  });

  test('without a lean image entry it falls back to `svcnet image`', () => {
    assert.deepEqual(
      bundledImageCommand('/opt/svcnet/bin/svcnet.js', () => false),
      [process.execPath, '/opt/svcnet/bin/svcnet.js', 'image'],
    );
  });

  test('from source, the entry point runs the named runner and fails clearly on an unknown one', () => {
    const argv = defaultImageCommand();
    assert.equal(argv.at(-1), join(import.meta.dirname, 'entry.ts'));
    const r = spawnSync(argv[0]!, [...argv.slice(1), 'no-such-runner'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown builtin image runner "no-such-runner" \(known: nginx, agnhost, http-echo, whoami, pause\)/);
  });
});

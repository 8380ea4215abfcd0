import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeCache, encodeCache, loadBundle, sourceKey } from './code-cache.js';

const root = mkdtempSync(join(tmpdir(), 'svcnet-code-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/** A CommonJS bundle in a fresh directory: uses require, module, __filename; `answer` tells versions apart. */
function bundleDir(answer = 42): { dir: string; bundle: string; cache: string } {
  const dir = join(root, String(dirs++));
  const bundle = join(dir, 'bundle.cjs');
  const cache = join(dir, 'bundle.cjs.cache');
  mkdirSync(dir);
  writeFileSync(
    bundle,
    `const { basename } = require('node:path');
function square(x) { return x * x; }
module.exports = { answer: () => ${answer}, file: basename(__filename), square, self: this === module.exports };
`,
  );
  return { dir, bundle, cache };
}

/** Loads, runs the bundle's code (so there is compiled code to cache), and refreshes the cache. */
function loadAndRun(bundle: string, cacheFiles: string[]) {
  const loaded = loadBundle(bundle, cacheFiles);
  const exports = loaded.exports as { answer(): number; file: string; square(x: number): number; self: boolean };
  assert.equal(exports.square(7), 49);
  return { loaded, exports, written: loaded.refreshCache() };
}

describe('decodeCache', () => {
  const key = sourceKey('module.exports = 1;');
  const data = Buffer.from('v8 cached data');
  const good = encodeCache(key, data);
  const header = good.subarray(0, good.indexOf(10, good.indexOf(10) + 1) + 1).toString();
  const cases: [string, Buffer, ReturnType<typeof decodeCache>][] = [
    ['intact, same source', good, { data }],
    ['made for other source', encodeCache(sourceKey('module.exports = 2;'), data), { status: 'stale' }],
    ['made by another V8', Buffer.from(header.replace(process.versions.v8, '0.0.0') + data.toString()), { status: 'stale' }],
    ['payload changed', Buffer.from(`${header}V8 cached data`), { status: 'corrupt' }],
    ['truncated payload', good.subarray(0, good.length - 1), { status: 'corrupt' }],
    ['extra bytes', Buffer.concat([good, Buffer.from('x')]), { status: 'corrupt' }],
    ['truncated header', good.subarray(0, 30), { status: 'corrupt' }],
    ['header not JSON', Buffer.from(`svcnet-code-cache 1\n{nope\n${data}`), { status: 'corrupt' }],
    ['not a cache file', Buffer.from('hello'), { status: 'corrupt' }],
    ['empty', Buffer.alloc(0), { status: 'corrupt' }],
  ];
  for (const [name, file, want] of cases) {
    test(name, () => assert.deepEqual(decodeCache(file, key), want));
  }
});

describe('loadBundle', () => {
  test('runs a CommonJS bundle as the module loader would: its require, module, __filename and this', () => {
    const { bundle, cache } = bundleDir();
    const { exports } = loadAndRun(bundle, [cache]);
    assert.deepEqual([exports.answer(), exports.file, exports.self], [42, 'bundle.cjs', true]);
  });

  test('non-ASCII source decodes as UTF-8, with and without a cache', () => {
    const { bundle, cache } = bundleDir();
    writeFileSync(bundle, "module.exports = { text: 'héllo → ✓' }; // ünïcode\n");
    for (const status of ['missing', 'hit']) {
      const loaded = loadBundle(bundle, [cache]);
      assert.deepEqual([loaded.status, loaded.exports.text], [status, 'héllo → ✓']);
      loaded.refreshCache();
    }
  });

  test('missing: compiles without a cache, then writes one that the next load uses', () => {
    const { bundle, cache } = bundleDir();
    const first = loadAndRun(bundle, [cache]);
    assert.equal(first.loaded.status, 'missing');
    assert.equal(first.written, cache);
    const second = loadAndRun(bundle, [cache]);
    assert.equal(second.loaded.status, 'hit');
    assert.equal(second.loaded.cacheFile, cache);
    assert.equal(second.written, undefined, 'a valid cache is kept');
    assert.equal(second.exports.answer(), 42);
  });

  test('stale: a cache of an earlier build of the bundle is not used, and is replaced', () => {
    const { bundle, cache } = bundleDir(1);
    loadAndRun(bundle, [cache]);
    writeFileSync(bundle, readFileSync(bundle, 'utf8').replace('=> 1,', '=> 2,')); // same length: V8 alone would take it
    const rebuilt = loadAndRun(bundle, [cache]);
    assert.equal(rebuilt.loaded.status, 'stale');
    assert.equal(rebuilt.exports.answer(), 2);
    assert.equal(rebuilt.written, cache);
    assert.equal(loadAndRun(bundle, [cache]).loaded.status, 'hit');
  });

  test('corrupt: a damaged cache is not used, and is replaced', () => {
    const { bundle, cache } = bundleDir();
    loadAndRun(bundle, [cache]);
    const bytes = readFileSync(cache);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(cache, bytes);
    const damaged = loadAndRun(bundle, [cache]);
    assert.equal(damaged.loaded.status, 'corrupt');
    assert.equal(damaged.exports.answer(), 42);
    assert.equal(damaged.written, cache);
    assert.equal(loadAndRun(bundle, [cache]).loaded.status, 'hit');
  });

  test('rejected: data V8 refuses (here: made for other source, re-labelled) compiles without it, and is replaced', () => {
    const { bundle, cache } = bundleDir();
    const other = bundleDir(7);
    loadAndRun(other.bundle, [other.cache]);
    const otherFile = readFileSync(other.cache);
    const otherData = otherFile.subarray(otherFile.indexOf(10, otherFile.indexOf(10) + 1) + 1);
    writeFileSync(cache, encodeCache(sourceKey(readFileSync(bundle)), Buffer.from(otherData)));
    const refused = loadAndRun(bundle, [cache]);
    assert.equal(refused.loaded.status, 'rejected');
    assert.equal(refused.exports.answer(), 42);
    assert.equal(refused.written, cache);
    assert.equal(loadAndRun(bundle, [cache]).loaded.status, 'hit');
  });

  test('garbage V8 data with a valid header is rejected, never run', () => {
    const { bundle, cache } = bundleDir();
    writeFileSync(cache, encodeCache(sourceKey(readFileSync(bundle)), Buffer.alloc(4096, 0x5a)));
    const loaded = loadAndRun(bundle, [cache]);
    assert.equal(loaded.loaded.status, 'rejected');
    assert.equal(loaded.exports.answer(), 42);
  });

  test('an unwritable first place: the cache goes to the next, and is found there', () => {
    const { dir, bundle } = bundleDir();
    const blocked = join(dir, 'not-a-dir');
    writeFileSync(blocked, '');
    const places = [join(blocked, 'bundle.cjs.cache'), join(dir, 'data', 'cache', 'bundle.cjs.cache')];
    assert.equal(loadAndRun(bundle, places).written, places[1]);
    const again = loadAndRun(bundle, places);
    assert.deepEqual([again.loaded.status, again.loaded.cacheFile], ['hit', places[1]]);
  });

  test('a stale first cache does not hide a valid second one', () => {
    const { dir, bundle, cache } = bundleDir();
    const second = join(dir, 'second.cache');
    loadAndRun(bundle, [second]);
    writeFileSync(cache, encodeCache(sourceKey('other'), Buffer.from('x')));
    const loaded = loadAndRun(bundle, [cache, second]);
    assert.deepEqual([loaded.loaded.status, loaded.loaded.cacheFile], ['hit', second]);
  });

  test('nowhere to write: refreshCache returns undefined and the bundle still runs', () => {
    const { dir, bundle } = bundleDir();
    const blocked = join(dir, 'not-a-dir');
    writeFileSync(blocked, '');
    const { loaded, written } = loadAndRun(bundle, [join(blocked, 'c.cache')]);
    assert.deepEqual([loaded.status, written], ['missing', undefined]);
  });
});

/**
 * dist/up-child.cjs, the process `svcnet up` starts in the background: loads the control plane
 * (dist/control-plane.cjs, one CommonJS bundle) through V8's code cache and runs it. Compiling that
 * bundle was most of the child's start-up; with the cache it is a fraction (BENCHMARKS.md).
 *
 * The cache lives beside the bundle (dist/control-plane.cjs.cache, shared by every data directory
 * and valid until the next build), or in the data directory when dist/ cannot be written. It is
 * written once the control plane is ready, so it holds every function start-up compiled.
 */
import { dirname, join } from 'node:path';
import { loadBundle } from '../cluster/code-cache.js';

const dist = dirname(process.argv[1]!);
const bundle = join(dist, 'control-plane.cjs');
const dataDirAt = process.argv.indexOf('--data-dir');
const cacheFiles = [`${bundle}.cache`];
if (dataDirAt > 0 && process.argv[dataDirAt + 1]) cacheFiles.push(join(process.argv[dataDirAt + 1]!, 'cache', 'control-plane.cjs.cache'));

const loaded = loadBundle(bundle, cacheFiles);
const main = loaded.exports.main as (argv: string[]) => Promise<void>;
main(process.argv).then(
  () => {
    // The parent was told "ready" and has its answer. Written now rather than on a later turn of
    // the event loop, which a quick `svcnet down` could pre-empt every time.
    if (loaded.status !== 'hit') loaded.refreshCache();
  },
  (err: unknown) => {
    process.stderr.write(`svcnet: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);

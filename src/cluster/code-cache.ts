/**
 * Loading a CommonJS bundle through V8's code cache: `svcnet up`'s control plane is one large
 * bundle whose compilation is most of the child's start-up, and Node 20 has no built-in compile
 * cache for it (`module.enableCompileCache` came in Node 22).
 *
 * V8 itself only checks a cache against the source's length and its flags, so a cache made for
 * another bundle of the same length would be used silently. Each cache file therefore carries the
 * SHA-256 of the source it was made from, of its own payload, and the V8 version and architecture;
 * a cache that is missing, made for other source, truncated, corrupt or rejected by V8 is never
 * used — the bundle compiles as if there were none — and a fresh one replaces it after the run.
 */
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

const MAGIC = 'svcnet-code-cache 1\n';

/** What was done with the cache when compiling. */
export type CacheStatus = 'hit' | 'missing' | 'stale' | 'corrupt' | 'rejected';

interface CacheHeader {
  /** SHA-256 of the source (hex). */
  source: string;
  /** SHA-256 of the payload (hex). */
  data: string;
  size: number;
  v8: string;
  arch: string;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** The key a cache must carry to be used for `source` by this Node. */
export function sourceKey(source: string | Buffer): string {
  return sha256(source);
}

/** A cache file: header line naming what it was made from, then V8's cached data. */
export function encodeCache(key: string, data: Buffer): Buffer {
  const header: CacheHeader = { source: key, data: sha256(data), size: data.length, v8: process.versions.v8, arch: process.arch };
  return Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`), data]);
}

/** V8's cached data from a cache file, if it was made for the source with `key` and is intact. */
export function decodeCache(file: Buffer, key: string): { data: Buffer } | { status: 'stale' | 'corrupt' } {
  if (!file.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) return { status: 'corrupt' };
  const end = file.indexOf(10, MAGIC.length);
  if (end < 0) return { status: 'corrupt' };
  let header: Partial<CacheHeader>;
  try {
    header = JSON.parse(file.subarray(MAGIC.length, end).toString('utf8')) as Partial<CacheHeader>;
  } catch {
    return { status: 'corrupt' };
  }
  if (header.source !== key || header.v8 !== process.versions.v8 || header.arch !== process.arch) return { status: 'stale' };
  const data = file.subarray(end + 1);
  if (data.length !== header.size || sha256(data) !== header.data) return { status: 'corrupt' };
  return { data };
}

/** Writes `bytes` to `path` so that readers see either the old file or the whole new one. */
export function writeAtomically(path: string, bytes: Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, bytes, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** A CommonJS bundle, compiled and run. */
export interface LoadedBundle {
  exports: Record<string, unknown>;
  status: CacheStatus;
  /** The cache file that was used, when `status` is 'hit'. */
  cacheFile?: string;
  /**
   * Writes a fresh cache (V8's data for every function compiled so far, so call it after the work
   * worth caching ran) to the first of the cache files that can be written, unless the one used
   * was valid. Returns the file written, or undefined; never throws.
   */
  refreshCache(): string | undefined;
}

// The CommonJS wrapper on the source's first line, so line numbers in stack traces stay right.
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAPPER_TAIL = '\n})';

/**
 * Compiles and runs the CommonJS bundle `file` as Node's module loader would (its own `require`,
 * `module`, `__filename`), with V8's cached data from the first valid file of `cacheFiles`.
 * A cache can make loading faster, never fail: any problem with one means compiling without it.
 */
export function loadBundle(file: string, cacheFiles: readonly string[]): LoadedBundle {
  const sourceBytes = readFileSync(file);
  const key = sourceKey(sourceBytes);
  let status: CacheStatus = 'missing';
  let cached: { data: Buffer; file: string } | undefined;
  for (const cacheFile of cacheFiles) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(cacheFile);
    } catch {
      continue;
    }
    const decoded = decodeCache(bytes, key);
    if ('data' in decoded) {
      cached = { data: decoded.data, file: cacheFile };
      break;
    }
    if (status === 'missing') status = decoded.status;
  }
  // ASCII (a minified bundle is) decodes as Latin-1 into a one-byte string: several times faster.
  const text = isAscii(sourceBytes) ? sourceBytes.toString('latin1') : sourceBytes.toString('utf8');
  const source = `${WRAPPER_HEAD}${text}${WRAPPER_TAIL}`;
  // V8 compiles from the source as usual when it rejects the cached data.
  const script = new Script(source, { filename: file, cachedData: cached?.data });
  if (cached) status = script.cachedDataRejected ? 'rejected' : 'hit';
  const module = { exports: {} as Record<string, unknown>, filename: file };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return {
    get exports() {
      return module.exports;
    },
    status,
    cacheFile: status === 'hit' ? cached?.file : undefined,
    refreshCache() {
      if (status === 'hit') return undefined;
      let encoded: Buffer;
      try {
        encoded = encodeCache(key, script.createCachedData());
      } catch {
        return undefined;
      }
      for (const cacheFile of cacheFiles) {
        try {
          writeAtomically(cacheFile, encoded);
          return cacheFile;
        } catch {
          // read-only or gone: try the next place
        }
      }
      return undefined;
    },
  };
}

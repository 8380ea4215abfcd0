// Bundles the svcnet CLI into dist/ with esbuild. Dependencies are bundled too (start-up time is a
// feature: resolving and compiling hundreds of small CommonJS files from node_modules costs more
// than the rest of `svcnet up`), except native addons, which must load from node_modules.
// Code splitting keeps the `svcnet up` launcher small: the control plane loads in the child only.
// dist/image.cjs is the lean entry of builtin images (a container's process): one CommonJS file
// with only the image servers. A container's node starts from it with about half the CPU of the
// whole CLI bundle, and a quarter less than an ESM entry with chunks (no ESM loader, one file read).
// dist/image.js (the ESM entry) stays for agents of clusters started from an earlier build.
// dist/up-child.cjs is the process `svcnet up` starts in the background: it loads the control
// plane, dist/control-plane.cjs (one CommonJS file), through V8's code cache (src/cli/up-child.ts).
import { renameSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// Built beside dist/ and swapped in, so a running cluster (agents start builtin images from the
// bundle) never finds dist/ missing or half-written.
rmSync('dist.new', { recursive: true, force: true });
/** What every bundle shares: Node 20, dependencies bundled in, linked source maps. */
const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' };
await Promise.all([
  build({
    ...common,
    entryPoints: { svcnet: 'src/cli/main.ts', image: 'src/agent/images/entry.ts' },
    outdir: 'dist.new',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    external: ['better-sqlite3'],
    // CommonJS dependencies inside an ESM bundle need `require`.
    banner: {
      js: "import { createRequire as __svcnetCreateRequire } from 'node:module'; const require = __svcnetCreateRequire(import.meta.url);",
    },
  }),
  build({ ...common, entryPoints: ['src/agent/images/entry.ts'], outfile: 'dist.new/image.cjs', format: 'cjs' }),
  // The control plane: one file, without comments and indentation (smaller to read and hash, and
  // ASCII, which the loader decodes faster), loaded through V8's code cache by up-child.cjs.
  build({
    ...common,
    entryPoints: ['src/cli/control-plane-entry.ts'],
    outfile: 'dist.new/control-plane.cjs',
    format: 'cjs',
    external: ['better-sqlite3'],
    // CommonJS has no import.meta: modules that find files beside themselves get the bundle's URL.
    define: { 'import.meta.url': '__svcnetImportMetaUrl' },
    banner: { js: "var __svcnetImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    minifyWhitespace: true,
    legalComments: 'linked',
  }),
  build({ ...common, entryPoints: ['src/cli/up-child.ts'], outfile: 'dist.new/up-child.cjs', format: 'cjs' }),
]);

rmSync('dist.old', { recursive: true, force: true });
try {
  renameSync('dist', 'dist.old');
} catch {
  // first build
}
renameSync('dist.new', 'dist');
rmSync('dist.old', { recursive: true, force: true });

// Bundles the svcnet CLI into dist/ with esbuild. Dependencies are bundled too (start-up time is a
// feature: resolving and compiling hundreds of small CommonJS files from node_modules costs more
// than the rest of `svcnet up`), except native addons, which must load from node_modules.
// Code splitting keeps the `svcnet up` launcher small: the control plane loads in the child only.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { svcnet: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3'],
  // CommonJS dependencies inside an ESM bundle need `require`.
  banner: {
    js: "import { createRequire as __svcnetCreateRequire } from 'node:module'; const require = __svcnetCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  logLevel: 'warning',
});

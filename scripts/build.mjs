// Bundles the svcnet CLI into dist/svcnet.js with esbuild. Dependencies stay external (they load
// from node_modules), which keeps native modules working and the bundle small.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/svcnet.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});

#!/usr/bin/env node
// Entry point: runs the bundled CLI (dist/svcnet.js, made by `npm run build`).
// If the bundle is missing (a checkout without the set-up step), say what to do.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const bundle = fileURLToPath(new URL('../dist/svcnet.js', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('svcnet is not built yet: run `npm start` (or `bash scripts/setup.sh`) in the checkout first.\n');
  process.exit(1);
}
await import(bundle);

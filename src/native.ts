/**
 * Loading the C addons in native/ (batched UDP for DNS, the userspace proxy's byte relay). They are
 * built by scripts/setup.sh next to their sources and never bundled, so each is found by walking up
 * from this module: src/ under tsx, dist/ or dist/chunks/ in the bundle.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LoadedAddon<T> = { addon: T } | { error: string };

const loaded = new Map<string, LoadedAddon<unknown>>();

/**
 * The addon `native/<name>/build/Release/<file>.node` (`file` is `name` with `_` for `-`), or why it
 * is not there. Loaded once, on first use.
 */
export function loadNativeAddon<T>(name: string): LoadedAddon<T> {
  const known = loaded.get(name);
  if (known) return known as LoadedAddon<T>;
  const relative = join('native', name, 'build', 'Release', `${name.replaceAll('-', '_')}.node`);
  let result: LoadedAddon<T> = { error: `${relative} not built (scripts/setup.sh builds it)` };
  try {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let up = 0; up < 4; up++, dir = dirname(dir)) {
      const path = join(dir, relative);
      if (!existsSync(path)) continue;
      try {
        result = { addon: createRequire(import.meta.url)(path) as T };
      } catch (err) {
        result = { error: `${path}: ${(err as Error).message}` };
      }
      break;
    }
  } catch (err) {
    // No module URL (a CommonJS bundle): no way to find the addon.
    result = { error: `cannot locate ${relative}: ${(err as Error).message}` };
  }
  loaded.set(name, result);
  return result;
}
